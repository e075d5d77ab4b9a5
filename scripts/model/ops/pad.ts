/**
 * Pad with constant zeros on H and W, the same on every side: folded into the Conv,
 * AveragePool or MaxPool that follows (PyTorch writes one before every AveragePool, padding
 * nothing when the pool does not pad).
 */
import onnxProto from "onnx-proto";
import type { OnnxOperator } from "./operator.ts";

const { DataType } = onnxProto.onnx.TensorProto;

export const onnx: OnnxOperator[] = [
  {
    op: "Pad",
    // Opset < 11 carries pads and value as attributes, later opsets as inputs.
    attributes: ["mode", "pads", "value"],
    import(ctx) {
      const { state, node, where, fail, constants } = ctx;
      const mode = ctx.text("mode", "constant");
      if (mode !== "constant") fail(`${where} has mode=${mode}; only constant (zero) padding is supported`);
      const padsTensor = node.input[1] ? constants.get(node.input[1]) : undefined;
      if (node.input[1] && (!padsTensor || padsTensor.dataType !== DataType.INT64))
        fail(`${where} needs constant int64 pads; re-export with fixed padding`);
      const pads = padsTensor ? Array.from(padsTensor.values) : (ctx.ints("pads") ?? []);
      const valueTensor = node.input[2] ? constants.get(node.input[2]) : undefined;
      if (node.input[2] && !valueTensor) fail(`${where} needs a constant padding value`);
      const value = valueTensor ? (valueTensor.values[0] ?? 0) : ctx.float("value", 0);
      if (value !== 0) fail(`${where} pads with ${value}; only zero padding is supported`);
      const rank = state.shape.length;
      if (pads.length !== 2 * rank) fail(`${where} has ${pads.length} pads for a rank-${rank} tensor`);
      const spatial = rank === 4 ? [pads[2], pads[3], pads[6], pads[7]] : [];
      const other = rank === 4 ? [pads[0], pads[1], pads[4], pads[5]] : pads;
      if (other.some((p) => p !== 0)) fail(`${where} pads [${pads.join(", ")}]: only the H and W axes may be padded`);
      if (spatial.some((p) => p !== spatial[0]) || (spatial[0] ?? 0) < 0)
        fail(`${where} pads [${pads.join(", ")}]; only the same padding on every side of H and W is supported`);
      if ((spatial[0] ?? 0) > 0) state.pendingPad = { pad: spatial[0]!, where };
    },
  },
];
