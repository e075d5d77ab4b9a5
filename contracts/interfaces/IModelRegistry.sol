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
     */
    // Field order is part of the ABI other components decode; keep it stable over packing.
    // solhint-disable-next-line gas-struct-packing
    struct Model {
        address verifier;
        bytes32 vkHash;
        address owner;
        uint256 price;
        bool active;
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

    /// @notice The verifier given at registration is the zero address.
    error ModelRegistryZeroVerifier();

    /// @notice The owner given at registration is the zero address.
    error ModelRegistryZeroOwner();

    /// @notice The verifier given at registration has no code, so it cannot verify anything.
    error ModelRegistryVerifierWithoutCode(address verifier);

    /// @notice No model has id `modelId`.
    error ModelRegistryUnknownModel(uint256 modelId);

    /// @notice `account` may not change model `modelId`.
    error ModelRegistryUnauthorized(uint256 modelId, address account);

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

    /// @notice Number of models registered so far, which is also the highest model id.
    function modelCount() external view returns (uint256);
}
