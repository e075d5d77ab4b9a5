/**
 * One proving configuration in a process of its own, so that snarkjs's thread pool has exactly
 * the size asked for and the peak RSS belongs to this configuration alone. run.ts starts it:
 *
 *   tsx scripts/bench/prove-worker.ts --manifest <file> --input <json> --runs <n> (--threads <n> | --single-thread)
 *
 * and reads one JSON line (ProveWorkerReport) from its stdout.
 *
 * How the thread count is set: ffjavascript's buildThreadManager sizes its worker pool with
 * `os.cpus().length` when the bn128 curve is first built (lazily, at the first proof), and
 * caches the curve in globalThis.curve_bn128. `--threads n` shortens os.cpus() to n entries
 * before that happens, so the warm Prover runs unchanged on a pool of n worker threads.
 * `--single-thread` instead passes snarkjs's own `{ singleThread: true }` prover option, which
 * makes ffjavascript build an uncached curve that computes on the main thread, at every proof.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import * as snarkjs from "snarkjs";
import { artifactPath } from "../setup/manifest.ts";
import { Prover, releaseProverThreads } from "../prove/prover.ts";

export interface ProveWorkerReport {
  /** "pool of n" or "singleThread option". */
  mode: string;
  threads: number;
  /** Prover.load: read and hash-check wasm, zkey and vkey. */
  loadMs: number;
  /** The first witness + proof of the process, which also builds the curve and its threads. */
  coldMs: number;
  witnessMs: number[];
  proveMs: number[];
  /**
   * CPU time (user + system, all threads of the process) of each witness + proof. Unlike wall
   * time it hardly grows when other processes compete for the cores.
   */
  cpuMs: number[];
  /**
   * With --single-thread: building the uncached single-thread curve alone, which the option
   * repeats inside every proof.
   */
  curveBuildMs?: number[];
  /** WebAssembly.compile of the witness wasm alone, which snarkjs's wtns.calculate repeats every call. */
  wasmCompileMs: number[];
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
  const single = process.argv.includes("--single-thread");
  const threads = single ? 1 : Number(arg("threads") ?? os.cpus().length);
  if (!manifestFile || !inputFile) throw new Error("--manifest and --input are required");
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${arg("runs")}`);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads must be a positive integer`);

  if (!single) {
    const cpus = os.cpus();
    // Repeat entries if more threads than cores are asked for (oversubscription is allowed).
    os.cpus = () => Array.from({ length: threads }, (_, i) => cpus[i % cpus.length]);
  }

  // The circuit's whole input as snarkjs takes it (numbers or decimal strings): pixels and binding,
  // and in committed mode the model's weights and biases.
  const input = JSON.parse(readFileSync(inputFile, "utf8")) as Record<string, unknown>;

  const t0 = performance.now();
  const prover = await Prover.load(manifestFile);
  const loadMs = performance.now() - t0;

  const zkey = { type: "mem" as const, data: readFileSync(artifactPath(manifestFile, prover.manifest, "zkey")) };
  const proveOnce = async (): Promise<{ witnessMs: number; proveMs: number }> => {
    if (!single) return prover.prove(input);
    const a = performance.now();
    const wtns = await prover.witness(input);
    const b = performance.now();
    await snarkjs.groth16.prove(zkey, wtns, undefined, { singleThread: true });
    return { witnessMs: b - a, proveMs: performance.now() - b };
  };

  const c0 = performance.now();
  await proveOnce();
  const coldMs = performance.now() - c0;

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
  const maxRssKiB = process.resourceUsage().maxRSS;
  const wasm = readFileSync(artifactPath(manifestFile, prover.manifest, "wasm"));
  // TypeScript's ES2023 lib has no WebAssembly declarations; Node has the global.
  const wasmApi = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<unknown> } })
    .WebAssembly;
  const wasmCompileMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = performance.now();
    await wasmApi.compile(wasm);
    wasmCompileMs.push(performance.now() - a);
  }
  let curveBuildMs: number[] | undefined;
  if (single) {
    curveBuildMs = [];
    const curves = snarkjs.curves as unknown as {
      getCurveFromName(name: string, options: { singleThread: boolean }): Promise<unknown>;
    };
    for (let i = 0; i < runs; i++) {
      const a = performance.now();
      await curves.getCurveFromName("bn128", { singleThread: true });
      curveBuildMs.push(performance.now() - a);
    }
  }
  const report: ProveWorkerReport = {
    mode: single ? "singleThread option" : `pool of ${threads}`,
    threads,
    loadMs,
    coldMs,
    witnessMs,
    proveMs,
    cpuMs,
    wasmCompileMs,
    curveBuildMs,
    maxRssKiB,
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
