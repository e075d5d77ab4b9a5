/** `poi verify-setup`: the auditor's re-verification of a setup from its manifest. */
import path from "node:path";
import { verifySetup } from "../../setup/ceremony.ts";
import { rebuildPlonkKey } from "../../setup/plonk-setup.ts";
import {
  CliError,
  EXIT,
  existingFile,
  integrity,
  manifestArg,
  progress,
  required,
  usageError,
  type Command,
} from "../support.ts";

export const verifySetupCommand: Command = {
  name: "verify-setup",
  usage: [
    "poi verify-setup --manifest FILE --ptau FILE",
    "",
    "  --manifest FILE  the setup's artifact manifest",
    "  --ptau FILE      the ptau file the manifest names (checked against its blake2b)",
    "  --universal      universal mode (below): rebuild a PLONK key instead of re-verifying a ceremony",
    "  --r1cs FILE      universal: the published circuit's r1cs",
    "  --vk-hash HEX    universal: the key hash to compare with (the registry's vkHash for the model)",
    "  --allow-insecure-ptau  universal: accept a development ptau (its ceremony is INSECURE)",
    "",
    "Checks every artifact's sha256 against the manifest, the ptau's blake2b, the transcript's chain",
    "(new, contributions, beacon, ending at the manifest's zkey), the zkey against the r1cs and ptau",
    "(snarkjs), gamma != delta, and the verification key and its hash.",
    "Exit 0 if all hold, 3 if a file is refused (hash mismatch, gamma = delta), 5 if the zkey does not verify.",
    "",
    "poi verify-setup --universal --r1cs FILE --ptau FILE --vk-hash HEX [--allow-insecure-ptau]",
    "",
    "  Universal mode: rebuilds the PLONK key from the r1cs and the ceremony file and compares its hash",
    "  with --vk-hash (a model's registered vkHash, `ModelRegistry.model(id).vkHash`). Equal hashes mean",
    "  the registered key is exactly that circuit's under that ceremony. Exit 0 if equal, 3 if the ptau",
    "  is refused, 5 if the hashes differ.",
  ].join("\n"),
  summary: "re-verify a trusted setup: hashes, transcript, zkey vs r1cs+ptau, gamma != delta",
  valueFlags: ["manifest", "ptau", "r1cs", "vk-hash"],
  booleanFlags: ["universal", "allow-insecure-ptau"],
  async run(args) {
    if (args.flags.has("universal")) return verifyUniversal(args);
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

/** `poi verify-setup --universal`: the registered key against the one rebuilt from the r1cs and the ceremony. */
async function verifyUniversal(args: Parameters<Command["run"]>[0]): Promise<{ json: unknown; text: string }> {
  const r1cs = existingFile(required(args, "r1cs", "the model's published r1cs"), "r1cs");
  const ptau = existingFile(required(args, "ptau", "the ceremony file the key names"), "ptau");
  const expected = required(args, "vk-hash", "the model's registered vkHash").toLowerCase();
  if (!/^0x[0-9a-f]{64}$/.test(expected)) throw usageError(`--vk-hash ${expected} is not a 32-byte hex hash`);
  const rebuilt = await progress(args, "rebuilding the PLONK key", () =>
    integrity(() => rebuildPlonkKey(r1cs, ptau, args.flags.has("allow-insecure-ptau"))),
  );
  const json = {
    ok: rebuilt.keyHash === expected,
    expected,
    rebuilt: rebuilt.keyHash,
    ceremony: { id: rebuilt.ceremony.id, name: rebuilt.ceremony.name, insecure: rebuilt.ceremony.insecure },
  };
  const text = [
    `rebuilt key hash ${rebuilt.keyHash} (ceremony ${rebuilt.ceremony.id}: ${rebuilt.ceremony.name})`,
    rebuilt.ceremony.insecure ? "WARNING: the ceremony is an INSECURE development file" : "",
    json.ok ? "key verified: it is the circuit's under this ceremony" : `key NOT verified: registered ${expected}`,
  ]
    .filter(Boolean)
    .join("\n");
  if (!json.ok) {
    if (args.flags.has("json")) console.log(JSON.stringify(json, null, 2));
    else console.log(text);
    throw new CliError(`the registered key is not the one of ${path.basename(r1cs)} under this ceremony`, EXIT.invalid);
  }
  return { json, text };
}
