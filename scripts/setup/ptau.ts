/**
 * Powers-of-tau files: taken by path and checked against a list of known hashes, or made
 * locally for small circuits. A locally made file is insecure (its maker knows the toxic
 * waste) and says so in its name and in everything that reports on it.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
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
  const known = KNOWN_PTAU.find((k) => k.blake2b === blake2b);
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

/**
 * Finds a usable ptau: an explicit path, else the smallest fitting development file in the
 * shared ptau folder (if any), else a file generated here (slow: ~80 s at power 12).
 */
export async function resolvePtau(options: {
  minPower: number;
  explicitPath?: string;
  searchDirs: string[];
  generatedDir: string;
  log?: (msg: string) => void;
}): Promise<ResolvedPtau> {
  if (options.explicitPath) return checkPtau(options.explicitPath, options.minPower);
  const candidates = KNOWN_PTAU.filter((k) => k.power >= options.minPower).sort((a, b) => a.power - b.power);
  for (const dir of options.searchDirs) {
    for (const k of candidates) {
      const p = path.join(dir, k.file);
      if (existsSync(p)) return checkPtau(p, options.minPower);
    }
  }
  return generateDevPtau(Math.max(options.minPower, 8), options.generatedDir, options.log);
}

/**
 * Makes a development ptau of the given power: one contribution with OS entropy, a beacon,
 * and phase-2 preparation. Cached by file name in `outDir`.
 */
export async function generateDevPtau(
  power: number,
  outDir: string,
  log?: (msg: string) => void,
): Promise<ResolvedPtau> {
  mkdirSync(outDir, { recursive: true });
  const final = path.join(outDir, `dev-insecure-generated-pot${power}.ptau`);
  const result = async (): Promise<ResolvedPtau> => ({
    path: final,
    power,
    blake2b: await hashFile(final, "blake2b512"),
    insecure: true,
    origin: "generated on this machine by poi (INSECURE: development only)",
  });
  if (existsSync(final)) return result();
  log?.(`generating an INSECURE development ptau of power ${power} (no ceremony file found)`);
  const curve = await snarkjs.curves.getCurveFromName("bn128");
  const tmp = (s: string) => path.join(outDir, `pot${power}.${s}.tmp`);
  try {
    await snarkjs.powersOfTau.newAccumulator(curve, power, tmp("0"));
    await snarkjs.powersOfTau.contribute(tmp("0"), tmp("1"), "poi development", randomBytes(32).toString("hex"));
    await snarkjs.powersOfTau.beacon(tmp("1"), tmp("2"), "poi development beacon", randomBytes(32).toString("hex"), 10);
    await snarkjs.powersOfTau.preparePhase2(tmp("2"), tmp("3"));
    renameSync(tmp("3"), final);
  } finally {
    for (const s of ["0", "1", "2", "3"]) rmSync(tmp(s), { force: true });
  }
  return result();
}
