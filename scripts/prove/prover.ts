/**
 * A warm Groth16 prover: the witness WASM and the zkey are read and checked against the
 * manifest once per process, then every proof reuses them and snarkjs's worker threads.
 */
import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import { assertPhase2Contributed } from "../setup/groth16-setup.ts";
import type { CommittedArchitecture } from "../circuit/generate-mlp-committed.ts";
import { artifactPath, readManifest, verifyArtifacts, type Manifest } from "../setup/manifest.ts";

export interface ProofResult {
  proof: snarkjs.Groth16Proof;
  publicSignals: bigint[];
  /** The proof as the market's uint256[8]: [a0, a1, b00, b01, b10, b11, c0, c1]. */
  calldata: bigint[];
  witnessMs: number;
  proveMs: number;
}

export class Prover {
  private constructor(
    readonly manifest: Manifest,
    readonly vk: snarkjs.VerificationKey,
    private readonly wasm: Uint8Array,
    private readonly zkey: Uint8Array,
  ) {}

  /** Loads and checks the artifacts named by a manifest. */
  static async load(manifestFile: string): Promise<Prover> {
    const manifest = readManifest(manifestFile);
    await verifyArtifacts(manifestFile, manifest, ["wasm", "zkey", "vkey"]);
    const vk = JSON.parse(
      readFileSync(artifactPath(manifestFile, manifest, "vkey"), "utf8"),
    ) as snarkjs.VerificationKey;
    assertPhase2Contributed(vk, `verification key of ${manifest.circuit}`);
    return new Prover(
      manifest,
      vk,
      readFileSync(artifactPath(manifestFile, manifest, "wasm")),
      readFileSync(artifactPath(manifestFile, manifest, "zkey")),
    );
  }

  /** Computes the witness for a circuit input; throws with circom's message if a constraint fails. */
  async witness(input: Record<string, unknown>): Promise<{ type: "mem"; data?: Uint8Array }> {
    const wtns: { type: "mem"; data?: Uint8Array } = { type: "mem" };
    await snarkjs.wtns.calculate(input, { type: "mem", data: this.wasm }, wtns);
    return wtns;
  }

  /** Witness + Groth16 proof. */
  async prove(input: Record<string, unknown>): Promise<ProofResult> {
    const t0 = performance.now();
    const wtns = await this.witness(input);
    const t1 = performance.now();
    const { proof, publicSignals } = await snarkjs.groth16.prove({ type: "mem", data: this.zkey }, wtns);
    const t2 = performance.now();
    return {
      proof,
      publicSignals: publicSignals.map(BigInt),
      calldata: proofCalldata(proof),
      witnessMs: t1 - t0,
      proveMs: t2 - t1,
    };
  }

  /** The architecture of a committed-mode circuit, from its manifest; throws for a baked circuit. */
  committedArchitecture(): CommittedArchitecture {
    if (!this.manifest.architecture || this.manifest.publicSignals[0] !== "modelCommitment")
      throw new Error(
        `${this.manifest.circuit} is not a committed-mode circuit (its manifest records no architecture)`,
      );
    return this.manifest.architecture;
  }

  /** Off-chain check of a proof against this circuit's verification key. */
  verify(proof: snarkjs.Groth16Proof, publicSignals: bigint[]): Promise<boolean> {
    return snarkjs.groth16.verify(this.vk, publicSignals.map(String), proof);
  }
}

/** The proof as the Solidity verifier expects it (G2 coordinates swapped). */
export function proofCalldata(proof: snarkjs.Groth16Proof): bigint[] {
  const b = proof.pi_b;
  return [proof.pi_a[0], proof.pi_a[1], b[0][1], b[0][0], b[1][1], b[1][0], proof.pi_c[0], proof.pi_c[1]].map(BigInt);
}

/** Stops snarkjs's worker threads so that the process can exit. */
export async function releaseProverThreads(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
  if (g.curve_bn128) await g.curve_bn128.terminate();
}
