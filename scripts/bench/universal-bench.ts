/**
 * Universal mode (PLONK) in the bench: the reference MLP and CNN built as `poi compile --mode
 * universal` and `poi setup --proof-system plonk` build them (buildUniversalCircuit: circom --O1,
 * PLONK on a listed ptau), proven by the validator's UniversalProver (a cold proof, then warm ones,
 * in the bench's own process after the Groth16 rounds), settled on the market by the validator's
 * own code (chain-bench.ts runUniversalChainBench), and issue 17's goals judged against the Groth16
 * figures of the same run. Writes the "## Universal mode (issue 17)" section of docs/benchmarks.md
 * and the `universal` entry of docs/benchmarks.json.
 */
import { performance } from "node:perf_hooks";
import type { BuiltUniversalCircuit } from "../pipeline.ts";
import { UniversalProver } from "../prove/universal-prover.ts";
import { plonkDomainPower } from "../setup/plonk-setup.ts";
import type { BatchLifecycleBench, UniversalChainBench } from "./chain-bench.ts";
import { median } from "./stats.ts";

/**
 * The MLP's batch circuits the bench builds in universal mode: K = 4 (about 54k PLONK gates, a 2^16
 * domain) and K = 8 (2^17): the largest domains a development ptau of this machine's kind makes
 * and proves in minutes.
 */
export const UNIVERSAL_BATCH_SIZES = [4, 8];

/** Issue 17's goals, measured here and never asserted in tests. */
export const UNIVERSAL_GOALS = {
  verifyGas: 300_000,
  /** Settlement gas per inference at the largest batch built, over Groth16's at its largest K. */
  settlementRatio: 2,
  /** Warm witness + proof of the MLP over Groth16's (the validator's prover, all threads). */
  proveRatio: 4,
};

/** Witness + proof times of one circuit's UniversalProver: the first proof after loading, then `runs` warm ones. */
export interface UniversalProveTimes {
  coldMs: number;
  witnessMs: number[];
  proveMs: number[];
}

export async function timeUniversalProver(
  built: BuiltUniversalCircuit,
  input: Record<string, unknown>,
  runs: number,
  log: (msg: string) => void,
): Promise<{ prover: UniversalProver; times: UniversalProveTimes }> {
  const t0 = performance.now();
  const prover = await UniversalProver.load(built.wasm, built.zkey);
  await prover.prove(input);
  const coldMs = performance.now() - t0;
  const witnessMs: number[] = [];
  const proveMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const p = await prover.prove(input);
    witnessMs.push(p.witnessMs);
    proveMs.push(p.proveMs);
  }
  log(
    `${built.name} (universal): cold ${(coldMs / 1000).toFixed(1)} s, warm witness + proof ` +
      `${(median(witnessMs.map((w, i) => w + proveMs[i])) / 1000).toFixed(1)} s`,
  );
  return { prover, times: { coldMs, witnessMs, proveMs } };
}

/** One universal-mode row: a reference model's circuit, its proving and its market figures. */
export interface UniversalRow {
  label: string;
  built: BuiltUniversalCircuit;
  /** R1CS constraints of the universal (O1) r1cs and of the same model's Groth16 (O2) r1cs. */
  r1csConstraints: number;
  groth16Constraints: number;
  /** PLONK gates the Groth16 (O2) r1cs would give: what O1 saves. */
  o2Gates: number;
  /** Setup time (PLONK key from the r1cs and the ptau) when it ran in this run; undefined when cached. */
  setupMs?: number;
  times: UniversalProveTimes;
  /** Groth16's warm witness + proof of the same model in the same run: the validator's prover, all threads, and snarkjs fullProve. */
  groth16WarmMs: number;
  groth16FullProveWarmMs: number;
  chain: UniversalChainBench;
}

/** Groth16's settlement figure the universal one is judged against: gas per inference at its largest K. */
export interface Groth16Settlement {
  size: number;
  perInference: bigint;
}

/** A PLONK proof as the market takes it: uint256[24] (9 points, 6 evaluations). */
const PROOF_WORDS = 24;
const int = (v: number | bigint) => v.toLocaleString("en-US");
const sec = (msv: number) => `${(msv / 1000).toFixed(msv < 10_000 ? 2 : 1)} s`;
const warmOf = (t: UniversalProveTimes) => median(t.witnessMs.map((w, i) => w + t.proveMs[i]));
const laterOf = (c: UniversalChainBench) => BigInt(Math.round(median(c.loopFulfilGas.map(Number))));
const perInferenceOf = (b: BatchLifecycleBench) => BigInt(Math.round(median(b.settleGas.map(Number)) / b.size));

/** Met, or missed with the margin: by how much a gas figure exceeds its goal, or a ratio its bound. */
function verdict(measured: number, goal: number, ratio = false): string {
  if (measured <= goal) return "met";
  return ratio
    ? `missed: ${measured.toFixed(1)}x against ${goal}x`
    : `missed by ${((measured / goal - 1) * 100).toFixed(0)}%`;
}

/** The section of docs/benchmarks.md. `rows[0]` is the MLP, which the goals name. */
export function renderUniversal(rows: UniversalRow[], groth16: Groth16Settlement, runs: number): string[] {
  const mlp = rows[0];
  const batches = mlp.chain.batches;
  const largest = batches.length ? batches[batches.length - 1] : undefined;
  const settlement = largest
    ? { size: largest.size, perInference: perInferenceOf(largest) }
    : { size: 1, perInference: laterOf(mlp.chain) };
  const settlementRatio = Number(settlement.perInference) / Number(groth16.perInference);
  // The next K, projected from the two largest measured ones: the settlement grows by a fixed
  // amount per request (its reads, writes and calldata), the verification being one per batch.
  const projected = (() => {
    if (batches.length < 2) return undefined;
    const [a, b] = batches.slice(-2) as [BatchLifecycleBench, BatchLifecycleBench];
    const gas = (x: BatchLifecycleBench) => median(x.settleGas.map(Number));
    const increment = (gas(b) - gas(a)) / (b.size - a.size);
    const size = b.size * 2;
    return {
      from: a.size,
      to: b.size,
      increment: Math.round(increment),
      size,
      perInference: BigInt(Math.round((gas(b) + increment * (size - b.size)) / size)),
      power: plonkDomainPower(b.constraints) + 1,
    };
  })();
  const proveRatio = warmOf(mlp.times) / mlp.groth16WarmMs;
  const lines = [
    "## Universal mode (issue 17)",
    "",
    "Each reference model built as `poi compile --mode universal` and `poi setup --proof-system plonk` build it:",
    "the baked circuit compiled with circom --O1 (a dot product stays one signal, where --O2 inlines it into every",
    "constraint using it: free in R1CS, a gate per term in PLONK), its PLONK key from the ptau below with no",
    "per-circuit secret. Proofs by the validator's `UniversalProver` (snarkjs's PLONK prover) in the bench's process",
    `after the Groth16 rounds: the first proof after loading is the cold time, the median of ${runs} more the warm one.`,
    "Gas as in the rows above: verify is `eth_estimateGas` minus 21,000 of the registry's `verifyUniversal` (the",
    "protocol's PLONK library on the key's data contract, what `fulfilUniversal` calls); fulfil is `receipt.gasUsed`",
    "of `fulfilUniversal` through the validator's `fulfilUniversalRequest`.",
    "",
    `Ptau files: ${rows.map((r) => `${r.label}: ${r.built.ptau.file} (ceremony ${r.built.manifest.ceremony.id}${r.built.manifest.ceremony.insecure ? ", INSECURE" : ""})`).join("; ")}. ` +
      "The MLP's single and batch circuits share one file, the one its largest batch needs (every key of a universal model " +
      "names one ceremony). Development files are taken so that the bench runs on any machine; a public ceremony file of " +
      "the same power gives the same gate counts, times and gas.",
    "",
    "| model | R1CS (O1) / Groth16's (O2) | PLONK gates (O1) / from the O2 r1cs | domain | setup | prove cold / warm | Groth16 warm: prover / fullProve | proof | verify gas | register (all its keys) | fulfil first / later |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) =>
      [
        "",
        r.label,
        `${int(r.r1csConstraints)} / ${int(r.groth16Constraints)}`,
        `${int(r.built.gates)} / ${int(r.o2Gates)} (${(r.o2Gates / r.built.gates).toFixed(1)}x fewer)`,
        `2^${plonkDomainPower(r.built.gates)}`,
        r.setupMs === undefined ? "cached" : sec(r.setupMs),
        `${sec(r.times.coldMs)} / ${sec(warmOf(r.times))}`,
        `${int(Math.round(r.groth16WarmMs))} ms / ${int(Math.round(r.groth16FullProveWarmMs))} ms (${(warmOf(r.times) / r.groth16WarmMs).toFixed(0)}x / ${(warmOf(r.times) / r.groth16FullProveWarmMs).toFixed(0)}x)`,
        `${PROOF_WORDS * 32} B`,
        int(r.chain.verifyGas),
        int(r.chain.registerGas),
        `${int(r.chain.firstFulfilGas)} / ${int(laterOf(r.chain))}`,
        "",
      ]
        .join(" | ")
        .trim(),
    ),
    "",
    ...(batches.length
      ? [
          "The MLP's universal batches (one PLONK proof of K requests settled by `fulfilBatchUniversal` through the",
          "validator's `fulfilBatchUniversalRequests`, each step one transaction, `receipt.gasUsed`):",
          "",
          "| K | PLONK gates | domain | request / inference | claim / inference | settlement / inference | witness + proof per batch |",
          "|---:|---:|---|---:|---:|---:|---:|",
          `| 1 | ${int(mlp.built.gates)} | 2^${plonkDomainPower(mlp.built.gates)} | ${int(median(mlp.chain.requestGas.map(Number)))} | ${int(median(mlp.chain.claimGas.map(Number)))} | ${int(laterOf(mlp.chain))} | ${sec(warmOf(mlp.times))} |`,
          ...batches.map(
            (b) =>
              `| ${b.size} | ${int(b.constraints)} | 2^${plonkDomainPower(b.constraints)} | ${int(Math.round(median(b.requestGas.map(Number)) / b.size))} | ${int(Math.round(median(b.claimGas.map(Number)) / b.size))} | ${int(perInferenceOf(b))} | ${sec(median(b.proveMs))} |`,
          ),
          "",
        ]
      : []),
    "### Goals (issue 17)",
    "",
    "| goal | measured | verdict |",
    "|---|---|---|",
    `| verify gas of a universal-mode proof ≤ ${int(UNIVERSAL_GOALS.verifyGas)} | ${rows.map((r) => `${r.label}: ${int(r.chain.verifyGas)}`).join("; ")} | ${verdict(Math.max(...rows.map((r) => Number(r.chain.verifyGas))), UNIVERSAL_GOALS.verifyGas)} |`,
    `| settlement per inference at the largest batch ≤ ${UNIVERSAL_GOALS.settlementRatio}x Groth16's | universal: ${int(settlement.perInference)} at K = ${settlement.size}; Groth16: ${int(groth16.perInference)} at K = ${groth16.size} (${settlementRatio.toFixed(1)}x) | ${verdict(settlementRatio, UNIVERSAL_GOALS.settlementRatio, true)} |`,
    `| warm MLP witness + proof ≤ ${UNIVERSAL_GOALS.proveRatio}x Groth16's, same machine, same run | ${sec(warmOf(mlp.times))} against ${int(Math.round(mlp.groth16WarmMs))} ms (${proveRatio.toFixed(0)}x) | ${verdict(proveRatio, UNIVERSAL_GOALS.proveRatio, true)} |`,
    "",
  ];
  const limits: string[] = [];
  if (settlementRatio > UNIVERSAL_GOALS.settlementRatio)
    limits.push(
      `- **Settlement.** A PLONK verification costs ${int(mlp.chain.verifyGas)} gas, shared by the ${settlement.size} ` +
        `inference${settlement.size > 1 ? "s" : ""} of the largest universal batch built, where Groth16's batch of ` +
        `${groth16.size} shares its own. A larger universal batch divides it further, but its domain doubles with K ` +
        `(2^${plonkDomainPower(largest?.constraints ?? mlp.built.gates)} at K = ${settlement.size}) and so do its prove time and its ceremony file.` +
        (projected
          ? ` Projected, not measured: each request adds ${int(projected.increment)} gas to a universal batch's settlement ` +
            `(K = ${projected.from} to ${projected.to}, measured above), so K = ${projected.size} would settle at about ` +
            `${int(projected.perInference)} per inference (${(Number(projected.perInference) / Number(groth16.perInference)).toFixed(1)}x Groth16's), ` +
            `within the goal, on a 2^${projected.power} domain: a ceremony file of that power, which the bench does not make.`
          : ""),
    );
  if (proveRatio > UNIVERSAL_GOALS.proveRatio)
    limits.push(
      `- **Proving.** ${int(mlp.built.gates)} PLONK gates against ${int(mlp.groth16Constraints)} R1CS constraints: every term of ` +
        "a dense layer's linear combinations is a gate in PLONK and free in R1CS, even after --O1 keeps each dot product one " +
        "signal. snarkjs's PLONK prover also does more per gate than its Groth16 prover does per constraint (eight " +
        "commitments over a 4x extended domain, against three multi-exponentiations), and the validator's Groth16 " +
        "prover is the project's faster engine (issue 14), with no PLONK counterpart.",
    );
  if (limits.length) lines.push("### What limits the missed goals", "", ...limits.flatMap((l) => [l, ""]));
  return lines;
}

/** The `universal` entry of docs/benchmarks.json. */
export function universalJson(rows: UniversalRow[], groth16: Groth16Settlement): object {
  return {
    goals: UNIVERSAL_GOALS,
    groth16Settlement: { size: groth16.size, gasPerInference: Number(groth16.perInference) },
    batches: rows[0].chain.batches.map((b) => ({
      size: b.size,
      gates: b.constraints,
      domainPower: plonkDomainPower(b.constraints),
      requestGas: b.requestGas.map(Number),
      claimGas: b.claimGas.map(Number),
      settleGas: b.settleGas.map(Number),
      settleGasPerInference: Number(perInferenceOf(b)),
      proveMs: b.proveMs,
    })),
    rows: rows.map((r) => ({
      label: r.label,
      circuit: r.built.name,
      proofSystem: "plonk",
      simplification: "O1",
      ceremony: r.built.manifest.ceremony,
      ptau: r.built.ptau,
      r1csConstraints: r.r1csConstraints,
      groth16Constraints: r.groth16Constraints,
      gates: r.built.gates,
      gatesFromGroth16R1cs: r.o2Gates,
      domainPower: plonkDomainPower(r.built.gates),
      setupMs: r.setupMs ?? null,
      coldMs: r.times.coldMs,
      warmWitnessMs: median(r.times.witnessMs),
      warmProveMs: median(r.times.proveMs),
      warmTotalMs: warmOf(r.times),
      groth16WarmTotalMs: r.groth16WarmMs,
      groth16FullProveWarmTotalMs: r.groth16FullProveWarmMs,
      verifyGas: Number(r.chain.verifyGas),
      verifyCalldataBytes: r.chain.verifyCalldataBytes,
      registerGas: Number(r.chain.registerGas),
      firstFulfilGas: Number(r.chain.firstFulfilGas),
      laterFulfilGas: Number(laterOf(r.chain)),
      settled: r.chain.loop.settled,
    })),
  };
}
