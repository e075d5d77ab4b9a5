/**
 * Universal-mode batches end to end with a small circuit (the 4-3 dense model in a batch of 2 and
 * of 4, both within the power-12 development ptau after the R1CS-to-PLONK conversion): the batch
 * circuit's PLONK setup through `poi setup` (its manifest names a batch's signals), registration of
 * the single and batch keys through `poi register` and the protocol library, K requests posted in
 * one transaction and claimed at once, the validator's one PLONK proof through the one proving
 * path, settlement with fulfilBatchUniversal, the fee split and the batch's attestation root.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { batchAttestationProof, factOf } from "../../scripts/chain/attestations.ts";
import { DEV_MARKET_PARAMS, deployProtocol, registerUniversalModel } from "../../scripts/chain/protocol.ts";
import { postRequests } from "../../scripts/chain/requester.ts";
import {
  claimRequests,
  ensureStaked,
  fulfilBatchUniversalRequests,
  openRequests,
  RequestStatus,
} from "../../scripts/chain/validator.ts";
import { inferQuantizedGraph } from "../../scripts/model/graph-inference.ts";
import { loadUniversalArtifacts, ProofRefusedError } from "../../scripts/prove/prove-request.ts";
import { releaseProverThreads } from "../../scripts/prove/prover.ts";
import { UniversalProver } from "../../scripts/prove/universal-prover.ts";
import { plonkKeyHash, plonkSetup, type UniversalManifest } from "../../scripts/setup/plonk-setup.ts";
import type { LogEntry } from "../../scripts/validator/daemon.ts";
import { quietSqliteWarning } from "../../scripts/cli/support.ts";
import { requestOf } from "../helpers/market.ts";
import { poiAsUser as poi } from "../helpers/cli.ts";
import { startHardhatNode } from "../helpers/processes.ts";
import { tinyUniversalBatch, type UniversalBatch } from "../helpers/universal-batch.ts";
import { universalDevPtau, tinyUniversalModel, type UniversalModel } from "../helpers/universal-model.ts";

const { ethers, networkHelpers } = await network.create();

describe("Universal-mode batches end to end (PLONK batch circuit, small model)", function () {
  let model: UniversalModel;
  let ptau: string;
  let out: string;
  const batches = new Map<number, UniversalBatch>();
  const singleVkey = () => path.join(path.dirname(model.zkey), `${model.name}.plonk.vkey.json`);

  before(async function () {
    ptau = await universalDevPtau();
    model = await tinyUniversalModel(ptau);
    for (const k of [2, 4]) batches.set(k, await tinyUniversalBatch(ptau, model.quantized, k));
    out = mkdtempSync(path.join(os.tmpdir(), "poi-universal-batch-e2e-"));
  });

  /** The single-inference circuit's universal manifest (what poi setup writes with --wasm and --quantized). */
  async function singleManifest(): Promise<string> {
    const quantized = path.join(out, `${model.name}.quantized.json`);
    writeFileSync(quantized, `${JSON.stringify(model.quantized)}\n`);
    const setup = await plonkSetup({
      name: model.name,
      r1cs: model.r1cs,
      ptau,
      outDir: path.join(out, "single"),
      allowInsecurePtau: true,
      wasm: model.wasm,
      quantized,
    });
    return setup.manifestFile!;
  }

  after(async function () {
    if (out) rmSync(out, { recursive: true, force: true });
    await releaseProverThreads();
  });

  it("poi setup --proof-system plonk makes the batch circuit's key and a manifest naming a batch's signals", async function () {
    const batch = batches.get(4)!;
    const r1cs = path.join(path.dirname(batch.manifest), `${batch.name}.r1cs`);
    const made = await poi([
      "setup",
      "--proof-system",
      "plonk",
      "--r1cs",
      r1cs,
      "--ptau",
      ptau,
      "--out",
      out,
      "--allow-insecure-ptau",
      "--json",
    ]);
    expect(made.code, made.err).to.equal(0);
    const report = JSON.parse(made.out) as { keyHash: string; manifestFile: string };
    // Deterministic: the key is the one the helper made, and the manifest says it proves a batch.
    expect(report.keyHash).to.equal(plonkKeyHash(batch.vk));
    const manifest = JSON.parse(readFileSync(report.manifestFile, "utf8")) as UniversalManifest;
    expect(manifest.publicSignals).to.deep.equal(["fold", "challenge", "batchBinding"]);
    const helperManifest = JSON.parse(readFileSync(batch.manifest, "utf8")) as UniversalManifest;
    expect(manifest.keyHash).to.equal(helperManifest.keyHash);
  });

  it("poi register --batch-plonk-vkey registers the batch key with the single key, refusing unfit uses first", async function () {
    const node = await startHardhatNode();
    try {
      const net = ["--network", "localhost", "--rpc-url", node.url, "--deployment", path.join(out, "dep.json")];
      const deployed = await poi([
        "deploy",
        "--manifest",
        path.join("circuits", "build", "mnist-mlp", "manifest.json"),
        ...net,
        "--json",
      ]);
      expect(deployed.code, deployed.err).to.equal(0);
      const batchVkey = batches.get(2)!.vkeyPath;
      const alone = await poi(["register", "--batch-plonk-vkey", batchVkey, "--batch-size", "2", ...net]);
      expect(alone.code).to.equal(2);
      expect(alone.err).to.match(/--batch-plonk-vkey .* give its --plonk-vkey too/);
      const noSize = await poi(["register", "--plonk-vkey", singleVkey(), "--batch-plonk-vkey", batchVkey, ...net]);
      expect(noSize.code).to.equal(2);
      expect(noSize.err).to.match(/--batch-plonk-vkey and --batch-size go together/);
      const groth16Key = path.join("circuits", "build", "mnist-mlp", "mnist-mlp.vkey.json");
      const register = (batchKey: string, ...more: string[]) =>
        poi(["register", "--plonk-vkey", singleVkey(), "--batch-plonk-vkey", batchKey, "--batch-size", "2", ...more]);
      const wrongKind = await register(groth16Key, ...net);
      expect(wrongKind.code).to.equal(3);
      expect(wrongKind.err).to.match(/mnist-mlp\.vkey\.json: the verification key is a groth16 key, not a PLONK key/);
      const registered = await register(batchVkey, "--account", "1", ...net, "--json");
      expect(registered.code, registered.err).to.equal(0);
      const report = JSON.parse(registered.out) as { modelId: string; mode: string; batchKeys: Record<string, string> };
      expect(report).to.include({ modelId: "2", mode: "universal" });
      expect(Object.keys(report.batchKeys)).to.deep.equal(["2"]);
      expect(report.batchKeys["2"]).to.match(/^0x[0-9a-fA-F]{40}$/);
      expect(report.batchKeys["2"]).to.not.equal(ethers.ZeroAddress);
    } finally {
      await node.stop();
    }
  });

  /** The protocol (the baked reference model as model 1) and the tiny universal model with keys for 1, 2 and 4. */
  async function registered() {
    const [governance, owner] = await ethers.getSigners();
    const price = 10n ** 18n;
    const protocol = await deployProtocol(ethers, governance, {
      manifestFile: path.join("circuits", "build", "mnist-mlp", "manifest.json"),
      modelOwner: owner,
      price,
    });
    const model = await registerUniversalModel(protocol.registry, owner, {
      vkeyFile: singleVkey(),
      batchKeys: [2, 4].map((size) => ({ vkeyFile: batches.get(size)!.vkeyPath, batchSize: size })),
      feeToken: await protocol.token.getAddress(),
      price,
    });
    return { ...protocol, ...model, price };
  }

  for (const k of [2, 4]) {
    it(`registers keys for 2 and 4, posts ${k} requests, claims them, proves them in one PLONK proof and settles them with fulfilBatchUniversal`, async function () {
      const { token, registry, market, modelId, batchVerifiers, price } = await networkHelpers.loadFixture(registered);
      const [, owner, requester, validator, other] = await ethers.getSigners();
      for (const size of [2, 4]) {
        expect(batchVerifiers[size]).to.not.equal(ethers.ZeroAddress);
        expect(ethers.keccak256(await registry.verificationKey(modelId, size))).to.equal(
          plonkKeyHash(batches.get(size)!.vk),
        );
      }

      await (await token.mint(requester.address, 10n * price)).wait();
      const inputs = model.inputs.slice(0, k);
      const posted = await postRequests(market, requester, modelId, inputs);
      for (const v of [validator, other]) {
        await (await token.mint(v.address, 1_000n * price)).wait();
        await ensureStaked(market, v);
      }
      const open = await openRequests(market, modelId);
      expect(open.map((r) => r.requestId)).to.deep.equal(posted.map((p) => p.requestId));
      await claimRequests(market, validator, open);
      const artifacts = await loadUniversalArtifacts(batches.get(k)!.manifest);

      // The single-inference circuit proves one request at a time: refused, nothing is submitted.
      const single = {
        prover: await UniversalProver.load(model.wasm, model.zkey),
        model: model.quantized,
        manifest: { ...artifacts.manifest, publicSignals: ["inputCommitment", "output", "binding"] },
      };
      const refusal = await fulfilBatchUniversalRequests(market, validator, single, open).catch((e: unknown) => e);
      expect(refusal).to.be.instanceOf(ProofRefusedError);
      expect((refusal as Error).message).to.match(/proves one request at a time/);
      // A claimed batch is the claimer's alone during its window.
      await expect(fulfilBatchUniversalRequests(market, other, artifacts, open)).to.be.revertedWithCustomError(
        market,
        "InferenceMarketClaimedByOther",
      );

      const settled = await fulfilBatchUniversalRequests(market, validator, artifacts, open);
      console.log(
        `      fulfilBatchUniversal (validator, K=${k}): ${settled.gasUsed} gas, ${settled.gasUsed / BigInt(k)} per inference`,
      );
      expect(settled.requestIds).to.deep.equal(posted.map((p) => p.requestId));
      expect(settled.predicted).to.deep.equal(
        inputs.map((input) => inferQuantizedGraph(model.quantized, Array.from(input)).predicted),
      );
      const [batchEvent] = await market.queryFilter(market.filters.BatchAttested());
      expect(batchEvent!.args.modelId).to.equal(modelId);
      for (const [i, p] of posted.entries()) {
        expect((await requestOf(market, p.requestId)).status).to.equal(RequestStatus.Fulfilled);
        const fact = factOf(modelId, p.inputCommitment, settled.outputs[i]!);
        const inclusion = await batchAttestationProof(market, p.requestId);
        expect(inclusion?.fact).to.equal(fact);
        expect(inclusion?.root).to.equal(batchEvent!.args.root);
        expect(await market.isAttested(fact, inclusion!.root, inclusion!.proof)).to.equal(true);
        const lie = factOf(modelId, p.inputCommitment, settled.outputs[i]! + 1n);
        expect(await market.isAttested(lie, inclusion!.root, inclusion!.proof)).to.equal(false);
      }
      // The fees: the validator's share of each request, the royalty to the owner, bonds unlocked.
      const feeToken = await token.getAddress();
      const { protocolFeeBps, royaltyBps } = DEV_MARKET_PARAMS;
      const perRequest = price - (price * protocolFeeBps) / 10_000n - (price * royaltyBps) / 10_000n;
      expect(await market.balanceOf(validator.address, feeToken)).to.equal(BigInt(k) * perRequest);
      expect(await market.balanceOf(owner.address, feeToken)).to.equal((BigInt(k) * price * royaltyBps) / 10_000n);
      expect((await market.stakeOf(validator.address)).bonded).to.equal(0n);
    });
  }

  it("the validator daemon serves the universal model's batch circuits: 4 requests claimed together, one fulfilBatchUniversal", async function () {
    const { market, modelId } = await networkHelpers.loadFixture(registered);
    const [, , requester, validator] = await ethers.getSigners();
    const single = await loadUniversalArtifacts(await singleManifest());
    const universalBatches = new Map(
      await Promise.all([2, 4].map(async (k) => [k, await loadUniversalArtifacts(batches.get(k)!.manifest)] as const)),
    );
    const token = await ethers.getContractAt("TestToken", await market.stakeToken());
    for (const account of [requester, validator]) await (await token.mint(account.address, 10n ** 21n)).wait();
    const posted = await postRequests(market, requester, modelId, model.inputs.slice(0, 4));
    await ensureStaked(market, validator);
    const logs: LogEntry[] = [];
    quietSqliteWarning(); // before node:sqlite is first loaded, as the CLI does
    const { ValidatorDaemon } = await import("../../scripts/validator/daemon.ts");
    const { Journal } = await import("../../scripts/validator/journal.ts");
    const journal = Journal.open(path.join(out, "daemon.sqlite"));
    try {
      await new ValidatorDaemon({
        market: market.connect(validator),
        signer: validator,
        models: [{ modelId, universal: single, universalBatches }],
        journal,
        minFee: 0n,
        pollMs: 20,
        exitWhenIdle: true,
        batchWaitSeconds: 3600,
        log: (e) => void logs.push(e),
      }).run();
    } finally {
      journal.close();
    }
    const ids = posted.map((p) => p.requestId);
    const claims = await market.queryFilter(market.filters.InferenceClaimed(), 0);
    expect(claims.map((c) => c.args.requestId)).to.deep.equal(ids);
    expect(new Set(claims.map((c) => c.transactionHash)).size).to.equal(1);
    const fulfilled = await market.queryFilter(market.filters.InferenceFulfilled(), 0);
    expect(fulfilled.map((e) => e.args.requestId)).to.deep.equal(ids);
    const hashes = new Set(fulfilled.map((e) => e.transactionHash));
    expect(hashes.size).to.equal(1);
    const tx = await ethers.provider.getTransaction([...hashes][0]!);
    expect(market.interface.parseTransaction({ data: tx!.data })?.name).to.equal("fulfilBatchUniversal");
    for (const [i, e] of fulfilled.entries()) {
      expect(e.args.output).to.equal(inferQuantizedGraph(model.quantized, Array.from(model.inputs[i]!)).output);
      expect(e.args.validator).to.equal(validator.address);
    }
    const settled = logs.find((e) => e.event === "batch-settled");
    expect(settled?.size).to.equal(4);
    const receipt = await ethers.provider.getTransactionReceipt(tx!.hash);
    expect(settled?.gasPerInference).to.equal(receipt!.gasUsed / 4n);
  });
});
