/**
 * Add. Of a constant: the bias of the Conv, Gemm or MatMul right before it (MatMul + Add is how
 * exporters write a dense layer), folded into that layer; before the first layer, part of the
 * input normalisation (normalisation.ts). Of two tensors: a residual block's skip connection,
 * y = layer(x) + skip, where the layer is a Conv, Gemm or MatMul and the skip an earlier output
 * that no later node changed (the input, or a Relu's, Clip's or pool's output), followed by a
 * Relu. The skip's integers must stand for its values at a power-of-two scale (not after a
 * Clip, whose scale is not one, nor the input read as byte / D with D other than 256).
 *
 * In the circuit the layer before gives its accumulators unrequantized (linear combinations),
 * the skip is added at the same scale (times 2^skipShift, a constant: still linear), and one
 * RequantReluClamp per output requantizes the sum: the same cost as a plain Conv + Relu.
 */
import { requantReluClamp } from "../../circuit/reference.ts";
import { signedBitsFor } from "../../circuit/field.ts";
import { requantReluClampConstraints } from "../../compiler/costs.ts";
import { product } from "../graph.ts";
import { addBias, requireWeight } from "../onnx-io.ts";
import { reluRequantization } from "./affine.ts";
import { convOutH, convOutW } from "./conv.ts";
import { addNormalisation } from "./normalisation.ts";
import { elementRef } from "./operator.ts";
import type { CircuitOperator, ImportContext, LayerOperator, OnnxOperator } from "./operator.ts";

export interface AddLayer {
  kind: "add";
  node: string;
  /** The layer whose output is the skip (-1: the graph input). */
  from: number;
}

export interface QuantizedAdd {
  kind: "add";
  node: string;
  /** The quantized layer whose output is the skip (-1: the input bytes). */
  from: number;
  /** The skip enters the sum times 2^skipShift, at the accumulators' scale. */
  skipShift: number;
  /** Unsigned width of the skip. */
  skipBits: number;
  /** Number of values added (and produced). */
  size: number;
  /** Exact range of the sum over every possible input. */
  accMin: number;
  accMax: number;
  accBits: number;
  requant: { shift: number; outBits: number; outScaleBits: number };
}

function importResidual(ctx: ImportContext, skip: { layer: number; shape: number[] }): void {
  const { state, where, fail } = ctx;
  if (!state.open)
    fail(
      `${where} adds two tensors but does not directly follow a Conv, Gemm or MatMul; a residual Add is ` +
        "supported only as layer(x) + skip, right after the block's last Conv, Gemm or MatMul",
    );
  if (skip.shape.length !== state.shape.length || skip.shape.some((d, i) => d !== state.shape[i]))
    fail(
      `${where} adds [${state.shape.join(", ")}] and "${ctx.inputs[1]}" of shape [${skip.shape.join(", ")}]; ` +
        "only tensors of the same shape (no broadcasting) are supported",
    );
  state.layers.push({ kind: "add", node: ctx.label, from: skip.layer });
  state.open = undefined;
}

export const onnx: OnnxOperator[] = [
  {
    op: "Add",
    attributes: [],
    keepsNormalisation: true,
    commutative: true,
    import(ctx) {
      const { state, where, fail } = ctx;
      const other = ctx.inputs[1] ?? "";
      const skip = ctx.constants.has(other) ? undefined : state.tensors.get(other);
      if (skip) return importResidual(ctx, skip);
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

export const layer: LayerOperator<AddLayer, QuantizedAdd> = {
  kind: "add",
  opName: "Add",
  outputSize: (_l, inputSize) => inputSize,
  forward(l, x, earlier) {
    const skip = earlier(l.from);
    return Float64Array.from(x, (v, i) => v + skip[i]!);
  },
  quantize(l, q) {
    const before = q.previousQuantized;
    if (q.previous !== "conv" && q.previous !== "dense")
      q.fail(`${q.where} must directly follow a Conv, Gemm or MatMul, whose accumulators it adds to`);
    if (!before || (before.kind !== "conv" && before.kind !== "dense") || before.requant)
      q.fail(`${q.where}: the layer before it must give its accumulators unrequantized`);
    const affine = before as Extract<typeof before, { kind: "conv" | "dense" }>;
    const accScale = affine.inputScaleBits + affine.weightScaleBits;
    const skip = q.source(l.from);
    // The skip's integers stand for its float values times gain at scale 2^scale; only a gain of
    // 1 and a scale at most the accumulators' make skip * 2^skipShift exact.
    if (skip.gain !== 1)
      q.fail(
        `${q.where}: its skip input carries a scale that is not a power of two (it follows a Clip, or is the input ` +
          "read as byte / D with D other than 256); residual blocks need a Relu output or the input at byte / 256",
      );
    const skipShift = accScale - skip.scale;
    if (skipShift < 0)
      q.fail(
        `${q.where}: its skip input has a finer scale (2^-${skip.scale}) than the sum (2^-${accScale}); raise --weight-bits`,
      );
    const accMin = affine.accMin;
    const accMax = affine.accMax + (2 ** skip.bits - 1) * 2 ** skipShift;
    if (!Number.isSafeInteger(accMax)) q.fail(`${q.where}: accumulator bound exceeds 2^53; lower the weight width`);
    if (q.next !== "relu") q.fail(`${q.where} must be followed by Relu (a residual block ends in one)`);
    const r = reluRequantization(q, accScale);
    return {
      layer: {
        kind: "add",
        node: l.node,
        from: skip.layer,
        skipShift,
        skipBits: skip.bits,
        size: affine.kind === "dense" ? affine.nOut : affine.outC * convOutH(affine) * convOutW(affine),
        accMin,
        accMax,
        accBits: signedBitsFor(accMin, accMax),
        requant: r.requant,
      },
      scale: r.scale,
      bits: r.bits,
      gain: 1,
    };
  },
};

export const circuit: CircuitOperator<QuantizedAdd> = {
  kind: "add",
  outputSize: (l) => l.size,
  reference(l, x, earlier) {
    const skip = earlier(l.from);
    const { shift, outBits } = l.requant;
    return x.map((v, i) => requantReluClamp(v + skip[i]! * 2 ** l.skipShift, l.accBits, shift, outBits));
  },
  libs: () => [],
  emit(l, e) {
    const skip = e.tensorOf(l.from);
    const dims = e.current.dims;
    const n = product(dims);
    const { shift, outBits } = l.requant;
    e.out.push(
      `    // Layer ${e.index} ("${l.node}"): residual Add of layer ${l.from < 0 ? "input" : l.from}'s ${l.skipBits}-bit output ` +
        `times 2^${l.skipShift}; sums in [${l.accMin}, ${l.accMax}] (${l.accBits} signed bits), ` +
        `then floor(/2^${shift}), ReLU, clamp to ${outBits} bits.`,
    );
    e.out.push(`    signal ${e.name}${dims.map((d) => `[${d}]`).join("")};`);
    const out = { name: e.name, dims };
    for (let i = 0; i < n; i++) {
      e.out.push(
        `    ${elementRef(out, i)} <== RequantReluClamp(${l.accBits}, ${shift}, ${outBits})(${elementRef(e.current, i)} + ${2 ** l.skipShift} * ${elementRef(skip, i)});`,
      );
    }
    return { tensor: out };
  },
  cost: (l) => [
    {
      template: `RequantReluClamp(${l.accBits}, ${l.requant.shift}, ${l.requant.outBits})`,
      instances: l.size,
      constraintsEach: requantReluClampConstraints(l.accBits, l.requant.shift, l.requant.outBits),
    },
  ],
  describe: (l) =>
    `${l.node}: residual Add of ${l.from < 0 ? "the input" : `layer ${l.from}`} + ReLU (acc ${l.accBits} bits)`,
};
