// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IInferenceAttestations} from "../../contracts/interfaces/IInferenceAttestations.sol";
import {IInferenceMarket} from "../../contracts/interfaces/IInferenceMarket.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {FeeOnTransferToken} from "../../contracts/test/FeeOnTransferToken.sol";
import {ReentrantToken} from "../../contracts/test/ReentrantToken.sol";
import {TestToken} from "../../contracts/test/TestToken.sol";

import {MarketFixture} from "./MarketFixture.sol";
import {TestKeys} from "./TestKeys.sol";
import {VM} from "./Vm.sol";

// Test names follow the test_<function>_<outcome> convention, not mixedCase.
// solhint-disable func-name-mixedcase

/**
 * @dev What the redesign added to the market: each model's own fee token (accounting, withdrawals
 * and protocol fees per token, the stake token as a fee token, hostile tokens), committed models
 * on governance circuits (weights commitment as first signal, deprecation), and baked models
 * checked by the protocol's own Groth16 code (forged proofs here; real ones in
 * baked-models.test.ts).
 */
contract InferenceMarketModelsTest is MarketFixture {
    TestToken private _otherToken;
    uint256 private _otherModel;
    uint256 private _stakeModel;

    function setUp() public override {
        super.setUp();
        _otherToken = new TestToken();
        trackedTokens.push(_otherToken);
        address[4] memory actors = [REQUESTER, VALIDATOR, OTHER_VALIDATOR, NOBODY];
        for (uint256 i = 0; i < actors.length; ++i) fundWith(_otherToken, actors[i]);
        _otherModel = registerModel(MODEL_OWNER, _otherToken, 3 ether);
        _stakeModel = registerModel(MODEL_OWNER, stakeToken, 2 ether);
    }

    function _accounts(IERC20 token) private view returns (uint256[3] memory a) {
        (a[0], a[1], a[2]) = market.feeAccounts(token);
    }

    /// @dev A key the registry accepts; the fixture's proof (words 1 to 8, off the curve) never satisfies it.
    function _key(uint256 nPublic, bytes32 seed) private view returns (bytes memory) {
        return TestKeys.key(nPublic, seed);
    }

    function _bakedModel(uint256[] memory sizes, bytes[] memory keys) private returns (uint256) {
        VM.prank(MODEL_OWNER);
        return registry.registerBakedModel(terms(feeToken, PRICE), _key(3, "single"), sizes, keys);
    }

    // ------------------------------------------------------------ one fee token per model

    function test_twoFeeTokens_keepSeparateAccounts() public {
        uint256 a = open();
        uint256 b = openFor(_otherModel, 3 ether);
        check(address(reqs[a].feeToken) == address(feeToken), "request in the model's token");
        check(address(reqs[b].feeToken) == address(_otherToken), "request in the other model's token");
        uint256[3] memory fa = _accounts(feeToken);
        uint256[3] memory fb = _accounts(_otherToken);
        check(fa[0] == PRICE && fb[0] == 3 ether, "escrow per token");

        fulfilAs(VALIDATOR, a);
        fulfilAs(VALIDATOR, b);
        fa = _accounts(feeToken);
        fb = _accounts(_otherToken);
        check(fa[0] == 0 && fa[2] == PRICE / 20 && fa[1] == PRICE - PRICE / 20, "fee token settled");
        check(fb[0] == 0 && fb[2] == 3 ether / 20 && fb[1] == 3 ether - 3 ether / 20, "other token settled");
        check(market.balanceOf(VALIDATOR, feeToken) == (PRICE * 85) / 100, "validator credit in fee token");
        check(market.balanceOf(VALIDATOR, _otherToken) == (3 ether * 85) / 100, "validator credit in other token");
        check(market.balanceOf(MODEL_OWNER, _otherToken) == 3 ether / 10, "royalty in the model's token");
        check(heldEqualsAccounts(), "accounts");
    }

    function test_withdraw_paysOnlyTheTokenAsked() public {
        fulfilAs(VALIDATOR, open());
        fulfilAs(VALIDATOR, openFor(_otherModel, 3 ether));
        uint256 feeBefore = feeToken.balanceOf(VALIDATOR);
        uint256 otherBefore = _otherToken.balanceOf(VALIDATOR);

        VM.expectEmit();
        emit IInferenceMarket.Withdrawn(VALIDATOR, _otherToken, (3 ether * 85) / 100);
        withdrawAs(VALIDATOR, _otherToken);
        check(_otherToken.balanceOf(VALIDATOR) == otherBefore + (3 ether * 85) / 100, "other token paid");
        check(feeToken.balanceOf(VALIDATOR) == feeBefore, "fee token untouched");
        check(market.balanceOf(VALIDATOR, feeToken) == (PRICE * 85) / 100, "fee credit kept");
        check(market.balanceOf(VALIDATOR, _otherToken) == 0, "other credit spent");
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketNothingToWithdraw.selector, VALIDATOR));
        withdrawAs(VALIDATOR, _otherToken);
        // A token the market never saw has nothing to pay either.
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketNothingToWithdraw.selector, VALIDATOR));
        withdrawAs(VALIDATOR, IERC20(address(registry)));

        withdrawAs(VALIDATOR, feeToken);
        check(feeToken.balanceOf(VALIDATOR) == feeBefore + (PRICE * 85) / 100, "fee token paid");
        check(heldEqualsAccounts(), "accounts");
    }

    function test_claimProtocolFees_perToken() public {
        fulfilAs(VALIDATOR, open());
        fulfilAs(VALIDATOR, openFor(_otherModel, 3 ether));
        VM.expectEmit();
        emit IInferenceMarket.ProtocolFeesClaimed(_otherToken, _TREASURY, 3 ether / 20);
        market.claimProtocolFees(_otherToken, _TREASURY);
        check(_otherToken.balanceOf(_TREASURY) == 3 ether / 20, "other token's protocol fees paid");
        check(feeToken.balanceOf(_TREASURY) == 0, "not the fee token's");
        check(_accounts(feeToken)[2] == PRICE / 20 && _accounts(_otherToken)[2] == 0, "per-token totals");
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketNothingToWithdraw.selector, _TREASURY));
        market.claimProtocolFees(_otherToken, _TREASURY);
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketNothingToWithdraw.selector, _TREASURY));
        market.claimProtocolFees(stakeToken, _TREASURY);
        market.claimProtocolFees(feeToken, _TREASURY);
        check(feeToken.balanceOf(_TREASURY) == PRICE / 20, "fee token's protocol fees paid");
        check(heldEqualsAccounts(), "accounts");
    }

    address private constant _TREASURY = address(0x7EA);

    // ------------------------------------------------------------ the stake token as a fee token

    function test_stakeTokenAsFeeToken_withdrawPaysFeesAndSlashedBondsTogether() public {
        // The requester is refunded a stake-token fee and credited the slashed bond of the claimer.
        uint256 requestId = openFor(_stakeModel, 2 ether);
        claimAs(VALIDATOR, requestId);
        VM.warp(reqs[requestId].deadline + 1);
        market.refund(requestId, reqs[requestId]);
        check(market.balanceOf(REQUESTER, stakeToken) == 2 ether, "fee credit in the stake token");
        check(market.stakeCreditOf(REQUESTER) == BOND, "slashed bond credit");
        check(heldEqualsAccounts(), "accounts before");

        // The fee is paid at once; the slashed bond only one unbonding delay after the slash.
        uint256 before = stakeToken.balanceOf(REQUESTER);
        withdrawAs(REQUESTER, stakeToken);
        check(stakeToken.balanceOf(REQUESTER) == before + 2 ether, "the fee, not the locked bond");
        check(market.stakeCreditOf(REQUESTER) == BOND, "the bond stays credited");
        uint256 refundId = openFor(_stakeModel, 2 ether);
        VM.warp(reqs[refundId].deadline + 1);
        market.refund(refundId, reqs[refundId]);
        VM.warp(block.timestamp + market.params().unbondingDelay);
        VM.expectEmit();
        emit IInferenceMarket.Withdrawn(REQUESTER, stakeToken, 2 ether + BOND);
        withdrawAs(REQUESTER, stakeToken);
        // The second request's fee came out of the requester's balance and went back in.
        check(stakeToken.balanceOf(REQUESTER) == before + 2 ether + BOND, "one transfer pays both");
        check(market.balanceOf(REQUESTER, stakeToken) == 0 && market.stakeCreditOf(REQUESTER) == 0, "both spent");
        (uint256 staked, uint256 stakeCredited) = market.stakeAccounts();
        check(staked == 2 * uint256(MIN_STAKE) - BOND && stakeCredited == 0, "stake totals");
        check(heldEqualsAccounts(), "accounts after");
    }

    function test_stakeTokenAsFeeToken_feeCreditsNeverReachStake() public {
        fulfilAs(VALIDATOR, openFor(_stakeModel, 2 ether));
        (uint256 staked, ) = market.stakeAccounts();
        check(staked == 2 * uint256(MIN_STAKE), "fees are not stake");
        check(market.stakeOf(VALIDATOR).amount == MIN_STAKE, "validator's stake unchanged");
        check(_accounts(stakeToken)[1] == 2 ether - 2 ether / 20, "fee credits in the stake token");
        withdrawAs(VALIDATOR, stakeToken);
        check(market.balanceOf(VALIDATOR, stakeToken) == 0, "fee credit withdrawn");
        // The validator's stake is still all there, and still its to unstake.
        VM.prank(VALIDATOR);
        market.unstake(MIN_STAKE);
        check(heldEqualsAccounts(), "accounts");
    }

    // ------------------------------------------------------------ committed models and their circuits

    function test_committedModel_proofCarriesItsOwnWeightsCommitment() public {
        // A second model on the same circuit, with other weights: a proof for one is not one for the other.
        IModelRegistry.ModelTerms memory t = terms(feeToken, PRICE);
        VM.prank(MODEL_OWNER);
        uint256 twin = registry.registerCommittedModel(t, circuitId, WEIGHTS + 1, new uint256[](0), new uint256[](0));
        uint256 mine = open();
        uint256 theirs = openFor(twin, PRICE);
        verifier.expectPublicSignals(signalsFor(mine, VALIDATOR, OUTPUT));
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidProof.selector, theirs));
        fulfilAs(VALIDATOR, theirs);
        fulfilAs(VALIDATOR, mine);

        (, , uint256 twinWeights, ) = registry.proofTerms(twin);
        check(twinWeights == WEIGHTS + 1, "the twin's own commitment");
        verifier.expectPublicSignals([WEIGHTS + 1, COMMITMENT, OUTPUT, market.binding(theirs, VALIDATOR)]);
        fulfilAs(VALIDATOR, theirs);
    }

    function test_committedModel_deprecatedCircuitRefusesNewRequestsOnly() public {
        uint256 fulfilled = open();
        uint256 refunded = open();
        circuits.deprecateCircuit(circuitId);

        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketCircuitUnusable.selector, modelId, circuitId)
        );
        open();
        // Open requests still settle, either way.
        fulfilAs(VALIDATOR, fulfilled);
        check(statusOf(fulfilled) == IInferenceMarket.RequestStatus.Fulfilled, "fulfilled");
        VM.warp(reqs[refunded].deadline + 1);
        market.refund(refunded, reqs[refunded]);
        check(market.balanceOf(REQUESTER, feeToken) == PRICE, "refunded");
        check(heldEqualsAccounts(), "accounts");
    }

    function test_attest_refusesACommittedModelWhoseCircuitWasDeprecated() public {
        market.attest(modelId, COMMITMENT, OUTPUT, proof);
        check(attestedAlone(modelId, COMMITMENT, OUTPUT), "attested while usable");
        circuits.deprecateCircuit(circuitId);
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceAttestations.InferenceAttestationsCircuitUnusable.selector,
                modelId,
                circuitId
            )
        );
        market.attest(modelId, COMMITMENT + 1, OUTPUT, proof);
        check(!attestedAlone(modelId, COMMITMENT + 1, OUTPUT), "no new fact");
        check(attestedAlone(modelId, COMMITMENT, OUTPUT), "old facts stay");
    }

    function test_refund_aClaimInTheSecondOfAnUnpauseIsStillSlashable() public {
        market.pause();
        VM.warp(block.timestamp + 1 minutes);
        market.unpause();
        // Same timestamp as the unpause: the pause is over, it blocked nothing of this claim.
        uint256 requestId = open();
        claimAs(VALIDATOR, requestId);
        VM.warp(reqs[requestId].deadline + 1);
        market.refund(requestId, reqs[requestId]);
        check(market.stakeOf(VALIDATOR).amount == MIN_STAKE - BOND, "claimer slashed");
        check(market.stakeCreditOf(REQUESTER) == BOND, "requester compensated");
    }

    function test_requestInference_revertsOnUnknownModels() public {
        uint256[3] memory unknown = [uint256(0), registry.modelCount() + 1, type(uint256).max];
        for (uint256 i = 0; i < unknown.length; ++i) {
            VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketUnknownModel.selector, unknown[i]));
            openFor(unknown[i], PRICE);
        }
    }

    function test_requestInference_refusesAPriceAbove128Bits() public {
        uint256 price = uint256(type(uint128).max) + 1;
        VM.prank(MODEL_OWNER);
        registry.setPrice(modelId, price);
        VM.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 128, price));
        openFor(modelId, type(uint256).max);
        VM.prank(MODEL_OWNER);
        registry.setPrice(modelId, type(uint128).max);
        VM.prank(REQUESTER);
        feeToken.mint(REQUESTER, type(uint128).max);
        uint256 requestId = openFor(modelId, type(uint256).max);
        check(reqs[requestId].fee == type(uint128).max, "the largest fee fits");
        check(heldEqualsAccounts(), "accounts");
    }

    // ------------------------------------------------------------ hostile fee tokens

    function test_feeOnTransferFeeToken_refusedAtRequestWithNothingLost() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        uint256 fotModel = registerModel(MODEL_OWNER, fot, PRICE);
        fot.mint(REQUESTER, 10 ether);
        VM.prank(REQUESTER);
        fot.approve(address(market), type(uint256).max);
        uint256 count = market.requestCount();

        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketTransferMismatch.selector,
                PRICE,
                PRICE - PRICE / 100
            )
        );
        openFor(fotModel, PRICE);
        check(fot.balanceOf(REQUESTER) == 10 ether && fot.balanceOf(address(market)) == 0, "nothing moved");
        check(market.requestCount() == count && _accounts(fot)[0] == 0, "no request, no escrow");
        // The other models are unaffected.
        fulfilAs(VALIDATOR, open());
        check(heldEqualsAccounts(), "accounts");
    }

    function test_reentrantFeeToken_cannotReenterTheSharedMarket() public {
        ReentrantToken evil = new ReentrantToken();
        uint256 evilModel = registerModel(MODEL_OWNER, evil, PRICE);
        evil.mint(REQUESTER, 10 ether);
        VM.prank(REQUESTER);
        evil.approve(address(market), type(uint256).max);

        // During the fee transfer of a request, the token calls back into the market.
        evil.arm(address(market), abi.encodeCall(IInferenceMarket.withdraw, (feeToken)));
        VM.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        openFor(evilModel, PRICE);
        evil.disarm();

        // Honest requests on the token still work; the callback cannot drain other tokens' credits.
        fulfilAs(VALIDATOR, open());
        uint256 evilRequest = openFor(evilModel, PRICE);
        fulfilAs(VALIDATOR, evilRequest);
        evil.arm(address(market), abi.encodeCall(IInferenceMarket.withdraw, (feeToken)));
        VM.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        withdrawAs(VALIDATOR, evil);
        evil.disarm();
        check(market.balanceOf(VALIDATOR, feeToken) == (PRICE * 85) / 100, "fee token credit intact");
        check(market.balanceOf(VALIDATOR, evil) == (PRICE * 85) / 100, "evil token credit intact");
        withdrawAs(VALIDATOR, evil);
        withdrawAs(VALIDATOR, feeToken);
        check(heldEqualsAccounts(), "accounts");
    }

    // ------------------------------------------------------------ baked models (forged proofs)

    function test_bakedModel_forgedProofIsRejectedByTheProtocolsVerifier() public {
        uint256 baked = _bakedModel(new uint256[](0), new bytes[](0));
        uint256 requestId = openFor(baked, PRICE);
        // The settable verifier says yes to anything, but baked models never reach it.
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidProof.selector, requestId));
        fulfilAs(VALIDATOR, requestId);
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceAttestations.InferenceAttestationsInvalidProof.selector, baked)
        );
        market.attest(baked, COMMITMENT, OUTPUT, proof);
        // No circuit, so nothing to deprecate: the request was accepted and is refunded in time.
        VM.warp(reqs[requestId].deadline + 1);
        market.refund(requestId, reqs[requestId]);
        check(market.balanceOf(REQUESTER, feeToken) == PRICE, "refunded");
    }

    function test_bakedModel_batchNeedsAKeyForTheSizeAndAValidProof() public {
        bytes[] memory keys = new bytes[](1);
        keys[0] = _key(3, "batch2");
        uint256[] memory sizes = new uint256[](1);
        sizes[0] = 2;
        uint256 baked = _bakedModel(sizes, keys);
        uint256[] memory ids = new uint256[](3);
        uint256[] memory outputs = new uint256[](3);
        for (uint256 i = 0; i < 3; ++i) (ids[i], outputs[i]) = (openFor(baked, PRICE), OUTPUT);

        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketNoBatchVerifier.selector, baked, 3));
        VM.prank(VALIDATOR);
        market.fulfilBatch(ids, batchTerms(ids), outputs, proof);

        uint256[] memory two = new uint256[](2);
        uint256[] memory twoOutputs = new uint256[](2);
        (two[0], two[1], twoOutputs[0], twoOutputs[1]) = (ids[0], ids[1], OUTPUT, OUTPUT);
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidBatchProof.selector, ids[0], 2));
        VM.prank(VALIDATOR);
        market.fulfilBatch(two, batchTerms(two), twoOutputs, proof);
    }
}
