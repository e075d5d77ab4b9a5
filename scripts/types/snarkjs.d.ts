// Minimal typings for the parts of snarkjs 0.7 that poi uses (snarkjs ships none).
declare module "snarkjs" {
  export type FileRef = string | { type: "mem"; data?: Uint8Array };
  export interface Logger {
    debug(msg: string): void;
    info(msg: string): void;
    warn(msg: string): void;
    error(msg: string): void;
  }
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
  export interface VerificationKey {
    protocol: string;
    curve: string;
    nPublic: number;
    vk_alpha_1: string[];
    vk_beta_2: string[][];
    vk_gamma_2: string[][];
    vk_delta_2: string[][];
    IC: string[][];
    [key: string]: unknown;
  }
  export const groth16: {
    fullProve(
      input: Record<string, unknown>,
      wasm: FileRef,
      zkey: FileRef,
      logger?: Logger,
      wtnsCalcOptions?: unknown,
      proverOptions?: unknown,
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    prove(zkey: FileRef, witness: FileRef, logger?: Logger, options?: unknown): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(vk: VerificationKey, publicSignals: (string | bigint)[], proof: Groth16Proof, logger?: Logger): Promise<boolean>;
    exportSolidityCallData(proof: Groth16Proof, publicSignals: (string | bigint)[]): Promise<string>;
  };
  /** A PLONK or FFLONK proof as snarkjs writes it: named points (string triples) and evaluations. */
  export type UniversalProof = Record<string, string | string[]>;
  /** snarkjs's PLONK and FFLONK modules share these calls. */
  export interface UniversalSystemApi {
    setup(r1cs: FileRef, ptau: FileRef, zkey: FileRef, logger?: Logger): Promise<unknown>;
    fullProve(
      input: Record<string, unknown>,
      wasm: FileRef,
      zkey: FileRef,
      logger?: Logger,
    ): Promise<{ proof: UniversalProof; publicSignals: string[] }>;
    prove(zkey: FileRef, witness: FileRef, logger?: Logger): Promise<{ proof: UniversalProof; publicSignals: string[] }>;
    verify(vk: VerificationKey, publicSignals: (string | bigint)[], proof: UniversalProof, logger?: Logger): Promise<boolean>;
  }
  export const plonk: UniversalSystemApi & {
    exportSolidityCallData(proof: UniversalProof, publicSignals: (string | bigint)[]): Promise<string>;
  };
  /** Note the argument order: the public signals first, unlike PLONK's. */
  export const fflonk: UniversalSystemApi & {
    exportSolidityCallData(publicSignals: (string | bigint)[], proof: UniversalProof): Promise<string>;
  };
  export const wtns: {
    calculate(input: Record<string, unknown>, wasm: FileRef, wtns: FileRef, options?: unknown): Promise<void>;
    exportJson(wtns: FileRef): Promise<bigint[]>;
    check(r1cs: FileRef, wtns: FileRef, logger?: Logger): Promise<boolean>;
  };
  export const zKey: {
    newZKey(r1cs: FileRef, ptau: FileRef, zkey: FileRef, logger?: Logger): Promise<unknown>;
    contribute(oldZkey: FileRef, newZkey: FileRef, name: string, entropy: string, logger?: Logger): Promise<Uint8Array>;
    beacon(oldZkey: FileRef, newZkey: FileRef, name: string, beaconHash: string, iterationsExp: number, logger?: Logger): Promise<Uint8Array>;
    verifyFromR1cs(r1cs: FileRef, ptau: FileRef, zkey: FileRef, logger?: Logger): Promise<boolean>;
    exportVerificationKey(zkey: FileRef, logger?: Logger): Promise<VerificationKey>;
    exportSolidityVerifier(zkey: FileRef, templates: Record<string, string>, logger?: Logger): Promise<string>;
  };
  export const powersOfTau: {
    /** Resolves to the first challenge hash (blake2b-512). */
    newAccumulator(curve: unknown, power: number, file: FileRef, logger?: Logger): Promise<Uint8Array>;
    importResponse(
      oldPtau: FileRef,
      response: FileRef,
      newPtau: FileRef,
      name: string,
      importPoints: boolean,
      logger?: Logger,
    ): Promise<Uint8Array>;
    contribute(oldPtau: FileRef, newPtau: FileRef, name: string, entropy: string, logger?: Logger): Promise<Uint8Array>;
    beacon(oldPtau: FileRef, newPtau: FileRef, name: string, beaconHash: string, iterationsExp: number, logger?: Logger): Promise<Uint8Array>;
    preparePhase2(oldPtau: FileRef, newPtau: FileRef, logger?: Logger): Promise<void>;
    verify(ptau: FileRef, logger?: Logger): Promise<boolean>;
  };
  export const r1cs: {
    info(r1cs: FileRef, logger?: Logger): Promise<{ nConstraints: number; nVars: number; nOutputs: number; nPubInputs: number; nPrvInputs: number }>;
  };
  export const curves: {
    getCurveFromName(name: string): Promise<{ terminate(): Promise<void> }>;
  };
}
