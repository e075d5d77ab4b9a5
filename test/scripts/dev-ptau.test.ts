/**
 * Development powers of tau made from a public secret (scripts/setup/dev-ptau.ts): snarkjs
 * verifies them, every machine makes the same file, its [tau]_2 is the PLONK verifier's
 * development ceremony, their Lagrange sections are the bytes snarkjs's own `prepare phase2` computes,
 * they are labelled insecure, refused where a listed file is required, and reused from the
 * machine's cache only while they match the hash recorded when they were made.
 */
import { expect } from "chai";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as snarkjs from "snarkjs";
import { DEV_CONTRIBUTION_NAME } from "../../scripts/setup/dev-ptau.ts";
import { UNIVERSAL_CEREMONIES } from "../../scripts/setup/plonk-setup.ts";
import {
  checkDevPtau,
  checkKnownOrDevPtau,
  checkPtau,
  checkPtauForSetup,
  devPtauCacheDir,
  generateDevPtau,
  ptauHeaderPower,
  ptauTau2,
  resolvePtau,
  sharedPtauDirs,
} from "../../scripts/setup/ptau.ts";

/** Collects snarkjs's log lines, so a failed verification says which check failed. */
function collectingLogger() {
  const lines: string[] = [];
  const keep = (level: string) => (msg: string) => lines.push(`${level}: ${msg}`);
  return { lines, logger: { debug: () => {}, info: keep("info"), warn: keep("warn"), error: keep("error") } };
}

/** The file cut back to its first seven sections (header .. contributions), as before `prepare phase2`. */
function withoutLagrangeSections(file: string): Buffer {
  const bytes = readFileSync(file);
  let pos = 12;
  while (pos < bytes.length) {
    const id = bytes.readUInt32LE(pos);
    if (id === 12) {
      const head = Buffer.from(bytes.subarray(0, pos));
      head.writeUInt32LE(7, 8);
      return head;
    }
    pos += 12 + Number(bytes.readBigUInt64LE(pos + 4));
  }
  throw new Error(`${file} has no section 12`);
}

describe("development powers of tau from a public secret", function () {
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "poi-dev-ptau-"));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("passes snarkjs powersoftau verify, with the Lagrange sections snarkjs's prepare phase2 computes", async function () {
    const made = await generateDevPtau(6, dir);
    const { lines, logger } = collectingLogger();
    expect(await snarkjs.powersOfTau.verify(made.path, logger), lines.join("\n")).to.equal(true);
    expect(lines.join("\n")).to.include(`Contribution #1: ${DEV_CONTRIBUTION_NAME}`);
    expect(lines.join("\n")).not.to.match(/does not contain phase2/);

    const before = path.join(dir, "first-seven-sections.ptau");
    const prepared = path.join(dir, "prepared-by-snarkjs.ptau");
    writeFileSync(before, withoutLagrangeSections(made.path));
    await snarkjs.powersOfTau.preparePhase2(before, prepared);
    expect(Buffer.compare(readFileSync(prepared), readFileSync(made.path))).to.equal(0);
  });

  it("is the same file on every machine, whose [tau]_2 is the PLONK verifier's development ceremony", async function () {
    const made = await generateDevPtau(6, dir);
    const elsewhere = await generateDevPtau(6, path.join(dir, "elsewhere"));
    expect(elsewhere.path).to.not.equal(made.path);
    expect(Buffer.compare(readFileSync(elsewhere.path), readFileSync(made.path))).to.equal(0);
    const generated = UNIVERSAL_CEREMONIES.find((c) => c.id === 5)!;
    expect(generated.insecure).to.equal(true);
    expect(await ptauTau2(made.path)).to.deep.equal(generated.tau2);
  });

  it("is labelled insecure and refused where a listed ceremony or development file is required", async function () {
    const made = await generateDevPtau(6, dir);
    expect(path.basename(made.path)).to.match(/insecure/);
    expect(made.insecure).to.equal(true);
    expect(made.origin).to.match(/INSECURE/);
    await assert.rejects(checkPtau(made.path, 0), /not a known ceremony or development file/);
    await assert.rejects(checkPtauForSetup(made.path, false), /not a known ceremony or development file/);
    const asked = await checkPtauForSetup(made.path, true);
    // Taken when asked, with the power and hash of its record.
    expect(asked).to.include({ insecure: true, power: 6, blake2b: made.blake2b });
    expect(ptauHeaderPower(made.path)).to.equal(6);
    const local = await checkKnownOrDevPtau(made.path, 6);
    expect(local).to.include({ insecure: true, power: 6, blake2b: made.blake2b });
    await assert.rejects(checkDevPtau(made.path, 7), /holds 2\^6 constraints; the circuit needs 2\^7/);
  });

  it("is made once and reused only while it matches the hash recorded when it was made", async function () {
    const cache = path.join(dir, "cache");
    const first = await resolvePtau({ minPower: 5, searchDirs: [], generatedDir: cache });
    expect(first.power).to.equal(8); // the smallest power made, so that tiny circuits share a file
    const mtime = statSync(first.path).mtimeMs;
    const again = await resolvePtau({ minPower: 7, searchDirs: [], generatedDir: cache });
    expect(again).to.deep.equal(first);
    expect(statSync(first.path).mtimeMs).to.equal(mtime);

    const bytes = readFileSync(first.path);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(first.path, bytes);
    await assert.rejects(
      resolvePtau({ minPower: 7, searchDirs: [], generatedDir: cache }),
      /not the .* recorded when it was made; refusing it \(delete it and dev-insecure-generated-pot8\.ptau\.json/,
    );
    rmSync(`${first.path}.json`);
    await assert.rejects(checkDevPtau(first.path, 0), /has no record dev-insecure-generated-pot8\.ptau\.json/);
  });

  it("lives in the user's cache, and POI_NO_SHARED_PTAU=1 ignores the shared files", function () {
    const saved = { xdg: process.env.XDG_CACHE_HOME, noShared: process.env.POI_NO_SHARED_PTAU };
    try {
      process.env.XDG_CACHE_HOME = path.join(dir, "xdg");
      expect(devPtauCacheDir()).to.equal(path.join(dir, "xdg", "poi", "ptau"));
      delete process.env.XDG_CACHE_HOME;
      expect(devPtauCacheDir()).to.equal(path.join(os.homedir(), ".cache", "poi", "ptau"));
      delete process.env.POI_NO_SHARED_PTAU;
      expect(sharedPtauDirs().map((d) => path.basename(path.dirname(d)) + "/" + path.basename(d))).to.deep.equal([
        "shared/ptau",
      ]);
      process.env.POI_NO_SHARED_PTAU = "1";
      expect(sharedPtauDirs()).to.deep.equal([]);
    } finally {
      for (const [key, value] of [
        ["XDG_CACHE_HOME", saved.xdg],
        ["POI_NO_SHARED_PTAU", saved.noShared],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});
