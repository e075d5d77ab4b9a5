/**
 * What an operator module provides, and the contexts the importer, quantizer, reference,
 * generator and cost estimate hand it. Each supported ONNX operator lives in one module of this
 * folder; registry.ts lists them and every stage of the compiler loops over that list, so adding
 * an operator touches its module, its test and docs/compiler.md.
 *
 * Two halves, either of which a module may leave out:
 * - `onnx`: how a node of the operator is imported (its allowed attributes, the checks and what
 *   it adds to or folds into the layer chain). Operators that exporters write around the layers
 *   (Flatten, Pad, BatchNormalization, ...) have only this half.
 * - `layer`: a layer kind of the float graph and of the quantized graph: float forward,
 *   quantization, integer reference (the circuit's specification), circom emission and
 *   constraint cost.
 */
import type { onnx as OnnxTypes } from "onnx-proto";
import type { FinalActivation, GraphLayer } from "../graph.ts";
import type { QuantizedGraphLayer } from "../quantize-graph.ts";
import type { NodeCtx, Tensor } from "../onnx-io.ts";

// ---------------------------------------------------------------------------------------------
// Import

/** protobufjs decodes int64 fields as numbers or Long objects. */
export type Int64 = number | { toNumber(): number };

export interface Attribute {
  name: string;
  f: number;
  i: Int64;
  ints: Int64[];
  s: Uint8Array | undefined;
  t: OnnxTypes.ITensorProto | null | undefined;
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: Attribute[];
}

/** The layer whose output is still affine, so that an Add or a BatchNormalization can fold into it. */
export type OpenLayer = Extract<GraphLayer, { kind: "conv" | "dense" }>;

/** What the importer carries from node to node along the chain. */
export interface ImportState {
  layers: GraphLayer[];
  /** Shape of the current tensor, batch dimension included when its rank is >= 2. */
  shape: number[];
  open?: OpenLayer;
  /** Zero padding of a Pad node, waiting for the Conv or pool it folds into. */
  pendingPad?: { pad: number; where: string };
  /** The input normalisation x * scale + shift (per channel, or one value), waiting for the first layer. */
  normalise?: { scale: Float64Array; shift: Float64Array; where: string };
  final?: FinalActivation;
  /**
   * Every tensor the chain has produced that an Add may read back (a residual block's skip):
   * the index of the layer whose output it is (-1: the graph input). Only outputs that no later
   * node changes are listed: the graph input and the outputs of Relu, Clip and the pools.
   */
  tensors: Map<string, { layer: number; shape: number[] }>;
  /**
   * A Transpose waiting for the layer it folds into: order[i] is where element i of the
   * transposed view sits in the tensor as the layers hold it (the weights are permuted instead).
   */
  transposed?: { order: Int32Array; node: string; where: string };
}

/** One node being imported: its attributes, its data inputs and the checks several operators share. */
export interface ImportContext extends NodeCtx {
  node: OnnxNode;
  op: string;
  /** The node's name, or `#<index>` when it has none. */
  label: string;
  /** The node's inputs, the chain's tensor first. */
  inputs: string[];
  state: ImportState;
  /** No layer has been added yet (the input normalisation may still come). */
  firstLayer: boolean;
  attribute(name: string): Attribute | undefined;
  int(name: string, fallback: number): number;
  ints(name: string): number[] | undefined;
  float(name: string, fallback: number): number;
  text(name: string, fallback: string): string;
  /** The current tensor as [1, C, H, W]; fails naming the node otherwise. */
  needImage(): { C: number; H: number; W: number };
  /** auto_pad NOTSET or VALID (explicit pads); fails on SAME_*. */
  checkAutoPad(): void;
  squareKernel(declared: number[] | undefined, fallback?: number[]): number;
  equalStrides(): number;
}

export interface OnnxOperator {
  /** The ONNX operator type, e.g. "Conv". */
  op: string;
  /** Attributes it may carry; any other changes semantics we do not model and is refused. */
  attributes: readonly string[];
  /** May follow a Pad that waits to be folded (Conv and the pools fold it). */
  takesPad?: boolean;
  /** May sit between a Transpose and the layer the Transpose folds into. */
  keepsTranspose?: boolean;
  /** May sit between the input normalisation and the first layer. */
  keepsNormalisation?: boolean;
  /** Does not read the chain's tensor (Constant). */
  offChain?: boolean;
  /** Its two inputs may come in either order (the chain's tensor is put first). */
  commutative?: boolean;
  import(ctx: ImportContext): void;
}

// ---------------------------------------------------------------------------------------------
// Quantization, reference, circuit and cost

export interface QuantizeContext {
  /** `<Op> node "<name>"`, for messages. */
  where: string;
  /** Scale bits and unsigned width of the layer's input. */
  scale: number;
  bits: number;
  /**
   * The layer's integer inputs stand for its float inputs times `gain` (at scale 2^scale): an
   * affine layer divides its float weights by it. 1 except after a Clip (clip.ts) or for an
   * input mapping that is not a power of two.
   */
  gain: number;
  /** Largest and smallest float values the layer produced on the calibration inputs (both bounded by 0). */
  maxOut: number;
  minOut: number;
  isLast: boolean;
  /** The kinds of the layers before and after it, if any. */
  previous?: GraphLayer["kind"];
  next?: GraphLayer["kind"];
  /**
   * The layer's input is split by the LeakyRelu before it (leaky-relu.ts): its first half is
   * relu(z), its second relu(-z), and an affine layer weighs the second by -splitAlpha.
   */
  splitAlpha?: number;
  /** The `next` layer itself (a Clip's bound decides the scale of the layer before it). */
  nextLayer?: GraphLayer;
  /** The layer after `next` (a residual Add's own Relu or Clip). */
  afterNext?: GraphLayer;
  /** The quantized layer before this one (absent for the first). */
  previousQuantized?: QuantizedGraphLayer;
  /** Where the output of float layer `index` (-1: the input) is held in the quantized graph. */
  source(index: number): QuantizedSource;
  weightBits: number;
  activationBits: number;
  fail(message: string): never;
}

/** A value of the quantized graph: the quantized layer that holds it (-1: the input bytes), its scale, width and gain. */
export interface QuantizedSource {
  layer: number;
  scale: number;
  bits: number;
  gain: number;
}

export interface Quantized<Q> {
  /** Absent: the layer adds nothing of its own (a ReLU fused into the layer before it). */
  layer?: Q;
  /** Scale bits and width of its output. */
  scale: number;
  bits: number;
  /** The gain of its output (as QuantizeContext.gain); absent: the same as its input's. */
  gain?: number;
  /** Its output is split (as QuantizeContext.splitAlpha) for the next layer. */
  splitAlpha?: number;
  /** The layer gives the logits. */
  logits?: boolean;
}

/** A tensor held in a signal array, flat ([n]) or image-shaped ([C][H][W]). */
export interface SignalTensor {
  name: string;
  dims: number[];
}

/** Element i (flat, CHW order) of a signal tensor, as circom indexes it. */
export function elementRef(t: SignalTensor, i: number): string {
  if (t.dims.length === 1) return `${t.name}[${i}]`;
  const [, H, W] = t.dims as [number, number, number];
  return `${t.name}[${Math.floor(i / (H * W))}][${Math.floor(i / W) % H}][${i % W}]`;
}

export interface EmitContext {
  /** The lines of the circom main being written. */
  out: string[];
  /** The layer's index. */
  index: number;
  /** The signal name of the layer's output (a<index>). */
  name: string;
  /** The layer's input. */
  current: SignalTensor;
  /** The output of quantized layer `index` (-1: the input bytes). */
  tensorOf(index: number): SignalTensor;
  /** The layer is the model's last (its outputs are the logits). */
  isLast: boolean;
  /** The current tensor as a [C][H][W] signal array (a flat one is copied, a linear step). */
  asImage(C: number, H: number, W: number): SignalTensor;
}

/** What an emitted layer leaves: its output tensor, or the `logits` var array. */
export type Emitted = { tensor: SignalTensor } | { logits: true };

export interface CostEntry {
  /** Template and parameters, e.g. "RequantReluClamp(18, 8, 8)". */
  template: string;
  instances: number;
  constraintsEach: number;
}

/** A layer kind of the float graph: forward pass, export and quantization. */
export interface LayerOperator<F extends GraphLayer = GraphLayer, Q extends QuantizedGraphLayer = QuantizedGraphLayer> {
  kind: F["kind"];
  /** The ONNX operator(s) it stands for, in messages. */
  opName: string;
  /** Number of values the float layer produces. */
  outputSize(layer: F, inputSize: number): number;
  /** `earlier(i)` is the output of layer i (-1: the graph input), for a layer that reads one back. */
  forward(layer: F, x: ArrayLike<number>, earlier: (index: number) => ArrayLike<number>): Float64Array;
  /** Writes the float layer back as ONNX nodes (the trainers' export). */
  toOnnx?(layer: F, w: OnnxWriter): void;
  quantize(layer: F, q: QuantizeContext): Quantized<Q>;
}

/** A layer kind of the quantized graph: integer reference, circom emission and constraint cost. */
export interface CircuitOperator<Q extends QuantizedGraphLayer = QuantizedGraphLayer> {
  kind: Q["kind"];
  /** Number of values the quantized layer produces. */
  outputSize(layer: Q): number;
  /** The integer reference: exactly what the circuit computes (`earlier` as in forward). */
  reference(layer: Q, x: number[], earlier: (index: number) => number[]): number[];
  /** circuits/lib files the emitted code includes. */
  libs(layer: Q): string[];
  emit(layer: Q, e: EmitContext): Emitted;
  cost(layer: Q): CostEntry[];
  /** One line for `poi inspect`. */
  describe(layer: Q): string;
}

/** Builds ONNX nodes and initializers for graphToOnnx. */
export interface OnnxWriter {
  /** Name of the current tensor (the layer's input). */
  current: string;
  /** Rank of the current tensor, batch dimension included. */
  rank: number;
  /** Name of the tensor the layer must produce. */
  output: string;
  node(opType: string, input: string[], attribute?: OnnxTypes.AttributeProto[], name?: string, output?: string): void;
  floatInitializer(name: string, dims: number[], values: ArrayLike<number>): void;
  ints(name: string, values: number[]): OnnxTypes.AttributeProto;
  int(name: string, value: number): OnnxTypes.AttributeProto;
  float(name: string, value: number): OnnxTypes.AttributeProto;
}

/** Operators with their layer types erased, as the registry holds them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyLayerOperator = LayerOperator<any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCircuitOperator = CircuitOperator<any>;

export type { Tensor };
