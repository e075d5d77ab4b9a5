/**
 * Relu. It adds no circuit of its own: the Conv or Gemm before it quantizes to one
 * RequantReluClamp per output (affine.ts), whose clamp at 0 is the ReLU. Anything else it
 * follows (input bytes, pooled clamped values) is already unsigned.
 */
import type { LayerOperator, OnnxOperator } from "./operator.ts";

export interface ReluLayer {
  kind: "relu";
  node: string;
}

export const onnx: OnnxOperator[] = [
  {
    op: "Relu",
    attributes: [],
    import(ctx) {
      ctx.state.layers.push({ kind: "relu", node: ctx.label });
      ctx.state.open = undefined;
    },
  },
];

export const layer: LayerOperator<ReluLayer, never> = {
  kind: "relu",
  opName: "Relu",
  outputSize: (_l, inputSize) => inputSize,
  forward: (_l, x) => Float64Array.from(x, (v) => (v > 0 ? v : 0)),
  toOnnx: (_l, w) => w.node("Relu", [w.current]),
  // Everything that reaches here is already unsigned (pixels, clamped or pooled values).
  quantize: (_l, q) => ({ scale: q.scale, bits: q.bits }),
};
