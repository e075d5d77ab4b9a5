/**
 * Universal-mode setup: a PLONK key from a circuit's r1cs and a powers-of-tau ceremony file, with
 * no phase 2 and so no per-circuit secret. The key is a deterministic function of the r1cs and
 * the ceremony, so anyone can rebuild it and compare hashes ({@link rebuildPlonkKey}, `poi
 * verify-setup`). The protocol's verifier (contracts/libraries/Plonk.sol) takes the ceremony's
 * [tau]_2 from its own table, by the ceremony id the key names; this module holds the same table.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { keccak256, solidityPacked } from "ethers";
import * as snarkjs from "snarkjs";
import { checkPtauForSetup, ptauInMemory, type ResolvedPtau } from "./ptau.ts";

/** A ceremony the protocol's PLONK verifier knows by id (contracts/libraries/Plonk.sol). */
export interface UniversalCeremony {
  id: number;
  name: string;
  /** [tau]_2 as snarkjs writes a key's X_2: [[x_re, x_im], [y_re, y_im]]. */
  tau2: [[string, string], [string, string]];
  /** Whoever made the file could forge proofs: development and tests only. */
  insecure: boolean;
  /** The ptau files of the ceremony (a prefix of the name for a family of files). */
  files: string[];
}

export const UNIVERSAL_CEREMONIES: UniversalCeremony[] = [
  {
    id: 1,
    name: "Hermez (Polygon) powers of tau, 54 contributions + beacon",
    tau2: [
      [
        "21831381940315734285607113342023901060522397560371972897001948545212302161822",
        "17231025384763736816414546592865244497437017442647097510447326538965263639101",
      ],
      [
        "2388026358213174446665280700919698872609886601280537296205114254867301080648",
        "11507326595632554467052522095592665270651932854513688777769618397986436103170",
      ],
    ],
    insecure: false,
    files: ["powersOfTau28_hez_final_"],
  },
  {
    id: 2,
    name: "project development file dev-insecure-pot12.ptau (INSECURE)",
    tau2: [
      [
        "14789468532883328198074746894895871169335625117348715903211708133440999238476",
        "19917493679357863759941211497841290110067957558235516960024924007566644950436",
      ],
      [
        "16471524493776173561982427181093860475708992781939006221402373270214453701871",
        "6695561984986159796587914755141124624068531148095297008021105606805285670937",
      ],
    ],
    insecure: true,
    files: ["dev-insecure-pot12.ptau"],
  },
  {
    id: 3,
    name: "project development file dev-insecure-pot16.ptau (INSECURE)",
    tau2: [
      [
        "11470635137376962928775047521544185303757623898729280191713136942395838397168",
        "1662799725822925086573793091945655248133252611139325269376779349297547236418",
      ],
      [
        "19369579543011580009871192203213282354303154614229271550205400959956802593248",
        "1691265993772071417148130271743179330900570029190626303688709705794238931657",
      ],
    ],
    insecure: true,
    files: ["dev-insecure-pot16.ptau"],
  },
  {
    id: 4,
    name: "project development file dev-insecure-pot17.ptau (INSECURE)",
    tau2: [
      [
        "18150009940346374215613698031330836615252447821395489568131824505770214898260",
        "13285898264090764631426578743785378624429735869024096369531196040122373259452",
      ],
      [
        "2026890398062848901355844272080693056808022601107889974975584449890637233409",
        "9907774081433874971362466822710107216446466550069688174395940657764338308909",
      ],
    ],
    insecure: true,
    files: ["dev-insecure-pot17.ptau"],
  },
];

/** A PLONK verification key as snarkjs writes it (`zKey.exportVerificationKey` of a PLONK zkey). */
export interface PlonkVerificationKey {
  protocol: "plonk";
  curve: string;
  nPublic: number;
  power: number;
  k1: string;
  k2: string;
  Qm: string[];
  Ql: string[];
  Qr: string[];
  Qo: string[];
  Qc: string[];
  S1: string[];
  S2: string[];
  S3: string[];
  X_2: string[][];
  w: string;
}

/** The ceremony whose [tau]_2 is the key's X_2, if the protocol knows it. */
export function ceremonyOfKey(vk: PlonkVerificationKey): UniversalCeremony | undefined {
  const same = (a: string[][], b: string[][]) => [0, 1].every((i) => [0, 1].every((j) => a[i][j] === b[i][j]));
  return UNIVERSAL_CEREMONIES.find((c) => same(c.tau2, vk.X_2));
}

const g1Words = (p: string[]): bigint[] => {
  // snarkjs writes points projectively; the point at infinity has z = 0 and is (0, 0) on-chain.
  if (p.length === 3 && BigInt(p[2]) === 0n) return [0n, 0n];
  if (p.length === 3 && BigInt(p[2]) !== 1n) throw new Error("a PLONK key point is not affine");
  return [BigInt(p[0]), BigInt(p[1])];
};

/**
 * The key as the registry stores it (Plonk.sol's layout): `ceremony | power | nPublic | k1 | k2 |
 * omega | Qm | Ql | Qr | Qo | Qc | S1 | S2 | S3`, 22 big-endian words, as 0x-hex.
 * @throws if the key is not a PLONK key or was not made from a ceremony the protocol knows
 */
export function encodePlonkKey(vk: PlonkVerificationKey): string {
  if (vk.protocol !== "plonk") throw new Error(`the verification key is a ${vk.protocol} key, not a PLONK key`);
  const ceremony = ceremonyOfKey(vk);
  if (!ceremony)
    throw new Error(
      "the PLONK key's [tau]_2 (X_2) is not that of any ceremony the protocol knows: it was made from another powers-of-tau file",
    );
  const words = [
    BigInt(ceremony.id),
    BigInt(vk.power),
    BigInt(vk.nPublic),
    BigInt(vk.k1),
    BigInt(vk.k2),
    BigInt(vk.w),
    ...[vk.Qm, vk.Ql, vk.Qr, vk.Qo, vk.Qc, vk.S1, vk.S2, vk.S3].flatMap(g1Words),
  ];
  return solidityPacked(
    words.map(() => "uint256"),
    words,
  );
}

/** keccak256 of {@link encodePlonkKey}: what `poi verify-setup` compares. */
export function plonkKeyHash(vk: PlonkVerificationKey): string {
  return keccak256(encodePlonkKey(vk));
}

export type PlonkProofWords = [
  bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint,
  bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint,
]; // prettier-ignore

/** A snarkjs PLONK proof as the verifier's uint256[24] (snarkjs's calldata order). */
export function plonkProofWords(proof: snarkjs.UniversalProof): PlonkProofWords {
  const point = (name: string) => g1Words(proof[name] as string[]);
  const scalar = (name: string) => BigInt(proof[name] as string);
  const words = [
    ...["A", "B", "C", "Z", "T1", "T2", "T3", "Wxi", "Wxiw"].flatMap(point),
    ...["eval_a", "eval_b", "eval_c", "eval_s1", "eval_s2", "eval_zw"].map(scalar),
  ];
  return words as PlonkProofWords;
}

export interface PlonkSetupOptions {
  name: string;
  r1cs: string;
  ptau: string;
  outDir: string;
  /** Take a development (insecure) ptau file. Without it only a public ceremony file is taken. */
  allowInsecurePtau?: boolean;
}

export interface PlonkSetupResult {
  zkey: string;
  vkeyPath: string;
  vk: PlonkVerificationKey;
  keyHash: string;
  ceremony: UniversalCeremony;
  ptau: ResolvedPtau;
  /** Gates after snarkjs's R1CS-to-PLONK conversion. */
  constraints: number;
}

/**
 * Runs snarkjs's PLONK setup for a circuit (deterministic: no contribution, no beacon) and writes
 * `<name>.plonk.zkey` and `<name>.plonk.vkey.json` into `outDir`.
 * @throws naming the file at fault: a ptau that is no listed file, a development file without
 *   `allowInsecurePtau`, a ceremony the verifier does not know, or one too small for the circuit
 */
export async function plonkSetup(o: PlonkSetupOptions): Promise<PlonkSetupResult> {
  const ptau = await checkUniversalPtau(o.ptau, o.allowInsecurePtau ?? false);
  mkdirSync(o.outDir, { recursive: true });
  const zkey = path.join(o.outDir, `${o.name}.plonk.zkey`);
  const vkeyPath = path.join(o.outDir, `${o.name}.plonk.vkey.json`);
  const { vk, constraints } = await buildPlonkKey(o.r1cs, ptau, zkey);
  writeFileSync(vkeyPath, JSON.stringify(vk, null, 1) + "\n");
  return { zkey, vkeyPath, vk, keyHash: plonkKeyHash(vk), ceremony: ceremonyOfKey(vk)!, ptau, constraints };
}

/**
 * Rebuilds the key of a circuit from its r1cs and a ceremony file (in memory: nothing written)
 * and returns its hash, for comparison with the one a model registered.
 */
export async function rebuildPlonkKey(
  r1cs: string,
  ptauFile: string,
  allowInsecurePtau: boolean,
): Promise<{ keyHash: string; vk: PlonkVerificationKey; ceremony: UniversalCeremony }> {
  const ptau = await checkUniversalPtau(ptauFile, allowInsecurePtau);
  const zkey = { type: "mem" as const };
  const { vk } = await buildPlonkKey(r1cs, ptau, zkey);
  return { keyHash: plonkKeyHash(vk), vk, ceremony: ceremonyOfKey(vk)! };
}

async function checkUniversalPtau(file: string, allowInsecure: boolean): Promise<ResolvedPtau> {
  const ptau = await checkPtauForSetup(file, allowInsecure);
  if (ptau.insecure && !allowInsecure)
    throw new Error(
      `ptau file ${path.basename(file)} is a development file (${ptau.origin}): universal mode rests only on a ` +
        "public ceremony; pass --allow-insecure-ptau to use it for development",
    );
  return ptau;
}

async function buildPlonkKey(
  r1cs: string,
  ptau: ResolvedPtau,
  zkey: string | { type: "mem"; data?: Uint8Array },
): Promise<{ vk: PlonkVerificationKey; constraints: number }> {
  if (!existsSync(r1cs)) throw new Error(`r1cs file ${r1cs} does not exist`);
  const lines: string[] = [];
  const logger = {
    info: (m: string) => void lines.push(m),
    warn: (m: string) => void lines.push(m),
    error: (m: string) => void lines.push(m),
    debug: () => {},
  };
  const result = await snarkjs.plonk.setup(r1cs, ptauInMemory(ptau.path), zkey, logger);
  const gates = Number(/Plonk constraints: (\d+)/.exec(lines.join("\n"))?.[1] ?? NaN);
  // snarkjs's PLONK setup reports a too small ceremony on its logger and returns -1.
  if (result === -1 || lines.some((l) => /too big/.test(l))) {
    if (typeof zkey === "string") rmSync(zkey, { force: true });
    throw new Error(
      `ptau file ${path.basename(ptau.path)} (2^${ptau.power}) is too small for ${path.basename(r1cs)}: ` +
        `${gates} PLONK gates need 2^${Math.ceil(Math.log2(gates + 1))}`,
    );
  }
  const vk = (await snarkjs.zKey.exportVerificationKey(zkey)) as unknown as PlonkVerificationKey;
  if (!ceremonyOfKey(vk))
    throw new Error(
      `ptau file ${path.basename(ptau.path)} is not a ceremony the protocol's PLONK verifier knows (its [tau]_2 is in none of UNIVERSAL_CEREMONIES)`,
    );
  return { vk, constraints: gates };
}
