// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IInferenceMarket} from "../../contracts/interfaces/IInferenceMarket.sol";
import {ProofBinding} from "../../contracts/libraries/ProofBinding.sol";
import {InferenceMarket} from "../../contracts/market/InferenceMarket.sol";
import {ModelRegistry} from "../../contracts/registry/ModelRegistry.sol";
import {SettableVerifier} from "../../contracts/test/SettableVerifier.sol";
import {TestToken} from "../../contracts/test/TestToken.sol";

import {VM} from "./Vm.sol";

// Test names follow the test_<function>_<outcome> / testFuzz_ convention, not mixedCase.
// solhint-disable func-name-mixedcase

/// @dev Fuzz tests of the market's field-element checks, binding and escrow accounting. The test
/// contract itself is requester and validator.
contract InferenceMarketTest {
    uint256 private constant _R = ProofBinding.SNARK_SCALAR_FIELD;
    uint256 private constant _COMMITMENT = 42;
    uint64 private constant _DURATION = 1 hours;

    ModelRegistry private _registry;
    TestToken private _token;
    SettableVerifier private _verifier;
    InferenceMarket private _market;
    uint256 private _modelId;
    uint256[8] private _proof;

    error AssertionFailed(string what);

    function setUp() public {
        _registry = new ModelRegistry(address(this));
        _token = new TestToken();
        _verifier = new SettableVerifier(true);
        _market = new InferenceMarket(_registry, _token);
        _modelId = _registry.registerModel(address(_verifier), bytes32(0), address(this), 1 ether);
        _token.mint(address(this), type(uint128).max);
        _token.approve(address(_market), type(uint256).max);
    }

    function testFuzz_binding_isCanonicalAndMatchesSpec(
        uint256 chainId,
        address market,
        uint256 requestId,
        address prover
    ) public pure {
        uint256 b = ProofBinding.compute(chainId, market, requestId, prover);
        _check(b < _R, "binding not canonical");
        _check(b == uint256(keccak256(abi.encode(chainId, market, requestId, prover))) % _R, "binding spec");
    }

    function testFuzz_binding_differsPerRequestAndProver(
        uint256 requestA,
        uint256 requestB,
        address proverA,
        address proverB
    ) public view {
        VM.assume(requestA != requestB && proverA != proverB);
        _check(_market.binding(requestA, proverA) != _market.binding(requestB, proverA), "same across requests");
        _check(_market.binding(requestA, proverA) != _market.binding(requestA, proverB), "same across provers");
    }

    function testFuzz_binding_differsPerChain(uint64 otherChainId) public {
        VM.assume(otherChainId != block.chainid && otherChainId != 0);
        uint256 here = _market.binding(1, address(this));
        VM.chainId(otherChainId);
        _check(_market.binding(1, address(this)) != here, "same across chains");
    }

    function testFuzz_requestInference_revertsOnNonCanonicalCommitment(uint256 commitment) public {
        VM.assume(commitment >= _R);
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidInputCommitment.selector, commitment)
        );
        _market.requestInference(_modelId, commitment, "", uint64(block.timestamp) + _DURATION);
    }

    function testFuzz_requestInference_acceptsCanonicalCommitment(uint256 commitment) public {
        commitment = 1 + (commitment % (_R - 1));
        uint256 requestId = _market.requestInference(_modelId, commitment, "", uint64(block.timestamp) + _DURATION);
        _check(_market.request(requestId).inputCommitment == commitment, "commitment stored");
    }

    function testFuzz_fulfil_revertsOnNonCanonicalOutput(uint256 output) public {
        VM.assume(output >= _R);
        uint256 requestId = _open();
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidOutput.selector, output));
        _market.fulfil(requestId, output, _proof);
    }

    /// Whatever the price and however long the validator takes, the fee is paid out exactly once:
    /// to the validator up to the deadline, to the requester after it, never to both.
    function testFuzz_settlement_paysFeeExactlyOnce(uint128 price, uint32 delay, address validator) public {
        VM.assume(validator != address(this) && validator != address(_market) && validator != address(0));
        // Around the deadline, half on each side, so both outcomes are exercised.
        delay = delay % (2 * uint32(_DURATION) + 1);
        _registry.setPrice(_modelId, price);
        uint256 requestId = _open();
        uint64 deadline = _market.request(requestId).deadline;
        VM.warp(block.timestamp + delay);

        if (block.timestamp <= deadline) {
            VM.prank(validator);
            _market.fulfil(requestId, 7, _proof);
            VM.expectRevert(
                abi.encodeWithSelector(
                    IInferenceMarket.InferenceMarketRequestNotOpen.selector,
                    requestId,
                    IInferenceMarket.RequestStatus.Fulfilled
                )
            );
            _market.refund(requestId);
            _check(_market.balanceOf(validator) == price, "validator paid");
            _check(_market.balanceOf(address(this)) == 0, "requester not refunded");
        } else {
            VM.expectRevert(
                abi.encodeWithSelector(IInferenceMarket.InferenceMarketDeadlinePassed.selector, requestId, deadline)
            );
            VM.prank(validator);
            _market.fulfil(requestId, 7, _proof);
            _market.refund(requestId);
            _check(_market.balanceOf(validator) == 0, "validator not paid");
            _check(_market.balanceOf(address(this)) == price, "requester refunded");
        }
        _check(_token.balanceOf(address(_market)) == price, "escrow holds the fee");
    }

    function _open() private returns (uint256) {
        return _market.requestInference(_modelId, _COMMITMENT, "", uint64(block.timestamp) + _DURATION);
    }

    function _check(bool condition, string memory what) private pure {
        if (!condition) revert AssertionFailed(what);
    }
}
