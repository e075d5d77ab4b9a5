/**
 * Integer reference semantics of the layer templates in circuits/lib (dense.circom,
 * conv2d.circom, avg-pool.circom, max-pool.circom, commitment-signed.circom). Each function
 * has the name of its template and the same arithmetic: floor division for negatives, zero
 * padding, CHW layout. The circuits are tested against these value for value.
 */
import { packedCommitment } from "./reference.ts";

/** A tensor in channel, height, width order, as the circuits lay out their signal arrays. */
export type Chw = number[][][];

/** Shape of a 2-D convolution, named after the template parameters. */
export interface Conv2DShape {
  inH: number;
  inW: number;
  inC: number;
  outC: number;
  k: number;
  stride: number;
  pad: number;
}

/** Shape of a 2-D pooling layer (no padding). */
export interface Pool2DShape {
  inH: number;
  inW: number;
  C: number;
  k: number;
  stride: number;
}

function checkUnsigned(name: string, value: number, bits: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new RangeError(`${name} = ${value} is outside the unsigned ${bits}-bit range [0, ${2 ** bits})`);
  }
}

function checkSafe(name: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name} = ${value} is not a safe integer`);
  return value;
}

function checkShape(name: string, tensor: Chw, c: number, h: number, w: number): void {
  const ok = tensor.length === c && tensor.every((p) => p.length === h && p.every((r) => r.length === w));
  if (!ok) throw new RangeError(`${name} must have shape [${c}][${h}][${w}] (CHW)`);
}

/** Output size of a convolution or pool along one axis. */
export function convOutputSize(inSize: number, k: number, stride: number, pad: number): number {
  return Math.floor((inSize + 2 * pad - k) / stride) + 1;
}

/** DenseCommitted(nIn, nOut): out[o] = bias[o] + sum_i weights[o][i] * input[i]. */
export function denseCommitted(input: number[], weights: number[][], bias: number[]): number[] {
  if (weights.length !== bias.length || weights.some((row) => row.length !== input.length)) {
    throw new RangeError(`weights must be [${bias.length}][${input.length}] to match bias and input`);
  }
  return weights.map((row, o) =>
    checkSafe(
      `out[${o}]`,
      row.reduce((acc, w, i) => acc + w * input[i], bias[o]),
    ),
  );
}

/** Conv2DCommitted(inH, inW, inC, outC, k, stride, pad): zero-padded convolution, CHW. */
export function conv2DCommitted(input: Chw, weights: number[][][][], bias: number[], shape: Conv2DShape): Chw {
  const { inH, inW, inC, outC, k, stride, pad } = shape;
  checkShape("input", input, inC, inH, inW);
  if (
    bias.length !== outC ||
    weights.length !== outC ||
    weights.some((oc) => oc.length !== inC || oc.some((ic) => ic.length !== k || ic.some((r) => r.length !== k)))
  ) {
    throw new RangeError(`weights must be [${outC}][${inC}][${k}][${k}] and bias [${outC}]`);
  }
  const outH = convOutputSize(inH, k, stride, pad);
  const outW = convOutputSize(inW, k, stride, pad);
  const at = (c: number, h: number, w: number) => (h >= 0 && h < inH && w >= 0 && w < inW ? input[c][h][w] : 0);
  return Array.from({ length: outC }, (_, oc) =>
    Array.from({ length: outH }, (_, y) =>
      Array.from({ length: outW }, (_, x) => {
        let acc = bias[oc];
        for (let ic = 0; ic < inC; ic++)
          for (let kh = 0; kh < k; kh++)
            for (let kw = 0; kw < k; kw++)
              acc += weights[oc][ic][kh][kw] * at(ic, y * stride + kh - pad, x * stride + kw - pad);
        return checkSafe(`out[${oc}][${y}][${x}]`, acc);
      }),
    ),
  );
}

/** The k x k windows of a CHW tensor, reduced by `reduce`. */
function pool2D(input: Chw, shape: Pool2DShape, reduce: (window: number[]) => number): Chw {
  const { inH, inW, C, k, stride } = shape;
  checkShape("input", input, C, inH, inW);
  const outH = convOutputSize(inH, k, stride, 0);
  const outW = convOutputSize(inW, k, stride, 0);
  return input.map((plane) =>
    Array.from({ length: outH }, (_, y) =>
      Array.from({ length: outW }, (_, x) => {
        const window: number[] = [];
        for (let kh = 0; kh < k; kh++)
          for (let kw = 0; kw < k; kw++) window.push(plane[y * stride + kh][x * stride + kw]);
        return reduce(window);
      }),
    ),
  );
}

/** SumPool2D(inH, inW, C, k, stride): window sums. */
export function sumPool2D(input: Chw, shape: Pool2DShape): Chw {
  return pool2D(input, shape, (window) => window.reduce((a, b) => a + b, 0));
}

/** log2(k^2) for a power-of-two k; AvgPool2D accepts no other window. */
export function avgPoolShift(k: number): number {
  const shift = Math.log2(k * k);
  if (!Number.isInteger(shift)) throw new RangeError(`AvgPool2D needs k^2 a power of two, got k = ${k}`);
  return shift;
}

/** AvgPool2D(inH, inW, C, k, stride, inBits): floor(window sum / k^2) of unsigned inBits-bit values. */
export function avgPool2D(input: Chw, shape: Pool2DShape, inBits: number): Chw {
  const shift = avgPoolShift(shape.k);
  input.forEach((p, c) => p.forEach((r, h) => r.forEach((v, w) => checkUnsigned(`in[${c}][${h}][${w}]`, v, inBits))));
  return pool2D(input, shape, (window) => Math.floor(window.reduce((a, b) => a + b, 0) / 2 ** shift));
}

/** MaxPool2D(inH, inW, C, k, stride, inBits) and RangeCheckedMaxPool2D: window maxima of unsigned inBits-bit values. */
export function maxPool2D(input: Chw, shape: Pool2DShape, inBits: number): Chw {
  input.forEach((p, c) => p.forEach((r, h) => r.forEach((v, w) => checkUnsigned(`in[${c}][${h}][${w}]`, v, inBits))));
  return pool2D(input, shape, (window) => Math.max(...window));
}

/** SignedPackedCommitment(n, valueBits): packedCommitment of the values offset by 2^(valueBits-1). */
export function signedPackedCommitment(values: ArrayLike<number>, valueBits: number): bigint {
  const offset = 2 ** (valueBits - 1);
  const shifted = Array.from(values, (v, i) => {
    if (!Number.isSafeInteger(v) || v < -offset || v >= offset) {
      throw new RangeError(`value[${i}] = ${v} is outside the signed ${valueBits}-bit range [${-offset}, ${offset})`);
    }
    return v + offset;
  });
  return packedCommitment(shifted, valueBits);
}
