/**
 * Committed mode on-chain: governance registers a shared circuit (its generated verifier and the
 * manifest that pins its artifacts), model owners register models of its architecture by their
 * weights commitment, and validators prove requests with the model's weights as private input.
 */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { Signer } from "ethers";
import type { CircuitRegistry, InferenceMarket } from "../../types/ethers-contracts/index.js";
import { sha256File } from "../setup/hash.ts";
import { readManifest } from "../setup/manifest.ts";
import type { QuantizedMlp } from "../model/quantize.ts";
import type { Prover } from "../prove/prover.ts";
import { requestBinding } from "./binding.ts";
import type { Fulfilment, OpenRequest } from "./validator.ts";

/** Public signals of a committed single-inference circuit, in order. */
const COMMITTED_SIGNALS = ["modelCommitment", "inputCommitment", "output", "binding"];

export interface RegisteredCircuit {
  circuitId: bigint;
  verifier: string;
  gasUsed: bigint;
}

/**
 * Deploys the generated verifier of the committed circuit built at `manifestFile` and registers
 * it in the circuit registry (governance only). It becomes usable after the registry's delay.
 */
export async function registerCommittedCircuit(
  ethers: HardhatEthers,
  circuits: CircuitRegistry,
  governance: Signer,
  options: { manifestFile: string; verifierContract: string; manifestURI?: string },
): Promise<RegisteredCircuit> {
  const manifest = readManifest(options.manifestFile);
  if (manifest.publicSignals.join(",") !== COMMITTED_SIGNALS.join(","))
    throw new Error(
      `${manifest.circuit} has public signals [${manifest.publicSignals.join(", ")}]; a committed circuit has [${COMMITTED_SIGNALS.join(", ")}]`,
    );
  const verifier = await ethers.deployContract(options.verifierContract, [], governance);
  await verifier.waitForDeployment();
  const address = await verifier.getAddress();
  const manifestHash = "0x" + (await sha256File(options.manifestFile));
  const c = circuits.connect(governance);
  const args = [
    address,
    manifest.vkHash,
    COMMITTED_SIGNALS.length,
    1,
    manifestHash,
    options.manifestURI ?? "",
  ] as const;
  const circuitId = await c.registerCircuit.staticCall(...args);
  const receipt = await (await c.registerCircuit(...args)).wait();
  return { circuitId, verifier: address, gasUsed: receipt!.gasUsed };
}

/**
 * Proves a committed model's request with the model's weights as private input and fulfils it.
 * Refuses (throws, sends nothing) when the inline input does not open the request's commitment
 * or the proof's public signals are not the ones the market will rebuild.
 */
export async function fulfilCommittedRequest(
  market: InferenceMarket,
  validator: Signer,
  prover: Prover,
  model: QuantizedMlp,
  weightsCommitment: bigint,
  request: OpenRequest,
): Promise<Fulfilment> {
  const pixels = Array.from(request.input);
  const { chainId } = await validator.provider!.getNetwork();
  const binding = requestBinding(chainId, await market.getAddress(), request.requestId, await validator.getAddress());
  const proof = await prover.proveCommitted(model, pixels, binding);
  const { expected } = proof;
  if (expected.inputCommitment !== request.inputCommitment)
    throw new Error(`request ${request.requestId}: the inline input does not open the input commitment; skipping it`);
  if (expected.modelCommitment !== weightsCommitment)
    throw new Error(`request ${request.requestId}: these weights are not the model's registered commitment`);
  const calldata = proof.calldata as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  const receipt = await (
    await market.connect(validator).fulfil(request.requestId, request.terms, expected.output, calldata)
  ).wait();
  return {
    requestId: request.requestId,
    predicted: proof.predicted,
    output: expected.output,
    witnessMs: proof.witnessMs,
    proveMs: proof.proveMs,
    gasUsed: receipt!.gasUsed,
  };
}
