/** `poi prove`: one Groth16 proof with the warm prover, off-chain. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import {
  bigintFlag,
  flag,
  integrity,
  intFlag,
  progress,
  required,
  usageError,
  existingFile,
  type Command,
} from "../support.ts";

export const proveCommand: Command = {
  name: "prove",
  usage: [
    "poi prove --manifest FILE --input FILE.json [--binding N | --chain-id N --market ADDR --request-id N --prover ADDR]",
    "          [--out proof.json] [--threads N]",
    "",
    '  --input FILE   a JSON array of input bytes, or {"pixels": [...]}',
    "  --binding N    the request binding (public signal 3); or give its parts and it is computed",
    "  --threads N    prover worker threads (default: one per core; 0: none, prove on the main thread)",
    "",
    "Every artifact is sha256-checked against the manifest first (exit 3 if one differs).",
  ].join("\n"),
  summary: "compute the witness and a Groth16 proof for one input (off-chain)",
  valueFlags: ["manifest", "input", "binding", "chain-id", "market", "request-id", "prover", "out", "threads"],
  booleanFlags: [],
  async run(args) {
    const manifest = existingFile(required(args, "manifest", "the artifact manifest"), "manifest");
    const inputFile = required(args, "input", "the input JSON");
    if (!existsSync(inputFile)) throw usageError(`input file ${inputFile} does not exist`);
    const raw = JSON.parse(readFileSync(inputFile, "utf8")) as number[] | { pixels: number[] };
    const pixels = Array.isArray(raw) ? raw : raw.pixels;
    let binding = bigintFlag(args, "binding");
    if (binding === undefined) {
      const market = flag(args, "market");
      const prover = flag(args, "prover");
      const chainId = bigintFlag(args, "chain-id");
      const requestId = bigintFlag(args, "request-id");
      if (!market || !prover || chainId === undefined || requestId === undefined)
        throw usageError("give --binding, or --chain-id, --market, --request-id and --prover to compute it");
      const { requestBinding } = await import("../../chain/binding.ts");
      binding = requestBinding(chainId, market, requestId, prover);
    }
    const threads = intFlag(args, "threads");
    const { setProverThreads } = await import("../../prove/threads.ts");
    if (threads !== undefined) setProverThreads(threads);
    const { Prover } = await import("../../prove/prover.ts");
    const prover = await integrity(() => Prover.load(manifest));
    const { WitnessCalculatorError } = await import("../../prove/witness-calculator.ts");
    const result = await progress(args, "witness + proof", () => prover.prove({ pixels, binding })).catch(
      (err: Error) => {
        // The input has no witness (a pixel out of range, a wrong length): the user's input is at fault.
        throw err instanceof WitnessCalculatorError ? usageError(`--input ${inputFile}: ${err.message}`) : err;
      },
    );
    const out = {
      proof: result.proof,
      publicSignals: result.publicSignals.map(String),
      calldata: result.calldata.map(String),
    };
    const file = flag(args, "out") ?? "proof.json";
    writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
    return {
      json: { file, ...out, witnessMs: result.witnessMs, proveMs: result.proveMs },
      text: `proof written to ${file} (witness ${result.witnessMs.toFixed(0)} ms, proof ${result.proveMs.toFixed(0)} ms); public signals ${out.publicSignals.join(", ")}`,
    };
  },
};
