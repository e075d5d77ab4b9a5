/**
 * The SDK as another project gets it: `npm pack` builds the package (prepack compiles it into
 * dist/ with the contracts' TypeChain types), the tarball is unpacked into an empty project in a
 * temporary folder, and the programs of docs/sdk.md run there exactly as written against a
 * `hardhat node`: requests posted and awaited, proved and settled in one batch, and the batch's
 * attestation checked with an inclusion proof. The project type-checks them against the
 * package's declarations first.
 *
 * The tarball's dependencies are not downloaded again: each one is linked from this repository's
 * node_modules (the versions the package pins), as npm would have installed them.
 */
import { expect } from "chai";
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Wallet } from "ethers";
import { network } from "hardhat";
import { factOf } from "../../scripts/chain/attestations.ts";
import { deployProtocol, type Protocol } from "../../scripts/chain/protocol.ts";
import { packedCommitment } from "../../scripts/circuit/reference.ts";
import { loadMnist } from "../../scripts/model/mnist.ts";
import { inferQuantizedGraph, packGraphOutput } from "../../scripts/model/graph-inference.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { ROOT, startHardhatNode, type HardhatNode } from "../helpers/processes.ts";

const run = promisify(execFile);
const PACKAGE = "proof-of-inference";
const PRICE = 10n ** 18n;

/** The ```ts blocks of docs/sdk.md whose first line is `// <file>.ts`, by file name. */
function documentedPrograms(): Map<string, string> {
  const doc = readFileSync(path.join(ROOT, "docs", "sdk.md"), "utf8");
  const programs = new Map<string, string>();
  for (const m of doc.matchAll(/```ts\n(\/\/ ([\w-]+\.ts)\b[^\n]*\n[\s\S]*?)```/g)) programs.set(m[2]!, m[1]!);
  return programs;
}

/** Runs `node <file> <args>` in `cwd`; rejects with its stderr on a non-zero exit. */
function node(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("exit", (code) =>
      code === 0
        ? resolve({ stdout, stderr })
        : reject(new Error(`node ${args.join(" ")} exited with ${code}:\n${stderr}${stdout}`)),
    );
  });
}

const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("the packed SDK in a project of its own", function () {
  let tmp: string;
  let project: string;
  let packed: { files: string[]; manifest: { bin: Record<string, string>; dependencies: Record<string, string> } };
  let single: BuiltModel;
  let batch: BuiltModel;
  let chain: HardhatNode;

  before(async function () {
    single = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    batch = await buildModel(REFERENCE_MODELS["mnist-mlp-batch4"]);
    tmp = mkdtempSync(path.join(os.tmpdir(), "poi-sdk-"));
    const [nodeStarted] = await Promise.all([
      startHardhatNode(),
      run("npm", ["pack", "--json", "--pack-destination", tmp], { cwd: ROOT, maxBuffer: 64 << 20 }).then(
        ({ stdout }) => {
          const [info] = JSON.parse(stdout.slice(stdout.indexOf("["))) as {
            filename: string;
            files: { path: string }[];
          }[];
          const tarball = path.join(tmp, info!.filename);
          // What `npm install <tarball>` puts in node_modules: the package, its bins and its dependencies.
          project = path.join(tmp, "project");
          const installed = path.join(project, "node_modules", PACKAGE);
          mkdirSync(installed, { recursive: true });
          return run("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]).then(() => {
            const manifest = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8"));
            packed = { files: info!.files.map((f) => f.path), manifest };
          });
        },
      ),
    ]);
    chain = nodeStarted;
    const modules = path.join(project, "node_modules");
    const link = (name: string) => {
      mkdirSync(path.dirname(path.join(modules, name)), { recursive: true });
      symlinkSync(path.join(ROOT, "node_modules", name), path.join(modules, name));
    };
    for (const dep of Object.keys(packed.manifest.dependencies)) link(dep);
    link("@types/node"); // the project's own dev dependency, for type-checking its programs
    mkdirSync(path.join(modules, ".bin"));
    for (const [name, file] of Object.entries(packed.manifest.bin))
      symlinkSync(path.join("..", PACKAGE, file), path.join(modules, ".bin", name));
    writeFileSync(
      path.join(project, "package.json"),
      JSON.stringify({ name: "sdk-consumer", private: true, type: "module", dependencies: { [PACKAGE]: "*" } }),
    );
  });

  after(async function () {
    await chain?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("packs the compiled SDK, its declarations and the contract types, and no TypeScript source", function () {
    for (const f of [
      "dist/scripts/sdk/index.js",
      "dist/scripts/sdk/index.d.ts",
      "dist/types/ethers-contracts/index.js",
      "dist/types/ethers-contracts/index.d.ts",
      "dist/types/ethers-contracts/market/InferenceMarket.d.ts",
      "scripts/cli/bin.mjs",
    ])
      expect(packed.files, f).to.include(f);
    const sources = packed.files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
    expect(sources).to.deep.equal([]);
    expect(packed.manifest.bin).to.have.keys("poi", PACKAGE);
  });

  it("resolves the package from the project's node_modules, not from the repository", async function () {
    const { stdout } = await node(
      project,
      ["--input-type=module", "-e", `console.log(import.meta.resolve("${PACKAGE}"))`],
      {},
    );
    const resolved = realpathSync(new URL(stdout.trim()));
    expect(resolved).to.equal(
      path.join(realpathSync(project), "node_modules", PACKAGE, "dist", "scripts", "sdk", "index.js"),
    );
  });

  it("runs the command line under the package's own name", async function () {
    const { stdout } = await node(project, [path.join(project, "node_modules", ".bin", PACKAGE), "--help"], {});
    expect(stdout).to.match(/^usage: poi <command>/);
    expect(stdout).to.include("request");
  });

  it("requests, validates and verifies with the programs of docs/sdk.md", async function () {
    const programs = documentedPrograms();
    expect([...programs.keys()]).to.deep.equal(["request.ts", "validate.ts", "verify.ts"]);
    for (const [file, code] of programs) writeFileSync(path.join(project, file), code);
    writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2023",
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          noEmit: true,
          types: ["node"],
          // As most consumers do: the programs are checked against the package's declarations, but the
          // declarations of its dependencies are not checked themselves (onnx-proto's assume a global
          // Long type from @types/long).
          skipLibCheck: true,
        },
        include: [...programs.keys()],
      }),
    );
    const typecheck = run(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "."], {
      cwd: project,
    }).catch((err: { stdout?: string }) => {
      throw new Error(`the documented programs do not type-check against the package:\n${err.stdout}`);
    });

    // A market with the reference model and its 4-inference batch key, and two funded accounts.
    const conn = await network.create({ network: "localhost", override: { url: chain.url } });
    const [governance, owner, funder] = await conn.ethers.getSigners();
    const protocol: Protocol = await deployProtocol(conn.ethers, governance, {
      manifestFile: single.manifestFile,
      modelOwner: owner.address,
      price: PRICE,
      batchKeys: [{ manifestFile: batch.manifestFile, batchSize: 4 }],
    });
    const requester = Wallet.createRandom();
    const validator = Wallet.createRandom();
    const minStake = (await protocol.market.params()).minStake;
    for (const [w, tokens] of [
      [requester, 4n * PRICE],
      [validator, minStake],
    ] as const) {
      await (await funder.sendTransaction({ to: w.address, value: 10n ** 18n })).wait();
      await (await protocol.token.mint(w.address, tokens)).wait();
    }
    const digits = loadMnist().test.slice(0, 4);
    writeFileSync(path.join(project, "digits.json"), JSON.stringify(digits.map((d) => [...d.pixels])));
    const env = {
      POI_RPC_URL: chain.url,
      POI_MARKET: await protocol.market.getAddress(),
      POI_MODEL_ID: String(protocol.modelId),
      POI_MANIFEST: single.manifestFile,
      POI_BATCH_MANIFEST: batch.manifestFile,
      POI_REQUESTER_KEY: requester.privateKey,
      POI_VALIDATOR_KEY: validator.privateKey,
    };
    await typecheck;

    // The requester waits while the validator finds, proves and settles its requests.
    const requesting = node(project, ["request.ts"], env);
    requesting.catch(() => {}); // awaited below, after the validator; its failure is reported there
    const validated = jsonLines((await node(project, ["validate.ts"], env)).stdout);
    const results = jsonLines((await requesting).stdout);

    const reference = digits.map((d) => inferQuantizedGraph(single.quantized, d.pixels));
    expect(results.map((r) => ({ predicted: r.predicted, logits: r.logits, validator: r.validator }))).to.deep.equal(
      reference.map((r) => ({ predicted: r.predicted, logits: r.logits, validator: validator.address })),
    );
    const ids = results.map((r) => r.requestId as string);
    expect(validated).to.have.length(1);
    expect(validated[0]).to.include.keys("batch", "gas");
    expect(validated[0]!.batch).to.deep.equal(ids);
    expect(validated[0]!.predicted).to.deep.equal(reference.map((r) => r.predicted));

    const { stdout } = await node(project, ["verify.ts", ids[2]!], env);
    const [check] = jsonLines(stdout);
    const model = single.quantized;
    const r = reference[2]!;
    expect(check).to.deep.include({
      requestId: ids[2],
      fact: factOf(
        protocol.modelId,
        packedCommitment(digits[2]!.pixels, model.inputBits),
        packGraphOutput(model, r.predicted, r.logits),
      ),
      attested: true,
      forgedAttested: false,
    });
    await conn.close();
  });
});
