/**
 * The requester's wait for a result (waitForFulfilment, scripts/chain/requester.ts) on the
 * in-process chain: it returns the settled output, the validator and the gas once a proof is
 * accepted, and gives up with a RequestNotSettledError naming the request when there is nothing
 * to wait for: no such request, a refund, a deadline passed unfulfilled, or its own timeout.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { deployProtocol, type Protocol } from "../../scripts/chain/protocol.ts";
import { postRequest, RequestNotSettledError, waitForFulfilment } from "../../scripts/chain/requester.ts";
import { requestTerms } from "../../scripts/chain/terms.ts";
import { ensureStaked, fulfilRequest, openRequests } from "../../scripts/chain/validator.ts";
import { inferQuantizedGraph } from "../../scripts/model/graph-inference.ts";
import { loadMnist, type Digit } from "../../scripts/model/mnist.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { loadModelArtifacts, type ModelArtifacts } from "../../scripts/prove/prove-request.ts";
import { releaseProverThreads } from "../../scripts/prove/prover.ts";

const PRICE = 10n ** 18n;

/** The error `promise` rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<RequestNotSettledError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(RequestNotSettledError);
    return err as RequestNotSettledError;
  }
  throw new Error("expected the wait to give up");
}

describe("waiting for a request's result", function () {
  let built: BuiltModel;
  let artifacts: ModelArtifacts;
  let digit: Digit;

  before(async function () {
    built = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    artifacts = await loadModelArtifacts(built.manifestFile);
    digit = loadMnist().test[0]!;
  });

  after(releaseProverThreads);

  async function setUp() {
    const { ethers, networkHelpers } = await network.create();
    const [governance, owner, requester, validator] = await ethers.getSigners();
    const protocol: Protocol = await deployProtocol(ethers, governance, {
      manifestFile: built.manifestFile,
      modelOwner: owner.address,
      price: PRICE,
    });
    await (await protocol.token.mint(requester.address, 10n * PRICE)).wait();
    await (await protocol.token.mint(validator.address, (await protocol.market.params()).minStake)).wait();
    const post = async (ttl = 3600) =>
      (await postRequest(protocol.market, requester, protocol.modelId, digit.pixels, ttl)).requestId;
    return { networkHelpers, protocol, requester, validator, post };
  }

  it("returns the settled output, the validator and the settling transaction's gas", async function () {
    const { protocol, validator, post } = await setUp();
    const id = await post();
    const waiting = waitForFulfilment(protocol.market, id, { pollMs: 20, timeoutMs: 120_000 });
    await ensureStaked(protocol.market, validator);
    const [open] = await openRequests(protocol.market, protocol.modelId);
    const fulfilment = await fulfilRequest(protocol.market, validator, artifacts, open!);
    const settled = await waiting;
    expect(settled.requestId).to.equal(id);
    expect(settled.output).to.equal(inferQuantizedGraph(built.quantized, digit.pixels).output);
    expect(settled.validator).to.equal(validator.address);
    expect(settled.gasUsed).to.equal(fulfilment.gasUsed);
  });

  it("refuses a request that does not exist", async function () {
    const { protocol } = await setUp();
    const err = await rejection(waitForFulfilment(protocol.market, 42n));
    expect(err.message).to.equal("request 42 does not exist on this market");
    expect(err.requestId).to.equal(42n);
  });

  it("gives up after its timeout, naming the request and its status", async function () {
    const { protocol, post } = await setUp();
    const id = await post();
    const err = await rejection(waitForFulfilment(protocol.market, id, { pollMs: 10, timeoutMs: 50 }));
    expect(err.message).to.equal(`request ${id} was not fulfilled within 50 ms (status 1)`);
  });

  it("gives up once the deadline has passed unfulfilled, and says to refund", async function () {
    const { networkHelpers, protocol, post } = await setUp();
    const id = await post(60);
    await networkHelpers.time.increase(61);
    const err = await rejection(waitForFulfilment(protocol.market, id));
    expect(err.message).to.match(new RegExp(`^request ${id} reached its deadline unfulfilled: refund it`));
  });

  it("gives up on a refunded request", async function () {
    const { networkHelpers, protocol, requester, post } = await setUp();
    const id = await post(60);
    await networkHelpers.time.increase(61);
    const terms = await requestTerms(protocol.market, id);
    await (await protocol.market.connect(requester).refund(id, terms)).wait();
    const err = await rejection(waitForFulfilment(protocol.market, id));
    expect(err.message).to.equal(`request ${id} was refunded, not fulfilled`);
    expect(err.status).to.equal(4n);
  });
});
