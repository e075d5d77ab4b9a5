/**
 * Circuits that only the benchmark uses, built on demand with the pipeline's own steps and cached
 * in circuits/build like the pipeline's outputs (so `npm run bench` works from a fresh clone):
 *
 * - mnist-cnn: the reference CNN (models/mnist-cnn.onnx) in baked mode, quantized and generated
 *   as `poi compile` does (docs/compiler.md), set up with the smallest fitting development ptau.
 * - mnist-mlp-batch8, -batch16, -batch32: eight, sixteen and thirty-two MLP inferences per proof
 *   (the four-inference one is a reference model of the pipeline), to measure requestInferences,
 *   claimBatch and fulfilBatch at every batch size the daemon uses. K = 32 (about 92,000
 *   constraints) needs the 2^17 development ptau.
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

/** Batch sizes of the reference MLP that only the bench builds (K = 4 is in REFERENCE_MODELS). */
export const BENCH_BATCH_SIZES = [8, 16, 32] as const;

/** The K-inference batch circuit of the reference MLP, as the bench builds it. */
export function benchBatch(k: number): ReferenceModel {
  return {
    name: `mnist-mlp-batch${k}`,
    onnx: "models/mnist-mlp.onnx",
    template: "BatchMnistMlp",
    verifierContract: `MnistMlpBatch${k}Verifier`,
    batch: k,
  };
}

/** Builds (or reuses) the K-inference batch circuit of the reference MLP (about 2,870 constraints per inference). */
export function buildBenchBatch(k: number, options: BuildOptions = {}): Promise<BuiltModel> {
  const model = benchBatch(k);
  return buildModel(model, { ...options, generatedDir: paths(model.name).buildDir, command: COMMAND });
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
