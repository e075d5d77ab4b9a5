// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// solhint-disable-next-line max-line-length
import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";

import {ICircuitRegistry} from "../interfaces/ICircuitRegistry.sol";

/**
 * @title CircuitRegistry
 * @notice Governance registry of shared circuits and their verifiers.
 * @dev The default admin (governance) changes hands only through OpenZeppelin's two-step, delayed
 * transfer, and the same delay separates a registration from its activation: neither a stolen
 * registrar key nor the admin itself can make the protocol trust new verifier code at once.
 */
contract CircuitRegistry is ICircuitRegistry, AccessControlDefaultAdminRules {
    /// @notice Role allowed to register and deprecate circuits.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    mapping(uint256 circuitId => Circuit) private _circuits;
    uint256 private _circuitCount;

    /**
     * @param initialDelay Delay of admin transfers and of circuit activation, in seconds.
     * @param governance Default admin; also granted `REGISTRAR_ROLE`.
     */
    constructor(uint48 initialDelay, address governance) AccessControlDefaultAdminRules(initialDelay, governance) {
        _grantRole(REGISTRAR_ROLE, governance);
    }

    /// @inheritdoc ICircuitRegistry
    function registerCircuit(
        address verifier,
        bytes32 vkHash,
        uint16 nPublic,
        uint16 batchSize,
        bytes32 manifestHash,
        string calldata manifestURI
    ) external onlyRole(REGISTRAR_ROLE) returns (uint256 circuitId) {
        if (verifier == address(0) || verifier.code.length == 0) revert CircuitRegistryInvalidVerifier(verifier);
        if (nPublic == 0 || batchSize == 0) revert CircuitRegistryInvalidShape(nPublic, batchSize);

        uint64 activatesAt = uint64(block.timestamp) + defaultAdminDelay();
        circuitId = ++_circuitCount;
        _circuits[circuitId] = Circuit({
            verifier: verifier,
            vkHash: vkHash,
            nPublic: nPublic,
            batchSize: batchSize,
            manifestHash: manifestHash,
            manifestURI: manifestURI,
            activatesAt: activatesAt,
            deprecated: false
        });
        emit CircuitRegistered(circuitId, verifier, vkHash, nPublic, batchSize, manifestHash, manifestURI, activatesAt);
    }

    /// @inheritdoc ICircuitRegistry
    function deprecateCircuit(uint256 circuitId) external {
        if (!hasRole(REGISTRAR_ROLE, msg.sender) && msg.sender != defaultAdmin()) {
            revert AccessControlUnauthorizedAccount(msg.sender, REGISTRAR_ROLE);
        }
        Circuit storage c = _circuits[circuitId];
        if (c.verifier == address(0)) revert CircuitRegistryUnknownCircuit(circuitId);
        if (c.deprecated) revert CircuitRegistryAlreadyDeprecated(circuitId);
        c.deprecated = true;
        emit CircuitDeprecated(circuitId, msg.sender);
    }

    /// @inheritdoc ICircuitRegistry
    function circuit(uint256 circuitId) external view returns (Circuit memory) {
        return _circuits[circuitId];
    }

    /// @inheritdoc ICircuitRegistry
    function isUsable(uint256 circuitId) external view returns (bool) {
        Circuit storage c = _circuits[circuitId];
        return c.verifier != address(0) && !c.deprecated && block.timestamp >= c.activatesAt;
    }

    /// @inheritdoc ICircuitRegistry
    function circuitCount() external view returns (uint256) {
        return _circuitCount;
    }
}
