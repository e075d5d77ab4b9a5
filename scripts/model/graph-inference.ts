/**
 * Bit-exact integer inference of a quantized graph: the specification of the circuit that
 * generate-graph.ts writes. Each layer runs the reference of its operator module (ops/), which
 * calls the reference of the template (or of the baked linear combination) the circuit uses.
 */
import { argmax, packedCommitment } from "../circuit/reference.ts";
import { circuitOperator } from "./ops/registry.ts";
import type { OutputMode, QuantizedGraph } from "./quantize-graph.ts";

export interface GraphInference {
  /** Output of every layer, flat in CHW order (the last one is the logits). */
  activations: number[][];
  logits: number[];
  /** Index of the first maximal logit. */
  predicted: number;
  /** Poseidon commitment to the input bytes (public signal 0). */
  inputCommitment: bigint;
  /** The packed output (public signal 1), per the model's output mode. */
  output: bigint;
}

/** Runs the quantized model on input bytes exactly as the circuit does. */
export function inferQuantizedGraph(model: QuantizedGraph, pixels: ArrayLike<number>): GraphInference {
  if (pixels.length !== model.inputSize) {
    throw new Error(
      `input has ${pixels.length} values; model "${model.name}" takes ${model.inputSize} (shape [${model.inputShape.join(", ")}])`,
    );
  }
  let x = Array.from(pixels);
  const activations: number[][] = [];
  const input = x;
  // A layer that reads an earlier output back (a residual Add) gets it here; -1 is the input.
  const earlier = (index: number): number[] => (index < 0 ? input : activations[index]!);
  for (const layer of model.layers) {
    x = circuitOperator(layer.kind).reference(layer, x, earlier);
    activations.push(x);
  }
  const logits = x;
  const predicted = argmax(logits);
  return {
    activations,
    logits,
    predicted,
    inputCommitment: packedCommitment(pixels, model.inputBits),
    output: packGraphOutput(model, predicted, logits),
  };
}

/**
 * The public output for each mode. "both" is the layout the market and the requester read:
 * class + sum_i (logit_i + 2^(logitBits-1)) * 2^(classBits + i * logitBits); "class" is the
 * class index alone; "logits" is the same sum without the class field.
 */
export function packGraphOutput(
  model: Pick<QuantizedGraph, "output" | "logitBits" | "classBits">,
  predicted: number,
  logits: number[],
): bigint {
  if (model.output === "class") return BigInt(predicted);
  const base = model.output === "both" ? model.classBits : 0;
  let packed = model.output === "both" ? BigInt(predicted) : 0n;
  const offset = 1n << BigInt(model.logitBits - 1);
  logits.forEach((l, i) => {
    packed += (BigInt(l) + offset) << BigInt(base + i * model.logitBits);
  });
  return packed;
}

/** Inverse of packGraphOutput (the fields the mode carries; the others are undefined). */
export function unpackGraphOutput(
  model: Pick<QuantizedGraph, "output" | "logitBits" | "classBits" | "nClasses">,
  output: bigint,
): { predicted?: number; logits?: number[] } {
  const mode: OutputMode = model.output;
  if (mode === "class") return { predicted: Number(output) };
  const base = mode === "both" ? model.classBits : 0;
  const mask = (1n << BigInt(model.logitBits)) - 1n;
  const offset = 1n << BigInt(model.logitBits - 1);
  const logits: number[] = [];
  for (let i = 0; i < model.nClasses; i++) {
    logits.push(Number(((output >> BigInt(base + i * model.logitBits)) & mask) - offset));
  }
  return mode === "both" ? { predicted: Number(output & ((1n << BigInt(model.classBits)) - 1n)), logits } : { logits };
}
