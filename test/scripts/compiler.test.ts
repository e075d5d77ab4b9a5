import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import onnxProto from "onnx-proto";
import * as snarkjs from "snarkjs";
import { main as poi } from "../../scripts/cli/poi.ts";
import { expectGraphMatchesOnnxruntime } from "../helpers/float-reference.ts";
import { checkConstraintSnapshot } from "../helpers/snapshot.ts";
import { compileCircuit } from "../../scripts/circuit/compile.ts";
import { argmax } from "../../scripts/circuit/reference.ts";
import { generateGraphCircuit } from "../../scripts/circuit/generate-graph.ts";
import { compileModel, readCalibrationFile } from "../../scripts/compiler/compile-model.ts";
import { estimateConstraints, packedCommitmentConstraints } from "../../scripts/compiler/costs.ts";
import { fidelityMarkdown, measureFidelity, type FidelityReport } from "../../scripts/compiler/fidelity.ts";
import { onnxLogits } from "../../scripts/compiler/float-reference.ts";
import { inspectModel } from "../../scripts/compiler/inspect-model.ts";
import { inferQuantizedGraph, packGraphOutput, unpackGraphOutput } from "../../scripts/model/graph-inference.ts";
import { graphForward, type FloatGraph, type GraphDenseLayer } from "../../scripts/model/graph.ts";
import { loadMnist, toFloatInput, type Digit } from "../../scripts/model/mnist.ts";
import { graphToOnnx, onnxToGraph } from "../../scripts/model/onnx-import.ts";
import { Prng } from "../../scripts/model/prng.ts";
import { releaseProverThreads } from "../../scripts/prove/prover.ts";
import {
  quantizeGraph,
  readQuantizedGraph,
  type OutputMode,
  type QuantizedConv,
  type QuantizedDenseLayer,
  type QuantizedGraph,
} from "../../scripts/model/quantize-graph.ts";
import { CNN_DOC_STRING, trainCnn } from "../../scripts/model/train-cnn.ts";
import { graphAccuracy } from "../../scripts/model/trained-model.ts";

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CNN = path.join(ROOT, "models/mnist-cnn.onnx");
const MLP = path.join(ROOT, "models/mnist-mlp.onnx");

// ---------------------------------------------------------------------------------------------
// Hand-built ONNX graphs

function tensor(name: string, dims: number[], values: number[], raw = false) {
  if (!raw) return onnx.TensorProto.create({ name, dims, dataType: DataType.FLOAT, floatData: values });
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return onnx.TensorProto.create({ name, dims, dataType: DataType.FLOAT, rawData: bytes });
}

function valueInfo(name: string, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

const ints = (name: string, v: number[]) => onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: v });
const int = (name: string, i: number) => onnx.AttributeProto.create({ name, type: AttributeType.INT, i });
const float = (name: string, f: number) => onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f });
const node = (
  name: string,
  opType: string,
  input: string[],
  output: string[],
  attribute = [] as ReturnType<typeof int>[],
) => onnx.NodeProto.create({ name, opType, input, output, attribute });

interface Spec {
  nodes: ReturnType<typeof node>[];
  initializers: ReturnType<typeof tensor>[];
  inputs: ReturnType<typeof valueInfo>[];
  outputs: ReturnType<typeof valueInfo>[];
}

function encode(s: Spec): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 7,
      producerName: "pytorch",
      producerVersion: "2.1.0",
      opsetImport: [{ domain: "", version: 13 }],
      graph: { name: "main_graph", node: s.nodes, initializer: s.initializers, input: s.inputs, output: s.outputs },
    }),
  ).finish();
}

/** A dense layer 196 -> 2 of equal small weights, to end a hand-made float graph. */
const tinyDense = (): GraphDenseLayer => ({
  kind: "dense",
  node: "d",
  nIn: 196,
  nOut: 2,
  weight: new Float64Array(392).fill(0.01),
  bias: new Float64Array(2),
});

function randomValues(rng: Prng, n: number, scale = 0.3): number[] {
  return Array.from({ length: n }, () => Math.fround(rng.normal() * scale));
}

/**
 * The layout of torch.onnx.export (older versions, keep_initializers_as_inputs=True): input
 * "input.1" [1, 1, 14, 14], node names like "/conv/Conv", Gemm with transB = 1, every initializer
 * also listed as a graph input, and a Conv -> BatchNormalization -> Relu -> MaxPool -> Flatten
 * -> Gemm chain (with `bn` the BatchNormalization is left in, as torch does without fusion).
 */
function pytorchCnn(
  rng: Prng,
  options: { bn?: boolean; pool?: "MaxPool" | "AveragePool"; poolPad?: number; clip?: number } = {},
): Spec {
  const C = 3;
  const pool = options.pool ?? "MaxPool";
  const p = options.poolPad ?? 0;
  // A padded pool, as ONNX writes it: pads on the node (and, for AveragePool, the padding counted).
  const poolPads = p
    ? [ints("pads", [p, p, p, p]), ...(pool === "AveragePool" ? [int("count_include_pad", 1)] : [])]
    : [];
  const side = 7 + p;
  const nodes = [
    node(
      "/conv/Conv",
      "Conv",
      ["input.1", "conv.weight", "conv.bias"],
      ["/conv/Conv_output_0"],
      [
        ints("dilations", [1, 1]),
        int("group", 1),
        ints("kernel_shape", [3, 3]),
        ints("pads", [1, 1, 1, 1]),
        ints("strides", [1, 1]),
      ],
    ),
  ];
  const initializers = [
    tensor("conv.weight", [C, 1, 3, 3], randomValues(rng, C * 9, 0.5), true),
    tensor("conv.bias", [C], randomValues(rng, C, 0.1)),
  ];
  let current = "/conv/Conv_output_0";
  if (options.bn) {
    nodes.push(
      node(
        "/bn/BatchNormalization",
        "BatchNormalization",
        [current, "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"],
        ["/bn/out"],
        [float("epsilon", 1e-5), float("momentum", 0.9)],
      ),
    );
    initializers.push(
      tensor("bn.weight", [C], [1.5, 0.7, 1.1]),
      tensor("bn.bias", [C], [0.1, -0.2, 0.05]),
      tensor("bn.running_mean", [C], [0.2, -0.1, 0.3]),
      tensor("bn.running_var", [C], [0.5, 2.0, 1.2]),
    );
    current = "/bn/out";
  }
  // nn.ReLU6 and the like export as Clip with constant min and max inputs.
  if (options.clip !== undefined)
    initializers.push(tensor("clip.min", [], [0]), tensor("clip.max", [], [options.clip]));
  nodes.push(
    options.clip === undefined
      ? node("/relu/Relu", "Relu", [current], ["/relu/out"])
      : node("/relu/Clip", "Clip", [current, "clip.min", "clip.max"], ["/relu/out"]),
    node(
      `/pool/${pool}`,
      pool,
      ["/relu/out"],
      ["/pool/out"],
      [ints("kernel_shape", [2, 2]), ints("strides", [2, 2]), ...poolPads],
    ),
    node("/Flatten", "Flatten", ["/pool/out"], ["/flat"], [int("axis", 1)]),
    node(
      "/fc/Gemm",
      "Gemm",
      ["/flat", "fc.weight", "fc.bias"],
      ["logits"],
      [float("alpha", 1), float("beta", 1), int("transB", 1)],
    ),
  );
  initializers.push(
    tensor("fc.weight", [10, C * side * side], randomValues(rng, 10 * C * side * side, 0.2), true),
    tensor("fc.bias", [10], randomValues(rng, 10, 0.1)),
  );
  return {
    nodes,
    initializers,
    inputs: [
      valueInfo("input.1", [1, 1, 14, 14]),
      ...initializers.map((t) =>
        valueInfo(
          t.name,
          t.dims.map((d) => Number(d)),
        ),
      ),
    ],
    outputs: [valueInfo("logits", [1, 10])],
  };
}

/**
 * tf2onnx's layout of a Keras CNN on an NHWC input: Transpose to NCHW, then a 3x3 Conv with
 * dilation 2 (padding 2 keeps 14x14), Relu, MaxPool 2x2, Flatten and Gemm.
 */
function nhwcDilatedCnn(rng: Prng): Spec {
  const C = 3;
  const initializers = [
    tensor("conv.weight", [C, 1, 3, 3], randomValues(rng, C * 9, 0.5), true),
    tensor("conv.bias", [C], randomValues(rng, C, 0.1)),
    tensor("fc.weight", [10, C * 7 * 7], randomValues(rng, 10 * C * 49, 0.2), true),
    tensor("fc.bias", [10], randomValues(rng, 10, 0.1)),
  ];
  return {
    nodes: [
      node("nchw", "Transpose", ["x"], ["x.nchw"], [ints("perm", [0, 3, 1, 2])]),
      node(
        "conv",
        "Conv",
        ["x.nchw", "conv.weight", "conv.bias"],
        ["conv.out"],
        [ints("dilations", [2, 2]), ints("kernel_shape", [3, 3]), ints("pads", [2, 2, 2, 2])],
      ),
      node("relu", "Relu", ["conv.out"], ["relu.out"]),
      node("pool", "MaxPool", ["relu.out"], ["pool.out"], [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])]),
      node("flat", "Flatten", ["pool.out"], ["flat.out"], [int("axis", 1)]),
      node("fc", "Gemm", ["flat.out", "fc.weight", "fc.bias"], ["logits"], [int("transB", 1)]),
    ],
    initializers,
    inputs: [valueInfo("x", [1, 14, 14, 1])],
    outputs: [valueInfo("logits", [1, 10])],
  };
}

/** Weights and bias of a 3x3 Conv to 2 channels from `inC`, named `<name>.weight` and `<name>.bias`. */
function convWeights(rng: Prng, name: string, inC: number, scale: number) {
  return [
    tensor(`${name}.weight`, [2, inC, 3, 3], randomValues(rng, 2 * inC * 9, scale), true),
    tensor(`${name}.bias`, [2], randomValues(rng, 2, 0.1)),
  ];
}

/**
 * A residual block as torch.onnx.export writes one: a stride-2 Conv stem and Relu (h), then
 * Conv -> Relu -> Conv, Add(that, h), Relu, Flatten and Gemm. `skipFrom` picks the Add's
 * second input (the stem's Relu output unless a test says otherwise).
 */
function residualCnn(rng: Prng, skipFrom = "h"): Spec {
  const conv = (name: string, input: string, stride: number) =>
    node(
      name,
      "Conv",
      [input, `${name}.weight`, `${name}.bias`],
      [`${name}.out`],
      [ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1]), ints("strides", [stride, stride])],
    );
  const initializers = [
    ...convWeights(rng, "stem", 1, 0.5),
    ...convWeights(rng, "conv1", 2, 0.4),
    ...convWeights(rng, "conv2", 2, 0.4),
    tensor("fc.weight", [10, 98], randomValues(rng, 980, 0.3), true),
    tensor("fc.bias", [10], randomValues(rng, 10, 0.1)),
  ];
  return {
    nodes: [
      conv("stem", "input.1", 2),
      node("stem.relu", "Relu", ["stem.out"], ["h"]),
      conv("conv1", "h", 1),
      node("conv1.relu", "Relu", ["conv1.out"], ["conv1.act"]),
      conv("conv2", "conv1.act", 1),
      node("/Add", "Add", ["conv2.out", skipFrom], ["sum"]),
      node("block.relu", "Relu", ["sum"], ["block.out"]),
      node("flat", "Flatten", ["block.out"], ["flat.out"], [int("axis", 1)]),
      node("fc", "Gemm", ["flat.out", "fc.weight", "fc.bias"], ["logits"], [int("transB", 1)]),
    ],
    initializers,
    inputs: [valueInfo("input.1", [1, 1, 14, 14])],
    outputs: [valueInfo("logits", [1, 10])],
  };
}

/** Conv stride 2 -> LeakyRelu -> Conv -> LeakyRelu -> Flatten -> Gemm on a 14x14 input (7x7 after the stem). */
function leakyCnn(rng: Prng, alpha = 0.1): Spec {
  const leaky = (name: string, input: string) =>
    node(name, "LeakyRelu", [input], [`${name}.out`], [float("alpha", alpha)]);
  return {
    nodes: [
      node(
        "c1",
        "Conv",
        ["x", "c1.weight", "c1.bias"],
        ["c1.out"],
        [ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1]), ints("strides", [2, 2])],
      ),
      leaky("l1", "c1.out"),
      node(
        "c2",
        "Conv",
        ["l1.out", "c2.weight", "c2.bias"],
        ["c2.out"],
        [ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1])],
      ),
      leaky("l2", "c2.out"),
      node("flat", "Flatten", ["l2.out"], ["flat.out"], [int("axis", 1)]),
      node("fc", "Gemm", ["flat.out", "fc.w", "fc.b"], ["logits"], [int("transB", 1)]),
    ],
    initializers: [
      ...convWeights(rng, "c1", 1, 0.5),
      ...convWeights(rng, "c2", 2, 0.4),
      tensor("fc.w", [10, 98], randomValues(rng, 980, 0.3), true),
      tensor("fc.b", [10], randomValues(rng, 10, 0.1)),
    ],
    inputs: [valueInfo("x", [1, 1, 14, 14])],
    outputs: [valueInfo("logits", [1, 10])],
  };
}

/** The reference MLP's weights in PyTorch's layout: Flatten of [1, 1, 14, 14], Gemm transB = 1, weights as inputs. */
function pytorchMlpFromReference(): Uint8Array {
  const dense = onnxToGraph(readFileSync(MLP), "mnist-mlp").layers.filter((l) => l.kind === "dense");
  const [l0, l1] = dense as [GraphDenseLayer, GraphDenseLayer];
  const initializers = [
    tensor("fc1.weight", [l0.nOut, l0.nIn], Array.from(l0.weight), true),
    tensor("fc1.bias", [l0.nOut], Array.from(l0.bias)),
    tensor("fc2.weight", [l1.nOut, l1.nIn], Array.from(l1.weight), true),
    tensor("fc2.bias", [l1.nOut], Array.from(l1.bias)),
  ];
  return encode({
    nodes: [
      node("/Flatten", "Flatten", ["input.1"], ["/Flatten_output_0"], [int("axis", 1)]),
      node(
        "/fc1/Gemm",
        "Gemm",
        ["/Flatten_output_0", "fc1.weight", "fc1.bias"],
        ["/fc1/Gemm_output_0"],
        [float("alpha", 1), float("beta", 1), int("transB", 1)],
      ),
      node("/Relu", "Relu", ["/fc1/Gemm_output_0"], ["/Relu_output_0"]),
      node("/dropout/Dropout", "Dropout", ["/Relu_output_0"], ["/dropout/Dropout_output_0"]),
      node(
        "/fc2/Gemm",
        "Gemm",
        ["/dropout/Dropout_output_0", "fc2.weight", "fc2.bias"],
        ["19"],
        [float("alpha", 1), float("beta", 1), int("transB", 1)],
      ),
    ],
    initializers,
    inputs: [valueInfo("input.1", [1, 1, 14, 14]), ...initializers.map((t) => valueInfo(t.name, t.dims.map(Number)))],
    outputs: [valueInfo("19", [1, 10])],
  });
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected an error");
}

async function asyncErrorOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected an error");
}

/** Runs the CLI with console output captured. */
async function runPoi(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    const code = await poi(argv);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** Compiles a generated circuit (cached by content under circuits/build/test) and returns a witness function. */
async function circuitOf(model: QuantizedGraph, tag: string) {
  const source = generateGraphCircuit(model, { templateName: "Model", command: "test", source: tag });
  const { createHash } = await import("node:crypto");
  const dir = path.join(
    ROOT,
    "circuits/build/test",
    `graph-${tag}-${createHash("sha256").update(source).digest("hex").slice(0, 12)}`,
  );
  const file = path.join(dir, `${tag}.circom`);
  let art: { r1cs: string; wasm: string };
  if (existsSync(path.join(dir, `${tag}.r1cs`)) && existsSync(path.join(dir, `${tag}_js`, `${tag}.wasm`))) {
    art = { r1cs: path.join(dir, `${tag}.r1cs`), wasm: path.join(dir, `${tag}_js`, `${tag}.wasm`) };
  } else {
    (await import("node:fs")).mkdirSync(dir, { recursive: true });
    writeFileSync(file, source);
    art = await compileCircuit(file, dir);
  }
  const constraints = (await snarkjs.r1cs.info(art.r1cs)).nConstraints;
  const witness = async (pixels: number[]) => {
    const wtns: { type: "mem"; data?: Uint8Array } = { type: "mem" };
    await snarkjs.wtns.calculate({ pixels, binding: 12345 }, art.wasm, wtns);
    return snarkjs.wtns.exportJson(wtns);
  };
  return { constraints, witness };
}

/** Held-out digits plus the edge inputs: all 0, all 255, and a checkerboard of both. */
function testInputs(digits: Digit[], n: number, size: number): number[][] {
  return [
    ...digits.slice(0, n).map((d) => Array.from(d.pixels)),
    new Array(size).fill(0),
    new Array(size).fill(255),
    Array.from({ length: size }, (_, i) => (i % 2 ? 255 : 0)),
  ];
}

// ---------------------------------------------------------------------------------------------

describe("compiler: graph import and the reference CNN", function () {
  let mnist: { train: Digit[]; test: Digit[] };
  before(function () {
    mnist = loadMnist();
  });

  it("test_referenceMlp_floatForwardMatchesOnnxruntime", async function () {
    const graph = onnxToGraph(readFileSync(MLP), "mnist-mlp.onnx");
    expect(graph.layers.map((l) => l.kind)).to.deep.equal(["dense", "relu", "dense"]);
    await expectGraphMatchesOnnxruntime(graph, MLP, mnist.test.slice(0, 50));
  });

  it("test_referenceMlp_quantizedFileIsTheGraphQuantizersOutput", function () {
    // The committed circuits/generated file the manifests pin is what the one pipeline makes.
    const calibration = mnist.train.slice(0, 1000).map((d) => d.pixels);
    const q = quantizeGraph(onnxToGraph(readFileSync(MLP), "mnist-mlp"), calibration);
    const file = readQuantizedGraph(path.join(ROOT, "circuits", "generated", "mnist-mlp.quantized.json"));
    expect(file).to.deep.equal(JSON.parse(JSON.stringify(q)));
    for (const d of mnist.test.slice(0, 20)) {
      expect(inferQuantizedGraph(file, d.pixels).output).to.equal(inferQuantizedGraph(q, d.pixels).output);
    }
  });

  it("test_referenceCnn_floatForwardMatchesOnnxruntime", async function () {
    const graph = onnxToGraph(readFileSync(CNN), "mnist-cnn.onnx");
    expect(graph.onnxInputShape).to.deep.equal([1, 1, 14, 14]);
    expect(graph.layers.map((l) => l.kind)).to.deep.equal(["conv", "relu", "maxpool", "dense"]);
    await expectGraphMatchesOnnxruntime(graph, CNN, mnist.test.slice(0, 50));
  });

  it("test_referenceCnn_metricsMatchTheCommittedFile", async function () {
    const metrics = JSON.parse(readFileSync(path.join(ROOT, "models/mnist-cnn.metrics.json"), "utf8"));
    const { createHash } = await import("node:crypto");
    expect(createHash("sha256").update(readFileSync(CNN)).digest("hex")).to.equal(metrics.onnxSha256);
    const graph = onnxToGraph(readFileSync(CNN), "mnist-cnn.onnx");
    expect(graphAccuracy(graph, mnist.test)).to.equal(metrics.floatAccuracy);
    expect(metrics.floatAccuracy).to.be.at.least(0.95);
  });

  it("test_trainCnn_reproducesTheCommittedFileFromItsSeed", async function () {
    const metrics = JSON.parse(readFileSync(path.join(ROOT, "models/mnist-cnn.metrics.json"), "utf8"));
    const bytes = graphToOnnx(trainCnn({ train: mnist.train }), { docString: CNN_DOC_STRING });
    const { createHash } = await import("node:crypto");
    expect(createHash("sha256").update(bytes).digest("hex")).to.equal(metrics.onnxSha256);
  });

  it("test_trainCnn_isDeterministicAndExportsExactly", async function () {
    const train = mnist.train.filter((_, i) => i % 10 === 0);
    const a = trainCnn({ train, epochs: 2 });
    const b = trainCnn({ train, epochs: 2 });
    const bytes = graphToOnnx(a);
    expect(Buffer.from(bytes).equals(Buffer.from(graphToOnnx(b)))).to.equal(true);
    const back = onnxToGraph(bytes, "cnn");
    const ort = await onnxLogits(
      bytes,
      [1, 1, 14, 14],
      mnist.test.slice(0, 5).map((d) => d.pixels),
    );
    mnist.test.slice(0, 5).forEach((d, i) => {
      const x = toFloatInput(d.pixels);
      expect(Array.from(graphForward(back, x))).to.deep.equal(Array.from(graphForward(a, x)));
      graphForward(a, x).forEach((v, c) => expect(Math.abs(v - ort[i]![c]!)).to.be.below(1e-4));
    });
  });

  it("test_onnxToGraph_foldsBatchNormalizationLikeOnnxruntime", async function () {
    const bytes = encode(pytorchCnn(new Prng(5), { bn: true }));
    const graph = onnxToGraph(bytes, "bn.onnx");
    expect(graph.layers.map((l) => l.kind)).to.deep.equal(["conv", "relu", "maxpool", "dense"]);
    const digits = mnist.test.slice(0, 10);
    const ort = await onnxLogits(
      bytes,
      [1, 1, 14, 14],
      digits.map((d) => d.pixels),
    );
    digits.forEach((d, i) => {
      graphForward(graph, toFloatInput(d.pixels)).forEach((v, c) =>
        expect(Math.abs(v - ort[i]![c]!)).to.be.below(1e-4),
      );
    });
  });

  it("test_onnxToGraph_averagePoolMatchesOnnxruntime", async function () {
    const bytes = encode(pytorchCnn(new Prng(6), { pool: "AveragePool" }));
    const graph = onnxToGraph(bytes, "avg.onnx");
    expect(graph.layers.map((l) => l.kind)).to.deep.equal(["conv", "relu", "avgpool", "dense"]);
    await expectGraphMatchesOnnxruntime(graph, bytes, mnist.test.slice(0, 10));
  });

  it("test_onnxToGraph_transposeBeforeFlattenFoldsIntoTheDenseWeights", async function () {
    const rng = new Prng(24);
    // An NHWC input transposed to NCHW (as tf2onnx writes for Keras), then Flatten and Gemm.
    const nhwc = encode({
      nodes: [
        node("t", "Transpose", ["x"], ["t.out"], [ints("perm", [0, 3, 1, 2])]),
        node("f", "Flatten", ["t.out"], ["f.out"], [int("axis", 1)]),
        node("g", "Gemm", ["f.out", "g.weight", "g.bias"], ["y"], [int("transB", 1)]),
      ],
      initializers: [
        tensor("g.weight", [10, 196], randomValues(rng, 1960)),
        tensor("g.bias", [10], randomValues(rng, 10)),
      ],
      inputs: [valueInfo("x", [1, 7, 7, 4])],
      outputs: [valueInfo("y", [1, 10])],
    });
    await expectGraphMatchesOnnxruntime(onnxToGraph(nhwc, "nhwc.onnx"), nhwc, mnist.test.slice(0, 5));
    // A Conv's NCHW output transposed back to NHWC before Flatten (Keras' Flatten order).
    const cnn = pytorchCnn(new Prng(25));
    const flatten = cnn.nodes.findIndex((n) => n.opType === "Flatten");
    cnn.nodes.splice(
      flatten,
      0,
      node("back", "Transpose", ["/pool/out"], ["/pool/nhwc"], [ints("perm", [0, 2, 3, 1])]),
    );
    cnn.nodes[flatten + 1]!.input = ["/pool/nhwc"];
    const back = encode(cnn);
    await expectGraphMatchesOnnxruntime(onnxToGraph(back, "back.onnx"), back, mnist.test.slice(0, 5));
    // Before a Conv it becomes a Transpose layer (a permutation of the values).
    const before = pytorchCnn(new Prng(26));
    before.nodes.unshift(node("in", "Transpose", ["input.1"], ["nchw"], [ints("perm", [0, 1, 3, 2])]));
    before.nodes[1]!.input[0] = "nchw";
    const beforeGraph = onnxToGraph(encode(before), "before.onnx");
    expect(beforeGraph.layers.map((l) => l.kind)).to.deep.equal(["transpose", "conv", "relu", "maxpool", "dense"]);
    await expectGraphMatchesOnnxruntime(beforeGraph, encode(before), mnist.test.slice(0, 5));
    // Before a pool it is refused, saying what is supported.
    const pooled = pytorchCnn(new Prng(27));
    const relu = pooled.nodes.findIndex((n) => n.opType === "Relu");
    pooled.nodes.splice(relu + 1, 0, node("t", "Transpose", ["/relu/out"], ["/relu/t"], [ints("perm", [0, 1, 3, 2])]));
    pooled.nodes[relu + 2]!.input = ["/relu/t"];
    expect(errorOf(() => onnxToGraph(encode(pooled), "pooled.onnx"))).to.match(
      /Transpose node "t" is followed by MaxPool node "\/pool\/MaxPool"; a Transpose is supported only before a Conv or before a Flatten and a Gemm or MatMul/,
    );
  });

  it("test_onnxToGraph_nhwcInputAndDilatedConvMatchOnnxruntime", async function () {
    const bytes = encode(nhwcDilatedCnn(new Prng(28)));
    const graph = onnxToGraph(bytes, "nhwc-dilated.onnx");
    expect(graph.layers.map((l) => l.kind)).to.deep.equal(["transpose", "conv", "relu", "maxpool", "dense"]);
    // The 3x3 kernel at dilation 2 is a 5x5 kernel with zeros between its taps.
    const conv = graph.layers[1] as Extract<FloatGraph["layers"][number], { kind: "conv" }>;
    expect(conv.k).to.equal(5);
    expect(conv.weight.filter((w) => w !== 0).length).to.equal(3 * 9);
    await expectGraphMatchesOnnxruntime(graph, bytes, mnist.test.slice(0, 10));
    // Unequal dilations are refused, naming the node.
    const unequal = nhwcDilatedCnn(new Prng(28));
    unequal.nodes[1]!.attribute = unequal.nodes[1]!.attribute.map((a) =>
      a.name === "dilations" ? ints("dilations", [2, 1]) : a,
    );
    expect(errorOf(() => onnxToGraph(encode(unequal), "unequal.onnx"))).to.include(
      'Conv node "conv" has dilations [2, 1]; only equal dilations along both axes are supported',
    );
  });

  it("test_onnxToGraph_clipAsRelu6MatchesOnnxruntime", async function () {
    for (const max of [6, 0.5]) {
      const bytes = encode(pytorchCnn(new Prng(31), { clip: max }));
      const graph = onnxToGraph(bytes, "clip.onnx");
      expect(graph.layers.map((l) => l.kind)).to.deep.equal(["conv", "clip", "maxpool", "dense"]);
      await expectGraphMatchesOnnxruntime(graph, bytes, mnist.test.slice(0, 10));
    }
    // Only Clip(0, max) is a clamp the circuit has.
    const negative = pytorchCnn(new Prng(31), { clip: 6 });
    negative.initializers = negative.initializers.map((t) =>
      t.name === "clip.min" ? tensor("clip.min", [], [-1]) : t,
    );
    expect(errorOf(() => onnxToGraph(encode(negative), "clip.onnx"))).to.include(
      'Clip node "/relu/Clip" clips to [-1, 6]; only Clip(0, max) with a finite max > 0 (ReLU6 and the like) is supported',
    );
    // A Clip that no Conv or Gemm precedes has no clamp to use.
    const first: FloatGraph = {
      name: "clip-first",
      inputShape: [196],
      onnxInputShape: [1, 196],
      outputSize: 2,
      layers: [{ kind: "clip", node: "c", max: 0.5 }, tinyDense()],
    };
    expect(errorOf(() => quantizeGraph(first, [mnist.train[0]!.pixels]))).to.include(
      '"clip-first": Clip node "c" must directly follow a Conv, Gemm or MatMul',
    );
  });

  it("test_onnxToGraph_residualAddOfTwoTensorsMatchesOnnxruntime", async function () {
    const bytes = encode(residualCnn(new Prng(33)));
    const graph = onnxToGraph(bytes, "residual.onnx");
    expect(graph.layers.map((l) => l.kind)).to.deep.equal([
      "conv",
      "relu",
      "conv",
      "relu",
      "conv",
      "add",
      "relu",
      "dense",
    ]);
    // The skip is the stem's Relu output, layer 1.
    expect(graph.layers[5]).to.deep.equal({ kind: "add", node: "/Add", from: 1 });
    await expectGraphMatchesOnnxruntime(graph, bytes, mnist.test.slice(0, 10));
    // Two tensors added after a Relu (not a Conv's accumulators) are refused, naming the node.
    const afterRelu = residualCnn(new Prng(33));
    afterRelu.nodes[5]!.input = ["conv1.act", "h"];
    afterRelu.nodes.splice(4, 1);
    expect(errorOf(() => onnxToGraph(encode(afterRelu), "after-relu.onnx"))).to.include(
      'Add node "/Add" adds two tensors but does not directly follow a Conv, Gemm or MatMul',
    );
    // The skip read as byte / 255 (the input itself) has no exact integer scale in the sum.
    const fromInput = onnxToGraph(encode(residualCnn(new Prng(33))), "from-input.onnx");
    fromInput.layers = [
      {
        ...(fromInput.layers[0] as Extract<FloatGraph["layers"][number], { kind: "conv" }>),
        stride: 1,
        outC: 1,
        weight: new Float64Array(9).fill(0.1),
        bias: new Float64Array(1),
      },
      { kind: "add", node: "/Add", from: -1 },
      { kind: "relu", node: "r" },
      tinyDense(),
    ];
    const calibration = mnist.train.slice(0, 10).map((d) => d.pixels);
    expect(errorOf(() => quantizeGraph(fromInput, calibration, { inputDivisor: 255 }))).to.include(
      'Add node "/Add": its skip input carries a scale that is not a power of two',
    );
    // At byte / 256 the same block quantizes, the skip entering at the accumulators' scale.
    const q = quantizeGraph(fromInput, calibration);
    const add = q.layers[1] as Extract<QuantizedGraph["layers"][number], { kind: "add" }>;
    expect(add.from).to.equal(-1);
    expect(add.skipShift).to.equal(
      (q.layers[0] as Extract<QuantizedGraph["layers"][number], { kind: "conv" }>).weightScaleBits,
    );
  });

  it("test_onnxToGraph_leakyReluMatchesOnnxruntimeAndQuantizesAsTwoHalves", async function () {
    const bytes = encode(leakyCnn(new Prng(35)));
    const graph = onnxToGraph(bytes, "leaky.onnx");
    expect(graph.layers.map((l) => l.kind)).to.deep.equal(["conv", "leakyrelu", "conv", "leakyrelu", "dense"]);
    await expectGraphMatchesOnnxruntime(graph, bytes, mnist.test.slice(0, 10));
    // Each LeakyRelu doubles the outputs of the layer before (relu(z), relu(-z)) and the inputs of the layer after.
    const q = quantizeGraph(
      graph,
      mnist.train.slice(0, 500).map((d) => d.pixels),
    );
    const [c1, c2, fc] = q.layers as [QuantizedConv, QuantizedConv, QuantizedDenseLayer];
    expect([c1.requant?.split, c2.inC, c2.requant?.split, fc.nIn]).to.deep.equal([true, 4, true, 196]);
    const digits = mnist.test.slice(0, 300);
    const ort = await onnxLogits(
      bytes,
      graph.onnxInputShape,
      digits.map((d) => d.pixels),
    );
    const agree = digits.filter((d, i) => inferQuantizedGraph(q, d.pixels).predicted === argmax(ort[i]!)).length;
    expect(agree / digits.length).to.be.at.least(0.97);
    // A pool between the LeakyRelu and the next layer would mix the halves: refused, naming the node.
    const pooled = leakyCnn(new Prng(35));
    pooled.nodes.splice(
      2,
      0,
      node("p", "MaxPool", ["l1.out"], ["p.out"], [ints("kernel_shape", [1, 1]), ints("strides", [1, 1])]),
    );
    pooled.nodes[3]!.input[0] = "p.out";
    expect(
      errorOf(() => quantizeGraph(onnxToGraph(encode(pooled), "pooled.onnx"), [mnist.train[0]!.pixels])),
    ).to.include('LeakyRelu node "l1" must be followed directly by a Conv, Gemm or MatMul');
  });

  it("test_onnxToGraph_gemmTransAOnAColumnMatchesOnnxruntime", async function () {
    const rng = new Prng(29);
    const spec = (transA: number): Spec => ({
      nodes: [
        node("f", "Flatten", ["x"], ["f.out"], [int("axis", 1)]),
        node("r", "Reshape", ["f.out", "column"], ["r.out"]),
        node("g", "Gemm", ["r.out", "g.weight", "g.bias"], ["y"], [int("transA", transA), int("transB", 1)]),
      ],
      initializers: [
        onnx.TensorProto.create({ name: "column", dims: [2], dataType: DataType.INT64, int64Data: [196, 1] }),
        tensor("g.weight", [10, 196], randomValues(rng, 1960)),
        tensor("g.bias", [10], randomValues(rng, 10)),
      ],
      inputs: [valueInfo("x", [1, 1, 14, 14])],
      outputs: [valueInfo("y", [1, 10])],
    });
    const bytes = encode(spec(1));
    await expectGraphMatchesOnnxruntime(onnxToGraph(bytes, "trans-a.onnx"), bytes, mnist.test.slice(0, 5));
    expect(errorOf(() => onnxToGraph(encode(spec(0)), "column.onnx"))).to.include(
      'Gemm node "g" needs a [1, N] input, got [196, 1]; add a Flatten',
    );
  });

  it("test_onnxToGraph_paddedPoolsMatchOnnxruntime", async function () {
    for (const pool of ["MaxPool", "AveragePool"] as const) {
      const bytes = encode(pytorchCnn(new Prng(16), { pool, poolPad: 1 }));
      const graph = onnxToGraph(bytes, "padded.onnx");
      expect(graph.layers[2]).to.include({ kind: pool === "MaxPool" ? "maxpool" : "avgpool", pad: 1 });
      await expectGraphMatchesOnnxruntime(graph, bytes, mnist.test.slice(0, 10));
    }
    const uncounted = pytorchCnn(new Prng(16), { pool: "AveragePool", poolPad: 1 });
    uncounted.nodes[2]!.attribute.pop(); // count_include_pad back to its default 0
    expect(errorOf(() => onnxToGraph(encode(uncounted), "uncounted.onnx"))).to.equal(
      '"uncounted.onnx": AveragePool node "/pool/AveragePool" pads by 1 with count_include_pad=0, so its border ' +
        "windows divide by fewer than 4 values; re-export with count_include_pad=1 (PyTorch's default) or without padding",
    );
  });

  it("test_quantizeGraph_movesMaxPoolBeforeReluUnchanged", function () {
    const graph = onnxToGraph(readFileSync(CNN), "mnist-cnn.onnx");
    const swapped: FloatGraph = {
      ...graph,
      layers: [graph.layers[0]!, graph.layers[2]!, graph.layers[1]!, graph.layers[3]!],
    };
    const calibration = mnist.train.slice(0, 200).map((d) => d.pixels);
    expect(quantizeGraph(swapped, calibration)).to.deep.equal(quantizeGraph(graph, calibration));
  });

  it("test_quantizeGraph_declaredInputDivisorIsRecordedAndFoldedIntoTheFirstLayer", async function () {
    const bytes = readFileSync(MLP);
    const graph = onnxToGraph(bytes, "mnist-mlp");
    const calibration = mnist.train.slice(0, 1000).map((d) => d.pixels);
    const undeclared = quantizeGraph(graph, calibration);
    expect(undeclared.inputDivisor).to.equal(undefined);
    // Declaring 256 quantizes exactly as before; only the record differs.
    const { inputDivisor, ...same } = quantizeGraph(graph, calibration, { inputDivisor: 256 });
    expect(inputDivisor).to.equal(256);
    expect(same).to.deep.equal(undeclared);
    // byte / 255: the gain 255/256 is in the first layer's weights, and the integer reference
    // agrees with onnxruntime fed byte / 255.
    const q = quantizeGraph(graph, calibration, { inputDivisor: 255 });
    expect(q.inputDivisor).to.equal(255);
    expect(q.layers[0]).to.not.deep.equal(undeclared.layers[0]);
    const digits = mnist.test.slice(0, 300);
    const ort = await onnxLogits(
      bytes,
      graph.onnxInputShape,
      digits.map((d) => d.pixels),
      255,
    );
    const agree = digits.filter((d, i) => inferQuantizedGraph(q, d.pixels).predicted === argmax(ort[i]!)).length;
    expect(agree / digits.length).to.be.at.least(0.99);
    const fidelity = await measureFidelity({
      model: q,
      onnx: bytes,
      onnxSha256: "-",
      onnxInputShape: graph.onnxInputShape,
      inputs: digits.slice(0, 20),
      evaluatedOn: "20 digits",
      calibration: "1000 digits",
      weightBits: 8,
      activationBits: 8,
    });
    expect(fidelity.input).to.equal("float input = byte / 255");
    expect(fidelityMarkdown(fidelity)).to.include("| input mapping ");
    for (const bad of [0, -1, Number.NaN])
      expect(errorOf(() => quantizeGraph(graph, calibration, { inputDivisor: bad }))).to.equal(
        `"mnist-mlp": the input divisor must be a positive number (the model reads byte / divisor), got ${bad}`,
      );
    const cli = await runPoi(["compile", MLP, "--input-divisor", "zero", "--no-circuit"]);
    expect(cli.code).to.not.equal(0);
    expect(cli.err).to.include('--input-divisor takes a positive number (the model reads byte / n), got "zero"');
  });

  it("test_packGraphOutput_roundTripsEveryMode", function () {
    const logits = [-5, 0, 1234, -65536, 65535, 7, 8, 9, 10, 11];
    for (const output of ["both", "class", "logits"] as OutputMode[]) {
      const m = { output, logitBits: 18, classBits: 4, nClasses: 10 };
      const un = unpackGraphOutput(m, packGraphOutput(m, 4, logits));
      if (output !== "logits") expect(un.predicted).to.equal(4);
      if (output !== "class") expect(un.logits).to.deep.equal(logits);
    }
  });
});

describe("compiler: circuits equal the integer reference", function () {
  let mnist: { train: Digit[]; test: Digit[] };
  let calibration: Uint8Array[];
  before(function () {
    mnist = loadMnist();
    calibration = mnist.train.slice(0, 1000).map((d) => d.pixels);
  });
  // snarkjs's worker threads would keep a single-file run alive; a later user rebuilds the curve.
  after(releaseProverThreads);

  const cases: { tag: string; build: () => FloatGraph; output: OutputMode }[] = [
    { tag: "cnn-both", build: () => onnxToGraph(readFileSync(CNN), "mnist-cnn"), output: "both" },
    { tag: "cnn-class", build: () => onnxToGraph(readFileSync(CNN), "mnist-cnn"), output: "class" },
    { tag: "mlp-logits", build: () => onnxToGraph(readFileSync(MLP), "mnist-mlp"), output: "logits" },
    {
      tag: "bn-avgpool",
      build: () => onnxToGraph(encode(pytorchCnn(new Prng(8), { bn: true, pool: "AveragePool" })), "bn-avg"),
      output: "both",
    },
    {
      tag: "maxpool-pad",
      build: () => onnxToGraph(encode(pytorchCnn(new Prng(9), { poolPad: 1 })), "maxpool-pad"),
      output: "both",
    },
    {
      tag: "clip",
      build: () => onnxToGraph(encode(pytorchCnn(new Prng(32), { clip: 0.75 })), "clip"),
      output: "both",
    },
    {
      tag: "residual",
      build: () => onnxToGraph(encode(residualCnn(new Prng(34))), "residual"),
      output: "both",
    },
    {
      tag: "leaky",
      build: () => onnxToGraph(encode(leakyCnn(new Prng(36))), "leaky"),
      output: "both",
    },
    {
      tag: "nhwc-dilated",
      build: () => onnxToGraph(encode(nhwcDilatedCnn(new Prng(30))), "nhwc-dilated"),
      output: "both",
    },
  ];
  for (const c of cases) {
    it(`test_generateGraphCircuit_${c.tag}_witnessEqualsReferenceAndEstimateIsExact`, async function () {
      const q = quantizeGraph(c.build(), calibration, { output: c.output });
      const circuit = await circuitOf(q, c.tag);
      expect(circuit.constraints).to.equal(estimateConstraints(q).total);
      if (c.tag === "cnn-both") checkConstraintSnapshot("model mnist-cnn", circuit.constraints);
      for (const pixels of testInputs(
        mnist.test.filter((_, i) => i % 50 === 0),
        20,
        q.inputSize,
      )) {
        const expected = inferQuantizedGraph(q, pixels);
        const w = await circuit.witness(pixels);
        expect(w[1]).to.equal(expected.inputCommitment);
        expect(w[2]).to.equal(expected.output);
      }
    });
  }

  it("test_packedCommitmentConstraints_matchesTheSnapshot", function () {
    const snapshot = JSON.parse(readFileSync(path.join(ROOT, "circuits/constraint-counts.json"), "utf8"));
    expect(packedCommitmentConstraints(40, 8)).to.equal(snapshot["PackedCommitment(40,8)"]);
    expect(packedCommitmentConstraints(600, 8)).to.equal(snapshot["PackedCommitment(600,8)"]);
  });
});

describe("compiler: poi compile and poi inspect", function () {
  let tmp: string;
  before(function () {
    tmp = mkdtempSync(path.join(os.tmpdir(), "poi-compiler-"));
  });
  after(async function () {
    rmSync(tmp, { recursive: true, force: true });
    await releaseProverThreads();
  });

  it("test_compile_pytorchLayoutMlp_writesModelCircuitAndFidelity", async function () {
    const onnxPath = path.join(tmp, "TorchMlp.onnx");
    writeFileSync(onnxPath, pytorchMlpFromReference());
    const out = path.join(tmp, "torch-mlp");
    // The reference MLP was trained on byte / 256: it declares that mapping.
    const { code, out: stdout } = await runPoi([
      "compile",
      onnxPath,
      "--out",
      out,
      "--witness-checks",
      "10",
      "--input-divisor",
      "256",
      "--json",
    ]);
    expect(code).to.equal(0);
    const result = JSON.parse(stdout);
    expect(readQuantizedGraph(path.join(out, "torch-mlp.quantized.json")).inputDivisor).to.equal(256);
    expect(readdirSync(out).sort()).to.deep.equal([
      "build",
      "compile.json",
      "torch-mlp.circom",
      "torch-mlp.fidelity.json",
      "torch-mlp.fidelity.md",
      "torch-mlp.quantized.json",
    ]);
    const fidelity = JSON.parse(readFileSync(path.join(out, "torch-mlp.fidelity.json"), "utf8")) as FidelityReport;
    expect(fidelity).to.deep.equal(result.fidelity);
    expect(fidelity.inputs).to.equal(1000);
    expect(fidelity.input).to.equal("float input = byte / 256");
    expect(fidelity.top1Agreement).to.be.at.least(0.99);
    expect(fidelity.floatAccuracy).to.equal(0.95);
    expect(fidelity.circuit).to.deep.equal({
      constraints: 2864,
      estimatedConstraints: 2864,
      witnessesChecked: 10,
      witnessesEqualToReference: 10,
    });
    expect(readFileSync(path.join(out, "torch-mlp.circom"), "utf8")).to.include("template TorchMlp()");
    expect(readFileSync(path.join(out, "torch-mlp.fidelity.md"), "utf8")).to.include(
      "| top-1 agreement, float vs quantized",
    );

    const inspected = await runPoi(["inspect", out, "--json"]);
    expect(inspected.code).to.equal(0);
    const report = JSON.parse(inspected.out);
    expect(report.constraints.compiled).to.equal(2864);
    expect(report.constraints.estimated).to.equal(2864);
    expect(report.ptauPower).to.equal(12);
  });

  it("test_inspect_referenceCnn_estimatesBeforeAnySetup", async function () {
    const r = await inspectModel(CNN);
    expect(r.source).to.equal("onnx");
    expect(r.constraints.estimated).to.equal(24720);
    expect(r.ptauPower).to.equal(15);
    expect(r.provingTimeMs).to.be.above(0);
    expect(r.provingMemoryMiB).to.be.above(0);
    expect(r.basis.join(" ")).to.include("measurements");
    const text = await runPoi(["inspect", CNN]);
    expect(text.code).to.equal(0);
    expect(text.out).to.include("ptau power needed: 15");
  });

  it("test_compile_committedMode_mlpWitnessCarriesTheModelCommitment", async function () {
    const out = path.join(tmp, "mlp-committed");
    const result = await compileModel({ onnxPath: MLP, outDir: out, mode: "committed", witnessChecks: 3 });
    expect(result.info.mode).to.equal("committed");
    expect(result.info.publicSignals).to.deep.equal(["modelCommitment", "inputCommitment", "output", "binding"]);
    expect(result.info.constraints).to.equal(72374);
    expect(result.info.estimatedConstraints).to.equal(72374);
    expect(result.fidelity.circuit?.witnessesEqualToReference).to.equal(3);
    expect(BigInt(result.info.modelCommitment!)).to.be.above(0n);
    const weights = JSON.parse(readFileSync(path.join(out, "mnist-mlp.weights.json"), "utf8"));
    expect(Object.keys(weights)).to.deep.equal(["w0", "b0", "w1", "b1"]);
    const report = await inspectModel(out);
    expect(report.mode).to.equal("committed");
    expect(report.constraints.estimated).to.equal(72374);
    expect(report.ptauPower).to.equal(17);
  });

  it("test_committedFidelityReports_meetTheAgreementBarAndAreCurrent", async function () {
    const mnist = loadMnist();
    for (const name of ["mnist-mlp", "mnist-cnn"]) {
      const committed = JSON.parse(
        readFileSync(path.join(ROOT, `models/${name}.fidelity.json`), "utf8"),
      ) as FidelityReport;
      expect(committed.inputs).to.equal(1000);
      expect(committed.top1Agreement, name).to.be.at.least(0.99);
      expect(committed.circuit?.witnessesEqualToReference).to.equal(1000);
      const bytes = readFileSync(path.join(ROOT, `models/${name}.onnx`));
      const graph = onnxToGraph(bytes, name);
      const q = quantizeGraph(
        graph,
        mnist.train.slice(0, 1000).map((d) => d.pixels),
      );
      const fresh = await measureFidelity({
        model: q,
        onnx: bytes,
        onnxSha256: committed.onnxSha256,
        onnxInputShape: graph.onnxInputShape,
        inputs: mnist.test,
        evaluatedOn: committed.evaluatedOn,
        calibration: committed.calibration,
        weightBits: 8,
        activationBits: 8,
      });
      const { circuit: _circuit, ...rest } = committed;
      expect(fresh).to.deep.equal(rest);
    }
  });

  it("test_compile_nonMnistInputNeedsCalibrationAndReportsOnIt", async function () {
    // A 6x6 single-channel model: Conv 3x3 (pad 0) -> Relu -> Flatten -> Gemm 16 -> 3.
    const rng = new Prng(33);
    const initializers = [
      tensor("c.weight", [1, 1, 3, 3], randomValues(rng, 9, 0.5)),
      tensor("c.bias", [1], [0.05]),
      tensor("g.weight", [3, 16], randomValues(rng, 48, 0.5)),
      tensor("g.bias", [3], [0, 0.1, -0.1]),
    ];
    const bytes = encode({
      nodes: [
        node("c", "Conv", ["x", "c.weight", "c.bias"], ["c.out"], [ints("kernel_shape", [3, 3])]),
        node("r", "Relu", ["c.out"], ["r.out"]),
        node("f", "Flatten", ["r.out"], ["f.out"]),
        node("g", "Gemm", ["f.out", "g.weight", "g.bias"], ["y"], [int("transB", 1)]),
      ],
      initializers,
      inputs: [valueInfo("x", [1, 1, 6, 6])],
      outputs: [valueInfo("y", [1, 3])],
    });
    const onnxPath = path.join(tmp, "tiny.onnx");
    writeFileSync(onnxPath, bytes);
    expect(await asyncErrorOf(() => compileModel({ onnxPath, outDir: path.join(tmp, "tiny-none") }))).to.equal(
      '"tiny.onnx" takes 36 inputs (shape [1, 6, 6]); the default calibration and held-out sets are MNIST digits ' +
        "of 14x14 (196) or 28x28 (784) values: pass --calibration <file> (and --eval <file>) with inputs of 36 values",
    );
    const samples = Array.from({ length: 40 }, (_, n) => Array.from({ length: 36 }, (_, i) => (n * 37 + i * 11) % 256));
    const calibration = path.join(tmp, "tiny-calibration.json");
    writeFileSync(calibration, JSON.stringify({ inputs: samples }));
    const out = path.join(tmp, "tiny");
    const r = await runPoi([
      "compile",
      onnxPath,
      "--out",
      out,
      "--calibration",
      calibration,
      "--output",
      "class",
      "--json",
    ]);
    expect(r.code).to.equal(0);
    const { fidelity } = JSON.parse(r.out) as { fidelity: FidelityReport };
    expect(fidelity.inputs).to.equal(40);
    expect(fidelity.evaluatedOn).to.equal("the 40 calibration inputs (no held-out set: pass --eval <file>)");
    expect(fidelity.floatAccuracy).to.equal(null);
    expect(fidelity.circuit?.witnessesEqualToReference).to.equal(40);
    expect(fidelity.circuit?.constraints).to.equal(fidelity.circuit?.estimatedConstraints);

    // A held-out set of its own: the fidelity report is measured on it, with its labels.
    const held = Array.from({ length: 12 }, (_, n) => Array.from({ length: 36 }, (_, i) => (n * 53 + i * 7) % 256));
    const evalFile = path.join(tmp, "tiny-eval.json");
    writeFileSync(evalFile, JSON.stringify({ inputs: held, labels: held.map((_, n) => n % 3) }));
    const withEval = await compileModel({
      onnxPath,
      outDir: path.join(tmp, "tiny-eval"),
      calibrationPath: calibration,
      evalPath: evalFile,
      output: "class",
      circuit: false,
    });
    expect(withEval.fidelity.inputs).to.equal(12);
    expect(withEval.fidelity.evaluatedOn).to.match(
      /^the held-out set of 12 inputs from tiny-eval\.json \(sha256 [0-9a-f]{16}\.\.\.\)$/,
    );
    expect(withEval.fidelity.floatAccuracy).to.be.a("number");
    writeFileSync(evalFile, JSON.stringify([[1, 2, 3]]));
    expect(
      await asyncErrorOf(() =>
        compileModel({
          onnxPath,
          outDir: path.join(tmp, "tiny-bad"),
          calibrationPath: calibration,
          evalPath: evalFile,
        }),
      ),
    ).to.equal(`held-out file "${evalFile}": input 0 has 3 values; the model takes 36 (shape [1, 6, 6])`);
    expect(existsSync(path.join(tmp, "tiny-bad"))).to.equal(false);
  });

  it("test_inspectAndCompile_28x28MlpUsesTheDefaultDigitsBeforeAnyCompile", async function () {
    // A PyTorch-layout 784-16-10 MLP on [1, 1, 28, 28]: no calibration file needed.
    const rng = new Prng(28);
    const bytes = encode({
      nodes: [
        node("/Flatten", "Flatten", ["input"], ["flat"], [int("axis", 1)]),
        node("/fc1/Gemm", "Gemm", ["flat", "fc1.weight", "fc1.bias"], ["h"], [int("transB", 1)]),
        node("/Relu", "Relu", ["h"], ["r"]),
        node("/fc2/Gemm", "Gemm", ["r", "fc2.weight", "fc2.bias"], ["logits"], [int("transB", 1)]),
      ],
      initializers: [
        tensor("fc1.weight", [16, 784], randomValues(rng, 16 * 784, 0.05)),
        tensor("fc1.bias", [16], randomValues(rng, 16, 0.1)),
        tensor("fc2.weight", [10, 16], randomValues(rng, 160, 0.3)),
        tensor("fc2.bias", [10], randomValues(rng, 10, 0.1)),
      ],
      inputs: [valueInfo("input", [1, 1, 28, 28])],
      outputs: [valueInfo("logits", [1, 10])],
    });
    const onnxPath = path.join(tmp, "mlp28.onnx");
    writeFileSync(onnxPath, bytes);
    const report = await inspectModel(onnxPath);
    expect(report.source).to.equal("onnx");
    expect(report.basis.join(" ")).to.include("MNIST training digits (28x28)");
    expect(report.constraints.estimated).to.be.above(0);
    const compiled = await compileModel({ onnxPath, outDir: path.join(tmp, "mlp28"), circuit: false });
    expect(compiled.fidelity.inputs).to.equal(1000);
    expect(compiled.fidelity.evaluatedOn).to.equal("1,000 held-out MNIST digits (28x28, the last 100 of each class)");
    expect(compiled.fidelity.calibration).to.include("training digits of the fixed MNIST split at 28x28");
    expect(compiled.fidelity.floatAccuracy).to.be.a("number");
  });

  it("test_cli_helpAndUnknownCommand", async function () {
    const help = await runPoi(["--help"]);
    expect(help.code).to.equal(0);
    expect(help.out).to.include("compile").and.include("inspect");
    const unknown = await runPoi(["frobnicate"]);
    expect(unknown.code).to.not.equal(0);
    expect(unknown.err).to.match(/^poi: unknown command "frobnicate"; commands: compile, inspect/);
    const badFlag = await runPoi(["compile", CNN, "--bogus"]);
    expect(badFlag.code).to.not.equal(0);
    expect(badFlag.err).to.equal("poi: unknown option --bogus for poi compile; see poi --help");
  });
});

describe("compiler: bad input (exact messages, non-zero exit, nothing written)", function () {
  let tmp: string;
  before(function () {
    tmp = mkdtempSync(path.join(os.tmpdir(), "poi-bad-"));
  });
  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Writes `bytes` as `file`, runs poi compile on it, and checks the message and that nothing was written. */
  async function expectCompileError(file: string, bytes: Uint8Array, message: string, extra: string[] = []) {
    const onnxPath = path.join(tmp, file);
    writeFileSync(onnxPath, bytes);
    const out = path.join(tmp, `out-${file}`);
    const before = readdirSync(tmp).sort();
    const r = await runPoi(["compile", onnxPath, "--out", out, "--no-circuit", ...extra]);
    expect(r.code).to.not.equal(0);
    // Progress lines may precede the error; the error is the last line.
    expect(r.err.split("\n").pop()).to.equal(`poi: ${message}`);
    expect(readdirSync(tmp).sort()).to.deep.equal(before);
  }

  const spec = () => pytorchCnn(new Prng(11));

  it("test_compile_rejectsTruncatedFile", async function () {
    const bytes = readFileSync(CNN);
    await expectCompileError(
      "cut.onnx",
      bytes.subarray(0, 4000),
      '"cut.onnx" is not a valid ONNX model: the file is truncated (protobuf: index out of range: 645 + 7840 > 4000); copy or download it again',
    );
  });

  it("test_compile_rejectsGarbageFile", async function () {
    await expectCompileError(
      "notes.onnx",
      Buffer.from("this is not an onnx model, just some text\n"),
      '"notes.onnx" is not a valid ONNX model: the bytes are not an ONNX protobuf (invalid wire type 6 at offset 14)',
    );
  });

  it("test_compile_rejectsEmptyGraph", async function () {
    const s = spec();
    await expectCompileError(
      "empty.onnx",
      encode({ ...s, nodes: [] }),
      '"empty.onnx" is not a valid ONNX model: the graph has no nodes',
    );
  });

  it("test_compile_rejectsUnsupportedOperator", async function () {
    const s = spec();
    s.nodes[1] = node("/act/Tanh", "Tanh", ["/conv/Conv_output_0"], ["/relu/out"]);
    s.nodes[2] = node(s.nodes[2]!.name, "LpPool", s.nodes[2]!.input, s.nodes[2]!.output);
    await expectCompileError(
      "tanh.onnx",
      encode(s),
      `"tanh.onnx": unsupported operators "Tanh" at node "/act/Tanh", "LpPool" at node "${s.nodes[2]!.name}" ` +
        "(supported: Conv, BatchNormalization, Gemm, MatMul, Add, Relu, MaxPool, AveragePool, Flatten, Reshape, " +
        "Squeeze, Unsqueeze, Transpose, Identity, Dropout, Constant, Pad, Sub, Div, Mul, Softmax, LogSoftmax, Sigmoid, Clip, LeakyRelu)",
    );
  });

  it("test_compile_rejectsUnsupportedAttribute", async function () {
    const s = spec();
    s.nodes[0]!.attribute.push(ints("output_padding", [1, 1]));
    await expectCompileError(
      "attr.onnx",
      encode(s),
      '"attr.onnx": unsupported attribute "output_padding" on Conv node "/conv/Conv"',
    );
    const g = spec();
    g.nodes[0]!.attribute[1] = int("group", 2);
    await expectCompileError(
      "group.onnx",
      encode(g),
      '"group.onnx": Conv node "/conv/Conv" has group=2; only group=1 is supported',
    );
  });

  it("test_compile_rejectsDynamicBatchDimension", async function () {
    const s = spec();
    s.inputs[0] = valueInfo("input.1", ["batch_size", 1, 14, 14]);
    await expectCompileError(
      "dynamic.onnx",
      encode(s),
      '"dynamic.onnx": graph input "input.1" has dynamic dimension "batch_size" at axis 0; ' +
        "re-export with a fixed shape (batch size 1, no dynamic_axes)",
    );
  });

  it("test_compile_rejectsWrongShapeWeight", async function () {
    const s = spec();
    s.initializers[0] = tensor("conv.weight", [3, 2, 3, 3], randomValues(new Prng(1), 54));
    await expectCompileError(
      "shape.onnx",
      encode(s),
      '"shape.onnx": Conv node "/conv/Conv": weight "conv.weight" has shape [3, 2, 3, 3], expected [outC, 1, k, k] ' +
        "for an input of 1 channels",
    );
    const g = spec();
    g.initializers[2] = tensor("fc.weight", [10, 100], randomValues(new Prng(1), 1000));
    await expectCompileError(
      "gemm.onnx",
      encode(g),
      '"gemm.onnx": Gemm node "/fc/Gemm": weight "fc.weight" has shape [10, 100], expected [nOut, 147] for an input of 147 values',
    );
  });

  it("test_compile_rejectsNaNAndInfWeights", async function () {
    for (const [bad, text] of [
      [NaN, "NaN"],
      [Infinity, "Infinity"],
    ] as const) {
      const s = spec();
      const values = randomValues(new Prng(2), 27, 0.5);
      values[4] = bad;
      s.initializers[0] = tensor("conv.weight", [3, 1, 3, 3], values, true);
      await expectCompileError(
        `bad-${text}.onnx`,
        encode(s),
        `"bad-${text}.onnx": Conv node "/conv/Conv": weight W "conv.weight" has ${text} at index 4; weights must be finite`,
      );
    }
  });

  it("test_compile_rejectsWrongSizeCalibrationSample", async function () {
    const calibration = path.join(tmp, "calibration.json");
    writeFileSync(calibration, JSON.stringify([new Array(196).fill(3), new Array(100).fill(7)]));
    try {
      await expectCompileError(
        "ok.onnx",
        encode(spec()),
        '"ok.onnx": calibration input 1 has 100 values; the model takes 196 (shape [1, 14, 14])',
        ["--calibration", calibration],
      );
    } finally {
      rmSync(calibration);
    }
    expect(errorOf(() => readCalibrationFile(path.join(tmp, "missing.json")))).to.match(
      /^cannot read calibration file ".*missing\.json": ENOENT/,
    );
  });

  it("test_compile_rejectsCommittedModeForConvAndUnknownModeOrOutput", async function () {
    const onnxPath = path.join(tmp, "m.onnx");
    writeFileSync(onnxPath, encode(spec()));
    try {
      expect(await asyncErrorOf(() => compileModel({ onnxPath, mode: "committed", circuit: false }))).to.equal(
        '"m.onnx": --mode committed supports dense-only models (Gemm/MatMul + Relu) so far; Conv node "/conv/Conv" needs --mode baked',
      );
      expect(await asyncErrorOf(() => compileModel({ onnxPath, mode: "secret", circuit: false }))).to.equal(
        'unknown --mode "secret"; expected baked, committed or universal',
      );
      expect(await asyncErrorOf(() => compileModel({ onnxPath, output: "probabilities", circuit: false }))).to.equal(
        'unknown --output "probabilities"; expected one of logits, class, both',
      );
    } finally {
      rmSync(onnxPath);
    }
  });

  it("test_quantizeGraph_rejectsHiddenLayerWithoutRelu", function () {
    const s = spec();
    s.nodes.splice(1, 1);
    s.nodes[1]!.input = ["/conv/Conv_output_0"];
    const graph = onnxToGraph(encode(s), "norelu.onnx");
    expect(errorOf(() => quantizeGraph(graph, [new Uint8Array(196)]))).to.equal(
      '"norelu.onnx": Conv node "/conv/Conv" must be followed by Relu or Clip: only the last layer (a Gemm or MatMul giving the logits) may be linear',
    );
  });
});
