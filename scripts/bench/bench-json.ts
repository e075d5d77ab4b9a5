/**
 * docs/benchmarks.json: the figures of docs/benchmarks.md in machine-readable form, from the same
 * run. One row per reference model and mode; gas of each step of a request's life, singly and per
 * batch size K; every figure here was measured in the run (`"measured": true`), and one that is
 * projected instead would say `"measured": false`.
 */
import type { BatchLifecycleBench, SingleChainBench } from "./chain-bench.ts";
import type { Machine } from "./machine.ts";
import type { SummaryRow } from "./report.ts";
import { median } from "./stats.ts";

export interface JsonBatch {
  k: number;
  settleGasPerInference: number;
  requestGasPerInference: number;
  claimGasPerInference: number;
  lifecycleGasPerInference: number;
  measured: boolean;
}

export interface JsonRow {
  id: "mlp-baked" | "cnn-baked" | "mlp-committed";
  constraints: number;
  warmWitnessMs: number;
  warmProveMs: number;
  warmTotalMs: number;
  cliFullproveMs: number;
  peakRssMiB: number;
  verifyGas: number;
  requestGas: number;
  claimGas: number;
  fulfilGas: number;
  fulfilGasFirst: number;
  batches: JsonBatch[];
  lifecycleGasPerInferenceK1: number;
  settledPerMinute: number;
}

export interface BenchJson {
  commit: string;
  date: string;
  machine: { cpus: number; load1Start: number; load1End: number };
  rows: JsonRow[];
}

export interface JsonRowInput {
  id: JsonRow["id"];
  summary: SummaryRow;
  chain: SingleChainBench & { batches?: BatchLifecycleBench[] };
}

/** Median of gas figures, as a number. */
const gas = (values: bigint[]) => Math.round(median(values.map(Number)));

/** Gas per inference of each batch size's median transactions. */
export function batchFigures(b: BatchLifecycleBench): JsonBatch {
  const per = (values: bigint[]) => Math.round(gas(values) / b.size);
  const request = per(b.requestGas);
  const claim = per(b.claimGas);
  const settle = per(b.settleGas);
  return {
    k: b.size,
    settleGasPerInference: settle,
    requestGasPerInference: request,
    claimGasPerInference: claim,
    lifecycleGasPerInference: request + claim + settle,
    measured: true,
  };
}

/** Single-inference figures: medians of the throughput loop's requests, claims and fulfils. */
export function singleFigures(c: SingleChainBench) {
  const requestGas = gas(c.requestGas);
  const claimGas = gas(c.claimGas);
  const fulfilGas = c.loopFulfilGas.length ? gas(c.loopFulfilGas) : Number(c.firstFulfilGas);
  return {
    requestGas,
    claimGas,
    fulfilGas,
    fulfilGasFirst: Number(c.firstFulfilGas),
    lifecycleGasPerInferenceK1: requestGas + claimGas + fulfilGas,
  };
}

function row(r: JsonRowInput): JsonRow {
  const pool = r.summary.configs
    .filter((c) => c.mode.startsWith("pool"))
    .reduce((best, c) => (c.threads > best.threads ? c : best));
  const witness = median(pool.witnessMs);
  const prove = median(pool.proveMs);
  const rss = Math.max(...r.summary.configs.map((c) => c.maxRssKiB), r.summary.cli.maxRssKiB ?? 0);
  return {
    id: r.id,
    constraints: r.summary.constraints,
    warmWitnessMs: Math.round(witness),
    warmProveMs: Math.round(prove),
    warmTotalMs: Math.round(median(pool.witnessMs.map((w, i) => w + pool.proveMs[i]))),
    cliFullproveMs: Math.round(median(r.summary.cli.wallMs)),
    peakRssMiB: Math.round(rss / 1024),
    verifyGas: Number(r.summary.verifyGas),
    ...singleFigures(r.chain),
    batches: (r.chain.batches ?? []).map(batchFigures),
    settledPerMinute: Math.round(r.chain.loop.perMinute),
  };
}

export function benchJson(o: { machine: Machine; loadEnd: number; rows: JsonRowInput[] }): BenchJson {
  return {
    commit: o.machine.commit,
    date: o.machine.date,
    machine: {
      cpus: o.machine.cores,
      load1Start: Number(o.machine.loadStart.toFixed(2)),
      load1End: Number(o.loadEnd.toFixed(2)),
    },
    rows: o.rows.map(row),
  };
}
