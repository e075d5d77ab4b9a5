/**
 * The validator daemon's decisions on the in-process chain: it fulfils what pays enough,
 * skips what pays too little, never sends anything for a request whose deadline is too close,
 * and resumes from its journal without a second transaction. The process-level faults (SIGKILL,
 * RPC outage, races, corrupted artifacts) are in validator-faults.test.ts.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { network } from "hardhat";
import { deployProtocol, type Protocol } from "../../scripts/chain/protocol.ts";
import { postRequest } from "../../scripts/chain/requester.ts";
import { RequestStatus } from "../../scripts/chain/validator.ts";
import { loadMnist, type Digit } from "../../scripts/model/mnist.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { loadModelArtifacts, type ModelArtifacts } from "../../scripts/prove/prove-request.ts";
import { releaseProverThreads } from "../../scripts/prove/prover.ts";
import { ValidatorDaemon, type LogEntry } from "../../scripts/validator/daemon.ts";
import { Journal } from "../../scripts/validator/journal.ts";
import { requestOf, SINGLE_FULFILMENT_HISTORY } from "../helpers/market.ts";

const PRICE = 10n ** 18n;

describe("validator daemon decisions (in-process chain)", function () {
  let built: BuiltModel;
  let artifacts: ModelArtifacts;
  let digits: Digit[];
  let dir: string;

  before(async function () {
    built = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    artifacts = await loadModelArtifacts(built.manifestFile);
    digits = loadMnist().test;
    dir = mkdtempSync(path.join(os.tmpdir(), "poi-daemon-"));
  });

  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await releaseProverThreads(); // else the proofs' worker threads keep a lone run of this file alive
  });

  async function setUp(journalName: string) {
    const { ethers, networkHelpers } = await network.create();
    const [governance, modelOwner, requester, validator] = await ethers.getSigners();
    const protocol: Protocol = await deployProtocol(ethers, governance, {
      manifestFile: built.manifestFile,
      modelOwner: modelOwner.address,
      price: PRICE,
    });
    await (await protocol.token.mint(requester.address, 10n * PRICE)).wait();
    await (await protocol.token.mint(validator.address, (await protocol.market.params()).minStake)).wait();
    const logs: LogEntry[] = [];
    const journalFile = path.join(dir, journalName);
    const daemon = (minFee: bigint) => {
      const journal = Journal.open(journalFile);
      const d = new ValidatorDaemon({
        market: protocol.market.connect(validator),
        signer: validator,
        models: [{ modelId: protocol.modelId, artifacts }],
        journal,
        minFee,
        pollMs: 10,
        exitWhenIdle: true,
        log: (e) => logs.push(e),
      });
      return {
        run: async () => {
          try {
            await d.run();
          } finally {
            journal.close();
          }
        },
      };
    };
    const post = async (digit: number, ttl = 3600) =>
      (await postRequest(protocol.market, requester, protocol.modelId, digits[digit].pixels, ttl)).requestId;
    const sent = async () => ethers.provider.getTransactionCount(validator.address);
    return { ethers, networkHelpers, protocol, validator, logs, daemon, post, sent, journalFile };
  }

  const outcome = (logs: LogEntry[], id: bigint) =>
    logs.find((e) => e.event === "request-summary" && e.requestId === id)?.outcome;

  it("fulfils a request that pays enough, and a rerun on the same journal sends nothing more", async function () {
    const s = await setUp("fulfil.sqlite");
    const id = await s.post(0);
    await s.daemon(0n).run();
    expect(outcome(s.logs, id)).to.equal("fulfilled");
    expect((await requestOf(s.protocol.market, id)).status).to.equal(RequestStatus.Fulfilled);
    const after = await s.sent();
    await s.daemon(0n).run();
    expect(await s.sent()).to.equal(after);
    const j = Journal.open(s.journalFile);
    expect(j.historyOf(id).map((h) => h.state)).to.deep.equal(SINGLE_FULFILMENT_HISTORY);
    j.close();
  });

  it("skips a request whose fee is below its minimum, sending nothing for it", async function () {
    const s = await setUp("minfee.sqlite");
    const id = await s.post(1);
    const before = await s.sent();
    await s.daemon(2n * PRICE).run();
    expect(outcome(s.logs, id)).to.equal("skipped");
    // Only the stake (approve + stake) was sent, no claim.
    expect(await s.sent()).to.equal(before + 2);
    expect((await requestOf(s.protocol.market, id)).status).to.equal(RequestStatus.Open);
  });

  it("never claims or fulfils a request whose deadline is within the margin", async function () {
    const s = await setUp("deadline.sqlite");
    const id = await s.post(2, 60);
    await s.networkHelpers.time.increase(55); // 5 s left, margin 10 s
    const before = await s.sent();
    await s.daemon(0n).run();
    expect(outcome(s.logs, id)).to.equal("expired");
    expect(await s.sent()).to.equal(before + 2); // stake only
    expect((await requestOf(s.protocol.market, id)).status).to.equal(RequestStatus.Open);
  });

  it("stops work on a request another validator fulfilled", async function () {
    const s = await setUp("lost.sqlite");
    const id = await s.post(3);
    // A competitor (a second daemon, another account) claims and fulfils it first.
    const [, , , , other] = await s.ethers.getSigners();
    await (await s.protocol.token.mint(other.address, (await s.protocol.market.params()).minStake)).wait();
    const otherJournal = Journal.open(path.join(dir, "lost-other.sqlite"));
    await new ValidatorDaemon({
      market: s.protocol.market.connect(other),
      signer: other,
      models: [{ modelId: s.protocol.modelId, artifacts }],
      journal: otherJournal,
      minFee: 0n,
      pollMs: 10,
      exitWhenIdle: true,
      log: () => {},
    }).run();
    otherJournal.close();
    const before = await s.sent();
    await s.daemon(0n).run();
    expect(outcome(s.logs, id)).to.equal("lost");
    expect(await s.sent()).to.equal(before + 2); // stake only
  });
});
