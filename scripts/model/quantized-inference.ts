/**
 * Bit-exact integer inference of a quantized MLP: the specification of the generated
 * circuit. Every step calls the reference of the template that the circuit uses for it.
 */
import { argmax, packedCommitment, requantReluClamp } from "../circuit/reference.ts";
import type { QuantizedMlp } from "./quantize.ts";

export interface IntegerInference {
  /** Outputs of each hidden layer (after requantize + ReLU + clamp). */
  hidden: number[][];
  /** Raw integer logits. */
  logits: number[];
  /** Index of the first maximal logit. */
  predicted: number;
  /** Poseidon commitment to the input pixels (public signal 0). */
  inputCommitment: bigint;
  /** Class and logits packed into one field element (public signal 1). */
  output: bigint;
}

/** Runs the quantized model on input bytes exactly as the circuit does. */
export function inferQuantized(model: QuantizedMlp, pixels: ArrayLike<number>): IntegerInference {
  if (pixels.length !== model.inputSize) {
    throw new Error(`input has ${pixels.length} values, model "${model.name}" takes ${model.inputSize}`);
  }
  let x = Array.from(pixels);
  const hidden: number[][] = [];
  let logits: number[] = [];
  for (const layer of model.layers) {
    const y: number[] = [];
    for (let o = 0; o < layer.nOut; o++) {
      let acc = layer.bias[o];
      const row = o * layer.nIn;
      for (let i = 0; i < layer.nIn; i++) acc += layer.weight[row + i] * x[i];
      y.push(layer.requant ? requantReluClamp(acc, layer.accBits, layer.requant.shift, layer.requant.outBits) : acc);
    }
    if (layer.requant) hidden.push(y);
    else logits = y;
    x = y;
  }
  const predicted = argmax(logits);
  return {
    hidden,
    logits,
    predicted,
    inputCommitment: packedCommitment(pixels, model.inputBits),
    output: packOutput(model, predicted, logits),
  };
}

/** class + sum_i (logit_i + 2^(logitBits-1)) * 2^(classBits + i * logitBits). */
export function packOutput(model: QuantizedMlp, predicted: number, logits: number[]): bigint {
  let packed = BigInt(predicted);
  const offset = 1n << BigInt(model.logitBits - 1);
  logits.forEach((l, i) => {
    packed += (BigInt(l) + offset) << BigInt(model.classBits + i * model.logitBits);
  });
  return packed;
}

/** Inverse of packOutput, for anyone reading a settled output on-chain. */
export function unpackOutput(model: QuantizedMlp, output: bigint): { predicted: number; logits: number[] } {
  const classMask = (1n << BigInt(model.classBits)) - 1n;
  const logitMask = (1n << BigInt(model.logitBits)) - 1n;
  const offset = 1n << BigInt(model.logitBits - 1);
  const logits: number[] = [];
  for (let i = 0; i < model.nClasses; i++) {
    logits.push(Number(((output >> BigInt(model.classBits + i * model.logitBits)) & logitMask) - offset));
  }
  return { predicted: Number(output & classMask), logits };
}
