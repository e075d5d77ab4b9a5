// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IInferenceMarket} from "../interfaces/IInferenceMarket.sol";
import {IInferenceVerifier} from "../interfaces/IInferenceVerifier.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {ProofBinding} from "../libraries/ProofBinding.sol";

/**
 * @title InferenceMarket
 * @notice Escrows fees for inference requests and pays them out only against a valid proof.
 * @dev Invariant: the market's token balance is at least the sum of the fees of Open requests
 * plus the sum of credited balances. Every function that moves tokens is `nonReentrant`, and
 * state is written before any token transfer.
 */
contract InferenceMarket is IInferenceMarket, ReentrancyGuard {
    using SafeERC20 for IERC20;

    IModelRegistry private immutable _registry;
    IERC20 private immutable _feeToken;

    mapping(uint256 requestId => Request) private _requests;
    mapping(address account => uint256) private _balances;
    uint256 private _requestCount;

    /**
     * @param registry_ Registry the models are read from.
     * @param feeToken_ Token fees are paid in; must transfer exact amounts (no fee on transfer).
     */
    constructor(IModelRegistry registry_, IERC20 feeToken_) {
        if (address(registry_) == address(0) || address(feeToken_) == address(0)) {
            revert InferenceMarketZeroAddress();
        }
        _registry = registry_;
        _feeToken = feeToken_;
    }

    /// @inheritdoc IInferenceMarket
    function requestInference(
        uint256 modelId,
        uint256 inputCommitment,
        bytes calldata input,
        uint64 deadline
    ) external nonReentrant returns (uint256 requestId) {
        IModelRegistry.Model memory m = _registry.model(modelId);
        if (m.verifier == address(0)) revert InferenceMarketUnknownModel(modelId);
        if (!m.active) revert InferenceMarketModelInactive(modelId);
        // Zero is what an uninitialised commitment looks like; a non-canonical value would let
        // two different integers stand for the same field element.
        if (inputCommitment == 0 || !ProofBinding.isCanonical(inputCommitment)) {
            revert InferenceMarketInvalidInputCommitment(inputCommitment);
        }
        // solhint-disable-next-line gas-strict-inequalities
        if (deadline <= block.timestamp) revert InferenceMarketInvalidDeadline(deadline);

        uint256 fee = m.price;
        requestId = ++_requestCount;
        _requests[requestId] = Request({
            requester: msg.sender,
            modelId: modelId,
            inputCommitment: inputCommitment,
            fee: fee,
            deadline: deadline,
            status: RequestStatus.Open,
            validator: address(0),
            output: 0
        });
        emit InferenceRequested(requestId, modelId, msg.sender, inputCommitment, fee, deadline, input);

        // Measure what actually arrived: escrow must hold exactly the fee it will pay out.
        uint256 balanceBefore = _feeToken.balanceOf(address(this));
        _feeToken.safeTransferFrom(msg.sender, address(this), fee);
        uint256 received = _feeToken.balanceOf(address(this)) - balanceBefore;
        if (received != fee) revert InferenceMarketFeeMismatch(fee, received);
    }

    /// @inheritdoc IInferenceMarket
    function fulfil(uint256 requestId, uint256 output, uint256[8] calldata proof) external nonReentrant {
        Request storage req = _requests[requestId];
        if (req.status != RequestStatus.Open) revert InferenceMarketRequestNotOpen(requestId, req.status);
        if (block.timestamp > req.deadline) revert InferenceMarketDeadlinePassed(requestId, req.deadline);
        if (!ProofBinding.isCanonical(output)) revert InferenceMarketInvalidOutput(output);

        // The public signals are rebuilt here, never taken from the caller: the binding to
        // msg.sender is what stops a watcher from copying someone else's proof.
        uint256[3] memory pubSignals = [
            req.inputCommitment,
            output,
            ProofBinding.compute(block.chainid, address(this), requestId, msg.sender)
        ];
        // The verifier of a model is fixed at registration, so it is the one the request priced.
        address verifier = _registry.model(req.modelId).verifier;
        bool valid = IInferenceVerifier(verifier).verifyProof(
            [proof[0], proof[1]],
            [[proof[2], proof[3]], [proof[4], proof[5]]],
            [proof[6], proof[7]],
            pubSignals
        );
        if (!valid) revert InferenceMarketInvalidProof(requestId);

        req.status = RequestStatus.Fulfilled;
        req.validator = msg.sender;
        req.output = output;
        _balances[msg.sender] += req.fee;
        emit InferenceFulfilled(requestId, msg.sender, output);
    }

    /// @inheritdoc IInferenceMarket
    function refund(uint256 requestId) external nonReentrant {
        Request storage req = _requests[requestId];
        if (req.status != RequestStatus.Open) revert InferenceMarketRequestNotOpen(requestId, req.status);
        // solhint-disable-next-line gas-strict-inequalities
        if (block.timestamp <= req.deadline) revert InferenceMarketDeadlineNotReached(requestId, req.deadline);

        req.status = RequestStatus.Refunded;
        _balances[req.requester] += req.fee;
        emit InferenceRefunded(requestId, req.requester, req.fee);
    }

    /// @inheritdoc IInferenceMarket
    function withdraw() external nonReentrant {
        uint256 amount = _balances[msg.sender];
        if (amount == 0) revert InferenceMarketNothingToWithdraw(msg.sender);

        _balances[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        _feeToken.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IInferenceMarket
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @inheritdoc IInferenceMarket
    function request(uint256 requestId) external view returns (Request memory) {
        return _requests[requestId];
    }

    /// @inheritdoc IInferenceMarket
    function requestCount() external view returns (uint256) {
        return _requestCount;
    }

    /// @inheritdoc IInferenceMarket
    function binding(uint256 requestId, address prover) external view returns (uint256) {
        return ProofBinding.compute(block.chainid, address(this), requestId, prover);
    }

    /// @inheritdoc IInferenceMarket
    function registry() external view returns (IModelRegistry) {
        return _registry;
    }

    /// @inheritdoc IInferenceMarket
    function feeToken() external view returns (IERC20) {
        return _feeToken;
    }
}
