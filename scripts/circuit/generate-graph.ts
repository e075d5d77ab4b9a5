/**
 * Generates the circom main of a quantized sequential graph (quantize-graph.ts) in baked mode:
 * weights are circuit constants, so every multiply-accumulate of a Conv or dense layer is a
 * term of a linear combination and costs no constraint. Constraints come only from the
 * templates of circuits/lib: the input commitment (which range-checks the input bytes), one
 * RequantReluClamp per hidden activation, MaxPool2D / AvgPool2D on clamped activations, the
 * ArgMax and the request binding. Each layer's code is written by its operator module (ops/);
 * this file writes the inputs, the output and the batch wrapper. The integer reference is
 * graph-inference.ts.
 *
 * Public signals, in order: [inputCommitment, output, binding]. With `batch: K`, the main proves
 * K inferences of the model at once (see batchMain) and its public signals are
 * [fold, challenge, batchBinding].
 */
import type { SignalTensor } from "../model/ops/operator.ts";
import { CIRCUITS, circuitOperator } from "../model/ops/registry.ts";
import type { QuantizedGraph } from "../model/quantize-graph.ts";

export interface GenerateGraphOptions {
  /** PascalCase name of the main template. */
  templateName: string;
  /** The command that regenerates this file, for its header. */
  command: string;
  /** Where the model came from, for its header. */
  source: string;
  /** K inferences per proof: a batch main wrapping the model's template (public signals [fold, challenge, batchBinding]). */
  batch?: number;
  /**
   * COST STUDY ONLY: the layers alone, with no input commitment, no binding and no range check of
   * the inputs. A measurement, never a deployable circuit.
   */
  layersOnly?: boolean;
}

/** Returns the circom source of the model's main circuit. */
export function generateGraphCircuit(model: QuantizedGraph, options: GenerateGraphOptions): string {
  const out: string[] = [];
  const shapeText = `[${model.inputShape.join(", ")}]`;
  out.push(`pragma circom 2.2.0;`);
  out.push(``);
  out.push(`// GENERATED FILE, do not edit. Made by \`${options.command}\``);
  out.push(`// from ${options.source}: quantized graph, input ${shapeText}, weights baked in.`);
  out.push(
    `// Layers: ${model.layers.map((l) => `${l.kind}${"requant" in l && l.requant ? "+relu" : ""}`).join(" -> ")}; output: ${model.output}.`,
  );
  out.push(``);
  const libs = ["binding", "commitment", "requantize"];
  if (model.output !== "logits") libs.push("argmax");
  // The operators' own includes, in registry order.
  for (const op of CIRCUITS)
    for (const layer of model.layers)
      if (layer.kind === op.kind) for (const lib of op.libs(layer)) if (!libs.includes(lib)) libs.push(lib);
  for (const lib of libs) out.push(`include "${lib}.circom";`);
  out.push(``);
  const { batch, layersOnly } = options;
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 2))
    throw new Error(`a batch circuit proves K >= 2 inferences, got K = ${batch}`);
  out.push(`template ${batch ? `${options.templateName}Inference` : options.templateName}() {`);
  if (layersOnly) {
    out.push(`    // COST STUDY ONLY: no input commitment, no binding, inputs not range-checked.`);
    out.push(`    signal input pixels[${model.inputSize}];`);
    out.push(`    signal output result;`);
  } else {
    out.push(`    // Input bytes (flat, CHW order), range-checked to ${model.inputBits} bits by the commitment.`);
    out.push(`    signal input pixels[${model.inputSize}];`);
    if (!batch) {
      out.push(`    // keccak256(chainid, market, requestId, prover) mod r, rebuilt by the market.`);
      out.push(`    signal input binding;`);
    }
    out.push(`    signal output inputCommitment;`);
    out.push(`    signal output result;`);
    out.push(``);
    out.push(`    inputCommitment <== PackedCommitment(${model.inputSize}, ${model.inputBits})(pixels);`);
    if (!batch) out.push(`    RequestBinding()(binding);`);
  }

  let current: SignalTensor = { name: "pixels", dims: [model.inputSize] };
  let reshapes = 0;
  /** The current tensor as a [C][H][W] signal array; a flat one is copied (linear, folded by --O2). */
  const asImage = (C: number, H: number, W: number): SignalTensor => {
    if (current.dims.length === 3) return current;
    const t: SignalTensor = { name: `image${reshapes++}`, dims: [C, H, W] };
    out.push(`    signal ${t.name}[${C}][${H}][${W}];`);
    out.push(`    for (var i = 0; i < ${C * H * W}; i++) {`);
    out.push(`        ${t.name}[i \\ ${H * W}][(i \\ ${W}) % ${H}][i % ${W}] <== ${current.name}[i];`);
    out.push(`    }`);
    return t;
  };

  let logitsReady = false;
  const input = current;
  const tensors: SignalTensor[] = [];
  model.layers.forEach((layer, l) => {
    out.push(``);
    const emitted = circuitOperator(layer.kind).emit(layer, {
      out,
      index: l,
      name: `a${l}`,
      current,
      asImage,
      tensorOf: (index) => (index < 0 ? input : tensors[index]!),
      isLast: l === model.layers.length - 1,
    });
    if ("logits" in emitted) logitsReady = true;
    else current = emitted.tensor;
    tensors.push(current);
  });
  if (!logitsReady) throw new Error(`"${model.name}": the last layer must be a dense layer giving the logits`);

  out.push(``);
  const offset = 2n ** BigInt(model.logitBits - 1);
  if (model.output !== "logits") {
    out.push(`    // Any two logits differ by less than 2^${model.diffBits}.`);
    out.push(`    signal predicted <== ArgMax(${model.nClasses}, ${model.diffBits})(logits);`);
  }
  if (model.output === "class") {
    out.push(`    result <== predicted;`);
  } else {
    const base = model.output === "both" ? model.classBits : 0;
    out.push(
      `    // result = ${model.output === "both" ? "class + " : ""}sum_i (logit_i + 2^${model.logitBits - 1}) * 2^(${base} + ${model.logitBits} i): ` +
        `each offset logit is below 2^${model.logitBits} by the bound above, so the packing is unique and stays below 2^253.`,
    );
    out.push(`    var packed = ${model.output === "both" ? "predicted" : "0"};`);
    out.push(`    for (var i = 0; i < ${model.nClasses}; i++) {`);
    out.push(`        packed += (logits[i] + ${offset}) * (1 << (${base} + ${model.logitBits} * i));`);
    out.push(`    }`);
    out.push(`    result <== packed;`);
  }
  out.push(`}`);
  out.push(``);
  if (batch) out.push(...batchMain(model.inputSize, options.templateName, batch));
  else out.push(`component main${layersOnly ? "" : " {public [binding]}"} = ${options.templateName}();`);
  out.push(``);
  return out.join("\n");
}

/**
 * The batch main: K inferences, each with its own input commitment and output. Instead of 2K
 * public signals (about 7k gas each to verify), the circuit outputs one fold
 *   fold = sum_i c^(2i+1) * inputCommitment_i + c^(2i+2) * output_i   (mod r)
 * for a public challenge c that the market computes as keccak256 of the batch binding and all
 * claimed commitments and outputs (mod r), and rebuilds with 2K mulmods. Every folded value
 * is computed by the circuit (a Poseidon commitment or an inference), none is free, so a
 * prover who lies about one value must hit a root of a nonzero polynomial of degree 2K in a
 * challenge fixed by its own claims: probability at most 2K / r. The batch binding
 * (keccak of chain id, market, prover and the request ids, mod r) is the third public signal.
 * Public signals: [fold, challenge, batchBinding].
 */
function batchMain(inputSize: number, templateName: string, k: number): string[] {
  return [
    `template ${templateName}(K) {`,
    `    signal input pixels[K][${inputSize}];`,
    `    signal input challenge;`,
    `    signal input batchBinding;`,
    `    signal output fold;`,
    ``,
    `    RequestBinding()(batchBinding);`,
    `    // power[j] = challenge^(j+1)`,
    `    signal power[2 * K];`,
    `    power[0] <== challenge;`,
    `    for (var j = 1; j < 2 * K; j++) {`,
    `        power[j] <== power[j - 1] * challenge;`,
    `    }`,
    `    component inference[K];`,
    `    signal term[2 * K];`,
    `    var sum = 0;`,
    `    for (var i = 0; i < K; i++) {`,
    `        inference[i] = ${templateName}Inference();`,
    `        inference[i].pixels <== pixels[i];`,
    `        term[2 * i] <== power[2 * i] * inference[i].inputCommitment;`,
    `        term[2 * i + 1] <== power[2 * i + 1] * inference[i].result;`,
    `        sum += term[2 * i] + term[2 * i + 1];`,
    `    }`,
    `    fold <== sum;`,
    `}`,
    ``,
    `component main {public [challenge, batchBinding]} = ${templateName}(${k});`,
  ];
}
