/**
 * The web app (`npm run app`, app/serve.ts) in a real headless Chromium, against a `hardhat node`
 * of the test's own: deployed with `poi deploy`, served by a real `poi validator` process. Through
 * the page it lists the models, picks a held-out digit, pays and posts it (the escrow is checked
 * on-chain), sees it settled with the class, logits, validator and gas the chain holds, checks its
 * attestation, then draws a digit and sees it settled with the class of the integer reference, and
 * proves that digit in the page itself for a self-attestation (`attest`).
 *
 * Screenshots of each stage go to build/web-app/ (git-ignored); with UPDATE_SCREENSHOTS=1 they go
 * to docs/app/ instead, where the committed ones live. Skipped, saying what to install, where no
 * Chromium is available.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { formatUnits, getAddress, JsonRpcProvider, parseUnits } from "ethers";
import type { Browser, Page } from "playwright-core";
import { InferenceMarket__factory, TestToken__factory } from "../../types/ethers-contracts/index.js";
import { attestationRoot, factOf } from "../../scripts/chain/attestations.ts";
import { packedCommitment } from "../../scripts/circuit/reference.ts";
import { inferQuantizedGraph } from "../../scripts/model/graph-inference.ts";
import { loadMnist } from "../../scripts/model/mnist.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { chromiumOrSkip } from "../helpers/chromium.ts";
import {
  foreignStderrLines,
  freePort,
  ROOT,
  startChild,
  startHardhatNode,
  startPoi,
  type Child,
  type HardhatNode,
} from "../helpers/processes.ts";

/** Bounds on every wait: generous for a loaded 2-core machine, never asserted as durations. */
const WAIT_MS = 120_000;
const SHOTS = process.env.UPDATE_SCREENSHOTS ? path.join(ROOT, "docs", "app") : path.join(ROOT, "build", "web-app");
/** The held-out digit the page posts (an index into the test set). */
const HELD_OUT = 7;
/** Development accounts (Hardhat's public keys): the page pays from #1, the validator is #3. */
const REQUESTER = 1;
const VALIDATOR = 3;

describe("web app (npm run app) in headless Chromium, against a hardhat node and a poi validator", function () {
  let built: BuiltModel;
  let node: HardhatNode | undefined;
  let dir: string;
  let browser: Browser | undefined;
  let page: Page;
  let provider: JsonRpcProvider;
  let accounts: string[];
  let deployment: { market: string; token: string; modelId: string };
  let app: Child | undefined;
  let appUrl: string;
  let deploymentFile: string;
  let validator: Child | undefined;
  const pageProblems: string[] = [];

  before(async function () {
    const executablePath = await chromiumOrSkip(this);
    built = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    dir = mkdtempSync(path.join(os.tmpdir(), "poi-web-app-"));
    mkdirSync(SHOTS, { recursive: true });
    node = await startHardhatNode();
    provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
    accounts = ((await provider.send("eth_accounts", [])) as string[]).map((a) => getAddress(a));
    deploymentFile = path.join(dir, "deployment.json");
    const network = ["--network", "localhost", "--rpc-url", node.url, "--deployment", deploymentFile];
    const deploy = startPoi(["deploy", "--manifest", built.manifestFile, ...network, "--json"]);
    const { code } = await deploy.exited;
    expect(code, `poi deploy failed:\n${deploy.stderr.join("\n")}`).to.equal(0);
    deployment = JSON.parse(readFileSync(deploymentFile, "utf8"));
    // The validator and the app start together; the page is driven once both are up.
    validator = startPoi([
      "validator",
      ...network,
      "--account",
      String(VALIDATOR),
      "--mint-stake",
      "--journal",
      path.join(dir, "validator.sqlite"),
      "--poll-ms",
      "250",
      "--threads",
      "1",
    ]);
    const port = await freePort();
    app = startChild([
      "--import",
      "tsx",
      path.join("app", "serve.ts"),
      "--deployment",
      deploymentFile,
      "--rpc-url",
      node.url,
      "--port",
      String(port),
    ]);
    await validator.waitFor((e) => e.event === "started", WAIT_MS, "the validator's start");
    await waitForLine(app, /^poi app: serving /, "the app server");
    const { chromium: playwright } = await import("playwright-core");
    // Root in a container cannot use Chromium's sandbox; the page loads only the app and the node.
    browser = await playwright.launch({ executablePath, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("pageerror", (e) => pageProblems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") pageProblems.push(`console ${m.type()}: ${m.text()}`);
    });
    appUrl = `http://127.0.0.1:${port}/`;
    await page.goto(appUrl);
    await page.waitForSelector("body[data-ready]", { timeout: WAIT_MS });
    expect(await page.getAttribute("body", "data-ready"), (await page.textContent("#chain-status")) ?? "").to.equal(
      "true",
    );
  });

  after(async function () {
    await browser?.close();
    await app?.kill();
    await validator?.kill();
    provider?.destroy();
    await node?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const row = (id: number) => `#request-rows tr[data-request-id="${id}"]`;
  const cell = (id: number, field: string) => page.locator(`${row(id)} [data-field="${field}"]`);
  /** Clicks "post" and waits until the page says which request it opened (or why none). */
  async function post(expectedId: number) {
    await page.click("#post");
    await page.waitForSelector('#post-status[data-kind="ok"][data-request-id], #post-status[data-kind="error"]', {
      timeout: WAIT_MS,
    });
    const text = await page.textContent("#post-status");
    expect(await page.getAttribute("#post-status", "data-request-id"), text ?? "").to.equal(String(expectedId));
  }
  const shot = (section: string, name: string) =>
    page.locator(section).screenshot({ path: path.join(SHOTS, `${name}.png`) });

  it("lists the registry's model with its mode, version, price, constraints and fidelity", async function () {
    const r = page.locator(`#model-rows tr[data-model-id="${deployment.modelId}"]`);
    await r.waitFor({ timeout: WAIT_MS });
    expect(await r.locator('[data-field="mode"]').textContent()).to.equal("baked");
    expect(await r.locator('[data-field="version"]').textContent()).to.equal("v1");
    expect(await r.locator('[data-field="price"]').textContent()).to.equal("1.0 POIT");
    expect(await r.locator('[data-field="circuit"]').textContent()).to.contain("mnist-mlp");
    expect(await r.locator('[data-field="constraints"]').textContent()).to.equal(
      built.manifest.constraints.toLocaleString("en-US"),
    );
    expect(await r.locator('[data-field="fidelity"]').textContent()).to.match(
      /^\d+\.\d% top-1 agreement with the float model on 1000 held-out inputs; accuracy \d+\.\d%$/,
    );
    await shot("#models", "1-models");
  });

  it("shows a held-out digit as it will be committed: its label, bytes, commitment and reference class", async function () {
    const digit = loadMnist().test[HELD_OUT];
    await page.fill("#digit-index", String(HELD_OUT));
    await page.click("#pick-digit");
    await page.waitForSelector("#input-bytes[data-bytes]");
    expect(await page.textContent("#digit-note")).to.contain(`its label is ${digit.label}`);
    expect(await page.getAttribute("#input-bytes", "data-bytes")).to.equal(Array.from(digit.pixels).join(","));
    expect(await page.textContent("#input-commitment")).to.equal(packedCommitment(digit.pixels, 8).toString());
    const ref = inferQuantizedGraph(built.quantized, digit.pixels);
    expect(await page.getAttribute("#input-prediction", "data-predicted")).to.equal(String(ref.predicted));
  });

  it("escrows the fee from a development account and posts the request (checked on-chain)", async function () {
    const requester = accounts[REQUESTER];
    const token = TestToken__factory.connect(deployment.token, provider);
    const market = InferenceMarket__factory.connect(deployment.market, provider);
    await page.selectOption("#account-select", String(REQUESTER));
    // A fresh account holds nothing: the page says so instead of sending a doomed transaction.
    await page.click("#post");
    await page.waitForSelector('#post-status[data-kind="error"]');
    expect(await page.textContent("#post-status")).to.contain("less than the fee of 1.0 POIT: mint test tokens first");
    expect(await market.requestCount()).to.equal(0n);
    await page.click("#mint");
    await page.locator('#balance[data-balance]:not([data-balance="0"])').waitFor({ timeout: WAIT_MS });
    const minted = await token.balanceOf(requester);
    expect(minted).to.equal(parseUnits("10"));
    await shot("#request", "2-request-form");

    await post(1);
    const [event] = await market.queryFilter(market.filters.InferenceRequested(1n));
    expect(event.args.requester).to.equal(requester);
    expect(event.args.fee).to.equal(parseUnits("1"));
    expect(event.args.inputCommitment).to.equal(packedCommitment(loadMnist().test[HELD_OUT].pixels, 8));
    expect(await token.balanceOf(requester)).to.equal(minted - parseUnits("1"));
    // The fee is in the market: escrowed, or already credited if the validator was quick.
    const [escrowed, credited, protocolFees] = await market.feeAccounts(deployment.token);
    expect(escrowed + credited + protocolFees).to.equal(parseUnits("1"));
  });

  it("shows the request settled by the validator: its class, logits, validator and gas, and its attestation check passes", async function () {
    await page.waitForSelector(`${row(1)} td.status-fulfilled`, { timeout: WAIT_MS });
    const market = InferenceMarket__factory.connect(deployment.market, provider);
    const [fulfilled] = await market.queryFilter(market.filters.InferenceFulfilled(1n));
    const receipt = await provider.getTransactionReceipt(fulfilled.transactionHash);
    const ref = inferQuantizedGraph(built.quantized, loadMnist().test[HELD_OUT].pixels);
    expect(fulfilled.args.output).to.equal(ref.output);
    expect(await cell(1, "class").textContent()).to.equal(String(ref.predicted));
    expect(await cell(1, "logits").locator("svg").getAttribute("data-logits")).to.equal(ref.logits.join(","));
    expect(await cell(1, "validator").getAttribute("data-address")).to.equal(accounts[VALIDATOR]);
    expect(fulfilled.args.validator).to.equal(accounts[VALIDATOR]);
    expect(await cell(1, "gas").getAttribute("data-gas")).to.equal(receipt!.gasUsed.toString());
    expect(await cell(1, "timeline").textContent()).to.match(/^requested .* · claimed \+\d+ s · proved and settled/);

    await page.click(`${row(1)} button[data-check="1"]`);
    await page.waitForSelector(`${row(1)} [data-field="attested"]`, { timeout: WAIT_MS });
    expect(await cell(1, "attested").textContent()).to.equal("attested");
    expect(await cell(1, "attestation").textContent()).to.contain("isAttestedByRequest(fact, 1)");
    // The chain agrees with the page.
    const fact = factOf(BigInt(deployment.modelId), ref.inputCommitment, ref.output);
    expect(await market.isAttestedByRequest(fact, 1n)).to.equal(true);
    await shot("#requests", "3-settled");
  });

  it("draws a digit on the canvas, shows its bytes, and sees it settled with the integer reference's class", async function () {
    // The attestation check scrolled the page: bring the canvas back into view before drawing.
    await page.locator("#draw").scrollIntoViewIfNeeded();
    const box = (await page.locator("#draw").boundingBox())!;
    const at = (x: number, y: number) => [box.x + x * box.width, box.y + y * box.height] as const;
    // A 7: a bar across the top, then a stroke down to the left.
    await page.mouse.move(...at(0.25, 0.22));
    await page.mouse.down();
    for (const [x, y] of [
      [0.5, 0.2],
      [0.75, 0.22],
      [0.65, 0.45],
      [0.55, 0.65],
      [0.48, 0.82],
    ])
      await page.mouse.move(...at(x, y), { steps: 6 });
    await page.mouse.up();
    await page.locator("#input-source", { hasText: "drawn on the canvas" }).waitFor({ timeout: WAIT_MS });
    const bytes = Uint8Array.from((await page.getAttribute("#input-bytes", "data-bytes"))!.split(",").map(Number));
    expect(bytes).to.have.length(196);
    expect(bytes.filter((b) => b > 0).length, "inked pixels").to.be.greaterThan(10);
    expect(await page.textContent("#input-commitment")).to.equal(packedCommitment(bytes, 8).toString());
    const ref = inferQuantizedGraph(built.quantized, bytes);
    expect(await page.getAttribute("#input-prediction", "data-predicted")).to.equal(String(ref.predicted));
    await shot("#request", "4-drawn");

    await post(2);
    await page.waitForSelector(`${row(2)} td.status-fulfilled`, { timeout: WAIT_MS });
    expect(await cell(2, "class").textContent()).to.equal(String(ref.predicted));
    const market = InferenceMarket__factory.connect(deployment.market, provider);
    const [fulfilled] = await market.queryFilter(market.filters.InferenceFulfilled(2n));
    expect(fulfilled.args.output).to.equal(ref.output);
  });

  it("proves the drawn digit in the page and records it with attest (checked on-chain)", async function () {
    const bytes = Uint8Array.from((await page.getAttribute("#input-bytes", "data-bytes"))!.split(",").map(Number));
    const ref = inferQuantizedGraph(built.quantized, bytes);
    await page.click("#attest");
    await page.waitForSelector('#attest-status[data-attested], #attest-status[data-kind="error"]', {
      timeout: WAIT_MS,
    });
    const text = (await page.textContent("#attest-status")) ?? "";
    expect(await page.getAttribute("#attest-status", "data-attested"), text).to.equal("true");
    expect(await page.getAttribute("#attest-status", "data-class")).to.equal(String(ref.predicted));
    expect(text).to.match(
      /^proved in this page \(witness \d+ ms, proof \d+ ms\), attest\(\) used [\d,]+ gas: class \d/,
    );
    // The chain's record: an InferenceAttested event of request id 0 from the page's account.
    const market = InferenceMarket__factory.connect(deployment.market, provider);
    const events = await market.queryFilter(
      market.filters.InferenceAttested(BigInt(deployment.modelId), ref.inputCommitment, undefined, accounts[REQUESTER]),
    );
    expect(events).to.have.length(1);
    expect(events[0].args.requestId).to.equal(0n);
    expect(events[0].args.output).to.equal(ref.output);
    const fact = factOf(BigInt(deployment.modelId), ref.inputCommitment, ref.output);
    expect(await page.getAttribute("#attest-status", "data-fact")).to.equal(fact);
    expect(await market.isAttested(fact, attestationRoot([fact]), [])).to.equal(true);
    await shot("#request", "6-attested");
  });

  it("shows the market: requests, settlements, gas per inference and the validator's stake", async function () {
    await page.locator('[data-total="settled"] dd', { hasText: /^2$/ }).waitFor({ timeout: WAIT_MS });
    const total = (k: string) => page.textContent(`[data-total="${k}"] dd`);
    expect(await total("requests")).to.equal("2");
    expect(await total("refunded")).to.equal("0");
    const gas = await Promise.all([1, 2].map(async (id) => Number(await cell(id, "gas").getAttribute("data-gas"))));
    expect(await total("gas")).to.equal(Math.round((gas[0] + gas[1]) / 2).toLocaleString("en-US"));
    const market = InferenceMarket__factory.connect(deployment.market, provider);
    const { minStake } = await market.params();
    const stake = await market.stakeOf(accounts[VALIDATOR]);
    expect(stake.amount).to.equal(minStake);
    const v = page.locator(`#validator-rows tr[data-validator="${accounts[VALIDATOR]}"]`);
    expect(await v.locator('[data-field="stake"]').textContent()).to.equal(`${formatUnits(stake.amount)} POIT`);
    expect(await v.locator('[data-field="settled"]').textContent()).to.equal("2");
    expect(await page.locator("#market-charts figure").count()).to.equal(3);
    await shot("#market", "5-market");
    await page.screenshot({ path: path.join(SHOTS, "app.png"), fullPage: true });
  });

  it("says plainly when the page's ?rpc= reaches no node", async function () {
    const url = `http://127.0.0.1:${await freePort()}`;
    // A page of its own: the browser logs the refused connection, as it should.
    const other = await browser!.newPage();
    try {
      await other.goto(`${appUrl}?rpc=${encodeURIComponent(url)}`);
      await other.waitForSelector('body[data-ready="failed"]', { timeout: WAIT_MS });
      expect(await other.textContent("#chain-status")).to.match(
        new RegExp(`^cannot reach the chain at ${url} \\(.*\\): is the node running\\?$`),
      );
    } finally {
      await other.close();
    }
  });

  it("says plainly when the deployment file is of another chain, or names no market on this one", async function () {
    // The server reads the deployment file afresh for every page: a stale one, as after a node restart.
    const original = readFileSync(deploymentFile, "utf8");
    const status = async (changes: Record<string, string>) => {
      writeFileSync(deploymentFile, JSON.stringify({ ...JSON.parse(original), ...changes }));
      const other = await browser!.newPage();
      try {
        await other.goto(appUrl);
        await other.waitForSelector('body[data-ready="failed"]', { timeout: WAIT_MS });
        return await other.textContent("#chain-status");
      } finally {
        await other.close();
      }
    };
    try {
      expect(await status({ chainId: "1" })).to.equal(
        `the chain at ${node!.url} has id 31337, but deployment.json was deployed on chain 1: wrong RPC or deployment file`,
      );
      const nothing = accounts[9];
      expect(await status({ market: nothing })).to.equal(
        `no market at ${nothing} on the chain at ${node!.url} (chain 31337): the node was restarted since deployment.json was written; deploy again`,
      );
    } finally {
      writeFileSync(deploymentFile, original);
    }
  });

  it("prints nothing but its own lines, and the page logs no warning or error", function () {
    expect(foreignStderrLines(app!.stderr)).to.deep.equal([]);
    expect(pageProblems).to.deep.equal([]);
  });
});

describe("npm run app: bad input is refused before anything is served", function () {
  async function serve(args: string[]) {
    const c = startChild(["--import", "tsx", path.join("app", "serve.ts"), ...args]);
    const { code } = await c.exited;
    return { code, stderr: c.stderr.join("\n") };
  }

  it("a missing deployment file: exit 2, naming it and how to make one", async function () {
    const r = await serve(["--deployment", "no-such-deployment.json"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal(
      "poi app: deployment file no-such-deployment.json does not exist: deploy with `npx poi deploy --manifest FILE --network localhost`, or pass --deployment FILE",
    );
  });

  it("a deployment file that is not JSON: exit 2, naming it", async function () {
    const dir = mkdtempSync(path.join(os.tmpdir(), "poi-web-app-bad-"));
    try {
      const file = path.join(dir, "deployment.json");
      writeFileSync(file, '{"format": "poi-deployment/1",');
      const r = await serve(["--deployment", file]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(new RegExp(`^poi app: deployment file ${file} is not valid JSON \\(`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an unknown option or a bad port: exit 2, naming it", async function () {
    const unknown = await serve(["--rpc", "http://127.0.0.1:8545"]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.equal("poi app: Unknown option '--rpc' (npm run app -- --help lists the options)");
    const port = await serve(["--port", "http"]);
    expect(port.code).to.equal(2);
    expect(port.stderr).to.equal("poi app: --port http: expected an integer port 0..65535");
  });
});

/** Resolves once `child` writes a stdout line matching `pattern`. */
async function waitForLine(child: Child, pattern: RegExp, what: string): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const hit = child.stdout.find((l) => pattern.test(l));
    if (hit) return hit;
    if (child.process.exitCode !== null)
      throw new Error(`${what} exited with ${child.process.exitCode}:\n${child.stderr.join("\n")}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${child.stderr.join("\n")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
