/**
 * Integer reference semantics of the circuit templates in circuits/lib. Each function has the
 * name of its template and the same arithmetic: these functions are the specification the
 * circuits are tested against, value for value.
 */
import { poseidon1, poseidon2, poseidon3, poseidon4, poseidon5, poseidon6, poseidon7, poseidon8 } from "poseidon-lite";
import {
  poseidon9,
  poseidon10,
  poseidon11,
  poseidon12,
  poseidon13,
  poseidon14,
  poseidon15,
  poseidon16,
} from "poseidon-lite";

const POSEIDON = [
  poseidon1,
  poseidon2,
  poseidon3,
  poseidon4,
  poseidon5,
  poseidon6,
  poseidon7,
  poseidon8,
  poseidon9,
  poseidon10,
  poseidon11,
  poseidon12,
  poseidon13,
  poseidon14,
  poseidon15,
  poseidon16,
];

/** Poseidon over 1..16 field elements, the same permutation as circomlib's Poseidon(n). */
export function poseidon(inputs: bigint[]): bigint {
  const hash = POSEIDON[inputs.length - 1];
  if (!hash) throw new Error(`Poseidon takes 1 to 16 inputs, got ${inputs.length}`);
  return hash(inputs);
}

function assertInRange(name: string, value: number, bits: number, signed: boolean): void {
  const lo = signed ? -(2 ** (bits - 1)) : 0;
  const hi = signed ? 2 ** (bits - 1) : 2 ** bits;
  if (!Number.isSafeInteger(value) || value < lo || value >= hi) {
    throw new RangeError(
      `${name} = ${value} is outside the ${signed ? "signed" : "unsigned"} ${bits}-bit range [${lo}, ${hi})`,
    );
  }
}

/** RequantReluClamp(accBits, shift, outBits): clamp(floor(acc / 2^shift), 0, 2^outBits - 1). */
export function requantReluClamp(acc: number, accBits: number, shift: number, outBits: number): number {
  assertInRange("accumulator", acc, accBits, true);
  const q = Math.floor(acc / 2 ** shift);
  return Math.min(Math.max(q, 0), 2 ** outBits - 1);
}

/** Requantize(accBits, shift): floor(acc / 2^shift), signed. */
export function requantize(acc: number, accBits: number, shift: number): number {
  assertInRange("accumulator", acc, accBits, true);
  return Math.floor(acc / 2 ** shift);
}

/** ArgMax(n, diffBits): index of the first maximum. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Values packed per field element by PackedCommitment for a given value width. */
export function valuesPerChunk(valueBits: number): number {
  return Math.floor(248 / valueBits);
}

/** PackedCommitment(n, valueBits): Poseidon over the little-endian packed values. */
export function packedCommitment(values: ArrayLike<number>, valueBits: number): bigint {
  const perChunk = valuesPerChunk(valueBits);
  const chunks: bigint[] = [];
  for (let i = 0; i < values.length; i++) {
    assertInRange(`value[${i}]`, values[i], valueBits, false);
    const c = Math.floor(i / perChunk);
    chunks[c] = (chunks[c] ?? 0n) + (BigInt(values[i]) << BigInt((i % perChunk) * valueBits));
  }
  return poseidonChain(chunks);
}

/** ChainedPoseidon(n): one Poseidon call up to 16 inputs, then chained 15 at a time. */
export function poseidonChain(inputs: bigint[]): bigint {
  let h = poseidon(inputs.slice(0, 16));
  for (let next = 16; next < inputs.length; next += 15) h = poseidon([h, ...inputs.slice(next, next + 15)]);
  return h;
}
