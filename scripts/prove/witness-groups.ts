/**
 * Groups a witness's wires by the size of their values, for the multi-exponentiations over the
 * witness (A, B1, B2, C). A Pippenger multi-exponentiation costs per scalar window, and a window
 * costs about as much as the points in it; an ML witness is mostly zeros, bits, bytes and small
 * signed integers, which snarkjs pays for as 254-bit scalars. Here:
 *
 * - a zero wire is left out;
 * - a value v below 2^(8·w) is a w-byte scalar (w = 1 or 8);
 * - a small negative value r - m (m below 2^64) is the scalar m on the negated point, since
 *   (r - m)·P = m·(-P): negating an affine point negates its y coordinate(s);
 * - anything else is a full 32-byte scalar.
 *
 * The sum over each group is the same point as over the whole witness, so the proof is unchanged.
 * Platform-neutral (no Node APIs).
 */
import { SNARK_SCALAR_FIELD } from "../circuit/field.ts";

const N8 = 32;
/** r as 32 little-endian bytes, to negate scalars bytewise. */
const R_BYTES = Uint8Array.from({ length: N8 }, (_, i) => Number((SNARK_SCALAR_FIELD >> BigInt(8 * i)) & 0xffn));
/** q (BN254's base field) as 32 little-endian bytes, in which point coordinates are negated. */
const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const Q_BYTES = Uint8Array.from({ length: N8 }, (_, i) => Number((Q >> BigInt(8 * i)) & 0xffn));

/** Scalar widths of the groups, in bytes: small, medium, full. */
export const GROUP_WIDTHS = [1, 8, 32] as const;

/** Per wire: its group (-1 for zero, else an index into GROUP_WIDTHS), whether negated, its scalar bytes. */
export interface WitnessGroups {
  group: Int8Array;
  negated: Uint8Array;
  /** The scalar each wire contributes (v, or r - v when negated), 32 bytes per wire. */
  scalars: Uint8Array;
  counts: number[];
}

/** Classifies every wire of a witness (32-byte little-endian values, not Montgomery). */
export function groupWitness(witness: Uint8Array): WitnessGroups {
  const n = witness.byteLength / N8;
  const group = new Int8Array(n);
  const negated = new Uint8Array(n);
  const scalars = new Uint8Array(witness);
  const counts = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const o = i * N8;
    let top = highestNonZero(scalars, o);
    if (top < 0) {
      group[i] = -1;
      continue;
    }
    if (top >= 8) {
      // Try r - v: a small negative integer as circom stores it.
      const neg = subFrom(R_BYTES, scalars, o);
      const negTop = highestNonZero(neg, 0);
      if (negTop < 8) {
        scalars.set(neg, o);
        negated[i] = 1;
        top = negTop;
      }
    }
    const g = top < 1 ? 0 : top < 8 ? 1 : 2;
    group[i] = g;
    counts[g]++;
  }
  return { group, negated, scalars, counts };
}

/**
 * The bases and scalars of one group: for wire `first + k` the base k of `bases` (affine,
 * `baseBytes` each), negated where the wire was, and the low `GROUP_WIDTHS[g]` bytes of its scalar.
 */
export function gatherGroup(
  groups: WitnessGroups,
  g: number,
  bases: Uint8Array,
  baseBytes: number,
  first: number,
): { bases: Uint8Array; scalars: Uint8Array; n: number } {
  const width = GROUP_WIDTHS[g];
  const nBases = bases.byteLength / baseBytes;
  let n = 0;
  for (let k = 0; k < nBases; k++) if (groups.group[first + k] === g) n++;
  const outBases = new Uint8Array(n * baseBytes);
  const outScalars = new Uint8Array(n * width);
  let j = 0;
  for (let k = 0; k < nBases; k++) {
    const i = first + k;
    if (groups.group[i] !== g) continue;
    outBases.set(bases.subarray(k * baseBytes, (k + 1) * baseBytes), j * baseBytes);
    if (groups.negated[i]) negateAffine(outBases, j * baseBytes, baseBytes);
    outScalars.set(groups.scalars.subarray(i * N8, i * N8 + width), j * width);
    j++;
  }
  return { bases: outBases, scalars: outScalars, n };
}

/** Index of the highest non-zero byte of the 32-byte value at `o`, or -1 for zero. */
function highestNonZero(b: Uint8Array, o: number): number {
  for (let k = N8 - 1; k >= 0; k--) if (b[o + k] !== 0) return k;
  return -1;
}

/** m - (32-byte value at `o` of b), little-endian; m must be the larger. */
function subFrom(m: Uint8Array, b: Uint8Array, o: number): Uint8Array {
  const out = new Uint8Array(N8);
  let borrow = 0;
  for (let k = 0; k < N8; k++) {
    const d = m[k] - b[o + k] - borrow;
    borrow = d < 0 ? 1 : 0;
    out[k] = d & 0xff;
  }
  return out;
}

/**
 * Negates the affine point at `o` in place: y ↦ q - y for each base-field element of y (one in
 * G1, two in G2). In Montgomery form q - yR = (-y)R, so the stored bytes negate the same way.
 * The point at infinity is stored as zeros and stays so.
 */
function negateAffine(b: Uint8Array, o: number, baseBytes: number): void {
  for (let y = o + baseBytes / 2; y < o + baseBytes; y += N8) {
    if (highestNonZero(b, y) < 0) continue;
    b.set(subFrom(Q_BYTES, b, y), y);
  }
}
