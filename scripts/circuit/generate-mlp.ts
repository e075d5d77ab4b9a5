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
  out.push(`template ${templateName}() {`);
  if (options.layersOnly) {
    out.push(`    // COST STUDY ONLY: no input commitment, no binding, inputs not range-checked.`);
    out.push(`    signal input pixels[${model.inputSize}];`);
    out.push(`    signal output result;`);
  } else {
    out.push(`    // Input bytes, range-checked to ${model.inputBits} bits by the commitment.`);
    out.push(`    signal input pixels[${model.inputSize}];`);
    out.push(`    // keccak256(chainid, market, requestId, prover) mod r, rebuilt by the market.`);
    out.push(`    signal input binding;`);
    out.push(`    signal output inputCommitment;`);
    out.push(`    signal output result;`);
    out.push(``);
    out.push(`    inputCommitment <== PackedCommitment(${model.inputSize}, ${model.inputBits})(pixels);`);
    out.push(`    RequestBinding()(binding);`);
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
  out.push(`component main${options.layersOnly ? "" : " {public [binding]}"} = ${templateName}();`);
  out.push(``);
  return out.join("\n");
}
