/**
 * The requester's path through `poi`, against a `hardhat node` of the test's own, as a new user
 * walks it: a deployment file that keeps its node's url, bad inputs refused before anything is sent
 * (the requester's balance and the market's request count unchanged), the README's request
 * answered with `--wait`, `status` decoding the answer, `models`, `refund`, `unstake`, and the
 * plain answers to a stale deployment file. Quick commands run in this process through the
 * dispatcher; the validator daemon and the README's request run as `npx poi` would.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider } from "ethers";
import { loadMnist } from "../../scripts/model/mnist.ts";
import { inferQuantizedGraph } from "../../scripts/model/graph-inference.ts";
import { readQuantizedGraph } from "../../scripts/model/quantize-graph.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { InferenceMarket__factory, TestToken__factory } from "../../types/ethers-contracts/index.js";
import { poiAsUser, poiInProcess as poiHere } from "../helpers/cli.ts";
import { startHardhatNode, startPoiAsUser, type Child, type HardhatNode, ROOT } from "../helpers/processes.ts";

const EXIT = { ok: 0, usage: 2, integrity: 3, chain: 4 };

describe("poi, the requester's path", function () {
  let built: BuiltModel;
  let dir: string;
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let dep: string;
  let validator: Child | undefined;

  before(async function () {
    built = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    dir = mkdtempSync(path.join(os.tmpdir(), "poi-cli-requester-"));
    node = await startHardhatNode();
    provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
    dep = path.join(dir, "deployment.json");
  });

  after(async function () {
    await validator?.kill();
    provider?.destroy();
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const token = () => TestToken__factory.connect(JSON.parse(readFileSync(dep, "utf8")).token, provider);
  const market = () => InferenceMarket__factory.connect(JSON.parse(readFileSync(dep, "utf8")).market, provider);
  const account = async (i: number) => (await provider.listAccounts())[i]!.address;

  it("the README's requester section works as written on a fresh hardhat node", async function () {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## For requesters"));
    const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
    const lines = block
      .split("\n")
      .map((l) => l.replace(/#.*/, "").trim())
      .filter((l) => l.startsWith("npx poi "))
      .map((l) => l.slice("npx poi ".length).split(/\s+/));
    expect(lines.map((l) => l[0])).to.deep.equal(["deploy", "validator", "models", "request", "status"]);
    // This node's url instead of 127.0.0.1:8545, and files of the test's own instead of the repository's.
    const own = (args: string[]) => [...args, "--rpc-url", node.url, "--deployment", dep];
    const [deploy, validatorLine, models, request, status] = lines;
    const deployed = await poiAsUser(own(deploy!));
    expect(deployed.code, deployed.err).to.equal(EXIT.ok);
    validator = startPoiAsUser([...own(validatorLine!), "--journal", path.join(dir, "validator.sqlite")]);
    await validator.waitFor((e) => e.event === "started", 300_000, "the validator's start");

    const listed = await poiAsUser(own(models!));
    expect(listed.code, listed.err).to.equal(EXIT.ok);
    expect(listed.out).to.match(
      /#1 baked, v1: price 1\.0 of 0x[0-9a-fA-F]{40}, owner 0x[0-9a-fA-F]{40}, mnist-mlp, \d+ constraints/,
    );

    const digit = loadMnist().test[7]!;
    const model = readQuantizedGraph(path.resolve(path.dirname(built.manifestFile), built.manifest.model!.path));
    const reference = inferQuantizedGraph(model, digit.pixels);
    const answer = `class ${reference.predicted}, logits [${reference.logits.join(", ")}]; validator ${await account(3)}, gas `;
    const r = await poiAsUser(own(request!));
    expect(r.code, r.err).to.equal(EXIT.ok);
    expect(r.out).to.include(`held-out digit #7, label ${digit.label}`);
    expect(r.out).to.include(answer);

    const s = await poiAsUser(own(status!));
    expect(s.code, s.err).to.equal(EXIT.ok);
    expect(s.out).to.include(`request #1 fulfilled: ${answer}`);
    const json = await poiHere([...own(status!), "--json"]);
    const settlement = JSON.parse(json.out).request.settlement;
    expect(settlement.class).to.equal(reference.predicted);
    expect(settlement.logits).to.deep.equal(reference.logits);
    expect(BigInt(settlement.gasUsed)).to.be.greaterThan(0n);
    await validator.kill();
    validator = undefined;
  });

  it("refuses every bad input before any transaction: exit 2 naming the value and its position, nothing minted or escrowed", async function () {
    const requester = await account(5);
    const requestsBefore = await market().requestCount();
    const bytes = (n: number, at: number, v: unknown) =>
      Array.from({ length: n }, (_, i) => (i === at ? v : 9)) as unknown[];
    const cases: [string, unknown, RegExp][] = [
      ["256", bytes(196, 17, 256), /value 256 at position 17 is not an integer 0\.\.255/],
      ["negative", bytes(196, 0, -1), /value -1 at position 0 is not an integer 0\.\.255/],
      ["fraction", bytes(196, 195, 3.7), /value 3\.7 at position 195 is not an integer 0\.\.255/],
      ["string", bytes(196, 40, "a"), /value "a" at position 40 is not an integer 0\.\.255/],
      ["too short", bytes(10, -1, 0), /10 values, but the model takes 196/],
      ["too long", bytes(784, -1, 0), /784 values, but the model takes 196/],
      ["second of two", [bytes(196, -1, 0), bytes(196, 3, 300)], /input 1: value 300 at position 3/],
    ];
    for (const [name, input, message] of cases) {
      const file = path.join(dir, `bad-${name.replace(/ /g, "-")}.json`);
      writeFileSync(file, JSON.stringify(input));
      // --mint too: a refused input must not even mint the fee.
      const r = await poiHere(["request", "--input", file, "--mint", "--account", "5", "--deployment", dep]);
      expect(r.code, `${name}: ${r.err}`).to.equal(EXIT.usage);
      expect(r.err, name).to.match(message);
      expect(r.err, name).to.include(file);
    }
    const badDigit = await poiHere([
      "request",
      "--test-digit",
      "3,1000",
      "--mint",
      "--account",
      "5",
      "--deployment",
      dep,
    ]);
    expect(badDigit.code).to.equal(EXIT.usage);
    expect(badDigit.err).to.match(/"1000" at position 1 is not an index into the held-out set \(0\.\.999\)/);
    const malformed = path.join(dir, "malformed.json");
    writeFileSync(malformed, '[1, 2, "a');
    const notJson = await poiHere(["request", "--input", malformed, "--account", "5", "--deployment", dep]);
    expect(notJson.code).to.equal(EXIT.usage);
    expect(notJson.err).to.match(
      /input file .*malformed\.json is not valid JSON: .*position \d+ \(line 1 column \d+\)/,
    );

    // A manifest that is not the model's would check against the wrong shape: refused.
    const other = path.join(dir, "other-manifest.json");
    writeFileSync(other, JSON.stringify({ ...built.manifest, vkHash: "0x" + "ab".repeat(32) }));
    const wrongManifest = await poiHere([
      "request",
      "--test-digit",
      "3",
      "--manifest",
      other,
      "--mint",
      "--account",
      "5",
      "--deployment",
      dep,
    ]);
    expect(wrongManifest.code).to.equal(EXIT.usage);
    expect(wrongManifest.err).to.match(/manifest .*other-manifest\.json is not model #1's: its verification key hash/);

    expect(await token().balanceOf(requester), "nothing minted, nothing escrowed").to.equal(0n);
    expect(await market().requestCount(), "no request opened").to.equal(requestsBefore);
  });

  it("an unfunded requester is told to add --mint, and nothing is sent", async function () {
    const r = await poiHere(["request", "--test-digit", "7", "--account", "6", "--deployment", dep]);
    expect(r.code).to.equal(EXIT.usage);
    expect(r.err).to.match(/holds 0\.0 of the fee token .* cost 1\.0: fund the account, or add --mint/);
    expect(await market().requestCount(), "no request opened").to.equal(1n);
    expect(await token().balanceOf(await account(6))).to.equal(0n);
  });

  it("models lists the registry: id, mode, price, constraints, owner, versions", async function () {
    const r = await poiHere(["models", "--deployment", dep, "--json"]);
    expect(r.code, r.err).to.equal(EXIT.ok);
    const [m] = JSON.parse(r.out).models;
    expect(m).to.include({ id: "1", mode: "baked", version: "1", price: (10n ** 18n).toString(), active: true });
    expect(m.owner).to.equal(await account(0));
    expect(m.constraints).to.equal(built.manifest.constraints);
    expect(m.nextVersion).to.equal(null);
  });

  it("--wait gives up with exit 4 when nobody answers; refund is refused before the deadline, then credits the fee back", async function () {
    const requester = await account(7);
    // No validator runs now: the request stays open and --wait gives up after its timeout.
    const posted = await poiHere([
      "request",
      "--test-digit",
      "8",
      "--mint",
      "--ttl",
      "60",
      "--wait",
      "--wait-timeout",
      "1",
      "--account",
      "7",
      "--deployment",
      dep,
    ]);
    const id = (await market().requestCount()).toString();
    expect(posted.code, posted.err).to.equal(EXIT.chain);
    expect(posted.err).to.include(`gave up waiting: not settled after 1 s: request ${id}`);
    expect(await token().balanceOf(requester)).to.equal(0n);

    const early = await poiHere(["refund", "--request", id, "--account", "7", "--deployment", dep]);
    expect(early.code).to.equal(EXIT.usage);
    expect(early.err).to.match(new RegExp(`request ${id}: its deadline .* has not passed`));

    await provider.send("evm_increaseTime", [61]);
    await provider.send("evm_mine", []);
    const refunded = await poiHere(["refund", "--request", id, "--withdraw", "--account", "7", "--deployment", dep]);
    expect(refunded.code, refunded.err).to.equal(EXIT.ok);
    expect(await token().balanceOf(requester), "the fee is back").to.equal(10n ** 18n);
    const twice = await poiHere(["refund", "--request", id, "--deployment", dep]);
    expect(twice.code).to.equal(EXIT.usage);
    expect(twice.err).to.match(/refunded already/);
  });

  it("unstake: starts unbonding, refuses to withdraw before the delay, then withdraws", async function () {
    const v = await account(3);
    const stake = await market().stakeOf(v);
    expect(stake.amount).to.be.greaterThan(0n);
    const started = await poiHere(["unstake", "--account", "3", "--deployment", dep, "--json"]);
    expect(started.code, started.err).to.equal(EXIT.ok);
    expect(BigInt(JSON.parse(started.out).unbonding)).to.equal(stake.amount);

    const early = await poiHere(["unstake", "--withdraw", "--account", "3", "--deployment", dep]);
    expect(early.code).to.equal(EXIT.usage);
    expect(early.err).to.match(/unbonds until .* s to go/);

    const { unbondingDelay } = await market().params();
    await provider.send("evm_increaseTime", [Number(unbondingDelay) + 1]);
    await provider.send("evm_mine", []);
    const before = await token().balanceOf(v);
    const withdrawn = await poiHere(["unstake", "--withdraw", "--account", "3", "--deployment", dep]);
    expect(withdrawn.code, withdrawn.err).to.equal(EXIT.ok);
    expect(await token().balanceOf(v)).to.equal(before + stake.amount);
  });

  it("deploy keeps the node's url and chain id, and refuses to overwrite a deployment file without --force", async function () {
    const net = ["--network", "localhost", "--rpc-url", node.url, "--deployment", dep];
    // The README's deploy (the first test) kept the url it was given, with the chain id.
    const written = JSON.parse(readFileSync(dep, "utf8"));
    expect(written.rpcUrl).to.equal(node.url);
    expect(written.chainId).to.equal("31337");

    const again = await poiHere(["deploy", "--manifest", built.manifestFile, ...net]);
    expect(again.code).to.equal(EXIT.usage);
    expect(again.err).to.match(/deployment file .*deployment\.json exists .* pass --force/);
    expect(JSON.parse(readFileSync(dep, "utf8")).market, "the file is untouched").to.equal(written.market);

    const forced = await poiHere(["deploy", "--manifest", built.manifestFile, ...net, "--force", "--json"]);
    expect(forced.code, forced.err).to.equal(EXIT.ok);
    expect(JSON.parse(readFileSync(dep, "utf8")).market).to.not.equal(written.market);
  });

  it("a deployment file of another chain or address gets a plain answer, exit 4", async function () {
    const written = JSON.parse(readFileSync(dep, "utf8"));
    const otherChain = path.join(dir, "other-chain.json");
    writeFileSync(otherChain, JSON.stringify({ ...written, chainId: "1" }));
    const wrongChain = await poiHere(["status", "--deployment", otherChain]);
    expect(wrongChain.code).to.equal(EXIT.chain);
    expect(wrongChain.err).to.match(
      /the node is chain 31337, but the deployment file .*other-chain\.json was written for chain 1/,
    );

    // A deployment made on the in-process chain, which ended with the command that made it.
    const inProcess = path.join(dir, "in-process.json");
    writeFileSync(inProcess, JSON.stringify({ ...written, network: "hardhat", rpcUrl: undefined }));
    const gone = await poiHere(["status", "--deployment", inProcess]);
    expect(gone.code).to.equal(EXIT.chain);
    expect(gone.err).to.match(
      /no market at 0x[0-9a-fA-F]{40} on chain 31337 .*the in-process chain lives only as long as one command/,
    );

    const noMarket = path.join(dir, "no-market.json");
    const nowhere = "0x000000000000000000000000000000000000dEaD";
    writeFileSync(noMarket, JSON.stringify({ ...written, market: nowhere, chainId: "1" }));
    for (const command of [["status"], ["request", "--test-digit", "1"], ["models"], ["withdraw"], ["unstake"]]) {
      const r = await poiHere([...command, "--deployment", noMarket]);
      expect(r.code, command[0]).to.equal(EXIT.chain);
      expect(r.err, command[0]).to.include(
        `no market at ${nowhere} on chain 31337 (the deployment file ${noMarket} was written for chain 1)`,
      );
    }
  });
});
