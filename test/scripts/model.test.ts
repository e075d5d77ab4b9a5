import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import onnxProto from "onnx-proto";
// Named imports: the package is CommonJS compiled with __esModule, so a default import is
// undefined whenever a loader transpiles this file to CommonJS (as mocha's does).
import { InferenceSession, Tensor } from "onnxruntime-node";
import { onnxGraphAccuracy } from "../../scripts/compiler/float-reference.ts";
import { argmax } from "../../scripts/circuit/reference.ts";
import { graphForward, product, type FloatGraph, type GraphDenseLayer } from "../../scripts/model/graph.ts";
import { downsample14, loadMnist, toFloatInput, type Digit } from "../../scripts/model/mnist.ts";
import { graphToOnnx, GRAPH_OPS, onnxToGraph } from "../../scripts/model/onnx-import.ts";
import { circuitOperator, layerOperator } from "../../scripts/model/ops/registry.ts";
import { Prng } from "../../scripts/model/prng.ts";
import { SMALL_MLP, trainMlp } from "../../scripts/model/train-mlp.ts";
import { graphAccuracy } from "../../scripts/model/trained-model.ts";

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const MODEL_PATH = path.join(ROOT, "models/mnist-mlp.onnx");
const METRICS_PATH = path.join(ROOT, "models/mnist-mlp.metrics.json");

/** The dense layers of a graph. */
const denseOf = (g: FloatGraph) => g.layers.filter((l): l is GraphDenseLayer => l.kind === "dense");
/** [nIn, nOut, followed by Relu] of each dense layer, the shape of an MLP. */
const mlpShape = (g: FloatGraph) =>
  g.layers.flatMap((l, i) => (l.kind === "dense" ? [[l.nIn, l.nOut, g.layers[i + 1]?.kind === "relu"]] : []));

// ---------------------------------------------------------------------------------------------
// Helpers that build ONNX graphs by hand, the way other exporters lay them out.

type TensorInit = {
  name: string;
  dims: number[];
  values: number[];
  dataType?: number;
  raw?: boolean;
};

function tensor({ name, dims, values, dataType = DataType.FLOAT, raw = false }: TensorInit) {
  if (dataType === DataType.INT64) return onnx.TensorProto.create({ name, dims, dataType, int64Data: values });
  if (!raw) return onnx.TensorProto.create({ name, dims, dataType, floatData: values });
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return onnx.TensorProto.create({ name, dims, dataType, rawData: bytes });
}

function valueInfo(name: string, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  });
}

function intAttr(name: string, i: number) {
  return onnx.AttributeProto.create({ name, type: AttributeType.INT, i });
}

function floatAttr(name: string, f: number) {
  return onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f });
}

interface GraphSpec {
  nodes: ReturnType<typeof onnx.NodeProto.create>[];
  initializers: ReturnType<typeof tensor>[];
  inputs: ReturnType<typeof valueInfo>[];
  outputs: ReturnType<typeof valueInfo>[];
}

function modelBytes(g: GraphSpec, opset = 13): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 7,
      producerName: "pytorch",
      opsetImport: [{ domain: "", version: opset }],
      graph: {
        name: "torch_jit",
        node: g.nodes,
        initializer: g.initializers,
        input: g.inputs,
        output: g.outputs,
      },
    }),
  ).finish();
}

/** Deterministic small weights so that hand-built graphs have known contents. */
function randomValues(rng: Prng, n: number, scale = 0.3): number[] {
  return Array.from({ length: n }, () => Math.fround(rng.normal() * scale));
}

/** The graph older PyTorch exporters write: 1x1x14x14 input, Flatten, Gemm, weights as inputs. */
function pytorchStyleGraph(rng: Prng) {
  const w1 = randomValues(rng, 16 * 196);
  const b1 = randomValues(rng, 16);
  const w2 = randomValues(rng, 10 * 16);
  const b2 = randomValues(rng, 10);
  const initializers = [
    tensor({ name: "fc1.weight", dims: [16, 196], values: w1, raw: true }),
    tensor({ name: "fc1.bias", dims: [16], values: b1 }),
    tensor({ name: "fc2.weight", dims: [10, 16], values: w2, raw: true }),
    tensor({ name: "fc2.bias", dims: [10], values: b2 }),
  ];
  const spec: GraphSpec = {
    nodes: [
      onnx.NodeProto.create({
        name: "Flatten_0",
        opType: "Flatten",
        input: ["input.1"],
        output: ["5"],
        attribute: [intAttr("axis", 1)],
      }),
      onnx.NodeProto.create({
        name: "Gemm_1",
        opType: "Gemm",
        input: ["5", "fc1.weight", "fc1.bias"],
        output: ["6"],
        attribute: [floatAttr("alpha", 1), floatAttr("beta", 1), intAttr("transB", 1)],
      }),
      onnx.NodeProto.create({ name: "Relu_2", opType: "Relu", input: ["6"], output: ["7"] }),
      onnx.NodeProto.create({ name: "Dropout_3", opType: "Dropout", input: ["7"], output: ["8"] }),
      onnx.NodeProto.create({
        name: "Gemm_4",
        opType: "Gemm",
        input: ["8", "fc2.weight", "fc2.bias"],
        output: ["9"],
        attribute: [intAttr("transB", 1)],
      }),
    ],
    initializers,
    inputs: [
      valueInfo("input.1", [1, 1, 14, 14]),
      valueInfo("fc1.weight", [16, 196]),
      valueInfo("fc1.bias", [16]),
      valueInfo("fc2.weight", [10, 16]),
      valueInfo("fc2.bias", [10]),
    ],
    outputs: [valueInfo("9", [1, 10])],
  };
  return { spec, w1, b1, w2, b2 };
}

/** A MatMul + Add graph as TensorFlow-style exporters write it: weights stored [nIn, nOut]. */
function matmulGraph(rng: Prng, nIn = 196, nHid = 12): GraphSpec {
  return {
    nodes: [
      onnx.NodeProto.create({ name: "mm0", opType: "MatMul", input: ["x", "W0"], output: ["h0"] }),
      onnx.NodeProto.create({ name: "add0", opType: "Add", input: ["h0", "B0"], output: ["h1"] }),
      onnx.NodeProto.create({ name: "relu0", opType: "Relu", input: ["h1"], output: ["h2"] }),
      onnx.NodeProto.create({ name: "id0", opType: "Identity", input: ["h2"], output: ["h3"] }),
      onnx.NodeProto.create({ name: "mm1", opType: "MatMul", input: ["h3", "W1"], output: ["h4"] }),
      // Bias first: exporters write Add's operands in either order.
      onnx.NodeProto.create({ name: "add1", opType: "Add", input: ["B1", "h4"], output: ["y"] }),
    ],
    initializers: [
      tensor({ name: "W0", dims: [nIn, nHid], values: randomValues(rng, nIn * nHid) }),
      tensor({ name: "B0", dims: [nHid], values: randomValues(rng, nHid) }),
      tensor({ name: "W1", dims: [nHid, 10], values: randomValues(rng, nHid * 10) }),
      tensor({ name: "B1", dims: [1, 10], values: randomValues(rng, 10) }),
    ],
    inputs: [valueInfo("x", [1, nIn])],
    outputs: [valueInfo("y", [1, 10])],
  };
}

/** Logits of onnxruntime on raw model bytes for one input vector. */
async function ortLogits(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<Float32Array> {
  // Severity 3 (errors only): the PyTorch-layout graph makes ORT warn about weights as inputs.
  const session = await InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    const out = await session.run({ [session.inputNames[0]!]: new Tensor("float32", x, shape) });
    return out[session.outputNames[0]!]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function expectThrows(fn: () => unknown, ...fragments: string[]): string {
  let message: string | undefined;
  try {
    fn();
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message, "expected an error").to.be.a("string");
  for (const f of fragments) expect(message).to.include(f);
  return message!;
}

// ---------------------------------------------------------------------------------------------

describe("model: MNIST data", function () {
  let data: { train: Digit[]; test: Digit[] };
  before(function () {
    this.timeout(60_000);
    data = loadMnist();
  });

  it("test_loadMnist_holdsOut100PerClass", function () {
    expect(data.test).to.have.length(1000);
    expect(data.train).to.have.length(9000);
    for (let d = 0; d < 10; d++) {
      expect(data.test.filter((x) => x.label === d)).to.have.length(100);
    }
    for (const digit of [...data.train, ...data.test]) {
      expect(digit.pixels).to.be.instanceOf(Uint8Array);
      expect(digit.pixels).to.have.length(196);
    }
  });

  it("test_loadMnist_testIsLastHundredOfEachClassAndDisjointFromTrain", function () {
    const mnist = createRequire(import.meta.url)("mnist") as Record<
      number,
      { length: number; get(i: number): number[] }
    >;
    for (const d of [0, 5, 9]) {
      const cls = mnist[d]!;
      const testOfClass = data.test.filter((x) => x.label === d);
      expect(Array.from(testOfClass[0]!.pixels)).to.deep.equal(Array.from(downsample14(cls.get(cls.length - 100))));
      expect(Array.from(testOfClass[99]!.pixels)).to.deep.equal(Array.from(downsample14(cls.get(cls.length - 1))));
    }
    const hash = (x: Digit) => createHash("sha256").update(x.pixels).digest("hex");
    const trainHashes = new Set(data.train.map(hash));
    expect(data.test.filter((x) => trainHashes.has(hash(x)))).to.have.length(0);
  });

  it("test_loadMnist_isDeterministic", function () {
    const again = loadMnist();
    expect(again.test.map((d) => d.label)).to.deep.equal(data.test.map((d) => d.label));
    expect(
      Buffer.concat(again.train.map((d) => d.pixels)).equals(Buffer.concat(data.train.map((d) => d.pixels))),
    ).to.equal(true);
  });

  it("test_downsample14_averagesTwoByTwoBlocks", function () {
    expect(Array.from(downsample14(new Array(784).fill(1)))).to.deep.equal(new Array(196).fill(255));
    expect(Array.from(downsample14(new Array(784).fill(0)))).to.deep.equal(new Array(196).fill(0));
    expect(downsample14(new Array(784).fill(0.5))[0]).to.equal(128); // round(127.5)

    const raw = new Array(784).fill(0);
    // Block (row 3, col 5) covers raw rows 6-7 and columns 10-11.
    raw[6 * 28 + 10] = 1;
    raw[6 * 28 + 11] = 0.5;
    raw[7 * 28 + 11] = 0.2;
    const out = downsample14(raw);
    expect(out[3 * 14 + 5]).to.equal(Math.round((255 * 1.7) / 4)); // 108
    expect(out.reduce((a, b) => a + b, 0)).to.equal(108);
    // One lit pixel in a block: round(63.75) = 64.
    const single = new Array(784).fill(0);
    single[27 * 28 + 27] = 1;
    expect(downsample14(single)[195]).to.equal(64);
  });

  it("test_downsample14_clampsAndRejectsWrongSize", function () {
    expect(downsample14(new Array(784).fill(2))[0]).to.equal(255);
    expect(downsample14(new Array(784).fill(-1))[0]).to.equal(0);
    expectThrows(() => downsample14(new Array(196).fill(0)), "784", "196");
  });

  it("test_toFloatInput_isExactlyPixelOver256", function () {
    const pixels = Uint8Array.from([0, 1, 128, 255]);
    expect(Array.from(toFloatInput(pixels))).to.deep.equal([0, 1 / 256, 0.5, 255 / 256]);
  });
});

describe("model: PRNG", function () {
  it("test_prng_matchesMulberry32ReferenceValues", function () {
    // Pinned outputs: a change here silently changes the committed model's weights.
    const rng = new Prng(1);
    expect(rng.next()).to.equal(0.6270739405881613);
    expect(rng.next()).to.equal(0.002735721180215478);
  });

  it("test_prng_sameSeedSameStream_differentSeedDifferentStream", function () {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const sa = Array.from({ length: 50 }, () => a.next());
    expect(sa).to.deep.equal(Array.from({ length: 50 }, () => b.next()));
    expect(sa).to.not.deep.equal(Array.from({ length: 50 }, () => c.next()));
    for (const v of sa) expect(v).to.be.at.least(0).and.below(1);
  });

  it("test_prng_normalHasUnitVariance", function () {
    const rng = new Prng(7);
    const n = 20_000;
    const xs = Array.from({ length: n }, () => rng.normal());
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).to.be.below(0.05);
    expect(Math.abs(variance - 1)).to.be.below(0.05);
    expect(xs.every(Number.isFinite)).to.equal(true);
  });

  it("test_prng_shuffleIsADeterministicPermutation", function () {
    const items = Array.from({ length: 100 }, (_, i) => i);
    const s1 = new Prng(3).shuffle([...items]);
    const s2 = new Prng(3).shuffle([...items]);
    expect(s1).to.deep.equal(s2);
    expect(s1).to.not.deep.equal(items);
    expect([...s1].sort((a, b) => a - b)).to.deep.equal(items);
  });

  it("test_prng_rejectsNonIntegerSeed", function () {
    expectThrows(() => new Prng(1.5), "seed", "1.5");
  });
});

describe("model: float forward", function () {
  it("test_graphForward_appliesDenseAndRelu", function () {
    const model: FloatGraph = {
      name: "tiny",
      inputShape: [2],
      onnxInputShape: [1, 2],
      layers: [
        {
          kind: "dense",
          node: "d0",
          nIn: 2,
          nOut: 2,
          weight: Float64Array.from([1, -1, -1, 1]),
          bias: Float64Array.from([0, 0.5]),
        },
        { kind: "relu", node: "r0" },
        {
          kind: "dense",
          node: "d1",
          nIn: 2,
          nOut: 2,
          weight: Float64Array.from([1, 0, 2, -1]),
          bias: Float64Array.from([0, 1]),
        },
      ],
      outputSize: 2,
    };
    // hidden = relu([3-1, -3+1+0.5]) = [2, 0]; logits = [2, 4+1] = [2, 5]
    expect(Array.from(graphForward(model, [3, 1]))).to.deep.equal([2, 5]);
    expectThrows(() => graphForward(model, [1, 2, 3]), "tiny", "2 inputs", "got 3");
  });

  it("test_argmax_returnsFirstMaximum", function () {
    expect(argmax([1, 3, 3, 2])).to.equal(1);
    expect(argmax([-5, -7])).to.equal(0);
    expect(argmax([0, 0, 9])).to.equal(2);
  });
});

describe("model: training and ONNX", function () {
  this.timeout(120_000);
  let data: { train: Digit[]; test: Digit[] };
  let tiny: FloatGraph;
  let tmpDir: string;

  before(function () {
    data = loadMnist();
    // Every 9th training digit keeps all classes and makes training take a fraction of a second.
    const subset = data.train.filter((_, i) => i % 9 === 0);
    tiny = trainMlp({ train: subset, seed: 5, epochs: 3, hiddenSize: 8, name: "tiny" });
    tmpDir = mkdtempSync(path.join(os.tmpdir(), "poi-model-test-"));
  });

  after(function () {
    rmSync(tmpDir, { recursive: true, force: true });
  });

  it("test_trainMlp_isDeterministicAndLearns", function () {
    const subset = data.train.filter((_, i) => i % 9 === 0);
    const again = trainMlp({ train: subset, seed: 5, epochs: 3, hiddenSize: 8, name: "tiny" });
    expect(Buffer.from(graphToOnnx(again)).equals(Buffer.from(graphToOnnx(tiny)))).to.equal(true);
    const other = trainMlp({ train: subset, seed: 6, epochs: 3, hiddenSize: 8, name: "tiny" });
    expect(Array.from(denseOf(other)[0]!.weight)).to.not.deep.equal(Array.from(denseOf(tiny)[0]!.weight));

    expect(mlpShape(tiny)).to.deep.equal([
      [196, 8, true],
      [8, 10, false],
    ]);
    // Weights are rounded to float32 so the ONNX file holds exactly this model.
    for (const layer of denseOf(tiny)) {
      for (const w of layer.weight) expect(Math.fround(w)).to.equal(w);
    }
    // Chance is 10%; even this tiny model must have learnt something.
    expect(graphAccuracy(tiny, data.test)).to.be.above(0.6);
  });

  it("test_graphToOnnx_roundTripsTheTrainedMlpExactly", function () {
    const bytes = graphToOnnx(tiny);
    const back = onnxToGraph(bytes, "tiny.onnx");
    expect(back.inputShape).to.deep.equal([196]);
    expect(back.layers.map((l) => [l.kind, l.node])).to.deep.equal(tiny.layers.map((l) => [l.kind, l.node]));
    expect(mlpShape(back)).to.deep.equal(mlpShape(tiny));
    denseOf(back).forEach((layer, i) => {
      const orig = denseOf(tiny)[i]!;
      expect(Array.from(layer.weight)).to.deep.equal(Array.from(orig.weight));
      expect(Array.from(layer.bias)).to.deep.equal(Array.from(orig.bias));
    });
    expect(Buffer.from(graphToOnnx({ ...back, name: tiny.name })).equals(Buffer.from(bytes))).to.equal(true);
  });

  it("test_graphToOnnx_writesTheDeclaredOnnxHeader", function () {
    const decoded = onnx.ModelProto.decode(graphToOnnx(tiny, { docString: "made by a test" }));
    expect(Number(decoded.irVersion)).to.equal(8);
    expect(decoded.producerName).to.equal("poi");
    expect(decoded.docString).to.equal("made by a test");
    expect(decoded.opsetImport.map((o) => [o.domain, Number(o.version)])).to.deep.equal([["", 13]]);
    const graph = decoded.graph!;
    expect(graph.node!.map((n) => n.opType)).to.deep.equal(["Gemm", "Relu", "Gemm"]);
    expect(graph.input!.map((v) => v.name)).to.deep.equal(["input"]);
    expect(graph.output!.map((v) => v.name)).to.deep.equal(["logits"]);
    const transB = graph.node![0]!.attribute!.find((a) => a.name === "transB");
    expect(Number(transB?.i)).to.equal(1);
    expect(graph.initializer!.map((t) => t.dims!.map(Number))).to.deep.equal([[8, 196], [8], [10, 8], [10]]);
  });

  it("test_onnxGraphAccuracy_onnxruntimeMatchesFloatForward", async function () {
    const file = path.join(tmpDir, "tiny.onnx");
    writeFileSync(file, graphToOnnx(tiny));
    const digits = data.test.filter((_, i) => i % 10 === 0);
    const result = await onnxGraphAccuracy(file, [1, 196], digits);
    expect(result.predictions).to.have.length(digits.length);
    let correct = 0;
    digits.forEach((d, i) => {
      const ours = graphForward(tiny, toFloatInput(d.pixels));
      expect(maxAbsDiff(result.logits[i]!, ours)).to.be.below(1e-4);
      expect(result.predictions[i]).to.equal(argmax(result.logits[i]!));
      if (result.predictions[i] === d.label) correct++;
    });
    expect(result.accuracy).to.equal(correct / digits.length);
  });

  it("test_onnxGraphAccuracy_missingFileNamesThePath", async function () {
    const missing = path.join(tmpDir, "nope.onnx");
    let message = "";
    try {
      await onnxGraphAccuracy(missing, [1, 196], data.test.slice(0, 1));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.include("nope.onnx");
  });

  it("test_onnxToGraph_parsesPytorchLayout", async function () {
    const { spec, w1, b1, w2, b2 } = pytorchStyleGraph(new Prng(11));
    const bytes = modelBytes(spec, 11);
    const model = onnxToGraph(bytes, "torch.onnx");
    expect(product(model.inputShape)).to.equal(196);
    expect(mlpShape(model)).to.deep.equal([
      [196, 16, true],
      [16, 10, false],
    ]);
    const [d0, d1] = denseOf(model);
    expect(Array.from(d0!.weight)).to.deep.equal(w1);
    expect(Array.from(d0!.bias)).to.deep.equal(b1);
    expect(Array.from(d1!.weight)).to.deep.equal(w2);
    expect(Array.from(d1!.bias)).to.deep.equal(b2);

    const x = toFloatInput(data.test[0]!.pixels);
    const expected = await ortLogits(bytes, x, [1, 1, 14, 14]);
    expect(maxAbsDiff(expected, graphForward(model, x))).to.be.below(1e-4);
  });

  it("test_onnxToGraph_parsesMatMulAddWithTransposedWeights", async function () {
    const bytes = modelBytes(matmulGraph(new Prng(12)));
    const model = onnxToGraph(bytes, "matmul.onnx");
    expect(mlpShape(model)).to.deep.equal([
      [196, 12, true],
      [12, 10, false],
    ]);
    for (const digit of data.test.slice(0, 5)) {
      const x = toFloatInput(digit.pixels);
      expect(maxAbsDiff(await ortLogits(bytes, x, [1, 196]), graphForward(model, x))).to.be.below(1e-4);
    }
  });

  it("test_onnxToGraph_parsesGemmWithoutTransposeAndReshape", async function () {
    const rng = new Prng(13);
    const spec: GraphSpec = {
      nodes: [
        onnx.NodeProto.create({
          name: "shape",
          opType: "Constant",
          output: ["s"],
          attribute: [
            {
              name: "value",
              type: AttributeType.TENSOR,
              t: tensor({ name: "", dims: [2], values: [1, -1], dataType: DataType.INT64 }),
            },
          ],
        }),
        onnx.NodeProto.create({
          name: "rs",
          opType: "Reshape",
          input: ["img", "s"],
          output: ["flat"],
        }),
        onnx.NodeProto.create({
          name: "g",
          opType: "Gemm",
          input: ["flat", "W", "B"],
          output: ["out"],
          attribute: [intAttr("transB", 0)],
        }),
      ],
      initializers: [
        tensor({ name: "W", dims: [196, 10], values: randomValues(rng, 1960) }),
        tensor({ name: "B", dims: [10], values: randomValues(rng, 10) }),
      ],
      inputs: [valueInfo("img", [1, 14, 14])],
      outputs: [valueInfo("out", [1, 10])],
    };
    const bytes = modelBytes(spec);
    const model = onnxToGraph(bytes, "gemm.onnx");
    expect(mlpShape(model)).to.deep.equal([[196, 10, false]]);
    const x = toFloatInput(data.test[1]!.pixels);
    expect(maxAbsDiff(await ortLogits(bytes, x, [1, 14, 14]), graphForward(model, x))).to.be.below(1e-4);
  });

  it("test_committedModel_reachesAtLeast93PercentAndMatchesMetrics", async function () {
    const metrics = JSON.parse(readFileSync(METRICS_PATH, "utf8")) as Record<string, unknown>;
    const bytes = readFileSync(MODEL_PATH);
    expect(createHash("sha256").update(bytes).digest("hex")).to.equal(metrics.onnxSha256);
    expect(metrics.trainedWith).to.equal("scripts/model/train-mlp.ts");
    expect(metrics.testSize).to.equal(1000);
    expect(metrics.trainSize).to.equal(9000);

    const model = onnxToGraph(bytes, "mnist-mlp.onnx");
    expect(mlpShape(model)).to.deep.equal([
      [196, 32, true],
      [32, 10, false],
    ]);
    const { accuracy } = await onnxGraphAccuracy(MODEL_PATH, [1, 196], data.test);
    expect(accuracy).to.be.at.least(0.93);
    expect(accuracy).to.equal(metrics.floatAccuracy);
    expect(graphAccuracy(model, data.test)).to.equal(accuracy);
  });

  it("test_smallCommittedModel_isRetrainedBitForBitAndMatchesMetrics", async function () {
    // The test suite's committed-mode architecture (196-4-10): `npm run train:small`'s file.
    const file = path.join(ROOT, "models", `${SMALL_MLP.name}.onnx`);
    const metrics = JSON.parse(readFileSync(file.replace(/\.onnx$/, ".metrics.json"), "utf8")) as Record<
      string,
      unknown
    >;
    const bytes = readFileSync(file);
    expect(createHash("sha256").update(bytes).digest("hex")).to.equal(metrics.onnxSha256);
    expect(metrics).to.include({ hiddenSize: SMALL_MLP.hiddenSize, trainSize: 9000, testSize: 1000 });
    const retrained = trainMlp({ train: data.train, hiddenSize: SMALL_MLP.hiddenSize, name: SMALL_MLP.name });
    expect(mlpShape(retrained)).to.deep.equal([
      [196, 4, true],
      [4, 10, false],
    ]);
    const model = onnxToGraph(bytes, file);
    expect(Array.from(denseOf(model)[0]!.weight)).to.deep.equal(Array.from(denseOf(retrained)[0]!.weight));
    expect(Array.from(denseOf(model)[1]!.bias)).to.deep.equal(Array.from(denseOf(retrained)[1]!.bias));
    const { accuracy } = await onnxGraphAccuracy(file, [1, 196], data.test);
    expect(accuracy).to.equal(metrics.floatAccuracy);
    expect(graphAccuracy(model, data.test)).to.equal(accuracy);
  });
});

describe("model: operator registry", function () {
  it("test_registry_everyOperatorHasARowInTheDocsOperatorTable", function () {
    // The first cell of each row of docs/compiler.md's operator table names its operators.
    const doc = readFileSync(path.join(ROOT, "docs/compiler.md"), "utf8");
    const table = doc.slice(doc.indexOf("## What it accepts"), doc.indexOf("### Adding an operator"));
    const named = new Set(
      table
        .split("\n")
        .filter((l) => l.startsWith("| "))
        .flatMap((l) => l.split("|")[1]!.split(/[^A-Za-z0-9]+/)),
    );
    const missing = GRAPH_OPS.filter((op) => !named.has(op));
    expect(missing, "operators without a row in docs/compiler.md").to.deep.equal([]);
    expect(GRAPH_OPS.length).to.be.greaterThan(20);
  });

  it("test_registry_everyLayerKindHasAForwardPassAndEveryQuantizedKindACircuit", function () {
    const graph = onnxToGraph(modelBytes(pytorchStyleGraph(new Prng(21)).spec), "mlp.onnx");
    for (const layer of graph.layers) expect(layerOperator(layer.kind).kind).to.equal(layer.kind);
    expect(() => layerOperator("softmax" as never)).to.throw('no operator module for layer kind "softmax"');
    expect(() => circuitOperator("relu" as never)).to.throw('no operator module for quantized layer kind "relu"');
  });
});

describe("model: ONNX import errors", function () {
  const committed = () => readFileSync(MODEL_PATH);

  /** The PyTorch-style graph with one node or tensor changed. */
  function mutated(edit: (spec: GraphSpec) => void): Uint8Array {
    const { spec } = pytorchStyleGraph(new Prng(21));
    edit(spec);
    return modelBytes(spec);
  }

  it("test_onnxToGraph_rejectsGarbageBytes", function () {
    const msg = expectThrows(
      () => onnxToGraph(Buffer.from("this is not an onnx model, just some text\n"), "notes.txt"),
      '"notes.txt" is not a valid ONNX model:',
    );
    expect(msg).to.include("not an ONNX protobuf");
    expectThrows(
      () => onnxToGraph(new Uint8Array(0), "empty.onnx"),
      '"empty.onnx" is not a valid ONNX model: the file is empty',
    );
  });

  it("test_onnxToGraph_rejectsTruncatedFile", function () {
    const bytes = committed();
    for (const cut of [1000, bytes.length - 3]) {
      expectThrows(
        () => onnxToGraph(bytes.subarray(0, cut), "cut.onnx"),
        '"cut.onnx" is not a valid ONNX model:',
        "truncated",
      );
    }
  });

  it("test_onnxToGraph_rejectsProtobufWithoutGraph", function () {
    const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8 })).finish();
    expectThrows(() => onnxToGraph(bytes, "nograph.onnx"), '"nograph.onnx" is not a valid ONNX model: missing graph');
  });

  it("test_onnxToGraph_rejectsUnsupportedOperator", function () {
    const bytes = mutated((spec) => {
      spec.nodes.push(onnx.NodeProto.create({ name: "h0", opType: "Hardmax", input: ["9"], output: ["prob"] }));
      spec.outputs = [valueInfo("prob", [1, 10])];
    });
    expectThrows(
      () => onnxToGraph(bytes, "hardmax.onnx"),
      "hardmax.onnx",
      'unsupported operator "Hardmax" at node "h0" (supported: Conv, BatchNormalization, Gemm, MatMul, Add, Relu,',
    );
  });

  it("test_onnxToGraph_rejectsNaNAndInfWeights", function () {
    for (const [bad, shown] of [
      [NaN, "NaN"],
      [Infinity, "Infinity"],
    ] as const) {
      const bytes = mutated((spec) => {
        const values = randomValues(new Prng(1), 160);
        values[17] = bad;
        spec.initializers[2] = tensor({ name: "fc2.weight", dims: [10, 16], values });
      });
      expectThrows(() => onnxToGraph(bytes, "nan.onnx"), 'Gemm node "Gemm_4"', '"fc2.weight"', shown, "index 17");
    }
  });

  it("test_onnxToGraph_rejectsWrongWeightShape", function () {
    const bytes = mutated((spec) => {
      spec.initializers[0] = tensor({
        name: "fc1.weight",
        dims: [16, 195],
        values: randomValues(new Prng(1), 16 * 195),
      });
    });
    expectThrows(() => onnxToGraph(bytes, "shape.onnx"), 'Gemm node "Gemm_1"', '"fc1.weight"', "[16, 195]", "196");
  });

  it("test_onnxToGraph_rejectsDynamicBatchDimension", function () {
    const bytes = mutated((spec) => {
      spec.inputs[0] = valueInfo("input.1", ["N", 1, 14, 14]);
    });
    expectThrows(() => onnxToGraph(bytes, "dyn.onnx"), '"input.1"', 'dynamic dimension "N"', "axis 0", "fixed shape");
  });

  it("test_onnxToGraph_rejectsUnsupportedAttribute", function () {
    const transA = mutated((spec) => {
      spec.nodes[1]!.attribute[0] = intAttr("transA", 1);
    });
    expectThrows(() => onnxToGraph(transA, "transA.onnx"), 'Gemm node "Gemm_1"', "transA=1");
    const unknown = mutated((spec) => {
      spec.nodes[2]!.attribute.push(floatAttr("slope", 0.1));
    });
    expectThrows(() => onnxToGraph(unknown, "attr.onnx"), 'unsupported attribute "slope"', 'Relu node "Relu_2"');
  });

  it("test_onnxToGraph_gemmAlphaBetaAndSqueezeUnsqueezeMatchOnnxruntime", async function () {
    const bytes = mutated((spec) => {
      spec.nodes[1]!.attribute[0] = floatAttr("alpha", 0.5);
      spec.nodes[1]!.attribute[1] = floatAttr("beta", 2);
      spec.initializers.push(tensor({ name: "axes", dims: [2], values: [2, 3], dataType: DataType.INT64 }));
      spec.nodes.push(onnx.NodeProto.create({ name: "up", opType: "Unsqueeze", input: ["9", "axes"], output: ["u"] }));
      spec.nodes.push(onnx.NodeProto.create({ name: "down", opType: "Squeeze", input: ["u", "axes"], output: ["y"] }));
      spec.outputs = [valueInfo("y", [1, 10])];
    });
    const model = onnxToGraph(bytes, "alpha.onnx");
    for (const digit of loadMnist().test.slice(0, 5)) {
      const x = toFloatInput(digit.pixels);
      expect(maxAbsDiff(await ortLogits(bytes, x, [1, 1, 14, 14]), graphForward(model, x))).to.be.below(1e-4);
    }
  });

  it("test_onnxToGraph_rejectsNonSequentialGraph", function () {
    const bytes = mutated((spec) => {
      // A skip connection: the second layer reads the Flatten output instead of the Relu.
      spec.nodes[4]!.input[0] = "5";
    });
    expectThrows(() => onnxToGraph(bytes, "skip.onnx"), 'Gemm node "Gemm_4"', 'reads "5"', "sequential");
  });

  it("test_onnxToGraph_rejectsBatchLargerThanOne", function () {
    const bytes = mutated((spec) => {
      spec.inputs[0] = valueInfo("input.1", [4, 1, 14, 14]);
    });
    expectThrows(() => onnxToGraph(bytes, "batch.onnx"), "batch size 4");
  });
});
