/**
 * Fixed-point quantization of a float MLP with power-of-two scales.
 *
 * A value v with scale bits s stands for the real number v / 2^s. The input is the 14x14 pixel
 * bytes p (real p / 256, exactly the float model's input), so input quantization is lossless.
 * For each dense layer: w = round(W * 2^sw) with sw as large as the weight width allows,
 * b = round(B * 2^(sIn + sw)) at the accumulator's scale; a hidden layer's output is
 * clamp(floor(acc / 2^shift), 0, 2^outBits - 1), with shift chosen so that the largest
 * activation seen on the calibration digits still fits in outBits. The last layer's
 * accumulators are the logits, with no rounding at all.
 *
 * Every accumulator is bounded exactly from the integer weights and the input ranges, so
 * the circuit's range checks accept every possible input and never let the field wrap.
 */
import type { FloatMlp } from "./float-model.ts";
import { signedBitsFor, unsignedBitsFor } from "../circuit/field.ts";

export const QUANTIZED_FORMAT = "poi-quantized-mlp/1";

export interface QuantizedDense {
  nIn: number;
  nOut: number;
  /** Row-major [nOut][nIn] integer weights at scale 2^weightScaleBits. */
  weight: number[];
  /** Integer biases at the accumulator's scale 2^(inputScaleBits + weightScaleBits). */
  bias: number[];
  weightScaleBits: number;
  inputScaleBits: number;
  /** Inputs of this layer are unsigned integers of this width. */
  inputBits: number;
  /** Exact worst-case accumulator range over every possible input. */
  accMin: number;
  accMax: number;
  accBits: number;
  /** Requantize + ReLU + clamp for hidden layers; absent for the logits layer. */
  requant?: { shift: number; outBits: number; outScaleBits: number };
}

export interface QuantizedMlp {
  format: typeof QUANTIZED_FORMAT;
  name: string;
  inputSize: number;
  inputBits: number;
  inputScaleBits: number;
  layers: QuantizedDense[];
  nClasses: number;
  /** Bits of one logit in the packed output (signed). */
  logitBits: number;
  /** Bits of the class index in the packed output. */
  classBits: number;
  /** Range of any difference of two logits, for ArgMax. */
  diffBits: number;
}

export interface QuantizeOptions {
  /** Signed width of every weight (default 8). */
  weightBits?: number;
  /** Unsigned width of every hidden activation (default 8). */
  activationBits?: number;
}

/** Float activations of every layer (after ReLU where the layer has one). */
function floatTrace(model: FloatMlp, input: number[]): number[][] {
  const trace: number[][] = [];
  let x = input;
  for (const layer of model.layers) {
    const y: number[] = [];
    for (let o = 0; o < layer.nOut; o++) {
      let acc = layer.bias[o];
      for (let i = 0; i < layer.nIn; i++) acc += layer.weight[o * layer.nIn + i] * x[i];
      y.push(layer.relu ? Math.max(acc, 0) : acc);
    }
    trace.push(y);
    x = y;
  }
  return trace;
}

/** Largest s such that max|w| * 2^s still fits a signed `bits`-bit integer. */
function weightScaleBits(weights: ArrayLike<number>, bits: number): number {
  let maxAbs = 0;
  for (let i = 0; i < weights.length; i++) maxAbs = Math.max(maxAbs, Math.abs(weights[i]));
  if (maxAbs === 0) return 0;
  return Math.floor(Math.log2((2 ** (bits - 1) - 1) / maxAbs));
}

/**
 * Quantizes a float MLP whose input is the 14x14 pixel bytes / 256.
 * @param calibration pixel vectors (bytes) used to choose each hidden layer's output scale
 */
export function quantizeMlp(
  model: FloatMlp,
  calibration: ArrayLike<number>[],
  options: QuantizeOptions = {},
): QuantizedMlp {
  const weightBits = options.weightBits ?? 8;
  const activationBits = options.activationBits ?? 8;
  if (calibration.length === 0) throw new Error("quantization needs at least one calibration input");
  if (model.layers.length === 0) throw new Error(`model "${model.name}" has no layers`);

  // Largest float activation of each hidden layer on the calibration set.
  const maxActivation = model.layers.map(() => 0);
  for (const pixels of calibration) {
    if (pixels.length !== model.inputSize) {
      throw new Error(`calibration input has ${pixels.length} values, model "${model.name}" takes ${model.inputSize}`);
    }
    const trace = floatTrace(
      model,
      Array.from(pixels, (p) => p / 256),
    );
    trace.forEach((acts, l) => {
      for (const a of acts) maxActivation[l] = Math.max(maxActivation[l], a);
    });
  }

  const inputBits = 8;
  const inputScaleBits = 8;
  let inScale = inputScaleBits;
  let inBits = inputBits;
  const layers: QuantizedDense[] = [];
  model.layers.forEach((layer, l) => {
    const last = l === model.layers.length - 1;
    if (last === layer.relu) {
      throw new Error(
        `layer ${l} of "${model.name}": every hidden layer must end in ReLU and the last layer must give raw logits`,
      );
    }
    const sw = weightScaleBits(layer.weight, weightBits);
    const accScale = inScale + sw;
    const weight = Array.from(layer.weight, (w) => Math.round(w * 2 ** sw));
    const bias = Array.from(layer.bias, (b) => Math.round(b * 2 ** accScale));
    const xMax = 2 ** inBits - 1;
    let accMin = Infinity;
    let accMax = -Infinity;
    for (let o = 0; o < layer.nOut; o++) {
      let lo = bias[o];
      let hi = bias[o];
      for (let i = 0; i < layer.nIn; i++) {
        const w = weight[o * layer.nIn + i];
        if (w > 0) hi += w * xMax;
        else lo += w * xMax;
      }
      accMin = Math.min(accMin, lo);
      accMax = Math.max(accMax, hi);
    }
    if (!Number.isSafeInteger(accMin) || !Number.isSafeInteger(accMax)) {
      throw new Error(`layer ${l} of "${model.name}": accumulator bound exceeds 2^53; lower the weight width`);
    }
    const q: QuantizedDense = {
      nIn: layer.nIn,
      nOut: layer.nOut,
      weight,
      bias,
      weightScaleBits: sw,
      inputScaleBits: inScale,
      inputBits: inBits,
      accMin,
      accMax,
      accBits: signedBitsFor(accMin, accMax),
    };
    if (!last) {
      // Output scale: the largest calibration activation must fit in activationBits.
      const m = maxActivation[l];
      let outScale = m > 0 ? Math.floor(Math.log2((2 ** activationBits - 1) / m)) : accScale;
      outScale = Math.min(outScale, accScale);
      q.requant = { shift: accScale - outScale, outBits: activationBits, outScaleBits: outScale };
      inScale = outScale;
      inBits = activationBits;
    }
    layers.push(q);
  });

  const out = layers[layers.length - 1];
  const nClasses = out.nOut;
  const logitBits = out.accBits;
  const classBits = unsignedBitsFor(nClasses - 1);
  const diffBits = unsignedBitsFor(out.accMax - out.accMin);
  if (classBits + nClasses * logitBits > 253) {
    throw new Error(
      `"${model.name}": ${nClasses} logits of ${logitBits} bits do not pack into one field element; lower the weight or activation width`,
    );
  }
  return {
    format: QUANTIZED_FORMAT,
    name: model.name,
    inputSize: model.inputSize,
    inputBits,
    inputScaleBits,
    layers,
    nClasses,
    logitBits,
    classBits,
    diffBits,
  };
}
