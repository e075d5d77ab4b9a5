/**
 * The artifact manifest pins the sha256 of every artifact of one circuit's setup. Provers
 * and validators check each file against it before use, so a corrupted or swapped zkey or
 * wasm is refused with a clear error instead of producing proofs that fail on-chain.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { CommittedArchitecture } from "../circuit/generate-mlp-committed.ts";
import { sha256File } from "./hash.ts";

export const MANIFEST_FORMAT = "poi-artifact-manifest/1";

export interface ArtifactEntry {
  /** Path relative to the manifest's folder. */
  path: string;
  sha256: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  circuit: string;
  /** sha256 over the circuit source and the library it includes. */
  sourceHash: string;
  constraints: number;
  publicSignals: string[];
  /**
   * Committed-mode circuits only: the Poseidon commitment (decimal, a canonical field element)
   * of the reference model's weights and biases, the value a registry entry pins for it.
   */
  modelCommitment?: string;
  /** Committed-mode circuits only: the architecture the circuit fixes (sizes, widths, shifts). */
  architecture?: CommittedArchitecture;
  /**
   * The quantized model (QuantizedGraph JSON) the circuit was generated from: the integer
   * reference a validator checks every proof against. For a committed circuit, the reference
   * model of its architecture (a validator of another model of it names that model's file).
   */
  model?: ArtifactEntry;
  vkHash: string;
  ptau: { file: string; blake2b: string; insecure: boolean; origin: string };
  artifacts: {
    r1cs: ArtifactEntry;
    wasm: ArtifactEntry;
    zkey: ArtifactEntry;
    vkey: ArtifactEntry;
    verifier: ArtifactEntry;
    transcript: ArtifactEntry;
  };
}

export type ArtifactName = keyof Manifest["artifacts"];

export async function artifactEntry(manifestDir: string, file: string): Promise<ArtifactEntry> {
  return { path: path.relative(manifestDir, file), sha256: await sha256File(file) };
}

export function writeManifest(file: string, manifest: Manifest): void {
  writeFileSync(file, JSON.stringify(manifest, null, 2) + "\n");
}

export function readManifest(file: string): Manifest {
  if (!existsSync(file))
    throw new Error(`artifact manifest ${file} does not exist; build the circuit first (npm run build:circuit)`);
  const m = JSON.parse(readFileSync(file, "utf8")) as Manifest;
  if (m.format !== MANIFEST_FORMAT)
    throw new Error(`${file} is not a poi artifact manifest (format ${String(m.format)})`);
  return m;
}

/** Absolute path of one artifact. */
export function artifactPath(manifestFile: string, manifest: Manifest, name: ArtifactName): string {
  return path.resolve(path.dirname(manifestFile), manifest.artifacts[name].path);
}

/**
 * Checks artifacts against the manifest.
 * @throws naming the first missing or corrupted artifact
 */
export async function verifyArtifacts(manifestFile: string, manifest: Manifest, names: ArtifactName[]): Promise<void> {
  for (const name of names) {
    const file = artifactPath(manifestFile, manifest, name);
    if (!existsSync(file)) throw new Error(`artifact ${name} (${file}) is missing; rebuild with npm run build:circuit`);
    const actual = await sha256File(file);
    if (actual !== manifest.artifacts[name].sha256) {
      throw new Error(
        `artifact ${name} (${path.basename(file)}) has sha256 ${actual.slice(0, 16)}..., the manifest pins ${manifest.artifacts[name].sha256.slice(0, 16)}...: ` +
          `the file is corrupted or from another setup; refusing to use it`,
      );
    }
  }
}
