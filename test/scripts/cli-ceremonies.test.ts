/**
 * `poi deploy`'s switch for insecure ceremonies: the model registry takes universal (PLONK) keys of
 * the insecure development ceremonies on the local development chain (chain id 31337) by default,
 * and on any other chain only with --allow-insecure-ceremonies. The deployment file records what the
 * registry says, `poi models` prints it with each universal model's ceremony (as `poi status` does
 * for a request's model), and `poi register` refuses a development key for a registry that does not
 * accept it (exit 3), registering nothing.
 * The other chain is a `hardhat node --chain-id 1337` of the test's own.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider, MaxUint256 } from "ethers";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { releaseProverThreads } from "../../scripts/prove/prover.ts";
import { ceremonyOfKey } from "../../scripts/setup/plonk-setup.ts";
import { InferenceMarket__factory, TestToken__factory } from "../../types/ethers-contracts/index.js";
import { poiInProcess as poiHere } from "../helpers/cli.ts";
import { startHardhatNode, type HardhatNode } from "../helpers/processes.ts";
import { universalDevPtau, tinyUniversalModel } from "../helpers/universal-model.ts";

const EXIT = { ok: 0, integrity: 3 };
const OTHER_CHAIN = 1337;

describe("poi deploy: a registry that refuses insecure ceremonies off the development chain", function () {
  let built: BuiltModel;
  let dir: string;
  let node: HardhatNode;
  let vkey: string;
  /** The development ceremony the test's universal key names (2 or 5, per the clone's ptau). */
  let ceremony: number;

  before(async function () {
    built = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    const model = await tinyUniversalModel(await universalDevPtau());
    dir = mkdtempSync(path.join(os.tmpdir(), "poi-cli-ceremonies-"));
    vkey = path.join(dir, "tiny.plonk.vkey.json");
    writeFileSync(vkey, JSON.stringify(model.vk));
    const c = ceremonyOfKey(model.vk)!;
    expect(c.insecure, "the test key names a development ceremony").to.equal(true);
    ceremony = c.id;
    node = await startHardhatNode(120_000, OTHER_CHAIN);
  });

  after(async function () {
    await node?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await releaseProverThreads(); // a fresh clone's PLONK setup started snarkjs's workers
  });

  const written = (file: string) => JSON.parse(readFileSync(file, "utf8"));

  it("on the local development chain (31337) the registry accepts them without being asked", async function () {
    const file = path.join(dir, "local.json");
    const r = await poiHere(["deploy", "--manifest", built.manifestFile, "--deployment", file]);
    expect(r.code, r.err).to.equal(EXIT.ok);
    expect(r.out).to.match(
      /model registry 0x[0-9a-fA-F]{40}: ACCEPTS universal keys of INSECURE development ceremonies/,
    );
    expect(written(file)).to.include({ chainId: "31337", acceptsInsecureCeremonies: true });
  });

  it("on another chain it refuses them: poi register says so (exit 3) and registers nothing", async function () {
    const file = path.join(dir, "other.json");
    const net = ["--network", "localhost", "--rpc-url", node.url, "--deployment", file];
    const deployed = await poiHere(["deploy", "--manifest", built.manifestFile, ...net]);
    expect(deployed.code, deployed.err).to.equal(EXIT.ok);
    expect(deployed.out).to.match(/model registry 0x[0-9a-fA-F]{40}: refuses universal keys of insecure/);
    expect(written(file)).to.include({ chainId: String(OTHER_CHAIN), acceptsInsecureCeremonies: false });

    const refused = await poiHere(["register", "--plonk-vkey", vkey, ...net]);
    expect(refused.code).to.equal(EXIT.integrity);
    expect(refused.err).to.include(
      `${vkey} names ceremony ${ceremony} (`, // the key file and its ceremony
    );
    expect(refused.err).to.include(`the model registry ${written(file).registry} was deployed not to accept those`);

    const models = await poiHere(["models", ...net, "--json"]);
    expect(models.code, models.err).to.equal(EXIT.ok);
    const listed = JSON.parse(models.out);
    expect(listed.acceptsInsecureCeremonies).to.equal(false);
    expect(
      listed.models.map((m: { mode: string }) => m.mode),
      "only the deployment's baked model",
    ).to.deep.equal(["baked"]);
  });

  it("with --allow-insecure-ceremonies it accepts them; poi models and poi status show the model's INSECURE ceremony", async function () {
    const file = path.join(dir, "other.json");
    const net = ["--network", "localhost", "--rpc-url", node.url, "--deployment", file];
    const deployed = await poiHere([
      "deploy",
      "--manifest",
      built.manifestFile,
      ...net,
      "--allow-insecure-ceremonies",
      "--force",
    ]);
    expect(deployed.code, deployed.err).to.equal(EXIT.ok);
    expect(deployed.out).to.match(/model registry 0x[0-9a-fA-F]{40}: ACCEPTS universal keys of INSECURE/);
    expect(written(file)).to.include({ chainId: String(OTHER_CHAIN), acceptsInsecureCeremonies: true });

    const registered = await poiHere(["register", "--plonk-vkey", vkey, ...net, "--json"]);
    expect(registered.code, registered.err).to.equal(EXIT.ok);
    expect(JSON.parse(registered.out)).to.include({ modelId: "2", mode: "universal" });

    const text = await poiHere(["models", ...net]);
    expect(text.code, text.err).to.equal(EXIT.ok);
    expect(text.out).to.match(/which ACCEPTS universal keys of INSECURE development ceremonies/);
    expect(text.out).to.match(new RegExp(`#2 universal on ceremony ${ceremony} INSECURE \\(.+\\), v1: price 1\\.0`));
    const json = JSON.parse((await poiHere(["models", ...net, "--json"])).out);
    expect(json.models[1].ceremony).to.include({ id: ceremony, insecure: true });
    expect(json.models[0].ceremony, "a baked model names no ceremony").to.equal(undefined);

    // A request to the universal model: poi status names its model's ceremony too.
    const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
    try {
      const requester = await provider.getSigner(5);
      const d = written(file);
      const token = TestToken__factory.connect(d.token, requester);
      await (await token.mint(requester.address, 10n ** 18n)).wait();
      await (await token.approve(d.market, MaxUint256)).wait();
      const market = InferenceMarket__factory.connect(d.market, requester);
      const deadline = BigInt((await provider.getBlock("latest"))!.timestamp + 3600);
      await (await market.requestInference(2n, 1n, "0x", deadline, 10n ** 18n)).wait();
    } finally {
      provider.destroy();
    }
    const status = await poiHere(["status", "--request", "1", ...net]);
    expect(status.code, status.err).to.equal(EXIT.ok);
    expect(status.out).to.match(
      new RegExp(`request #1 \\(model #2, universal on ceremony ${ceremony} INSECURE \\(.+\\)\\): Open`),
    );
  });
});
