/** `poi verify-setup`: the auditor's re-verification of a setup from its manifest. */
import { verifySetup } from "../../setup/ceremony.ts";
import { CliError, EXIT, existingFile, integrity, manifestArg, progress, required, type Command } from "../support.ts";

export const verifySetupCommand: Command = {
  name: "verify-setup",
  usage: [
    "poi verify-setup --manifest FILE --ptau FILE",
    "",
    "  --manifest FILE  the setup's artifact manifest",
    "  --ptau FILE      the ptau file the manifest names (checked against its blake2b)",
    "",
    "Checks every artifact's sha256 against the manifest, the ptau's blake2b, the transcript's chain",
    "(new, contributions, beacon, ending at the manifest's zkey), the zkey against the r1cs and ptau",
    "(snarkjs), gamma != delta, and the verification key and its hash.",
    "Exit 0 if all hold, 3 if a file is refused (hash mismatch, gamma = delta), 5 if the zkey does not verify.",
  ].join("\n"),
  summary: "re-verify a trusted setup: hashes, transcript, zkey vs r1cs+ptau, gamma != delta",
  valueFlags: ["manifest", "ptau"],
  booleanFlags: [],
  async run(args) {
    const manifest = manifestArg(required(args, "manifest", "the artifact manifest"));
    const ptau = existingFile(required(args, "ptau", "the ptau the setup used"), "ptau");
    const report = await progress(args, "verifying the setup", (_r, logger) =>
      integrity(() => verifySetup(manifest, ptau, logger)),
    );
    const text = [
      ...report.checks.map((c) => `${c.ok ? "ok  " : "FAIL"} ${c.check}: ${c.detail}`),
      report.insecurePtau ? "WARNING: the setup used an INSECURE development ptau" : "",
      report.ok ? "setup verified" : "setup NOT verified",
    ]
      .filter(Boolean)
      .join("\n");
    if (!report.ok) {
      const zkeyFailed = report.checks.some((c) => !c.ok && c.check.startsWith("zkey verifies"));
      if (args.flags.has("json")) console.log(JSON.stringify(report, null, 2));
      else console.log(text);
      throw new CliError("the setup did not verify", zkeyFailed ? EXIT.invalid : EXIT.integrity);
    }
    return { json: report, text };
  },
};
