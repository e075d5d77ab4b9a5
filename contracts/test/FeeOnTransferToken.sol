// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title FeeOnTransferToken
 * @notice Test double: an ERC-20 that burns 1% of every transfer, so the recipient receives less
 * than the amount sent. The market must refuse it as a fee token.
 */
contract FeeOnTransferToken is ERC20 {
    uint256 private constant _FEE_BASIS_POINTS = 100;

    constructor() ERC20("Fee On Transfer Token", "FOT") {}

    /// @notice Mints `amount` tokens to `to` (test use only).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @dev Transfers between accounts burn a fee (rounded up, so even 1 wei loses something).
    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0) || value == 0) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = (value * _FEE_BASIS_POINTS + 9_999) / 10_000;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
