/**
 * Trains the reference MNIST MLP (196 -> 32 ReLU -> 10) and writes models/mnist-mlp.onnx and
 * models/mnist-mlp.metrics.json. Run with `npm run train`. `npm run train:small` trains the
 * test suite's committed-mode model, mnist-mlp-small (196 -> 4 ReLU -> 10): its committed circuit
 * fits a power-14 ptau where the reference architecture's needs power 17.
 *
 * Everything is plain float64 TypeScript with a seeded PRNG and a fixed summation order, so the
 * same seed yields byte-identical weights on any machine: the committed model can be
 * regenerated and checked rather than trusted.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { FloatGraph, GraphDenseLayer } from "./graph.ts";
import { NUM_CLASSES, loadMnist, toFloatInput, type Digit } from "./mnist.ts";
import { writeTrainedModel } from "./trained-model.ts";
import { Prng } from "./prng.ts";

/** The seed of the committed model. Changing it changes models/mnist-mlp.onnx. */
export const DEFAULT_SEED = 1337;

export interface TrainOptions {
  train: Digit[];
  seed?: number;
  epochs?: number;
  hiddenSize?: number;
  batchSize?: number;
  /** Peak learning rate; it follows a cosine decay to zero over all steps. */
  learningRate?: number;
  momentum?: number;
  /**
   * L2 penalty on weights (not biases). Small weights need fewer fixed-point bits, which keeps
   * the quantized circuit narrow.
   */
  weightDecay?: number;
  name?: string;
}

export const DEFAULT_TRAIN_OPTIONS = {
  seed: DEFAULT_SEED,
  epochs: 20,
  hiddenSize: 32,
  batchSize: 32,
  learningRate: 0.05,
  momentum: 0.9,
  weightDecay: 1e-4,
  name: "mnist-mlp",
} as const;

/**
 * Mini-batch SGD with momentum on softmax cross-entropy. Returns the model as a graph (Gemm,
 * Relu, Gemm) whose weights are rounded to float32, so that it is exactly the model stored in
 * the ONNX file.
 */
export function trainMlp(opts: TrainOptions): FloatGraph {
  const o = { ...DEFAULT_TRAIN_OPTIONS, ...opts };
  if (o.train.length === 0) throw new Error("trainMlp needs at least one training digit");
  const rng = new Prng(o.seed);
  // 196 for the reference model; any size works (the 28x28 cost study trains on 784).
  const nIn = o.train[0].pixels.length;
  const nHid = o.hiddenSize;
  const nOut = NUM_CLASSES;

  // He initialisation: N(0, 2 / fanIn) keeps ReLU activations at a stable scale.
  const w1 = new Float64Array(nHid * nIn).map(() => rng.normal() * Math.sqrt(2 / nIn));
  const b1 = new Float64Array(nHid);
  const w2 = new Float64Array(nOut * nHid).map(() => rng.normal() * Math.sqrt(2 / nHid));
  const b2 = new Float64Array(nOut);
  const params = [w1, b1, w2, b2];
  const decays = [o.weightDecay, 0, o.weightDecay, 0];
  const grads = params.map((p) => new Float64Array(p.length));
  const velocity = params.map((p) => new Float64Array(p.length));
  const [gw1, gb1, gw2, gb2] = grads as [Float64Array, Float64Array, Float64Array, Float64Array];

  const inputs = o.train.map((d) => Float64Array.from(toFloatInput(d.pixels)));
  const order = o.train.map((_, i) => i);
  const stepsPerEpoch = Math.ceil(order.length / o.batchSize);
  const totalSteps = o.epochs * stepsPerEpoch;
  const hidden = new Float64Array(nHid);
  const logits = new Float64Array(nOut);
  const dLogits = new Float64Array(nOut);
  const dHidden = new Float64Array(nHid);
  let step = 0;

  for (let epoch = 0; epoch < o.epochs; epoch++) {
    rng.shuffle(order);
    for (let start = 0; start < order.length; start += o.batchSize) {
      const batch = order.slice(start, start + o.batchSize);
      for (const g of grads) g.fill(0);
      for (const idx of batch) {
        const x = inputs[idx]!;
        const label = o.train[idx]!.label;
        for (let h = 0; h < nHid; h++) {
          let acc = b1[h]!;
          const row = h * nIn;
          for (let i = 0; i < nIn; i++) acc += w1[row + i]! * x[i]!;
          hidden[h] = acc > 0 ? acc : 0;
        }
        let maxLogit = -Infinity;
        for (let k = 0; k < nOut; k++) {
          let acc = b2[k]!;
          const row = k * nHid;
          for (let h = 0; h < nHid; h++) acc += w2[row + h]! * hidden[h]!;
          logits[k] = acc;
          if (acc > maxLogit) maxLogit = acc;
        }
        // Softmax shifted by the max logit so exp never overflows.
        let sum = 0;
        for (let k = 0; k < nOut; k++) {
          dLogits[k] = Math.exp(logits[k]! - maxLogit);
          sum += dLogits[k]!;
        }
        for (let k = 0; k < nOut; k++) dLogits[k] = dLogits[k]! / sum - (k === label ? 1 : 0);

        dHidden.fill(0);
        for (let k = 0; k < nOut; k++) {
          const d = dLogits[k]!;
          const row = k * nHid;
          gb2[k] = gb2[k]! + d;
          for (let h = 0; h < nHid; h++) {
            gw2[row + h] = gw2[row + h]! + d * hidden[h]!;
            dHidden[h] = dHidden[h]! + d * w2[row + h]!;
          }
        }
        for (let h = 0; h < nHid; h++) {
          if (hidden[h]! <= 0) continue;
          const d = dHidden[h]!;
          const row = h * nIn;
          gb1[h] = gb1[h]! + d;
          for (let i = 0; i < nIn; i++) gw1[row + i] = gw1[row + i]! + d * x[i]!;
        }
      }

      const lr = (o.learningRate * (1 + Math.cos((Math.PI * step) / totalSteps))) / 2;
      const scale = 1 / batch.length;
      params.forEach((p, j) => {
        const g = grads[j]!;
        const v = velocity[j]!;
        const wd = decays[j]!;
        for (let i = 0; i < p.length; i++) {
          v[i] = o.momentum * v[i]! - lr * (g[i]! * scale + wd * p[i]!);
          p[i] = p[i]! + v[i]!;
        }
      });
      step++;
    }
  }

  const dense = (node: string, nI: number, nO: number, w: Float64Array, b: Float64Array): GraphDenseLayer => ({
    kind: "dense",
    node,
    nIn: nI,
    nOut: nO,
    weight: w.map(Math.fround),
    bias: b.map(Math.fround),
  });
  return {
    name: o.name,
    inputShape: [nIn],
    onnxInputShape: [1, nIn],
    layers: [dense("gemm0", nIn, nHid, w1, b1), { kind: "relu", node: "relu0" }, dense("gemm1", nHid, nOut, w2, b2)],
    outputSize: nOut,
  };
}

/** The test suite's committed-mode model: the reference recipe with 4 hidden units. */
export const SMALL_MLP = { name: "mnist-mlp-small", hiddenSize: 4, command: "npm run train:small" } as const;

async function main(): Promise<void> {
  const small = process.argv.includes("--small");
  const { train, test } = loadMnist();
  const started = performance.now();
  const hiddenSize = small ? SMALL_MLP.hiddenSize : DEFAULT_TRAIN_OPTIONS.hiddenSize;
  const graph = trainMlp({ train, hiddenSize, name: small ? SMALL_MLP.name : DEFAULT_TRAIN_OPTIONS.name });
  await writeTrainedModel({
    graph,
    docString: `generated by \`${small ? SMALL_MLP.command : "npm run train"}\` (scripts/model/train-mlp.ts)`,
    trainedWith: "scripts/model/train-mlp.ts",
    settings: {
      seed: DEFAULT_TRAIN_OPTIONS.seed,
      epochs: DEFAULT_TRAIN_OPTIONS.epochs,
      hiddenSize,
    },
    train,
    test,
    seconds: (performance.now() - started) / 1000,
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(`train-mlp: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
