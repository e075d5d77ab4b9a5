/**
 * The `poi` command line: a thin dispatcher over the toolkit's modules. Each subcommand is one
 * row of COMMANDS; add a row to add a command.
 *
 *   npm run poi -- <command> [arguments] [--json] [--help]
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { compileModel } from "../compiler/compile-model.ts";
import { formatInspectReport, inspectModel } from "../compiler/inspect-model.ts";
import { plonkDomainPower } from "../setup/plonk-setup.ts";
import { TOOLKIT_COMMANDS } from "./commands/index.ts";
import {
  CliError,
  EXIT,
  existingFile,
  exitCodeOf,
  progress,
  stderrLines,
  usageError,
  type Command,
  type ParsedArgs,
} from "./support.ts";

export type { Command, ParsedArgs } from "./support.ts";

const GLOBAL_FLAGS = ["json", "help"];

function positiveInt(args: ParsedArgs, flag: string): number | undefined {
  const v = args.flags.get(flag);
  if (v === undefined) return undefined;
  if (v === "all") return Number.MAX_SAFE_INTEGER;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw usageError(`--${flag} takes a non-negative integer, got "${v}"`);
  return n;
}

/**
 * Runs a step of the model compiler: a model or data file it rejects (its plain Errors name the
 * file and the fault) is the user's input at fault, exit 2; a TypeError or the like is a bug.
 */
async function modelStep<T>(file: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CliError || !(err instanceof Error) || err.constructor !== Error) throw err;
    // A message that names the file already (by path or by name) is not prefixed with it again.
    const named = err.message.includes(file) || err.message.includes(`"${path.basename(file)}"`);
    throw usageError(named ? err.message : `${file}: ${err.message}`);
  }
}

export const COMMANDS: Command[] = [
  {
    name: "compile",
    usage: [
      "poi compile <model.onnx> [--out DIR] [--calibration FILE] [--eval FILE] [--mode baked|committed|universal]",
      "            [--output logits|class|both] [--weight-bits N] [--activation-bits N] [--input-divisor N]",
      "            [--batch K] [--witness-checks N|all] [--no-circuit]",
      "",
      "  --out DIR             where to write the quantized model, circuit and reports (default build/compiled/<name>)",
      "  --calibration FILE    JSON array of inputs to calibrate the activation scales on (default: MNIST",
      "                        training digits, for a 14x14 or 28x28 input)",
      "  --eval FILE           JSON held-out inputs with labels for the fidelity report (default: MNIST held-out digits)",
      "  --mode MODE           baked (weights are circuit constants), committed (private weights, public commitment)",
      "                        or universal (baked, proven with PLONK on a public ceremony's ptau)",
      "  --output WHAT         the public output: logits, class or both (default both; class after a final Softmax)",
      "  --weight-bits N       bits of each quantized weight (default 8)",
      "  --activation-bits N   bits of each quantized activation (default 8)",
      "  --input-divisor N     the model reads input byte p as p / N (default 255); recorded in the quantized model",
      "  --batch K             the model's batch circuit instead: K inferences per proof (2 to 64; baked or universal",
      "                        mode), named <name>-batch<K>; its key is registered next to the single one",
      "  --witness-checks N    inputs whose circuit witness is checked against the integer reference (default 100, or all)",
      "  --no-circuit          quantize and report only; no circuit is generated or compiled",
      "",
      "Exit 2 when the model is refused (not ONNX, an unsupported operator, a bad calibration file).",
    ].join("\n"),
    summary: "quantize an ONNX model, generate its circuit and write a fidelity report",
    valueFlags: [
      "out",
      "calibration",
      "eval",
      "mode",
      "output",
      "weight-bits",
      "activation-bits",
      "input-divisor",
      "batch",
      "witness-checks",
    ],
    booleanFlags: ["no-circuit"],
    async run(args) {
      const [onnxPath, extra] = args.positional;
      if (!onnxPath || extra !== undefined) throw usageError("poi compile takes exactly one ONNX file");
      existingFile(onnxPath, "ONNX model");
      // The model reads input byte p as p / n (default 255); recorded in the quantized model.
      const batchFlag = args.flags.get("batch");
      if (batchFlag !== undefined && !/^\d+$/.test(batchFlag))
        throw usageError(`--batch takes a whole number of inferences per proof (2 to 64), got "${batchFlag}"`);
      const divisor = args.flags.get("input-divisor");
      if (divisor !== undefined && !(Number(divisor) > 0 && Number.isFinite(Number(divisor))))
        throw usageError(`--input-divisor takes a positive number (the model reads byte / n), got "${divisor}"`);
      const result = await progress(args, `compile ${path.basename(onnxPath)}`, (_report, _logger, stage) =>
        modelStep(onnxPath, () =>
          compileModel({
            onnxPath,
            outDir: args.flags.get("out"),
            calibrationPath: args.flags.get("calibration"),
            evalPath: args.flags.get("eval"),
            mode: args.flags.get("mode"),
            output: args.flags.get("output"),
            weightBits: positiveInt(args, "weight-bits"),
            activationBits: positiveInt(args, "activation-bits"),
            inputDivisor: divisor === undefined ? undefined : Number(divisor),
            batch: batchFlag === undefined ? undefined : Number(batchFlag),
            witnessChecks: positiveInt(args, "witness-checks"),
            circuit: !args.flags.has("no-circuit"),
            command: `poi compile ${path.basename(onnxPath)}`,
            log: args.flags.has("json") ? undefined : stage,
          }),
        ),
      );
      const f = result.fidelity;
      const pct = (v: number | null) => (v === null ? "n/a" : `${(v * 100).toFixed(1)}%`);
      const text = [
        `compiled ${result.info.name} into ${path.relative(process.cwd(), result.outDir) || "."}`,
        `  top-1 agreement ${pct(f.top1Agreement)}, largest logit error ${f.largestLogitError.value}, ` +
          `accuracy float ${pct(f.floatAccuracy)} / quantized ${pct(f.quantizedAccuracy)} (${f.evaluatedOn})`,
        `  constraints: ${result.info.constraints ?? "not compiled"} (estimated ${result.info.estimatedConstraints})`,
        result.info.mode === "universal"
          ? `  universal mode: ${result.info.plonkGates === undefined ? "" : `${result.info.plonkGates} PLONK gates (circom --O1); `}` +
            "set it up with poi setup --proof-system plonk --r1cs ... --ptau <ceremony file" +
            `${result.info.plonkGates === undefined ? "" : ` of 2^${plonkDomainPower(result.info.plonkGates)} or more`}>`
          : "",
      ]
        .filter(Boolean)
        .join("\n");
      return { json: { outDir: result.outDir, info: result.info, fidelity: f }, text };
    },
  },
  {
    name: "inspect",
    usage: [
      "poi inspect <model.onnx | compiled dir>",
      "",
      "Exit 2 when the file is refused (not ONNX, an unsupported operator, not a poi compile output).",
    ].join("\n"),
    summary: "estimate constraints, ptau power, proving memory and time before any setup",
    valueFlags: [],
    booleanFlags: [],
    async run(args) {
      const [target, extra] = args.positional;
      if (!target || extra !== undefined)
        throw usageError("poi inspect takes exactly one ONNX file or compiled directory");
      const report = await modelStep(target, () => inspectModel(target));
      return { json: report, text: formatInspectReport(report) };
    },
  },
  ...TOOLKIT_COMMANDS,
];

export function parseArgs(argv: string[], command?: Command): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-h") {
      flags.set("help", "true");
      continue;
    }
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (GLOBAL_FLAGS.includes(name) || command?.booleanFlags.includes(name)) {
      flags.set(name, "true");
    } else if (command?.valueFlags.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`--${name} needs a value`);
      flags.set(name, value);
    } else {
      throw new Error(`unknown option --${name}${command ? ` for poi ${command.name}` : ""}; see poi --help`);
    }
  }
  return { positional, flags };
}

export function helpText(command?: Command): string {
  if (command)
    return [
      `usage: ${command.usage}`,
      "",
      command.summary,
      "",
      "  --json             print the result as JSON on stdout",
      "  -h, --help         this help",
    ].join("\n");
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "usage: poi <command> [arguments] [--json] [--help]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "poi help <command> (or poi <command> --help, -h) shows a command's options.",
    "",
    "exit codes: 0 success, 1 unexpected failure (a bug: please report it), 2 usage or bad input,",
    "3 refused for integrity, 4 chain (node unreachable, wrong chain, no contract, reverted), 5 checked and false",
  ].join("\n");
}

/** Runs the CLI and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const json = argv.includes("--json");
  try {
    if (name === "help" && rest.length > 0) {
      const topic = COMMANDS.find((c) => c.name === rest[0]);
      if (!topic || rest.length > 1)
        throw usageError(`poi help takes one command name; commands: ${COMMANDS.map((c) => c.name).join(", ")}`);
      console.log(helpText(topic));
      return 0;
    }
    if (!name || name === "--help" || name === "-h" || name === "help") {
      console.log(helpText());
      return name ? 0 : 2;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) throw usageError(`unknown command "${name}"; commands: ${COMMANDS.map((c) => c.name).join(", ")}`);
    let args: ParsedArgs;
    try {
      args = parseArgs(rest, command);
    } catch (err) {
      throw usageError((err as Error).message); // unknown option or missing value: exit 2
    }
    if (args.flags.has("help")) {
      console.log(helpText(command));
      return 0;
    }
    const { json: data, text } = await command.run(args);
    console.log(json ? JSON.stringify(data, null, 2) : text);
    return 0;
  } catch (err) {
    const code = exitCodeOf(err);
    let message = err instanceof Error ? err.message : String(err);
    // An error nobody classified is poi's fault, not the user's: say so rather than pass it off as an answer.
    if (code === EXIT.internal)
      message = `unexpected failure (a bug in poi; please report it with the command): ${err instanceof Error ? `${err.name}: ` : ""}${message}`;
    if (json) console.log(JSON.stringify({ error: message }));
    else console.error(stderrLines(message));
    return code;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  void main(process.argv.slice(2)).then(async (code) => {
    // snarkjs keeps worker threads alive after computing; release them so the process exits.
    const curve = (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128;
    await curve?.terminate();
    process.exit(code);
  });
}
