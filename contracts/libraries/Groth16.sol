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

    /// @notice Byte offset of beta2 in a key.
    uint256 internal constant BETA_OFFSET = 2 * 32;
    /// @notice Byte offset of IC[0] in a key.
    uint256 internal constant IC_OFFSET = HEADER_WORDS * 32;

    // The G2 generator in key order (x_im, x_re, y_im, y_re). A snarkjs phase-2 key always has
    // gamma equal to it: gamma is never updated by a contribution.
    uint256 private constant _G2_X_IM = 11559732032986387107991004021392285783925812861821192530917403151452391805634;
    uint256 private constant _G2_X_RE = 10857046999023057135944570762232829481370756359578518086990519993285655852781;
    uint256 private constant _G2_Y_IM = 4082367875863433681332203403145435568316851327593401208105741076214120093531;
    uint256 private constant _G2_Y_RE = 8495653923123431417604973247489272438418190587263600148770280649306958101930;

    /**
     * @notice What makes a verification key unfit, as found by {keyDefect}.
     * @dev Each defect but `NotCanonical` and `NotOnCurve` lets someone prove anything without
     * the circuit; those two make a key that no proof can satisfy (a model nobody can serve).
     * - `NotCanonical`: a coordinate is not below q;
     * - `NotOnCurve`: alpha or an IC point is not on G1, or beta or delta is not in G2 (on the
     *   twist and in the order-r subgroup, as the pairing precompile checks);
     * - `AtInfinity`: alpha, beta, delta or an IC point is the point at infinity;
     * - `GammaNotGenerator`: gamma is not the G2 generator;
     * - `Related`: beta or delta equals gamma or its negation, or beta equals delta or its negation.
     */
    enum KeyDefect {
        None,
        NotCanonical,
        NotOnCurve,
        AtInfinity,
        GammaNotGenerator,
        Related
    }

    /// @notice Length in bytes of a key for `nPublic` public signals.
    function keyLength(uint256 nPublic) internal pure returns (uint256) {
        return (HEADER_WORDS + 2 * (nPublic + 1)) * 32;
    }

    /**
     * @notice Finds the first defect of a key (of any length that {keyLength} gives), and the byte
     * offset of the word or point at fault; `(None, 0)` for a sound key.
     * @dev Why each rule: with gamma at infinity, or delta = -gamma, the proof `A = alpha,
     * B = beta` with `C` at infinity (or `C = vk_x`) satisfies
     * `e(-A, B) e(alpha, beta) e(vk_x, gamma) e(C, delta) = 1` for any public signals. More
     * generally anyone who knows the discrete log between two of beta, gamma and delta can move
     * one pairing into another, so gamma must be the generator (as snarkjs makes it) and beta and
     * delta must differ from it and from each other up to sign. A key made by an honest phase 2
     * has beta and delta of unknown discrete log; that cannot be checked, and is what the model's
     * owner is trusted for (docs/threat-model.md). Costs about 115k gas (two pairing checks).
     */
    function keyDefect(bytes calldata key) internal view returns (KeyDefect, uint256) {
        uint256 words = key.length / 32;
        for (uint256 i = 0; i < words; ++i) {
            if (_word(key, i * 32) >= BASE_FIELD) return (KeyDefect.NotCanonical, i * 32);
        }
        KeyDefect defect = _g1Defect(key, 0);
        if (defect != KeyDefect.None) return (defect, 0);
        for (uint256 offset = IC_OFFSET; offset < key.length; offset += 64) {
            defect = _g1Defect(key, offset);
            if (defect != KeyDefect.None) return (defect, offset);
        }
        if (!_isG2Generator(key, GAMMA_OFFSET)) return (KeyDefect.GammaNotGenerator, GAMMA_OFFSET);
        if (_g2AtInfinity(key, BETA_OFFSET)) return (KeyDefect.AtInfinity, BETA_OFFSET);
        if (_g2AtInfinity(key, DELTA_OFFSET)) return (KeyDefect.AtInfinity, DELTA_OFFSET);
        if (_g2SameUpToSign(key, BETA_OFFSET, GAMMA_OFFSET)) return (KeyDefect.Related, BETA_OFFSET);
        if (_g2SameUpToSign(key, DELTA_OFFSET, GAMMA_OFFSET)) return (KeyDefect.Related, DELTA_OFFSET);
        if (_g2SameUpToSign(key, BETA_OFFSET, DELTA_OFFSET)) return (KeyDefect.Related, DELTA_OFFSET);
        if (!_inG2(key, BETA_OFFSET)) return (KeyDefect.NotOnCurve, BETA_OFFSET);
        if (!_inG2(key, DELTA_OFFSET)) return (KeyDefect.NotOnCurve, DELTA_OFFSET);
        return (KeyDefect.None, 0);
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

    function _word(bytes calldata key, uint256 offset) private pure returns (uint256 w) {
        assembly ("memory-safe") {
            w := calldataload(add(key.offset, offset))
        }
    }

    /// @dev G1 point at `offset`: at infinity (0, 0), or not on y^2 = x^3 + 3 (coordinates < q).
    function _g1Defect(bytes calldata key, uint256 offset) private pure returns (KeyDefect) {
        uint256 x = _word(key, offset);
        uint256 y = _word(key, offset + 32);
        if (x == 0 && y == 0) return KeyDefect.AtInfinity;
        uint256 rhs = addmod(mulmod(mulmod(x, x, BASE_FIELD), x, BASE_FIELD), 3, BASE_FIELD);
        return mulmod(y, y, BASE_FIELD) == rhs ? KeyDefect.None : KeyDefect.NotOnCurve;
    }

    function _isG2Generator(bytes calldata key, uint256 offset) private pure returns (bool) {
        return
            _word(key, offset) == _G2_X_IM &&
            _word(key, offset + 32) == _G2_X_RE &&
            _word(key, offset + 64) == _G2_Y_IM &&
            _word(key, offset + 96) == _G2_Y_RE;
    }

    function _g2AtInfinity(bytes calldata key, uint256 offset) private pure returns (bool) {
        return
            _word(key, offset) == 0 &&
            _word(key, offset + 32) == 0 &&
            _word(key, offset + 64) == 0 &&
            _word(key, offset + 96) == 0;
    }

    /// @dev Whether the G2 points at offsets `a` and `b` are equal or each other's negation.
    function _g2SameUpToSign(bytes calldata key, uint256 a, uint256 b) private pure returns (bool) {
        if (_word(key, a) != _word(key, b) || _word(key, a + 32) != _word(key, b + 32)) return false;
        uint256 yIm = _word(key, a + 64);
        uint256 yRe = _word(key, a + 96);
        uint256 otherIm = _word(key, b + 64);
        uint256 otherRe = _word(key, b + 96);
        if (yIm == otherIm && yRe == otherRe) return true;
        return (BASE_FIELD - yIm) % BASE_FIELD == otherIm && (BASE_FIELD - yRe) % BASE_FIELD == otherRe;
    }

    /**
     * @dev Whether the G2 point at `offset` is on the twist and in the order-r subgroup: the
     * pairing precompile refuses (fails) any other point, so one pairing with the G1 generator
     * tells (EIP-197 prices one pair at 79,000 gas). Its result is not needed, only that the call
     * succeeds.
     */
    function _inG2(bytes calldata key, uint256 offset) private view returns (bool ok) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, 1)
            mstore(add(p, 0x20), 2)
            calldatacopy(add(p, 0x40), add(key.offset, offset), 0x80)
            // A failing precompile burns the gas it was given: give it what one pair costs, with margin.
            ok := staticcall(100000, 0x08, p, 0xc0, p, 0x20)
        }
    }
}
