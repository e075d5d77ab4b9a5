/**
 * Compiles a circom main with the circom2 package (circom 2.x in WebAssembly) into
 * build/<name>.r1cs, build/<name>_js/<name>.wasm and build/<name>.sym.
 */
import { execFile } from "node:child_process";
import { mkdirSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** Root of the repository (scripts/circuit/ is two levels down). */
export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
export const CIRCUITS_LIB = path.join(ROOT, "circuits", "lib");

export interface CircuitArtifacts {
  name: string;
  r1cs: string;
  wasm: string;
  sym: string;
}

export function artifactPaths(name: string, outDir: string): CircuitArtifacts {
  return {
    name,
    r1cs: path.join(outDir, `${name}.r1cs`),
    wasm: path.join(outDir, `${name}_js`, `${name}.wasm`),
    sym: path.join(outDir, `${name}.sym`),
  };
}

/**
 * circom's constraint simplification. O2 (the default, for Groth16) substitutes every linear
 * constraint away: a linear combination is free in R1CS, so a dot product inlined into each
 * constraint that uses it costs nothing. O1 keeps linear constraints that are more than a copy, so
 * a dot product stays one signal: what a PLONK circuit wants, since there every term of a linear
 * combination costs a gate each time it appears (the reference MLP: 43,383 PLONK gates from its O2
 * r1cs, 13,425 from its O1 r1cs; docs/benchmarks.md).
 */
export type Simplification = "O1" | "O2";

/**
 * Runs circom on `circomFile` with constraint simplification (--O2 unless `simplification` says
 * O1) and --inspect, which fails on under-constrained `<--` assignments it can detect.
 * @returns the artifact paths and circom's report
 */
export async function compileCircuit(
  circomFile: string,
  outDir: string,
  includeDirs: string[] = [],
  options: { allowInspectWarnings?: boolean; simplification?: Simplification } = {},
): Promise<CircuitArtifacts & { log: string }> {
  if (!existsSync(circomFile)) throw new Error(`circuit ${circomFile} does not exist`);
  mkdirSync(outDir, { recursive: true });
  const name = path.basename(circomFile, ".circom");
  const cli = require.resolve("circom2/cli.js");
  const circomlibRoot = path.resolve(path.dirname(require.resolve("circomlib/package.json")), "..");
  // Absolute paths (relative ones are taken from the repository root), since circom runs elsewhere.
  const abs = (p: string) => path.resolve(ROOT, p);
  const includes = [CIRCUITS_LIB, circomlibRoot, ...includeDirs.map(abs)];
  const args = [cli, abs(circomFile), "--r1cs", "--wasm", "--sym", `--${options.simplification ?? "O2"}`, "--inspect"];
  args.push(...includes.flatMap((d) => ["-l", d]), "-o", abs(outDir));
  let stdout = "";
  let stderr = "";
  try {
    // circom2's WASI sandbox does not follow the include paths out of its working directory:
    // run it from the repository, or from the folder holding the repository and the include
    // paths when node_modules is a link to another checkout (a git worktree). Never from the
    // file system's root (a circuit in the temporary folder would give "/"): circom then
    // never finishes.
    const cwd = commonAncestor([ROOT, ...includes]);
    ({ stdout, stderr } = await run(process.execPath, args, { maxBuffer: 64 << 20, cwd }));
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`circom failed on ${path.relative(ROOT, circomFile)}:\n${e.stderr || e.stdout || e.message}`);
  }
  const log = stdout + stderr;
  // circom --inspect reports suspicious constraints as warnings and still exits 0.
  if (!options.allowInspectWarnings && /warning\[/i.test(log)) {
    throw new Error(`circom --inspect found problems in ${path.relative(ROOT, circomFile)}:\n${log}`);
  }
  return { ...artifactPaths(name, outDir), log };
}

/** The deepest folder containing all of `paths` (absolute). */
function commonAncestor(paths: string[]): string {
  let dir = path.resolve(paths[0]);
  while (!paths.every((p) => path.resolve(p) === dir || path.resolve(p).startsWith(dir + path.sep)))
    dir = path.dirname(dir);
  return dir;
}
