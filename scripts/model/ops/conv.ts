/**
 * Conv: a 2-D convolution with a square kernel, equal strides and dilations (a dilated kernel
 * becomes an undilated one with zeros between its taps), the same zero padding on every side (a
 * Pad before it folds in) and group 1. A Transpose before it (an NHWC input) becomes a
 * Transpose layer (transpose.ts). The input normalisation folds into its weights
 * when it is the first layer. In baked mode each output is a linear combination of input
 * signals (conv-baked.ts) and costs nothing; the RequantReluClamp after it carries the cost.
 */
import { conv2dLinearCombinations } from "../../circuit/conv-baked.ts";
import { requantReluClamp } from "../../circuit/reference.ts";
import { conv2DCommitted, type Chw, type Conv2DShape } from "../../circuit/reference-layers.ts";
import { requantReluClampConstraints } from "../../compiler/costs.ts";
import { outputSide, product } from "../graph.ts";
import { requireWeight } from "../onnx-io.ts";
import { quantizeAffine, type QuantizedAffine } from "./affine.ts";
import { materialiseTranspose } from "./transpose.ts";
import type { CircuitOperator, ImportContext, LayerOperator, OnnxOperator } from "./operator.ts";

export interface ConvLayer {
  kind: "conv";
  /** The ONNX node it came from, for messages. */
  node: string;
  inC: number;
  inH: number;
  inW: number;
  outC: number;
  /** Square kernel side. */
  k: number;
  stride: number;
  /** Zero padding on every side. */
  pad: number;
  /** [outC][inC][k][k] flat, as ONNX stores a Conv weight. */
  weight: Float64Array;
  bias: Float64Array;
}

export interface QuantizedConv extends QuantizedAffine, Conv2DShape {
  kind: "conv";
}

type ConvShape = Pick<ConvLayer, "inH" | "inW" | "k" | "stride" | "pad">;

export function convOutH(layer: ConvShape): number {
  return outputSide(layer.inH, layer.k, layer.stride, layer.pad);
}

export function convOutW(layer: ConvShape): number {
  return outputSide(layer.inW, layer.k, layer.stride, layer.pad);
}

/** y = conv(x) + b with zero padding, in float64. */
export function convForward(layer: ConvLayer, x: ArrayLike<number>): Float64Array {
  const { inC, inH, inW, outC, k, stride, pad, weight, bias } = layer;
  const outH = convOutH(layer);
  const outW = convOutW(layer);
  const y = new Float64Array(outC * outH * outW);
  for (let oc = 0; oc < outC; oc++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let acc = bias[oc]!;
        for (let ic = 0; ic < inC; ic++) {
          for (let kh = 0; kh < k; kh++) {
            const h = oy * stride + kh - pad;
            if (h < 0 || h >= inH) continue;
            for (let kw = 0; kw < k; kw++) {
              const w = ox * stride + kw - pad;
              if (w < 0 || w >= inW) continue;
              acc += weight[((oc * inC + ic) * k + kh) * k + kw]! * x[(ic * inH + h) * inW + w]!;
            }
          }
        }
        y[(oc * outH + oy) * outW + ox] = acc;
      }
    }
  }
  return y;
}

/** The integer weights as [outC][inC][k][k], as the reference and the generator index them. */
function weights4d(layer: QuantizedConv): number[][][][] {
  const { inC, outC, k } = layer;
  return Array.from({ length: outC }, (_, oc) =>
    Array.from({ length: inC }, (_, ic) =>
      Array.from({ length: k }, (_, kh) =>
        layer.weight.slice(((oc * inC + ic) * k + kh) * k, ((oc * inC + ic) * k + kh + 1) * k),
      ),
    ),
  );
}

function toChw(flat: number[], C: number, H: number, W: number): Chw {
  return Array.from({ length: C }, (_, c) =>
    Array.from({ length: H }, (_, h) => flat.slice((c * H + h) * W, (c * H + h + 1) * W)),
  );
}

/** Spreads each taps x taps kernel of `kernels` out to ((taps - 1) * dilation + 1)^2, zeros between. */
export function dilate(weights: ArrayLike<number>, kernels: number, taps: number, dilation: number): Float64Array {
  if (dilation === 1) return Float64Array.from(weights);
  const k = (taps - 1) * dilation + 1;
  const out = new Float64Array(kernels * k * k);
  for (let n = 0; n < kernels; n++)
    for (let kh = 0; kh < taps; kh++)
      for (let kw = 0; kw < taps; kw++)
        out[(n * k + kh * dilation) * k + kw * dilation] = weights[(n * taps + kh) * taps + kw]!;
  return out;
}

/** The Conv reading a LeakyRelu's split input: 2 inC channels, the second half weighed by -alpha. */
function splitInput(l: ConvLayer, alpha: number): ConvLayer {
  const kk = l.k * l.k;
  const weight = new Float64Array(l.outC * 2 * l.inC * kk);
  for (let oc = 0; oc < l.outC; oc++)
    for (let ic = 0; ic < l.inC; ic++)
      for (let j = 0; j < kk; j++) {
        const w = l.weight[(oc * l.inC + ic) * kk + j]!;
        weight[(oc * 2 * l.inC + ic) * kk + j] = w;
        weight[(oc * 2 * l.inC + l.inC + ic) * kk + j] = -alpha * w;
      }
  return { ...l, inC: 2 * l.inC, weight };
}

function importConv(ctx: ImportContext): void {
  const { state, node, where, fail } = ctx;
  materialiseTranspose(ctx);
  const { C, H, W } = ctx.needImage();
  ctx.checkAutoPad();
  const d = ctx.ints("dilations") ?? [1, 1];
  if (d.length !== 2 || d[0] !== d[1] || d[0]! < 1)
    fail(`${where} has dilations [${d.join(", ")}]; only equal dilations along both axes are supported`);
  const dilation = d[0]!;
  if (ctx.int("group", 1) !== 1) fail(`${where} has group=${ctx.int("group", 1)}; only group=1 is supported`);
  const w = requireWeight(ctx, node.input[1], "weight W");
  if (w.dims.length !== 4 || w.dims[1] !== C) {
    fail(
      `${where}: weight "${w.name}" has shape [${w.dims.join(", ")}], expected [outC, ${C}, k, k] ` +
        `for an input of ${C} channels`,
    );
  }
  const taps = ctx.squareKernel(ctx.ints("kernel_shape"), w.dims.slice(2));
  if (w.dims[2] !== taps || w.dims[3] !== taps) {
    fail(`${where}: weight "${w.name}" has shape [${w.dims.join(", ")}] but kernel_shape is [${taps}, ${taps}]`);
  }
  // A dilated kernel is the undilated kernel of side (taps - 1) * dilation + 1 with zeros between
  // its taps: the same function, and zero weights cost nothing in a baked circuit.
  const k = (taps - 1) * dilation + 1;
  const stride = ctx.equalStrides();
  const pads = ctx.ints("pads") ?? [0, 0, 0, 0];
  if (pads.length !== 4 || pads.some((p) => p !== pads[0]) || pads[0]! < 0) {
    fail(`${where} has pads [${pads.join(", ")}]; only the same padding on every side is supported`);
  }
  const pad = pads[0]! + (state.pendingPad?.pad ?? 0);
  state.pendingPad = undefined;
  const outC = w.dims[0]!;
  const outH = outputSide(H, k, stride, pad);
  const outW = outputSide(W, k, stride, pad);
  if (outH < 1 || outW < 1) fail(`${where}: a ${k}x${k} kernel does not fit a ${H}x${W} input`);
  const bias = new Float64Array(outC);
  if (node.input[2]) {
    const b = requireWeight(ctx, node.input[2], "bias B");
    if (product(b.dims) !== outC) {
      fail(`${where}: bias "${b.name}" has shape [${b.dims.join(", ")}], expected [${outC}]`);
    }
    bias.set(b.values);
  }
  const layer: ConvLayer = {
    kind: "conv",
    node: ctx.label,
    inC: C,
    inH: H,
    inW: W,
    outC,
    k,
    stride,
    pad,
    weight: dilate(w.values, w.dims[0]! * C, taps, dilation),
    bias,
  };
  const normalise = state.normalise;
  if (normalise) {
    // conv(x * a + b) = conv'(x) with w' = w * a[ic] and bias' = bias + sum w * b[ic], except
    // where the kernel reads padding: there the file pads the normalised input with 0.
    if (pad > 0 && normalise.shift.some((v) => v !== 0))
      fail(
        `${normalise.where} shifts the input before ${where}, which pads it: the padded border would not ` +
          "fold exactly; normalise inside the model's data instead, or use an unpadded first Conv",
      );
    const at = (v: Float64Array, ic: number) => v[v.length === 1 ? 0 : ic]!;
    if (normalise.scale.length !== 1 && normalise.scale.length !== C)
      fail(`${normalise.where}: a per-channel constant of ${normalise.scale.length} values for ${C} channels`);
    const kk = k * k;
    for (let oc = 0; oc < outC; oc++)
      for (let ic = 0; ic < C; ic++)
        for (let j = 0; j < kk; j++) {
          const i = (oc * C + ic) * kk + j;
          layer.bias[oc] = layer.bias[oc]! + layer.weight[i]! * at(normalise.shift, ic);
          layer.weight[i] = layer.weight[i]! * at(normalise.scale, ic);
        }
    state.normalise = undefined;
  }
  state.layers.push(layer);
  state.open = layer;
  state.shape = [1, outC, outH, outW];
}

export const onnx: OnnxOperator[] = [
  {
    op: "Conv",
    attributes: ["kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"],
    takesPad: true,
    keepsTranspose: true,
    keepsNormalisation: true,
    import: importConv,
  },
];

export const layer: LayerOperator<ConvLayer, QuantizedConv> = {
  kind: "conv",
  opName: "Conv",
  outputSize: (l) => l.outC * convOutH(l) * convOutW(l),
  forward: convForward,
  toOnnx(l, w) {
    const weight = `${l.node}.weight`;
    const bias = `${l.node}.bias`;
    w.floatInitializer(weight, [l.outC, l.inC, l.k, l.k], l.weight);
    w.floatInitializer(bias, [l.outC], l.bias);
    w.node(
      "Conv",
      [w.current, weight, bias],
      [
        w.ints("kernel_shape", [l.k, l.k]),
        w.ints("strides", [l.stride, l.stride]),
        w.ints("pads", [l.pad, l.pad, l.pad, l.pad]),
      ],
    );
  },
  quantize(l, q) {
    if (q.isLast) q.fail(`${q.where} is the last layer; the logits must come from a Gemm or MatMul`);
    const input = q.splitAlpha === undefined ? l : splitInput(l, q.splitAlpha);
    const { affine, scale, bits, gain } = quantizeAffine(input, q);
    const { inH, inW, inC, outC, k, stride, pad } = input;
    return { layer: { kind: "conv", inH, inW, inC, outC, k, stride, pad, ...affine }, scale, bits, gain };
  },
};

export const circuit: CircuitOperator<QuantizedConv> = {
  kind: "conv",
  outputSize: (l) => (l.requant?.split ? 2 : 1) * l.outC * convOutH(l) * convOutW(l),
  reference(l, x) {
    const { inC, inH, inW, outC, k, stride, pad } = l;
    const acc = conv2DCommitted(toChw(x, inC, inH, inW), weights4d(l), l.bias, {
      inH,
      inW,
      inC,
      outC,
      k,
      stride,
      pad,
    }).flat(2);
    const r = l.requant;
    if (!r) return acc;
    const pos = acc.map((a) => requantReluClamp(a, l.accBits, r.shift, r.outBits));
    return r.split ? [...pos, ...acc.map((a) => requantReluClamp(-a, l.accBits, r.shift, r.outBits))] : pos;
  },
  libs: () => [],
  emit(l, e) {
    const { inC, inH, inW, outC, k, stride, pad, requant } = l;
    const input = e.asImage(inC, inH, inW);
    const combos = conv2dLinearCombinations({ inH, inW, inC, outC, k, stride, pad }, weights4d(l), l.bias, input.name);
    const outH = combos[0]!.length;
    const outW = combos[0]![0]!.length;
    if (!requant) {
      // Before a residual Add (the quantizer allows no other linear Conv): the sums stay linear.
      e.out.push(
        `    // Layer ${e.index} ("${l.node}"): Conv ${k}x${k}, ${inC} -> ${outC} channels, stride ${stride}, pad ${pad}; ` +
          `accumulators in [${l.accMin}, ${l.accMax}] (${l.accBits} signed bits), linear: the Add after it requantizes.`,
      );
      e.out.push(`    var ${e.name}[${outC}][${outH}][${outW}];`);
      combos.forEach((plane, oc) =>
        plane.forEach((row, y) =>
          row.forEach((combo, x) => e.out.push(`    ${e.name}[${oc}][${y}][${x}] = ${combo};`)),
        ),
      );
      return { tensor: { name: e.name, dims: [outC, outH, outW] } };
    }
    e.out.push(
      `    // Layer ${e.index} ("${l.node}"): Conv ${k}x${k}, ${inC} -> ${outC} channels, stride ${stride}, pad ${pad}; ` +
        `accumulators in [${l.accMin}, ${l.accMax}] (${l.accBits} signed bits), ` +
        `then floor(/2^${requant.shift}), ReLU, clamp to ${requant.outBits} bits.`,
    );
    // A LeakyRelu after it: channels outC.. 2 outC - 1 hold RequantReluClamp of -acc.
    const halves = requant.split ? 2 : 1;
    e.out.push(`    signal ${e.name}[${halves * outC}][${outH}][${outW}];`);
    const rrc = `RequantReluClamp(${l.accBits}, ${requant.shift}, ${requant.outBits})`;
    combos.forEach((plane, oc) =>
      plane.forEach((row, y) =>
        row.forEach((combo, x) => {
          e.out.push(`    ${e.name}[${oc}][${y}][${x}] <== ${rrc}(${combo});`);
          if (requant.split) e.out.push(`    ${e.name}[${outC + oc}][${y}][${x}] <== ${rrc}(-(${combo}));`);
        }),
      ),
    );
    return { tensor: { name: e.name, dims: [halves * outC, outH, outW] } };
  },
  cost(l) {
    if (!l.requant) return [];
    const { shift, outBits } = l.requant;
    return [
      {
        template: `RequantReluClamp(${l.accBits}, ${shift}, ${outBits})`,
        instances: (l.requant.split ? 2 : 1) * l.outC * convOutH(l) * convOutW(l),
        constraintsEach: requantReluClampConstraints(l.accBits, shift, outBits),
      },
    ];
  },
  describe: (l) =>
    `${l.node}: Conv ${l.k}x${l.k} ${l.inC}->${l.outC} stride ${l.stride} pad ${l.pad}${l.requant ? " + ReLU" : ""} (acc ${l.accBits} bits)`,
};
