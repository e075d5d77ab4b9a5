/** `poi register`: deploys a model's verifier and registers the model on an existing deployment. */
import { formatUnits } from "ethers";
import { readManifest } from "../../setup/manifest.ts";
import {
  connect,
  existingFile,
  flag,
  integrity,
  NETWORK_FLAGS,
  NETWORK_HELP,
  onChain,
  progress,
  readDeployment,
  required,
  tokenFlag,
  type Command,
} from "../support.ts";
import { buildContracts, verifierContractOf } from "./deploy.ts";

export const registerCommand: Command = {
  name: "register",
  usage: [
    "poi register --manifest FILE [--price TOKENS] [--model-owner ADDR] [--deployment FILE]",
    "             [--network NAME] [--rpc-url URL] [--account N|ADDR]",
    "",
    "Deploys the manifest's verifier and registers the model with the manifest's vkHash.",
    NETWORK_HELP,
  ].join("\n"),
  summary: "deploy a model's verifier and register the model in the registry",
  valueFlags: ["manifest", "price", "model-owner", "deployment", ...NETWORK_FLAGS],
  booleanFlags: [],
  async run(args) {
    const dep = readDeployment(args);
    const manifestFile = existingFile(required(args, "manifest", "the model's artifact manifest"), "manifest");
    const manifest = await integrity(() => readManifest(manifestFile));
    const price = tokenFlag(args, "price", 10n ** 18n)!;
    const { hre, ethers, signer } = await connect(args);
    await progress(args, "compiling contracts", () => buildContracts(hre));
    const { ModelRegistry__factory } = await import("../../../types/ethers-contracts/index.js");
    const registry = ModelRegistry__factory.connect(dep.deployment.registry, signer);
    const owner = flag(args, "model-owner") ?? (await signer.getAddress());
    const { modelId, verifier } = await progress(args, "deploying the verifier and registering", () =>
      onChain("registration failed", async () => {
        const v = await ethers.deployContract(verifierContractOf(manifest), [], signer);
        await v.waitForDeployment();
        const address = await v.getAddress();
        const id = await registry.registerModel.staticCall(address, manifest.vkHash, owner, price);
        await (await registry.registerModel(address, manifest.vkHash, owner, price)).wait();
        return { modelId: id, verifier: address };
      }),
    );
    return {
      json: { modelId: modelId.toString(), verifier, vkHash: manifest.vkHash, owner, price: price.toString() },
      text: `registered model #${modelId} (${manifest.circuit}): verifier ${verifier}, owner ${owner}, price ${formatUnits(price)}`,
    };
  },
};
