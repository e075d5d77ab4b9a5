/**
 * What the app server tells the page (GET /app-config.json and /digits.json): where the chain
 * and the market are, and what it knows off-chain about the models it has manifests for. Types
 * only: the server (app/serve.ts) writes these, the page (app/src/main.ts) reads them.
 */
import type { QuantizedGraph } from "../../scripts/model/quantize-graph.ts";

/** The deployment file's fields the page uses (see `Deployment` in scripts/cli/support.ts). */
export interface AppDeployment {
  /** The deployment file's name, for display. */
  file: string;
  network: string;
  chainId: string;
  token: string;
  registry: string;
  market: string;
  modelId?: string;
  /** First block to read the market's events from. */
  deployedAtBlock: number;
}

/** A model's fidelity report (`<model>.fidelity.json`), the figures the page shows. */
export interface AppFidelity {
  inputs: number;
  top1Agreement: number;
  floatAccuracy?: number;
  quantizedAccuracy?: number;
  meanLogitError: number;
}

/** What a manifest (and the quantized model and fidelity report it leads to) says of a circuit. */
export interface AppCircuit {
  circuit: string;
  constraints: number;
  /** The registry's vkHash of models proven with this circuit's key: how the page matches them. */
  vkHash: string;
  /** Committed circuits: the reference weights' commitment (a registered model with it is that model). */
  modelCommitment?: string;
  /** The setup used a development (insecure) powers-of-tau file. */
  insecurePtau: boolean;
  /** The integer reference: decodes outputs and predicts in the page. */
  quantized?: QuantizedGraph;
  fidelity?: AppFidelity;
  /**
   * A baked single-inference circuit's artifacts, for proving in the page (a self-attestation):
   * where the server serves them and the sha256s the page checks them against, from the manifest.
   */
  prover?: { wasm: string; wasmSha256: string; zkey: string; zkeySha256: string };
}

export interface AppConfig {
  /** JSON-RPC endpoint of the chain (the page's `?rpc=` parameter overrides it). */
  rpcUrl: string;
  deployment: AppDeployment;
  circuits: AppCircuit[];
  /** The browser build of the prover (scripts/prove/browser-entry.ts), relative to the page. */
  proverBundle: string;
  /** Seconds between two reads of the chain. */
  pollSeconds: number;
}

/** The held-out MNIST digits, 14x14 bytes as scripts/model/mnist.ts makes them. */
export interface AppDigits {
  side: number;
  /** Each digit's label and its pixels, base64. */
  digits: { label: number; pixels: string }[];
}
