/**
 * How far quantization moved a model: the ONNX file run by onnxruntime-node (the float
 * reference) against the bit-exact integer reference (graph-inference.ts), on labelled inputs.
 * The witness check (the circuit against the integer reference) is added by compile.ts.
 */
import { argmax } from "../circuit/reference.ts";
import { applyFinalActivation } from "../model/graph.ts";
import { inferQuantizedGraph } from "../model/graph-inference.ts";
import { inputDivisorOf, type QuantizedGraph } from "../model/quantize-graph.ts";
import { onnxLogits } from "./float-reference.ts";

export const FIDELITY_FORMAT = "poi-fidelity/1";

export interface LabelledInput {
  pixels: ArrayLike<number>;
  /** Absent for unlabelled inputs: accuracy is then not reported. */
  label?: number;
}

export interface FidelityReport {
  format: typeof FIDELITY_FORMAT;
  model: string;
  onnxSha256: string;
  /** What the inputs are, e.g. "1,000 held-out MNIST digits (14x14)". */
  evaluatedOn: string;
  inputs: number;
  calibration: string;
  /** The declared input mapping both references are fed, e.g. "float input = byte / 255". */
  input: string;
  quantization: {
    weightBits: number;
    activationBits: number;
    output: string;
    logitScaleBits: number;
  };
  /** Fraction of inputs whose quantized class equals the float class (first maximum in both). */
  top1Agreement: number;
  agreeing: number;
  /**
   * The model's final Softmax, LogSoftmax or Sigmoid, which the circuit leaves out (it proves the
   * class, which the activation keeps): the errors below compare outputs after it, applied in
   * float64 to the dequantized logits.
   */
  finalActivation?: string;
  /** Largest |quantized logit / 2^logitScaleBits - float logit| over every input and class. */
  largestLogitError: { value: number; input: number; class: number };
  /** Mean of that error over every input and class. */
  meanLogitError: number;
  /** Null when the inputs have no labels. */
  floatAccuracy: number | null;
  quantizedAccuracy: number | null;
  floatReference: string;
  /** Filled in by compile.ts once the circuit has been run. */
  circuit?: {
    constraints: number;
    estimatedConstraints: number;
    witnessesChecked: number;
    witnessesEqualToReference: number;
  };
}

export interface FidelityOptions {
  model: QuantizedGraph;
  onnx: Uint8Array;
  onnxSha256: string;
  /** The ONNX input shape, batch dimension included. */
  onnxInputShape: number[];
  inputs: LabelledInput[];
  evaluatedOn: string;
  calibration: string;
  weightBits: number;
  activationBits: number;
}

/** Runs both references on every input and compares them. */
export async function measureFidelity(o: FidelityOptions): Promise<FidelityReport> {
  if (o.inputs.length === 0) throw new Error("the fidelity report needs at least one input");
  const inputDivisor = inputDivisorOf(o.model);
  const floatLogits = await onnxLogits(
    o.onnx,
    o.onnxInputShape,
    o.inputs.map((i) => i.pixels),
    inputDivisor,
  );
  const scale = 2 ** o.model.logitScaleBits;
  let agreeing = 0;
  let floatCorrect = 0;
  let quantCorrect = 0;
  let labelled = 0;
  let sumError = 0;
  let count = 0;
  const largest = { value: 0, input: 0, class: 0 };
  o.inputs.forEach((input, n) => {
    const f = floatLogits[n]!;
    const q = inferQuantizedGraph(o.model, input.pixels);
    const fClass = argmax(f);
    if (fClass === q.predicted) agreeing++;
    if (input.label !== undefined) {
      labelled++;
      if (fClass === input.label) floatCorrect++;
      if (q.predicted === input.label) quantCorrect++;
    }
    const dequantized = q.logits.map((l) => l / scale);
    const outputs = o.model.finalActivation ? applyFinalActivation(o.model.finalActivation, dequantized) : dequantized;
    outputs.forEach((v, c) => {
      const err = Math.abs(v - f[c]!);
      sumError += err;
      count++;
      if (err > largest.value) Object.assign(largest, { value: err, input: n, class: c });
    });
  });
  const round = (v: number) => Number(v.toPrecision(6));
  return {
    format: FIDELITY_FORMAT,
    model: o.model.name,
    onnxSha256: o.onnxSha256,
    evaluatedOn: o.evaluatedOn,
    inputs: o.inputs.length,
    calibration: o.calibration,
    input: `float input = byte / ${inputDivisor}`,
    quantization: {
      weightBits: o.weightBits,
      activationBits: o.activationBits,
      output: o.model.output,
      logitScaleBits: o.model.logitScaleBits,
    },
    ...(o.model.finalActivation ? { finalActivation: o.model.finalActivation } : {}),
    top1Agreement: agreeing / o.inputs.length,
    agreeing,
    largestLogitError: { ...largest, value: round(largest.value) },
    meanLogitError: round(sumError / count),
    floatAccuracy: labelled === o.inputs.length ? floatCorrect / labelled : null,
    quantizedAccuracy: labelled === o.inputs.length ? quantCorrect / labelled : null,
    floatReference: "the ONNX file run by onnxruntime-node (float32, batch size 1)",
  };
}

const pct = (v: number | null) => (v === null ? "n/a" : `${(v * 100).toFixed(1)}%`);

/** The short Markdown table written next to the JSON. */
export function fidelityMarkdown(r: FidelityReport): string {
  const rows: [string, string][] = [
    ["inputs", r.evaluatedOn],
    ["top-1 agreement, float vs quantized", `${pct(r.top1Agreement)} (${r.agreeing} of ${r.inputs})`],
    [
      "largest logit error",
      `${r.largestLogitError.value} (input ${r.largestLogitError.input}, class ${r.largestLogitError.class}); mean ${r.meanLogitError}`,
    ],
    ["float accuracy (onnxruntime-node)", pct(r.floatAccuracy)],
    ["quantized accuracy (integer reference)", pct(r.quantizedAccuracy)],
    [
      "quantization",
      `${r.quantization.weightBits}-bit weights, ${r.quantization.activationBits}-bit activations, ` +
        `logits at scale 2^-${r.quantization.logitScaleBits}, output ${r.quantization.output}`,
    ],
    ["calibration", r.calibration],
    ["input mapping", r.input],
  ];
  if (r.finalActivation) {
    rows.push([
      "final activation",
      `${r.finalActivation}: monotone, so the class is the logits' argmax; the circuit proves the class ` +
        `without it, and the errors above compare outputs after it`,
    ]);
  }
  if (r.circuit) {
    rows.push([
      "circuit",
      `${r.circuit.constraints.toLocaleString("en-US")} constraints (estimated ${r.circuit.estimatedConstraints.toLocaleString("en-US")}); ` +
        `witness output equals the integer reference on ${r.circuit.witnessesEqualToReference} of ${r.circuit.witnessesChecked} inputs`,
    ]);
  }
  const width = Math.max(...rows.map(([k]) => k.length), "metric".length);
  const valueWidth = Math.max(...rows.map(([, v]) => v.length), "value".length);
  const line = (k: string, v: string) => `| ${k.padEnd(width)} | ${v.padEnd(valueWidth)} |`;
  return [
    `# Fidelity: ${r.model}`,
    ``,
    `Float reference: ${r.floatReference}. Quantized: the bit-exact integer reference of the circuit.`,
    `ONNX sha256 ${r.onnxSha256}.`,
    ``,
    line("metric", "value"),
    `| ${"-".repeat(width)} | ${"-".repeat(valueWidth)} |`,
    ...rows.map(([k, v]) => line(k, v)),
    ``,
  ].join("\n");
}
