/**
 * Committed mode on-chain: governance registers a shared circuit (its generated verifier and the
 * manifest that pins its artifacts) and model owners register models of its architecture by their
 * weights commitment. Validators prove its requests like any other, through
 * scripts/prove/prove-request.ts (fulfilRequest in validator.ts), the weights as private input.
 */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { ContractFactory, type InterfaceAbi, type Signer } from "ethers";
import type { CircuitRegistry, InferenceMarket } from "../../types/ethers-contracts/index.js";
import { sha256File } from "../setup/hash.ts";
import { readManifest } from "../setup/manifest.ts";

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
  options: {
    manifestFile: string;
    verifierContract: string;
    manifestURI?: string;
    /** The verifier's compiled artifact, where the contract was compiled after this process loaded its artifacts. */
    artifact?: { abi: unknown[]; bytecode: string };
  },
): Promise<RegisteredCircuit> {
  const manifest = readManifest(options.manifestFile);
  if (manifest.publicSignals.join(",") !== COMMITTED_SIGNALS.join(","))
    throw new Error(
      `${manifest.circuit} has public signals [${manifest.publicSignals.join(", ")}]; a committed circuit has [${COMMITTED_SIGNALS.join(", ")}]`,
    );
  const verifier = options.artifact
    ? await new ContractFactory(options.artifact.abi as InterfaceAbi, options.artifact.bytecode, governance).deploy()
    : await ethers.deployContract(options.verifierContract, [], governance);
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
