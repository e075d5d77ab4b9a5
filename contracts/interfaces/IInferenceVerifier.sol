// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title IInferenceVerifier
 * @notice Groth16 verifier of an inference circuit, as exported by snarkjs.
 * @dev The three public signals are `[inputCommitment, output, binding]` (see {ProofBinding}).
 * Parameter names follow the snarkjs template so that a generated verifier matches exactly.
 */
interface IInferenceVerifier {
    /**
     * @notice Checks a Groth16 proof against the verification key baked into the verifier.
     * @param _pA Proof point A (G1).
     * @param _pB Proof point B (G2), coordinates in the order snarkjs calldata gives them.
     * @param _pC Proof point C (G1).
     * @param _pubSignals Public signals `[inputCommitment, output, binding]`.
     * @return True if and only if the proof is valid for these public signals.
     */
    function verifyProof(
        uint256[2] calldata _pA,
        uint256[2][2] calldata _pB,
        uint256[2] calldata _pC,
        uint256[3] calldata _pubSignals
    ) external view returns (bool);
}
