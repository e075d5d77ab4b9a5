/**
 * Trains the reference MNIST CNN and writes models/mnist-cnn.onnx and models/mnist-cnn.metrics.json.
 * Run with `npm run train:cnn`.
 *
 *   input [1, 1, 14, 14] (pixel bytes / 256)
 *   -> Conv 3x3, 4 channels, padding 1 -> ReLU -> MaxPool 2x2 (stride 2) -> Flatten
 *   -> Gemm 196 -> 10 logits
 *
 * Like train-mlp.ts, everything is float64 TypeScript with a seeded PRNG and a fixed summation
 * order, so the same seed gives byte-identical weights on any machine.
 */
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { argmax } from "./float-model.ts";
import { graphForward, type FloatGraph } from "./graph.ts";
import { IMAGE_SIDE, NUM_CLASSES, loadMnist, toFloatInput, type Digit } from "./mnist.ts";
import { graphToOnnx } from "./onnx-import.ts";
import { Prng } from "./prng.ts";
import { onnxGraphAccuracy } from "../compiler/float-reference.ts";

/** The seed of the committed model. Changing it changes models/mnist-cnn.onnx. */
export const CNN_SEED = 4242;

export const DEFAULT_CNN_OPTIONS = {
  seed: CNN_SEED,
  epochs: 20,
  channels: 4,
  batchSize: 32,
  learningRate: 0.1,
  momentum: 0.9,
  weightDecay: 1e-4,
  name: "mnist-cnn",
} as const;

export interface TrainCnnOptions {
  train: Digit[];
  seed?: number;
  epochs?: number;
  channels?: number;
  batchSize?: number;
  learningRate?: number;
  momentum?: number;
  weightDecay?: number;
  name?: string;
}

/**
 * Mini-batch SGD with momentum on softmax cross-entropy, cosine learning-rate decay. Returns a
 * graph whose weights are rounded to float32, exactly the model stored in the ONNX file.
 */
export function trainCnn(opts: TrainCnnOptions): FloatGraph {
  const o = { ...DEFAULT_CNN_OPTIONS, ...opts };
  if (o.train.length === 0) throw new Error("trainCnn needs at least one training digit");
  const S = IMAGE_SIDE;
  const P = S / 2;
  const C = o.channels;
  const K = 3;
  const nFeat = C * P * P;
  const nOut = NUM_CLASSES;
  const rng = new Prng(o.seed);

  // He initialisation for both layers.
  const wc = new Float64Array(C * K * K).map(() => rng.normal() * Math.sqrt(2 / (K * K)));
  const bc = new Float64Array(C);
  const wd = new Float64Array(nOut * nFeat).map(() => rng.normal() * Math.sqrt(2 / nFeat));
  const bd = new Float64Array(nOut);
  const params = [wc, bc, wd, bd];
  const decays = [o.weightDecay, 0, o.weightDecay, 0];
  const grads = params.map((p) => new Float64Array(p.length));
  const velocity = params.map((p) => new Float64Array(p.length));
  const [gwc, gbc, gwd, gbd] = grads as [Float64Array, Float64Array, Float64Array, Float64Array];

  const inputs = o.train.map((d) => Float64Array.from(toFloatInput(d.pixels)));
  const order = o.train.map((_, i) => i);
  const totalSteps = o.epochs * Math.ceil(order.length / o.batchSize);
  const z = new Float64Array(C * S * S);
  const pooled = new Float64Array(nFeat);
  const argPos = new Int32Array(nFeat);
  const logits = new Float64Array(nOut);
  const dLogits = new Float64Array(nOut);
  const dPooled = new Float64Array(nFeat);
  let step = 0;

  for (let epoch = 0; epoch < o.epochs; epoch++) {
    rng.shuffle(order);
    for (let start = 0; start < order.length; start += o.batchSize) {
      const batch = order.slice(start, start + o.batchSize);
      for (const g of grads) g.fill(0);
      for (const idx of batch) {
        const x = inputs[idx]!;
        const label = o.train[idx]!.label;
        // Conv 3x3, padding 1, then ReLU.
        for (let c = 0; c < C; c++) {
          for (let y = 0; y < S; y++) {
            for (let xx = 0; xx < S; xx++) {
              let acc = bc[c]!;
              for (let kh = 0; kh < K; kh++) {
                const h = y + kh - 1;
                if (h < 0 || h >= S) continue;
                for (let kw = 0; kw < K; kw++) {
                  const w = xx + kw - 1;
                  if (w < 0 || w >= S) continue;
                  acc += wc[(c * K + kh) * K + kw]! * x[h * S + w]!;
                }
              }
              z[(c * S + y) * S + xx] = acc > 0 ? acc : 0;
            }
          }
        }
        // MaxPool 2x2: remember which position won (first maximum) for the backward pass.
        for (let c = 0; c < C; c++) {
          for (let py = 0; py < P; py++) {
            for (let px = 0; px < P; px++) {
              let best = (c * S + 2 * py) * S + 2 * px;
              for (const off of [1, S, S + 1]) {
                const pos = (c * S + 2 * py) * S + 2 * px + off;
                if (z[pos]! > z[best]!) best = pos;
              }
              const f = (c * P + py) * P + px;
              pooled[f] = z[best]!;
              argPos[f] = best;
            }
          }
        }
        let maxLogit = -Infinity;
        for (let k = 0; k < nOut; k++) {
          let acc = bd[k]!;
          for (let f = 0; f < nFeat; f++) acc += wd[k * nFeat + f]! * pooled[f]!;
          logits[k] = acc;
          if (acc > maxLogit) maxLogit = acc;
        }
        let sum = 0;
        for (let k = 0; k < nOut; k++) {
          dLogits[k] = Math.exp(logits[k]! - maxLogit);
          sum += dLogits[k]!;
        }
        for (let k = 0; k < nOut; k++) dLogits[k] = dLogits[k]! / sum - (k === label ? 1 : 0);

        dPooled.fill(0);
        for (let k = 0; k < nOut; k++) {
          const d = dLogits[k]!;
          gbd[k] = gbd[k]! + d;
          for (let f = 0; f < nFeat; f++) {
            gwd[k * nFeat + f] = gwd[k * nFeat + f]! + d * pooled[f]!;
            dPooled[f] = dPooled[f]! + d * wd[k * nFeat + f]!;
          }
        }
        // Only the winning position of each window gets a gradient, and only if it passed the ReLU.
        for (let f = 0; f < nFeat; f++) {
          const pos = argPos[f]!;
          if (z[pos]! <= 0) continue;
          const d = dPooled[f]!;
          const c = Math.floor(pos / (S * S));
          const y = Math.floor(pos / S) % S;
          const xx = pos % S;
          gbc[c] = gbc[c]! + d;
          for (let kh = 0; kh < K; kh++) {
            const h = y + kh - 1;
            if (h < 0 || h >= S) continue;
            for (let kw = 0; kw < K; kw++) {
              const w = xx + kw - 1;
              if (w < 0 || w >= S) continue;
              gwc[(c * K + kh) * K + kw] = gwc[(c * K + kh) * K + kw]! + d * x[h * S + w]!;
            }
          }
        }
      }
      const lr = (o.learningRate * (1 + Math.cos((Math.PI * step) / totalSteps))) / 2;
      const scale = 1 / batch.length;
      params.forEach((p, j) => {
        const g = grads[j]!;
        const v = velocity[j]!;
        for (let i = 0; i < p.length; i++) {
          v[i] = o.momentum * v[i]! - lr * (g[i]! * scale + decays[j]! * p[i]!);
          p[i] = p[i]! + v[i]!;
        }
      });
      step++;
    }
  }

  return {
    name: o.name,
    inputShape: [1, S, S],
    onnxInputShape: [1, 1, S, S],
    layers: [
      {
        kind: "conv",
        node: "conv0",
        inC: 1,
        inH: S,
        inW: S,
        outC: C,
        k: K,
        stride: 1,
        pad: 1,
        weight: wc.map(Math.fround),
        bias: bc.map(Math.fround),
      },
      { kind: "relu", node: "relu0" },
      { kind: "maxpool", node: "pool0", C, inH: S, inW: S, k: 2, stride: 2 },
      { kind: "dense", node: "gemm1", nIn: nFeat, nOut, weight: wd.map(Math.fround), bias: bd.map(Math.fround) },
    ],
    outputSize: nOut,
  };
}

/** Accuracy of our own float64 forward pass, used to cross-check onnxruntime. */
export function graphAccuracy(graph: FloatGraph, digits: Digit[]): number {
  let correct = 0;
  for (const d of digits) if (argmax(graphForward(graph, toFloatInput(d.pixels))) === d.label) correct++;
  return correct / digits.length;
}

function writeAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

async function main(): Promise<void> {
  const modelsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../models");
  const onnxPath = path.join(modelsDir, "mnist-cnn.onnx");
  const metricsPath = path.join(modelsDir, "mnist-cnn.metrics.json");
  const { train, test } = loadMnist();
  const started = performance.now();
  const graph = trainCnn({ train });
  const seconds = (performance.now() - started) / 1000;
  mkdirSync(modelsDir, { recursive: true });
  const bytes = graphToOnnx(graph, { docString: "generated by `npm run train:cnn` (scripts/model/train-cnn.ts)" });
  writeAtomic(onnxPath, bytes);

  const { accuracy } = await onnxGraphAccuracy(onnxPath, [1, 1, IMAGE_SIDE, IMAGE_SIDE], test);
  const own = graphAccuracy(graph, test);
  if (accuracy !== own) {
    throw new Error(
      `onnxruntime accuracy ${accuracy} differs from the float64 forward pass ${own}; ` +
        "the ONNX export is inconsistent, do not commit this model",
    );
  }
  const metrics = {
    seed: DEFAULT_CNN_OPTIONS.seed,
    epochs: DEFAULT_CNN_OPTIONS.epochs,
    channels: DEFAULT_CNN_OPTIONS.channels,
    trainSize: train.length,
    testSize: test.length,
    floatAccuracy: accuracy,
    onnxSha256: createHash("sha256").update(bytes).digest("hex"),
    trainedWith: "scripts/model/train-cnn.ts",
  };
  writeAtomic(metricsPath, `${JSON.stringify(metrics, null, 2)}\n`);
  console.log(
    `trained ${graph.name} in ${seconds.toFixed(1)} s: float accuracy ${(accuracy * 100).toFixed(1)}% ` +
      `on ${test.length} held-out digits; wrote ${path.relative(process.cwd(), onnxPath)} (sha256 ${metrics.onnxSha256})`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(`train-cnn: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
