import { expect } from "chai";
import { network } from "hardhat";

const { ethers, networkHelpers } = await network.create();

const VK_HASH = ethers.id("mnist-mlp verification key");
const PRICE = 10n ** 18n;

async function deployRegistry() {
  const [governance, modelOwner, stranger, newGovernance] = await ethers.getSigners();
  const registry = await ethers.deployContract("ModelRegistry", [governance.address]);
  const verifier = await ethers.deployContract("SettableVerifier", [true]);
  return { registry, verifier, governance, modelOwner, stranger, newGovernance };
}

async function deployWithModel() {
  const fixture = await deployRegistry();
  const { registry, verifier, modelOwner } = fixture;
  await registry.registerModel(await verifier.getAddress(), VK_HASH, modelOwner.address, PRICE);
  return { ...fixture, modelId: 1n };
}

describe("ModelRegistry", function () {
  describe("constructor", function () {
    it("sets the governance owner", async function () {
      const { registry, governance } = await networkHelpers.loadFixture(deployRegistry);
      expect(await registry.owner()).to.equal(governance.address);
      expect(await registry.modelCount()).to.equal(0n);
    });

    it("refuses a zero owner", async function () {
      const factory = await ethers.getContractFactory("ModelRegistry");
      await expect(factory.deploy(ethers.ZeroAddress))
        .to.be.revertedWithCustomError(factory, "OwnableInvalidOwner")
        .withArgs(ethers.ZeroAddress);
    });
  });

  describe("registerModel", function () {
    it("stores the model, assigns ids from 1 and emits ModelRegistered", async function () {
      const { registry, verifier, modelOwner } = await networkHelpers.loadFixture(deployRegistry);
      const verifierAddress = await verifier.getAddress();

      await expect(registry.registerModel(verifierAddress, VK_HASH, modelOwner.address, PRICE))
        .to.emit(registry, "ModelRegistered")
        .withArgs(1n, verifierAddress, VK_HASH, modelOwner.address, PRICE);
      await expect(registry.registerModel(verifierAddress, ethers.ZeroHash, modelOwner.address, 0n))
        .to.emit(registry, "ModelRegistered")
        .withArgs(2n, verifierAddress, ethers.ZeroHash, modelOwner.address, 0n);

      const m = await registry.model(1n);
      expect(m.verifier).to.equal(verifierAddress);
      expect(m.vkHash).to.equal(VK_HASH);
      expect(m.owner).to.equal(modelOwner.address);
      expect(m.price).to.equal(PRICE);
      expect(m.active).to.equal(true);
      expect(await registry.modelCount()).to.equal(2n);
    });

    it("returns the new id to a static call", async function () {
      const { registry, verifier, modelOwner } = await networkHelpers.loadFixture(deployWithModel);
      const id = await registry.registerModel.staticCall(await verifier.getAddress(), VK_HASH, modelOwner.address, 1n);
      expect(id).to.equal(2n);
    });

    it("is restricted to the registry owner", async function () {
      const { registry, verifier, stranger } = await networkHelpers.loadFixture(deployRegistry);
      await expect(
        registry.connect(stranger).registerModel(await verifier.getAddress(), VK_HASH, stranger.address, PRICE),
      )
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
    });

    it("refuses a zero verifier", async function () {
      const { registry, modelOwner } = await networkHelpers.loadFixture(deployRegistry);
      await expect(
        registry.registerModel(ethers.ZeroAddress, VK_HASH, modelOwner.address, PRICE),
      ).to.be.revertedWithCustomError(registry, "ModelRegistryZeroVerifier");
    });

    it("refuses a zero model owner", async function () {
      const { registry, verifier } = await networkHelpers.loadFixture(deployRegistry);
      await expect(
        registry.registerModel(await verifier.getAddress(), VK_HASH, ethers.ZeroAddress, PRICE),
      ).to.be.revertedWithCustomError(registry, "ModelRegistryZeroOwner");
    });

    it("refuses a verifier without code", async function () {
      const { registry, modelOwner, stranger } = await networkHelpers.loadFixture(deployRegistry);
      await expect(registry.registerModel(stranger.address, VK_HASH, modelOwner.address, PRICE))
        .to.be.revertedWithCustomError(registry, "ModelRegistryVerifierWithoutCode")
        .withArgs(stranger.address);
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

    it("refuses anyone else, including the registry owner", async function () {
      const { registry, governance, stranger, modelId } = await networkHelpers.loadFixture(deployWithModel);
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
        .withArgs(modelId, false, modelOwner.address);
      expect((await registry.model(modelId)).active).to.equal(false);
      await expect(registry.connect(modelOwner).setActive(modelId, true))
        .to.emit(registry, "ModelActiveSet")
        .withArgs(modelId, true, modelOwner.address);
      expect((await registry.model(modelId)).active).to.equal(true);
    });

    it("lets the registry owner deactivate", async function () {
      const { registry, governance, modelId } = await networkHelpers.loadFixture(deployWithModel);
      await expect(registry.connect(governance).setActive(modelId, false))
        .to.emit(registry, "ModelActiveSet")
        .withArgs(modelId, false, governance.address);
      expect((await registry.model(modelId)).active).to.equal(false);
    });

    it("refuses anyone else", async function () {
      const { registry, stranger, modelId } = await networkHelpers.loadFixture(deployWithModel);
      await expect(registry.connect(stranger).setActive(modelId, false))
        .to.be.revertedWithCustomError(registry, "ModelRegistryUnauthorized")
        .withArgs(modelId, stranger.address);
    });

    it("refuses an unknown model", async function () {
      const { registry } = await networkHelpers.loadFixture(deployWithModel);
      await expect(registry.setActive(7n, false))
        .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
        .withArgs(7n);
    });
  });

  describe("model", function () {
    it("returns a zeroed struct for an unknown id", async function () {
      const { registry } = await networkHelpers.loadFixture(deployWithModel);
      for (const id of [0n, 2n]) {
        const m = await registry.model(id);
        expect(m.verifier).to.equal(ethers.ZeroAddress);
        expect(m.owner).to.equal(ethers.ZeroAddress);
        expect(m.active).to.equal(false);
      }
    });
  });

  describe("model owner's metadata, royalty recipient and ownership", function () {
    it("emits ModelMetadataSet and ModelRoyaltyRecipientSet", async function () {
      const { registry, modelOwner, stranger, modelId } = await networkHelpers.loadFixture(deployWithModel);
      const onnxHash = ethers.id("onnx bytes");
      await expect(registry.connect(modelOwner).setMetadata(modelId, "ipfs://mnist-mlp", onnxHash))
        .to.emit(registry, "ModelMetadataSet")
        .withArgs(modelId, "ipfs://mnist-mlp", onnxHash);
      expect(await registry.metadata(modelId)).to.deep.equal(["ipfs://mnist-mlp", onnxHash]);
      await expect(registry.connect(modelOwner).setRoyaltyRecipient(modelId, stranger.address))
        .to.emit(registry, "ModelRoyaltyRecipientSet")
        .withArgs(modelId, stranger.address);
      expect((await registry.model(modelId)).royaltyRecipient).to.equal(stranger.address);
    });

    it("emits the two events of a two-step ownership transfer", async function () {
      const { registry, modelOwner, stranger, modelId } = await networkHelpers.loadFixture(deployWithModel);
      await expect(registry.connect(modelOwner).transferModelOwnership(modelId, stranger.address))
        .to.emit(registry, "ModelOwnershipTransferStarted")
        .withArgs(modelId, modelOwner.address, stranger.address);
      expect(await registry.pendingModelOwner(modelId)).to.equal(stranger.address);
      await expect(registry.connect(stranger).acceptModelOwnership(modelId))
        .to.emit(registry, "ModelOwnershipTransferred")
        .withArgs(modelId, modelOwner.address, stranger.address);
      expect((await registry.model(modelId)).owner).to.equal(stranger.address);
    });

    it("keeps registry governance out of the model owner's powers", async function () {
      const { registry, governance, modelId } = await networkHelpers.loadFixture(deployWithModel);
      for (const call of [
        registry.setMetadata(modelId, "x", ethers.ZeroHash),
        registry.setRoyaltyRecipient(modelId, governance.address),
        registry.transferModelOwnership(modelId, governance.address),
      ]) {
        await expect(call)
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnauthorized")
          .withArgs(modelId, governance.address);
      }
    });
  });

  describe("governance (Ownable2Step)", function () {
    it("moves registration rights only once the new owner accepts", async function () {
      const { registry, verifier, governance, newGovernance, modelOwner } =
        await networkHelpers.loadFixture(deployRegistry);
      const verifierAddress = await verifier.getAddress();

      await registry.transferOwnership(newGovernance.address);
      expect(await registry.owner()).to.equal(governance.address);
      expect(await registry.pendingOwner()).to.equal(newGovernance.address);
      await expect(
        registry.connect(newGovernance).registerModel(verifierAddress, VK_HASH, modelOwner.address, PRICE),
      ).to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount");

      await registry.connect(newGovernance).acceptOwnership();
      expect(await registry.owner()).to.equal(newGovernance.address);
      await expect(registry.registerModel(verifierAddress, VK_HASH, modelOwner.address, PRICE))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(governance.address);
      await expect(
        registry.connect(newGovernance).registerModel(verifierAddress, VK_HASH, modelOwner.address, PRICE),
      ).to.emit(registry, "ModelRegistered");
    });
  });
});
