/**
 * From a reference model's ONNX file to proving artifacts: import, quantize (calibrated on
 * real MNIST digits), generate the circom main, compile, trusted setup, Solidity verifier,
 * manifest. Each step's output is cached within a build: a rerun with the same sources and
 * ptau reuses the artifacts after checking their hashes.
 *
 *   npm run build:circuit [-- --ptau <file>] [-- --all]
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { artifactPaths, compileCircuit, CIRCUITS_LIB, ROOT } from "./circuit/compile.ts";
import { modelCircuit, type ModelCircuit } from "./compiler/compile-model.ts";
import { loadMnist } from "./model/mnist.ts";
import { onnxToGraph } from "./model/onnx-import.ts";
import { quantizeGraph, type QuantizedGraph } from "./model/quantize-graph.ts";
import { groth16Setup } from "./setup/groth16-setup.ts";
import {
  artifactEntry,
  readManifest,
  verifyArtifacts,
  writeManifest,
  type Manifest,
  MANIFEST_FORMAT,
} from "./setup/manifest.ts";
import { sha256File } from "./setup/hash.ts";
import {
  plonkDomainPower,
  plonkGateCount,
  plonkSetup,
  verifyUniversalManifest,
  type PlonkVerificationKey,
  type UniversalManifest,
} from "./setup/plonk-setup.ts";
import { ptauPowerFor, resolvePtau } from "./setup/ptau.ts";
import * as snarkjs from "snarkjs";

export interface ReferenceModel {
  name: string;
  onnx: string;
  template: string;
  verifierContract: string;
  /** K inferences per proof (a batch circuit), absent for single inferences. */
  batch?: number;
  /**
   * Committed mode: the weights are private inputs bound to a public Poseidon commitment, so
   * one circuit (and one governance-registered verifier) serves every model of the architecture.
   * The reference model's ONNX file then only fixes the architecture and the commitment the
   * manifest records.
   */
  committed?: boolean;
  /**
   * Built by `npm run bench` only, not by `npm run build`: its setup needs a larger ptau than the
   * test suite's circuits, which a new user's clone would first have to make.
   */
  benchOnly?: boolean;
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
  // One circuit for every 196-32-10 MLP with the reference quantization (72,374 constraints: pot17).
  "mnist-mlp-committed": {
    name: "mnist-mlp-committed",
    onnx: "models/mnist-mlp.onnx",
    template: "MnistMlpCommitted",
    verifierContract: "MnistMlpCommittedVerifier",
    committed: true,
    benchOnly: true,
  },
  // The test suite's committed circuit: every 196-4-10 MLP (11,478 constraints: pot14, the ptau the
  // batch circuit needs too), so that every committed-mode path is tested without a power-17 ptau.
  "mnist-mlp-small-committed": {
    name: "mnist-mlp-small-committed",
    onnx: "models/mnist-mlp-small.onnx",
    template: "MnistMlpSmallCommitted",
    verifierContract: "MnistMlpSmallCommittedVerifier",
    committed: true,
  },
};

/** Number of training digits used to calibrate activation scales. */
export const CALIBRATION_DIGITS = 1000;

export const paths = (name: string, generatedDir = path.join(ROOT, "circuits", "generated")) => ({
  circom: path.join(generatedDir, `${name}.circom`),
  quantized: path.join(generatedDir, `${name}.quantized.json`),
  buildDir: path.join(ROOT, "circuits", "build", name),
  manifest: path.join(ROOT, "circuits", "build", name, "manifest.json"),
});

export function verifierPath(model: ReferenceModel): string {
  return path.join(ROOT, "contracts", "verifiers", `${model.verifierContract}.sol`);
}

/** Quantizes the reference model and generates its circuit source (deterministic). */
export function generateModel(model: ReferenceModel): ModelCircuit & {
  quantized: QuantizedGraph;
  quantizedJson: string;
} {
  const onnxFile = path.join(ROOT, model.onnx);
  if (!existsSync(onnxFile)) throw new Error(`${model.onnx} does not exist; train it with npm run train`);
  const graph = onnxToGraph(readFileSync(onnxFile), model.name);
  const calibration = loadMnist()
    .train.slice(0, CALIBRATION_DIGITS)
    .map((d) => d.pixels);
  const quantized = quantizeGraph(graph, calibration);
  const onnxSha = createHash("sha256").update(readFileSync(onnxFile)).digest("hex");
  const circuit = modelCircuit(quantized, {
    mode: model.committed ? "committed" : "baked",
    batch: model.batch,
    templateName: model.template,
    command: "npm run build:circuit",
    source: `${model.onnx} (sha256 ${onnxSha.slice(0, 16)}...), calibrated on ${CALIBRATION_DIGITS} training digits`,
    file: model.onnx,
  });
  return { ...circuit, quantized, quantizedJson: JSON.stringify(quantized) + "\n" };
}

function sourceHash(circomSource: string): string {
  const h = createHash("sha256").update(circomSource);
  for (const f of readdirSync(CIRCUITS_LIB).sort()) h.update(f).update(readFileSync(path.join(CIRCUITS_LIB, f)));
  return h.digest("hex");
}

export interface BuildOptions {
  ptauPath?: string;
  /**
   * Where the generated circom main and quantized model go: circuits/generated (committed, and
   * checked in CI) by default; circuits that only the benchmark builds keep them in their build folder.
   */
  generatedDir?: string;
  /** The command that rebuilds the artifacts, for the verifier's header (default npm run build:circuit). */
  command?: string;
  contributors?: string[];
  log?: (msg: string) => void;
  onStage?: (stage: string, ms: number, detail: string) => void;
}

export interface BuiltModel {
  model: ReferenceModel;
  quantized: QuantizedGraph;
  manifestFile: string;
  manifest: Manifest;
  cached: boolean;
}

/** Builds (or reuses) every artifact of one reference model. */
export async function buildModel(model: ReferenceModel, options: BuildOptions = {}): Promise<BuiltModel> {
  const p = paths(model.name, options.generatedDir);
  const stage = options.onStage ?? (() => {});
  let t = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = now - t;
    t = now;
    return ms;
  };

  const { quantized, circom, quantizedJson, publicSignals, committed } = generateModel(model);
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
  stage("quantize + generate circuit", lap(), `${model.onnx} -> ${path.relative(ROOT, p.circom)}`);

  const built = await buildCircuit(
    {
      name: model.name,
      circomFile: p.circom,
      buildDir: p.buildDir,
      verifierContract: model.verifierContract,
      publicSignals,
      modelFile: p.quantized,
      ...(committed ? { modelCommitment: committed.commitment.toString(), architecture: committed.architecture } : {}),
    },
    options,
  );
  return { model, quantized, ...built };
}

/** A generated circom main and what its manifest records besides the artifacts. */
export interface CircuitSpec extends Pick<Manifest, "modelCommitment" | "architecture"> {
  name: string;
  circomFile: string;
  /** Where the r1cs, wasm, zkey, keys, transcript and manifest go. */
  buildDir: string;
  verifierContract: string;
  publicSignals: string[];
  /** The quantized model (QuantizedGraph JSON) the manifest names as the circuit's integer reference. */
  modelFile?: string;
}

/**
 * Compiles a generated circom main and runs its trusted setup (smallest fitting ptau unless one
 * is given, contributions + beacon), writing the Solidity verifier and the manifest; or reuses
 * the artifacts when the manifest's source hash and ptau match and every artifact checks out.
 */
export async function buildCircuit(
  spec: CircuitSpec,
  options: BuildOptions = {},
): Promise<{ manifestFile: string; manifest: Manifest; cached: boolean }> {
  const stage = options.onStage ?? (() => {});
  let t = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = now - t;
    t = now;
    return ms;
  };
  const manifestFile = path.join(spec.buildDir, "manifest.json");
  const hash = sourceHash(readFileSync(spec.circomFile, "utf8"));
  const verifier = path.join(ROOT, "contracts", "verifiers", `${spec.verifierContract}.sol`);
  const modelEntry = spec.modelFile ? await artifactEntry(spec.buildDir, spec.modelFile) : undefined;
  const recordedFields = { modelCommitment: spec.modelCommitment, architecture: spec.architecture, model: modelEntry };
  let previous: Manifest | undefined;
  if (existsSync(manifestFile)) {
    const old = readManifest(manifestFile);
    const samePtau = !options.ptauPath || old.ptau.file === path.basename(options.ptauPath);
    if (samePtau && existsSync(verifier)) previous = old;
    if (old.sourceHash === hash && samePtau && existsSync(verifier)) {
      try {
        await verifyArtifacts(manifestFile, old, ["r1cs", "wasm", "zkey", "vkey", "verifier", "transcript"]);
        // A committed circuit depends on the architecture only: a retrained reference model reuses
        // the artifacts and changes only the commitment (and the quantized model) the manifest records.
        if (
          JSON.stringify(recordedFields) !==
          JSON.stringify({ modelCommitment: old.modelCommitment, architecture: old.architecture, model: old.model })
        ) {
          Object.assign(old, recordedFields);
          writeManifest(manifestFile, old);
        }
        stage("compile + trusted setup (cached)", lap(), `${old.constraints} constraints, artifacts match manifest`);
        return { manifestFile, manifest: old, cached: true };
      } catch (err) {
        options.log?.(`cached artifacts rejected (${(err as Error).message}); rebuilding`);
      }
    }
  }

  const compiled = await compileCircuit(spec.circomFile, spec.buildDir);
  const info = await snarkjs.r1cs.info(compiled.r1cs);
  stage("compile (circom --O2 --inspect)", lap(), `${info.nConstraints} constraints`);

  // A new source that compiles to the very same r1cs (a comment, a signal's name) keeps its setup:
  // the zkey, keys and transcript depend on the r1cs and the ptau only.
  if (previous && (await sha256File(compiled.r1cs)) === previous.artifacts.r1cs.sha256) {
    try {
      await verifyArtifacts(manifestFile, previous, ["zkey", "vkey", "verifier", "transcript"]);
      const kept: Manifest = {
        ...previous,
        sourceHash: hash,
        ...(spec.modelCommitment === undefined
          ? {}
          : { modelCommitment: spec.modelCommitment, architecture: spec.architecture }),
        ...(modelEntry ? { model: modelEntry } : {}),
        artifacts: { ...previous.artifacts, wasm: await artifactEntry(spec.buildDir, compiled.wasm) },
      };
      writeManifest(manifestFile, kept);
      stage(
        "trusted setup (kept: same r1cs)",
        lap(),
        `r1cs sha256 ${previous.artifacts.r1cs.sha256.slice(0, 16)}... unchanged`,
      );
      return { manifestFile, manifest: kept, cached: true };
    } catch (err) {
      options.log?.(`previous setup not reusable (${(err as Error).message}); running a new one`);
    }
  }

  const ptau = await resolvePtau({
    minPower: ptauPowerFor(info.nConstraints, info.nPubInputs + info.nOutputs),
    explicitPath: options.ptauPath,
    log: options.log,
  });
  const setup = await groth16Setup({
    name: spec.name,
    r1cs: compiled.r1cs,
    ptau,
    outDir: spec.buildDir,
    contributors: options.contributors ?? ["poi local contributor"],
    verifierPath: verifier,
    verifierContract: spec.verifierContract,
    command: options.command ?? "npm run build:circuit",
    log: options.log,
  });
  stage(
    "trusted setup (phase 2 + beacon)",
    lap(),
    `${path.basename(ptau.path)}${ptau.insecure ? " (INSECURE development ptau)" : ""}, vk ${setup.vkHash.slice(0, 10)}...`,
  );

  const dir = spec.buildDir;
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    circuit: spec.name,
    sourceHash: hash,
    constraints: info.nConstraints,
    publicSignals: spec.publicSignals,
    ...(spec.modelCommitment === undefined
      ? {}
      : { modelCommitment: spec.modelCommitment, architecture: spec.architecture }),
    ...(modelEntry ? { model: modelEntry } : {}),
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
  writeManifest(manifestFile, manifest);
  return { manifestFile, manifest, cached: false };
}

/** A generated circom main set up in universal mode (PLONK), and where its artifacts are. */
export interface BuiltUniversalCircuit {
  name: string;
  r1cs: string;
  wasm: string;
  zkey: string;
  vkeyPath: string;
  vk: PlonkVerificationKey;
  /** The universal manifest that `poi validator` serves the model from. */
  manifestFile: string;
  manifest: UniversalManifest;
  /** PLONK gates of the r1cs (circom --O1). */
  gates: number;
  ptau: { file: string; insecure: boolean; power: number };
  cached: boolean;
}

/**
 * Universal mode of a generated circom main, as `poi compile --mode universal` and `poi setup
 * --proof-system plonk` make it: compiled with circom --O1, set up with PLONK on the smallest ptau
 * that fits its gates (or `ptauPath`), with a universal manifest pinning the zkey, vkey, wasm and
 * the quantized model. Reused while the source, the ptau and every pinned file's hash hold: the
 * key is deterministic, so a rebuild would make the same one.
 * @param modelFile the quantized model (QuantizedGraph JSON) the circuit was generated from
 */
export async function buildUniversalCircuit(
  spec: { name: string; circomFile: string; buildDir: string; modelFile: string },
  options: {
    ptauPath?: string;
    /**
     * The ptau's least power, when it exceeds the circuit's own: so that a model's single and
     * batch circuits share one ceremony file (every key of a universal model names one ceremony,
     * and each development file but poi's generated ones is a ceremony of its own).
     */
    minPower?: number;
    log?: (msg: string) => void;
  } = {},
): Promise<BuiltUniversalCircuit> {
  const stampFile = path.join(spec.buildDir, "universal.stamp.json");
  const manifestFile = path.join(spec.buildDir, `${spec.name}.plonk.manifest.json`);
  const stamp = { sourceHash: sourceHash(readFileSync(spec.circomFile, "utf8")), simplification: "O1" };
  const artifacts = artifactPaths(spec.name, spec.buildDir);
  const result = async (cached: boolean, ptau: BuiltUniversalCircuit["ptau"]): Promise<BuiltUniversalCircuit> => {
    const checked = await verifyUniversalManifest(manifestFile);
    return {
      name: spec.name,
      r1cs: artifacts.r1cs,
      wasm: checked.wasm,
      zkey: checked.zkey,
      vkeyPath: checked.vkey,
      vk: JSON.parse(readFileSync(checked.vkey, "utf8")) as PlonkVerificationKey,
      manifestFile,
      manifest: checked.manifest,
      gates: checked.manifest.gates,
      ptau,
      cached,
    };
  };
  if (existsSync(stampFile) && existsSync(manifestFile) && existsSync(artifacts.r1cs)) {
    const old = JSON.parse(readFileSync(stampFile, "utf8")) as typeof stamp & { ptau: BuiltUniversalCircuit["ptau"] };
    const samePtau = !options.ptauPath || old.ptau.file === path.basename(options.ptauPath);
    const largeEnough = old.ptau.power !== undefined && old.ptau.power >= (options.minPower ?? 0);
    if (old.sourceHash === stamp.sourceHash && old.simplification === stamp.simplification && samePtau && largeEnough) {
      try {
        return await result(true, old.ptau);
      } catch (err) {
        options.log?.(`cached universal artifacts rejected (${(err as Error).message}); rebuilding`);
      }
    }
  }
  const compiled = await compileCircuit(spec.circomFile, spec.buildDir, [], { simplification: "O1" });
  const gates = plonkGateCount(compiled.r1cs);
  const ptau = await resolvePtau({
    minPower: Math.max(plonkDomainPower(gates), options.minPower ?? 0),
    explicitPath: options.ptauPath,
    log: options.log,
  });
  await plonkSetup({
    name: spec.name,
    r1cs: compiled.r1cs,
    ptau: ptau.path,
    outDir: spec.buildDir,
    // A development ptau is taken here as the Groth16 builds take one: the manifest names its
    // ceremony, which the verifier knows as insecure.
    allowInsecurePtau: ptau.insecure,
    wasm: compiled.wasm,
    quantized: spec.modelFile,
  });
  const used = { file: path.basename(ptau.path), insecure: ptau.insecure, power: ptau.power };
  writeFileSync(stampFile, JSON.stringify({ ...stamp, ptau: used }, null, 2) + "\n");
  return result(false, used);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf("--ptau");
  const ptauPath = i >= 0 ? args[i + 1] : undefined;
  // --all adds the circuits that only the bench needs (the 196-32-10 committed circuit: pot17).
  const all = args.includes("--all");
  for (const model of Object.values(REFERENCE_MODELS).filter((m) => all || !m.benchOnly)) {
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
