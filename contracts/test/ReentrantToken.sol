// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";

/**
 * @title ReentrantToken
 * @notice Test double: an ERC-20 that, once armed, calls back into a target contract in the
 * middle of its next transfer, the way a malicious or hook-bearing token could. A failing
 * callback reverts the whole transfer with the callback's own error, so a test sees exactly
 * why the re-entry was refused.
 */
contract ReentrantToken is ERC20 {
    address private _target;
    bytes private _callData;
    bool private _armed;

    constructor() ERC20("Reentrant Token", "REENT") {}

    /// @notice Mints `amount` tokens to `to` (test use only).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms the token: its next transfer calls `target` with `callData`, once.
    function arm(address target, bytes calldata callData) external {
        _target = target;
        _callData = callData;
        _armed = true;
    }

    /// @notice Disarms the token: transfers behave like a plain ERC-20 again.
    function disarm() external {
        _armed = false;
    }

    /// @notice Whether the token is still waiting to attack.
    function armed() external view returns (bool) {
        return _armed;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (_armed && from != address(0) && to != address(0)) {
            _armed = false;
            Address.functionCall(_target, _callData);
        }
    }
}
