// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IInferenceMarket} from "../../contracts/interfaces/IInferenceMarket.sol";
import {InferenceMarket} from "../../contracts/market/InferenceMarket.sol";
import {ModelRegistry} from "../../contracts/registry/ModelRegistry.sol";
import {SettableVerifier} from "../../contracts/test/SettableVerifier.sol";
import {TestToken} from "../../contracts/test/TestToken.sol";

import {VM} from "./Vm.sol";

/// @dev Shared deployment for the Solidity tests of the market: registry, separate fee and stake
/// tokens, a verifier that says yes, one model, and funded, approved actors. The test contract is
/// governance.
abstract contract MarketFixture {
    uint256 internal constant PRICE = 1 ether;
    uint256 internal constant COMMITMENT = 42;
    uint256 internal constant OUTPUT = 7;
    uint64 internal constant TTL = 1 hours;
    uint128 internal constant MIN_STAKE = 100 ether;
    uint128 internal constant BOND = 10 ether;

    address internal constant REQUESTER = address(0xA11CE);
    address internal constant VALIDATOR = address(0xB0B);
    address internal constant OTHER_VALIDATOR = address(0xCA701);
    address internal constant MODEL_OWNER = address(0xD0D0);
    address internal constant NOBODY = address(0xE11E);

    ModelRegistry internal registry;
    TestToken internal feeToken;
    TestToken internal stakeToken;
    SettableVerifier internal verifier;
    InferenceMarket internal market;
    uint256 internal modelId;
    uint256[8] internal proof;

    error AssertionFailed(string what);

    function setUp() public virtual {
        registry = new ModelRegistry(address(this));
        feeToken = new TestToken();
        stakeToken = new TestToken();
        verifier = new SettableVerifier(true);
        market = new InferenceMarket(registry, feeToken, stakeToken, address(this), defaultParams());
        modelId = registry.registerModel(address(verifier), bytes32(0), MODEL_OWNER, PRICE);
        address[4] memory actors = [REQUESTER, VALIDATOR, OTHER_VALIDATOR, NOBODY];
        for (uint256 i = 0; i < actors.length; ++i) fund(actors[i]);
        stakeAs(VALIDATOR, MIN_STAKE);
        stakeAs(OTHER_VALIDATOR, MIN_STAKE);
    }

    function defaultParams() internal pure returns (IInferenceMarket.Params memory) {
        return
            IInferenceMarket.Params({
                protocolFeeBps: 500,
                royaltyBps: 1_000,
                claimWindow: 10 minutes,
                maxRequestTtl: 1 days,
                unbondingDelay: 2 days,
                minStake: MIN_STAKE,
                claimBond: BOND
            });
    }

    function fund(address account) internal {
        feeToken.mint(account, type(uint128).max);
        stakeToken.mint(account, type(uint128).max);
        VM.startPrank(account);
        feeToken.approve(address(market), type(uint256).max);
        stakeToken.approve(address(market), type(uint256).max);
        VM.stopPrank();
    }

    function stakeAs(address validator, uint256 amount) internal {
        VM.prank(validator);
        market.stake(amount);
    }

    function open() internal returns (uint256) {
        VM.prank(REQUESTER);
        return market.requestInference(modelId, COMMITMENT, "", uint64(block.timestamp) + TTL, PRICE);
    }

    function claimAs(address validator, uint256 requestId) internal {
        VM.prank(validator);
        market.claim(requestId);
    }

    function fulfilAs(address validator, uint256 requestId) internal {
        VM.prank(validator);
        market.fulfil(requestId, OUTPUT, proof);
    }

    function heldEqualsAccounts() internal view returns (bool) {
        (uint256 escrowed, uint256 credited, uint256 protocolFees) = market.feeAccounts();
        (uint256 staked, uint256 stakeCredited) = market.stakeAccounts();
        return
            IERC20(feeToken).balanceOf(address(market)) == escrowed + credited + protocolFees &&
            IERC20(stakeToken).balanceOf(address(market)) == staked + stakeCredited;
    }

    function check(bool condition, string memory what) internal pure {
        if (!condition) revert AssertionFailed(what);
    }
}
