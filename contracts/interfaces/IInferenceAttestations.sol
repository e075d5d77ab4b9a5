// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title IInferenceAttestations
 * @notice Public record of proven inferences: "was `output` proven for model `modelId` on the input
 * committed to by `inputCommitment`?". Other contracts read it instead of verifying proofs
 * themselves.
 * @dev A fact is recorded once, at the first block a proof of it was verified, whether through a
 * paid request or through {attest}. Recording is idempotent: proving a known fact again changes
 * nothing, so replaying an attestation proof gains nothing.
 *
 * Proofs for {attest} are bound to request id 0 (see {ProofBinding}): no request ever has id 0,
 * so an attestation proof can never settle a request, and a request proof (bound to its own id)
 * can never be passed off as an attestation made by someone else.
 */
interface IInferenceAttestations {
    /// @notice Emitted the first time `output` is proven for `modelId` on `inputCommitment`.
    event InferenceAttested(
        uint256 indexed modelId,
        uint256 indexed inputCommitment,
        uint256 output,
        address indexed prover,
        uint256 requestId
    );

    /// @notice `modelId` is not a registered model.
    error InferenceAttestationsUnknownModel(uint256 modelId);

    /// @notice `value` is not a canonical field element (>= r), so it cannot be a key.
    error InferenceAttestationsNonCanonical(uint256 value);

    /// @notice Committed model `modelId` runs on circuit `circuitId`, deprecated: it attests no new facts.
    error InferenceAttestationsCircuitUnusable(uint256 modelId, uint256 circuitId);

    /// @notice The verifier of `modelId` rejected the attestation proof.
    error InferenceAttestationsInvalidProof(uint256 modelId);

    /**
     * @notice Records a proven inference without a paid request.
     * @dev The market rebuilds the public signals `[inputCommitment, output, binding(0, msg.sender)]`
     * and checks them with the model's registered verifier; the model may be inactive (a proof of
     * an old model is still a fact), but a committed model's circuit must not be deprecated (a
     * deprecated verifier is trusted with nothing new). Emits {InferenceAttested} the first time only. Blocked while
     * the market is paused, like every other path that trusts a verifier.
     * @param modelId Registered model.
     * @param inputCommitment Commitment to the input; < r.
     * @param output Proven output; < r.
     * @param proof Groth16 proof in snarkjs calldata order.
     * @return attestedAt Block at which the fact is (now or already) recorded.
     */
    function attest(
        uint256 modelId,
        uint256 inputCommitment,
        uint256 output,
        uint256[8] calldata proof
    ) external returns (uint256 attestedAt);

    /// @notice Whether `output` has been proven for `modelId` on `inputCommitment`.
    function isAttested(uint256 modelId, uint256 inputCommitment, uint256 output) external view returns (bool);

    /// @notice Block at which the fact was first proven, or 0 if it never was.
    function attestedAt(uint256 modelId, uint256 inputCommitment, uint256 output) external view returns (uint256);
}
