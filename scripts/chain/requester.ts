/**
 * The requester's side: commit to an input, escrow the model's fee and open a request.
 */
import type { Signer } from "ethers";
import {
  IModelRegistry__factory,
  TestToken__factory,
  type InferenceMarket,
} from "../../types/ethers-contracts/index.js";
import { packedCommitment } from "../circuit/reference.ts";
import { requestTerms, RequestStatus } from "./terms.ts";
import { fulfilmentOf } from "./validator.ts";

export interface PostedRequest {
  requestId: bigint;
  inputCommitment: bigint;
  fee: bigint;
  gasUsed: bigint;
}

/**
 * Approves the fee and opens a request with the input inline (published in the event).
 * @param pixels the input bytes, 0..255 each
 * @param ttlSeconds how long validators have to fulfil it
 */
export async function postRequest(
  market: InferenceMarket,
  requester: Signer,
  modelId: bigint,
  pixels: Uint8Array,
  ttlSeconds = 3600,
): Promise<PostedRequest> {
  const [posted] = await postRequests(market, requester, modelId, [pixels], ttlSeconds);
  return posted;
}

/**
 * Approves the fees and opens one request per input, all for `modelId` with one deadline:
 * `requestInference` for one input, `requestInferences` (one transaction, one token transfer,
 * consecutive ids) for several. Each request's `gasUsed` is its share of the transaction's gas.
 * @throws a RangeError naming the input and byte at fault (nothing is sent)
 */
export async function postRequests(
  market: InferenceMarket,
  requester: Signer,
  modelId: bigint,
  inputs: readonly Uint8Array[],
  ttlSeconds = 3600,
): Promise<PostedRequest[]> {
  if (inputs.length === 0) throw new RangeError("no input to request an inference for");
  inputs.forEach((pixels, i) => {
    for (const p of pixels)
      if (!Number.isInteger(p) || p < 0 || p > 255) throw new RangeError(`input ${i}: byte ${p} is outside 0..255`);
  });
  const m = market.connect(requester);
  const registry = IModelRegistry__factory.connect(await m.registry(), requester);
  const { price, feeToken } = await registry.model(modelId);
  // Each model names its own fee token; only the ERC-20 part of the TestToken ABI is used here.
  const token = TestToken__factory.connect(feeToken, requester);
  const total = price * BigInt(inputs.length);
  if (total > 0n) await (await token.approve(await m.getAddress(), total)).wait();
  const commitments = inputs.map((pixels) => packedCommitment(pixels, 8));
  const block = await requester.provider!.getBlock("latest");
  const deadline = BigInt(block!.timestamp) + BigInt(ttlSeconds);
  // The price read above is the most each request may cost: a raise in between makes it revert.
  let firstId: bigint;
  let gasUsed: bigint;
  if (inputs.length === 1) {
    firstId = await m.requestInference.staticCall(modelId, commitments[0], inputs[0], deadline, price);
    gasUsed = (await (await m.requestInference(modelId, commitments[0], inputs[0], deadline, price)).wait())!.gasUsed;
  } else {
    const args = [modelId, commitments, inputs as Uint8Array[], deadline, price] as const;
    firstId = await m.requestInferences.staticCall(...args);
    gasUsed = (await (await m.requestInferences(...args)).wait())!.gasUsed;
  }
  return commitments.map((inputCommitment, i) => ({
    requestId: firstId + BigInt(i),
    inputCommitment,
    fee: price,
    gasUsed: gasUsed / BigInt(inputs.length),
  }));
}

/** A settled request, as its InferenceFulfilled event and transaction give it. */
export interface SettledRequest {
  requestId: bigint;
  /** The validator the market paid. */
  validator: string;
  /** The packed output the proof settled (decode it with the model: unpackGraphOutput). */
  output: bigint;
  blockNumber: number;
  transactionHash: string;
  /** Gas of the settling transaction (a fulfilBatch's covers every request of its batch). */
  gasUsed: bigint;
}

/** Why {@link waitForFulfilment} gave up: the request was refunded, expired, or the wait timed out. */
export class RequestNotSettledError extends Error {
  override name = "RequestNotSettledError";
  constructor(
    message: string,
    readonly requestId: bigint,
    readonly status: bigint,
  ) {
    super(message);
  }
}

/**
 * Waits until request `requestId` is fulfilled and returns who settled it, with which output.
 * Polls the request's status every `pollMs` (default 1000). `fromBlock` is any block at or before
 * the request's (its events are read from there).
 * @throws RequestNotSettledError if the request does not exist, is refunded, reaches its deadline
 * unfulfilled (refund it then: `market.refund(requestId, terms)`), or `timeoutMs` passes first
 */
export async function waitForFulfilment(
  market: InferenceMarket,
  requestId: bigint,
  options: { fromBlock?: number; pollMs?: number; timeoutMs?: number } = {},
): Promise<SettledRequest> {
  const { fromBlock = 0, pollMs = 1000, timeoutMs = Infinity } = options;
  const provider = market.runner?.provider;
  if (!provider) throw new Error("waitForFulfilment needs a market connected to a provider or a signer with one");
  const [first] = await market.requestState(requestId);
  if (first === RequestStatus.None)
    throw new RequestNotSettledError(`request ${requestId} does not exist on this market`, requestId, first);
  const { deadline } = await requestTerms(market, requestId, fromBlock);
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    // The block is read before the status: a request still open after a block past its deadline
    // can no longer be fulfilled (fulfil needs block.timestamp <= deadline).
    const block = await provider.getBlock("latest");
    const [status] = await market.requestState(requestId);
    if (status === RequestStatus.Fulfilled) {
      const f = await fulfilmentOf(market, requestId, fromBlock);
      if (!f) throw new Error(`request ${requestId} is fulfilled but its InferenceFulfilled event is missing`);
      const receipt = await provider.getTransactionReceipt(f.transactionHash);
      return { requestId, ...f, gasUsed: receipt!.gasUsed };
    }
    if (status === RequestStatus.Refunded)
      throw new RequestNotSettledError(`request ${requestId} was refunded, not fulfilled`, requestId, status);
    if (block && BigInt(block.timestamp) > deadline)
      throw new RequestNotSettledError(
        `request ${requestId} reached its deadline unfulfilled: refund it (market.refund with its terms)`,
        requestId,
        status,
      );
    if (Date.now() + pollMs > giveUpAt)
      throw new RequestNotSettledError(
        `request ${requestId} was not fulfilled within ${timeoutMs} ms (status ${status})`,
        requestId,
        status,
      );
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
