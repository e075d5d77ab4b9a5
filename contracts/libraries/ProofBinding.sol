// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title ProofBinding
 * @notice Ties an inference proof to one request on one market, fulfilled by one prover.
 * @dev Every inference proof has exactly three public signals, in this order:
 * `[inputCommitment, output, binding]`. The binding is
 * `uint256(keccak256(abi.encode(chainId, market, requestId, prover))) % SNARK_SCALAR_FIELD`.
 * Because the market recomputes it from `msg.sender`, a proof seen in the mempool cannot be
 * submitted by someone else (front-running), nor reused for another request, market or chain
 * (replay). The TypeScript toolkit mirrors this computation bit for bit.
 */
library ProofBinding {
    /// @notice Order r of the BN254 scalar field: public signals must be canonical, i.e. < r.
    uint256 internal constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /**
     * @notice Computes the binding public signal of a proof.
     * @param chainId Chain the market lives on.
     * @param market Address of the market that settles the request.
     * @param requestId Request the proof answers.
     * @param prover Account that will submit the proof (the market's `msg.sender`).
     * @return The binding, reduced into the scalar field.
     */
    function compute(
        uint256 chainId,
        address market,
        uint256 requestId,
        address prover
    ) internal pure returns (uint256) {
        // Reducing mod r makes the hash a field element the circuit can take as a public input.
        // The result is slightly non-uniform, which does not matter: the binding is an
        // identifier, not a secret, and ~253 bits of collision resistance remain.
        return uint256(keccak256(abi.encode(chainId, market, requestId, prover))) % SNARK_SCALAR_FIELD;
    }

    /**
     * @notice Whether `value` is a canonical field element (strictly below r).
     * @dev A verifier reduces its inputs mod r, so `x` and `x + r` would verify alike: values the
     * chain uses as keys must be canonical to be unique.
     */
    function isCanonical(uint256 value) internal pure returns (bool) {
        return value < SNARK_SCALAR_FIELD;
    }
}
