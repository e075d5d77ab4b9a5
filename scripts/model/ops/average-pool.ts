/**
 * AveragePool: floor(window sum / k^2) (AvgPool2D in circuits/lib/avg-pool.circom), counting
 * the padding (count_include_pad = 1); k^2 must be a power of two, so the division is a shift.
 */
import { avgPoolWindowConstraints } from "../../compiler/costs.ts";
import { poolLayer, poolOnnx } from "./pool.ts";

export const onnx = [
  poolOnnx("AveragePool", "avgpool", ["kernel_shape", "strides", "pads", "ceil_mode", "count_include_pad", "auto_pad"]),
];

export const { layer, circuit } = poolLayer({
  kind: "avgpool",
  opName: "AveragePool",
  lib: "avg-pool",
  template: "AvgPool2D",
  windowConstraints: avgPoolWindowConstraints,
  checkQuantize(l, q) {
    if (!Number.isInteger(Math.log2(l.k * l.k))) {
      q.fail(`${q.where} has a ${l.k}x${l.k} window; AveragePool needs k*k a power of two (k = 2 or 4)`);
    }
  },
});
