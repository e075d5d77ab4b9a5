// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {ICircuitRegistry} from "../interfaces/ICircuitRegistry.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {Groth16} from "../libraries/Groth16.sol";
import {Plonk} from "../libraries/Plonk.sol";
import {ProofBinding} from "../libraries/ProofBinding.sol";
import {VerificationKeyStore} from "../libraries/VerificationKeyStore.sol";

/**
 * @title ModelRegistry
 * @notice Permissionless registry of models, baked (own verification keys, held as data),
 * committed (a governance circuit plus a weights commitment) or universal (a PLONK key resting on
 * a public powers-of-tau ceremony).
 * @dev There is no governance here: every power over a model belongs to its owner, and none of
 * them can change how an existing model's proofs are checked. Keys, circuits and commitments are
 * fixed at registration; changing them means publishing a new version (a new model id, linked to
 * the old one), so a requester always knows which key its fee is paid against. Whether universal
 * keys of insecure (development) ceremonies are taken is fixed at deployment and never changes.
 */
contract ModelRegistry is IModelRegistry {
    /// @inheritdoc IModelRegistry
    uint16 public constant BAKED_PUBLIC_SIGNALS = 3;
    /// @inheritdoc IModelRegistry
    uint16 public constant COMMITTED_PUBLIC_SIGNALS = 4;
    /// @inheritdoc IModelRegistry
    uint16 public constant BATCH_PUBLIC_SIGNALS = 3;

    ICircuitRegistry private immutable _circuits;
    bool private immutable _acceptsInsecureCeremonies;

    mapping(uint256 modelId => Model) private _models;
    mapping(uint256 modelId => address) private _pendingOwners;
    mapping(uint256 modelId => string) private _metadataURIs;
    mapping(uint256 modelId => bytes32) private _onnxHashes;
    mapping(uint256 modelId => mapping(uint256 batchSize => address)) private _batchVerifiers;
    mapping(uint256 modelId => mapping(uint256 batchSize => uint256)) private _batchCircuits;
    mapping(uint256 modelId => uint256) private _nextVersions;
    uint256 private _modelCount;

    /**
     * @param circuits Governance registry of the circuits committed models may use.
     * @param acceptsInsecureCeremonies_ Whether {registerUniversalModel} takes keys that name an
     * insecure (development) ceremony of {Plonk-ceremony}: true only for development chains, where
     * proofs are made with development ptau files; false for any deployment whose proofs matter.
     */
    constructor(ICircuitRegistry circuits, bool acceptsInsecureCeremonies_) {
        if (address(circuits) == address(0)) revert ModelRegistryZeroAddress();
        _circuits = circuits;
        _acceptsInsecureCeremonies = acceptsInsecureCeremonies_;
    }

    /// @inheritdoc IModelRegistry
    function registerBakedModel(
        ModelTerms calldata terms,
        bytes calldata verificationKey_,
        uint256[] calldata batchSizes,
        bytes[] calldata batchKeys
    ) external returns (uint256 modelId) {
        if (batchSizes.length != batchKeys.length)
            revert ModelRegistryLengthMismatch(batchSizes.length, batchKeys.length);
        _checkKey(verificationKey_, BAKED_PUBLIC_SIGNALS);
        address key = VerificationKeyStore.write(verificationKey_);
        bytes32 vkHash = keccak256(verificationKey_);
        modelId = _register(terms, Mode.Baked, key, 0, 0, vkHash);

        for (uint256 i = 0; i < batchSizes.length; ++i) {
            uint256 k = batchSizes[i];
            _checkBatchSize(modelId, k);
            _checkKey(batchKeys[i], BATCH_PUBLIC_SIGNALS);
            _storeBatchKey(modelId, k, batchKeys[i]);
        }
    }

    /// @inheritdoc IModelRegistry
    function registerUniversalModel(
        ModelTerms calldata terms,
        bytes calldata verificationKey_,
        uint256[] calldata batchSizes,
        bytes[] calldata batchKeys
    ) external returns (uint256 modelId) {
        if (batchSizes.length != batchKeys.length)
            revert ModelRegistryLengthMismatch(batchSizes.length, batchKeys.length);
        _checkUniversalKey(verificationKey_, BAKED_PUBLIC_SIGNALS);
        // The key's first word names its ceremony; keyDefect found it in the table.
        uint256 ceremony = uint256(bytes32(verificationKey_[0:32]));
        (, bool insecure, ) = Plonk.ceremony(ceremony);
        if (insecure && !_acceptsInsecureCeremonies) revert ModelRegistryInsecureCeremony(ceremony);
        address key = VerificationKeyStore.write(verificationKey_);
        modelId = _register(terms, Mode.Universal, key, 0, 0, keccak256(verificationKey_));

        // Every key of the model rests on its single key's ceremony: a requester checks one ceremony.
        for (uint256 i = 0; i < batchSizes.length; ++i) {
            uint256 k = batchSizes[i];
            bytes calldata batchKey = batchKeys[i];
            _checkBatchSize(modelId, k);
            _checkUniversalKey(batchKey, BATCH_PUBLIC_SIGNALS);
            uint256 batchCeremony = uint256(bytes32(batchKey[0:32]));
            if (batchCeremony != ceremony) revert ModelRegistryCeremonyMismatch(k, batchCeremony, ceremony);
            _storeBatchKey(modelId, k, batchKey);
        }
    }

    /// @inheritdoc IModelRegistry
    function acceptsInsecureCeremonies() external view returns (bool) {
        return _acceptsInsecureCeremonies;
    }

    /// @inheritdoc IModelRegistry
    function universalCeremony(uint256 modelId) external view returns (uint256 ceremony, bool insecure) {
        Model storage m = _models[modelId];
        if (m.mode != Mode.Universal) return (0, false);
        // The key's first word names its ceremony (Plonk.sol's key layout).
        ceremony = uint256(bytes32(VerificationKeyStore.read(m.verifier)));
        (, insecure, ) = Plonk.ceremony(ceremony);
    }

    /// @inheritdoc IModelRegistry
    function verifyUniversal(
        uint256 modelId,
        uint256 batchSize,
        uint256[] calldata signals,
        uint256[24] calldata proof
    ) external view returns (bool) {
        Model storage m = _models[modelId];
        if (m.mode != Mode.Universal) return false;
        address key = batchSize == 1 ? m.verifier : _batchVerifiers[modelId][batchSize];
        return key != address(0) && Plonk.verify(key, signals, proof);
    }

    /// @inheritdoc IModelRegistry
    function registerCommittedModel(
        ModelTerms calldata terms,
        uint256 circuitId,
        uint256 weightsCommitment,
        uint256[] calldata batchSizes,
        uint256[] calldata batchCircuitIds
    ) external returns (uint256 modelId) {
        if (batchSizes.length != batchCircuitIds.length) {
            revert ModelRegistryLengthMismatch(batchSizes.length, batchCircuitIds.length);
        }
        if (weightsCommitment == 0 || !ProofBinding.isCanonical(weightsCommitment)) {
            revert ModelRegistryInvalidWeightsCommitment(weightsCommitment);
        }
        ICircuitRegistry.Circuit memory c = _usableCircuit(circuitId, 1);
        modelId = _register(terms, Mode.Committed, c.verifier, circuitId, weightsCommitment, c.vkHash);

        for (uint256 i = 0; i < batchSizes.length; ++i) {
            uint256 k = batchSizes[i];
            _checkBatchSize(modelId, k);
            ICircuitRegistry.Circuit memory batch = _usableCircuit(batchCircuitIds[i], k);
            _batchVerifiers[modelId][k] = batch.verifier;
            _batchCircuits[modelId][k] = batchCircuitIds[i];
            emit BatchCircuitRegistered(modelId, k, batchCircuitIds[i]);
        }
    }

    /// @inheritdoc IModelRegistry
    function setPrice(uint256 modelId, uint256 price) external {
        _ownedModel(modelId).price = price;
        emit ModelPriceSet(modelId, price);
    }

    /// @inheritdoc IModelRegistry
    function setActive(uint256 modelId, bool active) external {
        _ownedModel(modelId).active = active;
        emit ModelActiveSet(modelId, active);
    }

    /// @inheritdoc IModelRegistry
    function setMetadata(uint256 modelId, string calldata metadataURI, bytes32 onnxHash) external {
        _ownedModel(modelId);
        _setMetadata(modelId, metadataURI, onnxHash);
    }

    /// @inheritdoc IModelRegistry
    function setRoyaltyRecipient(uint256 modelId, address recipient) external {
        Model storage m = _ownedModel(modelId);
        if (recipient == address(0)) revert ModelRegistryZeroRecipient();
        m.royaltyRecipient = recipient;
        emit ModelRoyaltyRecipientSet(modelId, recipient);
    }

    /// @inheritdoc IModelRegistry
    function transferModelOwnership(uint256 modelId, address newOwner) external {
        Model storage m = _ownedModel(modelId);
        _pendingOwners[modelId] = newOwner;
        emit ModelOwnershipTransferStarted(modelId, m.owner, newOwner);
    }

    /// @inheritdoc IModelRegistry
    function acceptModelOwnership(uint256 modelId) external {
        Model storage m = _existingModel(modelId);
        if (msg.sender != _pendingOwners[modelId]) revert ModelRegistryUnauthorized(modelId, msg.sender);
        address previousOwner = m.owner;
        delete _pendingOwners[modelId];
        m.owner = msg.sender;
        emit ModelOwnershipTransferred(modelId, previousOwner, msg.sender);
    }

    /// @inheritdoc IModelRegistry
    function pendingModelOwner(uint256 modelId) external view returns (address) {
        return _pendingOwners[modelId];
    }

    /// @inheritdoc IModelRegistry
    function model(uint256 modelId) external view returns (Model memory) {
        return _models[modelId];
    }

    /// @inheritdoc IModelRegistry
    function proofTerms(
        uint256 modelId
    ) external view returns (Mode mode, address verifier, uint256 weightsCommitment, address royaltyRecipient) {
        Model storage m = _models[modelId];
        mode = m.mode;
        verifier = m.verifier;
        if (mode == Mode.Committed) weightsCommitment = m.weightsCommitment;
        royaltyRecipient = m.royaltyRecipient;
    }

    /// @inheritdoc IModelRegistry
    function requestTerms(
        uint256 modelId
    ) external view returns (bool exists, bool active, Mode mode, uint256 circuitId, IERC20 feeToken, uint256 price) {
        Model storage m = _models[modelId];
        exists = m.owner != address(0);
        active = m.active;
        mode = m.mode;
        if (mode == Mode.Committed) circuitId = m.circuitId;
        feeToken = m.feeToken;
        price = m.price;
    }

    /// @inheritdoc IModelRegistry
    function metadata(uint256 modelId) external view returns (string memory metadataURI, bytes32 onnxHash) {
        return (_metadataURIs[modelId], _onnxHashes[modelId]);
    }

    /// @inheritdoc IModelRegistry
    function batchVerifier(uint256 modelId, uint256 batchSize) external view returns (address) {
        return _batchVerifiers[modelId][batchSize];
    }

    /// @inheritdoc IModelRegistry
    function batchCircuit(uint256 modelId, uint256 batchSize) external view returns (uint256) {
        return _batchCircuits[modelId][batchSize];
    }

    /// @inheritdoc IModelRegistry
    function nextVersion(uint256 modelId) external view returns (uint256) {
        return _nextVersions[modelId];
    }

    /// @inheritdoc IModelRegistry
    function verificationKey(uint256 modelId, uint256 batchSize) external view returns (bytes memory) {
        Model storage m = _models[modelId];
        if (m.mode == Mode.Committed) return "";
        address key = batchSize == 1 ? m.verifier : _batchVerifiers[modelId][batchSize];
        return VerificationKeyStore.read(key);
    }

    /// @inheritdoc IModelRegistry
    function circuitRegistry() external view returns (ICircuitRegistry) {
        return _circuits;
    }

    /// @inheritdoc IModelRegistry
    function modelCount() external view returns (uint256) {
        return _modelCount;
    }

    // ---------------------------------------------------------------- internals

    function _register(
        ModelTerms calldata terms,
        Mode mode,
        address verifier,
        uint256 circuitId,
        uint256 weightsCommitment,
        bytes32 vkHash
    ) private returns (uint256 modelId) {
        if (address(terms.feeToken).code.length == 0) revert ModelRegistryInvalidFeeToken(address(terms.feeToken));
        if (terms.royaltyRecipient == address(0)) revert ModelRegistryZeroRecipient();
        uint32 version = 1;
        uint256 previous = terms.previousVersion;
        if (previous != 0) {
            Model storage old = _ownedModel(previous);
            uint256 successor = _nextVersions[previous];
            if (successor != 0) revert ModelRegistryAlreadySucceeded(previous, successor);
            version = old.version + 1;
        }

        modelId = ++_modelCount;
        Model memory m = Model({
            mode: mode,
            active: true,
            version: version,
            owner: msg.sender,
            royaltyRecipient: terms.royaltyRecipient,
            feeToken: terms.feeToken,
            price: terms.price,
            verifier: verifier,
            circuitId: circuitId,
            weightsCommitment: weightsCommitment,
            vkHash: vkHash,
            previousVersion: previous
        });
        _models[modelId] = m;
        emit ModelRegistered(modelId, msg.sender, m);
        if (previous != 0) {
            _nextVersions[previous] = modelId;
            emit ModelVersionPublished(previous, modelId, version);
        }
        _setMetadata(modelId, terms.metadataURI, terms.onnxHash);
    }

    function _setMetadata(uint256 modelId, string calldata metadataURI, bytes32 onnxHash) private {
        _metadataURIs[modelId] = metadataURI;
        _onnxHashes[modelId] = onnxHash;
        emit ModelMetadataSet(modelId, metadataURI, onnxHash);
    }

    /// @dev Refuses a key whose length does not fit `nPublic` signals, or that {Groth16-keyDefect} finds unfit.
    function _checkKey(bytes calldata key, uint256 nPublic) private view {
        if (key.length != Groth16.keyLength(nPublic)) revert ModelRegistryInvalidKeyLength(key.length, nPublic);
        (Groth16.KeyDefect defect, uint256 offset) = Groth16.keyDefect(key);
        if (defect != Groth16.KeyDefect.None) revert ModelRegistryInvalidKey(defect, offset);
    }

    /**
     * @dev Refuses a universal-mode key that {Plonk-keyDefect} finds unfit, or that is not for
     * `nPublic` public signals (reported as `BadDomain` at the signal count's offset).
     */
    function _checkUniversalKey(bytes calldata key, uint256 nPublic) private pure {
        (Plonk.KeyDefect defect, uint256 offset) = Plonk.keyDefect(key);
        if (defect != Plonk.KeyDefect.None) revert ModelRegistryInvalidUniversalKey(defect, offset);
        if (uint256(bytes32(key[Plonk.N_PUBLIC_OFFSET:Plonk.N_PUBLIC_OFFSET + 32])) != nPublic) {
            revert ModelRegistryInvalidUniversalKey(Plonk.KeyDefect.BadDomain, Plonk.N_PUBLIC_OFFSET);
        }
    }

    /// @dev Writes a checked batch key of model `modelId` for batches of `k` into a data contract.
    function _storeBatchKey(uint256 modelId, uint256 k, bytes calldata key) private {
        address stored = VerificationKeyStore.write(key);
        _batchVerifiers[modelId][k] = stored;
        emit BatchKeyRegistered(modelId, k, stored, keccak256(key));
    }

    function _checkBatchSize(uint256 modelId, uint256 k) private view {
        if (k < 2 || _batchVerifiers[modelId][k] != address(0)) revert ModelRegistryInvalidBatchSize(k);
    }

    /// @dev A usable circuit with the committed signal count and batch size `k`.
    function _usableCircuit(uint256 circuitId, uint256 k) private view returns (ICircuitRegistry.Circuit memory c) {
        if (!_circuits.isUsable(circuitId)) revert ModelRegistryUnusableCircuit(circuitId);
        c = _circuits.circuit(circuitId);
        if (c.nPublic != COMMITTED_PUBLIC_SIGNALS || c.batchSize != k) {
            revert ModelRegistryCircuitShape(circuitId, c.nPublic, c.batchSize);
        }
    }

    function _ownedModel(uint256 modelId) private view returns (Model storage m) {
        m = _existingModel(modelId);
        if (msg.sender != m.owner) revert ModelRegistryUnauthorized(modelId, msg.sender);
    }

    function _existingModel(uint256 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        // Registration records msg.sender as owner, never zero: a zero owner means "never registered".
        if (m.owner == address(0)) revert ModelRegistryUnknownModel(modelId);
    }
}
