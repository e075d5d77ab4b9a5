/**
 * Measures issue 7's rows in one run and writes docs/benchmarks.md: the MNIST MLP and CNN in
 * baked mode and the MLP in committed mode. For each: constraints, warm witness and proof times
 * with 1 and all threads, the snarkjs CLI on the same zkey and input, peak RSS, verify and fulfil
 * gas (single and batched: the 4-, 8-, 16- and 32-inference MLP batch circuits, each through
 * requestInferences, claimBatch and fulfilBatch), and one validator's throughput. The CNN and the
 * K = 8, 16 and 32 batches are built here on first use (bench-circuits.ts). Writes
 * docs/benchmarks.json from the same run (bench-json.ts).
 *
 *   npm run bench [-- --runs <n, default 5>] [-- --seconds <throughput loop, default 30>] [-- --digit <i>]
 *
 * Proving configurations take turns in rounds, each proof in a process of its own, before the
 * chain is started, so that they never compete with each other for the cores: the warm Prover
 * (worker pools of 1 and 2, and for the MLP the calling thread) and the path it replaced
 * (snarkjs.groth16.fullProve in one process, and the snarkjs CLI). The browser build of the
 * prover then proves the MLP in headless Chromium. Also writes docs/benchmarks.json.
 *
 * Universal mode (issue 17, universal-bench.ts): the MLP and the CNN built as poi compile --mode
 * universal builds them (circom --O1, PLONK), proven by the validator's UniversalProver in this
 * process after the Groth16 rounds, registered and settled with fulfilUniversal on the chain, and
 * judged against the Groth16 figures of the same run.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import * as prettier from "prettier";
import * as snarkjs from "snarkjs";
import { ROOT } from "../circuit/compile.ts";
import { loadMnist } from "../model/mnist.ts";
import { buildModel, buildUniversalCircuit, paths, REFERENCE_MODELS, type BuiltUniversalCircuit } from "../pipeline.ts";
import { findChromium, proveInBrowser } from "../prove/browser-run.ts";
import { loadUniversalArtifacts, offChainRequest, proveRequests, requestCircuitInput } from "../prove/prove-request.ts";
import { Prover, releaseProverThreads } from "../prove/prover.ts";
import { artifactPath, type Manifest } from "../setup/manifest.ts";
import { plonkGateCount } from "../setup/plonk-setup.ts";
import { BENCH_BATCH_SIZES, BENCH_CNN, benchBatch, buildBenchBatch, buildBenchCnn } from "./bench-circuits.ts";
import { benchJson, type JsonRowInput } from "./bench-json.ts";
import { describeMachine } from "./machine.ts";
import { mergeWorkerReports, runProveWorker, runSnarkjsCli, type CliReport, type ProveConfig } from "./prove-bench.ts";
import type { ProveWorkerReport } from "./prove-worker.ts";
import { benchmarksJson, renderReport, type BrowserFigure, type SummaryRow } from "./report.ts";
import { median } from "./stats.ts";
import {
  renderUniversal,
  timeUniversalProver,
  UNIVERSAL_BATCH_SIZES,
  universalJson,
  type UniversalRow,
} from "./universal-bench.ts";

const OUT = path.join(ROOT, "docs", "benchmarks.md");
const OUT_JSON = path.join(ROOT, "docs", "benchmarks.json");

/**
 * The MLP proven `runs` + 1 times in one headless Chromium page: the first proof is its cold
 * one, the median of the others its warm witness + proof.
 */
async function browserFigure(manifestFile: string, input: Record<string, unknown>, runs: number) {
  const chromium = await findChromium();
  if ("missing" in chromium) return { missing: `not measured: ${chromium.missing}` };
  // A browser that is present but fails is reported in the row, so that the rest of the run stands.
  const run = await proveInBrowser(
    manifestFile,
    Array.from({ length: runs + 1 }, () => input),
  ).catch((err: Error) => err);
  if (run instanceof Error) {
    log(`browser: ${run.message}`);
    return { missing: `failed in this run: ${run.message}` };
  }
  const totals = run.proofs.map((p) => p.witnessMs + p.proveMs);
  const figure: BrowserFigure = {
    chromium: run.chromium,
    workers: run.workers,
    warmTotalMs: median(totals.slice(1)),
    coldMs: totals[0],
  };
  log(`browser (${run.chromium}, ${run.workers} workers): warm witness + proof ${figure.warmTotalMs.toFixed(0)} ms`);
  return figure;
}

/**
 * Sections of OUT that this benchmark does not measure (new-user ptau and setup times; the
 * hand-measured comparison of universal proof systems, scripts/setup/plonk-compare.ts, that chose
 * PLONK): a new report keeps them.
 */
const KEPT_SECTIONS = [
  "## Development ptau and setup per circuit",
  "## How PLONK was chosen: PLONK and FFLONK against Groth16 (hand-measured)",
];

function keptSection(file: string): string {
  const old = existsSync(file) ? readFileSync(file, "utf8") : "";
  return KEPT_SECTIONS.map((heading) => {
    const start = old.indexOf(heading);
    if (start < 0) return "";
    const end = old.indexOf("\n## ", start + heading.length);
    return "\n" + old.slice(start, end < 0 ? undefined : end + 1);
  }).join("");
}

/**
 * The hand-measured `universalChoice` entry of OUT_JSON (plonk-compare.ts: PLONK and FFLONK side by
 * side, how PLONK was chosen), which a new run keeps.
 */
function keptUniversalChoice(): unknown {
  if (!existsSync(OUT_JSON)) return undefined;
  return (JSON.parse(readFileSync(OUT_JSON, "utf8")) as { universalChoice?: unknown }).universalChoice;
}

function intArg(name: string, fallback: number, min: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < min)
    throw new Error(`--${name} must be an integer >= ${min}, got ${process.argv[i + 1]}`);
  return v;
}

const log = (msg: string) => console.log(`bench: ${msg}`);

/** A circuit to time: its manifest and one input file for the workers and the CLI. */
interface ProveTarget {
  manifestFile: string;
  manifest: Manifest;
  inputFile: string;
  configs: ProveConfig[];
}

/**
 * Times every target's configurations and the snarkjs CLI in rounds: in each round every
 * configuration of every target proves in a fresh process and the CLI runs once per target, so a
 * change in the machine's load during the benchmark affects all of them alike.
 */
function timeTargets(targets: ProveTarget[], runs: number, tmp: string) {
  const perConfig = targets.map((t) => t.configs.map((): ProveWorkerReport[] => []));
  const cliRuns = targets.map((): CliReport[] => []);
  for (let round = 1; round <= runs; round++) {
    targets.forEach((t, ti) => {
      log(`round ${round}/${runs}, ${t.manifest.circuit}: ${t.configs.map((c) => JSON.stringify(c)).join(", ")}, CLI`);
      t.configs.forEach((config, i) => perConfig[ti][i].push(runProveWorker(t.manifestFile, t.inputFile, 1, config)));
      cliRuns[ti].push(runSnarkjsCli(ROOT, cliFiles(t, tmp), 1));
    });
  }
  return targets.map((t, ti) => {
    const reports = perConfig[ti].map(mergeWorkerReports);
    for (const r of reports) {
      log(
        `${t.manifest.circuit} ${r.mode}: witness ${median(r.witnessMs).toFixed(0)} ms, proof ${median(r.proveMs).toFixed(0)} ms`,
      );
    }
    const rss = cliRuns[ti].flatMap((c) => (c.maxRssKiB === undefined ? [] : [c.maxRssKiB]));
    const cli: CliReport = {
      wallMs: cliRuns[ti].flatMap((c) => c.wallMs),
      maxRssKiB: rss.length ? Math.max(...rss) : undefined,
    };
    log(`${t.manifest.circuit} snarkjs CLI: ${median(cli.wallMs).toFixed(0)} ms wall`);
    const f = cliFiles(t, tmp);
    const rel = (file: string) => path.relative(ROOT, file);
    const cliCommand = `node_modules/.bin/snarkjs groth16 fullprove input.json ${rel(f.wasm)} ${rel(f.zkey)} proof.json public.json`;
    return { reports, cli, cliCommand };
  });
}

function cliFiles(t: ProveTarget, tmp: string) {
  return {
    input: t.inputFile,
    proof: path.join(tmp, "proof.json"),
    public: path.join(tmp, "public.json"),
    rss: path.join(tmp, "rss.txt"),
    wasm: artifactPath(t.manifestFile, t.manifest, "wasm"),
    zkey: artifactPath(t.manifestFile, t.manifest, "zkey"),
  };
}

const ptauText = (m: Manifest) => `${m.ptau.file}${m.ptau.insecure ? " (insecure development file)" : ""}`;
const ptauShort = (m: Manifest) => `${m.ptau.file}${m.ptau.insecure ? ", insecure development file" : ""}`;

/** Builds (or reuses) a circuit, noting how long a fresh build took. */
async function timedBuild<T extends { cached: boolean; manifest: Manifest }>(
  what: string,
  notes: string[],
  build: () => Promise<T>,
): Promise<T> {
  const t0 = performance.now();
  const built = await build();
  const s = (performance.now() - t0) / 1000;
  notes.push(
    built.cached
      ? `${what}: cached artifacts reused (${int(built.manifest.constraints)} constraints, ${ptauShort(built.manifest)}).`
      : `${what}: built in this run: compile + setup (contribution + beacon, zkey verified) took ${s.toFixed(0)} s ` +
          `(${int(built.manifest.constraints)} constraints, ${ptauShort(built.manifest)}).`,
  );
  log(`${what}: ${built.cached ? "cached" : `built in ${s.toFixed(0)} s`}`);
  return built;
}

const int = (v: number | bigint) => v.toLocaleString("en-US");

async function main(): Promise<void> {
  const runs = intArg("runs", 5, 1);
  const seconds = intArg("seconds", 30, 1);
  const digitIndex = intArg("digit", 0, 0);
  const extra = process.argv.slice(2).join(" ");
  const command = `npm run bench${extra ? ` -- ${extra}` : ""}`;
  const machine = describeMachine(ROOT);
  log(`${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadStart.toFixed(2)}`);

  const model = REFERENCE_MODELS["mnist-mlp"];
  const batchModel = REFERENCE_MODELS["mnist-mlp-batch4"];
  const committedModel = REFERENCE_MODELS["mnist-mlp-committed"];
  const buildLog = { log: (m: string) => log(m) };
  const buildNotes: string[] = [];
  const built = await buildModel(model, buildLog);
  const batchBuilt = await buildModel(batchModel, buildLog);
  const committedBuilt = await timedBuild(`${committedModel.name} (npm run build)`, buildNotes, () =>
    buildModel(committedModel, buildLog),
  );
  const cnnBuilt = await timedBuild("mnist-cnn (bench only)", buildNotes, () => buildBenchCnn(buildLog));
  const benchBatches = [];
  for (const k of BENCH_BATCH_SIZES)
    benchBatches.push(
      await timedBuild(`${benchBatch(k).name} (bench only)`, buildNotes, () => buildBenchBatch(k, buildLog)),
    );
  // Universal mode (issue 17) of the MLP and the CNN, and of the MLP's K = 4 and 8 batch circuits:
  // the same generated circuits, built as poi compile --mode universal and poi setup build them.
  const cnnPaths = paths(BENCH_CNN.name, paths(BENCH_CNN.name).buildDir);
  const buildUniversal = async (name: string, source: { circom: string; quantized: string }, minPower?: number) => {
    const t0 = performance.now();
    const u = await buildUniversalCircuit(
      {
        name,
        circomFile: source.circom,
        buildDir: path.join(ROOT, "circuits", "build", `${name}-universal`),
        modelFile: source.quantized,
      },
      { ...buildLog, minPower },
    );
    const setupMs = u.cached ? undefined : performance.now() - t0;
    buildNotes.push(
      u.cached
        ? `${name} (universal, bench only): cached artifacts reused (${int(u.gates)} PLONK gates, ${u.ptau.file}).`
        : `${name} (universal, bench only): built in this run: circom --O1 + PLONK setup took ${((setupMs ?? 0) / 1000).toFixed(0)} s ` +
            `(${int(u.gates)} PLONK gates, ${u.ptau.file}${u.ptau.insecure ? ", insecure development file" : ""}).`,
    );
    log(`${name} (universal): ${u.cached ? "cached" : `built in ${((setupMs ?? 0) / 1000).toFixed(0)} s`}`);
    return { built: u, setupMs };
  };
  // Every key of the MLP names one ceremony: its circuits share the ptau its largest batch needs.
  const universalBatches: { size: number; built: BuiltUniversalCircuit }[] = [];
  for (const k of [...UNIVERSAL_BATCH_SIZES].sort((a, b) => b - a)) {
    const name = k === batchModel.batch ? batchModel.name : benchBatch(k).name;
    const source = k === batchModel.batch ? paths(name) : paths(name, paths(name).buildDir);
    const minPower = universalBatches[0]?.built.ptau.power;
    universalBatches.unshift({ size: k, built: (await buildUniversal(name, source, minPower)).built });
  }
  const mlpPtauPower = universalBatches[universalBatches.length - 1]?.built.ptau.power;
  const universalBuilds = [
    { label: "MNIST MLP, universal", ...(await buildUniversal(model.name, paths(model.name), mlpPtauPower)) },
    { label: "MNIST CNN, universal", ...(await buildUniversal(BENCH_CNN.name, cnnPaths)) },
  ];
  const ceremonies = new Set([universalBuilds[0], ...universalBatches].map((u) => u.built.manifest.ceremony.id));
  if (ceremonies.size !== 1)
    throw new Error(`the MLP's universal circuits name ceremonies ${[...ceremonies].join(", ")}: they must share one`);
  const { manifest, manifestFile } = built;
  const { test } = loadMnist();
  if (digitIndex >= test.length) throw new Error(`--digit must be below ${test.length}`);
  const digit = test[digitIndex];

  const tmp = mkdtempSync(path.join(os.tmpdir(), "poi-bench-"));
  try {
    const write = (name: string, input: unknown) => {
      const file = path.join(tmp, `${name}.input.json`);
      writeFileSync(
        file,
        JSON.stringify(input, (_k, v) => (typeof v === "bigint" ? v.toString() : v)),
      );
      return file;
    };
    // Any field element works as the binding off-chain; the chain benchmark uses real ones.
    const bakedInput = { pixels: Array.from(digit.pixels), binding: "1" };
    const committedProver = await Prover.load(committedBuilt.manifestFile);
    const committedInput = requestCircuitInput(
      { prover: committedProver, model: committedBuilt.quantized },
      [offChainRequest(committedBuilt.quantized, digit.pixels)],
      { binding: 1n },
    ).input;

    const pools: ProveConfig[] = [{ threads: 1 }, { threads: 2 }];
    if (machine.cores > 2) pools.push({ threads: machine.cores });
    pools.push({ fullProve: true });
    const targets: ProveTarget[] = [
      {
        manifestFile,
        manifest,
        inputFile: write("mlp", bakedInput),
        configs: [{ threads: 0 }, ...pools],
      },
      { ...cnnBuilt, inputFile: write("cnn", bakedInput), configs: pools },
      { ...committedBuilt, inputFile: write("committed", committedInput), configs: pools },
    ];
    const [mlpTimes, cnnTimes, committedTimes] = timeTargets(targets, runs, tmp);
    const reports = mlpTimes.reports;
    const browser = await browserFigure(manifestFile, bakedInput, runs);
    // Universal-mode proofs, in this process once the Groth16 rounds are over.
    const universalProvers = [];
    for (const u of universalBuilds) universalProvers.push(await timeUniversalProver(u.built, bakedInput, runs, log));
    const twoThreads = reports.find((r) => r.mode === "pool of 2")!;
    const allThreads = reports.find((r) => r.mode === `pool of ${Math.max(2, machine.cores)}`)!;

    log("compiling contracts");
    await hre.tasks.getTask("build").run({ quiet: true });
    // chain-bench.ts uses the TypeChain types that the build above generates: load it now.
    const { runChainBench, runGraphChainBench, runCommittedChainBench, measureVerifyGas } =
      await import("./chain-bench.ts");
    const { ethers } = await hre.network.create();
    const prover = await Prover.load(manifestFile);
    const batchCircuits = [];
    for (const [b, size] of [
      [batchBuilt, batchModel.batch!],
      ...benchBatches.map((bb, i) => [bb, BENCH_BATCH_SIZES[i]] as const),
    ] as const)
      batchCircuits.push({
        manifest: b.manifest,
        manifestFile: b.manifestFile,
        prover: await Prover.load(b.manifestFile),
        size,
      });
    log(`chain, MLP baked: verify and fulfil gas, then a ${seconds} s validator loop, then batches`);
    const chain = await runChainBench({
      ethers,
      manifest,
      manifestFile,
      prover,
      quantized: built.quantized,
      digits: test,
      seconds,
      log,
      batches: batchCircuits,
    });
    log(`chain, CNN baked: verify and fulfil gas, then a ${seconds} s validator loop`);
    const cnnProver = await Prover.load(cnnBuilt.manifestFile);
    const cnnChain = await runGraphChainBench({
      ethers,
      manifestFile: cnnBuilt.manifestFile,
      prover: cnnProver,
      quantized: cnnBuilt.quantized,
      digits: test,
      seconds,
      log,
    });
    log("chain, MLP committed: verify gas on the generated verifier, market path");
    const [deployer] = await ethers.getSigners();
    const committedVerifier = await ethers.deployContract(committedModel.verifierContract);
    const committedProof = await proveRequests(
      { prover: committedProver, model: committedBuilt.quantized },
      [offChainRequest(committedBuilt.quantized, digit.pixels)],
      { binding: 1n },
    );
    const committedVerify = await measureVerifyGas(await committedVerifier.getAddress(), deployer, committedProof);
    const committedChain = await runCommittedChainBench({
      ethers,
      manifest: committedBuilt.manifest,
      manifestFile: committedBuilt.manifestFile,
      verifierContract: committedModel.verifierContract,
      prover: committedProver,
      quantized: committedBuilt.quantized,
      weightsCommitment: BigInt(committedBuilt.manifest.modelCommitment!),
      bakedManifestFile: manifestFile,
      digits: test,
      seconds,
      log,
    });
    const { runUniversalChainBench } = await import("./chain-bench.ts");
    const warmTotal = (r: ProveWorkerReport) => median(r.witnessMs.map((w, i) => w + r.proveMs[i]));
    const groth16Of = [
      { reports, manifestFile, manifest, quantized: built.quantized },
      {
        reports: cnnTimes.reports,
        manifestFile: cnnBuilt.manifestFile,
        manifest: cnnBuilt.manifest,
        quantized: cnnBuilt.quantized,
      },
    ];
    const universalRows: UniversalRow[] = [];
    for (const [i, u] of universalBuilds.entries()) {
      log(`chain, ${u.label}: register, verify and fulfil gas, then a ${seconds} s validator loop`);
      const g = groth16Of[i];
      const { prover: universalProver, times } = universalProvers[i];
      universalRows.push({
        label: u.label,
        built: u.built,
        r1csConstraints: (await snarkjs.r1cs.info(u.built.r1cs)).nConstraints,
        groth16Constraints: g.manifest.constraints,
        o2Gates: plonkGateCount(artifactPath(g.manifestFile, g.manifest, "r1cs")),
        setupMs: u.setupMs,
        times,
        groth16WarmMs: warmTotal(g.reports.find((r) => r.mode === `pool of ${Math.max(2, machine.cores)}`)!),
        groth16FullProveWarmMs: warmTotal(g.reports.find((r) => r.mode === "snarkjs fullProve")!),
        chain: await runUniversalChainBench({
          ethers,
          bakedManifestFile: manifestFile,
          vkeyFile: u.built.vkeyPath,
          prover: universalProver,
          quantized: g.quantized,
          digits: test,
          seconds,
          log,
          // The MLP's batches: one real PLONK proof of K requests per size.
          batches:
            i === 0
              ? await Promise.all(
                  universalBatches.map(async (b) => ({
                    size: b.size,
                    vkeyFile: b.built.vkeyPath,
                    artifacts: await loadUniversalArtifacts(b.built.manifestFile),
                  })),
                )
              : [],
        }),
      });
    }
    await releaseProverThreads();

    const perSettle = (l: { seconds: number; settled: number }) => (l.settled ? (l.seconds * 1000) / l.settled : NaN);
    const laterGas = (g: bigint[]) => BigInt(Math.round(median(g.map(Number))));
    const rows: SummaryRow[] = [
      {
        label: "MNIST MLP, baked",
        circuit: model.name,
        constraints: manifest.constraints,
        ptau: ptauText(manifest),
        zkeySha256: manifest.artifacts.zkey.sha256,
        configs: reports,
        cli: mlpTimes.cli,
        cliCommand: mlpTimes.cliCommand,
        verifyGas: chain.verifyGas,
        publicSignals: manifest.publicSignals.length,
        fulfil: { first: chain.firstFulfilGas, later: laterGas(chain.loopFulfilGas) },
        largestK: chain.batches.length
          ? {
              size: chain.batches[chain.batches.length - 1].size,
              perInference:
                laterGas(chain.batches[chain.batches.length - 1].settleGas) /
                BigInt(chain.batches[chain.batches.length - 1].size),
            }
          : { missing: "n/a (no batch circuit measured)" },
        throughput: { perMinute: chain.loop.perMinute, perSettleMs: perSettle(chain.loop) },
        browser,
      },
      {
        label: "MNIST CNN, baked",
        circuit: BENCH_CNN.name,
        constraints: cnnBuilt.manifest.constraints,
        ptau: ptauText(cnnBuilt.manifest),
        zkeySha256: cnnBuilt.manifest.artifacts.zkey.sha256,
        configs: cnnTimes.reports,
        cli: cnnTimes.cli,
        cliCommand: cnnTimes.cliCommand,
        verifyGas: cnnChain.verifyGas,
        publicSignals: cnnBuilt.manifest.publicSignals.length,
        fulfil: { first: cnnChain.firstFulfilGas, later: laterGas(cnnChain.loopFulfilGas) },
        largestK: { missing: "n/a (no CNN batch circuit: K = 1 only)" },
        throughput: { perMinute: cnnChain.loop.perMinute, perSettleMs: perSettle(cnnChain.loop) },
        browser: { missing: "n/a (the browser is measured on the MLP)" },
      },
      {
        label: "MNIST MLP, committed",
        circuit: committedModel.name,
        constraints: committedBuilt.manifest.constraints,
        ptau: ptauText(committedBuilt.manifest),
        zkeySha256: committedBuilt.manifest.artifacts.zkey.sha256,
        configs: committedTimes.reports,
        cli: committedTimes.cli,
        cliCommand: committedTimes.cliCommand,
        verifyGas: committedVerify.gas,
        publicSignals: committedBuilt.manifest.publicSignals.length,
        fulfil: { first: committedChain.single.firstFulfilGas, later: committedChain.fulfilGas },
        largestK: committedChain.largestBatch
          ? { size: committedChain.largestBatch.size, perInference: committedChain.largestBatch.gasPerInference }
          : { missing: "n/a (no committed batch circuit built: K = 1 only)" },
        throughput: { perMinute: committedChain.perMinute, perSettleMs: 60_000 / committedChain.perMinute },
        browser: { missing: "n/a (the browser is measured on the MLP)" },
      },
    ];

    const result = {
      rows,
      buildNotes,
      machine,
      loadEnd: os.loadavg()[0],
      command,
      runs,
      model: {
        name: model.name,
        constraints: manifest.constraints,
        sourceHash: manifest.sourceHash,
        zkeySha256: manifest.artifacts.zkey.sha256,
        ptau: ptauText(manifest),
      },
      digit: { index: digitIndex, label: digit.label },
      configs: reports,
      twoThreads,
      allThreads,
      cli: mlpTimes.cli,
      cliCommand: mlpTimes.cliCommand,
      chain,
    };
    const report = renderReport(result);
    // Formatted like the rest of the tree, so that `npm run lint` passes on a fresh report.
    const style = (await prettier.resolveConfig(OUT)) ?? {};
    const largest = rows[0].largestK;
    if ("missing" in largest)
      throw new Error("the MLP's batches were not measured: no Groth16 settlement figure to compare");
    const universalSection = renderUniversal(universalRows, largest, runs).join("\n");
    writeFileSync(
      OUT,
      await prettier.format(report + "\n" + universalSection + "\n" + keptSection(OUT), { ...style, filepath: OUT }),
    );
    log(`wrote ${path.relative(ROOT, OUT)}`);
    const jsonRows: JsonRowInput[] = [
      { id: "mlp-baked", summary: rows[0], chain },
      { id: "cnn-baked", summary: rows[1], chain: cnnChain },
      { id: "mlp-committed", summary: rows[2], chain: committedChain.single },
    ];
    // One file: the settlement figures of each row (bench-json.ts) with the prover's beside them
    // (report.ts: warm and cold times against snarkjs, the browser figure, cost per constraint).
    const settlement = benchJson({ machine, loadEnd: os.loadavg()[0], rows: jsonRows });
    const proving = benchmarksJson(result) as { rows: Record<string, unknown>[]; prover: unknown };
    const json = {
      ...settlement,
      rows: settlement.rows.map((row, i) => {
        const p = proving.rows[i] ?? {};
        return {
          ...row,
          coldMs: p.coldMs,
          usCorePerConstraint: p.usCorePerConstraint,
          fullProveWarmTotalMs: p.fullProveWarmTotalMs,
          browserWarmTotalMs: p.browserWarmTotalMs,
        };
      }),
      prover: proving.prover,
      universal: universalJson(universalRows, largest),
      universalChoice: keptUniversalChoice(),
    };
    writeFileSync(OUT_JSON, await prettier.format(JSON.stringify(json), { ...style, filepath: OUT_JSON }));
    log(`wrote ${path.relative(ROOT, OUT_JSON)}`);
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
