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

    /**
     * @notice Computes the binding public signal of a batch proof.
     * @dev `keccak256(abi.encode(chainId, market, prover, requestIds)) mod r`: the batch is bound
     * to its prover and to its request ids in their order, as one request's binding is.
     */
    function computeBatch(
        uint256 chainId,
        address market,
        address prover,
        uint256[] calldata requestIds
    ) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(chainId, market, prover, requestIds))) % SNARK_SCALAR_FIELD;
    }

    /**
     * @notice Folds a batch's per-request values into the two public signals of a batch proof.
     * @dev `challenge = keccak256(abi.encode(batchBinding, inputCommitments, outputs)) mod r` and
     * `fold = sum_i c^(2i+1) * inputCommitment_i + c^(2i+2) * output_i mod r`. The circuit
     * computes the same fold from its own commitments and outputs; since the challenge is a hash of
     * the claimed values, a batch whose values differ from the proven ones gives, except with
     * probability about 2K/r (Schwartz-Zippel), another fold. The caller ensures every value < r.
     */
    function fold(
        uint256 batchBinding,
        uint256[] memory inputCommitments,
        uint256[] calldata outputs
    ) internal pure returns (uint256 folded, uint256 challenge) {
        uint256 r = SNARK_SCALAR_FIELD;
        challenge = uint256(keccak256(abi.encode(batchBinding, inputCommitments, outputs))) % r;
        uint256 power = 1;
        uint256 k = outputs.length;
        for (uint256 i = 0; i < k; ++i) {
            power = mulmod(power, challenge, r);
            folded = addmod(folded, mulmod(power, inputCommitments[i], r), r);
            power = mulmod(power, challenge, r);
            folded = addmod(folded, mulmod(power, outputs[i], r), r);
        }
    }
}
