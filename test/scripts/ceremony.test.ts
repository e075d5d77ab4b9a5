/**
 * The phase-2 ceremony in steps (scripts/setup/ceremony.ts) on a tiny circuit: named
 * contributions, a beacon, a transcript and manifest that verify-setup accepts, and the
 * refusals an auditor relies on (no contribution, a swapped zkey, gamma = delta, a tampered
 * artifact, an unknown ptau).
 */
import { expect } from "chai";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { compileCircuit } from "../../scripts/circuit/compile.ts";
import { applyBeacon, contribute, initCeremony, verifySetup } from "../../scripts/setup/ceremony.ts";
import type { Transcript } from "../../scripts/setup/groth16-setup.ts";
import { sha256File } from "../../scripts/setup/hash.ts";
import { readManifest, writeManifest } from "../../scripts/setup/manifest.ts";
import { checkPtauForSetup, resolvePtau, type ResolvedPtau } from "../../scripts/setup/ptau.ts";

describe("phase-2 ceremony in steps", function () {
  let dir: string;
  let ptau: ResolvedPtau;
  let ptauPath: string;
  let r1cs: string;
  let wasm: string;

  before(async function () {
    // A shared development file where the clone has one, else this machine's cached one (made once).
    ptau = await resolvePtau({ minPower: 8 });
    ptauPath = ptau.path;
    dir = mkdtempSync(path.join(os.tmpdir(), "poi-ceremony-"));
    const source = path.join(dir, "tiny.circom");
    writeFileSync(
      source,
      "pragma circom 2.1.0;\ntemplate Tiny() { signal input a; signal input b; signal output c; c <== a * b; }\ncomponent main { public [a] } = Tiny();\n",
    );
    ({ r1cs, wasm } = await compileCircuit(source, path.join(dir, "build")));
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("records named contributions and a beacon, and verify-setup accepts the result", async function () {
    const out = path.join(dir, "setup");
    const file = await initCeremony({ name: "tiny", r1cs, wasm, ptau, outDir: out });
    const verifierPath = path.join(out, "TinyVerifier.sol");
    const beaconOptions = {
      beacon: "0123456789abcdef",
      ptauPath,
      verifierPath,
      verifierContract: "TinyVerifier",
      command: "test",
    };
    await assert.rejects(applyBeacon(file, beaconOptions), /no contribution yet/);
    await contribute(file, "Alice");
    await contribute(file, "Bob");
    const final = await applyBeacon(file, beaconOptions);
    await assert.rejects(contribute(file, "Late"), /closed/);

    const transcript = JSON.parse(readFileSync(final.transcriptPath, "utf8")) as Transcript;
    expect(transcript.steps.map((s) => [s.step, s.by])).to.deep.equal([
      ["new", undefined],
      ["contribute", "Alice"],
      ["contribute", "Bob"],
      ["beacon", undefined],
    ]);
    expect(final.manifest.artifacts.transcript.sha256).to.equal(await sha256File(final.transcriptPath));
    expect(readFileSync(verifierPath, "utf8")).to.match(/contract TinyVerifier\b/);

    const report = await verifySetup(final.manifestFile, ptauPath);
    expect(report.checks.filter((c) => !c.ok)).to.deep.equal([]);
    expect(report.contributors).to.deep.equal(["Alice", "Bob"]);

    // The manifest pointed at the un-contributed first zkey: gamma = delta, and not the transcript's.
    const m = readManifest(final.manifestFile);
    const first = path.join(out, "tiny.0000.zkey");
    const forged = path.join(out, "forged-manifest.json");
    writeManifest(forged, {
      ...m,
      artifacts: { ...m.artifacts, zkey: { path: "tiny.0000.zkey", sha256: await sha256File(first) } },
    });
    const bad = await verifySetup(forged, ptauPath);
    expect(bad.ok).to.equal(false);
    const failed = bad.checks.filter((c) => !c.ok).map((c) => c.detail);
    expect(failed.join("\n")).to.match(/gamma equals delta/);
    expect(failed.join("\n")).to.match(/final zkey is not the manifest's zkey/);

    // A tampered verification key is caught by its hash.
    const vkey = path.join(out, m.artifacts.vkey.path);
    writeFileSync(vkey, readFileSync(vkey, "utf8").replace(/"nPublic": 2/, '"nPublic": 3'));
    const tampered = await verifySetup(final.manifestFile, ptauPath);
    expect(tampered.checks.find((c) => !c.ok)?.detail).to.match(/artifact vkey .* refusing to use it/);
  });

  it("refuses a ceremony whose latest zkey was swapped, and an unlisted ptau unless asked", async function () {
    const out = path.join(dir, "swap");
    const file = await initCeremony({ name: "tiny", r1cs, wasm, ptau, outDir: out });
    writeFileSync(path.join(out, "tiny.0000.zkey"), "not the recorded zkey");
    await assert.rejects(contribute(file, "Mallory"), /not the zkey the ceremony recorded/);

    const unlisted = path.join(dir, "unlisted.ptau");
    writeFileSync(unlisted, "some bytes");
    await assert.rejects(checkPtauForSetup(unlisted, false), /not a known ceremony or development file/);
    const accepted = await checkPtauForSetup(unlisted, true);
    expect(accepted.insecure).to.equal(true);
    expect(accepted.origin).to.match(/INSECURE/);
  });
});
