import { expect } from "chai";
import path from "node:path";
import { ROOT } from "../../scripts/circuit/compile.ts";
import {
  committedArchitecture,
  committedWeightsInput,
  generateMlpCommittedCircuit,
  modelCommitment,
  type CommittedArchitecture,
} from "../../scripts/circuit/generate-mlp-committed.ts";
import { loadMnist } from "../../scripts/model/mnist.ts";
import { inferQuantizedGraph, packGraphOutput } from "../../scripts/model/graph-inference.ts";
import { readQuantizedGraph, type QuantizedGraph } from "../../scripts/model/quantize-graph.ts";
import { CircuitTester } from "../helpers/circuit-tester.ts";
import { checkConstraintSnapshot } from "../helpers/snapshot.ts";

describe("committed mode: the MNIST MLP architecture with private, committed weights", function () {
  let model: QuantizedGraph;
  let arch: CommittedArchitecture;
  let t: CircuitTester;

  before(async function () {
    model = readQuantizedGraph(path.join(ROOT, "circuits", "generated", "mnist-mlp.quantized.json"));
    arch = committedArchitecture(model);
    const source = generateMlpCommittedCircuit(arch, "MnistMlpCommitted", "test/circuits/committed-mlp.test.ts");
    // CircuitTester adds the pragma itself.
    t = await CircuitTester.compile("mnist-mlp-committed", [], source.replace(/^pragma circom [^;]+;\n/, ""));
  });

  const expectedOutput = (pixels: Uint8Array) => {
    const ref = inferQuantizedGraph(model, pixels);
    return packGraphOutput(
      { output: "both", logitBits: arch.logitBits, classBits: arch.classBits },
      ref.predicted,
      ref.logits,
    );
  };

  it("outputs the model commitment, the input commitment and the same inference as baked mode", async function () {
    const digits = loadMnist().test.filter((_, i) => i % 200 === 3);
    for (const d of digits) {
      const w = await t.witness({ pixels: Array.from(d.pixels), ...committedWeightsInput(model), binding: 5n });
      expect(t.satisfies(w)).to.equal(true);
      expect(t.outputs(w)).to.deep.equal([
        modelCommitment(model, arch),
        inferQuantizedGraph(model, d.pixels).inputCommitment,
        expectedOutput(d.pixels),
      ]);
    }
  });

  it("binds the weights: another model gives another commitment, and no witness wire moves alone", async function () {
    const d = loadMnist().test[517];
    const other: QuantizedGraph = structuredClone(model);
    const layer = other.layers[0] as { weight: number[] };
    layer.weight[100] += layer.weight[100] < 100 ? 1 : -1;
    const w = await t.witness({ pixels: Array.from(d.pixels), ...committedWeightsInput(other), binding: 5n });
    expect(t.outputs(w)[0]).to.equal(modelCommitment(other, arch));
    expect(t.outputs(w)[0]).to.not.equal(modelCommitment(model, arch));
    expect(t.unpinnedWires(w, [1n])).to.deep.equal([]);
  });

  it("refuses weights outside the architecture's width", async function () {
    const wide: QuantizedGraph = structuredClone(model);
    (wide.layers[1] as { weight: number[] }).weight[0] = 2 ** (arch.weightBits - 1);
    let failed = false;
    try {
      await t.witness({ pixels: Array(model.inputSize).fill(0), ...committedWeightsInput(wide), binding: 1n });
    } catch {
      failed = true;
    }
    expect(failed).to.equal(true);
  });

  it("constraint count matches the snapshot (far above baked mode's)", function () {
    checkConstraintSnapshot("model mnist-mlp committed", t.constraints);
    const macs = arch.layers.reduce((s, l) => s + l.nIn * l.nOut, 0);
    expect(t.constraints).to.be.greaterThan(macs * (1 + arch.weightBits));
  });
});
