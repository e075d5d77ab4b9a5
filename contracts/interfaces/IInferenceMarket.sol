// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IModelRegistry} from "./IModelRegistry.sol";

// Bounds of the governance parameters (see {IInferenceMarket-Params}), checked by {IInferenceMarket-setParams}.
// They keep every delay governance can impose on a validator's stake finite and short: the
// longest a bond can stay locked is MAX_REQUEST_TTL, the longest stake can unbond is
// MAX_UNBONDING_DELAY.

/// @dev Highest protocol fee: 10% of each fee.
uint16 constant MARKET_MAX_PROTOCOL_FEE_BPS = 1_000;
/// @dev Highest model-owner royalty: 30% of each fee.
uint16 constant MARKET_MAX_ROYALTY_BPS = 3_000;
/// @dev Longest exclusive window of a claim.
uint64 constant MARKET_MAX_CLAIM_WINDOW = 1 days;
/// @dev Longest time from a request to its deadline, which bounds how long a bond stays locked.
uint64 constant MARKET_MAX_REQUEST_TTL = 7 days;
/// @dev Longest unbonding delay (it must also exceed `maxRequestTtl`).
uint64 constant MARKET_MAX_UNBONDING_DELAY = 30 days;
/// @dev Highest minimum stake and highest claim bond: 10^9 tokens of 18 decimals.
uint128 constant MARKET_MAX_STAKE_AMOUNT = 1e27;

/**
 * @title IInferenceMarket
 * @notice Escrowed market for proven inferences, answered by staked validators.
 *
 * A requester escrows the model's fee with a commitment to the input. A staked validator may
 * claim the request, locking a bond from its stake, for an exclusive window; after the window
 * (or without a claim) any staked validator may fulfil. The first valid proof before the
 * deadline earns the fee, split between the validator, the model's royalty recipient and the
 * protocol. After the deadline, an unanswered request is refunded.
 *
 * A claimer that does not deliver (the request is refunded, or fulfilled by someone else after
 * its window) loses its bond to the requester, unless the market was paused at some point during
 * the claim's exclusive window: a pause is not the claimer's fault. A pause after the window
 * excuses nothing.
 *
 * A request is held as one storage word: the hash of its terms ({Request}, which the claim
 * updates) with its status in the low byte. Every call that acts on a request takes its terms in
 * calldata and is refused unless they hash to the stored word ({InferenceMarketWrongTerms}); the
 * events carry everything needed to rebuild them. Once fulfilled, the word holds the proven fact
 * instead (see {isAttestedByRequest}).
 *
 * @dev Payments are pulled: settlement only credits balances, which each account withdraws
 * itself, so a reverting recipient never blocks anyone else. Pausing blocks new requests, claims,
 * fulfilments and attestations; it never blocks refunds, withdrawals or unstaking. Request
 * lifecycle (see docs/protocol.md):
 * `None → Open → (Claimed →) Fulfilled` or `None → Open → (Claimed →) Refunded`. A request can be
 * fulfilled while `block.timestamp <= deadline` and refunded once `block.timestamp > deadline`,
 * so the two outcomes never overlap.
 */
interface IInferenceMarket {
    /// @notice State of a request.
    enum RequestStatus {
        None,
        Open,
        Claimed,
        Fulfilled,
        Refunded
    }

    /**
     * @notice The terms of an inference request, as hashed into its storage word. Fixed at
     * request time, except the claim fields, which {claim} sets.
     * @param requester Account that paid and is refunded if nobody answers in time.
     * @param deadline Last timestamp at which the request may be fulfilled.
     * @param feeToken Token the fee is escrowed in: the model's fee token.
     * @param fee Fee escrowed: the model's price at request time.
     * @param modelId Model to run.
     * @param inputCommitment Commitment to the input: a public signal of the proof.
     * @param claimer Validator holding the claim (zero if never claimed).
     * @param claimedAt Timestamp of the claim.
     * @param claimExpiresAt Last timestamp of the claimer's exclusive window.
     * @param bond Stake locked by the claim, released or slashed at settlement.
     */
    struct Request {
        address requester;
        uint64 deadline;
        IERC20 feeToken;
        uint128 fee;
        uint256 modelId;
        uint256 inputCommitment;
        address claimer;
        uint64 claimedAt;
        uint64 claimExpiresAt;
        uint128 bond;
    }

    /**
     * @notice A validator's stake, in the stake token.
     * @param amount Active stake, including `bonded`; counts towards `minStake`.
     * @param bonded Part of `amount` locked by open claims; it cannot be unstaked.
     * @param unbonding Stake on its way out: no longer active, withdrawable at `unbondingEndsAt`.
     * @param unbondingEndsAt When `unbonding` may be withdrawn: `unbondingStartedAt` plus the
     * delay in force then, or plus the current delay if that is shorter (a parameter change never
     * lengthens an unbonding already under way).
     * @param unbondingStartedAt When the last {unstake} started (or restarted) the unbonding.
     */
    struct Stake {
        uint256 amount;
        uint256 bonded;
        uint256 unbonding;
        uint64 unbondingEndsAt;
        uint64 unbondingStartedAt;
    }

    /**
     * @notice Slashed bonds credited to an account, in the stake token. A credit becomes
     * withdrawable `unbondingDelay` after the slash, so that stake never leaves the market sooner
     * than through {unstake}, whichever way it goes (a validator slashing itself to an address of
     * its own gains no time). Credits wait in two tranches: `pending` matures at `pendingUntil`;
     * later credits merge into `next`, which becomes `pending` once that matures. So a credit is
     * withdrawable at least one and at most two unbonding delays after its slash.
     * @param available Withdrawable now (as last updated; {withdrawableStakeCreditOf} is current).
     * @param pending Oldest locked tranche.
     * @param pendingUntil When `pending` becomes available.
     * @param next Newer locked credits.
     * @param nextUntil When `next` becomes available.
     */
    struct StakeCredit {
        uint256 available;
        uint192 pending;
        uint64 pendingUntil;
        uint192 next;
        uint64 nextUntil;
    }

    /**
     * @notice Governance-set parameters.
     * Each has a bound, a constant of this file: a parameter outside it is refused.
     * @param protocolFeeBps Protocol's share of each fee, in basis points; at most 1,000 (10%).
     * @param royaltyBps Model royalty recipient's share of each fee, in basis points; at most 3,000 (30%).
     * @param claimWindow Length of a claim's exclusive window, in seconds; from 1 s to 1 day.
     * @param maxRequestTtl Longest time from request to deadline, in seconds; from 1 s to 7 days.
     * It bounds the slash window: a claim is settled (released or slashable) at most this long
     * after it.
     * @param unbondingDelay Time from {unstake} to {withdrawStake}, and from a slash to the
     * withdrawal of the slashed bond; longer than `maxRequestTtl`, at most 30 days.
     * @param minStake Active stake a validator needs to claim or to fulfil an unclaimed request;
     * at most 10^27.
     * @param claimBond Stake locked by each claim; nonzero, so griefing claims cost something;
     * at most 10^27.
     */
    struct Params {
        uint16 protocolFeeBps;
        uint16 royaltyBps;
        uint64 claimWindow;
        uint64 maxRequestTtl;
        uint64 unbondingDelay;
        uint128 minStake;
        uint128 claimBond;
    }

    /**
     * @notice Emitted when request `requestId` is opened, with every term of its {Request}.
     * @dev `input` is the inline input the commitment opens to, or a URI where it can be fetched;
     * it is kept only in this event, where validators read it, never in storage.
     */
    event InferenceRequested(
        uint256 indexed requestId,
        uint256 indexed modelId,
        address indexed requester,
        uint256 inputCommitment,
        IERC20 feeToken,
        uint256 fee,
        uint64 deadline,
        bytes input
    );

    /**
     * @notice Emitted when `validator` claims request `requestId` at `claimedAt`, locking `bond`
     * until settlement: the claim fields of its {Request}.
     */
    event InferenceClaimed(
        uint256 indexed requestId,
        address indexed validator,
        uint256 bond,
        uint64 claimedAt,
        uint64 expiresAt
    );

    /**
     * @notice Emitted when `validator` fulfils request `requestId` with a proven `output`. The fee
     * is split into `validatorShare`, `royalty` (to the model's royalty recipient) and `protocolFee`.
     */
    event InferenceFulfilled(
        uint256 indexed requestId,
        address indexed validator,
        uint256 output,
        uint256 validatorShare,
        uint256 royalty,
        uint256 protocolFee
    );

    /// @notice Emitted when request `requestId` expires and `fee` is credited back to `requester`.
    event InferenceRefunded(uint256 indexed requestId, address indexed requester, uint256 fee);

    /// @notice Emitted when the bond of `claimer` on request `requestId` is unlocked.
    event BondReleased(uint256 indexed requestId, address indexed claimer, uint256 bond);

    /// @notice Emitted when the bond of `claimer` on request `requestId` is credited to `beneficiary`.
    event BondSlashed(uint256 indexed requestId, address indexed claimer, address indexed beneficiary, uint256 bond);

    /// @notice Emitted when `validator` adds `amount` to its active stake.
    event Staked(address indexed validator, uint256 amount);

    /// @notice Emitted when `validator` starts unbonding `amount`, withdrawable from `endsAt`.
    event UnstakeStarted(address indexed validator, uint256 amount, uint64 endsAt);

    /// @notice Emitted when `validator` withdraws `amount` of unbonded stake.
    event StakeWithdrawn(address indexed validator, uint256 amount);

    /// @notice Emitted when `account` withdraws `amount` of `token`: fees, plus slashed bonds for the stake token.
    event Withdrawn(address indexed account, IERC20 indexed token, uint256 amount);

    /// @notice Emitted when governance sends `amount` of accrued protocol fees in `token` to `to`.
    event ProtocolFeesClaimed(IERC20 indexed token, address indexed to, uint256 amount);

    /// @notice Emitted when parameters take effect.
    event ParamsSet(Params params);

    /**
     * @notice Emitted when governance sets parameters that raise a validator's risk: they take
     * effect with {applyParams} from `effectiveAt`.
     */
    event ParamsQueued(Params params, uint64 effectiveAt);

    /// @notice A batch is empty, or its arrays have different lengths (`requests` ids, `values` of another array).
    error InferenceMarketInvalidBatch(uint256 requests, uint256 values);

    /// @notice The terms given for request `requestId` do not hash to its stored word (or it does not exist).
    error InferenceMarketWrongTerms(uint256 requestId);

    /// @notice A batch's request ids are not strictly increasing: `requestId` follows `previous`.
    error InferenceMarketBatchNotAscending(uint256 previous, uint256 requestId);

    /// @notice Request `requestId` is for model `modelId`, not the batch's model `batchModelId`.
    error InferenceMarketBatchMixesModels(uint256 requestId, uint256 modelId, uint256 batchModelId);

    /// @notice Model `modelId` has no verifier registered for batches of `batchSize`.
    error InferenceMarketNoBatchVerifier(uint256 modelId, uint256 batchSize);

    /// @notice The proof of the batch of `batchSize` requests starting at `firstRequestId` is invalid.
    error InferenceMarketInvalidBatchProof(uint256 firstRequestId, uint256 batchSize);

    /// @notice A constructor argument is the zero address.
    error InferenceMarketZeroAddress();

    /// @notice Committed model `modelId` uses circuit `circuitId`, which is deprecated: no new requests.
    error InferenceMarketCircuitUnusable(uint256 modelId, uint256 circuitId);

    /// @notice `params` break a bound documented on {Params}.
    error InferenceMarketInvalidParams(Params params);

    /// @notice No model has id `modelId`.
    error InferenceMarketUnknownModel(uint256 modelId);

    /// @notice Model `modelId` does not accept new requests.
    error InferenceMarketModelInactive(uint256 modelId);

    /// @notice The model's `price` is above the `maxFee` the requester accepted.
    error InferenceMarketPriceAboveMaxFee(uint256 price, uint256 maxFee);

    /// @notice `inputCommitment` is zero or not a canonical field element (>= r).
    error InferenceMarketInvalidInputCommitment(uint256 inputCommitment);

    /// @notice `deadline` is not in the future, or further than `maxRequestTtl` away.
    error InferenceMarketInvalidDeadline(uint64 deadline);

    /// @notice The market received `received` tokens instead of `expected` (e.g. a fee-on-transfer token).
    error InferenceMarketTransferMismatch(uint256 expected, uint256 received);

    /// @notice Request `requestId` cannot do this in status `status` (a request that does not exist is `None`).
    error InferenceMarketWrongStatus(uint256 requestId, RequestStatus status);

    /// @notice Request `requestId` can no longer be claimed or fulfilled: its deadline `deadline` has passed.
    error InferenceMarketDeadlinePassed(uint256 requestId, uint64 deadline);

    /// @notice Request `requestId` cannot be refunded before its deadline `deadline` has passed.
    error InferenceMarketDeadlineNotReached(uint256 requestId, uint64 deadline);

    /// @notice Request `requestId` is claimed by `claimer` exclusively until `expiresAt`.
    error InferenceMarketClaimedByOther(uint256 requestId, address claimer, uint64 expiresAt);

    /// @notice `validator` has `stake` active stake, free or not, but needs `required`.
    error InferenceMarketInsufficientStake(address validator, uint256 stake, uint256 required);

    /// @notice `output` is not a canonical field element (>= r).
    error InferenceMarketInvalidOutput(uint256 output);

    /// @notice The verifier rejected the proof submitted for request `requestId`.
    error InferenceMarketInvalidProof(uint256 requestId);

    /// @notice `amount` is zero where a positive amount is required.
    error InferenceMarketZeroAmount();

    /// @notice Unbonding stake of `validator` is locked until `endsAt`.
    error InferenceMarketUnbonding(address validator, uint64 endsAt);

    /// @notice `account` has no balance to withdraw.
    error InferenceMarketNothingToWithdraw(address account);

    /// @notice The slashed bonds credited to `account` are locked until `availableAt`.
    error InferenceMarketStakeCreditLocked(address account, uint64 availableAt);

    /// @notice No queued parameters are due: `effectiveAt` is when they are (zero if none is queued).
    error InferenceMarketParamsNotDue(uint64 effectiveAt);

    /**
     * @notice Opens a request for one inference of model `modelId`, escrowing the model's price
     * in the model's fee token.
     * @dev The caller must have approved the market for the price. A committed model whose
     * circuit was deprecated takes no new requests. Tokens that deliver less than
     * the amount transferred (fee-on-transfer) are refused. Emits {InferenceRequested}.
     * @param modelId Registered, active model.
     * @param inputCommitment Commitment to the input; nonzero and < r.
     * @param input The input itself, or a URI to it, published in the event for validators.
     * @param deadline Last timestamp at which the request may be fulfilled; in the future and at
     * most `maxRequestTtl` away.
     * @param maxFee Highest fee the caller accepts: protects against a price raised in between.
     * @return requestId The new request's id (assigned incrementally from 1).
     */
    function requestInference(
        uint256 modelId,
        uint256 inputCommitment,
        bytes calldata input,
        uint64 deadline,
        uint256 maxFee
    ) external returns (uint256 requestId);

    /**
     * @notice Opens one request per input commitment, all for model `modelId` with one deadline,
     * escrowing their fees with one token transfer.
     * @dev As {requestInference} for each request; ids are consecutive. Emits {InferenceRequested}
     * per request.
     * @param inputCommitments Commitment of each request; each nonzero and < r.
     * @param inputs Input (or URI) of each request, in the same order.
     * @param maxFee Highest fee per request the caller accepts.
     * @return firstRequestId Id of the first request; the others follow it.
     */
    function requestInferences(
        uint256 modelId,
        uint256[] calldata inputCommitments,
        bytes[] calldata inputs,
        uint64 deadline,
        uint256 maxFee
    ) external returns (uint256 firstRequestId);

    /**
     * @notice Claims an Open request: locks `claimBond` of the caller's stake and gives it the
     * exclusive right to fulfil until `min(now + claimWindow, deadline)`.
     * @dev The caller needs `minStake` active stake and `claimBond` of it free. A request is
     * claimed at most once. Emits {InferenceClaimed}.
     * @param req The request's terms, as its events give them (no claim yet).
     */
    function claim(uint256 requestId, Request calldata req) external;

    /**
     * @notice Claims several Open requests at once, as {claim} does each, with one stake update.
     * @dev Ids must strictly increase. The caller needs `claimBond` free per request.
     */
    function claimBatch(uint256[] calldata requestIds, Request[] calldata reqs) external;

    /**
     * @notice Fulfils a request with a proven output and splits its fee.
     * @dev The market builds the public signals itself:
     * `[inputCommitment, output, binding(requestId, msg.sender)]` for a baked model (checked by the
     * protocol's {Groth16} verifier against the model's key) and
     * `[weightsCommitment, inputCommitment, output, binding(requestId, msg.sender)]` for a committed
     * model (checked by its circuit's verifier; a universal model's requests go to
     * {fulfilUniversal}), so the proof must have been
     * made for this caller. During a claim's window only the claimer may fulfil; otherwise the
     * caller needs `minStake` active stake. Works whether or not the model is still active.
     * The request's word then holds the fact (see {isAttestedByRequest}). Emits {InferenceFulfilled}.
     * @param requestId Open or Claimed request whose deadline has not passed.
     * @param req Its terms.
     * @param output Proven output; < r.
     * @param proof Groth16 proof `[a0, a1, b00, b01, b10, b11, c0, c1]`, in snarkjs calldata order.
     */
    function fulfil(uint256 requestId, Request calldata req, uint256 output, uint256[8] calldata proof) external;

    /**
     * @notice Fulfils a request of a universal-mode model with a PLONK proof, as {fulfil} does.
     * @dev The same public signals `[inputCommitment, output, binding(requestId, msg.sender)]`,
     * checked by the protocol's own {Plonk} verifier against the model's key, with the `[tau]_2` of
     * the ceremony the key names. Reverts {InferenceMarketInvalidProof} for a model of another mode.
     * @param proof PLONK proof, the 24 words of snarkjs's calldata.
     */
    function fulfilUniversal(
        uint256 requestId,
        Request calldata req,
        uint256 output,
        uint256[24] calldata proof
    ) external;

    /**
     * @notice Fulfils a batch of requests of one model with one proof, and splits their fees.
     * @dev Each request must pass every check of {fulfil}; all belong to one model; ids are strictly
     * increasing (so none repeats). The proof is checked against the registry's batch verifier
     * for this model and `K = requestIds.length`; none registered reverts. The market builds the
     * public signals `[fold, challenge, batchBinding]` itself (preceded by the weights commitment
     * for a committed model; a universal model's batches go to {fulfilBatchUniversal}, and revert
     * {InferenceMarketInvalidBatchProof} here):
     * `batchBinding = keccak256(abi.encode(chainId, market, msg.sender, requestIds)) mod r`,
     * `challenge = keccak256(abi.encode(batchBinding, inputCommitments, outputs)) mod r`,
     * `fold = sum_i challenge^(2i+1) * inputCommitment_i + challenge^(2i+2) * output_i mod r`
     * (see {ProofBinding-fold}). The fees of the batch are credited once; its facts are recorded
     * as one Merkle root (see {IInferenceAttestations-isAttested}). Emits {InferenceFulfilled} per
     * request and {IInferenceAttestations-BatchAttested} once.
     * @param requestIds Open or Claimed requests of one model, strictly increasing.
     * @param reqs Their terms, in the same order.
     * @param outputs Proven output of each request, in the same order; each < r.
     * @param proof Groth16 proof `[a0, a1, b00, b01, b10, b11, c0, c1]`, in snarkjs calldata order.
     */
    function fulfilBatch(
        uint256[] calldata requestIds,
        Request[] calldata reqs,
        uint256[] calldata outputs,
        uint256[8] calldata proof
    ) external;

    /**
     * @notice Fulfils a batch of requests of one universal-mode model with one PLONK proof, as
     * {fulfilBatch} does.
     * @dev The same checks, the same public signals `[fold, challenge, batchBinding]` (bound to
     * msg.sender and every request id), and the same settlement (fees credited once, one Merkle
     * root of the batch's facts), with the proof checked by the protocol's own {Plonk} verifier
     * against the model's universal key for `K = requestIds.length` (see
     * {IModelRegistry-verifyUniversal}). Reverts {InferenceMarketNoBatchVerifier} if the model has
     * no key for K, and {InferenceMarketInvalidBatchProof} for a model of another mode, whose
     * batches go to {fulfilBatch}.
     * @param proof PLONK proof, the 24 words of snarkjs's calldata.
     */
    function fulfilBatchUniversal(
        uint256[] calldata requestIds,
        Request[] calldata reqs,
        uint256[] calldata outputs,
        uint256[24] calldata proof
    ) external;

    /**
     * @notice Refunds a request whose deadline has passed, crediting the fee to its requester and
     * slashing the claimer's bond, if any, to the requester.
     * @dev Anyone may call, even while paused. Emits {InferenceRefunded}.
     */
    function refund(uint256 requestId, Request calldata req) external;

    /**
     * @notice Pays the caller everything credited to it in `token`: fees (refunds, validator
     * shares, royalties) and, if `token` is the stake token, slashed bonds whose lock has ended
     * (see {StakeCredit}).
     * @dev Never paused. Reverts with {InferenceMarketStakeCreditLocked} when all there is to pay
     * is still locked. Emits {Withdrawn}.
     */
    function withdraw(IERC20 token) external;

    /// @notice Adds `amount` of the stake token to the caller's active stake. Emits {Staked}.
    function stake(uint256 amount) external;

    /**
     * @notice Moves `amount` of free (unbonded) active stake into unbonding, and restarts the
     * unbonding clock for everything unbonding. Never paused. Emits {UnstakeStarted}.
     */
    function unstake(uint256 amount) external;

    /**
     * @notice Withdraws all unbonding stake once its delay has passed: the delay in force when it
     * started, or the current one if shorter. Never paused. Emits {StakeWithdrawn}.
     */
    function withdrawStake() external;

    /**
     * @notice Sets the parameters, within their bounds. Restricted to governance.
     * @dev A change that raises a validator's risk (a higher `claimBond`, `minStake`,
     * `unbondingDelay` or `maxRequestTtl`) is queued and takes effect with {applyParams} one
     * current unbonding delay later, so that a validator who disagrees can unstake first (its
     * unbonding keeps the delay it started with). Any other change takes effect at once. Either
     * way a call replaces whatever change was queued. Emits {ParamsSet} or {ParamsQueued}.
     */
    function setParams(Params calldata params) external;

    /// @notice Puts the queued parameters into effect once due; anyone may call. Emits {ParamsSet}.
    function applyParams() external;

    /// @notice Sends accrued protocol fees in `token` to `to`. Restricted to governance. Emits {ProtocolFeesClaimed}.
    function claimProtocolFees(IERC20 token, address to) external;

    /// @notice Stops requests, claims, fulfilments and attestations. Restricted to governance.
    function pause() external;

    /// @notice Lifts {pause}. Restricted to governance.
    function unpause() external;

    /// @notice Fees in `token` credited to `account` and not yet withdrawn.
    function balanceOf(address account, IERC20 token) external view returns (uint256);

    /// @notice Stake-token balance (slashed bonds) credited to `account` and not yet withdrawn, locked or not.
    function stakeCreditOf(address account) external view returns (uint256);

    /**
     * @notice The part of {stakeCreditOf} that `account` can withdraw now, and when the next
     * locked part becomes available (zero if nothing is locked).
     */
    function withdrawableStakeCreditOf(address account) external view returns (uint256 amount, uint64 nextAt);

    /// @notice Stake of `validator`.
    function stakeOf(address validator) external view returns (Stake memory);

    /// @notice Whether `validator` has at least `minStake` active stake.
    function isStaked(address validator) external view returns (bool);

    /**
     * @notice Status of request `requestId` (None if it does not exist) and its stored word: the
     * hash of its terms with the status in the low byte (the fact, once fulfilled).
     */
    function requestState(uint256 requestId) external view returns (RequestStatus status, bytes32 word);

    /// @notice The word {Request} `req` in status `status` is stored as.
    function requestWord(Request calldata req, RequestStatus status) external pure returns (bytes32);

    /// @notice Number of requests made so far, which is also the highest request id.
    function requestCount() external view returns (uint256);

    /// @notice Current parameters.
    function params() external view returns (Params memory);

    /// @notice Parameters queued by {setParams} and when they can take effect (zero if none).
    function pendingParams() external view returns (Params memory params, uint64 effectiveAt);

    /**
     * @notice Accounting of fee token `token`: fees escrowed by unsettled requests, fees credited
     * and not withdrawn, protocol fees not yet claimed. The market's balance of `token` equals
     * their sum (plus the stake totals when `token` is the stake token).
     */
    function feeAccounts(IERC20 token) external view returns (uint256 escrowed, uint256 credited, uint256 protocolFees);

    /// @notice Stake-token accounting: active plus unbonding stake, and slashed bonds credited.
    function stakeAccounts() external view returns (uint256 staked, uint256 credited);

    /**
     * @notice The binding public signal a proof for `requestId` submitted by `prover` must carry.
     * @dev See {ProofBinding}: it commits to the chain id, this market, the request and the prover.
     * Request id 0 is the domain of {IInferenceAttestations-attest}.
     */
    function binding(uint256 requestId, address prover) external view returns (uint256);

    /// @notice Registry the models are read from.
    function registry() external view returns (IModelRegistry);

    /// @notice Token validators stake.
    function stakeToken() external view returns (IERC20);
}
