// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IInferenceAttestations} from "../interfaces/IInferenceAttestations.sol";
import {
    IInferenceMarket,
    MARKET_MAX_PROTOCOL_FEE_BPS,
    MARKET_MAX_ROYALTY_BPS,
    MARKET_MAX_CLAIM_WINDOW,
    MARKET_MAX_REQUEST_TTL,
    MARKET_MAX_UNBONDING_DELAY,
    MARKET_MAX_STAKE_AMOUNT
} from "../interfaces/IInferenceMarket.sol";
import {ICircuitRegistry} from "../interfaces/ICircuitRegistry.sol";
import {IInferenceVerifier} from "../interfaces/IInferenceVerifier.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {Groth16} from "../libraries/Groth16.sol";
import {ProofBinding} from "../libraries/ProofBinding.sol";

/**
 * @title InferenceMarket
 * @notice Escrows fees for inference requests, pays them out only against a valid proof, holds
 * validator stake and bonds, and records every proven inference as an attestation.
 * @dev Each request is one storage word: the hash of its terms with its status in the low byte;
 * callers pass the terms, which the market checks against the word. Each model names its own fee
 * token, so fees are accounted per token. Accounting
 * invariants (docs/invariants.md), each kept by every function:
 * - for every fee token T: T held == escrowed(T) + credited fees(T) + protocol fees(T)
 *   (+ stake totals if T is the stake token);
 * - stake token held == staked + credited slashes (+ fee totals if it is also a fee token);
 * - for every validator, active stake >= bonded.
 * Every function that moves tokens is `nonReentrant` and writes state before transferring.
 * Governance (the owner) sets bounded parameters (those that raise a validator's risk only after
 * a notice of one unbonding delay), pauses, and claims protocol fees; it has no power over escrow,
 * credits or stake. Stake leaves only after the unbonding delay, by {unstake} or as a slashed
 * bond (see {StakeCredit}).
 */
contract InferenceMarket is IInferenceMarket, IInferenceAttestations, Ownable2Step, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Highest protocol fee governance may set: 10%.
    uint16 public constant MAX_PROTOCOL_FEE_BPS = MARKET_MAX_PROTOCOL_FEE_BPS;
    /// @notice Highest model-owner royalty governance may set: 30%.
    uint16 public constant MAX_ROYALTY_BPS = MARKET_MAX_ROYALTY_BPS;
    uint256 private constant _BPS = 10_000;
    /// @dev The low byte of a request's word holds its status; the rest is a hash.
    uint256 private constant _STATUS_MASK = 0xff;

    IModelRegistry private immutable _registry;
    ICircuitRegistry private immutable _circuits;
    IERC20 private immutable _stakeToken;

    /// @dev Totals of one fee token.
    struct FeeAccounts {
        uint256 escrowed;
        uint256 credited;
        uint256 protocolFees;
    }

    Params private _params;
    /// @dev Parameters queued by {setParams}, due at `_pendingParamsAt` (zero: none queued).
    Params private _pendingParams;
    uint64 private _pendingParamsAt;
    /// @dev Each request's word: see {_word}, {_factWord}.
    mapping(uint256 requestId => bytes32) private _requests;
    uint256 private _requestCount;

    mapping(address account => mapping(IERC20 token => uint256)) private _feeCredits;
    mapping(address account => StakeCredit) private _stakeCredits;
    mapping(address validator => Stake) private _stakes;

    mapping(IERC20 token => FeeAccounts) private _feeAccounts;
    uint256 private _staked;
    uint256 private _stakeCredited;

    /// @dev A pause, from {pause} to {unpause}; `end` is 0 while it lasts.
    struct PauseInterval {
        uint64 start;
        uint64 end;
    }

    /// @dev Every pause, in order: a claimer is excused only by one that overlapped its window.
    PauseInterval[] private _pauses;

    /// @dev Attestation records: a batch's Merkle root of facts, or an {attest}'s single leaf.
    mapping(bytes32 root => uint256 blockNumber) private _attestedAt;

    /**
     * @param registry_ Registry the models are read from (and, through it, the circuit registry).
     * @param stakeToken_ Token validators stake; must transfer exact amounts (no fee on transfer).
     * @param governance Owner: sets parameters, pauses, claims protocol fees.
     * @param params_ Initial parameters (see {Params} for their bounds).
     */
    constructor(
        IModelRegistry registry_,
        IERC20 stakeToken_,
        address governance,
        Params memory params_
    ) Ownable(governance) {
        if (address(registry_) == address(0) || address(stakeToken_) == address(0)) {
            revert InferenceMarketZeroAddress();
        }
        _registry = registry_;
        _circuits = registry_.circuitRegistry();
        _stakeToken = stakeToken_;
        _checkParams(params_);
        _applyParams(params_);
    }

    // ---------------------------------------------------------------- requests

    /// @inheritdoc IInferenceMarket
    function requestInference(
        uint256 modelId,
        uint256 inputCommitment,
        bytes calldata input,
        uint64 deadline,
        uint256 maxFee
    ) external nonReentrant whenNotPaused returns (uint256 requestId) {
        (IERC20 feeToken, uint128 fee) = _requestTerms(modelId, maxFee, deadline);
        requestId = ++_requestCount;
        _open(requestId, modelId, inputCommitment, input, feeToken, fee, deadline);
        _feeAccounts[feeToken].escrowed += fee;
        _pullExact(feeToken, fee);
    }

    /// @inheritdoc IInferenceMarket
    function requestInferences(
        uint256 modelId,
        uint256[] calldata inputCommitments,
        bytes[] calldata inputs,
        uint64 deadline,
        uint256 maxFee
    ) external nonReentrant whenNotPaused returns (uint256 firstRequestId) {
        uint256 n = inputCommitments.length;
        if (n == 0 || inputs.length != n) revert InferenceMarketInvalidBatch(n, inputs.length);
        (IERC20 feeToken, uint128 fee) = _requestTerms(modelId, maxFee, deadline);
        firstRequestId = _requestCount + 1;
        _requestCount += n;
        for (uint256 i = 0; i < n; ++i) {
            _open(firstRequestId + i, modelId, inputCommitments[i], inputs[i], feeToken, fee, deadline);
        }
        uint256 total = uint256(fee) * n;
        _feeAccounts[feeToken].escrowed += total;
        _pullExact(feeToken, total);
    }

    /// @inheritdoc IInferenceMarket
    function claim(uint256 requestId, Request calldata req) external nonReentrant whenNotPaused {
        uint128 bond = _params.claimBond;
        _lockBonds(bond);
        _claim(requestId, req, bond);
    }

    /// @inheritdoc IInferenceMarket
    function claimBatch(uint256[] calldata requestIds, Request[] calldata reqs) external nonReentrant whenNotPaused {
        uint256 k = requestIds.length;
        if (k == 0 || reqs.length != k) revert InferenceMarketInvalidBatch(k, reqs.length);
        uint128 bond = _params.claimBond;
        _lockBonds(uint256(bond) * k);
        uint256 previous = 0;
        for (uint256 i = 0; i < k; ++i) {
            // Strictly increasing ids: no request is claimed twice in one call.
            if (requestIds[i] <= previous) revert InferenceMarketBatchNotAscending(previous, requestIds[i]);
            previous = requestIds[i];
            _claim(requestIds[i], reqs[i], bond);
        }
    }

    /// @inheritdoc IInferenceMarket
    function fulfil(
        uint256 requestId,
        Request calldata req,
        uint256 output,
        uint256[8] calldata proof
    ) external nonReentrant whenNotPaused {
        address claimer = _checkFulfillable(requestId, req, output);

        // The public signals are rebuilt here, never taken from the caller: the binding to
        // msg.sender is what stops a watcher from copying someone else's proof.
        (IModelRegistry.Mode mode, address verifier, uint256 weights, address royaltyRecipient) = _registry.proofTerms(
            req.modelId
        );
        uint256 requestBinding = ProofBinding.compute(block.chainid, address(this), requestId, msg.sender);
        if (!_verify(mode, verifier, weights, [req.inputCommitment, output, requestBinding], proof)) {
            revert InferenceMarketInvalidProof(requestId);
        }
        _fulfilled(requestId, req, output, claimer, royaltyRecipient);
    }

    /// @inheritdoc IInferenceMarket
    function fulfilUniversal(
        uint256 requestId,
        Request calldata req,
        uint256 output,
        uint256[24] calldata proof
    ) external nonReentrant whenNotPaused {
        address claimer = _checkFulfillable(requestId, req, output);
        (, , , address royaltyRecipient) = _registry.proofTerms(req.modelId);
        uint256[] memory signals = new uint256[](3);
        signals[0] = req.inputCommitment;
        signals[1] = output;
        signals[2] = ProofBinding.compute(block.chainid, address(this), requestId, msg.sender);
        // The registry runs the protocol's own {Plonk} code on the model's key (it holds the code
        // so that the market stays under the contract size limit), false for another mode.
        if (!_registry.verifyUniversal(req.modelId, 1, signals, proof)) revert InferenceMarketInvalidProof(requestId);
        _fulfilled(requestId, req, output, claimer, royaltyRecipient);
    }

    /// @dev Settles a verified single fulfilment: fee split, bond, and the fact in the request's word.
    function _fulfilled(
        uint256 requestId,
        Request calldata req,
        uint256 output,
        address claimer,
        address royaltyRecipient
    ) private {
        // The request's word now holds the fact: the single fulfilment's attestation record.
        bytes32 word = _factWord(_fact(req.modelId, req.inputCommitment, output));
        uint256[3] memory shares;
        _settle(requestId, req, output, word, shares);
        if (claimer != address(0) && _settleBond(requestId, req, claimer == msg.sender)) {
            _stakes[claimer].bonded -= req.bond;
        }
        _creditSplit(req.feeToken, royaltyRecipient, shares);
    }

    /// @inheritdoc IInferenceMarket
    function fulfilBatch(
        uint256[] calldata requestIds,
        Request[] calldata reqs,
        uint256[] calldata outputs,
        uint256[8] calldata proof
    ) external nonReentrant whenNotPaused {
        (uint256[] memory inputCommitments, address[] memory claimers) = _checkBatch(requestIds, reqs, outputs);
        uint256 modelId = reqs[0].modelId;
        address royaltyRecipient = _verifyBatch(modelId, requestIds, inputCommitments, outputs, proof);
        _settleBatch(modelId, requestIds, reqs, outputs, claimers, royaltyRecipient);
    }

    /// @inheritdoc IInferenceMarket
    function fulfilBatchUniversal(
        uint256[] calldata requestIds,
        Request[] calldata reqs,
        uint256[] calldata outputs,
        uint256[24] calldata proof
    ) external nonReentrant whenNotPaused {
        (uint256[] memory inputCommitments, address[] memory claimers) = _checkBatch(requestIds, reqs, outputs);
        uint256 modelId = reqs[0].modelId;
        uint256 k = requestIds.length;
        (, uint256[3] memory batchSignals) = _batchSignals(modelId, requestIds, inputCommitments, outputs);
        uint256[] memory signals = new uint256[](3);
        for (uint256 i = 0; i < 3; ++i) signals[i] = batchSignals[i];
        // The registry runs {Plonk} on the model's key for K, false for a model of another mode.
        if (!_registry.verifyUniversal(modelId, k, signals, proof)) {
            revert InferenceMarketInvalidBatchProof(requestIds[0], k);
        }
        (, , , address royaltyRecipient) = _registry.proofTerms(modelId);
        _settleBatch(modelId, requestIds, reqs, outputs, claimers, royaltyRecipient);
    }

    /// @inheritdoc IInferenceMarket
    function refund(uint256 requestId, Request calldata req) external nonReentrant {
        _checkTerms(requestId, req);
        if (block.timestamp <= req.deadline) revert InferenceMarketDeadlineNotReached(requestId, req.deadline);

        _requests[requestId] = bytes32(uint256(RequestStatus.Refunded));
        uint256 fee = req.fee;
        IERC20 token = req.feeToken;
        _feeAccounts[token].escrowed -= fee;
        _creditFee(token, req.requester, fee);
        emit InferenceRefunded(requestId, req.requester, fee);

        // A refund is never the claimer's delivery: its bond is released only if a pause excused it.
        if (req.claimer != address(0) && _settleBond(requestId, req, false)) _stakes[req.claimer].bonded -= req.bond;
    }

    /// @inheritdoc IInferenceMarket
    function withdraw(IERC20 token) external nonReentrant {
        uint256 feeAmount = _feeCredits[msg.sender][token];
        uint256 stakeAmount = 0;
        StakeCredit memory c;
        if (address(token) == address(_stakeToken)) {
            c = _matured(_stakeCredits[msg.sender]);
            stakeAmount = c.available;
        }
        uint256 amount = feeAmount + stakeAmount;
        if (amount == 0) {
            if (c.pending != 0) revert InferenceMarketStakeCreditLocked(msg.sender, c.pendingUntil);
            revert InferenceMarketNothingToWithdraw(msg.sender);
        }

        if (feeAmount != 0) {
            _feeCredits[msg.sender][token] = 0;
            _feeAccounts[token].credited -= feeAmount;
        }
        if (stakeAmount != 0) {
            c.available = 0;
            _stakeCredits[msg.sender] = c;
            _stakeCredited -= stakeAmount;
        }
        emit Withdrawn(msg.sender, token, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- staking

    /// @inheritdoc IInferenceMarket
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert InferenceMarketZeroAmount();
        _stakes[msg.sender].amount += amount;
        _staked += amount;
        emit Staked(msg.sender, amount);
        _pullExact(_stakeToken, amount);
    }

    /// @inheritdoc IInferenceMarket
    function unstake(uint256 amount) external nonReentrant {
        if (amount == 0) revert InferenceMarketZeroAmount();
        Stake storage s = _stakes[msg.sender];
        uint256 free = s.amount - s.bonded;
        if (amount > free) revert InferenceMarketInsufficientStake(msg.sender, s.amount, s.bonded + amount);

        s.amount -= amount;
        s.unbonding += amount;
        // The bounds keep this far from overflow: the delay is at most MARKET_MAX_UNBONDING_DELAY.
        uint64 endsAt = uint64(block.timestamp) + _params.unbondingDelay;
        s.unbondingEndsAt = endsAt;
        s.unbondingStartedAt = uint64(block.timestamp);
        emit UnstakeStarted(msg.sender, amount, endsAt);
    }

    /// @inheritdoc IInferenceMarket
    function withdrawStake() external nonReentrant {
        Stake storage s = _stakes[msg.sender];
        uint256 amount = s.unbonding;
        if (amount == 0) revert InferenceMarketNothingToWithdraw(msg.sender);
        uint64 endsAt = _unbondingEnd(s);
        if (block.timestamp < endsAt) revert InferenceMarketUnbonding(msg.sender, endsAt);

        s.unbonding = 0;
        _staked -= amount;
        emit StakeWithdrawn(msg.sender, amount);
        _stakeToken.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- attestations

    /// @inheritdoc IInferenceAttestations
    function attest(
        uint256 modelId,
        uint256 inputCommitment,
        uint256 output,
        uint256[8] calldata proof
    ) external whenNotPaused returns (uint256) {
        (IModelRegistry.Mode mode, address verifier, uint256 weights, ) = _registry.proofTerms(modelId);
        if (verifier == address(0)) revert InferenceAttestationsUnknownModel(modelId);
        if (mode == IModelRegistry.Mode.Committed) _requireUsableCircuit(modelId);
        if (!ProofBinding.isCanonical(inputCommitment)) revert InferenceAttestationsNonCanonical(inputCommitment);
        if (!ProofBinding.isCanonical(output)) revert InferenceAttestationsNonCanonical(output);
        // Request id 0 is never assigned, so this proof domain is disjoint from every request's.
        uint256 attestBinding = ProofBinding.compute(block.chainid, address(this), 0, msg.sender);
        if (!_verify(mode, verifier, weights, [inputCommitment, output, attestBinding], proof)) {
            revert InferenceAttestationsInvalidProof(modelId);
        }
        bytes32 root = _leaf(_fact(modelId, inputCommitment, output));
        uint256 recordedAt = _attestedAt[root];
        if (recordedAt != 0) return recordedAt;
        _attestedAt[root] = block.number;
        emit InferenceAttested(modelId, inputCommitment, output, msg.sender, 0);
        return block.number;
    }

    /// @inheritdoc IInferenceAttestations
    function factOf(uint256 modelId, uint256 inputCommitment, uint256 output) external pure returns (bytes32) {
        return _fact(modelId, inputCommitment, output);
    }

    /// @inheritdoc IInferenceAttestations
    function isAttested(bytes32 fact, bytes32 root, bytes32[] calldata proof) external view returns (bool) {
        return _attestedAt[root] != 0 && MerkleProof.verifyCalldata(proof, root, _leaf(fact));
    }

    /// @inheritdoc IInferenceAttestations
    function isAttestedByRequest(bytes32 fact, uint256 requestId) external view returns (bool) {
        return _requests[requestId] == _factWord(fact);
    }

    /// @inheritdoc IInferenceAttestations
    function attestedAt(bytes32 root) external view returns (uint256) {
        return _attestedAt[root];
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc IInferenceMarket
    function setParams(Params calldata params_) external onlyOwner {
        _checkParams(params_);
        Params memory current = _params;
        bool raisesRisk =
            params_.claimBond > current.claimBond ||
                params_.minStake > current.minStake ||
                params_.unbondingDelay > current.unbondingDelay ||
                params_.maxRequestTtl > current.maxRequestTtl;
        if (raisesRisk) {
            // One current unbonding delay: a validator that unstakes on seeing this event has its
            // stake back before the change applies.
            uint64 effectiveAt = uint64(block.timestamp) + current.unbondingDelay;
            _pendingParams = params_;
            _pendingParamsAt = effectiveAt;
            emit ParamsQueued(params_, effectiveAt);
        } else {
            _applyParams(params_);
        }
    }

    /// @inheritdoc IInferenceMarket
    function applyParams() external {
        uint64 effectiveAt = _pendingParamsAt;
        if (effectiveAt == 0 || block.timestamp < effectiveAt) revert InferenceMarketParamsNotDue(effectiveAt);
        _applyParams(_pendingParams);
    }

    /// @inheritdoc IInferenceMarket
    function claimProtocolFees(IERC20 token, address to) external onlyOwner nonReentrant {
        if (to == address(0)) revert InferenceMarketZeroAddress();
        FeeAccounts storage a = _feeAccounts[token];
        uint256 amount = a.protocolFees;
        if (amount == 0) revert InferenceMarketNothingToWithdraw(to);
        a.protocolFees = 0;
        emit ProtocolFeesClaimed(token, to, amount);
        token.safeTransfer(to, amount);
    }

    /// @inheritdoc IInferenceMarket
    function pause() external onlyOwner {
        _pause();
        _pauses.push(PauseInterval({start: uint64(block.timestamp), end: 0}));
    }

    /// @inheritdoc IInferenceMarket
    function unpause() external onlyOwner {
        _unpause();
        _pauses[_pauses.length - 1].end = uint64(block.timestamp);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IInferenceMarket
    function balanceOf(address account, IERC20 token) external view returns (uint256) {
        return _feeCredits[account][token];
    }

    /// @inheritdoc IInferenceMarket
    function stakeCreditOf(address account) external view returns (uint256) {
        StakeCredit storage c = _stakeCredits[account];
        return c.available + c.pending + c.next;
    }

    /// @inheritdoc IInferenceMarket
    function withdrawableStakeCreditOf(address account) external view returns (uint256 amount, uint64 nextAt) {
        StakeCredit memory c = _matured(_stakeCredits[account]);
        return (c.available, c.pendingUntil);
    }

    /// @inheritdoc IInferenceMarket
    function stakeOf(address validator) external view returns (Stake memory s) {
        s = _stakes[validator];
        if (s.unbonding != 0) s.unbondingEndsAt = _unbondingEnd(s);
    }

    /// @inheritdoc IInferenceMarket
    function isStaked(address validator) external view returns (bool) {
        return _stakes[validator].amount >= _params.minStake;
    }

    /// @inheritdoc IInferenceMarket
    function requestState(uint256 requestId) external view returns (RequestStatus status, bytes32 word) {
        word = _requests[requestId];
        status = RequestStatus(uint8(uint256(word) & _STATUS_MASK));
    }

    /// @inheritdoc IInferenceMarket
    function requestWord(Request calldata req, RequestStatus status) external pure returns (bytes32) {
        return _word(req, status);
    }

    /// @inheritdoc IInferenceMarket
    function requestCount() external view returns (uint256) {
        return _requestCount;
    }

    /// @inheritdoc IInferenceMarket
    function params() external view returns (Params memory) {
        return _params;
    }

    /// @inheritdoc IInferenceMarket
    function pendingParams() external view returns (Params memory, uint64 effectiveAt) {
        return (_pendingParams, _pendingParamsAt);
    }

    /// @inheritdoc IInferenceMarket
    function feeAccounts(
        IERC20 token
    ) external view returns (uint256 escrowed, uint256 credited, uint256 protocolFees) {
        FeeAccounts storage a = _feeAccounts[token];
        return (a.escrowed, a.credited, a.protocolFees);
    }

    /// @inheritdoc IInferenceMarket
    function stakeAccounts() external view returns (uint256 staked, uint256 credited) {
        return (_staked, _stakeCredited);
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
    function stakeToken() external view returns (IERC20) {
        return _stakeToken;
    }

    // ---------------------------------------------------------------- internals

    /**
     * @dev Checks that `modelId` takes requests (exists, active, a committed model's circuit still
     * usable) at a price within `maxFee`, and that `deadline` is allowed; returns the model's fee
     * token and the fee to escrow per request.
     */
    function _requestTerms(
        uint256 modelId,
        uint256 maxFee,
        uint64 deadline
    ) private view returns (IERC20 feeToken, uint128 fee) {
        bool exists;
        bool active;
        IModelRegistry.Mode mode;
        uint256 circuitId;
        uint256 price;
        (exists, active, mode, circuitId, feeToken, price) = _registry.requestTerms(modelId);
        if (!exists) revert InferenceMarketUnknownModel(modelId);
        if (!active) revert InferenceMarketModelInactive(modelId);
        if (mode == IModelRegistry.Mode.Committed && !_circuits.isUsable(circuitId)) {
            revert InferenceMarketCircuitUnusable(modelId, circuitId);
        }
        if (price > maxFee) revert InferenceMarketPriceAboveMaxFee(price, maxFee);
        // The deadline bounds how long a claim's bond can stay locked: the slash window.
        if (deadline <= block.timestamp || deadline > block.timestamp + _params.maxRequestTtl) {
            revert InferenceMarketInvalidDeadline(deadline);
        }
        // Fees are stored in 128 bits (packed with the bond); a larger price is refused here.
        fee = SafeCast.toUint128(price);
    }

    /// @dev Opens request `requestId` for msg.sender: stores its word and emits its terms.
    function _open(
        uint256 requestId,
        uint256 modelId,
        uint256 inputCommitment,
        bytes calldata input,
        IERC20 feeToken,
        uint128 fee,
        uint64 deadline
    ) private {
        // Zero is what an uninitialised commitment looks like; a non-canonical value would let
        // two different integers stand for the same field element.
        if (inputCommitment == 0 || !ProofBinding.isCanonical(inputCommitment)) {
            revert InferenceMarketInvalidInputCommitment(inputCommitment);
        }
        Request memory req = Request({
            requester: msg.sender,
            deadline: deadline,
            feeToken: feeToken,
            fee: fee,
            modelId: modelId,
            inputCommitment: inputCommitment,
            claimer: address(0),
            claimedAt: 0,
            claimExpiresAt: 0,
            bond: 0
        });
        _requests[requestId] = _word(req, RequestStatus.Open);
        emit InferenceRequested(requestId, modelId, msg.sender, inputCommitment, feeToken, fee, deadline, input);
    }

    /// @dev Locks `total` of msg.sender's free active stake as bonds; it must be staked.
    function _lockBonds(uint256 total) private {
        Stake storage s = _stakes[msg.sender];
        uint256 amount = s.amount;
        _requireStaked(msg.sender, amount);
        if (amount - s.bonded < total) revert InferenceMarketInsufficientStake(msg.sender, amount, s.bonded + total);
        s.bonded += total;
    }

    /// @dev Claims Open request `requestId` for msg.sender with `bond` (already locked).
    function _claim(uint256 requestId, Request calldata req, uint128 bond) private {
        RequestStatus status = _checkTerms(requestId, req);
        if (status != RequestStatus.Open) revert InferenceMarketWrongStatus(requestId, status);
        if (block.timestamp > req.deadline) revert InferenceMarketDeadlinePassed(requestId, req.deadline);
        uint256 windowEnd = block.timestamp + _params.claimWindow;
        uint64 expiresAt = windowEnd < req.deadline ? uint64(windowEnd) : req.deadline;
        Request memory claimed = req;
        claimed.claimer = msg.sender;
        claimed.claimedAt = uint64(block.timestamp);
        claimed.claimExpiresAt = expiresAt;
        claimed.bond = bond;
        _requests[requestId] = _word(claimed, RequestStatus.Claimed);
        emit InferenceClaimed(requestId, msg.sender, bond, uint64(block.timestamp), expiresAt);
    }

    /**
     * @dev Returns the status of request `requestId`, and reverts unless it is Open or Claimed
     * with exactly the terms `req`.
     */
    function _checkTerms(uint256 requestId, Request calldata req) private view returns (RequestStatus status) {
        bytes32 word = _requests[requestId];
        status = RequestStatus(uint8(uint256(word) & _STATUS_MASK));
        if (status != RequestStatus.Open && status != RequestStatus.Claimed) {
            revert InferenceMarketWrongStatus(requestId, status);
        }
        if (word != _word(req, status)) revert InferenceMarketWrongTerms(requestId);
    }

    /// @dev The word of a request with terms `req` in `status`: their hash, status in the low byte.
    function _word(Request memory req, RequestStatus status) private pure returns (bytes32) {
        return bytes32((uint256(keccak256(abi.encode(req))) & ~_STATUS_MASK) | uint256(status));
    }

    /// @dev The word of a request fulfilled singly with `fact`.
    function _factWord(bytes32 fact) private pure returns (bytes32) {
        return bytes32((uint256(fact) & ~_STATUS_MASK) | uint256(RequestStatus.Fulfilled));
    }

    /// @dev Reverts unless every parameter is within the bound documented on {Params}.
    function _checkParams(Params memory p) private pure {
        if (
            p.protocolFeeBps > MARKET_MAX_PROTOCOL_FEE_BPS ||
            p.royaltyBps > MARKET_MAX_ROYALTY_BPS ||
            p.claimWindow == 0 ||
            p.claimWindow > MARKET_MAX_CLAIM_WINDOW ||
            p.maxRequestTtl == 0 ||
            p.maxRequestTtl > MARKET_MAX_REQUEST_TTL ||
            // Stake that starts unbonding stays until every claim it could back has settled.
            p.unbondingDelay <= p.maxRequestTtl ||
            p.unbondingDelay > MARKET_MAX_UNBONDING_DELAY ||
            p.minStake > MARKET_MAX_STAKE_AMOUNT ||
            p.claimBond == 0 ||
            p.claimBond > MARKET_MAX_STAKE_AMOUNT
        ) revert InferenceMarketInvalidParams(p);
    }

    /// @dev Puts `p` into effect and drops whatever change was queued.
    function _applyParams(Params memory p) private {
        _params = p;
        delete _pendingParams;
        _pendingParamsAt = 0;
        emit ParamsSet(p);
    }

    /// @dev When unbonding stake `s` can be withdrawn: its own end, or sooner under a shorter current delay.
    function _unbondingEnd(Stake memory s) private view returns (uint64) {
        uint64 underCurrent = s.unbondingStartedAt + _params.unbondingDelay;
        return underCurrent < s.unbondingEndsAt ? underCurrent : s.unbondingEndsAt;
    }

    /// @dev `c` with every tranche whose lock has ended moved into `available` (see {StakeCredit}).
    function _matured(StakeCredit memory c) private view returns (StakeCredit memory) {
        if (c.pending != 0 && c.pendingUntil <= block.timestamp) {
            c.available += c.pending;
            (c.pending, c.pendingUntil, c.next, c.nextUntil) = (c.next, c.nextUntil, 0, 0);
            if (c.pending != 0 && c.pendingUntil <= block.timestamp) {
                c.available += c.pending;
                (c.pending, c.pendingUntil) = (0, 0);
            }
        }
        return c;
    }

    /// @dev Credits a slashed `bond` to `account`, withdrawable one unbonding delay from now.
    function _creditSlash(address account, uint256 bond) private {
        StakeCredit memory c = _matured(_stakeCredits[account]);
        uint64 until = uint64(block.timestamp) + _params.unbondingDelay;
        // A bond is at most MARKET_MAX_STAKE_AMOUNT (< 2^90), so these sums cannot reach 2^192.
        if (c.pending == 0) {
            (c.pending, c.pendingUntil) = (uint192(bond), until);
        } else {
            (c.next, c.nextUntil) = (c.next + uint192(bond), until);
        }
        _stakeCredits[account] = c;
        _stakeCredited += bond;
    }

    /// @dev Takes `amount` of `token` from the caller and checks that exactly that much arrived.
    function _pullExact(IERC20 token, uint256 amount) private {
        uint256 balanceBefore = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - balanceBefore;
        if (received != amount) revert InferenceMarketTransferMismatch(amount, received);
    }

    function _requireStaked(address validator, uint256 amount) private view {
        if (amount < _params.minStake) revert InferenceMarketInsufficientStake(validator, amount, _params.minStake);
    }

    function _creditFee(IERC20 token, address account, uint256 amount) private {
        if (amount == 0) return;
        _feeCredits[account][token] += amount;
        _feeAccounts[token].credited += amount;
    }

    /**
     * @dev Settles the claimer's bond: released if it delivered, or if a pause overlapped its
     * exclusive window (it could not deliver), and then the caller unlocks it (returns true), so a
     * batch unlocks its own bonds at once; otherwise slashed to the requester, who bore the delay.
     * A pause that began after the window closed excuses nothing: the claim was already missed.
     */
    function _settleBond(uint256 requestId, Request calldata req, bool delivered) private returns (bool released) {
        address claimer = req.claimer;
        uint256 bond = req.bond;
        if (delivered || _pauseOverlapped(req.claimedAt, req.claimExpiresAt)) {
            emit BondReleased(requestId, claimer, bond);
            return true;
        }
        Stake storage s = _stakes[claimer];
        s.bonded -= bond;
        s.amount -= bond;
        _staked -= bond;
        _creditSlash(req.requester, bond);
        emit BondSlashed(requestId, claimer, req.requester, bond);
    }

    /// @dev Reverts unless committed model `modelId`'s circuit is still usable (not deprecated).
    function _requireUsableCircuit(uint256 modelId) private view {
        (, , , uint256 circuitId, , ) = _registry.requestTerms(modelId);
        if (!_circuits.isUsable(circuitId)) revert InferenceAttestationsCircuitUnusable(modelId, circuitId);
    }

    /**
     * @dev Whether any pause overlapped `[from, to]`. Pauses are recorded in order and do not
     * overlap each other, so the walk goes back from the latest and stops at the first one that
     * ended before `from`: it reads only the pauses since the claim (usually none).
     */
    function _pauseOverlapped(uint64 from, uint64 to) private view returns (bool) {
        for (uint256 i = _pauses.length; i > 0; --i) {
            PauseInterval memory p = _pauses[i - 1];
            // A pause that ended at or before the claim did not block it (claims need no pause).
            if (p.end != 0 && p.end <= from) return false;
            if (p.start <= to) return true;
        }
        return false;
    }

    /**
     * @dev Checks that msg.sender may fulfil request `requestId`, with terms `req`, now with
     * `output`, as {fulfil} documents, and returns the request's claimer (zero if unclaimed).
     */
    function _checkFulfillable(
        uint256 requestId,
        Request calldata req,
        uint256 output
    ) private view returns (address claimer) {
        RequestStatus status = _checkTerms(requestId, req);
        if (block.timestamp > req.deadline) revert InferenceMarketDeadlinePassed(requestId, req.deadline);
        claimer = req.claimer;
        if (msg.sender != claimer) {
            if (status == RequestStatus.Claimed && block.timestamp <= req.claimExpiresAt) {
                revert InferenceMarketClaimedByOther(requestId, claimer, req.claimExpiresAt);
            }
            _requireStaked(msg.sender, _stakes[msg.sender].amount);
        }
        if (!ProofBinding.isCanonical(output)) revert InferenceMarketInvalidOutput(output);
    }

    /**
     * @dev Checks every request of a batch with {_checkFulfillable}, that they share one model and
     * that their ids strictly increase; returns their input commitments and claimers.
     */
    function _checkBatch(
        uint256[] calldata requestIds,
        Request[] calldata reqs,
        uint256[] calldata outputs
    ) private view returns (uint256[] memory inputCommitments, address[] memory claimers) {
        uint256 k = requestIds.length;
        if (k == 0 || reqs.length != k) revert InferenceMarketInvalidBatch(k, reqs.length);
        if (outputs.length != k) revert InferenceMarketInvalidBatch(k, outputs.length);
        uint256 modelId = reqs[0].modelId;
        inputCommitments = new uint256[](k);
        claimers = new address[](k);
        uint256 previous = 0;
        for (uint256 i = 0; i < k; ++i) {
            uint256 requestId = requestIds[i];
            // Strictly increasing ids: no request is settled (and paid) twice in one batch.
            if (requestId <= previous) revert InferenceMarketBatchNotAscending(previous, requestId);
            previous = requestId;
            claimers[i] = _checkFulfillable(requestId, reqs[i], outputs[i]);
            if (reqs[i].modelId != modelId) revert InferenceMarketBatchMixesModels(requestId, reqs[i].modelId, modelId);
            inputCommitments[i] = reqs[i].inputCommitment;
        }
    }

    /**
     * @dev Marks a verified request fulfilled by msg.sender (its word becomes `word`) and adds its
     * fee, protocol share and royalty to `totals`, which the caller credits with {_creditSplit}
     * (once per batch). The claimer's bond is the caller's to settle.
     */
    function _settle(
        uint256 requestId,
        Request calldata req,
        uint256 output,
        bytes32 word,
        uint256[3] memory totals
    ) private {
        _requests[requestId] = word;
        uint256 fee = req.fee;
        uint256 protocolFee = (fee * _params.protocolFeeBps) / _BPS;
        uint256 royalty = (fee * _params.royaltyBps) / _BPS;
        totals[0] += fee;
        totals[1] += protocolFee;
        totals[2] += royalty;
        // The validator takes the rounding dust; the caps keep protocolFee + royalty <= fee.
        emit InferenceFulfilled(requestId, msg.sender, output, fee - protocolFee - royalty, royalty, protocolFee);
    }

    /**
     * @dev The model's batch verifier for the batch's size (reverts if it has none) and the
     * batch's public signals `[fold, challenge, batchBinding]`. As in {fulfil}, every public signal
     * is rebuilt here: the batch binding covers the caller and every request id, and the fold
     * covers every input commitment and output.
     */
    function _batchSignals(
        uint256 modelId,
        uint256[] calldata requestIds,
        uint256[] memory inputCommitments,
        uint256[] calldata outputs
    ) private view returns (address verifier, uint256[3] memory signals) {
        uint256 k = requestIds.length;
        verifier = _registry.batchVerifier(modelId, k);
        if (verifier == address(0)) revert InferenceMarketNoBatchVerifier(modelId, k);
        uint256 batchBinding = ProofBinding.computeBatch(block.chainid, address(this), msg.sender, requestIds);
        (uint256 folded, uint256 challenge) = ProofBinding.fold(batchBinding, inputCommitments, outputs);
        signals = [folded, challenge, batchBinding];
    }

    /**
     * @dev Checks a batch's Groth16 proof against the model's batch verifier for its size
     * ({_batchSignals}), and returns the model's royalty recipient.
     */
    function _verifyBatch(
        uint256 modelId,
        uint256[] calldata requestIds,
        uint256[] memory inputCommitments,
        uint256[] calldata outputs,
        uint256[8] calldata proof
    ) private view returns (address royaltyRecipient) {
        (address verifier, uint256[3] memory signals) = _batchSignals(modelId, requestIds, inputCommitments, outputs);
        IModelRegistry.Mode mode;
        uint256 weights;
        (mode, , weights, royaltyRecipient) = _registry.proofTerms(modelId);
        if (!_verify(mode, verifier, weights, signals, proof)) {
            revert InferenceMarketInvalidBatchProof(requestIds[0], requestIds.length);
        }
    }

    /**
     * @dev Settles every request of a verified batch with {_settle}, unlocks the caller's own
     * bonds at once, records the Merkle root of the batch's facts, then credits the summed shares
     * once: all requests share one model, so one fee token and one royalty recipient.
     */
    function _settleBatch(
        uint256 modelId,
        uint256[] calldata requestIds,
        Request[] calldata reqs,
        uint256[] calldata outputs,
        address[] memory claimers,
        address royaltyRecipient
    ) private {
        uint256 k = requestIds.length;
        uint256[3] memory totals; // fee, protocol fee, royalty
        uint256 ownBonds = 0;
        bytes32[] memory leaves = new bytes32[](k);
        for (uint256 i = 0; i < k; ++i) {
            _settle(requestIds[i], reqs[i], outputs[i], bytes32(uint256(RequestStatus.Fulfilled)), totals);
            ownBonds += _settleBatchBond(requestIds[i], reqs[i], claimers[i]);
            leaves[i] = _leaf(_fact(modelId, reqs[i].inputCommitment, outputs[i]));
        }
        if (ownBonds != 0) _stakes[msg.sender].bonded -= ownBonds;
        bytes32 root = _merkleRoot(leaves);
        if (_attestedAt[root] == 0) _attestedAt[root] = block.number;
        emit BatchAttested(root, modelId, requestIds);
        // One model, one fee token: the token of the batch's first request is every request's.
        _creditSplit(reqs[0].feeToken, royaltyRecipient, totals);
    }

    /**
     * @dev Settles the bond of one request of a batch; returns the bond when it is msg.sender's
     * own and released, which the caller unlocks together with the others.
     */
    function _settleBatchBond(uint256 requestId, Request calldata req, address claimer) private returns (uint256) {
        if (claimer == address(0) || !_settleBond(requestId, req, claimer == msg.sender)) return 0;
        if (claimer == msg.sender) return req.bond;
        _stakes[claimer].bonded -= req.bond;
        return 0;
    }

    /**
     * @dev Root of the Merkle tree over `nodes` (overwritten): inner nodes hash their children
     * sorted, an odd node at the end of a level is carried up (see {IInferenceAttestations}).
     */
    function _merkleRoot(bytes32[] memory nodes) private pure returns (bytes32) {
        uint256 n = nodes.length;
        while (n > 1) {
            uint256 half = n / 2;
            for (uint256 i = 0; i < half; ++i) {
                nodes[i] = Hashes.commutativeKeccak256(nodes[2 * i], nodes[2 * i + 1]);
            }
            if (n % 2 == 1) nodes[half] = nodes[n - 1];
            n = half + (n % 2);
        }
        return nodes[0];
    }

    /**
     * @dev Moves settled fees out of escrow: `shares` are the fee, the protocol share and the
     * royalty; the rest of the fee goes to msg.sender.
     */
    function _creditSplit(IERC20 token, address royaltyRecipient, uint256[3] memory shares) private {
        (uint256 fee, uint256 protocolFee, uint256 royalty) = (shares[0], shares[1], shares[2]);
        FeeAccounts storage a = _feeAccounts[token];
        a.escrowed -= fee;
        a.protocolFees += protocolFee;
        _creditFee(token, royaltyRecipient, royalty);
        _creditFee(token, msg.sender, fee - protocolFee - royalty);
    }

    /**
     * @dev Checks a proof of a model with three signals built by the caller: a baked model's key
     * (data contract) with the protocol's own {Groth16} code; a committed model's circuit
     * verifier with the weights commitment prepended.
     */
    function _verify(
        IModelRegistry.Mode mode,
        address verifier,
        uint256 weightsCommitment,
        uint256[3] memory signals,
        uint256[8] calldata proof
    ) private view returns (bool) {
        // A universal model's key is data for {Plonk}, with proofs of another shape: never a Groth16 proof.
        if (mode == IModelRegistry.Mode.Universal) return false;
        if (mode == IModelRegistry.Mode.Baked) {
            uint256[] memory bakedSignals = new uint256[](3);
            bakedSignals[0] = signals[0];
            bakedSignals[1] = signals[1];
            bakedSignals[2] = signals[2];
            return Groth16.verify(verifier, bakedSignals, proof);
        }
        return
            IInferenceVerifier(verifier).verifyProof(
                [proof[0], proof[1]],
                [[proof[2], proof[3]], [proof[4], proof[5]]],
                [proof[6], proof[7]],
                [weightsCommitment, signals[0], signals[1], signals[2]]
            );
    }

    function _fact(uint256 modelId, uint256 inputCommitment, uint256 output) private pure returns (bytes32) {
        return keccak256(abi.encode(modelId, inputCommitment, output));
    }

    /// @dev The Merkle leaf of `fact`: hashed again, so that no leaf is also a pair of nodes.
    function _leaf(bytes32 fact) private pure returns (bytes32) {
        return keccak256(abi.encode(fact));
    }
}
