/**
 * A development powers-of-tau file made from a PUBLIC secret (tau, alpha, beta), derived from the
 * fixed string {@link DEV_SECRET_LABEL}: the file of each power is the same on every machine, and
 * so is its [tau]_2, which lets the protocol's PLONK verifier name it as a development ceremony
 * (contracts/libraries/Plonk.sol) on a clone that has no shared files. Knowing the secret, every point is a multiple of a
 * generator by a scalar computed in the field, including the Lagrange-basis sections that
 * `snarkjs powersoftau prepare phase2` would compute with group FFTs (minutes to an hour at
 * power 16-17). The result is the .ptau that snarkjs reads and `snarkjs powersoftau verify`
 * accepts: one contribution, imported by snarkjs itself from a response file, so the transcript
 * hashes are snarkjs's own.
 *
 * INSECURE by construction: the secret is public, so anyone can forge proofs under any key set
 * up from the file. Development and tests only.
 */
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import * as snarkjs from "snarkjs";
import { ChaCha } from "ffjavascript";
import { hashFile } from "./hash.ts";

/** The name recorded in the file's only contribution (snarkjs keeps 64 characters). */
export const DEV_CONTRIBUTION_NAME = "poi development: INSECURE, its secret is public";

/** The public string the development secret is derived from (sha512 of it and a counter, mod r). */
export const DEV_SECRET_LABEL = "poi development powers of tau: INSECURE, this secret is public";

type Fe = Uint8Array;
type Point = Uint8Array;

interface Field {
  one: Fe;
  zero: Fe;
  /** w[p] generates the multiplicative subgroup of size 2^p (the domain of snarkjs's FFTs). */
  w: Fe[];
  e(v: bigint | number): Fe;
  add(a: Fe, b: Fe): Fe;
  sub(a: Fe, b: Fe): Fe;
  mul(a: Fe, b: Fe): Fe;
  inv(a: Fe): Fe;
  exp(a: Fe, e: bigint | number): Fe;
  eq(a: Fe, b: Fe): boolean;
  isZero(a: Fe): boolean;
  toRprLE(buff: Uint8Array, offset: number, a: Fe): void;
}

interface Group {
  g: Point;
  F: { n8: number };
  timesFr(p: Point, s: Fe): Point;
  toAffine(p: Point): Point;
  eq(a: Point, b: Point): boolean;
  isZero(p: Point): boolean;
  fromRng(rng: ChaCha): Point;
  toRprLEM(buff: Uint8Array, offset: number, p: Point): void;
  toRprUncompressed(buff: Uint8Array, offset: number, p: Point): void;
  batchLEMtoC(buff: Uint8Array): Promise<Uint8Array>;
}

interface Bn128 {
  r: bigint;
  Fr: Field;
  G1: Group;
  G2: Group;
  tm: {
    concurrency: number;
    queueAction(task: object[]): Promise<Uint8Array[]>;
  };
}

type GroupName = "G1" | "G2";

/** Id of the first Lagrange section of the .ptau format (tau*G1; then tau*G2, alpha, beta). */
const FIRST_LAGRANGE_SECTION = 12;
/** Scalars per worker task: small enough to keep both cores busy, large enough to amortise a message. */
const TASK_POINTS = 1024;

export interface KnownSecretPtauOptions {
  power: number;
  /** Where the finished file goes; temporary files sit next to it and are removed. */
  out: string;
  log?: (msg: string) => void;
}

/** Makes the file; returns its blake2b-512 (hex) as snarkjs and `poi ptau check` compute it. */
export async function makeKnownSecretPtau(options: KnownSecretPtauOptions): Promise<string> {
  const { power, out } = options;
  if (!Number.isInteger(power) || power < 1 || power > 27) throw new Error(`ptau power ${power} is not in 1..27`);
  const started = performance.now();
  const log = (msg: string) => options.log?.(`${msg} [${((performance.now() - started) / 1000).toFixed(1)} s]`);
  const curve = (await snarkjs.curves.getCurveFromName("bn128")) as unknown as Bn128;
  const { Fr } = curve;
  const n = 2 ** power;

  // tau must not be a root of unity of any domain the file serves (up to 2n), else a Lagrange
  // denominator vanishes; alpha and beta must not be zero.
  const secret = publicScalars(curve);
  const [tau, alpha, beta] = [secret(), secret(), secret()];
  if (Fr.eq(Fr.exp(tau, 2 * n), Fr.one)) throw new Error(`the development tau is a root of unity of order ${2 * n}`);

  const tmp = (s: string) => `${out}.${process.pid}.${s}.tmp`;
  try {
    const challenge = await snarkjs.powersOfTau.newAccumulator(curve, power, tmp("empty"));

    log(`2^${power}: powers of tau (G1 ${2 * n - 1}, G2 ${n}, alpha/beta ${n} each)`);
    const response = openSync(tmp("response"), "w");
    try {
      writeSync(response, challenge);
      const compressed = async (group: GroupName, scalars: Uint8Array) =>
        curve[group].batchLEMtoC(await multiplyGenerator(curve, group, scalars));
      writeSync(response, await compressed("G1", powersOf(Fr, Fr.one, tau, 2 * n - 1)));
      writeSync(response, await compressed("G2", powersOf(Fr, Fr.one, tau, n)));
      writeSync(response, await compressed("G1", powersOf(Fr, alpha, tau, n)));
      writeSync(response, await compressed("G1", powersOf(Fr, beta, tau, n)));
      writeSync(response, await compressed("G2", powersOf(Fr, beta, tau, 1)));
      writeSync(response, proofsOfKnowledge(curve, challenge, [tau, alpha, beta], secret));
    } finally {
      closeSync(response);
    }
    await snarkjs.powersOfTau.importResponse(tmp("empty"), tmp("response"), tmp("ptau"), DEV_CONTRIBUTION_NAME, true);

    log(`2^${power}: contribution imported by snarkjs`);
    log(`2^${power}: Lagrange bases of every domain up to 2^${power + 1}`);
    await appendLagrangeSections(curve, tmp("ptau"), power, { tau, alpha, beta });
    log(`2^${power}: Lagrange bases written`);
    const blake2b = await hashFile(tmp("ptau"), "blake2b512");
    renameSync(tmp("ptau"), out);
    return blake2b;
  } finally {
    for (const s of ["empty", "response", "ptau"]) rmSync(tmp(s), { force: true });
  }
}

/**
 * The public scalars of the development file, in order: sha512(DEV_SECRET_LABEL || i) reduced
 * mod r, skipping zero. The same on every machine, so the file is too.
 */
function publicScalars(curve: Bn128): () => Fe {
  let i = 0;
  return () => {
    for (;;) {
      const digest = createHash("sha512").update(`${DEV_SECRET_LABEL} ${i++}`).digest("hex");
      const x = BigInt("0x" + digest) % curve.r;
      if (x !== 0n) return curve.Fr.e(x);
    }
  };
}

/** first * inc^i for i < count, as little-endian scalars (not Montgomery), 32 bytes each. */
function powersOf(Fr: Field, first: Fe, inc: Fe, count: number): Uint8Array {
  const out = new Uint8Array(count * 32);
  let t = first;
  for (let i = 0; i < count; i++) {
    Fr.toRprLE(out, i * 32, t);
    t = Fr.mul(t, inc);
  }
  return out;
}

/**
 * scalar_i * generator for every 32-byte scalar, as affine points in snarkjs's in-file form
 * (little-endian Montgomery), computed in ffjavascript's worker threads.
 */
async function multiplyGenerator(curve: Bn128, group: GroupName, scalars: Uint8Array): Promise<Uint8Array> {
  const G = curve[group];
  const prefix = group === "G1" ? "g1m" : "g2m";
  const sAffine = G.F.n8 * 2;
  const sJacobian = G.F.n8 * 3;
  const count = scalars.byteLength / 32;
  const generator = new Uint8Array(sAffine);
  G.toRprLEM(generator, 0, G.g);
  const tasks: Promise<Uint8Array[]>[] = [];
  for (let start = 0; start < count; start += TASK_POINTS) {
    const m = Math.min(TASK_POINTS, count - start);
    const task: object[] = [
      { cmd: "ALLOCSET", var: 0, buff: generator },
      { cmd: "ALLOCSET", var: 1, buff: scalars.slice(start * 32, (start + m) * 32) },
      { cmd: "ALLOC", var: 2, len: m * sJacobian },
      { cmd: "ALLOC", var: 3, len: m * sAffine },
    ];
    for (let i = 0; i < m; i++) {
      task.push({
        cmd: "CALL",
        fnName: `${prefix}_timesScalarAffine`,
        params: [{ var: 0 }, { var: 1, offset: i * 32 }, { val: 32 }, { var: 2, offset: i * sJacobian }],
      });
    }
    task.push({ cmd: "CALL", fnName: `${prefix}_batchToAffine`, params: [{ var: 2 }, { val: m }, { var: 3 }] });
    task.push({ cmd: "GET", out: 0, var: 3, len: m * sAffine });
    tasks.push(curve.tm.queueAction(task));
  }
  const out = new Uint8Array(count * sAffine);
  let offset = 0;
  for (const [points] of await Promise.all(tasks)) {
    out.set(points, offset);
    offset += points.byteLength;
  }
  return out;
}

/**
 * The contribution's public key, in the response file's order and encoding (uncompressed, not
 * Montgomery): for tau, alpha and beta a random G1 point s, s * secret, and the G2 point that
 * snarkjs derives from the challenge and those two, times the secret. `verify` checks each
 * pairing, which proves knowledge of the secrets that made the powers.
 */
function proofsOfKnowledge(curve: Bn128, challenge: Uint8Array, secrets: Fe[], scalar: () => Fe): Uint8Array {
  const { Fr, G1, G2 } = curve;
  const s1 = G1.F.n8 * 2;
  const s2 = G2.F.n8 * 2;
  const out = new Uint8Array(6 * s1 + 3 * s2);
  secrets.forEach((x, personalization) => {
    const g1s = G1.toAffine(G1.timesFr(G1.g, scalar()));
    const g1sx = G1.toAffine(G1.timesFr(g1s, x));
    G1.toRprUncompressed(out, 2 * personalization * s1, g1s);
    G1.toRprUncompressed(out, (2 * personalization + 1) * s1, g1sx);
    const g2sp = challengePointG2(
      curve,
      personalization,
      challenge,
      out.subarray(2 * personalization * s1, (2 * personalization + 2) * s1),
    );
    G2.toRprUncompressed(out, 6 * s1 + personalization * s2, G2.toAffine(G2.timesFr(g2sp, x)));
  });
  return out;
}

/**
 * snarkjs's G2 point for a proof of knowledge: blake2b-512 of (personalization byte, challenge,
 * s and s*x uncompressed), its first 32 bytes as eight big-endian words seeding ChaCha, and
 * the first G2 point drawn from that stream.
 */
function challengePointG2(curve: Bn128, personalization: number, challenge: Uint8Array, g1Pair: Uint8Array): Point {
  const digest = createHash("blake2b512")
    .update(Uint8Array.of(personalization))
    .update(challenge)
    .update(g1Pair)
    .digest();
  const seed = Array.from({ length: 8 }, (_, i) => digest.readUInt32BE(i * 4));
  return curve.G2.fromRng(new ChaCha(seed));
}

/**
 * Appends sections 12-15, the Lagrange bases that snarkjs's `prepare phase2` writes: for each
 * domain size 2^p (p = 0..power, and power+1 for tau*G1), the points L_j(tau) * G over the
 * domain generated by w = Fr.w[p], where L_j(tau) = (tau^n - 1) / n * w^j / (tau - w^j).
 * At power+1 snarkjs transforms tau^0..tau^(2n-2) with a zero in place of tau^(2n-1), so that
 * level's scalars lose w^j * tau^(2n-1) / 2n; scaled by alpha and beta for sections 14 and 15.
 */
async function appendLagrangeSections(
  curve: Bn128,
  file: string,
  power: number,
  secret: { tau: Fe; alpha: Fe; beta: Fe },
): Promise<void> {
  const { Fr } = curve;
  const levels = new Map<number, Fe[]>();
  const lagrange = (p: number): Fe[] => {
    const cached = levels.get(p);
    if (cached) return cached;
    const n = 2 ** p;
    const w = Fr.w[p];
    const invN = Fr.inv(Fr.e(n));
    const scale = Fr.mul(Fr.sub(Fr.exp(secret.tau, n), Fr.one), invN);
    const roots: Fe[] = new Array(n);
    const denominators: Fe[] = new Array(n);
    let wj = Fr.one;
    for (let j = 0; j < n; j++) {
      roots[j] = wj;
      denominators[j] = Fr.sub(secret.tau, wj);
      wj = Fr.mul(wj, w);
    }
    const inverses = batchInverse(Fr, denominators);
    const truncated = p === power + 1 ? Fr.mul(Fr.exp(secret.tau, n - 1), invN) : undefined;
    const result = roots.map((r, j) => {
      const l = Fr.mul(Fr.mul(scale, r), inverses[j]);
      return truncated ? Fr.sub(l, Fr.mul(r, truncated)) : l;
    });
    levels.set(p, result);
    return result;
  };
  const scalarsOf = (values: Fe[], factor: Fe): Uint8Array => {
    const out = new Uint8Array(values.length * 32);
    values.forEach((v, i) => Fr.toRprLE(out, i * 32, Fr.mul(v, factor)));
    return out;
  };

  const fd = openSync(file, "r+");
  try {
    const header = Buffer.alloc(12);
    readSync(fd, header, 0, 12, 0);
    if (header.toString("latin1", 0, 4) !== "ptau" || header.readUInt32LE(8) !== 7) {
      throw new Error(`${file}: expected snarkjs's 7-section ptau before the Lagrange sections`);
    }
    let position = fstatSync(fd).size;
    const sections: [number, GroupName, Fe, number][] = [
      [FIRST_LAGRANGE_SECTION, "G1", Fr.one, power + 1],
      [FIRST_LAGRANGE_SECTION + 1, "G2", Fr.one, power],
      [FIRST_LAGRANGE_SECTION + 2, "G1", secret.alpha, power],
      [FIRST_LAGRANGE_SECTION + 3, "G1", secret.beta, power],
    ];
    for (const [id, group, factor, top] of sections) {
      const sPoint = curve[group].F.n8 * 2;
      const size = (2 ** (top + 1) - 1) * sPoint;
      const sectionHeader = Buffer.alloc(12);
      sectionHeader.writeUInt32LE(id, 0);
      sectionHeader.writeBigUInt64LE(BigInt(size), 4);
      position += writeSync(fd, sectionHeader, 0, 12, position);
      for (let p = 0; p <= top; p++) {
        const points = await multiplyGenerator(curve, group, scalarsOf(lagrange(p), factor));
        position += writeSync(fd, points, 0, points.byteLength, position);
      }
    }
    const count = Buffer.alloc(4);
    count.writeUInt32LE(7 + sections.length, 0);
    writeSync(fd, count, 0, 4, 8);
  } finally {
    closeSync(fd);
  }
}

/** Montgomery's trick: n inverses for one inversion and 3(n-1) multiplications. */
function batchInverse(Fr: Field, values: Fe[]): Fe[] {
  const prefix: Fe[] = new Array(values.length);
  let acc = Fr.one;
  for (let i = 0; i < values.length; i++) {
    prefix[i] = acc;
    acc = Fr.mul(acc, values[i]);
  }
  let inv = Fr.inv(acc);
  const out: Fe[] = new Array(values.length);
  for (let i = values.length - 1; i >= 0; i--) {
    out[i] = Fr.mul(inv, prefix[i]);
    inv = Fr.mul(inv, values[i]);
  }
  return out;
}
