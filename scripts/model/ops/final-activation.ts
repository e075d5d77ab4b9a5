/**
 * Softmax, LogSoftmax and Sigmoid at the very end of the model: monotone, so they keep the
 * class. The importer records the one it finds; the quantizer allows it only when the circuit
 * proves the class (--output class), and the fidelity report applies it to compare with
 * onnxruntime.
 */
import { product } from "../graph.ts";
import type { OnnxOperator } from "./operator.ts";

export const FINAL_ACTIVATIONS = ["Softmax", "LogSoftmax", "Sigmoid"] as const;
export interface FinalActivation {
  op: (typeof FINAL_ACTIVATIONS)[number];
  node: string;
}

/** The final activation applied to logits in float64, as onnxruntime applies it to the file's. */
export function applyFinalActivation(op: FinalActivation["op"], logits: ArrayLike<number>): Float64Array {
  if (op === "Sigmoid") return Float64Array.from(logits, (v) => 1 / (1 + Math.exp(-v)));
  const max = Math.max(...Array.from(logits));
  const logSum = Math.log(Array.from(logits).reduce((s, v) => s + Math.exp(v - max), 0)) + max;
  return Float64Array.from(logits, (v) => (op === "Softmax" ? Math.exp(v - logSum) : v - logSum));
}

function finalActivation(op: (typeof FINAL_ACTIVATIONS)[number]): OnnxOperator {
  return {
    op,
    attributes: op === "Sigmoid" ? [] : ["axis"],
    import(ctx) {
      const { state, where } = ctx;
      const shape = state.shape;
      if (op !== "Sigmoid") {
        let axis = ctx.int("axis", -1);
        if (axis < 0) axis += shape.length;
        if (axis !== shape.length - 1 || product(shape) !== shape[axis])
          ctx.fail(
            `${where} has axis ${ctx.int("axis", -1)} on [${shape.join(", ")}]; only the class axis of [1, N] is supported`,
          );
      }
      state.final = { op, node: ctx.label };
      state.open = undefined;
    },
  };
}

export const onnx: OnnxOperator[] = FINAL_ACTIVATIONS.map(finalActivation);
