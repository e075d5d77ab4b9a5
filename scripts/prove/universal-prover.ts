/**
 * Universal-mode (PLONK) proving: the witness from the circuit's WebAssembly (compiled once, as for
 * Groth16), the proof from snarkjs's PLONK prover with the model's zkey (read once, kept in
 * memory), returned as the protocol verifier's uint256[24]. snarkjs's PLONK prover is the only one
 * here: the Groth16 engine of groth16.ts does not apply to PLONK's polynomial commitments.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import * as snarkjs from "snarkjs";
import { plonkProofWords, type PlonkProofWords } from "../setup/plonk-setup.ts";
import { CircuitWitnessCalculator } from "./witness-calculator.ts";

export interface UniversalProof {
  publicSignals: bigint[];
  proof: PlonkProofWords;
  witnessMs: number;
  proveMs: number;
}

export class UniversalProver {
  private constructor(
    readonly circuit: string,
    private readonly calculator: CircuitWitnessCalculator,
    private readonly zkey: Uint8Array,
  ) {}

  /**
   * Compiles the witness WebAssembly and reads the PLONK zkey (`poi setup --proof-system plonk`).
   * @throws naming the file if one is missing or the zkey is not a PLONK key
   */
  static async load(wasmFile: string, zkeyFile: string): Promise<UniversalProver> {
    const circuit = path.basename(wasmFile, ".wasm");
    const read = (file: string, what: string) => {
      try {
        return readFileSync(file);
      } catch {
        throw new Error(`${what} ${file} cannot be read`);
      }
    };
    const zkey = read(zkeyFile, "PLONK zkey");
    // A zkey's header section names its protocol: 2 is PLONK (1 Groth16, 10 FFLONK).
    const vk = (await snarkjs.zKey.exportVerificationKey({ type: "mem", data: zkey })) as { protocol: string };
    if (vk.protocol !== "plonk") throw new Error(`${zkeyFile} is a ${vk.protocol} zkey, not a PLONK one`);
    const calculator = await CircuitWitnessCalculator.build(read(wasmFile, "witness WebAssembly"), circuit);
    return new UniversalProver(circuit, calculator, zkey);
  }

  /** Witness + PLONK proof. A wrong input throws at the witness, naming the circuit. */
  async prove(input: Record<string, unknown>): Promise<UniversalProof> {
    const t0 = performance.now();
    const wtns = await this.calculator.calculate(input);
    const t1 = performance.now();
    const { proof, publicSignals } = await snarkjs.plonk.prove(
      { type: "mem", data: this.zkey },
      { type: "mem", data: wtns },
    );
    return {
      publicSignals: publicSignals.map(BigInt),
      proof: plonkProofWords(proof),
      witnessMs: t1 - t0,
      proveMs: performance.now() - t1,
    };
  }
}
