// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title ICircuitRegistry
 * @notice Governance registry of the circuits that many models share (committed mode) and of the
 * verifiers that check their proofs.
 * @dev There is no single-key instant power: a registration takes effect only after the default
 * admin delay (the same delay that guards every transfer of the admin role), so users see a new
 * verifier coming before any proof is checked against it. Deprecation, which only removes power,
 * is immediate. Circuits are never deleted: ids are stable and old entries stay readable.
 * Circuit ids are assigned incrementally from 1; id 0 never denotes a circuit.
 */
interface ICircuitRegistry {
    /**
     * @notice A registered circuit.
     * @param verifier Groth16 verifier contract of the circuit.
     * @param vkHash Hash of the verification key baked into `verifier`.
     * @param nPublic Number of public signals the circuit exposes.
     * @param batchSize Number of inferences one proof covers (1 for single-inference circuits).
     * @param manifestHash Hash of the artifact manifest (sha256s of r1cs, wasm, zkey, vkey).
     * @param manifestURI Where the manifest and artifacts can be fetched.
     * @param activatesAt Timestamp from which the circuit may be used.
     * @param deprecated Whether the circuit was deprecated (final).
     */
    // Field order is part of the ABI other components decode; keep it stable over packing.
    // solhint-disable-next-line gas-struct-packing
    struct Circuit {
        address verifier;
        bytes32 vkHash;
        uint16 nPublic;
        uint16 batchSize;
        bytes32 manifestHash;
        string manifestURI;
        uint64 activatesAt;
        bool deprecated;
    }

    /// @notice Emitted when circuit `circuitId` is registered, usable from `activatesAt`.
    event CircuitRegistered(
        uint256 indexed circuitId,
        address indexed verifier,
        bytes32 vkHash,
        uint16 nPublic,
        uint16 batchSize,
        bytes32 manifestHash,
        string manifestURI,
        uint64 activatesAt
    );

    /// @notice Emitted when `account` deprecates circuit `circuitId`.
    event CircuitDeprecated(uint256 indexed circuitId, address indexed account);

    /// @notice The verifier is the zero address or has no code.
    error CircuitRegistryInvalidVerifier(address verifier);

    /// @notice `nPublic` or `batchSize` is zero.
    error CircuitRegistryInvalidShape(uint16 nPublic, uint16 batchSize);

    /// @notice No circuit has id `circuitId`.
    error CircuitRegistryUnknownCircuit(uint256 circuitId);

    /// @notice Circuit `circuitId` is already deprecated.
    error CircuitRegistryAlreadyDeprecated(uint256 circuitId);

    /**
     * @notice Registers a circuit, usable once the default admin delay has passed.
     * @dev Restricted to `REGISTRAR_ROLE`. Emits {CircuitRegistered}.
     * @return circuitId The new circuit's id.
     */
    function registerCircuit(
        address verifier,
        bytes32 vkHash,
        uint16 nPublic,
        uint16 batchSize,
        bytes32 manifestHash,
        string calldata manifestURI
    ) external returns (uint256 circuitId);

    /**
     * @notice Deprecates a circuit for good: {isUsable} turns false, the entry stays readable.
     * @dev Restricted to `REGISTRAR_ROLE` or the default admin. Emits {CircuitDeprecated}.
     */
    function deprecateCircuit(uint256 circuitId) external;

    /// @notice Returns circuit `circuitId` (zeroed if unknown: the verifier is the zero address).
    function circuit(uint256 circuitId) external view returns (Circuit memory);

    /// @notice Whether circuit `circuitId` exists, has activated and is not deprecated.
    function isUsable(uint256 circuitId) external view returns (bool);

    /// @notice Number of circuits registered so far, which is also the highest circuit id.
    function circuitCount() external view returns (uint256);
}
