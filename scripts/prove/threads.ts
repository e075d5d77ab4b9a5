/**
 * The size of snarkjs's worker pool. ffjavascript sizes it with `os.cpus().length` when the
 * bn128 curve is first built (lazily, at the first proof) and caches the curve for the process,
 * so the count must be set before the first proof; scripts/bench/prove-worker.ts measured the
 * effect (docs/benchmarks.md: on a loaded 2-core machine a pool of 1 proved faster than 2).
 */
import os from "node:os";

/**
 * Makes the next curve built in this process use `threads` workers (more than the cores is
 * allowed: entries repeat). Throws if the curve already exists, since it would be ignored.
 */
export function setProverThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1)
    throw new RangeError(`threads must be a positive integer, got ${threads}`);
  if ((globalThis as { curve_bn128?: unknown }).curve_bn128)
    throw new Error("setProverThreads must be called before the first proof of the process");
  const cpus = os.cpus();
  os.cpus = () => Array.from({ length: threads }, (_, i) => cpus[i % cpus.length]);
}
