/**
 * A tiny baked model (a 4-3 dense layer) in universal mode, small enough for the power-12
 * development ptau after the R1CS-to-PLONK conversion: quantized through the one pipeline,
 * generated, compiled and set up as universal mode does it (buildUniversalCircuit: circom --O1,
 * PLONK). Artifacts live in circuits/build/test-universal-tiny and are reused while the generated
 * source and the ptau are unchanged.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../../scripts/circuit/compile.ts";
import { generateGraphCircuit } from "../../scripts/circuit/generate-graph.ts";
import type { GraphLayer } from "../../scripts/model/graph.ts";
import { Prng } from "../../scripts/model/prng.ts";
import { quantizeGraph, type QuantizedGraph } from "../../scripts/model/quantize-graph.ts";
import { buildUniversalCircuit } from "../../scripts/pipeline.ts";
import type { PlonkVerificationKey } from "../../scripts/setup/plonk-setup.ts";
import { resolvePtau } from "../../scripts/setup/ptau.ts";

export interface UniversalModel {
  name: string;
  quantized: QuantizedGraph;
  r1cs: string;
  wasm: string;
  zkey: string;
  vk: PlonkVerificationKey;
  /** Seeded random inputs of the model's size. */
  inputs: Uint8Array[];
}

const NAME = "test-universal-tiny";

/**
 * A power-12 (or larger) development ptau (INSECURE) whose ceremony the PLONK verifier knows: the
 * shared development file where the clone has one (ceremony 2), else the file poi generates once
 * per machine from its public secret (ceremony 5), exactly as a new user's clone finds it.
 */
export async function universalDevPtau(): Promise<string> {
  return (await resolvePtau({ minPower: 12 })).path;
}

export async function tinyUniversalModel(ptau: string): Promise<UniversalModel> {
  const rng = new Prng(56);
  const normal = (n: number, scale: number) => Float64Array.from({ length: n }, () => rng.normal() * scale);
  const layers: GraphLayer[] = [
    { kind: "dense", node: "fc", nIn: 4, nOut: 3, weight: normal(12, 0.5), bias: normal(3, 0.1) },
  ];
  const inputs = (seed: number, count: number) => {
    const r = new Prng(seed);
    return Array.from({ length: count }, () => Uint8Array.from({ length: 4 }, () => r.nextInt(256)));
  };
  const quantized = quantizeGraph(
    { name: NAME, inputShape: [4], onnxInputShape: [1, 4], layers, outputSize: 3 },
    inputs(57, 32),
  );
  const dir = path.join(ROOT, "circuits", "build", NAME);
  mkdirSync(dir, { recursive: true });
  const circomFile = path.join(dir, `${NAME}.circom`);
  const modelFile = path.join(dir, `${NAME}.quantized.json`);
  const source = generateGraphCircuit(quantized, {
    templateName: "TestUniversalTiny",
    command: "test/helpers/universal-model.ts",
    source: "a test model",
  });
  // Rewritten only when they change, so that the cached setup stays valid.
  for (const [file, text] of [
    [circomFile, source],
    [modelFile, JSON.stringify(quantized) + "\n"],
  ] as const)
    if (!existsSync(file) || readFileSync(file, "utf8") !== text) writeFileSync(file, text);
  const { r1cs, wasm, zkey, vk } = await buildUniversalCircuit(
    { name: NAME, circomFile, buildDir: dir, modelFile },
    { ptauPath: ptau },
  );
  return { name: NAME, quantized, r1cs, wasm, zkey, vk, inputs: inputs(58, 4) };
}
