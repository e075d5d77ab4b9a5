// SPDX-License-Identifier: MIT
// The handler is part of these invariants (its ghost variables are what they check): one file.
// solhint-disable one-contract-per-file
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {
    IInferenceMarket,
    MARKET_MAX_REQUEST_TTL,
    MARKET_MAX_UNBONDING_DELAY
} from "../../contracts/interfaces/IInferenceMarket.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {InferenceMarket} from "../../contracts/market/InferenceMarket.sol";
import {CircuitRegistry} from "../../contracts/registry/CircuitRegistry.sol";
import {ModelRegistry} from "../../contracts/registry/ModelRegistry.sol";
import {SettableVerifier} from "../../contracts/test/SettableVerifier.sol";
import {TestToken} from "../../contracts/test/TestToken.sol";

import {RequestTerms} from "./RequestTerms.sol";
import {VM} from "./Vm.sol";

// Test names follow the invariant_<property> convention, not mixedCase.
// solhint-disable func-name-mixedcase

/**
 * @dev The fuzzer's only target. Each action picks its actor, request, model and token from a
 * seed, acts as that actor, and records what succeeded in ghost variables; reverts are expected
 * (most random actions are invalid) and swallowed. The handler is governance and owner of both
 * models, so pausing, fee changes and price changes are part of the random walk too. Model 1 is
 * paid in the fee token, model 2 in the stake token: accounting must stay separate per token,
 * including where a fee token is also the stake token.
 */
contract MarketHandler {
    uint256 private constant _ACTORS = 4;

    InferenceMarket public immutable market;
    TestToken public immutable feeToken;
    TestToken public immutable stakeToken;
    ModelRegistry public immutable registry;
    uint256 public constant MODELS = 2;

    /// @dev How many times each request was paid out (fulfilled or refunded): must stay <= 1.
    mapping(uint256 requestId => uint256) public settlements;
    mapping(uint256 requestId => bool) public fulfilled;
    mapping(uint256 requestId => bool) public refunded;
    uint256 public settledTwice;
    /// @dev Settlements that slashed a claimer: shows the random walk reaches slashing at all.
    uint256 public slashes;

    /// @dev The terms of every request, as the market hashed them (it stores only the hash).
    mapping(uint256 requestId => IInferenceMarket.Request) private _terms;

    /// @dev Every slash: who was credited, how much, and when the market said it would be withdrawable.
    address[] private _slashedTo;
    uint256[] private _slashAmounts;
    uint256[] private _slashAvailableAt;
    /// @dev Slashed bonds each account has withdrawn (stake-token withdrawals less fee credits).
    mapping(address account => uint256) public stakeCreditWithdrawn;
    /// @dev Withdrawals that paid slashed bonds: shows the walk reaches them.
    uint256 public stakeCreditWithdrawals;

    constructor(InferenceMarket market_, TestToken feeToken_, TestToken stakeToken_, ModelRegistry registry_) {
        market = market_;
        feeToken = feeToken_;
        stakeToken = stakeToken_;
        registry = registry_;
        for (uint256 i = 0; i < _ACTORS; ++i) {
            address a = actor(i);
            feeToken_.mint(a, type(uint96).max);
            stakeToken_.mint(a, type(uint96).max);
            VM.startPrank(a);
            feeToken_.approve(address(market_), type(uint256).max);
            stakeToken_.approve(address(market_), type(uint256).max);
            VM.stopPrank();
        }
    }

    /// @dev Completes the two-step transfer of the market's ownership to this handler.
    function acceptGovernance() external {
        market.acceptOwnership();
    }

    /// @dev Registers the two models (ids 1 and 2) with this handler as their owner.
    function registerModels(uint256 circuitId, uint256 batchCircuitId) external {
        uint256[] memory sizes = new uint256[](1);
        uint256[] memory ids = new uint256[](1);
        (sizes[0], ids[0]) = (2, batchCircuitId);
        IERC20[2] memory tokens = [IERC20(feeToken), IERC20(stakeToken)];
        for (uint256 i = 0; i < MODELS; ++i) {
            IModelRegistry.ModelTerms memory t = IModelRegistry.ModelTerms({
                feeToken: tokens[i],
                price: 1 ether,
                royaltyRecipient: address(this),
                previousVersion: 0,
                metadataURI: "",
                onnxHash: 0
            });
            registry.registerCommittedModel(t, circuitId, 1 + i, sizes, ids);
        }
    }

    function actor(uint256 seed) public pure returns (address) {
        return address(uint160(0x1000 + (seed % _ACTORS)));
    }

    function token(uint256 seed) public view returns (IERC20) {
        return seed % 2 == 0 ? IERC20(feeToken) : IERC20(stakeToken);
    }

    function request(uint256 actorSeed, uint256 modelSeed, uint32 ttl) external {
        uint256 modelId = 1 + (modelSeed % MODELS);
        uint64 deadline = uint64(block.timestamp) + 1 + (ttl % 2 days);
        IInferenceMarket.Request memory r = RequestTerms.opened(registry, actor(actorSeed), modelId, 42, deadline);
        VM.prank(r.requester);
        try market.requestInference(modelId, 42, "", deadline, type(uint256).max) returns (uint256 id) {
            _terms[id] = r;
        } catch {}
    }

    /// @dev Two or three requests in one call, with one transfer.
    function requestMany(uint256 actorSeed, uint256 modelSeed, uint32 ttl, bool three) external {
        uint256 modelId = 1 + (modelSeed % MODELS);
        uint64 deadline = uint64(block.timestamp) + 1 + (ttl % 2 days);
        uint256 n = three ? 3 : 2;
        uint256[] memory commitments = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) commitments[i] = 43 + i;
        address requester = actor(actorSeed);
        IInferenceMarket.Request memory r = RequestTerms.opened(registry, requester, modelId, 0, deadline);
        VM.prank(requester);
        try market.requestInferences(modelId, commitments, new bytes[](n), deadline, type(uint256).max) returns (
            uint256 first
        ) {
            for (uint256 i = 0; i < n; ++i) {
                r.inputCommitment = commitments[i];
                _terms[first + i] = r;
            }
        } catch {}
    }

    function claim(uint256 actorSeed, uint256 requestSeed) external {
        uint256 id = _id(requestSeed); // before the prank, which applies to the next call only
        address v = actor(actorSeed);
        IInferenceMarket.Request memory r = _terms[id];
        IInferenceMarket.Request memory c = RequestTerms.claimed(r, market, v);
        VM.prank(v);
        try market.claim(id, r) {
            _terms[id] = c;
        } catch {}
    }

    /// @dev Two requests claimed in one call, in the order the seeds give.
    function claimMany(uint256 actorSeed, uint256 seedA, uint256 seedB) external {
        uint256[] memory ids = new uint256[](2);
        (ids[0], ids[1]) = (_id(seedA), _id(seedB));
        address v = actor(actorSeed);
        IInferenceMarket.Request[] memory rs = new IInferenceMarket.Request[](2);
        (rs[0], rs[1]) = (_terms[ids[0]], _terms[ids[1]]);
        IInferenceMarket.Request[2] memory cs = [
            RequestTerms.claimed(rs[0], market, v),
            RequestTerms.claimed(rs[1], market, v)
        ];
        VM.prank(v);
        try market.claimBatch(ids, rs) {
            (_terms[ids[0]], _terms[ids[1]]) = (cs[0], cs[1]);
        } catch {}
    }

    function fulfil(uint256 actorSeed, uint256 requestSeed) external {
        uint256 id = _id(requestSeed);
        uint256[8] memory proof;
        uint256 claimerStake = _claimerStake(id);
        IInferenceMarket.Request memory r = _terms[id];
        VM.prank(actor(actorSeed));
        try market.fulfil(id, r, 7, proof) {
            fulfilled[id] = true;
            _settled(id);
            if (_claimerStake(id) < claimerStake) _slashed(id);
        } catch {}
    }

    /// @dev Two requests in one batch, in the order the seeds give: a repeat or a wrong order must
    /// revert, or the request would be counted settled twice.
    function fulfilBatch(uint256 actorSeed, uint256 seedA, uint256 seedB) external {
        uint256[] memory ids = new uint256[](2);
        (ids[0], ids[1]) = (_id(seedA), _id(seedB));
        uint256[] memory outputs = new uint256[](2);
        (outputs[0], outputs[1]) = (7, 8);
        uint256[8] memory proof;
        uint256[2] memory claimerStakes = [_claimerStake(ids[0]), _claimerStake(ids[1])];
        IInferenceMarket.Request[] memory rs = new IInferenceMarket.Request[](2);
        (rs[0], rs[1]) = (_terms[ids[0]], _terms[ids[1]]);
        VM.prank(actor(actorSeed));
        try market.fulfilBatch(ids, rs, outputs, proof) {
            for (uint256 i = 0; i < 2; ++i) {
                fulfilled[ids[i]] = true;
                _settled(ids[i]);
                if (_claimerStake(ids[i]) < claimerStakes[i]) _slashed(ids[i]);
            }
        } catch {}
    }

    function refund(uint256 requestSeed) external {
        uint256 id = _id(requestSeed);
        uint256 claimerStake = _claimerStake(id);
        try market.refund(id, _terms[id]) {
            refunded[id] = true;
            _settled(id);
            if (_claimerStake(id) < claimerStake) _slashed(id);
        } catch {}
    }

    function stake(uint256 actorSeed, uint96 amount) external {
        VM.prank(actor(actorSeed));
        try market.stake(amount % 300 ether) {} catch {}
    }

    function unstake(uint256 actorSeed, uint96 amount) external {
        VM.prank(actor(actorSeed));
        try market.unstake(amount % 300 ether) {} catch {}
    }

    function withdrawStake(uint256 actorSeed) external {
        VM.prank(actor(actorSeed));
        try market.withdrawStake() {} catch {}
    }

    function withdraw(uint256 actorSeed, uint256 tokenSeed) external {
        IERC20 t = token(tokenSeed);
        address a = actor(actorSeed);
        uint256 feeCredit = market.balanceOf(a, t);
        uint256 before = t.balanceOf(a);
        VM.prank(a);
        try market.withdraw(t) {
            uint256 stakeCreditPaid = t.balanceOf(a) - before - feeCredit;
            if (stakeCreditPaid != 0) {
                stakeCreditWithdrawn[a] += stakeCreditPaid;
                ++stakeCreditWithdrawals;
            }
        } catch {}
    }

    /// @dev Waits out one unbonding delay, then withdraws the stake token: the walk reaches slashed
    /// bonds that have matured (a plain warp is at most a day, shorter than any delay).
    function withdrawStakeTokenLater(uint256 actorSeed) external {
        VM.warp(block.timestamp + market.params().unbondingDelay);
        this.withdraw(actorSeed, 1);
    }

    function warp(uint32 seconds_) external {
        VM.warp(block.timestamp + (seconds_ % 1 days));
    }

    /// @dev Rare (1 call in 16), or nearly every claim would overlap a pause and never be slashed.
    function togglePause(uint8 seed) external {
        if (seed % 16 != 0) return;
        if (market.paused()) market.unpause();
        else market.pause();
    }

    /// @dev Risk parameters within their bounds: raised ones are queued, lowered ones apply at once.
    function setRiskParams(uint32 ttl, uint32 delay, uint96 bond, uint96 minStake) external {
        IInferenceMarket.Params memory p = market.params();
        p.maxRequestTtl = 1 hours + (ttl % (MARKET_MAX_REQUEST_TTL - 1 hours));
        p.unbondingDelay = p.maxRequestTtl + 1 + (delay % (MARKET_MAX_UNBONDING_DELAY - p.maxRequestTtl));
        p.claimBond = 1 ether + (bond % 30 ether);
        p.minStake = minStake % 150 ether;
        market.setParams(p);
    }

    function applyParams() external {
        try market.applyParams() {} catch {}
    }

    /// @dev Slashed bonds credited to `account` whose lock, as announced at the slash, has ended.
    function maturedSlashesOf(address account) external view returns (uint256 total) {
        for (uint256 i = 0; i < _slashedTo.length; ++i) {
            if (_slashedTo[i] == account && _slashAvailableAt[i] <= block.timestamp) total += _slashAmounts[i];
        }
    }

    function setFees(uint16 protocolBps, uint16 royaltyBps) external {
        IInferenceMarket.Params memory p = market.params();
        p.protocolFeeBps = protocolBps % 1_001;
        p.royaltyBps = royaltyBps % 3_001;
        market.setParams(p);
    }

    function setPrice(uint256 modelSeed, uint96 price) external {
        registry.setPrice(1 + (modelSeed % MODELS), price % 10 ether);
    }

    function claimProtocolFees(uint256 tokenSeed) external {
        try market.claimProtocolFees(token(tokenSeed), address(this)) {} catch {}
    }

    /// @dev The handler withdraws its own royalties too, so credits leave the market in both tokens.
    function withdrawRoyalties(uint256 tokenSeed) external {
        try market.withdraw(token(tokenSeed)) {} catch {}
    }

    function _id(uint256 seed) private view returns (uint256) {
        uint256 count = market.requestCount();
        return count == 0 ? 0 : 1 + (seed % count);
    }

    /// @dev The recorded terms of request `id`.
    function terms(uint256 id) external view returns (IInferenceMarket.Request memory) {
        return _terms[id];
    }

    function statusOf(uint256 id) public view returns (IInferenceMarket.RequestStatus status) {
        (status, ) = market.requestState(id);
    }

    function _claimerStake(uint256 id) private view returns (uint256) {
        return market.stakeOf(_terms[id].claimer).amount;
    }

    function _slashed(uint256 id) private {
        ++slashes;
        IInferenceMarket.Request memory r = _terms[id];
        _slashedTo.push(r.requester);
        _slashAmounts.push(r.bond);
        _slashAvailableAt.push(block.timestamp + market.params().unbondingDelay);
    }

    function _settled(uint256 id) private {
        if (++settlements[id] > 1) ++settledTwice;
    }
}

/**
 * @dev Invariants of docs/invariants.md, checked after every step of random action sequences
 * (64 sequences of 100 calls each, enough to reach claims, slashes, refunds and fee splits in
 * every campaign while keeping `npm test` fast).
 */
contract InferenceMarketInvariantsTest {
    InferenceMarket private _market;
    TestToken private _feeToken;
    TestToken private _stakeToken;
    ModelRegistry private _registry;
    MarketHandler private _handler;

    error InvariantBroken(string what);

    function setUp() public {
        CircuitRegistry circuits = new CircuitRegistry(0, address(this));
        SettableVerifier verifier = new SettableVerifier(true);
        uint256 circuitId = circuits.registerCircuit(address(verifier), 0, 4, 1, 0, "");
        uint256 batchCircuitId = circuits.registerCircuit(address(verifier), 0, 4, 2, 0, "");
        ModelRegistry registry = new ModelRegistry(circuits, true);
        _registry = registry;
        _feeToken = new TestToken();
        _stakeToken = new TestToken();
        _market = new InferenceMarket(
            registry,
            _stakeToken,
            address(this),
            IInferenceMarket.Params({
                protocolFeeBps: 500,
                royaltyBps: 1_000,
                claimWindow: 10 minutes,
                maxRequestTtl: 2 days,
                unbondingDelay: 3 days,
                minStake: 100 ether,
                claimBond: 10 ether
            })
        );
        _handler = new MarketHandler(_market, _feeToken, _stakeToken, registry);
        // The handler is governance of the market and owner of both models.
        _handler.registerModels(circuitId, batchCircuitId);
        _market.transferOwnership(address(_handler));
        _handler.acceptGovernance();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(_handler);
    }

    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 100
    function invariant_tokensHeldEqualEscrowedPlusCreditedPlusProtocolFees() public view {
        (uint256 escrowed, uint256 credited, uint256 protocolFees) = _market.feeAccounts(_feeToken);
        (uint256 escrowedS, uint256 creditedS, uint256 protocolFeesS) = _market.feeAccounts(_stakeToken);
        (uint256 staked, uint256 stakeCredited) = _market.stakeAccounts();
        _check(_feeToken.balanceOf(address(_market)) == escrowed + credited + protocolFees, "fee token accounts");
        _check(
            _stakeToken.balanceOf(address(_market)) == staked + stakeCredited + escrowedS + creditedS + protocolFeesS,
            "stake token accounts (stake and fees)"
        );

        // The totals are the sums of the per-account entries (actors, plus the handler as model owner).
        uint256 stakes;
        uint256 feeCredits = _market.balanceOf(address(_handler), _feeToken);
        uint256 feeCreditsS = _market.balanceOf(address(_handler), _stakeToken);
        uint256 stakeCredits;
        for (uint256 i = 0; i < 4; ++i) {
            address a = _handler.actor(i);
            IInferenceMarket.Stake memory s = _market.stakeOf(a);
            stakes += s.amount + s.unbonding;
            feeCredits += _market.balanceOf(a, _feeToken);
            feeCreditsS += _market.balanceOf(a, _stakeToken);
            stakeCredits += _market.stakeCreditOf(a);
        }
        _check(staked == stakes, "staked is the sum of stakes");
        _check(credited == feeCredits, "credited is the sum of fee credits");
        _check(creditedS == feeCreditsS, "credited (stake token) is the sum of fee credits");
        _check(stakeCredited == stakeCredits, "stake credited is the sum of slashes credited");
    }

    /// Audit finding F1: a slashed bond leaves the market no sooner than one unbonding delay after
    /// the slash, so stake never skips the delay by being slashed to an accomplice.
    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 100
    function invariant_slashedStakeLeavesOnlyAfterTheDelay() public view {
        for (uint256 i = 0; i < 4; ++i) {
            address a = _handler.actor(i);
            _check(_handler.stakeCreditWithdrawn(a) <= _handler.maturedSlashesOf(a), "slashed stake left early");
        }
    }

    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 100
    function invariant_escrowedIsTheFeesOfUnsettledRequests() public view {
        uint256 open;
        uint256 openS;
        for (uint256 id = 1; id <= _market.requestCount(); ++id) {
            IInferenceMarket.Request memory r = _handler.terms(id);
            IInferenceMarket.RequestStatus status = _handler.statusOf(id);
            _check(
                status == IInferenceMarket.RequestStatus.Refunded ||
                    status == IInferenceMarket.RequestStatus.Fulfilled ||
                    _market.requestWord(r, status) == _wordOf(id),
                "the recorded terms are the request's"
            );
            if (status == IInferenceMarket.RequestStatus.Open || status == IInferenceMarket.RequestStatus.Claimed) {
                if (address(r.feeToken) == address(_feeToken)) open += r.fee;
                else openS += r.fee;
            }
            _check(
                address(r.feeToken) == address(_registry.model(r.modelId).feeToken),
                "request paid in its model's token"
            );
        }
        (uint256 escrowed, , ) = _market.feeAccounts(_feeToken);
        (uint256 escrowedS, , ) = _market.feeAccounts(_stakeToken);
        _check(escrowed == open, "escrow");
        _check(escrowedS == openS, "escrow (stake token)");
    }

    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 100
    function invariant_requestPaidAtMostOnce() public view {
        _check(_handler.settledTwice() == 0, "a request was settled twice");
    }

    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 100
    function invariant_refundAndPayoutExclusive() public view {
        for (uint256 id = 1; id <= _market.requestCount(); ++id) {
            bool paid = _handler.fulfilled(id);
            bool refunded = _handler.refunded(id);
            _check(!(paid && refunded), "fulfilled and refunded");
            IInferenceMarket.RequestStatus s = _handler.statusOf(id);
            _check(paid == (s == IInferenceMarket.RequestStatus.Fulfilled), "status agrees with payout");
            _check(refunded == (s == IInferenceMarket.RequestStatus.Refunded), "status agrees with refund");
        }
    }

    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 100
    function invariant_stakeCoversBondedObligations() public view {
        for (uint256 i = 0; i < 4; ++i) {
            address v = _handler.actor(i);
            IInferenceMarket.Stake memory s = _market.stakeOf(v);
            _check(s.amount >= s.bonded, "stake below bonds");
            uint256 owed;
            for (uint256 id = 1; id <= _market.requestCount(); ++id) {
                IInferenceMarket.Request memory r = _handler.terms(id);
                if (_handler.statusOf(id) == IInferenceMarket.RequestStatus.Claimed && r.claimer == v) owed += r.bond;
            }
            _check(s.bonded == owed, "bonded equals the bonds of open claims");
        }
    }

    /// The market's balance of each token covers what it owes, counted from the outside: the fees
    /// of the open requests (from their recorded terms), every account's fee and slashed-bond
    /// credits, the protocol fees and every stake (active and unbonding); the market's own totals
    /// are not used.
    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 100
    function invariant_balanceCoversEscrowCreditsAndStake() public view {
        uint256[2] memory owed; // fee token, stake token
        for (uint256 id = 1; id <= _market.requestCount(); ++id) {
            IInferenceMarket.RequestStatus status = _handler.statusOf(id);
            if (status != IInferenceMarket.RequestStatus.Open && status != IInferenceMarket.RequestStatus.Claimed)
                continue;
            IInferenceMarket.Request memory r = _handler.terms(id);
            owed[address(r.feeToken) == address(_feeToken) ? 0 : 1] += r.fee;
        }
        address[5] memory accounts = [
            _handler.actor(0),
            _handler.actor(1),
            _handler.actor(2),
            _handler.actor(3),
            address(_handler)
        ];
        for (uint256 i = 0; i < accounts.length; ++i) {
            owed[0] += _market.balanceOf(accounts[i], _feeToken);
            owed[1] += _market.balanceOf(accounts[i], _stakeToken) + _market.stakeCreditOf(accounts[i]);
            IInferenceMarket.Stake memory s = _market.stakeOf(accounts[i]);
            owed[1] += s.amount + s.unbonding;
        }
        (, , uint256 protocolFees) = _market.feeAccounts(_feeToken);
        (, , uint256 protocolFeesS) = _market.feeAccounts(_stakeToken);
        _check(
            _feeToken.balanceOf(address(_market)) >= owed[0] + protocolFees,
            "fee token balance covers what is owed"
        );
        _check(
            _stakeToken.balanceOf(address(_market)) >= owed[1] + protocolFeesS,
            "stake token balance covers what is owed"
        );
    }

    function _wordOf(uint256 id) private view returns (bytes32 word) {
        (, word) = _market.requestState(id);
    }

    function _check(bool condition, string memory what) private pure {
        if (!condition) revert InvariantBroken(what);
    }
}
