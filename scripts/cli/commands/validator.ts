/**
 * `poi validator`: the validator daemon's front. For each model it serves, checks the artifacts
 * against the manifest (a Groth16 artifact manifest, or the universal manifest of `poi setup
 * --proof-system plonk`), loads the warm prover and the quantized model the manifest names,
 * connects, and runs scripts/validator/daemon.ts until SIGINT/SIGTERM (or, with
 * --exit-when-idle, until nothing is left to do).
 */
import path from "node:path";
import {
  bigintFlag,
  CliError,
  checkDeployment,
  connect,
  existingFile,
  EXIT,
  flag,
  intFlag,
  integrity,
  manifestArg,
  manifestFile,
  NETWORK_FLAGS,
  readJsonFile,
  NETWORK_HELP,
  onChain,
  readDeployment,
  tokenFlag,
  usageError,
  quietSqliteWarning,
  type Command,
} from "../support.ts";

export const validatorCommand: Command = {
  name: "validator",
  usage: [
    "poi validator [--deployment FILE] [--manifest FILE] [--quantized FILE] [--journal FILE] [--min-fee TOKENS]",
    "              [--model-id N] [--threads N] [--from-block N] [--poll-ms N] [--deadline-margin S] [--exit-when-idle]",
    "              [--batch K=MANIFEST[,K=MANIFEST...]] [--batch-wait S]",
    '              [--serve "ID=MANIFEST[;quantized=FILE][;batch=K:MANIFEST,...] ..."]',
    "              [--network NAME] [--rpc-url URL] [--account N|ADDR]",
    "",
    "  --manifest FILE        artifact manifest (default: the deployment's); every artifact is sha256-checked,",
    "                         and the quantized model it names (the integer reference) too",
    "  --quantized FILE       another quantized model than the manifest's: a model of a committed circuit's",
    "                         architecture registered with its own weights (a poi compile <name>.quantized.json)",
    "  --journal FILE         crash-safe state (node:sqlite; default .poi/validator-<chain>-<account>.sqlite)",
    "  --min-fee TOKENS       skip requests paying less (default 0)",
    "  --model-id N           the model to serve with --manifest (default: the deployment's)",
    "  --threads N            prover worker threads (default: one per core; 0: none, prove on the main thread)",
    "  --from-block N         first block to scan when the journal is new (default: the deployment block)",
    "  --poll-ms N            pause between passes (default 1000)",
    "  --deadline-margin S    never send anything within S seconds of a deadline (default 10)",
    "  --batch K=MANIFEST     batch circuits of this model the validator proves, K inferences per proof",
    "                         (e.g. 4=circuits/build/mnist-mlp-batch4/manifest.json); a size is used only if",
    "                         the registry has a batch verifier for it. Full groups of the largest K go out",
    "                         as one fulfilBatch; the rest wait, then go in smaller batches or one by one",
    "  --batch-wait S         longest wait for a batch to fill (default 30); never so long that proving",
    "                         (measured time, with margin) would not fit before a deadline or claim window",
    "  --serve SPECS          serve other models too, one spec each, separated by spaces: the model id, its",
    "                         manifest, optionally its quantized model and batch circuits, e.g.",
    '                         --serve "2=cnn/manifest.json 3=c/manifest.json;quantized=mine.quantized.json;batch=4:c4/manifest.json"',
    "                         (without --model-id and --manifest, only these models are served). A universal-mode",
    "                         model is served from its <name>.plonk.manifest.json (poi setup --proof-system plonk):",
    "                         proved with PLONK, settled with fulfilUniversal; its batch circuits are PLONK ones too",
    "                         (batch=K:<name>.plonk.manifest.json), settled with fulfilBatchUniversal",
    "  --exit-when-idle       stop once every request seen is settled",
    "  --mint-stake           mint the market's minimum stake first (development TestToken only)",
    NETWORK_HELP,
    "",
    "Logs are JSON lines on stdout: one `request-summary` per request; `batch-planned`, `batch-waiting`,",
    "`batch-flushed`, `batch-sent`, `batch-settled` (with gas per inference) and `batch-dropped` for batches.",
    "Exit 3 on a corrupted artifact, a journal made for another chain, or a node whose chain is reset while",
    "the daemon runs (another chain id or genesis block, or the market's code gone); 4 when staking is impossible.",
  ].join("\n"),
  summary: "run the validator daemon: watch, claim, prove, fulfil (crash-safe journal)",
  valueFlags: [
    "manifest",
    "quantized",
    "journal",
    "min-fee",
    "model-id",
    "threads",
    "from-block",
    "poll-ms",
    "deadline-margin",
    "batch",
    "batch-wait",
    "serve",
    ...NETWORK_FLAGS,
  ],
  booleanFlags: ["exit-when-idle", "mint-stake"],
  async run(args) {
    const dep = readDeployment(args);
    // Checked before any artifact is loaded: a mistyped flag fails at once.
    const specs = serveSpecs(args, dep);
    const batchWait = intFlag(args, "batch-wait", 30)!;
    const threads = intFlag(args, "threads");
    const { setProverThreads } = await import("../../prove/threads.ts");
    if (threads !== undefined) setProverThreads(threads);

    // Artifacts first: a corrupted zkey, wasm or quantized model is refused before anything touches the chain.
    const { loadModelArtifacts, circuitMode } = await import("../../prove/prove-request.ts");
    const { Prover } = await import("../../prove/prover.ts");
    type ServedModel = import("../../validator/daemon.ts").ServedModel;
    const models: ServedModel[] = [];
    for (const spec of specs) {
      if (spec.universal) {
        const { loadUniversalArtifacts } = await import("../../prove/prove-request.ts");
        const universal = await integrity(() => loadUniversalArtifacts(spec.manifest));
        if (universal.manifest.publicSignals[0] === "fold")
          throw usageError(
            `model ${spec.modelId}: ${universal.manifest.circuit} is a batch circuit; give it as a batch size`,
          );
        const universalBatches = new Map<number, typeof universal>();
        for (const [k, file] of spec.batch) {
          const batch = await integrity(() => loadUniversalArtifacts(file));
          if (batch.manifest.publicSignals[0] !== "fold")
            throw usageError(
              `model ${spec.modelId}: batch ${k}=${file}: ${batch.manifest.circuit} is not a batch circuit`,
            );
          universalBatches.set(k, batch);
        }
        models.push({ modelId: spec.modelId, universal, universalBatches });
        continue;
      }
      const artifacts = await integrity(() => loadModelArtifacts(spec.manifest, { quantizedFile: spec.quantized }));
      if (circuitMode(artifacts.prover) === "batch")
        throw usageError(
          `model ${spec.modelId}: ${artifacts.prover.manifest.circuit} is a batch circuit; give it as a batch size`,
        );
      const batchProvers = new Map<number, Awaited<ReturnType<typeof Prover.load>>>();
      for (const [k, file] of spec.batch) {
        const batchProver = await integrity(() => Prover.load(file));
        if (circuitMode(batchProver) !== "batch")
          throw usageError(
            `model ${spec.modelId}: batch ${k}=${file}: ${batchProver.manifest.circuit} is not a batch circuit`,
          );
        batchProvers.set(k, batchProver);
      }
      models.push({ modelId: spec.modelId, artifacts, batchProvers });
    }

    quietSqliteWarning(); // before node:sqlite is first loaded (daemon.ts loads the journal)
    // A daemon may start before its node is reachable: wait for it with the daemon's backoff.
    const { isTransientRpcError, jsonLogger } = await import("../../validator/daemon.ts");
    const log = jsonLogger();
    let connection: Awaited<ReturnType<typeof connect>> & { chainId: bigint };
    for (let attempt = 1; ; attempt++) {
      try {
        const c = await connect(args, dep);
        const chainId = await checkDeployment(c.ethers.provider, dep);
        connection = { ...c, chainId };
        break;
      } catch (err) {
        if (!isTransientRpcError(err)) throw err;
        const retryInMs = Math.min(8000, 250 * 2 ** Math.min(attempt - 1, 10));
        log({
          event: "rpc-error",
          level: "warn",
          during: "connect",
          attempt,
          retryInMs,
          error: (err as Error).message,
        });
        await new Promise((r) => setTimeout(r, retryInMs));
      }
    }
    const { signer, chainId } = connection;
    const { connectMarket } = await import("../../chain/protocol.ts");
    const market = connectMarket(dep.deployment.market, signer);
    const address = await signer.getAddress();
    if (args.flags.has("mint-stake")) {
      const { TestToken__factory } = await import("../../../types/ethers-contracts/index.js");
      await onChain("minting the stake failed (is the stake token a TestToken?)", async () => {
        const { minStake } = await market.params();
        await (await TestToken__factory.connect(await market.stakeToken(), signer).mint(address, minStake)).wait();
      });
    }
    const journalFile =
      flag(args, "journal") ?? path.join(".poi", `validator-${chainId}-${address.toLowerCase()}.sqlite`);

    const { Journal } = await import("../../validator/journal.ts");
    const { ValidatorDaemon, DaemonFatalError } = await import("../../validator/daemon.ts");
    const journal = Journal.open(journalFile);
    const daemon = new ValidatorDaemon({
      market,
      signer,
      models,
      journal,
      minFee: tokenFlag(args, "min-fee", 0n)!,
      fromBlock: intFlag(args, "from-block", dep.deployment.deployedAtBlock ?? 0),
      pollMs: intFlag(args, "poll-ms", 1000),
      deadlineMarginSeconds: intFlag(args, "deadline-margin", 10),
      exitWhenIdle: args.flags.has("exit-when-idle"),
      batchWaitSeconds: batchWait,
      log,
    });
    const stop = () => daemon.stop();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const counts: Record<string, number> = {};
    try {
      await daemon.run();
      for (const r of journal.all()) counts[r.state] = (counts[r.state] ?? 0) + 1;
    } catch (err) {
      if (err instanceof DaemonFatalError) {
        throw new CliError(err.message, /stake/.test(err.message) ? EXIT.chain : EXIT.integrity);
      }
      throw err;
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      journal.close();
    }
    return {
      json: { journal: journalFile, requests: counts },
      text: `validator stopped; journal ${journalFile}: ${JSON.stringify(counts)}`,
    };
  },
};

/** `--batch 4=a.json,8=b.json` as [[4, "a.json"], [8, "b.json"]]. */
function batchFlag(value: string | undefined): [number, string][] {
  if (value === undefined) return [];
  const seen = new Set<number>();
  return value.split(",").map((part) => {
    const m = /^(\d+)=(.+)$/.exec(part.trim());
    const k = m ? Number(m[1]) : NaN;
    if (!m || k < 2)
      throw usageError(`--batch takes K=MANIFEST pairs with K >= 2 (e.g. 4=manifest.json), got "${part}"`);
    if (seen.has(k)) throw usageError(`--batch names size ${k} twice`);
    seen.add(k);
    return [k, m[2]];
  });
}

interface ServeSpec {
  modelId: bigint;
  manifest: string;
  /** The manifest is a universal-mode model's (PLONK): no other quantized model, no batch. */
  universal: boolean;
  quantized?: string;
  batch: [number, string][];
}

const UNIVERSAL_MANIFEST_FORMAT = "poi-universal-manifest/1";

/** True if `file` is a universal manifest (`poi setup --proof-system plonk`); a usage error if it is no JSON. */
function isUniversal(file: string, what: string): boolean {
  const m = readJsonFile(file, what) as { format?: unknown } | null;
  return m?.format === UNIVERSAL_MANIFEST_FORMAT;
}

/**
 * A batch circuit's manifest: a universal manifest (PLONK) for a universal-mode model, an artifact
 * manifest (Groth16) for the others; a usage error naming `what` for the other kind.
 */
function batchManifest(file: string, universal: boolean, what: string): string {
  if (!universal) return manifestArg(file, `${what} manifest`);
  if (!isUniversal(file, `${what} manifest`))
    throw usageError(
      `${what}: ${file} is no universal manifest; a universal-mode model's batch circuits are PLONK ones`,
    );
  return file;
}

/**
 * The models to serve: the one of --model-id/--manifest/--quantized/--batch (default: the
 * deployment's), and one per --serve spec.
 */
function serveSpecs(args: Parameters<Command["run"]>[0], dep: ReturnType<typeof readDeployment>): ServeSpec[] {
  const specs: ServeSpec[] = [];
  const serve = (flag(args, "serve") ?? "").split(/\s+/).filter(Boolean);
  const explicit =
    bigintFlag(args, "model-id") !== undefined || flag(args, "manifest") !== undefined || serve.length === 0;
  if (explicit) {
    const modelId =
      bigintFlag(args, "model-id") ?? (dep.deployment.modelId ? BigInt(dep.deployment.modelId) : undefined);
    if (modelId === undefined) throw usageError("--model-id is required (the deployment file names no model)");
    const quantized = flag(args, "quantized");
    const given = flag(args, "manifest");
    const universal = given !== undefined && isUniversal(given, "--manifest");
    if (universal && quantized !== undefined)
      throw usageError(
        `--manifest ${given} is a universal-mode model's: it pins its quantized model (drop --quantized)`,
      );
    specs.push({
      modelId,
      manifest: universal ? given : manifestFile(args, dep),
      universal,
      quantized: quantized === undefined ? undefined : existingFile(quantized, "--quantized"),
      batch: batchFlag(flag(args, "batch")).map(([k, file]) => [k, batchManifest(file, universal, `--batch ${k}`)]),
    });
  } else if (flag(args, "quantized") !== undefined || flag(args, "batch") !== undefined) {
    throw usageError("--quantized and --batch apply to --model-id/--manifest; with --serve put them in the spec");
  }
  for (const text of serve) {
    const [head, ...options] = text.split(";");
    const m = /^(\d+)=(.+)$/.exec(head!);
    if (!m) throw usageError(`--serve takes ID=MANIFEST[;quantized=FILE][;batch=K:MANIFEST,...], got "${text}"`);
    const universal = isUniversal(m[2]!, `--serve ${m[1]}: manifest`);
    const spec: ServeSpec = {
      modelId: BigInt(m[1]!),
      manifest: universal ? m[2]! : manifestArg(m[2]!, `--serve ${m[1]}: manifest`),
      universal,
      batch: [],
    };
    for (const option of options) {
      const [key, value] = option.split(/=(.*)/s);
      if (key === "quantized" && universal)
        throw usageError(
          `--serve ${m[1]}: ${m[2]} is a universal-mode model's manifest: it pins its quantized model (no quantized=)`,
        );
      if (key === "quantized" && value) spec.quantized = existingFile(value, `--serve ${m[1]}: quantized model`);
      else if (key === "batch" && value)
        spec.batch = batchFlag(value.replaceAll(":", "=")).map(([k, file]) => [
          k,
          batchManifest(file, universal, `--serve ${m[1]}: batch ${k}`),
        ]);
      else throw usageError(`--serve ${m[1]}: unknown option "${option}" (quantized=FILE or batch=K:MANIFEST,...)`);
    }
    specs.push(spec);
  }
  const seen = new Set<bigint>();
  for (const s of specs) {
    if (seen.has(s.modelId)) throw usageError(`model ${s.modelId} is named twice`);
    seen.add(s.modelId);
  }
  return specs;
}
