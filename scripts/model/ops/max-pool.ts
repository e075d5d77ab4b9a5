/**
 * MaxPool: the maximum of each window (MaxPool2D in circuits/lib/max-pool.circom), on clamped
 * unsigned activations; its zero padding never wins, as its inputs are never negative.
 */
import { maxPoolWindowConstraints } from "../../compiler/costs.ts";
import { poolLayer, poolOnnx } from "./pool.ts";

export const onnx = [
  poolOnnx("MaxPool", "maxpool", [
    "kernel_shape",
    "strides",
    "pads",
    "dilations",
    "ceil_mode",
    "storage_order",
    "auto_pad",
  ]),
];

export const { layer, circuit } = poolLayer({
  kind: "maxpool",
  opName: "MaxPool",
  lib: "max-pool",
  template: "MaxPool2D",
  windowConstraints: maxPoolWindowConstraints,
});
