// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IModelRegistry} from "./IModelRegistry.sol";

/**
 * @title IInferenceMarket
 * @notice Escrowed market for proven inferences. A requester escrows the model's fee with a
 * commitment to the input; the first validator to submit a valid proof before the deadline earns
 * the fee; after the deadline, an unanswered request is refunded.
 * @dev Payments are pulled: fulfilment and refund only credit balances, which each account
 * withdraws itself, so a reverting recipient never blocks anyone else. No account has any power
 * over escrowed funds.
 *
 * Request lifecycle: `None → Open → Fulfilled` or `None → Open → Refunded`. An Open request can
 * be fulfilled while `block.timestamp <= deadline` and refunded once `block.timestamp > deadline`,
 * so the two outcomes never overlap.
 */
interface IInferenceMarket {
    /// @notice State of a request.
    enum RequestStatus {
        None,
        Open,
        Fulfilled,
        Refunded
    }

    /**
     * @notice An inference request.
     * @param requester Account that paid and is refunded if nobody answers in time.
     * @param modelId Model to run.
     * @param inputCommitment Commitment to the input: the first public signal of the proof.
     * @param fee Fee escrowed: the model's price at request time.
     * @param deadline Last timestamp at which the request may be fulfilled.
     * @param status Lifecycle state.
     * @param validator Account that fulfilled the request (zero until then).
     * @param output Proven output: the second public signal (zero until fulfilled).
     */
    // Field order is part of the ABI other components decode; keep it stable over packing.
    // solhint-disable-next-line gas-struct-packing
    struct Request {
        address requester;
        uint256 modelId;
        uint256 inputCommitment;
        uint256 fee;
        uint64 deadline;
        RequestStatus status;
        address validator;
        uint256 output;
    }

    /**
     * @notice Emitted when request `requestId` is opened.
     * @dev `input` is the inline input the commitment opens to; it is kept only in this event,
     * where validators read it, never in storage.
     */
    event InferenceRequested(
        uint256 indexed requestId,
        uint256 indexed modelId,
        address indexed requester,
        uint256 inputCommitment,
        uint256 fee,
        uint64 deadline,
        bytes input
    );

    /// @notice Emitted when `validator` fulfils request `requestId` with a proven `output`.
    event InferenceFulfilled(uint256 indexed requestId, address indexed validator, uint256 output);

    /// @notice Emitted when request `requestId` expires and `fee` is credited back to `requester`.
    event InferenceRefunded(uint256 indexed requestId, address indexed requester, uint256 fee);

    /// @notice Emitted when `account` withdraws `amount` of the fee token.
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice A constructor argument is the zero address.
    error InferenceMarketZeroAddress();

    /// @notice No model has id `modelId`.
    error InferenceMarketUnknownModel(uint256 modelId);

    /// @notice Model `modelId` does not accept new requests.
    error InferenceMarketModelInactive(uint256 modelId);

    /// @notice `inputCommitment` is zero or not a canonical field element (>= r).
    error InferenceMarketInvalidInputCommitment(uint256 inputCommitment);

    /// @notice `deadline` is not in the future.
    error InferenceMarketInvalidDeadline(uint64 deadline);

    /// @notice The market received `received` tokens instead of the `expected` fee (e.g. a fee-on-transfer token).
    error InferenceMarketFeeMismatch(uint256 expected, uint256 received);

    /// @notice Request `requestId` is not Open (its status is `status`).
    error InferenceMarketRequestNotOpen(uint256 requestId, RequestStatus status);

    /// @notice Request `requestId` can no longer be fulfilled: its deadline `deadline` has passed.
    error InferenceMarketDeadlinePassed(uint256 requestId, uint64 deadline);

    /// @notice Request `requestId` cannot be refunded before its deadline `deadline` has passed.
    error InferenceMarketDeadlineNotReached(uint256 requestId, uint64 deadline);

    /// @notice `output` is not a canonical field element (>= r).
    error InferenceMarketInvalidOutput(uint256 output);

    /// @notice The verifier rejected the proof submitted for request `requestId`.
    error InferenceMarketInvalidProof(uint256 requestId);

    /// @notice `account` has no balance to withdraw.
    error InferenceMarketNothingToWithdraw(address account);

    /**
     * @notice Opens a request for one inference of model `modelId`, escrowing the model's price.
     * @dev The caller must have approved the market for the price. Tokens that deliver less than
     * the amount transferred (fee-on-transfer) are refused. Emits {InferenceRequested}.
     * @param modelId Registered, active model.
     * @param inputCommitment Commitment to the input; nonzero and < r.
     * @param input The input itself, published in the event for validators.
     * @param deadline Last timestamp at which the request may be fulfilled; must be in the future.
     * @return requestId The new request's id (assigned incrementally from 1).
     */
    function requestInference(
        uint256 modelId,
        uint256 inputCommitment,
        bytes calldata input,
        uint64 deadline
    ) external returns (uint256 requestId);

    /**
     * @notice Fulfils an Open request with a proven output and credits its fee to the caller.
     * @dev The market builds the public signals itself:
     * `[inputCommitment, output, binding(requestId, msg.sender)]`, so the proof must have been
     * made for this caller. Works whether or not the model is still active. Emits
     * {InferenceFulfilled}.
     * @param requestId Open request whose deadline has not passed.
     * @param output Proven output; < r.
     * @param proof Groth16 proof `[a0, a1, b00, b01, b10, b11, c0, c1]`, in snarkjs calldata order.
     */
    function fulfil(uint256 requestId, uint256 output, uint256[8] calldata proof) external;

    /**
     * @notice Refunds an Open request whose deadline has passed, crediting the fee to its requester.
     * @dev Anyone may call. Emits {InferenceRefunded}.
     */
    function refund(uint256 requestId) external;

    /**
     * @notice Pays the caller's whole credited balance.
     * @dev Emits {Withdrawn}.
     */
    function withdraw() external;

    /// @notice Balance credited to `account` and not yet withdrawn.
    function balanceOf(address account) external view returns (uint256);

    /// @notice Returns request `requestId` (zeroed, status None, if it does not exist).
    function request(uint256 requestId) external view returns (Request memory);

    /// @notice Number of requests made so far, which is also the highest request id.
    function requestCount() external view returns (uint256);

    /**
     * @notice The binding public signal a proof for `requestId` submitted by `prover` must carry.
     * @dev See {ProofBinding}: it commits to the chain id, this market, the request and the prover.
     */
    function binding(uint256 requestId, address prover) external view returns (uint256);

    /// @notice Registry the models are read from.
    function registry() external view returns (IModelRegistry);

    /// @notice Token fees are paid in.
    function feeToken() external view returns (IERC20);
}
