/**
 * Writing a trained reference model (train-mlp.ts, train-cnn.ts): the graph exported to ONNX
 * (graphToOnnx), its accuracy measured by onnxruntime on the held-out digits and cross-checked
 * against our own float64 forward pass, and the metrics file that records both.
 */
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { argmax } from "../circuit/reference.ts";
import { onnxGraphAccuracy } from "../compiler/float-reference.ts";
import { graphForward, type FloatGraph } from "./graph.ts";
import { toFloatInput, type Digit } from "./mnist.ts";
import { graphToOnnx } from "./onnx-import.ts";

/** Accuracy of our own float64 forward pass, used to cross-check onnxruntime. */
export function graphAccuracy(graph: FloatGraph, digits: Digit[]): number {
  let correct = 0;
  for (const d of digits) if (argmax(graphForward(graph, toFloatInput(d.pixels))) === d.label) correct++;
  return correct / digits.length;
}

/** Writes via a temporary file and a rename, so an interrupted run never leaves half a file. */
function writeAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/**
 * Writes models/<graph.name>.onnx and .metrics.json (the training settings in `settings`, the
 * sizes, onnxruntime's accuracy and the file's sha256), refusing to write the metrics if
 * onnxruntime and the float64 forward pass disagree.
 */
export async function writeTrainedModel(o: {
  graph: FloatGraph;
  docString: string;
  trainedWith: string;
  settings: Record<string, unknown>;
  train: Digit[];
  test: Digit[];
  seconds: number;
}): Promise<void> {
  const modelsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../models");
  const onnxPath = path.join(modelsDir, `${o.graph.name}.onnx`);
  const metricsPath = path.join(modelsDir, `${o.graph.name}.metrics.json`);
  mkdirSync(modelsDir, { recursive: true });
  const bytes = graphToOnnx(o.graph, { docString: o.docString });
  writeAtomic(onnxPath, bytes);

  const { accuracy } = await onnxGraphAccuracy(onnxPath, o.graph.onnxInputShape, o.test);
  const own = graphAccuracy(o.graph, o.test);
  if (accuracy !== own) {
    // A mismatch means the export or the runtime disagrees with our forward pass; the metrics
    // would describe a different model than the one the circuits are built from.
    throw new Error(
      `onnxruntime accuracy ${accuracy} differs from the float64 forward pass ${own}; ` +
        "the ONNX export is inconsistent, do not commit this model",
    );
  }
  const metrics = {
    ...o.settings,
    trainSize: o.train.length,
    testSize: o.test.length,
    floatAccuracy: accuracy,
    onnxSha256: createHash("sha256").update(bytes).digest("hex"),
    trainedWith: o.trainedWith,
  };
  writeAtomic(metricsPath, `${JSON.stringify(metrics, null, 2)}\n`);
  console.log(
    `trained ${o.graph.name} in ${o.seconds.toFixed(1)} s: float accuracy ${(accuracy * 100).toFixed(1)}% ` +
      `on ${o.test.length} held-out digits; wrote ${path.relative(process.cwd(), onnxPath)} (sha256 ${metrics.onnxSha256})`,
  );
}
