// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
// solhint-disable-next-line max-line-length
import {IAccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/IAccessControlDefaultAdminRules.sol";

import {ICircuitRegistry} from "../../contracts/interfaces/ICircuitRegistry.sol";
import {CircuitRegistry} from "../../contracts/registry/CircuitRegistry.sol";
import {SettableVerifier} from "../../contracts/test/SettableVerifier.sol";

import {VM} from "./Vm.sol";

// Test names follow the test_<function>_<outcome> / testFuzz_ convention, not mixedCase.
// solhint-disable func-name-mixedcase

/// @dev Unit and fuzz tests of the circuit registry. The test contract is governance.
contract CircuitRegistryTest {
    uint48 private constant _DELAY = 2 days;
    address private constant _STRANGER = address(0xBAD);
    address private constant _NEW_ADMIN = address(0xAD);

    CircuitRegistry private _registry;
    address private _verifier;

    error AssertionFailed(string what);

    function setUp() public {
        _registry = new CircuitRegistry(_DELAY, address(this));
        _verifier = address(new SettableVerifier(true));
    }

    function _register() private returns (uint256) {
        return _registry.registerCircuit(_verifier, keccak256("vk"), 3, 1, keccak256("manifest"), "ipfs://manifest");
    }

    function test_registerCircuit_storesTheEntryAndActivatesAfterTheDelay() public {
        uint256 id = _register();
        _check(id == 1 && _registry.circuitCount() == 1, "id from 1");
        ICircuitRegistry.Circuit memory c = _registry.circuit(id);
        _check(c.verifier == _verifier && c.vkHash == keccak256("vk"), "verifier and key");
        _check(c.nPublic == 3 && c.batchSize == 1, "shape");
        _check(c.manifestHash == keccak256("manifest"), "manifest hash");
        _check(keccak256(bytes(c.manifestURI)) == keccak256("ipfs://manifest"), "manifest uri");
        _check(c.activatesAt == block.timestamp + _DELAY && !c.deprecated, "pending");

        _check(!_registry.isUsable(id), "not usable before the delay");
        VM.warp(c.activatesAt - 1);
        _check(!_registry.isUsable(id), "not usable one second early");
        VM.warp(c.activatesAt);
        _check(_registry.isUsable(id), "usable after the delay");
        _check(_register() == 2, "ids increase");
    }

    function test_registerCircuit_isRestrictedToRegistrars() public {
        VM.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                _STRANGER,
                _registry.REGISTRAR_ROLE()
            )
        );
        VM.prank(_STRANGER);
        _register();
    }

    function test_registerCircuit_refusesAVerifierWithoutCode() public {
        address[2] memory bad = [address(0), _STRANGER];
        for (uint256 i = 0; i < bad.length; ++i) {
            VM.expectRevert(abi.encodeWithSelector(ICircuitRegistry.CircuitRegistryInvalidVerifier.selector, bad[i]));
            _registry.registerCircuit(bad[i], 0, 3, 1, 0, "");
        }
    }

    function testFuzz_registerCircuit_refusesAnEmptyShape(uint16 nPublic, uint16 batchSize) public {
        if (nPublic == 0 || batchSize == 0) {
            VM.expectRevert(
                abi.encodeWithSelector(ICircuitRegistry.CircuitRegistryInvalidShape.selector, nPublic, batchSize)
            );
        }
        _registry.registerCircuit(_verifier, 0, nPublic, batchSize, 0, "");
    }

    function test_deprecateCircuit_isFinalAndKeepsTheEntry() public {
        uint256 id = _register();
        VM.warp(block.timestamp + _DELAY);
        _registry.deprecateCircuit(id);
        _check(!_registry.isUsable(id), "deprecated is unusable");
        _check(_registry.circuit(id).verifier == _verifier && _registry.circuit(id).deprecated, "entry kept");
        VM.expectRevert(abi.encodeWithSelector(ICircuitRegistry.CircuitRegistryAlreadyDeprecated.selector, id));
        _registry.deprecateCircuit(id);
        VM.expectRevert(abi.encodeWithSelector(ICircuitRegistry.CircuitRegistryUnknownCircuit.selector, 9));
        _registry.deprecateCircuit(9);
    }

    function test_deprecateCircuit_refusesStrangers() public {
        uint256 id = _register();
        VM.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                _STRANGER,
                _registry.REGISTRAR_ROLE()
            )
        );
        VM.prank(_STRANGER);
        _registry.deprecateCircuit(id);
    }

    function test_defaultAdmin_movesOnlyAfterTheDelay() public {
        _registry.beginDefaultAdminTransfer(_NEW_ADMIN);
        (, uint48 schedule) = _registry.pendingDefaultAdmin();
        _check(schedule == block.timestamp + _DELAY, "scheduled after the delay");
        VM.expectRevert(
            abi.encodeWithSelector(
                IAccessControlDefaultAdminRules.AccessControlEnforcedDefaultAdminDelay.selector,
                schedule
            )
        );
        VM.prank(_NEW_ADMIN);
        _registry.acceptDefaultAdminTransfer();
        VM.warp(uint256(schedule) + 1);
        VM.prank(_NEW_ADMIN);
        _registry.acceptDefaultAdminTransfer();
        _check(_registry.defaultAdmin() == _NEW_ADMIN, "admin moved");
    }

    function test_unknownCircuit_readsAsZeroAndUnusable() public view {
        _check(_registry.circuit(7).verifier == address(0) && !_registry.isUsable(7), "unknown");
    }

    function _check(bool condition, string memory what) private pure {
        if (!condition) revert AssertionFailed(what);
    }
}
