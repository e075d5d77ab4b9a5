// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Groth16} from "../libraries/Groth16.sol";
import {VerificationKeyStore} from "../libraries/VerificationKeyStore.sol";

/**
 * @title Groth16Harness
 * @notice Exposes the protocol's {Groth16} library and {VerificationKeyStore} to tests, so that
 * real proofs can be checked against keys held as data, outside the market.
 */
contract Groth16Harness {
    /// @notice Emitted by {store} with the data contract holding `key`.
    event Stored(address pointer);

    /// @notice Writes `key` into a new data contract.
    function store(bytes calldata key) external returns (address pointer) {
        pointer = VerificationKeyStore.write(key);
        emit Stored(pointer);
    }

    /// @notice Reads back what {store} wrote at `pointer`.
    function load(address pointer) external view returns (bytes memory) {
        return VerificationKeyStore.read(pointer);
    }

    /// @notice {Groth16-verify} of `proof` for `signals` against the key at `pointer`.
    function verify(
        address pointer,
        uint256[] calldata signals,
        uint256[8] calldata proof
    ) external view returns (bool) {
        return Groth16.verify(pointer, signals, proof);
    }

    /// @notice Gas {Groth16-verify} uses, measured inside the call (no calldata or call overhead).
    function verifyGas(
        address pointer,
        uint256[] calldata signals,
        uint256[8] calldata proof
    ) external view returns (bool ok, uint256 gasUsed) {
        uint256 before = gasleft();
        ok = Groth16.verify(pointer, signals, proof);
        gasUsed = before - gasleft();
    }
}
