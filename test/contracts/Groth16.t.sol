// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Groth16} from "../../contracts/libraries/Groth16.sol";
import {VerificationKeyStore} from "../../contracts/libraries/VerificationKeyStore.sol";
import {Groth16Harness} from "../../contracts/test/Groth16Harness.sol";

import {VM} from "./Vm.sol";

// Test names follow the test_<function>_<outcome> / testFuzz_ convention, not mixedCase.
// solhint-disable func-name-mixedcase

/**
 * @dev The key store and the verifier's refusals that need no real proof (real proofs, every
 * changed proof word and signal, the gas comparison and the code size limit, which the Solidity
 * test runner does not enforce, are in baked-models.test.ts).
 */
contract Groth16Test {
    Groth16Harness private _harness;
    uint256[8] private _proof;

    error AssertionFailed(string what);

    function setUp() public {
        _harness = new Groth16Harness();
        for (uint256 i = 0; i < 8; ++i) _proof[i] = i + 1;
    }

    function _signals(uint256 n) private pure returns (uint256[] memory s) {
        s = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) s[i] = i + 1;
    }

    function testFuzz_store_readsBackWhatItWrote(bytes memory data) public {
        address pointer = _harness.store(data);
        _check(keccak256(_harness.load(pointer)) == keccak256(data), "read back");
        _check(pointer.code.length == data.length + 1 && pointer.code[0] == 0x00, "STOP byte first");
        // Calling the data contract does nothing (STOP) and succeeds.
        (bool ok, bytes memory ret) = pointer.call("");
        _check(ok && ret.length == 0, "inert");
    }

    /// BUG (fails until fixed): the init code takes the length as a PUSH2, so data of 65,535 bytes
    /// or more is silently truncated (65,535 bytes store nothing, 65,536 one byte) and write still
    /// returns a pointer. Ethereum's code size limits make CREATE fail first, but this runner (like
    /// any chain without EIP-170/3860 limits) lifts them: write should refuse such data itself.
    function test_store_neverTruncatesLongData() public {
        uint256[2] memory sizes = [uint256(65_535), 65_536];
        for (uint256 i = 0; i < sizes.length; ++i) {
            bytes memory data = new bytes(sizes[i]);
            data[sizes[i] - 1] = 0x01;
            try _harness.store(data) returns (address pointer) {
                _check(keccak256(_harness.load(pointer)) == keccak256(data), "stored data truncated");
            } catch {
                // Refusing is fine: nothing was stored.
            }
        }
    }

    function test_load_ofAnAddressWithoutCodeIsEmpty() public view {
        _check(_harness.load(address(0xBEEF)).length == 0, "empty");
    }

    function testFuzz_keyLength_isHeaderPlusTwoWordsPerIcPoint(uint8 nPublic) public pure {
        _check(Groth16.keyLength(nPublic) == 448 + 64 * (uint256(nPublic) + 1), "length");
        _check(Groth16.keyLength(3) == 704, "3 signals");
    }

    function testFuzz_verify_refusesAKeyOfAnotherLength(uint8 words, uint8 nPublic) public {
        uint256 n = nPublic % 8;
        bytes memory key = new bytes(uint256(words) * 32);
        VM.assume(key.length != Groth16.keyLength(n));
        address pointer = _harness.store(key);
        _check(!_harness.verify(pointer, _signals(n), _proof), "wrong length refused");
    }

    function test_verify_refusesAnAddressWithoutAKey() public view {
        _check(!_harness.verify(address(0), _signals(3), _proof), "zero address");
        _check(!_harness.verify(address(0xBEEF), _signals(3), _proof), "no code");
    }

    /// A zero key of the right length is not a key: its points make the precompiles fail.
    function test_verify_failsOnARightLengthKeyOfGarbage() public {
        bytes memory key = new bytes(Groth16.keyLength(3));
        for (uint256 i = 0; i < key.length; ++i) key[i] = 0xff;
        address pointer = _harness.store(key);
        _check(!_harness.verify(pointer, _signals(3), _proof), "garbage key");
        (bool ok, ) = _harness.verifyGas(pointer, _signals(3), _proof);
        _check(!ok, "verifyGas agrees");
    }

    function testFuzz_verify_refusesNonCanonicalSignalsAndCoordinates(uint256 value, uint8 index) public {
        address pointer = _harness.store(new bytes(Groth16.keyLength(3)));
        uint256[] memory s = _signals(3);
        s[index % 3] = Groth16.SCALAR_FIELD + (value % (type(uint256).max - Groth16.SCALAR_FIELD));
        _check(!_harness.verify(pointer, s, _proof), "signal >= r refused");
        uint256[8] memory p = _proof;
        p[index % 8] = Groth16.BASE_FIELD + (value % (type(uint256).max - Groth16.BASE_FIELD));
        _check(!_harness.verify(pointer, _signals(3), p), "coordinate >= q refused");
    }

    function _check(bool condition, string memory what) private pure {
        if (!condition) revert AssertionFailed(what);
    }
}
