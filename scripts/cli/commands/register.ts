/**
 * `poi register`: registers a model on an existing deployment (permissionless): a baked model with
 * its verification keys, or a committed model on a governance circuit with its weights commitment.
 */
import { formatUnits } from "ethers";
import {
  bigintFlag,
  connectDeployment,
  existingFile,
  flag,
  integrity,
  loadManifest,
  manifestArg,
  NETWORK_FLAGS,
  NETWORK_HELP,
  onChain,
  progress,
  required,
  tokenFlag,
  usageError,
  type Command,
} from "../support.ts";
import { buildContracts } from "./deploy.ts";

export const registerCommand: Command = {
  name: "register",
  usage: [
    "poi register (--manifest FILE | --plonk-vkey FILE) [--price TOKENS] [--fee-token ADDR] [--royalty-recipient ADDR]",
    "             [(--batch-manifest FILE | --batch-plonk-vkey FILE) --batch-size K]",
    "             [--previous-version ID] [--metadata-uri URI] [--circuit-id N [--weights-commitment C]]",
    "             [--deployment FILE] [--network NAME] [--rpc-url URL] [--account N|ADDR]",
    "",
    "Registers a model owned by the account; registration is permissionless. A baked model's",
    "verification key is stored once as data and the market checks every proof of the model against",
    "it with the protocol's own Groth16 verifier. A committed model (a manifest with the public",
    "signal modelCommitment) names the governance circuit it runs on and its weights commitment.",
    "  --manifest FILE           the model's artifact manifest (single-inference circuit)",
    "  --plonk-vkey FILE         universal mode: the PLONK key of poi setup --proof-system plonk, made from",
    "                            a ceremony ptau alone; checked by the protocol's own PLONK verifier. A key of an",
    "                            INSECURE development ceremony is refused (exit 3) unless the registry accepts them",
    "  --price TOKENS            price per inference (default 1)",
    "  --fee-token ADDR          ERC-20 the price is paid in (default: the deployment's token)",
    "  --royalty-recipient ADDR  receives the royalty (default: the account)",
    "  --batch-manifest FILE     a batch circuit of the same model, proving --batch-size K inferences",
    "  --batch-plonk-vkey FILE   universal mode: the PLONK key of the model's batch circuit proving --batch-size K",
    "                            inferences, made from the same ceremony as --plonk-vkey",
    "  --batch-size K            the number of inferences the batch circuit proves at once (2 or more)",
    "  --previous-version ID     publish this as a new version of a model the account owns",
    "  --metadata-uri URI        where the model card and artifacts are described",
    "  --circuit-id N            committed mode: the circuit registry's id of the manifest's circuit",
    "  --weights-commitment C    committed mode: the model's weights commitment (default: the manifest's)",
    NETWORK_HELP,
  ].join("\n"),
  summary: "register a baked model with its verification keys (permissionless)",
  valueFlags: [
    "manifest",
    "plonk-vkey",
    "price",
    "fee-token",
    "royalty-recipient",
    "batch-manifest",
    "batch-plonk-vkey",
    "batch-size",
    "previous-version",
    "metadata-uri",
    "circuit-id",
    "weights-commitment",
    ...NETWORK_FLAGS,
  ],
  booleanFlags: [],
  async run(args) {
    const plonkVkey = flag(args, "plonk-vkey");
    const batchPlonkVkey = flag(args, "batch-plonk-vkey");
    const price = tokenFlag(args, "price", 10n ** 18n)!;
    const batchSize = bigintFlag(args, "batch-size");
    if (batchSize !== undefined && batchSize < 2n) throw usageError("--batch-size must be at least 2");
    if (batchPlonkVkey !== undefined && plonkVkey === undefined)
      throw usageError("--batch-plonk-vkey is the batch key of a universal-mode model: give its --plonk-vkey too");
    if (plonkVkey !== undefined) {
      for (const f of ["manifest", "batch-manifest", "circuit-id", "weights-commitment"])
        if (flag(args, f) !== undefined)
          throw usageError(`--${f} does not apply to a universal-mode model (--plonk-vkey)`);
      if ((batchPlonkVkey === undefined) !== (batchSize === undefined))
        throw usageError("--batch-plonk-vkey and --batch-size go together");
      const { universalKeyBytes } = await import("../../chain/protocol.ts");
      // A key the registry would refuse is refused here, before any chain (exit 3).
      await integrity(() => universalKeyBytes(existingFile(plonkVkey, "PLONK verification key")));
      if (batchPlonkVkey !== undefined)
        await integrity(() => universalKeyBytes(existingFile(batchPlonkVkey, "PLONK batch verification key")));
    }
    const manifestFile =
      plonkVkey === undefined
        ? existingFile(required(args, "manifest", "the model's artifact manifest"), "manifest")
        : undefined;
    const manifest = manifestFile === undefined ? undefined : await loadManifest(manifestFile);
    const batchManifest = flag(args, "batch-manifest");
    if (plonkVkey === undefined && (batchManifest === undefined) !== (batchSize === undefined))
      throw usageError("--batch-manifest and --batch-size go together");
    const batchKeys =
      batchManifest === undefined
        ? []
        : [{ manifestFile: manifestArg(batchManifest, "batch manifest"), batchSize: Number(batchSize) }];
    const committed = manifest?.publicSignals[0] === "modelCommitment";
    const circuitId = bigintFlag(args, "circuit-id");
    if (manifest && committed !== (circuitId !== undefined))
      throw usageError(
        committed
          ? `${manifest.circuit} is a committed-mode circuit: --circuit-id is required`
          : "--circuit-id is for committed-mode manifests",
      );
    const { hre, signer, dep } = await connectDeployment(args);
    await progress(args, "compiling contracts", () => buildContracts(hre));
    const { ModelRegistry__factory } = await import("../../../types/ethers-contracts/index.js");
    const { registerBakedModel, registerCommittedModel, registerUniversalModel } =
      await import("../../chain/protocol.ts");
    const registry = ModelRegistry__factory.connect(dep.deployment.registry, signer);
    const owner = await signer.getAddress();
    const feeToken = flag(args, "fee-token") ?? dep.deployment.token;
    const common = {
      feeToken,
      price,
      royaltyRecipient: flag(args, "royalty-recipient"),
      previousVersion: bigintFlag(args, "previous-version"),
      metadataURI: flag(args, "metadata-uri"),
    };
    const summary = { owner, feeToken, price: price.toString() };
    if (plonkVkey !== undefined) {
      const { checkCeremonyAccepted, universalKeyBytes } = await import("../../chain/protocol.ts");
      const accepts = await onChain("cannot read the model registry", () => registry.acceptsInsecureCeremonies());
      // A registry deployed for production refuses keys of development ceremonies: said here (exit 3).
      await integrity(() =>
        checkCeremonyAccepted(plonkVkey, universalKeyBytes(plonkVkey), accepts, dep.deployment.registry),
      );
      const model = await progress(args, "registering the universal-mode model and storing its key", () =>
        onChain("registration failed", () =>
          registerUniversalModel(registry, signer, {
            vkeyFile: plonkVkey,
            batchKeys: batchPlonkVkey === undefined ? [] : [{ vkeyFile: batchPlonkVkey, batchSize: Number(batchSize) }],
            ...common,
          }),
        ),
      );
      return {
        json: {
          modelId: model.modelId.toString(),
          mode: "universal",
          key: model.verifier,
          batchKeys: model.batchVerifiers,
          vkHash: model.vkHash,
          ...summary,
          gasUsed: model.gasUsed.toString(),
        },
        text:
          `registered model #${model.modelId} (universal, PLONK): key stored at ${model.verifier}, vkHash ${model.vkHash}, ` +
          Object.entries(model.batchVerifiers)
            .map(([k, at]) => `batch key for ${k} at ${at}, `)
            .join("") +
          `owner ${owner}, price ${formatUnits(price)} of ${feeToken}`,
      };
    }
    if (circuitId !== undefined) {
      if (batchKeys.length) throw usageError("batch keys are for baked models");
      const fromManifest = manifest!.modelCommitment === undefined ? undefined : BigInt(manifest!.modelCommitment);
      const weightsCommitment = bigintFlag(args, "weights-commitment", fromManifest);
      if (weightsCommitment === undefined)
        throw usageError("--weights-commitment is required: the manifest records none");
      const model = await progress(args, "registering the committed model", () =>
        onChain("registration failed", () =>
          registerCommittedModel(registry, signer, { circuitId, weightsCommitment, ...common }),
        ),
      );
      return {
        json: {
          modelId: model.modelId.toString(),
          mode: "committed",
          circuitId: circuitId.toString(),
          weightsCommitment: weightsCommitment.toString(),
          ...summary,
          gasUsed: model.gasUsed.toString(),
        },
        text: `registered model #${model.modelId} (committed, circuit #${circuitId}): owner ${owner}, price ${formatUnits(price)} of ${feeToken}`,
      };
    }
    const model = await progress(args, "registering the model and storing its keys", () =>
      onChain("registration failed", () =>
        registerBakedModel(registry, signer, { manifestFile: manifestFile!, batchKeys, ...common }),
      ),
    );
    return {
      json: {
        modelId: model.modelId.toString(),
        mode: "baked",
        key: model.verifier,
        batchKeys: model.batchVerifiers,
        vkHash: manifest!.vkHash,
        ...summary,
        gasUsed: model.gasUsed.toString(),
      },
      text: `registered model #${model.modelId} (${manifest!.circuit}, baked): key stored at ${model.verifier}, owner ${owner}, price ${formatUnits(price)} of ${feeToken}`,
    };
  },
};
