/**
 * Groth16 phase-2 setup of one circuit: a fresh zkey from the r1cs and a ptau, one or more
 * contributions with OS entropy, a final beacon, full re-verification against the r1cs and
 * ptau, and a refusal of any key whose gamma equals delta (such a key has had no phase-2
 * contribution and its proofs can be forged). Writes the verification key, the Solidity
 * verifier and a transcript of every step.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { keccak256, solidityPacked } from "ethers";
import * as snarkjs from "snarkjs";
import { sha256File } from "./hash.ts";
import { ptauInMemory, type ResolvedPtau } from "./ptau.ts";

const require = createRequire(import.meta.url);

export interface SetupOptions {
  name: string;
  r1cs: string;
  ptau: ResolvedPtau;
  outDir: string;
  /** Names of the phase-2 contributors, one contribution each (at least one). */
  contributors: string[];
  /** Hex beacon; a public ceremony uses a future block hash. Random when absent. */
  beacon?: string;
  /** Where the Solidity verifier goes and the contract name it gets. */
  verifierPath: string;
  verifierContract: string;
  /** The command that regenerates the verifier, for its header. */
  command: string;
  log?: (msg: string) => void;
}

export interface TranscriptStep {
  step: string;
  by?: string;
  contributionHash?: string;
  zkeySha256: string;
}

export interface Transcript {
  circuit: string;
  ptau: { file: string; blake2b: string; insecure: boolean; origin: string };
  steps: TranscriptStep[];
  beacon: { hash: string; iterationsExp: number };
  verified: boolean;
}

export interface SetupResult {
  zkey: string;
  vkeyPath: string;
  vk: snarkjs.VerificationKey;
  vkHash: string;
  verifierPath: string;
  transcriptPath: string;
}

/** Refuses a verification key with gamma == delta: its proofs can be forged by anyone. */
export function assertPhase2Contributed(vk: snarkjs.VerificationKey, what: string): void {
  if (JSON.stringify(vk.vk_gamma_2) === JSON.stringify(vk.vk_delta_2)) {
    throw new Error(
      `${what}: gamma equals delta, so this key had no phase-2 contribution and proofs under it can be forged; run the setup with a contribution`,
    );
  }
}

const toBig = (v: string) => BigInt(v);

/**
 * The verification key as the bytes the protocol stores and its Groth16 library reads
 * (contracts/libraries/Groth16.sol): 32-byte big-endian words
 * `alpha1 (x, y) | beta2 | gamma2 | delta2 | IC[0..n] (x, y)`, each G2 point as
 * `(x_im, x_re, y_im, y_re)`, the order of the pairing precompile and of snarkjs's Solidity verifier.
 */
export function encodeVerificationKey(vk: snarkjs.VerificationKey): string {
  const g1 = (p: string[]) => [toBig(p[0]), toBig(p[1])];
  const g2 = (p: string[][]) => [toBig(p[0][1]), toBig(p[0][0]), toBig(p[1][1]), toBig(p[1][0])];
  const words = [
    ...g1(vk.vk_alpha_1),
    ...g2(vk.vk_beta_2),
    ...g2(vk.vk_gamma_2),
    ...g2(vk.vk_delta_2),
    ...vk.IC.flatMap((p) => g1(p)),
  ];
  return solidityPacked(
    words.map(() => "uint256"),
    words,
  );
}

/** keccak256 of {encodeVerificationKey}: the hash the model registry records for a baked model's key. */
export function verificationKeyHash(vk: snarkjs.VerificationKey): string {
  return keccak256(encodeVerificationKey(vk));
}

export async function groth16Setup(o: SetupOptions): Promise<SetupResult> {
  if (o.contributors.length === 0) throw new Error("the phase-2 setup needs at least one contributor");
  mkdirSync(o.outDir, { recursive: true });
  const log = o.log ?? (() => {});
  const step = (i: number) => path.join(o.outDir, `${o.name}.${String(i).padStart(4, "0")}.zkey.tmp`);
  const zkey = path.join(o.outDir, `${o.name}.zkey`);
  const steps: TranscriptStep[] = [];
  const beaconHash = o.beacon ?? randomBytes(32).toString("hex");
  const iterationsExp = 10;
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  try {
    log(`phase 2: new zkey from ${path.basename(o.r1cs)} and ${path.basename(o.ptau.path)}`);
    await snarkjs.zKey.newZKey(o.r1cs, o.ptau.path, step(0));
    steps.push({ step: "new", zkeySha256: await sha256File(step(0)) });
    for (let i = 0; i < o.contributors.length; i++) {
      log(`phase 2: contribution ${i + 1} by ${o.contributors[i]}`);
      const h = await snarkjs.zKey.contribute(step(i), step(i + 1), o.contributors[i], randomBytes(32).toString("hex"));
      steps.push({
        step: "contribute",
        by: o.contributors[i],
        contributionHash: hex(h),
        zkeySha256: await sha256File(step(i + 1)),
      });
    }
    log(`phase 2: final beacon`);
    const last = step(o.contributors.length);
    const h = await snarkjs.zKey.beacon(last, zkey + ".tmp", "final beacon", beaconHash, iterationsExp);
    renameSync(zkey + ".tmp", zkey);
    steps.push({ step: "beacon", contributionHash: hex(h), zkeySha256: await sha256File(zkey) });
  } finally {
    for (let i = 0; i <= o.contributors.length; i++) rmSync(step(i), { force: true });
    rmSync(zkey + ".tmp", { force: true });
  }

  log(`phase 2: verifying the final zkey against the r1cs and the ptau`);
  if (!(await snarkjs.zKey.verifyFromR1cs(o.r1cs, ptauInMemory(o.ptau.path), zkey))) {
    throw new Error(`the zkey for ${o.name} does not verify against its r1cs and ptau`);
  }
  const vk = await snarkjs.zKey.exportVerificationKey(zkey);
  assertPhase2Contributed(vk, `zkey for ${o.name}`);
  const vkeyPath = path.join(o.outDir, `${o.name}.vkey.json`);
  writeFileSync(vkeyPath, JSON.stringify(vk, null, 2) + "\n");

  // The template is not in snarkjs's package exports: find it next to the package's entry.
  const snarkjsRoot = path.resolve(path.dirname(require.resolve("snarkjs")), "..");
  const template = readFileSync(path.join(snarkjsRoot, "templates", "verifier_groth16.sol.ejs"), "utf8");
  const solidity = await snarkjs.zKey.exportSolidityVerifier(zkey, { groth16: template });
  writeVerifier(o.verifierPath, o.verifierContract, solidity, o.command, vk);

  const transcript: Transcript = {
    circuit: o.name,
    ptau: {
      file: path.basename(o.ptau.path),
      blake2b: o.ptau.blake2b,
      insecure: o.ptau.insecure,
      origin: o.ptau.origin,
    },
    steps,
    beacon: { hash: beaconHash, iterationsExp },
    verified: true,
  };
  const transcriptPath = path.join(o.outDir, `${o.name}.transcript.json`);
  writeFileSync(transcriptPath, JSON.stringify(transcript, null, 2) + "\n");
  return { zkey, vkeyPath, vk, vkHash: verificationKeyHash(vk), verifierPath: o.verifierPath, transcriptPath };
}

/** Writes the Solidity verifier with its generated-file header, renamed to `contract`. */
export function writeVerifier(
  file: string,
  contract: string,
  solidity: string,
  command: string,
  vk: snarkjs.VerificationKey,
): void {
  if (!/contract Groth16Verifier\b/.test(solidity))
    throw new Error("unexpected snarkjs verifier template: no Groth16Verifier contract");
  const header =
    `// GENERATED FILE, do not edit. Made by \`${command}\` with snarkjs's Groth16 template.\n` +
    `// It embeds the verification key (keccak ${verificationKeyHash(vk)}) of one trusted setup;\n` +
    `// every new setup rewrites it, so it is a build output like the zkey, pinned by the manifest.\n`;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, header + solidity.replace(/contract Groth16Verifier\b/, `contract ${contract}`));
}
