/**
 * Witness + Groth16 proof + calldata for one circuit, from its witness WebAssembly and zkey bytes:
 * the part of the prover that Node (prover.ts, which adds the manifest's integrity checks) and
 * the browser bundle (browser-entry.ts) share. Platform-neutral: no Node APIs.
 */
import type { Groth16Proof } from "snarkjs";
import { proofCalldata, proveGroth16, proverCurve } from "./groth16.ts";
import { parseProvingKey, type ProvingKey } from "./proving-key.ts";
import { CircuitWitnessCalculator, witnessWires } from "./witness-calculator.ts";

export interface CircuitProof {
  proof: Groth16Proof;
  publicSignals: bigint[];
  /** The proof as the market's uint256[8]: [a0, a1, b00, b01, b10, b11, c0, c1]. */
  calldata: bigint[];
  witnessMs: number;
  proveMs: number;
}

export class CircuitProver {
  private constructor(
    readonly circuit: string,
    readonly key: ProvingKey,
    private readonly calculator: CircuitWitnessCalculator,
    private readonly onCallingThread: () => boolean,
  ) {}

  /**
   * Instantiates the witness code and parses the zkey once. `onCallingThread` is asked at each
   * proof whether to compute without worker threads (the default is the worker pool).
   */
  static async fromBytes(
    circuit: string,
    wasm: Uint8Array,
    zkey: Uint8Array,
    zkeyName: string,
    onCallingThread: () => boolean = () => false,
  ): Promise<CircuitProver> {
    const key = parseProvingKey(zkey, zkeyName);
    return new CircuitProver(circuit, key, await CircuitWitnessCalculator.build(wasm, circuit), onCallingThread);
  }

  /** The witness as a .wtns file; throws naming the circuit if the input is malformed or violates a constraint. */
  witness(input: Record<string, unknown>): Promise<Uint8Array> {
    return this.calculator.calculate(input);
  }

  /** Witness + proof. A wrong input throws at the witness, before any proving. */
  async prove(input: Record<string, unknown>): Promise<CircuitProof> {
    const t0 = performance.now();
    const wtns = await this.calculator.calculate(input);
    const t1 = performance.now();
    const curve = await proverCurve(this.onCallingThread());
    const { proof, publicSignals } = await proveGroth16(
      curve,
      this.key,
      witnessWires(wtns, this.key.nVars, this.circuit),
    );
    const t2 = performance.now();
    return { proof, publicSignals, calldata: proofCalldata(proof), witnessMs: t1 - t0, proveMs: t2 - t1 };
  }
}
