/**
 * Add of a constant: the bias of the Conv, Gemm or MatMul right before it (MatMul + Add is how
 * exporters write a dense layer), folded into that layer; before the first layer, part of the
 * input normalisation (normalisation.ts).
 */
import { product } from "../graph.ts";
import { addBias, requireWeight } from "../onnx-io.ts";
import { addNormalisation } from "./normalisation.ts";
import type { OnnxOperator } from "./operator.ts";

export const onnx: OnnxOperator[] = [
  {
    op: "Add",
    attributes: [],
    keepsNormalisation: true,
    commutative: true,
    import(ctx) {
      const { state, where, fail } = ctx;
      const open = state.open;
      if (!open && ctx.firstLayer) {
        addNormalisation(ctx, "Add", ctx.inputs[1]);
        return;
      }
      if (!open) fail(`${where} must directly follow a Conv, MatMul or Gemm (only bias additions are supported)`);
      const b = requireWeight(ctx, ctx.inputs[1], "bias");
      if (open!.kind === "dense") {
        addBias(ctx, open!.bias, b);
        return;
      }
      // A per-channel bias broadcast over H and W: [C], [C, 1, 1] or [1, C, 1, 1], or a scalar.
      const count = product(b.dims);
      const perChannel = count === open!.outC && b.dims.filter((d) => d !== 1).length <= 1;
      const channelAxisOk = b.dims.length < 3 || b.dims[b.dims.length - 3] === count;
      if (!(count === 1 || (perChannel && channelAxisOk))) {
        fail(`${where}: bias "${b.name}" has shape [${b.dims.join(", ")}], expected [${open!.outC}, 1, 1]`);
      }
      for (let c = 0; c < open!.outC; c++) open!.bias[c] = open!.bias[c]! + b.values[count === 1 ? 0 : c]!;
    },
  },
];
