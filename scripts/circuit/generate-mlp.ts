/**
 * Generates the circom main of a quantized MLP in baked mode: weights are circuit constants,
 * so each multiply-accumulate is a term of a linear combination and costs no constraint.
 * The only constraints are the input range checks and commitment, one fused
 * requantize + ReLU + clamp per hidden unit, the ArgMax and the request binding.
 *
 * Public signals, in order: [inputCommitment, output, binding] (the market rebuilds them).
 */
import type { QuantizedMlp } from "../model/quantize.ts";

export interface GenerateOptions {
  /** PascalCase name of the main template. */
  templateName: string;
  /** The command that regenerates this file, for its header. */
  command: string;
  /** Where the model came from, for its header. */
  source: string;
  /**
   * Without the input commitment and the request binding: only the layers, for cost
   * studies. Such a circuit proves nothing about which input it ran on; never deploy it.
   */
  layersOnly?: boolean;
  /**
   * Batch of K inferences in one proof (see generateBatch below): the per-request values are
   * folded into one public signal with a challenge the market derives from them.
   */
  batch?: number;
}

/**
 * Statements that set `target` to bias + sum_i w_i * signal[i] (zero weights skipped). The sum
 * is split into statements of at most 32 terms: circom evaluates an expression recursively
 * and its WebAssembly build runs out of stack on a single 784-term expression.
 */
function linearCombination(
  target: string,
  bias: number,
  weights: number[],
  offset: number,
  n: number,
  signal: string,
): string[] {
  const terms: string[] = [];
  for (let i = 0; i < n; i++) {
    const w = weights[offset + i];
    if (w !== 0) terms.push(`${w} * ${signal}[${i}]`);
  }
  const lines = [`    ${target} = ${bias};`];
  for (let i = 0; i < terms.length; i += 32) {
    lines.push(
      `    ${target} += ${terms
        .slice(i, i + 32)
        .join(" + ")
        .replace(/\+ -/g, "- ")};`,
    );
  }
  return lines;
}

/** Returns the circom source of the model's main circuit. */
export function generateMlpCircuit(model: QuantizedMlp, options: GenerateOptions): string {
  const { templateName } = options;
  const out: string[] = [];
  out.push(`pragma circom 2.2.0;`);
  out.push(``);
  out.push(`// GENERATED FILE, do not edit. Made by \`${options.command}\``);
  out.push(
    `// from ${options.source}: quantized MLP ${[model.inputSize, ...model.layers.map((l) => l.nOut)].join("-")}, weights baked in.`,
  );
  out.push(``);
  for (const lib of ["binding", "commitment", "requantize", "argmax"]) out.push(`include "${lib}.circom";`);
  out.push(``);
  const batch = options.batch;
  out.push(`template ${batch ? `${templateName}Inference` : templateName}() {`);
  if (options.layersOnly) {
    out.push(`    // COST STUDY ONLY: no input commitment, no binding, inputs not range-checked.`);
    out.push(`    signal input pixels[${model.inputSize}];`);
    out.push(`    signal output result;`);
  } else {
    out.push(`    // Input bytes, range-checked to ${model.inputBits} bits by the commitment.`);
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

  let input = "pixels";
  model.layers.forEach((layer, l) => {
    out.push(``);
    if (layer.requant) {
      const { shift, outBits } = layer.requant;
      const name = `h${l}`;
      out.push(
        `    // Layer ${l}: dense ${layer.nIn} -> ${layer.nOut}; accumulators lie in [${layer.accMin}, ${layer.accMax}] ` +
          `(${layer.accBits} signed bits), then floor(/2^${shift}), ReLU, clamp to ${outBits} bits.`,
      );
      out.push(`    signal ${name}[${layer.nOut}];`);
      out.push(`    var acc${l}[${layer.nOut}];`);
      for (let o = 0; o < layer.nOut; o++) {
        out.push(...linearCombination(`acc${l}[${o}]`, layer.bias[o], layer.weight, o * layer.nIn, layer.nIn, input));
        out.push(`    ${name}[${o}] <== RequantReluClamp(${layer.accBits}, ${shift}, ${outBits})(acc${l}[${o}]);`);
      }
      input = name;
    } else {
      out.push(
        `    // Layer ${l}: dense ${layer.nIn} -> ${layer.nOut} logits in [${layer.accMin}, ${layer.accMax}]: ` +
          `linear in the previous layer, no constraint.`,
      );
      out.push(`    var logits[${layer.nOut}];`);
      for (let o = 0; o < layer.nOut; o++) {
        out.push(...linearCombination(`logits[${o}]`, layer.bias[o], layer.weight, o * layer.nIn, layer.nIn, input));
      }
    }
  });

  out.push(``);
  out.push(`    // Any two logits differ by less than 2^${model.diffBits}.`);
  out.push(`    signal predicted <== ArgMax(${model.nClasses}, ${model.diffBits})(logits);`);
  out.push(``);
  out.push(
    `    // result = class + sum_i (logit_i + 2^${model.logitBits - 1}) * 2^(${model.classBits} + ${model.logitBits} i): ` +
      `each offset logit is below 2^${model.logitBits} by the bound above, so the packing is unique and stays below 2^253.`,
  );
  out.push(`    var packed = predicted;`);
  out.push(`    for (var i = 0; i < ${model.nClasses}; i++) {`);
  out.push(
    `        packed += (logits[i] + ${2n ** BigInt(model.logitBits - 1)}) * (1 << (${model.classBits} + ${model.logitBits} * i));`,
  );
  out.push(`    }`);
  out.push(`    result <== packed;`);
  out.push(`}`);
  out.push(``);
  if (batch) {
    out.push(...batchMain(model, templateName, batch));
  } else {
    out.push(`component main${options.layersOnly ? "" : " {public [binding]}"} = ${templateName}();`);
  }
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
function batchMain(model: QuantizedMlp, templateName: string, k: number): string[] {
  return [
    `template ${templateName}(K) {`,
    `    signal input pixels[K][${model.inputSize}];`,
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
