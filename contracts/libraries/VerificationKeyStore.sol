// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title VerificationKeyStore
 * @notice Writes a verification key once as the code of a data contract, so that verifying a
 * proof reads it back with one EXTCODECOPY (a few thousand gas) instead of many SLOADs.
 * @dev The stored code is one zero byte (STOP, so a call to the data contract does nothing)
 * followed by the key. Data contracts cannot be changed or removed: a key, once written, is
 * the key the protocol checks against for as long as the model exists.
 */
library VerificationKeyStore {
    /// @notice The data contract could not be created (out of gas, or data over the code size limit).
    error VerificationKeyStoreWriteFailed();

    /// @notice `length` bytes do not fit the 16-bit length of the init code (at most 65,534).
    error VerificationKeyStoreTooLarge(uint256 length);

    /// @notice Creates a data contract holding `data` and returns its address.
    function write(bytes memory data) internal returns (address pointer) {
        // The stored code is the data plus one byte, and its length is pushed as 16 bits: a longer
        // one would wrap and store a truncated copy (chains with EIP-170 refuse far less anyway).
        if (data.length > type(uint16).max - 1) revert VerificationKeyStoreTooLarge(data.length);
        // Init code (12 bytes): PUSH2 len, DUP1, PUSH1 12, PUSH1 0, CODECOPY, PUSH1 0, RETURN;
        // it returns everything after itself: the STOP byte and the data.
        bytes memory code = abi.encodePacked(hex"61", uint16(data.length + 1), hex"80600c6000396000f3", hex"00", data);
        assembly ("memory-safe") {
            pointer := create(0, add(code, 0x20), mload(code))
        }
        if (pointer == address(0)) revert VerificationKeyStoreWriteFailed();
    }

    /// @notice Reads back the data written at `pointer` (empty if `pointer` holds no code).
    function read(address pointer) internal view returns (bytes memory data) {
        uint256 size = pointer.code.length;
        if (size == 0) return data;
        data = new bytes(size - 1);
        assembly ("memory-safe") {
            extcodecopy(pointer, add(data, 0x20), 1, sub(size, 1))
        }
    }
}
