/**
 * From a reference model's ONNX file to proving artifacts: import, quantize (calibrated on
 * real MNIST digits), generate the circom main, compile, trusted setup, Solidity verifier,
 * manifest. Each step's output is cached within a build: a rerun with the same sources and
 * ptau reuses the artifacts after checking their hashes.
 *
 *   npm run build:circuit [-- --ptau <file>]
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { compileCircuit, CIRCUITS_LIB, ROOT } from "./circuit/compile.ts";
import { generateMlpCircuit } from "./circuit/generate-mlp.ts";
import { loadMnist } from "./model/mnist.ts";
import { onnxToMlp } from "./model/onnx-io.ts";
import { quantizeMlp, type QuantizedMlp } from "./model/quantize.ts";
import { groth16Setup } from "./setup/groth16-setup.ts";
import {
  artifactEntry,
  readManifest,
  verifyArtifacts,
  writeManifest,
  type Manifest,
  MANIFEST_FORMAT,
} from "./setup/manifest.ts";
import { ptauPowerFor, resolvePtau } from "./setup/ptau.ts";
import * as snarkjs from "snarkjs";

export interface ReferenceModel {
  name: string;
  onnx: string;
  template: string;
  verifierContract: string;
  /** K inferences per proof (a batch circuit), absent for single inferences. */
  batch?: number;
}

export const REFERENCE_MODELS: Record<string, ReferenceModel> = {
  "mnist-mlp": {
    name: "mnist-mlp",
    onnx: "models/mnist-mlp.onnx",
    template: "MnistMlp",
    verifierContract: "MnistMlpVerifier",
  },
  // Four inferences of the same model per proof, settled by the market's fulfilBatch.
  "mnist-mlp-batch4": {
    name: "mnist-mlp-batch4",
    onnx: "models/mnist-mlp.onnx",
    template: "BatchMnistMlp",
    verifierContract: "MnistMlpBatch4Verifier",
    batch: 4,
  },
};

/** Public signals of a circuit, in order. */
export function publicSignalNames(model: ReferenceModel): string[] {
  return model.batch ? ["fold", "challenge", "batchBinding"] : ["inputCommitment", "output", "binding"];
}

/** Number of training digits used to calibrate activation scales. */
export const CALIBRATION_DIGITS = 1000;

export const paths = (name: string) => ({
  circom: path.join(ROOT, "circuits", "generated", `${name}.circom`),
  quantized: path.join(ROOT, "circuits", "generated", `${name}.quantized.json`),
  buildDir: path.join(ROOT, "circuits", "build", name),
  manifest: path.join(ROOT, "circuits", "build", name, "manifest.json"),
});

export function verifierPath(model: ReferenceModel): string {
  return path.join(ROOT, "contracts", "verifiers", `${model.verifierContract}.sol`);
}

/** Quantizes the reference model and generates its circuit source (deterministic). */
export function generateModel(model: ReferenceModel): {
  quantized: QuantizedMlp;
  circom: string;
  quantizedJson: string;
} {
  const onnxFile = path.join(ROOT, model.onnx);
  if (!existsSync(onnxFile)) throw new Error(`${model.onnx} does not exist; train it with npm run train`);
  const floatModel = onnxToMlp(readFileSync(onnxFile), model.name);
  const calibration = loadMnist()
    .train.slice(0, CALIBRATION_DIGITS)
    .map((d) => d.pixels);
  const quantized = quantizeMlp(floatModel, calibration);
  const onnxSha = createHash("sha256").update(readFileSync(onnxFile)).digest("hex");
  const circom = generateMlpCircuit(quantized, {
    templateName: model.template,
    command: "npm run build:circuit",
    source: `${model.onnx} (sha256 ${onnxSha.slice(0, 16)}...), calibrated on ${CALIBRATION_DIGITS} training digits`,
    batch: model.batch,
  });
  return { quantized, circom, quantizedJson: JSON.stringify(quantized) + "\n" };
}

function sourceHash(circomSource: string): string {
  const h = createHash("sha256").update(circomSource);
  for (const f of readdirSync(CIRCUITS_LIB).sort()) h.update(f).update(readFileSync(path.join(CIRCUITS_LIB, f)));
  return h.digest("hex");
}

export interface BuildOptions {
  ptauPath?: string;
  contributors?: string[];
  log?: (msg: string) => void;
  onStage?: (stage: string, ms: number, detail: string) => void;
}

export interface BuiltModel {
  model: ReferenceModel;
  quantized: QuantizedMlp;
  manifestFile: string;
  manifest: Manifest;
  cached: boolean;
}

/** Builds (or reuses) every artifact of one reference model. */
export async function buildModel(model: ReferenceModel, options: BuildOptions = {}): Promise<BuiltModel> {
  const p = paths(model.name);
  const stage = options.onStage ?? (() => {});
  let t = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = now - t;
    t = now;
    return ms;
  };

  const { quantized, circom, quantizedJson } = generateModel(model);
  mkdirSync(path.dirname(p.circom), { recursive: true });
  for (const [file, content] of [
    [p.circom, circom],
    [p.quantized, quantizedJson],
  ]) {
    if (existsSync(file) && readFileSync(file, "utf8") === content) continue;
    // In CI a committed generated file must already match its sources.
    if (process.env.CI && existsSync(file)) {
      throw new Error(
        `${path.relative(ROOT, file)} is out of date with its sources: run npm run build:circuit and commit it`,
      );
    }
    writeFileSync(file, content);
  }
  stage("quantize + generate circuit", lap(), `${model.onnx} -> circuits/generated/${model.name}.circom`);

  const hash = sourceHash(circom);
  const verifier = verifierPath(model);
  if (existsSync(p.manifest)) {
    const old = readManifest(p.manifest);
    const samePtau = !options.ptauPath || old.ptau.file === path.basename(options.ptauPath);
    if (old.sourceHash === hash && samePtau && existsSync(verifier)) {
      try {
        await verifyArtifacts(p.manifest, old, ["r1cs", "wasm", "zkey", "vkey", "verifier", "transcript"]);
        stage("compile + trusted setup (cached)", lap(), `${old.constraints} constraints, artifacts match manifest`);
        return { model, quantized, manifestFile: p.manifest, manifest: old, cached: true };
      } catch (err) {
        options.log?.(`cached artifacts rejected (${(err as Error).message}); rebuilding`);
      }
    }
  }

  const compiled = await compileCircuit(p.circom, p.buildDir);
  const info = await snarkjs.r1cs.info(compiled.r1cs);
  stage("compile (circom --O2 --inspect)", lap(), `${info.nConstraints} constraints`);

  const ptau = await resolvePtau({
    minPower: ptauPowerFor(info.nConstraints, info.nPubInputs + info.nOutputs),
    explicitPath: options.ptauPath,
    searchDirs: [path.join(ROOT, "..", "shared", "ptau")],
    generatedDir: path.join(ROOT, "circuits", "build", "ptau"),
    log: options.log,
  });
  const setup = await groth16Setup({
    name: model.name,
    r1cs: compiled.r1cs,
    ptau,
    outDir: p.buildDir,
    contributors: options.contributors ?? ["poi local contributor"],
    verifierPath: verifier,
    verifierContract: model.verifierContract,
    command: "npm run build:circuit",
    log: options.log,
  });
  stage(
    "trusted setup (phase 2 + beacon)",
    lap(),
    `${path.basename(ptau.path)}${ptau.insecure ? " (INSECURE development ptau)" : ""}, vk ${setup.vkHash.slice(0, 10)}...`,
  );

  const dir = p.buildDir;
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    circuit: model.name,
    sourceHash: hash,
    constraints: info.nConstraints,
    publicSignals: publicSignalNames(model),
    vkHash: setup.vkHash,
    ptau: { file: path.basename(ptau.path), blake2b: ptau.blake2b, insecure: ptau.insecure, origin: ptau.origin },
    artifacts: {
      r1cs: await artifactEntry(dir, compiled.r1cs),
      wasm: await artifactEntry(dir, compiled.wasm),
      zkey: await artifactEntry(dir, setup.zkey),
      vkey: await artifactEntry(dir, setup.vkeyPath),
      verifier: await artifactEntry(dir, setup.verifierPath),
      transcript: await artifactEntry(dir, setup.transcriptPath),
    },
  };
  writeManifest(p.manifest, manifest);
  return { model, quantized, manifestFile: p.manifest, manifest, cached: false };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf("--ptau");
  const ptauPath = i >= 0 ? args[i + 1] : undefined;
  for (const model of Object.values(REFERENCE_MODELS)) {
    const built = await buildModel(model, {
      ptauPath,
      log: (m) => console.log(`  ${m}`),
      onStage: (s, ms, d) => console.log(`${model.name}: ${s} [${(ms / 1000).toFixed(1)} s] ${d}`),
    });
    console.log(`${model.name}: manifest ${path.relative(ROOT, built.manifestFile)}${built.cached ? " (cached)" : ""}`);
  }
  await (await snarkjs.curves.getCurveFromName("bn128")).terminate();
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((err) => {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  });
}
