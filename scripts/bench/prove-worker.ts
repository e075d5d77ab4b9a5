/**
 * One proving configuration in a process of its own, so that the worker pool has exactly the
 * size asked for and the peak RSS belongs to this configuration alone. run.ts starts it:
 *
 *   tsx scripts/bench/prove-worker.ts --manifest <file> --input <json> --runs <n> (--threads <n> | --full-prove)
 *
 * and reads one JSON line (ProveWorkerReport) from its stdout.
 *
 * `--threads n` times the warm Prover (scripts/prove/) on a pool of n worker threads, or with 0
 * on the calling thread without workers (setProverThreads, before the first proof).
 * `--full-prove` times the path the Prover replaced, as a user of snarkjs's API would write it:
 * `snarkjs.groth16.fullProve` with the wasm and zkey already in memory, in one process, on
 * snarkjs's default pool (one worker per core); it recompiles the witness code and re-reads the
 * zkey at every call.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import * as snarkjs from "snarkjs";
import { artifactPath, readManifest } from "../setup/manifest.ts";
import { Prover, releaseProverThreads } from "../prove/prover.ts";
import { setProverThreads } from "../prove/threads.ts";

export interface ProveWorkerReport {
  /** "pool of n", "calling thread" or "snarkjs fullProve". */
  mode: string;
  /** Worker threads (0 on the calling thread). */
  threads: number;
  /** Prover.load: read and hash-check wasm, zkey and vkey, instantiate the witness code, parse the zkey. */
  loadMs: number;
  /** The first witness + proof of the process, which also builds the curve and its threads. */
  coldMs: number;
  /** From the start of loading to the end of the first proof: what a fresh process waits for one proof. */
  firstProofMs: number;
  /** With --full-prove: the witness is inside fullProve, so these are 0 and proveMs is the whole call. */
  witnessMs: number[];
  proveMs: number[];
  /**
   * CPU time (user + system, all threads of the process) of each witness + proof. Unlike wall
   * time it hardly grows when other processes compete for the cores.
   */
  cpuMs: number[];
  /** process.resourceUsage().maxRSS after the last proof, in KiB (worker threads included). */
  maxRssKiB: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const manifestFile = arg("manifest");
  const inputFile = arg("input");
  const runs = Number(arg("runs") ?? 5);
  const fullProve = process.argv.includes("--full-prove");
  const threads = fullProve ? os.cpus().length : Number(arg("threads") ?? os.cpus().length);
  if (!manifestFile || !inputFile) throw new Error("--manifest and --input are required");
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${arg("runs")}`);
  if (!Number.isInteger(threads) || threads < 0) throw new Error(`--threads must be a non-negative integer`);
  if (!fullProve) setProverThreads(threads);

  // The circuit's whole input as snarkjs takes it (numbers or decimal strings): pixels and binding,
  // and in committed mode the model's weights and biases.
  const input = JSON.parse(readFileSync(inputFile, "utf8")) as Record<string, unknown>;

  const t0 = performance.now();
  let proveOnce: () => Promise<{ witnessMs: number; proveMs: number }>;
  if (fullProve) {
    const manifest = readManifest(manifestFile);
    const wasm = { type: "mem" as const, data: readFileSync(artifactPath(manifestFile, manifest, "wasm")) };
    const zkey = { type: "mem" as const, data: readFileSync(artifactPath(manifestFile, manifest, "zkey")) };
    proveOnce = async () => {
      const a = performance.now();
      await snarkjs.groth16.fullProve(input, wasm, zkey);
      return { witnessMs: 0, proveMs: performance.now() - a };
    };
  } else {
    const prover = await Prover.load(manifestFile);
    proveOnce = () => prover.prove(input);
  }
  const loadMs = performance.now() - t0;

  const c0 = performance.now();
  await proveOnce();
  const coldMs = performance.now() - c0;
  const firstProofMs = performance.now() - t0;

  const witnessMs: number[] = [];
  const proveMs: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const cpu = process.cpuUsage();
    const r = await proveOnce();
    const used = process.cpuUsage(cpu);
    cpuMs.push((used.user + used.system) / 1000);
    witnessMs.push(r.witnessMs);
    proveMs.push(r.proveMs);
  }
  const report: ProveWorkerReport = {
    mode: fullProve ? "snarkjs fullProve" : threads === 0 ? "calling thread" : `pool of ${threads}`,
    threads,
    loadMs,
    coldMs,
    firstProofMs,
    witnessMs,
    proveMs,
    cpuMs,
    maxRssKiB: process.resourceUsage().maxRSS,
  };
  await releaseProverThreads();
  process.stdout.write(JSON.stringify(report) + "\n");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`prove-worker: ${(err as Error).message}`);
    process.exit(1);
  },
);
