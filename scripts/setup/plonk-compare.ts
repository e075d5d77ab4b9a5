/**
 * Universal-setup proof systems side by side: PLONK and FFLONK (both snarkjs) on the same
 * circuits, with Groth16's figures from the same run where a circuit has a Groth16 manifest.
 * For each circuit and system it measures the constraints after the R1CS-to-PLONK conversion,
 * the setup time, a cold and a warm proof (snarkjs fullProve), the proof's calldata size, and the
 * gas of snarkjs's exported Solidity verifier, compiled with the project's solc and deployed on
 * Hardhat's in-process chain only to measure it (the protocol never calls such a verifier).
 *
 *   npx tsx scripts/setup/plonk-compare.ts --ptau FILE [--out FILE.json] (MANIFEST.json | CIRCUIT.r1cs)...
 *
 * The circuits are baked single-inference circuits (private `pixels`, public `binding`); the
 * pixels are seeded random bytes. A system whose ceremony file is too small for a circuit is
 * reported as such rather than measured: FFLONK needs 9 times the domain of PLONK.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import hre from "hardhat";
import * as snarkjs from "snarkjs";
import { Prng } from "../model/prng.ts";
import { artifactPath, readManifest } from "./manifest.ts";
import { ceremonyOfKey, encodePlonkKey, plonkProofWords, type PlonkVerificationKey } from "./plonk-setup.ts";

export type UniversalSystem = "plonk" | "fflonk";

export interface SystemFigures {
  system: UniversalSystem | "groth16";
  /** Gates after the conversion (R1CS constraints for Groth16); absent when the setup failed. */
  constraints?: number;
  domainPower?: number;
  setupMs?: number;
  coldProveMs?: number;
  warmProveMs?: number;
  proofBytes?: number;
  verifyGas?: number;
  /** PLONK only: gas of the protocol's own verifier (contracts/libraries/Plonk.sol), key read from a data contract. */
  libraryVerifyGas?: number;
  /** Why this system was not measured on this circuit (e.g. the ceremony file is too small). */
  skipped?: string;
}

export interface CircuitComparison {
  circuit: string;
  r1csConstraints: number;
  systems: SystemFigures[];
}

interface Logger {
  info(msg: string): void;
  debug(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** A snarkjs logger that keeps the messages, so that the setup's constraint count can be read back. */
function recordingLogger(lines: string[]): Logger {
  const keep = (msg: string) => void lines.push(msg);
  return { info: keep, debug: () => {}, warn: keep, error: keep };
}

const require = createRequire(import.meta.url);

/** Compiles one Solidity source with the project's pinned solc (the npm package). */
function compileVerifier(source: string, contract: string): { abi: unknown[]; bytecode: string } {
  const solc = require("solc") as { compile(input: string): string };
  const output = JSON.parse(
    solc.compile(
      JSON.stringify({
        language: "Solidity",
        sources: { "Verifier.sol": { content: source } },
        settings: {
          optimizer: { enabled: true, runs: 200 },
          outputSelection: { "*": { "*": ["abi", "evm.bytecode"] } },
        },
      }),
    ),
  ) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(`the exported ${contract} does not compile: ${errors[0].formattedMessage}`);
  const compiled = output.contracts["Verifier.sol"][contract];
  return { abi: compiled.abi, bytecode: "0x" + compiled.evm.bytecode.object };
}

/** Gas of `verifyProof` with `calldata` (snarkjs's exportSolidityCallData text), minus the intrinsic 21,000. */
async function verifierGas(source: string, contract: string, calldata: string): Promise<number> {
  const { ethers } = await hre.network.create();
  const { abi, bytecode } = compileVerifier(source, contract);
  const factory = new ethers.ContractFactory(abi as never, bytecode, (await ethers.getSigners())[0]);
  const verifier = await factory.deploy();
  // snarkjs's PLONK calldata writes its two arrays with nothing between them: `[...][...]`;
  // FFLONK's leaves its hex numbers unquoted.
  const json = calldata.replace(/\]\s*\[/g, "],[").replace(/(?<!")(0x[0-9a-fA-F]+)/g, '"$1"');
  const args = JSON.parse(`[${json}]`) as unknown[];
  const ok = (await verifier.getFunction("verifyProof").staticCall(...args)) as boolean;
  if (!ok) throw new Error(`${contract} refused a proof that snarkjs accepts`);
  const gas = await verifier.getFunction("verifyProof").estimateGas(...args);
  return Number(gas) - 21_000;
}

function circuitInput(nPrivate: number, seed: number): Record<string, unknown> {
  const rng = new Prng(seed);
  return { pixels: Array.from({ length: nPrivate }, () => rng.nextInt(256)), binding: 1 };
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await f();
  return [value, performance.now() - start];
}

async function measureUniversal(
  system: UniversalSystem,
  r1cs: string,
  wasm: string,
  ptau: string,
  input: Record<string, unknown>,
  dir: string,
): Promise<SystemFigures> {
  const zkey = path.join(dir, `${system}.zkey`);
  const lines: string[] = [];
  const api: snarkjs.UniversalSystemApi = system === "plonk" ? snarkjs.plonk : snarkjs.fflonk;
  let setupMs: number;
  try {
    [, setupMs] = await timed(() => api.setup(r1cs, ptau, zkey, recordingLogger(lines)));
  } catch (e) {
    return { system, skipped: (e as Error).message };
  }
  const failure = lines.find((l) => /too big|not big enough/i.test(l));
  if (failure) return { system, skipped: failure };
  const gates = lines.map((l) => /(?:Plonk constraints|Constraints):\s*(\d+)/.exec(l)).find(Boolean);
  const constraints = gates ? Number(gates[1]) : undefined;
  const [first, coldProveMs] = await timed(() => api.fullProve(input, wasm, zkey));
  const [second, warmProveMs] = await timed(() => api.fullProve(input, wasm, zkey));
  const vk = await snarkjs.zKey.exportVerificationKey(zkey);
  if (!(await api.verify(vk, second.publicSignals, second.proof)))
    throw new Error(`snarkjs refused its own ${system} proof`);
  const calldata =
    system === "plonk"
      ? await snarkjs.plonk.exportSolidityCallData(first.proof, first.publicSignals)
      : await snarkjs.fflonk.exportSolidityCallData(first.publicSignals, first.proof);
  // The calldata is the proof's words, then the public signals.
  const proofWords = (calldata.match(/0x[0-9a-f]+/gi) ?? []).length - first.publicSignals.length;
  const source = await snarkjs.zKey.exportSolidityVerifier(zkey, {
    plonk: readTemplate("plonk"),
    fflonk: readTemplate("fflonk"),
    groth16: readTemplate("groth16"),
  });
  const contract = system === "plonk" ? "PlonkVerifier" : "FflonkVerifier";
  return {
    system,
    constraints,
    domainPower: constraints === undefined ? undefined : Math.max(3, Math.ceil(Math.log2(constraints + 2))),
    setupMs,
    coldProveMs,
    warmProveMs,
    proofBytes: proofWords * 32,
    verifyGas: await verifierGas(source, contract, calldata),
    libraryVerifyGas:
      system === "plonk"
        ? await libraryGas(vk as unknown as PlonkVerificationKey, first.proof, first.publicSignals)
        : undefined,
  };
}

/** eth_estimateGas of PlonkHarness.verifyPlonk (the key in a data contract), minus the intrinsic 21,000. */
async function libraryGas(
  vk: PlonkVerificationKey,
  proof: snarkjs.UniversalProof,
  publicSignals: string[],
): Promise<number | undefined> {
  // A key from a ceremony the protocol does not know cannot be registered: nothing to measure.
  if (!ceremonyOfKey(vk)) return undefined;
  const { ethers } = await hre.network.create();
  const harness = await ethers.deployContract("PlonkHarness");
  const pointer = (await harness.getFunction("store").staticCall(encodePlonkKey(vk))) as string;
  await (await harness.getFunction("store")(encodePlonkKey(vk))).wait();
  const args: [string, bigint[], bigint[]] = [pointer, publicSignals.map(BigInt), plonkProofWords(proof)];
  if (!(await harness.getFunction("verifyPlonk").staticCall(...args)))
    throw new Error("the protocol's PLONK verifier refused a proof that snarkjs accepts");
  return Number(await harness.getFunction("verifyPlonk").estimateGas(...args)) - 21_000;
}

function readTemplate(system: string): string {
  const snarkjsRoot = path.resolve(path.dirname(require.resolve("snarkjs")), "..");
  return readFileSync(path.join(snarkjsRoot, "templates", `verifier_${system}.sol.ejs`), "utf8");
}

async function measureGroth16(manifestFile: string, input: Record<string, unknown>): Promise<SystemFigures> {
  const manifest = readManifest(manifestFile);
  const wasm = artifactPath(manifestFile, manifest, "wasm");
  const zkey = artifactPath(manifestFile, manifest, "zkey");
  const [, coldProveMs] = await timed(() => snarkjs.groth16.fullProve(input, wasm, zkey));
  const [second, warmProveMs] = await timed(() => snarkjs.groth16.fullProve(input, wasm, zkey));
  const calldata = await snarkjs.groth16.exportSolidityCallData(second.proof, second.publicSignals);
  const source = await snarkjs.zKey.exportSolidityVerifier(zkey, { groth16: readTemplate("groth16") });
  return {
    system: "groth16",
    constraints: manifest.constraints,
    coldProveMs,
    warmProveMs,
    proofBytes: 8 * 32,
    verifyGas: await verifierGas(source, "Groth16Verifier", calldata),
  };
}

/**
 * Measures every system on one circuit: a Groth16 manifest (its r1cs and wasm, and Groth16's own
 * figures from its zkey), or an r1cs file with its wasm at `<name>_js/<name>.wasm` beside it.
 */
export async function compareCircuit(circuit: string, ptau: string): Promise<CircuitComparison> {
  let r1cs = circuit;
  let name = path.basename(circuit, ".r1cs");
  let wasm = path.join(path.dirname(circuit), `${name}_js`, `${name}.wasm`);
  const groth16 = circuit.endsWith(".json");
  if (groth16) {
    const manifest = readManifest(circuit);
    r1cs = artifactPath(circuit, manifest, "r1cs");
    wasm = artifactPath(circuit, manifest, "wasm");
    name = manifest.circuit;
  }
  const header = await snarkjs.r1cs.info(r1cs);
  const input = circuitInput(header.nPrvInputs, 7);
  const dir = mkdtempSync(path.join(os.tmpdir(), "poi-universal-"));
  try {
    const systems = groth16 ? [await measureGroth16(circuit, input)] : [];
    for (const system of ["plonk", "fflonk"] as const)
      systems.push(await measureUniversal(system, r1cs, wasm, ptau, input, dir));
    return { circuit: name, r1csConstraints: header.nConstraints, systems };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { ptau: { type: "string" }, out: { type: "string" } },
    allowPositionals: true,
  });
  if (!values.ptau || positionals.length === 0)
    throw new Error("usage: plonk-compare.ts --ptau FILE [--out FILE.json] (MANIFEST.json | CIRCUIT.r1cs)...");
  const results: CircuitComparison[] = [];
  for (const manifest of positionals) {
    const result = await compareCircuit(manifest, values.ptau);
    console.log(JSON.stringify(result, null, 2));
    results.push(result);
  }
  if (values.out) writeFileSync(values.out, JSON.stringify(results, null, 2) + "\n");
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  await g.curve_bn128?.terminate();
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) await main();
