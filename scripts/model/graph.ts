/**
 * The in-memory float model of a sequential network: convolutions, dense layers, ReLU and
 * pooling, in the order they run. The ONNX importer (onnx-import.ts) produces it, the CNN
 * trainer produces it, and the graph quantizer consumes it.
 *
 * Tensors flow between layers as flat arrays in ONNX's NCHW order with the batch dimension
 * (always 1) dropped: element (c, h, w) of a [C, H, W] tensor sits at index (c * H + h) * W + w.
 * Flatten and Reshape keep that order, so they are not layers at all: they only change the
 * shape that the next layer reads.
 */

export interface ConvLayer {
  kind: "conv";
  /** The ONNX node it came from, for messages. */
  node: string;
  inC: number;
  inH: number;
  inW: number;
  outC: number;
  /** Square kernel side. */
  k: number;
  stride: number;
  /** Zero padding on every side. */
  pad: number;
  /** [outC][inC][k][k] flat, as ONNX stores a Conv weight. */
  weight: Float64Array;
  bias: Float64Array;
}

export interface GraphDenseLayer {
  kind: "dense";
  node: string;
  nIn: number;
  nOut: number;
  /** Row-major [nOut][nIn] (ONNX Gemm with transB = 1). */
  weight: Float64Array;
  bias: Float64Array;
}

export interface ReluLayer {
  kind: "relu";
  node: string;
}

export interface PoolLayer {
  kind: "maxpool" | "avgpool";
  node: string;
  C: number;
  inH: number;
  inW: number;
  /** Square window side. */
  k: number;
  stride: number;
  /**
   * Zero padding on every side (absent: none). An AveragePool counts the padding (ONNX's
   * count_include_pad = 1, or a Pad node before it); a MaxPool's never wins, as its inputs are
   * ReLU outputs or input bytes, never negative.
   */
  pad?: number;
}

export type GraphLayer = ConvLayer | GraphDenseLayer | ReluLayer | PoolLayer;

export interface FloatGraph {
  name: string;
  /** The graph input's shape without the batch dimension, e.g. [1, 14, 14] or [196]. */
  inputShape: number[];
  /** The graph input's declared shape as the ONNX file gives it (batch dimension included). */
  onnxInputShape: number[];
  layers: GraphLayer[];
  /** Number of logits. */
  outputSize: number;
  /**
   * A monotone activation (Softmax, LogSoftmax or Sigmoid) that ends the ONNX model after the
   * logits. It does not change the class (the first maximum), so a model that proves the class
   * may leave it out; the logits themselves are not its outputs.
   */
  finalActivation?: FinalActivation;
}

export const FINAL_ACTIVATIONS = ["Softmax", "LogSoftmax", "Sigmoid"] as const;
export interface FinalActivation {
  op: (typeof FINAL_ACTIVATIONS)[number];
  node: string;
}

/** The final activation applied to logits in float64, as onnxruntime applies it to the file's. */
export function applyFinalActivation(op: FinalActivation["op"], logits: ArrayLike<number>): Float64Array {
  if (op === "Sigmoid") return Float64Array.from(logits, (v) => 1 / (1 + Math.exp(-v)));
  const max = Math.max(...Array.from(logits));
  const logSum = Math.log(Array.from(logits).reduce((s, v) => s + Math.exp(v - max), 0)) + max;
  return Float64Array.from(logits, (v) => (op === "Softmax" ? Math.exp(v - logSum) : v - logSum));
}

export function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Output side of a convolution or pool along one axis. */
export function outputSide(inSize: number, k: number, stride: number, pad: number): number {
  return Math.floor((inSize + 2 * pad - k) / stride) + 1;
}

/** Number of values a layer produces. */
export function layerOutputSize(layer: GraphLayer, inputSize: number): number {
  switch (layer.kind) {
    case "conv":
      return layer.outC * convOutH(layer) * convOutW(layer);
    case "dense":
      return layer.nOut;
    case "relu":
      return inputSize;
    case "maxpool":
    case "avgpool":
      return poolOutputSize(layer);
  }
}

export function convOutH(layer: ConvLayer): number {
  return outputSide(layer.inH, layer.k, layer.stride, layer.pad);
}

export function convOutW(layer: ConvLayer): number {
  return outputSide(layer.inW, layer.k, layer.stride, layer.pad);
}

/** y = conv(x) + b with zero padding, in float64. */
export function convForward(layer: ConvLayer, x: ArrayLike<number>): Float64Array {
  const { inC, inH, inW, outC, k, stride, pad, weight, bias } = layer;
  const outH = convOutH(layer);
  const outW = convOutW(layer);
  const y = new Float64Array(outC * outH * outW);
  for (let oc = 0; oc < outC; oc++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let acc = bias[oc]!;
        for (let ic = 0; ic < inC; ic++) {
          for (let kh = 0; kh < k; kh++) {
            const h = oy * stride + kh - pad;
            if (h < 0 || h >= inH) continue;
            for (let kw = 0; kw < k; kw++) {
              const w = ox * stride + kw - pad;
              if (w < 0 || w >= inW) continue;
              acc += weight[((oc * inC + ic) * k + kh) * k + kw]! * x[(ic * inH + h) * inW + w]!;
            }
          }
        }
        y[(oc * outH + oy) * outW + ox] = acc;
      }
    }
  }
  return y;
}

/** Values a pool produces: C x outH x outW, its padding included. */
export function poolOutputSize(layer: Pick<PoolLayer, "C" | "inH" | "inW" | "k" | "stride" | "pad">): number {
  const pad = layer.pad ?? 0;
  return (
    layer.C * outputSide(layer.inH, layer.k, layer.stride, pad) * outputSide(layer.inW, layer.k, layer.stride, pad)
  );
}

/** Max or mean of each k x k window, in float64 (padding: skipped by max, counted as 0 by mean). */
export function poolForward(layer: PoolLayer, x: ArrayLike<number>): Float64Array {
  const { C, inH, inW, k, stride } = layer;
  const pad = layer.pad ?? 0;
  const outH = outputSide(inH, k, stride, pad);
  const outW = outputSide(inW, k, stride, pad);
  const y = new Float64Array(C * outH * outW);
  for (let c = 0; c < C; c++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let max = -Infinity;
        let sum = 0;
        for (let kh = 0; kh < k; kh++) {
          for (let kw = 0; kw < k; kw++) {
            const h = oy * stride + kh - pad;
            const w = ox * stride + kw - pad;
            if (h < 0 || h >= inH || w < 0 || w >= inW) continue;
            const v = x[(c * inH + h) * inW + w]!;
            if (v > max) max = v;
            sum += v;
          }
        }
        y[(c * outH + oy) * outW + ox] = layer.kind === "maxpool" ? max : sum / (k * k);
      }
    }
  }
  return y;
}

function denseForward(layer: GraphDenseLayer, x: ArrayLike<number>): Float64Array {
  const { nIn, nOut, weight, bias } = layer;
  const y = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let acc = bias[o]!;
    for (let i = 0; i < nIn; i++) acc += weight[o * nIn + i]! * x[i]!;
    y[o] = acc;
  }
  return y;
}

/** Runs one layer in float64. */
export function layerForward(layer: GraphLayer, x: ArrayLike<number>): Float64Array {
  switch (layer.kind) {
    case "conv":
      return convForward(layer, x);
    case "dense":
      return denseForward(layer, x);
    case "relu":
      return Float64Array.from(x, (v) => (v > 0 ? v : 0));
    case "maxpool":
    case "avgpool":
      return poolForward(layer, x);
  }
}

/** Outputs of every layer, in order; the last one is the logits. */
export function graphTrace(graph: FloatGraph, x: ArrayLike<number>): Float64Array[] {
  const inputSize = product(graph.inputShape);
  if (x.length !== inputSize) {
    throw new Error(`model "${graph.name}" takes ${inputSize} inputs, got ${x.length}`);
  }
  const trace: Float64Array[] = [];
  let act: ArrayLike<number> = x;
  for (const layer of graph.layers) {
    act = layerForward(layer, act);
    trace.push(act as Float64Array);
  }
  return trace;
}

/** Runs the model in float64 and returns the logits. */
export function graphForward(graph: FloatGraph, x: ArrayLike<number>): Float64Array {
  const trace = graphTrace(graph, x);
  return trace.length ? trace[trace.length - 1]! : Float64Array.from(x);
}
