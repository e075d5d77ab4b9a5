/**
 * `poi inspect`: a preflight that runs before any trusted setup. For an ONNX file (quantized
 * on the default calibration digits) or a `poi compile` output directory it estimates the
 * circuit's constraints from the templates' cost formulas (costs.ts), the powers-of-tau file
 * it needs, and the memory and time a Groth16 proof takes on this machine.
 *
 * Proving estimates are scaled from measurements, not derived from first principles; `basis`
 * in the result says which, so that nobody mistakes them for guarantees.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as snarkjs from "snarkjs";
import { digitsFor, IMAGE_SIZE } from "../model/mnist.ts";
import { product } from "../model/graph.ts";
import { circuitOperator } from "../model/ops/registry.ts";
import { quantizeGraph, readQuantizedGraph, type QuantizedGraph } from "../model/quantize-graph.ts";
import { ptauPowerFor } from "../setup/ptau.ts";
import { plonkDomainPower, plonkGateCount } from "../setup/plonk-setup.ts";
import {
  COMPILE_FORMAT,
  DEFAULT_CALIBRATION_DIGITS,
  DEFAULT_INPUT_DIVISOR,
  loadGraph,
  modelNameFor,
  type CompiledModelInfo,
} from "./compile-model.ts";
import { committedArchitecture } from "../circuit/generate-mlp-committed.ts";
import { estimateCommittedConstraints, estimateConstraints, type CostItem } from "./costs.ts";

/**
 * Groth16 proofs measured with snarkjs on a 2-core AMD EPYC (the project's reference machine):
 * constraints, warm proving time with a worker pool of 2, and peak RSS of the proving process.
 * The first point is docs/benchmarks.md (mnist-mlp); the second is the mnist-cnn circuit (second
 * snarkjs groth16.prove of one process, default worker pool, zkey from dev-insecure-pot16.ptau,
 * load average above 2 from other work, so an upper bound).
 */
export const PROVING_MEASUREMENTS = [
  { circuit: "mnist-mlp", constraints: 2864, proveMs: 513, peakRssMiB: 229, cores: 2 },
  { circuit: "mnist-cnn", constraints: 24720, proveMs: 3153, peakRssMiB: 407, cores: 2 },
] as const;

export interface InspectReport {
  model: string;
  mode: "baked" | "committed";
  /** "onnx" when quantized here on the default calibration, "compiled" when read from a compile output. */
  source: "onnx" | "compiled";
  inputShape: number[];
  layers: string[];
  constraints: {
    estimated: number;
    items: CostItem[];
    /** From the compiled r1cs, when a compile output with a circuit was inspected. */
    compiled?: number;
    /** A universal-mode compile output: the PLONK gates of its r1cs (plonkGateCount). */
    plonkGates?: number;
  };
  /** Smallest power p such that 2^p >= constraints + public inputs + 1. */
  ptauPower: number;
  provingMemoryMiB: number;
  provingTimeMs: number;
  cores: number;
  basis: string[];
}

/** Linear fit through the two measurements, scaled by the core count (MSMs parallelise well). */
function provingEstimate(constraints: number, cores: number): { ms: number; mib: number } {
  const [a, b] = PROVING_MEASUREMENTS;
  const slope = (b.proveMs - a.proveMs) / (b.constraints - a.constraints);
  const ms = Math.max(a.proveMs + slope * (constraints - a.constraints), 50) * (a.cores / Math.max(cores, 1));
  const memSlope = (b.peakRssMiB - a.peakRssMiB) / (b.constraints - a.constraints);
  const mib = Math.max(a.peakRssMiB + memSlope * (constraints - a.constraints), 150);
  return { ms: Math.round(ms), mib: Math.round(mib) };
}

function describeLayers(model: QuantizedGraph): string[] {
  return model.layers.map((l) => circuitOperator(l.kind).describe(l));
}

/** Inspects an ONNX file or a `poi compile` output directory. */
export async function inspectModel(target: string): Promise<InspectReport> {
  if (!existsSync(target))
    throw new Error(`"${target}" does not exist; pass an .onnx file or a poi compile output directory`);
  let model: QuantizedGraph;
  let compiled: number | undefined;
  let plonkGates: number | undefined;
  let source: InspectReport["source"];
  let mode: "baked" | "committed" = "baked";
  let weightBits = 8;
  const basis: string[] = [];
  if (statSync(target).isDirectory()) {
    const infoFile = path.join(target, "compile.json");
    if (!existsSync(infoFile)) throw new Error(`"${target}" is not a poi compile output (no compile.json)`);
    const info = JSON.parse(readFileSync(infoFile, "utf8")) as CompiledModelInfo;
    if (info.format !== COMPILE_FORMAT)
      throw new Error(`"${infoFile}" has format "${info.format}", expected ${COMPILE_FORMAT}`);
    model = readQuantizedGraph(path.join(target, info.files.quantized));
    const r1cs = path.join(target, "build", `${info.name}.r1cs`);
    if (existsSync(r1cs)) compiled = (await snarkjs.r1cs.info(r1cs)).nConstraints;
    // A universal-mode circuit is the baked one (compiled with --O1); its PLONK gates are counted
    // from the r1cs, not estimated from the layers.
    if (existsSync(r1cs) && info.mode === "universal") plonkGates = plonkGateCount(r1cs);
    source = "compiled";
    mode = info.mode === "committed" ? "committed" : "baked";
    weightBits = info.weightBits ?? 8;
    basis.push(`quantized model read from ${path.join(path.basename(target), info.files.quantized)}`);
  } else {
    const { graph } = loadGraph(target);
    const size = product(graph.inputShape);
    const digits = digitsFor(size);
    if (!digits) {
      throw new Error(
        `"${graph.name}" takes ${size} inputs; inspect quantizes on MNIST digits of 14x14 (${IMAGE_SIZE}) or 28x28 (784) values: ` +
          "run poi compile with --calibration first and inspect its output directory",
      );
    }
    const calibration = digits.train.slice(0, DEFAULT_CALIBRATION_DIGITS).map((d) => d.pixels);
    // A model ending in Softmax, LogSoftmax or Sigmoid proves its class (as poi compile does by default).
    model = quantizeGraph(graph, calibration, {
      output: graph.finalActivation ? "class" : "both",
      inputDivisor: DEFAULT_INPUT_DIVISOR,
    });
    model.name = modelNameFor(target);
    source = "onnx";
    basis.push(
      `quantized here with 8-bit weights and activations on ${DEFAULT_CALIBRATION_DIGITS} MNIST training digits (${digits.side}x${digits.side}), ` +
        `the input read as byte / ${DEFAULT_INPUT_DIVISOR} (poi compile's default)`,
    );
  }
  const estimate =
    mode === "committed"
      ? estimateCommittedConstraints(committedArchitecture(model, weightBits))
      : estimateConstraints(model);
  const constraints = compiled ?? estimate.total;
  // Public input: binding; public outputs: inputCommitment and result (and modelCommitment when committed).
  const ptauPower = ptauPowerFor(constraints, mode === "committed" ? 4 : 3);
  const cores = os.availableParallelism();
  const proving = provingEstimate(constraints, cores);
  basis.push(
    "constraints: sum of the cost formulas of the circuits/lib templates the circuit instantiates (docs/circuits.md); " +
      "baked multiply-accumulates cost none",
    `ptau power: smallest p with 2^p >= constraints + public signals + 1`,
    `proving time and memory: linear in constraints through snarkjs Groth16 measurements on a 2-core AMD EPYC ` +
      `(${PROVING_MEASUREMENTS.map((m) => `${m.circuit}: ${m.constraints} constraints, ${m.proveMs} ms, ${m.peakRssMiB} MiB`).join("; ")}), ` +
      `time scaled by 2 / ${cores} cores here; witness generation and loading the zkey are extra`,
  );
  return {
    model: model.name,
    mode,
    source,
    inputShape: model.inputShape,
    layers: describeLayers(model),
    constraints: { estimated: estimate.total, items: estimate.items, compiled, plonkGates },
    ptauPower,
    provingMemoryMiB: proving.mib,
    provingTimeMs: proving.ms,
    cores,
    basis,
  };
}

/** Plain-text rendering for the terminal. */
export function formatInspectReport(r: InspectReport): string {
  const n = (v: number) => v.toLocaleString("en-US");
  const lines = [
    `${r.model} (${r.source === "onnx" ? "ONNX file" : "compiled model"}, ${r.mode} mode), input [${r.inputShape.join(", ")}]`,
    ...r.layers.map((l) => `  ${l}`),
    ``,
    `constraints (estimated): ${n(r.constraints.estimated)}${r.constraints.compiled !== undefined ? `; compiled r1cs: ${n(r.constraints.compiled)}` : ""}`,
    ...(r.constraints.plonkGates === undefined
      ? []
      : [
          `PLONK gates (universal mode): ${n(r.constraints.plonkGates)}, a ceremony file of 2^${plonkDomainPower(r.constraints.plonkGates)} or more`,
        ]),
    ...r.constraints.items.map(
      (i) => `  ${i.template} [${i.node}]: ${n(i.instances)} x ${n(i.constraintsEach)} = ${n(i.constraints)}`,
    ),
    `ptau power needed: ${r.ptauPower} (2^${r.ptauPower} = ${n(2 ** r.ptauPower)})`,
    `proving memory: ~${n(r.provingMemoryMiB)} MiB`,
    `proving time on this machine (${r.cores} cores): ~${n(r.provingTimeMs)} ms`,
    ``,
    `basis:`,
    ...r.basis.map((b) => `  - ${b}`),
  ];
  return lines.join("\n");
}
