/**
 * Whether a model fits a committed-mode circuit (scripts/circuit/generate-mlp-committed.ts), and
 * its weights commitment. In committed mode one circuit serves every model of an architecture:
 * the model's weights and biases are private inputs, and the proof's first public signal is the
 * Poseidon commitment to them that the registry pins. The circuit input itself is built by the
 * proving path (prove-request.ts).
 */
import { denseLayers, modelCommitment, type CommittedArchitecture } from "../circuit/generate-mlp-committed.ts";
import { SNARK_SCALAR_FIELD } from "../circuit/field.ts";
import type { QuantizedGraph } from "../model/quantize-graph.ts";

/**
 * Throws unless `model` fits the committed circuit's architecture: same layer sizes and
 * requantization shifts, and every weight and bias within the widths the circuit checks. A
 * model that does not fit has no witness, so this is the message a validator can act on.
 */
export function assertFitsArchitecture(model: QuantizedGraph, arch: CommittedArchitecture): void {
  const layers = denseLayers(model);
  const what = `model "${model.name}" does not fit the committed architecture`;
  if (model.inputSize !== arch.inputSize || model.inputBits !== arch.inputBits || model.nClasses !== arch.nClasses)
    throw new Error(`${what}: input ${model.inputSize} x ${model.inputBits} bits, ${model.nClasses} classes`);
  if (layers.length !== arch.layers.length)
    throw new Error(`${what}: ${layers.length} layers, the circuit has ${arch.layers.length}`);
  const fits = (v: number, bits: number) => v >= -(2 ** (bits - 1)) && v < 2 ** (bits - 1);
  layers.forEach((l, k) => {
    const a = arch.layers[k];
    if (l.nIn !== a.nIn || l.nOut !== a.nOut) throw new Error(`${what}: layer ${k} is ${l.nIn}x${l.nOut}`);
    if (l.requant?.shift !== a.requant?.shift || l.requant?.outBits !== a.requant?.outBits)
      throw new Error(`${what}: layer ${k} requantizes differently`);
    if (!l.weight.every((w) => fits(w, arch.weightBits)))
      throw new Error(`${what}: a weight of layer ${k} exceeds ${arch.weightBits} signed bits`);
    if (!l.bias.every((b) => fits(b, arch.biasBits)))
      throw new Error(`${what}: a bias of layer ${k} exceeds ${arch.biasBits} signed bits`);
  });
}

/**
 * The weights commitment of a model under an architecture: public signal 0 of its proofs and
 * the value its registry entry pins. A Poseidon output, so a canonical field element (< r).
 */
export function committedModelCommitment(model: QuantizedGraph, arch: CommittedArchitecture): bigint {
  assertFitsArchitecture(model, arch);
  const c = modelCommitment(model, arch);
  if (c < 0n || c >= SNARK_SCALAR_FIELD) throw new Error("model commitment is not a canonical field element");
  return c;
}
