/**
 * The in-memory float model shared by the toolkit: a sequential stack of dense layers.
 * Training produces it, ONNX import/export converts it, and quantization consumes it.
 */

export interface DenseLayer {
  kind: "dense";
  nIn: number;
  nOut: number;
  /** Row-major [nOut][nIn], the same layout as an ONNX Gemm weight with transB = 1. */
  weight: Float64Array;
  /** One per output. */
  bias: Float64Array;
  /** Apply ReLU after the affine map. */
  relu: boolean;
}

export interface FloatMlp {
  name: string;
  inputSize: number;
  layers: DenseLayer[];
}

/** Runs the model in float64 and returns the last layer's outputs (the logits). */
export function floatForward(model: FloatMlp, x: ArrayLike<number>): Float64Array {
  if (x.length !== model.inputSize) {
    throw new Error(`model "${model.name}" takes ${model.inputSize} inputs, got ${x.length}`);
  }
  let act: ArrayLike<number> = x;
  for (const layer of model.layers) {
    act = denseForward(layer, act);
  }
  return Float64Array.from(act);
}

/** One dense layer: y = W x + b, then ReLU if the layer has one. */
export function denseForward(layer: DenseLayer, x: ArrayLike<number>): Float64Array {
  const { nIn, nOut, weight, bias } = layer;
  const y = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let acc = bias[o]!;
    const row = o * nIn;
    for (let i = 0; i < nIn; i++) acc += weight[row + i]! * x[i]!;
    y[o] = layer.relu && acc < 0 ? 0 : acc;
  }
  return y;
}

/** Index of the first maximum, so ties resolve the same way as the circuit's ArgMax. */
export function argmax(v: ArrayLike<number>): number {
  if (v.length === 0) throw new Error("argmax of an empty vector");
  let best = 0;
  for (let i = 1; i < v.length; i++) {
    if (v[i]! > v[best]!) best = i;
  }
  return best;
}
