/**
 * What the toolkit's commands share: exit codes, flag readers, progress output, network
 * connection (Hardhat's network manager, so keys come from the config and its keystore) and
 * the deployment file.
 *
 * Exit codes (also in the README):
 *   0  success
 *   1  unexpected failure (a bug, or an error nobody classified)
 *   2  usage: unknown command or option, missing or malformed argument, missing input file
 *   3  refused for integrity: an artifact whose sha256 differs from the manifest, an unknown
 *      ptau, a key whose gamma equals delta, a journal made for another chain or validator
 *   4  chain: the node is unreachable, a transaction reverted, a contract is missing
 *   5  checked and false: a proof or a setup that does not verify
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
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

/** The flags every chain command takes. */
export const NETWORK_FLAGS = ["network", "rpc-url", "account"] as const;
export const NETWORK_HELP = [
  "  --network NAME     a network of hardhat.config.ts (default: the in-process chain, which lives",
  "                     only as long as this command; use localhost with `npx hardhat node`)",
  "  --rpc-url URL      override the network's url (e.g. a node on another port)",
  "  --account N|ADDR   signer: index or address among the network's accounts (keys come from the",
  "                     config, i.e. Hardhat's keystore via configVariable, never from files)",
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

/**
 * Progress on stderr for a long step: a line that counts seconds (and a bar when the step
 * reports "i/n") on a terminal, a start and an end line otherwise; silent with --json.
 */
export async function progress<T>(
  args: ParsedArgs,
  label: string,
  fn: (report: (fraction: number) => void, logger: SnarkjsLogger) => Promise<T>,
): Promise<T> {
  const quiet = args.flags.has("json");
  const tty = process.stderr.isTTY && !quiet;
  const t0 = performance.now();
  let fraction: number | undefined;
  const render = () => {
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    const bar =
      fraction === undefined
        ? ""
        : ` [${"#".repeat(Math.round(fraction * 20)).padEnd(20, ".")}] ${Math.round(fraction * 100)}%`;
    process.stderr.write(`\rpoi ${label}${bar} ${s} s\x1b[K`);
  };
  const timer = tty ? setInterval(render, 200) : undefined;
  if (!quiet && !tty) process.stderr.write(`poi ${label} ...\n`);
  const report = (f: number) => {
    fraction = Math.max(0, Math.min(1, f));
  };
  // snarkjs reports loops as "... i/n" at debug level: turn them into the bar.
  const onLine = (msg: string) => {
    const m = /(\d+)\/(\d+)\s*$/.exec(msg);
    if (m && Number(m[2]) > 0) report(Number(m[1]) / Number(m[2]));
  };
  const logger: SnarkjsLogger = { debug: onLine, info: onLine, warn: () => {}, error: () => {} };
  try {
    const v = await fn(report, logger);
    if (timer) clearInterval(timer);
    if (!quiet)
      process.stderr.write(
        `${tty ? "\r" : ""}poi ${label}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s${tty ? "\x1b[K" : ""}\n`,
      );
    return v;
  } catch (err) {
    if (timer) clearInterval(timer);
    if (tty) process.stderr.write("\n");
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
 * including keystore entries, are what signs) and picks the signer.
 */
export async function connect(args: ParsedArgs) {
  const { default: hre } = await import("hardhat");
  const network = flag(args, "network");
  const url = flag(args, "rpc-url");
  if (url && !network) throw usageError("--rpc-url needs --network (the network whose url it overrides)");
  const conn = await onChain(`cannot open network ${network ?? "(in-process)"}`, () =>
    hre.network.create(url ? { network, override: { url } } : network ? { network } : undefined),
  );
  const { ethers } = conn;
  const signer = await pickSigner(args, ethers);
  return { hre, conn, ethers, signer, networkName: network ?? "hardhat" };
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
}

export const defaultDeploymentFile = (network: string) => `poi-deployment.${network}.json`;

export function deploymentFile(args: ParsedArgs): string {
  return flag(args, "deployment") ?? defaultDeploymentFile(flag(args, "network") ?? "hardhat");
}

export function readDeployment(args: ParsedArgs): { file: string; deployment: Deployment } {
  const file = deploymentFile(args);
  if (!existsSync(file))
    throw usageError(`deployment file ${file} does not exist: run poi deploy, or pass --deployment`);
  const deployment = JSON.parse(readFileSync(file, "utf8")) as Deployment;
  if (deployment.format !== "poi-deployment/1") throw usageError(`${file} is not a poi deployment file`);
  return { file, deployment };
}

export function writeDeployment(file: string, d: Deployment): void {
  writeFileSync(file, JSON.stringify(d, null, 2) + "\n");
}

/** The manifest named by --manifest or by the deployment file. */
export function manifestFile(args: ParsedArgs, deployment?: { file: string; deployment: Deployment }): string {
  const m = flag(args, "manifest");
  if (m) return existingFile(m, "manifest");
  if (deployment?.deployment.manifest)
    return existingFile(path.resolve(path.dirname(deployment.file), deployment.deployment.manifest), "manifest");
  throw usageError(
    "--manifest is required (the artifact manifest of the circuit, e.g. circuits/build/mnist-mlp/manifest.json)",
  );
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
