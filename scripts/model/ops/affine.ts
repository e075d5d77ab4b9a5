/**
 * Quantization shared by the affine layers (Conv, Gemm/MatMul): integer weights at the largest
 * power-of-two scale the weight width allows, biases at the accumulator's scale, the exact
 * worst-case accumulator range over every possible input, and the fused requantize + ReLU +
 * clamp of a layer that a Relu or a Clip(0, max) follows.
 */
import { signedBitsFor } from "../../circuit/field.ts";
import type { QuantizeContext } from "./operator.ts";

export interface QuantizedAffine {
  node: string;
  /** Integer weights at scale 2^weightScaleBits, in the float layer's layout. */
  weight: number[];
  /** Integer biases at the accumulator's scale 2^(inputScaleBits + weightScaleBits). */
  bias: number[];
  weightScaleBits: number;
  inputScaleBits: number;
  /** The layer's inputs are unsigned integers of this width. */
  inputBits: number;
  /** Exact worst-case accumulator range over every possible input. */
  accMin: number;
  accMax: number;
  accBits: number;
  /**
   * Fused requantize + ReLU + clamp; absent for the logits layer. With `split` (a LeakyRelu
   * follows) each output is two: RequantReluClamp of acc, then of -acc, as two halves of the
   * output (channels, or values); the next layer weighs the second half by -alpha.
   */
  requant?: { shift: number; outBits: number; outScaleBits: number; split?: true };
}

/** Largest s such that max|w| * 2^s still fits a signed `bits`-bit integer. */
export function weightScaleBits(weights: ArrayLike<number>, bits: number): number {
  let maxAbs = 0;
  for (let i = 0; i < weights.length; i++) maxAbs = Math.max(maxAbs, Math.abs(weights[i]!));
  if (maxAbs === 0) return 0;
  return Math.floor(Math.log2((2 ** (bits - 1) - 1) / maxAbs));
}

/**
 * Quantizes an affine layer (weights grouped by output channel, `bias.length` channels).
 * Only the last layer (the logits) may be linear; every other must be followed by a Relu.
 */
export function quantizeAffine(
  layer: { node: string; weight: Float64Array; bias: Float64Array },
  q: QuantizeContext,
): { affine: QuantizedAffine; scale: number; bits: number; gain: number } {
  const reluNext = q.next === "relu" || q.next === "leakyrelu";
  const split = q.next === "leakyrelu";
  const clip = q.nextLayer?.kind === "clip" ? q.nextLayer : undefined;
  // Before a residual Add the accumulators stay linear: the Add requantizes the sum (add.ts).
  if (!q.isLast && !reluNext && !clip && q.next !== "add") {
    q.fail(
      `${q.where} must be followed by Relu or Clip: only the last layer (a Gemm or MatMul giving the logits) may be linear`,
    );
  }
  // Before a Clip(0, max) the outputs are scaled by c so that max lands exactly on the clamp
  // of RequantReluClamp, 2^outBits - 1, at the scale 2^clipScale; the next layer divides by c.
  const top = 2 ** q.activationBits - 1;
  const clipScale = clip ? Math.floor(Math.log2(top / clip.max)) : 0;
  const c = clip ? top / (clip.max * 2 ** clipScale) : 1;
  // Multiplying by 1 is exact, so layers without a gain or a Clip quantize as they always did.
  const gainedWeight = layer.weight.map((w) => (w / q.gain) * c);
  const gainedBias = layer.bias.map((b) => b * c);
  const sw = weightScaleBits(gainedWeight, q.weightBits);
  const accScale = q.scale + sw;
  const weight = Array.from(gainedWeight, (w) => Math.round(w * 2 ** sw));
  const bias = Array.from(gainedBias, (b) => Math.round(b * 2 ** accScale));
  const xMax = 2 ** q.bits - 1;
  const channels = bias.length;
  const perChannel = weight.length / channels;
  let accMin = Infinity;
  let accMax = -Infinity;
  for (let c = 0; c < channels; c++) {
    let lo = bias[c]!;
    let hi = bias[c]!;
    for (let i = 0; i < perChannel; i++) {
      const w = weight[c * perChannel + i]!;
      if (w > 0) hi += w * xMax;
      else lo += w * xMax;
    }
    accMin = Math.min(accMin, lo);
    accMax = Math.max(accMax, hi);
  }
  if (!Number.isSafeInteger(accMin) || !Number.isSafeInteger(accMax)) {
    q.fail(`${q.where}: accumulator bound exceeds 2^53; lower the weight width`);
  }
  const affine: QuantizedAffine = {
    node: layer.node,
    weight,
    bias,
    weightScaleBits: sw,
    inputScaleBits: q.scale,
    inputBits: q.bits,
    accMin,
    accMax,
    accBits: signedBitsFor(accMin, accMax),
  };
  if (!reluNext && !clip) return { affine, scale: q.scale, bits: q.bits, gain: 1 };
  if (!clip) {
    const r = reluRequantization(split ? { ...q, maxOut: Math.max(q.maxOut, -q.minOut) } : q, accScale);
    affine.requant = split ? { ...r.requant, split } : r.requant;
    // -acc must fit RequantReluClamp's signed range too.
    if (split) affine.accBits = signedBitsFor(Math.min(accMin, -accMax), Math.max(accMax, -accMin));
    return { affine, scale: r.scale, bits: r.bits, gain: 1 };
  }
  if (clipScale > accScale)
    q.fail(
      `${q.where}: its weights are too small for the ${q.activationBits}-bit resolution its Clip asks; ` +
        "lower --activation-bits or raise --weight-bits",
    );
  affine.requant = { shift: accScale - clipScale, outBits: q.activationBits, outScaleBits: clipScale };
  return { affine, scale: clipScale, bits: q.activationBits, gain: c };
}

/**
 * The RequantReluClamp of accumulators at scale 2^accScale that a Relu follows: the output scale
 * is chosen so that the largest value seen on the calibration inputs (q.maxOut) fits outBits.
 */
export function reluRequantization(
  q: QuantizeContext,
  accScale: number,
): { requant: NonNullable<QuantizedAffine["requant"]>; scale: number; bits: number } {
  const m = q.maxOut;
  const outScale = Math.min(m > 0 ? Math.floor(Math.log2((2 ** q.activationBits - 1) / m)) : accScale, accScale);
  return {
    requant: { shift: accScale - outScale, outBits: q.activationBits, outScaleBits: outScale },
    scale: outScale,
    bits: q.activationBits,
  };
}
