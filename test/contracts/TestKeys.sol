// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Groth16} from "../../contracts/libraries/Groth16.sol";

/**
 * @dev Verification keys and curve arithmetic for the Solidity tests. {key} builds a key that
 * passes every check of {Groth16-keyDefect}: alpha and the IC points are multiples of the G1
 * generator (by seeded scalars), gamma is the G2 generator, beta and delta are 2 and 3 times it.
 * Its discrete logs are public, so anyone could forge proofs for it (a real key's come from a
 * phase 2 and are secret): it serves tests that need a key the registry accepts, and the
 * forgeries of the degenerate-key tests, which use beta = 2 G2 on purpose.
 * G2 points are in key order `(x_im, x_re, y_im, y_re)`.
 */
library TestKeys {
    uint256 internal constant Q = Groth16.BASE_FIELD;
    uint256 internal constant R = Groth16.SCALAR_FIELD;
    /// @dev Discrete log of beta in {key}: the forgeries use it, as a key's author could.
    uint256 internal constant BETA_LOG = 2;

    /// @dev A curve precompile refused its input.
    error TestKeysPrecompileFailed(address precompile);

    function g2Generator() internal pure returns (uint256[4] memory) {
        return
            [
                11559732032986387107991004021392285783925812861821192530917403151452391805634,
                10857046999023057135944570762232829481370756359578518086990519993285655852781,
                4082367875863433681332203403145435568316851327593401208105741076214120093531,
                8495653923123431417604973247489272438418190587263600148770280649306958101930
            ];
    }

    /// @dev 2 times the G2 generator (computed with ffjavascript).
    function g2Twice() internal pure returns (uint256[4] memory) {
        return
            [
                14583779054894525174450323658765874724019480979794335525732096752006891875705,
                18029695676650738226693292988307914797657423701064905010927197838374790804409,
                11474861747383700316476719153975578001603231366361248090558603872215261634898,
                2140229616977736810657479771656733941598412651537078903776637920509952744750
            ];
    }

    /// @dev 3 times the G2 generator.
    function g2Thrice() internal pure returns (uint256[4] memory) {
        return
            [
                7273165102799931111715871471550377909735733521218303035754523677688038059653,
                2725019753478801796453339367788033689375851816420509565303521482350756874229,
                957874124722006818841961785324909313781880061366718538693995380805373202866,
                2512659008974376214222774206987427162027254181373325676825515531566330959255
            ];
    }

    /// @dev A point of the twist y^2 = x^3 + 3 / (9 + u) with x = 5 + u, outside the order-r subgroup.
    function g2OffSubgroup() internal pure returns (uint256[4] memory) {
        return
            [
                uint256(1),
                5,
                16043447076329872375887584556683436513165016484529127304231559706947902103147,
                1408319067812452414633879940013592055621582375252427422757364816067320890688
            ];
    }

    function negG2(uint256[4] memory p) internal pure returns (uint256[4] memory) {
        return [p[0], p[1], (Q - p[2]) % Q, (Q - p[3]) % Q];
    }

    function negG1(uint256[2] memory p) internal pure returns (uint256[2] memory) {
        return [p[0], (Q - p[1]) % Q];
    }

    /// @dev `s` times point `p` of G1 (ecMul precompile).
    function mul(uint256[2] memory p, uint256 s) internal view returns (uint256[2] memory out) {
        uint256[3] memory input = [p[0], p[1], s];
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x07, input, 0x60, out, 0x40)
        }
        if (!ok) revert TestKeysPrecompileFailed(address(0x07));
    }

    /// @dev `p + q` in G1 (ecAdd precompile).
    function add(uint256[2] memory p, uint256[2] memory q) internal view returns (uint256[2] memory out) {
        uint256[4] memory input = [p[0], p[1], q[0], q[1]];
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x06, input, 0x80, out, 0x40)
        }
        if (!ok) revert TestKeysPrecompileFailed(address(0x06));
    }

    /// @dev `k` times the G1 generator.
    function g1(uint256 k) internal view returns (uint256[2] memory) {
        return mul([uint256(1), 2], k);
    }

    /// @dev A nonzero scalar derived from `seed` and `i`.
    function scalar(bytes32 seed, uint256 i) internal pure returns (uint256) {
        return (uint256(keccak256(abi.encode(seed, i))) % (R - 1)) + 1;
    }

    /// @dev A key for `nPublic` signals that the registry accepts (see the contract's note).
    function key(uint256 nPublic, bytes32 seed) internal view returns (bytes memory k) {
        uint256[2] memory alpha = g1(scalar(seed, 0));
        k = bytes.concat(
            abi.encode(alpha[0], alpha[1]),
            abi.encode(g2Twice()),
            abi.encode(g2Generator()),
            abi.encode(g2Thrice())
        );
        for (uint256 i = 0; i <= nPublic; ++i) {
            uint256[2] memory ic = g1(scalar(seed, i + 1));
            k = bytes.concat(k, abi.encode(ic[0], ic[1]));
        }
    }

    function readG1(bytes memory k, uint256 offset) internal pure returns (uint256[2] memory p) {
        assembly ("memory-safe") {
            mstore(p, mload(add(add(k, 0x20), offset)))
            mstore(add(p, 0x20), mload(add(add(k, 0x40), offset)))
        }
    }

    function readG2(bytes memory k, uint256 offset) internal pure returns (uint256[4] memory p) {
        for (uint256 i = 0; i < 4; ++i) p[i] = uint256(readWord(k, offset + 32 * i));
    }

    function readWord(bytes memory k, uint256 offset) internal pure returns (bytes32 w) {
        assembly ("memory-safe") {
            w := mload(add(add(k, 0x20), offset))
        }
    }

    function writeWord(bytes memory k, uint256 offset, uint256 value) internal pure {
        assembly ("memory-safe") {
            mstore(add(add(k, 0x20), offset), value)
        }
    }

    /// @dev Overwrites the G1 point at `offset` of `k` (in place) and returns `k`.
    function withG1(bytes memory k, uint256 offset, uint256[2] memory p) internal pure returns (bytes memory) {
        writeWord(k, offset, p[0]);
        writeWord(k, offset + 32, p[1]);
        return k;
    }

    /// @dev Overwrites the G2 point at `offset` of `k` (in place) and returns `k`.
    function withG2(bytes memory k, uint256 offset, uint256[4] memory p) internal pure returns (bytes memory) {
        for (uint256 i = 0; i < 4; ++i) writeWord(k, offset + 32 * i, p[i]);
        return k;
    }

    /// @dev `vk_x = IC[0] + sum_i signals[i] IC[i + 1]` of key `k`, as the verifier computes it.
    function vkX(bytes memory k, uint256[] memory signals) internal view returns (uint256[2] memory acc) {
        uint256 ic = Groth16.IC_OFFSET;
        acc = readG1(k, ic);
        for (uint256 i = 0; i < signals.length; ++i) {
            acc = add(acc, mul(readG1(k, ic + 64 * (i + 1)), signals[i]));
        }
    }

    /// @dev A proof `[A, B, C]` in the market's calldata order (B in key order).
    function proof(
        uint256[2] memory a,
        uint256[4] memory b,
        uint256[2] memory c
    ) internal pure returns (uint256[8] memory) {
        return [a[0], a[1], b[0], b[1], b[2], b[3], c[0], c[1]];
    }
}
