/**
 * Fixed-point quantization of a sequential float graph (graph.ts) with power-of-two scales,
 * the generalisation of quantize.ts from dense layers to convolutions and pooling.
 *
 * A value v with scale bits s stands for v / 2^s. The input is the pixel bytes p (the float
 * model reads p / 256), so input quantization is lossless. Each Conv or dense layer gets
 * integer weights w = round(W * 2^sw), sw as large as the weight width allows, and biases at
 * the accumulator's scale; a layer followed by ReLU becomes one RequantReluClamp per output
 * (clamp(floor(acc / 2^shift), 0, 2^outBits - 1), shift chosen so that the largest activation
 * seen on the calibration inputs fits in outBits); the last layer, a dense one, gives the
 * logits unrounded. MaxPool and AveragePool act on the clamped unsigned activations and keep
 * their scale and width. Every accumulator is bounded exactly from the integer weights and
 * the input ranges, so the circuit's range checks accept every possible input.
 */
import { readFileSync } from "node:fs";
import { signedBitsFor, unsignedBitsFor } from "../circuit/field.ts";
import {
  graphTrace,
  outputSide,
  poolOutputSize,
  type FinalActivation,
  product,
  type ConvLayer,
  type FloatGraph,
  type GraphDenseLayer,
  type GraphLayer,
  type PoolLayer,
} from "./graph.ts";

export const QUANTIZED_GRAPH_FORMAT = "poi-quantized-graph/1";

/** What the circuit's public `output` signal carries. */
export type OutputMode = "logits" | "class" | "both";
export const OUTPUT_MODES: readonly OutputMode[] = ["logits", "class", "both"];

interface QuantizedAffine {
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
  /** Fused requantize + ReLU + clamp; absent for the logits layer. */
  requant?: { shift: number; outBits: number; outScaleBits: number };
}

export interface QuantizedConv extends QuantizedAffine {
  kind: "conv";
  inH: number;
  inW: number;
  inC: number;
  outC: number;
  k: number;
  stride: number;
  pad: number;
}

export interface QuantizedDenseLayer extends QuantizedAffine {
  kind: "dense";
  nIn: number;
  nOut: number;
}

export interface QuantizedPool {
  kind: "maxpool" | "avgpool";
  node: string;
  inH: number;
  inW: number;
  C: number;
  k: number;
  stride: number;
  /** Zero padding on every side (absent: none), as in PoolLayer. */
  pad?: number;
  /** Width of the unsigned values pooled (and produced). */
  bits: number;
  scaleBits: number;
}

export type QuantizedGraphLayer = QuantizedConv | QuantizedDenseLayer | QuantizedPool;

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
}

export interface QuantizeGraphOptions {
  /** Signed width of every weight (default 8). */
  weightBits?: number;
  /** Unsigned width of every hidden activation (default 8). */
  activationBits?: number;
  output?: OutputMode;
}

/** Largest s such that max|w| * 2^s still fits a signed `bits`-bit integer. */
function weightScaleBits(weights: ArrayLike<number>, bits: number): number {
  let maxAbs = 0;
  for (let i = 0; i < weights.length; i++) maxAbs = Math.max(maxAbs, Math.abs(weights[i]!));
  if (maxAbs === 0) return 0;
  return Math.floor(Math.log2((2 ** (bits - 1) - 1) / maxAbs));
}

/**
 * MaxPool commutes with ReLU (both are monotone), so Conv -> MaxPool -> Relu, as PyTorch code
 * often writes it, is the same function as Conv -> Relu -> MaxPool, which the circuit needs:
 * it pools clamped activations.
 */
export function canonicalLayers(layers: GraphLayer[]): GraphLayer[] {
  const out = layers.slice();
  for (let i = 0; i + 2 < out.length; i++) {
    const [a, b, c] = [out[i]!, out[i + 1]!, out[i + 2]!];
    if ((a.kind === "conv" || a.kind === "dense") && b.kind === "maxpool" && c.kind === "relu") {
      out[i + 1] = c;
      out[i + 2] = b;
    }
  }
  return out;
}

const OP_NAME: Record<GraphLayer["kind"], string> = {
  conv: "Conv",
  dense: "Gemm/MatMul",
  relu: "Relu",
  maxpool: "MaxPool",
  avgpool: "AveragePool",
};

/**
 * Quantizes a graph whose input is pixel bytes / 256.
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
      Array.from(pixels, (p) => p / 256),
    );
    trace.forEach((t, l) => {
      for (let i = 0; i < t.length; i++) maxOut[l] = Math.max(maxOut[l]!, t[i]!);
    });
  });

  const inputBits = 8;
  const inputScaleBits = 8;
  let scale = inputScaleBits;
  let bits = inputBits;
  const layers: QuantizedGraphLayer[] = [];
  let logits: QuantizedDenseLayer | undefined;

  for (let l = 0; l < layersIn.length; l++) {
    const layer = layersIn[l]!;
    const where = `${OP_NAME[layer.kind]} node "${layer.node}"`;
    if (logits) fail(`${where} follows the logits layer "${logits.node}"; the last layer must be a Gemm or MatMul`);
    if (layer.kind === "relu") {
      // Everything that reaches here is already unsigned (pixels, clamped or pooled values).
      continue;
    }
    if (layer.kind === "maxpool" || layer.kind === "avgpool") {
      const pool = layer as PoolLayer;
      if (pool.kind === "avgpool" && !Number.isInteger(Math.log2(pool.k * pool.k))) {
        fail(`${where} has a ${pool.k}x${pool.k} window; AveragePool needs k*k a power of two (k = 2 or 4)`);
      }
      layers.push({
        kind: pool.kind,
        node: pool.node,
        inH: pool.inH,
        inW: pool.inW,
        C: pool.C,
        k: pool.k,
        stride: pool.stride,
        ...(pool.pad ? { pad: pool.pad } : {}),
        bits,
        scaleBits: scale,
      });
      continue;
    }
    // PoolLayer's kind is a union, so the checks above do not narrow `layer` by themselves.
    const affineLayer = layer as ConvLayer | GraphDenseLayer;
    const isLast = l === layersIn.length - 1;
    const reluNext = layersIn[l + 1]?.kind === "relu";
    if (!isLast && !reluNext) {
      fail(`${where} must be followed by Relu: only the last layer (a Gemm or MatMul giving the logits) may be linear`);
    }
    if (isLast && layer.kind !== "dense")
      fail(`${where} is the last layer; the logits must come from a Gemm or MatMul`);
    const sw = weightScaleBits(affineLayer.weight, weightBits);
    const accScale = scale + sw;
    const weight = Array.from(affineLayer.weight, (w) => Math.round(w * 2 ** sw));
    const bias = Array.from(affineLayer.bias, (b) => Math.round(b * 2 ** accScale));
    const xMax = 2 ** bits - 1;
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
      fail(`${where}: accumulator bound exceeds 2^53; lower the weight width`);
    }
    const affine: QuantizedAffine = {
      node: layer.node,
      weight,
      bias,
      weightScaleBits: sw,
      inputScaleBits: scale,
      inputBits: bits,
      accMin,
      accMax,
      accBits: signedBitsFor(accMin, accMax),
    };
    if (reluNext) {
      const m = maxOut[l]!;
      const outScale = Math.min(m > 0 ? Math.floor(Math.log2((2 ** activationBits - 1) / m)) : accScale, accScale);
      affine.requant = { shift: accScale - outScale, outBits: activationBits, outScaleBits: outScale };
      scale = outScale;
      bits = activationBits;
    }
    if (layer.kind === "conv") {
      const c = layer as ConvLayer;
      layers.push({
        kind: "conv",
        inH: c.inH,
        inW: c.inW,
        inC: c.inC,
        outC: c.outC,
        k: c.k,
        stride: c.stride,
        pad: c.pad,
        ...affine,
      });
    } else {
      const d = layer as GraphDenseLayer;
      const q: QuantizedDenseLayer = { kind: "dense", nIn: d.nIn, nOut: d.nOut, ...affine };
      layers.push(q);
      if (isLast) logits = q;
    }
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
  };
}

/** Number of values a quantized layer produces. */
export function quantizedLayerOutputSize(layer: QuantizedGraphLayer): number {
  switch (layer.kind) {
    case "conv":
      return (
        layer.outC *
        outputSide(layer.inH, layer.k, layer.stride, layer.pad) *
        outputSide(layer.inW, layer.k, layer.stride, layer.pad)
      );
    case "dense":
      return layer.nOut;
    default:
      return poolOutputSize(layer);
  }
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
