/**
 * Inputs of the committed-mode circuit (scripts/circuit/generate-mlp-committed.ts) and the
 * public signals the integer reference predicts for them. In committed mode one circuit serves
 * every model of an architecture: the model's weights and biases are private inputs, and the
 * proof's first public signal is the Poseidon commitment to them that the registry pins.
 */
import {
  committedWeightsInput,
  modelCommitment,
  type CommittedArchitecture,
} from "../circuit/generate-mlp-committed.ts";
import { SNARK_SCALAR_FIELD } from "../circuit/field.ts";
import type { QuantizedMlp } from "../model/quantize.ts";
import { inferQuantized, packOutput } from "../model/quantized-inference.ts";

/** The committed circuit's public signals, in the circuit's order. */
export interface CommittedPublicSignals {
  modelCommitment: bigint;
  inputCommitment: bigint;
  output: bigint;
  binding: bigint;
}

export interface CommittedProofInput {
  /** The circuit input: pixels, w<l>[o][i], b<l>[o] and binding. */
  input: Record<string, unknown>;
  /** What the proof's public signals must be. */
  expected: CommittedPublicSignals;
  /** Predicted class, as the integer reference computes it. */
  predicted: number;
}

/**
 * Throws unless `model` fits the committed circuit's architecture: same layer sizes and
 * requantization shifts, and every weight and bias within the widths the circuit checks. A
 * model that does not fit has no witness, so this is the message a validator can act on.
 */
export function assertFitsArchitecture(model: QuantizedMlp, arch: CommittedArchitecture): void {
  const what = `model "${model.name}" does not fit the committed architecture`;
  if (model.inputSize !== arch.inputSize || model.inputBits !== arch.inputBits || model.nClasses !== arch.nClasses)
    throw new Error(`${what}: input ${model.inputSize} x ${model.inputBits} bits, ${model.nClasses} classes`);
  if (model.layers.length !== arch.layers.length)
    throw new Error(`${what}: ${model.layers.length} layers, the circuit has ${arch.layers.length}`);
  const fits = (v: number, bits: number) => v >= -(2 ** (bits - 1)) && v < 2 ** (bits - 1);
  model.layers.forEach((l, k) => {
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
export function committedModelCommitment(model: QuantizedMlp, arch: CommittedArchitecture): bigint {
  assertFitsArchitecture(model, arch);
  const c = modelCommitment(model, arch);
  if (c < 0n || c >= SNARK_SCALAR_FIELD) throw new Error("model commitment is not a canonical field element");
  return c;
}

/**
 * The committed circuit's input for one inference of `model` on `pixels`, bound to a request by
 * `binding` (scripts/chain/binding.ts), with the public signals the proof will carry.
 */
export function committedProofInput(
  model: QuantizedMlp,
  arch: CommittedArchitecture,
  pixels: ArrayLike<number>,
  binding: bigint,
): CommittedProofInput {
  const commitment = committedModelCommitment(model, arch);
  if (binding < 0n || binding >= SNARK_SCALAR_FIELD) throw new RangeError("binding must be a canonical field element");
  const ref = inferQuantized(model, pixels);
  // The committed circuit packs logits at the architecture's width, wider than one model's.
  const output = packOutput(
    { ...model, logitBits: arch.logitBits, classBits: arch.classBits },
    ref.predicted,
    ref.logits,
  );
  return {
    input: { pixels: Array.from(pixels), ...committedWeightsInput(model), binding },
    expected: { modelCommitment: commitment, inputCommitment: ref.inputCommitment, output, binding },
    predicted: ref.predicted,
  };
}
