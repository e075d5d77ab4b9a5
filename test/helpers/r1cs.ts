/**
 * A small, independent R1CS reader and evaluator for tests: it checks a witness against
 * every constraint A·w * B·w = C·w (mod p) of a circom .r1cs file, so forged witnesses can
 * be tested without trusting the witness generator.
 */
import { readFileSync } from "node:fs";

type LinearCombination = Map<number, bigint>;

export interface R1cs {
  prime: bigint;
  nWires: number;
  nPubOut: number;
  nPubIn: number;
  nPrvIn: number;
  constraints: [LinearCombination, LinearCombination, LinearCombination][];
  /** For each wire, the constraints it appears in. */
  byWire: number[][];
}

export function readR1cs(file: string): R1cs {
  const buf = readFileSync(file);
  if (buf.toString("latin1", 0, 4) !== "r1cs") throw new Error(`${file} is not an r1cs file`);
  let pos = 12; // magic, version, number of sections
  const sections = new Map<number, { start: number; size: number }>();
  while (pos < buf.length) {
    const type = buf.readUInt32LE(pos);
    const size = Number(buf.readBigUInt64LE(pos + 4));
    sections.set(type, { start: pos + 12, size });
    pos += 12 + size;
  }
  const readLe = (at: number, n: number): bigint => {
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[at + i]);
    return v;
  };
  const h = sections.get(1)!;
  const n8 = buf.readUInt32LE(h.start);
  const prime = readLe(h.start + 4, n8);
  let p = h.start + 4 + n8;
  const nWires = buf.readUInt32LE(p);
  const nPubOut = buf.readUInt32LE(p + 4);
  const nPubIn = buf.readUInt32LE(p + 8);
  const nPrvIn = buf.readUInt32LE(p + 12);
  const nConstraints = buf.readUInt32LE(p + 24);

  p = sections.get(2)!.start;
  const constraints: R1cs["constraints"] = [];
  const byWire: number[][] = Array.from({ length: nWires }, () => []);
  for (let c = 0; c < nConstraints; c++) {
    const lcs: LinearCombination[] = [];
    for (let k = 0; k < 3; k++) {
      const nTerms = buf.readUInt32LE(p);
      p += 4;
      const lc: LinearCombination = new Map();
      for (let t = 0; t < nTerms; t++) {
        const wire = buf.readUInt32LE(p);
        lc.set(wire, readLe(p + 4, n8));
        p += 4 + n8;
        const list = byWire[wire];
        if (list[list.length - 1] !== c) list.push(c);
      }
      lcs.push(lc);
    }
    constraints.push(lcs as [LinearCombination, LinearCombination, LinearCombination]);
  }
  return { prime, nWires, nPubOut, nPubIn, nPrvIn, constraints, byWire };
}

function evalLc(lc: LinearCombination, w: bigint[], prime: bigint): bigint {
  let s = 0n;
  for (const [wire, coeff] of lc) s += coeff * w[wire];
  return s % prime;
}

/** Index of the first violated constraint among `which` (all when absent), or -1. */
export function firstViolated(r1cs: R1cs, w: bigint[], which?: number[]): number {
  const list = which ?? r1cs.constraints.map((_, i) => i);
  for (const c of list) {
    const [a, b, cc] = r1cs.constraints[c];
    const lhs = (evalLc(a, w, r1cs.prime) * evalLc(b, w, r1cs.prime)) % r1cs.prime;
    if (lhs !== evalLc(cc, w, r1cs.prime)) return c;
  }
  return -1;
}
