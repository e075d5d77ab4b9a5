/**
 * Compiles both reference models with `poi compile` semantics, checking the circuit's witness
 * against the integer reference on every held-out digit, and copies their fidelity reports to
 * models/<name>.fidelity.{json,md}. Run with `npm run fidelity`.
 */
import { copyFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "../circuit/compile.ts";
import { compileModel } from "./compile-model.ts";

export const REFERENCE_ONNX = ["models/mnist-mlp.onnx", "models/mnist-cnn.onnx"];

async function main(): Promise<void> {
  for (const onnx of REFERENCE_ONNX) {
    const result = await compileModel({
      onnxPath: path.join(ROOT, onnx),
      outDir: path.join(ROOT, "build", "compiled", path.basename(onnx, ".onnx")),
      witnessChecks: Number.MAX_SAFE_INTEGER,
      // The reference models were trained on byte / 256 (scripts/model/mnist.ts toFloatInput).
      inputDivisor: 256,
      command: `npm run fidelity`,
      log: (m) => console.log(`${path.basename(onnx)}: ${m}`),
    });
    for (const file of [result.info.files.fidelityJson, result.info.files.fidelityMarkdown]) {
      copyFileSync(path.join(result.outDir, file), path.join(ROOT, "models", file));
    }
    console.log(`${path.basename(onnx)}: wrote models/${result.info.files.fidelityJson} and .md`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main()
    .then(async () => {
      const curve = (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128;
      await curve?.terminate();
    })
    .catch((err: unknown) => {
      console.error(`fidelity: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}
