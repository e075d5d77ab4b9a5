// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IInferenceMarket} from "../../contracts/interfaces/IInferenceMarket.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {InferenceMarket} from "../../contracts/market/InferenceMarket.sol";
import {CircuitRegistry} from "../../contracts/registry/CircuitRegistry.sol";
import {ModelRegistry} from "../../contracts/registry/ModelRegistry.sol";
import {SettableVerifier} from "../../contracts/test/SettableVerifier.sol";
import {TestToken} from "../../contracts/test/TestToken.sol";

import {RequestTerms} from "./RequestTerms.sol";
import {VM} from "./Vm.sol";

// The fixture's internal members are the vocabulary every test reads (as in forge-std's Test):
// they keep plain names; only private members take the leading underscore.
// solhint-disable private-vars-leading-underscore

/// @dev Shared deployment for the Solidity tests of the market: a circuit registry (no delay) with
/// a single-inference circuit and batch circuits of 2 and 4 (settable verifiers that say yes), the
/// permissionless model registry, separate fee and stake tokens, one committed model registered by
/// MODEL_OWNER, and funded, approved actors. The test contract is governance of both the circuit
/// registry and the market.
abstract contract MarketFixture {
    uint256 internal constant PRICE = 1 ether;
    uint256 internal constant COMMITMENT = 42;
    uint256 internal constant OUTPUT = 7;
    uint256 internal constant WEIGHTS = uint256(keccak256("weights")) >> 8;
    uint64 internal constant TTL = 1 hours;
    uint128 internal constant MIN_STAKE = 100 ether;
    uint128 internal constant BOND = 10 ether;

    address internal constant REQUESTER = address(0xA11CE);
    address internal constant VALIDATOR = address(0xB0B);
    address internal constant OTHER_VALIDATOR = address(0xCA701);
    address internal constant MODEL_OWNER = address(0xD0D0);
    address internal constant NOBODY = address(0xE11E);

    CircuitRegistry internal circuits;
    ModelRegistry internal registry;
    TestToken internal feeToken;
    TestToken internal stakeToken;
    SettableVerifier internal verifier;
    SettableVerifier internal batchVerifier;
    InferenceMarket internal market;
    uint256 internal circuitId;
    uint256 internal batch2CircuitId;
    uint256 internal batch4CircuitId;
    uint256 internal modelId;
    uint256[8] internal proof;

    /// @dev The terms of every request the helpers opened or claimed, as the market hashed them:
    /// the market stores only that hash, and every call on a request takes its terms.
    mapping(uint256 requestId => IInferenceMarket.Request) internal reqs;

    /// @dev Tokens whose held balance {heldEqualsAccounts} checks against the market's accounts.
    IERC20[] internal trackedTokens;

    error AssertionFailed(string what);

    function setUp() public virtual {
        circuits = new CircuitRegistry(0, address(this));
        verifier = new SettableVerifier(true);
        batchVerifier = new SettableVerifier(true);
        circuitId = circuits.registerCircuit(address(verifier), keccak256("vk"), 4, 1, keccak256("manifest"), "m");
        batch2CircuitId = circuits.registerCircuit(address(batchVerifier), keccak256("vk2"), 4, 2, 0, "");
        batch4CircuitId = circuits.registerCircuit(address(batchVerifier), keccak256("vk4"), 4, 4, 0, "");
        registry = new ModelRegistry(circuits, true);
        feeToken = new TestToken();
        stakeToken = new TestToken();
        market = new InferenceMarket(registry, stakeToken, address(this), defaultParams());
        modelId = registerModel(MODEL_OWNER, feeToken, PRICE);
        trackedTokens.push(feeToken);
        trackedTokens.push(stakeToken);
        address[4] memory actors = [REQUESTER, VALIDATOR, OTHER_VALIDATOR, NOBODY];
        for (uint256 i = 0; i < actors.length; ++i) fund(actors[i]);
        stakeAs(VALIDATOR, MIN_STAKE);
        stakeAs(OTHER_VALIDATOR, MIN_STAKE);
    }

    function defaultParams() internal pure returns (IInferenceMarket.Params memory) {
        return
            IInferenceMarket.Params({
                protocolFeeBps: 500,
                royaltyBps: 1_000,
                claimWindow: 10 minutes,
                maxRequestTtl: 1 days,
                unbondingDelay: 2 days,
                minStake: MIN_STAKE,
                claimBond: BOND
            });
    }

    function terms(IERC20 token, uint256 price) internal pure returns (IModelRegistry.ModelTerms memory) {
        return
            IModelRegistry.ModelTerms({
                feeToken: token,
                price: price,
                royaltyRecipient: MODEL_OWNER,
                previousVersion: 0,
                metadataURI: "ipfs://model",
                onnxHash: keccak256("onnx")
            });
    }

    /// @dev Registers, as `owner`, a committed model on the fixture's circuits (batches of 2 and 4).
    function registerModel(address owner, IERC20 token, uint256 price) internal returns (uint256) {
        uint256[] memory sizes = new uint256[](2);
        uint256[] memory ids = new uint256[](2);
        (sizes[0], sizes[1]) = (2, 4);
        (ids[0], ids[1]) = (batch2CircuitId, batch4CircuitId);
        IModelRegistry.ModelTerms memory t = terms(token, price);
        t.royaltyRecipient = owner;
        VM.prank(owner);
        return registry.registerCommittedModel(t, circuitId, WEIGHTS, sizes, ids);
    }

    function fund(address account) internal {
        fundWith(feeToken, account);
        fundWith(stakeToken, account);
    }

    function fundWith(TestToken token, address account) internal {
        token.mint(account, type(uint128).max);
        VM.prank(account);
        token.approve(address(market), type(uint256).max);
    }

    function stakeAs(address validator, uint256 amount) internal {
        VM.prank(validator);
        market.stake(amount);
    }

    function open() internal returns (uint256) {
        return openFor(modelId, PRICE);
    }

    function openFor(uint256 model, uint256 maxFee) internal returns (uint256) {
        return requestAs(REQUESTER, model, COMMITMENT, uint64(block.timestamp) + TTL, maxFee);
    }

    /// @dev Opens a request as `requester` and records its terms.
    function requestAs(
        address requester,
        uint256 model,
        uint256 commitment,
        uint64 deadline,
        uint256 maxFee
    ) internal returns (uint256 requestId) {
        // The market is called first: a test may expect it to revert, and the expectation is for
        // the next call the test makes. The terms are read after (same block, same price).
        VM.prank(requester);
        requestId = market.requestInference(model, commitment, "", deadline, maxFee);
        track(requestId, termsOf(requester, model, commitment, deadline));
    }

    /// @dev The terms of a request for `model` opened now by `requester` (fee: the model's price now).
    function termsOf(
        address requester,
        uint256 model,
        uint256 commitment,
        uint64 deadline
    ) internal view returns (IInferenceMarket.Request memory) {
        return RequestTerms.opened(registry, requester, model, commitment, deadline);
    }

    /// @dev Records `r` as the terms of `requestId` if the market's word agrees (a call that an
    /// expected revert swallowed changes nothing).
    function track(uint256 requestId, IInferenceMarket.Request memory r) internal {
        (IInferenceMarket.RequestStatus status, bytes32 word) = market.requestState(requestId);
        if (status != IInferenceMarket.RequestStatus.None && word == market.requestWord(r, status)) reqs[requestId] = r;
    }

    /// @dev The terms of request `requestId` once `validator` claims it now.
    function claimedTerms(
        uint256 requestId,
        address validator
    ) internal view returns (IInferenceMarket.Request memory) {
        return RequestTerms.claimed(reqs[requestId], market, validator);
    }

    function claimAs(address validator, uint256 requestId) internal {
        IInferenceMarket.Request memory r = reqs[requestId];
        VM.prank(validator);
        market.claim(requestId, r);
        track(requestId, claimedTerms(requestId, validator));
    }

    function fulfilAs(address validator, uint256 requestId) internal {
        IInferenceMarket.Request memory r = reqs[requestId];
        VM.prank(validator);
        market.fulfil(requestId, r, OUTPUT, proof);
    }

    function refundOf(uint256 requestId) internal {
        market.refund(requestId, reqs[requestId]);
    }

    /// @dev The recorded terms of requests `ids`, in order.
    function batchTerms(uint256[] memory ids) internal view returns (IInferenceMarket.Request[] memory rs) {
        rs = new IInferenceMarket.Request[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) rs[i] = reqs[ids[i]];
    }

    function statusOf(uint256 requestId) internal view returns (IInferenceMarket.RequestStatus status) {
        (status, ) = market.requestState(requestId);
    }

    /// @dev Whether request `requestId` was fulfilled singly with `output` for `model` on `commitment`.
    function attestedByRequest(
        uint256 requestId,
        uint256 model,
        uint256 commitment,
        uint256 output
    ) internal view returns (bool) {
        return market.isAttestedByRequest(market.factOf(model, commitment, output), requestId);
    }

    /// @dev Whether `attest` recorded the fact (a root of one leaf, an empty inclusion proof).
    function attestedAlone(uint256 model, uint256 commitment, uint256 output) internal view returns (bool) {
        bytes32 fact = market.factOf(model, commitment, output);
        return market.isAttested(fact, keccak256(abi.encode(fact)), new bytes32[](0));
    }

    /**
     * @dev The Merkle root of `facts` and the inclusion proof of `facts[index]`, built as the
     * market documents (leaves hash each fact again, pairs are hashed sorted, an odd node is
     * carried up), independently of the market's own code.
     */
    function inclusion(
        bytes32[] memory facts,
        uint256 index
    ) internal pure returns (bytes32 root, bytes32[] memory path) {
        uint256 n = facts.length;
        bytes32[] memory level = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) level[i] = keccak256(abi.encode(facts[i]));
        bytes32[] memory siblings = new bytes32[](256);
        uint256 depth = 0;
        while (n > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < n) siblings[depth++] = level[sibling];
            for (uint256 i = 0; i < n / 2; ++i) {
                (bytes32 a, bytes32 b) = (level[2 * i], level[2 * i + 1]);
                level[i] = a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
            }
            if (n % 2 == 1) level[n / 2] = level[n - 1];
            n = n / 2 + (n % 2);
            index /= 2;
        }
        root = level[0];
        path = new bytes32[](depth);
        for (uint256 i = 0; i < depth; ++i) path[i] = siblings[i];
    }

    /// @dev Sets `p` as governance; a change that was queued (it raises a validator's risk) is
    /// put into effect once its notice has passed (the clock moves on by one unbonding delay).
    function setParamsNow(IInferenceMarket.Params memory p) internal {
        market.setParams(p);
        (, uint64 effectiveAt) = market.pendingParams();
        if (effectiveAt != 0) {
            VM.warp(effectiveAt);
            market.applyParams();
        }
    }

    function withdrawAs(address account, IERC20 token) internal {
        VM.prank(account);
        market.withdraw(token);
    }

    /// @dev The four signals a committed single-inference proof of `requestId` by `prover` has.
    function signalsFor(uint256 requestId, address prover, uint256 output) internal view returns (uint256[4] memory) {
        return [WEIGHTS, reqs[requestId].inputCommitment, output, market.binding(requestId, prover)];
    }

    /// @dev For every tracked token: held == escrowed + credited + protocol fees (+ stake totals
    /// if it is the stake token).
    function heldEqualsAccounts() internal view returns (bool) {
        for (uint256 i = 0; i < trackedTokens.length; ++i) {
            if (!heldEqualsAccountsOf(trackedTokens[i])) return false;
        }
        return true;
    }

    function heldEqualsAccountsOf(IERC20 token) internal view returns (bool) {
        (uint256 escrowed, uint256 credited, uint256 protocolFees) = market.feeAccounts(token);
        uint256 expected = escrowed + credited + protocolFees;
        if (address(token) == address(market.stakeToken())) {
            (uint256 staked, uint256 stakeCredited) = market.stakeAccounts();
            expected += staked + stakeCredited;
        }
        return token.balanceOf(address(market)) == expected;
    }

    function check(bool condition, string memory what) internal pure {
        if (!condition) revert AssertionFailed(what);
    }
}
