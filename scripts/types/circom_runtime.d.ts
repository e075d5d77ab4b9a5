// Minimal typings for circom_runtime 0.1 (snarkjs's witness runtime); the package ships none.
declare module "circom_runtime" {
  export interface WitnessCalculator {
    /** The witness as a .wtns file: header, then every wire as a little-endian field element. */
    calculateWTNSBin(input: Record<string, unknown>, sanityCheck: boolean | 0 | 1): Promise<Uint8Array>;
    circom_version(): number;
  }
  /** Builds a calculator around a circom WebAssembly module (bytes) or an instance of one (circom 2). */
  export function WitnessCalculatorBuilder(code: Uint8Array | object, options?: object): Promise<WitnessCalculator>;
}
