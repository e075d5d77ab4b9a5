// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title IModelRegistry
 * @notice Registry of the models the inference market sells: for each model, the verifier that
 * checks its proofs, the hash of its verification key, its owner and its price.
 * @dev Model ids are assigned incrementally from 1; id 0 never denotes a model.
 */
interface IModelRegistry {
    /**
     * @notice A registered model.
     * @param verifier Contract implementing {IInferenceVerifier} for this model's circuit.
     * @param vkHash Hash of the verification key baked into `verifier`, so that off-chain tools
     * can check they prove against the key the chain accepts.
     * @param owner Account that sets the price and may deactivate the model.
     * @param price Fee, in the market's fee token, for one inference.
     * @param active Whether new requests are accepted. Open requests stay fulfillable either way.
     * @param royaltyRecipient Account credited the model's royalty on each fulfilment (the owner
     * at registration; the owner may change it).
     */
    // Field order is part of the ABI other components decode; keep it stable over packing.
    // solhint-disable-next-line gas-struct-packing
    struct Model {
        address verifier;
        bytes32 vkHash;
        address owner;
        uint256 price;
        bool active;
        address royaltyRecipient;
    }

    /// @notice Emitted when model `modelId` is registered.
    event ModelRegistered(
        uint256 indexed modelId,
        address indexed verifier,
        bytes32 vkHash,
        address indexed owner,
        uint256 price
    );

    /// @notice Emitted when the price of model `modelId` is set to `price`.
    event ModelPriceSet(uint256 indexed modelId, uint256 price);

    /// @notice Emitted when model `modelId` is activated or deactivated by `account`.
    event ModelActiveSet(uint256 indexed modelId, bool active, address indexed account);

    /// @notice Emitted when the owner of model `modelId` sets its metadata.
    event ModelMetadataSet(uint256 indexed modelId, string metadataURI, bytes32 onnxHash);

    /// @notice Emitted when the royalties of model `modelId` are to be credited to `recipient`.
    event ModelRoyaltyRecipientSet(uint256 indexed modelId, address indexed recipient);

    /// @notice Emitted when the owner of model `modelId` offers its ownership to `pendingOwner`.
    event ModelOwnershipTransferStarted(uint256 indexed modelId, address indexed owner, address indexed pendingOwner);

    /// @notice Emitted when model `modelId` passes from `previousOwner` to `newOwner`.
    event ModelOwnershipTransferred(uint256 indexed modelId, address indexed previousOwner, address indexed newOwner);

    /**
     * @notice Emitted when governance sets the verifier of `batchSize`-inference proofs of model
     * `modelId` (the zero address removes it).
     */
    event BatchVerifierSet(
        uint256 indexed modelId,
        uint256 indexed batchSize,
        address indexed verifier,
        bytes32 vkHash
    );

    /// @notice The verifier given at registration is the zero address.
    error ModelRegistryZeroVerifier();

    /// @notice The owner given at registration is the zero address.
    error ModelRegistryZeroOwner();

    /// @notice The verifier given at registration has no code, so it cannot verify anything.
    error ModelRegistryVerifierWithoutCode(address verifier);

    /// @notice The royalty recipient given is the zero address.
    error ModelRegistryZeroRecipient();

    /// @notice No model has id `modelId`.
    error ModelRegistryUnknownModel(uint256 modelId);

    /// @notice `account` may not change model `modelId`.
    error ModelRegistryUnauthorized(uint256 modelId, address account);

    /// @notice A batch verifier needs at least two inferences per proof; single ones use `verifier`.
    error ModelRegistryInvalidBatchSize(uint256 batchSize);

    /**
     * @notice Registers a model.
     * @dev Restricted to the registry owner (governance). Emits {ModelRegistered}. The model
     * starts active.
     * @param verifier Verifier of the model's proofs; must be a contract.
     * @param vkHash Hash of the verification key in `verifier`.
     * @param modelOwner Owner of the model; must not be zero.
     * @param price Fee per inference, in the market's fee token (zero is allowed).
     * @return modelId The new model's id.
     */
    function registerModel(
        address verifier,
        bytes32 vkHash,
        address modelOwner,
        uint256 price
    ) external returns (uint256 modelId);

    /**
     * @notice Sets the price of a model for requests made from now on.
     * @dev Restricted to the model owner. Emits {ModelPriceSet}. Open requests keep the fee
     * they escrowed.
     */
    function setPrice(uint256 modelId, uint256 price) external;

    /**
     * @notice Activates or deactivates a model.
     * @dev Restricted to the model owner or the registry owner. Emits {ModelActiveSet}.
     */
    function setActive(uint256 modelId, bool active) external;

    /**
     * @notice Returns model `modelId`.
     * @dev An unknown id returns a zeroed struct (verifier is the zero address); callers that
     * need the model to exist check `verifier != address(0)`.
     */
    function model(uint256 modelId) external view returns (Model memory);

    /**
     * @notice Sets where the model's description lives and the hash of its ONNX file.
     * @dev Restricted to the model owner. Emits {ModelMetadataSet}.
     */
    function setMetadata(uint256 modelId, string calldata metadataURI, bytes32 onnxHash) external;

    /// @notice Metadata URI and ONNX file hash of model `modelId` (empty until set).
    function metadata(uint256 modelId) external view returns (string memory metadataURI, bytes32 onnxHash);

    /**
     * @notice Sets the account credited the model's royalties.
     * @dev Restricted to the model owner; `recipient` must not be zero. Emits {ModelRoyaltyRecipientSet}.
     */
    function setRoyaltyRecipient(uint256 modelId, address recipient) external;

    /**
     * @notice Offers ownership of model `modelId` to `newOwner`, who must accept it; a second
     * offer replaces the first, and offering to the zero address cancels.
     * @dev Restricted to the model owner. Emits {ModelOwnershipTransferStarted}.
     */
    function transferModelOwnership(uint256 modelId, address newOwner) external;

    /**
     * @notice Accepts ownership of model `modelId`.
     * @dev Restricted to the pending owner. The royalty recipient is unchanged. Emits
     * {ModelOwnershipTransferred}.
     */
    function acceptModelOwnership(uint256 modelId) external;

    /// @notice Account offered ownership of model `modelId` (zero if none).
    function pendingModelOwner(uint256 modelId) external view returns (address);

    /**
     * @notice Sets the verifier of proofs of `batchSize` inferences of model `modelId` at once,
     * which the market's `fulfilBatch` checks batches of that size against.
     * @dev Restricted to the registry owner (governance), like the choice of any verifier the
     * protocol trusts. The verifier takes the three public signals
     * `[fold, challenge, batchBinding]` (see `InferenceMarket.fulfilBatch`). `verifier` must be a
     * contract, or the zero address to remove the batch size. Emits {BatchVerifierSet}.
     * @param modelId Registered model.
     * @param batchSize Inferences per proof; at least 2.
     * @param verifier Verifier of the model's batch circuit for `batchSize`.
     * @param vkHash Hash of the verification key in `verifier` (recorded in the event only).
     */
    function setBatchVerifier(uint256 modelId, uint256 batchSize, address verifier, bytes32 vkHash) external;

    /// @notice Verifier of `batchSize`-inference proofs of model `modelId`, or zero if none.
    function batchVerifier(uint256 modelId, uint256 batchSize) external view returns (address);

    /// @notice Number of models registered so far, which is also the highest model id.
    function modelCount() external view returns (uint256);
}
