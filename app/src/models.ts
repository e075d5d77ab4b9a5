/**
 * The registry's models as the page lists them: what the chain says of each (mode, version,
 * price, owner, key) joined with what the server knows off-chain of its circuit (constraints,
 * fidelity, the integer reference that decodes its outputs), matched by the registered key.
 */
import { inferQuantizedGraph, unpackGraphOutput } from "../../scripts/model/graph-inference.ts";
import type { QuantizedGraph } from "../../scripts/model/quantize-graph.ts";
import type { Chain } from "./chain.ts";
import type { AppCircuit, AppConfig } from "./config.ts";

export interface ModelView {
  id: bigint;
  mode: "baked" | "committed";
  active: boolean;
  version: number;
  previousVersion: bigint;
  /** The next version's id, or 0. */
  nextVersion: bigint;
  owner: string;
  feeToken: string;
  price: bigint;
  vkHash: string;
  /** The fee token's symbol and decimals. */
  symbol: string;
  decimals: number;
  /** The circuit the server has a manifest of, if any. */
  circuit?: AppCircuit;
}

const tokenInfo = new Map<string, { symbol: string; decimals: number }>();

/** Every model of the registry, oldest first. */
export async function readModels(chain: Chain, config: AppConfig): Promise<ModelView[]> {
  const count = await chain.registry.modelCount();
  const ids = Array.from({ length: Number(count) }, (_, i) => BigInt(i + 1));
  return Promise.all(
    ids.map(async (id) => {
      const [m, next] = await Promise.all([chain.registry.model(id), chain.registry.nextVersion(id)]);
      let info = tokenInfo.get(m.feeToken);
      if (!info) {
        const t = chain.token(m.feeToken);
        const [symbol, decimals] = await Promise.all([t.symbol(), t.decimals()]);
        info = { symbol, decimals: Number(decimals) };
        tokenInfo.set(m.feeToken, info);
      }
      const mode = m.mode === 0n ? "baked" : "committed";
      const circuit = config.circuits.find(
        (c) =>
          c.vkHash.toLowerCase() === m.vkHash.toLowerCase() &&
          // A committed circuit serves many models: only the reference weights are this model's.
          (mode === "baked" || c.modelCommitment === m.weightsCommitment.toString()),
      );
      return {
        id,
        mode,
        active: m.active,
        version: Number(m.version),
        previousVersion: m.previousVersion,
        nextVersion: next,
        owner: m.owner,
        feeToken: m.feeToken,
        price: m.price,
        vkHash: m.vkHash,
        ...info,
        circuit,
      } satisfies ModelView;
    }),
  );
}

/** A settled output decoded with the model's integer reference, if the page has it. */
export function decodeOutput(model: ModelView | undefined, output: bigint): { predicted?: number; logits?: number[] } {
  const q = model?.circuit?.quantized;
  return q ? unpackGraphOutput(q, output) : {};
}

/** What the model will answer for `pixels`, by the integer reference its proof must equal. */
export function predict(
  quantized: QuantizedGraph,
  pixels: Uint8Array,
): { predicted: number; logits: number[]; output: bigint } {
  const r = inferQuantizedGraph(quantized, pixels);
  return { predicted: r.predicted, logits: r.logits, output: r.output };
}
