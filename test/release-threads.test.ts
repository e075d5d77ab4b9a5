/**
 * Root hook: snarkjs keeps its worker threads (and so the test process) alive after any
 * proof or r1cs read; release them once every suite has run.
 */
import { releaseProverThreads } from "../scripts/prove/prover.ts";

after(async function () {
  await releaseProverThreads();
});
