/**
 * Deploys the protocol contracts and registers models: a baked model brings the verification
 * key its trusted setup produced (the registry stores it as data and the market checks proofs
 * with the protocol's own Groth16 code); a committed model names a governance circuit and its
 * weights commitment. Used by the demo, the CLI and the tests; deploy/ holds the Ignition
 * modules for real networks.
 */
import { readFileSync } from "node:fs";
import { keccak256, type Signer } from "ethers";
import type * as snarkjs from "snarkjs";
import {
  CircuitRegistry__factory,
  InferenceMarket__factory,
  ModelRegistry__factory,
  TestToken__factory,
  type CircuitRegistry,
  type InferenceMarket,
  type ModelRegistry,
  type TestToken,
} from "../../types/ethers-contracts/index.js";
import { encodeVerificationKey } from "../setup/groth16-setup.ts";
import { encodePlonkKey, UNIVERSAL_CEREMONIES, type PlonkVerificationKey } from "../setup/plonk-setup.ts";
import { artifactPath, readManifest } from "../setup/manifest.ts";

/** Market parameters (see IInferenceMarket.Params). */
export interface MarketParams {
  protocolFeeBps: bigint;
  royaltyBps: bigint;
  claimWindow: bigint;
  maxRequestTtl: bigint;
  unbondingDelay: bigint;
  minStake: bigint;
  claimBond: bigint;
}

/**
 * Parameters for local chains, demos and tests: 2% protocol fee, 10% royalty, a 10-minute claim
 * window, requests of up to a day, two days of unbonding, 100 tokens to validate, 10 per claim.
 */
export const DEV_MARKET_PARAMS: MarketParams = {
  protocolFeeBps: 200n,
  royaltyBps: 1_000n,
  claimWindow: 600n,
  maxRequestTtl: 86_400n,
  unbondingDelay: 172_800n,
  minStake: 100n * 10n ** 18n,
  claimBond: 10n * 10n ** 18n,
};

/** Chain id of Hardhat's in-process chain and of `hardhat node`: the local development chain. */
export const DEV_CHAIN_ID = 31337n;

/**
 * Whether a ModelRegistry deployed on chain `chainId` accepts universal keys of the insecure
 * development ceremonies unless its deployer says otherwise: on the local development chain yes
 * (its models rest on development ptau files), on any other chain no (whoever knows such a
 * ceremony's secret, for the generated files anyone, can forge proofs of its keys).
 */
export function acceptsInsecureCeremoniesByDefault(chainId: bigint): boolean {
  return chainId === DEV_CHAIN_ID;
}

/** Public signals of a baked model's single-inference circuit, in order. */
const BAKED_SIGNALS = ["inputCommitment", "output", "binding"];
/** Public signals of a batch circuit, in order. */
const BATCH_SIGNALS = ["fold", "challenge", "batchBinding"];

/**
 * The verification key of a built circuit, as the bytes the registry stores, after checking that
 * the manifest's public signals are `expected` (a key for other signals would never verify).
 */
export function verificationKeyBytes(manifestFile: string, expected?: string[]): { key: string; vkHash: string } {
  const manifest = readManifest(manifestFile);
  if (expected && manifest.publicSignals.join(",") !== expected.join(","))
    throw new Error(
      `${manifest.circuit} has public signals [${manifest.publicSignals.join(", ")}], expected [${expected.join(", ")}]`,
    );
  const vk = JSON.parse(readFileSync(artifactPath(manifestFile, manifest, "vkey"), "utf8")) as snarkjs.VerificationKey;
  const key = encodeVerificationKey(vk);
  const vkHash = keccak256(key);
  if (vkHash !== manifest.vkHash)
    throw new Error(
      `the verification key of ${manifest.circuit} hashes to ${vkHash}, but its manifest pins ${manifest.vkHash}; rebuild the circuit (npm run build)`,
    );
  return { key, vkHash };
}

/** Terms of a model registration (see IModelRegistry.ModelTerms). */
export interface ModelTermsOptions {
  feeToken: string;
  price: bigint;
  /** Defaults to the registering owner. */
  royaltyRecipient?: string;
  /** Model id this registration publishes a new version of (0 or absent: a new model). */
  previousVersion?: bigint;
  metadataURI?: string;
  /** 0x-prefixed sha256 of the ONNX file, or absent. */
  onnxHash?: string;
}

const ZERO_HASH = "0x" + "00".repeat(32);

async function terms(owner: Signer, t: ModelTermsOptions) {
  return {
    feeToken: t.feeToken,
    price: t.price,
    royaltyRecipient: t.royaltyRecipient ?? (await owner.getAddress()),
    previousVersion: t.previousVersion ?? 0n,
    metadataURI: t.metadataURI ?? "",
    onnxHash: t.onnxHash ?? ZERO_HASH,
  };
}

/** A registered model: its id, the key data contracts (baked) and the registration's gas. */
export interface RegisteredModel {
  modelId: bigint;
  /** Baked and universal: the data contract of the single-inference key. Committed: the circuit's verifier. */
  verifier: string;
  /** What checks proofs of each batch size. */
  batchVerifiers: Record<number, string>;
  gasUsed: bigint;
}

async function registered(registry: ModelRegistry, modelId: bigint, sizes: number[], gasUsed: bigint) {
  const m = await registry.model(modelId);
  const batchVerifiers: Record<number, string> = {};
  for (const k of sizes) batchVerifiers[k] = await registry.batchVerifier(modelId, k);
  return { modelId, verifier: m.verifier, batchVerifiers, gasUsed };
}

/**
 * Registers a baked model owned by `owner`, with the key of the circuit built at `manifestFile`
 * and, optionally, batch keys. Registration is permissionless: the owner is the sender.
 */
export async function registerBakedModel(
  registry: ModelRegistry,
  owner: Signer,
  options: ModelTermsOptions & { manifestFile: string; batchKeys?: { manifestFile: string; batchSize: number }[] },
): Promise<RegisteredModel> {
  const { key } = verificationKeyBytes(options.manifestFile, BAKED_SIGNALS);
  const batches = options.batchKeys ?? [];
  const sizes = batches.map((b) => b.batchSize);
  const keys = batches.map((b) => verificationKeyBytes(b.manifestFile, BATCH_SIGNALS).key);
  const r = registry.connect(owner);
  const t = await terms(owner, options);
  const modelId = await r.registerBakedModel.staticCall(t, key, sizes, keys);
  const receipt = await (await r.registerBakedModel(t, key, sizes, keys)).wait();
  return registered(registry, modelId, sizes, receipt!.gasUsed);
}

/**
 * The PLONK key of `vkeyFile` as the registry stores it.
 * @throws naming the file if it is not a PLONK key, not for the 3 signals of a single inference or a batch, or
 *   made from a ceremony the protocol does not know
 */
export function universalKeyBytes(vkeyFile: string): string {
  let vk: PlonkVerificationKey;
  try {
    vk = JSON.parse(readFileSync(vkeyFile, "utf8")) as PlonkVerificationKey;
  } catch (err) {
    throw new Error(`${vkeyFile} is not a readable JSON verification key: ${(err as Error).message}`);
  }
  if (vk.nPublic !== BAKED_SIGNALS.length)
    throw new Error(`${vkeyFile} is a key for ${vk.nPublic} public signals; a model needs ${BAKED_SIGNALS.length}`);
  try {
    return encodePlonkKey(vk);
  } catch (err) {
    throw new Error(`${vkeyFile}: ${(err as Error).message}`);
  }
}

/**
 * Refuses, before any transaction, what ModelRegistry.registerUniversalModel would revert with
 * `ModelRegistryInsecureCeremony`: a key (as {@link universalKeyBytes} encodes it) naming an
 * insecure development ceremony, for a registry that does not accept them.
 * @param accepts the registry's `acceptsInsecureCeremonies()`
 * @throws naming the key file, its ceremony and the registry
 */
export function checkCeremonyAccepted(vkeyFile: string, key: string, accepts: boolean, registryAddress: string): void {
  const id = BigInt(key.slice(0, 66));
  const ceremony = UNIVERSAL_CEREMONIES.find((c) => BigInt(c.id) === id);
  if (accepts || !ceremony?.insecure) return;
  throw new Error(
    `${vkeyFile} names ceremony ${id} (${ceremony.name}), an insecure development ceremony whose proofs can be ` +
      `forged, and the model registry ${registryAddress} was deployed not to accept those: set the model up ` +
      "from a public ceremony file (poi setup --proof-system plonk --ptau powersOfTau28_hez_final_NN.ptau)",
  );
}

/**
 * Registers a universal-mode model owned by `owner` with the PLONK key of `vkeyFile` (written by
 * `poi setup --proof-system plonk`), encoded as the registry stores it, and optionally the PLONK
 * key of each batch circuit (`batchKeys`). Every key must name a ceremony the protocol knows, the
 * same one for all of them, one the registry accepts ({@link checkCeremonyAccepted}), and be for 3
 * public signals (a single inference's or a batch's).
 */
export async function registerUniversalModel(
  registry: ModelRegistry,
  owner: Signer,
  options: ModelTermsOptions & { vkeyFile: string; batchKeys?: { vkeyFile: string; batchSize: number }[] },
): Promise<RegisteredModel & { vkHash: string }> {
  const key = universalKeyBytes(options.vkeyFile);
  checkCeremonyAccepted(options.vkeyFile, key, await registry.acceptsInsecureCeremonies(), await registry.getAddress());
  const batches = options.batchKeys ?? [];
  const sizes = batches.map((b) => b.batchSize);
  const keys = batches.map((b) => universalKeyBytes(b.vkeyFile));
  const r = registry.connect(owner);
  const t = await terms(owner, options);
  const modelId = await r.registerUniversalModel.staticCall(t, key, sizes, keys);
  const receipt = await (await r.registerUniversalModel(t, key, sizes, keys)).wait();
  return { ...(await registered(registry, modelId, sizes, receipt!.gasUsed)), vkHash: keccak256(key) };
}

/** Registers a committed model owned by `owner` on governance circuit `circuitId`. */
export async function registerCommittedModel(
  registry: ModelRegistry,
  owner: Signer,
  options: ModelTermsOptions & {
    circuitId: bigint;
    weightsCommitment: bigint;
    batchCircuits?: { circuitId: bigint; batchSize: number }[];
  },
): Promise<RegisteredModel> {
  const batches = options.batchCircuits ?? [];
  const sizes = batches.map((b) => b.batchSize);
  const ids = batches.map((b) => b.circuitId);
  const r = registry.connect(owner);
  const t = await terms(owner, options);
  const modelId = await r.registerCommittedModel.staticCall(
    t,
    options.circuitId,
    options.weightsCommitment,
    sizes,
    ids,
  );
  const receipt = await (
    await r.registerCommittedModel(t, options.circuitId, options.weightsCommitment, sizes, ids)
  ).wait();
  return registered(registry, modelId, sizes, receipt!.gasUsed);
}

export interface Protocol {
  token: TestToken;
  circuits: CircuitRegistry;
  registry: ModelRegistry;
  market: InferenceMarket;
  /** Data contract holding the model's single-inference verification key. */
  verifier: string;
  modelId: bigint;
  /** Data contract of the model's key for each batch size. */
  batchVerifiers: Record<number, string>;
  /** Gas used by each deployment and the registration. */
  gas: Record<string, bigint>;
}

/**
 * Deploys a development token (fees and stake alike), the circuit registry (governed by
 * `governance`, with `circuitDelay` seconds between a circuit's registration and its use), the
 * model registry (accepting universal keys of insecure development ceremonies as
 * `allowInsecureCeremonies` says, by default only on the local development chain: see
 * {@link acceptsInsecureCeremoniesByDefault}) and the market, then registers the baked model built
 * at `manifestFile` (and its batch keys) from `modelOwner`, priced in the token.
 */
export async function deployProtocol(
  /** Finds the model owner's signer by address (Hardhat's `ethers` does). */
  ethers: { getSigner(address: string): Promise<Signer> },
  governance: Signer,
  options: {
    manifestFile: string;
    /** The registering account, or its address among the node's accounts. */
    modelOwner: Signer | string;
    price: bigint;
    params?: MarketParams;
    /** Batch circuits whose keys the model registers too. */
    batchKeys?: { manifestFile: string; batchSize: number }[];
    circuitDelay?: bigint;
    /** Whether the registry takes universal keys of insecure ceremonies (default: per chain id). */
    allowInsecureCeremonies?: boolean;
  },
): Promise<Protocol> {
  const gas: Record<string, bigint> = {};
  const used = async (name: string, tx: { wait(): Promise<{ gasUsed: bigint } | null> } | null) => {
    const receipt = await tx?.wait();
    if (receipt) gas[name] = receipt.gasUsed;
  };
  const token = await new TestToken__factory(governance).deploy();
  await used("deploy TestToken", token.deploymentTransaction());
  const circuits = await new CircuitRegistry__factory(governance).deploy(
    options.circuitDelay ?? 0n,
    await governance.getAddress(),
  );
  await used("deploy CircuitRegistry", circuits.deploymentTransaction());
  let allowInsecure = options.allowInsecureCeremonies;
  if (allowInsecure === undefined) {
    if (!governance.provider) throw new Error("the deploying signer has no provider: cannot tell which chain it is");
    allowInsecure = acceptsInsecureCeremoniesByDefault((await governance.provider.getNetwork()).chainId);
  }
  const registry = await new ModelRegistry__factory(governance).deploy(await circuits.getAddress(), allowInsecure);
  await used("deploy ModelRegistry", registry.deploymentTransaction());
  const market = await new InferenceMarket__factory(governance).deploy(
    await registry.getAddress(),
    await token.getAddress(),
    await governance.getAddress(),
    options.params ?? DEV_MARKET_PARAMS,
  );
  await used("deploy InferenceMarket", market.deploymentTransaction());

  const owner =
    typeof options.modelOwner === "string" ? await ethers.getSigner(options.modelOwner) : options.modelOwner;
  const model = await registerBakedModel(registry, owner, {
    manifestFile: options.manifestFile,
    feeToken: await token.getAddress(),
    price: options.price,
    batchKeys: options.batchKeys,
  });
  gas.registerBakedModel = model.gasUsed;
  return {
    token,
    circuits,
    registry,
    market,
    verifier: model.verifier,
    modelId: model.modelId,
    batchVerifiers: model.batchVerifiers,
    gas,
  };
}

export function connectMarket(address: string, signer: Signer): InferenceMarket {
  return InferenceMarket__factory.connect(address, signer);
}
