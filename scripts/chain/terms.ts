/**
 * A request's terms, rebuilt from its events. The market stores one word per request (the hash
 * of its terms with the status in the low byte) and every call on a request takes the terms in
 * calldata: this module is the one place that rebuilds them, from `InferenceRequested` and
 * `InferenceClaimed`, and checks them against the stored word.
 */
import { AbiCoder, getBytes, keccak256, ZeroAddress } from "ethers";
import type { InferenceMarket } from "../../types/ethers-contracts/index.js";

/** Request statuses of IInferenceMarket.RequestStatus. */
export const RequestStatus = { None: 0n, Open: 1n, Claimed: 2n, Fulfilled: 3n, Refunded: 4n } as const;

/** The terms of a request (IInferenceMarket.Request), in the order the market hashes them. */
export interface RequestTerms {
  requester: string;
  deadline: bigint;
  feeToken: string;
  fee: bigint;
  modelId: bigint;
  inputCommitment: bigint;
  /** Validator holding the claim, or the zero address. */
  claimer: string;
  claimedAt: bigint;
  claimExpiresAt: bigint;
  bond: bigint;
}

/** A request's terms, with what its InferenceRequested event adds. */
export interface RequestRecord {
  requestId: bigint;
  terms: RequestTerms;
  /** The inline input (or URI) the request published. */
  input: Uint8Array;
  /** Block of its InferenceRequested event. */
  blockNumber: number;
}

const TERMS_TYPE =
  "tuple(address requester,uint64 deadline,address feeToken,uint128 fee,uint256 modelId,uint256 inputCommitment,address claimer,uint64 claimedAt,uint64 claimExpiresAt,uint128 bond)";
const STATUS_MASK = 0xffn;

/** The word the market stores for a request with `terms` and `status` (mirror of its `_word`). */
export function requestWord(terms: RequestTerms, status: bigint): string {
  const hash = BigInt(keccak256(AbiCoder.defaultAbiCoder().encode([TERMS_TYPE], [terms])));
  return "0x" + ((hash & ~STATUS_MASK) | status).toString(16).padStart(64, "0");
}

/** The terms with the claim an `InferenceClaimed` event reports, as `claim` sets them. */
export function withClaim(
  terms: RequestTerms,
  claimed: { validator: string; claimedAt: bigint; expiresAt: bigint; bond: bigint },
): RequestTerms {
  return {
    ...terms,
    claimer: claimed.validator,
    claimedAt: claimed.claimedAt,
    claimExpiresAt: claimed.expiresAt,
    bond: claimed.bond,
  };
}

/**
 * The terms of many requests, rebuilt with one query per event type over `fromBlock..toBlock`
 * (requests whose InferenceRequested event is outside the range are left out). Never-claimed
 * requests have zero claim fields.
 */
export async function requestRecords(
  market: InferenceMarket,
  requestIds: readonly bigint[],
  fromBlock = 0,
  toBlock: number | "latest" = "latest",
): Promise<Map<bigint, RequestRecord>> {
  const wanted = new Set(requestIds);
  const records = new Map<bigint, RequestRecord>();
  if (wanted.size === 0) return records;
  // A topic filter of one id is an exact query; many ids share one range query, filtered here.
  const one = wanted.size === 1 ? [...wanted][0] : undefined;
  const [requested, claimed] = await Promise.all([
    market.queryFilter(market.filters.InferenceRequested(one), fromBlock, toBlock),
    market.queryFilter(market.filters.InferenceClaimed(one), fromBlock, toBlock),
  ]);
  for (const e of requested) {
    if (!wanted.has(e.args.requestId)) continue;
    records.set(e.args.requestId, {
      requestId: e.args.requestId,
      terms: {
        requester: e.args.requester,
        deadline: e.args.deadline,
        feeToken: e.args.feeToken,
        fee: e.args.fee,
        modelId: e.args.modelId,
        inputCommitment: e.args.inputCommitment,
        claimer: ZeroAddress,
        claimedAt: 0n,
        claimExpiresAt: 0n,
        bond: 0n,
      },
      input: getBytes(e.args.input),
      blockNumber: e.blockNumber,
    });
  }
  for (const e of claimed) {
    const r = records.get(e.args.requestId);
    if (!r) continue;
    r.terms = withClaim(r.terms, e.args);
  }
  return records;
}

/**
 * The terms of request `requestId`, from its events (`fromBlock`: any block at or before its
 * request).
 * @throws if the request has no InferenceRequested event from `fromBlock` on
 */
export async function requestTerms(market: InferenceMarket, requestId: bigint, fromBlock = 0): Promise<RequestTerms> {
  const r = (await requestRecords(market, [requestId], fromBlock)).get(requestId);
  if (!r) throw new Error(`request ${requestId}: no InferenceRequested event from block ${fromBlock} on`);
  return r.terms;
}

/** A request as it stands on-chain: its status, its terms and whether they match its word. */
export interface RequestOnChain extends RequestRecord {
  status: bigint;
  word: string;
  /** Shorthands of `terms` (the zero address and 0 when unclaimed). */
  claimer: string;
  claimExpiresAt: bigint;
}

/**
 * The status of each request and its terms rebuilt from events (one query per event type, as
 * {@link requestRecords}). Once fulfilled, a request's word holds its fact instead of its terms;
 * the terms are then the ones its events give.
 * @throws if a request has no InferenceRequested event from `fromBlock` on, or if the events give
 * terms that do not hash to the stored word of an open or claimed request (the node lost events)
 */
export async function requestsOnChain(
  market: InferenceMarket,
  requestIds: readonly bigint[],
  fromBlock = 0,
): Promise<Map<bigint, RequestOnChain>> {
  const [records, states] = await Promise.all([
    requestRecords(market, requestIds, fromBlock),
    Promise.all(requestIds.map((id) => market.requestState(id))),
  ]);
  const out = new Map<bigint, RequestOnChain>();
  requestIds.forEach((id, i) => {
    const r = records.get(id);
    if (!r) throw new Error(`request ${id}: no InferenceRequested event from block ${fromBlock} on`);
    const [status, word] = states[i];
    if ((status === RequestStatus.Open || status === RequestStatus.Claimed) && requestWord(r.terms, status) !== word)
      throw new Error(`request ${id}: the terms its events give do not match its stored word`);
    out.set(id, { ...r, status, word, claimer: r.terms.claimer, claimExpiresAt: r.terms.claimExpiresAt });
  });
  return out;
}

/** {@link requestsOnChain} for one request. */
export async function requestOnChain(
  market: InferenceMarket,
  requestId: bigint,
  fromBlock = 0,
): Promise<RequestOnChain> {
  return (await requestsOnChain(market, [requestId], fromBlock)).get(requestId)!;
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
): Promise<{ validator: string; output: bigint; blockNumber: number; transactionHash: string } | undefined> {
  const [log] = await market.queryFilter(market.filters.InferenceFulfilled(requestId), fromBlock);
  return (
    log && {
      validator: log.args.validator,
      output: log.args.output,
      blockNumber: log.blockNumber,
      transactionHash: log.transactionHash,
    }
  );
}
