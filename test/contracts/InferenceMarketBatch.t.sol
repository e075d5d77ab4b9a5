// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IInferenceMarket} from "../../contracts/interfaces/IInferenceMarket.sol";
import {ProofBinding} from "../../contracts/libraries/ProofBinding.sol";
import {SettableVerifier} from "../../contracts/test/SettableVerifier.sol";

import {MarketFixture} from "./MarketFixture.sol";
import {VM} from "./Vm.sol";

// Test names follow the test_<function>_<outcome> convention, not mixedCase.
// solhint-disable func-name-mixedcase

/// @dev Unit tests of batch verifiers in the registry and of the market's fulfilBatch, with a
/// settable verifier (test/e2e/batch.test.ts runs the real batch circuit and verifier).
contract InferenceMarketBatchTest is MarketFixture {
    uint256 private constant _R = ProofBinding.SNARK_SCALAR_FIELD;
    uint256 private constant _K = 4;

    SettableVerifier private _batchVerifier;

    function setUp() public override {
        super.setUp();
        _batchVerifier = batchVerifier;
    }

    function _openBatch() private returns (uint256[] memory ids, uint256[] memory outputs) {
        ids = new uint256[](_K);
        outputs = new uint256[](_K);
        for (uint256 i = 0; i < _K; ++i) {
            ids[i] = requestAs(REQUESTER, modelId, COMMITMENT + i, uint64(block.timestamp) + TTL, PRICE);
            outputs[i] = OUTPUT + i;
        }
    }

    function _fulfilBatchAs(address validator, uint256[] memory ids, uint256[] memory outputs) private {
        VM.prank(validator);
        market.fulfilBatch(ids, batchTerms(ids), outputs, proof);
    }

    /// The specification of the signals, written out independently of ProofBinding.fold.
    function _expectedSignals(
        address prover,
        uint256[] memory ids,
        uint256[] memory outputs
    ) private view returns (uint256[4] memory) {
        uint256 b = uint256(keccak256(abi.encode(block.chainid, address(market), prover, ids))) % _R;
        uint256[] memory commitments = new uint256[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) commitments[i] = reqs[ids[i]].inputCommitment;
        uint256 c = uint256(keccak256(abi.encode(b, commitments, outputs))) % _R;
        uint256 fold = 0;
        uint256 power = 1;
        for (uint256 i = 0; i < ids.length; ++i) {
            power = mulmod(power, c, _R);
            fold = addmod(fold, mulmod(power, commitments[i], _R), _R);
            power = mulmod(power, c, _R);
            fold = addmod(fold, mulmod(power, outputs[i], _R), _R);
        }
        return [WEIGHTS, fold, c, b];
    }

    // ------------------------------------------------------------ registry

    function test_batchVerifier_isTheBatchCircuitsVerifierFixedAtRegistration() public view {
        check(registry.batchVerifier(modelId, _K) == address(_batchVerifier), "batch of 4");
        check(registry.batchCircuit(modelId, _K) == batch4CircuitId, "batch circuit of 4");
        check(registry.batchCircuit(modelId, 2) == batch2CircuitId, "batch circuit of 2");
        check(registry.batchVerifier(modelId, 8) == address(0), "other sizes unset");
        check(registry.batchCircuit(modelId, 8) == 0, "no circuit for other sizes");
        check(registry.batchVerifier(modelId + 1, _K) == address(0), "unknown model");
    }

    // ------------------------------------------------------------ settlement

    function test_fulfilBatch_settlesEveryRequestAndCreditsTheSums() public {
        (uint256[] memory ids, uint256[] memory outputs) = _openBatch();
        claimAs(VALIDATOR, ids[1]);
        _batchVerifier.expectPublicSignals(_expectedSignals(VALIDATOR, ids, outputs));
        _fulfilBatchAs(VALIDATOR, ids, outputs);

        bytes32[] memory facts = new bytes32[](_K);
        for (uint256 i = 0; i < _K; ++i) facts[i] = market.factOf(modelId, COMMITMENT + i, outputs[i]);
        for (uint256 i = 0; i < _K; ++i) {
            check(statusOf(ids[i]) == IInferenceMarket.RequestStatus.Fulfilled, "fulfilled");
            (bytes32 root, bytes32[] memory path) = inclusion(facts, i);
            check(market.isAttested(facts[i], root, path), "attested in the batch's record");
            check(market.attestedAt(root) == block.number, "recorded at this block");
            check(
                !market.isAttested(market.factOf(modelId, COMMITMENT + i, outputs[i] + 1), root, path),
                "that fact only"
            );
        }
        uint256 protocolFee = (PRICE * 500) / 10_000;
        uint256 royalty = (PRICE * 1_000) / 10_000;
        (uint256 escrowed, , uint256 protocolFees) = market.feeAccounts(feeToken);
        check(escrowed == 0, "nothing left in escrow");
        check(protocolFees == _K * protocolFee, "protocol fees");
        check(market.balanceOf(MODEL_OWNER, feeToken) == _K * royalty, "royalties");
        check(market.balanceOf(VALIDATOR, feeToken) == _K * (PRICE - protocolFee - royalty), "validator shares");
        check(market.stakeOf(VALIDATOR).bonded == 0, "claimer's bond released");
        check(heldEqualsAccounts(), "accounts");
    }

    function test_fulfilBatch_slashesAClaimerWhoseWindowEnded() public {
        (uint256[] memory ids, uint256[] memory outputs) = _openBatch();
        claimAs(VALIDATOR, ids[2]);
        VM.warp(reqs[ids[2]].claimExpiresAt + 1);
        _fulfilBatchAs(OTHER_VALIDATOR, ids, outputs);
        check(market.stakeOf(VALIDATOR).amount == MIN_STAKE - BOND, "claimer slashed");
        check(market.stakeCreditOf(REQUESTER) == BOND, "requester compensated");
        check(heldEqualsAccounts(), "accounts");
    }

    /// A pause in the claimer's window excuses it: another validator settling the batch after the
    /// window releases the claimer's bond instead of slashing it.
    function test_fulfilBatch_releasesTheBondOfAClaimerAPauseExcused() public {
        (uint256[] memory ids, uint256[] memory outputs) = _openBatch();
        claimAs(VALIDATOR, ids[1]);
        market.pause();
        VM.warp(block.timestamp + 1);
        market.unpause();
        VM.warp(reqs[ids[1]].claimExpiresAt + 1);
        _fulfilBatchAs(OTHER_VALIDATOR, ids, outputs);
        IInferenceMarket.Stake memory s = market.stakeOf(VALIDATOR);
        check(s.amount == MIN_STAKE && s.bonded == 0, "claimer's bond released, not slashed");
        check(market.stakeCreditOf(REQUESTER) == 0, "nothing slashed");
        check(heldEqualsAccounts(), "accounts");
    }

    // ------------------------------------------------------------ attacks and refusals

    function test_fulfilBatch_sameCalldataFromAnotherAddressFails() public {
        (uint256[] memory ids, uint256[] memory outputs) = _openBatch();
        _batchVerifier.expectPublicSignals(_expectedSignals(VALIDATOR, ids, outputs));
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidBatchProof.selector, ids[0], _K));
        _fulfilBatchAs(OTHER_VALIDATOR, ids, outputs);
        _fulfilBatchAs(VALIDATOR, ids, outputs);
    }

    function test_fulfilBatch_aLieAboutOneOutputChangesTheFold() public {
        (uint256[] memory ids, uint256[] memory outputs) = _openBatch();
        _batchVerifier.expectPublicSignals(_expectedSignals(VALIDATOR, ids, outputs));
        outputs[3] += 1;
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidBatchProof.selector, ids[0], _K));
        _fulfilBatchAs(VALIDATOR, ids, outputs);
    }

    function test_fulfilBatch_revertsOnARepeatedOrUnorderedRequest() public {
        (uint256[] memory ids, uint256[] memory outputs) = _openBatch();
        ids[2] = ids[1];
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketBatchNotAscending.selector, ids[1], ids[1])
        );
        _fulfilBatchAs(VALIDATOR, ids, outputs);

        (ids, ) = _openBatch();
        (ids[0], ids[1]) = (ids[1], ids[0]);
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketBatchNotAscending.selector, ids[0], ids[1])
        );
        _fulfilBatchAs(VALIDATOR, ids, outputs);
    }

    function test_fulfilBatch_revertsOnARequestOfAnotherModel() public {
        uint256 otherModel = registerModel(MODEL_OWNER, feeToken, PRICE);
        (uint256[] memory ids, uint256[] memory outputs) = _openBatch();
        ids[3] = requestAs(REQUESTER, otherModel, COMMITMENT, uint64(block.timestamp) + TTL, PRICE);
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketBatchMixesModels.selector,
                ids[3],
                otherModel,
                modelId
            )
        );
        _fulfilBatchAs(VALIDATOR, ids, outputs);
    }

    function test_fulfilBatch_revertsOnASettledOrMissingRequest() public {
        (uint256[] memory ids, uint256[] memory outputs) = _openBatch();
        fulfilAs(VALIDATOR, ids[1]);
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketWrongStatus.selector,
                ids[1],
                IInferenceMarket.RequestStatus.Fulfilled
            )
        );
        _fulfilBatchAs(VALIDATOR, ids, outputs);

        (ids, ) = _openBatch();
        ids[3] = ids[2] + 100;
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketWrongStatus.selector,
                ids[3],
                IInferenceMarket.RequestStatus.None
            )
        );
        _fulfilBatchAs(VALIDATOR, ids, outputs);
    }

    function test_fulfilBatch_revertsWhenOneRequestIsPastItsDeadline() public {
        (uint256[] memory ids, uint256[] memory outputs) = _openBatch();
        uint256 early = requestAs(REQUESTER, modelId, COMMITMENT, uint64(block.timestamp) + 1 minutes, PRICE);
        // The early request now ends the batch; the other three are still in time.
        (ids[0], ids[1], ids[2], ids[3]) = (ids[1], ids[2], ids[3], early);
        VM.warp(block.timestamp + 2 minutes);
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketDeadlinePassed.selector,
                early,
                uint64(block.timestamp - 1 minutes)
            )
        );
        _fulfilBatchAs(VALIDATOR, ids, outputs);
    }

    function test_fulfilBatch_revertsDuringAnotherClaimersWindowOrUnstaked() public {
        (uint256[] memory ids, uint256[] memory outputs) = _openBatch();
        claimAs(OTHER_VALIDATOR, ids[2]);
        IInferenceMarket.Request memory r = reqs[ids[2]];
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketClaimedByOther.selector,
                ids[2],
                OTHER_VALIDATOR,
                r.claimExpiresAt
            )
        );
        _fulfilBatchAs(VALIDATOR, ids, outputs);
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketInsufficientStake.selector, NOBODY, 0, MIN_STAKE)
        );
        _fulfilBatchAs(NOBODY, ids, outputs);
    }

    function test_fulfilBatch_revertsOnANonCanonicalOutput() public {
        (uint256[] memory ids, uint256[] memory outputs) = _openBatch();
        outputs[1] = OUTPUT + _R;
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidOutput.selector, OUTPUT + _R));
        _fulfilBatchAs(VALIDATOR, ids, outputs);
    }

    function test_fulfilBatch_revertsWithoutABatchVerifierForTheSize() public {
        (uint256[] memory ids, uint256[] memory outputs) = _openBatch();
        uint256[] memory three = new uint256[](3);
        uint256[] memory threeOutputs = new uint256[](3);
        for (uint256 i = 0; i < 3; ++i) (three[i], threeOutputs[i]) = (ids[i], outputs[i]);
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketNoBatchVerifier.selector, modelId, 3));
        _fulfilBatchAs(VALIDATOR, three, threeOutputs);
    }

    function test_fulfilBatch_revertsOnAnEmptyOrMismatchedBatch() public {
        (uint256[] memory ids, ) = _openBatch();
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidBatch.selector, 0, 0));
        _fulfilBatchAs(VALIDATOR, new uint256[](0), new uint256[](0));
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidBatch.selector, _K, 3));
        _fulfilBatchAs(VALIDATOR, ids, new uint256[](3));
    }

    function test_fulfilBatch_revertsOnARejectedProofAndWhilePaused() public {
        (uint256[] memory ids, uint256[] memory outputs) = _openBatch();
        _batchVerifier.setAnswer(false);
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidBatchProof.selector, ids[0], _K));
        _fulfilBatchAs(VALIDATOR, ids, outputs);
        _batchVerifier.setAnswer(true);
        market.pause();
        VM.expectRevert(bytes4(keccak256("EnforcedPause()")));
        _fulfilBatchAs(VALIDATOR, ids, outputs);
    }
}
