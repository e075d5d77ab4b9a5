/**
 * The validator's side of one request: read it from its event, check that the inline input
 * opens the commitment, compute the witness, prove, and submit the fulfilment.
 */
import { getBytes, type Signer } from "ethers";
import type { InferenceMarket } from "../../types/ethers-contracts/index.js";
import { packedCommitment } from "../circuit/reference.ts";
import { inferQuantized } from "../model/quantized-inference.ts";
import type { QuantizedMlp } from "../model/quantize.ts";
import type { Prover } from "../prove/prover.ts";
import { requestBinding } from "./binding.ts";

export interface OpenRequest {
  requestId: bigint;
  modelId: bigint;
  inputCommitment: bigint;
  fee: bigint;
  deadline: bigint;
  input: Uint8Array;
  blockNumber: number;
}

export interface Fulfilment {
  requestId: bigint;
  predicted: number;
  output: bigint;
  witnessMs: number;
  proveMs: number;
  gasUsed: bigint;
}

/** InferenceRequested events for a model from `fromBlock` on, still open on-chain. */
export async function openRequests(market: InferenceMarket, modelId: bigint, fromBlock = 0): Promise<OpenRequest[]> {
  const events = await market.queryFilter(market.filters.InferenceRequested(undefined, modelId), fromBlock);
  const open: OpenRequest[] = [];
  for (const e of events) {
    const r = await market.request(e.args.requestId);
    if (r.status !== 1n) continue; // 1 = Open
    open.push({
      requestId: e.args.requestId,
      modelId: e.args.modelId,
      inputCommitment: e.args.inputCommitment,
      fee: e.args.fee,
      deadline: e.args.deadline,
      input: getBytes(e.args.input),
      blockNumber: e.blockNumber,
    });
  }
  return open;
}

/**
 * Proves and fulfils one request as `validator`.
 * @throws if the inline input does not open the commitment (nothing is submitted), or if the
 * circuit's output differs from the integer reference (a broken build: nothing is submitted)
 */
export async function fulfilRequest(
  market: InferenceMarket,
  validator: Signer,
  prover: Prover,
  model: QuantizedMlp,
  request: OpenRequest,
): Promise<Fulfilment> {
  const pixels = Array.from(request.input);
  if (pixels.length !== model.inputSize || packedCommitment(pixels, model.inputBits) !== request.inputCommitment) {
    throw new Error(`request ${request.requestId}: the inline input does not open the input commitment; skipping it`);
  }
  const expected = inferQuantized(model, pixels);
  const { chainId } = await validator.provider!.getNetwork();
  const address = await validator.getAddress();
  const binding = requestBinding(chainId, await market.getAddress(), request.requestId, address);
  const proof = await prover.prove({ pixels, binding });
  const [inputCommitment, output, provenBinding] = proof.publicSignals;
  if (inputCommitment !== request.inputCommitment || output !== expected.output || provenBinding !== binding) {
    throw new Error(
      `request ${request.requestId}: the circuit's public signals differ from the reference; refusing to submit`,
    );
  }
  const tx = await market
    .connect(validator)
    .fulfil(
      request.requestId,
      output,
      proof.calldata as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint],
    );
  const receipt = await tx.wait();
  return {
    requestId: request.requestId,
    predicted: expected.predicted,
    output,
    witnessMs: proof.witnessMs,
    proveMs: proof.proveMs,
    gasUsed: receipt!.gasUsed,
  };
}
