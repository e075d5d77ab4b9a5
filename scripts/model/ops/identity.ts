/** Identity and Dropout: no-ops at inference (only the data output may be used). */
import type { ImportContext, OnnxOperator } from "./operator.ts";

function importNoOp(ctx: ImportContext): void {
  const { node, where } = ctx;
  if (node.output.length > 1 && node.output[1]) {
    ctx.fail(`${where} has its mask output "${node.output[1]}" used; only the data output is supported`);
  }
}

export const onnx: OnnxOperator[] = [
  { op: "Identity", attributes: [], keepsTranspose: true, keepsNormalisation: true, import: importNoOp },
  { op: "Dropout", attributes: ["seed", "ratio", "is_test"], keepsTranspose: true, import: importNoOp },
];
