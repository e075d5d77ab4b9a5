/**
 * `poi compile`: ONNX file in, quantized model, circuit main and fidelity report out.
 *
 *   import (onnx-import.ts) -> calibrate and quantize (quantize-graph.ts) -> generate the circom
 *   main (generate-graph.ts) -> fidelity against onnxruntime (fidelity.ts) -> compile the
 *   circuit with circom and check its witnesses against the integer reference
 *
 * Everything is written into a temporary directory next to the output directory and renamed
 * into place only when every step succeeded, so an error leaves nothing behind.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as snarkjs from "snarkjs";
import { compileCircuit, type Simplification } from "../circuit/compile.ts";
import { plonkDomainPower, plonkGateCount } from "../setup/plonk-setup.ts";
import { batchChallenge, batchFold } from "../circuit/batch-fold.ts";
import { generateGraphCircuit } from "../circuit/generate-graph.ts";
import {
  committedArchitecture,
  committedWeightsInput,
  type CommittedArchitecture,
  denseLayers,
  generateMlpCommittedCircuit,
  modelCommitment,
} from "../circuit/generate-mlp-committed.ts";
import { inferQuantizedGraph, packGraphOutput } from "../model/graph-inference.ts";
import { product, type FloatGraph } from "../model/graph.ts";
import { digitsFor, IMAGE_SIDE, IMAGE_SIZE } from "../model/mnist.ts";
import { onnxToGraph } from "../model/onnx-import.ts";
import { OUTPUT_MODES, quantizeGraph, type OutputMode, type QuantizedGraph } from "../model/quantize-graph.ts";
import { estimateCommittedConstraints, estimateConstraints } from "./costs.ts";
import { fidelityMarkdown, measureFidelity, type FidelityReport, type LabelledInput } from "./fidelity.ts";

export const COMPILE_FORMAT = "poi-compiled-model/1";
/** Training digits used for calibration when no --calibration file is given. */
export const DEFAULT_CALIBRATION_DIGITS = 1000;
/** universal: the baked circuit (weights as constants), set up with PLONK on a public ceremony alone. */
export const MODES = ["baked", "committed", "universal"] as const;

/** The largest K of `poi compile --batch K`: beyond it the circuit outgrows every development ptau. */
export const MAX_BATCH = 64;
/** The declared input mapping when none is given: the model reads input byte p as p / 255. */
export const DEFAULT_INPUT_DIVISOR = 255;

export interface CompileOptions {
  onnxPath: string;
  /** Output directory (default build/compiled/<name>). */
  outDir?: string;
  /** JSON file of calibration inputs (pixel bytes). */
  calibrationPath?: string;
  /** JSON file of held-out inputs (and labels) for the fidelity report, in the calibration file's format. */
  evalPath?: string;
  mode?: string;
  output?: string;
  weightBits?: number;
  activationBits?: number;
  /** The model reads input byte p as p / inputDivisor (default 255), recorded in the quantized model. */
  inputDivisor?: number;
  /**
   * K inferences per proof (K >= 2): the model's batch circuit (public fold, challenge and batch
   * binding), named `<name>-batch<K>`, whose key a model registers next to its single one. Baked and
   * universal mode.
   */
  batch?: number;
  /** Compile the circuit with circom and compare witnesses (default true). */
  circuit?: boolean;
  /** Held-out inputs whose witness is compared with the integer reference (default 100). */
  witnessChecks?: number;
  /** The command line, for the generated file's header. */
  command?: string;
  log?: (message: string) => void;
}

/** compile.json: what was compiled, from what, and how. */
export interface CompiledModelInfo {
  format: typeof COMPILE_FORMAT;
  name: string;
  source: string;
  onnxSha256: string;
  mode: (typeof MODES)[number];
  output: OutputMode;
  inputShape: number[];
  files: {
    quantized: string;
    circom: string;
    fidelityJson: string;
    fidelityMarkdown: string;
    /** Committed mode: the private weight inputs of the circuit (w<l>[o][i], b<l>[o]). */
    weights?: string;
  };
  /** Committed mode: public signal 0, the Poseidon commitment the registry stores (decimal). */
  modelCommitment?: string;
  weightBits: number;
  activationBits: number;
  estimatedConstraints: number;
  /** From the compiled r1cs, when the circuit was compiled. */
  constraints?: number;
  /**
   * circom's simplification of the compiled r1cs: O2 for Groth16 (baked, committed), O1 for
   * universal mode, whose PLONK gates count every term of a linear combination (compile.ts).
   */
  simplification?: Simplification;
  /** Universal mode: the PLONK gates of the compiled r1cs, which fix the ceremony file's power. */
  plonkGates?: number;
  /** A batch circuit: its K inferences per proof. */
  batch?: number;
  publicSignals: string[];
}

export interface CompileResult {
  outDir: string;
  info: CompiledModelInfo;
  quantized: QuantizedGraph;
  fidelity: FidelityReport;
}

/** "mnist-cnn" -> "MnistCnn". */
export function templateNameFor(name: string): string {
  const pascal = name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");
  return /^[A-Za-z]/.test(pascal) ? pascal : `Model${pascal}`;
}

/** The file name without .onnx, in kebab-case, as the name of every artifact. */
export function modelNameFor(onnxPath: string): string {
  const base = path.basename(onnxPath).replace(/\.onnx$/i, "");
  const kebab = base
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .toLowerCase();
  return kebab || "model";
}

/**
 * Reads a calibration file: a JSON array of inputs, or { "inputs": [...], "labels"?: [...] };
 * each input is an array of pixel bytes (0..255) in the model's flat input order.
 */
export function readCalibrationFile(file: string, role: "calibration" | "held-out" = "calibration"): LabelledInput[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read ${role} file "${file}": ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${role} file "${file}" is not JSON: ${(err as Error).message}`);
  }
  const obj = data as { inputs?: unknown; labels?: unknown };
  const inputs = Array.isArray(data) ? data : obj?.inputs;
  const labels = Array.isArray(data) ? undefined : obj?.labels;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new Error(
      `${role} file "${file}" must hold a non-empty JSON array of inputs (arrays of pixel bytes), ` +
        `or { "inputs": [...], "labels": [...] }`,
    );
  }
  if (labels !== undefined && (!Array.isArray(labels) || labels.length !== inputs.length)) {
    throw new Error(`${role} file "${file}": "labels" must be an array with one label per input`);
  }
  return inputs.map((input, n) => {
    if (!Array.isArray(input) || input.some((v) => typeof v !== "number")) {
      throw new Error(`${role} file "${file}": input ${n} is not an array of numbers`);
    }
    const label = labels ? (labels as unknown[])[n] : undefined;
    if (label !== undefined && !Number.isInteger(label)) {
      throw new Error(`${role} file "${file}": label ${n} is not an integer`);
    }
    return { pixels: input as number[], label: label as number | undefined };
  });
}

function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Reads and imports the ONNX file; the error names the path if it cannot be read. */
export function loadGraph(onnxPath: string): { bytes: Uint8Array; graph: FloatGraph } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(onnxPath);
  } catch (err) {
    throw new Error(`cannot read ONNX model "${onnxPath}": ${(err as Error).message}`);
  }
  return { bytes, graph: onnxToGraph(bytes, path.basename(onnxPath)) };
}

/** A generated circuit main and what its manifest records besides the artifacts. */
export interface ModelCircuit {
  circom: string;
  /** The public signals, in order. */
  publicSignals: string[];
  /** Estimated constraints (costs.ts), for single-inference circuits. */
  estimate: number;
  /** Committed mode: the architecture the circuit fixes and the model's weights commitment. */
  committed?: { architecture: CommittedArchitecture; commitment: bigint };
}

/**
 * The compiler core shared by `poi compile` and the reference build (pipeline.ts): the circom
 * main of a quantized graph in baked mode (optionally a batch of K inferences) or committed mode.
 * @throws naming `file` for a model the mode cannot compile
 */
export function modelCircuit(
  quantized: QuantizedGraph,
  o: {
    mode: "baked" | "committed";
    batch?: number;
    templateName: string;
    command: string;
    source: string;
    weightBits?: number;
    file?: string;
  },
): ModelCircuit {
  if (o.mode === "baked") {
    const single = estimateConstraints(quantized).total;
    return {
      circom: generateGraphCircuit(quantized, {
        templateName: o.templateName,
        command: o.command,
        source: o.source,
        batch: o.batch,
      }),
      publicSignals: o.batch ? ["fold", "challenge", "batchBinding"] : ["inputCommitment", "output", "binding"],
      // A batch: K inferences without their own binding, 2K - 1 powers, 2K terms and one binding.
      estimate: o.batch ? o.batch * (single - 1) + 4 * o.batch : single,
    };
  }
  if (o.batch) throw new Error(`"${o.file ?? quantized.name}": committed mode has no batch circuit yet`);
  if (quantized.output !== "both")
    throw new Error("--mode committed outputs the class and the logits: use --output both");
  denseLayers(quantized, o.file ?? quantized.name);
  const architecture = committedArchitecture(quantized, o.weightBits ?? 8);
  return {
    circom: generateMlpCommittedCircuit(architecture, o.templateName, o.command),
    publicSignals: ["modelCommitment", "inputCommitment", "output", "binding"],
    estimate: estimateCommittedConstraints(architecture).total,
    committed: { architecture, commitment: modelCommitment(quantized, architecture) },
  };
}

/** Compiles the model; throws (having written nothing) on any problem. */
export async function compileModel(o: CompileOptions): Promise<CompileResult> {
  const log = o.log ?? (() => {});
  const mode = o.mode ?? "baked";
  if (!(MODES as readonly string[]).includes(mode))
    throw new Error(`unknown --mode "${mode}"; expected baked, committed or universal`);
  if (o.output !== undefined && !OUTPUT_MODES.includes(o.output as OutputMode)) {
    throw new Error(`unknown --output "${o.output}"; expected one of ${OUTPUT_MODES.join(", ")}`);
  }
  const weightBits = o.weightBits ?? 8;
  const activationBits = o.activationBits ?? 8;
  if (o.batch !== undefined && !(Number.isInteger(o.batch) && o.batch >= 2 && o.batch <= MAX_BATCH))
    throw new Error(`--batch takes a whole number of inferences from 2 to ${MAX_BATCH}, got ${o.batch}`);
  if (o.batch !== undefined && mode === "committed")
    throw new Error("--batch: committed mode has no batch circuit; use baked or universal mode");
  const modelName = modelNameFor(o.onnxPath);
  // A batch circuit's files carry its size; its quantized model is the model's own.
  const name = modelName + (o.batch ? `-batch${o.batch}` : "");
  const outDir = path.resolve(o.outDir ?? path.join("build", "compiled", name));

  const { bytes, graph } = loadGraph(o.onnxPath);
  // A model ending in Softmax, LogSoftmax or Sigmoid proves its class by default (see quantizeGraph).
  const output = (o.output ?? (graph.finalActivation ? "class" : "both")) as OutputMode;
  const onnxSha256 = sha256(bytes);
  const inputSize = product(graph.inputShape);
  // An MNIST-shaped input (14x14 or 28x28, with or without a channel axis) has default digits.
  const mnist = digitsFor(inputSize);
  if (!mnist && !o.calibrationPath) {
    throw new Error(
      `"${graph.name}" takes ${inputSize} inputs (shape [${graph.inputShape.join(", ")}]); the default calibration ` +
        `and held-out sets are MNIST digits of 14x14 (${IMAGE_SIZE}) or 28x28 (784) values: ` +
        `pass --calibration <file> (and --eval <file>) with inputs of ${inputSize} values`,
    );
  }
  const fileText = (file: string, n: number) =>
    `${n} inputs from ${path.basename(file)} (sha256 ${sha256(readFileSync(file)).slice(0, 16)}...)`;
  const calibration = o.calibrationPath
    ? readCalibrationFile(o.calibrationPath)
    : mnist!.train.slice(0, DEFAULT_CALIBRATION_DIGITS);
  const calibrationText = o.calibrationPath
    ? fileText(o.calibrationPath, calibration.length)
    : `the first ${DEFAULT_CALIBRATION_DIGITS} training digits of the fixed MNIST split` +
      `${mnist!.side === IMAGE_SIDE ? "" : ` at ${mnist!.side}x${mnist!.side}`} (scripts/model/mnist.ts)`;
  const heldOut = o.evalPath ? readCalibrationFile(o.evalPath, "held-out") : undefined;
  heldOut?.forEach((x, n) => {
    if (x.pixels.length !== inputSize)
      throw new Error(
        `held-out file "${o.evalPath}": input ${n} has ${x.pixels.length} values; the model takes ${inputSize} (shape [${graph.inputShape.join(", ")}])`,
      );
  });
  log(`imported ${o.onnxPath}: ${graph.layers.map((l) => l.kind).join(" -> ")}`);

  const quantized = quantizeGraph(
    graph,
    calibration.map((c) => c.pixels),
    { weightBits, activationBits, output, inputDivisor: o.inputDivisor ?? DEFAULT_INPUT_DIVISOR },
  );
  log(`input mapping: float input = byte / ${o.inputDivisor ?? DEFAULT_INPUT_DIVISOR}`);
  // Messages above name the file; the artifacts carry the kebab-case model name.
  quantized.name = modelName;
  const command = o.command ?? `poi compile ${path.basename(o.onnxPath)}`;
  const source = `${path.basename(o.onnxPath)} (sha256 ${onnxSha256.slice(0, 16)}...), calibrated on ${calibrationText}`;
  const generated = modelCircuit(quantized, {
    // A universal-mode circuit is the baked one: only its setup and proof system differ.
    mode: mode === "committed" ? "committed" : "baked",
    batch: o.batch,
    templateName: templateNameFor(name),
    command,
    source,
    weightBits,
    file: path.basename(o.onnxPath),
  });
  const { circom, estimate } = generated;
  const committed = generated.committed;
  const weightsInput = committed ? committedWeightsInput(quantized) : {};
  /** The circuit's input and public signals for inputs (one, or a batch's K), in the signals' order. */
  const expectedSignals = (inputs: number[][]): { input: Record<string, unknown>; expected: bigint[] } => {
    const references = inputs.map((p) => inferQuantizedGraph(quantized, p));
    if (o.batch) {
      // Any batch binding works off-chain; the challenge is the one the market derives from it.
      const commitments = references.map((r) => r.inputCommitment);
      const outputs = references.map((r) => r.output);
      const challenge = batchChallenge(1n, commitments, outputs);
      return {
        input: { pixels: inputs, challenge, batchBinding: 1 },
        expected: [batchFold(challenge, commitments, outputs), challenge, 1n],
      };
    }
    return {
      input: { pixels: inputs[0], ...weightsInput, binding: 1 },
      expected: [...expectedOutputs(references[0]!), 1n],
    };
  };
  /** The circuit's public outputs for an input's reference, in order. */
  const expectedOutputs = (r: ReturnType<typeof inferQuantizedGraph>): bigint[] => {
    if (!committed) return [r.inputCommitment, r.output];
    // The architecture's logit width bounds every model of it, so the packing uses it.
    const { logitBits, classBits } = committed.architecture;
    const packing = { output: "both" as const, logitBits, classBits };
    return [committed.commitment, r.inputCommitment, packGraphOutput(packing, r.predicted, r.logits)];
  };

  const evalInputs: LabelledInput[] = heldOut ?? mnist?.test ?? calibration;
  const fidelity = await measureFidelity({
    model: quantized,
    onnx: bytes,
    onnxSha256,
    onnxInputShape: graph.onnxInputShape,
    inputs: evalInputs,
    evaluatedOn: heldOut
      ? `the held-out set of ${fileText(o.evalPath!, heldOut.length)}`
      : mnist
        ? `${evalInputs.length.toLocaleString("en-US")} held-out MNIST digits (${mnist.side}x${mnist.side}, the last 100 of each class)`
        : `the ${evalInputs.length} calibration inputs (no held-out set: pass --eval <file>)`,
    calibration: calibrationText,
    weightBits,
    activationBits,
  });
  log(
    `fidelity: top-1 agreement ${(fidelity.top1Agreement * 100).toFixed(1)}%, ` +
      `largest logit error ${fidelity.largestLogitError.value}`,
  );

  // Build everything in a sibling temporary directory; rename it into place at the very end.
  mkdirSync(path.dirname(outDir), { recursive: true });
  const tmp = `${outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const files: CompiledModelInfo["files"] = {
      quantized: `${name}.quantized.json`,
      circom: `${name}.circom`,
      fidelityJson: `${name}.fidelity.json`,
      fidelityMarkdown: `${name}.fidelity.md`,
    };
    writeFileSync(path.join(tmp, files.circom), circom);
    if (committed) {
      files.weights = `${name}.weights.json`;
      writeFileSync(path.join(tmp, files.weights), `${JSON.stringify(weightsInput)}\n`);
    }
    const info: CompiledModelInfo = {
      format: COMPILE_FORMAT,
      name,
      source: path.basename(o.onnxPath),
      onnxSha256,
      mode: mode as CompiledModelInfo["mode"],
      output,
      inputShape: graph.inputShape,
      files,
      weightBits,
      activationBits,
      estimatedConstraints: estimate,
      publicSignals: generated.publicSignals,
    };
    if (committed) info.modelCommitment = committed.commitment.toString();

    if (o.batch) info.batch = o.batch;
    if (o.circuit ?? true) {
      info.simplification = mode === "universal" ? "O1" : "O2";
      const compiled = await compileCircuit(path.join(tmp, files.circom), path.join(tmp, "build"), [], {
        simplification: info.simplification,
      });
      const r1cs = await snarkjs.r1cs.info(compiled.r1cs);
      info.constraints = r1cs.nConstraints;
      if (mode === "universal") info.plonkGates = plonkGateCount(compiled.r1cs);
      // A batch circuit's check takes K consecutive held-out inputs at a time.
      const k = o.batch ?? 1;
      const checks = Math.min(o.witnessChecks ?? 100, Math.floor(evalInputs.length / k));
      let equal = 0;
      for (let n = 0; n < checks; n++) {
        const inputs = evalInputs.slice(n * k, n * k + k).map((x) => Array.from(x.pixels));
        const { input, expected } = expectedSignals(inputs);
        const wtns: { type: "mem"; data?: Uint8Array } = { type: "mem" };
        await snarkjs.wtns.calculate(input, compiled.wasm, wtns);
        const w = await snarkjs.wtns.exportJson(wtns);
        // The public signals: the outputs, then the public inputs (the binding; a batch's challenge too).
        const got = w.slice(1, 1 + expected.length);
        if (got.some((v, i) => v !== expected[i])) {
          throw new Error(
            `the circuit's witness differs from the integer reference on ${k > 1 ? `inputs ${n * k}-${n * k + k - 1}` : `input ${n}`} ` +
              `(public signals ${got.join(", ")} vs ${expected.join(", ")}); this is a compiler bug, please report it`,
          );
        }
        equal++;
      }
      fidelity.circuit = {
        constraints: r1cs.nConstraints,
        estimatedConstraints: estimate,
        witnessesChecked: checks,
        witnessesEqualToReference: equal,
      };
      log(`circuit: ${r1cs.nConstraints} constraints; ${equal} witnesses equal the integer reference`);
      if (info.plonkGates !== undefined)
        log(
          `universal mode: ${info.plonkGates} PLONK gates, a ceremony file of 2^${plonkDomainPower(info.plonkGates)} or more`,
        );
    }

    writeFileSync(path.join(tmp, files.quantized), `${JSON.stringify(quantized)}\n`);
    writeFileSync(path.join(tmp, files.fidelityJson), `${JSON.stringify(fidelity, null, 2)}\n`);
    writeFileSync(path.join(tmp, files.fidelityMarkdown), fidelityMarkdown(fidelity));
    writeFileSync(path.join(tmp, "compile.json"), `${JSON.stringify(info, null, 2)}\n`);

    // Replace a previous compile of the same directory only once the new one is complete.
    if (existsSync(outDir)) {
      if (!existsSync(path.join(outDir, "compile.json"))) {
        throw new Error(`output directory "${outDir}" exists and is not a poi compile output; choose another --out`);
      }
      const old = `${outDir}.old-${process.pid}`;
      renameSync(outDir, old);
      renameSync(tmp, outDir);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, outDir);
    }
    return { outDir, info, quantized, fidelity };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
