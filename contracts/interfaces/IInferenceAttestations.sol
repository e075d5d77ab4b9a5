// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title IInferenceAttestations
 * @notice Public record of proven inferences: "was `output` proven for model `modelId` on the input
 * committed to by `inputCommitment`?". Other contracts read it instead of verifying proofs
 * themselves.
 *
 * A fact is `factOf(modelId, inputCommitment, output) = keccak256(abi.encode(modelId,
 * inputCommitment, output))`. It is recorded in one of three ways, each as cheap as its path allows:
 * - a single fulfilment writes the fact into its request's storage word: {isAttestedByRequest};
 * - a batch fulfilment records one Merkle root of its facts ({BatchAttested}), and an {attest} a
 *   root of its one fact: {isAttested} checks a fact against a root with an inclusion proof.
 *
 * The tree of a batch has the leaves `keccak256(abi.encode(fact))` in request order; each inner
 * node hashes its two children sorted (OpenZeppelin's `MerkleProof` convention), and an odd node at
 * the end of a level is carried up unchanged. A batch's facts are in its {BatchAttested} event's
 * request ids and the matching `InferenceFulfilled` events, from which an inclusion proof is built
 * (scripts/chain/attestations.ts does it).
 *
 * @dev Proofs for {attest} are bound to request id 0 (see {ProofBinding}): no request ever has id
 * 0, so an attestation proof can never settle a request, and a request proof (bound to its own id)
 * can never be passed off as an attestation made by someone else.
 */
interface IInferenceAttestations {
    /// @notice Emitted when `output` is proven for `modelId` on `inputCommitment` by a fulfilment
    /// of request `requestId` (0 for {attest}).
    event InferenceAttested(
        uint256 indexed modelId,
        uint256 indexed inputCommitment,
        uint256 output,
        address indexed prover,
        uint256 requestId
    );

    /// @notice Emitted when a batch of requests `requestIds` of `modelId` is settled: `root` is
    /// the Merkle root of their facts, recorded at this block.
    event BatchAttested(bytes32 indexed root, uint256 indexed modelId, uint256[] requestIds);

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
     * deprecated verifier is trusted with nothing new). The record is a root of one leaf: query it
     * with {isAttested} and an empty proof. Recording is idempotent (the first block is kept).
     * Emits {InferenceAttested} the first time. Blocked while the market is paused, like every
     * other path that trusts a verifier.
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

    /// @notice The fact of `output` proven for `modelId` on `inputCommitment`.
    function factOf(uint256 modelId, uint256 inputCommitment, uint256 output) external pure returns (bytes32);

    /**
     * @notice Whether `fact` is in the record `root` (a batch's or an attestation's), by the
     * Merkle inclusion `proof` (empty for a root of one fact).
     */
    function isAttested(bytes32 fact, bytes32 root, bytes32[] calldata proof) external view returns (bool);

    /// @notice Whether request `requestId` was fulfilled, singly, with `fact`.
    function isAttestedByRequest(bytes32 fact, uint256 requestId) external view returns (bool);

    /// @notice Block at which record `root` was made, or 0 if it never was.
    function attestedAt(bytes32 root) external view returns (uint256);
}
