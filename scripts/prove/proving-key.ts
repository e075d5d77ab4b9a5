/**
 * A Groth16 proving key (snarkjs's .zkey format) parsed once into memory, each section kept as
 * the bytes that the multi-exponentiations and the QAP take: points affine in Montgomery form,
 * coefficients as (matrix, constraint, signal, value * R^2) records. snarkjs's own prover reads
 * and slices every section again for each proof; a warm prover keeps these views instead.
 *
 * Platform-neutral (no Node APIs): the browser bundle parses the same bytes.
 */
import { SNARK_SCALAR_FIELD } from "../circuit/field.ts";

/** Field sizes of BN254 (bn128), the only curve the protocol's verifier supports. */
const N8 = 32;
const G1_BYTES = 2 * N8;
const G2_BYTES = 4 * N8;
/** snarkjs's protocol id for Groth16 in section 1. */
const GROTH16 = 1;
/** Coefficient record: matrix (0 = A, 1 = B), constraint, signal (u32 each), then the value. */
export const COEF_BYTES = 12 + N8;

export interface ProvingKey {
  /** Wires of the witness, the constant 1 included. */
  nVars: number;
  /** Public signals (outputs and public inputs), wires 1..nPublic. */
  nPublic: number;
  /** Evaluation domain: the power of two above the constraint count plus public inputs. */
  domainSize: number;
  /** log2(domainSize). */
  power: number;
  /** Verification-key points the proof is built from, affine, Montgomery form. */
  alpha1: Uint8Array;
  beta1: Uint8Array;
  beta2: Uint8Array;
  delta1: Uint8Array;
  delta2: Uint8Array;
  /** Section 4 without its count: the QAP coefficients of A and B. */
  coefs: Uint8Array;
  nCoefs: number;
  /** Bases of the five multi-exponentiations, one per wire (C: per private wire; H: per domain point). */
  pointsA: Uint8Array;
  pointsB1: Uint8Array;
  pointsB2: Uint8Array;
  pointsC: Uint8Array;
  pointsH: Uint8Array;
}

/**
 * Parses a Groth16 .zkey. Sections are views into `bytes` (no copy), so the caller should not
 * modify them afterwards.
 * @throws naming `what` if the file is not a Groth16 zkey over BN254 or a section is malformed
 */
export function parseProvingKey(bytes: Uint8Array, what = "proving key"): ProvingKey {
  const fail = (why: string): never => {
    throw new Error(`${what} is not a valid Groth16 zkey: ${why}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 12 || String.fromCharCode(...bytes.subarray(0, 4)) !== "zkey") fail("no zkey magic");
  const nSections = view.getUint32(8, true);
  const sections = new Map<number, Uint8Array>();
  let pos = 12;
  for (let i = 0; i < nSections; i++) {
    if (pos + 12 > bytes.byteLength) fail(`section ${i + 1} of ${nSections} is cut short`);
    const id = view.getUint32(pos, true);
    const size = Number(view.getBigUint64(pos + 4, true));
    pos += 12;
    if (pos + size > bytes.byteLength) fail(`section ${id} is cut short`);
    if (!sections.has(id)) sections.set(id, bytes.subarray(pos, pos + size));
    pos += size;
  }
  const section = (id: number, size?: number): Uint8Array => {
    const s = sections.get(id) ?? fail(`section ${id} is missing`);
    if (size !== undefined && s.byteLength !== size)
      fail(`section ${id} holds ${s.byteLength} bytes, ${size} expected`);
    return s;
  };

  const header = section(1);
  if (header.byteLength < 4 || new DataView(header.buffer, header.byteOffset).getUint32(0, true) !== GROTH16)
    fail("its protocol is not groth16");

  const g = section(2);
  const gv = new DataView(g.buffer, g.byteOffset, g.byteLength);
  let p = 0;
  const u32 = () => {
    if (p + 4 > g.byteLength) fail("section 2 is cut short");
    const v = gv.getUint32(p, true);
    p += 4;
    return v;
  };
  const take = (n: number) => {
    if (p + n > g.byteLength) fail("section 2 is cut short");
    const v = g.subarray(p, p + n);
    p += n;
    return v;
  };
  const n8q = u32();
  take(n8q);
  const n8r = u32();
  if (n8q !== N8 || n8r !== N8 || leToBigInt(take(n8r)) !== SNARK_SCALAR_FIELD) fail("its curve is not bn128");
  const nVars = u32();
  const nPublic = u32();
  const domainSize = u32();
  const power = Math.log2(domainSize);
  if (!Number.isInteger(power) || nPublic + 1 > nVars) fail("its sizes are inconsistent");
  const alpha1 = take(G1_BYTES);
  const beta1 = take(G1_BYTES);
  const beta2 = take(G2_BYTES);
  take(G2_BYTES); // gamma2: only the verifier needs it
  const delta1 = take(G1_BYTES);
  const delta2 = take(G2_BYTES);

  const coefSection = section(4);
  if (coefSection.byteLength < 4) fail("section 4 is cut short");
  const nCoefs = new DataView(coefSection.buffer, coefSection.byteOffset).getUint32(0, true);
  const coefs = coefSection.subarray(4);
  if (coefs.byteLength !== nCoefs * COEF_BYTES) fail(`section 4 does not hold ${nCoefs} coefficients`);

  return {
    nVars,
    nPublic,
    domainSize,
    power,
    alpha1,
    beta1,
    beta2,
    delta1,
    delta2,
    coefs,
    nCoefs,
    pointsA: section(5, nVars * G1_BYTES),
    pointsB1: section(6, nVars * G1_BYTES),
    pointsB2: section(7, nVars * G2_BYTES),
    pointsC: section(8, (nVars - nPublic - 1) * G1_BYTES),
    pointsH: section(9, domainSize * G1_BYTES),
  };
}

/** An unsigned little-endian integer. */
export function leToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}
