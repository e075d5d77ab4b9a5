/**
 * What the requester's commands know of a registered model beyond its registry entry: its input
 * size and how to decode its output. The registry stores keys and terms, not shapes, so this
 * comes from the model's artifact manifest (--manifest, or the deployment file's for the
 * deployment's model), whose quantized model is sha256-checked and whose verification key must
 * be the one the registry pins.
 */
import path from "node:path";
import { unpackGraphOutput } from "../model/graph-inference.ts";
import { readQuantizedGraph, type QuantizedGraph } from "../model/quantize-graph.ts";
import { sha256File } from "../setup/hash.ts";
import type { Manifest } from "../setup/manifest.ts";
import type { IModelRegistry } from "../../types/ethers-contracts/index.js";
import {
  CliError,
  EXIT,
  flag,
  manifestArg,
  readJsonFile,
  usageError,
  type Deployment,
  type ParsedArgs,
} from "./support.ts";

export interface KnownModel {
  manifestFile: string;
  manifest: Manifest;
  model: QuantizedGraph;
}

/** Mode of IModelRegistry.Mode. */
export const MODEL_MODES = ["baked", "committed", "universal"] as const;

/** The ceremony a universal-mode model's key names, as the registry reports it. */
export interface ModelCeremony {
  id: number;
  /** The registry's word (Plonk.sol's table): a development ceremony whose proofs can be forged. */
  insecure: boolean;
  name: string | null;
}

/**
 * The ceremony of universal-mode model `modelId` (IModelRegistry.universalCeremony), with its name
 * from the toolkit's table, and how requesters see it: `ceremony 1 (Hermez ...)` or
 * `ceremony 5 INSECURE (...)`.
 */
export async function modelCeremony(
  registry: Pick<IModelRegistry, "universalCeremony">,
  modelId: bigint,
): Promise<{ ceremony: ModelCeremony; text: string }> {
  const [id, insecure] = await registry.universalCeremony(modelId);
  // Loaded here, not at the top: the setup module brings snarkjs, which most commands never need.
  const { UNIVERSAL_CEREMONIES } = await import("../setup/plonk-setup.ts");
  const name = UNIVERSAL_CEREMONIES.find((c) => BigInt(c.id) === id)?.name ?? null;
  const ceremony = { id: Number(id), insecure, name };
  const text = `ceremony ${id}${insecure ? " INSECURE" : ""}${name ? ` (${name.replace(/ \(INSECURE[^)]*\)$/, "")})` : ""}`;
  return { ceremony, text };
}

/**
 * The manifest and quantized model of model `modelId`, or undefined when neither --manifest nor
 * the deployment file names one for it (or its manifest names no quantized model).
 * @param entry the registry's entry for the model, to check the manifest against
 * @throws a usage error (exit 2) for a manifest that is not the model's, an integrity refusal
 * (exit 3) for a quantized model that differs from the one the manifest pins
 */
export async function knownModel(
  args: ParsedArgs,
  dep: { file: string; deployment: Deployment },
  modelId: bigint,
  entry: { mode: bigint; vkHash: string },
): Promise<KnownModel | undefined> {
  const given = flag(args, "manifest");
  const ofDeployment =
    dep.deployment.manifest !== undefined && dep.deployment.modelId === modelId.toString()
      ? path.resolve(path.dirname(dep.file), dep.deployment.manifest)
      : undefined;
  const manifestFile = given ?? ofDeployment;
  if (manifestFile === undefined) return undefined;
  const manifest = readJsonFile(manifestArg(manifestFile), "manifest") as Manifest;
  if (entry.mode === 0n && manifest.vkHash !== entry.vkHash)
    throw usageError(
      `manifest ${manifestFile} is not model #${modelId}'s: its verification key hash ${manifest.vkHash.slice(0, 18)}... ` +
        `differs from the registry's ${entry.vkHash.slice(0, 18)}...`,
    );
  // A setup made before manifests recorded their quantized model: the shape is not known.
  if (!manifest.model) return undefined;
  const file = path.resolve(path.dirname(manifestFile), manifest.model.path);
  readJsonFile(file, "quantized model");
  const actual = await sha256File(file);
  if (actual !== manifest.model.sha256)
    throw new CliError(
      `quantized model ${file} has sha256 ${actual.slice(0, 16)}..., manifest ${manifestFile} pins ${manifest.model.sha256.slice(0, 16)}...; refusing to use it`,
      EXIT.integrity,
    );
  let model: QuantizedGraph;
  try {
    model = readQuantizedGraph(file);
  } catch (err) {
    throw usageError((err as Error).message);
  }
  return { manifestFile, manifest, model };
}

/** The class and logits a proven output carries (per the model's output mode). */
export function decodeOutput(known: KnownModel | undefined, output: bigint): { class?: number; logits?: number[] } {
  if (!known) return {};
  const { predicted, logits } = unpackGraphOutput(known.model, output);
  return { ...(predicted === undefined ? {} : { class: predicted }), ...(logits ? { logits } : {}) };
}
