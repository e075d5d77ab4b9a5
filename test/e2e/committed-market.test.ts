/**
 * Committed mode through the market: governance registers the shared mnist-mlp-small-committed circuit (196-4-10)
 * (its generated verifier, after the registry's delay), model owners register models of that
 * architecture by their weights commitment (permissionless), and validators settle requests with
 * real proofs whose first public signal is that commitment, rebuilt by the market from the registry.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { registerCommittedCircuit } from "../../scripts/chain/committed.ts";
import {
  deployProtocol,
  DEV_MARKET_PARAMS,
  registerCommittedModel,
  type Protocol,
} from "../../scripts/chain/protocol.ts";
import { postRequest } from "../../scripts/chain/requester.ts";
import {
  ensureStaked,
  fulfilRequest,
  openRequests,
  RequestStatus,
  type OpenRequest,
} from "../../scripts/chain/validator.ts";
import { requestBinding } from "../../scripts/chain/binding.ts";
import { loadMnist, type Digit } from "../../scripts/model/mnist.ts";
import { inferQuantizedGraph } from "../../scripts/model/graph-inference.ts";
import type { QuantizedGraph } from "../../scripts/model/quantize-graph.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { committedModelCommitment } from "../../scripts/prove/committed-input.ts";
import { offChainRequest, proveRequests } from "../../scripts/prove/prove-request.ts";
import { Prover, releaseProverThreads } from "../../scripts/prove/prover.ts";
import { attestedByRequest, requestOf, termsOf } from "../helpers/market.ts";

type Proof8 = [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];

describe("committed mode through the market (shared circuit, real proofs)", function () {
  let baked: BuiltModel;
  let committed: BuiltModel;
  let prover: Prover;
  let test: Digit[];
  let variant: QuantizedGraph;
  const fulfilCommitted = (
    validator: Parameters<typeof fulfilRequest>[1],
    model: QuantizedGraph,
    weightsCommitment: bigint,
    open: OpenRequest,
  ) => fulfilRequest(protocol.market, validator, { prover, model, weightsCommitment }, open);
  let weights: bigint;
  let variantWeights: bigint;
  let ethersRef: Awaited<ReturnType<typeof network.create>>["ethers"];
  let signers: Awaited<ReturnType<typeof ethersRef.getSigners>>;
  let protocol: Protocol;
  let circuitId: bigint;
  let modelId: bigint;
  let variantId: bigint;
  const price = 10n ** 18n;

  before(async function () {
    baked = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    committed = await buildModel(REFERENCE_MODELS["mnist-mlp-small-committed"]);
    prover = await Prover.load(committed.manifestFile);
    test = loadMnist().test;
    // A second model of the same architecture: one weight moved by one step.
    variant = structuredClone(committed.quantized);
    variant.name = "mnist-mlp-variant";
    const layer = variant.layers[0] as { weight: number[] };
    layer.weight[5] += layer.weight[5] < 0 ? 1 : -1;
    const arch = prover.committedArchitecture();
    weights = committedModelCommitment(committed.quantized, arch);
    variantWeights = committedModelCommitment(variant, arch);
  });

  after(async function () {
    await releaseProverThreads();
  });

  beforeEach(async function () {
    const { ethers } = await network.create();
    ethersRef = ethers;
    signers = await ethers.getSigners();
    const [governance, bakedOwner, requester, validator, committedOwner, variantOwner] = signers;
    protocol = await deployProtocol(ethers, governance, {
      manifestFile: baked.manifestFile,
      modelOwner: bakedOwner,
      price,
    });
    ({ circuitId } = await registerCommittedCircuit(ethers, protocol.circuits, governance, {
      manifestFile: committed.manifestFile,
      verifierContract: REFERENCE_MODELS["mnist-mlp-small-committed"].verifierContract,
    }));
    const feeToken = await protocol.token.getAddress();
    ({ modelId } = await registerCommittedModel(protocol.registry, committedOwner, {
      feeToken,
      price,
      circuitId,
      weightsCommitment: weights,
    }));
    ({ modelId: variantId } = await registerCommittedModel(protocol.registry, variantOwner, {
      feeToken,
      price,
      circuitId,
      weightsCommitment: variantWeights,
    }));
    await (await protocol.token.mint(requester.address, 10n * price)).wait();
    await (await protocol.token.mint(validator.address, DEV_MARKET_PARAMS.minStake)).wait();
    await ensureStaked(protocol.market, validator);
  });

  async function post(model: bigint, digit: Digit) {
    const posted = await postRequest(protocol.market, signers[2], model, digit.pixels);
    const open = (await openRequests(protocol.market, model)).find((r) => r.requestId === posted.requestId)!;
    return { posted, open };
  }

  it("registers the circuit's verifier and the model's commitment as the market will use them", async function () {
    const c = await protocol.circuits.circuit(circuitId);
    expect(c.nPublic).to.equal(4n);
    expect(c.batchSize).to.equal(1n);
    expect(c.vkHash).to.equal(committed.manifest.vkHash);
    const m = await protocol.registry.model(modelId);
    expect(m.mode).to.equal(1n); // Committed
    expect(m.owner).to.equal(signers[4].address);
    expect(m.verifier).to.equal(c.verifier);
    expect(m.weightsCommitment).to.equal(weights);
    expect(m.weightsCommitment.toString()).to.equal(committed.manifest.modelCommitment);
  });

  it("settles a committed request with a real proof, pays the split and records the attestation", async function () {
    const [, , , validator, committedOwner] = signers;
    const digit = test[321];
    const { posted, open } = await post(modelId, digit);
    const result = await fulfilCommitted(validator, committed.quantized, weights, open);
    expect(result.predicted).to.equal(inferQuantizedGraph(committed.quantized, digit.pixels).predicted);
    expect((await requestOf(protocol.market, posted.requestId)).status).to.equal(RequestStatus.Fulfilled);
    expect(
      await attestedByRequest(protocol.market, modelId, posted.inputCommitment, result.output, posted.requestId),
    ).to.equal(true);
    const token = await protocol.token.getAddress();
    const royalty = (price * DEV_MARKET_PARAMS.royaltyBps) / 10_000n;
    const protocolFee = (price * DEV_MARKET_PARAMS.protocolFeeBps) / 10_000n;
    expect(await protocol.market.balanceOf(committedOwner.address, token)).to.equal(royalty);
    expect(await protocol.market.balanceOf(validator.address, token)).to.equal(price - royalty - protocolFee);
    console.log(`      committed-mode fulfil gas: ${result.gasUsed}`);
  });

  it("refuses a proof made with another model's weights, though the circuit and verifier are shared", async function () {
    const [, , , validator] = signers;
    const digit = test[77];
    const { posted } = await post(variantId, digit);
    // An honest proof for the reference weights, bound to this very request and prover.
    const binding = requestBinding(31337n, await protocol.market.getAddress(), posted.requestId, validator.address);
    const proof = await proveRequests(
      { prover, model: committed.quantized },
      [offChainRequest(committed.quantized, digit.pixels)],
      { binding },
    );
    await expect(
      protocol.market
        .connect(validator)
        .fulfil(
          posted.requestId,
          await termsOf(protocol.market, posted.requestId),
          proof.outputs[0],
          proof.calldata as Proof8,
        ),
    )
      .to.be.revertedWithCustomError(protocol.market, "InferenceMarketInvalidProof")
      .withArgs(posted.requestId);
    // The variant's own weights settle it.
    const open = (await openRequests(protocol.market, variantId)).find((r) => r.requestId === posted.requestId)!;
    await fulfilCommitted(validator, variant, variantWeights, open);
    expect((await requestOf(protocol.market, posted.requestId)).status).to.equal(RequestStatus.Fulfilled);
  });

  it("a deprecated circuit takes no new requests, and still settles the open ones", async function () {
    const [governance, , requester, validator] = signers;
    const { open } = await post(modelId, test[9]);
    await (await protocol.circuits.connect(governance).deprecateCircuit(circuitId)).wait();
    await expect(postRequest(protocol.market, requester, modelId, test[10].pixels))
      .to.be.revertedWithCustomError(protocol.market, "InferenceMarketCircuitUnusable")
      .withArgs(modelId, circuitId);
    await fulfilCommitted(validator, committed.quantized, weights, open);
    expect((await requestOf(protocol.market, open.requestId)).status).to.equal(RequestStatus.Fulfilled);
  });
});
