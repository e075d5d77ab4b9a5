/**
 * Circuit cost study: the MNIST MLP 784-56-10 that other libraries report on, trained here
 * with a fixed seed on real 28x28 digits, quantized, and compiled three ways:
 *   - poi's full circuit (input commitment + layers + request binding);
 *   - poi's layers alone (no commitment, no binding: a measurement, never a deployable circuit);
 *   - the same network built the circomlib-ml way (its Dense, ReLU and ArgMax templates, from
 *     the circomlib-ml npm package), when --with-circomlib-ml is given (slow: ~50k constraints).
 * Also the input commitment alone at 8 and at 4 bits per input value.
 *
 *   npm run circuits:costs [-- --with-circomlib-ml]
 *
 * Writes circuits/cost-study.json (read by docs/circuits.md and checked by the tests).
 */
import { mkdirSync, writeFileSync, existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import * as snarkjs from "snarkjs";
import { compileCircuit, ROOT } from "./compile.ts";
import { generateGraphCircuit } from "./generate-graph.ts";
import { denseLayers } from "./generate-mlp-committed.ts";
import { loadMnist28 } from "../model/mnist.ts";
import { inferQuantizedGraph } from "../model/graph-inference.ts";
import { quantizeGraph, type QuantizedGraph } from "../model/quantize-graph.ts";
import { trainMlp } from "../model/train-mlp.ts";

const require = createRequire(import.meta.url);
export const COST_STUDY_FILE = path.join(ROOT, "circuits", "cost-study.json");
const BUILD = path.join(ROOT, "circuits", "build", "cost-study");

export interface CostStudy {
  model: string;
  quantizedAccuracy: number;
  hiddenUnits: number;
  accBits: number[];
  diffBits: number;
  constraints: {
    total: number;
    layers: number;
    inputCommitment8Bit: number;
    inputCommitment4Bit: number;
    binding: number;
    circomlibMl?: number;
  };
  /** Warnings circom --inspect prints for the circomlib-ml construction. */
  circomlibMlInspectWarnings?: number;
}

let lastInspectWarnings = 0;

async function count(name: string, source: string, includeDirs: string[] = [], foreign = false): Promise<number> {
  mkdirSync(BUILD, { recursive: true });
  const file = path.join(BUILD, `${name}.circom`);
  writeFileSync(file, source);
  // poi's own circuits must pass circom --inspect; a foreign library is only measured.
  const built = await compileCircuit(file, BUILD, includeDirs, { allowInspectWarnings: foreign });
  lastInspectWarnings = (built.log.match(/warning\[/gi) ?? []).length;
  return (await snarkjs.r1cs.info(built.r1cs)).nConstraints;
}

/** Trains and quantizes the 784-56-10 MLP (deterministic: fixed seed). */
export function studyModel(): { quantized: QuantizedGraph; accuracy: number } {
  const { train, test } = loadMnist28();
  const float = trainMlp({ train, hiddenSize: 56, epochs: 8, name: "mnist-mlp-784-56-10" });
  const quantized = quantizeGraph(
    float,
    train.slice(0, 1000).map((d) => d.pixels),
  );
  const correct = test.filter((d) => inferQuantizedGraph(quantized, d.pixels).predicted === d.label).length;
  return { quantized, accuracy: correct / test.length };
}

export async function runCostStudy(withCircomlibMl: boolean): Promise<CostStudy> {
  const { quantized, accuracy } = studyModel();
  const gen = (layersOnly: boolean) =>
    generateGraphCircuit(quantized, {
      templateName: "Mlp784",
      command: "npm run circuits:costs",
      source: "the cost study's 784-56-10 MLP",
      layersOnly,
    });
  const total = await count("mlp784-full", gen(false));
  const layers = await count("mlp784-layers", gen(true));
  const commitment = (bits: number) =>
    `pragma circom 2.2.0;\ninclude "commitment.circom";\n` +
    `template T() { signal input in[784]; signal output out; out <== PackedCommitment(784, ${bits})(in); }\ncomponent main = T();\n`;
  const inputCommitment8Bit = await count("commitment-784-8", commitment(8));
  const inputCommitment4Bit = await count("commitment-784-4", commitment(4));
  const binding = await count(
    "request-binding-alone",
    `pragma circom 2.2.0;\ninclude "binding.circom";\ntemplate T() { signal input b; RequestBinding()(b); }\ncomponent main {public [b]} = T();\n`,
  );
  const study: CostStudy = {
    model: "MNIST MLP 784-56-10, 8-bit weights and activations, trained by scripts/circuit/cost-study.ts",
    quantizedAccuracy: accuracy,
    hiddenUnits: 56,
    accBits: denseLayers(quantized).map((l) => l.accBits),
    diffBits: quantized.diffBits,
    constraints: { total, layers, inputCommitment8Bit, inputCommitment4Bit, binding },
  };
  if (withCircomlibMl) {
    const lib = path.join(path.dirname(require.resolve("circomlib-ml/package.json")), "circuits");
    study.constraints.circomlibMl = await count(
      "circomlib-ml-784-56-10",
      `pragma circom 2.0.0;
include "Dense.circom";
include "ReLU.circom";
include "ArgMax.circom";
// The circomlib-ml construction: weights as private inputs, ReLU via a 254-bit sign check.
template Mlp() {
    signal input in[784];
    signal input w1[784][56];
    signal input b1[56];
    signal input w2[56][10];
    signal input b2[10];
    signal output out;
    component d1 = Dense(784, 56);
    component relu[56];
    component d2 = Dense(56, 10);
    component am = ArgMax(10);
    d1.in <== in;
    d1.weights <== w1;
    d1.bias <== b1;
    for (var i = 0; i < 56; i++) {
        relu[i] = ReLU();
        relu[i].in <== d1.out[i];
        d2.in[i] <== relu[i].out;
    }
    d2.weights <== w2;
    d2.bias <== b2;
    am.in <== d2.out;
    out <== am.out;
}
component main = Mlp();
`,
      [lib],
      true,
    );
    study.circomlibMlInspectWarnings = lastInspectWarnings;
  } else if (existsSync(COST_STUDY_FILE)) {
    const previous = JSON.parse(readFileSync(COST_STUDY_FILE, "utf8")) as CostStudy;
    if (previous.constraints.circomlibMl) study.constraints.circomlibMl = previous.constraints.circomlibMl;
    study.circomlibMlInspectWarnings = previous.circomlibMlInspectWarnings;
  }
  return study;
}

async function main(): Promise<void> {
  const study = await runCostStudy(process.argv.includes("--with-circomlib-ml"));
  writeFileSync(COST_STUDY_FILE, JSON.stringify(study, null, 2) + "\n");
  console.log(JSON.stringify(study, null, 2));
  await (await snarkjs.curves.getCurveFromName("bn128")).terminate();
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((err) => {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  });
}
