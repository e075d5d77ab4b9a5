/**
 * Models exported by PyTorch's own torch.onnx.export (test/fixtures/exporters, made by
 * make_fixtures.py there, committed): each is inspected before any compile and compiles through
 * `poi compile` (circuit included, witnesses equal to the integer reference) with top-1
 * agreement of at least 99% against onnxruntime on the 1,000 held-out digits, both fed the
 * declared default input mapping byte / 255.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compileModel } from "../../scripts/compiler/compile-model.ts";
import { inspectModel } from "../../scripts/compiler/inspect-model.ts";
import { loadMnist } from "../../scripts/model/mnist.ts";
import { onnxToGraph } from "../../scripts/model/onnx-import.ts";
import { releaseProverThreads } from "../../scripts/prove/prover.ts";
import { expectGraphMatchesOnnxruntime } from "../helpers/float-reference.ts";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/exporters");

const CASES = [
  { file: "pytorch-mlp.onnx", layers: ["dense", "relu", "dense"], output: "both" },
  // nn.AvgPool2d(2, padding=1) is exported as Pad + AveragePool, folded into a padded pool; the Conv pads by 1.
  { file: "pytorch-cnn-avgpool.onnx", layers: ["conv", "relu", "avgpool", "dense"], output: "both" },
  // (x - 0.1307) / 0.3081 folded into the first Gemm; the final Softmax keeps the class.
  { file: "pytorch-normalised-softmax.onnx", layers: ["dense", "relu", "dense"], output: "class" },
  // A residual block: relu(conv2(relu(conv1(h))) + h), its Add of two tensors reading the stem's Relu output.
  {
    file: "pytorch-residual.onnx",
    layers: ["conv", "relu", "conv", "relu", "conv", "add", "relu", "dense"],
    output: "both",
  },
  // nn.ReLU6, exported as Clip(0, 6): the clamp of the RequantReluClamp after the first Gemm.
  { file: "pytorch-relu6.onnx", layers: ["dense", "clip", "dense"], output: "both" },
  // nn.LeakyReLU(0.1): the first Gemm gives relu(z) and relu(-z), the second weighs them 1 and -0.1.
  { file: "pytorch-leaky-relu.onnx", layers: ["dense", "leakyrelu", "dense"], output: "both" },
  // An NHWC input permuted to NCHW: the Transpose before the Conv becomes a permutation layer.
  {
    file: "pytorch-nhwc.onnx",
    layers: ["transpose", "conv", "relu", "dense"],
    output: "both",
    inputShape: [1, 14, 14, 1],
  },
] as const;

describe("exporter fixtures: models written by torch.onnx.export compile", function () {
  let tmp: string;
  before(() => (tmp = mkdtempSync(path.join(os.tmpdir(), "poi-exporters-"))));
  after(async () => {
    rmSync(tmp, { recursive: true, force: true });
    await releaseProverThreads();
  });

  for (const c of CASES) {
    it(`test_exporterFixture_${c.file.replace(/\.onnx$/, "")}_inspectsAndCompilesWithAgreementAtLeast99`, async function () {
      const onnxPath = path.join(FIXTURES, c.file);
      const graph = onnxToGraph(readFileSync(onnxPath), c.file);
      expect(graph.layers.map((l) => l.kind)).to.deep.equal(c.layers);
      expect(graph.onnxInputShape).to.deep.equal("inputShape" in c ? c.inputShape : [1, 1, 14, 14]);
      // The imported float graph computes what onnxruntime computes on the file.
      await expectGraphMatchesOnnxruntime(graph, onnxPath, loadMnist().test.slice(0, 5));

      const report = await inspectModel(onnxPath);
      expect(report.source).to.equal("onnx");
      expect(report.constraints.estimated).to.be.above(0);

      const result = await compileModel({ onnxPath, outDir: path.join(tmp, c.file), witnessChecks: 5 });
      expect(result.info.output).to.equal(c.output);
      expect(result.fidelity.inputs).to.equal(1000);
      // No --input-divisor: the declared default mapping, recorded and reported.
      expect(result.quantized.inputDivisor).to.equal(255);
      expect(result.fidelity.input).to.equal("float input = byte / 255");
      expect(result.fidelity.top1Agreement).to.be.at.least(0.99);
      expect(result.fidelity.circuit?.witnessesChecked).to.equal(5);
      expect(result.fidelity.circuit?.witnessesEqualToReference).to.equal(5);
      expect(result.fidelity.circuit?.constraints).to.equal(result.info.estimatedConstraints);
      if (c.output === "class") expect(result.fidelity.finalActivation).to.equal("Softmax");
      else expect(result.fidelity.finalActivation).to.equal(undefined);
    });
  }

  it("test_exporterFixture_finalSoftmaxWithLogitsOutput_isRefusedSayingWhy", async function () {
    const onnxPath = path.join(FIXTURES, "pytorch-normalised-softmax.onnx");
    let message = "";
    try {
      await compileModel({ onnxPath, outDir: path.join(tmp, "softmax-logits"), output: "logits", circuit: false });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.match(
      /Softmax node "[^"]+" ends the model, so its outputs are probabilities, not the logits that --output logits would prove; Softmax is monotone and keeps the class, so compile with --output class/,
    );
  });
});
