// SPDX-License-Identifier: MIT
// The attacker contract exists only for these attacks: it lives with them.
// solhint-disable one-contract-per-file
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IInferenceMarket, MARKET_MAX_UNBONDING_DELAY} from "../../contracts/interfaces/IInferenceMarket.sol";
import {ProofBinding} from "../../contracts/libraries/ProofBinding.sol";
import {InferenceMarket} from "../../contracts/market/InferenceMarket.sol";
import {FeeOnTransferToken} from "../../contracts/test/FeeOnTransferToken.sol";
import {ReentrantToken} from "../../contracts/test/ReentrantToken.sol";

import {MarketFixture} from "./MarketFixture.sol";
import {VM} from "./Vm.sol";

// Test names follow the test_<attack>_<outcome> convention, not mixedCase.
// solhint-disable func-name-mixedcase

/// @dev A validator contract that, when its token transfer calls back, tries to withdraw again.
contract GreedyRecipient {
    InferenceMarket private immutable _market;
    IERC20 private immutable _token;

    constructor(InferenceMarket market_, IERC20 token) {
        _market = market_;
        _token = token;
    }

    function stakeAndFulfil(
        IERC20 stakeToken,
        uint256 amount,
        uint256 requestId,
        IInferenceMarket.Request calldata req
    ) external {
        stakeToken.approve(address(_market), amount);
        _market.stake(amount);
        uint256[8] memory proof;
        _market.fulfil(requestId, req, 7, proof);
    }

    function withdraw() external {
        _market.withdraw(_token);
    }

    /// @notice Called by the malicious token in the middle of the transfer that pays this contract.
    function reenter() external {
        _market.withdraw(_token);
    }
}

/**
 * @dev Each test mounts one attack from issue 5 and shows the defence holds. Proof-specific
 * attacks with real proofs (replay on another request or deployment, front-running, malleated
 * proofs, public input + r) live in test/e2e/mnist-mlp.test.ts.
 */
contract InferenceMarketAttacksTest is MarketFixture {
    ReentrantToken private _evilToken;
    InferenceMarket private _evilMarket;
    uint256 private _evilModel;

    /// @dev A second market whose stake token is the malicious, call-back-on-transfer one, and a
    /// model whose fee token is that token too.
    function _deployEvilMarket() private {
        _evilToken = new ReentrantToken();
        _evilMarket = new InferenceMarket(registry, _evilToken, address(this), defaultParams());
        _evilModel = registerModel(MODEL_OWNER, _evilToken, PRICE);
        address[2] memory actors = [REQUESTER, VALIDATOR];
        for (uint256 i = 0; i < actors.length; ++i) {
            _evilToken.mint(actors[i], 1_000 ether);
            VM.prank(actors[i]);
            _evilToken.approve(address(_evilMarket), type(uint256).max);
        }
        VM.prank(VALIDATOR);
        _evilMarket.stake(MIN_STAKE);
    }

    function _evilRequest() private returns (uint256 requestId) {
        uint64 deadline = uint64(block.timestamp) + TTL;
        VM.prank(REQUESTER);
        requestId = _evilMarket.requestInference(_evilModel, COMMITMENT, "", deadline, PRICE);
        reqs[requestId] = termsOf(REQUESTER, _evilModel, COMMITMENT, deadline);
    }

    function test_reentry_maliciousTokenCannotCallBackIntoAnyEntryPoint() public {
        _deployEvilMarket();
        uint256 requestId = _evilRequest();
        IInferenceMarket.Request memory r = reqs[requestId];
        VM.prank(VALIDATOR);
        _evilMarket.fulfil(requestId, r, OUTPUT, proof);

        uint256 other = _evilRequest();
        IInferenceMarket.Request memory o = reqs[other];
        uint256[] memory ids = new uint256[](1);
        ids[0] = other;
        IInferenceMarket.Request[] memory os = new IInferenceMarket.Request[](1);
        os[0] = o;
        uint256[] memory commitments = new uint256[](1);
        commitments[0] = COMMITMENT;
        bytes[] memory inputs = new bytes[](1);
        bytes[9] memory callbacks = [
            abi.encodeCall(IInferenceMarket.withdraw, (_evilToken)),
            abi.encodeCall(IInferenceMarket.refund, (other, o)),
            abi.encodeCall(IInferenceMarket.fulfil, (other, o, OUTPUT, proof)),
            abi.encodeCall(IInferenceMarket.claim, (other, o)),
            abi.encodeCall(IInferenceMarket.claimBatch, (ids, os)),
            abi.encodeCall(IInferenceMarket.requestInferences, (_evilModel, commitments, inputs, o.deadline, PRICE)),
            abi.encodeCall(IInferenceMarket.requestInference, (_evilModel, COMMITMENT, "", o.deadline, PRICE)),
            abi.encodeCall(IInferenceMarket.stake, (1)),
            abi.encodeCall(IInferenceMarket.withdrawStake, ())
        ];
        for (uint256 i = 0; i < callbacks.length; ++i) {
            _evilToken.arm(address(_evilMarket), callbacks[i]);
            VM.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
            VM.prank(VALIDATOR);
            _evilMarket.withdraw(_evilToken);
        }
        _evilToken.disarm();
        uint256 credited = _evilMarket.balanceOf(VALIDATOR, _evilToken);
        check(credited == (PRICE * 85) / 100, "credit untouched by the failed attempts");
        uint256 before = _evilToken.balanceOf(VALIDATOR);
        VM.prank(VALIDATOR);
        _evilMarket.withdraw(_evilToken);
        check(_evilToken.balanceOf(VALIDATOR) == before + credited, "paid exactly once");
    }

    function test_reentry_maliciousTokenCannotReenterStaking() public {
        _deployEvilMarket();
        VM.prank(VALIDATOR);
        _evilMarket.unstake(MIN_STAKE);
        VM.warp(block.timestamp + 2 days);
        _evilToken.arm(address(_evilMarket), abi.encodeCall(IInferenceMarket.withdrawStake, ()));
        VM.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        VM.prank(VALIDATOR);
        _evilMarket.withdrawStake();
        _evilToken.disarm();
        VM.prank(VALIDATOR);
        _evilMarket.withdrawStake();
        (uint256 staked, ) = _evilMarket.stakeAccounts();
        check(staked == 0 && _evilToken.balanceOf(address(_evilMarket)) == 0, "stake out once");
    }

    function test_reentry_maliciousRecipientCannotDoubleWithdrawNorBlockOthers() public {
        _deployEvilMarket();
        GreedyRecipient greedy = new GreedyRecipient(_evilMarket, _evilToken);
        _evilToken.mint(address(greedy), MIN_STAKE);
        uint256 requestId = _evilRequest();
        greedy.stakeAndFulfil(_evilToken, MIN_STAKE, requestId, reqs[requestId]);
        // A second request expires and is refunded to the requester: an innocent credit.
        uint256 expired = _evilRequest();
        VM.warp(block.timestamp + TTL + 1);
        _evilMarket.refund(expired, reqs[expired]);

        // When the market pays the recipient, the recipient tries to withdraw again.
        _evilToken.arm(address(greedy), abi.encodeCall(GreedyRecipient.reenter, ()));
        VM.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        greedy.withdraw();

        // The attacker's failure blocks nobody: the requester withdraws its refund untouched.
        _evilToken.disarm();
        uint256 before = _evilToken.balanceOf(REQUESTER);
        VM.prank(REQUESTER);
        _evilMarket.withdraw(_evilToken);
        check(_evilToken.balanceOf(REQUESTER) == before + PRICE, "requester paid");
        check(_evilMarket.balanceOf(address(greedy), _evilToken) == (PRICE * 85) / 100, "greedy credit intact");
    }

    function test_feeOnTransfer_refusedAsFeeAndAsStake() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        InferenceMarket fotMarket = new InferenceMarket(registry, fot, address(this), defaultParams());
        uint256 fotModel = registerModel(MODEL_OWNER, fot, PRICE);
        fot.mint(REQUESTER, 1_000 ether);
        VM.startPrank(REQUESTER);
        fot.approve(address(fotMarket), type(uint256).max);
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketTransferMismatch.selector,
                PRICE,
                PRICE - PRICE / 100
            )
        );
        fotMarket.requestInference(fotModel, COMMITMENT, "", uint64(block.timestamp) + TTL, PRICE);
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketTransferMismatch.selector,
                MIN_STAKE,
                MIN_STAKE - MIN_STAKE / 100
            )
        );
        fotMarket.stake(MIN_STAKE);
        VM.stopPrank();
        check(fot.balanceOf(address(fotMarket)) == 0, "nothing kept");
        check(fotMarket.requestCount() == 0, "no request opened");
        (uint256 escrowed, , ) = fotMarket.feeAccounts(fot);
        check(escrowed == 0, "nothing escrowed");
    }

    /// A griefer claims every request it can and never fulfils. Each claim costs it a bond; it can
    /// block a request only for the claim window, never to its deadline; it cannot pull its bonded
    /// stake out from under the claims; and the requester ends up compensated.
    function test_claimGriefer_losesItsBondsAndBlocksOnlyForTheWindow() public {
        address griefer = NOBODY;
        stakeAs(griefer, MIN_STAKE);
        uint256 maxClaims = MIN_STAKE / BOND;
        uint256[] memory ids = new uint256[](maxClaims + 1);
        for (uint256 i = 0; i <= maxClaims; ++i) ids[i] = open();
        for (uint256 i = 0; i < maxClaims; ++i) claimAs(griefer, ids[i]);
        // Its stake bounds how many requests it can hold at once.
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketInsufficientStake.selector,
                griefer,
                MIN_STAKE,
                MIN_STAKE + BOND
            )
        );
        claimAs(griefer, ids[maxClaims]);
        // Nor can it withdraw the bonded stake to escape the slashes.
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketInsufficientStake.selector,
                griefer,
                MIN_STAKE,
                MIN_STAKE + 1
            )
        );
        VM.prank(griefer);
        market.unstake(1);

        // After the window, an honest validator answers the first request.
        VM.warp(reqs[ids[0]].claimExpiresAt + 1);
        fulfilAs(VALIDATOR, ids[0]);
        // The others expire.
        VM.warp(reqs[ids[1]].deadline + 1);
        for (uint256 i = 1; i < maxClaims; ++i) market.refund(ids[i], reqs[ids[i]]);

        check(market.stakeOf(griefer).amount == 0 && market.stakeOf(griefer).bonded == 0, "griefer lost it all");
        check(market.stakeCreditOf(REQUESTER) == maxClaims * BOND, "requester compensated");
        check(!market.isStaked(griefer), "griefer can no longer claim");
        check(heldEqualsAccounts(), "accounts");
    }

    /// Whatever proof is submitted (a malleated twin of the winning proof, in particular), a settled
    /// request is never paid again: the status, not proof uniqueness, is the defence.
    function testFuzz_settledRequest_neverPaysAgain(uint256[8] memory anyProof, uint256 output) public {
        uint256 requestId = open();
        fulfilAs(VALIDATOR, requestId);
        output = output % ProofBinding.SNARK_SCALAR_FIELD;
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketWrongStatus.selector,
                requestId,
                IInferenceMarket.RequestStatus.Fulfilled
            )
        );
        VM.prank(OTHER_VALIDATOR);
        market.fulfil(requestId, reqs[requestId], output, anyProof);
        (uint256 escrowed, uint256 credited, uint256 protocolFees) = market.feeAccounts(feeToken);
        check(escrowed == 0 && credited + protocolFees == PRICE, "paid once");
    }

    /// The same fulfilment calldata sent from another (staked) address binds another prover.
    function test_frontRun_copiedCalldataFails() public {
        uint256 requestId = open();
        verifier.expectPublicSignals([WEIGHTS, COMMITMENT, OUTPUT, market.binding(requestId, VALIDATOR)]);
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidProof.selector, requestId));
        fulfilAs(OTHER_VALIDATOR, requestId);
        fulfilAs(VALIDATOR, requestId);
    }

    // ------------------------------------------------------------ audit finding F1: stake out without unbonding

    address private constant _ACCOMPLICE = address(0xACC);

    /// F1. A validator bonds all its free stake on requests of its own free model, posted by an
    /// accomplice, lets them expire and refunds them: every bond is slashed to the accomplice.
    /// Before the fix the accomplice withdrew at once, about a minute after the claims, where
    /// unstaking takes `unbondingDelay`. Now a slashed bond waits the same delay from the slash.
    function test_selfSlash_leavesNoSoonerThanUnstaking() public {
        fund(_ACCOMPLICE);
        uint256 ownModel = registerModel(VALIDATOR, feeToken, 0);
        uint256 claims = MIN_STAKE / BOND;
        uint256[] memory ids = new uint256[](claims);
        for (uint256 i = 0; i < claims; ++i) {
            ids[i] = requestAs(_ACCOMPLICE, ownModel, COMMITMENT, uint64(block.timestamp) + 60, 0);
            claimAs(VALIDATOR, ids[i]);
        }
        // The honest way out started now would end here.
        uint256 unstakeWouldEnd = block.timestamp + market.params().unbondingDelay;
        check(market.stakeOf(VALIDATOR).bonded == MIN_STAKE, "all of the stake bonded");

        VM.warp(block.timestamp + 61);
        for (uint256 i = 0; i < claims; ++i) market.refund(ids[i], reqs[ids[i]]);
        check(market.stakeCreditOf(_ACCOMPLICE) == MIN_STAKE, "every bond slashed to the accomplice");
        uint64 availableAt = uint64(block.timestamp) + market.params().unbondingDelay;
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketStakeCreditLocked.selector, _ACCOMPLICE, availableAt)
        );
        withdrawAs(_ACCOMPLICE, stakeToken);

        // Still locked one second before, withdrawable at the end of the delay: never sooner
        // than unstaking at the time of the claims would have been.
        VM.warp(availableAt - 1);
        (uint256 withdrawable, ) = market.withdrawableStakeCreditOf(_ACCOMPLICE);
        check(withdrawable == 0, "locked until the delay has passed");
        VM.warp(availableAt);
        check(block.timestamp >= unstakeWouldEnd, "no earlier than the unbonding delay");
        uint256 before = stakeToken.balanceOf(_ACCOMPLICE);
        withdrawAs(_ACCOMPLICE, stakeToken);
        check(stakeToken.balanceOf(_ACCOMPLICE) == before + MIN_STAKE, "then paid in full");
        check(heldEqualsAccounts(), "accounts");
    }

    /// A requester slashed to again and again still gets each bond within two unbonding delays:
    /// the oldest tranche is never postponed by newer slashes.
    function test_slashedBonds_matureWithinTwoDelaysWhateverComesAfter() public {
        uint64 delay = market.params().unbondingDelay;
        uint256[5] memory slashedAt;
        for (uint256 i = 0; i < 5; ++i) {
            uint256 id = open();
            claimAs(VALIDATOR, id);
            VM.warp(reqs[id].deadline + 1);
            market.refund(id, reqs[id]);
            slashedAt[i] = block.timestamp;
            stakeAs(VALIDATOR, BOND); // back to the minimum stake
            // Slashes arrive a third of a delay apart, so most land before the last matured.
            if (i < 4) VM.warp(block.timestamp + delay / 3);
        }
        // Now (the fifth slash) the first has matured; the second and third wait together.
        (uint256 withdrawable, uint64 nextAt) = market.withdrawableStakeCreditOf(REQUESTER);
        check(withdrawable == BOND, "the first slash, one delay after it");
        check(nextAt == slashedAt[2] + delay, "the next tranche ends one delay after its last slash");
        check(nextAt <= slashedAt[1] + 2 * uint256(delay), "so within two delays of its first");
        VM.warp(nextAt - 1);
        (withdrawable, ) = market.withdrawableStakeCreditOf(REQUESTER);
        check(withdrawable == BOND, "not before");
        VM.warp(nextAt);
        (withdrawable, nextAt) = market.withdrawableStakeCreditOf(REQUESTER);
        check(withdrawable == 3 * BOND, "the second and third");
        check(nextAt == slashedAt[4] + delay && nextAt <= slashedAt[3] + 2 * uint256(delay), "the rest");
        withdrawAs(REQUESTER, stakeToken);
        VM.warp(nextAt);
        (withdrawable, nextAt) = market.withdrawableStakeCreditOf(REQUESTER);
        check(withdrawable == 2 * BOND && nextAt == 0, "the fourth and fifth, nothing left locked");
        withdrawAs(REQUESTER, stakeToken);
        check(market.stakeCreditOf(REQUESTER) == 0 && heldEqualsAccounts(), "paid");
    }

    // ------------------------------------------------------------ audit finding F2: freezing stake

    /// F2. Governance set `unbondingDelay = 2^64 - 1` (unstake then panicked) or 1e15 (stake locked
    /// for millions of years, even after the delay was restored). Every parameter is now bounded.
    function test_freezeStake_unboundedParametersAreRefused() public {
        IInferenceMarket.Params memory p = defaultParams();
        uint64[3] memory delays = [type(uint64).max, 1e15, MARKET_MAX_UNBONDING_DELAY + 1];
        for (uint256 i = 0; i < delays.length; ++i) {
            p.unbondingDelay = delays[i];
            VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidParams.selector, p));
            market.setParams(p);
        }
        p = defaultParams();
        p.claimBond = type(uint128).max;
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidParams.selector, p));
        market.setParams(p);
        p = defaultParams();
        p.minStake = type(uint128).max;
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidParams.selector, p));
        market.setParams(p);
        // The longest delay allowed still unstakes and withdraws.
        p = defaultParams();
        p.unbondingDelay = MARKET_MAX_UNBONDING_DELAY;
        setParamsNow(p);
        VM.prank(VALIDATOR);
        market.unstake(MIN_STAKE);
        VM.warp(block.timestamp + MARKET_MAX_UNBONDING_DELAY);
        VM.prank(VALIDATOR);
        market.withdrawStake();
    }

    /// A longer delay (or bond, minimum stake, request lifetime) is queued for one current
    /// unbonding delay: a validator who unstakes on seeing it is out before it applies, and its
    /// unbonding keeps the delay it started with.
    function test_freezeStake_aLongerDelayWaitsAndNeverReachesStakeAlreadyUnbonding() public {
        IInferenceMarket.Params memory p = defaultParams();
        p.unbondingDelay = MARKET_MAX_UNBONDING_DELAY;
        VM.expectEmit();
        emit IInferenceMarket.ParamsQueued(p, uint64(block.timestamp) + defaultParams().unbondingDelay);
        market.setParams(p);
        check(market.params().unbondingDelay == defaultParams().unbondingDelay, "not in effect yet");
        (, uint64 effectiveAt) = market.pendingParams();
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketParamsNotDue.selector, effectiveAt));
        market.applyParams();

        // The validator leaves under the old delay.
        VM.prank(VALIDATOR);
        market.unstake(MIN_STAKE);
        uint64 endsAt = market.stakeOf(VALIDATOR).unbondingEndsAt;
        check(endsAt <= effectiveAt, "out by the time the change applies");
        VM.warp(effectiveAt);
        market.applyParams();
        check(market.params().unbondingDelay == MARKET_MAX_UNBONDING_DELAY, "then in effect");
        check(market.stakeOf(VALIDATOR).unbondingEndsAt == endsAt, "an unbonding under way keeps its end");
        VM.prank(VALIDATOR);
        market.withdrawStake();
        check(market.stakeOf(VALIDATOR).unbonding == 0, "withdrawn under the old delay");
    }

    /// A shorter delay applies at once and also shortens unbondings under way.
    function test_freezeStake_aShorterDelayAppliesAtOnceToUnbondingsUnderWay() public {
        VM.prank(VALIDATOR);
        market.unstake(MIN_STAKE);
        uint256 started = block.timestamp;
        IInferenceMarket.Params memory p = defaultParams();
        p.unbondingDelay = p.maxRequestTtl + 1;
        market.setParams(p);
        check(market.params().unbondingDelay == p.unbondingDelay, "in effect at once");
        check(market.stakeOf(VALIDATOR).unbondingEndsAt == started + p.unbondingDelay, "the shorter end");
        VM.warp(started + p.unbondingDelay);
        VM.prank(VALIDATOR);
        market.withdrawStake();
    }

    /// Governance can withdraw a queued change: any later call replaces it.
    function test_setParams_aLaterCallReplacesTheQueuedChange() public {
        IInferenceMarket.Params memory p = defaultParams();
        p.claimBond = MIN_STAKE;
        market.setParams(p);
        (, uint64 effectiveAt) = market.pendingParams();
        check(effectiveAt != 0, "queued");
        market.setParams(defaultParams());
        (, effectiveAt) = market.pendingParams();
        check(effectiveAt == 0, "dropped");
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketParamsNotDue.selector, 0));
        market.applyParams();
        check(market.params().claimBond == BOND, "unchanged");
    }
}
