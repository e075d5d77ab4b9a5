/**
 * Measures the MNIST MLP (baked mode) end to end in one run and writes docs/benchmarks.md:
 * constraints, warm witness and proof times with 1 and all threads, the snarkjs CLI on the
 * same zkey and input, peak RSS, verify and fulfil gas (single and batched: the 4-inference batch
 * circuit), and one validator's throughput.
 *
 *   npm run bench [-- --runs <n, default 5>] [-- --seconds <throughput loop, default 30>] [-- --digit <i>]
 *
 * Proving configurations take turns in rounds, each proof in a process of its own, before the
 * chain is started, so that they never compete with each other for the cores.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import * as prettier from "prettier";
import { ROOT } from "../circuit/compile.ts";
import { loadMnist } from "../model/mnist.ts";
import { buildModel, REFERENCE_MODELS } from "../pipeline.ts";
import { Prover, releaseProverThreads } from "../prove/prover.ts";
import { artifactPath } from "../setup/manifest.ts";
import { describeMachine } from "./machine.ts";
import { mergeWorkerReports, runProveWorker, runSnarkjsCli, type CliReport, type ProveConfig } from "./prove-bench.ts";
import type { ProveWorkerReport } from "./prove-worker.ts";
import { renderReport } from "./report.ts";
import { median } from "./stats.ts";

const OUT = path.join(ROOT, "docs", "benchmarks.md");

function intArg(name: string, fallback: number, min: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < min)
    throw new Error(`--${name} must be an integer >= ${min}, got ${process.argv[i + 1]}`);
  return v;
}

const log = (msg: string) => console.log(`bench: ${msg}`);

async function main(): Promise<void> {
  const runs = intArg("runs", 5, 1);
  const seconds = intArg("seconds", 30, 1);
  const digitIndex = intArg("digit", 0, 0);
  const extra = process.argv.slice(2).join(" ");
  const command = `npm run bench${extra ? ` -- ${extra}` : ""}`;
  const machine = describeMachine(ROOT);
  log(`${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadStart.toFixed(2)}`);

  const model = REFERENCE_MODELS["mnist-mlp"];
  const built = await buildModel(model, { log: (m) => log(m) });
  const { manifest, manifestFile } = built;
  const { test } = loadMnist();
  if (digitIndex >= test.length) throw new Error(`--digit must be below ${test.length}`);
  const digit = test[digitIndex];

  const tmp = mkdtempSync(path.join(os.tmpdir(), "poi-bench-"));
  try {
    const files = {
      input: path.join(tmp, "input.json"),
      proof: path.join(tmp, "proof.json"),
      public: path.join(tmp, "public.json"),
      rss: path.join(tmp, "rss.txt"),
      wasm: artifactPath(manifestFile, manifest, "wasm"),
      zkey: artifactPath(manifestFile, manifest, "zkey"),
    };
    // Any field element works as the binding off-chain; the chain benchmark uses real ones.
    writeFileSync(files.input, JSON.stringify({ pixels: Array.from(digit.pixels), binding: "1" }));

    const configs: ProveConfig[] = [{ singleThread: true }, { threads: 1 }, { threads: 2 }];
    if (machine.cores > 2) configs.push({ threads: machine.cores });
    // Rounds: in each, every configuration proves in a fresh process and the CLI runs once, so a
    // change in the machine's load during the benchmark affects all of them alike.
    const perConfig: ProveWorkerReport[][] = configs.map(() => []);
    const cliRuns: CliReport[] = [];
    for (let round = 1; round <= runs; round++) {
      log(`round ${round}/${runs}: ${configs.map((c) => JSON.stringify(c)).join(", ")}, snarkjs CLI`);
      configs.forEach((config, i) => perConfig[i].push(runProveWorker(manifestFile, files.input, 1, config)));
      cliRuns.push(runSnarkjsCli(ROOT, files, 1));
    }
    const reports = perConfig.map(mergeWorkerReports);
    for (const r of reports) {
      log(`${r.mode}: witness ${median(r.witnessMs).toFixed(0)} ms, proof ${median(r.proveMs).toFixed(0)} ms`);
    }
    const twoThreads = reports.find((r) => r.mode === "pool of 2")!;
    const allThreads = reports.find((r) => r.mode === `pool of ${Math.max(2, machine.cores)}`)!;
    const rss = cliRuns.flatMap((c) => (c.maxRssKiB === undefined ? [] : [c.maxRssKiB]));
    const cli: CliReport = {
      wallMs: cliRuns.flatMap((c) => c.wallMs),
      maxRssKiB: rss.length ? Math.max(...rss) : undefined,
    };
    log(`snarkjs CLI: ${median(cli.wallMs).toFixed(0)} ms wall`);
    const rel = (f: string) => path.relative(ROOT, f);
    const cliCommand = `node_modules/.bin/snarkjs groth16 fullprove input.json ${rel(files.wasm)} ${rel(files.zkey)} proof.json public.json`;

    log("compiling contracts");
    await hre.tasks.getTask("build").run({ quiet: true });
    // chain-bench.ts uses the TypeChain types that the build above generates: load it now.
    const { runChainBench } = await import("./chain-bench.ts");
    const { ethers } = await hre.network.create();
    const prover = await Prover.load(manifestFile);
    const batchModel = REFERENCE_MODELS["mnist-mlp-batch4"];
    const batchBuilt = await buildModel(batchModel, { log: (m) => log(m) });
    const batchProver = await Prover.load(batchBuilt.manifestFile);
    log(`chain: verify and fulfil gas, then a ${seconds} s validator loop`);
    const chain = await runChainBench({
      ethers,
      manifest,
      verifierContract: model.verifierContract,
      prover,
      quantized: built.quantized,
      digits: test,
      seconds,
      log,
      batch: {
        verifierContract: batchModel.verifierContract,
        manifest: batchBuilt.manifest,
        prover: batchProver,
        size: batchModel.batch!,
      },
    });
    await releaseProverThreads();

    const report = renderReport({
      machine,
      loadEnd: os.loadavg()[0],
      command,
      runs,
      model: {
        name: model.name,
        constraints: manifest.constraints,
        sourceHash: manifest.sourceHash,
        zkeySha256: manifest.artifacts.zkey.sha256,
        ptau: `${manifest.ptau.file}${manifest.ptau.insecure ? " (insecure development file)" : ""}`,
      },
      digit: { index: digitIndex, label: digit.label },
      configs: reports,
      twoThreads,
      allThreads,
      cli,
      cliCommand,
      chain,
    });
    // Formatted like the rest of the tree, so that `npm run lint` passes on a fresh report.
    const style = (await prettier.resolveConfig(OUT)) ?? {};
    writeFileSync(OUT, await prettier.format(report, { ...style, filepath: OUT }));
    log(`wrote ${rel(OUT)}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
