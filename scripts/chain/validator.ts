/**
 * The validator's side of one request: stake, read the request from its event, claim it, check
 * that the inline input opens the commitment, compute the witness, prove, and submit the
 * fulfilment; and of a batch: group pending requests of one model, prove them with the batch
 * circuit and settle them with one fulfilBatch (fulfilBatchUniversal for a universal-mode model).
 */
import { ZeroAddress, type ContractTransactionResponse, type Signer } from "ethers";
import {
  IModelRegistry__factory,
  TestToken__factory,
  type InferenceMarket,
} from "../../types/ethers-contracts/index.js";
import {
  ProofRefusedError,
  proveRequests,
  proveUniversalRequest,
  proveUniversalRequests,
  type ModelArtifacts,
  type ProofBindingData,
  type UniversalArtifacts,
} from "../prove/prove-request.ts";
import type { UniversalProver } from "../prove/universal-prover.ts";
import type { QuantizedGraph } from "../model/quantize-graph.ts";
import { requestsOnChain, RequestStatus, withClaim, type RequestTerms } from "./terms.ts";

export { fulfilmentOf, RequestStatus } from "./terms.ts";

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

/** The binding data of proofs that `validator` submits to `market`. */
export async function bindingFor(market: InferenceMarket, validator: Signer): Promise<ProofBindingData> {
  const { chainId } = await validator.provider!.getNetwork();
  return { chainId, market: await market.getAddress(), prover: await validator.getAddress() };
}

/**
 * Proves one request as `validator` (baked or committed circuit, through proveRequests) and
 * fulfils it.
 * @throws ProofRefusedError if the inline input does not open the commitment, the model is not
 * the registered one, or the circuit's output differs from the integer reference (nothing is submitted)
 */
export async function fulfilRequest(
  market: InferenceMarket,
  validator: Signer,
  artifacts: ModelArtifacts,
  request: Pick<OpenRequest, "requestId" | "inputCommitment" | "input" | "terms">,
): Promise<Fulfilment> {
  const proof = await proveRequests(artifacts, [request], await bindingFor(market, validator));
  const receipt = await (
    await market.connect(validator).fulfil(request.requestId, request.terms, proof.outputs[0]!, proof.calldata)
  ).wait();
  return {
    requestId: request.requestId,
    predicted: proof.predicted[0]!,
    output: proof.outputs[0]!,
    witnessMs: proof.witnessMs,
    proveMs: proof.proveMs,
    gasUsed: receipt!.gasUsed,
  };
}

/**
 * Proves one request of a universal-mode model as `validator` (PLONK, through
 * proveUniversalRequest) and fulfils it with `fulfilUniversal`.
 * @throws ProofRefusedError as {@link fulfilRequest} does (nothing is submitted)
 */
export async function fulfilUniversalRequest(
  market: InferenceMarket,
  validator: Signer,
  prover: UniversalProver,
  model: QuantizedGraph,
  request: Pick<OpenRequest, "requestId" | "inputCommitment" | "input" | "terms">,
): Promise<Fulfilment> {
  const proof = await proveUniversalRequest(prover, model, request, await bindingFor(market, validator));
  const receipt = await (
    await market.connect(validator).fulfilUniversal(request.requestId, request.terms, proof.output, proof.proof)
  ).wait();
  return {
    requestId: request.requestId,
    predicted: proof.predicted,
    output: proof.output,
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

/**
 * Proves a batch of requests of one model with a batch circuit's prover (through proveRequests,
 * bound to `validator` and the requests' ids in increasing order) and settles them with one
 * `fulfilBatch`.
 * @throws as proveRequests does (nothing is submitted then)
 */
export async function fulfilBatchRequests(
  market: InferenceMarket,
  validator: Signer,
  artifacts: ModelArtifacts,
  requests: Pick<OpenRequest, "requestId" | "modelId" | "inputCommitment" | "input" | "terms">[],
): Promise<BatchFulfilment> {
  if (requests.some((r) => r.modelId !== requests[0]!.modelId))
    throw new Error("a batch holds requests of one model only");
  const p = await proveRequests(artifacts, requests, await bindingFor(market, validator));
  return settleBatch(requests, p, (ids, terms) =>
    market.connect(validator).fulfilBatch(ids, terms, p.outputs, p.calldata),
  );
}

/**
 * Proves a batch of requests of one universal-mode model with its PLONK batch circuit (through
 * proveUniversalRequests, bound as {@link fulfilBatchRequests} binds) and settles them with one
 * `fulfilBatchUniversal`.
 * @throws as proveUniversalRequests does (nothing is submitted then)
 */
export async function fulfilBatchUniversalRequests(
  market: InferenceMarket,
  validator: Signer,
  artifacts: Pick<UniversalArtifacts, "prover" | "model" | "manifest">,
  requests: Pick<OpenRequest, "requestId" | "modelId" | "inputCommitment" | "input" | "terms">[],
): Promise<BatchFulfilment> {
  if (requests.some((r) => r.modelId !== requests[0]!.modelId))
    throw new Error("a batch holds requests of one model only");
  const p = await proveUniversalRequests(artifacts, requests, await bindingFor(market, validator));
  if (p.mode !== "batch")
    throw new ProofRefusedError(`${artifacts.prover.circuit} is not a batch circuit: fulfil its requests one by one`);
  return settleBatch(requests, p, (ids, terms) =>
    market.connect(validator).fulfilBatchUniversal(ids, terms, p.outputs, p.proof),
  );
}

/** Submits a proven batch with `submit` (the requests' terms in the proof's order) and reports it. */
async function settleBatch(
  requests: Pick<OpenRequest, "requestId" | "terms">[],
  p: Pick<BatchFulfilment, "requestIds" | "predicted" | "outputs" | "witnessMs" | "proveMs">,
  submit: (requestIds: bigint[], terms: RequestTerms[]) => Promise<ContractTransactionResponse>,
): Promise<BatchFulfilment> {
  const terms = new Map(requests.map((r) => [r.requestId, r.terms]));
  const receipt = await (
    await submit(
      p.requestIds,
      p.requestIds.map((id) => terms.get(id)!),
    )
  ).wait();
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
