/**
 * Universal-mode models in the market: a model registered with a PLONK key (checked by
 * Plonk.keyDefect, written as data), requests fulfilled with real snarkjs PLONK proofs through the
 * protocol's own verifier, and the binding and replay refusals of baked-models.test.ts run for
 * universal-mode proofs; and the deployment switch that makes a registry refuse keys of insecure
 * (development) ceremonies. Needs the power-12 development ptau (shared) and circuits/build/mnist-mlp
 * (a baked model, for the cross-mode refusals).
 */
import path from "node:path";
import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { network } from "hardhat";
import * as snarkjs from "snarkjs";
import { requestBinding } from "../../scripts/chain/binding.ts";
import { releaseProverThreads } from "../../scripts/prove/prover.ts";
import {
  acceptsInsecureCeremoniesByDefault,
  DEV_CHAIN_ID,
  DEV_MARKET_PARAMS,
  deployProtocol,
} from "../../scripts/chain/protocol.ts";
import { encodePlonkKey, plonkProofWords } from "../../scripts/setup/plonk-setup.ts";
import { InferenceMarket__factory, type InferenceMarket } from "../../types/ethers-contracts/index.js";
import { attestedByRequest, termsOf } from "../helpers/market.ts";
import { universalDevPtau, tinyUniversalModel, type UniversalModel } from "../helpers/universal-model.ts";

const { ethers, networkHelpers } = await network.create();

const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const PRICE = 10n ** 18n;
const MODE_UNIVERSAL = 2n;
const BAKED = 1n;
const UNIVERSAL = 2n;
type Proof8 = [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
const MLP_MANIFEST = path.join("circuits", "build", "mnist-mlp", "manifest.json");
/** Plonk.sol's ceremony ids: the Hermez ceremony, then the insecure development ones. */
const HERMEZ = 1n;
const INSECURE = [2n, 3n, 4n, 5n];

/** The key with its first word, the ceremony it names, set to `ceremony`. */
function relabelled(key: string, ceremony: bigint): string {
  return "0x" + ceremony.toString(16).padStart(64, "0") + key.slice(66);
}

describe("Universal-mode models in the market (protocol-owned PLONK verifier)", function () {
  let model: UniversalModel;
  let key: string;
  /** Input commitment and output of each test input, from the witness. */
  const facts: { inputCommitment: bigint; output: bigint }[] = [];

  before(async function () {
    const ptau = await universalDevPtau();
    model = await tinyUniversalModel(ptau);
    key = encodePlonkKey(model.vk);
    for (const input of model.inputs) {
      const wtns = { type: "mem" as const };
      await snarkjs.wtns.calculate({ pixels: Array.from(input), binding: 0n }, model.wasm, wtns);
      const wires = await snarkjs.wtns.exportJson(wtns);
      facts.push({ inputCommitment: BigInt(wires[1]), output: BigInt(wires[2]) });
    }
  });

  after(async function () {
    await releaseProverThreads();
  });

  /** The protocol with the baked reference model as model 1, the tiny universal model as model 2, and a second market. */
  async function deploy() {
    const [governance, modelOwner, requester, validator, thief] = await ethers.getSigners();
    const { token, registry, market } = await deployProtocol(ethers, governance, {
      manifestFile: MLP_MANIFEST,
      modelOwner,
      price: PRICE,
    });
    const other = await new InferenceMarket__factory(governance).deploy(
      await registry.getAddress(),
      await token.getAddress(),
      governance.address,
      DEV_MARKET_PARAMS,
    );
    const terms = {
      feeToken: await token.getAddress(),
      price: PRICE,
      royaltyRecipient: modelOwner.address,
      previousVersion: 0n,
      metadataURI: "ipfs://tiny",
      onnxHash: ethers.ZeroHash,
    };
    await registry.connect(modelOwner).registerUniversalModel(terms, key, [], []);
    await token.mint(requester.address, 100n * PRICE);
    for (const m of [market, other]) {
      await token.connect(requester).approve(await m.getAddress(), ethers.MaxUint256);
      for (const v of [validator, thief]) {
        await token.mint(v.address, DEV_MARKET_PARAMS.minStake);
        await token.connect(v).approve(await m.getAddress(), ethers.MaxUint256);
        await m.connect(v).stake(DEV_MARKET_PARAMS.minStake);
      }
    }
    return { registry, token, market, other, terms, modelOwner, requester, validator, thief };
  }

  async function request(market: InferenceMarket, requester: HardhatEthersSigner, modelId: bigint, i: number) {
    const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
    await (
      await market.connect(requester).requestInference(modelId, facts[i].inputCommitment, "0x", deadline, PRICE)
    ).wait();
    return await market.requestCount();
  }

  async function proveFor(market: InferenceMarket, requestId: bigint, i: number, prover: string) {
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const binding = requestBinding(chainId, await market.getAddress(), requestId, prover);
    const proven = await snarkjs.plonk.fullProve(
      { pixels: Array.from(model.inputs[i]), binding },
      model.wasm,
      model.zkey,
    );
    expect(proven.publicSignals.map(BigInt)).to.deep.equal([facts[i].inputCommitment, facts[i].output, binding]);
    return plonkProofWords(proven.proof);
  }

  describe("registration", function () {
    it("stores the key as data, records the universal mode and vkHash = keccak256(key)", async function () {
      const { registry, modelOwner } = await networkHelpers.loadFixture(deploy);
      const m = await registry.model(UNIVERSAL);
      expect(m.mode).to.equal(MODE_UNIVERSAL);
      expect(m.owner).to.equal(modelOwner.address);
      expect(m.vkHash).to.equal(ethers.keccak256(key));
      expect(await registry.verificationKey(UNIVERSAL, 1n)).to.equal(key);
      expect(await registry.verificationKey(UNIVERSAL, 4n)).to.equal("0x");
      const [exists, , mode, circuitId] = await registry.requestTerms(UNIVERSAL);
      expect([exists, mode, circuitId]).to.deep.equal([true, MODE_UNIVERSAL, 0n]);
    });

    it("refuses a key with a defect, for another signal count, or naming an unknown ceremony", async function () {
      const { registry, terms, modelOwner } = await networkHelpers.loadFixture(deploy);
      const word = (v: bigint) => v.toString(16).padStart(64, "0");
      const withWord = (offset: number, v: bigint) =>
        "0x" + key.slice(2, 2 + offset * 2) + word(v) + key.slice(2 + offset * 2 + 64);
      let noGates = key;
      for (let p = 0; p < 5; p++) {
        const at = 2 + (192 + 64 * p) * 2;
        noGates = noGates.slice(0, at) + "0".repeat(128) + noGates.slice(at + 128);
      }
      const cases: [string, bigint, bigint][] = [
        [noGates, 8n, 192n], // NoGates
        [withWord(64, 4n), 3n, 64n], // a key for 4 signals: BadDomain at the count
        [withWord(0, 77n), 2n, 0n], // UnknownCeremony
        [key.slice(0, -2), 1n, 0n], // WrongLength
      ];
      for (const [bad, defect, offset] of cases) {
        await expect(registry.connect(modelOwner).registerUniversalModel(terms, bad, [], []))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidUniversalKey")
          .withArgs(defect, offset);
      }
    });
  });

  describe("fulfilUniversal", function () {
    it("settles a request with a real PLONK proof and splits the fee", async function () {
      const { market, token, requester, validator, modelOwner } = await networkHelpers.loadFixture(deploy);
      const requestId = await request(market, requester, UNIVERSAL, 0);
      const proof = await proveFor(market, requestId, 0, validator.address);
      await expect(
        market.connect(validator).fulfilUniversal(requestId, await termsOf(market, requestId), facts[0].output, proof),
      ).to.emit(market, "InferenceFulfilled");
      expect(await attestedByRequest(market, UNIVERSAL, facts[0].inputCommitment, facts[0].output, requestId)).to.equal(
        true,
      );
      expect(await market.balanceOf(validator.address, token)).to.equal((PRICE * 88n) / 100n);
      expect(await market.balanceOf(modelOwner.address, token)).to.equal(PRICE / 10n);
    });

    it("rejects a tampered output, an output + r, another prover, a second payment", async function () {
      const { market, requester, validator, thief } = await networkHelpers.loadFixture(deploy);
      const requestId = await request(market, requester, UNIVERSAL, 1);
      const proof = await proveFor(market, requestId, 1, validator.address);
      const { output } = facts[1];
      for (const lie of [output + 1n, output - 1n, 0n]) {
        await expect(market.connect(validator).fulfilUniversal(requestId, await termsOf(market, requestId), lie, proof))
          .to.be.revertedWithCustomError(market, "InferenceMarketInvalidProof")
          .withArgs(requestId);
      }
      await expect(
        market.connect(validator).fulfilUniversal(requestId, await termsOf(market, requestId), output + R, proof),
      )
        .to.be.revertedWithCustomError(market, "InferenceMarketInvalidOutput")
        .withArgs(output + R);
      // The proof binds the validator: a staked thief copying it fails.
      await expect(market.connect(thief).fulfilUniversal(requestId, await termsOf(market, requestId), output, proof))
        .to.be.revertedWithCustomError(market, "InferenceMarketInvalidProof")
        .withArgs(requestId);
      await market.connect(validator).fulfilUniversal(requestId, await termsOf(market, requestId), output, proof);
      await expect(
        market.connect(validator).fulfilUniversal(requestId, await termsOf(market, requestId), output, proof),
      )
        .to.be.revertedWithCustomError(market, "InferenceMarketWrongStatus")
        .withArgs(requestId, 3n);
    });

    it("rejects a proof made for another request, and one replayed on a second deployment", async function () {
      const { market, other, requester, validator } = await networkHelpers.loadFixture(deploy);
      const first = await request(market, requester, UNIVERSAL, 2);
      const second = await request(market, requester, UNIVERSAL, 2);
      const proof = await proveFor(market, first, 2, validator.address);
      await expect(
        market.connect(validator).fulfilUniversal(second, await termsOf(market, second), facts[2].output, proof),
      )
        .to.be.revertedWithCustomError(market, "InferenceMarketInvalidProof")
        .withArgs(second);
      // The same request id on another market of the same registry: the binding names the market.
      const elsewhere = await request(other, requester, UNIVERSAL, 2);
      expect(elsewhere).to.equal(first);
      await expect(
        other.connect(validator).fulfilUniversal(elsewhere, await termsOf(other, elsewhere), facts[2].output, proof),
      )
        .to.be.revertedWithCustomError(other, "InferenceMarketInvalidProof")
        .withArgs(elsewhere);
      await market.connect(validator).fulfilUniversal(first, await termsOf(market, first), facts[2].output, proof);
    });

    it("never mixes the proof systems: a PLONK proof for a baked model, a Groth16 call for a universal one", async function () {
      const { market, registry, requester, validator } = await networkHelpers.loadFixture(deploy);
      const baked = await request(market, requester, BAKED, 3);
      const proof = await proveFor(market, baked, 3, validator.address);
      await expect(
        market.connect(validator).fulfilUniversal(baked, await termsOf(market, baked), facts[3].output, proof),
      )
        .to.be.revertedWithCustomError(market, "InferenceMarketInvalidProof")
        .withArgs(baked);
      const chainId = (await ethers.provider.getNetwork()).chainId;
      const signals = [
        facts[3].inputCommitment,
        facts[3].output,
        requestBinding(chainId, await market.getAddress(), baked, validator.address),
      ];
      expect(await registry.verifyUniversal(BAKED, 1n, signals, proof)).to.equal(false);
      const universal = await request(market, requester, UNIVERSAL, 3);
      const eight = proof.slice(0, 8) as Proof8;
      await expect(
        market.connect(validator).fulfil(universal, await termsOf(market, universal), facts[3].output, eight),
      )
        .to.be.revertedWithCustomError(market, "InferenceMarketInvalidProof")
        .withArgs(universal);
    });
  });
  describe("the deployment switch for insecure ceremonies", function () {
    /** The protocol deployed as for a production chain: its registry refuses insecure ceremonies. */
    async function production() {
      const [governance, modelOwner] = await ethers.getSigners();
      const { token, registry } = await deployProtocol(ethers, governance, {
        manifestFile: MLP_MANIFEST,
        modelOwner,
        price: PRICE,
        allowInsecureCeremonies: false,
      });
      const terms = {
        feeToken: await token.getAddress(),
        price: PRICE,
        royaltyRecipient: modelOwner.address,
        previousVersion: 0n,
        metadataURI: "",
        onnxHash: ethers.ZeroHash,
      };
      return { registry, terms, modelOwner };
    }

    it("a registry deployed without the switch refuses a key of each insecure ceremony, naming it, and keeps nothing", async function () {
      const { registry, terms, modelOwner } = await networkHelpers.loadFixture(production);
      expect(await registry.acceptsInsecureCeremonies()).to.equal(false);
      const count = await registry.modelCount();
      for (const ceremony of INSECURE) {
        await expect(registry.connect(modelOwner).registerUniversalModel(terms, relabelled(key, ceremony), [], []))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInsecureCeremony")
          .withArgs(ceremony);
      }
      expect(await registry.modelCount(), "no model registered").to.equal(count);
      // A defect is still reported as such, before the ceremony's insecurity.
      await expect(
        registry.connect(modelOwner).registerUniversalModel(terms, relabelled(key, 5n).slice(0, -2), [], []),
      ).to.be.revertedWithCustomError(registry, "ModelRegistryInvalidUniversalKey");
    });

    it("a registry deployed with the switch accepts them, and says which ceremony each model names", async function () {
      const { registry, terms, modelOwner } = await networkHelpers.loadFixture(deploy);
      expect(await registry.acceptsInsecureCeremonies()).to.equal(true);
      for (const ceremony of [5n, 2n]) {
        const id = await registry
          .connect(modelOwner)
          .registerUniversalModel.staticCall(terms, relabelled(key, ceremony), [], []);
        await registry.connect(modelOwner).registerUniversalModel(terms, relabelled(key, ceremony), [], []);
        expect(await registry.modelCount()).to.equal(id);
        expect(await registry.universalCeremony(id)).to.deep.equal([ceremony, true]);
      }
      expect(await registry.universalCeremony(BAKED), "a baked model names none").to.deep.equal([0n, false]);
    });

    it("a key naming the Hermez ceremony is accepted by both; relabelled from a development file, its proofs fail", async function () {
      const hermez = relabelled(key, HERMEZ);
      const proven = await snarkjs.plonk.fullProve(
        { pixels: Array.from(model.inputs[0]), binding: 0n },
        model.wasm,
        model.zkey,
      );
      const proof = plonkProofWords(proven.proof);
      const signals = proven.publicSignals.map(BigInt);
      // One fixture at a time: loading one reverts the chain to it, and the other's contracts with it.
      for (const fixture of [production, deploy]) {
        const { registry, terms, modelOwner } = await networkHelpers.loadFixture(fixture);
        const id = await registry.connect(modelOwner).registerUniversalModel.staticCall(terms, hermez, [], []);
        await registry.connect(modelOwner).registerUniversalModel(terms, hermez, [], []);
        expect(await registry.universalCeremony(id), fixture.name).to.deep.equal([HERMEZ, false]);
        // Points cannot tell their ceremony, so registration takes it; the pairing check under
        // the Hermez [tau]_2 then refuses every proof of the development file's key.
        expect(await registry.verifyUniversal(id, 1n, signals, proof), fixture.name).to.equal(false);
        if (fixture === deploy) {
          // The fixture's model 2 has the key as made: the same proof verifies there.
          expect(await registry.verifyUniversal(UNIVERSAL, 1n, signals, proof)).to.equal(true);
        }
      }
    });

    it("deployProtocol accepts them by default on the local development chain only", async function () {
      expect(acceptsInsecureCeremoniesByDefault(DEV_CHAIN_ID)).to.equal(true);
      expect(acceptsInsecureCeremoniesByDefault(1n)).to.equal(false);
      const local = await networkHelpers.loadFixture(deploy);
      expect((await ethers.provider.getNetwork()).chainId).to.equal(DEV_CHAIN_ID);
      expect(await local.registry.acceptsInsecureCeremonies(), "chain 31337, no switch given").to.equal(true);

      const other = await network.create({ override: { chainId: 1337 } });
      try {
        const [governance, modelOwner] = await other.ethers.getSigners();
        expect((await other.ethers.provider.getNetwork()).chainId).to.equal(1337n);
        const options = { manifestFile: MLP_MANIFEST, modelOwner, price: PRICE };
        const refusing = await deployProtocol(other.ethers, governance, options);
        expect(await refusing.registry.acceptsInsecureCeremonies(), "chain 1337, no switch given").to.equal(false);
        const allowed = await deployProtocol(other.ethers, governance, { ...options, allowInsecureCeremonies: true });
        expect(await allowed.registry.acceptsInsecureCeremonies(), "chain 1337, switch given").to.equal(true);
      } finally {
        await other.close();
      }
    });
  });
});
