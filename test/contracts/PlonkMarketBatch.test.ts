/**
 * Batches of universal-mode models in the market: PLONK batch keys registered per batch size
 * (checked like the single key, on the single key's ceremony), batches settled with
 * fulfilBatchUniversal and real snarkjs PLONK batch proofs (made through the one proving path,
 * proveUniversalRequests), and the refusals of the Groth16 batch path run for the universal one:
 * another sender, swapped or false outputs, a replay, a size without a key, the other proof
 * system. Needs the power-12 development ptau and circuits/build/mnist-mlp and mnist-mlp-batch4
 * (a baked model with a batch key, for the cross-mode refusals).
 */
import path from "node:path";
import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { network } from "hardhat";
import { packedCommitment } from "../../scripts/circuit/reference.ts";
import { DEV_MARKET_PARAMS, deployProtocol } from "../../scripts/chain/protocol.ts";
import {
  loadUniversalArtifacts,
  proveUniversalRequests,
  type UniversalArtifacts,
} from "../../scripts/prove/prove-request.ts";
import { releaseProverThreads } from "../../scripts/prove/prover.ts";
import { encodePlonkKey } from "../../scripts/setup/plonk-setup.ts";
import type { InferenceMarket } from "../../types/ethers-contracts/index.js";
import { attestedInBatch, requestOf, termsOfAll } from "../helpers/market.ts";
import { tinyUniversalBatch } from "../helpers/universal-batch.ts";
import { universalDevPtau, tinyUniversalModel, type UniversalModel } from "../helpers/universal-model.ts";

const { ethers, networkHelpers } = await network.create();

const PRICE = 10n ** 18n;
const BAKED = 1n;
const UNIVERSAL = 2n;
const FULFILLED = 3n;
type Proof8 = [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];

describe("Universal-mode batches in the market (PLONK batch keys, fulfilBatchUniversal)", function () {
  let model: UniversalModel;
  let key: string;
  /** Batch key and artifacts per batch size. */
  const batches = new Map<number, { key: string; artifacts: UniversalArtifacts }>();

  before(async function () {
    const ptau = await universalDevPtau();
    model = await tinyUniversalModel(ptau);
    key = encodePlonkKey(model.vk);
    for (const k of [2, 4]) {
      const batch = await tinyUniversalBatch(ptau, model.quantized, k);
      batches.set(k, { key: encodePlonkKey(batch.vk), artifacts: await loadUniversalArtifacts(batch.manifest) });
    }
  });

  after(async function () {
    await releaseProverThreads();
  });

  /** The baked reference model (with its 4-batch key) as model 1, the tiny universal model with keys for 2 and 4 as model 2. */
  async function deploy() {
    const [governance, modelOwner, requester, validator, thief] = await ethers.getSigners();
    const build = path.join("circuits", "build");
    const { token, registry, market } = await deployProtocol(ethers, governance, {
      manifestFile: path.join(build, "mnist-mlp", "manifest.json"),
      batchKeys: [{ manifestFile: path.join(build, "mnist-mlp-batch4", "manifest.json"), batchSize: 4 }],
      modelOwner,
      price: PRICE,
    });
    const terms = {
      feeToken: await token.getAddress(),
      price: PRICE,
      royaltyRecipient: modelOwner.address,
      previousVersion: 0n,
      metadataURI: "ipfs://tiny",
      onnxHash: ethers.ZeroHash,
    };
    await registry
      .connect(modelOwner)
      .registerUniversalModel(terms, key, [2n, 4n], [batches.get(2)!.key, batches.get(4)!.key]);
    await token.mint(requester.address, 100n * PRICE);
    await token.connect(requester).approve(await market.getAddress(), ethers.MaxUint256);
    for (const v of [validator, thief]) {
      await token.mint(v.address, DEV_MARKET_PARAMS.minStake);
      await token.connect(v).approve(await market.getAddress(), ethers.MaxUint256);
      await market.connect(v).stake(DEV_MARKET_PARAMS.minStake);
    }
    return { registry, token, market, terms, modelOwner, requester, validator, thief };
  }

  /** Opens one request of `modelId` per tiny-model input of `inputs` (indexes), in order. */
  async function requestAll(
    market: InferenceMarket,
    requester: HardhatEthersSigner,
    modelId: bigint,
    inputs: number[],
  ): Promise<{ requestId: bigint; inputCommitment: bigint; input: Uint8Array }[]> {
    const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
    const opened = [];
    for (const i of inputs) {
      const input = model.inputs[i]!;
      const inputCommitment = packedCommitment(Array.from(input), model.quantized.inputBits);
      await (await market.connect(requester).requestInference(modelId, inputCommitment, "0x", deadline, PRICE)).wait();
      opened.push({ requestId: await market.requestCount(), inputCommitment, input });
    }
    return opened;
  }

  /** A PLONK batch proof of `requests` for `prover` on `market`, through the one proving path. */
  async function proveBatch(market: InferenceMarket, requests: Awaited<ReturnType<typeof requestAll>>, prover: string) {
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const artifacts = batches.get(requests.length)!.artifacts;
    return proveUniversalRequests(artifacts, requests, { chainId, market: await market.getAddress(), prover });
  }

  describe("registration", function () {
    it("stores a PLONK key per batch size as data, readable as a baked model's batch keys are", async function () {
      const { registry } = await networkHelpers.loadFixture(deploy);
      for (const k of [2n, 4n]) {
        expect(await registry.verificationKey(UNIVERSAL, k)).to.equal(batches.get(Number(k))!.key);
        expect(await registry.batchVerifier(UNIVERSAL, k)).to.not.equal(ethers.ZeroAddress);
      }
      expect(await registry.verificationKey(UNIVERSAL, 1n)).to.equal(key);
      expect(await registry.verificationKey(UNIVERSAL, 3n)).to.equal("0x");
      expect(await registry.batchVerifier(UNIVERSAL, 3n)).to.equal(ethers.ZeroAddress);
    });

    it("emits BatchKeyRegistered with each batch key's hash", async function () {
      const { registry, terms, modelOwner } = await networkHelpers.loadFixture(deploy);
      const four = batches.get(4)!.key;
      const tx = registry.connect(modelOwner).registerUniversalModel(terms, key, [4n], [four]);
      await expect(tx).to.emit(registry, "BatchKeyRegistered").withArgs(3n, 4n, anyValue, ethers.keccak256(four));
      await (await tx).wait();
      expect(await registry.verificationKey(3n, 4n)).to.equal(four);
      expect((await registry.model(3n)).vkHash).to.equal(ethers.keccak256(key));
    });

    it("refuses a batch key of another ceremony than the single key's, naming both", async function () {
      const { registry, terms, modelOwner } = await networkHelpers.loadFixture(deploy);
      const own = BigInt("0x" + key.slice(2, 66));
      // Another ceremony the verifier knows (the key stays free of defects: only its claim changes).
      const other = own === 2n ? 3n : 2n;
      const four = batches.get(4)!.key;
      const foreign = "0x" + other.toString(16).padStart(64, "0") + four.slice(66);
      await expect(registry.connect(modelOwner).registerUniversalModel(terms, key, [4n], [foreign]))
        .to.be.revertedWithCustomError(registry, "ModelRegistryCeremonyMismatch")
        .withArgs(4n, other, own);
    });

    it("refuses a defective batch key, a batch size below 2 or repeated, and unequal lists", async function () {
      const { registry, terms, modelOwner } = await networkHelpers.loadFixture(deploy);
      const four = batches.get(4)!.key;
      const forFour = (v: bigint) =>
        "0x" + four.slice(2, 2 + 128) + v.toString(16).padStart(64, "0") + four.slice(2 + 192);
      const owner = registry.connect(modelOwner);
      await expect(owner.registerUniversalModel(terms, key, [4n], [four.slice(0, -2)]))
        .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidUniversalKey")
        .withArgs(1n, 0n); // WrongLength
      await expect(owner.registerUniversalModel(terms, key, [4n], [forFour(4n)]))
        .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidUniversalKey")
        .withArgs(3n, 64n); // a key for 4 signals: BadDomain at the count
      await expect(owner.registerUniversalModel(terms, key, [1n], [four]))
        .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidBatchSize")
        .withArgs(1n);
      await expect(owner.registerUniversalModel(terms, key, [4n, 4n], [four, four]))
        .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidBatchSize")
        .withArgs(4n);
      await expect(owner.registerUniversalModel(terms, key, [4n], []))
        .to.be.revertedWithCustomError(registry, "ModelRegistryLengthMismatch")
        .withArgs(1n, 0n);
    });
  });

  describe("fulfilBatchUniversal", function () {
    for (const k of [2, 4]) {
      it(`settles a batch of ${k} with one PLONK proof: every share credited once, one attestation root`, async function () {
        const { market, token, requester, validator, modelOwner } = await networkHelpers.loadFixture(deploy);
        const requests = await requestAll(market, requester, UNIVERSAL, [0, 1, 2, 3].slice(0, k));
        const p = await proveBatch(market, requests, validator.address);
        expect(p.mode).to.equal("batch");
        const ids = p.requestIds;
        const tx = market
          .connect(validator)
          .fulfilBatchUniversal(ids, await termsOfAll(market, ids), p.outputs, p.proof);
        await expect(tx).to.emit(market, "BatchAttested");
        const receipt = (await (await tx).wait())!;
        console.log(
          `      fulfilBatchUniversal (K=${k}, real PLONK proof): ${receipt.gasUsed} gas, ${receipt.gasUsed / BigInt(k)} per inference`,
        );
        for (const [i, r] of requests.entries()) {
          expect((await requestOf(market, r.requestId)).status).to.equal(FULFILLED);
          expect(await attestedInBatch(market, UNIVERSAL, r.inputCommitment, p.outputs[i]!, r.requestId)).to.equal(
            true,
          );
          expect(await attestedInBatch(market, UNIVERSAL, r.inputCommitment, p.outputs[i]! + 1n, r.requestId)).to.equal(
            false,
          );
        }
        expect(await market.balanceOf(validator.address, token)).to.equal((BigInt(k) * PRICE * 88n) / 100n);
        expect(await market.balanceOf(modelOwner.address, token)).to.equal((BigInt(k) * PRICE) / 10n);
      });
    }

    it("refuses the proof from another sender (a front-running copy), then settles it for its prover", async function () {
      const { market, requester, validator, thief } = await networkHelpers.loadFixture(deploy);
      const requests = await requestAll(market, requester, UNIVERSAL, [0, 1]);
      const p = await proveBatch(market, requests, validator.address);
      const terms = await termsOfAll(market, p.requestIds);
      await expect(market.connect(thief).fulfilBatchUniversal(p.requestIds, terms, p.outputs, p.proof))
        .to.be.revertedWithCustomError(market, "InferenceMarketInvalidBatchProof")
        .withArgs(p.requestIds[0], 2n);
      await market.connect(validator).fulfilBatchUniversal(p.requestIds, terms, p.outputs, p.proof);
    });

    it("refuses outputs swapped between requests, reordered requests, and a false output", async function () {
      const { market, requester, validator } = await networkHelpers.loadFixture(deploy);
      // Two inputs with different outputs, so that swapping them changes the batch.
      const requests = await requestAll(market, requester, UNIVERSAL, [0, 1, 2, 3]);
      const p = await proveBatch(market, requests, validator.address);
      expect(new Set(p.outputs).size).to.be.greaterThan(1);
      const ids = p.requestIds;
      const terms = await termsOfAll(market, ids);
      const swapAt = p.outputs.findIndex((o) => o !== p.outputs[0]);
      const swapped = p.outputs.slice();
      [swapped[0], swapped[swapAt]] = [swapped[swapAt]!, swapped[0]!];
      const lie = p.outputs.slice();
      lie[3] = lie[3]! + 1n;
      for (const outputs of [swapped, lie]) {
        await expect(market.connect(validator).fulfilBatchUniversal(ids, terms, outputs, p.proof))
          .to.be.revertedWithCustomError(market, "InferenceMarketInvalidBatchProof")
          .withArgs(ids[0], 4n);
      }
      // Requests reordered with their terms and outputs: ids must strictly increase.
      const order = [1, 0, 2, 3];
      await expect(
        market.connect(validator).fulfilBatchUniversal(
          order.map((i) => ids[i]!),
          order.map((i) => terms[i]!),
          order.map((i) => p.outputs[i]!),
          p.proof,
        ),
      )
        .to.be.revertedWithCustomError(market, "InferenceMarketBatchNotAscending")
        .withArgs(ids[1], ids[0]);
      await market.connect(validator).fulfilBatchUniversal(ids, terms, p.outputs, p.proof);
    });

    it("refuses a replay of a settled batch, and a batch size the model has no key for", async function () {
      const { market, requester, validator } = await networkHelpers.loadFixture(deploy);
      const requests = await requestAll(market, requester, UNIVERSAL, [0, 1]);
      const p = await proveBatch(market, requests, validator.address);
      const ids = p.requestIds;
      await market.connect(validator).fulfilBatchUniversal(ids, await termsOfAll(market, ids), p.outputs, p.proof);
      await expect(
        market.connect(validator).fulfilBatchUniversal(ids, await termsOfAll(market, ids), p.outputs, p.proof),
      )
        .to.be.revertedWithCustomError(market, "InferenceMarketWrongStatus")
        .withArgs(ids[0], FULFILLED);
      const three = await requestAll(market, requester, UNIVERSAL, [0, 1, 2]);
      const threeIds = three.map((r) => r.requestId);
      await expect(
        market
          .connect(validator)
          .fulfilBatchUniversal(threeIds, await termsOfAll(market, threeIds), [1n, 2n, 3n], p.proof),
      )
        .to.be.revertedWithCustomError(market, "InferenceMarketNoBatchVerifier")
        .withArgs(UNIVERSAL, 3n);
    });

    it("never mixes the proof systems: a Groth16 model's batch here, a universal batch through fulfilBatch", async function () {
      const { market, registry, requester, validator } = await networkHelpers.loadFixture(deploy);
      // Model 1 (baked) has a Groth16 key for 4: its batch through fulfilBatchUniversal is refused.
      const baked = await requestAll(market, requester, BAKED, [0, 1, 2, 3]);
      const p = await proveBatch(market, baked, validator.address);
      await expect(
        market
          .connect(validator)
          .fulfilBatchUniversal(p.requestIds, await termsOfAll(market, p.requestIds), p.outputs, p.proof),
      )
        .to.be.revertedWithCustomError(market, "InferenceMarketInvalidBatchProof")
        .withArgs(p.requestIds[0], 4n);
      expect(await registry.verifyUniversal(BAKED, 4n, [1n, 2n, 3n], p.proof)).to.equal(false);
      const universal = await requestAll(market, requester, UNIVERSAL, [0, 1, 2, 3]);
      const q = await proveBatch(market, universal, validator.address);
      await expect(
        market
          .connect(validator)
          .fulfilBatch(q.requestIds, await termsOfAll(market, q.requestIds), q.outputs, q.proof.slice(0, 8) as Proof8),
      )
        .to.be.revertedWithCustomError(market, "InferenceMarketInvalidBatchProof")
        .withArgs(q.requestIds[0], 4n);
      await market
        .connect(validator)
        .fulfilBatchUniversal(q.requestIds, await termsOfAll(market, q.requestIds), q.outputs, q.proof);
    });
  });
});
