/** Flatten: keeps the element order (NCHW flattened), so it only changes the shape the next layer reads. */
import { product } from "../graph.ts";
import type { OnnxOperator } from "./operator.ts";

export const onnx: OnnxOperator[] = [
  {
    op: "Flatten",
    attributes: ["axis"],
    keepsTranspose: true,
    keepsNormalisation: true,
    import(ctx) {
      const { state, where, fail } = ctx;
      const shape = state.shape;
      const rank = shape.length;
      let axis = ctx.int("axis", 1);
      if (axis < 0) axis += rank;
      if (axis < 0 || axis > rank) fail(`${where} has axis ${axis} out of range for rank ${rank}`);
      const outer = product(shape.slice(0, axis));
      if (outer !== 1) fail(`${where} would give a batch of ${outer}; only batch size 1 is supported`);
      state.shape = [1, product(shape.slice(axis))];
    },
  },
];
