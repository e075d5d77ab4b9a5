/**
 * The page's connection to the chain: a JSON-RPC provider for reading, the market and registry
 * of the deployment, and the accounts that can pay for a request (Hardhat's public development
 * keys on a development chain, or an injected wallet).
 */
import { BrowserProvider, HDNodeWallet, JsonRpcProvider, type Eip1193Provider, type Signer } from "ethers";
import {
  IModelRegistry__factory,
  InferenceMarket__factory,
  TestToken__factory,
  type IModelRegistry,
  type InferenceMarket,
  type TestToken,
} from "../../types/ethers-contracts/index.js";
import type { AppConfig } from "./config.ts";

/** Hardhat's (and anvil's) development chain id: its accounts' keys are public. */
export const DEV_CHAIN_ID = 31337n;
/** The public mnemonic of Hardhat's development accounts: never hold anything of value with it. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const DEV_ACCOUNTS = 10;

export interface Chain {
  rpcUrl: string;
  provider: JsonRpcProvider;
  chainId: bigint;
  market: InferenceMarket;
  registry: IModelRegistry;
  /** An ERC-20 view of any token (fee tokens are per model). */
  token(address: string, runner?: Signer): TestToken;
}

/**
 * Connects to the RPC (the page's `?rpc=` parameter, else the server's) and checks that it is
 * the deployment's chain and holds its market.
 * @throws naming the RPC, the chain ids or the address at fault
 */
export async function connectChain(config: AppConfig, rpcOverride: string | null): Promise<Chain> {
  const rpcUrl = rpcOverride ?? config.rpcUrl;
  const d = config.deployment;
  // No response cache: ethers keeps answers for 250 ms by default, and a development account
  // sending two transactions in that time (approve, then request) would reuse a nonce.
  const provider = new JsonRpcProvider(rpcUrl, BigInt(d.chainId), {
    staticNetwork: true,
    pollingInterval: 1000,
    cacheTimeout: -1,
  });
  let chainId: bigint;
  try {
    chainId = BigInt(await provider.send("eth_chainId", []));
  } catch (err) {
    provider.destroy();
    throw new Error(`cannot reach the chain at ${rpcUrl} (${shortError(err)}): is the node running?`);
  }
  if (chainId !== BigInt(d.chainId)) {
    provider.destroy();
    throw new Error(
      `the chain at ${rpcUrl} has id ${chainId}, but ${d.file} was deployed on chain ${d.chainId}: wrong RPC or deployment file`,
    );
  }
  if ((await provider.getCode(d.market)) === "0x") {
    provider.destroy();
    throw new Error(
      `no market at ${d.market} on the chain at ${rpcUrl} (chain ${chainId}): the node was restarted since ${d.file} was written; deploy again`,
    );
  }
  const market = InferenceMarket__factory.connect(d.market, provider);
  const registry = IModelRegistry__factory.connect(await market.registry(), provider);
  return {
    rpcUrl,
    provider,
    chainId,
    market,
    registry,
    token: (address, runner) => TestToken__factory.connect(address, runner ?? provider),
  };
}

/** An account the page can pay from. */
export interface Payer {
  label: string;
  address: string;
  /** Development keys only: the token is a TestToken anyone may mint. */
  development: boolean;
  signer(): Promise<Signer>;
}

/** Hardhat's development accounts #0..#9, on a development chain only. */
export function developmentPayers(chain: Chain): Payer[] {
  if (chain.chainId !== DEV_CHAIN_ID) return [];
  const root = HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, "m/44'/60'/0'/0");
  return Array.from({ length: DEV_ACCOUNTS }, (_, i) => {
    const wallet = root.deriveChild(i).connect(chain.provider);
    return {
      label: `development account #${i}`,
      address: wallet.address,
      development: true,
      signer: async () => wallet,
    };
  });
}

/** The browser's injected wallet (window.ethereum), if there is one. */
export async function injectedPayer(chain: Chain): Promise<Payer | undefined> {
  const ethereum = (window as unknown as { ethereum?: Eip1193Provider }).ethereum;
  if (!ethereum) return undefined;
  const provider = new BrowserProvider(ethereum);
  const accounts = (await provider.send("eth_accounts", [])) as string[];
  const payer: Payer = {
    label: "injected wallet",
    // Until the wallet is connected (it asks when the page first sends), its account is unknown.
    address: accounts[0] ?? "",
    development: false,
    signer: async () => {
      const signer = await provider.getSigner();
      const { chainId } = await provider.getNetwork();
      if (chainId !== chain.chainId)
        throw new Error(`the wallet is on chain ${chainId}; switch it to chain ${chain.chainId} (${chain.rpcUrl})`);
      payer.address = await signer.getAddress();
      return signer;
    },
  };
  return payer;
}

/** An error as one readable line: a revert's custom error by name, else ethers' short message. */
export function shortError(err: unknown): string {
  const e = err as { revert?: { name: string; args: unknown[] }; shortMessage?: string; message?: string };
  if (e.revert) return `${e.revert.name}(${e.revert.args.map(String).join(", ")})`;
  return e.shortMessage ?? e.message ?? String(err);
}

export const short = (address: string) => `${address.slice(0, 6)}…${address.slice(-4)}`;
