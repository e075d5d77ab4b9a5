/**
 * Committed mode end to end: the pipeline's mnist-mlp-small-committed circuit (196-4-10), a real proof from its
 * zkey, snarkjs's verifier and the generated Solidity verifier on Hardhat's in-process chain.
 * The proof's first public signal is the weights commitment that the registry pins, so a proof
 * made with one model's weights must not pass for another model.
 */
import { expect } from "chai";
import { network } from "hardhat";
import * as snarkjs from "snarkjs";
import { requestBinding } from "../../scripts/chain/binding.ts";
import { SNARK_SCALAR_FIELD } from "../../scripts/circuit/field.ts";
import { loadMnist, type Digit } from "../../scripts/model/mnist.ts";
import { inferQuantizedGraph, packGraphOutput } from "../../scripts/model/graph-inference.ts";
import type { QuantizedGraph } from "../../scripts/model/quantize-graph.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { committedModelCommitment } from "../../scripts/prove/committed-input.ts";
import {
  offChainRequest,
  proveRequests,
  requestCircuitInput,
  type RequestProof,
} from "../../scripts/prove/prove-request.ts";
import { Prover, releaseProverThreads } from "../../scripts/prove/prover.ts";

type Pub4 = [bigint, bigint, bigint, bigint];

describe("committed mode end to end (pipeline circuit, real proofs, generated verifier)", function () {
  let built: BuiltModel;
  let prover: Prover;
  let digit: Digit;
  let other: QuantizedGraph;
  let proof: RequestProof;
  const proveWith = (model: QuantizedGraph) =>
    proveRequests({ prover, model }, [offChainRequest(model, digit.pixels)], { binding });
  let binding: bigint;

  before(async function () {
    built = await buildModel(REFERENCE_MODELS["mnist-mlp-small-committed"]);
    prover = await Prover.load(built.manifestFile);
    digit = loadMnist().test[123];
    // Another model of the same architecture: one weight moved by one step.
    other = structuredClone(built.quantized);
    other.name = "mnist-mlp-variant";
    const layer = other.layers[1] as { weight: number[] };
    layer.weight[17] += layer.weight[17] < 0 ? 1 : -1;
    binding = requestBinding(31337n, "0x000000000000000000000000000000000000dEaD", 7n, "0x" + "ab".repeat(20));
    proof = await proveWith(built.quantized);
  });

  after(async function () {
    await releaseProverThreads();
  });

  it("records the reference model's weights commitment and the public signal names in the manifest", function () {
    const arch = prover.committedArchitecture();
    const commitment = committedModelCommitment(built.quantized, arch);
    expect(built.manifest.modelCommitment).to.equal(commitment.toString());
    expect(commitment < SNARK_SCALAR_FIELD).to.equal(true);
    expect(built.manifest.publicSignals).to.deep.equal(["modelCommitment", "inputCommitment", "output", "binding"]);
    expect(committedModelCommitment(other, arch)).to.not.equal(commitment);
  });

  it("proves [commitment, input commitment, output, binding] as the TypeScript reference computes them", async function () {
    const arch = prover.committedArchitecture();
    const ref = inferQuantizedGraph(built.quantized, digit.pixels);
    const output = packGraphOutput(
      { output: "both", logitBits: arch.logitBits, classBits: arch.classBits },
      ref.predicted,
      ref.logits,
    );
    expect(proof.publicSignals).to.deep.equal([
      committedModelCommitment(built.quantized, arch),
      ref.inputCommitment,
      output,
      binding,
    ]);
    expect(await snarkjs.groth16.verify(prover.vk, proof.publicSignals.map(String), proof.proof)).to.equal(true);
  });

  it("one circuit serves another model of the architecture, and no proof passes under the other's commitment", async function () {
    const arch = prover.committedArchitecture();
    const swapped = proof.publicSignals.slice();
    swapped[0] = committedModelCommitment(other, arch);
    expect(await prover.verify(proof.proof, swapped)).to.equal(false);

    const otherProof = await proveWith(other);
    expect(otherProof.publicSignals).to.deep.equal(
      requestCircuitInput({ prover, model: other }, [offChainRequest(other, digit.pixels)], { binding }).expected,
    );
    expect(await prover.verify(otherProof.proof, otherProof.publicSignals)).to.equal(true);
    const claimed = otherProof.publicSignals.slice();
    claimed[0] = committedModelCommitment(built.quantized, arch);
    expect(await prover.verify(otherProof.proof, claimed)).to.equal(false);
  });

  it("the generated Solidity verifier accepts the real proof and rejects it under another model's commitment", async function () {
    const { ethers } = await network.create();
    const verifier = await ethers.deployContract(REFERENCE_MODELS["mnist-mlp-small-committed"].verifierContract);
    const p = proof.calldata;
    const a: [bigint, bigint] = [p[0], p[1]];
    const b: [[bigint, bigint], [bigint, bigint]] = [
      [p[2], p[3]],
      [p[4], p[5]],
    ];
    const c: [bigint, bigint] = [p[6], p[7]];
    const pub = proof.publicSignals as Pub4;
    expect(await verifier.verifyProof(a, b, c, pub)).to.equal(true);
    const swapped: Pub4 = [committedModelCommitment(other, prover.committedArchitecture()), pub[1], pub[2], pub[3]];
    expect(await verifier.verifyProof(a, b, c, swapped)).to.equal(false);
    expect(await verifier.verifyProof(a, b, c, [pub[0], pub[1], pub[2], pub[3] + 1n])).to.equal(false);
  });

  it("refuses a model that does not fit the circuit's architecture before proving", async function () {
    const wide = structuredClone(built.quantized);
    (wide.layers[0] as { weight: number[] }).weight[0] = 2 ** (prover.committedArchitecture().weightBits - 1);
    let message = "";
    try {
      await proveWith(wide);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.match(/does not fit the committed architecture/);
  });
});
