/**
 * The validator's side of one request: stake, read the request from its event, claim it, check
 * that the inline input opens the commitment, compute the witness, prove, and submit the
 * fulfilment; and of a batch: group pending requests of one model, prove them with the batch
 * circuit and settle them with one fulfilBatch.
 */
import { ZeroAddress, type Signer } from "ethers";
import {
  IModelRegistry__factory,
  TestToken__factory,
  type InferenceMarket,
} from "../../types/ethers-contracts/index.js";
import { packedCommitment } from "../circuit/reference.ts";
import { inferQuantized } from "../model/quantized-inference.ts";
import type { QuantizedMlp } from "../model/quantize.ts";
import type { Prover } from "../prove/prover.ts";
import { batchBinding, batchChallenge, batchFold } from "../circuit/batch-fold.ts";
import { requestBinding } from "./binding.ts";
import { requestsOnChain, RequestStatus, withClaim, type RequestTerms } from "./terms.ts";

export { RequestStatus } from "./terms.ts";

export interface OpenRequest {
  requestId: bigint;
  modelId: bigint;
  inputCommitment: bigint;
  fee: bigint;
  deadline: bigint;
  input: Uint8Array;
  blockNumber: number;
  /** Validator holding the claim, or the zero address. */
  claimer: string;
  /** End of the claimer's exclusive window (0 if unclaimed). */
  claimExpiresAt: bigint;
  /** The terms every market call on the request takes (see terms.ts); claiming updates them. */
  terms: RequestTerms;
}

/**
 * Who fulfilled request `requestId`, with which output, read from its InferenceFulfilled event:
 * the market does not store them (they are in the event and the attestation). `fromBlock` is
 * any block at or before the request's (the event is always later). Undefined if not fulfilled.
 */
export async function fulfilmentOf(
  market: InferenceMarket,
  requestId: bigint,
  fromBlock = 0,
): Promise<{ validator: string; output: bigint; blockNumber: number } | undefined> {
  const [log] = await market.queryFilter(market.filters.InferenceFulfilled(requestId), fromBlock);
  return log && { validator: log.args.validator, output: log.args.output, blockNumber: log.blockNumber };
}

export interface Fulfilment {
  requestId: bigint;
  predicted: number;
  output: bigint;
  witnessMs: number;
  proveMs: number;
  gasUsed: bigint;
}

/**
 * Tops the validator's active stake up to the market's `minStake` (approving the stake token),
 * so that it may claim and fulfil. Returns the amount staked now (0 if it already had enough).
 */
export async function ensureStaked(market: InferenceMarket, validator: Signer): Promise<bigint> {
  const m = market.connect(validator);
  const { minStake } = await m.params();
  const { amount } = await m.stakeOf(await validator.getAddress());
  if (amount >= minStake) return 0n;
  const missing = minStake - amount;
  const token = TestToken__factory.connect(await m.stakeToken(), validator); // only its ERC-20 part is used
  await (await token.approve(await m.getAddress(), missing)).wait();
  await (await m.stake(missing)).wait();
  return missing;
}

/**
 * Claims requests for `validator`, locking a bond each: `claim` for one, `claimBatch` (one stake
 * update) for several. Updates each request's terms with its claim, as the market now hashes
 * them; returns the gas used.
 */
export async function claimRequests(
  market: InferenceMarket,
  validator: Signer,
  requests: Pick<OpenRequest, "requestId" | "terms" | "claimer" | "claimExpiresAt">[],
): Promise<bigint> {
  const batch = [...requests].sort((a, b) => (a.requestId < b.requestId ? -1 : 1));
  const m = market.connect(validator);
  const tx =
    batch.length === 1
      ? await m.claim(batch[0].requestId, batch[0].terms)
      : await m.claimBatch(
          batch.map((r) => r.requestId),
          batch.map((r) => r.terms),
        );
  const receipt = (await tx.wait())!;
  const byId = new Map(batch.map((r) => [r.requestId, r]));
  for (const log of receipt.logs) {
    const parsed = market.interface.parseLog(log);
    if (parsed?.name !== "InferenceClaimed") continue;
    const r = byId.get(parsed.args.requestId as bigint);
    if (!r) continue;
    r.terms = withClaim(r.terms, parsed.args as unknown as Parameters<typeof withClaim>[1]);
    r.claimer = r.terms.claimer;
    r.claimExpiresAt = r.terms.claimExpiresAt;
  }
  return receipt.gasUsed;
}

/** {@link claimRequests} for one request. */
export async function claimRequest(
  market: InferenceMarket,
  validator: Signer,
  request: Pick<OpenRequest, "requestId" | "terms" | "claimer" | "claimExpiresAt">,
): Promise<bigint> {
  return claimRequests(market, validator, [request]);
}

/** InferenceRequested events for a model from `fromBlock` on, still open or claimed on-chain. */
export async function openRequests(market: InferenceMarket, modelId: bigint, fromBlock = 0): Promise<OpenRequest[]> {
  const events = await market.queryFilter(market.filters.InferenceRequested(undefined, modelId), fromBlock);
  const ids = events.map((e) => e.args.requestId);
  const states = await requestsOnChain(market, ids, fromBlock);
  const open: OpenRequest[] = [];
  for (const id of ids) {
    const s = states.get(id)!;
    if (s.status !== RequestStatus.Open && s.status !== RequestStatus.Claimed) continue;
    open.push({
      requestId: id,
      modelId: s.terms.modelId,
      inputCommitment: s.terms.inputCommitment,
      fee: s.terms.fee,
      deadline: s.terms.deadline,
      input: s.input,
      blockNumber: s.blockNumber,
      claimer: s.claimer,
      claimExpiresAt: s.claimExpiresAt,
      terms: s.terms,
    });
  }
  return open;
}

/**
 * Proves and fulfils one request as `validator`.
 * @throws if the inline input does not open the commitment (nothing is submitted), or if the
 * circuit's output differs from the integer reference (a broken build: nothing is submitted)
 */
export async function fulfilRequest(
  market: InferenceMarket,
  validator: Signer,
  prover: Prover,
  model: QuantizedMlp,
  request: OpenRequest,
): Promise<Fulfilment> {
  const pixels = Array.from(request.input);
  if (pixels.length !== model.inputSize || packedCommitment(pixels, model.inputBits) !== request.inputCommitment) {
    throw new Error(`request ${request.requestId}: the inline input does not open the input commitment; skipping it`);
  }
  const expected = inferQuantized(model, pixels);
  const { chainId } = await validator.provider!.getNetwork();
  const address = await validator.getAddress();
  const binding = requestBinding(chainId, await market.getAddress(), request.requestId, address);
  const proof = await prover.prove({ pixels, binding });
  const [inputCommitment, output, provenBinding] = proof.publicSignals;
  if (inputCommitment !== request.inputCommitment || output !== expected.output || provenBinding !== binding) {
    throw new Error(
      `request ${request.requestId}: the circuit's public signals differ from the reference; refusing to submit`,
    );
  }
  const tx = await market
    .connect(validator)
    .fulfil(
      request.requestId,
      request.terms,
      output,
      proof.calldata as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint],
    );
  const receipt = await tx.wait();
  return {
    requestId: request.requestId,
    predicted: expected.predicted,
    output,
    witnessMs: proof.witnessMs,
    proveMs: proof.proveMs,
    gasUsed: receipt!.gasUsed,
  };
}

export interface BatchFulfilment {
  requestIds: bigint[];
  predicted: number[];
  outputs: bigint[];
  witnessMs: number;
  proveMs: number;
  /** Gas of the one fulfilBatch transaction (divide by the batch size for gas per inference). */
  gasUsed: bigint;
}

/**
 * The batch sizes among `sizes` for which the model has a batch verifier in the market's
 * registry (`ModelRegistry.batchVerifier(modelId, K)` nonzero), in increasing order. The one
 * place the validator reads batch verifiers.
 */
export async function supportedBatchSizes(
  market: InferenceMarket,
  modelId: bigint,
  sizes: readonly number[],
): Promise<number[]> {
  const registry = IModelRegistry__factory.connect(await market.registry(), market.runner);
  const supported: number[] = [];
  for (const k of [...new Set(sizes)].sort((a, b) => a - b)) {
    if (k < 2) continue;
    if ((await registry.batchVerifier(modelId, k)) !== ZeroAddress) supported.push(k);
  }
  return supported;
}

export interface BatchProof {
  /** Increasing, as fulfilBatch requires. */
  requestIds: bigint[];
  predicted: number[];
  outputs: bigint[];
  /** The proof as the market's uint256[8]. */
  calldata: bigint[];
  witnessMs: number;
  proveMs: number;
}

/**
 * Proves a batch of requests of one model with a batch circuit's prover, bound to `validator`
 * and to the requests' ids in increasing order (the order fulfilBatch takes them in). Sends nothing.
 * @throws if the prover is not a batch circuit's, a request is of another model, an inline
 * input does not open its commitment, or the proven signals differ from the reference
 */
export async function proveBatch(
  market: InferenceMarket,
  validator: Signer,
  prover: Prover,
  model: QuantizedMlp,
  requests: Pick<OpenRequest, "requestId" | "modelId" | "inputCommitment" | "input">[],
): Promise<BatchProof> {
  const batch = [...requests].sort((a, b) => (a.requestId < b.requestId ? -1 : 1));
  if (prover.manifest.publicSignals[0] !== "fold") {
    throw new Error(`${prover.manifest.circuit} is not a batch circuit; use fulfilRequest for single requests`);
  }
  if (batch.some((r) => r.modelId !== batch[0].modelId)) throw new Error("a batch holds requests of one model only");
  const pixels = batch.map((r) => Array.from(r.input));
  batch.forEach((r, i) => {
    if (pixels[i].length !== model.inputSize || packedCommitment(pixels[i], model.inputBits) !== r.inputCommitment) {
      throw new Error(`request ${r.requestId}: the inline input does not open the input commitment; skipping it`);
    }
  });
  const expected = pixels.map((p) => inferQuantized(model, p));
  const requestIds = batch.map((r) => r.requestId);
  const commitments = batch.map((r) => r.inputCommitment);
  const outputs = expected.map((e) => e.output);
  const { chainId } = await validator.provider!.getNetwork();
  const binding = batchBinding(chainId, await market.getAddress(), await validator.getAddress(), requestIds);
  const challenge = batchChallenge(binding, commitments, outputs);
  const proof = await prover.prove({ pixels, challenge, batchBinding: binding });
  const [fold, provenChallenge, provenBinding] = proof.publicSignals;
  if (
    fold !== batchFold(challenge, commitments, outputs) ||
    provenChallenge !== challenge ||
    provenBinding !== binding
  ) {
    throw new Error(`batch ${requestIds.join(",")}: the circuit's fold differs from the reference; refusing to submit`);
  }
  return {
    requestIds,
    predicted: expected.map((e) => e.predicted),
    outputs,
    calldata: proof.calldata,
    witnessMs: proof.witnessMs,
    proveMs: proof.proveMs,
  };
}

/**
 * Proves a batch of requests of one model with a batch circuit's prover ({@link proveBatch}) and
 * settles them with one `fulfilBatch`.
 * @throws as {@link proveBatch} does (nothing is submitted then)
 */
export async function fulfilBatchRequests(
  market: InferenceMarket,
  validator: Signer,
  prover: Prover,
  model: QuantizedMlp,
  requests: OpenRequest[],
): Promise<BatchFulfilment> {
  const p = await proveBatch(market, validator, prover, model, requests);
  const terms = new Map(requests.map((r) => [r.requestId, r.terms]));
  const tx = await market.connect(validator).fulfilBatch(
    p.requestIds,
    p.requestIds.map((id) => terms.get(id)!),
    p.outputs,
    p.calldata as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint],
  );
  const receipt = await tx.wait();
  return {
    requestIds: p.requestIds,
    predicted: p.predicted,
    outputs: p.outputs,
    witnessMs: p.witnessMs,
    proveMs: p.proveMs,
    gasUsed: receipt!.gasUsed,
  };
}

export interface BatchPlan {
  /** Full batches of one model each, earliest deadlines first. */
  batches: OpenRequest[][];
  /** Requests that cannot wait for a full batch: fulfil them one by one now. */
  singles: OpenRequest[];
  /** Requests left to wait for companions. */
  waiting: OpenRequest[];
}

/**
 * Groups pending requests of each model into batches of `batchSize` (earliest deadlines first).
 * A request left over that would reach its deadline within `urgencySeconds` of `now` is fulfilled
 * singly rather than left waiting for a batch that may never fill; `batchSize` 1 (no batch
 * verifier registered) makes every request a single.
 */
export function planBatches(
  requests: OpenRequest[],
  batchSize: number,
  now: bigint,
  urgencySeconds: bigint,
): BatchPlan {
  const plan: BatchPlan = { batches: [], singles: [], waiting: [] };
  const byModel = new Map<bigint, OpenRequest[]>();
  for (const r of requests) byModel.set(r.modelId, [...(byModel.get(r.modelId) ?? []), r]);
  for (const group of byModel.values()) {
    group.sort((a, b) => (a.deadline < b.deadline ? -1 : a.deadline > b.deadline ? 1 : 0));
    let i = 0;
    if (batchSize > 1) {
      for (; i + batchSize <= group.length; i += batchSize) plan.batches.push(group.slice(i, i + batchSize));
    }
    for (const r of group.slice(i)) {
      (batchSize <= 1 || r.deadline - now <= urgencySeconds ? plan.singles : plan.waiting).push(r);
    }
  }
  return plan;
}
