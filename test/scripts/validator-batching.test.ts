/**
 * The validator daemon's batching, with real proofs of the reference batch circuit
 * (mnist-mlp-batch4) and its generated verifier registered for the model: a full group goes out as
 * one fulfilBatch, a lone request goes out singly before its claim window and deadline, a batch
 * sent just before a SIGKILL is settled exactly once after the restart, and a batch one of whose
 * requests a competitor settles is dropped and the rest re-planned.
 *
 * "Exactly once" and "one transaction" are read from the chain: every block is scanned for the
 * fulfil and fulfilBatch transactions the validator sent.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { network } from "hardhat";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { deployProtocol, type Protocol } from "../../scripts/chain/protocol.ts";
import { postRequest } from "../../scripts/chain/requester.ts";
import { ensureStaked, fulfilRequest, openRequests, RequestStatus } from "../../scripts/chain/validator.ts";
import { loadMnist, type Digit } from "../../scripts/model/mnist.ts";
import { inferQuantized } from "../../scripts/model/quantized-inference.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { Prover, releaseProverThreads } from "../../scripts/prove/prover.ts";
import { ValidatorDaemon, type LogEntry } from "../../scripts/validator/daemon.ts";
import { Journal } from "../../scripts/validator/journal.ts";
import { startHardhatNode, startPoi, type Child, type HardhatNode } from "../helpers/processes.ts";

const PRICE = 10n ** 18n;
const K = 4;
/** Bound on every wait: generous for a loaded 2-core machine, never asserted as a duration. */
const WAIT_MS = 240_000;

/** The validator's fulfil and fulfilBatch transactions, read from every block of the chain. */
async function fulfilments(ethers: HardhatEthers, protocol: Protocol, from: string) {
  const found: { name: string; requestIds: bigint[]; hash: string }[] = [];
  const head = await ethers.provider.getBlockNumber();
  for (let b = 0; b <= head; b++) {
    const block = await ethers.provider.getBlock(b, true);
    for (const tx of block!.prefetchedTransactions) {
      if (tx.from.toLowerCase() !== from.toLowerCase()) continue;
      const parsed = protocol.market.interface.parseTransaction({ data: tx.data });
      if (parsed?.name === "fulfil") found.push({ name: "fulfil", requestIds: [parsed.args[0]], hash: tx.hash });
      if (parsed?.name === "fulfilBatch")
        found.push({ name: "fulfilBatch", requestIds: [...parsed.args[0]], hash: tx.hash });
    }
  }
  return found;
}

/** Resolves with the first entry matching `pred`, present or future (the daemon runs meanwhile). */
async function waitForLog(logs: LogEntry[], pred: (e: LogEntry) => boolean, what: string): Promise<LogEntry> {
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const hit = logs.find(pred);
    if (hit) return hit;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("validator daemon batching (real batch proofs)", function () {
  let single: BuiltModel;
  let batch: BuiltModel;
  let prover: Prover;
  let batchProver: Prover;
  let digits: Digit[];
  let dir: string;

  before(async function () {
    single = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    batch = await buildModel(REFERENCE_MODELS["mnist-mlp-batch4"]);
    prover = await Prover.load(single.manifestFile);
    batchProver = await Prover.load(batch.manifestFile);
    digits = loadMnist().test;
    dir = mkdtempSync(path.join(os.tmpdir(), "poi-batching-"));
  });

  after(async function () {
    rmSync(dir, { recursive: true, force: true });
    await releaseProverThreads();
  });

  const deployOptions = (modelOwner: string) => ({
    verifierContract: REFERENCE_MODELS["mnist-mlp"].verifierContract,
    manifest: single.manifest,
    modelOwner,
    price: PRICE,
    batchVerifiers: [
      {
        verifierContract: REFERENCE_MODELS["mnist-mlp-batch4"].verifierContract,
        manifest: batch.manifest,
        batchSize: K,
      },
    ],
  });

  describe("in-process chain", function () {
    async function setUp(journalName: string) {
      const { ethers, networkHelpers } = await network.create();
      const [governance, modelOwner, requester, validator, competitor] = await ethers.getSigners();
      const protocol = await deployProtocol(ethers, governance, deployOptions(modelOwner.address));
      const { minStake } = await protocol.market.params();
      await (await protocol.token.mint(requester.address, 20n * PRICE)).wait();
      // Twice the minimum: a competitor settling a request after our claim window slashes our bond.
      for (const v of [validator, competitor]) await (await protocol.token.mint(v.address, 2n * minStake)).wait();
      const logs: LogEntry[] = [];
      const journalFile = path.join(dir, journalName);
      /** A daemon on the journal; `onLog` sees every entry as it is written (and may stop it). */
      const daemon = (batchWaitSeconds: number, onLog?: (e: LogEntry, d: ValidatorDaemon) => void) => {
        const journal = Journal.open(journalFile);
        const d: ValidatorDaemon = new ValidatorDaemon({
          market: protocol.market.connect(validator),
          signer: validator,
          prover,
          model: single.quantized,
          modelId: protocol.modelId,
          journal,
          minFee: 0n,
          pollMs: 20,
          exitWhenIdle: true,
          batchProvers: new Map([[K, batchProver]]),
          batchWaitSeconds,
          log: (e) => {
            logs.push(e);
            onLog?.(e, d);
          },
        });
        return d.run().finally(() => journal.close());
      };
      const post = async (digit: number) =>
        (await postRequest(protocol.market, requester, protocol.modelId, digits[digit].pixels)).requestId;
      return { ethers, networkHelpers, protocol, validator, competitor, logs, daemon, post, journalFile };
    }

    const summary = (logs: LogEntry[], id: bigint) =>
      logs.find((e) => e.event === "request-summary" && e.requestId === id);

    it("test_batch_fourRequestsSettledByOneFulfilBatch", async function () {
      const s = await setUp("four.sqlite");
      const picks = [10, 20, 30, 40];
      const ids: bigint[] = [];
      for (const d of picks) ids.push(await s.post(d));
      await s.daemon(3600);

      const sent = await fulfilments(s.ethers, s.protocol, s.validator.address);
      expect(sent.map((t) => t.name)).to.deep.equal(["fulfilBatch"]);
      expect(sent[0].requestIds).to.deep.equal(ids);
      const events = await s.protocol.market.queryFilter(s.protocol.market.filters.InferenceFulfilled(), 0);
      expect(events.map((e) => e.transactionHash)).to.deep.equal(ids.map(() => sent[0].hash));
      for (const [i, id] of ids.entries()) {
        const r = await s.protocol.market.request(id);
        expect(r.status).to.equal(RequestStatus.Fulfilled);
        expect(r.validator).to.equal(s.validator.address);
        expect(r.output).to.equal(inferQuantized(single.quantized, digits[picks[i]].pixels).output);
        expect(summary(s.logs, id)?.outcome).to.equal("fulfilled");
      }
      const settled = s.logs.find((e) => e.event === "batch-settled")!;
      const receipt = await s.ethers.provider.getTransactionReceipt(sent[0].hash);
      expect(settled.gasPerInference).to.equal(receipt!.gasUsed / BigInt(K));

      const journal = Journal.open(s.journalFile);
      expect(journal.historyOf(ids[0]).map((h) => h.state)).to.deep.equal([
        "seen",
        "claiming",
        "claiming",
        "claimed",
        "batched",
        "fulfilled",
      ]);
      expect(journal.allBatches().map((b) => b.state)).to.deep.equal(["settled"]);
      journal.close();
      // A rerun on the same journal sends nothing more.
      const count = await s.ethers.provider.getTransactionCount(s.validator.address);
      await s.daemon(3600);
      expect(await s.ethers.provider.getTransactionCount(s.validator.address)).to.equal(count);
    });

    it("test_batch_loneRequestFulfilledSinglyBeforeItsDeadline", async function () {
      const s = await setUp("lone.sqlite");
      const id = await s.post(50);
      const running = s.daemon(3600);
      const waiting = await waitForLog(s.logs, (e) => e.event === "batch-waiting", "the request to wait for a batch");
      expect(waiting.requestIds).to.deep.equal([id]);
      // Chain time jumps to the last moment the daemon may wait: proving must still fit after it.
      await s.networkHelpers.time.increaseTo(waiting.flushAt as bigint);
      await running;

      const flushed = s.logs.find((e) => e.event === "batch-flushed")!;
      expect(flushed).to.deep.include({ requestIds: [id], reason: "deadline", parts: [1] });
      const sent = await fulfilments(s.ethers, s.protocol, s.validator.address);
      expect(sent.map((t) => t.name)).to.deep.equal(["fulfil"]);
      const r = await s.protocol.market.request(id);
      expect(r.status).to.equal(RequestStatus.Fulfilled);
      expect(r.validator).to.equal(s.validator.address);
      expect(r.output).to.equal(inferQuantized(single.quantized, digits[50].pixels).output);
      // Within our claim window, so the bond was released, not slashed.
      const released = await s.protocol.market.queryFilter(s.protocol.market.filters.BondReleased(id), 0);
      expect(released).to.have.length(1);
    });

    it("test_batch_competitorSettlesOneRequest_restReplannedAndSettled", async function () {
      const s = await setUp("competitor.sqlite");
      const picks = [60, 61, 62, 63, 64];
      const ids: bigint[] = [];
      for (const d of picks) ids.push(await s.post(d));
      // First run: stops right after journalling its first batch, before proving it.
      await s.daemon(3600, (e, d) => {
        if (e.event === "batch-planned") d.stop();
      });
      const planned = s.logs.find((e) => e.event === "batch-planned")!;
      const batchIds = planned.requestIds as bigint[];
      expect(batchIds).to.have.length(K);

      // Our claim windows end; a competitor fulfils one request of the planned batch.
      const { claimWindow } = await s.protocol.market.params();
      await s.networkHelpers.time.increase(claimWindow + 1n);
      await ensureStaked(s.protocol.market, s.competitor);
      const stolen = batchIds[1];
      const open = (await openRequests(s.protocol.market, s.protocol.modelId)).find((r) => r.requestId === stolen)!;
      await fulfilRequest(s.protocol.market, s.competitor, prover, single.quantized, open);

      await s.daemon(0);
      const dropped = s.logs.find((e) => e.event === "batch-dropped")!;
      expect(dropped.reason).to.match(new RegExp(`request ${stolen} fulfilled by ${s.competitor.address}`));
      expect(summary(s.logs, stolen)?.outcome).to.equal("lost");
      const sent = await fulfilments(s.ethers, s.protocol, s.validator.address);
      const rest = ids.filter((id) => id !== stolen);
      expect(sent.map((t) => t.name)).to.deep.equal(["fulfilBatch"]);
      expect(sent[0].requestIds).to.deep.equal(rest);
      for (const id of rest) {
        const r = await s.protocol.market.request(id);
        expect(r.status).to.equal(RequestStatus.Fulfilled);
        expect(r.validator).to.equal(s.validator.address);
        expect(r.output).to.equal(inferQuantized(single.quantized, digits[picks[ids.indexOf(id)]].pixels).output);
        expect(summary(s.logs, id)?.outcome).to.equal("fulfilled");
      }
      expect((await s.protocol.market.request(stolen)).validator).to.equal(s.competitor.address);
      const journal = Journal.open(s.journalFile);
      expect(journal.allBatches().map((b) => b.state)).to.deep.equal(["abandoned", "settled"]);
      journal.close();
    });
  });

  describe("poi validator against a hardhat node", function () {
    let node: HardhatNode | undefined;
    const started: Child[] = [];

    afterEach(async function () {
      for (const c of started.splice(0)) await c.kill("SIGKILL");
      await node?.stop();
      node = undefined;
    });

    it("test_batch_sigkillAfterSendingBeforeReceipt_settledExactlyOnce", async function () {
      node = await startHardhatNode();
      const { ethers } = await network.create({ network: "localhost", override: { url: node.url } });
      const [governance, modelOwner, requester, validator] = await ethers.getSigners();
      const protocol = await deployProtocol(ethers, governance, deployOptions(modelOwner.address));
      await (await protocol.token.mint(requester.address, 20n * PRICE)).wait();
      await (await protocol.token.mint(validator.address, (await protocol.market.params()).minStake)).wait();
      const caseDir = mkdtempSync(path.join(dir, "sigkill-"));
      const deploymentFile = path.join(caseDir, "deployment.json");
      writeFileSync(
        deploymentFile,
        JSON.stringify({
          format: "poi-deployment/1",
          network: "localhost",
          chainId: "31337",
          token: await protocol.token.getAddress(),
          registry: await protocol.registry.getAddress(),
          market: await protocol.market.getAddress(),
          modelId: protocol.modelId.toString(),
          verifier: protocol.verifier,
          manifest: path.relative(caseDir, single.manifestFile),
          deployedAtBlock: 0,
        }),
      );
      const journalFile = path.join(caseDir, "validator.sqlite");
      const poi = (extra: string[] = []) => {
        const c = startPoi([
          "validator",
          ...["--network", "localhost", "--rpc-url", node!.url, "--deployment", deploymentFile, "--account", "3"],
          ...["--journal", journalFile, "--poll-ms", "200", "--threads", "1"],
          ...["--batch", `${K}=${batch.manifestFile}`, "--batch-wait", "3600", ...extra],
        ]);
        started.push(c);
        return c;
      };
      const picks = [70, 71, 72, 73];
      const ids: bigint[] = [];
      for (const d of picks)
        ids.push((await postRequest(protocol.market, requester, protocol.modelId, digits[d].pixels)).requestId);

      const first = poi();
      await first.waitFor((e) => e.event === "batch-planned", WAIT_MS, "the batch to be planned");
      // From here on nothing is mined until the test says so: the batch's transaction waits in
      // the node's mempool, so the kill lands after the send and before any receipt.
      await ethers.provider.send("evm_setAutomine", [false]);
      const sentLog = await first.waitFor((e) => e.event === "batch-sent", WAIT_MS, "the batch to be sent");
      await first.kill("SIGKILL");
      let journal = Journal.open(journalFile);
      const [attempt] = journal.allBatches();
      expect(attempt.state).to.equal("submitting");
      expect(attempt.txHash).to.equal(sentLog.txHash);
      expect(ids.map((id) => journal.get(id)!.state)).to.deep.equal(ids.map(() => "batched"));
      journal.close();
      await ethers.provider.send("evm_setAutomine", [true]);
      await ethers.provider.send("evm_mine", []);

      const second = poi(["--exit-when-idle"]);
      const settled = await second.waitFor((e) => e.event === "batch-settled", WAIT_MS, "the batch to settle");
      expect((await second.exited).code, second.stderr.join("\n")).to.equal(0);
      expect(settled.txHash).to.equal(sentLog.txHash);

      const sent = await fulfilments(ethers, protocol, validator.address);
      expect(sent.map((t) => t.name)).to.deep.equal(["fulfilBatch"]);
      expect(sent[0].requestIds).to.deep.equal(ids);
      for (const [i, id] of ids.entries()) {
        const r = await protocol.market.request(id);
        expect(r.status).to.equal(RequestStatus.Fulfilled);
        expect(r.validator).to.equal(validator.address);
        expect(r.output).to.equal(inferQuantized(single.quantized, digits[picks[i]].pixels).output);
        const s = second.entries.find((e) => e.event === "request-summary" && e.requestId === id.toString());
        expect(s?.outcome).to.equal("fulfilled");
      }
      journal = Journal.open(journalFile);
      expect(journal.allBatches().map((b) => b.state)).to.deep.equal(["settled"]);
      journal.close();
    });
  });
});
