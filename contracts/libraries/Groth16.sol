// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title Groth16
 * @notice The protocol's own Groth16 verifier over BN254, for verification keys held as data.
 * @dev Registering a model is permissionless, so the protocol never calls verifier code that a
 * model owner deployed: a baked model brings its verification key as bytes, written once into a
 * data contract (see {VerificationKeyStore}), and this library checks proofs against it with the
 * EIP-196/197 precompiles. Key layout, 32-byte big-endian words:
 * `alpha1 (x, y) | beta2 | gamma2 | delta2 | IC[0] .. IC[n] (x, y)`, each G2 point as
 * `(x_im, x_re, y_im, y_re)` (the order the pairing precompile takes; snarkjs's
 * `vk_beta_2[0][1], vk_beta_2[0][0], vk_beta_2[1][1], vk_beta_2[1][0]`). A key for `n` public
 * signals is therefore `(14 + 2 (n + 1)) * 32` bytes. The proof is `[a0, a1, b00, b01, b10, b11,
 * c0, c1]` in snarkjs calldata order, the same order the generated verifiers take.
 */
library Groth16 {
    /// @notice Order r of the BN254 scalar field: public signals must be below it.
    uint256 internal constant SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Order q of the BN254 base field: every coordinate must be below it.
    uint256 internal constant BASE_FIELD =
        21888242871839275222246405745257275088696311157297823662689037894645226208583;
    /// @notice Words of a key before its IC points: alpha1 (2), beta2, gamma2, delta2 (4 each).
    uint256 internal constant HEADER_WORDS = 14;
    /// @notice Byte offset of gamma2 in a key.
    uint256 internal constant GAMMA_OFFSET = 6 * 32;
    /// @notice Byte offset of delta2 in a key.
    uint256 internal constant DELTA_OFFSET = 10 * 32;

    /// @notice Length in bytes of a key for `nPublic` public signals.
    function keyLength(uint256 nPublic) internal pure returns (uint256) {
        return (HEADER_WORDS + 2 * (nPublic + 1)) * 32;
    }

    /**
     * @notice Checks `proof` for `signals` against the key stored in the data contract `key`.
     * @dev Returns false (never reverts) when the key's length does not fit `signals.length`, a
     * signal is not below r, a proof coordinate is not below q, a point is not on its curve, or
     * the pairing check fails. `key` holds one leading zero byte and then the key (a data
     * contract whose code starts with STOP, so calling it does nothing).
     */
    function verify(address key, uint256[] memory signals, uint256[8] calldata proof) internal view returns (bool ok) {
        uint256 n = signals.length;
        uint256 length = keyLength(n);
        if (key.code.length != length + 1) return false;
        for (uint256 i = 0; i < n; ++i) {
            if (signals[i] >= SCALAR_FIELD) return false;
        }
        for (uint256 i = 0; i < 8; ++i) {
            if (proof[i] >= BASE_FIELD) return false;
        }

        assembly ("memory-safe") {
            // Scratch memory past the free pointer; nothing here outlives this block.
            let vk := mload(0x40)
            extcodecopy(key, vk, 1, length)
            let scratch := add(vk, length)
            // vk_x = IC[0] + sum_i signals[i] * IC[i + 1], accumulated at scratch + 0x80.
            let acc := add(scratch, 0x80)
            let ic := add(vk, 448)
            mstore(acc, mload(ic))
            mstore(add(acc, 0x20), mload(add(ic, 0x20)))
            ok := 1
            for {
                let i := 0
            } lt(i, n) {
                i := add(i, 1)
            } {
                let point := add(ic, mul(add(i, 1), 0x40))
                mstore(scratch, mload(point))
                mstore(add(scratch, 0x20), mload(add(point, 0x20)))
                mstore(add(scratch, 0x40), mload(add(signals, mul(add(i, 1), 0x20))))
                // ecMul writes s * IC[i + 1] to scratch[0..64], right before the accumulator,
                // so that scratch[0..128] is the input of ecAdd.
                ok := and(ok, staticcall(gas(), 0x07, scratch, 0x60, add(scratch, 0x40), 0x40))
                ok := and(ok, staticcall(gas(), 0x06, add(scratch, 0x40), 0x80, acc, 0x40))
            }

            // Pairing input: e(-A, B) e(alpha, beta) e(vk_x, gamma) e(C, delta) == 1.
            let p := add(scratch, 0xc0)
            mstore(p, calldataload(proof))
            mstore(add(p, 0x20), mod(sub(BASE_FIELD, calldataload(add(proof, 0x20))), BASE_FIELD))
            calldatacopy(add(p, 0x40), add(proof, 0x40), 0x80)
            mstore(add(p, 0xc0), mload(vk))
            mstore(add(p, 0xe0), mload(add(vk, 0x20)))
            mcopy(add(p, 0x100), add(vk, 0x40), 0x80)
            mstore(add(p, 0x180), mload(acc))
            mstore(add(p, 0x1a0), mload(add(acc, 0x20)))
            mcopy(add(p, 0x1c0), add(vk, GAMMA_OFFSET), 0x80)
            calldatacopy(add(p, 0x240), add(proof, 0xc0), 0x40)
            mcopy(add(p, 0x280), add(vk, DELTA_OFFSET), 0x80)
            ok := and(ok, staticcall(gas(), 0x08, p, 0x300, p, 0x20))
            ok := and(ok, eq(mload(p), 1))
        }
    }
}
