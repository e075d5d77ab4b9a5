/**
 * Circuits that only the benchmark uses, built on demand with the pipeline's own steps and cached
 * in circuits/build like the pipeline's outputs (so `npm run bench` works from a fresh clone):
 *
 * - mnist-cnn: the reference CNN (models/mnist-cnn.onnx) in baked mode, quantized and generated
 *   as `poi compile` does (docs/compiler.md), set up with the smallest fitting development ptau.
 * - mnist-mlp-batch16: sixteen MLP inferences per proof, the largest batch whose setup fits the
 *   2^16 development ptau, to measure fulfilBatch at a larger K.
 *
 * Neither is part of `npm run build:circuit` (CI); their generated sources stay in their build folder.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../circuit/compile.ts";
import { generateGraphCircuit } from "../circuit/generate-graph.ts";
import { loadGraph, templateNameFor } from "../compiler/compile-model.ts";
import { loadMnist } from "../model/mnist.ts";
import { quantizeGraph, type QuantizedGraph } from "../model/quantize-graph.ts";
import {
  buildCircuit,
  buildModel,
  CALIBRATION_DIGITS,
  paths,
  type BuildOptions,
  type BuiltModel,
  type ReferenceModel,
} from "../pipeline.ts";
import type { Manifest } from "../setup/manifest.ts";

const COMMAND = "npm run bench";

export const BENCH_BATCH: ReferenceModel = {
  name: "mnist-mlp-batch16",
  onnx: "models/mnist-mlp.onnx",
  template: "BatchMnistMlp",
  verifierContract: "MnistMlpBatch16Verifier",
  batch: 16,
};

/** The K = 16 batch circuit of the reference MLP (about 45,900 constraints: 2^16 ptau). */
export function buildBenchBatch(options: BuildOptions = {}): Promise<BuiltModel> {
  return buildModel(BENCH_BATCH, { ...options, generatedDir: paths(BENCH_BATCH.name).buildDir, command: COMMAND });
}

export const BENCH_CNN = {
  name: "mnist-cnn",
  onnx: "models/mnist-cnn.onnx",
  verifierContract: "MnistCnnVerifier",
} as const;

export interface BuiltGraphModel {
  quantized: QuantizedGraph;
  manifestFile: string;
  manifest: Manifest;
  cached: boolean;
}

/**
 * The reference CNN in baked mode: quantized on the pipeline's calibration digits with the
 * compiler's defaults (8-bit weights and activations, output = class + logits), its circom main
 * generated into circuits/build/mnist-cnn/, compiled and set up. Public signals are the MLP's:
 * [inputCommitment, output, binding], with `{ pixels, binding }` as input.
 */
export async function buildBenchCnn(options: BuildOptions = {}): Promise<BuiltGraphModel> {
  const onnxFile = path.join(ROOT, BENCH_CNN.onnx);
  const { bytes, graph } = loadGraph(onnxFile);
  const calibration = loadMnist()
    .train.slice(0, CALIBRATION_DIGITS)
    .map((d) => d.pixels);
  const quantized = quantizeGraph(graph, calibration, { weightBits: 8, activationBits: 8, output: "both" });
  quantized.name = BENCH_CNN.name;
  const onnxSha = createHash("sha256").update(bytes).digest("hex");
  const circom = generateGraphCircuit(quantized, {
    templateName: templateNameFor(BENCH_CNN.name),
    command: COMMAND,
    source: `${BENCH_CNN.onnx} (sha256 ${onnxSha.slice(0, 16)}...), calibrated on ${CALIBRATION_DIGITS} training digits`,
  });
  const p = paths(BENCH_CNN.name, paths(BENCH_CNN.name).buildDir);
  mkdirSync(p.buildDir, { recursive: true });
  // Rewritten only when it changes, so that its source hash keeps the cached setup valid.
  const old = (() => {
    try {
      return readFileSync(p.circom, "utf8");
    } catch {
      return undefined;
    }
  })();
  if (old !== circom) writeFileSync(p.circom, circom);
  writeFileSync(p.quantized, JSON.stringify(quantized) + "\n");
  const built = await buildCircuit(
    {
      name: BENCH_CNN.name,
      circomFile: p.circom,
      buildDir: p.buildDir,
      verifierContract: BENCH_CNN.verifierContract,
      publicSignals: ["inputCommitment", "output", "binding"],
    },
    { ...options, command: COMMAND },
  );
  return { quantized, ...built };
}
