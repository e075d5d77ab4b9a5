/**
 * Clip(0, max), which is how PyTorch and tf2onnx export ReLU6 (max = 6): a ReLU with an upper
 * bound. It adds no circuit of its own: the quantizer scales the Conv or Gemm before it so that
 * `max` lands exactly on the clamp of its RequantReluClamp, 2^outBits - 1 (affine.ts), and the
 * next layer's weights undo that scale. Only a Clip right after a Conv, Gemm or MatMul (through
 * a MaxPool, which commutes with it) is supported, with min 0 and a finite positive max.
 */
import type { LayerOperator, OnnxOperator } from "./operator.ts";

export interface ClipLayer {
  kind: "clip";
  node: string;
  /** The upper bound (the lower one is 0). */
  max: number;
}

export const onnx: OnnxOperator[] = [
  {
    op: "Clip",
    // Opset < 11 carries min and max as attributes, later opsets as (optional) inputs.
    attributes: ["min", "max"],
    import(ctx) {
      const { node, where, fail, constants } = ctx;
      const bound = (index: number, attr: string, role: string): number | undefined => {
        const name = node.input[index];
        if (name) {
          const t = constants.get(name);
          if (!t || t.values.length !== 1)
            fail(`${where} needs a constant scalar ${role}; re-export with fixed bounds`);
          return t!.values[0]!;
        }
        return ctx.attribute(attr) ? ctx.float(attr, 0) : undefined;
      };
      const min = bound(1, "min", "min");
      const max = bound(2, "max", "max");
      if (min !== 0 || max === undefined || !Number.isFinite(max) || max <= 0)
        fail(
          `${where} clips to [${min ?? "-inf"}, ${max ?? "inf"}]; only Clip(0, max) with a finite max > 0 ` +
            "(ReLU6 and the like) is supported",
        );
      ctx.state.layers.push({ kind: "clip", node: ctx.label, max: max! });
      ctx.state.open = undefined;
    },
  },
];

export const layer: LayerOperator<ClipLayer, never> = {
  kind: "clip",
  opName: "Clip",
  outputSize: (_l, inputSize) => inputSize,
  forward: (l, x) => Float64Array.from(x, (v) => Math.min(Math.max(v, 0), l.max)),
  toOnnx(l, w) {
    const [min, max] = [`${l.node}.min`, `${l.node}.max`];
    w.floatInitializer(min, [], [0]);
    w.floatInitializer(max, [], [l.max]);
    w.node("Clip", [w.current, min, max]);
  },
  quantize(l, q) {
    if (q.previous !== "conv" && q.previous !== "dense")
      q.fail(`${q.where} must directly follow a Conv, Gemm or MatMul, whose RequantReluClamp clamps at its max`);
    return { scale: q.scale, bits: q.bits };
  },
};
