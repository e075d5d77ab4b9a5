/**
 * The foundation's end-to-end guarantees, with the real circuit, real proofs and the real
 * generated verifier on Hardhat's in-process chain.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { SNARK_SCALAR_FIELD } from "../../scripts/circuit/field.ts";
import { loadMnist, type Digit } from "../../scripts/model/mnist.ts";
import { inferQuantizedGraph, unpackGraphOutput } from "../../scripts/model/graph-inference.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { Prover, releaseProverThreads, type ProofResult } from "../../scripts/prove/prover.ts";
import { deployProtocol, DEV_MARKET_PARAMS, type Protocol } from "../../scripts/chain/protocol.ts";
import { postRequest } from "../../scripts/chain/requester.ts";
import { ensureStaked, fulfilRequest, openRequests, RequestStatus } from "../../scripts/chain/validator.ts";
import { requestBinding } from "../../scripts/chain/binding.ts";
import { readR1cs, firstViolated, type R1cs } from "../helpers/r1cs.ts";
import { artifactPath } from "../../scripts/setup/manifest.ts";
import { attestedAlone, attestedByRequest, requestOf, termsOf } from "../helpers/market.ts";

type Proof8 = [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];

/** Order p of the BN254 base field, over which the proof points' coordinates live. */
const BASE_FIELD = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

/**
 * Groth16 proofs are malleable: (-A, -B, C) satisfies the same pairing equation as (A, B, C),
 * because e(-A, -B) = e(A, B). Negating a point negates its y coordinate(s).
 */
function malleate(p: Proof8): Proof8 {
  const neg = (y: bigint) => (BASE_FIELD - y) % BASE_FIELD;
  return [p[0], neg(p[1]), p[2], p[3], neg(p[4]), neg(p[5]), p[6], p[7]];
}

describe("MNIST MLP end to end (real circuit, real proofs, generated verifier)", function () {
  let built: BuiltModel;
  let prover: Prover;
  let test: Digit[];
  let r1cs: R1cs;

  before(async function () {
    built = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    prover = await Prover.load(built.manifestFile);
    test = loadMnist().test;
    r1cs = readR1cs(artifactPath(built.manifestFile, built.manifest, "r1cs"));
  });

  after(async function () {
    await releaseProverThreads();
  });

  describe("circuit", function () {
    it("outputs exactly the integer reference on real held-out digits (one per 25, all classes)", async function () {
      for (let i = 0; i < test.length; i += 25) {
        const d = test[i];
        const ref = inferQuantizedGraph(built.quantized, d.pixels);
        const w = await prover.witness({ pixels: Array.from(d.pixels), binding: 42n });
        const { exportJson } = (await import("snarkjs")).wtns;
        const wires = await exportJson(w);
        expect(firstViolated(r1cs, wires), `digit ${i}`).to.equal(-1);
        expect(wires.slice(1, 4), `digit ${i}`).to.deep.equal([ref.inputCommitment, ref.output, 42n]);
        expect(unpackGraphOutput(built.quantized, ref.output)).to.deep.equal({
          predicted: ref.predicted,
          logits: ref.logits,
        });
      }
    });

    it("rejects a forged witness that claims another output, and leaves no witness wire free", async function () {
      const d = test[300];
      const { exportJson } = (await import("snarkjs")).wtns;
      const wires = await exportJson(await prover.witness({ pixels: Array.from(d.pixels), binding: 7n }));
      const ref = inferQuantizedGraph(built.quantized, d.pixels);
      // Claim another class with the same logits, and the honest class with a changed logit.
      for (const lie of [ref.output + 1n, ref.output - 1n, ref.output + (1n << BigInt(built.quantized.classBits))]) {
        const forged = wires.slice();
        forged[2] = lie;
        expect(firstViolated(r1cs, forged), `output ${lie}`).to.not.equal(-1);
      }
      // Every wire, changed alone, breaks a constraint it appears in.
      for (let wire = 1; wire < r1cs.nWires; wire++) {
        const forged = wires.slice();
        forged[wire] = (forged[wire] + 1n) % SNARK_SCALAR_FIELD;
        expect(firstViolated(r1cs, forged, r1cs.byWire[wire]), `wire ${wire}`).to.not.equal(-1);
      }
    });
  });

  describe("on-chain verification and settlement", function () {
    let protocol: Protocol;
    let signers: Awaited<ReturnType<Awaited<ReturnType<typeof network.connect>>["ethers"]["getSigners"]>>;
    let ethersRef: Awaited<ReturnType<typeof network.connect>>["ethers"];
    const price = 10n ** 18n;
    const protocolFee = (price * DEV_MARKET_PARAMS.protocolFeeBps) / 10_000n;
    const royalty = (price * DEV_MARKET_PARAMS.royaltyBps) / 10_000n;
    const validatorShare = price - protocolFee - royalty;

    beforeEach(async function () {
      const { ethers } = await network.create();
      ethersRef = ethers;
      signers = await ethers.getSigners();
      const [governance, modelOwner, requester] = signers;
      protocol = await deployProtocol(ethers, governance, {
        manifestFile: built.manifestFile,
        modelOwner,
        price,
      });
      await (await protocol.token.mint(requester.address, 10n * price)).wait();
      // Validator and thief are both staked: the thief fails on the proof's binding, not on stake.
      for (const v of [signers[3], signers[4]]) {
        await (await protocol.token.mint(v.address, DEV_MARKET_PARAMS.minStake)).wait();
        await ensureStaked(protocol.market, v);
      }
    });

    async function proveFor(requestId: bigint, digit: Digit, prover_: string): Promise<ProofResult> {
      const binding = requestBinding(31337n, await protocol.market.getAddress(), requestId, prover_);
      return prover.prove({ pixels: Array.from(digit.pixels), binding });
    }

    it("request -> prove -> fulfil -> withdraw splits the fee and records the attestation", async function () {
      const [, modelOwner, requester, validator] = signers;
      const digit = test[512];
      const posted = await postRequest(protocol.market, requester, protocol.modelId, digit.pixels);
      const [open] = await openRequests(protocol.market, protocol.modelId);
      expect(open.requestId).to.equal(posted.requestId);
      const result = await fulfilRequest(protocol.market, validator, { prover, model: built.quantized }, open);
      expect(result.predicted).to.equal(inferQuantizedGraph(built.quantized, digit.pixels).predicted);

      const req = await requestOf(protocol.market, posted.requestId);
      expect(req.status).to.equal(RequestStatus.Fulfilled);
      const [event] = await protocol.market.queryFilter(protocol.market.filters.InferenceFulfilled(posted.requestId));
      expect(event.args.output).to.equal(result.output);
      expect(event.args.validator).to.equal(validator.address);
      expect(
        await attestedByRequest(
          protocol.market,
          protocol.modelId,
          posted.inputCommitment,
          result.output,
          posted.requestId,
        ),
      ).to.equal(true);
      expect(await protocol.market.balanceOf(validator.address, await protocol.token.getAddress())).to.equal(
        validatorShare,
      );
      expect(await protocol.market.balanceOf(modelOwner.address, await protocol.token.getAddress())).to.equal(royalty);
      await (await protocol.market.connect(validator).withdraw(await protocol.token.getAddress())).wait();
      await (await protocol.market.connect(modelOwner).withdraw(await protocol.token.getAddress())).wait();
      expect(await protocol.token.balanceOf(validator.address)).to.equal(validatorShare);
      expect(await protocol.token.balanceOf(modelOwner.address)).to.equal(royalty);
      // What stays: the two validators' stake and the protocol's fee.
      expect(await protocol.token.balanceOf(await protocol.market.getAddress())).to.equal(
        2n * DEV_MARKET_PARAMS.minStake + protocolFee,
      );
      expect(await protocol.token.balanceOf(requester.address)).to.equal(9n * price);
    });

    /** The protocol's own Groth16 code, against the model's key as the registry stored it. */
    async function protocolVerify(proof: Proof8, signals: bigint[]): Promise<boolean> {
      const harness = await ethersRef.deployContract("Groth16Harness");
      return harness.verify(protocol.verifier, signals, proof);
    }

    it("the protocol's verifier accepts the real proof and rejects a tampered one", async function () {
      const [, , requester, validator] = signers;
      const posted = await postRequest(protocol.market, requester, protocol.modelId, test[100].pixels);
      const p = await proveFor(posted.requestId, test[100], validator.address);
      const proof = p.calldata as Proof8;
      const pub = p.publicSignals;
      expect(await protocolVerify(proof, pub)).to.equal(true);
      // Tampered proof points and tampered public signals both fail.
      const bumped = proof.slice() as Proof8;
      bumped[1] += 1n;
      expect(await protocolVerify(bumped, pub)).to.equal(false);
      const swapped = proof.slice() as Proof8;
      [swapped[6], swapped[7]] = [proof[7], proof[6]];
      expect(await protocolVerify(swapped, pub)).to.equal(false);
      expect(await protocolVerify(proof, [pub[0], pub[1] + 1n, pub[2]])).to.equal(false);

      const tampered = p.calldata.slice() as Proof8;
      tampered[6] += 1n;
      await expect(
        protocol.market
          .connect(validator)
          .fulfil(posted.requestId, await termsOf(protocol.market, posted.requestId), p.publicSignals[1], tampered),
      ).to.be.revert(ethersRef);
      // The honest proof still settles afterwards: the failed attempt cost nothing.
      await (
        await protocol.market
          .connect(validator)
          .fulfil(
            posted.requestId,
            await termsOf(protocol.market, posted.requestId),
            p.publicSignals[1],
            p.calldata as Proof8,
          )
      ).wait();
      expect(await protocol.market.balanceOf(validator.address, await protocol.token.getAddress())).to.equal(
        validatorShare,
      );
    });

    it("rejects a valid proof replayed on another request, and by another prover", async function () {
      const [, , requester, validator, thief] = signers;
      const first = await postRequest(protocol.market, requester, protocol.modelId, test[200].pixels);
      // A second request for the very same input: same commitment, same output.
      const second = await postRequest(protocol.market, requester, protocol.modelId, test[200].pixels);
      const p = await proveFor(first.requestId, test[200], validator.address);
      const proof = p.calldata as Proof8;
      await expect(
        protocol.market
          .connect(validator)
          .fulfil(second.requestId, await termsOf(protocol.market, second.requestId), p.publicSignals[1], proof),
      )
        .to.be.revertedWithCustomError(protocol.market, "InferenceMarketInvalidProof")
        .withArgs(second.requestId);
      // Front-running: the same calldata from another address binds another prover.
      await expect(
        protocol.market
          .connect(thief)
          .fulfil(first.requestId, await termsOf(protocol.market, first.requestId), p.publicSignals[1], proof),
      )
        .to.be.revertedWithCustomError(protocol.market, "InferenceMarketInvalidProof")
        .withArgs(first.requestId);
      await (
        await protocol.market
          .connect(validator)
          .fulfil(first.requestId, await termsOf(protocol.market, first.requestId), p.publicSignals[1], proof)
      ).wait();
      expect(await protocol.market.balanceOf(thief.address, await protocol.token.getAddress())).to.equal(0n);
    });

    it("rejects a public input at or above the field modulus (output + r aliases the output)", async function () {
      const [, , requester, validator] = signers;
      const posted = await postRequest(protocol.market, requester, protocol.modelId, test[300].pixels);
      const p = await proveFor(posted.requestId, test[300], validator.address);
      const aliased = p.publicSignals[1] + SNARK_SCALAR_FIELD;
      await expect(
        protocol.market
          .connect(validator)
          .fulfil(posted.requestId, await termsOf(protocol.market, posted.requestId), aliased, p.calldata as Proof8),
      )
        .to.be.revertedWithCustomError(protocol.market, "InferenceMarketInvalidOutput")
        .withArgs(aliased);
      // The protocol's Groth16 code refuses it on its own too.
      expect(await protocolVerify(p.calldata as Proof8, [p.publicSignals[0], aliased, p.publicSignals[2]])).to.equal(
        false,
      );
    });

    it("a malleated but valid proof cannot settle an already-settled request a second time", async function () {
      const [, , requester, validator] = signers;
      const posted = await postRequest(protocol.market, requester, protocol.modelId, test[400].pixels);
      const p = await proveFor(posted.requestId, test[400], validator.address);
      const proof = p.calldata as Proof8;
      const twin = malleate(proof);
      expect(twin).to.not.deep.equal(proof);
      // The twin really is valid: the defence is the request's status, not proof uniqueness.
      const pub = p.publicSignals;
      expect(await protocolVerify(twin, pub)).to.equal(true);

      await (
        await protocol.market
          .connect(validator)
          .fulfil(posted.requestId, await termsOf(protocol.market, posted.requestId), pub[1], proof)
      ).wait();
      await expect(
        protocol.market
          .connect(validator)
          .fulfil(posted.requestId, await termsOf(protocol.market, posted.requestId), pub[1], twin),
      )
        .to.be.revertedWithCustomError(protocol.market, "InferenceMarketWrongStatus")
        .withArgs(posted.requestId, RequestStatus.Fulfilled);
      expect(await protocol.market.balanceOf(validator.address, await protocol.token.getAddress())).to.equal(
        validatorShare,
      );
    });

    it("rejects a proof replayed on a second deployment of the market", async function () {
      const [governance, modelOwner, requester, validator] = signers;
      const other = await deployProtocol(ethersRef, governance, {
        manifestFile: built.manifestFile,
        modelOwner,
        price,
      });
      await (await other.token.mint(requester.address, price)).wait();
      await (await other.token.mint(validator.address, DEV_MARKET_PARAMS.minStake)).wait();
      await ensureStaked(other.market, validator);
      const here = await postRequest(protocol.market, requester, protocol.modelId, test[450].pixels);
      const there = await postRequest(other.market, requester, other.modelId, test[450].pixels);
      expect(there.requestId).to.equal(here.requestId);
      const p = await proveFor(here.requestId, test[450], validator.address);
      await expect(
        other.market
          .connect(validator)
          .fulfil(
            there.requestId,
            await termsOf(other.market, there.requestId),
            p.publicSignals[1],
            p.calldata as Proof8,
          ),
      )
        .to.be.revertedWithCustomError(other.market, "InferenceMarketInvalidProof")
        .withArgs(there.requestId);
    });

    it("attest records a proven inference without a request; request and attestation proofs do not mix", async function () {
      const [, , requester, validator, attester] = signers;
      const digit = test[600];
      const ref = inferQuantizedGraph(built.quantized, digit.pixels);
      const market = protocol.market;
      const attestProof = await prover.prove({
        pixels: Array.from(digit.pixels),
        binding: requestBinding(31337n, await market.getAddress(), 0n, attester.address),
      });
      expect(await attestedAlone(market, protocol.modelId, ref.inputCommitment, ref.output)).to.equal(false);

      // An attestation proof (request id 0) cannot settle a request for the same input.
      const posted = await postRequest(market, requester, protocol.modelId, digit.pixels);
      await expect(
        market
          .connect(attester)
          .fulfil(
            posted.requestId,
            await termsOf(market, posted.requestId),
            ref.output,
            attestProof.calldata as Proof8,
          ),
      ).to.be.revertedWithCustomError(market, "InferenceMarketInvalidProof");

      await expect(
        market
          .connect(attester)
          .attest(protocol.modelId, ref.inputCommitment, ref.output, attestProof.calldata as Proof8),
      )
        .to.emit(market, "InferenceAttested")
        .withArgs(protocol.modelId, ref.inputCommitment, ref.output, attester.address, 0n);
      expect(await attestedAlone(market, protocol.modelId, ref.inputCommitment, ref.output)).to.equal(true);
      // A wrong output is not attested by the same proof.
      await expect(
        market
          .connect(attester)
          .attest(protocol.modelId, ref.inputCommitment, ref.output + 1n, attestProof.calldata as Proof8),
      ).to.be.revertedWithCustomError(market, "InferenceAttestationsInvalidProof");

      // A request proof cannot be passed off as an attestation.
      const p = await proveFor(posted.requestId, digit, validator.address);
      await expect(
        market.connect(validator).attest(protocol.modelId, ref.inputCommitment, ref.output, p.calldata as Proof8),
      ).to.be.revertedWithCustomError(market, "InferenceAttestationsInvalidProof");
    });
  });
});
