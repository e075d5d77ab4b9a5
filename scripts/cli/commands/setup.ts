/**
 * `poi setup`: the phase-2 setup of a compiled circuit. With --contributors it runs the whole
 * ceremony here (each named contribution, the beacon, verification, manifest); without, it
 * starts a ceremony for `poi contribute` and `poi beacon` to continue.
 */
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readSync } from "node:fs";
import path from "node:path";
import { applyBeacon, contribute, initCeremony } from "../../setup/ceremony.ts";
import { plonkSetup } from "../../setup/plonk-setup.ts";
import { checkPtauForSetup } from "../../setup/ptau.ts";
import { existingFile, flag, integrity, note, progress, required, usageError, type Command } from "../support.ts";

export const setupCommand: Command = {
  name: "setup",
  usage: [
    'poi setup --r1cs FILE --wasm FILE --ptau FILE [--name NAME] [--out DIR] [--contributors "Alice,Bob"]',
    "          [--beacon HEX] [--verifier FILE.sol] [--verifier-contract NAME] [--allow-insecure-ptau]",
    "",
    "  --r1cs FILE           the compiled circuit's constraints (circom --r1cs)",
    "  --wasm FILE           the compiled circuit's witness code (circom --wasm)",
    "  --ptau FILE           a ceremony file, checked against the known blake2b hashes (exit 3 if unknown)",
    "  --name NAME           the circuit's name in the artifacts' file names (default: the r1cs file's)",
    "  --out DIR             where the ceremony and the artifacts go (default: the r1cs file's folder)",
    "  --contributors NAMES  run every phase-2 contribution here, then the beacon, and write the manifest;",
    "                        without it, only start the ceremony: then poi contribute ..., poi beacon ...",
    "  --beacon HEX          the final beacon (a public ceremony uses a future block hash); random if absent",
    "  --verifier FILE       where the Solidity verifier goes (default contracts/verifiers/<Name>Verifier.sol)",
    "  --verifier-contract NAME  the verifier contract's name (default <Name>Verifier)",
    "  --allow-insecure-ptau accept an unlisted ptau (e.g. from poi ptau new), labelled INSECURE",
    "  --proof-system NAME   groth16 (default: the phase-2 ceremony above) or plonk (universal mode, below)",
    "  --quantized FILE      plonk: the compiled model's quantized file, pinned in the universal manifest",
    "",
    "Writes <name>.ceremony.json and, once finished, the zkey, vkey, verifier, <name>.transcript.json",
    "and manifest.json (sha256 of every artifact, transcript included) into --out.",
    "",
    "poi setup --proof-system plonk --r1cs FILE --ptau FILE [--wasm FILE] [--quantized FILE] [--name NAME] [--out DIR]",
    "          [--allow-insecure-ptau]",
    "",
    "  Universal mode: a PLONK key made from the r1cs and a public ceremony file alone (no phase 2, no",
    "  secret: anyone rebuilds it with poi verify-setup --universal). Only a listed ceremony file is",
    "  taken; a development ptau needs --allow-insecure-ptau and the key then names an INSECURE ceremony.",
    "  Writes <name>.plonk.zkey and <name>.plonk.vkey.json into --out and prints the key's hash. With the",
    "  circuit's wasm and quantized model (--wasm, --quantized; by default found next to the r1cs as",
    "  poi compile leaves them) it also writes <name>.plonk.manifest.json, the sha256 of the zkey, vkey, wasm",
    "  and quantized model, which poi validator --serve takes (and refuses with exit 3 on a mismatch).",
    "  Exit 3 if the ptau is refused or too small for the circuit's PLONK gates.",
  ].join("\n"),
  summary: "phase-2 trusted setup of a compiled circuit: contributions, beacon, transcript, manifest",
  valueFlags: [
    "r1cs",
    "wasm",
    "ptau",
    "name",
    "out",
    "contributors",
    "beacon",
    "verifier",
    "verifier-contract",
    "proof-system",
    "quantized",
  ],
  booleanFlags: ["allow-insecure-ptau"],
  async run(args) {
    const system = flag(args, "proof-system") ?? "groth16";
    if (system === "plonk") return universalSetup(args);
    if (system !== "groth16") throw usageError(`--proof-system ${system}: expected groth16 or plonk`);
    const r1cs = binaryFile(required(args, "r1cs", "the compiled circuit's r1cs"), "r1cs", "r1cs", "circom --r1cs");
    const wasm = binaryFile(required(args, "wasm", "the circuit's witness wasm"), "wasm", "\0asm", "circom --wasm");
    const ptauPath = existingFile(required(args, "ptau", "a powers-of-tau file"), "ptau");
    const name = flag(args, "name") ?? path.basename(r1cs, ".r1cs");
    const outDir = flag(args, "out") ?? path.dirname(r1cs);
    const ptau = await integrity(() => checkPtauForSetup(ptauPath, args.flags.has("allow-insecure-ptau")));
    if (ptau.insecure)
      note(args, `WARNING: ${path.basename(ptauPath)} is an INSECURE development ptau (${ptau.origin})`);
    const file = await progress(args, "phase 2: new zkey", (_r, logger) =>
      initCeremony({ name, r1cs, wasm, ptau, outDir, logger }),
    );
    const contributors = (flag(args, "contributors") ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (contributors.length === 0) {
      const text = [
        `started the ceremony ${file}`,
        `next: poi contribute --ceremony ${file} --name <contributor>   (once per contributor)`,
        `then: poi beacon --ceremony ${file} --ptau ${ptauPath} --beacon <hex>`,
      ].join("\n");
      return { json: { ceremony: file, insecurePtau: ptau.insecure }, text };
    }
    for (const by of contributors) {
      await progress(args, `phase 2: contribution by ${by}`, (_r, logger) =>
        integrity(() => contribute(file, by, { logger })),
      );
    }
    const result = await finish(args, file, ptauPath, name);
    return result;
  },
};

/** `file`, once it exists and starts with the magic bytes of its format (else a usage error naming it). */
function binaryFile(file: string, what: string, magic: string, madeBy: string): string {
  existingFile(file, what);
  const head = Buffer.alloc(magic.length);
  const fd = openSync(file, "r");
  try {
    readSync(fd, head, 0, magic.length, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString("latin1") !== magic)
    throw usageError(`${what} ${file} does not start like the files ${madeBy} writes`);
  return file;
}

/** `poi setup --proof-system plonk`: the deterministic universal-mode key. */
async function universalSetup(args: Parameters<Command["run"]>[0]): Promise<{ json: unknown; text: string }> {
  const r1cs = binaryFile(required(args, "r1cs", "the compiled circuit's r1cs"), "r1cs", "r1cs", "circom --r1cs");
  const ptau = existingFile(required(args, "ptau", "a powers-of-tau ceremony file"), "ptau");
  const name = flag(args, "name") ?? path.basename(r1cs, ".r1cs");
  const outDir = flag(args, "out") ?? path.dirname(r1cs);
  // What poi compile leaves next to the r1cs: build/<circuit>_js/<circuit>.wasm, <circuit>.quantized.json above it.
  const circuit = path.basename(r1cs, ".r1cs");
  const found = (...candidates: string[]) => candidates.find((f) => existsSync(f));
  const wasmFlag = flag(args, "wasm");
  const wasm =
    wasmFlag !== undefined
      ? binaryFile(wasmFlag, "wasm", "\0asm", "circom --wasm")
      : found(path.join(path.dirname(r1cs), `${circuit}_js`, `${circuit}.wasm`));
  const quantizedFlag = flag(args, "quantized");
  const quantized =
    quantizedFlag !== undefined
      ? existingFile(quantizedFlag, "quantized model")
      : found(
          path.join(path.dirname(r1cs), `${circuit}.quantized.json`),
          path.join(path.dirname(r1cs), "..", `${circuit}.quantized.json`),
        );
  const result = await progress(args, "PLONK setup (universal mode)", () =>
    integrity(() =>
      plonkSetup({
        name,
        r1cs,
        ptau,
        outDir,
        wasm,
        quantized,
        allowInsecurePtau: args.flags.has("allow-insecure-ptau"),
      }),
    ),
  );
  const text = [
    `PLONK setup of ${name}: ${result.constraints} gates, domain 2^${result.vk.power}, key hash ${result.keyHash}`,
    `  ceremony ${result.ceremony.id}: ${result.ceremony.name}`,
    `  zkey ${result.zkey}`,
    `  vkey ${result.vkeyPath}`,
    result.manifestFile
      ? `  manifest ${result.manifestFile} (for poi validator --serve)`
      : `  no manifest: ${wasm ? "" : "--wasm "}${quantized ? "" : "--quantized "}not given nor found next to the r1cs`,
    result.ceremony.insecure
      ? "  WARNING: the key names an INSECURE development ceremony: whoever made it can forge proofs"
      : "",
  ]
    .filter(Boolean)
    .join("\n");
  const { vk: _vk, ptau: resolved, ...rest } = result;
  return {
    json: { ...rest, manifestFile: rest.manifestFile ?? null, ptau: resolved.path, insecurePtau: resolved.insecure },
    text,
  };
}

/** The beacon and everything after it; shared with `poi beacon`. */
export async function finish(
  args: Parameters<Command["run"]>[0],
  file: string,
  ptauPath: string,
  name: string,
): Promise<{ json: unknown; text: string }> {
  const beacon = flag(args, "beacon") ?? randomBytes(32).toString("hex");
  const contract = flag(args, "verifier-contract") ?? `${pascal(name)}Verifier`;
  const verifierPath = flag(args, "verifier") ?? path.join("contracts", "verifiers", `${contract}.sol`);
  if (!/^[A-Z][A-Za-z0-9_]*$/.test(contract))
    throw usageError(`--verifier-contract ${contract} is not a Solidity contract name`);
  const final = await progress(args, "phase 2: beacon, verification, verifier and manifest", (_r, logger) =>
    integrity(() =>
      applyBeacon(file, {
        beacon,
        ptauPath,
        verifierPath,
        verifierContract: contract,
        command: `poi beacon (${name})`,
        logger,
      }),
    ),
  );
  const m = final.manifest;
  const text = [
    `setup of ${m.circuit} complete: ${m.constraints} constraints, vkHash ${m.vkHash}`,
    `  manifest ${final.manifestFile}`,
    `  transcript ${final.transcriptPath}`,
    `  verifier ${verifierPath} (contract ${contract})`,
    m.ptau.insecure
      ? `  WARNING: built on an INSECURE development ptau (${m.ptau.file}): never deploy it for real`
      : "",
  ]
    .filter(Boolean)
    .join("\n");
  return {
    json: { manifest: final.manifestFile, transcript: final.transcriptPath, verifier: verifierPath, ...m },
    text,
  };
}

const pascal = (s: string) =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join("");
