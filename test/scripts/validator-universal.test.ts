/**
 * The `poi validator` daemon serving a universal-mode (PLONK) model, as a process of its own
 * against a hardhat node: `poi setup --proof-system plonk` writes the model's universal manifest,
 * `poi register --plonk-vkey` registers it, `poi request` asks for an inference, and the daemon
 * claims, proves through proveUniversalRequest and settles with fulfilUniversal, journalling
 * each transaction's nonce before sending it as for a Groth16 request. The settled output must be
 * the integer reference's. A zkey that differs from its manifest is refused with exit 3 before
 * the daemon touches the chain.
 */
import { expect } from "chai";
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider } from "ethers";
import { inferQuantizedGraph } from "../../scripts/model/graph-inference.ts";
import { buildModel, REFERENCE_MODELS } from "../../scripts/pipeline.ts";
import { releaseProverThreads } from "../../scripts/prove/prover.ts";
import { quietSqliteWarning } from "../../scripts/cli/support.ts";
import { poiAsUser as poi } from "../helpers/cli.ts";
import { SINGLE_FULFILMENT_HISTORY } from "../helpers/market.ts";
import { startHardhatNode } from "../helpers/processes.ts";
import { universalDevPtau, tinyUniversalModel, type UniversalModel } from "../helpers/universal-model.ts";

describe("poi validator serving a universal-mode model (PLONK) on a hardhat node", function () {
  let dir: string;
  let model: UniversalModel;
  let ptau: string;
  let referenceManifest: string;

  before(async function () {
    // The deployment's own model is the reference MLP; the universal model is registered next to it.
    referenceManifest = (await buildModel(REFERENCE_MODELS["mnist-mlp"])).manifestFile;
    ptau = await universalDevPtau();
    model = await tinyUniversalModel(ptau);
    dir = mkdtempSync(path.join(os.tmpdir(), "poi-validator-universal-"));
  });

  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await releaseProverThreads(); // the PLONK setup of a fresh clone started snarkjs's workers
  });

  it("refuses a corrupted zkey before the chain, then fulfils a request with the integer reference's output", async function () {
    const quantized = path.join(dir, `${model.name}.quantized.json`);
    writeFileSync(quantized, `${JSON.stringify(model.quantized)}\n`);
    const setupDir = path.join(dir, "setup");
    const setup = await poi([
      "setup",
      "--proof-system",
      "plonk",
      "--r1cs",
      model.r1cs,
      "--wasm",
      model.wasm,
      "--quantized",
      quantized,
      "--ptau",
      ptau,
      "--allow-insecure-ptau",
      "--out",
      setupDir,
      "--json",
    ]);
    expect(setup.code, setup.err).to.equal(0);
    const manifest = JSON.parse(setup.out).manifestFile as string;
    expect(manifest).to.equal(path.join(setupDir, `${model.name}.plonk.manifest.json`));

    // The same files with one byte more in the zkey: its sha256 no longer matches the manifest.
    const corruptDir = path.join(dir, "corrupt");
    cpSync(setupDir, corruptDir, { recursive: true });
    appendFileSync(path.join(corruptDir, `${model.name}.plonk.zkey`), Buffer.from([0]));
    // The manifest names the wasm and quantized model relative to its folder: keep them reachable.
    const corruptManifest = path.join(corruptDir, path.basename(manifest));

    const node = await startHardhatNode();
    try {
      const deployment = path.join(dir, "deployment.json");
      const net = ["--network", "localhost", "--rpc-url", node.url, "--deployment", deployment];
      const deployed = await poi(["deploy", "--manifest", referenceManifest, ...net, "--json"]);
      expect(deployed.code, deployed.err).to.equal(0);
      const registered = await poi([
        "register",
        "--plonk-vkey",
        path.join(setupDir, `${model.name}.plonk.vkey.json`),
        "--account",
        "1",
        ...net,
        "--json",
      ]);
      expect(registered.code, registered.err).to.equal(0);
      const modelId = JSON.parse(registered.out).modelId as string;
      expect(modelId).to.equal("2");

      const pixels = Array.from(model.inputs[0]!);
      const inputFile = path.join(dir, "input.json");
      writeFileSync(inputFile, JSON.stringify(pixels));
      const requested = await poi(["request", "--input", inputFile, "--model-id", modelId, "--mint", "--account", "2", ...net, "--json"]); // prettier-ignore
      expect(requested.code, requested.err).to.equal(0);
      const { requestId } = JSON.parse(requested.out) as { requestId: string };

      const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
      const validatorAddress = ((await provider.send("eth_accounts", [])) as string[])[3]!;
      const journal = path.join(dir, "validator.sqlite");
      const validatorArgs = (serveManifest: string) => [
        "validator",
        "--serve",
        `${modelId}=${serveManifest}`,
        "--mint-stake",
        "--exit-when-idle",
        "--poll-ms",
        "200",
        "--threads",
        "1",
        "--account",
        "3",
        "--journal",
        journal,
        ...net,
      ];

      const refused = await poi(validatorArgs(corruptManifest));
      expect(refused.code, refused.err).to.equal(3);
      expect(refused.err).to.match(/zkey test-universal-tiny\.plonk\.zkey has sha256 .*pins/);
      expect(await provider.getTransactionCount(validatorAddress)).to.equal(0); // nothing sent, not even the stake
      // A universal model's batch circuits are PLONK ones: a Groth16 batch manifest for it is a usage error.
      const batched = await poi(validatorArgs(`${manifest};batch=4:${referenceManifest}`));
      expect(batched.code, batched.err).to.equal(2);
      expect(batched.err).to.match(
        /batch 4: .* is no universal manifest; a universal-mode model's batch circuits are PLONK ones/,
      );

      const served = await poi(validatorArgs(manifest));
      expect(served.code, served.err).to.equal(0);
      const started = served.child.entries.find((e) => e.event === "started") as { models?: { mode: string }[] };
      expect(started?.models?.map((m) => m.mode)).to.deep.equal(["universal"]);
      const summary = served.child.entries.find((e) => e.event === "request-summary" && e.requestId === requestId);
      expect(summary?.outcome, served.out).to.equal("fulfilled");

      const status = await poi(["status", "--request", requestId, ...net, "--json"]);
      expect(status.code, status.err).to.equal(0);
      const settled = JSON.parse(status.out) as { request: { status: string; output: string } };
      expect(settled.request.status).to.equal("Fulfilled");
      expect(BigInt(settled.request.output)).to.equal(inferQuantizedGraph(model.quantized, pixels).output);

      // Write-ahead, as for a Groth16 request: the claim and the fulfilment were journalled with
      // their nonce before each was sent, and then with the transaction's hash.
      quietSqliteWarning(); // before node:sqlite is first loaded, as the CLI does
      const { Journal } = await import("../../scripts/validator/journal.ts");
      const j = Journal.open(journal);
      try {
        expect(j.historyOf(BigInt(requestId)).map((h) => h.state)).to.deep.equal(SINGLE_FULFILMENT_HISTORY);
        expect(j.get(BigInt(requestId))!.proof).to.have.length(24); // the PLONK proof's words
      } finally {
        j.close();
      }
      provider.destroy();
    } finally {
      await node.stop();
    }
  });
});
