/**
 * BatchNormalization in inference mode, folded into the Conv, Gemm or MatMul right before it:
 * per output channel, weights times s and bias (b - mean) * s + beta, s = scale / sqrt(var + eps).
 */
import { product } from "../graph.ts";
import { requireWeight } from "../onnx-io.ts";
import type { OnnxOperator } from "./operator.ts";

export const onnx: OnnxOperator[] = [
  {
    op: "BatchNormalization",
    // momentum only matters in training; spatial is opset < 9 and must be 1.
    attributes: ["epsilon", "momentum", "training_mode", "spatial"],
    import(ctx) {
      const { state, node, where, fail } = ctx;
      const open = state.open;
      if (!open) fail(`${where} must directly follow a Conv, MatMul or Gemm, into which it is folded`);
      if (ctx.int("training_mode", 0) !== 0) fail(`${where} has training_mode=1; export the model in eval mode`);
      if (ctx.int("spatial", 1) !== 1) fail(`${where} has spatial=0, which is not supported`);
      if (node.output.slice(1).some((o) => o)) {
        fail(`${where} has its running statistics outputs used; export the model in eval mode`);
      }
      const channels = open!.kind === "conv" ? open!.outC : open!.nOut;
      const [scale, beta, mean, variance] = ["scale", "B", "input_mean", "input_var"].map((role, j) => {
        const t = requireWeight(ctx, node.input[j + 1], role);
        if (product(t.dims) !== channels) {
          fail(`${where}: ${role} "${t.name}" has shape [${t.dims.join(", ")}], expected [${channels}]`);
        }
        return t.values;
      }) as [Float64Array, Float64Array, Float64Array, Float64Array];
      const epsilon = ctx.float("epsilon", 1e-5);
      const perChannel = open!.weight.length / channels;
      for (let c = 0; c < channels; c++) {
        if (variance[c]! + epsilon <= 0) fail(`${where}: input_var + epsilon is not positive for channel ${c}`);
        const s = scale[c]! / Math.sqrt(variance[c]! + epsilon);
        for (let i = 0; i < perChannel; i++) open!.weight[c * perChannel + i] = open!.weight[c * perChannel + i]! * s;
        open!.bias[c] = (open!.bias[c]! - mean[c]!) * s + beta[c]!;
      }
    },
  },
];
