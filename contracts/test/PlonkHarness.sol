// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Plonk} from "../libraries/Plonk.sol";
import {Groth16Harness} from "./Groth16Harness.sol";

/**
 * @title PlonkHarness
 * @notice Exposes the protocol's {Plonk} library to tests, so that real snarkjs PLONK proofs can
 * be checked against keys held as data (written by the inherited {Groth16Harness-store}).
 */
contract PlonkHarness is Groth16Harness {
    /// @notice {Plonk-keyDefect} of `key`.
    function keyDefect(bytes calldata key) external pure returns (Plonk.KeyDefect defect, uint256 offset) {
        return Plonk.keyDefect(key);
    }

    /// @notice {Plonk-ceremony} of `id`.
    function ceremony(uint256 id) external pure returns (bool known, bool insecure, uint256[4] memory tau2) {
        return Plonk.ceremony(id);
    }

    /// @notice {Plonk-verify} of `proof` for `signals` against the key at `pointer`.
    function verifyPlonk(
        address pointer,
        uint256[] calldata signals,
        uint256[24] calldata proof
    ) external view returns (bool) {
        return Plonk.verify(pointer, signals, proof);
    }
}
