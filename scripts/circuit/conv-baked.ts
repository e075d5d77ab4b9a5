/**
 * Baked-mode 2-D convolution for the circuit generator: with the weights as circuit constants,
 * each output is a linear combination of input signals and costs no constraint (the same
 * approach as the dense layers in generate-graph.ts). Semantics, layout and zero padding are
 * those of Conv2DCommitted (circuits/lib/conv2d.circom) and conv2DCommitted() in
 * reference-layers.ts.
 *
 * The combinations must feed a constraint (a Requantize or RequantReluClamp, as for the dense
 * layers): a main circuit whose public outputs are linear in its inputs is reduced by
 * circom --O2 to no constraints at all, leaving those outputs free.
 */
import { convOutputSize, type Conv2DShape } from "./reference-layers.ts";

/**
 * The circom linear combination of every output, indexed [oc][y][x]: the bias plus one term
 * `w * signal[ic][h][w]` per non-zero weight whose tap reads a real input (taps on padding
 * read 0 and are dropped).
 * @param weights integer weights [outC][inC][k][k]
 * @param bias integer biases [outC]
 * @param signal name of the CHW input signal array in the generated template
 */
export function conv2dLinearCombinations(
  shape: Conv2DShape,
  weights: number[][][][],
  bias: number[],
  signal: string,
): string[][][] {
  const { inH, inW, inC, outC, k, stride, pad } = shape;
  const integer = (v: number) => Number.isSafeInteger(v);
  if (
    bias.length !== outC ||
    !bias.every(integer) ||
    weights.length !== outC ||
    weights.some(
      (oc) =>
        oc.length !== inC || oc.some((ic) => ic.length !== k || ic.some((r) => r.length !== k || !r.every(integer))),
    )
  ) {
    throw new RangeError(`baked conv needs integer weights [${outC}][${inC}][${k}][${k}] and bias [${outC}]`);
  }
  const outH = convOutputSize(inH, k, stride, pad);
  const outW = convOutputSize(inW, k, stride, pad);
  if (outH < 1 || outW < 1) throw new RangeError(`kernel ${k} with padding ${pad} does not fit a ${inH}x${inW} input`);
  return Array.from({ length: outC }, (_, oc) =>
    Array.from({ length: outH }, (_, y) =>
      Array.from({ length: outW }, (_, x) => {
        const terms = [String(bias[oc])];
        for (let ic = 0; ic < inC; ic++)
          for (let kh = 0; kh < k; kh++)
            for (let kw = 0; kw < k; kw++) {
              const h = y * stride + kh - pad;
              const w = x * stride + kw - pad;
              const weight = weights[oc][ic][kh][kw];
              if (weight !== 0 && h >= 0 && h < inH && w >= 0 && w < inW) {
                terms.push(`${weight} * ${signal}[${ic}][${h}][${w}]`);
              }
            }
        return terms.join(" + ").replace(/\+ -/g, "- ");
      }),
    ),
  );
}
