import { AbiCoder, keccak256 } from "ethers";
import { SNARK_SCALAR_FIELD } from "../circuit/field.ts";

/**
 * The request binding the market puts in public signal 2 (mirror of ProofBinding.sol):
 * keccak256(abi.encode(chainId, market, requestId, prover)) mod r.
 */
export function requestBinding(chainId: bigint, market: string, requestId: bigint, prover: string): bigint {
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ["uint256", "address", "uint256", "address"],
    [chainId, market, requestId, prover],
  );
  return BigInt(keccak256(encoded)) % SNARK_SCALAR_FIELD;
}
