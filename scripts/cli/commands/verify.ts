/** `poi verify`: checks a proof against the manifest's (sha256-checked) verification key. */
import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import { assertPhase2Contributed } from "../../setup/groth16-setup.ts";
import { artifactPath, readManifest, verifyArtifacts } from "../../setup/manifest.ts";
import {
  CliError,
  EXIT,
  existingFile,
  integrity,
  loadManifest,
  readJsonFile,
  required,
  usageError,
  type Command,
} from "../support.ts";

export const verifyCommand: Command = {
  name: "verify",
  usage: [
    "poi verify --manifest FILE --proof proof.json",
    "",
    "  --manifest FILE  the circuit's artifact manifest: its verification key is sha256-checked and used",
    "  --proof FILE     the proof file poi prove wrote ({proof, publicSignals})",
    "",
    "Exit 2 for a missing or malformed proof file (named, with the position of the fault).",
    "Exit 0 if the proof verifies, 5 if it does not, 3 if the verification key is refused.",
  ].join("\n"),
  summary: "verify a proof off-chain against the manifest's verification key",
  valueFlags: ["manifest", "proof"],
  booleanFlags: [],
  async run(args) {
    const manifestFile = existingFile(required(args, "manifest", "the artifact manifest"), "manifest");
    const proofFile = required(args, "proof", "the proof file from poi prove");
    const file = readJsonFile(proofFile, "proof file") as { proof?: snarkjs.Groth16Proof; publicSignals?: unknown };
    const signals = file?.publicSignals;
    const proofPoints = file?.proof as { pi_a?: unknown; pi_b?: unknown; pi_c?: unknown } | undefined;
    if (
      !Array.isArray(signals) ||
      !signals.every((x) => typeof x === "string" && /^\d+$/.test(x)) ||
      !Array.isArray(proofPoints?.pi_a) ||
      !Array.isArray(proofPoints?.pi_b) ||
      !Array.isArray(proofPoints?.pi_c)
    )
      throw usageError(
        `proof file ${proofFile} is not a proof: it needs "proof" (pi_a, pi_b, pi_c) and "publicSignals" (decimal strings), as poi prove writes`,
      );
    const m = await loadManifest(manifestFile);
    const vk = await integrity(async () => {
      await verifyArtifacts(manifestFile, m, ["vkey"]);
      const key = JSON.parse(readFileSync(artifactPath(manifestFile, m, "vkey"), "utf8")) as snarkjs.VerificationKey;
      assertPhase2Contributed(key, "the verification key");
      return key;
    });
    const publicSignals = signals as string[];
    if (publicSignals.length !== m.publicSignals.length)
      throw usageError(
        `proof file ${proofFile} has ${publicSignals.length} public signals; ${m.circuit} has ${m.publicSignals.length} (${m.publicSignals.join(", ")})`,
      );
    let ok: boolean;
    try {
      ok = await snarkjs.groth16.verify(vk, publicSignals, file.proof!);
    } catch (err) {
      // snarkjs throws on points that are not on the curve or malformed coordinates.
      throw usageError(`proof file ${proofFile} holds no valid proof: ${(err as Error).message}`);
    }
    if (!ok) throw new CliError(`the proof in ${proofFile} does not verify`, EXIT.invalid);
    return { json: { valid: true, publicSignals }, text: `proof valid; public signals ${publicSignals.join(", ")}` };
  },
};
