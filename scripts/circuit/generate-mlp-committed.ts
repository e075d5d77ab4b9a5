/**
 * Committed mode: one circuit per MLP architecture. The weights and biases are private
 * inputs, bound to a public Poseidon commitment (public signal 0), so the registry can pin
 * many models of one architecture to one circuit and one verifier, and the weights stay
 * private. Every multiply-accumulate costs a constraint and every weight a range check, so
 * this mode is far more expensive than baked mode (docs/circuits.md gives the figures).
 *
 * The architecture fixes the layer sizes, the widths of weights, biases and activations, and
 * each hidden layer's requantization shift; a model fits it when its quantization has the
 * same shifts and its values fit the widths. Accumulator ranges are bounded over every
 * weight the widths allow, not over one model's weights, so any committed model has a witness.
 *
 * Public signals, in order: [modelCommitment, inputCommitment, output, binding].
 */
import { signedBitsFor, unsignedBitsFor } from "./field.ts";
import { poseidon } from "./reference.ts";
import { signedPackedCommitment } from "./reference-layers.ts";
import { layerOperator } from "../model/ops/registry.ts";
import type { QuantizedDenseLayer, QuantizedGraph } from "../model/quantize-graph.ts";

export interface CommittedLayer {
  nIn: number;
  nOut: number;
  inputBits: number;
  accBits: number;
  requant?: { shift: number; outBits: number };
}

export interface CommittedArchitecture {
  inputSize: number;
  inputBits: number;
  weightBits: number;
  biasBits: number;
  layers: CommittedLayer[];
  nClasses: number;
  logitBits: number;
  classBits: number;
  diffBits: number;
}

/**
 * The dense layers of a dense-only quantized graph (Gemm/MatMul + Relu), which committed mode
 * supports so far. @throws naming the first other layer and `what` (the model or its file)
 */
export function denseLayers(model: QuantizedGraph, what = model.name): QuantizedDenseLayer[] {
  return model.layers.map((l) => {
    if (l.kind === "dense") return l;
    const op = layerOperator(l.kind).opName;
    throw new Error(
      `"${what}": --mode committed supports dense-only models (Gemm/MatMul + Relu) so far; ` +
        `${op} node "${l.node}" needs --mode baked`,
    );
  });
}

/** The architecture a quantized model belongs to, with widths of `weightBits` and the model's bias width. */
export function committedArchitecture(model: QuantizedGraph, weightBits = 8): CommittedArchitecture {
  const dense = denseLayers(model);
  let biasMin = 0;
  let biasMax = 0;
  for (const l of dense) for (const b of l.bias) ((biasMin = Math.min(biasMin, b)), (biasMax = Math.max(biasMax, b)));
  const biasBits = signedBitsFor(biasMin, biasMax);
  const wMin = -(2 ** (weightBits - 1));
  const wMax = 2 ** (weightBits - 1) - 1;
  const layers: CommittedLayer[] = dense.map((l) => {
    const xMax = 2 ** l.inputBits - 1;
    const lo = l.nIn * wMin * xMax - 2 ** (biasBits - 1);
    const hi = l.nIn * wMax * xMax + 2 ** (biasBits - 1) - 1;
    return {
      nIn: l.nIn,
      nOut: l.nOut,
      inputBits: l.inputBits,
      accBits: signedBitsFor(lo, hi),
      requant: l.requant ? { shift: l.requant.shift, outBits: l.requant.outBits } : undefined,
    };
  });
  const last = layers[layers.length - 1];
  const logitBits = last.accBits;
  const classBits = unsignedBitsFor(model.nClasses - 1);
  if (classBits + model.nClasses * logitBits > 253)
    throw new Error("the committed architecture's logits do not pack into one field element");
  return {
    inputSize: model.inputSize,
    inputBits: model.inputBits,
    weightBits,
    biasBits,
    layers,
    nClasses: model.nClasses,
    logitBits,
    classBits,
    diffBits: logitBits + 1,
  };
}

/** Public signal 0: Poseidon(commitment of all weights, commitment of all biases). */
export function modelCommitment(model: QuantizedGraph, arch: CommittedArchitecture): bigint {
  const dense = denseLayers(model);
  const weights = dense.flatMap((l) => l.weight);
  const biases = dense.flatMap((l) => l.bias);
  return poseidon([signedPackedCommitment(weights, arch.weightBits), signedPackedCommitment(biases, arch.biasBits)]);
}

/** The circuit input for a model: weights as w<l>[o][i], biases as b<l>[o]. */
export function committedWeightsInput(model: QuantizedGraph): Record<string, number[] | number[][]> {
  const input: Record<string, number[] | number[][]> = {};
  denseLayers(model).forEach((l, k) => {
    input[`w${k}`] = Array.from({ length: l.nOut }, (_, o) => l.weight.slice(o * l.nIn, (o + 1) * l.nIn));
    input[`b${k}`] = l.bias;
  });
  return input;
}

export function generateMlpCommittedCircuit(
  arch: CommittedArchitecture,
  templateName: string,
  command: string,
): string {
  const nWeights = arch.layers.reduce((s, l) => s + l.nIn * l.nOut, 0);
  const nBiases = arch.layers.reduce((s, l) => s + l.nOut, 0);
  const out: string[] = [
    `pragma circom 2.2.0;`,
    ``,
    `// GENERATED FILE, do not edit. Made by \`${command}\`: committed-mode MLP ` +
      `${[arch.inputSize, ...arch.layers.map((l) => l.nOut)].join("-")}, weights private and committed.`,
    ``,
    ...["binding", "commitment", "commitment-signed", "dense", "requantize", "argmax"].map(
      (f) => `include "${f}.circom";`,
    ),
    `include "circomlib/circuits/poseidon.circom";`,
    ``,
    `template ${templateName}() {`,
    `    signal input pixels[${arch.inputSize}];`,
  ];
  arch.layers.forEach((l, k) => {
    out.push(`    signal input w${k}[${l.nOut}][${l.nIn}];`);
    out.push(`    signal input b${k}[${l.nOut}];`);
  });
  out.push(`    signal input binding;`);
  out.push(`    signal output modelCommitment;`);
  out.push(`    signal output inputCommitment;`);
  out.push(`    signal output result;`);
  out.push(``);
  out.push(
    `    // Weights range-checked to ${arch.weightBits} signed bits and biases to ${arch.biasBits} by their commitments.`,
  );
  out.push(`    component weights = SignedPackedCommitment(${nWeights}, ${arch.weightBits});`);
  out.push(`    component biases = SignedPackedCommitment(${nBiases}, ${arch.biasBits});`);
  let w = 0;
  let b = 0;
  arch.layers.forEach((l, k) => {
    out.push(`    for (var o = 0; o < ${l.nOut}; o++) {`);
    out.push(`        for (var i = 0; i < ${l.nIn}; i++) {`);
    out.push(`            weights.in[${w} + o * ${l.nIn} + i] <== w${k}[o][i];`);
    out.push(`        }`);
    out.push(`        biases.in[${b} + o] <== b${k}[o];`);
    out.push(`    }`);
    w += l.nIn * l.nOut;
    b += l.nOut;
  });
  out.push(`    modelCommitment <== Poseidon(2)([weights.out, biases.out]);`);
  out.push(`    inputCommitment <== PackedCommitment(${arch.inputSize}, ${arch.inputBits})(pixels);`);
  out.push(`    RequestBinding()(binding);`);
  let input = "pixels";
  arch.layers.forEach((l, k) => {
    out.push(``);
    out.push(`    // Layer ${k}: accumulators of any committed model lie within ${l.accBits} signed bits.`);
    out.push(`    component d${k} = DenseCommitted(${l.nIn}, ${l.nOut});`);
    out.push(`    d${k}.in <== ${input};`);
    out.push(`    d${k}.weights <== w${k};`);
    out.push(`    d${k}.bias <== b${k};`);
    if (l.requant) {
      out.push(`    signal h${k}[${l.nOut}];`);
      out.push(`    for (var o = 0; o < ${l.nOut}; o++) {`);
      out.push(
        `        h${k}[o] <== RequantReluClamp(${l.accBits}, ${l.requant.shift}, ${l.requant.outBits})(d${k}.out[o]);`,
      );
      out.push(`    }`);
      input = `h${k}`;
    } else {
      input = `d${k}.out`;
    }
  });
  out.push(``);
  out.push(`    signal predicted <== ArgMax(${arch.nClasses}, ${arch.diffBits})(${input});`);
  out.push(`    var packed = predicted;`);
  out.push(`    for (var i = 0; i < ${arch.nClasses}; i++) {`);
  out.push(
    `        packed += (${input}[i] + ${2n ** BigInt(arch.logitBits - 1)}) * (1 << (${arch.classBits} + ${arch.logitBits} * i));`,
  );
  out.push(`    }`);
  out.push(`    result <== packed;`);
  out.push(`}`);
  out.push(``);
  out.push(`component main {public [binding]} = ${templateName}();`);
  out.push(``);
  return out.join("\n");
}
