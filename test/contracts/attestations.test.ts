/**
 * scripts/chain/attestations.ts against the market: for batches of every size from 1 to 33 (odd
 * sizes and the carried-up last node included), the root it rebuilds from events is the root the
 * market recorded, and the inclusion proof it builds for each fact passes the market's
 * `isAttested`, while a wrong fact, a wrong position or another root fails. The batch proofs are
 * checked by a test verifier that answers yes (SettableVerifier), since the tree, not the proof,
 * is under test here; test/e2e/batch.test.ts does the same with real batch proofs.
 */
import { expect } from "chai";
import { network } from "hardhat";
import {
  attestationRoot,
  attestedBatches,
  batchAttestationProof,
  factOf,
  inclusionProof,
} from "../../scripts/chain/attestations.ts";
import { termsOfAll } from "../helpers/market.ts";

const { ethers } = await network.create();
const PROOF = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n] as const;
const WEIGHTS = 987654321n;
const SIZES = Array.from({ length: 33 }, (_, i) => i + 1);

async function deploy() {
  const [governance, modelOwner, requester, validator] = await ethers.getSigners();
  const circuits = await ethers.deployContract("CircuitRegistry", [0n, governance.address]);
  const yes = await (await ethers.deployContract("SettableVerifier", [true])).getAddress();
  const circuitOf = async (k: number) => {
    const args = [yes, ethers.id(`vk${k}`), 4n, BigInt(k), ethers.ZeroHash, ""] as const;
    const id = await circuits.registerCircuit.staticCall(...args);
    await (await circuits.registerCircuit(...args)).wait();
    return id;
  };
  const registry = await ethers.deployContract("ModelRegistry", [await circuits.getAddress(), false]);
  const token = await ethers.deployContract("TestToken");
  const market = await ethers.deployContract("InferenceMarket", [
    await registry.getAddress(),
    await token.getAddress(),
    governance.address,
    {
      protocolFeeBps: 0n,
      royaltyBps: 0n,
      claimWindow: 600n,
      maxRequestTtl: 86_400n,
      unbondingDelay: 172_800n,
      minStake: 100n,
      claimBond: 10n,
    },
  ]);
  const batched = SIZES.filter((k) => k > 1);
  const batchIds = [];
  for (const k of batched) batchIds.push(await circuitOf(k));
  const terms = {
    feeToken: await token.getAddress(),
    price: 1n,
    royaltyRecipient: modelOwner.address,
    previousVersion: 0n,
    metadataURI: "",
    onnxHash: ethers.ZeroHash,
  };
  await (
    await registry
      .connect(modelOwner)
      .registerCommittedModel(terms, await circuitOf(1), WEIGHTS, batched.map(BigInt), batchIds)
  ).wait();
  for (const account of [requester, validator]) {
    await (await token.mint(account.address, 10n ** 24n)).wait();
    await (await token.connect(account).approve(await market.getAddress(), ethers.MaxUint256)).wait();
  }
  await (await market.connect(validator).stake(100n)).wait();
  return { market, modelId: 1n, requester, validator };
}

describe("attestations.ts against the market's isAttested", function () {
  it("builds, for batches of 1 to 33 facts, the recorded root and an inclusion proof of each fact", async function () {
    const { market, modelId, requester, validator } = await deploy();
    const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp + 3600);
    const expectedRoots: string[] = [];
    for (const k of SIZES) {
      // Distinct commitments and outputs per batch, so that no two batches share a fact.
      const commitments = Array.from({ length: k }, (_, i) => BigInt(1000 * k + i + 1));
      const outputs = commitments.map((c) => c * 7n + 3n);
      const facts = commitments.map((c, i) => factOf(modelId, c, outputs[i]));
      expect(facts[0]).to.equal(await market.factOf(modelId, commitments[0], outputs[0]));
      if (k === 1) {
        // attest() records a root of one leaf: checked with an empty proof.
        await (await market.connect(validator).attest(modelId, commitments[0], outputs[0], [...PROOF])).wait();
        expect(inclusionProof(facts, 0)).to.deep.equal([]);
        expect(await market.isAttested(facts[0], attestationRoot(facts), [])).to.equal(true);
        continue;
      }
      const first = await market.connect(requester).requestInferences.staticCall(
        modelId,
        commitments,
        commitments.map(() => "0x"),
        deadline,
        1n,
      );
      await (
        await market.connect(requester).requestInferences(
          modelId,
          commitments,
          commitments.map(() => "0x"),
          deadline,
          1n,
        )
      ).wait();
      const ids = commitments.map((_, i) => first + BigInt(i));
      const receipt = (await (
        await market.connect(validator).fulfilBatch(ids, await termsOfAll(market, ids), outputs, [...PROOF])
      ).wait())!;
      expectedRoots.push(attestationRoot(facts));
      // The batch as its events give it: its facts in request order, its recorded root.
      const [batch] = await attestedBatches(market, receipt.blockNumber, receipt.blockNumber);
      expect(batch.requestIds).to.deep.equal(ids);
      expect(batch.facts).to.deep.equal(facts);
      expect(batch.root).to.equal(attestationRoot(facts));
      for (let i = 0; i < k; i++) {
        const proof = inclusionProof(batch.facts, i);
        expect(await market.isAttested(facts[i], batch.root, proof), `fact ${i} of ${k}`).to.equal(true);
        // Another output for the same input, or the fact of another position, fails with this proof.
        const lie = factOf(modelId, commitments[i], outputs[i] + 1n);
        expect(await market.isAttested(lie, batch.root, proof)).to.equal(false);
        if (k > 1) expect(await market.isAttested(facts[(i + 1) % k], batch.root, proof)).to.equal(false);
        // A root the market never recorded attests nothing, whatever the proof.
        expect(await market.isAttested(facts[i], ethers.id("no such root"), proof)).to.equal(false);
      }
      // The per-request helper finds the same proof from the request id alone.
      const last = await batchAttestationProof(market, ids[k - 1], receipt.blockNumber);
      expect(last).to.deep.equal({ fact: facts[k - 1], root: batch.root, proof: inclusionProof(facts, k - 1) });
    }
    const batches = await attestedBatches(market);
    expect(batches.map((b) => b.root)).to.deep.equal(expectedRoots);
    expect(batches.map((b) => b.requestIds.length)).to.deep.equal(SIZES.filter((k) => k > 1));
  });

  it("refuses an inclusion proof for a position outside the batch", function () {
    const facts = [ethers.id("a"), ethers.id("b"), ethers.id("c")];
    for (const bad of [-1, 3, 1.5]) expect(() => inclusionProof(facts, bad)).to.throw(RangeError, `fact index ${bad}`);
    expect(() => attestationRoot([])).to.throw("at least one fact");
  });
});
