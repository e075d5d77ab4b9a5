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
  for (const p of pixels)
    if (!Number.isInteger(p) || p < 0 || p > 255) throw new RangeError(`input byte ${p} is outside 0..255`);
  const m = market.connect(requester);
  const registry = IModelRegistry__factory.connect(await m.registry(), requester);
  const { price, feeToken } = await registry.model(modelId);
  // Each model names its own fee token; only the ERC-20 part of the TestToken ABI is used here.
  const token = TestToken__factory.connect(feeToken, requester);
  if (price > 0n) await (await token.approve(await m.getAddress(), price)).wait();
  const inputCommitment = packedCommitment(pixels, 8);
  const block = await requester.provider!.getBlock("latest");
  const deadline = BigInt(block!.timestamp) + BigInt(ttlSeconds);
  // The price read above is the most this request may cost: a raise in between makes it revert.
  const requestId = await m.requestInference.staticCall(modelId, inputCommitment, pixels, deadline, price);
  const receipt = await (await m.requestInference(modelId, inputCommitment, pixels, deadline, price)).wait();
  return { requestId, inputCommitment, fee: price, gasUsed: receipt!.gasUsed };
}
