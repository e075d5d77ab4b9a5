/**
 * The batch fold (mirror of the batch circuit and of the market's fulfilBatch): a keccak
 * challenge over the claimed per-request values, and their power-weighted sum mod r.
 */
import { AbiCoder, keccak256 } from "ethers";
import { SNARK_SCALAR_FIELD } from "./field.ts";

/** c = keccak256(abi.encode(batchBinding, inputCommitments, outputs)) mod r. */
export function batchChallenge(batchBinding: bigint, inputCommitments: bigint[], outputs: bigint[]): bigint {
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ["uint256", "uint256[]", "uint256[]"],
    [batchBinding, inputCommitments, outputs],
  );
  return BigInt(keccak256(encoded)) % SNARK_SCALAR_FIELD;
}

/** fold = sum_i c^(2i+1) * inputCommitment_i + c^(2i+2) * output_i mod r. */
export function batchFold(challenge: bigint, inputCommitments: bigint[], outputs: bigint[]): bigint {
  if (inputCommitments.length !== outputs.length) throw new Error("a batch needs one output per input commitment");
  const r = SNARK_SCALAR_FIELD;
  let power = 1n;
  let fold = 0n;
  for (let i = 0; i < outputs.length; i++) {
    power = (power * challenge) % r;
    fold = (fold + power * inputCommitments[i]) % r;
    power = (power * challenge) % r;
    fold = (fold + power * outputs[i]) % r;
  }
  return fold;
}

/** The batch's binding: keccak256(abi.encode(chainId, market, prover, requestIds)) mod r. */
export function batchBinding(chainId: bigint, market: string, prover: string, requestIds: bigint[]): bigint {
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ["uint256", "address", "address", "uint256[]"],
    [chainId, market, prover, requestIds],
  );
  return BigInt(keccak256(encoded)) % SNARK_SCALAR_FIELD;
}
