/** `poi verify`: checks a proof against the manifest's (sha256-checked) verification key. */
import { existsSync, readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import { assertPhase2Contributed } from "../../setup/groth16-setup.ts";
import { artifactPath, readManifest, verifyArtifacts } from "../../setup/manifest.ts";
import { CliError, EXIT, existingFile, integrity, required, usageError, type Command } from "../support.ts";

export const verifyCommand: Command = {
  name: "verify",
  usage: [
    "poi verify --manifest FILE --proof proof.json",
    "",
    "Exit 0 if the proof verifies, 5 if it does not, 3 if the verification key is refused.",
  ].join("\n"),
  summary: "verify a proof off-chain against the manifest's verification key",
  valueFlags: ["manifest", "proof"],
  booleanFlags: [],
  async run(args) {
    const manifestFile = existingFile(required(args, "manifest", "the artifact manifest"), "manifest");
    const proofFile = required(args, "proof", "the proof file from poi prove");
    if (!existsSync(proofFile)) throw usageError(`proof file ${proofFile} does not exist`);
    const vk = await integrity(async () => {
      const m = readManifest(manifestFile);
      await verifyArtifacts(manifestFile, m, ["vkey"]);
      const key = JSON.parse(readFileSync(artifactPath(manifestFile, m, "vkey"), "utf8")) as snarkjs.VerificationKey;
      assertPhase2Contributed(key, "the verification key");
      return key;
    });
    const { proof, publicSignals } = JSON.parse(readFileSync(proofFile, "utf8")) as {
      proof: snarkjs.Groth16Proof;
      publicSignals: string[];
    };
    const ok = await snarkjs.groth16.verify(vk, publicSignals, proof);
    if (!ok) throw new CliError(`the proof in ${proofFile} does not verify`, EXIT.invalid);
    return { json: { valid: true, publicSignals }, text: `proof valid; public signals ${publicSignals.join(", ")}` };
  },
};
