/**
 * Small compiled models for validator tests: a baked CNN (Conv + ReLU + AveragePool + Gemm on an
 * 8x8 input) and a committed-mode MLP (16-6-3), each quantized through the one pipeline
 * (quantizeGraph), generated, compiled and set up on the smallest fitting ptau by buildCircuit,
 * with a manifest that names the quantized model. The artifacts live in circuits/build/<name>
 * and are reused while the generated source is unchanged.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../../scripts/circuit/compile.ts";
import { generateGraphCircuit } from "../../scripts/circuit/generate-graph.ts";
import {
  committedArchitecture,
  generateMlpCommittedCircuit,
  modelCommitment,
} from "../../scripts/circuit/generate-mlp-committed.ts";
import type { FloatGraph, GraphLayer } from "../../scripts/model/graph.ts";
import { Prng } from "../../scripts/model/prng.ts";
import { quantizeGraph, type QuantizedGraph } from "../../scripts/model/quantize-graph.ts";
import { buildCircuit } from "../../scripts/pipeline.ts";
import type { Manifest } from "../../scripts/setup/manifest.ts";

export interface SmallModel {
  name: string;
  quantized: QuantizedGraph;
  manifestFile: string;
  manifest: Manifest;
  verifierContract: string;
  /** Random input bytes of the model's size, from a fixed seed. */
  inputs: Uint8Array[];
}

const weights = (rng: Prng, n: number, scale: number) => Float64Array.from({ length: n }, () => rng.normal() * scale);

function randomInputs(seed: number, size: number, count: number): Uint8Array[] {
  const rng = new Prng(seed);
  return Array.from({ length: count }, () => Uint8Array.from({ length: size }, () => rng.nextInt(256)));
}

async function build(
  graph: FloatGraph,
  mode: "baked" | "committed",
  verifierContract: string,
  seed: number,
): Promise<SmallModel> {
  const size = graph.inputShape.reduce((a, b) => a * b, 1);
  const calibration = randomInputs(seed, size, 64);
  const quantized = quantizeGraph(graph, calibration);
  const dir = path.join(ROOT, "circuits", "build", graph.name);
  mkdirSync(dir, { recursive: true });
  const circomFile = path.join(dir, `${graph.name}.circom`);
  const modelFile = path.join(dir, `${graph.name}.quantized.json`);
  const template = verifierContract.replace(/Verifier$/, "");
  const command = "test/helpers/small-models.ts";
  let extra: Pick<Manifest, "modelCommitment" | "architecture"> = {};
  let publicSignals = ["inputCommitment", "output", "binding"];
  if (mode === "baked") {
    writeFileSync(
      circomFile,
      generateGraphCircuit(quantized, { templateName: template, command, source: "a test model" }),
    );
  } else {
    const architecture = committedArchitecture(quantized);
    writeFileSync(circomFile, generateMlpCommittedCircuit(architecture, template, command));
    extra = { architecture, modelCommitment: modelCommitment(quantized, architecture).toString() };
    publicSignals = ["modelCommitment", "inputCommitment", "output", "binding"];
  }
  writeFileSync(modelFile, JSON.stringify(quantized) + "\n");
  const built = await buildCircuit({
    name: graph.name,
    circomFile,
    buildDir: dir,
    verifierContract,
    publicSignals,
    modelFile,
    ...extra,
  });
  return { name: graph.name, quantized, ...built, verifierContract, inputs: randomInputs(seed + 1, size, 8) };
}

/** Conv 3x3 (2 channels, pad 1) + ReLU + AveragePool 2x2 + Gemm to 3 classes, on a [1, 8, 8] input. */
export function smallCnn(): Promise<SmallModel> {
  const rng = new Prng(12);
  const layers: GraphLayer[] = [
    {
      kind: "conv",
      node: "conv",
      inC: 1,
      inH: 8,
      inW: 8,
      outC: 2,
      k: 3,
      stride: 1,
      pad: 1,
      weight: weights(rng, 18, 0.5),
      bias: weights(rng, 2, 0.1),
    },
    { kind: "relu", node: "relu" },
    { kind: "avgpool", node: "pool", C: 2, inH: 8, inW: 8, k: 2, stride: 2 },
    { kind: "dense", node: "fc", nIn: 32, nOut: 3, weight: weights(rng, 96, 0.3), bias: weights(rng, 3, 0.1) },
  ];
  return build(
    { name: "test-small-cnn", inputShape: [1, 8, 8], onnxInputShape: [1, 1, 8, 8], layers, outputSize: 3 },
    "baked",
    "TestSmallCnnVerifier",
    12,
  );
}

/** A 16-6-3 MLP in committed mode: its weights are private inputs bound to their commitment. */
export function smallCommittedMlp(): Promise<SmallModel> {
  const rng = new Prng(34);
  const layers: GraphLayer[] = [
    { kind: "dense", node: "fc1", nIn: 16, nOut: 6, weight: weights(rng, 96, 0.4), bias: weights(rng, 6, 0.1) },
    { kind: "relu", node: "relu" },
    { kind: "dense", node: "fc2", nIn: 6, nOut: 3, weight: weights(rng, 18, 0.4), bias: weights(rng, 3, 0.1) },
  ];
  return build(
    { name: "test-small-committed", inputShape: [16], onnxInputShape: [1, 16], layers, outputSize: 3 },
    "committed",
    "TestSmallCommittedVerifier",
    34,
  );
}
