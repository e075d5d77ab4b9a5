// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";

import {MarketFixture} from "./MarketFixture.sol";
import {VM} from "./Vm.sol";

// Test names follow the test_<function>_<outcome> convention, not mixedCase.
// solhint-disable func-name-mixedcase

/// @dev Tests of the model owner's powers: metadata, royalty recipient, two-step ownership.
contract ModelRegistryTest is MarketFixture {
    address private constant _NEW_OWNER = address(0x0E1);
    address private constant _TREASURY = address(0x7EA);

    function _unauthorized(address account) private view returns (bytes memory) {
        return abi.encodeWithSelector(IModelRegistry.ModelRegistryUnauthorized.selector, modelId, account);
    }

    function test_registerCommittedModel_royaltiesGoToTheRecipientGiven() public view {
        check(registry.model(modelId).royaltyRecipient == MODEL_OWNER, "owner receives royalties");
    }

    function test_setMetadata_isTheOwnersAndReadable() public {
        VM.prank(MODEL_OWNER);
        registry.setMetadata(modelId, "ipfs://model", keccak256("onnx"));
        (string memory uri, bytes32 onnxHash) = registry.metadata(modelId);
        check(keccak256(bytes(uri)) == keccak256("ipfs://model") && onnxHash == keccak256("onnx"), "stored");

        VM.expectRevert(_unauthorized(NOBODY));
        VM.prank(NOBODY);
        registry.setMetadata(modelId, "", 0);
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, 9));
        registry.setMetadata(9, "", 0);
    }

    function test_setRoyaltyRecipient_redirectsTheMarketsRoyalty() public {
        VM.expectRevert(_unauthorized(NOBODY));
        VM.prank(NOBODY);
        registry.setRoyaltyRecipient(modelId, NOBODY);
        VM.expectRevert(IModelRegistry.ModelRegistryZeroRecipient.selector);
        VM.prank(MODEL_OWNER);
        registry.setRoyaltyRecipient(modelId, address(0));

        VM.prank(MODEL_OWNER);
        registry.setRoyaltyRecipient(modelId, _TREASURY);
        fulfilAs(VALIDATOR, open());
        check(market.balanceOf(_TREASURY, feeToken) == PRICE / 10, "royalty to the recipient");
        check(market.balanceOf(MODEL_OWNER, feeToken) == 0, "not to the owner");
    }

    function test_transferModelOwnership_takesTwoSteps() public {
        VM.expectRevert(_unauthorized(NOBODY));
        VM.prank(NOBODY);
        registry.transferModelOwnership(modelId, NOBODY);

        VM.prank(MODEL_OWNER);
        registry.transferModelOwnership(modelId, _NEW_OWNER);
        check(registry.pendingModelOwner(modelId) == _NEW_OWNER, "pending");
        check(registry.model(modelId).owner == MODEL_OWNER, "not yet moved");

        VM.expectRevert(_unauthorized(NOBODY));
        VM.prank(NOBODY);
        registry.acceptModelOwnership(modelId);

        VM.prank(_NEW_OWNER);
        registry.acceptModelOwnership(modelId);
        check(registry.model(modelId).owner == _NEW_OWNER, "moved");
        check(registry.pendingModelOwner(modelId) == address(0), "offer consumed");
        check(registry.model(modelId).royaltyRecipient == MODEL_OWNER, "royalty recipient unchanged");

        // The old owner has lost its powers; the new one has them.
        VM.expectRevert(_unauthorized(MODEL_OWNER));
        VM.prank(MODEL_OWNER);
        registry.setPrice(modelId, 0);
        VM.prank(_NEW_OWNER);
        registry.setPrice(modelId, 0);
    }

    function test_transferModelOwnership_toZeroCancels() public {
        VM.prank(MODEL_OWNER);
        registry.transferModelOwnership(modelId, _NEW_OWNER);
        VM.prank(MODEL_OWNER);
        registry.transferModelOwnership(modelId, address(0));
        VM.expectRevert(_unauthorized(_NEW_OWNER));
        VM.prank(_NEW_OWNER);
        registry.acceptModelOwnership(modelId);
    }

    function test_acceptModelOwnership_revertsOnUnknownModel() public {
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, 9));
        registry.acceptModelOwnership(9);
    }
}
