/**
 * Transpose of the non-batch axes, e.g. the NHWC -> NCHW of a Keras export before a Flatten:
 * it is folded into the weights of the Gemm or MatMul that follows, which then read the
 * tensor as the layers hold it.
 */
import { product } from "../graph.ts";
import type { OnnxOperator } from "./operator.ts";

export const onnx: OnnxOperator[] = [
  {
    op: "Transpose",
    attributes: ["perm"],
    keepsTranspose: true,
    import(ctx) {
      const { state, where, fail } = ctx;
      const shape = state.shape;
      const rank = shape.length;
      const perm = ctx.ints("perm") ?? Array.from({ length: rank }, (_, d) => rank - 1 - d);
      if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((v, d) => v !== d))
        fail(`${where} has perm [${perm.join(", ")}] for a rank-${rank} tensor`);
      if (rank >= 2 && perm[0] !== 0) fail(`${where} moves the batch axis; only the other axes may be permuted`);
      const next = perm.map((d) => shape[d]!);
      // Strides of the input; for each element of the output (row-major), its input index.
      const stride = shape.map((_, d) => product(shape.slice(d + 1)));
      const n = product(shape);
      const order = new Int32Array(n);
      const transposed = state.transposed;
      for (let i = 0; i < n; i++) {
        let rest = i;
        let j = 0;
        for (let d = rank - 1; d >= 0; d--) {
          const o = rest % next[d]!;
          rest = Math.floor(rest / next[d]!);
          j += o * stride[perm[d]!]!;
        }
        order[i] = transposed ? transposed.order[j]! : j;
      }
      state.transposed = { order, where: transposed?.where ?? where };
      state.shape = next;
    },
  },
];
