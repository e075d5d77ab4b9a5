/**
 * The market as the tests read it: a request's terms are rebuilt from its events the way every
 * client does (scripts/chain/terms.ts), since the market stores only their hash and status.
 */
import { ZeroAddress } from "ethers";
import type { InferenceMarket } from "../../types/ethers-contracts/index.js";
import { attestationRoot, batchAttestationProof, factOf } from "../../scripts/chain/attestations.ts";
import { requestTerms, type RequestTerms } from "../../scripts/chain/terms.ts";

/** Terms of a request that has no events (never opened): any terms do, its status is None. */
const NO_TERMS: RequestTerms = {
  requester: ZeroAddress,
  deadline: 0n,
  feeToken: ZeroAddress,
  fee: 0n,
  modelId: 0n,
  inputCommitment: 0n,
  claimer: ZeroAddress,
  claimedAt: 0n,
  claimExpiresAt: 0n,
  bond: 0n,
};

/** The terms every call on request `requestId` takes, from its events (blank if it has none). */
export async function termsOf(market: InferenceMarket, requestId: bigint): Promise<RequestTerms> {
  const [status] = await market.requestState(requestId);
  return status === 0n ? NO_TERMS : requestTerms(market, requestId);
}

/** Terms of each request, in order. */
export async function termsOfAll(market: InferenceMarket, requestIds: readonly bigint[]): Promise<RequestTerms[]> {
  return Promise.all(requestIds.map((id) => termsOf(market, id)));
}

/** A request's terms and its status, as the market's former `request(id)` returned them. */
export async function requestOf(
  market: InferenceMarket,
  requestId: bigint,
): Promise<RequestTerms & { status: bigint; word: string }> {
  const [status, word] = await market.requestState(requestId);
  return { ...(await termsOf(market, requestId)), status, word };
}

/** Whether the market attests `output` for the input of request `requestId`, fulfilled singly. */
export async function attestedByRequest(
  market: InferenceMarket,
  modelId: bigint,
  inputCommitment: bigint,
  output: bigint,
  requestId: bigint,
): Promise<boolean> {
  return market.isAttestedByRequest(factOf(modelId, inputCommitment, output), requestId);
}

/** Whether the market attests `output` through `attest()`: a record of one fact, checked with an empty proof. */
export async function attestedAlone(
  market: InferenceMarket,
  modelId: bigint,
  inputCommitment: bigint,
  output: bigint,
): Promise<boolean> {
  const fact = factOf(modelId, inputCommitment, output);
  return market.isAttested(fact, attestationRoot([fact]), []);
}

/** Whether the market attests `output` for request `requestId`, settled in a batch: by the inclusion proof its events give. */
export async function attestedInBatch(
  market: InferenceMarket,
  modelId: bigint,
  inputCommitment: bigint,
  output: bigint,
  requestId: bigint,
): Promise<boolean> {
  const p = await batchAttestationProof(market, requestId);
  if (!p) return false;
  const fact = factOf(modelId, inputCommitment, output);
  return fact === p.fact && (await market.isAttested(fact, p.root, p.proof));
}

/**
 * A validator journal's history of a request it claimed and fulfilled alone: each transaction is
 * journalled with its nonce before it is sent (the first `claiming`, `submitting`), then with its
 * hash (the second).
 */
export const SINGLE_FULFILMENT_HISTORY = [
  "seen",
  "claiming",
  "claiming",
  "claimed",
  "proved",
  "submitting",
  "submitting",
  "fulfilled",
] as const;
