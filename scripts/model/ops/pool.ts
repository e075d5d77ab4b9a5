/**
 * What MaxPool (max-pool.ts) and AveragePool (average-pool.ts) share: a square window, equal
 * strides, the same zero padding on every side (a Pad before the pool folds in), floor mode,
 * and the circuit side: zero padding as constant signals, then an unpadded pool template on the
 * clamped unsigned activations, which keeps their scale and width.
 */
import { avgPool2D, maxPool2D, type Chw } from "../../circuit/reference-layers.ts";
import { outputSide } from "../graph.ts";
import type {
  CircuitOperator,
  EmitContext,
  Emitted,
  ImportContext,
  LayerOperator,
  OnnxOperator,
  QuantizeContext,
} from "./operator.ts";

export interface PoolLayer {
  kind: "maxpool" | "avgpool";
  node: string;
  C: number;
  inH: number;
  inW: number;
  /** Square window side. */
  k: number;
  stride: number;
  /**
   * Zero padding on every side (absent: none). An AveragePool counts the padding (ONNX's
   * count_include_pad = 1, or a Pad node before it); a MaxPool's never wins, as its inputs are
   * ReLU outputs or input bytes, never negative.
   */
  pad?: number;
}

export interface QuantizedPool {
  kind: "maxpool" | "avgpool";
  node: string;
  inH: number;
  inW: number;
  C: number;
  k: number;
  stride: number;
  /** Zero padding on every side (absent: none), as in PoolLayer. */
  pad?: number;
  /** Width of the unsigned values pooled (and produced). */
  bits: number;
  scaleBits: number;
}

type PoolShape = Pick<PoolLayer, "C" | "inH" | "inW" | "k" | "stride" | "pad">;

/** Values a pool produces: C x outH x outW, its padding included. */
export function poolOutputSize(layer: PoolShape): number {
  const pad = layer.pad ?? 0;
  return (
    layer.C * outputSide(layer.inH, layer.k, layer.stride, pad) * outputSide(layer.inW, layer.k, layer.stride, pad)
  );
}

/** Max or mean of each k x k window, in float64 (padding: skipped by max, counted as 0 by mean). */
export function poolForward(layer: PoolLayer, x: ArrayLike<number>): Float64Array {
  const { C, inH, inW, k, stride } = layer;
  const pad = layer.pad ?? 0;
  const outH = outputSide(inH, k, stride, pad);
  const outW = outputSide(inW, k, stride, pad);
  const y = new Float64Array(C * outH * outW);
  for (let c = 0; c < C; c++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let max = -Infinity;
        let sum = 0;
        for (let kh = 0; kh < k; kh++) {
          for (let kw = 0; kw < k; kw++) {
            const h = oy * stride + kh - pad;
            const w = ox * stride + kw - pad;
            if (h < 0 || h >= inH || w < 0 || w >= inW) continue;
            const v = x[(c * inH + h) * inW + w]!;
            if (v > max) max = v;
            sum += v;
          }
        }
        y[(c * outH + oy) * outW + ox] = layer.kind === "maxpool" ? max : sum / (k * k);
      }
    }
  }
  return y;
}

/** Imports a MaxPool or AveragePool node (`kind` says which) into a pool layer. */
export function importPool(ctx: ImportContext, kind: PoolLayer["kind"]): void {
  const { state, node, where, op, fail } = ctx;
  const { C, H, W } = ctx.needImage();
  ctx.checkAutoPad();
  if (kind === "maxpool") {
    const d = ctx.ints("dilations");
    if (d && d.some((v) => v !== 1)) fail(`${where} has dilations [${d.join(", ")}]; only dilation 1 is supported`);
    if (ctx.int("storage_order", 0) !== 0) fail(`${where} has storage_order=1, which is not supported`);
  }
  if (node.output.length > 1 && node.output[1]) {
    fail(`${where} has its Indices output "${node.output[1]}" used; only the pooled values are supported`);
  }
  const k = ctx.squareKernel(ctx.ints("kernel_shape"));
  const stride = ctx.equalStrides();
  const pads = ctx.ints("pads") ?? [0, 0, 0, 0];
  if (pads.length !== 4 || pads.some((p) => p !== pads[0]) || pads[0]! < 0)
    fail(`${where} has pads [${pads.join(", ")}]; only the same padding on every side is supported`);
  // An AveragePool that pads must count the padding (a fixed divisor k^2): count_include_pad = 1.
  if (op === "AveragePool" && pads[0]! > 0 && ctx.int("count_include_pad", 0) !== 1)
    fail(
      `${where} pads by ${pads[0]} with count_include_pad=0, so its border windows divide by fewer than ` +
        `${k * k} values; re-export with count_include_pad=1 (PyTorch's default) or without padding`,
    );
  // A Pad node before the pool pads with zeros the pool then counts, as count_include_pad = 1 does.
  const pad = pads[0]! + (state.pendingPad?.pad ?? 0);
  state.pendingPad = undefined;
  if (pad >= k) fail(`${where} pads by ${pad}, not less than its ${k}x${k} window`);
  if (k > H + 2 * pad || k > W + 2 * pad) fail(`${where}: a ${k}x${k} window does not fit a ${H}x${W} input`);
  // ceil_mode changes the output only when the last window would run past the edge.
  if (ctx.int("ceil_mode", 0) !== 0 && ((H + 2 * pad - k) % stride !== 0 || (W + 2 * pad - k) % stride !== 0)) {
    fail(`${where} has ceil_mode=1 with partial windows; re-export with ceil_mode=0`);
  }
  state.layers.push({ kind, node: ctx.label, C, inH: H, inW: W, k, stride, ...(pad > 0 ? { pad } : {}) });
  state.open = undefined;
  state.shape = [1, C, outputSide(H, k, stride, pad), outputSide(W, k, stride, pad)];
}

export function poolOnnx(op: "MaxPool" | "AveragePool", kind: PoolLayer["kind"], attributes: string[]): OnnxOperator {
  return { op, attributes, takesPad: true, import: (ctx) => importPool(ctx, kind) };
}

function quantizePool(l: PoolLayer, q: QuantizeContext) {
  const { kind, node, inH, inW, C, k, stride } = l;
  const layer: QuantizedPool = {
    kind,
    node,
    inH,
    inW,
    C,
    k,
    stride,
    ...(l.pad ? { pad: l.pad } : {}),
    bits: q.bits,
    scaleBits: q.scale,
  };
  return { layer, scale: q.scale, bits: q.bits };
}

function toChw(flat: number[], C: number, H: number, W: number): Chw {
  return Array.from({ length: C }, (_, c) =>
    Array.from({ length: H }, (_, h) => flat.slice((c * H + h) * W, (c * H + h + 1) * W)),
  );
}

function referencePool(l: QuantizedPool, x: number[]): number[] {
  // Zero padding first (the circuit pads with constant zeros the same way), then an unpadded pool.
  const p = l.pad ?? 0;
  const [inH, inW] = [l.inH + 2 * p, l.inW + 2 * p];
  const shape = { inH, inW, C: l.C, k: l.k, stride: l.stride };
  const image = toChw(x, l.C, l.inH, l.inW);
  const input = image.map((plane) =>
    Array.from({ length: inH }, (_, h) =>
      Array.from({ length: inW }, (_, w) =>
        h < p || h >= p + l.inH || w < p || w >= p + l.inW ? 0 : plane[h - p]![w - p]!,
      ),
    ),
  );
  return (l.kind === "maxpool" ? maxPool2D(input, shape, l.bits) : avgPool2D(input, shape, l.bits)).flat(2);
}

function emitPool(layer: QuantizedPool, e: EmitContext): Emitted {
  const { out, name } = e;
  const { C, k, stride, bits } = layer;
  const p = layer.pad ?? 0;
  let input = e.asImage(C, layer.inH, layer.inW);
  const [inH, inW] = [layer.inH + 2 * p, layer.inW + 2 * p];
  if (p > 0) {
    // Zero padding as constant signals: the pool reads them like any value (a window of
    // nothing but zeros has mean and max 0, as the reference computes).
    const padded = { name: `${name}pad`, dims: [C, inH, inW] };
    out.push(`    signal ${padded.name}[${C}][${inH}][${inW}];`);
    out.push(`    for (var c = 0; c < ${C}; c++) {`);
    out.push(`        for (var h = 0; h < ${inH}; h++) {`);
    out.push(`            for (var w = 0; w < ${inW}; w++) {`);
    out.push(`                if (h < ${p} || h >= ${p + layer.inH} || w < ${p} || w >= ${p + layer.inW}) {`);
    out.push(`                    ${padded.name}[c][h][w] <== 0;`);
    out.push(`                } else {`);
    out.push(`                    ${padded.name}[c][h][w] <== ${input.name}[c][h - ${p}][w - ${p}];`);
    out.push(`                }`);
    out.push(`            }`);
    out.push(`        }`);
    out.push(`    }`);
    input = padded;
  }
  const outH = Math.floor((inH - k) / stride) + 1;
  const outW = Math.floor((inW - k) / stride) + 1;
  const template = layer.kind === "maxpool" ? "MaxPool2D" : "AvgPool2D";
  out.push(
    `    // Layer ${e.index} ("${layer.node}"): ${template} ${k}x${k}, stride ${stride}, on ${bits}-bit unsigned ` +
      `values (outputs of RequantReluClamp or of the range-checked input).`,
  );
  // Windows that do not reach the last rows or columns (floor mode) leave them unread: the
  // pool gets only the rows and columns its windows cover, as the reference reads them.
  const usedH = (outH - 1) * stride + k;
  const usedW = (outW - 1) * stride + k;
  let pooled = input.name;
  if (usedH < inH || usedW < inW) {
    pooled = `${name}in`;
    out.push(`    signal ${pooled}[${C}][${usedH}][${usedW}];`);
    out.push(`    for (var c = 0; c < ${C}; c++) {`);
    out.push(`        for (var h = 0; h < ${usedH}; h++) {`);
    out.push(`            for (var w = 0; w < ${usedW}; w++) ${pooled}[c][h][w] <== ${input.name}[c][h][w];`);
    out.push(`        }`);
    out.push(`    }`);
  }
  out.push(
    `    signal ${name}[${C}][${outH}][${outW}] <== ${template}(${usedH}, ${usedW}, ${C}, ${k}, ${stride}, ${bits})(${pooled});`,
  );
  return { tensor: { name, dims: [C, outH, outW] } };
}

/** The template parameters as the cost table names them (the padded input's sides). */
export function poolParams(l: QuantizedPool): string {
  const p = l.pad ?? 0;
  return `${l.inH + 2 * p}, ${l.inW + 2 * p}, ${l.C}, ${l.k}, ${l.stride}, ${l.bits}`;
}

/** The pool's operators; the template, its window cost and its lib are what differ between MaxPool and AveragePool. */
export function poolLayer(o: {
  kind: PoolLayer["kind"];
  opName: string;
  lib: string;
  template: string;
  windowConstraints(k: number, bits: number): number;
  checkQuantize?(l: PoolLayer, q: QuantizeContext): void;
}): { layer: LayerOperator<PoolLayer, QuantizedPool>; circuit: CircuitOperator<QuantizedPool> } {
  const layer: LayerOperator<PoolLayer, QuantizedPool> = {
    kind: o.kind,
    opName: o.opName,
    outputSize: poolOutputSize,
    forward: poolForward,
    toOnnx(l, w) {
      w.node(
        o.opName,
        [w.current],
        [
          w.ints("kernel_shape", [l.k, l.k]),
          w.ints("strides", [l.stride, l.stride]),
          ...(l.pad
            ? [
                w.ints("pads", [l.pad, l.pad, l.pad, l.pad]),
                ...(l.kind === "avgpool" ? [w.int("count_include_pad", 1)] : []),
              ]
            : []),
        ],
      );
    },
    quantize(l, q) {
      o.checkQuantize?.(l, q);
      return quantizePool(l, q);
    },
  };
  const circuit: CircuitOperator<QuantizedPool> = {
    kind: o.kind,
    outputSize: poolOutputSize,
    reference: referencePool,
    libs: () => [o.lib],
    emit: emitPool,
    cost: (l) => [
      {
        template: `${o.template}(${poolParams(l)}) windows`,
        instances: poolOutputSize(l),
        constraintsEach: o.windowConstraints(l.k, l.bits),
      },
    ],
    describe: (l) =>
      `${l.node}: ${o.opName} ${l.k}x${l.k} stride ${l.stride}${l.pad ? ` pad ${l.pad}` : ""} on ${l.C}x${l.inH}x${l.inW}`,
  };
  return { layer, circuit };
}
