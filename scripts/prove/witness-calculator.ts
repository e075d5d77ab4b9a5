/**
 * A circuit's witness calculator, compiled and instantiated once and reused for every witness.
 * snarkjs's `wtns.calculate` compiles the circuit's WebAssembly again on each call (60-120 ms for
 * the MNIST MLP); circom_runtime's builder over one instance computes the same witness in a few
 * milliseconds, since circom 2's `init` resets the instance before each witness.
 *
 * Platform-neutral (no Node APIs): the browser bundle uses the same code.
 */
import { WitnessCalculatorBuilder, type WitnessCalculator } from "circom_runtime";

/** What circom 2's runtime reports through `exceptionHandler(code)`. */
const CIRCOM_ERRORS: Record<number, string> = {
  1: "signal not found",
  2: "too many signals set",
  3: "signal already set",
  4: "the input violates a constraint of the circuit (assert failed)",
  5: "the witness calculator ran out of memory",
  6: "an input signal array is longer than the circuit's",
};

/** The parts of the WebAssembly API used here (TypeScript's ES2023 lib declares none). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ exports: Record<string, unknown> }>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The circom 2 exports that messages are read through. */
interface CircomExports {
  getMessageChar(): number;
}

export class WitnessCalculatorError extends Error {}

export class CircuitWitnessCalculator {
  /** Settles when the calculation in progress (if any) has finished. */
  private busy: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly circuit: string,
    private readonly calculator: WitnessCalculator,
    private readonly lastError: { error?: Error },
  ) {}

  /**
   * Compiles and instantiates a circom 2 witness WebAssembly once. Messages of the circuit's
   * `log()` are dropped (a prover prints nothing of its own); failed asserts and bad inputs
   * become errors naming `circuit`.
   */
  static async build(wasm: Uint8Array, circuit: string): Promise<CircuitWitnessCalculator> {
    const lastError: { error?: Error } = {};
    let exports: CircomExports | undefined;
    let detail = "";
    const readMessage = () => {
      let m = "";
      for (let c = exports!.getMessageChar(); c !== 0; c = exports!.getMessageChar()) m += String.fromCharCode(c);
      return m;
    };
    const instance = await wasmApi.instantiate(await wasmApi.compile(wasm), {
      runtime: {
        exceptionHandler(code: number) {
          const what = CIRCOM_ERRORS[code] ?? `circom runtime error ${code}`;
          const where = detail.trim().replace(/\s+/g, " ");
          detail = "";
          lastError.error = new WitnessCalculatorError(`${circuit}: ${what}${where ? ` (${where})` : ""}`);
          throw lastError.error;
        },
        printErrorMessage() {
          detail += readMessage() + "\n";
        },
        writeBufferMessage() {
          readMessage();
        },
        showSharedRWMemory() {},
      },
    });
    exports = instance.exports as unknown as CircomExports;
    const calculator = await WitnessCalculatorBuilder(instance);
    if (calculator.circom_version() !== 2) throw new Error(`${circuit}: the witness WebAssembly is not from circom 2`);
    return new CircuitWitnessCalculator(circuit, calculator, lastError);
  }

  /**
   * The witness of `input` as a .wtns file (the format snarkjs reads).
   * @throws WitnessCalculatorError naming the circuit if an input is missing, unknown or of the
   * wrong length, or if the input violates one of the circuit's constraints
   */
  calculate(input: Record<string, unknown>): Promise<Uint8Array> {
    // One instance computes one witness at a time: circom_runtime awaits between setting the
    // inputs and reading the wires, where a second call would re-initialise the instance.
    const run = this.busy.then(() => this.calculateNow(input));
    this.busy = run.catch(() => undefined);
    return run;
  }

  private async calculateNow(input: Record<string, unknown>): Promise<Uint8Array> {
    this.lastError.error = undefined;
    try {
      return await this.calculator.calculateWTNSBin(input, false);
    } catch (err) {
      // circom_runtime rewraps errors raised inside the WebAssembly: report the original.
      if (this.lastError.error) throw this.lastError.error;
      const message = (err as Error).message.replace(/^Error: /, "").trim();
      throw new WitnessCalculatorError(`${this.circuit}: invalid input: ${message}`);
    }
  }
}

/** The witness section of a .wtns file: `nVars` field elements, little-endian, not Montgomery. */
export function witnessWires(wtns: Uint8Array, nVars: number, what: string): Uint8Array {
  const bytes = nVars * 32;
  if (wtns.byteLength < bytes + 12 || String.fromCharCode(...wtns.subarray(0, 4)) !== "wtns")
    throw new Error(`${what}: not a witness of ${nVars} wires`);
  const view = new DataView(wtns.buffer, wtns.byteOffset, wtns.byteLength);
  // Header section 1: n8, prime, witness count; the wires follow in section 2, last in the file.
  const count = view.getUint32(12 + 12 + 4 + 32, true);
  if (count !== nVars) throw new Error(`${what}: the witness has ${count} wires, the proving key ${nVars}`);
  return wtns.subarray(wtns.byteLength - bytes);
}
