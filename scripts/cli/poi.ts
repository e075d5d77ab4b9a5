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
import { TOOLKIT_COMMANDS } from "./commands/index.ts";
import { exitCodeOf, stderrLines, usageError, type Command, type ParsedArgs } from "./support.ts";

export type { Command, ParsedArgs } from "./support.ts";

const GLOBAL_FLAGS = ["json", "help"];

function positiveInt(args: ParsedArgs, flag: string): number | undefined {
  const v = args.flags.get(flag);
  if (v === undefined) return undefined;
  if (v === "all") return Number.MAX_SAFE_INTEGER;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag} takes a non-negative integer, got "${v}"`);
  return n;
}

export const COMMANDS: Command[] = [
  {
    name: "compile",
    usage:
      "poi compile <model.onnx> [--out dir] [--calibration file] [--eval file] [--mode baked|committed] [--output logits|class|both] " +
      "[--weight-bits n] [--activation-bits n] [--input-divisor n] [--witness-checks n|all] [--no-circuit]",
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
      "witness-checks",
    ],
    booleanFlags: ["no-circuit"],
    async run(args) {
      const [onnxPath, extra] = args.positional;
      if (!onnxPath || extra !== undefined) throw new Error("poi compile takes exactly one ONNX file");
      // The model reads input byte p as p / n (default 255); recorded in the quantized model.
      const divisor = args.flags.get("input-divisor");
      if (divisor !== undefined && !(Number(divisor) > 0 && Number.isFinite(Number(divisor))))
        throw new Error(`--input-divisor takes a positive number (the model reads byte / n), got "${divisor}"`);
      const result = await compileModel({
        onnxPath,
        outDir: args.flags.get("out"),
        calibrationPath: args.flags.get("calibration"),
        evalPath: args.flags.get("eval"),
        mode: args.flags.get("mode"),
        output: args.flags.get("output"),
        weightBits: positiveInt(args, "weight-bits"),
        activationBits: positiveInt(args, "activation-bits"),
        inputDivisor: divisor === undefined ? undefined : Number(divisor),
        witnessChecks: positiveInt(args, "witness-checks"),
        circuit: !args.flags.has("no-circuit"),
        command: `poi compile ${path.basename(onnxPath)}`,
        log: args.flags.has("json") ? undefined : (m) => console.error(stderrLines(m)),
      });
      const f = result.fidelity;
      const pct = (v: number | null) => (v === null ? "n/a" : `${(v * 100).toFixed(1)}%`);
      const text = [
        `compiled ${result.info.name} into ${path.relative(process.cwd(), result.outDir) || "."}`,
        `  top-1 agreement ${pct(f.top1Agreement)}, largest logit error ${f.largestLogitError.value}, ` +
          `accuracy float ${pct(f.floatAccuracy)} / quantized ${pct(f.quantizedAccuracy)} (${f.evaluatedOn})`,
        `  constraints: ${result.info.constraints ?? "not compiled"} (estimated ${result.info.estimatedConstraints})`,
      ].join("\n");
      return { json: { outDir: result.outDir, info: result.info, fidelity: f }, text };
    },
  },
  {
    name: "inspect",
    usage: "poi inspect <model.onnx | compiled dir>",
    summary: "estimate constraints, ptau power, proving memory and time before any setup",
    valueFlags: [],
    booleanFlags: [],
    async run(args) {
      const [target, extra] = args.positional;
      if (!target || extra !== undefined)
        throw new Error("poi inspect takes exactly one ONNX file or compiled directory");
      const report = await inspectModel(target);
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
  if (command) return `usage: ${command.usage} [--json]\n\n${command.summary}`;
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "usage: poi <command> [arguments] [--json] [--help]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "poi <command> --help shows a command's options.",
  ].join("\n");
}

/** Runs the CLI and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const json = argv.includes("--json");
  try {
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
    const message = err instanceof Error ? err.message : String(err);
    if (json) console.log(JSON.stringify({ error: message }));
    else console.error(stderrLines(message));
    return exitCodeOf(err);
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
