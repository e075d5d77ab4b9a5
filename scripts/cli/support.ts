/**
 * What the toolkit's commands share: exit codes, flag readers, progress output, network
 * connection (Hardhat's network manager, so keys come from the config and its keystore) and
 * the deployment file.
 *
 * Exit codes (also in the README's table):
 *   0  success
 *   1  unexpected failure: a bug, or an error nobody classified (the message says so)
 *   2  usage or bad input: unknown command or option, missing or malformed argument or file
 *      (malformed JSON named with its position), an input value out of range, a model the
 *      compiler refuses, an existing deployment file without --force, an unfunded requester
 *   3  refused for integrity: an artifact whose sha256 differs from the manifest, an unknown
 *      ptau, a key whose gamma equals delta, a journal made for another chain or validator, a
 *      chain reset under a running validator
 *   4  chain: the node is unreachable, a transaction reverted, the chain or the market is not
 *      the deployment file's
 *   5  checked and false: a proof or a setup that does not verify
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import cliProgress from "cli-progress";
import { parseUnits, type Signer } from "ethers";

/**
 * The dispatcher's contract: parsed arguments and a command. It lives here, with the helpers the
 * command modules import, so that they never import the dispatcher (scripts/cli/poi.ts) that
 * imports them; poi.ts takes it from here.
 */
export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string>;
}

export interface Command {
  name: string;
  usage: string;
  summary: string;
  /** Flags that take a value; every other flag is boolean. */
  valueFlags: readonly string[];
  booleanFlags: readonly string[];
  /** Returns what to print: an object (printed as JSON with --json) and its text form. */
  run(args: ParsedArgs): Promise<{ json: unknown; text: string }>;
}

export const EXIT = { ok: 0, internal: 1, usage: 2, integrity: 3, chain: 4, invalid: 5 } as const;

/** An error that carries the exit code the CLI returns for it. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export const usageError = (m: string) => new CliError(m, EXIT.usage);

/** The exit code for an error thrown by a command. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  const e = err as { exitCode?: unknown };
  if (typeof e?.exitCode === "number") return e.exitCode;
  return EXIT.internal;
}

/** Runs `fn`, turning any error into an integrity refusal (exit 3). */
export async function integrity<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError((err as Error).message, EXIT.integrity);
  }
}

/** Runs `fn`, turning any error into a chain error (exit 4) with the node's short message. */
export async function onChain<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CliError) throw err;
    const o = err as { shortMessage?: string; message?: string };
    throw new CliError(`${what}: ${(o.shortMessage ?? o.message ?? String(err)).split("\n")[0]}`, EXIT.chain);
  }
}

export function flag(args: ParsedArgs, name: string): string | undefined {
  return args.flags.get(name);
}

export function required(args: ParsedArgs, name: string, what: string): string {
  const v = args.flags.get(name);
  if (v === undefined || v === "true") throw usageError(`--${name} is required: ${what}`);
  return v;
}

export function intFlag(args: ParsedArgs, name: string, fallback?: number): number | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw usageError(`--${name} takes a non-negative integer, got "${v}"`);
  return n;
}

export function bigintFlag(args: ParsedArgs, name: string, fallback?: bigint): bigint | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return fallback;
  try {
    const n = BigInt(v);
    if (n < 0n) throw new Error();
    return n;
  } catch {
    throw usageError(`--${name} takes a non-negative integer, got "${v}"`);
  }
}

/** An amount in token units with 18 decimals ("1.5" is 1.5 tokens). */
export function tokenFlag(args: ParsedArgs, name: string, fallback?: bigint): bigint | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return fallback;
  try {
    return parseUnits(v, 18);
  } catch {
    throw usageError(`--${name} takes an amount in tokens (e.g. 1.5), got "${v}"`);
  }
}

export function existingFile(file: string, what: string): string {
  if (!existsSync(file)) throw usageError(`${what} ${file} does not exist`);
  return file;
}

/** `file`, once it is known to exist and to hold well-formed JSON (else a usage error naming it). */
export function jsonFile(file: string, what: string): string {
  readJsonFile(file, what);
  return file;
}

/**
 * `file`, once it is known to be an artifact manifest with every entry the toolkit reads (else a
 * usage error naming the file and the first missing entry), so that no reader of it fails on a
 * missing field with a bare JavaScript error.
 */
export function manifestArg(file: string, what = "manifest"): string {
  const m = readJsonFile(file, what) as Record<string, unknown> | null;
  const artifacts = (m?.artifacts ?? {}) as Record<string, { path?: unknown; sha256?: unknown } | undefined>;
  const missing =
    m?.format !== "poi-artifact-manifest/1"
      ? '"format": "poi-artifact-manifest/1"'
      : typeof m.circuit !== "string"
        ? '"circuit"'
        : !Array.isArray(m.publicSignals)
          ? '"publicSignals"'
          : typeof m.vkHash !== "string"
            ? '"vkHash"'
            : ["r1cs", "wasm", "zkey", "vkey", "verifier", "transcript"].find(
                (a) => typeof artifacts[a]?.path !== "string" || typeof artifacts[a]?.sha256 !== "string",
              );
  if (missing)
    throw usageError(
      `${what} ${file} is not a poi artifact manifest: ${missing.startsWith('"') ? missing : `artifact "${missing}" (path and sha256)`} is missing`,
    );
  return file;
}

/**
 * A JSON file's content, or a usage error (exit 2) naming the file and, for malformed JSON, the
 * position (line and column) of the fault.
 */
export function readJsonFile(file: string, what: string): unknown {
  existingFile(file, what);
  const text = readFileSync(file, "utf8");
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    let where = "";
    if (at && !/line \d+ column \d+/.test(message)) {
      const before = text.slice(0, Number(at[1])).split("\n");
      where = ` (line ${before.length} column ${before[before.length - 1]!.length + 1})`;
    }
    throw usageError(`${what} ${file} is not valid JSON: ${message}${where}`);
  }
}

/** The flags every chain command takes. */
export const NETWORK_FLAGS = ["network", "rpc-url", "account", "deployment"] as const;
export const NETWORK_HELP = [
  "  --network NAME     a network of hardhat.config.ts (default: the in-process chain, which lives",
  "                     only as long as this command; use localhost with `npx hardhat node`)",
  "  --rpc-url URL      the node's url, overriding the network's (e.g. a node on another port); poi deploy",
  "                     keeps it in the deployment file, which later commands then use",
  "  --account N|ADDR   signer: index or address among the network's accounts (keys come from the",
  "                     config, i.e. Hardhat's keystore via configVariable, never from files)",
  "  --deployment FILE  the deployment file poi deploy wrote (default poi-deployment.<network>.json)",
].join("\n");

/**
 * poi's own lines on stderr, and only those, start with "poi: " (or "poi " before a progress
 * label), one prefix per line: anything else on stderr came from a library or from Node, and
 * the output test (test/scripts/clean-output.test.ts) fails on it.
 */
export function stderrLines(text: string): string {
  return text
    .split("\n")
    .map((l) => `poi: ${l}`)
    .join("\n");
}

/** Where the duration of each long step is kept, for the next run's estimate. */
function timingsFile(): string {
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(cache, "poi", "step-times.json");
}

function readTimings(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(timingsFile(), "utf8")) as Record<string, number>;
  } catch {
    return {}; // no earlier run (or an unreadable record): no estimate from history
  }
}

function rememberTiming(label: string, seconds: number): void {
  try {
    const all = readTimings();
    all[label] = seconds;
    mkdirSync(path.dirname(timingsFile()), { recursive: true });
    writeFileSync(timingsFile(), JSON.stringify(all, null, 2) + "\n");
  } catch {
    // The record only feeds estimates: a read-only cache costs the next estimate, nothing else.
  }
}

const clock = (s: number) =>
  s >= 60 ? `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, "0")} s` : `${s.toFixed(0)} s`;

/**
 * Progress on stderr for a long step. On a terminal: a bar (cli-progress) with the elapsed time and
 * an estimate of the time left, from the fraction the step reports ("i/n" lines of snarkjs) or,
 * when it reports none, from the duration of the same step on this machine last time. When stderr
 * is not a terminal: a start and an end line. Silent with --json. `stage` names the current part
 * of the step (the bar's label on a terminal, a line otherwise).
 */
export async function progress<T>(
  args: ParsedArgs,
  label: string,
  fn: (report: (fraction: number) => void, logger: SnarkjsLogger, stage: (text: string) => void) => Promise<T>,
  stream: NodeJS.WriteStream = process.stderr,
): Promise<T> {
  const quiet = args.flags.has("json");
  const tty = Boolean(stream.isTTY) && !quiet;
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const expected = tty ? readTimings()[label] : undefined;
  let fraction: number | undefined;
  let stageText = "";
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          stream,
          format: "poi {label} [{bar}] {percentage}% | {elapsed} elapsed, {estimate}",
          barsize: 20,
          hideCursor: false,
          clearOnComplete: true,
          noTTYOutput: false,
          fps: 5,
        },
        cliProgress.Presets.legacy,
      )
    : undefined;
  const render = () => {
    const e = elapsed();
    let f = fraction;
    let estimate: string;
    if (f !== undefined && f > 0) estimate = `about ${clock((e * (1 - f)) / f)} left`;
    else if (expected !== undefined) {
      f = Math.min(0.99, e / expected);
      estimate =
        e < expected
          ? `about ${clock(expected - e)} left (last run ${clock(expected)})`
          : "taking longer than last run";
    } else estimate = "no estimate yet (first run on this machine)";
    bar!.update(Math.round((f ?? 0) * 1000), {
      label: stageText ? `${label}: ${stageText}` : label,
      elapsed: clock(e),
      estimate,
    });
  };
  if (bar) {
    bar.start(1000, 0, { label, elapsed: "0 s", estimate: "" });
    render();
  } else if (!quiet) stream.write(`poi ${label} ...\n`);
  const timer = bar ? setInterval(render, 250) : undefined;
  const report = (f: number) => {
    fraction = Math.max(0, Math.min(1, f));
  };
  const stage = (text: string) => {
    stageText = text;
    if (!tty && !quiet) stream.write(stderrLines(text) + "\n");
  };
  // snarkjs reports loops as "... i/n" at debug level: turn them into the bar.
  const onLine = (msg: string) => {
    const m = /(\d+)\/(\d+)\s*$/.exec(msg);
    if (m && Number(m[2]) > 0) report(Number(m[1]) / Number(m[2]));
  };
  const logger: SnarkjsLogger = { debug: onLine, info: onLine, warn: () => {}, error: () => {} };
  const end = () => {
    if (timer) clearInterval(timer);
    bar?.stop();
  };
  try {
    const v = await fn(report, logger, stage);
    end();
    const seconds = elapsed();
    if (tty) rememberTiming(label, seconds);
    if (!quiet) stream.write(`poi ${label}: done in ${seconds.toFixed(1)} s\n`);
    return v;
  } catch (err) {
    end();
    throw err;
  }
}

export interface SnarkjsLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** A line for humans on stderr (nothing with --json, where stdout carries the result). */
export function note(args: ParsedArgs, line: string): void {
  if (!args.flags.has("json")) process.stderr.write(stderrLines(line) + "\n");
}

/**
 * Connects to the chosen network through Hardhat (so that `accounts` in hardhat.config.ts,
 * including keystore entries, are what signs) and picks the signer. With a deployment file, its
 * network and node url are the defaults (--network and --rpc-url override them).
 */
export async function connect(args: ParsedArgs, dep?: { file: string; deployment: Deployment }) {
  const { default: hre } = await import("hardhat");
  const fromFile = dep && dep.deployment.network !== "hardhat" ? dep.deployment : undefined;
  const network = flag(args, "network") ?? fromFile?.network;
  const url = flag(args, "rpc-url") ?? (fromFile && fromFile.network === network ? fromFile.rpcUrl : undefined);
  if (url && !network) throw usageError("--rpc-url needs --network (the network whose url it overrides)");
  const conn = await onChain(`cannot open network ${network ?? "(in-process)"}`, () =>
    hre.network.create(url ? { network, override: { url } } : network ? { network } : undefined),
  );
  const { ethers } = conn;
  const signer = await pickSigner(args, ethers);
  return { hre, conn, ethers, signer, networkName: network ?? "hardhat", rpcUrl: url };
}

/**
 * Reads the deployment file, connects to its chain, and checks that the chain is the one the file
 * was written for and that the market has code at its address, so that a stale file (a restarted
 * dev node, another network) gets a plain answer instead of an undecodable call (exit 4).
 */
export async function connectDeployment(args: ParsedArgs) {
  const dep = readDeployment(args);
  const c = await connect(args, dep);
  const chainId = await checkDeployment(c.ethers.provider, dep);
  const { connectMarket } = await import("../chain/protocol.ts");
  return { ...c, dep, chainId, market: connectMarket(dep.deployment.market, c.signer) };
}

/** The checks of {@link connectDeployment} on a connected provider; returns the chain id. */
export async function checkDeployment(
  provider: { getNetwork(): Promise<{ chainId: bigint }>; getCode(a: string): Promise<string> },
  dep: { file: string; deployment: Deployment },
): Promise<bigint> {
  const { chainId } = await onChain("cannot reach the node", () => provider.getNetwork());
  const code = await onChain("cannot reach the node", () => provider.getCode(dep.deployment.market));
  const written = `the deployment file ${dep.file} was written for chain ${dep.deployment.chainId}`;
  if (code === "0x")
    throw new CliError(
      `no market at ${dep.deployment.market} on chain ${chainId} (${written}` +
        (dep.deployment.network === "hardhat"
          ? "; the in-process chain lives only as long as one command: deploy with --network localhost and a `npx hardhat node`)"
          : chainId.toString() === dep.deployment.chainId
            ? "; a development node restarted since has a fresh chain: run poi deploy again)"
            : ")"),
      EXIT.chain,
    );
  if (chainId.toString() !== dep.deployment.chainId)
    throw new CliError(
      `the node is chain ${chainId}, but ${written}: pass the right --network or --rpc-url`,
      EXIT.chain,
    );
  return chainId;
}

export async function pickSigner(
  args: ParsedArgs,
  ethers: HardhatEthers,
  which = flag(args, "account"),
): Promise<Signer> {
  const signers = await onChain("cannot list the network's accounts", () => ethers.getSigners());
  if (signers.length === 0) throw usageError("the network has no accounts: configure `accounts` (keystore) for it");
  if (which === undefined) return signers[0];
  if (/^\d+$/.test(which)) {
    const s = signers[Number(which)];
    if (!s) throw usageError(`--account ${which}: the network has ${signers.length} accounts`);
    return s;
  }
  const s = signers.find((x) => x.address.toLowerCase() === which.toLowerCase());
  if (!s) throw usageError(`--account ${which} is not among the network's accounts`);
  return s;
}

/** Where `poi deploy` writes the addresses and later commands read them. */
export interface Deployment {
  format: "poi-deployment/1";
  network: string;
  chainId: string;
  /** Development token the deployment's reference model is priced in, and the stake token. */
  token: string;
  /** Governance registry of shared (committed-mode) circuits. */
  circuits?: string;
  registry: string;
  market: string;
  /** The reference model registered at deployment, if any. */
  modelId?: string;
  verifier?: string;
  /** Manifest of the registered model, relative to the deployment file. */
  manifest?: string;
  deployedAtBlock: number;
  /** Whether the registry takes universal keys of insecure development ceremonies (as it said at deployment). */
  acceptsInsecureCeremonies?: boolean;
  /** The node's url, when poi deploy was given --rpc-url: later commands use it by default. */
  rpcUrl?: string;
}

export const defaultDeploymentFile = (network: string) => `poi-deployment.${network}.json`;

export function deploymentFile(args: ParsedArgs): string {
  return flag(args, "deployment") ?? defaultDeploymentFile(flag(args, "network") ?? "hardhat");
}

export function readDeployment(args: ParsedArgs): { file: string; deployment: Deployment } {
  const file = deploymentFile(args);
  if (!existsSync(file))
    throw usageError(`deployment file ${file} does not exist: run poi deploy, or pass --deployment`);
  const deployment = readJsonFile(file, "deployment file") as Deployment;
  if (deployment?.format !== "poi-deployment/1" || typeof deployment.market !== "string")
    throw usageError(`${file} is not a poi deployment file (no "format": "poi-deployment/1" and market address)`);
  return { file, deployment };
}

export function writeDeployment(file: string, d: Deployment): void {
  writeFileSync(file, JSON.stringify(d, null, 2) + "\n");
}

/** The manifest named by --manifest or by the deployment file. */
export function manifestFile(args: ParsedArgs, deployment?: { file: string; deployment: Deployment }): string {
  const m = flag(args, "manifest");
  if (m) return manifestArg(m);
  if (deployment?.deployment.manifest)
    return manifestArg(path.resolve(path.dirname(deployment.file), deployment.deployment.manifest));
  throw usageError(
    "--manifest is required (the artifact manifest of the circuit, e.g. circuits/build/mnist-mlp/manifest.json)",
  );
}

/**
 * An artifact manifest given on the command line: a missing or malformed file is a usage error
 * naming it (and the position of the fault), a file that is not a manifest an integrity refusal.
 */
export async function loadManifest(file: string): Promise<import("../setup/manifest.ts").Manifest> {
  manifestArg(file);
  const { readManifest } = await import("../setup/manifest.ts");
  return integrity(() => readManifest(file));
}

/** JSON with bigints as decimal strings. */
export const plain = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)));

/**
 * Drops Node's one-time "SQLite is an experimental feature" warning (node:sqlite is stable
 * enough for the journal, and the warning reads like a fault on a validator's console).
 * Call before node:sqlite is first imported.
 */
export function quietSqliteWarning(): void {
  const emit = process.emitWarning.bind(process) as (...a: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(warning instanceof Error ? warning.message : warning).includes("SQLite is an experimental")) return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}
