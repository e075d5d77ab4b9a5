/**
 * `poi models`: the model registry as a requester sees it: whether it accepts insecure ceremonies,
 * each model's mode (a universal model's ceremony, INSECURE when it is a development one), price
 * and fee token, owner, version chain and whether it takes requests; its circuit's constraints and
 * input size where a manifest of it is at hand (the deployment's, or --manifest).
 */
import path from "node:path";
import { formatUnits } from "ethers";
import type { Manifest } from "../../setup/manifest.ts";
import { MODEL_MODES, modelCeremony } from "../known-model.ts";
import {
  connectDeployment,
  flag,
  manifestArg,
  NETWORK_FLAGS,
  NETWORK_HELP,
  onChain,
  plain,
  readJsonFile,
  type Command,
} from "../support.ts";

export const modelsCommand: Command = {
  name: "models",
  usage: [
    "poi models [--manifest FILE[,FILE...]] [--deployment FILE] [--network NAME] [--rpc-url URL] [--account N|ADDR]",
    "",
    "  --manifest FILE,...  artifact manifests to match against the registry (by verification key, or",
    "                       weights commitment) for constraints and input size; the deployment's is read too",
    NETWORK_HELP,
  ].join("\n"),
  summary: "list the registry's models: mode (and ceremony), price, constraints, owner, versions",
  valueFlags: ["manifest", ...NETWORK_FLAGS],
  booleanFlags: [],
  async run(args) {
    const { dep, signer } = await connectDeployment(args);
    const manifests: { file: string; manifest: Manifest }[] = [];
    const files = (flag(args, "manifest") ?? "").split(",").filter(Boolean);
    if (dep.deployment.manifest) {
      const own = path.resolve(path.dirname(dep.file), dep.deployment.manifest);
      files.push(own);
    }
    for (const file of files) {
      const manifest = readJsonFile(manifestArg(file), "manifest") as Manifest;
      manifests.push({ file, manifest });
    }
    const { IModelRegistry__factory } = await import("../../../types/ethers-contracts/index.js");
    const registry = IModelRegistry__factory.connect(dep.deployment.registry, signer);
    const [count, acceptsInsecureCeremonies] = await onChain("cannot read the model registry", () =>
      Promise.all([registry.modelCount(), registry.acceptsInsecureCeremonies()]),
    );
    const models = [];
    const ceremonyTexts = new Map<bigint, string>();
    for (let id = 1n; id <= count; id++) {
      const [m, next] = await onChain(`cannot read model #${id}`, () =>
        Promise.all([registry.model(id), registry.nextVersion(id)]),
      );
      const mode = MODEL_MODES[Number(m.mode)] ?? `mode ${m.mode}`;
      const ceremony =
        mode === "universal"
          ? await onChain(`cannot read model #${id}'s ceremony`, () => modelCeremony(registry, id))
          : undefined;
      if (ceremony) ceremonyTexts.set(id, ceremony.text);
      const match = manifests.find(({ manifest }) =>
        mode === "baked"
          ? manifest.vkHash === m.vkHash
          : manifest.modelCommitment !== undefined && BigInt(manifest.modelCommitment) === m.weightsCommitment,
      );
      models.push({
        id,
        mode,
        active: m.active,
        version: m.version,
        previousVersion: m.previousVersion === 0n ? null : m.previousVersion,
        nextVersion: next === 0n ? null : next,
        owner: m.owner,
        feeToken: m.feeToken,
        price: m.price,
        ...(mode === "committed"
          ? { circuitId: m.circuitId, weightsCommitment: m.weightsCommitment }
          : { vkHash: m.vkHash }),
        ...(ceremony ? { ceremony: ceremony.ceremony } : {}),
        circuit: match?.manifest.circuit ?? null,
        constraints: match?.manifest.constraints ?? null,
        manifest: match ? path.relative(process.cwd(), match.file) : null,
      });
    }
    const lines = [
      `${count} model(s) in the registry ${dep.deployment.registry}, which ` +
        (acceptsInsecureCeremonies
          ? "ACCEPTS universal keys of INSECURE development ceremonies"
          : "refuses universal keys of insecure development ceremonies"),
    ];
    for (const m of models)
      lines.push(
        `  #${m.id} ${m.mode}${ceremonyTexts.has(m.id) ? ` on ${ceremonyTexts.get(m.id)}` : ""}${m.active ? "" : " (inactive)"}, v${m.version}` +
          `${m.previousVersion ? ` (after #${m.previousVersion})` : ""}${m.nextVersion ? `, superseded by #${m.nextVersion}` : ""}: ` +
          `price ${formatUnits(m.price)} of ${m.feeToken}, owner ${m.owner}, ` +
          (m.constraints !== null
            ? `${m.circuit}, ${m.constraints} constraints`
            : "constraints unknown (no manifest at hand)"),
      );
    return {
      json: plain({
        registry: dep.deployment.registry,
        acceptsInsecureCeremonies,
        models,
      }),
      text: lines.join("\n"),
    };
  },
};
