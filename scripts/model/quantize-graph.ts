/**
 * Fixed-point quantization of a sequential float graph (graph.ts) with power-of-two scales,
 * the generalisation of quantize.ts from dense layers to convolutions and pooling.
 *
 * A value v with scale bits s stands for v / 2^s. The input is the pixel bytes p, which the
 * float model reads as p / inputDivisor (declared; 256 unless given). The circuit takes p at
 * scale 2^8, so input quantization is lossless; a divisor other than 256 is a gain of
 * inputDivisor / 256 that the first Conv or Gemm folds into its float weights. Each Conv or dense layer gets
 * integer weights w = round(W * 2^sw), sw as large as the weight width allows, and biases at
 * the accumulator's scale; a layer followed by ReLU becomes one RequantReluClamp per output
 * (clamp(floor(acc / 2^shift), 0, 2^outBits - 1), shift chosen so that the largest activation
 * seen on the calibration inputs fits in outBits); the last layer, a dense one, gives the
 * logits unrounded. MaxPool and AveragePool act on the clamped unsigned activations and keep
 * their scale and width. Each layer kind's quantization is in its operator module (ops/). Every accumulator is bounded exactly from the integer weights and
 * the input ranges, so the circuit's range checks accept every possible input.
 */
import { readFileSync } from "node:fs";
import { unsignedBitsFor } from "../circuit/field.ts";
import { graphTrace, product, type FinalActivation, type FloatGraph, type GraphLayer } from "./graph.ts";
import type { QuantizedDenseLayer } from "./ops/gemm.ts";
import type { QuantizedSource } from "./ops/operator.ts";
import { circuitOperator, layerOperator, type QuantizedGraphLayer } from "./ops/registry.ts";

export const QUANTIZED_GRAPH_FORMAT = "poi-quantized-graph/1";

/** What the circuit's public `output` signal carries. */
export type OutputMode = "logits" | "class" | "both";
export const OUTPUT_MODES: readonly OutputMode[] = ["logits", "class", "both"];

export type { QuantizedAffine } from "./ops/affine.ts";
export type { QuantizedConv } from "./ops/conv.ts";
export type { QuantizedDenseLayer } from "./ops/gemm.ts";
export type { QuantizedPool } from "./ops/pool.ts";
export type { QuantizedGraphLayer } from "./ops/registry.ts";

export interface QuantizedGraph {
  format: typeof QUANTIZED_GRAPH_FORMAT;
  name: string;
  /** Input shape without the batch dimension. */
  inputShape: number[];
  inputSize: number;
  inputBits: number;
  inputScaleBits: number;
  layers: QuantizedGraphLayer[];
  nClasses: number;
  /** Integer logits stand for logit / 2^logitScaleBits. */
  logitScaleBits: number;
  /** Bits of one (signed) logit in the packed output. */
  logitBits: number;
  /** Bits of the class index in the packed output. */
  classBits: number;
  /** Range of any difference of two logits, for ArgMax. */
  diffBits: number;
  output: OutputMode;
  /** The ONNX model's final Softmax, LogSoftmax or Sigmoid, left out: only the class is proven. */
  finalActivation?: FinalActivation["op"];
  /**
   * The declared input mapping: the float model reads each input byte p as p / inputDivisor.
   * Absent in models quantized before it was declared (the reference models): 256.
   */
  inputDivisor?: number;
}

/** What a quantized model's input mapping divides by when the model does not say. */
export const UNDECLARED_INPUT_DIVISOR = 256;

/** The float value of input byte p is p / inputDivisorOf(model). */
export function inputDivisorOf(model: Pick<QuantizedGraph, "inputDivisor">): number {
  return model.inputDivisor ?? UNDECLARED_INPUT_DIVISOR;
}

export interface QuantizeGraphOptions {
  /** Signed width of every weight (default 8). */
  weightBits?: number;
  /** Unsigned width of every hidden activation (default 8). */
  activationBits?: number;
  output?: OutputMode;
  /**
   * The float model reads input byte p as p / inputDivisor. Given: recorded in the quantized
   * model. Absent: 256, not recorded (the reference models' quantized files predate it).
   */
  inputDivisor?: number;
}

/**
 * MaxPool commutes with ReLU and Clip (all monotone), so Conv -> MaxPool -> Relu, as PyTorch
 * code often writes it, is the same function as Conv -> Relu -> MaxPool, which the circuit
 * needs: it pools clamped activations.
 */
export function canonicalLayers(layers: GraphLayer[]): GraphLayer[] {
  const out = layers.slice();
  for (let i = 0; i + 2 < out.length; i++) {
    const [a, b, c] = [out[i]!, out[i + 1]!, out[i + 2]!];
    if ((a.kind === "conv" || a.kind === "dense") && b.kind === "maxpool" && (c.kind === "relu" || c.kind === "clip")) {
      out[i + 1] = c;
      out[i + 2] = b;
    }
  }
  return out;
}

/**
 * Quantizes a graph whose input is pixel bytes / inputDivisor (options; 256 by default).
 * @param calibration pixel vectors (bytes 0..255) used to choose each activation's scale
 */
export function quantizeGraph(
  graph: FloatGraph,
  calibration: ArrayLike<number>[],
  options: QuantizeGraphOptions = {},
): QuantizedGraph {
  const weightBits = options.weightBits ?? 8;
  const activationBits = options.activationBits ?? 8;
  const output = options.output ?? "both";
  const fail = (message: string): never => {
    throw new Error(`"${graph.name}": ${message}`);
  };
  const inputSize = product(graph.inputShape);
  const inputDivisor = options.inputDivisor ?? UNDECLARED_INPUT_DIVISOR;
  if (!Number.isFinite(inputDivisor) || inputDivisor <= 0)
    fail(`the input divisor must be a positive number (the model reads byte / divisor), got ${inputDivisor}`);
  if (calibration.length === 0) fail("quantization needs at least one calibration input");
  const final = graph.finalActivation;
  if (final && output !== "class") {
    fail(
      `${final.op} node "${final.node}" ends the model, so its outputs are ${final.op === "Sigmoid" ? "sigmoids" : "probabilities"}, ` +
        `not the logits that --output ${output} would prove; ${final.op} is monotone and keeps the class, so compile with --output class`,
    );
  }
  const layersIn = canonicalLayers(graph.layers);
  const canonical: FloatGraph = { ...graph, layers: layersIn };

  // Largest float value each layer produces on the calibration inputs.
  const maxOut = layersIn.map(() => 0);
  const minOut = layersIn.map(() => 0);
  calibration.forEach((pixels, n) => {
    if (pixels.length !== inputSize) {
      fail(
        `calibration input ${n} has ${pixels.length} values; the model takes ${inputSize} (shape [${graph.inputShape.join(", ")}])`,
      );
    }
    for (let i = 0; i < pixels.length; i++) {
      const p = pixels[i]!;
      if (!Number.isInteger(p) || p < 0 || p > 255) {
        fail(`calibration input ${n} has value ${p} at index ${i}; inputs are pixel bytes 0..255`);
      }
    }
    const trace = graphTrace(
      canonical,
      Array.from(pixels, (p) => p / inputDivisor),
    );
    trace.forEach((t, l) => {
      for (let i = 0; i < t.length; i++) {
        maxOut[l] = Math.max(maxOut[l]!, t[i]!);
        minOut[l] = Math.min(minOut[l]!, t[i]!);
      }
    });
  });

  const inputBits = 8;
  const inputScaleBits = 8;
  let scale = inputScaleBits;
  let bits = inputBits;
  // Byte p stands for p / 2^8 at scale 2^8, and for p / inputDivisor in the float model.
  let gain = inputDivisor / 2 ** inputScaleBits;
  const inputSource: QuantizedSource = { layer: -1, scale, bits, gain };
  let splitAlpha: number | undefined;
  /** Where each float layer's output is held in the quantized graph. */
  const sources: QuantizedSource[] = [];
  const layers: QuantizedGraphLayer[] = [];
  let logits: QuantizedDenseLayer | undefined;

  for (let l = 0; l < layersIn.length; l++) {
    const layer = layersIn[l]!;
    const op = layerOperator(layer.kind);
    const where = `${op.opName} node "${layer.node}"`;
    if (logits) fail(`${where} follows the logits layer "${logits.node}"; the last layer must be a Gemm or MatMul`);
    const q = op.quantize(layer, {
      where,
      scale,
      bits,
      gain,
      previousQuantized: layers[layers.length - 1],
      source: (index) => (index < 0 ? inputSource : sources[index]!),
      maxOut: maxOut[l]!,
      minOut: minOut[l]!,
      splitAlpha,
      isLast: l === layersIn.length - 1,
      previous: layersIn[l - 1]?.kind,
      next: layersIn[l + 1]?.kind,
      nextLayer: layersIn[l + 1],
      weightBits,
      activationBits,
      fail,
    });
    ({ scale, bits } = q);
    gain = q.gain ?? gain;
    splitAlpha = q.splitAlpha;
    if (q.layer) layers.push(q.layer);
    // A layer without a quantized layer of its own (a Relu) leaves its value where it was.
    sources.push({ layer: q.layer ? layers.length - 1 : (sources[l - 1]?.layer ?? -1), scale, bits, gain });
    if (!q.layer) continue;
    // Only a Gemm or MatMul gives the logits (a Conv as the last layer is refused by its module).
    if (q.logits && q.layer.kind === "dense") logits = q.layer;
  }
  if (!logits) fail("the graph does not end in a Gemm or MatMul giving the logits");

  const nClasses = logits!.nOut;
  const logitBits = logits!.accBits;
  const classBits = unsignedBitsFor(nClasses - 1);
  const diffBits = unsignedBitsFor(logits!.accMax - logits!.accMin);
  const packedBits = (output === "logits" ? 0 : classBits) + (output === "class" ? 0 : nClasses * logitBits);
  if (packedBits > 253) {
    fail(
      `${nClasses} logits of ${logitBits} bits do not pack into one field element; ` +
        "lower the weight or activation width, or use --output class",
    );
  }
  if (nClasses < 2 && output !== "logits") fail(`the model has ${nClasses} output; ArgMax needs at least 2`);
  return {
    format: QUANTIZED_GRAPH_FORMAT,
    name: graph.name,
    inputShape: graph.inputShape,
    inputSize,
    inputBits,
    inputScaleBits,
    layers,
    nClasses,
    logitScaleBits: logits!.inputScaleBits + logits!.weightScaleBits,
    logitBits,
    classBits,
    diffBits,
    output,
    ...(final ? { finalActivation: final.op } : {}),
    ...(options.inputDivisor !== undefined ? { inputDivisor } : {}),
  };
}

/** Number of values a quantized layer produces. */
export function quantizedLayerOutputSize(layer: QuantizedGraphLayer): number {
  return circuitOperator(layer.kind).outputSize(layer);
}

/**
 * Reads a quantized model file (QuantizedGraph JSON), checking its format.
 * @throws naming the file if it cannot be read, is not JSON or is not a quantized graph
 */
export function readQuantizedGraph(file: string): QuantizedGraph {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read quantized model "${file}": ${(err as Error).message}`);
  }
  let model: Partial<QuantizedGraph>;
  try {
    model = JSON.parse(text) as Partial<QuantizedGraph>;
  } catch (err) {
    throw new Error(`quantized model "${file}" is not JSON: ${(err as Error).message}`);
  }
  if (model?.format !== QUANTIZED_GRAPH_FORMAT)
    throw new Error(
      `"${file}" is not a quantized model (format ${JSON.stringify(model?.format)}, expected ${QUANTIZED_GRAPH_FORMAT}); ` +
        "compile the ONNX model again (poi compile or npm run build:circuit)",
    );
  return model as QuantizedGraph;
}
