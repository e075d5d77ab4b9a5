/**
 * Renders docs/benchmarks.md (and the figures of docs/benchmarks.json) from one benchmark run.
 * Every figure comes from the run; the prose around the goals is chosen by which goals the run met.
 */
import { batchFigures, singleFigures } from "./bench-json.ts";
import type { ChainBench } from "./chain-bench.ts";
import type { Machine } from "./machine.ts";
import type { CliReport } from "./prove-bench.ts";
import type { ProveWorkerReport } from "./prove-worker.ts";
import { median, missPercent } from "./stats.ts";

/** One row of issue 7's table: a reference model in one mode, measured in the same run. */
export interface SummaryRow {
  label: string;
  circuit: string;
  constraints: number;
  ptau: string;
  zkeySha256: string;
  /** Every proving configuration, each in fresh processes (prove-worker.ts). */
  configs: ProveWorkerReport[];
  cli: CliReport;
  cliCommand: string;
  verifyGas: bigint;
  /** Public signals the verifier reads (each one an ecMul + ecAdd on-chain). */
  publicSignals: number;
  /** Single-inference fulfilment: first and later fulfils, or why there is no figure. */
  fulfil: { first: bigint; later: bigint } | { missing: string };
  /** Settlement gas per inference at the largest K built for this row, or why there is none. */
  largestK: { size: number; perInference: bigint } | { missing: string };
  /** One validator's settled inferences per minute, or why there is no figure. */
  throughput: { perMinute: number; perSettleMs: number } | { missing: string };
  /** Warm witness + proof of the browser build in headless Chromium, or why there is none. */
  browser: BrowserFigure | { missing: string };
}

/** The browser build of the prover in headless Chromium (scripts/prove/browser-run.ts). */
export interface BrowserFigure {
  chromium: string;
  workers: number;
  /** Median witness + proof of the page's proofs after its first. */
  warmTotalMs: number;
  /** The page's first witness + proof (builds the curve and starts the web workers). */
  coldMs: number;
}

export interface BenchResult {
  /** Issue 7's rows: MLP baked, CNN baked, MLP committed. */
  rows: SummaryRow[];
  /** How the bench-only circuits were obtained (built now with their setup time, or cached). */
  buildNotes: string[];
  machine: Machine;
  loadEnd: number;
  command: string;
  runs: number;
  model: { name: string; constraints: number; sourceHash: string; zkeySha256: string; ptau: string };
  digit: { index: number; label: number };
  configs: ProveWorkerReport[];
  /** The configuration the goals and the CLI ratio use: a pool of 2 threads. */
  twoThreads: ProveWorkerReport;
  allThreads: ProveWorkerReport;
  cli: CliReport;
  cliCommand: string;
  chain: ChainBench;
}

export const GOALS = {
  fulfilGas: 260_000,
  batchGasPerInference: 30_000,
  lifecycleGasK1: 350_000,
  lifecycleGasK32: 100_000,
  requestGasPerInference: 40_000,
  warmMs: 500,
  perMinute: 300,
};

const ms = (v: number) => `${v.toFixed(0)} ms`;
const int = (v: number | bigint) => v.toLocaleString("en-US");
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
const totals = (r: ProveWorkerReport) => r.witnessMs.map((w, i) => w + r.proveMs[i]);

function describeConfig(r: ProveWorkerReport): string {
  if (r.mode === "snarkjs fullProve")
    return `old path: \`snarkjs.groth16.fullProve\`, in one process, pool of ${r.threads}`;
  if (r.mode === "calling thread") return "Prover, calling thread (no workers)";
  return `Prover, ${r.threads} thread${r.threads > 1 ? "s" : ""}: worker pool of ${r.threads}`;
}

/** rapidsnark's cost per constraint on ML witnesses of this kind (issue 14's native anchor), µs·core. */
export const RAPIDSNARK_US_CORE = 10.7;
/** CPU time of witness + proof per constraint, µs·core. */
export const usCore = (cfg: ProveWorkerReport, constraints: number) => (median(cfg.cpuMs) * 1000) / constraints;

function goalRow(goal: string, measured: string, miss: number, unitNote = ""): string {
  const status = miss === 0 ? "met" : `missed by ${miss.toFixed(0)}%${unitNote}`;
  return `| ${goal} | ${measured} | ${status} |`;
}

/** Gas per public signal in the snarkjs verifier: ecMul 6,000 + ecAdd 150 + 32 calldata bytes (512) + memory. */
const GAS_PER_PUBLIC_SIGNAL = 7_000;

/** Issue 13's figures: each step of a request's life, singly and per batch size, and its goals. */
function renderSettlement(r: BenchResult): string[] {
  const c = r.chain;
  const one = singleFigures(c);
  const batches = c.batches.map(batchFigures);
  if (batches.length === 0) return [];
  const largest = batches[batches.length - 1];
  const largestRaw = c.batches[c.batches.length - 1];
  const k32 = batches.find((b) => b.k === 32);
  const status = (measured: number, goal: number) => {
    const miss = missPercent(measured, goal, "at most");
    return miss === 0 ? "met" : `missed by ${int(Math.round(measured - goal))} gas (${miss.toFixed(0)}%)`;
  };
  const signalsExtra = (kk: number) => BigInt((3 * kk - 3) * GAS_PER_PUBLIC_SIGNAL);
  const requestBatch = Math.min(...batches.map((b) => b.requestGasPerInference));
  const goals: [string, string, number, number, string][] = [
    [
      "lifecycle gas per inference (request + claim + fulfil), K = 1",
      `${int(one.requestGas)} + ${int(one.claimGas)} + ${int(one.fulfilGas)} = ${int(one.lifecycleGasPerInferenceK1)}`,
      one.lifecycleGasPerInferenceK1,
      GOALS.lifecycleGasK1,
      "the Groth16 verification of one proof (about 190,000 with its calldata) is paid by one request",
    ],
    [
      `lifecycle gas per inference, K = ${k32 ? 32 : largest.k}`,
      `${int(largest.requestGasPerInference)} + ${int(largest.claimGasPerInference)} + ${int(largest.settleGasPerInference)} = ${int(largest.lifecycleGasPerInference)}`,
      largest.lifecycleGasPerInference,
      GOALS.lifecycleGasK32,
      "the 196-byte input each request publishes in its event and calldata, and one cold storage word written three times (request, claim, settlement)",
    ],
    [
      "`fulfil`, one inference (first fulfil)",
      int(one.fulfilGasFirst),
      one.fulfilGasFirst,
      GOALS.fulfilGas,
      "the pairing check (181,000 under EIP-1108) is paid whatever the bookkeeping",
    ],
    [
      `settlement per inference at K = ${k32 ? 32 : largest.k}, real circuit and proof`,
      int(largest.settleGasPerInference),
      largest.settleGasPerInference,
      GOALS.batchGasPerInference,
      "each request still rewrites its word, emits InferenceFulfilled and settles its bond; the verification shared by K is the rest",
    ],
    [
      "request gas per inference, in a batch of requests",
      `${int(requestBatch)} (best K)`,
      requestBatch,
      GOALS.requestGasPerInference,
      "one fresh storage word per request (22,100) plus the 196-byte input in calldata and in the event",
    ],
  ];
  return [
    "### A request's life in gas, singly and in batches",
    "",
    "Every step is one transaction with a real proof, on the same market, fee-credit slots already non-zero;",
    "figures are `receipt.gasUsed` (21,000 intrinsic included) divided by the requests it handles, medians of",
    `${largestRaw.settleGas.length} rounds per K. A batch is \`requestInferences\` of K inputs (one token transfer), \`claimBatch\` of`,
    "the K requests (one bond update) and `fulfilBatch` of the K claimed requests with one batch proof (one",
    "Merkle root of their facts). The market stores one word per request: the hash of its terms with its",
    "status; the terms travel in calldata and are checked against it (docs/protocol.md).",
    "",
    "| K | circuit constraints | request / inference | claim / inference | settlement / inference | lifecycle / inference | batch verify gas | witness + proof per batch | measured |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    `| 1 | ${int(r.model.constraints)} | ${int(one.requestGas)} | ${int(one.claimGas)} | ${int(one.fulfilGas)} (first ${int(one.fulfilGasFirst)}) | ${int(one.lifecycleGasPerInferenceK1)} | ${int(c.verifyGas)} | | yes |`,
    ...batches.map((b, i) => {
      const raw = c.batches[i];
      return `| ${b.k} | ${int(raw.constraints)} | ${int(b.requestGasPerInference)} | ${int(b.claimGasPerInference)} | ${int(b.settleGasPerInference)} | ${int(b.lifecycleGasPerInference)} | ${raw.verifyGas === undefined ? "" : int(raw.verifyGas)} | ${ms(median(raw.proveMs))} | ${b.measured ? "yes" : "no (projected)"} |`;
    }),
    "",
    "#### Goals (issue 13)",
    "",
    "| goal | measured | target | status | what the rest is |",
    "|---|---:|---:|---|---|",
    ...goals.map(
      ([goal, measured, value, target, cause]) =>
        `| ${goal} | ${measured} | ≤ ${int(target)} | ${status(value, target)} | ${value <= target ? "" : cause} |`,
    ),
    "",
    `**Trend.** Settlement per inference is (verification + fixed market work) / K + the per-request settlement: ${batches
      .map((b) => `${int(b.settleGasPerInference)} at K = ${b.k}`)
      .join(
        ", ",
      )}. Request and claim per inference hardly depend on K past a few requests: they are per-request storage and calldata.`,
    "",
    "**Fold or 3K public signals.** The alternative to folding is to make every input commitment, output and",
    `binding a public signal: 3K signals. Each public signal costs the verifier about ${int(GAS_PER_PUBLIC_SIGNAL)} gas (an ecMul of 6,000, an`,
    "ecAdd of 150, 32 bytes of calldata at 16 gas, memory; an estimate from the verifier's code, not measured: no 3K-signal verifier is built). That adds",
    `${int(signalsExtra(largest.k))} gas at K = ${largest.k} (${int(signalsExtra(largest.k) / BigInt(largest.k))} per inference), against`,
    "a fold the market rebuilds for one keccak over the claimed values and 2K mulmods, a few hundred gas per request.",
    "The fold costs the circuit 4 constraints per inference.",
    "",
  ];
}

/** The Prover's worker pool with the most threads among a row's configurations. */
export function allThreadsOf(configs: ProveWorkerReport[]): ProveWorkerReport {
  return configs.filter((c) => c.mode.startsWith("pool")).reduce((best, c) => (c.threads > best.threads ? c : best));
}

/** The old path timed in the same rounds: snarkjs.groth16.fullProve in one process. */
export function fullProveOf(configs: ProveWorkerReport[]): ProveWorkerReport {
  return configs.find((c) => c.mode === "snarkjs fullProve")!;
}

function proveTable(configs: ProveWorkerReport[], cli: CliReport, constraints: number): string[] {
  const full = fullProveOf(configs);
  return [
    "| configuration | witness | proof | witness + proof | vs fullProve | vs CLI | CPU time of witness + proof | µs·core per constraint | peak RSS | first proof, fresh process (load + cold) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...configs.map(
      (cfg) =>
        `| ${describeConfig(cfg)} | ${ms(median(cfg.witnessMs))} | ${ms(median(cfg.proveMs))} | ${ms(median(totals(cfg)))} | ` +
        `${(median(totals(cfg)) / median(totals(full))).toFixed(2)} | ${(median(totals(cfg)) / median(cli.wallMs)).toFixed(2)} | ` +
        `${ms(median(cfg.cpuMs))} | ${usCore(cfg, constraints).toFixed(1)} | ${mib(cfg.maxRssKiB)} | ${ms(cfg.firstProofMs)} |`,
    ),
    `| \`snarkjs groth16 fullprove\` CLI, fresh process | | | ${ms(median(cli.wallMs))} wall | | 1.00 | | | ${cli.maxRssKiB ? mib(cli.maxRssKiB) : "n/a"} | |`,
  ];
}

const missingOr = <T extends object>(v: T | { missing: string }, show: (v: T) => string) =>
  "missing" in v ? v.missing : show(v as T);

/** Issue 7's table: one row per reference model and mode, every figure from this run. */
function renderSummary(r: BenchResult): string[] {
  const threads = allThreadsOf(r.rows[0].configs).threads;
  const rows = r.rows.map((row) => {
    const all = allThreadsOf(row.configs);
    const one = row.configs.find((c) => c.mode === "pool of 1")!;
    const warm = median(totals(all));
    const ratio = warm / median(row.cli.wallMs);
    const full = median(totals(fullProveOf(row.configs)));
    return (
      `| ${row.label} | ${int(row.constraints)} | ${ms(median(all.witnessMs))} | ${ms(median(one.proveMs))} | ` +
      `${ms(median(all.proveMs))} | ${ms(warm)} | ${mib(Math.max(...row.configs.map((c) => c.maxRssKiB)))} | ` +
      `${int(row.verifyGas)} | ${missingOr(row.fulfil, (f) => `${int(f.first)} (later ${int(f.later)})`)} | ` +
      `${missingOr(row.largestK, (k) => `${int(k.perInference)} (K = ${k.size})`)} | ` +
      `${missingOr(row.throughput, (t) => t.perMinute.toFixed(0))} | ${ratio.toFixed(2)} (${ms(median(row.cli.wallMs))}) | ` +
      `${(warm / full).toFixed(2)} (${ms(full)}) | ${missingOr(row.browser, (b) => ms(b.warmTotalMs))} |`
    );
  });
  const goal = (row: SummaryRow) => {
    const all = allThreadsOf(row.configs);
    const warm = median(totals(all));
    const status = (miss: number) => (miss === 0 ? "met" : `missed by ${miss.toFixed(0)}%`);
    return {
      fulfil: missingOr(
        row.fulfil,
        (f) => `${int(f.first)}: ${status(missPercent(Number(f.first), GOALS.fulfilGas, "at most"))}`,
      ),
      batch: missingOr(
        row.largestK,
        (k) =>
          `${int(k.perInference)} at K = ${k.size}: ${status(missPercent(Number(k.perInference), GOALS.batchGasPerInference, "at most"))}`,
      ),
      warm: `${ms(warm)}: ${status(missPercent(warm, GOALS.warmMs, "below"))}${warm >= GOALS.warmMs ? ` (${(warm / GOALS.warmMs).toFixed(1)}x)` : ""}`,
      rate: missingOr(
        row.throughput,
        (t) => `${t.perMinute.toFixed(0)}/min: ${status(missPercent(t.perMinute, GOALS.perMinute, "at least"))}`,
      ),
    };
  };
  const goals = r.rows.map(goal);
  return [
    "## Issue 7's table",
    "",
    `One row per reference model and mode, all measured in this run. Timings are medians; "all threads" is a`,
    `worker pool of ${threads} (the machine's cores). The last column is warm witness + proof (all threads) over the wall`,
    "clock of a plain `snarkjs groth16 fullprove` CLI process on the same zkey and input, timed in the same rounds",
    "(lower is better; the CLI's time in brackets), then over `snarkjs.groth16.fullProve` warm in one process (the path",
    "the Prover replaced); the browser column is the same prover bundled for the browser, in headless Chromium with web workers. Fulfil gas is `receipt.gasUsed` with 21,000 intrinsic included;",
    "verify gas is `eth_estimateGas` minus 21,000 of the check the market makes: the protocol's Groth16 library against the key the baked model registered (through a thin harness), or the committed circuit's generated verifier. The CNN is registered",
    "in a market of its own; every row's requests are proven by the validator's `fulfilRequest` (scripts/chain/validator.ts),",
    "the one proving path of scripts/prove/prove-request.ts, and settled by the same market calls. The committed row's market",
    "columns come from `runCommittedChainBench` in the same file: governance registers the shared circuit, the owner registers the model by its weights commitment, and real proofs settle requests through the market.",
    "",
    `| row | constraints | witness (warm) | proof, 1 thread | proof, ${threads} threads | witness + proof (warm, ${threads} threads) | peak RSS | verify gas | fulfil gas, K = 1 | fulfil gas per inference, largest K | settled / min, one validator | warm / CLI fullprove | warm / fullProve in one process | browser, warm witness + proof |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    ...r.buildNotes.map((n) => `- ${n}`),
    "",
    "### Goals by row",
    "",
    `| goal | ${r.rows.map((row) => row.label).join(" | ")} |`,
    `|---|${r.rows.map(() => "---").join("|")}|`,
    `| fulfil gas ≤ ${int(GOALS.fulfilGas)}, single inference (first fulfil) | ${goals.map((g) => g.fulfil).join(" | ")} |`,
    `| ≤ ${int(GOALS.batchGasPerInference)} gas per inference at K = 32 (largest K built) | ${goals.map((g) => g.batch).join(" | ")} |`,
    `| witness + proof < ${GOALS.warmMs} ms, warm, 2 cores | ${goals.map((g) => g.warm).join(" | ")} |`,
    `| ≥ ${GOALS.perMinute} settled per minute, one validator | ${goals.map((g) => g.rate).join(" | ")} |`,
    "",
  ];
}

/** Issue 14's goals for the prover: [what, measured, goal, unit]. */
export const PROVER_GOALS = {
  mlpWitnessMs: 10,
  mlpWarmMs: 150,
  cnnWarmMs: 800,
  committedWarmMs: 3_000,
  batchPerInferenceMs: 100,
  mlpColdMs: 600,
  mlpRssMiB: 200,
};

interface ProverFigure {
  /** Field name in docs/benchmarks.json. */
  key: string;
  what: string;
  measured: number | undefined;
  goal: number;
  unit: "ms" | "MiB";
  /** Why a miss happens, shown when missed. */
  cause: string;
}

function proverFigures(r: BenchResult): ProverFigure[] {
  const [mlp, cnn, committed] = r.rows;
  const warm = (row: SummaryRow) => median(totals(allThreadsOf(row.configs)));
  const mlpAll = allThreadsOf(mlp.configs);
  // The largest batch measured (its proof time per inference).
  const lb = r.chain.batches.length ? r.chain.batches[r.chain.batches.length - 1] : undefined;
  const msm =
    "the five multi-exponentiations in ffjavascript's WebAssembly (about 1 µs per point addition; H's are over the whole " +
    "2^n domain with full-size scalars) are most of the CPU time";
  return [
    {
      key: "mlpWarmWitnessMs",
      what: "MLP (baked), warm witness",
      measured: median(mlpAll.witnessMs),
      goal: PROVER_GOALS.mlpWitnessMs,
      unit: "ms",
      cause:
        "circom's witness code in WebAssembly, instantiated once; the rest is reading the witness out word by word",
    },
    {
      key: "mlpWarmTotalMs",
      what: "MLP (baked), warm witness + proof",
      measured: warm(mlp),
      goal: PROVER_GOALS.mlpWarmMs,
      unit: "ms",
      cause: msm,
    },
    {
      key: "cnnWarmTotalMs",
      what: "CNN (baked), warm witness + proof",
      measured: warm(cnn),
      goal: PROVER_GOALS.cnnWarmMs,
      unit: "ms",
      cause: msm,
    },
    {
      key: "committedWarmTotalMs",
      what: `MLP (committed, ${int(committed.constraints)} constraints), warm witness + proof`,
      measured: warm(committed),
      goal: PROVER_GOALS.committedWarmMs,
      unit: "ms",
      cause: msm,
    },
    {
      key: "batchPerInferenceMs",
      what: `batch of ${lb?.size ?? 16} MLP inferences, per inference`,
      measured: lb ? median(lb.proveMs) / lb.size : undefined,
      goal: PROVER_GOALS.batchPerInferenceMs,
      unit: "ms",
      cause: `${msm}; measured in the chain process, which shares the cores with the in-process chain`,
    },
    {
      key: "mlpColdMs",
      what: "first proof in a fresh process (cold: load + witness + proof), MLP",
      measured: mlpAll.firstProofMs,
      goal: PROVER_GOALS.mlpColdMs,
      unit: "ms",
      cause:
        "building the bn128 WebAssembly, starting the workers (each compiles it) and the first, unoptimised runs of the " +
        "witness and curve code",
    },
    {
      key: "mlpPeakRssMiB",
      what: "peak RSS while proving, MLP",
      measured: mlpAll.maxRssKiB / 1024,
      goal: PROVER_GOALS.mlpRssMiB,
      unit: "MiB",
      cause: "each worker thread is a V8 isolate with its own copy of the curve's WebAssembly memory and code",
    },
  ];
}

/** Issue 14: the prover's goals, its cost per constraint against rapidsnark, and the browser figure. */
function renderProver(r: BenchResult): string[] {
  const figures = proverFigures(r);
  const show = (f: ProverFigure) =>
    f.measured === undefined ? "n/a" : f.unit === "ms" ? ms(f.measured) : `${f.measured.toFixed(0)} MiB`;
  const status = (f: ProverFigure) => {
    if (f.measured === undefined) return "not measured in this run";
    const miss = missPercent(f.measured, f.goal, "at most");
    return miss === 0
      ? "met"
      : `missed by ${miss.toFixed(0)}% (${show({ ...f, measured: f.measured - f.goal })}): ${f.cause}`;
  };
  const browser = r.rows[0].browser;
  const mlpAll = allThreadsOf(r.rows[0].configs);
  return [
    "## Issue 14: the prover",
    "",
    "The warm Prover (scripts/prove/) instantiates circom's witness code once per model, parses the zkey once, runs the",
    "QAP and its FFTs as one WebAssembly task and the five multi-exponentiations concurrently on ffjavascript's worker",
    "pool. Its figures below are the all-threads configuration of the rows above, from this run; the browser build is",
    "the same source bundled by esbuild (`npm run build:browser-prover`).",
    "",
    "| figure | measured | goal | status |",
    "|---|---:|---:|---|",
    ...figures.map(
      (f) => `| ${f.what} | ${show(f)} | ≤ ${f.unit === "ms" ? ms(f.goal) : `${f.goal} MiB`} | ${status(f)} |`,
    ),
    "",
    "### Cost per constraint",
    "",
    `CPU time (all threads) of one warm witness + proof per constraint, against rapidsnark's native ${RAPIDSNARK_US_CORE} µs·core`,
    "on ML witnesses of this kind (issue 14's anchor; rapidsnark is not installable here):",
    "",
    "| row | constraints | Prover, µs·core | × rapidsnark | snarkjs fullProve, µs·core | × rapidsnark |",
    "|---|---:|---:|---:|---:|---:|",
    ...r.rows.map((row) => {
      const ours = usCore(allThreadsOf(row.configs), row.constraints);
      const theirs = usCore(fullProveOf(row.configs), row.constraints);
      return (
        `| ${row.label} | ${int(row.constraints)} | ${ours.toFixed(1)} | ${(ours / RAPIDSNARK_US_CORE).toFixed(1)} | ` +
        `${theirs.toFixed(1)} | ${(theirs / RAPIDSNARK_US_CORE).toFixed(1)} |`
      );
    }),
    "",
    "### Node and the browser",
    "",
    "missing" in browser
      ? `Browser figure: ${browser.missing}.`
      : `MLP (baked), warm witness + proof: ${ms(median(totals(mlpAll)))} in Node (pool of ${mlpAll.threads}), ` +
        `${ms(browser.warmTotalMs)} in headless Chromium (${browser.chromium}, ${browser.workers} web workers; its first ` +
        `proof ${ms(browser.coldMs)}).`,
    "",
  ];
}

/** docs/benchmarks.json: each row's figures, with issue 14's prover figures and the browser's. */
export function benchmarksJson(r: BenchResult): object {
  const prover = Object.fromEntries(proverFigures(r).map((f) => [f.key, f.measured ?? null]));
  return {
    command: r.command,
    date: r.machine.date,
    commit: r.machine.commit,
    machine: { cpu: r.machine.cpuModel, cores: r.machine.cores, loadStart: r.machine.loadStart, loadEnd: r.loadEnd },
    rows: r.rows.map((row) => {
      const all = allThreadsOf(row.configs);
      const full = fullProveOf(row.configs);
      return {
        label: row.label,
        circuit: row.circuit,
        constraints: row.constraints,
        warmWitnessMs: median(all.witnessMs),
        warmProveMs: median(all.proveMs),
        warmTotalMs: median(totals(all)),
        coldMs: all.firstProofMs,
        peakRssMiB: all.maxRssKiB / 1024,
        usCorePerConstraint: usCore(all, row.constraints),
        fullProveWarmTotalMs: median(totals(full)),
        cliMs: median(row.cli.wallMs),
        browserWarmTotalMs: "missing" in row.browser ? null : row.browser.warmTotalMs,
        verifyGas: Number(row.verifyGas),
        fulfilGas: "missing" in row.fulfil ? null : Number(row.fulfil.first),
        settledPerMinute: "missing" in row.throughput ? null : row.throughput.perMinute,
      };
    }),
    prover: { ...prover, goals: PROVER_GOALS, rapidsnarkUsCorePerConstraint: RAPIDSNARK_US_CORE },
  };
}

/** Details of every row after the first (the MLP baked row has its own sections above). */
function renderOtherRows(r: BenchResult): string[] {
  const base = r.rows[0];
  const baseAll = allThreadsOf(base.configs);
  const baseWarm = median(totals(baseAll));
  const out: string[] = [];
  for (const row of r.rows.slice(1)) {
    const all = allThreadsOf(row.configs);
    const one = row.configs.find((c) => c.mode === "pool of 1")!;
    const warm = median(totals(all));
    const limits: string[] = [];
    const sizeRatio = row.constraints / base.constraints;
    limits.push(
      `**Witness + proof.** ${ms(warm)} warm with ${all.threads} threads (${ms(median(all.witnessMs))} witness, ` +
        `${ms(median(all.proveMs))} proof), ${(warm / baseWarm).toFixed(1)}x the baked MLP's ${ms(baseWarm)} for ` +
        `${sizeRatio.toFixed(1)}x its constraints: a Groth16 prover does FFTs over the 2^n evaluation domain and ` +
        "multi-scalar multiplications over every wire, so its time grows with the circuit (less than in proportion " +
        `here: fixed per-proof costs weigh more in the small MLP), and the ${GOALS.warmMs} ms goal ` +
        (warm < GOALS.warmMs
          ? "is met."
          : `is missed by ${missPercent(warm, GOALS.warmMs, "below").toFixed(0)}%. ` +
            `A pool of 1 proved in ${ms(median(one.proveMs))}, a pool of ${all.threads} in ${ms(median(all.proveMs))} ` +
            `(${(median(one.proveMs) / median(all.proveMs)).toFixed(2)}x): ` +
            (median(one.proveMs) / median(all.proveMs) > 1.3
              ? "at this size the second core does help. "
              : "on this shared machine the second core bought little. ") +
            `The proof cost ${usCore(all, row.constraints).toFixed(1)} µs·core per constraint against rapidsnark's ` +
            `${RAPIDSNARK_US_CORE}: the multi-exponentiations run in ffjavascript's WebAssembly, not native code.`),
    );
    limits.push(
      `**Verify gas.** ${int(row.verifyGas)} for ${row.publicSignals} public signals, against ${int(base.verifyGas)} ` +
        `for the baked MLP's ${base.publicSignals}: the pairing check costs the same whatever the circuit, and each ` +
        "public signal adds one scalar multiplication and addition (about 7,000 gas).",
    );
    if ("missing" in row.fulfil) {
      limits.push(
        `**Fulfil gas and throughput.** ${row.fulfil.missing}. Proving alone caps one validator at ` +
          `60,000 / ${ms(warm)} = ${(60_000 / warm).toFixed(0)} settlements per minute (warm, ${all.threads} threads), ` +
          `so the ${GOALS.perMinute}/min goal ${60_000 / warm >= GOALS.perMinute ? "may be" : "cannot be"} met with one proof per request.`,
      );
    } else if (!("missing" in row.throughput)) {
      const f = row.fulfil;
      const t = row.throughput;
      limits.push(
        `**Fulfil gas.** ${int(f.first)} for the first fulfil, ${int(f.later)} later (the baked MLP: ` +
          `${"missing" in base.fulfil ? "n/a" : `${int(base.fulfil.first)} and ${int(base.fulfil.later)}`}): the same market ` +
          `path, and a verifier with the same ${row.publicSignals} public signals costs the same whatever the circuit ` +
          `(${int(row.verifyGas)} here), so the model does not change the gas. As for the MLP, only batching moves it ` +
          `below ${int(GOALS.fulfilGas)}.`,
        `**Throughput.** ${t.perMinute.toFixed(0)} settled per minute, ${t.perSettleMs.toFixed(0)} ms per settlement in ` +
          "the loop, most of it witness + proof: with one proof per request, one validator settles at most one " +
          "request per proof" +
          (t.perSettleMs < warm
            ? ` (the loop's proofs ran faster than the proving table's ${ms(warm)}: the two were measured minutes ` +
              "apart on a machine whose load changed)"
            : "") +
          ("missing" in row.largestK ? `; ${row.largestK.missing.replace(/^n\/a \((.*)\)$/, "$1")}.` : "."),
      );
    }
    out.push(
      `## ${row.label}: details`,
      "",
      `${row.circuit}: ${int(row.constraints)} constraints, zkey sha256 ${row.zkeySha256.slice(0, 16)}..., ptau ${row.ptau}; ` +
        `${row.publicSignals} public signals.`,
      "",
      "### Proving (each configuration in a fresh process)",
      "",
      ...proveTable(row.configs, row.cli, row.constraints),
      "",
      "```sh",
      "# the CLI baseline, once per round:",
      row.cliCommand,
      "```",
      "",
      "### What limits it",
      "",
      ...limits.flatMap((l) => [l, ""]),
    );
  }
  return out;
}

export function renderReport(r: BenchResult): string {
  const m = r.machine;
  const two = r.twoThreads;
  const all = r.allThreads;
  const one = r.configs.find((cfg) => cfg.mode === "pool of 1")!;
  const calling = r.configs.find((cfg) => cfg.mode === "calling thread");
  const full = fullProveOf(r.configs);
  // The benchmark itself keeps one or two cores busy, so only the load before it started shows
  // how much other work shared the machine.
  const loaded = m.loadStart > m.cores * 0.75;
  const warmTwo = median(totals(two));
  const warmAll = median(totals(all));
  const cliMs = median(r.cli.wallMs);
  const loopGas = median(r.chain.loopFulfilGas.map(Number));
  const c = r.chain;
  const loop = c.loop;
  const perSettle = loop.settled ? (loop.seconds * 1000) / loop.settled : NaN;

  const gasMiss = missPercent(Number(c.firstFulfilGas), GOALS.fulfilGas, "at most");
  const warmMiss = missPercent(warmTwo, GOALS.warmMs, "below");
  const rateMiss = missPercent(loop.perMinute, GOALS.perMinute, "at least");

  const lines: string[] = [];
  lines.push(
    "# Benchmarks",
    "",
    `Generated by \`${r.command}\` (scripts/bench/run.ts); rerun it to refresh this file. Timings are`,
    `medians of ${r.runs} rounds. In each round every proving configuration runs in a fresh process that`,
    "proves once to warm up and once measured, and the snarkjs CLI runs once, so that a change in the",
    "machine's load affects them alike. Nothing here is asserted by a test.",
    "",
    "## Machine",
    "",
    `- CPU: ${m.cpuModel}, ${m.cores} cores (\`nproc\`)`,
    `- memory: ${m.memoryGiB.toFixed(1)} GiB`,
    `- Node ${m.node} on ${m.os}`,
    `- date: ${m.date}; commit ${m.commit}`,
    `- 1-minute load average: ${m.loadStart.toFixed(2)} at the start, ${r.loadEnd.toFixed(2)} at the end. The machine`,
    "  is shared. The benchmark itself keeps one or two cores busy, so the load at the end includes it; a",
    "  load at the start near or above the core count means other work competed for the CPUs, and the",
    "  timings are then upper bounds rather than what an idle machine of this kind does.",
    "",
    ...renderSummary(r),
    ...renderProver(r),
    "## MNIST MLP, baked: details",
    "",
    `${r.model.name}, baked mode (weights are constants of the circuit): ${int(r.model.constraints)} constraints`,
    `(from circuits/build/${r.model.name}/manifest.json), source hash ${r.model.sourceHash.slice(0, 16)}...,`,
    `zkey sha256 ${r.model.zkeySha256.slice(0, 16)}..., ptau ${r.model.ptau}. The input is held-out test digit`,
    `${r.digit.index} (label ${r.digit.label}) as \`{ pixels: number[196], binding }\`.`,
    "",
    "### Proving (each configuration in a fresh process)",
    "",
    ...proveTable(r.configs, r.cli, r.model.constraints),
    "",
    "Witness, proof and their sum are wall-clock medians of the measured (second) proof of each process;",
    "CPU time is `process.cpuUsage()` over all threads of that process; the cold column is the median",
    "first witness + proof, which also builds the curve and starts the worker threads; peak RSS is the",
    "largest over the rounds.",
    "",
    "### MNIST MLP (baked) in one row",
    "",
    "| metric | value | how it is measured |",
    "|---|---:|---|",
    `| constraints | ${int(r.model.constraints)} | manifest.json \`constraints\` (snarkjs r1cs info) |`,
    `| witness time (warm) | ${ms(median(all.witnessMs))} | \`Prover.prove\`'s witness: circom's witness code instantiated once (circom_runtime), in-process, pool of ${all.threads} |`,
    `| proving time, 1 thread | ${ms(median(one.proveMs))} | warm \`Prover.prove\`, ffjavascript worker pool of 1 (\`os.cpus()\` shortened to one entry before the curve is built) |`,
    ...(calling
      ? [
          `| proving time, calling thread | ${ms(median(calling.proveMs))} | warm \`Prover.prove\` with \`--threads 0\`: the same tasks on the main thread, no workers |`,
        ]
      : []),
    `| witness + proof, old path | ${ms(median(totals(full)))} | warm \`snarkjs.groth16.fullProve\` with wasm and zkey in memory, one process, pool of ${full.threads} |`,
    `| proving time, all ${all.threads} threads | ${ms(median(all.proveMs))} | warm \`Prover.prove\`, ffjavascript worker pool of ${all.threads} |`,
    `| witness + proof, 2 threads (warm) | ${ms(warmTwo)} | median over runs of witness + proof |`,
    `| \`snarkjs groth16 fullprove\` CLI | ${ms(cliMs)} | wall clock of a fresh \`node_modules/.bin/snarkjs\` process, same zkey and input |`,
    `| ratio warm prover / CLI | ${(warmAll / cliMs).toFixed(2)} | (witness + proof, ${all.threads} threads, warm) / CLI wall clock |`,
    `| peak RSS, proving process | ${mib(all.maxRssKiB)} | \`process.resourceUsage().maxRSS\` of the ${all.threads}-thread worker process |`,
    `| verify gas | ${int(c.verifyGas)} | \`eth_estimateGas\` of the protocol's Groth16 library (through a thin harness) checking a real proof against the model's registered key, minus 21,000 intrinsic gas; includes ${int(c.verifyCalldataGas)} gas of calldata (${c.verifyCalldataBytes} bytes) |`,
    `| fulfil gas | ${int(c.firstFulfilGas)} | \`receipt.gasUsed\` of the first \`fulfil\` (fee credits go from 0 to non-zero), 21,000 intrinsic included |`,
    `| fulfil gas, later fulfils | ${int(loopGas)} | median \`receipt.gasUsed\` of the ${c.loopFulfilGas.length} fulfils in the throughput loop |`,
    `| request gas | ${int(median(c.requestGas.map(Number)))} | median \`receipt.gasUsed\` of \`requestInference\` (196-byte input inline) |`,
    `| claim gas | ${int(median(c.claimGas.map(Number)))} | median \`receipt.gasUsed\` of \`claim\` (locks the validator's bond before it proves) |`,
    `| validator throughput | ${loop.perMinute.toFixed(0)} settled/min | one staked validator, request → claim → prove → fulfil in a loop for ${loop.seconds.toFixed(1)} s: ${loop.settled} settled, ${perSettle.toFixed(0)} ms each |`,
    "",
    "Chain figures come from Hardhat's in-process EDR chain (`hre.network.create()`), with the protocol",
    "deployed by `deployProtocol`, the validator staked by `ensureStaked`, and requests handled by\n`postRequests`, `claimRequests`, `fulfilRequest` and `fulfilBatchRequests`,",
    "the same code the demo runs.",
    "",
    ...renderSettlement(r),
    "Commands:",
    "",
    "```sh",
    r.command,
    `# the CLI baseline it times, once per run:`,
    r.cliCommand,
    "```",
    "",
    "### Goals of this row (issue 7)",
    "",
    "| goal | measured | status |",
    "|---|---:|---|",
    goalRow(`fulfil gas ≤ ${int(GOALS.fulfilGas)} for a single inference`, int(c.firstFulfilGas), gasMiss),
    goalRow(
      `witness + proof < ${GOALS.warmMs} ms on 2 cores, warm prover`,
      ms(warmTwo),
      warmMiss,
      ` (${(warmTwo / GOALS.warmMs).toFixed(2)}x the goal)`,
    ),
    goalRow(
      `≥ ${GOALS.perMinute} settled MLP inferences per minute, one validator`,
      `${loop.perMinute.toFixed(0)}/min`,
      rateMiss,
    ),
    "",
  );

  const limits: string[] = [];
  if (gasMiss > 0) {
    limits.push(
      `**Fulfil gas.** ${int(c.verifyGas)} of the ${int(c.firstFulfilGas)} gas is the Groth16 verification itself ` +
        "(one pairing check over four pairs, 45,000 + 4 × 34,000 = 181,000 gas under EIP-1108, three scalar " +
        "multiplications for the public signals, and the calldata); the rest is the intrinsic 21,000, the binding hash and the market's " +
        "bookkeeping (request status, fee split credits, bond release, attestation). The pairing check alone " +
        "is 181,000 gas whatever the circuit, so only batching (one verification for K requests) moves it " +
        "substantially. " +
        `Later fulfils, whose fee-credit slots are already non-zero, still use ${int(loopGas)} gas.`,
    );
  }
  if (warmMiss > 0) {
    const share = median(two.proveMs) / warmTwo;
    limits.push(
      `**Warm witness + proof.** The proof is ${(share * 100).toFixed(0)}% of the ${ms(warmTwo)}: the Prover runs ` +
        "its multi-scalar multiplications and FFTs in ffjavascript's WebAssembly on its worker threads. With " +
        `${int(r.model.constraints)} constraints a pool of 1 proved in ${ms(median(one.proveMs))} and a pool of 2 ` +
        `in ${ms(median(two.proveMs))} (${(median(one.proveMs) / median(two.proveMs)).toFixed(2)}x). The 2-thread ` +
        `process kept ${(median(two.cpuMs) / warmTwo).toFixed(2)} cores busy on average (${ms(median(two.cpuMs))} ` +
        `of CPU in ${ms(warmTwo)} of witness + proof)` +
        (median(two.cpuMs) / warmTwo < 1.3
          ? ": most of it runs on one thread at a time, so a second core buys little at this size. "
          : ". ") +
        (median(two.cpuMs) > 1.1 * median(one.cpuMs)
          ? `It also used more CPU in all than the pool of 1 (${ms(median(two.cpuMs))} against ` +
            `${ms(median(one.cpuMs))}): splitting the work adds CPU time of its own. `
          : "") +
        (loaded
          ? `Other work was running when this run started (load average ${m.loadStart.toFixed(1)} on ${m.cores} ` +
            "cores), which can starve the second thread: the CPU column is the steadier guide. "
          : "") +
        `The witness (${ms(median(two.witnessMs))}) is circom's witness calculator in WebAssembly, instantiated once. ` +
        "A native prover (rapidsnark, not installable here) and batching several inferences into one proof " +
        "are what would close the gap.",
    );
  }
  if (rateMiss > 0) {
    const proveShare = (loop.witnessMs + loop.proveMs) / (loop.seconds * 1000);
    const loopProve = (loop.witnessMs + loop.proveMs) / Math.max(loop.settled, 1);
    limits.push(
      `**Throughput.** Each settlement took ${perSettle.toFixed(0)} ms, of which ${ms(loopProve)} ` +
        `(${(proveShare * 100).toFixed(0)}%) was witness + proof and the rest posting the request, reading its ` +
        "event, claiming it and sending the fulfilment to the in-process chain, which shares the cores and the " +
        "Node event loop with the prover. With one request per proof, proving alone caps one validator at " +
        `60,000 / ${ms(loopProve)} = ${(60_000 / loopProve).toFixed(0)} settlements per minute before any chain ` +
        `work. Reaching ${GOALS.perMinute}/min needs a whole settlement in under ${(60_000 / GOALS.perMinute).toFixed(0)} ms, ` +
        "or batching several requests into one proof and one fulfilment." +
        (Math.abs(loopProve - warmTwo) / warmTwo > 0.15
          ? ` Witness + proof in the loop (${ms(loopProve)}) differs from the proving table (${ms(warmTwo)}) by ` +
            `${((Math.abs(loopProve - warmTwo) / warmTwo) * 100).toFixed(0)}%: the two were measured minutes apart ` +
            "on a machine whose load changed, and the loop shares its process with the chain."
          : ""),
    );
  }
  if (limits.length) lines.push("### What limits the missed goals", "", ...limits.flatMap((l) => [l, ""]));
  lines.push(...renderOtherRows(r));
  return lines.join("\n").replace(/\n+$/, "\n");
}
