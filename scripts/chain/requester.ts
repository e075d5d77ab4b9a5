/**
 * The requester's side: check the inputs, commit to each, escrow the model's fee, open the
 * requests, and read back (or wait for) their settlement.
 */
import type { Signer } from "ethers";
import {
  IModelRegistry__factory,
  TestToken__factory,
  type InferenceMarket,
} from "../../types/ethers-contracts/index.js";
import { packedCommitment } from "../circuit/reference.ts";
import { fulfilmentOf, requestTerms, RequestStatus } from "./terms.ts";

/** An input a model cannot take: the message names the input, the value and its position. */
export class InputError extends RangeError {
  override name = "InputError";
}

/**
 * Checks requester inputs before anything is sent: each must be an array of integers 0..255 (the
 * bytes the commitment packs), or 0..2^inputBits-1 for a model of fewer input bits, and, when the
 * model's input size is known, of that length.
 * @param where names the source in messages (a file, or a flag)
 * @throws InputError naming the input, the position and the value at fault
 */
export function checkInputs(
  inputs: readonly unknown[],
  inputSize: number | undefined,
  where: string,
  inputBits = 8,
): Uint8Array[] {
  const max = 2 ** Math.min(8, inputBits) - 1;
  if (inputs.length === 0) throw new InputError(`${where}: no input to request an inference for`);
  const several = inputs.length > 1;
  return inputs.map((input, i) => {
    const which = several ? `${where}, input ${i}` : where;
    if (!Array.isArray(input)) throw new InputError(`${which}: not an array of input bytes`);
    if (inputSize !== undefined && input.length !== inputSize)
      throw new InputError(`${which}: ${input.length} values, but the model takes ${inputSize}`);
    input.forEach((v, j) => {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max)
        throw new InputError(
          `${which}: value ${JSON.stringify(v) ?? String(v)} at position ${j} is not an integer 0..${max}`,
        );
    });
    return Uint8Array.from(input as number[]);
  });
}

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
 * @throws an InputError naming the input and byte at fault (nothing is sent)
 */
export async function postRequests(
  market: InferenceMarket,
  requester: Signer,
  modelId: bigint,
  inputs: readonly Uint8Array[],
  ttlSeconds = 3600,
): Promise<PostedRequest[]> {
  checkInputs(
    inputs.map((x) => Array.from(x)),
    undefined,
    "request",
  );
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

/** How a request ended, read from its events (the market keeps only a hash and a status). */
export interface Settlement {
  requestId: bigint;
  status: "Fulfilled" | "Refunded";
  /** Fulfilled: the proven output (packed as the model's output mode), its prover and the gas. */
  output?: bigint;
  validator?: string;
  /** Gas of the fulfilling transaction; for a batch, its share per request. */
  gasUsed?: bigint;
  /** Gas of the whole fulfilling transaction (a fulfilBatch's covers every request of its batch). */
  transactionGas?: bigint;
  batchSize?: number;
  txHash: string;
  blockNumber: number;
}

/**
 * The settlement of a request, or undefined while it is open or claimed.
 * @param fromBlock any block at or before the request's
 */
export async function settlementOf(
  market: InferenceMarket,
  requestId: bigint,
  fromBlock = 0,
): Promise<Settlement | undefined> {
  const [status] = await market.requestState(requestId);
  if (status === RequestStatus.Refunded) {
    const [log] = await market.queryFilter(market.filters.InferenceRefunded(requestId), fromBlock);
    return log && { requestId, status: "Refunded", txHash: log.transactionHash, blockNumber: log.blockNumber };
  }
  if (status !== RequestStatus.Fulfilled) return undefined;
  const f = await fulfilmentOf(market, requestId, fromBlock);
  if (!f) return undefined;
  const receipt = await market.runner!.provider!.getTransactionReceipt(f.transactionHash);
  // One fulfilBatch settles several requests: each InferenceFulfilled of the transaction is one.
  const topic = market.interface.getEvent("InferenceFulfilled").topicHash;
  const batchSize = Math.max(1, receipt!.logs.filter((l) => l.topics[0] === topic).length);
  return {
    requestId,
    status: "Fulfilled",
    output: f.output,
    validator: f.validator,
    gasUsed: receipt!.gasUsed / BigInt(batchSize),
    transactionGas: receipt!.gasUsed,
    batchSize,
    txHash: f.transactionHash,
    blockNumber: f.blockNumber,
  };
}

/**
 * Waits until every request is settled (fulfilled or refunded), polling every `pollMs`.
 * @throws an Error naming the requests still open when `timeoutMs` has passed
 */
export async function waitForSettlement(
  market: InferenceMarket,
  requestIds: readonly bigint[],
  options: { fromBlock?: number; timeoutMs: number; pollMs?: number; onPoll?: () => void },
): Promise<Settlement[]> {
  const done = new Map<bigint, Settlement>();
  const until = Date.now() + options.timeoutMs;
  for (;;) {
    for (const id of requestIds) {
      if (done.has(id)) continue;
      const s = await settlementOf(market, id, options.fromBlock ?? 0);
      if (s) done.set(id, s);
    }
    if (done.size === requestIds.length) return requestIds.map((id) => done.get(id)!);
    if (Date.now() >= until)
      throw new Error(
        `not settled after ${Math.round(options.timeoutMs / 1000)} s: request ${requestIds
          .filter((id) => !done.has(id))
          .map(String)
          .join(", ")}`,
      );
    options.onPoll?.();
    await new Promise((r) => setTimeout(r, options.pollMs ?? 1000));
  }
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
      const s = await settlementOf(market, requestId, fromBlock);
      if (!s || s.status !== "Fulfilled")
        throw new Error(`request ${requestId} is fulfilled but its InferenceFulfilled event is missing`);
      return {
        requestId,
        validator: s.validator!,
        output: s.output!,
        blockNumber: s.blockNumber,
        transactionHash: s.txHash,
        gasUsed: s.transactionGas!,
      };
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
