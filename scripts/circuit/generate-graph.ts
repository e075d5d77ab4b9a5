/**
 * Generates the circom main of a quantized sequential graph (quantize-graph.ts) in baked mode:
 * weights are circuit constants, so every multiply-accumulate of a Conv or dense layer is a
 * term of a linear combination and costs no constraint. Constraints come only from the
 * templates of circuits/lib: the input commitment (which range-checks the input bytes), one
 * RequantReluClamp per hidden activation, MaxPool2D / AvgPool2D on clamped activations, the
 * ArgMax and the request binding. The integer reference is graph-inference.ts.
 *
 * Public signals, in order: [inputCommitment, output, binding], as for the MLP generator.
 */
import { conv2dLinearCombinations } from "./conv-baked.ts";
import type { QuantizedGraph } from "../model/quantize-graph.ts";

export interface GenerateGraphOptions {
  /** PascalCase name of the main template. */
  templateName: string;
  /** The command that regenerates this file, for its header. */
  command: string;
  /** Where the model came from, for its header. */
  source: string;
}

/** A tensor held in a signal array, flat ([n]) or image-shaped ([C][H][W]). */
interface SignalTensor {
  name: string;
  dims: number[];
}

function ref(t: SignalTensor, i: number): string {
  if (t.dims.length === 1) return `${t.name}[${i}]`;
  const [, H, W] = t.dims as [number, number, number];
  return `${t.name}[${Math.floor(i / (H * W))}][${Math.floor(i / W) % H}][${i % W}]`;
}

/** `target = bias + sum w_i * x_i`, split into statements of at most 32 terms (circom's WASM stack). */
function sumStatements(
  target: string,
  bias: number,
  weights: number[],
  offset: number,
  input: SignalTensor,
  n: number,
) {
  const terms: string[] = [];
  for (let i = 0; i < n; i++) {
    const w = weights[offset + i]!;
    if (w !== 0) terms.push(`${w} * ${ref(input, i)}`);
  }
  const lines = [`    ${target} = ${bias};`];
  for (let i = 0; i < terms.length; i += 32) {
    lines.push(`    ${target} += ${terms.slice(i, i + 32).join(" + ")};`.replace(/\+ -/g, "- "));
  }
  return lines;
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
  if (model.layers.some((l) => l.kind === "maxpool")) libs.push("max-pool");
  if (model.layers.some((l) => l.kind === "avgpool")) libs.push("avg-pool");
  for (const lib of libs) out.push(`include "${lib}.circom";`);
  out.push(``);
  out.push(`template ${options.templateName}() {`);
  out.push(`    // Input bytes (flat, CHW order), range-checked to ${model.inputBits} bits by the commitment.`);
  out.push(`    signal input pixels[${model.inputSize}];`);
  out.push(`    // keccak256(chainid, market, requestId, prover) mod r, rebuilt by the market.`);
  out.push(`    signal input binding;`);
  out.push(`    signal output inputCommitment;`);
  out.push(`    signal output result;`);
  out.push(``);
  out.push(`    inputCommitment <== PackedCommitment(${model.inputSize}, ${model.inputBits})(pixels);`);
  out.push(`    RequestBinding()(binding);`);

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
  model.layers.forEach((layer, l) => {
    out.push(``);
    const name = `a${l}`;
    switch (layer.kind) {
      case "conv": {
        const { inC, inH, inW, outC, k, stride, pad, requant } = layer;
        if (!requant) throw new Error(`conv layer "${layer.node}" has no activation; the quantizer should refuse it`);
        const input = asImage(inC, inH, inW);
        const weights = Array.from({ length: outC }, (_, oc) =>
          Array.from({ length: inC }, (_, ic) =>
            Array.from({ length: k }, (_, kh) =>
              layer.weight.slice(((oc * inC + ic) * k + kh) * k, ((oc * inC + ic) * k + kh + 1) * k),
            ),
          ),
        );
        const combos = conv2dLinearCombinations(
          { inH, inW, inC, outC, k, stride, pad },
          weights,
          layer.bias,
          input.name,
        );
        const outH = combos[0]!.length;
        const outW = combos[0]![0]!.length;
        out.push(
          `    // Layer ${l} ("${layer.node}"): Conv ${k}x${k}, ${inC} -> ${outC} channels, stride ${stride}, pad ${pad}; ` +
            `accumulators in [${layer.accMin}, ${layer.accMax}] (${layer.accBits} signed bits), ` +
            `then floor(/2^${requant.shift}), ReLU, clamp to ${requant.outBits} bits.`,
        );
        out.push(`    signal ${name}[${outC}][${outH}][${outW}];`);
        combos.forEach((plane, oc) =>
          plane.forEach((row, y) =>
            row.forEach((combo, x) => {
              out.push(
                `    ${name}[${oc}][${y}][${x}] <== RequantReluClamp(${layer.accBits}, ${requant.shift}, ${requant.outBits})(${combo});`,
              );
            }),
          ),
        );
        current = { name, dims: [outC, outH, outW] };
        break;
      }
      case "maxpool":
      case "avgpool": {
        const { C, inH, inW, k, stride, bits } = layer;
        const input = asImage(C, inH, inW);
        const outH = Math.floor((inH - k) / stride) + 1;
        const outW = Math.floor((inW - k) / stride) + 1;
        const template = layer.kind === "maxpool" ? "MaxPool2D" : "AvgPool2D";
        out.push(
          `    // Layer ${l} ("${layer.node}"): ${template} ${k}x${k}, stride ${stride}, on ${bits}-bit unsigned ` +
            `values (outputs of RequantReluClamp or of the range-checked input).`,
        );
        out.push(
          `    signal ${name}[${C}][${outH}][${outW}] <== ${template}(${inH}, ${inW}, ${C}, ${k}, ${stride}, ${bits})(${input.name});`,
        );
        current = { name, dims: [C, outH, outW] };
        break;
      }
      case "dense": {
        if (layer.requant) {
          const { shift, outBits } = layer.requant;
          out.push(
            `    // Layer ${l} ("${layer.node}"): dense ${layer.nIn} -> ${layer.nOut}; accumulators in ` +
              `[${layer.accMin}, ${layer.accMax}] (${layer.accBits} signed bits), then floor(/2^${shift}), ReLU, clamp to ${outBits} bits.`,
          );
          out.push(`    signal ${name}[${layer.nOut}];`);
          out.push(`    var acc${l}[${layer.nOut}];`);
          for (let o = 0; o < layer.nOut; o++) {
            out.push(
              ...sumStatements(`acc${l}[${o}]`, layer.bias[o]!, layer.weight, o * layer.nIn, current, layer.nIn),
            );
            out.push(`    ${name}[${o}] <== RequantReluClamp(${layer.accBits}, ${shift}, ${outBits})(acc${l}[${o}]);`);
          }
          current = { name, dims: [layer.nOut] };
        } else {
          out.push(
            `    // Layer ${l} ("${layer.node}"): dense ${layer.nIn} -> ${layer.nOut} logits in [${layer.accMin}, ${layer.accMax}]: ` +
              `linear in the previous layer, no constraint.`,
          );
          out.push(`    var logits[${layer.nOut}];`);
          for (let o = 0; o < layer.nOut; o++) {
            out.push(...sumStatements(`logits[${o}]`, layer.bias[o]!, layer.weight, o * layer.nIn, current, layer.nIn));
          }
          logitsReady = true;
        }
        break;
      }
    }
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
  out.push(`component main {public [binding]} = ${options.templateName}();`);
  out.push(``);
  return out.join("\n");
}
