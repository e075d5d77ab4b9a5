/**
 * Constraint counts of a quantized graph's circuit, from the cost formulas of the templates in
 * circuits/lib (the ones docs/circuits.md gives and circuits/constraint-counts.json snapshots);
 * each layer's items come from its operator module (ops/).
 * Baked Conv and dense layers cost nothing themselves: their multiply-accumulates are linear
 * combinations folded into the RequantReluClamp that follows. Tests check the total against
 * the compiled r1cs of the reference models.
 */
import type { CommittedArchitecture } from "../circuit/generate-mlp-committed.ts";
import { valuesPerChunk } from "../circuit/reference.ts";
import { circuitOperator } from "../model/ops/registry.ts";
import type { QuantizedGraph } from "../model/quantize-graph.ts";

export interface CostItem {
  /** Template and parameters, e.g. "RequantReluClamp(18, 8, 8)". */
  template: string;
  /** The layer (ONNX node) it implements, or "input" / "output". */
  node: string;
  instances: number;
  constraintsEach: number;
  constraints: number;
}

/** circomlib's partial-round counts for Poseidon with t = 2..17 (poseidon_constants). */
const POSEIDON_PARTIAL_ROUNDS = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];

/** Poseidon(nInputs) of circomlib: 3 per S-box, t S-boxes in each of 8 full rounds, 1 per partial round. */
export function poseidonConstraints(nInputs: number): number {
  const t = nInputs + 1;
  const partial = POSEIDON_PARTIAL_ROUNDS[t - 2];
  if (partial === undefined) throw new RangeError(`Poseidon takes 1 to 16 inputs, got ${nInputs}`);
  // The last full round's MDS output is only needed for one element: 3 constraints fewer.
  return 3 * (8 * t + partial) - 3;
}

/** PackedCommitment(n, valueBits): n * valueBits range checks plus the chained Poseidon calls. */
export function packedCommitmentConstraints(n: number, valueBits: number): number {
  const chunks = Math.ceil(n / valuesPerChunk(valueBits));
  let poseidon = poseidonConstraints(Math.min(chunks, 16));
  for (let next = 16; next < chunks; next += 15) poseidon += poseidonConstraints(Math.min(chunks - next, 15) + 1);
  return n * valueBits + poseidon;
}

/** RequantReluClamp(accBits, shift, outBits): accBits + min(max(nHigh, 0), 4) + 1. */
export function requantReluClampConstraints(accBits: number, shift: number, outBits: number): number {
  const top = accBits - 1;
  const nHigh = top - Math.min(shift + outBits, top);
  return accBits + Math.min(Math.max(nHigh, 0), 4) + 1;
}

/** Per window: k^2 gap range checks of inBits bits and k^2 - 1 products. */
export function maxPoolWindowConstraints(k: number, inBits: number): number {
  return k * k * inBits + k * k - 1;
}

/** Per window: one decomposition of the sum into inBits + log2(k^2) bits. */
export function avgPoolWindowConstraints(k: number, inBits: number): number {
  return inBits + Math.log2(k * k);
}

/** ArgMax(n, diffBits): n selector bits + n selected values + n gap range checks. */
export function argMaxConstraints(n: number, diffBits: number): number {
  return 2 * n + n * diffBits;
}

/** Every template instance of the model's circuit with its cost. */
export function estimateConstraints(model: QuantizedGraph): { items: CostItem[]; total: number } {
  const items: CostItem[] = [];
  const add = (template: string, node: string, instances: number, constraintsEach: number) =>
    items.push({ template, node, instances, constraintsEach, constraints: instances * constraintsEach });
  add(
    `PackedCommitment(${model.inputSize}, ${model.inputBits})`,
    "input",
    1,
    packedCommitmentConstraints(model.inputSize, model.inputBits),
  );
  add("RequestBinding()", "input", 1, 1);
  for (const layer of model.layers) {
    for (const c of circuitOperator(layer.kind).cost(layer))
      add(c.template, layer.node, c.instances, c.constraintsEach);
  }
  if (model.output !== "logits") {
    add(`ArgMax(${model.nClasses}, ${model.diffBits})`, "output", 1, argMaxConstraints(model.nClasses, model.diffBits));
  }
  return { items, total: items.reduce((s, i) => s + i.constraints, 0) };
}

/**
 * The committed-mode MLP circuit (generate-mlp-committed.ts): the weight and bias commitments
 * (range checks + Poseidon) and their Poseidon(2), the input commitment, one constraint per
 * multiply-accumulate (DenseCommitted), RequantReluClamp at the architecture's accumulator
 * width per hidden unit, ArgMax and the binding.
 */
export function estimateCommittedConstraints(arch: CommittedArchitecture): { items: CostItem[]; total: number } {
  const items: CostItem[] = [];
  const add = (template: string, node: string, instances: number, constraintsEach: number) =>
    items.push({ template, node, instances, constraintsEach, constraints: instances * constraintsEach });
  const nWeights = arch.layers.reduce((s, l) => s + l.nIn * l.nOut, 0);
  const nBiases = arch.layers.reduce((s, l) => s + l.nOut, 0);
  add(
    `SignedPackedCommitment(${nWeights}, ${arch.weightBits})`,
    "weights",
    1,
    packedCommitmentConstraints(nWeights, arch.weightBits),
  );
  add(
    `SignedPackedCommitment(${nBiases}, ${arch.biasBits})`,
    "biases",
    1,
    packedCommitmentConstraints(nBiases, arch.biasBits),
  );
  add("Poseidon(2)", "model commitment", 1, poseidonConstraints(2));
  add(
    `PackedCommitment(${arch.inputSize}, ${arch.inputBits})`,
    "input",
    1,
    packedCommitmentConstraints(arch.inputSize, arch.inputBits),
  );
  add("RequestBinding()", "input", 1, 1);
  arch.layers.forEach((l, k) => {
    add(`DenseCommitted(${l.nIn}, ${l.nOut})`, `layer ${k}`, 1, l.nIn * l.nOut);
    if (l.requant) {
      add(
        `RequantReluClamp(${l.accBits}, ${l.requant.shift}, ${l.requant.outBits})`,
        `layer ${k}`,
        l.nOut,
        requantReluClampConstraints(l.accBits, l.requant.shift, l.requant.outBits),
      );
    }
  });
  add(`ArgMax(${arch.nClasses}, ${arch.diffBits})`, "output", 1, argMaxConstraints(arch.nClasses, arch.diffBits));
  return { items, total: items.reduce((s, i) => s + i.constraints, 0) };
}
