// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
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
 * @dev Each model names its own fee token, so fees are accounted per token. Accounting
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
    mapping(uint256 requestId => Request) private _requests;
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

    mapping(bytes32 fact => uint256 blockNumber) private _attestedAt;

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
        (IERC20 feeToken, uint128 fee) = _requestTerms(modelId, maxFee);
        // Zero is what an uninitialised commitment looks like; a non-canonical value would let
        // two different integers stand for the same field element.
        if (inputCommitment == 0 || !ProofBinding.isCanonical(inputCommitment)) {
            revert InferenceMarketInvalidInputCommitment(inputCommitment);
        }
        // The deadline bounds how long a claim's bond can stay locked: the slash window.
        if (deadline <= block.timestamp || deadline > block.timestamp + _params.maxRequestTtl) {
            revert InferenceMarketInvalidDeadline(deadline);
        }

        requestId = ++_requestCount;
        Request storage req = _requests[requestId];
        req.requester = msg.sender;
        req.deadline = deadline;
        req.status = RequestStatus.Open;
        req.feeToken = feeToken;
        req.modelId = modelId;
        req.inputCommitment = inputCommitment;
        req.fee = fee;
        _feeAccounts[feeToken].escrowed += fee;
        emit InferenceRequested(requestId, modelId, msg.sender, inputCommitment, fee, deadline, input);

        _pullExact(feeToken, fee);
    }

    /// @inheritdoc IInferenceMarket
    function claim(uint256 requestId) external nonReentrant whenNotPaused {
        Request storage req = _requests[requestId];
        if (req.status != RequestStatus.Open) revert InferenceMarketWrongStatus(requestId, req.status);
        if (block.timestamp > req.deadline) revert InferenceMarketDeadlinePassed(requestId, req.deadline);

        Stake storage s = _stakes[msg.sender];
        uint128 bond = _params.claimBond;
        _requireStaked(msg.sender, s.amount);
        if (s.amount - s.bonded < bond) revert InferenceMarketInsufficientStake(msg.sender, s.amount, s.bonded + bond);

        uint256 windowEnd = block.timestamp + _params.claimWindow;
        uint64 expiresAt = windowEnd < req.deadline ? uint64(windowEnd) : req.deadline;
        s.bonded += bond;
        req.status = RequestStatus.Claimed;
        req.claimer = msg.sender;
        req.claimedAt = uint64(block.timestamp);
        req.claimExpiresAt = expiresAt;
        req.bond = bond;
        emit InferenceClaimed(requestId, msg.sender, bond, expiresAt);
    }

    /// @inheritdoc IInferenceMarket
    function fulfil(uint256 requestId, uint256 output, uint256[8] calldata proof) external nonReentrant whenNotPaused {
        Request storage req = _requests[requestId];
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

        (uint256 fee, uint256 protocolFee, uint256 royalty) = _settle(requestId, req, output, claimer);
        _creditSplit(req.feeToken, royaltyRecipient, fee, protocolFee, royalty);
    }

    /// @inheritdoc IInferenceMarket
    function fulfilBatch(
        uint256[] calldata requestIds,
        uint256[] calldata outputs,
        uint256[8] calldata proof
    ) external nonReentrant whenNotPaused {
        (uint256 modelId, uint256[] memory inputCommitments, address[] memory claimers) = _checkBatch(
            requestIds,
            outputs
        );

        _verifyBatch(modelId, requestIds, inputCommitments, outputs, proof);
        _settleBatch(modelId, requestIds, outputs, claimers);
    }

    /// @inheritdoc IInferenceMarket
    function refund(uint256 requestId) external nonReentrant {
        Request storage req = _requests[requestId];
        RequestStatus status = req.status;
        if (status != RequestStatus.Open && status != RequestStatus.Claimed) {
            revert InferenceMarketWrongStatus(requestId, status);
        }
        if (block.timestamp <= req.deadline) revert InferenceMarketDeadlineNotReached(requestId, req.deadline);

        req.status = RequestStatus.Refunded;
        uint256 fee = req.fee;
        IERC20 token = req.feeToken;
        _feeAccounts[token].escrowed -= fee;
        _creditFee(token, req.requester, fee);
        emit InferenceRefunded(requestId, req.requester, fee);

        if (req.claimer != address(0)) _settleBond(requestId, req, false);
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
        return _record(modelId, inputCommitment, output, msg.sender, 0);
    }

    /// @inheritdoc IInferenceAttestations
    function isAttested(uint256 modelId, uint256 inputCommitment, uint256 output) external view returns (bool) {
        return _attestedAt[_fact(modelId, inputCommitment, output)] != 0;
    }

    /// @inheritdoc IInferenceAttestations
    function attestedAt(uint256 modelId, uint256 inputCommitment, uint256 output) external view returns (uint256) {
        return _attestedAt[_fact(modelId, inputCommitment, output)];
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
    function request(uint256 requestId) external view returns (Request memory) {
        return _requests[requestId];
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
     * usable) at a price within `maxFee`; returns its fee token and the fee to escrow.
     */
    function _requestTerms(uint256 modelId, uint256 maxFee) private view returns (IERC20 feeToken, uint128 fee) {
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
        // Fees are stored in 128 bits (packed with the bond); a larger price is refused here.
        fee = SafeCast.toUint128(price);
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
     * @dev Releases the claimer's bond if it delivered, or if a pause overlapped its exclusive
     * window (it could not deliver); otherwise slashes it to the requester, who bore the delay.
     * A pause that began after the window closed excuses nothing: the claim was already missed.
     */
    function _settleBond(uint256 requestId, Request storage req, bool delivered) private {
        address claimer = req.claimer;
        uint256 bond = req.bond;
        Stake storage s = _stakes[claimer];
        s.bonded -= bond;
        if (delivered || _pauseOverlapped(req.claimedAt, req.claimExpiresAt)) {
            emit BondReleased(requestId, claimer, bond);
        } else {
            s.amount -= bond;
            _staked -= bond;
            _creditSlash(req.requester, bond);
            emit BondSlashed(requestId, claimer, req.requester, bond);
        }
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
     * @dev Checks that msg.sender may fulfil request `requestId` now with `output`, as {fulfil}
     * documents, and returns the request's claimer (zero if unclaimed).
     */
    function _checkFulfillable(
        uint256 requestId,
        Request storage req,
        uint256 output
    ) private view returns (address claimer) {
        RequestStatus status = req.status;
        if (status != RequestStatus.Open && status != RequestStatus.Claimed) {
            revert InferenceMarketWrongStatus(requestId, status);
        }
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
     * that their ids strictly increase; returns the model, input commitments and claimers.
     */
    function _checkBatch(
        uint256[] calldata requestIds,
        uint256[] calldata outputs
    ) private view returns (uint256 modelId, uint256[] memory inputCommitments, address[] memory claimers) {
        uint256 k = requestIds.length;
        if (k == 0 || outputs.length != k) revert InferenceMarketInvalidBatch(k, outputs.length);
        modelId = _requests[requestIds[0]].modelId;
        inputCommitments = new uint256[](k);
        claimers = new address[](k);
        uint256 previous = 0;
        for (uint256 i = 0; i < k; ++i) {
            uint256 requestId = requestIds[i];
            // Strictly increasing ids: no request is settled (and paid) twice in one batch.
            if (requestId <= previous) revert InferenceMarketBatchNotAscending(previous, requestId);
            previous = requestId;
            Request storage req = _requests[requestId];
            claimers[i] = _checkFulfillable(requestId, req, outputs[i]);
            if (req.modelId != modelId) revert InferenceMarketBatchMixesModels(requestId, req.modelId, modelId);
            inputCommitments[i] = req.inputCommitment;
        }
    }

    /**
     * @dev Marks a verified request fulfilled by msg.sender, settles its claimer's bond and
     * records the attestation. Returns the fee and its protocol and royalty shares, which the
     * caller credits with {_creditSplit} (once per batch).
     */
    function _settle(
        uint256 requestId,
        Request storage req,
        uint256 output,
        address claimer
    ) private returns (uint256 fee, uint256 protocolFee, uint256 royalty) {
        req.status = RequestStatus.Fulfilled;

        fee = req.fee;
        protocolFee = (fee * _params.protocolFeeBps) / _BPS;
        royalty = (fee * _params.royaltyBps) / _BPS;
        // The validator takes the rounding dust; the caps keep protocolFee + royalty <= fee.
        emit InferenceFulfilled(requestId, msg.sender, output, fee - protocolFee - royalty, royalty, protocolFee);

        if (claimer != address(0)) _settleBond(requestId, req, claimer == msg.sender);
        _record(req.modelId, req.inputCommitment, output, msg.sender, requestId);
    }

    /**
     * @dev Checks a batch's proof against the model's batch verifier for its size. As in
     * {fulfil}, every public signal is rebuilt here: the batch binding covers the caller and every
     * request id, and the fold covers every input commitment and output.
     */
    function _verifyBatch(
        uint256 modelId,
        uint256[] calldata requestIds,
        uint256[] memory inputCommitments,
        uint256[] calldata outputs,
        uint256[8] calldata proof
    ) private view {
        uint256 k = requestIds.length;
        address verifier = _registry.batchVerifier(modelId, k);
        if (verifier == address(0)) revert InferenceMarketNoBatchVerifier(modelId, k);
        (IModelRegistry.Mode mode, , uint256 weights, ) = _registry.proofTerms(modelId);
        uint256 batchBinding = ProofBinding.computeBatch(block.chainid, address(this), msg.sender, requestIds);
        (uint256 folded, uint256 challenge) = ProofBinding.fold(batchBinding, inputCommitments, outputs);
        if (!_verify(mode, verifier, weights, [folded, challenge, batchBinding], proof)) {
            revert InferenceMarketInvalidBatchProof(requestIds[0], k);
        }
    }

    /**
     * @dev Settles every request of a verified batch with {_settle}, then credits their summed
     * shares once: all requests share one model, so one royalty recipient, and one validator.
     */
    function _settleBatch(
        uint256 modelId,
        uint256[] calldata requestIds,
        uint256[] calldata outputs,
        address[] memory claimers
    ) private {
        uint256 feeTotal = 0;
        uint256 protocolFeeTotal = 0;
        uint256 royaltyTotal = 0;
        uint256 k = requestIds.length;
        for (uint256 i = 0; i < k; ++i) {
            uint256 requestId = requestIds[i];
            (uint256 fee, uint256 protocolFee, uint256 royalty) = _settle(
                requestId,
                _requests[requestId],
                outputs[i],
                claimers[i]
            );
            feeTotal += fee;
            protocolFeeTotal += protocolFee;
            royaltyTotal += royalty;
        }
        (, , , address royaltyRecipient) = _registry.proofTerms(modelId);
        // One model, one fee token: the token of the batch's first request is every request's.
        _creditSplit(_requests[requestIds[0]].feeToken, royaltyRecipient, feeTotal, protocolFeeTotal, royaltyTotal);
    }

    /// @dev Moves settled fees out of escrow: protocol share, royalty, and the rest to msg.sender.
    function _creditSplit(
        IERC20 token,
        address royaltyRecipient,
        uint256 fee,
        uint256 protocolFee,
        uint256 royalty
    ) private {
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

    function _record(
        uint256 modelId,
        uint256 inputCommitment,
        uint256 output,
        address prover,
        uint256 requestId
    ) private returns (uint256 blockNumber) {
        bytes32 fact = _fact(modelId, inputCommitment, output);
        blockNumber = _attestedAt[fact];
        if (blockNumber == 0) {
            blockNumber = block.number;
            _attestedAt[fact] = blockNumber;
            emit InferenceAttested(modelId, inputCommitment, output, prover, requestId);
        }
    }

    function _fact(uint256 modelId, uint256 inputCommitment, uint256 output) private pure returns (bytes32) {
        return keccak256(abi.encode(modelId, inputCommitment, output));
    }
}
