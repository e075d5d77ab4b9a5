/**
 * Powers-of-tau files: taken by path and checked against a list of known hashes, or made
 * locally for development. A locally made file is insecure (its maker knew the toxic waste)
 * and says so in its name, in the record kept next to it, and in everything that reports on it;
 * it is never taken where a listed file is required (`checkPtau`).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { makeKnownSecretPtau } from "./dev-ptau.ts";
import { buildBn128 } from "ffjavascript";
import * as snarkjs from "snarkjs";
import { hashFile } from "./hash.ts";

export interface KnownPtau {
  file: string;
  power: number;
  blake2b: string;
  /** True when the file's toxic waste may be known to someone: development only. */
  insecure: boolean;
  origin: string;
}

/** Development files prepared for this project's machines (listed in shared/ptau/README.md). */
export const KNOWN_PTAU: KnownPtau[] = [
  {
    file: "dev-insecure-pot12.ptau",
    power: 12,
    blake2b:
      "e6cf9bd2e8650317b1e04e6121888e65c496f9377610d1e5274ba6e5ae02d648be92c733dc00e46e4d84530e4c06a757289d127272f537a0fa1b826946f3174a",
    insecure: true,
    origin: "project development file, 1 contribution",
  },
  {
    file: "dev-insecure-pot16.ptau",
    power: 16,
    blake2b:
      "f44d3c36d3bbf6ab6769b50e8148894b7ccf55927b8b4b3dff99ff9285eed7d70edb2004c564c9abdf442903c90d655de1adc7883af308648095744193e05b16",
    insecure: true,
    origin: "project development file, 1 contribution + beacon",
  },
  {
    file: "dev-insecure-pot17.ptau",
    power: 17,
    blake2b:
      "a23b19ea605945e8179be4080bd0eeaab32cb4e6e97b6711f53e742bb441fcc2b7872f2069f3588ff9fa3a9111e9317e91c5f5cb56cdbf08821748c0d5f57ca0",
    insecure: true,
    origin: "project development file, 1 contribution + beacon",
  },
];

/**
 * The Hermez (Polygon zkEVM) ceremony files, 54 contributions + beacon, as listed in snarkjs's
 * README ("Prepared Phase 2" table). Any of them is fit for a real deployment.
 */
export const PUBLIC_PTAU: KnownPtau[] = [
  {
    file: "powersOfTau28_hez_final_08.ptau",
    power: 8,
    blake2b:
      "d6a8fb3a04feb600096c3b791f936a578c4e664d262e4aa24beed1b7a9a96aa5eb72864d628db247e9293384b74b36ffb52ca8d148d6e1b8b51e279fdf57b583",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_09.ptau",
    power: 9,
    blake2b:
      "94f108a80e81b5d932d8e8c9e8fd7f46cf32457e31462deeeef37af1b71c2c1b3c71fb0d9b59c654ec266b042735f50311f9fd1d4cadce47ab234ad163157cb5",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_10.ptau",
    power: 10,
    blake2b:
      "6cfeb8cda92453099d20120bdd0e8a5c4e7706c2da9a8f09ccc157ed2464d921fd0437fb70db42104769efd7d6f3c1f964bcf448c455eab6f6c7d863e88a5849",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_11.ptau",
    power: 11,
    blake2b:
      "47c282116b892e5ac92ca238578006e31a47e7c7e70f0baa8b687f0a5203e28ea07bbbec765a98dcd654bad618475d4661bfaec3bd9ad2ed12e7abc251d94d33",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_12.ptau",
    power: 12,
    blake2b:
      "ded2694169b7b08e898f736d5de95af87c3f1a64594013351b1a796dbee393bd825f88f9468c84505ddd11eb0b1465ac9b43b9064aa8ec97f2b73e04758b8a4a",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_13.ptau",
    power: 13,
    blake2b:
      "58efc8bf2834d04768a3d7ffcd8e1e23d461561729beaac4e3e7a47829a1c9066d5320241e124a1a8e8aa6c75be0ba66f65bc8239a0542ed38e11276f6fdb4d9",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_14.ptau",
    power: 14,
    blake2b:
      "eeefbcf7c3803b523c94112023c7ff89558f9b8e0cf5d6cdcba3ade60f168af4a181c9c21774b94fbae6c90411995f7d854d02ebd93fb66043dbb06f17a831c1",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_15.ptau",
    power: 15,
    blake2b:
      "982372c867d229c236091f767e703253249a9b432c1710b4f326306bfa2428a17b06240359606cfe4d580b10a5a1f63fbed499527069c18ae17060472969ae6e",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_16.ptau",
    power: 16,
    blake2b:
      "6a6277a2f74e1073601b4f9fed6e1e55226917efb0f0db8a07d98ab01df1ccf43eb0e8c3159432acd4960e2f29fe84a4198501fa54c8dad9e43297453efec125",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_17.ptau",
    power: 17,
    blake2b:
      "6247a3433948b35fbfae414fa5a9355bfb45f56efa7ab4929e669264a0258976741dfbe3288bfb49828e5df02c2e633df38d2245e30162ae7e3bcca5b8b49345",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_18.ptau",
    power: 18,
    blake2b:
      "7e6a9c2e5f05179ddfc923f38f917c9e6831d16922a902b0b4758b8e79c2ab8a81bb5f29952e16ee6c5067ed044d7857b5de120a90704c1d3b637fd94b95b13e",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_19.ptau",
    power: 19,
    blake2b:
      "bca9d8b04242f175189872c42ceaa21e2951e0f0f272a0cc54fc37193ff6648600eaf1c555c70cdedfaf9fb74927de7aa1d33dc1e2a7f1a50619484989da0887",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_20.ptau",
    power: 20,
    blake2b:
      "89a66eb5590a1c94e3f1ee0e72acf49b1669e050bb5f93c73b066b564dca4e0c7556a52b323178269d64af325d8fdddb33da3a27c34409b821de82aa2bf1a27b",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_21.ptau",
    power: 21,
    blake2b:
      "9aef0573cef4ded9c4a75f148709056bf989f80dad96876aadeb6f1c6d062391f07a394a9e756d16f7eb233198d5b69407cca44594c763ab4a5b67ae73254678",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_22.ptau",
    power: 22,
    blake2b:
      "0d64f63dba1a6f11139df765cb690da69d9b2f469a1ddd0de5e4aa628abb28f787f04c6a5fb84a235ec5ea7f41d0548746653ecab0559add658a83502d1cb21b",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_23.ptau",
    power: 23,
    blake2b:
      "3063a0bd81d68711197c8820a92466d51aeac93e915f5136d74f63c394ee6d88c5e8016231ea6580bec02e25d491f319d92e77f5c7f46a9caa8f3b53c0ea544f",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_24.ptau",
    power: 24,
    blake2b:
      "fa404d140d5819d39984833ca5ec3632cd4995f81e82db402371a4de7c2eae8687c62bc632a95b0c6aadba3fb02680a94e09174b7233ccd26d78baca2647c733",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_25.ptau",
    power: 25,
    blake2b:
      "0377d860cdb09a8a31ea1b0b8c04335614c8206357181573bf294c25d5ca7dff72387224fbd868897e6769f7805b3dab02854aec6d69d7492883b5e4e5f35eeb",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_26.ptau",
    power: 26,
    blake2b:
      "418dee4a74b9592198bd8fd02ad1aea76f9cf3085f206dfd7d594c9e264ae919611b1459a1cc920c2f143417744ba9edd7b8d51e44be9452344a225ff7eead19",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final_27.ptau",
    power: 27,
    blake2b:
      "10ffd99837c512ef99752436a54b9810d1ac8878d368fb4b806267bdd664b4abf276c9cd3c4b9039a1fa4315a0c326c0e8e9e8fe0eb588ffd4f9021bf7eae1a1",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
  {
    file: "powersOfTau28_hez_final.ptau",
    power: 28,
    blake2b:
      "55c77ce8562366c91e7cda394cf7b7c15a06c12d8c905e8b36ba9cf5e13eb37d1a429c589e8eaba4c591bc4b88a0e2828745a53e170eac300236f5c1a326f41a",
    insecure: false,
    origin: "Hermez ceremony (54 contributions + beacon)",
  },
];

/**
 * A genuine Hermez file that reaches the project through the npm registry, the only network its
 * machines have: the first release of circomkit ships the ceremony's power-12 file. It is a
 * development dependency, so that a test (test/scripts/hermez-ceremony.test.ts) checks the
 * protocol's Hermez [tau]_2 against the real file.
 */
export const PACKAGED_HERMEZ_PTAU = {
  npmPackage: "circomkit",
  version: "0.0.1",
  file: "ptau/powersOfTau28_hez_final_12.ptau",
} as const;

/**
 * The absolute path of the packaged Hermez file ({@link PACKAGED_HERMEZ_PTAU}), after checking it
 * against the ceremony's published blake2b; undefined where the package is not installed.
 * @throws if the package's file is not the published Hermez file of its name
 */
export async function packagedHermezPtau(): Promise<string | undefined> {
  const { npmPackage, file: inPackage } = PACKAGED_HERMEZ_PTAU;
  let file: string;
  try {
    file = createRequire(import.meta.url).resolve(`${npmPackage}/${inPackage}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND") return undefined;
    throw err;
  }
  const published = PUBLIC_PTAU.find((k) => k.file === path.basename(inPackage))!;
  const found = await checkPtau(file, published.power);
  if (found.blake2b !== published.blake2b) {
    throw new Error(
      `${file} in the ${npmPackage} package has blake2b ${found.blake2b.slice(0, 16)}... (${found.origin}), ` +
        `not the published ${published.blake2b.slice(0, 16)}... of ${published.file}`,
    );
  }
  return file;
}

/** [tau]_2 as snarkjs writes a PLONK key's X_2: [[x_re, x_im], [y_re, y_im]]. */
export type G2Affine = [[string, string], [string, string]];

/**
 * [tau]_2 of a ptau file: the second point of its tauG2 section (3), the point a PLONK key made
 * from the file carries as X_2. Reads only the section table and that point.
 * @throws if the file is not a ptau file or has no tauG2 section with two points
 */
export async function ptauTau2(file: string): Promise<G2Affine> {
  const curve = await buildBn128(true);
  const fd = openSync(file, "r");
  try {
    const read = (position: number, length: number) => {
      const buffer = Buffer.alloc(length);
      if (readSync(fd, buffer, 0, length, position) !== length) throw new Error(`${file} ends inside a section`);
      return buffer;
    };
    const head = read(0, 12);
    if (head.toString("latin1", 0, 4) !== "ptau") throw new Error(`${file} is not a ptau file`);
    const pointSize = curve.G2.F.n8 * 2;
    let position = 12;
    for (let section = 0; section < head.readUInt32LE(8); section++) {
      const sectionHead = read(position, 12);
      const size = Number(sectionHead.readBigUInt64LE(4));
      if (sectionHead.readUInt32LE(0) === 3) {
        if (size < 2 * pointSize) throw new Error(`${file} has fewer than two tauG2 points`);
        const point = curve.G2.toObject(curve.G2.fromRprLEM(read(position + 12 + pointSize, pointSize), 0));
        const [x, y] = point as bigint[][];
        return [
          [String(x[0]), String(x[1])],
          [String(y[0]), String(y[1])],
        ];
      }
      position += 12 + size;
    }
    throw new Error(`${file} has no tauG2 section`);
  } finally {
    closeSync(fd);
    await curve.terminate();
  }
}

export interface ResolvedPtau {
  path: string;
  power: number;
  blake2b: string;
  insecure: boolean;
  origin: string;
}

/**
 * Checks a ptau file against the known hashes.
 * @throws if the file is missing, unknown, or too small for `minPower`
 */
export async function checkPtau(file: string, minPower: number): Promise<ResolvedPtau> {
  if (!existsSync(file)) throw new Error(`ptau file ${file} does not exist`);
  const blake2b = await hashFile(file, "blake2b512");
  const known = [...PUBLIC_PTAU, ...KNOWN_PTAU].find((k) => k.blake2b === blake2b);
  if (!known) {
    throw new Error(
      `ptau file ${path.basename(file)} has blake2b ${blake2b.slice(0, 16)}..., which is not a known ceremony or development file; ` +
        `refusing it (a tampered ptau can make proofs forgeable)`,
    );
  }
  if (known.power < minPower) {
    throw new Error(`ptau file ${known.file} holds 2^${known.power} constraints; the circuit needs 2^${minPower}`);
  }
  return { path: file, ...known };
}

/** Smallest power p with 2^p >= constraints (plus the public inputs, which snarkjs adds). */
export function ptauPowerFor(constraints: number, publicInputs: number): number {
  let p = 1;
  while (2 ** p < constraints + publicInputs + 1) p++;
  return p;
}

/** The repository root (this file is scripts/setup/ptau.ts). */
const REPOSITORY = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

/**
 * The project's shared development files (`../shared/ptau` next to the clone), where they exist
 * and unless POI_NO_SHARED_PTAU=1, which makes a run behave as on a new user's machine.
 */
export function sharedPtauDirs(): string[] {
  if (process.env.POI_NO_SHARED_PTAU === "1") return [];
  return [path.join(REPOSITORY, "..", "shared", "ptau")];
}

/** Where development ptau files are made, once per machine: $XDG_CACHE_HOME/poi/ptau or ~/.cache/poi/ptau. */
export function devPtauCacheDir(): string {
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(cache, "poi", "ptau");
}

/** The record written next to a development file when it is made. */
interface DevPtauRecord {
  format: typeof DEV_RECORD_FORMAT;
  power: number;
  blake2b: string;
  insecure: true;
  made: string;
  seconds: number;
}
const DEV_RECORD_FORMAT = "poi-dev-ptau/1";
const DEV_ORIGIN = "generated on this machine by poi (INSECURE: development only)";
const devPtauName = (power: number) => `dev-insecure-generated-pot${power}.ptau`;
const recordPath = (file: string) => `${file}.json`;

/**
 * Checks a development file made by `generateDevPtau` against the blake2b recorded when it
 * was made. Such a file is insecure; callers that need a listed file use `checkPtau` instead.
 * @throws if there is no record, or the file no longer has the recorded hash
 */
export async function checkDevPtau(file: string, minPower: number): Promise<ResolvedPtau> {
  if (!existsSync(file)) throw new Error(`ptau file ${file} does not exist`);
  const recordFile = recordPath(file);
  if (!existsSync(recordFile)) {
    throw new Error(
      `ptau file ${path.basename(file)} has no record ${path.basename(recordFile)} of the hash it was made with`,
    );
  }
  let record: DevPtauRecord;
  try {
    record = JSON.parse(readFileSync(recordFile, "utf8")) as DevPtauRecord;
  } catch (err) {
    throw new Error(`${recordFile} is not a ptau record: ${(err as Error).message}`);
  }
  if (record.format !== DEV_RECORD_FORMAT || !Number.isInteger(record.power) || typeof record.blake2b !== "string") {
    throw new Error(`${recordFile} is not a ${DEV_RECORD_FORMAT} record`);
  }
  const blake2b = await hashFile(file, "blake2b512");
  if (blake2b !== record.blake2b) {
    throw new Error(
      `development ptau ${file} has blake2b ${blake2b.slice(0, 16)}..., not the ${record.blake2b.slice(0, 16)}... ` +
        `recorded when it was made; refusing it (delete it and ${path.basename(recordFile)} to make a new one)`,
    );
  }
  if (record.power < minPower) {
    throw new Error(
      `ptau file ${path.basename(file)} holds 2^${record.power} constraints; the circuit needs 2^${minPower}`,
    );
  }
  return { path: file, power: record.power, blake2b, insecure: true, origin: DEV_ORIGIN };
}

/** A listed file (`checkPtau`), else a development file made here with its record (`checkDevPtau`). */
export async function checkKnownOrDevPtau(file: string, minPower: number): Promise<ResolvedPtau> {
  try {
    return await checkPtau(file, minPower);
  } catch (err) {
    if (!existsSync(recordPath(file)) || !/not a known/.test((err as Error).message)) throw err;
    return checkDevPtau(file, minPower);
  }
}

/**
 * Finds a usable ptau: an explicit path; else the smallest fitting listed development file in
 * the shared folders; else the smallest fitting file in the development cache, checked against
 * its record; else one made there now (see dev-ptau.ts: about a minute at power 12).
 */
export async function resolvePtau(options: {
  minPower: number;
  explicitPath?: string;
  searchDirs?: string[];
  generatedDir?: string;
  log?: (msg: string) => void;
}): Promise<ResolvedPtau> {
  // A listed file, or a development file made by poi with its record (as the cache's are).
  if (options.explicitPath) return checkKnownOrDevPtau(options.explicitPath, options.minPower);
  const candidates = KNOWN_PTAU.filter((k) => k.power >= options.minPower).sort((a, b) => a.power - b.power);
  for (const dir of options.searchDirs ?? sharedPtauDirs()) {
    for (const k of candidates) {
      const p = path.join(dir, k.file);
      if (existsSync(p)) return checkPtau(p, options.minPower);
    }
  }
  const generatedDir = options.generatedDir ?? devPtauCacheDir();
  const minPower = Math.max(options.minPower, 8);
  for (let power = minPower; power <= MAX_DEV_POWER; power++) {
    const file = path.join(generatedDir, devPtauName(power));
    if (existsSync(file) && existsSync(recordPath(file))) return checkDevPtau(file, options.minPower);
  }
  return generateDevPtau(minPower, generatedDir, options.log);
}

/** Largest power `generateDevPtau` makes: 2^27 points no longer fit a development machine. */
export const MAX_DEV_POWER = 26;

/**
 * Makes a development ptau of the given power in `outDir` from a public secret (dev-ptau.ts),
 * records its blake2b next to it, and reuses it on later calls after checking it against that
 * record.
 */
export async function generateDevPtau(
  power: number,
  outDir: string,
  log?: (msg: string) => void,
): Promise<ResolvedPtau> {
  if (!Number.isInteger(power) || power < 1 || power > MAX_DEV_POWER) {
    throw new Error(`a development ptau's power must be 1..${MAX_DEV_POWER}, not ${power}`);
  }
  mkdirSync(outDir, { recursive: true });
  const final = path.join(outDir, devPtauName(power));
  if (existsSync(final) && existsSync(recordPath(final))) return checkDevPtau(final, power);
  log?.(`making an INSECURE development ptau of power ${power} in ${outDir} (no ceremony file given)`);
  const started = performance.now();
  const blake2b = await makeKnownSecretPtau({ power, out: final, log });
  const record: DevPtauRecord = {
    format: DEV_RECORD_FORMAT,
    power,
    blake2b,
    insecure: true,
    made: new Date().toISOString(),
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
  const tmp = `${recordPath(final)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(record, null, 2) + "\n");
  renameSync(tmp, recordPath(final));
  return { path: final, power, blake2b, insecure: true, origin: DEV_ORIGIN };
}

/**
 * A ptau for a setup: a known file, or (only when the caller opts in) an unlisted one such as
 * a file from `poi ptau new`, which is then recorded as insecure everywhere it is reported.
 */
export async function checkPtauForSetup(file: string, allowUnlisted: boolean): Promise<ResolvedPtau> {
  try {
    return await checkPtau(file, 0);
  } catch (err) {
    if (!allowUnlisted || !existsSync(file) || !/not a known/.test((err as Error).message)) throw err;
    // A development file made by poi keeps its record (its power and hash); any other is unlisted.
    if (existsSync(recordPath(file))) return checkDevPtau(file, 0);
    return {
      path: file,
      power: ptauHeaderPower(file),
      blake2b: await hashFile(file, "blake2b512"),
      insecure: true,
      origin: "unlisted file accepted with --allow-insecure-ptau (INSECURE: development only)",
    };
  }
}

/**
 * The power a ptau file's header declares (2^power points), or 0 for a file that is not a ptau: an
 * unlisted file's size, which no hash vouches for (a setup then finds it too small, or snarkjs
 * refuses it).
 */
export function ptauHeaderPower(file: string): number {
  const head = Buffer.alloc(4096);
  const fd = openSync(file, "r");
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (n < 12 || head.toString("latin1", 0, 4) !== "ptau") return 0;
  // Sections: type (u32), size (u64), data; the header (1) holds n8, the prime (n8 bytes), the power.
  for (let at = 12, sections = head.readUInt32LE(8); sections > 0 && at + 12 <= n; sections--) {
    const type = head.readUInt32LE(at);
    const size = Number(head.readBigUInt64LE(at + 4));
    if (type === 1) {
      const n8 = head.readUInt32LE(at + 12);
      return at + 16 + n8 + 4 <= n ? head.readUInt32LE(at + 16 + n8) : 0;
    }
    at += 12 + size;
  }
  return 0;
}

/**
 * A ptau for `snarkjs.zKey.verifyFromR1cs`, which opens the ptau by path a second time and never
 * closes that handle (Node then warns, DEP0137, when it is garbage-collected): handing snarkjs the
 * bytes instead leaves no file handle open.
 */
export function ptauInMemory(file: string): snarkjs.FileRef {
  return { type: "mem", data: new Uint8Array(readFileSync(file)) };
}
