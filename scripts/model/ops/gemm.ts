/**
 * Gemm and MatMul: a dense layer y = W x + b (MatMul's bias comes from the Add after it). Gemm's
 * alpha and beta scale the weights and the bias exactly; transB picks the weight's layout, and
 * transA = 1 reads a column [N, 1] input as the row it transposes to. A
 * pending Transpose and the input normalisation fold into the weights. In baked mode each
 * output is a linear combination of the inputs and costs nothing; the RequantReluClamp after a
 * hidden layer carries the cost, and the last layer's combinations are the logits.
 */
import { requantReluClamp } from "../../circuit/reference.ts";
import { requantReluClampConstraints } from "../../compiler/costs.ts";
import { product } from "../graph.ts";
import { addBias, checkMatrix, requireWeight, transpose } from "../onnx-io.ts";
import { quantizeAffine, type QuantizedAffine } from "./affine.ts";
import {
  elementRef,
  type CircuitOperator,
  type ImportContext,
  type LayerOperator,
  type OnnxOperator,
  type SignalTensor,
} from "./operator.ts";

export interface GraphDenseLayer {
  kind: "dense";
  node: string;
  nIn: number;
  nOut: number;
  /** Row-major [nOut][nIn] (ONNX Gemm with transB = 1). */
  weight: Float64Array;
  bias: Float64Array;
}

export interface QuantizedDenseLayer extends QuantizedAffine {
  kind: "dense";
  nIn: number;
  nOut: number;
}

/** The dense layer reading a LeakyRelu's split input: 2 nIn values, the second half weighed by -alpha. */
function splitInput(l: GraphDenseLayer, alpha: number): GraphDenseLayer {
  const weight = new Float64Array(l.nOut * 2 * l.nIn);
  for (let o = 0; o < l.nOut; o++)
    for (let i = 0; i < l.nIn; i++) {
      weight[o * 2 * l.nIn + i] = l.weight[o * l.nIn + i]!;
      weight[o * 2 * l.nIn + l.nIn + i] = -alpha * l.weight[o * l.nIn + i]!;
    }
  return { ...l, nIn: 2 * l.nIn, weight };
}

function denseForward(layer: GraphDenseLayer, x: ArrayLike<number>): Float64Array {
  const { nIn, nOut, weight, bias } = layer;
  const y = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let acc = bias[o]!;
    for (let i = 0; i < nIn; i++) acc += weight[o * nIn + i]! * x[i]!;
    y[o] = acc;
  }
  return y;
}

/** Folds a pending Transpose and the input normalisation into a new dense layer and adds it. */
function addDense(ctx: ImportContext, layer: GraphDenseLayer): void {
  const { state, fail } = ctx;
  const { nIn, nOut } = layer;
  const transposed = state.transposed;
  if (transposed) {
    // The weight of view element i goes to order[i].
    if (state.normalise && state.normalise.scale.length > 1)
      fail(`${transposed.where} follows a per-channel input normalisation; only a scalar one folds with it`);
    const weight = new Float64Array(layer.weight.length);
    for (let o = 0; o < nOut; o++)
      for (let i = 0; i < nIn; i++) weight[o * nIn + transposed.order[i]!] = layer.weight[o * nIn + i]!;
    layer.weight = weight;
    state.transposed = undefined;
  }
  const normalise = state.normalise;
  if (normalise) {
    // w' = w * a, bias' = bias + w . b; a per-channel constant on a flattened [C, H, W] input:
    // input i belongs to channel i / (H W).
    const channels = Math.max(normalise.scale.length, normalise.shift.length);
    const perChannel = nIn / channels;
    const at = (v: Float64Array, i: number) => v[v.length === 1 ? 0 : Math.floor(i / perChannel)]!;
    for (let o = 0; o < nOut; o++)
      for (let i = 0; i < nIn; i++) {
        const j = o * nIn + i;
        layer.bias[o] = layer.bias[o]! + layer.weight[j]! * at(normalise.shift, i);
        layer.weight[j] = layer.weight[j]! * at(normalise.scale, i);
      }
    state.normalise = undefined;
  }
  state.open = layer;
  state.layers.push(layer);
}

function importGemm(ctx: ImportContext): void {
  const { state, node, where, fail } = ctx;
  const alpha = ctx.float("alpha", 1);
  const beta = ctx.float("beta", 1);
  const transA = ctx.int("transA", 0);
  const transB = ctx.int("transB", 0);
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) fail(`${where} has alpha=${alpha}, beta=${beta}`);
  if (transA !== 0 && transA !== 1) fail(`${where} has transA=${transA}; expected 0 or 1`);
  if (transB !== 0 && transB !== 1) fail(`${where} has transB=${transB}; expected 0 or 1`);
  const shape = state.shape;
  // With transA = 1 the input is a column [N, 1], whose transpose is the row [1, N]: same elements.
  const batchAxis = transA === 1 ? 1 : 0;
  if (shape.length !== 2 || shape[batchAxis] !== 1) {
    fail(
      `${where} needs a ${transA === 1 ? "[N, 1] input (transA=1)" : "[1, N] input"}, got [${shape.join(", ")}]; add a Flatten`,
    );
  }
  const nIn = shape[1 - batchAxis]!;
  const w = requireWeight(ctx, node.input[1], "weight B");
  const nOut = checkMatrix(ctx, w, nIn, transB === 1);
  // Y = alpha * A B + beta * C: alpha scales the weights and beta the bias, exactly.
  const weight = (transB === 1 ? Float64Array.from(w.values) : transpose(w.values, nIn, nOut)).map((v) => v * alpha);
  const bias = new Float64Array(nOut);
  if (node.input[2]) addBias(ctx, bias, requireWeight(ctx, node.input[2], "bias C"));
  for (let o = 0; o < nOut; o++) bias[o] = bias[o]! * beta;
  addDense(ctx, { kind: "dense", node: ctx.label, nIn, nOut, weight, bias });
  state.shape = [1, nOut];
}

function importMatMul(ctx: ImportContext): void {
  const { state, node, where, fail } = ctx;
  const shape = state.shape;
  if (shape.length > 2 || product(shape) !== shape[shape.length - 1]) {
    fail(`${where} needs a [1, N] or [N] input, got [${shape.join(", ")}]; add a Flatten`);
  }
  const nIn = shape[shape.length - 1]!;
  const w = requireWeight(ctx, node.input[1], "weight B");
  const nOut = checkMatrix(ctx, w, nIn, false);
  addDense(ctx, {
    kind: "dense",
    node: ctx.label,
    nIn,
    nOut,
    weight: transpose(w.values, nIn, nOut),
    bias: new Float64Array(nOut),
  });
  state.shape = [...shape.slice(0, -1), nOut];
}

export const onnx: OnnxOperator[] = [
  {
    op: "Gemm",
    attributes: ["alpha", "beta", "transA", "transB"],
    keepsTranspose: true,
    keepsNormalisation: true,
    import: importGemm,
  },
  { op: "MatMul", attributes: [], keepsTranspose: true, keepsNormalisation: true, import: importMatMul },
];

/** `target = bias + sum w_i * x_i`, split into statements of at most 32 terms (circom's WASM stack). */
function sumStatements(
  target: string,
  bias: number,
  weights: number[],
  offset: number,
  input: SignalTensor,
  n: number,
) {
  const terms: string[] = [];
  for (let i = 0; i < n; i++) {
    const w = weights[offset + i]!;
    if (w !== 0) terms.push(`${w} * ${elementRef(input, i)}`);
  }
  const lines = [`    ${target} = ${bias};`];
  for (let i = 0; i < terms.length; i += 32) {
    lines.push(`    ${target} += ${terms.slice(i, i + 32).join(" + ")};`.replace(/\+ -/g, "- "));
  }
  return lines;
}

export const layer: LayerOperator<GraphDenseLayer, QuantizedDenseLayer> = {
  kind: "dense",
  opName: "Gemm/MatMul",
  outputSize: (l) => l.nOut,
  forward: denseForward,
  toOnnx(l, w) {
    if (w.rank !== 2) {
      const flat = `${w.current}.flat`;
      w.node("Flatten", [w.current], [w.int("axis", 1)], `${l.node}.flatten`, flat);
      w.current = flat;
      w.rank = 2;
    }
    const weight = `${l.node}.weight`;
    const bias = `${l.node}.bias`;
    w.floatInitializer(weight, [l.nOut, l.nIn], l.weight);
    w.floatInitializer(bias, [l.nOut], l.bias);
    w.node("Gemm", [w.current, weight, bias], [w.int("transB", 1)]);
  },
  quantize(l, q) {
    const input = q.splitAlpha === undefined ? l : splitInput(l, q.splitAlpha);
    const { affine, scale, bits, gain } = quantizeAffine(input, q);
    return {
      layer: { kind: "dense", nIn: input.nIn, nOut: l.nOut, ...affine },
      scale,
      bits,
      gain,
      logits: q.isLast,
    };
  },
};

export const circuit: CircuitOperator<QuantizedDenseLayer> = {
  kind: "dense",
  outputSize: (l) => (l.requant?.split ? 2 : 1) * l.nOut,
  reference(l, x) {
    const y: number[] = [];
    const negative: number[] = [];
    for (let o = 0; o < l.nOut; o++) {
      let acc = l.bias[o]!;
      for (let i = 0; i < l.nIn; i++) acc += l.weight[o * l.nIn + i]! * x[i]!;
      y.push(l.requant ? requantReluClamp(acc, l.accBits, l.requant.shift, l.requant.outBits) : acc);
      if (l.requant?.split) negative.push(requantReluClamp(-acc, l.accBits, l.requant.shift, l.requant.outBits));
    }
    return [...y, ...negative];
  },
  libs: () => [],
  emit(l, e) {
    if (l.requant) {
      const { shift, outBits } = l.requant;
      e.out.push(
        `    // Layer ${e.index} ("${l.node}"): dense ${l.nIn} -> ${l.nOut}; accumulators in ` +
          `[${l.accMin}, ${l.accMax}] (${l.accBits} signed bits), then floor(/2^${shift}), ReLU, clamp to ${outBits} bits.`,
      );
      // A LeakyRelu after it: values nOut.. 2 nOut - 1 hold RequantReluClamp of -acc.
      const halves = l.requant.split ? 2 : 1;
      e.out.push(`    signal ${e.name}[${halves * l.nOut}];`);
      e.out.push(`    var acc${e.index}[${l.nOut}];`);
      const rrc = `RequantReluClamp(${l.accBits}, ${shift}, ${outBits})`;
      for (let o = 0; o < l.nOut; o++) {
        e.out.push(...sumStatements(`acc${e.index}[${o}]`, l.bias[o]!, l.weight, o * l.nIn, e.current, l.nIn));
        e.out.push(`    ${e.name}[${o}] <== ${rrc}(acc${e.index}[${o}]);`);
        if (l.requant.split) e.out.push(`    ${e.name}[${l.nOut + o}] <== ${rrc}(-acc${e.index}[${o}]);`);
      }
      return { tensor: { name: e.name, dims: [halves * l.nOut] } };
    }
    if (!e.isLast) {
      // Before a residual Add (the quantizer allows no other linear hidden layer): the sums stay linear.
      e.out.push(
        `    // Layer ${e.index} ("${l.node}"): dense ${l.nIn} -> ${l.nOut}; accumulators in [${l.accMin}, ${l.accMax}] ` +
          `(${l.accBits} signed bits), linear: the Add after it requantizes.`,
      );
      e.out.push(`    var ${e.name}[${l.nOut}];`);
      for (let o = 0; o < l.nOut; o++)
        e.out.push(...sumStatements(`${e.name}[${o}]`, l.bias[o]!, l.weight, o * l.nIn, e.current, l.nIn));
      return { tensor: { name: e.name, dims: [l.nOut] } };
    }
    e.out.push(
      `    // Layer ${e.index} ("${l.node}"): dense ${l.nIn} -> ${l.nOut} logits in [${l.accMin}, ${l.accMax}]: ` +
        `linear in the previous layer, no constraint.`,
    );
    e.out.push(`    var logits[${l.nOut}];`);
    for (let o = 0; o < l.nOut; o++) {
      e.out.push(...sumStatements(`logits[${o}]`, l.bias[o]!, l.weight, o * l.nIn, e.current, l.nIn));
    }
    return { logits: true };
  },
  cost(l) {
    if (!l.requant) return [];
    const { shift, outBits } = l.requant;
    return [
      {
        template: `RequantReluClamp(${l.accBits}, ${shift}, ${outBits})`,
        instances: (l.requant.split ? 2 : 1) * l.nOut,
        constraintsEach: requantReluClampConstraints(l.accBits, shift, outBits),
      },
    ];
  },
  describe: (l) => `${l.node}: Dense ${l.nIn}->${l.nOut}${l.requant ? " + ReLU" : " (logits)"} (acc ${l.accBits} bits)`,
};
