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
