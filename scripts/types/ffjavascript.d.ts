// Minimal typings for the parts of ffjavascript 0.3 (snarkjs's field and curve library) that poi uses.
declare module "ffjavascript" {
  /** The ChaCha20 stream that snarkjs seeds to derive points from a hash. */
  export class ChaCha {
    constructor(seed: number[]);
    nextU32(): number;
  }
}
