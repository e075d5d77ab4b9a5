import { expect } from "chai";
import path from "node:path";
import { ROOT } from "../../scripts/circuit/compile.ts";
import { batchBinding, batchChallenge, batchFold } from "../../scripts/circuit/batch-fold.ts";
import { generateGraphCircuit } from "../../scripts/circuit/generate-graph.ts";
import { loadMnist } from "../../scripts/model/mnist.ts";
import { inferQuantizedGraph } from "../../scripts/model/graph-inference.ts";
import { readQuantizedGraph, type QuantizedGraph } from "../../scripts/model/quantize-graph.ts";
import { CircuitTester } from "../helpers/circuit-tester.ts";
import { checkConstraintSnapshot } from "../helpers/snapshot.ts";

const K = 2;

describe(`batch circuit: ${K} MNIST MLP inferences folded into one public signal`, function () {
  let model: QuantizedGraph;
  let t: CircuitTester;
  const market = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
  const prover = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

  before(async function () {
    model = readQuantizedGraph(path.join(ROOT, "circuits", "generated", "mnist-mlp.quantized.json"));
    const source = generateGraphCircuit(model, {
      templateName: "BatchMnistMlp",
      command: "test/circuits/batch-mlp.test.ts",
      source: "circuits/generated/mnist-mlp.quantized.json",
      batch: K,
    });
    t = await CircuitTester.compile(`batch-mnist-mlp-${K}`, [], source.replace(/^pragma circom [^;]+;\n/, ""));
  });

  it("folds exactly the per-request commitments and outputs of the integer reference", async function () {
    const digits = [loadMnist().test[42], loadMnist().test[901]];
    const refs = digits.map((d) => inferQuantizedGraph(model, d.pixels));
    const binding = batchBinding(31337n, market, prover, [7n, 9n]);
    const commitments = refs.map((r) => r.inputCommitment);
    const outputs = refs.map((r) => r.output);
    const challenge = batchChallenge(binding, commitments, outputs);
    const w = await t.witness({ pixels: digits.map((d) => Array.from(d.pixels)), challenge, batchBinding: binding });
    expect(t.satisfies(w)).to.equal(true);
    expect(t.outputs(w)).to.deep.equal([batchFold(challenge, commitments, outputs)]);
    expect(t.unpinnedWires(w, [1n])).to.deep.equal([]);
  });

  it("a lie about one output changes the challenge and the fold, so the proof of the true batch does not match", async function () {
    const digits = [loadMnist().test[142], loadMnist().test[655]];
    const refs = digits.map((d) => inferQuantizedGraph(model, d.pixels));
    const binding = batchBinding(31337n, market, prover, [1n, 2n]);
    const commitments = refs.map((r) => r.inputCommitment);
    const lies = [refs[0].output, refs[1].output + 1n];
    // The market derives the challenge from the claims; the circuit folds the true values.
    const challenge = batchChallenge(binding, commitments, lies);
    const w = await t.witness({ pixels: digits.map((d) => Array.from(d.pixels)), challenge, batchBinding: binding });
    expect(t.outputs(w)[0]).to.not.equal(batchFold(challenge, commitments, lies));
    // And no witness claiming the market's fold satisfies the circuit.
    const forged = w.slice();
    forged[1] = batchFold(challenge, commitments, lies);
    expect(t.satisfies(forged)).to.equal(false);
  });

  it("constraint count matches the snapshot: K single inferences plus 4K - 1 for the fold, minus K - 1 bindings", function () {
    checkConstraintSnapshot(`model mnist-mlp batch ${K}`, t.constraints);
    // Each inference drops its own binding constraint; the batch adds 2K - 1 powers, 2K terms and one binding.
    expect(t.constraints).to.equal(K * (2864 - 1) + (2 * K - 1) + 2 * K + 1);
  });
});
