/** `poi register`: registers a baked model, with its verification keys, on an existing deployment. */
import { formatUnits } from "ethers";
import { readManifest } from "../../setup/manifest.ts";
import {
  bigintFlag,
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
  usageError,
  type Command,
} from "../support.ts";
import { buildContracts } from "./deploy.ts";

export const registerCommand: Command = {
  name: "register",
  usage: [
    "poi register --manifest FILE [--price TOKENS] [--fee-token ADDR] [--royalty-recipient ADDR]",
    "             [--batch-manifest FILE --batch-size K] [--previous-version ID] [--metadata-uri URI]",
    "             [--deployment FILE] [--network NAME] [--rpc-url URL] [--account N|ADDR]",
    "",
    "Registers a baked model owned by the account: the manifest's verification key is stored once",
    "as data and the market checks every proof of the model against it with the protocol's own",
    "Groth16 verifier. Registration is permissionless.",
    "  --manifest FILE           the model's artifact manifest (single-inference circuit)",
    "  --price TOKENS            price per inference (default 1)",
    "  --fee-token ADDR          ERC-20 the price is paid in (default: the deployment's token)",
    "  --royalty-recipient ADDR  receives the royalty (default: the account)",
    "  --batch-manifest FILE     a batch circuit of the same model, proving --batch-size K inferences",
    "  --previous-version ID     publish this as a new version of a model the account owns",
    "  --metadata-uri URI        where the model card and artifacts are described",
    NETWORK_HELP,
  ].join("\n"),
  summary: "register a baked model with its verification keys (permissionless)",
  valueFlags: [
    "manifest",
    "price",
    "fee-token",
    "royalty-recipient",
    "batch-manifest",
    "batch-size",
    "previous-version",
    "metadata-uri",
    "deployment",
    ...NETWORK_FLAGS,
  ],
  booleanFlags: [],
  async run(args) {
    const dep = readDeployment(args);
    const manifestFile = existingFile(required(args, "manifest", "the model's artifact manifest"), "manifest");
    const manifest = await integrity(() => readManifest(manifestFile));
    const price = tokenFlag(args, "price", 10n ** 18n)!;
    const batchManifest = flag(args, "batch-manifest");
    const batchSize = bigintFlag(args, "batch-size");
    if ((batchManifest === undefined) !== (batchSize === undefined))
      throw usageError("--batch-manifest and --batch-size go together");
    if (batchSize !== undefined && batchSize < 2n) throw usageError("--batch-size must be at least 2");
    const batchKeys =
      batchManifest === undefined
        ? []
        : [{ manifestFile: existingFile(batchManifest, "batch manifest"), batchSize: Number(batchSize) }];
    const { hre, signer } = await connect(args);
    await progress(args, "compiling contracts", () => buildContracts(hre));
    const { ModelRegistry__factory } = await import("../../../types/ethers-contracts/index.js");
    const { registerBakedModel } = await import("../../chain/protocol.ts");
    const registry = ModelRegistry__factory.connect(dep.deployment.registry, signer);
    const owner = await signer.getAddress();
    const feeToken = flag(args, "fee-token") ?? dep.deployment.token;
    const model = await progress(args, "registering the model and storing its keys", () =>
      onChain("registration failed", () =>
        registerBakedModel(registry, signer, {
          manifestFile,
          feeToken,
          price,
          royaltyRecipient: flag(args, "royalty-recipient"),
          previousVersion: bigintFlag(args, "previous-version"),
          metadataURI: flag(args, "metadata-uri"),
          batchKeys,
        }),
      ),
    );
    return {
      json: {
        modelId: model.modelId.toString(),
        key: model.verifier,
        batchKeys: model.batchVerifiers,
        vkHash: manifest.vkHash,
        owner,
        feeToken,
        price: price.toString(),
        gasUsed: model.gasUsed.toString(),
      },
      text: `registered model #${model.modelId} (${manifest.circuit}, baked): key stored at ${model.verifier}, owner ${owner}, price ${formatUnits(price)} of ${feeToken}`,
    };
  },
};
