/**
 * The `poi` command line as a user runs it: real processes, their exit codes and outputs, and
 * one deployer-requester-validator round trip against a `hardhat node` of the test's own. Every
 * exit code of the README's table is shown here or in the requester's tests (cli-requester,
 * cli-chain-reset): 0, 1 (a bug), 2 (usage, bad input, a rejected model), 3 (integrity), 4
 * (chain), 5 (checked and false).
 */
import { expect } from "chai";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { TOOLKIT_COMMANDS } from "../../scripts/cli/commands/index.ts";
import { COMMANDS, type Command } from "../../scripts/cli/poi.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { poiAsUser as poi, poiInProcess } from "../helpers/cli.ts";
import { startHardhatNode } from "../helpers/processes.ts";

const EXIT = { ok: 0, unexpected: 1, usage: 2, integrity: 3, chain: 4, invalid: 5 };

describe("poi command line", function () {
  let built: BuiltModel;
  let dir: string;

  before(async function () {
    built = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    dir = mkdtempSync(path.join(os.tmpdir(), "poi-cli-"));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("answers -h, --help and poi help <cmd> for every command, and describes every flag", async function () {
    // In this process (the dispatcher's main), not a process per command: --help loads no chain module.
    for (const c of COMMANDS) {
      for (const ask of [
        [c.name, "--help"],
        [c.name, "-h"],
        ["help", c.name],
      ]) {
        const r = await poiInProcess(ask);
        expect(r.code, ask.join(" ")).to.equal(EXIT.ok);
        expect(r.out, ask.join(" ")).to.match(new RegExp(`^usage: poi ${c.name}`));
        // Every flag has a line of its own: the flag, then (after two spaces or more) what it does.
        for (const f of [...c.valueFlags, ...c.booleanFlags, "json", "help"])
          expect(r.out, `${c.name} --${f}`).to.match(new RegExp(`^\\s+(-h, )?--${f}\\b[^\\n]*?\\s{2,}\\S`, "m"));
      }
    }
    expect(TOOLKIT_COMMANDS.map((c) => c.name)).to.include.members([
      "ptau",
      "setup",
      "contribute",
      "beacon",
      "verify-setup",
      "deploy",
      "register",
      "models",
      "request",
      "refund",
      "prove",
      "verify",
      "validator",
      "withdraw",
      "unstake",
      "status",
    ]);
    const top = await poiInProcess(["-h"]);
    expect(top.code).to.equal(EXIT.ok);
    expect(top.out).to.match(/poi help <command>/);
    expect(top.out).to.match(/exit codes: 0 success, 1 unexpected failure/);
    const unknownOption = await poiInProcess(["status", "--no-such-option"]);
    expect(unknownOption.code).to.equal(EXIT.usage);
    expect(unknownOption.err).to.match(/unknown option --no-such-option for poi status/);
    const unknownTopic = await poiInProcess(["help", "nope"]);
    expect(unknownTopic.code).to.equal(EXIT.usage);
    expect(unknownTopic.err).to.match(/poi help takes one command name/);
  });

  it("exit 1 only for what nobody classified (a bug), and says so instead of passing a raw error off as an answer", async function () {
    // A command that fails the way a bug does: the dispatcher is what is under test.
    const buggy: Command = {
      name: "buggy",
      usage: "poi buggy",
      summary: "fails like a bug",
      valueFlags: [],
      booleanFlags: [],
      run: async () => (undefined as unknown as { x: { y: number } }).x.y as never,
    };
    COMMANDS.push(buggy);
    try {
      const r = await poiInProcess(["buggy"]);
      expect(r.code).to.equal(EXIT.unexpected);
      expect(r.err).to.match(
        /^poi: unexpected failure \(a bug in poi; please report it with the command\): TypeError: /,
      );
    } finally {
      COMMANDS.splice(COMMANDS.indexOf(buggy), 1);
    }
  });

  it("a rejected model, a malformed manifest and a bad proof file exit 2, naming the file and the fault", async function () {
    const notOnnx = path.join(dir, "not-a-model.onnx");
    writeFileSync(notOnnx, "this is not protobuf at all, just text");
    for (const command of [
      ["inspect", notOnnx],
      ["compile", notOnnx, "--out", path.join(dir, "compiled")],
    ]) {
      const r = await poiInProcess(command);
      expect(r.code, command[0]).to.equal(EXIT.usage);
      expect(r.err, command[0]).to.include("not-a-model.onnx");
      expect(r.err, command[0]).to.not.match(/unexpected failure/);
    }
    const missing = await poiInProcess(["compile", path.join(dir, "absent.onnx")]);
    expect(missing.code).to.equal(EXIT.usage);
    expect(missing.err).to.match(/ONNX model .*absent\.onnx does not exist/);

    // A setup given a file that is not what circom writes: refused before snarkjs reads it.
    const fakeR1cs = path.join(dir, "fake.r1cs");
    writeFileSync(fakeR1cs, "not an r1cs");
    const setup = await poiInProcess(["setup", "--r1cs", fakeR1cs, "--wasm", fakeR1cs, "--ptau", fakeR1cs]);
    expect(setup.code).to.equal(EXIT.usage);
    expect(setup.err).to.match(/r1cs .*fake\.r1cs does not start like the files circom --r1cs writes/);

    const brokenManifest = path.join(dir, "broken-manifest.json");
    writeFileSync(brokenManifest, '{"format": "poi-artifact-manifest/1", "circuit": "x", ');
    const proofFile = path.join(dir, "some-proof.json");
    writeFileSync(proofFile, JSON.stringify({ proof: { pi_a: [], pi_b: [], pi_c: [] }, publicSignals: ["1"] }));
    const manifestBad = await poiInProcess(["verify", "--manifest", brokenManifest, "--proof", proofFile]);
    expect(manifestBad.code).to.equal(EXIT.usage);
    expect(manifestBad.err).to.match(/manifest .*broken-manifest\.json is not valid JSON: .*\(line 1 column \d+\)/);

    // Well-formed JSON that is not a whole manifest: named, with the first entry missing, not a TypeError.
    const partial = path.join(dir, "partial-manifest.json");
    writeFileSync(
      partial,
      JSON.stringify({ ...built.manifest, artifacts: { ...built.manifest.artifacts, zkey: undefined } }),
    );
    for (const command of [
      ["prove", "--manifest", partial, "--input", "x.json", "--binding", "1"],
      ["verify", "--manifest", partial, "--proof", proofFile],
      ["verify-setup", "--manifest", partial, "--ptau", partial],
    ]) {
      const r = await poiInProcess(command);
      expect(r.code, command[0]).to.equal(EXIT.usage);
      expect(r.err, command[0]).to.match(
        /partial-manifest\.json is not a poi artifact manifest: artifact "zkey" \(path and sha256\) is missing/,
      );
    }

    const truncated = path.join(dir, "truncated-proof.json");
    writeFileSync(truncated, '{"proof": {"pi_a": ["1", "2');
    const proofBad = await poiInProcess(["verify", "--manifest", built.manifestFile, "--proof", truncated]);
    expect(proofBad.code).to.equal(EXIT.usage);
    expect(proofBad.err).to.match(/proof file .*truncated-proof\.json is not valid JSON: .*position \d+/);

    const notProof = path.join(dir, "not-a-proof.json");
    writeFileSync(notProof, JSON.stringify({ hello: "world" }));
    const shapeBad = await poiInProcess(["verify", "--manifest", built.manifestFile, "--proof", notProof]);
    expect(shapeBad.code).to.equal(EXIT.usage);
    expect(shapeBad.err).to.match(/proof file .*not-a-proof\.json is not a proof/);
  });

  it("refuses an unknown ptau with exit 3, and labels a new development ptau insecure", async function () {
    const garbage = path.join(dir, "garbage.ptau");
    writeFileSync(garbage, "not a ptau");
    const bad = await poi(["ptau", "check", garbage]);
    expect(bad.code).to.equal(EXIT.integrity);
    expect(bad.err).to.match(/not a known ceremony or development file/);

    const made = await poi(["ptau", "new", "--power", "4", "--out", dir, "--json"]);
    expect(made.code, made.err).to.equal(EXIT.ok);
    const result = JSON.parse(made.out) as { path: string; insecure: boolean; warning: string };
    expect(path.basename(result.path)).to.match(/insecure/);
    expect(result.insecure).to.equal(true);
    expect(result.warning).to.match(/^INSECURE/);
  });

  it("proves and verifies off-chain; a tampered proof exits 5, a corrupted artifact 3, a missing flag or an input out of range 2", async function () {
    const input = path.join(dir, "input.json");
    writeFileSync(input, JSON.stringify({ pixels: new Array(196).fill(7) }));
    const proofFile = path.join(dir, "proof.json");
    const proved = await poi([
      "prove",
      "--manifest",
      built.manifestFile,
      "--input",
      input,
      "--binding",
      "42",
      "--out",
      proofFile,
      "--threads",
      "1",
    ]);
    expect(proved.code, proved.err).to.equal(EXIT.ok);
    expect(proved.out).to.match(/\(witness \d+ ms, proof \d+ ms\)/);
    expect((await poi(["verify", "--manifest", built.manifestFile, "--proof", proofFile])).code).to.equal(EXIT.ok);

    const proof = JSON.parse(readFileSync(proofFile, "utf8")) as { publicSignals: string[] };
    proof.publicSignals[2] = "43"; // another binding: someone else's request
    writeFileSync(proofFile, JSON.stringify(proof));
    expect((await poi(["verify", "--manifest", built.manifestFile, "--proof", proofFile])).code).to.equal(EXIT.invalid);

    const copy = path.join(dir, "artifacts");
    const m = built.manifest.artifacts;
    for (const name of ["zkey", "wasm", "vkey"] as const) {
      mkdirSync(path.dirname(path.join(copy, m[name].path)), { recursive: true });
      copyFileSync(path.resolve(path.dirname(built.manifestFile), m[name].path), path.join(copy, m[name].path));
    }
    copyFileSync(built.manifestFile, path.join(copy, "manifest.json"));
    writeFileSync(path.join(copy, m.wasm.path), "corrupted");
    const refused = await poi([
      "prove",
      "--manifest",
      path.join(copy, "manifest.json"),
      "--input",
      input,
      "--binding",
      "1",
    ]);
    expect(refused.code).to.equal(EXIT.integrity);
    expect(refused.err).to.match(/artifact wasm .* refusing to use it/);

    const outOfRange = path.join(dir, "out-of-range.json");
    writeFileSync(outOfRange, JSON.stringify({ pixels: new Array(196).fill(256) }));
    const rejected = await poi(["prove", "--manifest", built.manifestFile, "--input", outOfRange, "--binding", "1"]);
    expect(rejected.code).to.equal(EXIT.usage);
    // Refused before any witness, naming the file and the rule (no circuit is asked about it).
    expect(rejected.err).to.match(/out-of-range\.json must hold an array of input bytes \(0\.\.255\)/);

    const missing = await poi(["prove", "--manifest", built.manifestFile]);
    expect(missing.code).to.equal(EXIT.usage);
    expect(missing.err).to.match(/--input is required/);
  });

  it("deploys, requests, validates, reports and withdraws against a hardhat node", async function () {
    const node = await startHardhatNode();
    try {
      const net = ["--network", "localhost", "--rpc-url", node.url, "--deployment", path.join(dir, "dep.json")];
      const deployed = await poi(["deploy", "--manifest", built.manifestFile, "--price", "2", ...net, "--json"]);
      expect(deployed.code, deployed.err).to.equal(EXIT.ok);
      expect(JSON.parse(deployed.out).modelId).to.equal("1");

      const requested = await poi(["request", "--digit", "11", "--mint", "--account", "2", ...net, "--json"]);
      expect(requested.code, requested.err).to.equal(EXIT.ok);
      const { requestId } = JSON.parse(requested.out) as { requestId: string };

      const journal = path.join(dir, "validator.sqlite");
      const v = await poi([
        "validator",
        "--mint-stake",
        "--exit-when-idle",
        "--account",
        "3",
        "--journal",
        journal,
        ...net,
      ]);
      expect(v.code, v.err).to.equal(EXIT.ok);
      const summary = v.child.entries.find((e) => e.event === "request-summary" && e.requestId === requestId);
      expect(summary?.outcome).to.equal("fulfilled");

      const status = await poi([
        "status",
        "--request",
        requestId,
        "--journal",
        journal,
        "--account",
        "3",
        ...net,
        "--json",
      ]);
      expect(status.code, status.err).to.equal(EXIT.ok);
      const s = JSON.parse(status.out) as { request: { status: string }; journal: { counts: Record<string, number> } };
      expect(s.request.status).to.equal("Fulfilled");
      expect(s.journal.counts).to.deep.equal({ fulfilled: 1 });

      const withdrawn = await poi(["withdraw", "--account", "3", ...net, "--json"]);
      expect(withdrawn.code, withdrawn.err).to.equal(EXIT.ok);
      expect(BigInt(JSON.parse(withdrawn.out).fees)).to.be.greaterThan(0n);

      // Several inputs: one requestInferences transaction, consecutive ids, each Open with its terms.
      const many = await poi(["request", "--digit", "12,13", "--mint", "--account", "2", ...net, "--json"]);
      expect(many.code, many.err).to.equal(EXIT.ok);
      const { requests } = JSON.parse(many.out) as { requests: { requestId: string; gasUsed: string }[] };
      expect(requests.map((r) => BigInt(r.requestId))).to.deep.equal([BigInt(requestId) + 1n, BigInt(requestId) + 2n]);
      const second = await poi(["status", "--request", requests[1].requestId, ...net, "--json"]);
      expect(second.code, second.err).to.equal(EXIT.ok);
      const r = (JSON.parse(second.out) as { request: { status: string; fee: string; claimer: string } }).request;
      expect(r.status).to.equal("Open");
      expect(r.fee).to.equal((2n * 10n ** 18n).toString());
      const badDigit = await poi(["request", "--digit", "12,x", ...net]);
      expect(badDigit.code).to.equal(EXIT.usage);
      expect(badDigit.err).to.match(/--digit 12,x: "x" at position 1 is not an index into the held-out set/);
      const unknown = await poi(["status", "--request", "99", ...net]);
      expect(unknown.code).to.equal(EXIT.usage);
      expect(unknown.err).to.match(/request 99 does not exist/);

      await node.stop();
      const down = await poi(["status", ...net]);
      expect(down.code).to.equal(EXIT.chain);
    } finally {
      await node.stop();
    }
  });
});
