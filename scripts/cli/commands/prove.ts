/**
 * `poi prove`: one Groth16 proof off-chain, through the validator's proving path: the input is
 * run through the quantized model the manifest names, and the proven public signals must equal
 * the integer reference's.
 */
import { writeFileSync } from "node:fs";
import {
  bigintFlag,
  flag,
  integrity,
  manifestArg,
  intFlag,
  progress,
  readJsonFile,
  required,
  usageError,
  existingFile,
  type Command,
} from "../support.ts";

export const proveCommand: Command = {
  name: "prove",
  usage: [
    "poi prove --manifest FILE --input FILE.json [--binding N | --chain-id N --market ADDR --request-id N --prover ADDR]",
    "          [--quantized FILE] [--out proof.json] [--threads N]",
    "",
    '  --input FILE      a JSON array of input bytes, or {"pixels": [...]}',
    "  --manifest FILE   the circuit's artifact manifest (every artifact sha256-checked)",
    "  --binding N       the request binding (the last public signal); or give its parts and it is computed:",
    "  --chain-id N      the chain id,",
    "  --market ADDR     the market's address,",
    "  --request-id N    the request id,",
    "  --prover ADDR     and the address of the prover that will submit it",
    "  --out FILE        where the proof goes (default proof.json)",
    "  --quantized FILE  the quantized model (default: the one the manifest names; another model of a",
    "                    committed circuit's architecture)",
    "  --threads N       prover worker threads (default: one per core; 0: none, prove on the main thread)",
    "",
    "Every artifact and the quantized model are sha256-checked against the manifest first (exit 3 if one",
    "differs); the proven public signals are compared with the integer reference (exit 3 if they differ).",
  ].join("\n"),
  summary: "compute the witness and a Groth16 proof for one input (off-chain)",
  valueFlags: [
    "manifest",
    "input",
    "binding",
    "chain-id",
    "market",
    "request-id",
    "prover",
    "quantized",
    "out",
    "threads",
  ],
  booleanFlags: [],
  async run(args) {
    const manifest = manifestArg(required(args, "manifest", "the artifact manifest"));
    const inputFile = required(args, "input", "the input JSON");
    const raw = readJsonFile(inputFile, "input file");
    const pixels = Array.isArray(raw) ? raw : (raw as { pixels?: unknown })?.pixels;
    if (!Array.isArray(pixels) || pixels.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
      throw usageError(`input file ${inputFile} must hold an array of input bytes (0..255), or {"pixels": [...]}`);
    const quantized = flag(args, "quantized");
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
    const { loadModelArtifacts, offChainRequest, proveRequests, ProofRefusedError } =
      await import("../../prove/prove-request.ts");
    const { WitnessCalculatorError } = await import("../../prove/witness-calculator.ts");
    const artifacts = await integrity(() =>
      loadModelArtifacts(manifest, { quantizedFile: quantized && existingFile(quantized, "--quantized") }),
    );
    const result = await progress(args, "witness + proof", async () => {
      try {
        return await proveRequests(artifacts, [offChainRequest(artifacts.model, pixels as number[])], {
          binding: binding!,
        });
      } catch (err) {
        if (err instanceof ProofRefusedError) throw usageError(err.message);
        // The input has no witness (a pixel out of range, a wrong length): the user's input is at fault.
        if (err instanceof WitnessCalculatorError) throw usageError(`--input ${inputFile}: ${err.message}`);
        throw err;
      }
    });
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
