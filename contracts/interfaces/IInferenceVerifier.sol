// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title IInferenceVerifier
 * @notice Groth16 verifier of a committed-mode circuit, as exported by snarkjs and registered by
 * governance in the circuit registry.
 * @dev The four public signals are `[weightsCommitment, inputCommitment, output, binding]` for a
 * single inference and `[weightsCommitment, fold, challenge, batchBinding]` for a batch (see
 * {ProofBinding}). Parameter names follow the snarkjs template so that a generated verifier
 * matches exactly. Baked models never go through this interface: their keys are data, checked
 * by the protocol's own {Groth16} library.
 */
interface IInferenceVerifier {
    /**
     * @notice Checks a Groth16 proof against the verification key baked into the verifier.
     * @param _pA Proof point A (G1).
     * @param _pB Proof point B (G2), coordinates in the order snarkjs calldata gives them.
     * @param _pC Proof point C (G1).
     * @param _pubSignals The four public signals.
     * @return True if and only if the proof is valid for these public signals.
     */
    function verifyProof(
        uint256[2] calldata _pA,
        uint256[2][2] calldata _pB,
        uint256[2] calldata _pC,
        uint256[4] calldata _pubSignals
    ) external view returns (bool);
}
