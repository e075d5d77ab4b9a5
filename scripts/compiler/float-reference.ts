/**
 * The float reference of a model graph: the ONNX file itself, run by onnxruntime-node at batch
 * size 1 with the input shape the file declares. Fidelity figures compare against this, not
 * against our own float forward pass, so that they describe what the standard runtime computes.
 */
import { readFileSync } from "node:fs";
// Named imports: the package is CommonJS compiled with __esModule, so a default import is
// undefined whenever a loader transpiles this file to CommonJS (as mocha's does).
import { InferenceSession, Tensor } from "onnxruntime-node";
import { argmax } from "../circuit/reference.ts";
import { toFloatInput, type Digit } from "../model/mnist.ts";

/**
 * Runs every input (pixel bytes, fed as bytes / inputDivisor, 256 unless given: the model's
 * declared input mapping) and returns the float32 logits of each.
 */
export async function onnxLogits(
  model: string | Uint8Array,
  inputShape: number[],
  inputs: ArrayLike<number>[],
  inputDivisor?: number,
): Promise<Float32Array[]> {
  let bytes: Uint8Array;
  if (typeof model === "string") {
    try {
      bytes = readFileSync(model);
    } catch (err) {
      throw new Error(`cannot read ONNX model "${model}": ${(err as Error).message}`);
    }
  } else {
    bytes = model;
  }
  // Errors only: PyTorch-layout files (initializers listed as inputs) make ORT warn on every load.
  const session = await InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    const inputName = session.inputNames[0]!;
    const outputName = session.outputNames[0]!;
    const out: Float32Array[] = [];
    for (const pixels of inputs) {
      const x = toFloatInput(pixels, inputDivisor);
      const result = await session.run({ [inputName]: new Tensor("float32", x, inputShape) });
      out.push(Float32Array.from(result[outputName]!.data as Float32Array));
    }
    return out;
  } finally {
    await session.release();
  }
}

/** Accuracy of the ONNX file on labelled digits, with each prediction and logit vector. */
export async function onnxGraphAccuracy(
  model: string | Uint8Array,
  inputShape: number[],
  digits: Digit[],
): Promise<{ accuracy: number; predictions: number[]; logits: Float32Array[] }> {
  if (digits.length === 0) throw new Error("onnxGraphAccuracy needs at least one digit");
  const logits = await onnxLogits(
    model,
    inputShape,
    digits.map((d) => d.pixels),
  );
  const predictions = logits.map((l) => argmax(l));
  const correct = predictions.filter((p, i) => p === digits[i]!.label).length;
  return { accuracy: correct / digits.length, predictions, logits };
}
