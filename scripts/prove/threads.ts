/**
 * Where the prover computes. By default on ffjavascript's worker pool, which it sizes with
 * `os.cpus().length` when the bn128 curve is first built (lazily, at the first proof) and caches
 * for the process; so the choice must be made before the first proof. scripts/bench/prove-worker.ts
 * measures each choice (docs/benchmarks.md).
 */
import os from "node:os";

let onCallingThread = false;

/**
 * Makes the next curve built in this process use `threads` workers (more than the cores is
 * allowed: entries repeat), or with 0 prove on the calling thread, without workers.
 * Throws if the curve already exists, since it would be ignored.
 */
export function setProverThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 0)
    throw new RangeError(`threads must be a non-negative integer (0: no worker threads), got ${threads}`);
  if ((globalThis as { curve_bn128?: unknown }).curve_bn128)
    throw new Error("setProverThreads must be called before the first proof of the process");
  onCallingThread = threads === 0;
  if (threads === 0) return;
  const cpus = os.cpus();
  os.cpus = () => Array.from({ length: threads }, (_, i) => cpus[i % cpus.length]);
}

/** True once setProverThreads(0) chose to prove without worker threads. */
export function provesOnCallingThread(): boolean {
  return onCallingThread;
}
