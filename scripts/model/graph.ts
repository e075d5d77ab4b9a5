/**
 * The in-memory float model of a sequential network: convolutions, dense layers, ReLU and
 * pooling, in the order they run. The ONNX importer (onnx-import.ts) produces it, the CNN
 * trainer produces it, and the graph quantizer consumes it.
 *
 * Each layer kind is an operator module (ops/registry.ts lists them), which runs it here.
 *
 * Tensors flow between layers as flat arrays in ONNX's NCHW order with the batch dimension
 * (always 1) dropped: element (c, h, w) of a [C, H, W] tensor sits at index (c * H + h) * W + w.
 * Flatten and Reshape keep that order, so they are not layers at all: they only change the
 * shape that the next layer reads.
 */

import type { FinalActivation } from "./ops/final-activation.ts";
import { layerOperator, type GraphLayer } from "./ops/registry.ts";

export type { ConvLayer } from "./ops/conv.ts";
export type { GraphDenseLayer } from "./ops/gemm.ts";
export type { ReluLayer } from "./ops/relu.ts";
export type { PoolLayer } from "./ops/pool.ts";
export type { GraphLayer } from "./ops/registry.ts";
export { FINAL_ACTIVATIONS, applyFinalActivation, type FinalActivation } from "./ops/final-activation.ts";

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

export function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Output side of a convolution or pool along one axis. */
export function outputSide(inSize: number, k: number, stride: number, pad: number): number {
  return Math.floor((inSize + 2 * pad - k) / stride) + 1;
}

/** Number of values a layer produces. */
export function layerOutputSize(layer: GraphLayer, inputSize: number): number {
  return layerOperator(layer.kind).outputSize(layer, inputSize);
}

/** Runs one layer in float64; `earlier(i)` is the output of layer i (-1: the graph input). */
export function layerForward(
  layer: GraphLayer,
  x: ArrayLike<number>,
  earlier: (index: number) => ArrayLike<number>,
): Float64Array {
  return layerOperator(layer.kind).forward(layer, x, earlier);
}

/** Outputs of every layer, in order; the last one is the logits. */
export function graphTrace(graph: FloatGraph, x: ArrayLike<number>): Float64Array[] {
  const inputSize = product(graph.inputShape);
  if (x.length !== inputSize) {
    throw new Error(`model "${graph.name}" takes ${inputSize} inputs, got ${x.length}`);
  }
  const trace: Float64Array[] = [];
  let act: ArrayLike<number> = x;
  const earlier = (index: number): ArrayLike<number> => (index < 0 ? x : trace[index]!);
  for (const layer of graph.layers) {
    act = layerForward(layer, act, earlier);
    trace.push(act as Float64Array);
  }
  return trace;
}

/** Runs the model in float64 and returns the logits. */
export function graphForward(graph: FloatGraph, x: ArrayLike<number>): Float64Array {
  const trace = graphTrace(graph, x);
  return trace.length ? trace[trace.length - 1]! : Float64Array.from(x);
}
