// Minimal typings for the parts of ffjavascript 0.3 (snarkjs's field and curve library) that poi
// uses (the prover, and the development ptau); the package ships none. Field elements and points are little-endian byte arrays in
// Montgomery form, as ffjavascript keeps them.
declare module "ffjavascript" {
  /** One command of a thread-manager task, run in order inside a worker's WebAssembly memory. */
  export type TaskCommand =
    | { cmd: "ALLOCSET"; var: number; buff: Uint8Array }
    | { cmd: "ALLOC"; var: number; len: number }
    | { cmd: "SET"; var: number; buff: Uint8Array }
    | { cmd: "CALL"; fnName: string; params: ({ var: number; offset?: number } | { val: number })[] }
    | { cmd: "GET"; out: number; var: number; len: number };
  export interface ThreadManager {
    /** Worker threads in the pool (1 for a single-thread curve, which runs tasks on the caller's thread). */
    concurrency: number;
    singleThread: boolean;
    /** Runs a task on a free worker; `transfers` are moved to it rather than cloned. */
    queueAction(task: TaskCommand[], transfers?: ArrayBuffer[]): Promise<Uint8Array[]>;
  }
  export interface WasmField {
    n8: number;
    one: Uint8Array;
    s: number;
    shift: Uint8Array;
    /** w[k]: a primitive 2^k-th root of unity. */
    w: Uint8Array[];
    random(): Uint8Array;
    mul(a: Uint8Array, b: Uint8Array): Uint8Array;
    neg(a: Uint8Array): Uint8Array;
  }
  export interface WasmGroup {
    F: { n8: number };
    zero: Uint8Array;
    add(a: Uint8Array, b: Uint8Array): Uint8Array;
    timesFr(a: Uint8Array, s: Uint8Array): Uint8Array;
    toAffine(a: Uint8Array): Uint8Array;
    /** Coordinates as integers: [x, y, 1n] in G1, [[x0, x1], [y0, y1], [1n, 0n]] in G2. */
    toObject(a: Uint8Array): unknown;
    fromRprLEM(buff: Uint8Array, offset: number): Uint8Array;
  }
  export interface Curve {
    name: string;
    Fr: WasmField;
    G1: WasmGroup;
    G2: WasmGroup;
    tm: ThreadManager;
    terminate(): Promise<void>;
  }
  /** The ChaCha20 stream that snarkjs seeds to derive points from a hash. */
  export class ChaCha {
    constructor(seed: number[]);
    nextU32(): number;
  }
  /** The bn128 curve: cached per process with a worker pool, or (singleThread) uncached on the caller's thread. */
  export function buildBn128(singleThread?: boolean): Promise<Curve>;
}
