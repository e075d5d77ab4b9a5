/**
 * `poi deploy`: deploys a development fee/stake token, the CircuitRegistry, the ModelRegistry
 * and the InferenceMarket, registers the manifest's model as a baked model (its verification
 * key stored as data), and writes the addresses to a deployment file that the other commands
 * read. The registry accepts universal keys of insecure (development) ceremonies on the local
 * development chain (chain id 31337) and nowhere else unless --allow-insecure-ceremonies says so.
 * For a real network with an existing token, deploy with the Ignition module deploy/modules/Poi.ts
 * instead, then `poi register`.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { formatUnits } from "ethers";
import {
  connect,
  deploymentFile,
  existingFile,
  flag,
  integrity,
  loadManifest,
  NETWORK_FLAGS,
  NETWORK_HELP,
  note,
  onChain,
  progress,
  required,
  tokenFlag,
  usageError,
  writeDeployment,
  type Deployment,
  type Command,
} from "../support.ts";

/** Compiles the contracts so that they can be deployed. */
export async function buildContracts(hre: { tasks: { getTask(n: string): { run(a: object): Promise<unknown> } } }) {
  await hre.tasks.getTask("build").run({ quiet: true });
}

export const deployCommand: Command = {
  name: "deploy",
  usage: [
    "poi deploy --manifest FILE [--price TOKENS] [--model-owner ADDR] [--allow-insecure-ceremonies]",
    "           [--deployment FILE] [--force] [--network NAME] [--rpc-url URL] [--account N|ADDR]",
    "",
    "  --manifest FILE     the model's artifact manifest: its verification key is registered with the model",
    "  --price TOKENS      the model's price per inference (default 1)",
    "  --model-owner ADDR  account of the node that registers and owns the model (default: the deployer)",
    "  --allow-insecure-ceremonies  let the registry take universal (PLONK) keys of the INSECURE development",
    "                      ceremonies, whose proofs can be forged; fixed for the registry's lifetime. Default:",
    "                      only on the local development chain (chain id 31337), refused on any other chain",
    "  --force             overwrite an existing deployment file (otherwise refused, exit 2)",
    NETWORK_HELP,
    "",
    "The fee and stake token is a development TestToken; with an existing token use the Ignition",
    "module deploy/modules/Poi.ts, then poi register.",
  ].join("\n"),
  summary: "deploy token, registries and market; register the model with its verification key",
  valueFlags: ["manifest", "price", "model-owner", ...NETWORK_FLAGS],
  booleanFlags: ["force", "allow-insecure-ceremonies"],
  async run(args) {
    const file = deploymentFile(args);
    if (existsSync(file) && !args.flags.has("force"))
      throw usageError(
        `deployment file ${file} exists (addresses of an earlier deployment): pass --force to overwrite it, or --deployment FILE`,
      );
    const manifestFile = existingFile(required(args, "manifest", "the model's artifact manifest"), "manifest");
    const manifest = await loadManifest(manifestFile);
    const price = tokenFlag(args, "price", 10n ** 18n)!;
    const { hre, ethers, signer, networkName, rpcUrl } = await connect(args);
    await progress(args, "compiling contracts", () => buildContracts(hre));
    const { deployProtocol } = await import("../../chain/protocol.ts");
    const startBlock = await onChain("cannot reach the node", () => ethers.provider.getBlockNumber());
    const owner = flag(args, "model-owner") ?? (await signer.getAddress());
    const p = await progress(args, "deploying", () =>
      onChain("deployment failed", () =>
        deployProtocol(ethers, signer, {
          manifestFile,
          modelOwner: owner,
          price,
          // Absent: the per-chain default (accepted on the local development chain only).
          ...(args.flags.has("allow-insecure-ceremonies") ? { allowInsecureCeremonies: true } : {}),
        }),
      ),
    );
    const { chainId } = await ethers.provider.getNetwork();
    // What the registry itself says, not what was asked of it.
    const acceptsInsecureCeremonies = await onChain("cannot read the model registry", () =>
      p.registry.acceptsInsecureCeremonies(),
    );
    const d: Deployment = {
      format: "poi-deployment/1",
      network: networkName,
      chainId: chainId.toString(),
      token: await p.token.getAddress(),
      circuits: await p.circuits.getAddress(),
      registry: await p.registry.getAddress(),
      market: await p.market.getAddress(),
      modelId: p.modelId.toString(),
      verifier: p.verifier,
      manifest: path.relative(path.dirname(path.resolve(file)), path.resolve(manifestFile)),
      deployedAtBlock: startBlock,
      acceptsInsecureCeremonies,
      ...(rpcUrl ? { rpcUrl } : {}),
    };
    writeDeployment(file, d);
    if (networkName === "hardhat")
      note(args, "note: the in-process chain ends with this command; use --network localhost to keep it");
    const text = [
      `deployed on ${networkName} (chain ${chainId}${rpcUrl ? ` at ${rpcUrl}` : ""}); addresses in ${file}`,
      `  token ${d.token} (TestToken, development)`,
      `  circuit registry ${d.circuits}`,
      `  model registry ${d.registry}: ` +
        (acceptsInsecureCeremonies
          ? "ACCEPTS universal keys of INSECURE development ceremonies (forgeable proofs; development only)"
          : "refuses universal keys of insecure development ceremonies"),
      `  market ${d.market}`,
      `  model #${d.modelId}: ${manifest.circuit} (baked), key stored at ${d.verifier}, price ${formatUnits(price)}, vkHash ${manifest.vkHash}`,
      manifest.ptau.insecure ? "  WARNING: the model's setup used an INSECURE development ptau" : "",
    ]
      .filter(Boolean)
      .join("\n");
    return {
      json: {
        deployment: file,
        ...d,
        gas: Object.fromEntries(Object.entries(p.gas).map(([k, g]) => [k, g.toString()])),
      },
      text,
    };
  },
};
