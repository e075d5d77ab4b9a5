/**
 * The one proving path of a request: every single request, every batch, baked and committed
 * mode alike goes through {@link proveRequests}. It
 *
 *   1. checks each inline input against the request's input commitment,
 *   2. runs the integer reference of the quantized model (graph-inference.ts),
 *   3. binds the proof to the requests and the prover (chain id, market, request ids, prover),
 *   4. proves with the model's warm Prover,
 *   5. compares the proven public signals with the ones the reference predicts.
 *
 * Nothing is sent to a chain here: the caller submits `outputs` and `calldata` (fulfil or
 * fulfilBatch). A refusal (a bad input, a model that does not fit its circuit, signals that
 * differ from the reference) is a {@link ProofRefusedError}; nothing should be submitted then.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { batchBinding, batchChallenge, batchFold } from "../circuit/batch-fold.ts";
import { committedWeightsInput } from "../circuit/generate-mlp-committed.ts";
import { SNARK_SCALAR_FIELD } from "../circuit/field.ts";
import { packedCommitment } from "../circuit/reference.ts";
import { requestBinding } from "../chain/binding.ts";
import { inferQuantizedGraph, packGraphOutput } from "../model/graph-inference.ts";
import { readQuantizedGraph, type QuantizedGraph } from "../model/quantize-graph.ts";
import { sha256File } from "../setup/hash.ts";
import { readManifest, type Manifest } from "../setup/manifest.ts";
import { verifyUniversalManifest, type UniversalManifest } from "../setup/plonk-setup.ts";
import { committedModelCommitment } from "./committed-input.ts";
import { Prover, type ProofResult } from "./prover.ts";
import { UniversalProver, type UniversalProof } from "./universal-prover.ts";

/** What a request carries that the proof depends on. */
export interface RequestToProve {
  requestId: bigint;
  inputCommitment: bigint;
  /** The inline input bytes, in the model's flat input order. */
  input: ArrayLike<number>;
}

/** Who the proof is for: the market's chain, its address, and the account that will submit it. */
export interface ProofBindingData {
  chainId: bigint;
  market: string;
  prover: string;
}

/** One model's artifacts: its warm prover (single or batch circuit) and its integer reference. */
export interface ModelArtifacts {
  prover: Prover;
  /** The quantized model found through the manifest: the integer reference the proof must equal. */
  model: QuantizedGraph;
  /**
   * Committed mode: the weights commitment the registry pins for the model. The proof's first
   * public signal must equal it; absent, the model's own commitment is taken.
   */
  weightsCommitment?: bigint;
}

/** The circuit kinds, told apart by their manifest's public signals. */
export type CircuitMode = "baked" | "committed" | "batch";

export interface RequestProof {
  mode: CircuitMode;
  /** In the order the market takes them (increasing for a batch). */
  requestIds: bigint[];
  /** The packed output of each request, as the market settles it. */
  outputs: bigint[];
  /** The predicted class of each request. */
  predicted: number[];
  publicSignals: bigint[];
  proof: ProofResult["proof"];
  /** The proof as the market's uint256[8]. */
  calldata: [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  witnessMs: number;
  proveMs: number;
}

/** A request (or batch) that must not be submitted; `requestId` names the one at fault, if one is. */
export class ProofRefusedError extends Error {
  override name = "ProofRefusedError";
  constructor(
    message: string,
    readonly requestId?: bigint,
  ) {
    super(message);
  }
}

/**
 * The quantized model a manifest names (its integer reference, and what decodes its outputs),
 * checked against the sha256 the manifest pins.
 * @throws naming the manifest or the file at fault
 */
export async function manifestModel(
  manifestFile: string,
  manifest: Manifest = readManifest(manifestFile),
): Promise<QuantizedGraph> {
  const entry = manifest.model;
  if (!entry)
    throw new Error(
      `manifest ${manifestFile} names no quantized model (${manifest.circuit} was set up before manifests ` +
        "recorded it): rebuild it, or name the model's .quantized.json file",
    );
  const file = path.resolve(path.dirname(manifestFile), entry.path);
  if (!existsSync(file)) throw new Error(`quantized model ${file}, named by manifest ${manifestFile}, is missing`);
  const actual = await sha256File(file);
  if (actual !== entry.sha256)
    throw new Error(
      `quantized model ${path.basename(file)} has sha256 ${actual.slice(0, 16)}..., manifest ${manifestFile} pins ` +
        `${entry.sha256.slice(0, 16)}...: it is not the model this circuit was built from; refusing to use it`,
    );
  return readQuantizedGraph(file);
}

/**
 * Loads a model's artifacts through its manifest: the warm prover (every artifact sha256-checked)
 * and the quantized model the manifest names (checked against its sha256 too), or `quantizedFile`
 * instead: another model of a committed circuit's architecture.
 * @throws naming the manifest or the file at fault
 */
export async function loadModelArtifacts(
  manifestFile: string,
  options: { quantizedFile?: string; weightsCommitment?: bigint } = {},
): Promise<ModelArtifacts> {
  const prover = await Prover.load(manifestFile);
  const model =
    options.quantizedFile === undefined
      ? await manifestModel(manifestFile, prover.manifest)
      : readQuantizedGraph(options.quantizedFile);
  return {
    prover,
    model,
    ...(options.weightsCommitment === undefined ? {} : { weightsCommitment: options.weightsCommitment }),
  };
}

/** The kind of circuit a prover holds, from its manifest's public signals. */
export function circuitMode(prover: Prover): CircuitMode {
  return signalsMode(prover.manifest.publicSignals);
}

/** The kind of circuit whose public signals are `publicSignals` (a Groth16 or universal manifest's). */
function signalsMode(publicSignals: readonly string[]): CircuitMode {
  const first = publicSignals[0];
  return first === "fold" ? "batch" : first === "modelCommitment" ? "committed" : "baked";
}

/**
 * What building a circuit input needs of a circuit, whatever its proof system: its name, its
 * public signals (which tell single, batch and committed circuits apart) and, for a committed
 * circuit, the architecture it fixes.
 */
interface CircuitShape {
  circuit: string;
  publicSignals: readonly string[];
  committedArchitecture?: () => ReturnType<Prover["committedArchitecture"]>;
}

/**
 * A request for an input proven off-chain (`poi prove`, benchmarks): the input's own commitment
 * and request id 0, for use with an explicit binding.
 */
export function offChainRequest(model: QuantizedGraph, input: ArrayLike<number>): RequestToProve {
  return { requestId: 0n, inputCommitment: packedCommitment(input, model.inputBits), input };
}

/** Throws a ProofRefusedError unless `input` has the model's size and opens `inputCommitment`. */
export function checkRequestInput(model: QuantizedGraph, request: RequestToProve): number[] {
  const pixels = Array.from(request.input);
  if (pixels.length !== model.inputSize)
    throw new ProofRefusedError(
      `request ${request.requestId}: input has ${pixels.length} bytes, model "${model.name}" takes ${model.inputSize}`,
      request.requestId,
    );
  if (packedCommitment(pixels, model.inputBits) !== request.inputCommitment)
    throw new ProofRefusedError(
      `request ${request.requestId}: the inline input does not open the input commitment`,
      request.requestId,
    );
  return pixels;
}

/** The circuit input of a request (or batch) and what the proof's public signals must be. */
export interface RequestCircuitInput {
  mode: CircuitMode;
  requestIds: bigint[];
  outputs: bigint[];
  predicted: number[];
  input: Record<string, unknown>;
  /** The public signals the integer reference predicts, in the circuit's order. */
  expected: bigint[];
}

/**
 * Steps 1 to 3 of the proving path without the proof: checks the inputs, runs the integer
 * reference and binds. `bindingData` is who the proof is for, or an explicit binding (public
 * signal; the batch binding for a batch circuit) for a proof made off-chain.
 * @throws ProofRefusedError
 */
export function requestCircuitInput(
  artifacts: ModelArtifacts,
  requests: readonly RequestToProve[],
  bindingData: ProofBindingData | { binding: bigint },
): RequestCircuitInput {
  const { prover } = artifacts;
  const shape = {
    circuit: prover.manifest.circuit,
    publicSignals: prover.manifest.publicSignals,
    committedArchitecture: () => prover.committedArchitecture(),
  };
  return circuitInput(shape, artifacts, requests, bindingData);
}

/** {@link requestCircuitInput} for a circuit of either proof system. */
function circuitInput(
  shape: CircuitShape,
  artifacts: Pick<ModelArtifacts, "model" | "weightsCommitment">,
  requests: readonly RequestToProve[],
  bindingData: ProofBindingData | { binding: bigint },
): RequestCircuitInput {
  const { model } = artifacts;
  const mode = signalsMode(shape.publicSignals);
  const { circuit } = shape;
  if (requests.length === 0) throw new ProofRefusedError("nothing to prove: no request given");
  if (mode !== "batch" && requests.length !== 1)
    throw new ProofRefusedError(
      `${circuit} proves one request at a time; ${requests.length} given (use a batch circuit)`,
    );
  const batch = [...requests].sort((a, b) => (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0));
  const pixels = batch.map((r) => checkRequestInput(model, r));
  const reference = pixels.map((p) => inferQuantizedGraph(model, p));
  const requestIds = batch.map((r) => r.requestId);
  const bind = (single: () => bigint): bigint => {
    const b = "binding" in bindingData ? bindingData.binding : single();
    if (b < 0n || b >= SNARK_SCALAR_FIELD) throw new ProofRefusedError("the binding must be a canonical field element");
    return b;
  };
  const bound = (f: (d: ProofBindingData) => bigint) => bind(() => f(bindingData as ProofBindingData));

  let input: Record<string, unknown>;
  let outputs = reference.map((r) => r.output);
  let expected: bigint[];
  if (mode === "batch") {
    const binding = bound((d) => batchBinding(d.chainId, d.market, d.prover, requestIds));
    const commitments = batch.map((r) => r.inputCommitment);
    const challenge = batchChallenge(binding, commitments, outputs);
    input = { pixels, challenge, batchBinding: binding };
    expected = [batchFold(challenge, commitments, outputs), challenge, binding];
  } else {
    const binding = bound((d) => requestBinding(d.chainId, d.market, requestIds[0]!, d.prover));
    if (mode === "baked") {
      input = { pixels: pixels[0], binding };
      expected = [batch[0]!.inputCommitment, outputs[0]!, binding];
    } else {
      if (!shape.committedArchitecture)
        throw new ProofRefusedError(`${circuit}: a committed circuit has no universal-mode prover`);
      const arch = shape.committedArchitecture();
      let commitment: bigint;
      try {
        commitment = committedModelCommitment(model, arch);
      } catch (err) {
        throw new ProofRefusedError(`${circuit}: ${(err as Error).message}`);
      }
      if (artifacts.weightsCommitment !== undefined && commitment !== artifacts.weightsCommitment)
        throw new ProofRefusedError(
          `model "${model.name}" has weights commitment ${commitment}, the registry pins ${artifacts.weightsCommitment}: ` +
            "these are not the registered model's weights",
          requestIds[0],
        );
      // The committed circuit packs the logits at the architecture's width, wider than one model's.
      const packing = { output: "both" as const, logitBits: arch.logitBits, classBits: arch.classBits };
      outputs = reference.map((r) => packGraphOutput(packing, r.predicted, r.logits));
      input = { pixels: pixels[0], ...committedWeightsInput(model), binding };
      expected = [commitment, batch[0]!.inputCommitment, outputs[0]!, binding];
    }
  }
  return { mode, requestIds, outputs, predicted: reference.map((r) => r.predicted), input, expected };
}

/**
 * Proves one request (single or committed circuit) or a batch of requests (batch circuit) of
 * one model: {@link requestCircuitInput}, the proof, and the comparison of its public signals
 * with the reference's. @throws ProofRefusedError as described above; other errors come from
 * the prover.
 */
export async function proveRequests(
  artifacts: ModelArtifacts,
  requests: readonly RequestToProve[],
  bindingData: ProofBindingData | { binding: bigint },
): Promise<RequestProof> {
  const { mode, requestIds, outputs, predicted, input, expected } = requestCircuitInput(
    artifacts,
    requests,
    bindingData,
  );
  const proof = await artifacts.prover.prove(input);
  checkProvenSignals(artifacts.prover.manifest.circuit, artifacts.model, requestIds, proof.publicSignals, expected);
  return {
    mode,
    requestIds,
    outputs,
    predicted,
    publicSignals: proof.publicSignals,
    proof: proof.proof,
    calldata: proof.calldata as RequestProof["calldata"],
    witnessMs: proof.witnessMs,
    proveMs: proof.proveMs,
  };
}

/** Throws a ProofRefusedError unless the proven public signals are the ones the reference predicts. */
function checkProvenSignals(
  circuit: string,
  model: QuantizedGraph,
  requestIds: readonly bigint[],
  proven: readonly bigint[],
  expected: readonly bigint[],
): void {
  if (proven.length === expected.length && proven.every((v, i) => v === expected[i])) return;
  throw new ProofRefusedError(
    `${requestIds.length > 1 ? `batch ${requestIds.join(",")}` : `request ${requestIds[0]}`}: the public signals ` +
      `proven by ${circuit} differ from the integer reference of "${model.name}"; refusing to submit`,
    requestIds.length === 1 ? requestIds[0] : undefined,
  );
}

/** A universal-mode model's artifacts: its warm PLONK prover and its integer reference. */
export interface UniversalArtifacts {
  prover: UniversalProver;
  model: QuantizedGraph;
  manifest: UniversalManifest;
}

/**
 * Loads a universal-mode model through its manifest (`poi setup --proof-system plonk`): every file
 * it pins (zkey, vkey, wasm, quantized model) checked against its sha256 first.
 * @throws naming the manifest or the file at fault
 */
export async function loadUniversalArtifacts(manifestFile: string): Promise<UniversalArtifacts> {
  const { manifest, zkey, wasm, model } = await verifyUniversalManifest(manifestFile);
  return { prover: await UniversalProver.load(wasm, zkey), model: readQuantizedGraph(model), manifest };
}

/** The public signals of a universal-mode single-inference circuit, as its manifest names them. */
const UNIVERSAL_SINGLE_SIGNALS = ["inputCommitment", "output", "binding"] as const;

/** A universal-mode proof of one request or of a batch, with what the market settles. */
export interface UniversalRequestProof extends UniversalProof {
  mode: "baked" | "batch";
  /** In the order the market takes them (increasing for a batch). */
  requestIds: bigint[];
  outputs: bigint[];
  predicted: number[];
}

/**
 * The proving path of universal-mode (PLONK) requests: the same input checks, integer reference,
 * binding (a batch's over the prover and every request id) and circuit input as a Groth16 proof
 * ({@link requestCircuitInput}), proven with the model's PLONK prover, and the same comparison of
 * the proven signals with the reference's. A batch circuit (its manifest's signals start with
 * `fold`) proves several requests of one model at once, for `fulfilBatchUniversal`.
 * @throws ProofRefusedError
 */
export async function proveUniversalRequests(
  artifacts: Pick<UniversalArtifacts, "prover" | "model"> & { manifest: Pick<UniversalManifest, "publicSignals"> },
  requests: readonly RequestToProve[],
  bindingData: ProofBindingData,
): Promise<UniversalRequestProof> {
  const { prover, model } = artifacts;
  const shape = { circuit: prover.circuit, publicSignals: artifacts.manifest.publicSignals };
  const { mode, requestIds, outputs, predicted, input, expected } = circuitInput(
    shape,
    { model },
    requests,
    bindingData,
  );
  if (mode === "committed") throw new ProofRefusedError(`${prover.circuit}: universal mode has no committed circuit`);
  const proven = await prover.prove(input);
  checkProvenSignals(prover.circuit, model, requestIds, proven.publicSignals, expected);
  return { mode, requestIds, outputs, predicted, ...proven };
}

/**
 * {@link proveUniversalRequests} for one request of a universal-mode model's single-inference circuit.
 * @throws ProofRefusedError
 */
export async function proveUniversalRequest(
  prover: UniversalProver,
  model: QuantizedGraph,
  request: RequestToProve,
  bindingData: ProofBindingData,
): Promise<{ output: bigint; predicted: number } & UniversalProof> {
  const p = await proveUniversalRequests(
    { prover, model, manifest: { publicSignals: [...UNIVERSAL_SINGLE_SIGNALS] } },
    [request],
    bindingData,
  );
  const { publicSignals, proof, witnessMs, proveMs } = p;
  return { output: p.outputs[0]!, predicted: p.predicted[0]!, publicSignals, proof, witnessMs, proveMs };
}
