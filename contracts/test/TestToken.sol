// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title TestToken
 * @notice Fee token for tests and local demos. Anyone may mint: never deploy it where the
 * token is meant to have value.
 */
contract TestToken is ERC20 {
    constructor() ERC20("poi Test Token", "POIT") {}

    /// @notice Mints `amount` tokens to `to`. Unrestricted on purpose (test and demo use only).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
