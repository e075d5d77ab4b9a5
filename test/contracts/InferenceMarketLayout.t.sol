// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IInferenceMarket} from "../../contracts/interfaces/IInferenceMarket.sol";

import {MarketFixture} from "./MarketFixture.sol";
import {VM} from "./Vm.sol";

// Test names follow the test_<function>_<outcome> convention, not mixedCase.
// solhint-disable func-name-mixedcase

/**
 * @dev The one-word request layout: terms passed in calldata and checked against the word (every
 * lie refused), batched requests and claims, and the attestation records (request words and
 * Merkle roots).
 */
contract InferenceMarketLayoutTest is MarketFixture {
    function _wrongTerms(uint256 requestId) private pure returns (bytes memory) {
        return abi.encodeWithSelector(IInferenceMarket.InferenceMarketWrongTerms.selector, requestId);
    }

    function _copy(IInferenceMarket.Request memory r) private pure returns (IInferenceMarket.Request memory) {
        return abi.decode(abi.encode(r), (IInferenceMarket.Request));
    }

    // ------------------------------------------------------------ terms are checked against the word

    /// Each field a caller could lie about, changed alone, is refused on every path that takes terms.
    function test_terms_everyLieIsRefused() public {
        uint256 requestId = open();
        claimAs(VALIDATOR, requestId);
        IInferenceMarket.Request memory r = reqs[requestId];
        IInferenceMarket.Request[10] memory lies;
        for (uint256 i = 0; i < 10; ++i) lies[i] = _copy(r);
        lies[0].requester = NOBODY; // a refund credited elsewhere
        lies[1].deadline = r.deadline + 1 days; // fulfilled late
        lies[2].feeToken = stakeToken; // paid in another token
        lies[3].fee = r.fee * 2; // paid more than escrowed
        lies[4].modelId = modelId + 1; // proven against another model
        lies[5].inputCommitment = COMMITMENT + 1; // proven on another input
        lies[6].claimer = OTHER_VALIDATOR; // another claimer's exclusive window
        lies[7].claimedAt = r.claimedAt - 1; // an overlap with an earlier pause
        lies[8].claimExpiresAt = r.deadline; // a longer window
        lies[9].bond = 1; // a smaller slash
        for (uint256 i = 0; i < lies.length; ++i) {
            VM.expectRevert(_wrongTerms(requestId));
            VM.prank(VALIDATOR);
            market.fulfil(requestId, lies[i], OUTPUT, proof);
            uint256[] memory ids = new uint256[](1);
            ids[0] = requestId;
            IInferenceMarket.Request[] memory rs = new IInferenceMarket.Request[](1);
            rs[0] = lies[i];
            uint256[] memory outputs = new uint256[](1);
            outputs[0] = OUTPUT;
            VM.expectRevert(_wrongTerms(requestId));
            VM.prank(VALIDATOR);
            market.fulfilBatch(ids, rs, outputs, proof);
        }
        VM.warp(r.deadline + 1);
        for (uint256 i = 0; i < lies.length; ++i) {
            VM.expectRevert(_wrongTerms(requestId));
            market.refund(requestId, lies[i]);
        }
        refundOf(requestId);
        check(market.balanceOf(REQUESTER, feeToken) == PRICE && heldEqualsAccounts(), "the true terms settle");
    }

    /// The terms of an open request, with claim fields filled in, are refused: a claim is made by
    /// calling claim, never by asserting one.
    function test_terms_aClaimCannotBeAsserted() public {
        uint256 requestId = open();
        IInferenceMarket.Request memory asserted = claimedTerms(requestId, OTHER_VALIDATOR);
        VM.expectRevert(_wrongTerms(requestId));
        VM.prank(VALIDATOR);
        market.claim(requestId, asserted);
        VM.expectRevert(_wrongTerms(requestId));
        VM.prank(OTHER_VALIDATOR);
        market.fulfil(requestId, asserted, OUTPUT, proof);
        check(statusOf(requestId) == IInferenceMarket.RequestStatus.Open, "still open");
    }

    function test_requestState_isTheHashOfTheTermsWithTheStatus() public {
        uint256 requestId = open();
        (IInferenceMarket.RequestStatus status, bytes32 word) = market.requestState(requestId);
        check(status == IInferenceMarket.RequestStatus.Open, "open");
        bytes32 hashed = keccak256(abi.encode(reqs[requestId]));
        check(word == bytes32((uint256(hashed) & ~uint256(0xff)) | 1), "hash with the status in the low byte");
        check(word == market.requestWord(reqs[requestId], IInferenceMarket.RequestStatus.Open), "requestWord");
        (status, word) = market.requestState(requestId + 1);
        check(status == IInferenceMarket.RequestStatus.None && word == 0, "none");
    }

    // ------------------------------------------------------------ requestInferences

    function _commitments(uint256 n) private pure returns (uint256[] memory c) {
        c = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) c[i] = COMMITMENT + i;
    }

    function test_requestInferences_opensConsecutiveRequestsWithOneTransfer() public {
        uint256 first = open();
        uint256 n = 5;
        uint256 before = feeToken.balanceOf(REQUESTER);
        uint64 deadline = uint64(block.timestamp) + TTL;
        VM.prank(REQUESTER);
        uint256 id = market.requestInferences(modelId, _commitments(n), new bytes[](n), deadline, PRICE);
        check(id == first + 1 && market.requestCount() == first + n, "consecutive ids");
        check(feeToken.balanceOf(REQUESTER) == before - n * PRICE, "all fees at once");
        (uint256 escrowed, , ) = market.feeAccounts(feeToken);
        check(escrowed == (n + 1) * PRICE && heldEqualsAccounts(), "escrowed");
        for (uint256 i = 0; i < n; ++i) {
            track(id + i, termsOf(REQUESTER, modelId, COMMITMENT + i, deadline));
            check(reqs[id + i].inputCommitment == COMMITMENT + i, "each request's own commitment");
        }
        // Each is a request like any other.
        claimAs(VALIDATOR, id + 1);
        fulfilAs(VALIDATOR, id + 1);
        fulfilAs(OTHER_VALIDATOR, id + 2);
        VM.warp(deadline + 1);
        refundOf(id);
        check(market.balanceOf(REQUESTER, feeToken) == PRICE && heldEqualsAccounts(), "settled one by one");
    }

    function test_requestInferences_refusesBadBatchesWithNothingEscrowed() public {
        uint64 deadline = uint64(block.timestamp) + TTL;
        VM.startPrank(REQUESTER);
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidBatch.selector, 0, 0));
        market.requestInferences(modelId, new uint256[](0), new bytes[](0), deadline, PRICE);
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidBatch.selector, 2, 3));
        market.requestInferences(modelId, _commitments(2), new bytes[](3), deadline, PRICE);
        uint256[] memory bad = _commitments(3);
        bad[2] = 0;
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidInputCommitment.selector, 0));
        market.requestInferences(modelId, bad, new bytes[](3), deadline, PRICE);
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketPriceAboveMaxFee.selector, PRICE, PRICE - 1)
        );
        market.requestInferences(modelId, _commitments(2), new bytes[](2), deadline, PRICE - 1);
        VM.stopPrank();
        (uint256 escrowed, , ) = market.feeAccounts(feeToken);
        check(escrowed == 0 && market.requestCount() == 0, "nothing escrowed, no request");
    }

    // ------------------------------------------------------------ claimBatch

    function _openMany(uint256 n) private returns (uint256[] memory ids) {
        ids = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) ids[i] = open();
    }

    function test_claimBatch_claimsEachAndLocksEveryBondAtOnce() public {
        uint256[] memory ids = _openMany(3);
        IInferenceMarket.Request[] memory rs = batchTerms(ids);
        VM.prank(VALIDATOR);
        market.claimBatch(ids, rs);
        for (uint256 i = 0; i < 3; ++i) {
            track(ids[i], claimedTerms(ids[i], VALIDATOR));
            check(reqs[ids[i]].claimer == VALIDATOR, "claimed");
            check(statusOf(ids[i]) == IInferenceMarket.RequestStatus.Claimed, "status");
        }
        check(market.stakeOf(VALIDATOR).bonded == 3 * uint256(BOND), "three bonds");
        // Settled in one batch by the claimer, every bond is released at once.
        uint256[] memory pair = new uint256[](2);
        (pair[0], pair[1]) = (ids[0], ids[2]);
        uint256[] memory outputs = new uint256[](2);
        (outputs[0], outputs[1]) = (OUTPUT, OUTPUT);
        VM.prank(VALIDATOR);
        market.fulfilBatch(pair, batchTerms(pair), outputs, proof);
        check(market.stakeOf(VALIDATOR).bonded == BOND, "two released, one still bonded");
        check(heldEqualsAccounts(), "accounts");
    }

    function test_claimBatch_refusesAnEmptyOrMismatchedBatch() public {
        uint256[] memory ids = _openMany(2);
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidBatch.selector, 0, 0));
        VM.prank(VALIDATOR);
        market.claimBatch(new uint256[](0), new IInferenceMarket.Request[](0));
        IInferenceMarket.Request[] memory one = new IInferenceMarket.Request[](1);
        one[0] = reqs[ids[0]];
        VM.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketInvalidBatch.selector, 2, 1));
        VM.prank(VALIDATOR);
        market.claimBatch(ids, one);
        check(market.stakeOf(VALIDATOR).bonded == 0, "nothing bonded");
    }

    function test_claimBatch_refusesRepeatsWithoutStakeOrAnySettledRequest() public {
        uint256[] memory ids = _openMany(2);
        uint256[] memory twice = new uint256[](2);
        (twice[0], twice[1]) = (ids[0], ids[0]);
        VM.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketBatchNotAscending.selector, ids[0], ids[0])
        );
        VM.prank(VALIDATOR);
        market.claimBatch(twice, batchTerms(twice));
        // Bonds for all, or none: a validator with free stake for fewer is refused whole.
        IInferenceMarket.Params memory p = defaultParams();
        p.claimBond = MIN_STAKE / 2 + 1;
        setParamsNow(p);
        ids = _openMany(2);
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketInsufficientStake.selector,
                VALIDATOR,
                MIN_STAKE,
                2 * uint256(p.claimBond)
            )
        );
        VM.prank(VALIDATOR);
        market.claimBatch(ids, batchTerms(ids));
        // One settled request refuses the whole batch.
        market.setParams(defaultParams());
        fulfilAs(OTHER_VALIDATOR, ids[1]);
        IInferenceMarket.Request[] memory rs = batchTerms(ids);
        VM.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketWrongStatus.selector,
                ids[1],
                IInferenceMarket.RequestStatus.Fulfilled
            )
        );
        VM.prank(VALIDATOR);
        market.claimBatch(ids, rs);
        check(
            market.stakeOf(VALIDATOR).bonded == 0 && statusOf(ids[0]) == IInferenceMarket.RequestStatus.Open,
            "nothing claimed"
        );
    }

    // ------------------------------------------------------------ attestation records

    function test_isAttestedByRequest_onlyTheSingleFulfilmentsFact() public {
        uint256 requestId = open();
        check(!attestedByRequest(requestId, modelId, COMMITMENT, OUTPUT), "not before");
        fulfilAs(VALIDATOR, requestId);
        check(attestedByRequest(requestId, modelId, COMMITMENT, OUTPUT), "the fact");
        check(!attestedByRequest(requestId, modelId, COMMITMENT + 1, OUTPUT), "not another input");
        check(!attestedByRequest(requestId + 1, modelId, COMMITMENT, OUTPUT), "not another request");
        (IInferenceMarket.RequestStatus status, ) = market.requestState(requestId);
        check(status == IInferenceMarket.RequestStatus.Fulfilled, "fulfilled");
    }

    /// A batch records one root that proves each of its facts, under that root only; a root
    /// the market never recorded proves nothing.
    function test_isAttested_aBatchRootProvesEachOfItsFactsAndNothingElse() public {
        uint256[] memory ids = _openMany(2);
        uint256[] memory outputs = new uint256[](2);
        (outputs[0], outputs[1]) = (OUTPUT, OUTPUT + 1);
        VM.prank(VALIDATOR);
        market.fulfilBatch(ids, batchTerms(ids), outputs, proof);
        bytes32[] memory facts = new bytes32[](2);
        for (uint256 i = 0; i < 2; ++i) facts[i] = market.factOf(modelId, COMMITMENT, outputs[i]);
        for (uint256 i = 0; i < 2; ++i) {
            (bytes32 root, bytes32[] memory path) = inclusion(facts, i);
            check(market.isAttested(facts[i], root, path), "in the batch");
            check(!market.isAttested(facts[i], bytes32(uint256(root) ^ 1), path), "not under another root");
            check(!market.isAttestedByRequest(facts[i], ids[i]), "a batch fact is not in the request's word");
        }
        bytes32 stranger = market.factOf(modelId, COMMITMENT, OUTPUT + 2);
        (bytes32 r0, bytes32[] memory p0) = inclusion(facts, 0);
        check(!market.isAttested(stranger, r0, p0), "a fact not proven");
        // An unrecorded root proves nothing, even with a valid path.
        bytes32[] memory alone = new bytes32[](3);
        (alone[0], alone[1], alone[2]) = (facts[0], facts[1], stranger);
        (bytes32 r3, bytes32[] memory p3) = inclusion(alone, 2);
        check(!market.isAttested(stranger, r3, p3) && market.attestedAt(r3) == 0, "no record");
    }

    /// Odd sizes carry the last node up a level: every fact of batches of 3, 5 and 7 is provable.
    function test_isAttested_oddBatchSizes() public {
        uint256[3] memory sizes = [uint256(3), 5, 7];
        uint256[] memory ks = new uint256[](3);
        uint256[] memory circuitIds = new uint256[](3);
        for (uint256 j = 0; j < 3; ++j) {
            ks[j] = sizes[j];
            circuitIds[j] = circuits.registerCircuit(
                address(batchVerifier),
                keccak256(abi.encode(j)),
                4,
                uint16(sizes[j]),
                0,
                ""
            );
        }
        VM.prank(MODEL_OWNER);
        uint256 model = registry.registerCommittedModel(terms(feeToken, PRICE), circuitId, WEIGHTS, ks, circuitIds);
        for (uint256 j = 0; j < 3; ++j) {
            uint256 k = sizes[j];
            uint256[] memory ids = new uint256[](k);
            uint256[] memory outputs = new uint256[](k);
            bytes32[] memory facts = new bytes32[](k);
            for (uint256 i = 0; i < k; ++i) {
                ids[i] = requestAs(REQUESTER, model, COMMITMENT + i, uint64(block.timestamp) + TTL, PRICE);
                outputs[i] = OUTPUT + j * 10 + i;
                facts[i] = market.factOf(model, COMMITMENT + i, outputs[i]);
            }
            VM.prank(VALIDATOR);
            market.fulfilBatch(ids, batchTerms(ids), outputs, proof);
            for (uint256 i = 0; i < k; ++i) {
                (bytes32 root, bytes32[] memory path) = inclusion(facts, i);
                check(market.isAttested(facts[i], root, path), "each fact of an odd batch");
            }
        }
        check(heldEqualsAccounts(), "accounts");
    }
}
