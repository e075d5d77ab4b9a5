/**
 * Bring your own model, end to end, with the commands of the README: a CNN exported by PyTorch's
 * torch.onnx.export (test/fixtures/exporters/pytorch-small-cnn.onnx, committed) is compiled with
 * `poi compile`, set up with `poi setup` on a ptau that fits, registered with `poi register` next
 * to a deployment's reference model, requested with `poi request`, and fulfilled by the
 * `poi validator` daemon (a process of its own, not test code). The settled output must be the
 * integer reference's for that input, and its class onnxruntime's.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { argmax } from "../../scripts/circuit/reference.ts";
import { compileModel } from "../../scripts/compiler/compile-model.ts";
import { onnxLogits } from "../../scripts/compiler/float-reference.ts";
import { inferQuantizedGraph, unpackGraphOutput } from "../../scripts/model/graph-inference.ts";
import { loadMnist } from "../../scripts/model/mnist.ts";
import { inputDivisorOf, readQuantizedGraph } from "../../scripts/model/quantize-graph.ts";
import { buildModel, REFERENCE_MODELS } from "../../scripts/pipeline.ts";
import { ptauPowerFor, resolvePtau } from "../../scripts/setup/ptau.ts";
import { ROOT, startHardhatNode, startPoi } from "../helpers/processes.ts";

const FIXTURE = path.join(ROOT, "test", "fixtures", "exporters", "pytorch-small-cnn.onnx");

async function poi(args: string[]) {
  const child = startPoi(args);
  const { code } = await child.exited;
  return { code, out: child.stdout.join("\n"), err: child.stderr.join("\n"), child };
}

describe("bring your own model: a PyTorch CNN from ONNX file to settled request", function () {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), "poi-byom-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("compiles, sets up, registers, is requested and is fulfilled by the daemon with the reference output", async function () {
    const compiled = await compileModel({ onnxPath: FIXTURE, outDir: path.join(dir, "compiled"), witnessChecks: 3 });
    const name = compiled.info.name;
    expect(compiled.info.constraints).to.be.a("number");
    const build = path.join(compiled.outDir, "build");
    const ptau = await resolvePtau({
      minPower: ptauPowerFor(compiled.info.constraints!, compiled.info.publicSignals.length),
    });
    const setupDir = path.join(dir, "setup");
    const setup = await poi([
      "setup",
      "--r1cs",
      path.join(build, `${name}.r1cs`),
      "--wasm",
      path.join(build, `${name}_js`, `${name}.wasm`),
      "--ptau",
      ptau.path,
      ...(ptau.insecure ? ["--allow-insecure-ptau"] : []),
      "--out",
      setupDir,
      "--contributors",
      "Alice",
      "--beacon",
      "0123456789abcdef",
      "--verifier",
      path.join(setupDir, "PytorchSmallCnnVerifier.sol"),
      "--json",
    ]);
    expect(setup.code, setup.err).to.equal(0);
    const manifest = path.join(setupDir, "manifest.json");

    const reference = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    const node = await startHardhatNode();
    try {
      const net = ["--network", "localhost", "--rpc-url", node.url, "--deployment", path.join(dir, "dep.json")];
      const deployed = await poi(["deploy", "--manifest", reference.manifestFile, ...net, "--json"]);
      expect(deployed.code, deployed.err).to.equal(0);
      const registered = await poi(["register", "--manifest", manifest, "--account", "1", ...net, "--json"]);
      expect(registered.code, registered.err).to.equal(0);
      const modelId = JSON.parse(registered.out).modelId as string;
      expect(modelId).to.equal("2");

      const digit = loadMnist().test[404]!;
      const input = path.join(dir, "pixels.json");
      writeFileSync(input, JSON.stringify(Array.from(digit.pixels)));
      const requested = await poi([
        "request",
        "--input",
        input,
        "--model-id",
        modelId,
        "--mint",
        "--account",
        "2",
        ...net,
        "--json",
      ]);
      expect(requested.code, requested.err).to.equal(0);
      const { requestId } = JSON.parse(requested.out) as { requestId: string };

      const quantizedFile = path.join(compiled.outDir, compiled.info.files.quantized);
      const validator = await poi([
        "validator",
        "--model-id",
        modelId,
        "--manifest",
        manifest,
        "--quantized",
        quantizedFile,
        "--mint-stake",
        "--exit-when-idle",
        "--threads",
        "1",
        "--account",
        "3",
        "--journal",
        path.join(dir, "validator.sqlite"),
        ...net,
      ]);
      expect(validator.code, validator.err).to.equal(0);
      const summary = validator.child.entries.find((e) => e.event === "request-summary" && e.requestId === requestId);
      expect(summary?.outcome).to.equal("fulfilled");

      const status = await poi(["status", "--request", requestId, ...net, "--json"]);
      expect(status.code, status.err).to.equal(0);
      const settled = JSON.parse(status.out) as { request: { status: string; output: string } };
      expect(settled.request.status).to.equal("Fulfilled");

      const model = readQuantizedGraph(quantizedFile);
      const ref = inferQuantizedGraph(model, digit.pixels);
      expect(BigInt(settled.request.output)).to.equal(ref.output);
      const [float] = await onnxLogits(FIXTURE, [1, 1, 14, 14], [digit.pixels], inputDivisorOf(model));
      expect(unpackGraphOutput(model, BigInt(settled.request.output)).predicted).to.equal(argmax(float!));
    } finally {
      await node.stop();
    }
  });
});
