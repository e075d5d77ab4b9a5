/**
 * `poi ptau check <file>` and `poi ptau new --power N`: a powers-of-tau file is checked against
 * the known blake2b hashes; a new one is a development file, insecure and labelled so.
 */
import path from "node:path";
import { checkPtau, generateDevPtau } from "../../setup/ptau.ts";
import { existingFile, integrity, intFlag, note, progress, usageError, type Command } from "../support.ts";

const INSECURE =
  "INSECURE: development only. Whoever made this file knows its toxic waste and can forge proofs under any key built on it.";

export const ptauCommand: Command = {
  name: "ptau",
  usage: [
    "poi ptau check <file> [--min-power N]",
    "       poi ptau new --power N [--out DIR]",
    "",
    "  check   blake2b of the file against the public ceremony files and the listed development",
    "          files; exit 3 if unknown or smaller than 2^N",
    "  new     make an INSECURE development ptau from a public secret (the same file on every machine; every",
    "          section computed directly, Lagrange bases included); the name says dev-insecure",
    "          and a .json record of its blake2b sits next to it. About a minute at 2^12",
    "  --min-power N  check: refuse a file smaller than 2^N (exit 3)",
    "  --power N      new: the file's size, 2^N constraints at most",
    "  --out DIR      new: where to write it (default: the current folder)",
  ].join("\n"),
  summary: "check a powers-of-tau file against known hashes, or make an INSECURE development one",
  valueFlags: ["power", "out", "min-power"],
  booleanFlags: [],
  async run(args) {
    const [sub, file, extra] = args.positional;
    if (sub === "check") {
      if (!file || extra !== undefined) throw usageError("poi ptau check takes exactly one file");
      existingFile(file, "ptau file");
      const p = await integrity(() => checkPtau(file, intFlag(args, "min-power", 0)!));
      const text = [
        `${path.basename(file)}: known file, 2^${p.power} constraints, blake2b ${p.blake2b.slice(0, 32)}...`,
        `  origin: ${p.origin}`,
        p.insecure ? `  ${INSECURE}` : "  from a public ceremony",
      ].join("\n");
      return { json: { ...p, warning: p.insecure ? INSECURE : undefined }, text };
    }
    if (sub === "new") {
      if (file !== undefined) throw usageError("poi ptau new takes no positional argument; use --out DIR");
      const power = intFlag(args, "power");
      if (power === undefined || power < 1 || power > 28) throw usageError("--power N is required, 1..28");
      const out = args.flags.get("out") ?? ".";
      note(args, `making an INSECURE development ptau of power ${power}`);
      const p = await progress(args, `ptau new 2^${power} (INSECURE)`, () => generateDevPtau(power, out));
      const text = [
        `wrote ${p.path} (2^${p.power}, blake2b ${p.blake2b.slice(0, 32)}...)`,
        `  ${INSECURE}`,
        `  poi setup takes it only with --allow-insecure-ptau.`,
      ].join("\n");
      return { json: { ...p, warning: INSECURE }, text };
    }
    throw usageError(`poi ptau takes "check <file>" or "new --power N"${sub ? `, not "${sub}"` : ""}`);
  },
};
