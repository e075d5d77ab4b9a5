/**
 * fulfilBatch end to end: the real batch circuit (4 MNIST MLP inferences per proof), real
 * proofs and the batch key the model registered (checked by the protocol's Groth16 code), on Hardhat's in-process
 * chain; with the attacks a batch must resist.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { batchBinding, batchChallenge } from "../../scripts/circuit/batch-fold.ts";
import { loadMnist, type Digit } from "../../scripts/model/mnist.ts";
import { inferQuantizedGraph } from "../../scripts/model/graph-inference.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { Prover, releaseProverThreads, type ProofResult } from "../../scripts/prove/prover.ts";
import { deployProtocol, DEV_MARKET_PARAMS, registerBakedModel, type Protocol } from "../../scripts/chain/protocol.ts";
import { postRequest, postRequests, type PostedRequest } from "../../scripts/chain/requester.ts";
import { batchAttestationProof, factOf } from "../../scripts/chain/attestations.ts";
import {
  claimRequests,
  ensureStaked,
  fulfilBatchRequests,
  fulfilRequest,
  openRequests,
  planBatches,
  RequestStatus,
  type OpenRequest,
} from "../../scripts/chain/validator.ts";
import { attestedInBatch, requestOf, termsOfAll } from "../helpers/market.ts";

/** The terms part of a request read back with its state. */
function termsWithoutState<T extends { status: bigint; word: string }>(r: T): Omit<T, "status" | "word"> {
  const { status: _status, word: _word, ...terms } = r;
  return terms;
}

type Proof8 = [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
const K = 4;

describe("fulfilBatch end to end (real batch circuit, real proofs, generated batch verifier)", function () {
  let single: BuiltModel;
  let batch: BuiltModel;
  let singleProver: Prover;
  let batchProver: Prover;
  let test: Digit[];

  before(async function () {
    single = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    batch = await buildModel(REFERENCE_MODELS["mnist-mlp-batch4"]);
    singleProver = await Prover.load(single.manifestFile);
    batchProver = await Prover.load(batch.manifestFile);
    test = loadMnist().test;
  });

  after(async function () {
    await releaseProverThreads();
  });

  let protocol: Protocol;
  let ethersRef: Awaited<ReturnType<typeof network.connect>>["ethers"];
  let helpers: Awaited<ReturnType<typeof network.connect>>["networkHelpers"];
  let signers: Awaited<ReturnType<typeof ethersRef.getSigners>>;
  const price = 10n ** 18n;
  const protocolFee = (price * DEV_MARKET_PARAMS.protocolFeeBps) / 10_000n;
  const royalty = (price * DEV_MARKET_PARAMS.royaltyBps) / 10_000n;
  const validatorShare = price - protocolFee - royalty;

  beforeEach(async function () {
    const { ethers, networkHelpers } = await network.create();
    ethersRef = ethers;
    helpers = networkHelpers;
    signers = await ethers.getSigners();
    const [governance, modelOwner, requester] = signers;
    protocol = await deployProtocol(ethers, governance, {
      manifestFile: single.manifestFile,
      modelOwner,
      price,
      batchKeys: [{ manifestFile: batch.manifestFile, batchSize: K }],
    });
    await (await protocol.token.mint(requester.address, 20n * price)).wait();
    for (const v of [signers[3], signers[4]]) {
      await (await protocol.token.mint(v.address, DEV_MARKET_PARAMS.minStake)).wait();
      await ensureStaked(protocol.market, v);
    }
  });

  async function post(digits: Digit[], modelId = protocol.modelId, ttlSeconds = 3600): Promise<PostedRequest[]> {
    const posted: PostedRequest[] = [];
    for (const d of digits) posted.push(await postRequest(protocol.market, signers[2], modelId, d.pixels, ttlSeconds));
    return posted;
  }

  /** A batch proof for `digits` bound to `requestIds` and `prover`, claiming `outputs` (honest by default). */
  async function proveBatch(
    digits: Digit[],
    requestIds: bigint[],
    prover: string,
    outputs?: bigint[],
  ): Promise<{ proof: Proof8; outputs: bigint[]; result: ProofResult }> {
    const refs = digits.map((d) => inferQuantizedGraph(single.quantized, d.pixels));
    const claimed = outputs ?? refs.map((r) => r.output);
    const binding = batchBinding(31337n, await protocol.market.getAddress(), prover, requestIds);
    const challenge = batchChallenge(
      binding,
      refs.map((r) => r.inputCommitment),
      claimed,
    );
    const result = await batchProver.prove({
      pixels: digits.map((d) => Array.from(d.pixels)),
      challenge,
      batchBinding: binding,
    });
    return { proof: result.calldata as Proof8, outputs: claimed, result };
  }

  it("requests 4 in one transaction, claims them with claimBatch, settles them with a real proof, and proves each fact by inclusion", async function () {
    const [, , requester, validator, other] = signers;
    const digits = [test[15], test[260], test[377], test[488]];
    const token = await protocol.token.getAddress();
    const escrowBefore = (await protocol.market.feeAccounts(token))[0];
    const posted = await postRequests(
      protocol.market,
      requester,
      protocol.modelId,
      digits.map((d) => d.pixels),
    );
    // Consecutive ids, one escrow of the four fees.
    expect(posted.map((p) => p.requestId)).to.deep.equal(posted.map((_, i) => posted[0].requestId + BigInt(i)));
    expect((await protocol.market.feeAccounts(token))[0] - escrowBefore).to.equal(BigInt(K) * price);
    const open = (await openRequests(protocol.market, protocol.modelId)).filter((r) =>
      posted.some((p) => p.requestId === r.requestId),
    );
    expect(open).to.have.length(K);
    const staked = (await protocol.market.stakeOf(validator.address)).bonded;
    await claimRequests(protocol.market, validator, open);
    // One bond per request, the claim written into each request's terms (and word).
    expect((await protocol.market.stakeOf(validator.address)).bonded - staked).to.equal(
      BigInt(K) * DEV_MARKET_PARAMS.claimBond,
    );
    for (const r of open) {
      const onChain = await requestOf(protocol.market, r.requestId);
      expect(onChain.status).to.equal(RequestStatus.Claimed);
      expect(onChain.claimer).to.equal(validator.address);
      expect(r.terms).to.deep.equal(termsWithoutState(onChain));
    }
    // A claimed batch is the claimer's alone during its window.
    await expect(
      fulfilBatchRequests(protocol.market, other, { prover: batchProver, model: single.quantized }, open),
    ).to.be.revertedWithCustomError(protocol.market, "InferenceMarketClaimedByOther");
    const result = await fulfilBatchRequests(
      protocol.market,
      validator,
      { prover: batchProver, model: single.quantized },
      open,
    );
    expect((await protocol.market.stakeOf(validator.address)).bonded).to.equal(staked);
    const [batchEvent] = await protocol.market.queryFilter(protocol.market.filters.BatchAttested());
    for (const [i, p] of posted.entries()) {
      expect((await requestOf(protocol.market, p.requestId)).status).to.equal(RequestStatus.Fulfilled);
      const inclusion = await batchAttestationProof(protocol.market, p.requestId);
      const fact = factOf(protocol.modelId, p.inputCommitment, result.outputs[i]);
      expect(inclusion).to.deep.equal({
        fact,
        root: batchEvent.args.root,
        proof: inclusion!.proof,
      });
      expect(await protocol.market.isAttested(fact, inclusion!.root, inclusion!.proof)).to.equal(true);
      // The fact of another output is not in the batch, and a batch fact is not in the request's word.
      const lie = factOf(protocol.modelId, p.inputCommitment, result.outputs[i] + 1n);
      expect(await protocol.market.isAttested(lie, inclusion!.root, inclusion!.proof)).to.equal(false);
      expect(await protocol.market.isAttestedByRequest(fact, p.requestId)).to.equal(false);
    }
    expect(await protocol.market.attestedAt(batchEvent.args.root)).to.equal(BigInt(batchEvent.blockNumber));
  });

  it("settles a batch of 4 with one proof, pays every share, and costs less per inference than fulfil", async function () {
    const [, modelOwner, , validator] = signers;
    const digits = [test[11], test[222], test[333], test[444]];
    const posted = await post(digits);
    const now = BigInt((await ethersRef.provider.getBlock("latest"))!.timestamp);
    const plan = planBatches(await openRequests(protocol.market, protocol.modelId), K, now, 60n);
    expect(plan.batches).to.have.length(1);
    expect(plan.singles).to.deep.equal([]);
    const result = await fulfilBatchRequests(
      protocol.market,
      validator,
      { prover: batchProver, model: single.quantized },
      plan.batches[0],
    );
    expect(result.requestIds).to.deep.equal(posted.map((p) => p.requestId));
    for (const [i, p] of posted.entries()) {
      const ref = inferQuantizedGraph(single.quantized, digits[i].pixels);
      const req = await requestOf(protocol.market, p.requestId);
      expect(req.status).to.equal(RequestStatus.Fulfilled);
      const [event] = await protocol.market.queryFilter(protocol.market.filters.InferenceFulfilled(p.requestId));
      expect(event.args.output).to.equal(ref.output);
      expect(event.args.validator).to.equal(validator.address);
      expect(
        await attestedInBatch(protocol.market, protocol.modelId, p.inputCommitment, ref.output, p.requestId),
      ).to.equal(true);
    }
    expect(await protocol.market.balanceOf(validator.address, await protocol.token.getAddress())).to.equal(
      BigInt(K) * validatorShare,
    );
    expect(await protocol.market.balanceOf(modelOwner.address, await protocol.token.getAddress())).to.equal(
      BigInt(K) * royalty,
    );
    await (await protocol.market.connect(validator).withdraw(await protocol.token.getAddress())).wait();
    expect(await protocol.token.balanceOf(validator.address)).to.equal(BigInt(K) * validatorShare);

    // The same work one request at a time costs more gas per inference.
    const [lone] = await post([test[555]]);
    const [open] = (await openRequests(protocol.market, protocol.modelId)).filter(
      (r) => r.requestId === lone.requestId,
    );
    const one = await fulfilRequest(
      protocol.market,
      validator,
      { prover: singleProver, model: single.quantized },
      open,
    );
    expect(result.gasUsed / BigInt(K)).to.be.lessThan(one.gasUsed);
  });

  it("refuses a proof made for other request ids, and a request of another model", async function () {
    const [governance, modelOwner, , validator] = signers;
    const digits = [test[1], test[2], test[3], test[4]];
    const posted = await post(digits);
    // A fifth request for the very input of the fourth: same commitment, same output.
    const [twin] = await post([digits[3]]);
    const ids = posted.map((p) => p.requestId);
    const { proof, outputs } = await proveBatch(digits, ids, validator.address);
    const swapped = [...ids.slice(0, 3), twin.requestId];
    await expect(
      protocol.market
        .connect(validator)
        .fulfilBatch(swapped, await termsOfAll(protocol.market, swapped), outputs, proof),
    )
      .to.be.revertedWithCustomError(protocol.market, "InferenceMarketInvalidBatchProof")
      .withArgs(swapped[0], K);

    // A request of another model (the same keys, so only the market's model check stops it).
    const { modelId: otherModel } = await registerBakedModel(protocol.registry, modelOwner, {
      manifestFile: single.manifestFile,
      feeToken: await protocol.token.getAddress(),
      price,
      batchKeys: [{ manifestFile: batch.manifestFile, batchSize: K }],
    });
    const [foreign] = await post([digits[3]], otherModel);
    const mixed = [...ids.slice(0, 3), foreign.requestId];
    const mixedProof = await proveBatch(digits, mixed, validator.address);
    await expect(
      protocol.market
        .connect(validator)
        .fulfilBatch(mixed, await termsOfAll(protocol.market, mixed), mixedProof.outputs, mixedProof.proof),
    )
      .to.be.revertedWithCustomError(protocol.market, "InferenceMarketBatchMixesModels")
      .withArgs(foreign.requestId, otherModel, protocol.modelId);

    // The honest batch still settles.
    await (
      await protocol.market.connect(validator).fulfilBatch(ids, await termsOfAll(protocol.market, ids), outputs, proof)
    ).wait();
    expect(await protocol.market.balanceOf(validator.address, await protocol.token.getAddress())).to.equal(
      BigInt(K) * validatorShare,
    );
  });

  it("refuses a batch that repeats a request, even with a valid proof made for it", async function () {
    const [, , , validator] = signers;
    const digits = [test[21], test[22], test[23]];
    const posted = await post(digits);
    const ids = [posted[0].requestId, posted[1].requestId, posted[1].requestId, posted[2].requestId];
    const { proof, outputs, result } = await proveBatch(
      [digits[0], digits[1], digits[1], digits[2]],
      ids,
      validator.address,
    );
    expect(await batchProver.verify(result.proof, result.publicSignals)).to.equal(true);
    await expect(
      protocol.market.connect(validator).fulfilBatch(ids, await termsOfAll(protocol.market, ids), outputs, proof),
    )
      .to.be.revertedWithCustomError(protocol.market, "InferenceMarketBatchNotAscending")
      .withArgs(ids[1], ids[2]);
    expect(await protocol.market.balanceOf(validator.address, await protocol.token.getAddress())).to.equal(0n);
  });

  it("refuses a batch holding a request past its deadline", async function () {
    const [, , , validator] = signers;
    const digits = [test[31], test[32], test[33], test[34]];
    const posted = [...(await post(digits.slice(0, 3))), ...(await post([digits[3]], protocol.modelId, 120))];
    const ids = posted.map((p) => p.requestId);
    const { proof, outputs } = await proveBatch(digits, ids, validator.address);
    const { deadline } = await requestOf(protocol.market, ids[3]);
    await helpers.time.increaseTo(deadline + 1n);
    await expect(
      protocol.market.connect(validator).fulfilBatch(ids, await termsOfAll(protocol.market, ids), outputs, proof),
    )
      .to.be.revertedWithCustomError(protocol.market, "InferenceMarketDeadlinePassed")
      .withArgs(ids[3], deadline);
  });

  it("refuses a lie about one output, whether or not the proof was made for the lie", async function () {
    const [, , , validator] = signers;
    const digits = [test[41], test[42], test[43], test[44]];
    const ids = (await post(digits)).map((p) => p.requestId);
    const honest = await proveBatch(digits, ids, validator.address);
    const lies = honest.outputs.slice();
    lies[2] += 1n;
    await expect(
      protocol.market.connect(validator).fulfilBatch(ids, await termsOfAll(protocol.market, ids), lies, honest.proof),
    )
      .to.be.revertedWithCustomError(protocol.market, "InferenceMarketInvalidBatchProof")
      .withArgs(ids[0], K);
    // A prover that derives the challenge from its lie still folds the true output in-circuit.
    const lying = await proveBatch(digits, ids, validator.address, lies);
    await expect(
      protocol.market.connect(validator).fulfilBatch(ids, await termsOfAll(protocol.market, ids), lies, lying.proof),
    )
      .to.be.revertedWithCustomError(protocol.market, "InferenceMarketInvalidBatchProof")
      .withArgs(ids[0], K);
  });

  it("refuses the same calldata from another address (front-running)", async function () {
    const [, , , validator, thief] = signers;
    const digits = [test[51], test[52], test[53], test[54]];
    const ids = (await post(digits)).map((p) => p.requestId);
    const { proof, outputs } = await proveBatch(digits, ids, validator.address);
    await expect(
      protocol.market.connect(thief).fulfilBatch(ids, await termsOfAll(protocol.market, ids), outputs, proof),
    )
      .to.be.revertedWithCustomError(protocol.market, "InferenceMarketInvalidBatchProof")
      .withArgs(ids[0], K);
    await (
      await protocol.market.connect(validator).fulfilBatch(ids, await termsOfAll(protocol.market, ids), outputs, proof)
    ).wait();
    expect(await protocol.market.balanceOf(thief.address, await protocol.token.getAddress())).to.equal(0n);
  });

  it("the validator batches full groups and fulfils a lone request singly before its deadline", async function () {
    const [, , , validator] = signers;
    await post([test[61], test[62], test[63], test[64], test[65]]);
    const open = await openRequests(protocol.market, protocol.modelId);
    let now = BigInt((await ethersRef.provider.getBlock("latest"))!.timestamp);
    let plan = planBatches(open, K, now, 120n);
    expect(plan.batches.map((b) => b.length)).to.deep.equal([K]);
    expect(plan.waiting).to.have.length(1);
    await fulfilBatchRequests(
      protocol.market,
      validator,
      { prover: batchProver, model: single.quantized },
      plan.batches[0],
    );

    // The fifth request waits for companions until its deadline comes near, then goes alone.
    const [lone] = plan.waiting;
    await helpers.time.increaseTo(lone.deadline - 100n);
    now = BigInt((await ethersRef.provider.getBlock("latest"))!.timestamp);
    plan = planBatches(await openRequests(protocol.market, protocol.modelId), K, now, 120n);
    expect(plan.singles.map((r: OpenRequest) => r.requestId)).to.deep.equal([lone.requestId]);
    await fulfilRequest(protocol.market, validator, { prover: singleProver, model: single.quantized }, plan.singles[0]);
    expect((await requestOf(protocol.market, lone.requestId)).status).to.equal(RequestStatus.Fulfilled);
  });
});
