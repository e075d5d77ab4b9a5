// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IInferenceMarket} from "../../contracts/interfaces/IInferenceMarket.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";

/**
 * @dev The terms the market hashes for a request, as the tests predict them: the market stores
 * only the hash, and every call on a request takes its terms (a client reads them from events).
 */
library RequestTerms {
    /// @dev The terms of a request for `modelId` opened now by `requester` (fee: the model's price now).
    function opened(
        IModelRegistry registry,
        address requester,
        uint256 modelId,
        uint256 commitment,
        uint64 deadline
    ) internal view returns (IInferenceMarket.Request memory r) {
        IModelRegistry.Model memory m = registry.model(modelId);
        r.requester = requester;
        r.deadline = deadline;
        r.feeToken = m.feeToken;
        r.fee = uint128(m.price);
        r.modelId = modelId;
        r.inputCommitment = commitment;
    }

    /// @dev A copy of `r` as claimed now by `validator` under `market`'s parameters.
    function claimed(
        IInferenceMarket.Request memory r,
        IInferenceMarket market,
        address validator
    ) internal view returns (IInferenceMarket.Request memory c) {
        c = abi.decode(abi.encode(r), (IInferenceMarket.Request));
        IInferenceMarket.Params memory p = market.params();
        uint256 windowEnd = block.timestamp + p.claimWindow;
        c.claimer = validator;
        c.claimedAt = uint64(block.timestamp);
        c.claimExpiresAt = windowEnd < c.deadline ? uint64(windowEnd) : c.deadline;
        c.bond = p.claimBond;
    }
}
