/** Constant: a tensor node, read like an initializer by the nodes that use it (shapes, pads, biases). */
import { readTensor } from "../onnx-io.ts";
import type { OnnxOperator } from "./operator.ts";

export const onnx: OnnxOperator[] = [
  {
    op: "Constant",
    attributes: ["value"],
    takesPad: true,
    keepsTranspose: true,
    keepsNormalisation: true,
    offChain: true,
    import(ctx) {
      const { node, where, fail } = ctx;
      const value = ctx.attribute("value");
      if (!value?.t || node.output.length !== 1) fail(`${where} must have a tensor "value" attribute and one output`);
      const t = readTensor(value!.t!, fail);
      ctx.constants.set(node.output[0]!, { ...t, name: node.output[0]! });
    },
  },
];
