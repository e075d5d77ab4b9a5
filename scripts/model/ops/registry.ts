/**
 * The operator registry: every module of this folder, in one list. The importer, the float
 * forward pass, the quantizer, the integer reference, the circuit generator, the cost estimate
 * and `poi inspect` all loop over it. Adding an operator is a new module, its line here, its
 * test and its row in docs/compiler.md.
 */
import * as add from "./add.ts";
import * as averagePool from "./average-pool.ts";
import * as batchNormalization from "./batch-normalization.ts";
import * as clip from "./clip.ts";
import * as constant from "./constant.ts";
import * as conv from "./conv.ts";
import * as finalActivation from "./final-activation.ts";
import * as flatten from "./flatten.ts";
import * as gemm from "./gemm.ts";
import * as identity from "./identity.ts";
import * as leakyRelu from "./leaky-relu.ts";
import * as maxPool from "./max-pool.ts";
import * as normalisation from "./normalisation.ts";
import * as pad from "./pad.ts";
import type * as pool from "./pool.ts";
import * as relu from "./relu.ts";
import * as reshape from "./reshape.ts";
import * as transpose from "./transpose.ts";
import type { AnyCircuitOperator, AnyLayerOperator, OnnxOperator } from "./operator.ts";

/** A layer of the float graph, one kind per layer module. */
export type GraphLayer =
  | conv.ConvLayer
  | gemm.GraphDenseLayer
  | relu.ReluLayer
  | clip.ClipLayer
  | pool.PoolLayer
  | transpose.TransposeLayer
  | add.AddLayer
  | leakyRelu.LeakyReluLayer;
/** A layer of the quantized graph (a Relu or Clip fuses into the layer before it). */
export type QuantizedGraphLayer =
  conv.QuantizedConv | gemm.QuantizedDenseLayer | pool.QuantizedPool | transpose.QuantizedTranspose | add.QuantizedAdd;

/** In this order in messages ("supported: ..."). */
const MODULES: { onnx?: readonly OnnxOperator[]; layer?: AnyLayerOperator; circuit?: AnyCircuitOperator }[] = [
  conv,
  batchNormalization,
  gemm,
  add,
  relu,
  maxPool,
  averagePool,
  flatten,
  reshape,
  transpose,
  identity,
  constant,
  pad,
  normalisation,
  finalActivation,
  clip,
  leakyRelu,
];

/** Every ONNX operator the importer accepts, by type. */
export const ONNX_OPERATORS: ReadonlyMap<string, OnnxOperator> = new Map(
  MODULES.flatMap((m) => m.onnx ?? []).map((o) => [o.op, o]),
);

/** The supported ONNX operator types, in the registry's order. */
export const GRAPH_OPS: readonly string[] = [...ONNX_OPERATORS.keys()];

const LAYERS = new Map(MODULES.flatMap((m) => (m.layer ? [[m.layer.kind, m.layer] as const] : [])));
/** Circuit operators in registry order (the generator's includes follow it). */
export const CIRCUITS: readonly AnyCircuitOperator[] = MODULES.flatMap((m) => (m.circuit ? [m.circuit] : []));
const CIRCUIT_BY_KIND = new Map(CIRCUITS.map((c) => [c.kind as string, c]));

/** The operator of a float layer kind. */
export function layerOperator(kind: GraphLayer["kind"]): AnyLayerOperator {
  const op = LAYERS.get(kind);
  if (!op) throw new Error(`no operator module for layer kind "${kind}"`);
  return op;
}

/** The circuit operator of a quantized layer kind. */
export function circuitOperator(kind: QuantizedGraphLayer["kind"]): AnyCircuitOperator {
  const op = CIRCUIT_BY_KIND.get(kind);
  if (!op) throw new Error(`no operator module for quantized layer kind "${kind}"`);
  return op;
}
