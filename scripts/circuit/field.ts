/** The BN254 scalar field order r: every circuit value and public signal lives below it. */
export const SNARK_SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** Maps a signed integer to its field representative (negative values wrap to r - |v|). */
export function toField(value: bigint | number): bigint {
  const v = BigInt(value) % SNARK_SCALAR_FIELD;
  return v < 0n ? v + SNARK_SCALAR_FIELD : v;
}

/** Reads a field element as a signed integer in (-r/2, r/2], as circom compares values. */
export function fromField(value: bigint): bigint {
  return value > SNARK_SCALAR_FIELD / 2n ? value - SNARK_SCALAR_FIELD : value;
}

/** Number of bits needed so that every v in [min, max] satisfies -2^(bits-1) <= v < 2^(bits-1). */
export function signedBitsFor(min: number, max: number): number {
  let bits = 1;
  while (-(2 ** (bits - 1)) > min || 2 ** (bits - 1) <= max) bits++;
  return bits;
}

/** Number of bits needed so that every v in [0, max] satisfies v < 2^bits. */
export function unsignedBitsFor(max: number): number {
  let bits = 1;
  while (2 ** bits <= max) bits++;
  return bits;
}
