// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

import {IModelRegistry} from "../interfaces/IModelRegistry.sol";

/**
 * @title ModelRegistry
 * @notice Governance-curated registry of models and the verifiers of their proofs.
 * @dev Registration is restricted to the owner for now, because the market calls the verifier a
 * model brings: only governance may decide which verifier code the protocol trusts. Ownership
 * moves in two steps so that it cannot be handed to a mistyped address.
 */
contract ModelRegistry is IModelRegistry, Ownable2Step {
    mapping(uint256 modelId => Model) private _models;
    mapping(uint256 modelId => address) private _pendingOwners;
    mapping(uint256 modelId => string) private _metadataURIs;
    mapping(uint256 modelId => bytes32) private _onnxHashes;
    mapping(uint256 modelId => mapping(uint256 batchSize => address)) private _batchVerifiers;
    uint256 private _modelCount;

    /// @param initialOwner Governance account allowed to register models.
    constructor(address initialOwner) Ownable(initialOwner) {}

    /// @inheritdoc IModelRegistry
    function registerModel(
        address verifier,
        bytes32 vkHash,
        address modelOwner,
        uint256 price
    ) external onlyOwner returns (uint256 modelId) {
        if (verifier == address(0)) revert ModelRegistryZeroVerifier();
        if (modelOwner == address(0)) revert ModelRegistryZeroOwner();
        if (verifier.code.length == 0) revert ModelRegistryVerifierWithoutCode(verifier);

        modelId = ++_modelCount;
        _models[modelId] = Model({
            verifier: verifier,
            vkHash: vkHash,
            owner: modelOwner,
            price: price,
            active: true,
            royaltyRecipient: modelOwner
        });
        emit ModelRegistered(modelId, verifier, vkHash, modelOwner, price);
    }

    /// @inheritdoc IModelRegistry
    function setPrice(uint256 modelId, uint256 price) external {
        Model storage m = _ownedModel(modelId);
        m.price = price;
        emit ModelPriceSet(modelId, price);
    }

    /// @inheritdoc IModelRegistry
    function setActive(uint256 modelId, bool active) external {
        Model storage m = _existingModel(modelId);
        if (msg.sender != m.owner && msg.sender != owner()) revert ModelRegistryUnauthorized(modelId, msg.sender);

        m.active = active;
        emit ModelActiveSet(modelId, active, msg.sender);
    }

    /// @inheritdoc IModelRegistry
    function setMetadata(uint256 modelId, string calldata metadataURI, bytes32 onnxHash) external {
        _ownedModel(modelId);
        _metadataURIs[modelId] = metadataURI;
        _onnxHashes[modelId] = onnxHash;
        emit ModelMetadataSet(modelId, metadataURI, onnxHash);
    }

    /// @inheritdoc IModelRegistry
    function setRoyaltyRecipient(uint256 modelId, address recipient) external {
        Model storage m = _ownedModel(modelId);
        if (recipient == address(0)) revert ModelRegistryZeroRecipient();
        m.royaltyRecipient = recipient;
        emit ModelRoyaltyRecipientSet(modelId, recipient);
    }

    /// @inheritdoc IModelRegistry
    function transferModelOwnership(uint256 modelId, address newOwner) external {
        Model storage m = _ownedModel(modelId);
        _pendingOwners[modelId] = newOwner;
        emit ModelOwnershipTransferStarted(modelId, m.owner, newOwner);
    }

    /// @inheritdoc IModelRegistry
    function acceptModelOwnership(uint256 modelId) external {
        Model storage m = _existingModel(modelId);
        if (msg.sender != _pendingOwners[modelId]) revert ModelRegistryUnauthorized(modelId, msg.sender);
        address previousOwner = m.owner;
        delete _pendingOwners[modelId];
        m.owner = msg.sender;
        emit ModelOwnershipTransferred(modelId, previousOwner, msg.sender);
    }

    /// @inheritdoc IModelRegistry
    function setBatchVerifier(uint256 modelId, uint256 batchSize, address verifier, bytes32 vkHash) external onlyOwner {
        _existingModel(modelId);
        if (batchSize < 2) revert ModelRegistryInvalidBatchSize(batchSize);
        if (verifier != address(0) && verifier.code.length == 0) revert ModelRegistryVerifierWithoutCode(verifier);
        _batchVerifiers[modelId][batchSize] = verifier;
        emit BatchVerifierSet(modelId, batchSize, verifier, vkHash);
    }

    /// @inheritdoc IModelRegistry
    function batchVerifier(uint256 modelId, uint256 batchSize) external view returns (address) {
        return _batchVerifiers[modelId][batchSize];
    }

    /// @inheritdoc IModelRegistry
    function metadata(uint256 modelId) external view returns (string memory metadataURI, bytes32 onnxHash) {
        return (_metadataURIs[modelId], _onnxHashes[modelId]);
    }

    /// @inheritdoc IModelRegistry
    function pendingModelOwner(uint256 modelId) external view returns (address) {
        return _pendingOwners[modelId];
    }

    /// @inheritdoc IModelRegistry
    function model(uint256 modelId) external view returns (Model memory) {
        return _models[modelId];
    }

    /// @inheritdoc IModelRegistry
    function modelCount() external view returns (uint256) {
        return _modelCount;
    }

    function _ownedModel(uint256 modelId) private view returns (Model storage m) {
        m = _existingModel(modelId);
        if (msg.sender != m.owner) revert ModelRegistryUnauthorized(modelId, msg.sender);
    }

    function _existingModel(uint256 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        // Registration refuses a zero verifier, so a zero verifier means "never registered".
        if (m.verifier == address(0)) revert ModelRegistryUnknownModel(modelId);
    }
}
