// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {ICircuitRegistry} from "../../contracts/interfaces/ICircuitRegistry.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {Groth16} from "../../contracts/libraries/Groth16.sol";
import {ProofBinding} from "../../contracts/libraries/ProofBinding.sol";
import {CircuitRegistry} from "../../contracts/registry/CircuitRegistry.sol";
import {ModelRegistry} from "../../contracts/registry/ModelRegistry.sol";

import {MarketFixture} from "./MarketFixture.sol";
import {TestKeys} from "./TestKeys.sol";
import {VM} from "./Vm.sol";

// Test names follow the test_<function>_<outcome> convention, not mixedCase.
// solhint-disable func-name-mixedcase

/**
 * @dev Tests of the permissionless registry: both registration modes and every refusal, versions,
 * keys held as data, and the model owner's powers (price, activity, metadata, royalty recipient,
 * two-step ownership).
 */
contract ModelRegistryTest is MarketFixture {
    address private constant _NEW_OWNER = address(0x0E1);
    address private constant _TREASURY = address(0x7EA);
    uint256 private constant _R = ProofBinding.SNARK_SCALAR_FIELD;

    function _unauthorized(address account) private view returns (bytes memory) {
        return abi.encodeWithSelector(IModelRegistry.ModelRegistryUnauthorized.selector, modelId, account);
    }

    /// @dev A key for `nPublic` signals that the registry accepts.
    function _keyFor(uint256 nPublic, bytes32 seed) private view returns (bytes memory) {
        return TestKeys.key(nPublic, seed);
    }

    /// @dev `key` with delta overwritten by gamma.
    function _gammaAsDelta(bytes memory key) private pure returns (bytes memory) {
        for (uint256 i = 0; i < 128; ++i) key[Groth16.DELTA_OFFSET + i] = key[Groth16.GAMMA_OFFSET + i];
        return key;
    }

    function _related(uint256 offset) private pure returns (bytes memory) {
        return
            abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidKey.selector, Groth16.KeyDefect.Related, offset);
    }

    function _none() private pure returns (uint256[] memory) {
        return new uint256[](0);
    }

    function _noKeys() private pure returns (bytes[] memory) {
        return new bytes[](0);
    }

    function _one(uint256 value) private pure returns (uint256[] memory a) {
        a = new uint256[](1);
        a[0] = value;
    }

    function _two(uint256 x, uint256 y) private pure returns (uint256[] memory a) {
        a = new uint256[](2);
        (a[0], a[1]) = (x, y);
    }

    function _keys(bytes memory x, bytes memory y) private pure returns (bytes[] memory a) {
        a = new bytes[](2);
        (a[0], a[1]) = (x, y);
    }

    function _baked(bytes memory key) private returns (uint256) {
        VM.prank(MODEL_OWNER);
        return registry.registerBakedModel(terms(feeToken, PRICE), key, _none(), _noKeys());
    }

    function _committed(IModelRegistry.ModelTerms memory t) private returns (uint256) {
        VM.prank(MODEL_OWNER);
        return registry.registerCommittedModel(t, circuitId, WEIGHTS, _none(), _none());
    }

    // ------------------------------------------------------------ constructor

    function test_constructor_revertsOnZeroCircuitRegistry() public {
        VM.expectRevert(IModelRegistry.ModelRegistryZeroAddress.selector);
        new ModelRegistry(ICircuitRegistry(address(0)), false);
        check(address(registry.circuitRegistry()) == address(circuits), "circuit registry stored");
        check(registry.BAKED_PUBLIC_SIGNALS() == 3 && registry.BATCH_PUBLIC_SIGNALS() == 3, "baked signals");
        check(registry.COMMITTED_PUBLIC_SIGNALS() == 4, "committed signals");
    }

    function test_constructor_fixesWhetherInsecureCeremoniesAreAccepted() public {
        check(registry.acceptsInsecureCeremonies(), "the fixture's development registry accepts them");
        check(!new ModelRegistry(circuits, false).acceptsInsecureCeremonies(), "a production registry refuses them");
        (uint256 ceremony, bool insecure) = registry.universalCeremony(modelId);
        check(ceremony == 0 && !insecure, "a committed model names no ceremony");
        (ceremony, insecure) = registry.universalCeremony(99);
        check(ceremony == 0 && !insecure, "an unknown model names no ceremony");
    }

    // ------------------------------------------------------------ registerCommittedModel

    function test_registerCommittedModel_storesEverything() public view {
        IModelRegistry.Model memory m = registry.model(modelId);
        check(modelId == 1 && registry.modelCount() == 1, "first id is 1");
        check(m.mode == IModelRegistry.Mode.Committed && m.active && m.version == 1, "mode, active, version");
        check(m.owner == MODEL_OWNER && m.royaltyRecipient == MODEL_OWNER, "owner and recipient");
        check(address(m.feeToken) == address(feeToken) && m.price == PRICE, "fee token and price");
        check(m.verifier == address(verifier) && m.circuitId == circuitId, "circuit and its verifier");
        check(m.weightsCommitment == WEIGHTS && m.vkHash == keccak256("vk"), "commitment and circuit vkHash");
        check(m.previousVersion == 0 && registry.nextVersion(modelId) == 0, "no versions");
        (IModelRegistry.Mode mode, address v, uint256 w, address recipient) = registry.proofTerms(modelId);
        check(mode == IModelRegistry.Mode.Committed && v == address(verifier), "proof terms: mode and verifier");
        check(w == WEIGHTS && recipient == MODEL_OWNER, "proof terms: commitment and recipient");
        check(registry.batchCircuit(modelId, 4) == batch4CircuitId, "batch circuit");
        check(registry.batchVerifier(modelId, 2) == address(batchVerifier), "batch verifier");
        check(registry.verificationKey(modelId, 1).length == 0, "committed models hold no key");
        (string memory uri, bytes32 onnx) = registry.metadata(modelId);
        check(keccak256(bytes(uri)) == keccak256("ipfs://model") && onnx == keccak256("onnx"), "metadata");
    }

    function test_registerCommittedModel_isPermissionless() public {
        IModelRegistry.ModelTerms memory t = terms(feeToken, 0);
        VM.expectEmit();
        emit IModelRegistry.ModelRegistered(
            2,
            NOBODY,
            IModelRegistry.Model({
                mode: IModelRegistry.Mode.Committed,
                active: true,
                version: 1,
                owner: NOBODY,
                royaltyRecipient: MODEL_OWNER,
                feeToken: feeToken,
                price: 0,
                verifier: address(verifier),
                circuitId: circuitId,
                weightsCommitment: WEIGHTS,
                vkHash: keccak256("vk"),
                previousVersion: 0
            })
        );
        VM.prank(NOBODY);
        uint256 id = registry.registerCommittedModel(t, circuitId, WEIGHTS, _none(), _none());
        check(id == 2 && registry.model(id).owner == NOBODY, "anyone registers, and owns what it registers");
    }

    function testFuzz_registerCommittedModel_refusesAZeroOrNonCanonicalCommitment(uint256 weights) public {
        if (weights % 2 == 0) weights = 0;
        else if (weights < _R) weights = _R + (weights % (type(uint256).max - _R));
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidWeightsCommitment.selector, weights));
        registry.registerCommittedModel(terms(feeToken, PRICE), circuitId, weights, _none(), _none());
    }

    function test_registerCommittedModel_acceptsTheLargestCanonicalCommitment() public {
        uint256 id = registry.registerCommittedModel(terms(feeToken, PRICE), circuitId, _R - 1, _none(), _none());
        check(registry.model(id).weightsCommitment == _R - 1, "r - 1 stored");
    }

    function test_registerCommittedModel_refusesAnUnusableCircuit() public {
        IModelRegistry.ModelTerms memory t = terms(feeToken, PRICE);
        uint256[2] memory unknown = [uint256(0), 99];
        for (uint256 i = 0; i < unknown.length; ++i) {
            VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnusableCircuit.selector, unknown[i]));
            registry.registerCommittedModel(t, unknown[i], WEIGHTS, _none(), _none());
        }

        uint256 doomed = circuits.registerCircuit(address(verifier), 0, 4, 1, 0, "");
        circuits.deprecateCircuit(doomed);
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnusableCircuit.selector, doomed));
        registry.registerCommittedModel(t, doomed, WEIGHTS, _none(), _none());

        // A batch circuit must be usable too.
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnusableCircuit.selector, doomed));
        registry.registerCommittedModel(t, circuitId, WEIGHTS, _one(2), _one(doomed));
    }

    function test_registerCommittedModel_refusesACircuitNotYetActive() public {
        CircuitRegistry slow = new CircuitRegistry(1 days, address(this));
        uint256 pending = slow.registerCircuit(address(verifier), 0, 4, 1, 0, "");
        ModelRegistry slowRegistry = new ModelRegistry(slow, false);
        IModelRegistry.ModelTerms memory t = terms(feeToken, PRICE);
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnusableCircuit.selector, pending));
        slowRegistry.registerCommittedModel(t, pending, WEIGHTS, _none(), _none());
        VM.warp(block.timestamp + 1 days);
        check(slowRegistry.registerCommittedModel(t, pending, WEIGHTS, _none(), _none()) == 1, "usable once active");
    }

    function test_registerCommittedModel_refusesACircuitOfTheWrongShape() public {
        IModelRegistry.ModelTerms memory t = terms(feeToken, PRICE);
        uint256 threeSignals = circuits.registerCircuit(address(verifier), 0, 3, 1, 0, "");
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryCircuitShape.selector, threeSignals, 3, 1));
        registry.registerCommittedModel(t, threeSignals, WEIGHTS, _none(), _none());

        // A batch circuit as the single-inference circuit.
        VM.expectRevert(
            abi.encodeWithSelector(IModelRegistry.ModelRegistryCircuitShape.selector, batch4CircuitId, 4, 4)
        );
        registry.registerCommittedModel(t, batch4CircuitId, WEIGHTS, _none(), _none());

        // A batch circuit whose size is not the size it is given for.
        VM.expectRevert(
            abi.encodeWithSelector(IModelRegistry.ModelRegistryCircuitShape.selector, batch4CircuitId, 4, 4)
        );
        registry.registerCommittedModel(t, circuitId, WEIGHTS, _one(2), _one(batch4CircuitId));

        // A batch circuit with the right size but the wrong number of signals.
        uint256 batchThree = circuits.registerCircuit(address(verifier), 0, 3, 2, 0, "");
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryCircuitShape.selector, batchThree, 3, 2));
        registry.registerCommittedModel(t, circuitId, WEIGHTS, _one(2), _one(batchThree));
    }

    function test_registerCommittedModel_refusesABadBatchSizeOrLengthMismatch() public {
        IModelRegistry.ModelTerms memory t = terms(feeToken, PRICE);
        uint256 single = circuitId;
        uint256[2] memory tooSmall = [uint256(0), 1];
        for (uint256 i = 0; i < tooSmall.length; ++i) {
            VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidBatchSize.selector, tooSmall[i]));
            registry.registerCommittedModel(t, single, WEIGHTS, _one(tooSmall[i]), _one(single));
        }
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidBatchSize.selector, 2));
        registry.registerCommittedModel(t, single, WEIGHTS, _two(2, 2), _two(batch2CircuitId, batch2CircuitId));
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryLengthMismatch.selector, 2, 1));
        registry.registerCommittedModel(t, single, WEIGHTS, _two(2, 4), _one(batch2CircuitId));
    }

    // ------------------------------------------------------------ registerBakedModel

    function test_registerBakedModel_writesTheKeysAsDataReadableBackByteForByte() public {
        bytes memory key = _keyFor(3, "single");
        bytes memory key2 = _keyFor(3, "batch2");
        bytes memory key8 = _keyFor(3, "batch8");
        IModelRegistry.ModelTerms memory t = terms(stakeToken, 5);
        t.royaltyRecipient = _TREASURY;
        VM.prank(NOBODY);
        uint256 id = registry.registerBakedModel(t, key, _two(2, 8), _keys(key2, key8));

        IModelRegistry.Model memory m = registry.model(id);
        check(m.mode == IModelRegistry.Mode.Baked && m.owner == NOBODY && m.royaltyRecipient == _TREASURY, "model");
        check(address(m.feeToken) == address(stakeToken) && m.price == 5 && m.version == 1, "terms");
        check(m.vkHash == keccak256(key), "vkHash is keccak256 of the key bytes");
        check(m.circuitId == 0 && m.weightsCommitment == 0, "no circuit, no commitment");
        check(keccak256(registry.verificationKey(id, 1)) == keccak256(key), "single key read back");
        check(keccak256(registry.verificationKey(id, 2)) == keccak256(key2), "batch key 2 read back");
        check(keccak256(registry.verificationKey(id, 8)) == keccak256(key8), "batch key 8 read back");
        check(registry.verificationKey(id, 4).length == 0, "no key for other sizes");
        check(keccak256(m.verifier.code) == keccak256(bytes.concat(hex"00", key)), "data contract: STOP + key");
        check(registry.batchVerifier(id, 8).code.length == key8.length + 1, "batch data contract");
        check(registry.batchCircuit(id, 8) == 0, "baked models have no batch circuit");
        (IModelRegistry.Mode mode, address v, uint256 w, address recipient) = registry.proofTerms(id);
        check(mode == IModelRegistry.Mode.Baked && v == m.verifier && w == 0 && recipient == _TREASURY, "terms");
    }

    function testFuzz_registerBakedModel_refusesAnyOtherKeyLength(uint16 words, uint8 extra) public {
        uint256 length = (uint256(words) % 64) * 32 + (extra % 32);
        VM.assume(length != Groth16.keyLength(3));
        bytes memory key = new bytes(length);
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidKeyLength.selector, length, 3));
        _baked(key);
    }

    /// @dev Every other degenerate key, with the proof it would let anyone forge, is in DegenerateKeys.t.sol.
    function test_registerBakedModel_refusesGammaEqualToDelta() public {
        // Keys are built before each expectation: building one calls precompiles, which a cheatcode
        // expecting the next call would take for that call.
        bytes memory bad = _gammaAsDelta(_keyFor(3, "k"));
        VM.expectRevert(_related(Groth16.DELTA_OFFSET));
        _baked(bad);
        // The same for a batch key.
        IModelRegistry.ModelTerms memory t = terms(feeToken, PRICE);
        bytes[] memory batchKeys = new bytes[](1);
        batchKeys[0] = _gammaAsDelta(_keyFor(3, "b"));
        bytes memory key = _keyFor(3, "k");
        VM.expectRevert(_related(Groth16.DELTA_OFFSET));
        registry.registerBakedModel(t, key, _one(2), batchKeys);
    }

    function test_registerBakedModel_refusesABadBatchKeyOrSize() public {
        IModelRegistry.ModelTerms memory t = terms(feeToken, PRICE);
        bytes memory key = _keyFor(3, "k");
        bytes[] memory shortKey = new bytes[](1);
        shortKey[0] = _keyFor(2, "b");
        VM.expectRevert(
            abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidKeyLength.selector, shortKey[0].length, 3)
        );
        registry.registerBakedModel(t, key, _one(2), shortKey);

        bytes[] memory oneKey = new bytes[](1);
        oneKey[0] = _keyFor(3, "b");
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidBatchSize.selector, 1));
        registry.registerBakedModel(t, key, _one(1), oneKey);
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidBatchSize.selector, 0));
        registry.registerBakedModel(t, key, _one(0), oneKey);
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidBatchSize.selector, 4));
        registry.registerBakedModel(t, key, _two(4, 4), _keys(oneKey[0], oneKey[0]));
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryLengthMismatch.selector, 2, 1));
        registry.registerBakedModel(t, key, _two(2, 4), oneKey);
    }

    // ------------------------------------------------------------ terms, both modes

    function test_register_refusesAFeeTokenWithoutCode() public {
        address[2] memory bad = [address(0), NOBODY];
        bytes memory key = _keyFor(3, "k");
        for (uint256 i = 0; i < bad.length; ++i) {
            IModelRegistry.ModelTerms memory t = terms(IERC20(bad[i]), PRICE);
            VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidFeeToken.selector, bad[i]));
            registry.registerCommittedModel(t, circuitId, WEIGHTS, _none(), _none());
            VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidFeeToken.selector, bad[i]));
            registry.registerBakedModel(t, key, _none(), _noKeys());
        }
    }

    function test_register_refusesAZeroRoyaltyRecipient() public {
        IModelRegistry.ModelTerms memory t = terms(feeToken, PRICE);
        t.royaltyRecipient = address(0);
        bytes memory key = _keyFor(3, "k");
        VM.expectRevert(IModelRegistry.ModelRegistryZeroRecipient.selector);
        registry.registerCommittedModel(t, circuitId, WEIGHTS, _none(), _none());
        VM.expectRevert(IModelRegistry.ModelRegistryZeroRecipient.selector);
        registry.registerBakedModel(t, key, _none(), _noKeys());
    }

    function test_requestTerms_readsWhatTheMarketNeedsToOpenARequest() public {
        (bool exists, bool active, IModelRegistry.Mode mode, uint256 circuit, IERC20 token, uint256 price) = registry
            .requestTerms(modelId);
        check(exists && active && mode == IModelRegistry.Mode.Committed, "committed: exists, active, mode");
        check(circuit == circuitId && address(token) == address(feeToken) && price == PRICE, "committed: terms");

        uint256 baked = _baked(_keyFor(3, "k"));
        VM.prank(MODEL_OWNER);
        registry.setActive(baked, false);
        (exists, active, mode, circuit, token, price) = registry.requestTerms(baked);
        check(exists && !active && mode == IModelRegistry.Mode.Baked && circuit == 0, "baked: no circuit");

        (exists, active, mode, circuit, token, price) = registry.requestTerms(99);
        check(!exists && !active && circuit == 0 && address(token) == address(0) && price == 0, "unknown: zeroes");
    }

    // ------------------------------------------------------------ versions

    function test_versions_numberLinkAndEmit() public {
        IModelRegistry.ModelTerms memory t = terms(feeToken, PRICE);
        t.previousVersion = modelId;
        VM.expectEmit();
        emit IModelRegistry.ModelVersionPublished(modelId, 2, 2);
        uint256 v2 = _committed(t);

        t.previousVersion = v2;
        bytes memory key = _keyFor(3, "v3");
        VM.expectEmit();
        emit IModelRegistry.ModelVersionPublished(v2, 3, 3);
        VM.prank(MODEL_OWNER);
        uint256 v3 = registry.registerBakedModel(t, key, _none(), _noKeys());

        check(registry.model(v2).version == 2 && registry.model(v3).version == 3, "version numbers");
        check(registry.model(v2).previousVersion == modelId && registry.model(v3).previousVersion == v2, "back links");
        check(registry.nextVersion(modelId) == v2 && registry.nextVersion(v2) == v3, "forward links");
        check(registry.nextVersion(v3) == 0, "latest has no successor");
        check(registry.model(modelId).active, "publishing keeps the old version open");
        // Modes may change between versions: the successor of a committed model is baked here.
        check(registry.model(v3).mode == IModelRegistry.Mode.Baked, "baked successor");
    }

    function test_versions_formALine_aModelIsSucceededOnce() public {
        IModelRegistry.ModelTerms memory t = terms(feeToken, PRICE);
        t.previousVersion = modelId;
        uint256 v2 = _committed(t);
        // A second successor of the same version would fork the line: refused, in both modes.
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryAlreadySucceeded.selector, modelId, v2));
        _committed(t);
        bytes memory key = _keyFor(3, "fork");
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryAlreadySucceeded.selector, modelId, v2));
        VM.prank(MODEL_OWNER);
        registry.registerBakedModel(t, key, _none(), _noKeys());
        check(registry.nextVersion(modelId) == v2, "the line is unchanged");
    }

    function test_versions_onlyOfAModelYouOwn() public {
        IModelRegistry.ModelTerms memory t = terms(feeToken, PRICE);
        t.previousVersion = modelId;
        VM.expectRevert(_unauthorized(NOBODY));
        VM.prank(NOBODY);
        registry.registerCommittedModel(t, circuitId, WEIGHTS, _none(), _none());
        bytes memory key = _keyFor(3, "k");
        VM.expectRevert(_unauthorized(NOBODY));
        VM.prank(NOBODY);
        registry.registerBakedModel(t, key, _none(), _noKeys());

        t.previousVersion = 9;
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, 9));
        _committed(t);

        // After a transfer, versions are the new owner's to publish.
        VM.prank(MODEL_OWNER);
        registry.transferModelOwnership(modelId, _NEW_OWNER);
        VM.prank(_NEW_OWNER);
        registry.acceptModelOwnership(modelId);
        t.previousVersion = modelId;
        VM.expectRevert(_unauthorized(MODEL_OWNER));
        _committed(t);
        VM.prank(_NEW_OWNER);
        uint256 v2 = registry.registerCommittedModel(t, circuitId, WEIGHTS, _none(), _none());
        check(registry.model(v2).owner == _NEW_OWNER && registry.nextVersion(modelId) == v2, "new owner's version");
    }

    // ------------------------------------------------------------ owner powers

    function test_registerCommittedModel_royaltiesGoToTheRecipientGiven() public view {
        check(registry.model(modelId).royaltyRecipient == MODEL_OWNER, "owner receives royalties");
    }

    function test_setPrice_andSetActive_areTheOwnersOnly() public {
        VM.expectEmit();
        emit IModelRegistry.ModelPriceSet(modelId, 3);
        VM.prank(MODEL_OWNER);
        registry.setPrice(modelId, 3);
        check(registry.model(modelId).price == 3, "price set");
        VM.expectEmit();
        emit IModelRegistry.ModelActiveSet(modelId, false);
        VM.prank(MODEL_OWNER);
        registry.setActive(modelId, false);
        check(!registry.model(modelId).active, "deactivated");

        // Neither governance (this contract) nor anyone else holds these powers.
        VM.expectRevert(_unauthorized(address(this)));
        registry.setPrice(modelId, 0);
        VM.expectRevert(_unauthorized(NOBODY));
        VM.prank(NOBODY);
        registry.setActive(modelId, true);
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, 0));
        registry.setPrice(0, 1);
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, 9));
        registry.setActive(9, true);
    }

    function test_setMetadata_isTheOwnersAndReadable() public {
        VM.prank(MODEL_OWNER);
        registry.setMetadata(modelId, "ipfs://model", keccak256("onnx"));
        (string memory uri, bytes32 onnxHash) = registry.metadata(modelId);
        check(keccak256(bytes(uri)) == keccak256("ipfs://model") && onnxHash == keccak256("onnx"), "stored");

        VM.expectRevert(_unauthorized(NOBODY));
        VM.prank(NOBODY);
        registry.setMetadata(modelId, "", 0);
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, 9));
        registry.setMetadata(9, "", 0);
    }

    function test_setRoyaltyRecipient_redirectsTheMarketsRoyalty() public {
        VM.expectRevert(_unauthorized(NOBODY));
        VM.prank(NOBODY);
        registry.setRoyaltyRecipient(modelId, NOBODY);
        VM.expectRevert(IModelRegistry.ModelRegistryZeroRecipient.selector);
        VM.prank(MODEL_OWNER);
        registry.setRoyaltyRecipient(modelId, address(0));
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, 9));
        registry.setRoyaltyRecipient(9, _TREASURY);

        VM.prank(MODEL_OWNER);
        registry.setRoyaltyRecipient(modelId, _TREASURY);
        fulfilAs(VALIDATOR, open());
        check(market.balanceOf(_TREASURY, feeToken) == PRICE / 10, "royalty to the recipient");
        check(market.balanceOf(MODEL_OWNER, feeToken) == 0, "not to the owner");
    }

    function test_transferModelOwnership_takesTwoSteps() public {
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, 9));
        registry.transferModelOwnership(9, NOBODY);
        VM.expectRevert(_unauthorized(NOBODY));
        VM.prank(NOBODY);
        registry.transferModelOwnership(modelId, NOBODY);

        VM.prank(MODEL_OWNER);
        registry.transferModelOwnership(modelId, _NEW_OWNER);
        check(registry.pendingModelOwner(modelId) == _NEW_OWNER, "pending");
        check(registry.model(modelId).owner == MODEL_OWNER, "not yet moved");

        VM.expectRevert(_unauthorized(NOBODY));
        VM.prank(NOBODY);
        registry.acceptModelOwnership(modelId);

        VM.prank(_NEW_OWNER);
        registry.acceptModelOwnership(modelId);
        check(registry.model(modelId).owner == _NEW_OWNER, "moved");
        check(registry.pendingModelOwner(modelId) == address(0), "offer consumed");
        check(registry.model(modelId).royaltyRecipient == MODEL_OWNER, "royalty recipient unchanged");

        // The old owner has lost its powers; the new one has them.
        VM.expectRevert(_unauthorized(MODEL_OWNER));
        VM.prank(MODEL_OWNER);
        registry.setPrice(modelId, 0);
        VM.prank(_NEW_OWNER);
        registry.setPrice(modelId, 0);
    }

    function test_transferModelOwnership_toZeroCancels() public {
        VM.prank(MODEL_OWNER);
        registry.transferModelOwnership(modelId, _NEW_OWNER);
        VM.prank(MODEL_OWNER);
        registry.transferModelOwnership(modelId, address(0));
        VM.expectRevert(_unauthorized(_NEW_OWNER));
        VM.prank(_NEW_OWNER);
        registry.acceptModelOwnership(modelId);
    }

    function test_acceptModelOwnership_revertsOnUnknownModel() public {
        VM.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, 9));
        registry.acceptModelOwnership(9);
    }
}
