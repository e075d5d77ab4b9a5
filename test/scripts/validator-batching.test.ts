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
import {
  ensureStaked,
  fulfilmentOf,
  fulfilRequest,
  openRequests,
  RequestStatus,
} from "../../scripts/chain/validator.ts";
import { loadMnist, type Digit } from "../../scripts/model/mnist.ts";
import { inferQuantizedGraph } from "../../scripts/model/graph-inference.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { Prover, releaseProverThreads } from "../../scripts/prove/prover.ts";
import { decideBatches, decompose, type BatchPolicy } from "../../scripts/validator/batch-policy.ts";
import { ValidatorDaemon, type LogEntry } from "../../scripts/validator/daemon.ts";
import { Journal } from "../../scripts/validator/journal.ts";
import { startHardhatNode, startPoi, type Child, type HardhatNode } from "../helpers/processes.ts";
import { requestOf } from "../helpers/market.ts";

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

describe("batch grouping policy", function () {
  // Proofs estimated at 3 s alone and 8 s for a batch; 10 s deadline margin; polls of 1 s.
  const policy = (sizes: number[], batchWaitSeconds = 60n): BatchPolicy => ({
    sizes,
    batchWaitSeconds,
    deadlineMarginSeconds: 10n,
    provingSeconds: (k) => (k === 1 ? 3 : 8),
    pollSeconds: 1,
  });
  const ready = (id: number, effectiveDeadline: number, readySince = 1000) => ({
    requestId: BigInt(id),
    effectiveDeadline: BigInt(effectiveDeadline),
    readySince: BigInt(readySince),
  });

  it("test_decideBatches_fullGroupsOfLargestSizeGoNow_leftoverWaits", function () {
    const d = decideBatches(
      [6, 2, 5, 1, 4, 3].map((id) => ready(id, 5000 + id)),
      1000n,
      policy([2, 4]),
    );
    expect(d.batches).to.deep.equal([[1n, 2n, 3n, 4n]]);
    expect(d.singles).to.deep.equal([]);
    // Waits for its batch: 60 s at most (before the deadline bound, 5005 - 10 - 8 - 8 - 1).
    expect(d.waiting).to.deep.equal({ requestIds: [5n, 6n], flushAt: 1060n });
  });

  it("test_decideBatches_earliestDeadlinesBatchedFirst", function () {
    const d = decideBatches(
      [ready(1, 9000), ready(2, 2000), ready(3, 3000), ready(4, 9000), ready(5, 2500)],
      1000n,
      policy([4]),
    );
    expect(d.batches).to.deep.equal([[1n, 2n, 3n, 5n]]);
    expect(d.waiting.requestIds).to.deep.equal([4n]);
  });

  it("test_decideBatches_flushesAtDeadlineBoundInSmallerSizesThenSingles", function () {
    // Three left, sizes 4 and 2: a batch of 2 then one single, 8 + 3 s of proving.
    const group = [ready(1, 1100), ready(2, 1200), ready(3, 1300)];
    const deadlineBound = 1100n - 10n - 8n - 3n - 1n;
    const waiting = decideBatches(group, deadlineBound - 1n, policy([4, 2], 3600n));
    expect(waiting.waiting).to.deep.equal({ requestIds: [1n, 2n, 3n], flushAt: deadlineBound });
    const d = decideBatches(group, deadlineBound, policy([4, 2], 3600n));
    expect(d.flushed).to.deep.equal({ requestIds: [1n, 2n, 3n], reason: "deadline", parts: [2, 1] });
    expect(d.flushedBatches).to.deep.equal([{ requestIds: [1n, 2n], reason: "deadline" }]);
    expect(d.singles).to.deep.equal([{ requestId: 3n, reason: "deadline" }]);
  });

  it("test_decideBatches_flushesAfterBatchWait", function () {
    const d = decideBatches([ready(1, 9000, 1000)], 1030n, policy([4], 30n));
    expect(d.singles).to.deep.equal([{ requestId: 1n, reason: "batch-wait" }]);
  });

  it("test_decideBatches_withoutBatchSizesEverythingGoesSingly", function () {
    const d = decideBatches([ready(1, 9000), ready(2, 9000)], 1000n, policy([]));
    expect(d.singles.map((x) => x.reason)).to.deep.equal(["batching-off", "batching-off"]);
    expect(decompose(7, [4, 2])).to.deep.equal([4, 2, 1]);
  });
});

describe("poi validator batch flags", function () {
  it("test_validatorCli_badBatchFlagIsAUsageError", async function () {
    const { main } = await import("../../scripts/cli/poi.ts");
    const dir = mkdtempSync(path.join(os.tmpdir(), "poi-batch-flags-"));
    const { error } = console;
    const printed: string[] = [];
    console.error = (...a: unknown[]) => void printed.push(a.join(" "));
    try {
      const deployment = path.join(dir, "deployment.json");
      writeFileSync(deployment, JSON.stringify({ format: "poi-deployment/1", market: "0x", modelId: "1" }));
      // A real model manifest, so that the batch flags are what is refused.
      const manifest = (await buildModel(REFERENCE_MODELS["mnist-mlp"])).manifestFile;
      const run = (batch: string) =>
        main(["validator", "--deployment", deployment, "--manifest", manifest, "--batch", batch]);
      expect(await run("1=x.json")).to.equal(2);
      expect(await run("4")).to.equal(2);
      expect(await run(`4=${path.join(dir, "missing.json")}`)).to.equal(2);
      expect(await run(`4=${deployment},4=${deployment}`)).to.equal(2);
      expect(printed.join("\n")).to.match(/K >= 2[\s\S]*"4"[\s\S]*missing\.json does not exist[\s\S]*size 4 twice/);
    } finally {
      console.error = error;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

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
    manifestFile: single.manifestFile,
    modelOwner,
    price: PRICE,
    batchKeys: [{ manifestFile: batch.manifestFile, batchSize: K }],
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
          models: [
            {
              modelId: protocol.modelId,
              artifacts: { prover, model: single.quantized },
              batchProvers: new Map([[K, batchProver]]),
            },
          ],
          journal,
          minFee: 0n,
          pollMs: 20,
          exitWhenIdle: true,
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
      // The four, seen together, were claimed together: one claimBatch.
      const claims = await s.protocol.market.queryFilter(s.protocol.market.filters.InferenceClaimed(), 0);
      expect(claims.map((c) => c.args.requestId)).to.deep.equal(ids);
      expect(new Set(claims.map((c) => c.transactionHash)).size).to.equal(1);
      const events = await s.protocol.market.queryFilter(s.protocol.market.filters.InferenceFulfilled(), 0);
      expect(events.map((e) => e.transactionHash)).to.deep.equal(ids.map(() => sent[0].hash));
      for (const [i, id] of ids.entries()) {
        const r = await requestOf(s.protocol.market, id);
        expect(r.status).to.equal(RequestStatus.Fulfilled);
        const f = await fulfilmentOf(s.protocol.market, id);
        expect(f?.validator).to.equal(s.validator.address);
        expect(f?.output).to.equal(inferQuantizedGraph(single.quantized, digits[picks[i]].pixels).output);
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
      const first = await waitForLog(
        s.logs,
        (e) => e.event === "batch-waiting" || e.event === "batch-flushed",
        "the request to wait for a batch",
      );
      expect(first.requestIds).to.deep.equal([id]);
      if (first.event === "batch-waiting") {
        // Chain time jumps to the last moment the daemon may wait: proving must still fit after it.
        await s.networkHelpers.time.increaseTo(first.flushAt as bigint);
      }
      // Else the in-process chain's clock (wall time) ran past that moment before the daemon's
      // first plan, as on a heavily loaded machine: it flushed at once, for the same reason.
      await running;

      const flushed = s.logs.find((e) => e.event === "batch-flushed")!;
      expect(flushed).to.deep.include({ requestIds: [id], reason: "deadline", parts: [1] });
      const sent = await fulfilments(s.ethers, s.protocol, s.validator.address);
      expect(sent.map((t) => t.name)).to.deep.equal(["fulfil"]);
      const r = await requestOf(s.protocol.market, id);
      expect(r.status).to.equal(RequestStatus.Fulfilled);
      const f = await fulfilmentOf(s.protocol.market, id);
      expect(f?.validator).to.equal(s.validator.address);
      expect(f?.output).to.equal(inferQuantizedGraph(single.quantized, digits[50].pixels).output);
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
      await fulfilRequest(s.protocol.market, s.competitor, { prover, model: single.quantized }, open);

      await s.daemon(0);
      const dropped = s.logs.find((e) => e.event === "batch-dropped")!;
      expect(dropped.reason).to.match(new RegExp(`request ${stolen} fulfilled by ${s.competitor.address}`));
      expect(summary(s.logs, stolen)?.outcome).to.equal("lost");
      const sent = await fulfilments(s.ethers, s.protocol, s.validator.address);
      const rest = ids.filter((id) => id !== stolen);
      expect(sent.map((t) => t.name)).to.deep.equal(["fulfilBatch"]);
      expect(sent[0].requestIds).to.deep.equal(rest);
      for (const id of rest) {
        const r = await requestOf(s.protocol.market, id);
        expect(r.status).to.equal(RequestStatus.Fulfilled);
        const f = await fulfilmentOf(s.protocol.market, id);
        expect(f?.validator).to.equal(s.validator.address);
        expect(f?.output).to.equal(inferQuantizedGraph(single.quantized, digits[picks[ids.indexOf(id)]].pixels).output);
        expect(summary(s.logs, id)?.outcome).to.equal("fulfilled");
      }
      expect((await fulfilmentOf(s.protocol.market, stolen))?.validator).to.equal(s.competitor.address);
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

    /** A hardhat node with the protocol and four requests, and a `poi validator` launcher on one journal. */
    async function scenario() {
      node = await startHardhatNode();
      const { ethers } = await network.create({ network: "localhost", override: { url: node.url } });
      const [governance, modelOwner, requester, validator] = await ethers.getSigners();
      const protocol = await deployProtocol(ethers, governance, deployOptions(modelOwner.address));
      await (await protocol.token.mint(requester.address, 20n * PRICE)).wait();
      await (await protocol.token.mint(validator.address, (await protocol.market.params()).minStake)).wait();
      const caseDir = mkdtempSync(path.join(dir, "process-"));
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

      /**
       * Runs a validator until it has sent its batch and kills it with SIGKILL before any receipt:
       * from the batch's planning on nothing is mined, so its transaction waits in the mempool.
       */
      const killAfterSend = async () => {
        const first = poi();
        await first.waitFor((e) => e.event === "batch-planned", WAIT_MS, "the batch to be planned");
        await ethers.provider.send("evm_setAutomine", [false]);
        const sentLog = await first.waitFor((e) => e.event === "batch-sent", WAIT_MS, "the batch to be sent");
        await first.kill("SIGKILL");
        const journal = Journal.open(journalFile);
        const [attempt] = journal.allBatches();
        expect(attempt.state).to.equal("submitting");
        expect(attempt.txHash).to.equal(sentLog.txHash);
        expect(ids.map((id) => journal.get(id)!.state)).to.deep.equal(ids.map(() => "batched"));
        journal.close();
        return sentLog.txHash as string;
      };

      /** Restarts the validator until idle and checks that the batch settled once, by one fulfilBatch. */
      const restartAndCheck = async () => {
        const second = poi(["--exit-when-idle"]);
        const settled = await second.waitFor((e) => e.event === "batch-settled", WAIT_MS, "the batch to settle");
        expect((await second.exited).code, second.stderr.join("\n")).to.equal(0);
        const sent = await fulfilments(ethers, protocol, validator.address);
        expect(sent.map((t) => t.name)).to.deep.equal(["fulfilBatch"]);
        expect(sent[0].requestIds).to.deep.equal(ids);
        expect(settled.txHash).to.equal(sent[0].hash);
        for (const [i, id] of ids.entries()) {
          const r = await requestOf(protocol.market, id);
          expect(r.status).to.equal(RequestStatus.Fulfilled);
          const f = await fulfilmentOf(protocol.market, id);
          expect(f?.validator).to.equal(validator.address);
          expect(f?.output).to.equal(inferQuantizedGraph(single.quantized, digits[picks[i]].pixels).output);
          const s = second.entries.find((e) => e.event === "request-summary" && e.requestId === id.toString());
          expect(s?.outcome).to.equal("fulfilled");
        }
        const journal = Journal.open(journalFile);
        expect(journal.allBatches().map((b) => b.state)).to.deep.equal(["settled"]);
        journal.close();
        return second;
      };
      return { ethers, killAfterSend, restartAndCheck };
    }

    it("test_batch_sigkillAfterSendingBeforeReceipt_landed_notSentAgain", async function () {
      const s = await scenario();
      const txHash = await s.killAfterSend();
      // The transaction lands while the validator is down.
      await s.ethers.provider.send("evm_setAutomine", [true]);
      await s.ethers.provider.send("evm_mine", []);
      const second = await s.restartAndCheck();
      expect(second.entries.some((e) => e.event === "batch-sent")).to.equal(false);
      expect(second.entries.find((e) => e.event === "batch-settled")!.txHash).to.equal(txHash);
    });

    it("test_batch_sigkillAfterSendingBeforeReceipt_lost_sentAgainOnce", async function () {
      const s = await scenario();
      const txHash = await s.killAfterSend();
      // The transaction never lands (dropped from the mempool, as a node restart would).
      expect(await s.ethers.provider.send("hardhat_dropTransaction", [txHash])).to.equal(true);
      await s.ethers.provider.send("evm_setAutomine", [true]);
      const second = await s.restartAndCheck();
      expect(second.entries.filter((e) => e.event === "batch-sent")).to.have.length(1);
    });
  });
});
