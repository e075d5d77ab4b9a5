/**
 * The warm prover (scripts/prove/): its witness equals snarkjs's, its proofs are standard Groth16
 * proofs that snarkjs's verifier accepts, on the worker pool and on the calling thread, and a
 * wrong input fails at the witness with an error naming the circuit, before any proving.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import { loadMnist, type Digit } from "../../scripts/model/mnist.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { proveGroth16, proverCurve } from "../../scripts/prove/groth16.ts";
import { Prover, releaseProverThreads } from "../../scripts/prove/prover.ts";
import { parseProvingKey } from "../../scripts/prove/proving-key.ts";
import { WitnessCalculatorError, witnessWires } from "../../scripts/prove/witness-calculator.ts";
import { gatherGroup, groupWitness } from "../../scripts/prove/witness-groups.ts";
import { SNARK_SCALAR_FIELD } from "../../scripts/circuit/field.ts";
import { artifactPath } from "../../scripts/setup/manifest.ts";

describe("warm Groth16 prover (witness calculator reused, proving key parsed once)", function () {
  let built: BuiltModel;
  let prover: Prover;
  let digits: Digit[];
  let zkeyFile: string;

  before(async function () {
    built = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    prover = await Prover.load(built.manifestFile);
    digits = loadMnist().test;
    zkeyFile = artifactPath(built.manifestFile, built.manifest, "zkey");
  });

  after(async function () {
    await releaseProverThreads();
  });

  const input = (d: Digit, binding: bigint) => ({ pixels: Array.from(d.pixels), binding });

  it("computes the same witness as snarkjs's wtns.calculate, input after input", async function () {
    const wasm = artifactPath(built.manifestFile, built.manifest, "wasm");
    for (const i of [0, 1, 77]) {
      const ours = await snarkjs.wtns.exportJson(await prover.witness(input(digits[i], 9n)));
      const theirs: { type: "mem"; data?: Uint8Array } = { type: "mem" };
      await snarkjs.wtns.calculate(input(digits[i], 9n), wasm, theirs);
      expect(ours, `digit ${i}`).to.deep.equal(await snarkjs.wtns.exportJson(theirs));
    }
  });

  it("computes concurrent witnesses each for its own input (one instance, one witness at a time)", async function () {
    const ins = [0, 1, 2].map((i) => input(digits[i], BigInt(100 + i)));
    const one = async (i: Record<string, unknown>) => snarkjs.wtns.exportJson(await prover.witness(i));
    const alone: bigint[][] = [];
    for (const i of ins) alone.push(await one(i));
    expect(await Promise.all(ins.map(one))).to.deep.equal(alone);
    // A failing input among them fails alone.
    const bad = { pixels: Array.from(digits[0].pixels, () => 300), binding: 1n };
    const settled = await Promise.allSettled([one(ins[0]), one(bad), one(ins[1])]);
    expect(settled.map((s) => s.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
    expect((settled[2] as PromiseFulfilledResult<bigint[]>).value).to.deep.equal(alone[1]);
  });

  it("makes standard Groth16 proofs that snarkjs's verifier accepts, for several inputs", async function () {
    for (const i of [0, 5, 300]) {
      const r = await prover.prove(input(digits[i], BigInt(i + 1)));
      expect(r.proof.protocol).to.equal("groth16");
      expect(r.proof.curve).to.equal("bn128");
      expect(r.proof.pi_a[2]).to.equal("1");
      expect(r.proof.pi_b[2]).to.deep.equal(["1", "0"]);
      expect(r.publicSignals[2]).to.equal(BigInt(i + 1));
      expect(await snarkjs.groth16.verify(prover.vk, r.publicSignals.map(String), r.proof), `digit ${i}`).to.equal(
        true,
      );
      expect(r.calldata).to.have.length(8);
      expect(r.witnessMs).to.be.greaterThan(0);
      expect(r.proveMs).to.be.greaterThan(0);
    }
  });

  it("proves the same way on the calling thread (no workers) as on the worker pool", async function () {
    const key = parseProvingKey(readFileSync(zkeyFile), zkeyFile);
    const wtns = (await prover.witness(input(digits[2], 3n))).data!;
    for (const onCallingThread of [true, false]) {
      const curve = await proverCurve(onCallingThread);
      expect(curve.tm.singleThread).to.equal(onCallingThread);
      const { proof, publicSignals } = await proveGroth16(curve, key, witnessWires(wtns, key.nVars, "mnist-mlp"));
      expect(await snarkjs.groth16.verify(prover.vk, publicSignals.map(String), proof), `${onCallingThread}`).to.equal(
        true,
      );
    }
  });

  it("gives a proof that fails verification for a witness that breaks a constraint (the check can fail)", async function () {
    const key = parseProvingKey(readFileSync(zkeyFile), zkeyFile);
    const wires = new Uint8Array(witnessWires((await prover.witness(input(digits[4], 3n))).data!, key.nVars, "w"));
    // A private wire moved by one: the QAP no longer divides, so H is not the quotient.
    wires[(key.nPublic + 10) * 32] ^= 1;
    const { proof, publicSignals } = await proveGroth16(await proverCurve(false), key, wires);
    expect(await snarkjs.groth16.verify(prover.vk, publicSignals.map(String), proof)).to.equal(false);
  });

  it("refuses an input that violates a constraint at the witness, naming the circuit, and keeps working", async function () {
    const bad = { pixels: Array.from(digits[0].pixels, () => 300), binding: 1n };
    const err = await prover.prove(bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(WitnessCalculatorError);
    expect((err as Error).message).to.match(/^mnist-mlp: the input violates a constraint of the circuit/);
    // The witness step alone fails the same way: no proving is reached.
    await prover.witness(bad).then(
      () => expect.fail("witness accepted an input out of range"),
      (e: Error) => expect(e.message).to.match(/violates a constraint/),
    );
    const r = await prover.prove(input(digits[0], 2n));
    expect(await prover.verify(r.proof, r.publicSignals)).to.equal(true);
  });

  it("names the input at fault when an input is missing or has the wrong length", async function () {
    await prover.prove({ pixels: [1, 2, 3], binding: 1n }).then(
      () => expect.fail("accepted 3 pixels"),
      (e: Error) => expect(e.message).to.equal("mnist-mlp: invalid input: Not enough values for input signal pixels"),
    );
    await prover.prove({ pixels: Array.from(digits[0].pixels) }).then(
      () => expect.fail("accepted an input without binding"),
      (e: Error) => expect(e.message).to.match(/^mnist-mlp: invalid input: Not all inputs have been set/),
    );
  });

  it("refuses a zkey that is cut short or is not a zkey, naming it", function () {
    const bytes = readFileSync(zkeyFile);
    expect(() => parseProvingKey(bytes.subarray(0, bytes.length - 100), "k.zkey")).to.throw(
      /^k\.zkey is not a valid Groth16 zkey: section \d+ is cut short/,
    );
    expect(() => parseProvingKey(new TextEncoder().encode("not a zkey at all"), "x.zkey")).to.throw(
      "x.zkey is not a valid Groth16 zkey: no zkey magic",
    );
  });

  it("refuses a witness whose length differs from the proving key's", async function () {
    const key = parseProvingKey(readFileSync(zkeyFile), zkeyFile);
    await proveGroth16(await proverCurve(true), key, new Uint8Array((key.nVars - 1) * 32)).then(
      () => expect.fail("accepted a short witness"),
      (e: Error) => expect(e.message).to.equal(`the witness has ${key.nVars - 1} wires, the proving key ${key.nVars}`),
    );
  });

  it("groups wires by value size, small negatives as their magnitude on the negated point", function () {
    const values = [
      0n,
      1n,
      255n,
      256n,
      2n ** 64n - 1n,
      2n ** 64n,
      SNARK_SCALAR_FIELD - 5n,
      SNARK_SCALAR_FIELD - 2n ** 40n,
    ];
    const witness = new Uint8Array(values.length * 32);
    values.forEach((v, i) => {
      for (let k = 0; k < 32; k++) witness[i * 32 + k] = Number((v >> BigInt(8 * k)) & 0xffn);
    });
    const groups = groupWitness(witness);
    expect(Array.from(groups.group)).to.deep.equal([-1, 0, 0, 1, 1, 2, 0, 1]);
    expect(Array.from(groups.negated)).to.deep.equal([0, 0, 0, 0, 0, 0, 1, 1]);
    expect(groups.counts).to.deep.equal([3, 3, 1]);
    // Gathering: the negated wire's scalar is its magnitude and its point's y is q - y.
    const q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
    const bases = new Uint8Array(values.length * 64);
    // Coordinates below q: top byte 1.
    bases.forEach((_, i) => (bases[i] = i % 32 === 31 ? 1 : (i * 7 + 1) & 0xff));
    const small = gatherGroup(groups, 0, bases, 64, 0);
    expect(small.n).to.equal(3);
    expect(Array.from(small.scalars)).to.deep.equal([1, 255, 5]);
    const le = (b: Uint8Array) => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
    expect(le(small.bases.subarray(2 * 64, 2 * 64 + 32))).to.equal(le(bases.subarray(6 * 64, 6 * 64 + 32)));
    expect(le(small.bases.subarray(2 * 64 + 32, 3 * 64))).to.equal(q - le(bases.subarray(6 * 64 + 32, 7 * 64)));
  });
});
