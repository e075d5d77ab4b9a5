/**
 * The daemon's grouping policy, kept free of the chain so that it can be read and tested on its
 * own: which of the requests ready to prove (claimed, or free to fulfil) go out now as a batch,
 * which go out now one by one, and which wait for companions, and until when.
 *
 * - Ready requests of the model are taken earliest effective deadline first; every full group of
 *   the largest supported batch size K goes out at once.
 * - The leftover group (fewer than K) waits for companions, but at most `batchWaitSeconds` from
 *   when its oldest member became ready, and never past the point where its time left would no
 *   longer cover proving it and the full batches ahead of it (estimated, with margin) plus the
 *   deadline margin and one poll.
 * - A flushed leftover group goes out in the largest supported sizes that fit, the rest as K=1.
 *
 * The effective deadline of a request is its deadline, or the end of our claim's exclusive window
 * if that comes first: past it a competitor may fulfil the request and our bond is slashed.
 */

export interface BatchCandidate {
  requestId: bigint;
  /** min(deadline, end of our claim window) in chain seconds. */
  effectiveDeadline: bigint;
  /** When the daemon first saw it ready to prove (same clock as `now`). */
  readySince: bigint;
}

export interface BatchPolicy {
  /** Supported batch sizes (each has a registered batch verifier and a circuit here), K > 1. */
  sizes: readonly number[];
  batchWaitSeconds: bigint;
  /** Seconds kept between a send and a deadline (the daemon's deadline margin). */
  deadlineMarginSeconds: bigint;
  /** Estimated seconds to prove one proof of size k, margin included (k = 1 for a single). */
  provingSeconds(k: number): number;
  /** Time between two passes of the daemon, in seconds (a decision may be that late). */
  pollSeconds: number;
}

export type FlushReason = "batching-off" | "batch-wait" | "deadline";

export interface BatchDecision {
  /** Groups to prove as one batch each, request ids increasing within a group. */
  batches: bigint[][];
  /** Requests to prove one by one now, with why they did not wait for a batch. */
  singles: { requestId: bigint; reason: FlushReason }[];
  /** Leftover batch groups flushed now in smaller sizes (K > 1 but below the largest). */
  flushedBatches: { requestIds: bigint[]; reason: FlushReason }[];
  /** The leftover group flushed now, if any: why, and the sizes it goes out in. */
  flushed?: { requestIds: bigint[]; reason: FlushReason; parts: number[] };
  /** Requests waiting for companions, and the time (chain seconds) by which they go out anyway. */
  waiting: { requestIds: bigint[]; flushAt: bigint };
}

/** Splits `n` requests into the largest supported sizes first, then singles (sizes of the parts). */
export function decompose(n: number, sizes: readonly number[]): number[] {
  const parts: number[] = [];
  let left = n;
  for (const k of [...sizes].filter((s) => s > 1).sort((a, b) => b - a)) {
    while (left >= k) {
      parts.push(k);
      left -= k;
    }
  }
  for (; left > 0; left--) parts.push(1);
  return parts;
}

const byDeadline = (a: BatchCandidate, b: BatchCandidate) =>
  a.effectiveDeadline !== b.effectiveDeadline
    ? a.effectiveDeadline < b.effectiveDeadline
      ? -1
      : 1
    : a.requestId < b.requestId
      ? -1
      : 1;
const increasing = (ids: bigint[]) => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** Decides what goes out now and what waits (see the module comment). */
export function decideBatches(ready: readonly BatchCandidate[], now: bigint, policy: BatchPolicy): BatchDecision {
  const decision: BatchDecision = {
    batches: [],
    singles: [],
    flushedBatches: [],
    waiting: { requestIds: [], flushAt: 0n },
  };
  const queue = [...ready].sort(byDeadline);
  const sizes = policy.sizes.filter((k) => k > 1);
  if (sizes.length === 0) {
    decision.singles = queue.map((r) => ({ requestId: r.requestId, reason: "batching-off" }));
    return decision;
  }
  const kMax = Math.max(...sizes);
  let i = 0;
  for (; i + kMax <= queue.length; i += kMax)
    decision.batches.push(increasing(queue.slice(i, i + kMax).map((r) => r.requestId)));
  const leftover = queue.slice(i);
  if (leftover.length === 0) return decision;

  // Flushing now means proving the leftover in these parts, one after another, after the full
  // batches of this pass.
  const parts = decompose(leftover.length, sizes);
  const provingSeconds =
    decision.batches.length * policy.provingSeconds(kMax) + parts.reduce((sum, k) => sum + policy.provingSeconds(k), 0);
  const budget = policy.deadlineMarginSeconds + BigInt(Math.ceil(provingSeconds + policy.pollSeconds));
  const earliest = leftover[0].effectiveDeadline;
  const oldest = leftover.reduce((m, r) => (r.readySince < m ? r.readySince : m), leftover[0].readySince);
  const byDeadlineAt = earliest - budget;
  const byWaitAt = oldest + policy.batchWaitSeconds;
  const flushAt = byDeadlineAt < byWaitAt ? byDeadlineAt : byWaitAt;
  if (now < flushAt) {
    decision.waiting = { requestIds: increasing(leftover.map((r) => r.requestId)), flushAt };
    return decision;
  }
  const reason: FlushReason = now >= byDeadlineAt ? "deadline" : "batch-wait";
  decision.flushed = { requestIds: increasing(leftover.map((r) => r.requestId)), reason, parts };
  let at = 0;
  for (const k of parts) {
    const group = leftover.slice(at, at + k).map((r) => r.requestId);
    at += k;
    if (k === 1) decision.singles.push({ requestId: group[0], reason });
    else decision.flushedBatches.push({ requestIds: increasing(group), reason });
  }
  return decision;
}

/**
 * Proving-time estimates per batch size: a first guess from the circuit's constraint count,
 * replaced by what proofs here actually took. The estimate forgets a fast outlier slowly and
 * takes a slow one at once, and is multiplied by `safety` when the policy uses it.
 */
export class ProvingClock {
  private readonly measured = new Map<number, number>();

  constructor(
    private readonly constraints: ReadonlyMap<number, number>,
    /** Seconds per constraint before anything was measured: slow on purpose. */
    private readonly initialSecondsPerConstraint = 0.001,
    private readonly safety = 2,
  ) {}

  record(k: number, seconds: number): void {
    const old = this.measured.get(k);
    this.measured.set(k, old === undefined ? seconds : Math.max(seconds, (old + seconds) / 2));
  }

  /** Estimated seconds for one proof of size k, margin included. */
  estimate(k: number): number {
    const m = this.measured.get(k) ?? (this.constraints.get(k) ?? 0) * this.initialSecondsPerConstraint;
    return m * this.safety;
  }
}
