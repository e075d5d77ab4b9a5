/**
 * Reshape to a constant shape, and Squeeze / Unsqueeze (axes as an attribute before opset 13,
 * as an input since): the element order never changes, so they only change the shape the next
 * layer reads; the batch must stay 1.
 */
import onnxProto from "onnx-proto";
import { reshapeTarget } from "../onnx-io.ts";
import type { ImportContext, OnnxOperator } from "./operator.ts";

const { DataType } = onnxProto.onnx.TensorProto;

/** Layers read [N], [1, N] or [1, C, H, W]; a column [N, 1] only a Gemm with transA = 1. */
function setShape(ctx: ImportContext, next: number[], verb: string): void {
  const column = next.length === 2 && next[1] === 1;
  if (!(next.length === 1 || ((next.length === 2 || next.length === 4) && next[0] === 1) || column)) {
    ctx.fail(
      `${ctx.where} ${verb} [${next.join(", ")}]; only [N], [1, N], [N, 1] (for a Gemm with transA=1) or [1, C, H, W] are supported`,
    );
  }
  ctx.state.shape = next;
}

function importReshape(ctx: ImportContext): void {
  const { where, fail, node, constants } = ctx;
  if (ctx.int("allowzero", 0) !== 0) fail(`${where} has allowzero=1, which is not supported`);
  const target = node.input[1] ? constants.get(node.input[1]) : undefined;
  if (!target || target.dataType !== DataType.INT64) {
    fail(`${where} needs a constant int64 shape; re-export with a fixed shape`);
  }
  setShape(ctx, reshapeTarget(ctx.state.shape, Array.from(target!.values), where, fail), "reshapes to");
}

function importSqueeze(ctx: ImportContext): void {
  const { where, fail, node, constants, op } = ctx;
  const shape = ctx.state.shape;
  const axesTensor = node.input[1] ? constants.get(node.input[1]) : undefined;
  if (node.input[1] && (!axesTensor || axesTensor.dataType !== DataType.INT64))
    fail(`${where} needs constant int64 axes; re-export with fixed shapes`);
  const given = axesTensor ? Array.from(axesTensor.values) : ctx.ints("axes");
  let next: number[];
  if (op === "Squeeze") {
    const axes = (given ?? shape.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => (a < 0 ? a + shape.length : a));
    if (axes.some((a) => shape[a] !== 1)) fail(`${where} squeezes an axis of [${shape.join(", ")}] that is not 1`);
    next = shape.filter((_, i) => !axes.includes(i));
  } else {
    if (!given) fail(`${where} needs its axes`);
    const rank = shape.length + given!.length;
    const axes = given!.map((a) => (a < 0 ? a + rank : a));
    next = [];
    for (let i = 0, j = 0; i < rank; i++) next.push(axes.includes(i) ? 1 : shape[j++]!);
  }
  setShape(ctx, next, "gives");
}

const shapeOnly = { keepsTranspose: true, keepsNormalisation: true } as const;

export const onnx: OnnxOperator[] = [
  { op: "Reshape", attributes: ["allowzero"], ...shapeOnly, import: importReshape },
  // Opset < 13 carries the axes as an attribute, later opsets as an input.
  { op: "Squeeze", attributes: ["axes"], ...shapeOnly, import: importSqueeze },
  { op: "Unsqueeze", attributes: ["axes"], ...shapeOnly, import: importSqueeze },
];
