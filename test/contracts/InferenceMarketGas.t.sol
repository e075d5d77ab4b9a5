// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IInferenceMarket} from "../../contracts/interfaces/IInferenceMarket.sol";

import {MarketFixture} from "./MarketFixture.sol";
import {VM} from "./Vm.sol";

// Test names follow the test_<function>_<outcome> convention, not mixedCase.
// solhint-disable func-name-mixedcase

/**
 * @dev Gas of each market operation, recorded in snapshots/InferenceMarket.json by
 * `hardhat test --snapshot` and checked by `npm test` (`--snapshot-check`): a change shows up in
 * review. The verifier here is the test double, so `fulfil` and `attest` exclude the pairing check
 * (the demo and docs/benchmarks.md give the figures with the real Groth16 verifier).
 */
contract InferenceMarketGasTest is MarketFixture {
    string private constant _GROUP = "InferenceMarket";

    function test_gas_requestClaimFulfilWithdraw() public {
        IInferenceMarket.Request memory r = termsOf(REQUESTER, modelId, COMMITMENT, uint64(block.timestamp) + TTL);
        VM.prank(REQUESTER);
        uint256 requestId = market.requestInference(modelId, COMMITMENT, "", r.deadline, PRICE);
        VM.snapshotGasLastCall(_GROUP, "requestInference");
        track(requestId, r);
        IInferenceMarket.Request memory c = claimedTerms(requestId, VALIDATOR);

        VM.prank(VALIDATOR);
        market.claim(requestId, reqs[requestId]);
        VM.snapshotGasLastCall(_GROUP, "claim");
        track(requestId, c);

        VM.prank(VALIDATOR);
        market.fulfil(requestId, reqs[requestId], OUTPUT, proof);
        VM.snapshotGasLastCall(_GROUP, "fulfil (claimed, split, bond released, attested)");

        uint256 unclaimed = open();
        VM.prank(OTHER_VALIDATOR);
        market.fulfil(unclaimed, reqs[unclaimed], OUTPUT + 1, proof);
        VM.snapshotGasLastCall(_GROUP, "fulfil (unclaimed)");

        VM.prank(VALIDATOR);
        market.withdraw(feeToken);
        VM.snapshotGasLastCall(_GROUP, "withdraw");
    }

    function test_gas_refundWithSlash() public {
        uint256 requestId = open();
        claimAs(VALIDATOR, requestId);
        VM.warp(block.timestamp + TTL + 1);
        market.refund(requestId, reqs[requestId]);
        VM.snapshotGasLastCall(_GROUP, "refund (claimer slashed)");

        // A slashed bond is withdrawable one unbonding delay after the slash.
        VM.warp(block.timestamp + market.params().unbondingDelay);
        VM.prank(REQUESTER);
        market.withdraw(stakeToken);
        VM.snapshotGasLastCall(_GROUP, "withdraw (slashed bond)");
    }

    function test_gas_staking() public {
        VM.prank(NOBODY);
        market.stake(MIN_STAKE);
        VM.snapshotGasLastCall(_GROUP, "stake");

        VM.prank(NOBODY);
        market.unstake(MIN_STAKE);
        VM.snapshotGasLastCall(_GROUP, "unstake");

        VM.warp(block.timestamp + 2 days);
        VM.prank(NOBODY);
        market.withdrawStake();
        VM.snapshotGasLastCall(_GROUP, "withdrawStake");
    }

    /// Four requests, one claimed, in one batch proof: the per-request cost of fulfilBatch
    /// (the pairing check, shared by the batch, is excluded here as for fulfil).
    function test_gas_fulfilBatch() public {
        uint256[] memory ids = new uint256[](4);
        uint256[] memory outputs = new uint256[](4);
        for (uint256 i = 0; i < 4; ++i) {
            ids[i] = requestAs(REQUESTER, modelId, COMMITMENT + i, uint64(block.timestamp) + TTL, PRICE);
            outputs[i] = OUTPUT + i;
        }
        claimAs(VALIDATOR, ids[0]);
        VM.prank(VALIDATOR);
        market.fulfilBatch(ids, batchTerms(ids), outputs, proof);
        VM.snapshotGasLastCall(_GROUP, "fulfilBatch (4 requests, one claimed)");
    }

    function test_gas_attest() public {
        VM.prank(NOBODY);
        market.attest(modelId, COMMITMENT, OUTPUT, proof);
        VM.snapshotGasLastCall(_GROUP, "attest");
    }

    /// A batch of 32 from request to settlement, as the bench's K = 32 row runs it: 32 requests
    /// in one call (196-byte inputs, as the MLP's), one claimBatch and one fulfilBatch (the
    /// verifier is the yes-saying double here; the bench measures the real pairing check).
    function test_gas_batchOf32() public {
        uint256 k = 32;
        uint256[] memory sizes = new uint256[](1);
        uint256[] memory ids32 = new uint256[](1);
        sizes[0] = k;
        ids32[0] = circuits.registerCircuit(address(batchVerifier), keccak256("vk32"), 4, uint16(k), 0, "");
        VM.prank(MODEL_OWNER);
        uint256 model = registry.registerCommittedModel(terms(feeToken, PRICE), circuitId, WEIGHTS, sizes, ids32);
        stakeAs(VALIDATOR, k * BOND);

        uint256[] memory commitments = new uint256[](k);
        bytes[] memory inputs = new bytes[](k);
        for (uint256 i = 0; i < k; ++i) (commitments[i], inputs[i]) = (COMMITMENT + i, new bytes(196));
        uint64 deadline = uint64(block.timestamp) + TTL;
        VM.prank(REQUESTER);
        uint256 first = market.requestInferences(model, commitments, inputs, deadline, PRICE);
        VM.snapshotGasLastCall(_GROUP, "requestInferences (32)");
        uint256[] memory ids = new uint256[](k);
        uint256[] memory outputs = new uint256[](k);
        for (uint256 i = 0; i < k; ++i) {
            (ids[i], outputs[i]) = (first + i, OUTPUT + i);
            track(ids[i], termsOf(REQUESTER, model, COMMITMENT + i, deadline));
        }

        IInferenceMarket.Request[] memory rs = batchTerms(ids);
        VM.prank(VALIDATOR);
        market.claimBatch(ids, rs);
        VM.snapshotGasLastCall(_GROUP, "claimBatch (32)");
        for (uint256 i = 0; i < k; ++i) track(ids[i], claimedTerms(ids[i], VALIDATOR));

        rs = batchTerms(ids);
        VM.prank(VALIDATOR);
        market.fulfilBatch(ids, rs, outputs, proof);
        VM.snapshotGasLastCall(_GROUP, "fulfilBatch (32, claimed by the caller)");
        check(market.stakeOf(VALIDATOR).bonded == 0 && heldEqualsAccounts(), "settled");
    }
}
