// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {ICircuitRegistry} from "./ICircuitRegistry.sol";
import {Groth16} from "../libraries/Groth16.sol";
import {Plonk} from "../libraries/Plonk.sol";

/**
 * @title IModelRegistry
 * @notice Permissionless registry of the models the inference market sells.
 * @dev Anyone registers a model, in one of three modes:
 * - *baked*: the weights are constants of the model's own circuit. The model brings its own
 *   verification keys as bytes (one for single inferences, optionally one per batch size); each
 *   is written once into a data contract and checked by the protocol's own verifier code
 *   ({Groth16}), so no model can make the protocol run code it wrote.
 * - *committed*: the model names a circuit of the governance {ICircuitRegistry} and the Poseidon
 *   commitment to its weights, which becomes a public signal of every proof.
 * - *universal*: the model brings a PLONK key made from a public powers-of-tau ceremony alone,
 *   which names that ceremony; {acceptsInsecureCeremonies}, fixed at deployment, says whether keys
 *   of the protocol's insecure development ceremonies are taken too.
 * Registration never trusts the caller with anything but its own model: a model whose key or
 * circuit is wrong can only fail its own requests, which are then refunded.
 * Model ids are assigned incrementally from 1; id 0 never denotes a model.
 */
interface IModelRegistry {
    /// @notice How proofs bind to a model (see the contract description).
    enum Mode {
        Baked,
        Committed,
        Universal
    }

    /**
     * @notice A registered model.
     * @param mode Baked, committed or universal.
     * @param active Whether new requests are accepted. Open requests stay fulfillable either way.
     * @param owner Account that sets the price and metadata, deactivates, publishes versions.
     * @param royaltyRecipient Account credited the model's royalty on each fulfilment.
     * @param feeToken ERC20 the model's price is paid in (fixed for the model's lifetime).
     * @param price Fee, in `feeToken`, for one inference.
     * @param verifier Baked: the data contract of the single-inference verification key.
     * Universal: the data contract of its PLONK key.
     * Committed: the circuit's verifier contract (governance-registered).
     * @param circuitId Committed: the circuit in the circuit registry. Baked: 0.
     * @param weightsCommitment Committed: Poseidon commitment to the weights (< r, nonzero). Baked: 0.
     * @param vkHash Baked and universal: keccak256 of the single-inference key bytes. Committed: the circuit's vkHash.
     * @param version 1 for a first registration, previous version + 1 for a published version.
     * @param previousVersion Model id this one succeeds, or 0.
     */
    struct Model {
        Mode mode;
        bool active;
        uint32 version;
        address owner;
        address royaltyRecipient;
        IERC20 feeToken;
        uint256 price;
        address verifier;
        uint256 circuitId;
        uint256 weightsCommitment;
        bytes32 vkHash;
        uint256 previousVersion;
    }

    /**
     * @notice What every registration states, whatever the mode.
     * @param feeToken ERC20 the price is paid in; must be a contract. Tokens that charge a fee on
     * transfer are refused by the market when a request is opened.
     * @param price Fee per inference.
     * @param royaltyRecipient Account credited royalties; nonzero.
     * @param previousVersion 0 for a new model; otherwise a model id the caller owns and that has
     * no next version yet, which this registration publishes a new version of.
     * @param metadataURI Where the model card, ONNX file and artifacts are described.
     * @param onnxHash Hash (sha256) of the ONNX file the circuit was compiled from.
     */
    struct ModelTerms {
        IERC20 feeToken;
        uint256 price;
        address royaltyRecipient;
        uint256 previousVersion;
        string metadataURI;
        bytes32 onnxHash;
    }

    /// @notice Emitted when model `modelId` is registered by `owner`, with its whole entry.
    event ModelRegistered(uint256 indexed modelId, address indexed owner, Model model);

    /// @notice Emitted when model `modelId` is published as version `version` of `previousModelId`.
    event ModelVersionPublished(uint256 indexed previousModelId, uint256 indexed modelId, uint32 version);

    /// @notice Emitted when baked or universal model `modelId` gets the key `key` for batches of `batchSize`.
    event BatchKeyRegistered(uint256 indexed modelId, uint256 batchSize, address key, bytes32 vkHash);

    /// @notice Emitted when committed model `modelId` may be batched with circuit `circuitId`.
    event BatchCircuitRegistered(uint256 indexed modelId, uint256 batchSize, uint256 circuitId);

    /// @notice Emitted when the owner of model `modelId` sets its price.
    event ModelPriceSet(uint256 indexed modelId, uint256 price);

    /// @notice Emitted when the owner of model `modelId` activates or deactivates it.
    event ModelActiveSet(uint256 indexed modelId, bool active);

    /// @notice Emitted when the owner of model `modelId` sets its metadata.
    event ModelMetadataSet(uint256 indexed modelId, string metadataURI, bytes32 onnxHash);

    /// @notice Emitted when the owner of model `modelId` sets its royalty recipient.
    event ModelRoyaltyRecipientSet(uint256 indexed modelId, address indexed recipient);

    /// @notice Emitted when the owner of model `modelId` offers it to `pendingOwner`.
    event ModelOwnershipTransferStarted(uint256 indexed modelId, address indexed owner, address indexed pendingOwner);

    /// @notice Emitted when `newOwner` accepts model `modelId`.
    event ModelOwnershipTransferred(uint256 indexed modelId, address indexed previousOwner, address indexed newOwner);

    /// @notice A constructor argument is the zero address.
    error ModelRegistryZeroAddress();

    /// @notice The fee token `token` is not a contract.
    error ModelRegistryInvalidFeeToken(address token);

    /// @notice The royalty recipient is the zero address.
    error ModelRegistryZeroRecipient();

    /// @notice A verification key of `length` bytes does not fit `nPublic` public signals.
    error ModelRegistryInvalidKeyLength(uint256 length, uint256 nPublic);

    /**
     * @notice The verification key has `defect` at byte `offset` (see {Groth16-KeyDefect}): a key
     * at infinity, with gamma other than the generator, or with beta, gamma and delta related,
     * lets proofs be made without the circuit; a point off its curve makes a model nobody can serve.
     */
    error ModelRegistryInvalidKey(Groth16.KeyDefect defect, uint256 offset);

    /**
     * @notice The universal-mode (PLONK) key has `defect` at byte `offset` (see {Plonk-KeyDefect}),
     * or is not for {BAKED_PUBLIC_SIGNALS} signals (`BadDomain` at the signal count's offset).
     */
    error ModelRegistryInvalidUniversalKey(Plonk.KeyDefect defect, uint256 offset);

    /**
     * @notice The universal-mode key for batches of `batchSize` names ceremony `ceremony`, the
     * model's single-inference key names `modelCeremony`: all keys of a model rest on one ceremony.
     */
    error ModelRegistryCeremonyMismatch(uint256 batchSize, uint256 ceremony, uint256 modelCeremony);

    /**
     * @notice The universal-mode key names `ceremony`, an insecure development ceremony (see
     * {Plonk-ceremony}: whoever knows its secret can forge proofs for the key), and this registry
     * was deployed not to accept them ({acceptsInsecureCeremonies} is false). Set the key up from a
     * public ceremony file instead.
     */
    error ModelRegistryInsecureCeremony(uint256 ceremony);

    /// @notice Batch size `batchSize` is not allowed (below 2, or given twice).
    error ModelRegistryInvalidBatchSize(uint256 batchSize);

    /// @notice `sizes` and `keys` (or circuits) have different lengths.
    error ModelRegistryLengthMismatch(uint256 sizes, uint256 keys);

    /// @notice Circuit `circuitId` is unknown, not yet active, or deprecated.
    error ModelRegistryUnusableCircuit(uint256 circuitId);

    /// @notice Circuit `circuitId` has `nPublic` signals and batch size `batchSize`, which this use does not fit.
    error ModelRegistryCircuitShape(uint256 circuitId, uint256 nPublic, uint256 batchSize);

    /// @notice The weights commitment is zero or not a canonical field element (>= r).
    error ModelRegistryInvalidWeightsCommitment(uint256 weightsCommitment);

    /// @notice No model has id `modelId`.
    error ModelRegistryUnknownModel(uint256 modelId);

    /// @notice `account` may not do this to model `modelId`.
    error ModelRegistryUnauthorized(uint256 modelId, address account);

    /// @notice Model `modelId` already has a next version, `nextModelId`: versions form a line.
    error ModelRegistryAlreadySucceeded(uint256 modelId, uint256 nextModelId);

    /// @notice Public signals of a single-inference baked proof: input commitment, output, binding.
    function BAKED_PUBLIC_SIGNALS() external view returns (uint16);

    /// @notice Public signals of a committed proof: weights commitment, input commitment, output, binding.
    function COMMITTED_PUBLIC_SIGNALS() external view returns (uint16);

    /// @notice Public signals of a baked batch proof: fold, challenge, batch binding.
    function BATCH_PUBLIC_SIGNALS() external view returns (uint16);

    /**
     * @notice Registers a universal-mode model owned by the caller, or a new version of one it owns:
     * its proofs are PLONK proofs whose key was made from a public powers-of-tau ceremony alone,
     * with no per-model secret, checked by the protocol's own {Plonk} code.
     * @dev Writes each key once into a data contract and records `vkHash = keccak256(key)` of the
     * single-inference key; each key names its ceremony (its first word), whose `[tau]_2` the
     * verifier takes from its own table, so a key made from any other powers of tau cannot verify.
     * Every batch key must name the single key's ceremony ({ModelRegistryCeremonyMismatch}), so one
     * ceremony is all a requester has to trust for the model. Anyone can rebuild each key from the
     * model's published r1cs and the ceremony file and compare the hash (`poi verify-setup`).
     * A key naming an insecure (development) ceremony is refused with
     * {ModelRegistryInsecureCeremony} unless {acceptsInsecureCeremonies}. Emits {ModelRegistered},
     * {BatchKeyRegistered} per batch key, and {ModelVersionPublished} for a version.
     * @param terms Fee token, price, royalty recipient, previous version, metadata.
     * @param verificationKey Single-inference key, {Plonk} layout, for 3 public signals.
     * @param batchSizes Batch sizes (each >= 2, no repeats) the model also has keys for; may be empty.
     * @param batchKeys Key of each batch size, {Plonk} layout, for the 3 public signals of a batch
     * (fold, challenge, batch binding), naming the same ceremony as `verificationKey`.
     * @return modelId The new model's id.
     */
    function registerUniversalModel(
        ModelTerms calldata terms,
        bytes calldata verificationKey,
        uint256[] calldata batchSizes,
        bytes[] calldata batchKeys
    ) external returns (uint256 modelId);

    /**
     * @notice Whether {registerUniversalModel} takes keys of insecure (development) ceremonies,
     * fixed at deployment. A requester or integrator relying on universal-mode proofs checks that
     * this is false: then every universal model of the registry names a secure (public) ceremony.
     * True only on development chains, whose models may rest on development ptau files.
     */
    function acceptsInsecureCeremonies() external view returns (bool);

    /**
     * @notice The ceremony a universal-mode model's key names, and whether that ceremony is
     * insecure (a development one, see {Plonk-ceremony}); `(0, false)` for a model that is not in
     * universal mode or does not exist.
     * @dev The ceremony is what the key claims: the verifier checks its proofs under that
     * ceremony's `[tau]_2`, so a key made from another ptau and relabelled verifies nothing.
     */
    function universalCeremony(uint256 modelId) external view returns (uint256 ceremony, bool insecure);

    /**
     * @notice Checks a universal-mode proof of `batchSize` inferences of model `modelId` (1 for a
     * single inference) for `signals` with the protocol's own {Plonk} verifier, against the model's
     * key for that size and the `[tau]_2` of the ceremony the key names.
     * @dev False (never reverts) for a model that is not in universal mode, a batch size it has no
     * key for, or any proof that {Plonk-verify} refuses. The market calls it for
     * {IInferenceMarket-fulfilUniversal} and {IInferenceMarket-fulfilBatchUniversal}.
     */
    function verifyUniversal(
        uint256 modelId,
        uint256 batchSize,
        uint256[] calldata signals,
        uint256[24] calldata proof
    ) external view returns (bool);

    /**
     * @notice Registers a baked model owned by the caller, or a new version of one it owns.
     * @dev Writes each key once into a data contract. Emits {ModelRegistered},
     * {BatchKeyRegistered} per batch key, and {ModelVersionPublished} for a version.
     * @param terms Fee token, price, royalty recipient, previous version, metadata.
     * @param verificationKey Single-inference key, {Groth16} layout, for 3 public signals.
     * @param batchSizes Batch sizes (each >= 2, no repeats) the model also has keys for.
     * @param batchKeys Key of each batch size, {Groth16} layout, for 3 public signals.
     * @return modelId The new model's id.
     */
    function registerBakedModel(
        ModelTerms calldata terms,
        bytes calldata verificationKey,
        uint256[] calldata batchSizes,
        bytes[] calldata batchKeys
    ) external returns (uint256 modelId);

    /**
     * @notice Registers a committed model owned by the caller, or a new version of one it owns.
     * @dev The circuit must be usable, have 4 public signals and batch size 1; batch circuits
     * must be usable, have 4 public signals and batch size equal to their entry in `batchSizes`.
     * Emits {ModelRegistered}, {BatchCircuitRegistered} per batch circuit, and
     * {ModelVersionPublished} for a version.
     * @param terms Fee token, price, royalty recipient, previous version, metadata.
     * @param circuitId Single-inference circuit of the model's architecture.
     * @param weightsCommitment Poseidon commitment to the weights; nonzero and < r.
     * @param batchSizes Batch sizes (each >= 2, no repeats) the model can also be proven in.
     * @param batchCircuitIds Circuit of each batch size.
     * @return modelId The new model's id.
     */
    function registerCommittedModel(
        ModelTerms calldata terms,
        uint256 circuitId,
        uint256 weightsCommitment,
        uint256[] calldata batchSizes,
        uint256[] calldata batchCircuitIds
    ) external returns (uint256 modelId);

    /// @notice Sets the price of a model the caller owns. Emits {ModelPriceSet}.
    function setPrice(uint256 modelId, uint256 price) external;

    /// @notice Activates or deactivates a model the caller owns. Emits {ModelActiveSet}.
    function setActive(uint256 modelId, bool active) external;

    /// @notice Sets the metadata URI and ONNX hash of a model the caller owns. Emits {ModelMetadataSet}.
    function setMetadata(uint256 modelId, string calldata metadataURI, bytes32 onnxHash) external;

    /// @notice Sets the royalty recipient of a model the caller owns. Emits {ModelRoyaltyRecipientSet}.
    function setRoyaltyRecipient(uint256 modelId, address recipient) external;

    /**
     * @notice Offers a model the caller owns to `newOwner`, who must accept it; the zero
     * address cancels an offer. Emits {ModelOwnershipTransferStarted}.
     */
    function transferModelOwnership(uint256 modelId, address newOwner) external;

    /// @notice Accepts a model offered to the caller. Emits {ModelOwnershipTransferred}.
    function acceptModelOwnership(uint256 modelId) external;

    /// @notice Account a model has been offered to, or zero.
    function pendingModelOwner(uint256 modelId) external view returns (address);

    /**
     * @notice Returns model `modelId`.
     * @dev An unknown id returns a zeroed struct (owner is the zero address); callers that
     * need a registered model must check it.
     */
    function model(uint256 modelId) external view returns (Model memory);

    /**
     * @notice What the market needs to check and pay a proof of `modelId`, read in fewer storage
     * slots than {model}: the mode, the verifier (key data contract or circuit verifier), the
     * weights commitment (committed mode) and the royalty recipient. Zeroes for an unknown id.
     */
    function proofTerms(
        uint256 modelId
    ) external view returns (Mode mode, address verifier, uint256 weightsCommitment, address royaltyRecipient);

    /**
     * @notice What the market needs to open a request for `modelId`, read in fewer storage slots
     * than {model}: whether it exists and is active, its mode and circuit (a committed model's
     * circuit must still be usable), its fee token and price. Zeroes for an unknown id.
     */
    function requestTerms(
        uint256 modelId
    ) external view returns (bool exists, bool active, Mode mode, uint256 circuitId, IERC20 feeToken, uint256 price);

    /// @notice Metadata URI and ONNX hash of a model.
    function metadata(uint256 modelId) external view returns (string memory metadataURI, bytes32 onnxHash);

    /**
     * @notice What checks proofs of `batchSize` inferences of `modelId`: for a baked or universal
     * model the data contract of its key, for a committed one its batch circuit's verifier; zero if none.
     */
    function batchVerifier(uint256 modelId, uint256 batchSize) external view returns (address);

    /// @notice Batch circuit of a committed model for `batchSize`, or 0.
    function batchCircuit(uint256 modelId, uint256 batchSize) external view returns (uint256);

    /// @notice The model that published a version after `modelId`, or 0.
    function nextVersion(uint256 modelId) external view returns (uint256);

    /// @notice Key bytes of a baked or universal model for `batchSize` (1 for single inferences); empty if none.
    function verificationKey(uint256 modelId, uint256 batchSize) external view returns (bytes memory);

    /// @notice Circuit registry committed models are checked against.
    function circuitRegistry() external view returns (ICircuitRegistry);

    /// @notice Number of models registered so far, which is also the highest model id.
    function modelCount() external view returns (uint256);
}
