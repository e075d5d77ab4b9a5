import { expect } from "chai";
import { network } from "hardhat";
import type { IModelRegistry } from "../../types/ethers-contracts/registry/ModelRegistry.js";
import { registrableKeyBytes } from "../helpers/keys.ts";

const { ethers, networkHelpers } = await network.create();

const VK_HASH = ethers.id("mnist-mlp verification key");
const PRICE = 10n ** 18n;
const WEIGHTS = 123456789n;
/** Order r of the BN254 scalar field. */
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** Groth16.KeyDefect.Related: beta or delta equal to gamma up to sign, or to each other. */
const KEY_DEFECT_RELATED = 5n;

/** A key for `nPublic` signals that the registry accepts (test/helpers/keys.ts). */
const syntheticKey = registrableKeyBytes;

async function deployRegistry() {
  const [governance, modelOwner, stranger, newOwner] = await ethers.getSigners();
  const circuits = await ethers.deployContract("CircuitRegistry", [0n, governance.address]);
  const verifier = await ethers.deployContract("SettableVerifier", [true]);
  const verifierAddress = await verifier.getAddress();
  await circuits.registerCircuit(verifierAddress, VK_HASH, 4n, 1n, ethers.ZeroHash, "ipfs://circuit");
  await circuits.registerCircuit(verifierAddress, ethers.id("batch"), 4n, 4n, ethers.ZeroHash, "ipfs://batch");
  const registry = await ethers.deployContract("ModelRegistry", [await circuits.getAddress(), false]);
  const token = await ethers.deployContract("TestToken");
  const feeToken = await token.getAddress();
  const terms = (overrides: Partial<Record<string, unknown>> = {}) => ({
    feeToken,
    price: PRICE,
    royaltyRecipient: modelOwner.address,
    previousVersion: 0n,
    metadataURI: "ipfs://mnist-mlp",
    onnxHash: ethers.id("onnx"),
    ...overrides,
  });
  return { circuits, verifier, verifierAddress, registry, token, feeToken, terms, modelOwner, stranger, newOwner };
}

async function deployWithModel() {
  const fixture = await deployRegistry();
  const { registry, terms, modelOwner } = fixture;
  await registry.connect(modelOwner).registerCommittedModel(terms(), 1n, WEIGHTS, [4n], [2n]);
  return { ...fixture, modelId: 1n };
}

describe("ModelRegistry", function () {
  describe("constructor", function () {
    it("stores the circuit registry and starts empty", async function () {
      const { registry, circuits } = await networkHelpers.loadFixture(deployRegistry);
      expect(await registry.circuitRegistry()).to.equal(await circuits.getAddress());
      expect(await registry.modelCount()).to.equal(0n);
      expect(await registry.BAKED_PUBLIC_SIGNALS()).to.equal(3n);
      expect(await registry.COMMITTED_PUBLIC_SIGNALS()).to.equal(4n);
      expect(await registry.BATCH_PUBLIC_SIGNALS()).to.equal(3n);
    });

    it("refuses a zero circuit registry", async function () {
      const factory = await ethers.getContractFactory("ModelRegistry");
      await expect(factory.deploy(ethers.ZeroAddress, false)).to.be.revertedWithCustomError(
        factory,
        "ModelRegistryZeroAddress",
      );
    });
  });

  describe("registerCommittedModel", function () {
    it("lets anyone register, assigns ids from 1 and emits every event", async function () {
      const { registry, terms, verifierAddress, feeToken, modelOwner, stranger } =
        await networkHelpers.loadFixture(deployRegistry);
      const tx = registry.connect(stranger).registerCommittedModel(terms(), 1n, WEIGHTS, [4n], [2n]);
      const entry = (m: IModelRegistry.ModelStructOutput) =>
        m.mode === 1n &&
        m.owner === stranger.address &&
        m.verifier === verifierAddress &&
        m.vkHash === VK_HASH &&
        m.circuitId === 1n &&
        m.weightsCommitment === WEIGHTS &&
        m.feeToken === feeToken &&
        m.price === PRICE &&
        m.version === 1n;
      await expect(tx).to.emit(registry, "ModelRegistered").withArgs(1n, stranger.address, entry);
      await expect(tx).to.emit(registry, "BatchCircuitRegistered").withArgs(1n, 4n, 2n);
      await expect(tx).to.emit(registry, "ModelMetadataSet").withArgs(1n, "ipfs://mnist-mlp", ethers.id("onnx"));
      await expect(tx).to.not.emit(registry, "ModelVersionPublished");

      const m = await registry.model(1n);
      expect(m.mode).to.equal(1n); // Committed
      expect(m.active).to.equal(true);
      expect(m.version).to.equal(1n);
      expect(m.owner).to.equal(stranger.address);
      expect(m.feeToken).to.equal(feeToken);
      expect(m.verifier).to.equal(verifierAddress);
      expect(m.circuitId).to.equal(1n);
      expect(m.weightsCommitment).to.equal(WEIGHTS);
      expect(m.vkHash).to.equal(VK_HASH);
      expect(m.previousVersion).to.equal(0n);
      // Royalties go to the recipient the terms name, not to the registering account.
      expect(await registry.proofTerms(1n)).to.deep.equal([1n, verifierAddress, WEIGHTS, modelOwner.address]);
      expect(await registry.batchVerifier(1n, 4n)).to.equal(verifierAddress);
      expect(await registry.batchCircuit(1n, 4n)).to.equal(2n);
      expect(await registry.verificationKey(1n, 1n)).to.equal("0x");
      expect(await registry.modelCount()).to.equal(1n);
    });

    it("returns the new id to a static call", async function () {
      const { registry, terms, modelOwner } = await networkHelpers.loadFixture(deployWithModel);
      expect(
        await registry.connect(modelOwner).registerCommittedModel.staticCall(terms(), 1n, WEIGHTS, [], []),
      ).to.equal(2n);
    });

    it("refuses a zero or non-canonical weights commitment", async function () {
      const { registry, terms } = await networkHelpers.loadFixture(deployRegistry);
      for (const bad of [0n, R, ethers.MaxUint256]) {
        await expect(registry.registerCommittedModel(terms(), 1n, bad, [], []))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidWeightsCommitment")
          .withArgs(bad);
      }
      await expect(registry.registerCommittedModel(terms(), 1n, R - 1n, [], [])).to.emit(registry, "ModelRegistered");
    });
  });

  describe("registerBakedModel", function () {
    it("writes each key once, readable back byte for byte, with vkHash = keccak256(key)", async function () {
      const { registry, terms, feeToken, modelOwner } = await networkHelpers.loadFixture(deployRegistry);
      const key = syntheticKey(3, "single");
      const key2 = syntheticKey(3, "batch2");
      const key8 = syntheticKey(3, "batch8");
      const tx = registry.connect(modelOwner).registerBakedModel(terms(), key, [2n, 8n], [key2, key8]);
      const entry = (m: IModelRegistry.ModelStructOutput) =>
        m.mode === 0n &&
        m.owner === modelOwner.address &&
        m.verifier !== ethers.ZeroAddress &&
        m.vkHash === ethers.keccak256(key) &&
        m.circuitId === 0n &&
        m.weightsCommitment === 0n &&
        m.feeToken === feeToken &&
        m.price === PRICE;
      await expect(tx).to.emit(registry, "ModelRegistered").withArgs(1n, modelOwner.address, entry);
      await expect(tx)
        .to.emit(registry, "BatchKeyRegistered")
        .withArgs(1n, 2n, (a: string) => a !== ethers.ZeroAddress, ethers.keccak256(key2));
      await expect(tx)
        .to.emit(registry, "BatchKeyRegistered")
        .withArgs(1n, 8n, (a: string) => a !== ethers.ZeroAddress, ethers.keccak256(key8));

      const m = await registry.model(1n);
      expect(m.mode).to.equal(0n); // Baked
      expect(m.vkHash).to.equal(ethers.keccak256(key));
      expect(m.circuitId).to.equal(0n);
      expect(m.weightsCommitment).to.equal(0n);
      expect(await registry.verificationKey(1n, 1n)).to.equal(key);
      expect(await registry.verificationKey(1n, 2n)).to.equal(key2);
      expect(await registry.verificationKey(1n, 8n)).to.equal(key8);
      expect(await registry.verificationKey(1n, 4n)).to.equal("0x");
      expect(await registry.batchCircuit(1n, 2n)).to.equal(0n);
      // The data contract is the key behind one STOP byte, and is what the market reads.
      expect(await ethers.provider.getCode(m.verifier)).to.equal("0x00" + key.slice(2));
      expect(await ethers.provider.getCode(await registry.batchVerifier(1n, 8n))).to.equal("0x00" + key8.slice(2));
      const [mode, verifier, weights] = await registry.proofTerms(1n);
      expect([mode, verifier, weights]).to.deep.equal([0n, m.verifier, 0n]);
    });

    it("refuses a key of the wrong length and one whose gamma equals delta", async function () {
      const { registry, terms } = await networkHelpers.loadFixture(deployRegistry);
      const key = syntheticKey(3, "k");
      for (const bad of [syntheticKey(2, "k"), syntheticKey(4, "k"), "0x", key + "00"]) {
        await expect(registry.registerBakedModel(terms(), bad, [], []))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidKeyLength")
          .withArgs((bad.length - 2) / 2, 3n);
      }
      const bytes = ethers.getBytes(key);
      bytes.set(bytes.slice(192, 320), 320); // delta := gamma
      await expect(registry.registerBakedModel(terms(), bytes, [], []))
        .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidKey")
        .withArgs(KEY_DEFECT_RELATED, 320n);
    });
  });

  describe("versions", function () {
    it("publishes a new version of a model its owner owns, linked both ways", async function () {
      const { registry, terms, modelOwner, stranger, modelId } = await networkHelpers.loadFixture(deployWithModel);
      await expect(
        registry.connect(modelOwner).registerCommittedModel(terms({ previousVersion: modelId }), 1n, 7n, [], []),
      )
        .to.emit(registry, "ModelVersionPublished")
        .withArgs(modelId, 2n, 2n);
      await expect(
        registry.connect(modelOwner).registerBakedModel(terms({ previousVersion: 2n }), syntheticKey(3, "v3"), [], []),
      )
        .to.emit(registry, "ModelVersionPublished")
        .withArgs(2n, 3n, 3n);
      expect((await registry.model(3n)).version).to.equal(3n);
      expect((await registry.model(3n)).previousVersion).to.equal(2n);
      expect(await registry.nextVersion(modelId)).to.equal(2n);
      expect(await registry.nextVersion(2n)).to.equal(3n);
      expect(await registry.nextVersion(3n)).to.equal(0n);
      // The old version stays usable: publishing does not deactivate it.
      expect((await registry.model(modelId)).active).to.equal(true);

      await expect(
        registry.connect(stranger).registerCommittedModel(terms({ previousVersion: modelId }), 1n, 7n, [], []),
      )
        .to.be.revertedWithCustomError(registry, "ModelRegistryUnauthorized")
        .withArgs(modelId, stranger.address);
      await expect(registry.connect(modelOwner).registerCommittedModel(terms({ previousVersion: 9n }), 1n, 7n, [], []))
        .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
        .withArgs(9n);
    });
  });

  describe("setPrice", function () {
    it("lets the model owner set the price", async function () {
      const { registry, modelOwner, modelId } = await networkHelpers.loadFixture(deployWithModel);
      await expect(registry.connect(modelOwner).setPrice(modelId, 42n))
        .to.emit(registry, "ModelPriceSet")
        .withArgs(modelId, 42n);
      expect((await registry.model(modelId)).price).to.equal(42n);
    });

    it("refuses anyone else, including the circuit registry's governance", async function () {
      const { registry, stranger, modelId } = await networkHelpers.loadFixture(deployWithModel);
      const [governance] = await ethers.getSigners();
      for (const account of [governance, stranger]) {
        await expect(registry.connect(account).setPrice(modelId, 1n))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnauthorized")
          .withArgs(modelId, account.address);
      }
    });

    it("refuses an unknown model", async function () {
      const { registry, modelOwner } = await networkHelpers.loadFixture(deployWithModel);
      for (const id of [0n, 2n]) {
        await expect(registry.connect(modelOwner).setPrice(id, 1n))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(id);
      }
    });
  });

  describe("setActive", function () {
    it("lets the model owner deactivate and reactivate", async function () {
      const { registry, modelOwner, modelId } = await networkHelpers.loadFixture(deployWithModel);
      await expect(registry.connect(modelOwner).setActive(modelId, false))
        .to.emit(registry, "ModelActiveSet")
        .withArgs(modelId, false);
      expect((await registry.model(modelId)).active).to.equal(false);
      await expect(registry.connect(modelOwner).setActive(modelId, true))
        .to.emit(registry, "ModelActiveSet")
        .withArgs(modelId, true);
      expect((await registry.model(modelId)).active).to.equal(true);
    });

    it("refuses anyone else and an unknown model", async function () {
      const { registry, stranger, modelId } = await networkHelpers.loadFixture(deployWithModel);
      await expect(registry.connect(stranger).setActive(modelId, false))
        .to.be.revertedWithCustomError(registry, "ModelRegistryUnauthorized")
        .withArgs(modelId, stranger.address);
      await expect(registry.setActive(7n, false))
        .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
        .withArgs(7n);
    });
  });

  describe("model", function () {
    it("returns a zeroed struct, zero proof terms and no key for an unknown id", async function () {
      const { registry } = await networkHelpers.loadFixture(deployWithModel);
      for (const id of [0n, 2n]) {
        const m = await registry.model(id);
        expect(m.verifier).to.equal(ethers.ZeroAddress);
        expect(m.owner).to.equal(ethers.ZeroAddress);
        expect(m.active).to.equal(false);
        expect(await registry.proofTerms(id)).to.deep.equal([0n, ethers.ZeroAddress, 0n, ethers.ZeroAddress]);
        // An unknown id reads as mode Baked with no key contract: the key is empty.
        expect(await registry.verificationKey(id, 1n)).to.equal("0x");
      }
    });
  });

  describe("model owner's metadata, royalty recipient and ownership", function () {
    it("emits ModelMetadataSet and ModelRoyaltyRecipientSet", async function () {
      const { registry, modelOwner, stranger, modelId } = await networkHelpers.loadFixture(deployWithModel);
      const onnxHash = ethers.id("onnx bytes");
      await expect(registry.connect(modelOwner).setMetadata(modelId, "ipfs://mnist-mlp-2", onnxHash))
        .to.emit(registry, "ModelMetadataSet")
        .withArgs(modelId, "ipfs://mnist-mlp-2", onnxHash);
      expect(await registry.metadata(modelId)).to.deep.equal(["ipfs://mnist-mlp-2", onnxHash]);
      await expect(registry.connect(modelOwner).setRoyaltyRecipient(modelId, stranger.address))
        .to.emit(registry, "ModelRoyaltyRecipientSet")
        .withArgs(modelId, stranger.address);
      expect((await registry.model(modelId)).royaltyRecipient).to.equal(stranger.address);
    });

    it("emits the two events of a two-step ownership transfer", async function () {
      const { registry, modelOwner, newOwner, modelId } = await networkHelpers.loadFixture(deployWithModel);
      await expect(registry.connect(modelOwner).transferModelOwnership(modelId, newOwner.address))
        .to.emit(registry, "ModelOwnershipTransferStarted")
        .withArgs(modelId, modelOwner.address, newOwner.address);
      expect(await registry.pendingModelOwner(modelId)).to.equal(newOwner.address);
      await expect(registry.connect(newOwner).acceptModelOwnership(modelId))
        .to.emit(registry, "ModelOwnershipTransferred")
        .withArgs(modelId, modelOwner.address, newOwner.address);
      expect((await registry.model(modelId)).owner).to.equal(newOwner.address);
    });

    it("keeps everyone but the owner out of the owner's powers", async function () {
      const { registry, stranger, modelId } = await networkHelpers.loadFixture(deployWithModel);
      const asStranger = registry.connect(stranger);
      for (const call of [
        asStranger.setMetadata(modelId, "x", ethers.ZeroHash),
        asStranger.setRoyaltyRecipient(modelId, stranger.address),
        asStranger.transferModelOwnership(modelId, stranger.address),
      ]) {
        await expect(call)
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnauthorized")
          .withArgs(modelId, stranger.address);
      }
    });
  });
});
