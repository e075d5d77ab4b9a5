/**
 * A phase-2 ceremony in steps, for contributors who take turns (possibly on other machines):
 * `init` makes the first zkey from the r1cs and a checked ptau, each `contribute` adds one
 * named contribution, and `beacon` adds the final public randomness, then verifies the result
 * against the r1cs and ptau, refuses gamma = delta, and writes the verification key, the
 * Solidity verifier, the transcript and the manifest that pins them all.
 *
 * The ceremony's state lives in `<name>.ceremony.json` next to the zkeys; every step records
 * the sha256 of the zkey it produced, so the final transcript chains every file.
 *
 * `verifySetup` is the auditor's side: it re-checks everything a manifest claims.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import * as snarkjs from "snarkjs";
import {
  assertPhase2Contributed,
  verificationKeyHash,
  writeVerifier,
  type Transcript,
  type TranscriptStep,
} from "./groth16-setup.ts";
import { sha256File } from "./hash.ts";
import {
  artifactEntry,
  artifactPath,
  MANIFEST_FORMAT,
  readManifest,
  verifyArtifacts,
  writeManifest,
  type Manifest,
} from "./manifest.ts";
import { checkKnownOrDevPtau, ptauInMemory, type ResolvedPtau } from "./ptau.ts";

const require = createRequire(import.meta.url);

export const CEREMONY_FORMAT = "poi-ceremony/1";

export interface CeremonyStep extends TranscriptStep {
  /** The zkey this step wrote, relative to the ceremony file. */
  zkey: string;
}

export interface Ceremony {
  format: typeof CEREMONY_FORMAT;
  circuit: string;
  /** Paths relative to the ceremony file. */
  r1cs: string;
  wasm: string;
  ptau: { file: string; blake2b: string; insecure: boolean; origin: string };
  steps: CeremonyStep[];
  /** Set by the beacon: the ceremony is closed. */
  beacon?: { hash: string; iterationsExp: number };
}

/** A snarkjs-style logger (snarkjs reports loop progress at debug level). */
export interface SetupLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export class SetupRefusedError extends Error {
  override name = "SetupRefusedError";
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const rel = (file: string, to: string) => path.relative(path.dirname(file), to);
const abs = (file: string, p: string) => path.resolve(path.dirname(file), p);

export function ceremonyFile(outDir: string, name: string): string {
  return path.join(outDir, `${name}.ceremony.json`);
}

export function readCeremony(file: string): Ceremony {
  if (!existsSync(file)) throw new SetupRefusedError(`ceremony file ${file} does not exist; start one with poi setup`);
  const c = JSON.parse(readFileSync(file, "utf8")) as Ceremony;
  if (c.format !== CEREMONY_FORMAT) throw new SetupRefusedError(`${file} is not a poi ceremony file`);
  return c;
}

function writeCeremony(file: string, c: Ceremony): void {
  writeFileSync(file + ".tmp", JSON.stringify(c, null, 2) + "\n");
  renameSync(file + ".tmp", file);
}

/** Checks that the ceremony's latest zkey is the file its step recorded. */
async function latestZkey(file: string, c: Ceremony): Promise<string> {
  const last = c.steps[c.steps.length - 1];
  const zkey = abs(file, last.zkey);
  if (!existsSync(zkey)) throw new SetupRefusedError(`the ceremony's latest zkey ${zkey} is missing`);
  if ((await sha256File(zkey)) !== last.zkeySha256)
    throw new SetupRefusedError(
      `${path.basename(zkey)} is not the zkey the ceremony recorded (sha256 differs); refusing to build on it`,
    );
  return zkey;
}

/** Starts a ceremony: the first zkey from the r1cs and a checked ptau. */
export async function initCeremony(o: {
  name: string;
  r1cs: string;
  wasm: string;
  ptau: ResolvedPtau;
  outDir: string;
  logger?: SetupLogger;
}): Promise<string> {
  mkdirSync(o.outDir, { recursive: true });
  const file = ceremonyFile(o.outDir, o.name);
  const zkey = path.join(o.outDir, `${o.name}.0000.zkey`);
  await snarkjs.zKey.newZKey(o.r1cs, o.ptau.path, zkey, o.logger);
  writeCeremony(file, {
    format: CEREMONY_FORMAT,
    circuit: o.name,
    r1cs: rel(file, o.r1cs),
    wasm: rel(file, o.wasm),
    ptau: {
      file: path.basename(o.ptau.path),
      blake2b: o.ptau.blake2b,
      insecure: o.ptau.insecure,
      origin: o.ptau.origin,
    },
    steps: [{ step: "new", zkey: rel(file, zkey), zkeySha256: await sha256File(zkey) }],
  });
  return file;
}

/** Adds one named contribution (OS entropy unless given) to the ceremony. */
export async function contribute(
  file: string,
  by: string,
  options: { entropy?: string; logger?: SetupLogger } = {},
): Promise<CeremonyStep> {
  if (!by.trim()) throw new SetupRefusedError("a contribution needs the contributor's name");
  const c = readCeremony(file);
  if (c.beacon) throw new SetupRefusedError("the ceremony is closed: its beacon has been applied");
  const prev = await latestZkey(file, c);
  const next = path.join(path.dirname(file), `${c.circuit}.${String(c.steps.length).padStart(4, "0")}.zkey`);
  const h = await snarkjs.zKey.contribute(
    prev,
    next,
    by,
    options.entropy ?? randomBytes(32).toString("hex"),
    options.logger,
  );
  const step: CeremonyStep = {
    step: "contribute",
    by,
    contributionHash: hex(h),
    zkey: rel(file, next),
    zkeySha256: await sha256File(next),
  };
  c.steps.push(step);
  writeCeremony(file, c);
  return step;
}

export interface FinalSetup {
  manifestFile: string;
  manifest: Manifest;
  transcriptPath: string;
}

/**
 * Applies the final beacon, verifies the zkey against the r1cs and ptau, refuses gamma =
 * delta, and writes the verification key, Solidity verifier, transcript and manifest.
 */
export async function applyBeacon(
  file: string,
  o: {
    beacon: string;
    iterationsExp?: number;
    ptauPath: string;
    verifierPath: string;
    verifierContract: string;
    command: string;
    publicSignals?: string[];
    logger?: SetupLogger;
  },
): Promise<FinalSetup> {
  const c = readCeremony(file);
  if (c.beacon) throw new SetupRefusedError("the ceremony already has its beacon");
  if (!c.steps.some((s) => s.step === "contribute"))
    throw new SetupRefusedError(
      "the ceremony has no contribution yet: a beacon alone leaves a key anyone could forge under",
    );
  if (!/^[0-9a-fA-F]{2,128}$/.test(o.beacon) || o.beacon.length % 2)
    throw new SetupRefusedError("the beacon must be hex bytes");
  const ptau = await checkKnownOrDevPtau(o.ptauPath, 0);
  if (ptau.blake2b !== c.ptau.blake2b)
    throw new SetupRefusedError(`${o.ptauPath} is not the ptau this ceremony started from`);
  const iterationsExp = o.iterationsExp ?? 10;
  const dir = path.dirname(file);
  const prev = await latestZkey(file, c);
  const zkey = path.join(dir, `${c.circuit}.zkey`);
  const h = await snarkjs.zKey.beacon(prev, zkey + ".tmp", "final beacon", o.beacon, iterationsExp, o.logger);
  renameSync(zkey + ".tmp", zkey);
  c.steps.push({ step: "beacon", contributionHash: hex(h), zkey: rel(file, zkey), zkeySha256: await sha256File(zkey) });
  c.beacon = { hash: o.beacon, iterationsExp };
  writeCeremony(file, c);

  const r1cs = abs(file, c.r1cs);
  if (!(await snarkjs.zKey.verifyFromR1cs(r1cs, ptauInMemory(ptau.path), zkey, o.logger)))
    throw new SetupRefusedError(`the final zkey of ${c.circuit} does not verify against its r1cs and ptau`);
  const vk = await snarkjs.zKey.exportVerificationKey(zkey);
  assertPhase2Contributed(vk, `zkey for ${c.circuit}`);
  const vkeyPath = path.join(dir, `${c.circuit}.vkey.json`);
  writeFileSync(vkeyPath, JSON.stringify(vk, null, 2) + "\n");
  const snarkjsRoot = path.resolve(path.dirname(require.resolve("snarkjs")), "..");
  const template = readFileSync(path.join(snarkjsRoot, "templates", "verifier_groth16.sol.ejs"), "utf8");
  writeVerifier(
    o.verifierPath,
    o.verifierContract,
    await snarkjs.zKey.exportSolidityVerifier(zkey, { groth16: template }),
    o.command,
    vk,
  );

  const transcript: Transcript = {
    circuit: c.circuit,
    ptau: c.ptau,
    steps: c.steps.map(({ zkey: _zkey, ...s }) => s),
    beacon: c.beacon,
    verified: true,
  };
  const transcriptPath = path.join(dir, `${c.circuit}.transcript.json`);
  writeFileSync(transcriptPath, JSON.stringify(transcript, null, 2) + "\n");

  const info = await snarkjs.r1cs.info(r1cs);
  const nPublic = info.nPubInputs + info.nOutputs;
  const publicSignals =
    o.publicSignals ??
    (nPublic === 3
      ? ["inputCommitment", "output", "binding"]
      : Array.from({ length: nPublic }, (_, i) => `signal${i}`));
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    circuit: c.circuit,
    // A ceremony starts from a compiled circuit: the r1cs is the source it pins.
    sourceHash: await sha256File(r1cs),
    constraints: info.nConstraints,
    publicSignals,
    vkHash: verificationKeyHash(vk),
    ptau: c.ptau,
    artifacts: {
      r1cs: await artifactEntry(dir, r1cs),
      wasm: await artifactEntry(dir, abs(file, c.wasm)),
      zkey: await artifactEntry(dir, zkey),
      vkey: await artifactEntry(dir, vkeyPath),
      verifier: await artifactEntry(dir, o.verifierPath),
      transcript: await artifactEntry(dir, transcriptPath),
    },
  };
  const manifestFile = path.join(dir, "manifest.json");
  writeManifest(manifestFile, manifest);
  return { manifestFile, manifest, transcriptPath };
}

export interface SetupCheck {
  check: string;
  ok: boolean;
  detail: string;
}

/**
 * Re-verifies a setup from its manifest: every artifact's sha256, the ptau's blake2b, the
 * transcript's chain (new, at least one contribution, a beacon, ending at the manifest's zkey),
 * the zkey against the r1cs and ptau (snarkjs), gamma != delta, and the verification key and
 * its hash. Returns every check; `ok` is false if any failed.
 */
export async function verifySetup(
  manifestFile: string,
  ptauPath: string,
  logger?: SetupLogger,
): Promise<{ ok: boolean; checks: SetupCheck[]; contributors: string[]; insecurePtau: boolean }> {
  const checks: SetupCheck[] = [];
  const record = async (check: string, fn: () => Promise<string> | string) => {
    try {
      checks.push({ check, ok: true, detail: await fn() });
      return true;
    } catch (err) {
      checks.push({ check, ok: false, detail: (err as Error).message });
      return false;
    }
  };
  const manifest = readManifest(manifestFile);
  const names = (Object.keys(manifest.artifacts) as (keyof Manifest["artifacts"])[]).filter(
    (n) => existsSync(artifactPath(manifestFile, manifest, n)) || n !== "verifier",
  );
  const filesOk = await record("artifact sha256s match the manifest", async () => {
    await verifyArtifacts(manifestFile, manifest, names);
    return names.join(", ");
  });
  await record("ptau is a known file (or a development file made here) and the one the setup used", async () => {
    const p = await checkKnownOrDevPtau(ptauPath, 0);
    if (p.blake2b !== manifest.ptau.blake2b)
      throw new Error(`${path.basename(ptauPath)} is not the ptau the manifest names (${manifest.ptau.file})`);
    return `${path.basename(p.path)}${p.insecure ? " (INSECURE development file)" : ""}`;
  });
  let contributors: string[] = [];
  await record("transcript chains new → contributions → beacon → the manifest's zkey", () => {
    const t = JSON.parse(readFileSync(artifactPath(manifestFile, manifest, "transcript"), "utf8")) as Transcript;
    const kinds = t.steps.map((s) => s.step);
    if (kinds[0] !== "new" || kinds[kinds.length - 1] !== "beacon" || !kinds.includes("contribute"))
      throw new Error(
        `transcript steps are ${kinds.join(", ")}: need new, at least one contribute, and a final beacon`,
      );
    if (t.steps[t.steps.length - 1].zkeySha256 !== manifest.artifacts.zkey.sha256)
      throw new Error("the transcript's final zkey is not the manifest's zkey");
    if (t.ptau.blake2b !== manifest.ptau.blake2b)
      throw new Error("the transcript names another ptau than the manifest");
    contributors = t.steps.filter((s) => s.step === "contribute").map((s) => s.by ?? "(unnamed)");
    return `${contributors.length} contribution(s) by ${contributors.join(", ")}, beacon ${t.beacon.hash.slice(0, 16)}...`;
  });
  if (filesOk) {
    const r1cs = artifactPath(manifestFile, manifest, "r1cs");
    const zkey = artifactPath(manifestFile, manifest, "zkey");
    await record("zkey verifies against the r1cs and the ptau (snarkjs zkey verify)", async () => {
      if (!(await snarkjs.zKey.verifyFromR1cs(r1cs, ptauInMemory(ptauPath), zkey, logger)))
        throw new Error("snarkjs: the zkey does not verify");
      return "ZKey Ok";
    });
    await record("gamma != delta (the key had a phase-2 contribution)", async () => {
      const vk = await snarkjs.zKey.exportVerificationKey(zkey);
      assertPhase2Contributed(vk, "the zkey");
      const file = JSON.parse(
        readFileSync(artifactPath(manifestFile, manifest, "vkey"), "utf8"),
      ) as snarkjs.VerificationKey;
      if (JSON.stringify(file) !== JSON.stringify(JSON.parse(JSON.stringify(vk))))
        throw new Error("the verification key file is not the zkey's key");
      if (verificationKeyHash(vk) !== manifest.vkHash)
        throw new Error(`vkHash ${verificationKeyHash(vk)} differs from the manifest's`);
      return `vkHash ${manifest.vkHash}`;
    });
  }
  return { ok: checks.every((c) => c.ok), checks, contributors, insecurePtau: manifest.ptau.insecure };
}
