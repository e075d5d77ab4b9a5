/**
 * Entry of the browser build of the prover (`npm run build:browser-prover`, browser-build.ts):
 * the same witness calculator, proving-key parser and Groth16 engine as in Node, with
 * ffjavascript's web workers (navigator.hardwareConcurrency of them) in place of worker threads.
 * A page imports it as an ES module, gives it the circuit's witness WebAssembly and zkey bytes,
 * and gets standard Groth16 proofs with their calldata.
 */
export { CircuitProver, type CircuitProof } from "./circuit-prover.ts";
export { releaseProverPool, proverCurve } from "./groth16.ts";
