/**
 * Compiles a circom snippet (cached by source hash within circuits/build/test), computes
 * witnesses with the circuit's own WASM, and checks witnesses (honest or forged) against
 * the r1cs with an independent evaluator.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as snarkjs from "snarkjs";
import { compileCircuit, artifactPaths, ROOT } from "../../scripts/circuit/compile.ts";
import { firstViolated, readR1cs, type R1cs } from "./r1cs.ts";

const TEST_BUILD = path.join(ROOT, "circuits", "build", "test");

export class CircuitTester {
  private constructor(
    readonly name: string,
    readonly r1cs: R1cs,
    private readonly wasm: string,
    private readonly symbols: Map<string, number>,
  ) {}

  /** Compiles `main` (a full circom file body after the includes) once per distinct source. */
  static async compile(name: string, includes: string[], body: string): Promise<CircuitTester> {
    const source = `pragma circom 2.2.0;\n${includes.map((i) => `include "${i}";`).join("\n")}\n${body}\n`;
    const tag = createHash("sha256").update(source).update(libHash()).digest("hex").slice(0, 12);
    const dir = path.join(TEST_BUILD, `${name}-${tag}`);
    const art = artifactPaths(name, dir);
    if (!existsSync(art.r1cs) || !existsSync(art.wasm) || !existsSync(art.sym)) {
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${name}.circom`);
      writeFileSync(file, source);
      await compileCircuit(file, dir);
    }
    const symbols = new Map<string, number>();
    for (const line of readFileSync(art.sym, "utf8").split("\n")) {
      const [, wire, , sig] = line.split(",");
      if (sig) symbols.set(sig, Number(wire));
    }
    return new CircuitTester(name, readR1cs(art.r1cs), art.wasm, symbols);
  }

  get constraints(): number {
    return this.r1cs.constraints.length;
  }

  /** The witness for an input; throws if the circuit's own witness code rejects it. */
  async witness(input: Record<string, unknown>): Promise<bigint[]> {
    const wtns: { type: "mem"; data?: Uint8Array } = { type: "mem" };
    await snarkjs.wtns.calculate(input, this.wasm, wtns);
    return snarkjs.wtns.exportJson(wtns);
  }

  /** Public outputs (wires 1..nPubOut) of a witness. */
  outputs(w: bigint[]): bigint[] {
    return w.slice(1, 1 + this.r1cs.nPubOut);
  }

  /** Witness index of a signal such as "main.out", or -1 if the optimiser removed it. */
  wire(signal: string): number {
    const idx = this.symbols.get(signal);
    if (idx === undefined) throw new Error(`no signal ${signal} in ${this.name}`);
    return idx;
  }

  /** True if the witness satisfies every constraint. */
  satisfies(w: bigint[]): boolean {
    return firstViolated(this.r1cs, w) === -1;
  }

  /**
   * Changes each wire of a valid witness, one at a time (every wire but the constant 1), by
   * each delta, and returns the wires whose change no constraint noticed. A sound circuit
   * returns none: every signal the prover supplies is pinned by some constraint.
   */
  unpinnedWires(w: bigint[], deltas: bigint[] = [1n, -1n, 2n]): number[] {
    const loose: number[] = [];
    // One copy, changed and restored wire by wire: copying per wire is quadratic.
    const forged = w.slice();
    for (let wire = 1; wire < this.r1cs.nWires; wire++) {
      const original = forged[wire];
      for (const d of deltas) {
        forged[wire] = (((original + d) % this.r1cs.prime) + this.r1cs.prime) % this.r1cs.prime;
        if (firstViolated(this.r1cs, forged, this.r1cs.byWire[wire]) === -1) {
          loose.push(wire);
          break;
        }
      }
      forged[wire] = original;
    }
    return loose;
  }
}

let cachedLibHash: string | undefined;
function libHash(): string {
  if (!cachedLibHash) {
    const h = createHash("sha256");
    const lib = path.join(ROOT, "circuits", "lib");
    for (const f of readdirSync(lib).sort()) h.update(f).update(readFileSync(path.join(lib, f)));
    cachedLibHash = h.digest("hex");
  }
  return cachedLibHash;
}
