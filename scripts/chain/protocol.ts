/**
 * Deploys the protocol contracts and registers a model whose verifier was exported by the
 * trusted setup. Used by the demo and the tests; deploy/ holds the Ignition modules for
 * real networks.
 */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { Signer } from "ethers";
import {
  InferenceMarket__factory,
  ModelRegistry__factory,
  TestToken__factory,
  type InferenceMarket,
  type ModelRegistry,
  type TestToken,
} from "../../types/ethers-contracts/index.js";
import type { Manifest } from "../setup/manifest.ts";

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

/** A batch circuit's verifier, registered for `batchSize` inferences per proof. */
export interface BatchVerifierOption {
  verifierContract: string;
  manifest: Manifest;
  batchSize: number;
}

export interface Protocol {
  token: TestToken;
  registry: ModelRegistry;
  market: InferenceMarket;
  verifier: string;
  modelId: bigint;
  /** Address of the registered batch verifier for each batch size. */
  batchVerifiers: Record<number, string>;
  /** Gas used by each deployment and the registration. */
  gas: Record<string, bigint>;
}

/**
 * Deploys a token (fees and stake alike), the registry and the market (governed by `governance`),
 * deploys the verifier and registers the model.
 */
export async function deployProtocol(
  ethers: HardhatEthers,
  governance: Signer,
  options: {
    verifierContract: string;
    manifest: Manifest;
    modelOwner: string;
    price: bigint;
    params?: MarketParams;
    /** Batch verifiers to deploy and register for the model (governance sets them). */
    batchVerifiers?: BatchVerifierOption[];
  },
): Promise<Protocol> {
  const gas: Record<string, bigint> = {};
  const used = async (name: string, tx: { wait(): Promise<{ gasUsed: bigint } | null> } | null) => {
    const receipt = await tx?.wait();
    if (receipt) gas[name] = receipt.gasUsed;
  };
  const token = await new TestToken__factory(governance).deploy();
  await used("deploy TestToken", token.deploymentTransaction());
  const registry = await new ModelRegistry__factory(governance).deploy(await governance.getAddress());
  await used("deploy ModelRegistry", registry.deploymentTransaction());
  const market = await new InferenceMarket__factory(governance).deploy(
    await registry.getAddress(),
    await token.getAddress(),
    await token.getAddress(),
    await governance.getAddress(),
    options.params ?? DEV_MARKET_PARAMS,
  );
  await used("deploy InferenceMarket", market.deploymentTransaction());
  const verifier = await ethers.deployContract(options.verifierContract, [], governance);
  await used(`deploy ${options.verifierContract}`, verifier.deploymentTransaction());

  const modelId = await registry.registerModel.staticCall(
    await verifier.getAddress(),
    options.manifest.vkHash,
    options.modelOwner,
    options.price,
  );
  await used(
    "registerModel",
    await registry.registerModel(
      await verifier.getAddress(),
      options.manifest.vkHash,
      options.modelOwner,
      options.price,
    ),
  );
  const batchVerifiers: Record<number, string> = {};
  for (const batch of options.batchVerifiers ?? []) {
    const contract = await ethers.deployContract(batch.verifierContract, [], governance);
    await used(`deploy ${batch.verifierContract}`, contract.deploymentTransaction());
    batchVerifiers[batch.batchSize] = await contract.getAddress();
    await used(
      `setBatchVerifier ${batch.batchSize}`,
      await registry
        .connect(governance)
        .setBatchVerifier(modelId, batch.batchSize, batchVerifiers[batch.batchSize], batch.manifest.vkHash),
    );
  }
  return { token, registry, market, verifier: await verifier.getAddress(), modelId, batchVerifiers, gas };
}

export function connectMarket(address: string, signer: Signer): InferenceMarket {
  return InferenceMarket__factory.connect(address, signer);
}
