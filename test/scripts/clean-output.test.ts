/**
 * Clean output: poi and the demo, run as child processes the way a user runs them (no
 * --no-warnings), write nothing to stderr but poi's own lines, which start with "poi: " or
 * "poi " (scripts/cli/support.ts, stderrLines). The same check runs on every command of the CLI
 * tests (test/scripts/cli.test.ts: ptau, prove, verify, deploy, request, validator, status,
 * withdraw); here are the checker itself, --help, verify-setup and the demo.
 */
import { expect } from "chai";
import { existsSync } from "node:fs";
import path from "node:path";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { devPtauCacheDir, sharedPtauDirs } from "../../scripts/setup/ptau.ts";
import { foreignStderrLines, startChild, startPoiAsUser, type Child } from "../helpers/processes.ts";

async function exited(child: Child): Promise<number | null> {
  const { code } = await child.exited;
  return code;
}

function expectOnlyPoiOnStderr(what: string, child: Child): void {
  expect(foreignStderrLines(child.stderr), `${what}: stderr lines poi did not write`).to.deep.equal([]);
}

describe("clean output of the CLI and the demo", function () {
  let built: BuiltModel;

  before(async function () {
    built = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
  });

  it("the checker tells poi's lines from everyone else's", function () {
    const own = ["poi: journal x.sqlite does not exist", "poi prove (snarkjs, 1 thread): done in 0.4 s"];
    const foreign = [
      "(node:123) Warning: Closing file descriptor 43 on garbage collection",
      "(node:123) ExperimentalWarning: SQLite is an experimental feature and might change at any time",
      'npm warn Unknown project config "onnxruntime-node-install".',
      "Warning: Transient storage as defined by EIP-1153 can break the composability of smart contracts",
      "",
      "poison",
    ];
    expect(foreignStderrLines([own[0], ...foreign, own[1]])).to.deep.equal(foreign);
  });

  it("poi --help writes only poi's lines to stderr", async function () {
    const help = startPoiAsUser(["--help"]);
    expect(await exited(help)).to.equal(0);
    expect(help.stdout.join("\n")).to.match(/verify-setup/);
    expectOnlyPoiOnStderr("poi --help", help);
  });

  it("poi verify-setup (snarkjs zkey verification included) writes only poi's lines to stderr", async function () {
    const named = built.manifest.ptau.file;
    const ptauPath = [...sharedPtauDirs(), devPtauCacheDir()].map((d) => path.join(d, named)).find(existsSync);
    // Skipped only when the build was copied from a machine whose ptau this one does not hold.
    if (!ptauPath) this.skip();
    const report = startPoiAsUser(["verify-setup", "--manifest", built.manifestFile, "--ptau", ptauPath]);
    expect(await exited(report), report.stderr.join("\n")).to.equal(0);
    expectOnlyPoiOnStderr("poi verify-setup", report);
  });

  it("the demo writes only poi's lines to stderr", async function () {
    // What `npm run demo` runs: tsx scripts/demo.ts.
    const demo = startChild([path.join("node_modules", "tsx", "dist", "cli.mjs"), path.join("scripts", "demo.ts")]);
    expect(await exited(demo), demo.stderr.join("\n")).to.equal(0);
    expect(demo.stdout.join("\n")).to.match(/demo complete/);
    expectOnlyPoiOnStderr("npm run demo", demo);
  });
});
