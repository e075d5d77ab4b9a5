import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { AddressLike, BigNumberish } from "ethers";
import { network } from "hardhat";
import type { InferenceMarket } from "../../types/ethers-contracts/index.js";
import { requestWord } from "../../scripts/chain/terms.ts";
import { requestOf, termsOf } from "../helpers/market.ts";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

/** Order r of the BN254 scalar field. */
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const PRICE = 5n * 10n ** 18n;
const VK_HASH = ethers.id("vk");
const COMMITMENT = 123456789n;
const INPUT = "0x0102030405";
const OUTPUT = 7n;
const PROOF: bigint[] = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n];
/** Poseidon commitment to the test model's weights (any nonzero canonical value will do here). */
const WEIGHTS = 987654321n;
const HOUR = 3600;

/** Mirror of ProofBinding.compute, written from the spec, not from the contract. */
function expectedBinding(chainId: bigint, market: string, requestId: bigint, prover: string): bigint {
  const encoded = ethers.AbiCoder.defaultAbiCoder().encode(
    ["uint256", "address", "uint256", "address"],
    [chainId, market, requestId, prover],
  );
  return BigInt(ethers.keccak256(encoded)) % R;
}

/**
 * Market parameters for these tests: no protocol fee and no royalty, so a fulfilment credits the
 * whole fee to the validator (the split is tested on its own, and fuzzed in InferenceMarket.t.sol).
 */
const PARAMS = {
  protocolFeeBps: 0n,
  royaltyBps: 0n,
  claimWindow: 600n,
  maxRequestTtl: 86_400n,
  unbondingDelay: 172_800n,
  minStake: 100n * 10n ** 18n,
  claimBond: 10n * 10n ** 18n,
};

/** Constructor arguments of a market over `registry`, staking in a fresh token. */
async function marketArgs(registry: { getAddress(): Promise<string> }) {
  const [governance] = await ethers.getSigners();
  const stakeToken = await ethers.deployContract("TestToken");
  return [await registry.getAddress(), await stakeToken.getAddress(), governance.address, PARAMS];
}

/** Terms of a model paid in `feeToken` at `price`, royalties to `recipient`. */
function modelTerms(feeToken: string, recipient: string, price: bigint = PRICE) {
  return {
    feeToken,
    price,
    royaltyRecipient: recipient,
    previousVersion: 0n,
    metadataURI: "ipfs://model",
    onnxHash: ethers.id("onnx"),
  };
}

/** Stakes `minStake` of the market's stake token for each validator. */
async function stakeAll(market: InferenceMarket, validators: HardhatEthersSigner[]) {
  const stakeToken = await ethers.getContractAt("TestToken", await market.stakeToken());
  for (const v of validators) {
    await stakeToken.mint(v.address, 10n * PARAMS.minStake);
    await stakeToken.connect(v).approve(await market.getAddress(), ethers.MaxUint256);
    await market.connect(v).stake(PARAMS.minStake);
  }
}

async function deployMarket() {
  const [governance, modelOwner, requester, validator, other] = await ethers.getSigners();
  const circuits = await ethers.deployContract("CircuitRegistry", [0n, governance.address]);
  const verifier = await ethers.deployContract("SettableVerifier", [true]);
  await circuits.registerCircuit(await verifier.getAddress(), VK_HASH, 4n, 1n, ethers.ZeroHash, "");
  const registry = await ethers.deployContract("ModelRegistry", [await circuits.getAddress(), false]);
  const token = await ethers.deployContract("TestToken");
  const market = await ethers.deployContract("InferenceMarket", await marketArgs(registry));
  await registry
    .connect(modelOwner)
    .registerCommittedModel(modelTerms(await token.getAddress(), modelOwner.address), 1n, WEIGHTS, [], []);
  const modelId = 1n;

  for (const account of [requester, other]) {
    await token.mint(account.address, 1000n * PRICE);
    await token.connect(account).approve(await market.getAddress(), ethers.MaxUint256);
  }
  await stakeAll(market, [validator, other]);
  return { circuits, registry, token, verifier, market, modelId, governance, modelOwner, requester, validator, other };
}

/** A market with one Open request (id 1) whose deadline is an hour away. */
async function deployWithRequest() {
  const fixture = await deployMarket();
  const deadline = BigInt((await time.latest()) + HOUR);
  await fixture.market.connect(fixture.requester).requestInference(fixture.modelId, COMMITMENT, INPUT, deadline, PRICE);
  return { ...fixture, requestId: 1n, deadline };
}

async function inAnHour(): Promise<bigint> {
  return BigInt((await time.latest()) + HOUR);
}

describe("InferenceMarket", function () {
  describe("constructor", function () {
    it("stores the registry and stake token", async function () {
      const { market, registry } = await networkHelpers.loadFixture(deployMarket);
      expect(await market.registry()).to.equal(await registry.getAddress());
      expect(await market.stakeToken()).to.not.equal(ethers.ZeroAddress);
      expect(await market.requestCount()).to.equal(0n);
    });

    it("refuses zero addresses", async function () {
      const { registry, token, governance } = await networkHelpers.loadFixture(deployMarket);
      const factory = await ethers.getContractFactory("InferenceMarket");
      const [reg, tok] = [await registry.getAddress(), await token.getAddress()];
      const zero = ethers.ZeroAddress;
      const cases: [AddressLike, AddressLike][] = [
        [zero, tok],
        [reg, zero],
      ];
      for (const [r, st] of cases) {
        await expect(factory.deploy(r, st, governance.address, PARAMS)).to.be.revertedWithCustomError(
          factory,
          "InferenceMarketZeroAddress",
        );
      }
      await expect(factory.deploy(reg, tok, zero, PARAMS))
        .to.be.revertedWithCustomError(factory, "OwnableInvalidOwner")
        .withArgs(zero);
    });
  });

  describe("requestInference", function () {
    it("escrows the fee, stores the request and emits the input in the event only", async function () {
      const { market, token, requester, modelId } = await networkHelpers.loadFixture(deployMarket);
      const deadline = await inAnHour();
      const tx = market.connect(requester).requestInference(modelId, COMMITMENT, INPUT, deadline, PRICE);

      await expect(tx)
        .to.emit(market, "InferenceRequested")
        .withArgs(1n, modelId, requester.address, COMMITMENT, await token.getAddress(), PRICE, deadline, INPUT);
      await expect(tx).to.changeTokenBalances(ethers, token, [requester, market], [-PRICE, PRICE]);

      const req = await requestOf(market, 1n);
      expect(req.requester).to.equal(requester.address);
      expect(req.modelId).to.equal(modelId);
      expect(req.inputCommitment).to.equal(COMMITMENT);
      expect(req.fee).to.equal(PRICE);
      expect(req.feeToken).to.equal(await token.getAddress());
      expect(req.deadline).to.equal(deadline);
      expect(req.status).to.equal(1n); // Open
      expect(req.claimer).to.equal(ethers.ZeroAddress);
      expect(req.bond).to.equal(0n);
      expect(await market.requestCount()).to.equal(1n);
      // One word: the hash of the terms the event gives, with the status in the low byte.
      const { status, word, ...terms } = req;
      expect(word).to.equal(requestWord(terms, status));
      expect(word).to.equal(await market.requestWord(terms, status));
    });

    it("refuses any call whose terms are not the request's, naming the request", async function () {
      const { market, validator, other, requestId, deadline } = await networkHelpers.loadFixture(deployWithRequest);
      const terms = await termsOf(market, requestId);
      const lies = [
        { ...terms, fee: terms.fee - 1n },
        { ...terms, requester: other.address },
        { ...terms, deadline: terms.deadline + 1n },
        { ...terms, claimer: validator.address },
      ];
      for (const lie of lies) {
        await expect(market.connect(validator).claim(requestId, lie))
          .to.be.revertedWithCustomError(market, "InferenceMarketWrongTerms")
          .withArgs(requestId);
        await expect(market.connect(validator).fulfil(requestId, lie, OUTPUT, PROOF))
          .to.be.revertedWithCustomError(market, "InferenceMarketWrongTerms")
          .withArgs(requestId);
      }
      await time.increaseTo(deadline + 1n);
      await expect(market.refund(requestId, lies[0]))
        .to.be.revertedWithCustomError(market, "InferenceMarketWrongTerms")
        .withArgs(requestId);
      await expect(market.refund(requestId, terms)).to.emit(market, "InferenceRefunded");
    });

    it("assigns ids incrementally and returns them", async function () {
      const { market, requester, modelId } = await networkHelpers.loadFixture(deployWithRequest);
      const deadline = await inAnHour();
      expect(await market.connect(requester).requestInference.staticCall(modelId, 2n, "0x", deadline, PRICE)).to.equal(
        2n,
      );
      await market.connect(requester).requestInference(modelId, 2n, "0x", deadline, PRICE);
      expect(await market.requestCount()).to.equal(2n);
    });

    it("charges the price at request time, not at fulfilment", async function () {
      const { market, registry, token, modelOwner, validator, requestId } =
        await networkHelpers.loadFixture(deployWithRequest);
      await registry.connect(modelOwner).setPrice(1n, PRICE * 3n);
      expect((await requestOf(market, requestId)).fee).to.equal(PRICE);
      await market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF);
      expect(await market.balanceOf(validator.address, token)).to.equal(PRICE);
    });

    it("accepts a free model", async function () {
      const { market, token, registry, modelOwner, requester, modelId } =
        await networkHelpers.loadFixture(deployMarket);
      await registry.connect(modelOwner).setPrice(modelId, 0n);
      const deadline = await inAnHour();
      const tx = market.connect(requester).requestInference(modelId, COMMITMENT, INPUT, deadline, PRICE);
      await expect(tx)
        .to.emit(market, "InferenceRequested")
        .withArgs(1n, modelId, requester.address, COMMITMENT, await token.getAddress(), 0n, deadline, INPUT);
      await expect(tx).to.changeTokenBalance(ethers, token, requester, 0n);
    });

    it("refuses an unknown model", async function () {
      const { market, requester } = await networkHelpers.loadFixture(deployMarket);
      for (const id of [0n, 2n]) {
        await expect(market.connect(requester).requestInference(id, COMMITMENT, INPUT, await inAnHour(), PRICE))
          .to.be.revertedWithCustomError(market, "InferenceMarketUnknownModel")
          .withArgs(id);
      }
    });

    it("refuses an inactive model", async function () {
      const { market, registry, modelOwner, requester, modelId } = await networkHelpers.loadFixture(deployMarket);
      await registry.connect(modelOwner).setActive(modelId, false);
      await expect(market.connect(requester).requestInference(modelId, COMMITMENT, INPUT, await inAnHour(), PRICE))
        .to.be.revertedWithCustomError(market, "InferenceMarketModelInactive")
        .withArgs(modelId);
    });

    it("refuses a zero or non-canonical input commitment", async function () {
      const { market, requester, modelId } = await networkHelpers.loadFixture(deployMarket);
      for (const bad of [0n, R, R + 1n, ethers.MaxUint256]) {
        await expect(market.connect(requester).requestInference(modelId, bad, INPUT, await inAnHour(), PRICE))
          .to.be.revertedWithCustomError(market, "InferenceMarketInvalidInputCommitment")
          .withArgs(bad);
      }
    });

    it("accepts the largest canonical commitment r - 1", async function () {
      const { market, requester, modelId } = await networkHelpers.loadFixture(deployMarket);
      await expect(market.connect(requester).requestInference(modelId, R - 1n, INPUT, await inAnHour(), PRICE)).to.emit(
        market,
        "InferenceRequested",
      );
    });

    it("refuses a deadline that is not in the future", async function () {
      const { market, requester, modelId } = await networkHelpers.loadFixture(deployMarket);
      const now = BigInt(await time.latest());
      // The next block is mined at now + 1, so `now + 1` is "not in the future" too.
      for (const deadline of [0n, now, now + 1n]) {
        await time.setNextBlockTimestamp(now + 1n);
        await expect(market.connect(requester).requestInference(modelId, COMMITMENT, INPUT, deadline, PRICE))
          .to.be.revertedWithCustomError(market, "InferenceMarketInvalidDeadline")
          .withArgs(deadline);
      }
    });

    it("refuses a requester who has not approved the fee", async function () {
      const { market, token, validator, modelId } = await networkHelpers.loadFixture(deployMarket);
      await token.mint(validator.address, PRICE);
      await expect(
        market.connect(validator).requestInference(modelId, COMMITMENT, INPUT, await inAnHour(), PRICE),
      ).to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance");
    });

    it("refuses a model whose fee token charges a fee on transfer", async function () {
      const { registry, market, modelOwner, requester } = await networkHelpers.loadFixture(deployMarket);
      const fot = await ethers.deployContract("FeeOnTransferToken");
      await registry
        .connect(modelOwner)
        .registerCommittedModel(modelTerms(await fot.getAddress(), modelOwner.address), 1n, WEIGHTS, [], []);
      await fot.mint(requester.address, 10n * PRICE);
      await fot.connect(requester).approve(await market.getAddress(), ethers.MaxUint256);
      const received = PRICE - PRICE / 100n;

      await expect(market.connect(requester).requestInference(2n, COMMITMENT, INPUT, await inAnHour(), PRICE))
        .to.be.revertedWithCustomError(market, "InferenceMarketTransferMismatch")
        .withArgs(PRICE, received);
      expect(await fot.balanceOf(await market.getAddress())).to.equal(0n);
      expect(await fot.balanceOf(requester.address)).to.equal(10n * PRICE);
      expect(await market.requestCount()).to.equal(0n);
      expect(await market.feeAccounts(fot)).to.deep.equal([0n, 0n, 0n]);
    });
  });

  describe("fulfil", function () {
    it("verifies, records the output, credits the fee and emits InferenceFulfilled", async function () {
      const { market, token, validator, requestId } = await networkHelpers.loadFixture(deployWithRequest);
      await expect(market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF))
        .to.emit(market, "InferenceFulfilled")
        .withArgs(requestId, validator.address, OUTPUT, PRICE, 0n, 0n);

      const req = await requestOf(market, requestId);
      expect(req.status).to.equal(3n); // Fulfilled
      expect(await market.balanceOf(validator.address, token)).to.equal(PRICE);
    });

    it("passes [weightsCommitment, inputCommitment, output, binding(requestId, msg.sender)] and the proof in snarkjs order", async function () {
      const { market, verifier, validator, requestId } = await networkHelpers.loadFixture(deployWithRequest);
      const bindingValue = await market.binding(requestId, validator.address);
      await verifier.expectPublicSignals([WEIGHTS, COMMITMENT, OUTPUT, bindingValue]);
      await verifier.expectProof(PROOF);

      await expect(
        market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF),
      ).to.emit(market, "InferenceFulfilled");
    });

    it("rejects a proof bound to another prover (front-running)", async function () {
      const { market, verifier, validator, other, requestId } = await networkHelpers.loadFixture(deployWithRequest);
      // The verifier accepts only signals bound to `validator`, as a real proof made by them would be.
      await verifier.expectPublicSignals([
        WEIGHTS,
        COMMITMENT,
        OUTPUT,
        await market.binding(requestId, validator.address),
      ]);

      await expect(market.connect(other).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF))
        .to.be.revertedWithCustomError(market, "InferenceMarketInvalidProof")
        .withArgs(requestId);
      await expect(
        market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF),
      ).to.emit(market, "InferenceFulfilled");
    });

    it("rejects a proof made for another request (replay)", async function () {
      const { market, verifier, requester, validator, modelId, requestId } =
        await networkHelpers.loadFixture(deployWithRequest);
      // Same commitment, so only the binding tells the two requests apart.
      await market.connect(requester).requestInference(modelId, COMMITMENT, INPUT, await inAnHour(), PRICE);
      await verifier.expectPublicSignals([
        WEIGHTS,
        COMMITMENT,
        OUTPUT,
        await market.binding(requestId, validator.address),
      ]);

      await expect(market.connect(validator).fulfil(2n, await termsOf(market, 2n), OUTPUT, PROOF))
        .to.be.revertedWithCustomError(market, "InferenceMarketInvalidProof")
        .withArgs(2n);
      await market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF);
    });

    it("rejects a proof of another output", async function () {
      const { market, verifier, validator, requestId } = await networkHelpers.loadFixture(deployWithRequest);
      await verifier.expectPublicSignals([
        WEIGHTS,
        COMMITMENT,
        OUTPUT,
        await market.binding(requestId, validator.address),
      ]);
      await expect(
        market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT + 1n, PROOF),
      ).to.be.revertedWithCustomError(market, "InferenceMarketInvalidProof");
    });

    it("reverts when the verifier answers false", async function () {
      const { market, token, verifier, validator, requestId } = await networkHelpers.loadFixture(deployWithRequest);
      await verifier.setAnswer(false);
      await expect(market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF))
        .to.be.revertedWithCustomError(market, "InferenceMarketInvalidProof")
        .withArgs(requestId);
      expect((await requestOf(market, requestId)).status).to.equal(1n);
      expect(await market.balanceOf(validator.address, token)).to.equal(0n);
    });

    it("refuses a non-canonical output", async function () {
      const { market, validator, requestId } = await networkHelpers.loadFixture(deployWithRequest);
      for (const bad of [R, R + OUTPUT, ethers.MaxUint256]) {
        await expect(market.connect(validator).fulfil(requestId, await termsOf(market, requestId), bad, PROOF))
          .to.be.revertedWithCustomError(market, "InferenceMarketInvalidOutput")
          .withArgs(bad);
      }
      await expect(
        market.connect(validator).fulfil(requestId, await termsOf(market, requestId), R - 1n, PROOF),
      ).to.emit(market, "InferenceFulfilled");
    });

    it("refuses a second fulfilment", async function () {
      const { market, token, validator, other, requestId } = await networkHelpers.loadFixture(deployWithRequest);
      await market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF);
      for (const account of [validator, other]) {
        await expect(market.connect(account).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF))
          .to.be.revertedWithCustomError(market, "InferenceMarketWrongStatus")
          .withArgs(requestId, 3n);
      }
      expect(await market.balanceOf(validator.address, token)).to.equal(PRICE);
    });

    it("refuses a request that does not exist", async function () {
      const { market, validator } = await networkHelpers.loadFixture(deployWithRequest);
      for (const id of [0n, 2n]) {
        await expect(market.connect(validator).fulfil(id, await termsOf(market, id), OUTPUT, PROOF))
          .to.be.revertedWithCustomError(market, "InferenceMarketWrongStatus")
          .withArgs(id, 0n);
      }
    });

    it("accepts a proof at the deadline itself", async function () {
      const { market, validator, requestId, deadline } = await networkHelpers.loadFixture(deployWithRequest);
      await time.setNextBlockTimestamp(deadline);
      await expect(
        market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF),
      ).to.emit(market, "InferenceFulfilled");
    });

    it("refuses a proof after the deadline", async function () {
      const { market, validator, requestId, deadline } = await networkHelpers.loadFixture(deployWithRequest);
      await time.setNextBlockTimestamp(deadline + 1n);
      await expect(market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF))
        .to.be.revertedWithCustomError(market, "InferenceMarketDeadlinePassed")
        .withArgs(requestId, deadline);
    });

    it("refuses a refunded request", async function () {
      const { market, validator, requestId, deadline } = await networkHelpers.loadFixture(deployWithRequest);
      await time.increaseTo(deadline + 1n);
      await market.refund(requestId, await termsOf(market, requestId));
      await expect(market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF))
        .to.be.revertedWithCustomError(market, "InferenceMarketWrongStatus")
        .withArgs(requestId, 4n);
    });

    it("still settles an open request after the model is deactivated", async function () {
      const { market, registry, modelOwner, validator, requestId } =
        await networkHelpers.loadFixture(deployWithRequest);
      await registry.connect(modelOwner).setActive(1n, false);
      await expect(
        market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF),
      ).to.emit(market, "InferenceFulfilled");
    });
  });

  describe("refund", function () {
    it("refuses before and at the deadline", async function () {
      const { market, requester, requestId, deadline } = await networkHelpers.loadFixture(deployWithRequest);
      await expect(market.connect(requester).refund(requestId, await termsOf(market, requestId)))
        .to.be.revertedWithCustomError(market, "InferenceMarketDeadlineNotReached")
        .withArgs(requestId, deadline);
      await time.setNextBlockTimestamp(deadline);
      await expect(market.connect(requester).refund(requestId, await termsOf(market, requestId)))
        .to.be.revertedWithCustomError(market, "InferenceMarketDeadlineNotReached")
        .withArgs(requestId, deadline);
    });

    it("credits the requester after the deadline, whoever calls", async function () {
      const { market, token, requester, other, requestId, deadline } =
        await networkHelpers.loadFixture(deployWithRequest);
      await time.increaseTo(deadline + 1n);
      await expect(market.connect(other).refund(requestId, await termsOf(market, requestId)))
        .to.emit(market, "InferenceRefunded")
        .withArgs(requestId, requester.address, PRICE);
      expect((await requestOf(market, requestId)).status).to.equal(4n); // Refunded
      expect(await market.balanceOf(requester.address, token)).to.equal(PRICE);
      expect(await market.balanceOf(other.address, token)).to.equal(0n);
    });

    it("refuses a second refund", async function () {
      const { market, requestId, deadline } = await networkHelpers.loadFixture(deployWithRequest);
      await time.increaseTo(deadline + 1n);
      await market.refund(requestId, await termsOf(market, requestId));
      await expect(market.refund(requestId, await termsOf(market, requestId)))
        .to.be.revertedWithCustomError(market, "InferenceMarketWrongStatus")
        .withArgs(requestId, 4n);
    });

    it("refuses a fulfilled request, so the fee is paid out once", async function () {
      const { market, token, requester, validator, requestId, deadline } =
        await networkHelpers.loadFixture(deployWithRequest);
      await market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF);
      await time.increaseTo(deadline + 1n);
      await expect(market.refund(requestId, await termsOf(market, requestId)))
        .to.be.revertedWithCustomError(market, "InferenceMarketWrongStatus")
        .withArgs(requestId, 3n);
      expect(await market.balanceOf(requester.address, token)).to.equal(0n);
    });

    it("refuses a request that does not exist", async function () {
      const { market } = await networkHelpers.loadFixture(deployWithRequest);
      await expect(market.refund(9n, await termsOf(market, 9n)))
        .to.be.revertedWithCustomError(market, "InferenceMarketWrongStatus")
        .withArgs(9n, 0n);
    });
  });

  describe("withdraw", function () {
    it("pays the whole credited balance once and emits Withdrawn", async function () {
      const { market, token, validator, requestId } = await networkHelpers.loadFixture(deployWithRequest);
      await market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF);

      const tx = market.connect(validator).withdraw(token);
      await expect(tx)
        .to.emit(market, "Withdrawn")
        .withArgs(validator.address, await token.getAddress(), PRICE);
      await expect(tx).to.changeTokenBalances(ethers, token, [validator, market], [PRICE, -PRICE]);
      expect(await market.balanceOf(validator.address, token)).to.equal(0n);

      await expect(market.connect(validator).withdraw(token))
        .to.be.revertedWithCustomError(market, "InferenceMarketNothingToWithdraw")
        .withArgs(validator.address);
    });

    it("lets a refunded requester withdraw", async function () {
      const { market, token, requester, requestId, deadline } = await networkHelpers.loadFixture(deployWithRequest);
      await time.increaseTo(deadline + 1n);
      await market.refund(requestId, await termsOf(market, requestId));
      await expect(market.connect(requester).withdraw(token)).to.changeTokenBalance(ethers, token, requester, PRICE);
    });

    it("refuses an account with nothing credited", async function () {
      const { market, token, other } = await networkHelpers.loadFixture(deployWithRequest);
      await expect(market.connect(other).withdraw(token))
        .to.be.revertedWithCustomError(market, "InferenceMarketNothingToWithdraw")
        .withArgs(other.address);
    });

    it("keeps the escrow solvent: balance = open fees + credited balances", async function () {
      const { market, token, requester, validator, other, modelId } = await networkHelpers.loadFixture(deployMarket);
      const deadline = await inAnHour();
      for (let i = 0; i < 4; i++) {
        await market
          .connect(i % 2 === 0 ? requester : other)
          .requestInference(modelId, BigInt(i + 1), "0x", deadline, PRICE);
      }
      await market.connect(validator).fulfil(1n, await termsOf(market, 1n), OUTPUT, PROOF);
      await market.connect(validator).fulfil(2n, await termsOf(market, 2n), OUTPUT, PROOF);
      await time.increaseTo(deadline + 1n);
      await market.refund(3n, await termsOf(market, 3n));
      await market.connect(validator).withdraw(token);

      let owed = 0n;
      for (const id of [1n, 2n, 3n, 4n]) {
        if ((await requestOf(market, id)).status === 1n) owed += PRICE;
      }
      for (const account of [requester, validator, other]) owed += await market.balanceOf(account.address, token);
      expect(await token.balanceOf(await market.getAddress())).to.equal(owed);
      expect(owed).to.equal(2n * PRICE);
    });
  });

  describe("staking, claims, fee split and pause (events)", function () {
    it("stake, unstake and withdrawStake emit their events and move the stake token", async function () {
      const { market, validator } = await networkHelpers.loadFixture(deployMarket);
      const stakeToken = await ethers.getContractAt("TestToken", await market.stakeToken());
      await expect(market.connect(validator).stake(5n)).to.emit(market, "Staked").withArgs(validator.address, 5n);
      const endsAt = BigInt((await time.latest()) + 1) + PARAMS.unbondingDelay;
      await time.setNextBlockTimestamp(endsAt - PARAMS.unbondingDelay);
      await expect(market.connect(validator).unstake(5n))
        .to.emit(market, "UnstakeStarted")
        .withArgs(validator.address, 5n, endsAt);
      await time.increaseTo(endsAt);
      await expect(market.connect(validator).withdrawStake()).to.changeTokenBalance(ethers, stakeToken, validator, 5n);
    });

    it("claim emits InferenceClaimed; a missed claim is slashed to the requester on refund", async function () {
      const { market, token, requester, validator, requestId, deadline } =
        await networkHelpers.loadFixture(deployWithRequest);
      const claimAt = BigInt((await time.latest()) + 1);
      await time.setNextBlockTimestamp(claimAt);
      await expect(market.connect(validator).claim(requestId, await termsOf(market, requestId)))
        .to.emit(market, "InferenceClaimed")
        .withArgs(requestId, validator.address, PARAMS.claimBond, claimAt, claimAt + PARAMS.claimWindow);
      expect((await requestOf(market, requestId)).status).to.equal(2n); // Claimed
      await time.increaseTo(deadline + 1n);
      await expect(market.refund(requestId, await termsOf(market, requestId)))
        .to.emit(market, "BondSlashed")
        .withArgs(requestId, validator.address, requester.address, PARAMS.claimBond);
      const slashedAt = BigInt(await time.latest());
      const stakeToken = await ethers.getContractAt("TestToken", await market.stakeToken());
      await expect(market.connect(requester).withdraw(token))
        .to.emit(market, "Withdrawn")
        .withArgs(requester.address, await token.getAddress(), PRICE);
      // The slashed bond is stake: withdrawable one unbonding delay after the slash, not before.
      const availableAt = slashedAt + PARAMS.unbondingDelay;
      await expect(market.connect(requester).withdraw(stakeToken))
        .to.be.revertedWithCustomError(market, "InferenceMarketStakeCreditLocked")
        .withArgs(requester.address, availableAt);
      expect(await market.withdrawableStakeCreditOf(requester.address)).to.deep.equal([0n, availableAt]);
      await time.increaseTo(availableAt);
      await expect(market.connect(requester).withdraw(stakeToken))
        .to.emit(market, "Withdrawn")
        .withArgs(requester.address, await stakeToken.getAddress(), PARAMS.claimBond);
      expect(await stakeToken.balanceOf(requester.address)).to.equal(PARAMS.claimBond);
    });

    it("the claimer's own fulfilment releases its bond", async function () {
      const { market, validator, requestId } = await networkHelpers.loadFixture(deployWithRequest);
      await market.connect(validator).claim(requestId, await termsOf(market, requestId));
      await expect(market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF))
        .to.emit(market, "BondReleased")
        .withArgs(requestId, validator.address, PARAMS.claimBond);
      expect((await market.stakeOf(validator.address)).bonded).to.equal(0n);
    });

    it("splits the fee between validator, model owner and protocol, and pays governance the protocol share", async function () {
      const { market, token, governance, modelOwner, validator, requestId } =
        await networkHelpers.loadFixture(deployWithRequest);
      await expect(
        market.connect(governance).setParams({ ...PARAMS, protocolFeeBps: 1_000n, royaltyBps: 3_000n }),
      ).to.emit(market, "ParamsSet");
      await expect(market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF))
        .to.emit(market, "InferenceFulfilled")
        .withArgs(requestId, validator.address, OUTPUT, (PRICE * 6n) / 10n, (PRICE * 3n) / 10n, PRICE / 10n);
      expect(await market.balanceOf(modelOwner.address, token)).to.equal((PRICE * 3n) / 10n);
      await expect(market.connect(governance).claimProtocolFees(token, governance.address))
        .to.emit(market, "ProtocolFeesClaimed")
        .withArgs(await token.getAddress(), governance.address, PRICE / 10n);
      expect(await token.balanceOf(governance.address)).to.equal(PRICE / 10n);
    });

    it("refuses fee caps above 10% (protocol) and 30% (royalty)", async function () {
      const { market, governance } = await networkHelpers.loadFixture(deployMarket);
      for (const bad of [
        { ...PARAMS, protocolFeeBps: 1_001n },
        { ...PARAMS, royaltyBps: 3_001n },
        { ...PARAMS, unbondingDelay: PARAMS.maxRequestTtl },
      ]) {
        await expect(market.connect(governance).setParams(bad)).to.be.revertedWithCustomError(
          market,
          "InferenceMarketInvalidParams",
        );
      }
    });

    it("pause blocks requests and fulfilments but not refunds", async function () {
      const { market, governance, requester, validator, modelId, requestId, deadline } =
        await networkHelpers.loadFixture(deployWithRequest);
      await market.connect(governance).pause();
      await expect(
        market.connect(requester).requestInference(modelId, COMMITMENT, INPUT, await inAnHour(), PRICE),
      ).to.be.revertedWithCustomError(market, "EnforcedPause");
      await expect(
        market.connect(validator).fulfil(requestId, await termsOf(market, requestId), OUTPUT, PROOF),
      ).to.be.revertedWithCustomError(market, "EnforcedPause");
      await time.increaseTo(deadline + 1n);
      await expect(market.refund(requestId, await termsOf(market, requestId))).to.emit(market, "InferenceRefunded");
    });
  });

  describe("re-entrancy through a malicious fee token", function () {
    async function deployReentrant() {
      const { registry, market, modelOwner, requester, validator } = await deployMarket();
      const token = await ethers.deployContract("ReentrantToken");
      await registry
        .connect(modelOwner)
        .registerCommittedModel(modelTerms(await token.getAddress(), modelOwner.address), 1n, WEIGHTS, [], []);
      const modelId = 2n;
      await token.mint(requester.address, 10n * PRICE);
      await token.connect(requester).approve(await market.getAddress(), ethers.MaxUint256);
      return { registry, token, market, requester, validator, modelId };
    }

    it("blocks a callback into the market during requestInference", async function () {
      const { token, market, requester, modelId } = await networkHelpers.loadFixture(deployReentrant);
      const deadline = await inAnHour();
      await token.arm(
        await market.getAddress(),
        market.interface.encodeFunctionData("requestInference", [modelId, COMMITMENT, INPUT, deadline, PRICE]),
      );
      await expect(
        market.connect(requester).requestInference(modelId, COMMITMENT, INPUT, deadline, PRICE),
      ).to.be.revertedWithCustomError(market, "ReentrancyGuardReentrantCall");
    });

    it("blocks a callback into the market during withdraw", async function () {
      const { token, market, requester, validator, modelId } = await networkHelpers.loadFixture(deployReentrant);
      await market.connect(requester).requestInference(modelId, COMMITMENT, INPUT, await inAnHour(), PRICE);
      await market.connect(validator).fulfil(1n, await termsOf(market, 1n), OUTPUT, PROOF);

      for (const callData of [
        market.interface.encodeFunctionData("withdraw", [await token.getAddress()]),
        market.interface.encodeFunctionData("refund", [1n, await termsOf(market, 1n)]),
        market.interface.encodeFunctionData("fulfil", [1n, await termsOf(market, 1n), OUTPUT, PROOF]),
      ]) {
        await token.arm(await market.getAddress(), callData);
        await expect(market.connect(validator).withdraw(token)).to.be.revertedWithCustomError(
          market,
          "ReentrancyGuardReentrantCall",
        );
      }
      // Nothing moved: once the token behaves, the validator withdraws exactly what was credited.
      await token.disarm();
      expect(await market.balanceOf(validator.address, token)).to.equal(PRICE);
      await expect(market.connect(validator).withdraw(token)).to.changeTokenBalance(ethers, token, validator, PRICE);
    });
  });

  describe("binding", function () {
    it("matches keccak256(abi.encode(chainid, market, requestId, prover)) mod r", async function () {
      const { market, validator } = await networkHelpers.loadFixture(deployMarket);
      const chainId = (await ethers.provider.getNetwork()).chainId;
      const marketAddress = await market.getAddress();
      for (const requestId of [0n, 1n, 2n ** 200n]) {
        const b = await market.binding(requestId, validator.address);
        expect(b).to.equal(expectedBinding(chainId, marketAddress, requestId, validator.address));
        expect(b < R).to.equal(true);
      }
    });

    it("differs per request, prover and market", async function () {
      const { market, registry, validator, other } = await networkHelpers.loadFixture(deployMarket);
      const market2 = await ethers.deployContract("InferenceMarket", await marketArgs(registry));
      const values: BigNumberish[] = [
        await market.binding(1n, validator.address),
        await market.binding(2n, validator.address),
        await market.binding(1n, other.address),
        await market2.binding(1n, validator.address),
      ];
      expect(new Set(values.map(String)).size).to.equal(values.length);
    });

    it("differs per chain for the same market address, request and prover", async function () {
      const { market, validator } = await networkHelpers.loadFixture(deployMarket);
      const otherChain = await network.create({ override: { chainId: 4242 } });
      try {
        // Replay the same deployments so the market lands at the same address on the other chain.
        const deployer = (await otherChain.ethers.getSigners())[0];
        const [governance] = await ethers.getSigners();
        expect(deployer.address).to.equal(governance.address);
        const circuits2 = await otherChain.ethers.deployContract("CircuitRegistry", [0n, deployer.address]);
        const verifier2 = await otherChain.ethers.deployContract("SettableVerifier", [true]);
        await circuits2.registerCircuit(await verifier2.getAddress(), VK_HASH, 4n, 1n, ethers.ZeroHash, "");
        const registry2 = await otherChain.ethers.deployContract("ModelRegistry", [
          await circuits2.getAddress(),
          false,
        ]);
        await otherChain.ethers.deployContract("TestToken");
        const stake2 = await otherChain.ethers.deployContract("TestToken");
        const market2 = await otherChain.ethers.deployContract("InferenceMarket", [
          await registry2.getAddress(),
          await stake2.getAddress(),
          deployer.address,
          PARAMS,
        ]);
        expect(await market2.getAddress()).to.equal(await market.getAddress());
        expect((await otherChain.ethers.provider.getNetwork()).chainId).to.equal(4242n);

        const here = await market.binding(1n, validator.address);
        const there = await market2.binding(1n, validator.address);
        expect(there).to.not.equal(here);
        expect(there).to.equal(expectedBinding(4242n, await market2.getAddress(), 1n, validator.address));
      } finally {
        await otherChain.close();
      }
    });
  });
});
