/**
 * A warm Groth16 prover: the witness WASM and the zkey are read and checked against the
 * manifest once per process; the witness calculator is instantiated once and the proving key
 * parsed once (circuit-prover.ts), and every proof reuses them and the worker threads (groth16.ts).
 */
import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import { assertPhase2Contributed } from "../setup/groth16-setup.ts";
import type { CommittedArchitecture } from "../circuit/generate-mlp-committed.ts";
import { artifactPath, readManifest, verifyArtifacts, type Manifest } from "../setup/manifest.ts";
import { CircuitProver, type CircuitProof } from "./circuit-prover.ts";
import { proofCalldata, releaseProverPool } from "./groth16.ts";
import { provesOnCallingThread } from "./threads.ts";

export { proofCalldata };

export type ProofResult = CircuitProof;

export class Prover {
  private constructor(
    readonly manifest: Manifest,
    readonly vk: snarkjs.VerificationKey,
    private readonly engine: CircuitProver,
  ) {}

  /** Loads and checks the artifacts named by a manifest, then compiles the witness code and parses the zkey. */
  static async load(manifestFile: string): Promise<Prover> {
    const manifest = readManifest(manifestFile);
    await verifyArtifacts(manifestFile, manifest, ["wasm", "zkey", "vkey"]);
    const vk = JSON.parse(
      readFileSync(artifactPath(manifestFile, manifest, "vkey"), "utf8"),
    ) as snarkjs.VerificationKey;
    assertPhase2Contributed(vk, `verification key of ${manifest.circuit}`);
    const zkeyFile = artifactPath(manifestFile, manifest, "zkey");
    const engine = await CircuitProver.fromBytes(
      manifest.circuit,
      readFileSync(artifactPath(manifestFile, manifest, "wasm")),
      readFileSync(zkeyFile),
      zkeyFile,
      provesOnCallingThread,
    );
    if (engine.key.nPublic !== vk.nPublic)
      throw new Error(`${zkeyFile}: ${engine.key.nPublic} public signals, its verification key ${vk.nPublic}`);
    return new Prover(manifest, vk, engine);
  }

  /**
   * Computes the witness (a .wtns file in memory) for a circuit input.
   * @throws naming the circuit if the input is malformed or violates a constraint
   */
  async witness(input: Record<string, unknown>): Promise<{ type: "mem"; data?: Uint8Array }> {
    return { type: "mem", data: await this.engine.witness(input) };
  }

  /** Witness + Groth16 proof. A wrong input throws at the witness, before any proving. */
  prove(input: Record<string, unknown>): Promise<ProofResult> {
    return this.engine.prove(input);
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

/** Stops the prover's (and snarkjs's) worker threads so that the process can exit. */
export async function releaseProverThreads(): Promise<void> {
  await releaseProverPool();
}
