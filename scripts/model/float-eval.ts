/**
 * Float accuracy of an ONNX file, measured by onnxruntime rather than by our own forward pass,
 * so that the number we report is what the standard runtime computes on the file we ship.
 */
import { readFileSync } from "node:fs";
// Named imports: the package is CommonJS compiled with __esModule, so a default import is
// undefined whenever a loader transpiles this file to CommonJS (as mocha's does).
import { InferenceSession, Tensor } from "onnxruntime-node";
import { argmax } from "./float-model.ts";
import { toFloatInput, type Digit } from "./mnist.ts";

export interface OnnxAccuracy {
  /** Fraction of digits whose argmax logit equals the label. */
  accuracy: number;
  predictions: number[];
  logits: Float32Array[];
}

/** Runs every digit through the model at batch size 1 (the shape the circuits prove). */
export async function onnxAccuracy(onnxPath: string, digits: Digit[]): Promise<OnnxAccuracy> {
  if (digits.length === 0) throw new Error("onnxAccuracy needs at least one digit");
  // Reading the bytes ourselves gives a clear error for a missing file instead of ORT's own.
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(onnxPath);
  } catch (err) {
    throw new Error(`cannot read ONNX model "${onnxPath}": ${(err as Error).message}`);
  }
  const session = await InferenceSession.create(bytes);
  try {
    const inputName = session.inputNames[0]!;
    const outputName = session.outputNames[0]!;
    const predictions: number[] = [];
    const logits: Float32Array[] = [];
    let correct = 0;
    for (const digit of digits) {
      const x = toFloatInput(digit.pixels);
      const feeds = { [inputName]: new Tensor("float32", x, [1, x.length]) };
      const result = await session.run(feeds);
      const y = Float32Array.from(result[outputName]!.data as Float32Array);
      const predicted = argmax(y);
      predictions.push(predicted);
      logits.push(y);
      if (predicted === digit.label) correct++;
    }
    return { accuracy: correct / digits.length, predictions, logits };
  } finally {
    await session.release();
  }
}
