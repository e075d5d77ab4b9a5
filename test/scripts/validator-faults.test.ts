/**
 * Fault tests of the validator daemon, each against a `hardhat node` of its own, with the
 * daemon run as a real `poi validator` process: killed with SIGKILL in the middle of a proof,
 * cut off from its RPC node, racing another validator, and handed a corrupted artifact.
 *
 * What "exactly once" is checked against: the chain itself. Every block is read and the
 * fulfil transactions the validator sent are counted, not only the InferenceFulfilled events
 * (a second fulfil would revert and leave no event, but it would still be a double submission).
 */
import { expect } from "chai";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { network } from "hardhat";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { Signer } from "ethers";
import { deployProtocol, type Protocol } from "../../scripts/chain/protocol.ts";
import { postRequest } from "../../scripts/chain/requester.ts";
import { fulfilmentOf, RequestStatus } from "../../scripts/chain/validator.ts";
import { loadMnist, type Digit } from "../../scripts/model/mnist.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { Journal } from "../../scripts/validator/journal.ts";
import { freePort, startHardhatNode, startPoi, TcpProxy, type Child, type HardhatNode } from "../helpers/processes.ts";
import { requestOf } from "../helpers/market.ts";

const PRICE = 10n ** 18n;
/** Bounds on every wait: generous for a loaded 2-core machine, never asserted as durations. */
const PROOF_WAIT_MS = 240_000;

interface Scenario {
  node: HardhatNode;
  ethers: HardhatEthers;
  protocol: Protocol;
  requester: Signer;
  validators: Signer[];
  dir: string;
  deploymentFile: string;
}

describe("validator daemon under faults (poi validator against hardhat node)", function () {
  let built: BuiltModel;
  let digits: Digit[];
  const started: Child[] = [];
  let scenario: Scenario | undefined;

  before(async function () {
    built = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    digits = loadMnist().test;
  });

  afterEach(async function () {
    for (const c of started.splice(0)) await c.kill("SIGKILL");
    if (scenario) {
      await scenario.node.stop();
      rmSync(scenario.dir, { recursive: true, force: true });
      scenario = undefined;
    }
  });

  async function setUp(): Promise<Scenario> {
    const node = await startHardhatNode();
    const dir = mkdtempSync(path.join(os.tmpdir(), "poi-faults-"));
    try {
      const { ethers } = await network.create({ network: "localhost", override: { url: node.url } });
      const [governance, modelOwner, requester, v1, v2] = await ethers.getSigners();
      const protocol = await deployProtocol(ethers, governance, {
        manifestFile: built.manifestFile,
        modelOwner: modelOwner.address,
        price: PRICE,
      });
      const { minStake } = await protocol.market.params();
      await (await protocol.token.mint(requester.address, 100n * PRICE)).wait();
      for (const v of [v1, v2]) await (await protocol.token.mint(v.address, minStake)).wait();
      const deploymentFile = path.join(dir, "deployment.json");
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
          manifest: path.relative(dir, built.manifestFile),
          deployedAtBlock: 0,
        }),
      );
      scenario = { node, ethers, protocol, requester, validators: [v1, v2], dir, deploymentFile };
      return scenario;
    } catch (err) {
      await node.stop();
      throw err;
    }
  }

  function validator(s: Scenario, index: 0 | 1, extra: string[] = [], url = s.node.url): Child {
    const c = startPoi([
      "validator",
      "--network",
      "localhost",
      "--rpc-url",
      url,
      "--deployment",
      s.deploymentFile,
      "--account",
      String(3 + index),
      "--journal",
      path.join(s.dir, `validator-${index}.sqlite`),
      "--poll-ms",
      "200",
      "--threads",
      "1",
      ...extra,
    ]);
    started.push(c);
    return c;
  }

  const request = async (s: Scenario, digit: number) =>
    (await postRequest(s.protocol.market, s.requester, s.protocol.modelId, digits[digit].pixels)).requestId;

  const summaryOf = (id: bigint) => (e: Record<string, unknown>) =>
    e.event === "request-summary" && e.requestId === id.toString();

  /** Fulfil transactions sent by `from` for `requestId`, read from every block of the chain. */
  async function fulfilTxs(s: Scenario, from: string, requestId: bigint): Promise<number> {
    const market = s.protocol.market;
    const head = await s.ethers.provider.getBlockNumber();
    let n = 0;
    for (let b = 0; b <= head; b++) {
      const block = await s.ethers.provider.getBlock(b, true);
      for (const tx of block!.prefetchedTransactions) {
        if (tx.from.toLowerCase() !== from.toLowerCase()) continue;
        const parsed = market.interface.parseTransaction({ data: tx.data });
        if (parsed?.name === "fulfil" && parsed.args[0] === requestId) n++;
      }
    }
    return n;
  }

  async function fulfilledEvents(s: Scenario, requestId: bigint) {
    const m = s.protocol.market;
    return m.queryFilter(m.filters.InferenceFulfilled(requestId), 0);
  }

  it("a validator killed with SIGKILL mid-proof is restarted and fulfils the request exactly once", async function () {
    const s = await setUp();
    const id = await request(s, 0);
    const first = validator(s, 0);
    await first.waitFor(
      (e) => e.event === "proving" && e.requestId === id.toString(),
      PROOF_WAIT_MS,
      "the proof to start",
    );
    await first.kill("SIGKILL");
    expect((await first.exited).signal).to.equal("SIGKILL");

    const journal = Journal.open(path.join(s.dir, "validator-0.sqlite"));
    const stateAtCrash = journal.get(id)!.state;
    journal.close();
    // Killed between its claim and its fulfilment (SIGKILL gives it no chance to tidy up).
    expect(["claimed", "proved", "submitting"]).to.include(stateAtCrash);
    expect((await requestOf(s.protocol.market, id)).status).to.equal(RequestStatus.Claimed);

    // Posted while the validator is down: the restart catches up from its last scanned block.
    const whileDown = await request(s, 9);
    const second = validator(s, 0, ["--exit-when-idle"]);
    const summary = await second.waitFor(summaryOf(id), PROOF_WAIT_MS, "the request's summary");
    expect(summary.outcome).to.equal("fulfilled");
    expect((await second.waitFor(summaryOf(whileDown), PROOF_WAIT_MS, "the second summary")).outcome).to.equal(
      "fulfilled",
    );
    expect((await second.exited).code).to.equal(0);

    const v = await s.validators[0].getAddress();
    const r = await requestOf(s.protocol.market, id);
    expect(r.status).to.equal(RequestStatus.Fulfilled);
    expect((await fulfilmentOf(s.protocol.market, id))?.validator).to.equal(v);
    expect(await fulfilTxs(s, v, id)).to.equal(1);
    expect(await fulfilTxs(s, v, whileDown)).to.equal(1);
    const events = [...(await fulfilledEvents(s, id)), ...(await fulfilledEvents(s, whileDown))];
    expect(events).to.have.length(2);
    expect(await s.protocol.market.balanceOf(v, await s.protocol.token.getAddress())).to.equal(
      events[0].args.validatorShare + events[1].args.validatorShare,
    );
  });

  it("keeps working through an RPC outage: requests posted while it is cut off are fulfilled after", async function () {
    // A restarted `hardhat node` starts a fresh chain, which would test a different thing (the
    // journal refuses it, see below). The outage is a proxy between validator and node going
    // down and coming back, while the chain goes on: requests are posted during the outage.
    const s = await setUp();
    const proxy = new TcpProxy(await freePort(), s.node.port);
    await proxy.start();
    try {
      const v = validator(s, 0, [], proxy.url);
      const before = await request(s, 1);
      expect((await v.waitFor(summaryOf(before), PROOF_WAIT_MS, "the first summary")).outcome).to.equal("fulfilled");

      await proxy.stop();
      const during = [await request(s, 2), await request(s, 3)];
      await v.waitFor((e) => e.event === "rpc-error" && Number(e.attempt) >= 3, 60_000, "three failed attempts");
      await proxy.start();
      for (const id of during) {
        expect((await v.waitFor(summaryOf(id), PROOF_WAIT_MS, `request ${id}'s summary`)).outcome).to.equal(
          "fulfilled",
        );
      }
      await v.waitFor((e) => e.event === "rpc-recovered", 60_000, "the recovery to be logged");
      await v.kill("SIGTERM");

      const address = await s.validators[0].getAddress();
      for (const id of [before, ...during]) {
        expect((await fulfilmentOf(s.protocol.market, id))?.validator).to.equal(address);
        expect(await fulfilTxs(s, address, id)).to.equal(1);
      }
    } finally {
      await proxy.stop();
    }
  });

  it("refuses its journal on a restarted node's fresh chain instead of resubmitting", async function () {
    const s = await setUp();
    const journal = path.join(s.dir, "validator-0.sqlite");
    const id = await request(s, 4);
    const v = validator(s, 0, ["--exit-when-idle"]);
    expect((await v.waitFor(summaryOf(id), PROOF_WAIT_MS, "the summary")).outcome).to.equal("fulfilled");
    await v.exited;

    // The node restarts: same chain id, same addresses once redeployed, but a new genesis.
    await s.node.stop();
    scenario = undefined;
    rmSync(path.join(s.dir, "deployment.json"));
    const fresh = await setUp();
    const again = validator(fresh, 0, ["--exit-when-idle", "--journal", journal]);
    const { code } = await again.exited;
    expect(code).to.equal(3);
    expect(again.stderr.join("\n")).to.match(/journal was made for genesisHash/);
    rmSync(s.dir, { recursive: true, force: true });
  });

  it("two validators race: each request is fulfilled once and exactly one of them is paid for it", async function () {
    const s = await setUp();
    const ids = [await request(s, 5), await request(s, 6), await request(s, 7)];
    const a = validator(s, 0, ["--exit-when-idle"]);
    const b = validator(s, 1, ["--exit-when-idle"]);
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    expect([ea.code, eb.code], `stderr:\n${a.stderr.join("\n")}\n${b.stderr.join("\n")}`).to.deep.equal([0, 0]);

    const addresses = await Promise.all(s.validators.map((v) => v.getAddress()));
    let shares = 0n;
    for (const id of ids) {
      const events = await fulfilledEvents(s, id);
      expect(events, `request ${id}`).to.have.length(1);
      shares += events[0].args.validatorShare;
      const outcomes = [a, b].map((c) => c.entries.find(summaryOf(id))?.outcome);
      expect(
        outcomes.filter((o) => o === "fulfilled"),
        `request ${id}: ${outcomes}`,
      ).to.have.length(1);
      expect(
        outcomes.filter((o) => o === "lost"),
        `request ${id}: ${outcomes}`,
      ).to.have.length(1);
      let sent = 0;
      for (const v of addresses) sent += await fulfilTxs(s, v, id);
      expect(sent, `fulfil transactions for request ${id}`).to.equal(1);
    }
    const token = await s.protocol.token.getAddress();
    const paid =
      (await s.protocol.market.balanceOf(addresses[0], token)) +
      (await s.protocol.market.balanceOf(addresses[1], token));
    expect(paid).to.equal(shares);
  });

  it("refuses a corrupted artifact with a clear error before touching the chain", async function () {
    const s = await setUp();
    await request(s, 8);
    const copy = path.join(s.dir, "artifacts");
    const m = built.manifest.artifacts;
    for (const name of ["zkey", "wasm", "vkey"] as const) {
      mkdirSync(path.dirname(path.join(copy, m[name].path)), { recursive: true });
      copyFileSync(path.resolve(path.dirname(built.manifestFile), m[name].path), path.join(copy, m[name].path));
    }
    copyFileSync(built.manifestFile, path.join(copy, "manifest.json"));
    const zkey = path.join(copy, m.zkey.path);
    const bytes = readFileSync(zkey);
    bytes[bytes.length >> 1] ^= 0x01; // one bit, in the middle of the key
    writeFileSync(zkey, bytes);

    const v = validator(s, 0, ["--manifest", path.join(copy, "manifest.json"), "--exit-when-idle"]);
    const { code } = await v.exited;
    expect(code).to.equal(3);
    expect(v.stderr.join("\n")).to.match(
      /artifact zkey \(mnist-mlp\.zkey\) has sha256 .* corrupted .* refusing to use it/,
    );
    expect(await s.ethers.provider.getTransactionCount(await s.validators[0].getAddress())).to.equal(0);
  });
});
