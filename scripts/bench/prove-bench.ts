/**
 * The off-chain half of the benchmark: each proving configuration in a child process of its
 * own (prove-worker.ts), and the plain snarkjs CLI, on the same zkey and input.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { ProveWorkerReport } from "./prove-worker.ts";
import { median } from "./stats.ts";

const WORKER = path.join(path.dirname(new URL(import.meta.url).pathname), "prove-worker.ts");
const GNU_TIME = "/usr/bin/time";

/** The warm Prover on a pool of `threads` workers (0: on the calling thread), or snarkjs's fullProve. */
export type ProveConfig = { threads: number } | { fullProve: true };

/** Runs one configuration in a fresh Node process (this Node, with tsx as its loader). */
export function runProveWorker(manifestFile: string, inputFile: string, runs: number, config: ProveConfig) {
  const mode = "fullProve" in config ? ["--full-prove"] : ["--threads", String(config.threads)];
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      import.meta.resolve("tsx"),
      WORKER,
      "--manifest",
      manifestFile,
      "--input",
      inputFile,
      "--runs",
      String(runs),
      ...mode,
    ],
    { encoding: "utf8", maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) throw new Error(`prove worker (${mode.join(" ")}) failed: ${r.stderr || r.error?.message}`);
  const line = r.stdout.trim().split("\n").pop()!;
  return JSON.parse(line) as ProveWorkerReport;
}

/** One configuration's reports from several processes: runs pooled, cold and load times as medians. */
export function mergeWorkerReports(reports: ProveWorkerReport[]): ProveWorkerReport {
  const all = <K extends keyof ProveWorkerReport>(k: K) => reports.flatMap((r) => (r[k] ?? []) as number[]);
  return {
    mode: reports[0].mode,
    threads: reports[0].threads,
    loadMs: median(reports.map((r) => r.loadMs)),
    coldMs: median(reports.map((r) => r.coldMs)),
    firstProofMs: median(reports.map((r) => r.firstProofMs)),
    witnessMs: all("witnessMs"),
    proveMs: all("proveMs"),
    cpuMs: all("cpuMs"),
    maxRssKiB: Math.max(...reports.map((r) => r.maxRssKiB)),
  };
}

export interface CliReport {
  wallMs: number[];
  /** Peak RSS of the CLI process from GNU time, when /usr/bin/time exists. */
  maxRssKiB?: number;
}

/**
 * `snarkjs groth16 fullprove` from node_modules/.bin, a fresh process per run, timed by wall
 * clock from spawn to exit: Node start-up, module loading, witness, curve and thread set-up,
 * proof and writing the two JSON files all count, as they would for a user of the CLI.
 */
export function runSnarkjsCli(
  root: string,
  files: { input: string; wasm: string; zkey: string; proof: string; public: string; rss: string },
  runs: number,
): CliReport {
  const cli = path.join(root, "node_modules", ".bin", "snarkjs");
  if (!existsSync(cli)) throw new Error(`${cli} is missing: install the dependencies with npm ci`);
  const args = ["groth16", "fullprove", files.input, files.wasm, files.zkey, files.proof, files.public];
  const timed = existsSync(GNU_TIME);
  // The CLI's shebang runs `node` from PATH: put this Node first so that both sides use the same.
  const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}` };
  const wallMs: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = timed
      ? spawnSync(GNU_TIME, ["-f", "%M", "-o", files.rss, cli, ...args], { encoding: "utf8", env })
      : spawnSync(cli, args, { encoding: "utf8", env });
    wallMs.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`snarkjs groth16 fullprove failed: ${r.stderr || r.error?.message}`);
    if (timed) rss.push(Number(readFileSync(files.rss, "utf8").trim().split("\n").pop()));
  }
  return { wallMs, maxRssKiB: rss.length ? Math.max(...rss) : undefined };
}
