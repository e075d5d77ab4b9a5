/**
 * LeakyRelu: y = z for z >= 0, alpha z otherwise, right after a Conv, Gemm or MatMul and right
 * before another (no pool between). Every layer's input is unsigned, so the signed output is
 * carried as two unsigned halves, leaky(z) = relu(z) - alpha relu(-z): the layer before gives
 * RequantReluClamp of acc and of -acc (twice the outputs, twice the cost), and the layer after
 * weighs the second half by -alpha (affine.ts, conv.ts, gemm.ts). No new template.
 */
import type { LayerOperator, OnnxOperator } from "./operator.ts";

export interface LeakyReluLayer {
  kind: "leakyrelu";
  node: string;
  alpha: number;
}

export const onnx: OnnxOperator[] = [
  {
    op: "LeakyRelu",
    attributes: ["alpha"],
    import(ctx) {
      const alpha = ctx.float("alpha", 0.01);
      if (!Number.isFinite(alpha) || alpha < 0)
        ctx.fail(`${ctx.where} has alpha=${alpha}; only a finite alpha >= 0 is supported`);
      ctx.state.layers.push({ kind: "leakyrelu", node: ctx.label, alpha });
      ctx.state.open = undefined;
    },
  },
];

export const layer: LayerOperator<LeakyReluLayer, never> = {
  kind: "leakyrelu",
  opName: "LeakyRelu",
  outputSize: (_l, inputSize) => inputSize,
  forward: (l, x) => Float64Array.from(x, (v) => (v >= 0 ? v : l.alpha * v)),
  toOnnx: (l, w) => w.node("LeakyRelu", [w.current], [w.float("alpha", l.alpha)]),
  quantize(l, q) {
    if (q.previous !== "conv" && q.previous !== "dense")
      q.fail(`${q.where} must directly follow a Conv, Gemm or MatMul, which gives its two halves`);
    if (q.next !== "conv" && q.next !== "dense")
      q.fail(
        `${q.where} must be followed directly by a Conv, Gemm or MatMul (through Flatten or Reshape), which weighs its halves`,
      );
    return { scale: q.scale, bits: q.bits, splitAlpha: l.alpha };
  },
};
