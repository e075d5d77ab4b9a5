// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title Vm
 * @notice The few cheatcodes the Solidity tests use. Hardhat 3 implements them at the address
 * below; forge-std is not available offline, so they are declared here.
 */
// solhint-disable-next-line interface-starts-with-i
interface Vm {
    function warp(uint256 newTimestamp) external;

    function prank(address msgSender) external;

    function startPrank(address msgSender) external;

    function stopPrank() external;

    function chainId(uint256 newChainId) external;

    function assume(bool condition) external pure;

    function expectRevert(bytes calldata revertData) external;

    function expectRevert(bytes4 revertData) external;

    /// @dev The next call must emit the event emitted next by the test (all topics and data).
    function expectEmit() external;

    /// @dev Records the gas of the last call under `group`/`name` (snapshots/<group>.json).
    function snapshotGasLastCall(string calldata group, string calldata name) external returns (uint256 gasUsed);
}

/// @dev keccak256("hevm cheat code") truncated to an address.
Vm constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
