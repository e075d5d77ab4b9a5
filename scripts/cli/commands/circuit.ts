/**
 * `poi circuit`: governance's side of committed mode. Registers a shared circuit (deploys its
 * generated verifier and records it in the CircuitRegistry with its manifest's hash), or
 * deprecates one. Registrations become usable after the registry's admin delay.
 */
import path from "node:path";
import {
  bigintFlag,
  connectDeployment,
  existingFile,
  flag,
  integrity,
  loadManifest,
  NETWORK_FLAGS,
  NETWORK_HELP,
  onChain,
  progress,
  readDeployment,
  required,
  usageError,
  type Command,
} from "../support.ts";
import { buildContracts } from "./deploy.ts";

export const circuitCommand: Command = {
  name: "circuit",
  usage: [
    "poi circuit register --manifest FILE [--manifest-uri URI] [--deployment FILE] [network flags]",
    "poi circuit deprecate --id N [--deployment FILE] [network flags]",
    "",
    "Governance registers a committed-mode circuit that many models share: its generated verifier is",
    "deployed and recorded with the manifest's vkHash and sha256, usable after the circuit registry's",
    "admin delay. Deprecation is immediate and final: no new models or requests, open ones still settle.",
    "  --manifest FILE      the committed circuit's artifact manifest (4 public signals)",
    "  --manifest-uri URI   where the manifest and artifacts can be fetched",
    "  --id N               the circuit to deprecate",
    NETWORK_HELP,
  ].join("\n"),
  summary: "register or deprecate a shared committed-mode circuit (governance)",
  valueFlags: ["manifest", "manifest-uri", "id", ...NETWORK_FLAGS],
  booleanFlags: [],
  async run(args) {
    const action = args.positional[0];
    if (action !== "register" && action !== "deprecate")
      throw usageError(`poi circuit takes "register" or "deprecate", got ${action ?? "nothing"}`);
    const dep = readDeployment(args);
    if (!dep.deployment.circuits) throw usageError(`${dep.file} names no circuit registry; redeploy with poi deploy`);
    const { CircuitRegistry__factory } = await import("../../../types/ethers-contracts/index.js");
    if (action === "deprecate") {
      const id = bigintFlag(args, "id");
      if (id === undefined) throw usageError("--id is required: the circuit to deprecate");
      const { signer } = await connectDeployment(args);
      const circuits = CircuitRegistry__factory.connect(dep.deployment.circuits, signer);
      const receipt = await onChain("deprecation failed", async () => (await circuits.deprecateCircuit(id)).wait());
      return { json: { circuitId: id.toString(), txHash: receipt!.hash }, text: `circuit #${id} deprecated` };
    }
    const manifestFile = existingFile(required(args, "manifest", "the circuit's artifact manifest"), "manifest");
    const manifest = await loadManifest(manifestFile);
    const { hre, ethers, signer } = await connectDeployment(args);
    await progress(args, "compiling contracts", () => buildContracts(hre));
    const { registerCommittedCircuit } = await import("../../chain/committed.ts");
    const circuits = CircuitRegistry__factory.connect(dep.deployment.circuits, signer);
    const r = await progress(args, "deploying the verifier and registering the circuit", () =>
      onChain("registration failed", () =>
        registerCommittedCircuit(ethers, circuits, signer, {
          manifestFile,
          verifierContract: path.basename(manifest.artifacts.verifier.path, ".sol"),
          manifestURI: flag(args, "manifest-uri"),
        }),
      ),
    );
    const c = await circuits.circuit(r.circuitId);
    return {
      json: {
        circuitId: r.circuitId.toString(),
        verifier: r.verifier,
        vkHash: manifest.vkHash,
        activatesAt: c.activatesAt.toString(),
        modelCommitment: manifest.modelCommitment ?? null,
      },
      text: `registered circuit #${r.circuitId} (${manifest.circuit}): verifier ${r.verifier}, usable from ${new Date(Number(c.activatesAt) * 1000).toISOString()}`,
    };
  },
};
