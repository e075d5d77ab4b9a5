/**
 * The validator daemon serves any compiled model, several at once, each from its manifest: the
 * reference MLP with its batch-4 circuit, a baked CNN and a committed-mode MLP, registered side by
 * side in one market. One daemon run fulfils a full batch of MLP requests with one fulfilBatch, the
 * CNN request and the committed request with real proofs, and every settled output equals the
 * integer reference of the quantized model its manifest names.
 */
import { expect } from "chai";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import hre, { network } from "hardhat";
import { registerCommittedCircuit } from "../../scripts/chain/committed.ts";
import { ROOT } from "../../scripts/circuit/compile.ts";
import { deployProtocol, registerBakedModel, registerCommittedModel } from "../../scripts/chain/protocol.ts";
import { postRequest } from "../../scripts/chain/requester.ts";
import { fulfilmentOf, RequestStatus } from "../../scripts/chain/validator.ts";
import { inferQuantizedGraph, packGraphOutput } from "../../scripts/model/graph-inference.ts";
import { loadMnist } from "../../scripts/model/mnist.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { loadModelArtifacts, type ModelArtifacts } from "../../scripts/prove/prove-request.ts";
import { Prover, releaseProverThreads } from "../../scripts/prove/prover.ts";
import { DaemonFatalError, ValidatorDaemon, type LogEntry, type ServedModel } from "../../scripts/validator/daemon.ts";
import { Journal } from "../../scripts/validator/journal.ts";
import { requestOf } from "../helpers/market.ts";
import { smallCnn, smallCommittedMlp, type SmallModel } from "../helpers/small-models.ts";

const PRICE = 10n ** 18n;

describe("validator daemon: every compiled model, several at once", function () {
  let mlp: BuiltModel;
  let batch4: BuiltModel;
  let cnn: SmallModel;
  let committed: SmallModel;
  let mlpArtifacts: ModelArtifacts;
  let cnnArtifacts: ModelArtifacts;
  let committedArtifacts: ModelArtifacts;
  let batchProver: Prover;
  let dir: string;

  before(async function () {
    mlp = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    batch4 = await buildModel(REFERENCE_MODELS["mnist-mlp-batch4"]);
    cnn = await smallCnn();
    committed = await smallCommittedMlp();
    // The committed circuit's verifier is deployed by governance: compile the one just generated.
    await hre.tasks.getTask("build").run({ quiet: true });
    mlpArtifacts = await loadModelArtifacts(mlp.manifestFile);
    cnnArtifacts = await loadModelArtifacts(cnn.manifestFile);
    committedArtifacts = await loadModelArtifacts(committed.manifestFile);
    batchProver = await Prover.load(batch4.manifestFile);
    dir = mkdtempSync(path.join(os.tmpdir(), "poi-models-"));
  });

  after(async function () {
    rmSync(dir, { recursive: true, force: true });
    await releaseProverThreads();
  });

  async function setUp() {
    const { ethers } = await network.create();
    const [governance, mlpOwner, requester, validator, cnnOwner, committedOwner] = await ethers.getSigners();
    const protocol = await deployProtocol(ethers, governance, {
      manifestFile: mlp.manifestFile,
      modelOwner: mlpOwner,
      price: PRICE,
      batchKeys: [{ manifestFile: batch4.manifestFile, batchSize: 4 }],
    });
    const feeToken = await protocol.token.getAddress();
    const { modelId: cnnId } = await registerBakedModel(protocol.registry, cnnOwner, {
      manifestFile: cnn.manifestFile,
      feeToken,
      price: PRICE,
    });
    // Compiled by this run's build above, after the test runner had loaded the artifacts it knew of:
    // read from its file.
    const name = committed.verifierContract;
    const artifactFile = path.join(ROOT, "artifacts", "contracts", "verifiers", `${name}.sol`, `${name}.json`);
    const { circuitId } = await registerCommittedCircuit(ethers, protocol.circuits, governance, {
      manifestFile: committed.manifestFile,
      verifierContract: name,
      artifact: JSON.parse(readFileSync(artifactFile, "utf8")) as { abi: unknown[]; bytecode: string },
    });
    const { modelId: committedId } = await registerCommittedModel(protocol.registry, committedOwner, {
      feeToken,
      price: PRICE,
      circuitId,
      weightsCommitment: BigInt(committed.manifest.modelCommitment!),
    });
    await (await protocol.token.mint(requester.address, 20n * PRICE)).wait();
    await (await protocol.token.mint(validator.address, (await protocol.market.params()).minStake)).wait();
    const post = async (modelId: bigint, input: Uint8Array) =>
      (await postRequest(protocol.market, requester, modelId, input)).requestId;
    const run = async (models: ServedModel[], logs: LogEntry[], journalName: string) => {
      const journal = Journal.open(path.join(dir, journalName));
      try {
        await new ValidatorDaemon({
          market: protocol.market.connect(validator),
          signer: validator,
          models,
          journal,
          minFee: 0n,
          pollMs: 20,
          exitWhenIdle: true,
          batchWaitSeconds: 600,
          log: (e) => logs.push(e),
        }).run();
      } finally {
        journal.close();
      }
    };
    return { protocol, validator, cnnId, committedId, post, run };
  }

  it("fulfils a batch of MLP requests, a baked CNN request and a committed request in one run", async function () {
    const s = await setUp();
    const digits = loadMnist().test;
    const mlpInputs = [5, 50, 500, 700].map((i) => digits[i].pixels);
    const mlpIds = [];
    for (const pixels of mlpInputs) mlpIds.push(await s.post(s.protocol.modelId, pixels));
    const cnnId = await s.post(s.cnnId, cnn.inputs[0]);
    const committedId = await s.post(s.committedId, committed.inputs[0]);

    const logs: LogEntry[] = [];
    await s.run(
      [
        { modelId: s.protocol.modelId, artifacts: mlpArtifacts, batchProvers: new Map([[4, batchProver]]) },
        { modelId: s.cnnId, artifacts: cnnArtifacts },
        { modelId: s.committedId, artifacts: committedArtifacts },
      ],
      logs,
      "models.sqlite",
    );

    const settledOutput = async (id: bigint) => {
      expect((await requestOf(s.protocol.market, id)).status, `request ${id}`).to.equal(RequestStatus.Fulfilled);
      const f = await fulfilmentOf(s.protocol.market, id);
      expect(f?.validator).to.equal(s.validator.address);
      return f!.output;
    };
    for (const [i, id] of mlpIds.entries())
      expect(await settledOutput(id)).to.equal(inferQuantizedGraph(mlp.quantized, mlpInputs[i]).output);
    const settled = logs.filter((e) => e.event === "batch-settled");
    expect(settled.map((e) => e.requestIds)).to.deep.equal([mlpIds]);

    expect(await settledOutput(cnnId)).to.equal(inferQuantizedGraph(cnn.quantized, cnn.inputs[0]).output);

    // The committed circuit packs the logits at its architecture's width.
    const arch = committedArtifacts.prover.committedArchitecture();
    const ref = inferQuantizedGraph(committed.quantized, committed.inputs[0]);
    const packing = { output: "both" as const, logitBits: arch.logitBits, classBits: arch.classBits };
    expect(await settledOutput(committedId)).to.equal(packGraphOutput(packing, ref.predicted, ref.logits));

    const started = logs.find((e) => e.event === "started") as LogEntry & { models: { mode: string }[] };
    expect(started.models.map((m) => m.mode)).to.deep.equal(["baked", "baked", "committed"]);
  });

  it("refuses to start with a committed model's file whose weights are not the registered ones", async function () {
    const s = await setUp();
    // Another model of the same architecture: one weight moved by one step.
    const other = structuredClone(committed.quantized);
    const layer = other.layers[0] as { weight: number[] };
    layer.weight[3] += layer.weight[3] < 0 ? 1 : -1;
    const file = path.join(dir, "other.quantized.json");
    writeFileSync(file, JSON.stringify(other));
    const artifacts = await loadModelArtifacts(committed.manifestFile, { quantizedFile: file });
    let error: unknown;
    try {
      await s.run([{ modelId: s.committedId, artifacts }], [], "other.sqlite");
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(DaemonFatalError);
    expect((error as Error).message).to.match(
      new RegExp(
        `^model ${s.committedId}: the weights of "test-small-committed" commit to \\d+, the registry pins \\d+`,
      ),
    );
  });

  it("refuses a quantized model that is not the one the manifest pins, and a file of another format", async function () {
    const copy = path.join(dir, "tampered");
    const tampered = structuredClone(cnn.quantized);
    tampered.name = "tampered";
    mkdirSync(copy, { recursive: true });
    // A manifest next to a different quantized file of the same name.
    const manifest = structuredClone(cnn.manifest);
    manifest.model = { ...manifest.model!, path: "model.quantized.json" };
    for (const name of ["wasm", "zkey", "vkey"] as const) {
      const entry = cnn.manifest.artifacts[name];
      manifest.artifacts[name] = { ...entry, path: path.resolve(path.dirname(cnn.manifestFile), entry.path) };
    }
    writeFileSync(path.join(copy, "manifest.json"), JSON.stringify(manifest));
    writeFileSync(path.join(copy, "model.quantized.json"), JSON.stringify(tampered));
    let message = "";
    try {
      await loadModelArtifacts(path.join(copy, "manifest.json"));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.match(/^quantized model model\.quantized\.json has sha256 [0-9a-f]{16}\.\.\., manifest .* pins/);

    copyFileSync(path.join(path.dirname(mlp.manifestFile), "manifest.json"), path.join(copy, "not-a-model.json"));
    message = "";
    try {
      await loadModelArtifacts(cnn.manifestFile, { quantizedFile: path.join(copy, "not-a-model.json") });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.match(
      /is not a quantized model \(format "poi-artifact-manifest\/1", expected poi-quantized-graph\/1\)/,
    );
  });

  it("test_validatorCli_badServeSpecsAreUsageErrors_aManifestWithoutAModelIsRefused", async function () {
    const { main } = await import("../../scripts/cli/poi.ts");
    const deployment = path.join(dir, "deployment.json");
    writeFileSync(deployment, JSON.stringify({ format: "poi-deployment/1", market: "0x", modelId: "1" }));
    const { error } = console;
    const printed: string[] = [];
    console.error = (...a: unknown[]) => void printed.push(a.join(" "));
    try {
      const run = (...flags: string[]) => main(["validator", "--deployment", deployment, ...flags]);
      expect(await run("--serve", "two=x.json")).to.equal(2);
      expect(await run("--serve", `2=${path.join(dir, "missing.json")}`)).to.equal(2);
      expect(await run("--serve", `2=${cnn.manifestFile};weights=x`)).to.equal(2);
      expect(await run("--serve", `2=${cnn.manifestFile} 2=${cnn.manifestFile}`)).to.equal(2);
      expect(await run("--serve", `2=${cnn.manifestFile}`, "--quantized", cnn.manifestFile)).to.equal(2);
      // A manifest that names no quantized model (a setup made by poi setup), and no --quantized.
      const bare = structuredClone(cnn.manifest);
      delete bare.model;
      for (const name of ["wasm", "zkey", "vkey"] as const) {
        const entry = bare.artifacts[name];
        bare.artifacts[name] = { ...entry, path: path.resolve(path.dirname(cnn.manifestFile), entry.path) };
      }
      const bareFile = path.join(dir, "bare-manifest.json");
      writeFileSync(bareFile, JSON.stringify(bare));
      expect(await run("--serve", `2=${bareFile}`)).to.equal(3);
      expect(printed.join("\n")).to.match(
        /--serve takes ID=MANIFEST[\s\S]*missing\.json does not exist[\s\S]*unknown option "weights=x"[\s\S]*model 2 is named twice[\s\S]*--quantized and --batch apply to --model-id\/--manifest[\s\S]*names no quantized model/,
      );
    } finally {
      console.error = error;
    }
  });
});
