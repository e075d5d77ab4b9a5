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
        _models[modelId] = Model({verifier: verifier, vkHash: vkHash, owner: modelOwner, price: price, active: true});
        emit ModelRegistered(modelId, verifier, vkHash, modelOwner, price);
    }

    /// @inheritdoc IModelRegistry
    function setPrice(uint256 modelId, uint256 price) external {
        Model storage m = _existingModel(modelId);
        if (msg.sender != m.owner) revert ModelRegistryUnauthorized(modelId, msg.sender);

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
    function model(uint256 modelId) external view returns (Model memory) {
        return _models[modelId];
    }

    /// @inheritdoc IModelRegistry
    function modelCount() external view returns (uint256) {
        return _modelCount;
    }

    function _existingModel(uint256 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        // Registration refuses a zero verifier, so a zero verifier means "never registered".
        if (m.verifier == address(0)) revert ModelRegistryUnknownModel(modelId);
    }
}
