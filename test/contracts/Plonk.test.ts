/**
 * The protocol's own PLONK verifier (contracts/libraries/Plonk.sol) with real snarkjs proofs of a
 * tiny baked model in universal mode: a valid proof accepted, every changed proof word and signal
 * refused, the key unable to verify under any other ceremony it claims, and every kind of unfit
 * key found by keyDefect. Uses a power-12 development ptau the verifier knows: the shared file, or
 * the one poi generates from its public secret on a clone without it.
 */
import { expect } from "chai";
import { network } from "hardhat";
import * as snarkjs from "snarkjs";
import { releaseProverThreads } from "../../scripts/prove/prover.ts";
import {
  ceremonyOfKey,
  encodePlonkKey,
  plonkProofWords,
  rebuildPlonkKey,
  plonkKeyHash,
  UNIVERSAL_CEREMONIES,
  type PlonkProofWords,
  type PlonkVerificationKey,
} from "../../scripts/setup/plonk-setup.ts";
import type { PlonkHarness } from "../../types/ethers-contracts/index.js";
import { universalDevPtau, tinyUniversalModel, type UniversalModel } from "../helpers/universal-model.ts";

const { ethers } = await network.create();

const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** Plonk.KeyDefect, in the library's order. */
const Defect = {
  None: 0n,
  WrongLength: 1n,
  UnknownCeremony: 2n,
  BadDomain: 3n,
  NotCanonical: 4n,
  NotOnCurve: 5n,
  AtInfinity: 6n,
  BadCosets: 7n,
  NoGates: 8n,
};
const QM = 192;
const S1 = QM + 5 * 64;

const word = (v: bigint) => v.toString(16).padStart(64, "0");
/** The key (0x-hex) with the 32-byte word at byte `offset` set to `v`. */
function withWord(key: string, offset: number, v: bigint): string {
  const hex = key.slice(2);
  return "0x" + hex.slice(0, offset * 2) + word(v) + hex.slice(offset * 2 + 64);
}

describe("Plonk: the protocol's PLONK verifier with real snarkjs proofs", function () {
  let model: UniversalModel;
  let harness: PlonkHarness;
  let key: string;
  let pointer: string;
  let proof: PlonkProofWords;
  let signals: bigint[];
  /** Writes a key as a data contract and returns its address. */
  const stored = async (k: string) => {
    const at = await harness.store.staticCall(k);
    await (await harness.store(k)).wait();
    return at;
  };

  before(async function () {
    const ptau = await universalDevPtau();
    model = await tinyUniversalModel(ptau);
    key = encodePlonkKey(model.vk);
    const input = { pixels: Array.from(model.inputs[0]), binding: 12345n };
    const proven = await snarkjs.plonk.fullProve(input, model.wasm, model.zkey);
    expect(await snarkjs.plonk.verify(model.vk as never, proven.publicSignals, proven.proof)).to.equal(true);
    proof = plonkProofWords(proven.proof);
    signals = proven.publicSignals.map(BigInt);
    harness = (await ethers.deployContract("PlonkHarness")) as unknown as PlonkHarness;
    pointer = await harness.store.staticCall(key);
    await (await harness.store(key)).wait();
  });

  after(async function () {
    await releaseProverThreads();
  });

  describe("verify", function () {
    it("accepts a real snarkjs proof against the key held as data", async function () {
      expect(signals).to.have.length(3);
      expect(await harness.verifyPlonk(pointer, signals, proof)).to.equal(true);
    });

    it("refuses the proof with any of its 24 words changed", async function () {
      for (let i = 0; i < 24; i++) {
        const field = i < 18 ? Q : R;
        const changed = [...proof] as PlonkProofWords;
        changed[i] = (changed[i] + 1n) % field;
        expect(await harness.verifyPlonk(pointer, signals, changed), `word ${i} + 1`).to.equal(false);
        changed[i] = proof[i] + field; // the same value, not canonical
        expect(await harness.verifyPlonk(pointer, signals, changed), `word ${i} + field`).to.equal(false);
      }
    });

    it("refuses the proof with any of its 9 points replaced by another point on the curve", async function () {
      for (let p = 0; p < 9; p++) {
        const changed = [...proof] as PlonkProofWords;
        changed[2 * p] = 1n; // the G1 generator (1, 2)
        changed[2 * p + 1] = 2n;
        expect(await harness.verifyPlonk(pointer, signals, changed), `point ${p}`).to.equal(false);
      }
    });

    it("refuses any changed, missing, extra or non-canonical public signal", async function () {
      for (let i = 0; i < signals.length; i++) {
        const changed = [...signals];
        changed[i] = (changed[i] + 1n) % R;
        expect(await harness.verifyPlonk(pointer, changed, proof), `signal ${i}`).to.equal(false);
        changed[i] = signals[i] + R;
        expect(await harness.verifyPlonk(pointer, changed, proof), `signal ${i} + r`).to.equal(false);
      }
      expect(await harness.verifyPlonk(pointer, signals.slice(0, 2), proof)).to.equal(false);
      expect(await harness.verifyPlonk(pointer, [...signals, 0n], proof)).to.equal(false);
      expect(await harness.verifyPlonk(pointer, [], proof)).to.equal(false);
    });

    it("refuses an address without a key, and a key that names an unknown ceremony or a bad domain", async function () {
      expect(await harness.verifyPlonk(ethers.ZeroAddress, signals, proof)).to.equal(false);
      for (const bad of [withWord(key, 0, 99n), withWord(key, 32, 2n), withWord(key, 32, 29n)]) {
        const at = await harness.store.staticCall(bad);
        await (await harness.store(bad)).wait();
        expect(await harness.verifyPlonk(at, signals, proof)).to.equal(false);
      }
    });
  });

  describe("the ceremony is the protocol's, not the key's", function () {
    it("a key verifies its proofs only under the ceremony it was made from, never under another it claims", async function () {
      const own = ceremonyOfKey(model.vk)!.id;
      expect(await harness.verifyPlonk(await stored(key), signals, proof)).to.equal(true);
      for (const c of UNIVERSAL_CEREMONIES.filter((c) => c.id !== own)) {
        // The same key claiming another ceremony: a sound key by every check the registry makes,
        // but its commitments are not under that ceremony's tau, so the pairing check fails.
        const claimed = withWord(key, 0, BigInt(c.id));
        expect((await harness.keyDefect(claimed))[0], `ceremony ${c.id}`).to.equal(Defect.None);
        expect(await harness.verifyPlonk(await stored(claimed), signals, proof), `ceremony ${c.id}`).to.equal(false);
      }
    });

    it("the toolkit refuses to encode a key whose [tau]_2 is no known ceremony's", function () {
      const vk: PlonkVerificationKey = {
        ...model.vk,
        X_2: [
          ["1", "2"],
          ["3", "4"],
          ["1", "0"],
        ],
      };
      expect(() => encodePlonkKey(vk)).to.throw(/not that of any ceremony the protocol knows/);
    });

    it("the ceremony table of the toolkit is the contract's, insecure ceremonies included", async function () {
      expect(UNIVERSAL_CEREMONIES.map((c) => c.id)).to.deep.equal([1, 2, 3, 4, 5]);
      // Only the Hermez ceremony is secure: 2-4 are development files, 5 has a public secret.
      expect(UNIVERSAL_CEREMONIES.filter((c) => !c.insecure).map((c) => c.id)).to.deep.equal([1]);
      for (let id = 1; id <= 5; id++) {
        const [known, insecure, tau2] = await harness.ceremony(id);
        expect(known).to.equal(true);
        expect(insecure, `ceremony ${id}`).to.equal(UNIVERSAL_CEREMONIES[id - 1].insecure);
        const vk = JSON.parse(JSON.stringify(model.vk)) as PlonkVerificationKey;
        vk.X_2 = [
          [tau2[1].toString(), tau2[0].toString()],
          [tau2[3].toString(), tau2[2].toString()],
          ["1", "0"],
        ];
        expect(BigInt("0x" + encodePlonkKey(vk).slice(2, 66))).to.equal(BigInt(id));
      }
      for (const unknown of [0, 6]) {
        const [known, insecure] = await harness.ceremony(unknown);
        expect([known, insecure], `ceremony ${unknown}`).to.deep.equal([false, false]);
      }
    });

    it("a rebuilt key has the registered key's hash (what poi verify-setup compares)", async function () {
      const rebuilt = await rebuildPlonkKey(model.r1cs, await universalDevPtau(), true);
      expect(rebuilt.keyHash).to.equal(plonkKeyHash(model.vk));
      expect(rebuilt.ceremony.id).to.equal(ceremonyOfKey(model.vk)!.id);
    });
  });

  describe("keyDefect", function () {
    const defect = async (k: string) => {
      const [d, offset] = await harness.keyDefect(k);
      return [d, Number(offset)];
    };

    it("finds nothing wrong with a real key", async function () {
      expect(await defect(key)).to.deep.equal([Defect.None, 0]);
    });

    it("refuses a key of another length or an unknown ceremony", async function () {
      expect(await defect(key.slice(0, -64))).to.deep.equal([Defect.WrongLength, 0]);
      expect(await defect(key + "00")).to.deep.equal([Defect.WrongLength, 0]);
      expect(await defect(withWord(key, 0, 0n))).to.deep.equal([Defect.UnknownCeremony, 0]);
      expect(await defect(withWord(key, 0, 6n))).to.deep.equal([Defect.UnknownCeremony, 0]);
    });

    it("refuses a domain that is none: power out of range, no signals, too many, omega not primitive", async function () {
      expect(await defect(withWord(key, 32, 2n))).to.deep.equal([Defect.BadDomain, 32]);
      expect(await defect(withWord(key, 32, 29n))).to.deep.equal([Defect.BadDomain, 32]);
      expect(await defect(withWord(key, 64, 0n))).to.deep.equal([Defect.BadDomain, 64]);
      expect(await defect(withWord(key, 64, 4097n))).to.deep.equal([Defect.BadDomain, 64]);
      expect(await defect(withWord(key, 160, 1n))).to.deep.equal([Defect.BadDomain, 160]);
      // omega^2 generates only half the domain.
      const omega = BigInt(model.vk.w);
      expect(await defect(withWord(key, 160, (omega * omega) % R))).to.deep.equal([Defect.BadDomain, 160]);
    });

    it("refuses non-canonical scalars and coordinates", async function () {
      expect(await defect(withWord(key, 96, BigInt(model.vk.k1) + R))).to.deep.equal([Defect.NotCanonical, 96]);
      expect(await defect(withWord(key, 160, R))).to.deep.equal([Defect.NotCanonical, 160]);
      const x = BigInt("0x" + key.slice(2 + QM * 2, 2 + QM * 2 + 64));
      expect(await defect(withWord(key, QM, x + Q))).to.deep.equal([Defect.NotCanonical, QM]);
    });

    it("refuses overlapping cosets: k1 or k2 zero, in the domain, or in the same coset", async function () {
      expect(await defect(withWord(key, 96, 0n))).to.deep.equal([Defect.BadCosets, 96]);
      expect(await defect(withWord(key, 96, 1n))).to.deep.equal([Defect.BadCosets, 96]);
      expect(await defect(withWord(key, 128, 0n))).to.deep.equal([Defect.BadCosets, 128]);
      expect(await defect(withWord(key, 128, BigInt(model.vk.w)))).to.deep.equal([Defect.BadCosets, 128]);
      expect(await defect(withWord(key, 128, BigInt(model.vk.k1)))).to.deep.equal([Defect.BadCosets, 128]);
    });

    it("refuses a point off the curve, a permutation commitment at infinity, and a key with no gates", async function () {
      for (let p = 0; p < 8; p++) {
        const offset = QM + 64 * p;
        const y = BigInt("0x" + key.slice(2 + (offset + 32) * 2, 2 + (offset + 32) * 2 + 64));
        expect(await defect(withWord(key, offset + 32, (y + 1n) % Q)), `point ${p}`).to.deep.equal([
          Defect.NotOnCurve,
          offset,
        ]);
        const infinity = withWord(withWord(key, offset, 0n), offset + 32, 0n);
        if (offset >= S1) expect(await defect(infinity)).to.deep.equal([Defect.AtInfinity, offset]);
        // A single selector at infinity is a circuit without that kind of gate: fit.
        else expect(await defect(infinity)).to.deep.equal([Defect.None, 0]);
      }
      let none = key;
      for (let p = 0; p < 5; p++) none = withWord(withWord(none, QM + 64 * p, 0n), QM + 64 * p + 32, 0n);
      expect(await defect(none)).to.deep.equal([Defect.NoGates, QM]);
    });
  });
});
