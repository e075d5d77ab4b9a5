// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IInferenceAttestations} from "../../contracts/interfaces/IInferenceAttestations.sol";
import {
    IInferenceMarket,
    MARKET_MAX_PROTOCOL_FEE_BPS,
    MARKET_MAX_ROYALTY_BPS,
    MARKET_MAX_CLAIM_WINDOW,
    MARKET_MAX_REQUEST_TTL,
    MARKET_MAX_UNBONDING_DELAY,
    MARKET_MAX_STAKE_AMOUNT
} from "../../contracts/interfaces/IInferenceMarket.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {ProofBinding} from "../../contracts/libraries/ProofBinding.sol";
import {InferenceMarket} from "../../contracts/market/InferenceMarket.sol";

import {MarketFixture} from "./MarketFixture.sol";
import {VM} from "./Vm.sol";

// Test names follow the test_<function>_<outcome> / testFuzz_ convention, not mixedCase.
// solhint-disable func-name-mixedcase

/// @dev Unit and fuzz tests of the market: field checks, binding, staking, claims, fee split,
/// refunds and slashing, pause, attestations and governance.
contract InferenceMarketTest is MarketFixture {
    uint256 private constant _R = ProofBinding.SNARK_SCALAR_FIELD;

    // ------------------------------------------------------------ constructor and params

    function test_constructor_revertsOnZeroAddress() public {
        IInferenceMarket.Params memory p = defaultParams();
        VM.expectRevert(IInferenceMarket.InferenceMarketZeroAddress.selector);
        new InferenceMarket(registry, IERC20(address(0)), address(this), p);
        VM.expectRevert(IInferenceMarket.InferenceMarketZeroAddress.selector);
        new InferenceMarket(IModelRegistry(address(0)), stakeToken, address(this), p);
    }

    function testFuzz_setParams_acceptsExactlyTheDocumentedBounds(IInferenceMarket.Params memory p) public {
        // Half the runs inside the time bounds, or nearly every random Params would be refused.
        if (p.claimBond % 2 == 0) {
            p.claimWindow %= 2 days;
            p.maxRequestTtl %= 10 days;
            p.unbondingDelay %= 40 days;
            p.minStake %= 2e27;
            p.claimBond %= 2e27;
        }
        bool valid =
            p.protocolFeeBps <= MARKET_MAX_PROTOCOL_FEE_BPS &&
                p.royaltyBps <= MARKET_MAX_ROYALTY_BPS &&
                p.claimWindow != 0 &&
                p.claimWindow <= MARKET_MAX_CLAIM_WINDOW &&
                p.maxRequestTtl != 0 &&
                p.maxRequestTtl <= MARKET_MAX_REQUEST_TTL &&
                p.unbondingDelay > p.maxRequestTtl &&
                p.unbondingDelay <= MARKET_MAX_UNBONDING_DELAY &&
                p.minStake <= MARKET_MAX_STAKE_AMOUNT &&
                p.claimBond != 0 &&
                p.claimBond <= MARKET_MAX_STAKE_AMOUNT;
        if (!valid) {
            VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidParams.selector, p));
        }
        market.setParams(p);
        if (!valid) return;
        IInferenceMarket.Params memory was = defaultParams();
        bool raisesRisk =
            p.claimBond > was.claimBond ||
                p.minStake > was.minStake ||
                p.unbondingDelay > was.unbondingDelay ||
                p.maxRequestTtl > was.maxRequestTtl;
        (IInferenceMarket.Params memory queued, uint64 effectiveAt) = market.pendingParams();
        if (raisesRisk) {
            check(effectiveAt == block.timestamp + was.unbondingDelay, "queued for one unbonding delay");
            check(queued.claimBond == p.claimBond && market.params().claimBond == was.claimBond, "not yet in effect");
        } else {
            check(effectiveAt == 0 && market.params().claimBond == p.claimBond, "in effect at once");
        }
    }

    function test_setParams_revertsForNonOwner() public {
        VM.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, NOBODY));
        VM.prank(NOBODY);
        market.setParams(defaultParams());
    }

    // ------------------------------------------------------------ binding

    function testFuzz_binding_isCanonicalAndMatchesSpec(
        uint256 chainId,
        address market_,
        uint256 requestId,
        address prover
    ) public pure {
        uint256 b = ProofBinding.compute(chainId, market_, requestId, prover);
        check(b < _R, "binding not canonical");
        check(b == uint256(keccak256(abi.encode(chainId, market_, requestId, prover))) % _R, "binding spec");
    }

    function testFuzz_binding_differsPerRequestAndProver(
        uint256 requestA,
        uint256 requestB,
        address proverA,
        address proverB
    ) public view {
        VM.assume(requestA != requestB && proverA != proverB);
        check(market.binding(requestA, proverA) != market.binding(requestB, proverA), "same across requests");
        check(market.binding(requestA, proverA) != market.binding(requestA, proverB), "same across provers");
    }

    function testFuzz_binding_differsPerChain(uint64 otherChainId) public {
        VM.assume(otherChainId != block.chainid && otherChainId != 0);
        uint256 here = market.binding(1, address(this));
        VM.chainId(otherChainId);
        check(market.binding(1, address(this)) != here, "same across chains");
    }

    // ------------------------------------------------------------ requestInference

    function testFuzz_requestInference_revertsOnNonCanonicalCommitment(uint256 commitment) public {
        VM.assume(commitment >= _R);
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidInputCommitment.selector, commitment)
        );
        market.requestInference(modelId, commitment, "", uint64(block.timestamp) + TTL, PRICE);
    }

    function testFuzz_requestInference_acceptsCanonicalCommitment(uint256 commitment) public {
        commitment = 1 + (commitment % (_R - 1));
        uint256 requestId = requestAs(REQUESTER, modelId, commitment, uint64(block.timestamp) + TTL, PRICE);
        check(reqs[requestId].inputCommitment == commitment, "commitment stored");
        check(statusOf(requestId) == IInferenceMarket.RequestStatus.Open, "open");
    }

    function testFuzz_requestInference_revertsAboveMaxFee(uint256 maxFee) public {
        maxFee = maxFee % PRICE;
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketPriceAboveMaxFee.selector, PRICE, maxFee)
        );
        VM.prank(REQUESTER);
        market.requestInference(modelId, COMMITMENT, "", uint64(block.timestamp) + TTL, maxFee);
    }

    function testFuzz_requestInference_deadlineWithinTtl(uint64 offset) public {
        uint64 deadline = uint64(block.timestamp) + (offset % 3 days);
        bool valid = deadline > block.timestamp && deadline <= block.timestamp + 1 days;
        if (!valid) {
            VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidDeadline.selector, deadline));
        }
        VM.prank(REQUESTER);
        market.requestInference(modelId, COMMITMENT, "", deadline, PRICE);
    }

    function test_requestInference_revertsOnUnknownOrInactiveModel() public {
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketUnknownModel.selector, 9));
        market.requestInference(9, COMMITMENT, "", uint64(block.timestamp) + TTL, PRICE);
        VM.prank(MODEL_OWNER);
        registry.setActive(modelId, false);
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketModelInactive.selector, modelId));
        market.requestInference(modelId, COMMITMENT, "", uint64(block.timestamp) + TTL, PRICE);
    }

    function test_requestInference_escrowsTheFee() public {
        uint256 before = feeToken.balanceOf(REQUESTER);
        uint256 requestId = open();
        check(feeToken.balanceOf(REQUESTER) == before - PRICE, "requester paid");
        (uint256 escrowed, , ) = market.feeAccounts(feeToken);
        check(escrowed == PRICE && reqs[requestId].fee == PRICE, "escrowed");
        check(heldEqualsAccounts(), "accounts");
    }

    // ------------------------------------------------------------ staking

    function test_stake_revertsOnZero() public {
        VM.expectRevert(IInferenceMarket.InferenceMarketZeroAmount.selector);
        market.stake(0);
        VM.expectRevert(IInferenceMarket.InferenceMarketZeroAmount.selector);
        market.unstake(0);
    }

    function testFuzz_unstake_onlyFreeStakeThenWaitsForTheDelay(uint256 amount, uint32 wait) public {
        claimAs(VALIDATOR, open());
        uint256 free = MIN_STAKE - BOND;
        amount = 1 + (amount % MIN_STAKE);
        if (amount > free) {
            VM.expectRevert(
                abi.encodeWithSelector(
                    IInferenceMarket.InferenceMarketInsufficientStake.selector,
                    VALIDATOR,
                    MIN_STAKE,
                    BOND + amount
                )
            );
            VM.prank(VALIDATOR);
            market.unstake(amount);
            return;
        }
        VM.prank(VALIDATOR);
        market.unstake(amount);
        IInferenceMarket.Stake memory s = market.stakeOf(VALIDATOR);
        check(s.amount == MIN_STAKE - amount && s.unbonding == amount && s.bonded == BOND, "moved to unbonding");
        check(s.amount >= s.bonded, "bond still covered");

        VM.warp(block.timestamp + (wait % (4 days)));
        uint256 before = stakeToken.balanceOf(VALIDATOR);
        if (block.timestamp < s.unbondingEndsAt) {
            VM.expectRevert(
                abi.encodeWithSelector(IInferenceMarket.InferenceMarketUnbonding.selector, VALIDATOR, s.unbondingEndsAt)
            );
        }
        VM.prank(VALIDATOR);
        market.withdrawStake();
        if (block.timestamp >= s.unbondingEndsAt) {
            check(stakeToken.balanceOf(VALIDATOR) == before + amount, "stake returned");
        }
        check(heldEqualsAccounts(), "accounts");
    }

    function test_withdrawStake_revertsWithNothingUnbonding() public {
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketNothingToWithdraw.selector, VALIDATOR));
        VM.prank(VALIDATOR);
        market.withdrawStake();
    }

    // ------------------------------------------------------------ claim

    function test_claim_locksTheBondForAnExclusiveWindow() public {
        uint256 requestId = open();
        claimAs(VALIDATOR, requestId);
        IInferenceMarket.Request memory r = reqs[requestId];
        check(statusOf(requestId) == IInferenceMarket.RequestStatus.Claimed && r.claimer == VALIDATOR, "claimed");
        check(r.claimExpiresAt == block.timestamp + 10 minutes && r.bond == BOND, "window and bond");
        check(market.stakeOf(VALIDATOR).bonded == BOND, "bonded");

        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketClaimedByOther.selector,
                requestId,
                VALIDATOR,
                r.claimExpiresAt
            )
        );
        fulfilAs(OTHER_VALIDATOR, requestId);
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketWrongStatus.selector,
                requestId,
                IInferenceMarket.RequestStatus.Claimed
            )
        );
        claimAs(OTHER_VALIDATOR, requestId);
    }

    function test_claim_windowEndsAtTheDeadline() public {
        uint256 requestId = requestAs(REQUESTER, modelId, COMMITMENT, uint64(block.timestamp) + 60, PRICE);
        claimAs(VALIDATOR, requestId);
        check(reqs[requestId].claimExpiresAt == block.timestamp + 60, "capped by the deadline");
    }

    function test_claim_revertsWithoutStakeOrFreeStake() public {
        uint256 requestId = open();
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketInsufficientStake.selector, NOBODY, 0, MIN_STAKE)
        );
        claimAs(NOBODY, requestId);

        // Enough to be staked, but every unit bonded already.
        IInferenceMarket.Params memory p = defaultParams();
        p.claimBond = MIN_STAKE;
        setParamsNow(p);
        requestId = open();
        claimAs(VALIDATOR, requestId);
        uint256 second = open();
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketInsufficientStake.selector,
                VALIDATOR,
                MIN_STAKE,
                2 * uint256(MIN_STAKE)
            )
        );
        claimAs(VALIDATOR, second);
    }

    function test_claim_revertsAfterTheDeadlineOrOnAMissingRequest() public {
        uint256 requestId = open();
        uint64 deadline = reqs[requestId].deadline;
        VM.warp(deadline + 1);
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketDeadlinePassed.selector, requestId, deadline)
        );
        claimAs(VALIDATOR, requestId);
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketWrongStatus.selector,
                99,
                IInferenceMarket.RequestStatus.None
            )
        );
        claimAs(VALIDATOR, 99);
    }

    // ------------------------------------------------------------ fulfil

    function testFuzz_fulfil_splitsTheFeeExactly(uint128 price, uint16 protocolBps, uint16 royaltyBps) public {
        IInferenceMarket.Params memory p = defaultParams();
        p.protocolFeeBps = protocolBps % 1_001;
        p.royaltyBps = royaltyBps % 3_001;
        market.setParams(p);
        VM.prank(MODEL_OWNER);
        registry.setPrice(modelId, price);
        uint256 requestId = requestAs(REQUESTER, modelId, COMMITMENT, uint64(block.timestamp) + TTL, price);
        fulfilAs(VALIDATOR, requestId);

        uint256 protocolFee = (uint256(price) * p.protocolFeeBps) / 10_000;
        uint256 royalty = (uint256(price) * p.royaltyBps) / 10_000;
        (uint256 escrowed, uint256 credited, uint256 protocolFees) = market.feeAccounts(feeToken);
        check(market.balanceOf(MODEL_OWNER, feeToken) == royalty, "royalty");
        check(protocolFees == protocolFee, "protocol fee");
        check(market.balanceOf(VALIDATOR, feeToken) == price - protocolFee - royalty, "validator share");
        check(escrowed == 0 && credited + protocolFees == price, "nothing lost or created");
        check(heldEqualsAccounts(), "accounts");
    }

    function testFuzz_fulfil_revertsOnNonCanonicalOutput(uint256 output) public {
        VM.assume(output >= _R);
        uint256 requestId = open();
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidOutput.selector, output));
        VM.prank(VALIDATOR);
        market.fulfil(requestId, reqs[requestId], output, proof);
    }

    function test_fulfil_passesTheRebuiltPublicSignals() public {
        uint256 requestId = open();
        verifier.expectPublicSignals([WEIGHTS, COMMITMENT, OUTPUT, market.binding(requestId, VALIDATOR)]);
        // Another staked validator submitting the same proof binds another prover: rejected.
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidProof.selector, requestId));
        fulfilAs(OTHER_VALIDATOR, requestId);
        fulfilAs(VALIDATOR, requestId);
        check(
            market.balanceOf(VALIDATOR, feeToken) != 0 && market.balanceOf(OTHER_VALIDATOR, feeToken) == 0,
            "paid to the bound prover only"
        );
        check(attestedByRequest(requestId, modelId, COMMITMENT, OUTPUT), "attested by the request's word");
        check(!attestedByRequest(requestId, modelId, COMMITMENT, OUTPUT + 1), "with its own output only");
    }

    function test_fulfil_revertsForAnUnstakedCaller() public {
        uint256 requestId = open();
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketInsufficientStake.selector, NOBODY, 0, MIN_STAKE)
        );
        fulfilAs(NOBODY, requestId);
    }

    function test_fulfil_byTheClaimerReleasesItsBond() public {
        uint256 requestId = open();
        claimAs(VALIDATOR, requestId);
        fulfilAs(VALIDATOR, requestId);
        check(market.stakeOf(VALIDATOR).bonded == 0 && market.stakeOf(VALIDATOR).amount == MIN_STAKE, "released");
        check(market.stakeCreditOf(REQUESTER) == 0, "nothing slashed");
    }

    function test_fulfil_byAnotherAfterTheWindowSlashesTheClaimer() public {
        uint256 requestId = open();
        claimAs(VALIDATOR, requestId);
        VM.warp(reqs[requestId].claimExpiresAt + 1);
        fulfilAs(OTHER_VALIDATOR, requestId);
        check(
            market.balanceOf(OTHER_VALIDATOR, feeToken) != 0 && market.balanceOf(VALIDATOR, feeToken) == 0,
            "other validator paid"
        );
        check(market.stakeOf(VALIDATOR).amount == MIN_STAKE - BOND, "claimer slashed");
        check(market.stakeOf(VALIDATOR).bonded == 0, "no bond left");
        check(market.stakeCreditOf(REQUESTER) == BOND, "requester compensated");
        check(heldEqualsAccounts(), "accounts");
    }

    function test_fulfil_revertsWhenSettledOrExpired() public {
        uint256 requestId = open();
        fulfilAs(VALIDATOR, requestId);
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketWrongStatus.selector,
                requestId,
                IInferenceMarket.RequestStatus.Fulfilled
            )
        );
        fulfilAs(VALIDATOR, requestId);

        uint256 late = open();
        uint64 deadline = reqs[late].deadline;
        VM.warp(deadline + 1);
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketDeadlinePassed.selector, late, deadline)
        );
        fulfilAs(VALIDATOR, late);
    }

    function test_fulfil_revertsOnARejectedProof() public {
        uint256 requestId = open();
        verifier.setAnswer(false);
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidProof.selector, requestId));
        fulfilAs(VALIDATOR, requestId);
    }

    // ------------------------------------------------------------ refund and slashing

    /// Whatever the price and however long the validator takes, the fee is paid out exactly once:
    /// to the validator up to the deadline, to the requester after it, never to both.
    function testFuzz_settlement_paysFeeExactlyOnce(uint128 price, uint32 delay) public {
        delay = delay % (2 * uint32(TTL) + 1);
        VM.prank(MODEL_OWNER);
        registry.setPrice(modelId, price);
        uint256 requestId = requestAs(REQUESTER, modelId, COMMITMENT, uint64(block.timestamp) + TTL, price);
        uint64 deadline = reqs[requestId].deadline;
        VM.warp(block.timestamp + delay);

        if (block.timestamp <= deadline) {
            fulfilAs(VALIDATOR, requestId);
            VM.expectRevert(
                abi.encodeWithSelector(
                    IInferenceMarket.InferenceMarketWrongStatus.selector,
                    requestId,
                    IInferenceMarket.RequestStatus.Fulfilled
                )
            );
            market.refund(requestId, reqs[requestId]);
            check(market.balanceOf(REQUESTER, feeToken) == 0, "requester not refunded");
        } else {
            VM.expectRevert(
                abi.encodeWithSelector(IInferenceMarket.InferenceMarketDeadlinePassed.selector, requestId, deadline)
            );
            fulfilAs(VALIDATOR, requestId);
            market.refund(requestId, reqs[requestId]);
            check(market.balanceOf(VALIDATOR, feeToken) == 0, "validator not paid");
            check(market.balanceOf(REQUESTER, feeToken) == price, "requester refunded");
        }
        (uint256 escrowed, uint256 credited, uint256 protocolFees) = market.feeAccounts(feeToken);
        check(escrowed == 0 && credited + protocolFees == price, "paid once");
        check(heldEqualsAccounts(), "accounts");
    }

    function test_refund_revertsBeforeTheDeadline() public {
        uint256 requestId = open();
        uint64 deadline = reqs[requestId].deadline;
        VM.warp(deadline);
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketDeadlineNotReached.selector, requestId, deadline)
        );
        market.refund(requestId, reqs[requestId]);
    }

    function test_refund_slashesAClaimerThatMissedTheDeadline() public {
        uint256 requestId = open();
        claimAs(VALIDATOR, requestId);
        VM.warp(reqs[requestId].deadline + 1);
        market.refund(requestId, reqs[requestId]);
        check(market.balanceOf(REQUESTER, feeToken) == PRICE, "fee refunded");
        check(market.stakeCreditOf(REQUESTER) == BOND, "bond to the requester");
        check(market.stakeOf(VALIDATOR).amount == MIN_STAKE - BOND, "claimer slashed");

        uint256 feeBefore = feeToken.balanceOf(REQUESTER);
        uint256 stakeBefore = stakeToken.balanceOf(REQUESTER);
        withdrawAs(REQUESTER, feeToken);
        // The slashed bond is stake: it leaves only one unbonding delay after the slash.
        uint64 availableAt = uint64(block.timestamp) + market.params().unbondingDelay;
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketStakeCreditLocked.selector, REQUESTER, availableAt)
        );
        withdrawAs(REQUESTER, stakeToken);
        VM.warp(availableAt);
        withdrawAs(REQUESTER, stakeToken);
        check(feeToken.balanceOf(REQUESTER) == feeBefore + PRICE, "fee withdrawn");
        check(stakeToken.balanceOf(REQUESTER) == stakeBefore + BOND, "bond withdrawn");
        check(heldEqualsAccounts(), "accounts");
    }

    function test_refund_releasesTheBondWhenAPauseOverlappedTheClaim() public {
        uint256 requestId = open();
        claimAs(VALIDATOR, requestId);
        market.pause();
        VM.warp(block.timestamp + 5 minutes);
        market.unpause();
        VM.warp(reqs[requestId].deadline + 1);
        market.refund(requestId, reqs[requestId]);
        check(market.stakeOf(VALIDATOR).amount == MIN_STAKE && market.stakeOf(VALIDATOR).bonded == 0, "released");
        check(market.stakeCreditOf(REQUESTER) == 0, "nothing slashed");
    }

    function test_refund_whilePausedReleasesTheBondOfAClaimThePauseOverlapped() public {
        uint256 requestId = open();
        claimAs(VALIDATOR, requestId);
        market.pause();
        VM.warp(reqs[requestId].deadline + 1);
        // Paused from inside the claim window to past the deadline: the claimer could not deliver.
        market.refund(requestId, reqs[requestId]);
        check(market.stakeOf(VALIDATOR).amount == MIN_STAKE && market.stakeOf(VALIDATOR).bonded == 0, "released");
        check(market.stakeCreditOf(REQUESTER) == 0 && market.balanceOf(REQUESTER, feeToken) == PRICE, "refunded");
        check(heldEqualsAccounts(), "accounts");
    }

    /// A pause that starts after the deadline did not overlap the claim: the claimer refunding
    /// during it (refund is open to anyone, and allowed while paused) must not walk away with its
    /// bond, or every pause would let every missed claim escape its slash.
    function test_refund_aPauseAfterTheDeadlineDoesNotExcuseAMissedClaim() public {
        uint256 requestId = open();
        claimAs(VALIDATOR, requestId);
        VM.warp(reqs[requestId].deadline + 1);
        market.pause();
        VM.prank(VALIDATOR);
        market.refund(requestId, reqs[requestId]);
        check(market.stakeOf(VALIDATOR).amount == MIN_STAKE - BOND, "claimer slashed");
        check(market.stakeCreditOf(REQUESTER) == BOND, "requester compensated");
    }

    /// The same with the pause already over: only a pause overlapping the window excuses.
    function test_refund_aPauseCycleAfterTheDeadlineDoesNotExcuseAMissedClaim() public {
        uint256 requestId = open();
        claimAs(VALIDATOR, requestId);
        VM.warp(reqs[requestId].deadline + 1);
        market.pause();
        VM.warp(block.timestamp + 1 minutes);
        market.unpause();
        market.refund(requestId, reqs[requestId]);
        check(market.stakeOf(VALIDATOR).amount == MIN_STAKE - BOND, "claimer slashed");
        check(market.stakeCreditOf(REQUESTER) == BOND, "requester compensated");
    }

    /// A pause that began and ended after the claim window does not spare the claimer when
    /// another validator fulfils in its place.
    function test_fulfil_aPauseCycleAfterTheWindowDoesNotExcuseAMissedClaim() public {
        uint256 requestId = open();
        claimAs(VALIDATOR, requestId);
        VM.warp(reqs[requestId].claimExpiresAt + 1);
        market.pause();
        VM.warp(block.timestamp + 1 minutes);
        market.unpause();
        fulfilAs(OTHER_VALIDATOR, requestId);
        check(market.stakeOf(VALIDATOR).amount == MIN_STAKE - BOND, "claimer slashed");
        check(market.stakeCreditOf(REQUESTER) == BOND, "requester compensated");
    }

    function test_refund_aPauseInTheWindowExcusesTheClaimerThoughLaterPausesCameAfter() public {
        uint256 requestId = open();
        claimAs(VALIDATOR, requestId);
        // A pause inside the exclusive window, then two more cycles after the deadline.
        VM.warp(block.timestamp + 1 minutes);
        market.pause();
        VM.warp(block.timestamp + 1 minutes);
        market.unpause();
        uint64 deadline = reqs[requestId].deadline;
        for (uint256 i = 0; i < 2; ++i) {
            VM.warp(deadline + 1 + i * 1 hours);
            market.pause();
            VM.warp(block.timestamp + 1 minutes);
            market.unpause();
        }
        market.refund(requestId, reqs[requestId]);
        check(market.stakeOf(VALIDATOR).amount == MIN_STAKE, "bond released: the first pause was in the window");
        check(market.stakeCreditOf(REQUESTER) == 0, "nothing slashed");
    }

    function test_refund_aPauseStartingAtTheWindowsLastSecondExcusesTheClaimer() public {
        uint256 requestId = open();
        claimAs(VALIDATOR, requestId);
        VM.warp(reqs[requestId].claimExpiresAt);
        market.pause();
        VM.warp(reqs[requestId].deadline + 1);
        market.refund(requestId, reqs[requestId]);
        check(market.stakeOf(VALIDATOR).amount == MIN_STAKE, "bond released");
    }

    // ------------------------------------------------------------ pause

    function test_pause_blocksNewWorkButNeverRefundsWithdrawalsOrUnstaking() public {
        uint256 done = open();
        fulfilAs(VALIDATOR, done);
        uint256 pending = open();
        market.pause();

        bytes memory paused = abi.encodeWithSelector(Pausable.EnforcedPause.selector);
        VM.expectRevert(paused);
        market.requestInference(modelId, COMMITMENT, "", uint64(block.timestamp) + TTL, PRICE);
        VM.expectRevert(paused);
        claimAs(VALIDATOR, pending);
        VM.expectRevert(paused);
        fulfilAs(VALIDATOR, pending);
        VM.expectRevert(paused);
        market.attest(modelId, COMMITMENT, OUTPUT, proof);

        withdrawAs(VALIDATOR, feeToken);
        VM.prank(VALIDATOR);
        market.unstake(1);
        VM.warp(reqs[pending].deadline + 1);
        market.refund(pending, reqs[pending]);
        check(market.balanceOf(REQUESTER, feeToken) == PRICE, "refunded while paused");
    }

    function test_pause_isGovernanceOnly() public {
        VM.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, NOBODY));
        VM.prank(NOBODY);
        market.pause();
        market.pause();
        VM.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, NOBODY));
        VM.prank(NOBODY);
        market.unpause();
    }

    // ------------------------------------------------------------ withdraw and protocol fees

    function test_withdraw_revertsWithNothingCredited() public {
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketNothingToWithdraw.selector, NOBODY));
        withdrawAs(NOBODY, feeToken);
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketNothingToWithdraw.selector, NOBODY));
        withdrawAs(NOBODY, stakeToken);
    }

    function test_claimProtocolFees_paysGovernanceOnce() public {
        fulfilAs(VALIDATOR, open());
        uint256 expected = (PRICE * 500) / 10_000;
        VM.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, NOBODY));
        VM.prank(NOBODY);
        market.claimProtocolFees(feeToken, NOBODY);
        VM.expectRevert(IInferenceMarket.InferenceMarketZeroAddress.selector);
        market.claimProtocolFees(feeToken, address(0));

        uint256 before = feeToken.balanceOf(MODEL_OWNER);
        market.claimProtocolFees(feeToken, MODEL_OWNER);
        check(feeToken.balanceOf(MODEL_OWNER) == before + expected, "protocol fees paid");
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketNothingToWithdraw.selector, MODEL_OWNER)
        );
        market.claimProtocolFees(feeToken, MODEL_OWNER);
        check(heldEqualsAccounts(), "accounts");
    }

    // ------------------------------------------------------------ attestations

    function test_attest_bindsRequestZeroAndIsIdempotent() public {
        verifier.expectPublicSignals([WEIGHTS, COMMITMENT, OUTPUT, market.binding(0, NOBODY)]);
        VM.prank(NOBODY);
        uint256 recordedAt = market.attest(modelId, COMMITMENT, OUTPUT, proof);
        check(recordedAt == block.number && attestedAlone(modelId, COMMITMENT, OUTPUT), "recorded");
        check(!attestedAlone(modelId, COMMITMENT, OUTPUT + 1), "only this output");
        bytes32 fact = market.factOf(modelId, COMMITMENT, OUTPUT);
        check(market.attestedAt(keccak256(abi.encode(fact))) == block.number, "recorded at this block");

        VM.warp(block.timestamp + 1);
        VM.prank(NOBODY);
        check(market.attest(modelId, COMMITMENT, OUTPUT, proof) == recordedAt, "first block kept");

        // The same proof from another account binds another prover.
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceAttestations.InferenceAttestationsInvalidProof.selector, modelId)
        );
        VM.prank(VALIDATOR);
        market.attest(modelId, COMMITMENT, OUTPUT, proof);
    }

    function testFuzz_attest_revertsOnNonCanonicalValues(uint256 value) public {
        VM.assume(value >= _R);
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceAttestations.InferenceAttestationsNonCanonical.selector, value)
        );
        market.attest(modelId, value, OUTPUT, proof);
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceAttestations.InferenceAttestationsNonCanonical.selector, value)
        );
        market.attest(modelId, COMMITMENT, value, proof);
    }

    function test_attest_revertsOnUnknownModel() public {
        VM.expectRevert(abi.encodeWithSelector(IInferenceAttestations.InferenceAttestationsUnknownModel.selector, 9));
        market.attest(9, COMMITMENT, OUTPUT, proof);
    }
}
