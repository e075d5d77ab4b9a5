/**
 * Bit-exact integer inference of a quantized graph: the specification of the circuit that
 * generate-graph.ts writes. Each step calls the reference of the template (or of the baked
 * linear combination) that the circuit uses for it.
 */
import { argmax, packedCommitment, requantReluClamp } from "../circuit/reference.ts";
import { avgPool2D, conv2DCommitted, maxPool2D, type Chw } from "../circuit/reference-layers.ts";
import type { OutputMode, QuantizedGraph, QuantizedGraphLayer } from "./quantize-graph.ts";

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

function toChw(flat: number[], C: number, H: number, W: number): Chw {
  return Array.from({ length: C }, (_, c) =>
    Array.from({ length: H }, (_, h) => flat.slice((c * H + h) * W, (c * H + h + 1) * W)),
  );
}

function flatten(t: Chw): number[] {
  return t.flat(2);
}

/** One layer on integer inputs. */
export function runQuantizedLayer(layer: QuantizedGraphLayer, x: number[]): number[] {
  switch (layer.kind) {
    case "conv": {
      const { inC, inH, inW, outC, k, stride, pad } = layer;
      const weights = Array.from({ length: outC }, (_, oc) =>
        Array.from({ length: inC }, (_, ic) =>
          Array.from({ length: k }, (_, kh) =>
            layer.weight.slice(((oc * inC + ic) * k + kh) * k, ((oc * inC + ic) * k + kh + 1) * k),
          ),
        ),
      );
      const acc = flatten(
        conv2DCommitted(toChw(x, inC, inH, inW), weights, layer.bias, { inH, inW, inC, outC, k, stride, pad }),
      );
      const r = layer.requant;
      return r ? acc.map((a) => requantReluClamp(a, layer.accBits, r.shift, r.outBits)) : acc;
    }
    case "dense": {
      const y: number[] = [];
      for (let o = 0; o < layer.nOut; o++) {
        let acc = layer.bias[o]!;
        for (let i = 0; i < layer.nIn; i++) acc += layer.weight[o * layer.nIn + i]! * x[i]!;
        y.push(layer.requant ? requantReluClamp(acc, layer.accBits, layer.requant.shift, layer.requant.outBits) : acc);
      }
      return y;
    }
    case "maxpool":
    case "avgpool": {
      // Zero padding first (the circuit pads with constant zeros the same way), then an unpadded pool.
      const p = layer.pad ?? 0;
      const [inH, inW] = [layer.inH + 2 * p, layer.inW + 2 * p];
      const shape = { inH, inW, C: layer.C, k: layer.k, stride: layer.stride };
      const image = toChw(x, layer.C, layer.inH, layer.inW);
      const input = image.map((plane) =>
        Array.from({ length: inH }, (_, h) =>
          Array.from({ length: inW }, (_, w) =>
            h < p || h >= p + layer.inH || w < p || w >= p + layer.inW ? 0 : plane[h - p]![w - p]!,
          ),
        ),
      );
      return flatten(
        layer.kind === "maxpool" ? maxPool2D(input, shape, layer.bits) : avgPool2D(input, shape, layer.bits),
      );
    }
  }
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
  for (const layer of model.layers) {
    x = runQuantizedLayer(layer, x);
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
