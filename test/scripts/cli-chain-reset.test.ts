/**
 * A validator daemon whose node restarts with a fresh chain while it runs: the node's url stays
 * the same (a proxy in front of it is moved from the old node to the new one), and the daemon must
 * notice on its next pass and stop with exit 3, rather than idle on a chain that holds none of its
 * requests.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { poiInProcess } from "../helpers/cli.ts";
import {
  foreignStderrLines,
  freePort,
  startHardhatNode,
  startPoiAsUser,
  TcpProxy,
  type HardhatNode,
} from "../helpers/processes.ts";

describe("poi validator and a chain reset", function () {
  let built: BuiltModel;
  let dir: string;
  const nodes: HardhatNode[] = [];
  const proxies: TcpProxy[] = [];

  before(async function () {
    built = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    dir = mkdtempSync(path.join(os.tmpdir(), "poi-chain-reset-"));
  });

  after(async function () {
    for (const p of proxies) await p.stop();
    for (const n of nodes) await n.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("stops with exit 3 when the node's chain is replaced while it runs", async function () {
    const first = await startHardhatNode();
    nodes.push(first);
    const port = await freePort();
    const before = new TcpProxy(port, first.port);
    proxies.push(before);
    await before.start();
    const dep = path.join(dir, "deployment.json");
    const deployed = await poiInProcess([
      "deploy",
      "--manifest",
      built.manifestFile,
      "--network",
      "localhost",
      "--rpc-url",
      before.url,
      "--deployment",
      dep,
    ]);
    expect(deployed.code, deployed.err).to.equal(0);

    const validator = startPoiAsUser([
      "validator",
      "--mint-stake",
      "--account",
      "3",
      "--threads",
      "0",
      "--poll-ms",
      "200",
      "--journal",
      path.join(dir, "validator.sqlite"),
      "--deployment",
      dep,
    ]);
    try {
      await validator.waitFor((e) => e.event === "started", 300_000, "the validator's start");
      // The node goes down and comes back, at the same url, as a new chain.
      await before.stop();
      await first.stop();
      const second = await startHardhatNode();
      nodes.push(second);
      const after = new TcpProxy(port, second.port);
      proxies.push(after);
      await after.start();

      const { code } = await validator.exited;
      expect(code, validator.stderr.join("\n")).to.equal(3);
      expect(validator.stderr.join("\n")).to.match(/the node's chain was reset while the validator ran/);
      expect(foreignStderrLines(validator.stderr)).to.deep.equal([]);
    } finally {
      await validator.kill();
    }
  });
});
