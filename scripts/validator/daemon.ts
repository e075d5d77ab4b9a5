/**
 * The validator daemon: watches the market's InferenceRequested events for the models it serves
 * (any compiled model: baked MLPs and CNNs, committed models, each with its batch circuits, and
 * universal-mode models, proved with PLONK through proveUniversalRequest and settled with
 * fulfilUniversal, or in batches with their PLONK batch circuits and fulfilBatchUniversal),
 * claims the requests whose fee meets its minimum, proves them through the one proving path
 * (scripts/prove/prove-request.ts) with each model's warm Prover and fulfils them.
 *
 * Crash safety comes from the journal (journal.ts): every step is journalled before it is taken,
 * and every step is idempotent given the journal and the chain. The work on a request is a
 * small state machine that reads the request's on-chain state first, on every pass:
 *
 *   seen ─► claiming(nonce) ─► claimed ─► proved ─► submitting(nonce) ─► fulfilled
 *     └─► skipped (fee below minimum, bad input)     any state ─► lost (someone else fulfilled)
 *                                                     any state ─► expired (deadline too close)
 *
 * A transaction is journalled with the nonce it will use before it is sent. On restart, a
 * nonce that the chain has consumed means the transaction was mined (the request's state says
 * whether it worked); an unconsumed one means it never got out, and it is sent again with that
 * same nonce. Either way at most one claim and one fulfilment per attempt can execute.
 *
 * Batching: with batch circuits declared for a model (`batchProvers`) for sizes the registry has
 * a batch verifier for, a claimed request is not proved alone at once. Each pass hands the claimed
 * requests to the grouping policy (batch-policy.ts): full groups of the largest size go out as one
 * fulfilBatch; a leftover group waits for companions, at most `batchWaitSeconds` and never past
 * the point where proving it would no longer fit before its deadline or claim window, and then
 * goes out in smaller batches or singly. A batch attempt is journalled (requests and then nonce)
 * before it is proved and sent, like a single fulfilment:
 *
 *   planned ─► proved ─► submitting(nonce) ─► settled        any state ─► abandoned
 *
 * An abandoned batch (one of its requests fulfilled by a competitor, refunded, too close to its
 * deadline, or the transaction reverted) hands its requests back to `claimed`: the ones still
 * open are planned again, since a fulfilBatch holding a settled request reverts as a whole.
 *
 * RPC failures (refused connections, timeouts, resets) abort the current pass; the loop
 * retries it with exponential backoff, and the journal makes the retry pick up where the
 * failed pass stopped. Each pass first checks that the chain is still the journal's: a node
 * restarted with a fresh chain (another chain id or genesis block, or no market code at the
 * market's address) stops the daemon with a DaemonFatalError instead of idling on a chain that
 * holds none of its requests.
 */
import { getBytes, hexlify, keccak256, ZeroAddress, type Signer } from "ethers";
import { IModelRegistry__factory, type InferenceMarket } from "../../types/ethers-contracts/index.js";
import { bindingFor, ensureStaked, fulfilmentOf, RequestStatus, supportedBatchSizes } from "../chain/validator.ts";
import {
  checkRequestInput,
  circuitMode,
  ProofRefusedError,
  proveRequests,
  proveUniversalRequest,
  proveUniversalRequests,
  type ModelArtifacts,
  type UniversalArtifacts,
} from "../prove/prove-request.ts";
import type { QuantizedGraph } from "../model/quantize-graph.ts";
import { committedModelCommitment } from "../prove/committed-input.ts";
import { requestOnChain, requestsOnChain, type RequestOnChain } from "../chain/terms.ts";
import type { Prover } from "../prove/prover.ts";
import type { PlonkProofWords } from "../setup/plonk-setup.ts";
import { decideBatches, ProvingClock, type BatchCandidate } from "./batch-policy.ts";
import {
  FINAL_STATES,
  JournalMismatchError,
  type Journal,
  type JournalBatch,
  type JournalRequest,
  type RequestState,
} from "./journal.ts";

/**
 * One model the daemon serves: its registry id and either its Groth16 artifacts (with its batch
 * circuits) or, for a universal-mode model, its PLONK artifacts (with its PLONK batch circuits).
 */
export type ServedModel =
  | {
      modelId: bigint;
      /** Its single-inference prover (baked or committed circuit) and quantized model. */
      artifacts: ModelArtifacts;
      /**
       * Batch circuits of this model that the validator can prove, by batch size K (> 1). Sizes the
       * registry has no batch verifier for are ignored; none at all means one proof per request.
       */
      batchProvers?: ReadonlyMap<number, Prover>;
      universal?: undefined;
    }
  | {
      modelId: bigint;
      /** A universal-mode model: its PLONK prover, key manifest and quantized model. */
      universal: UniversalArtifacts;
      /** Its PLONK batch circuits, by batch size K (> 1), as `batchProvers` are for Groth16. */
      universalBatches?: ReadonlyMap<number, UniversalArtifacts>;
      artifacts?: undefined;
      batchProvers?: undefined;
    };

/** The integer reference of a served model. */
const referenceOf = (s: ServedModel): QuantizedGraph => (s.universal ? s.universal.model : s.artifacts.model);
/** The circuit a served model is proved with. */
const circuitOf = (s: ServedModel): string =>
  s.universal ? s.universal.manifest.circuit : s.artifacts.prover.manifest.circuit;
/** The registry mode a served model must have. */
const modeOf = (s: ServedModel): "baked" | "committed" | "universal" | "batch" =>
  s.universal ? "universal" : circuitMode(s.artifacts.prover);

export interface DaemonOptions {
  market: InferenceMarket;
  signer: Signer;
  /** The models served, each with its own id (at least one). */
  models: readonly ServedModel[];
  journal: Journal;
  /** Requests paying less than this are skipped. */
  minFee: bigint;
  /** First block to scan when the journal is new (e.g. the market's deployment block). */
  fromBlock?: number;
  /** Seconds kept between "now" and a request's deadline: closer than this, nothing is sent. */
  deadlineMarginSeconds?: number;
  pollMs?: number;
  /** Largest block range per eth_getLogs call. */
  maxBlockRange?: number;
  /** Backoff after an RPC failure: doubles from `backoffMs` up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Stop once every known request is in a final state (after at least one scan). */
  exitWhenIdle?: boolean;
  /** Longest time a partial batch waits for companions, in seconds (default 30). */
  batchWaitSeconds?: number;
  log?: (entry: LogEntry) => void;
}

export interface LogEntry {
  event: string;
  level?: "info" | "warn" | "error";
  [key: string]: unknown;
}

/** JSON-lines logger on stdout; bigints become decimal strings. */
export function jsonLogger(write: (line: string) => void = (l) => process.stdout.write(l + "\n")) {
  return (entry: LogEntry): void => {
    write(
      JSON.stringify({ time: new Date().toISOString(), level: "info", ...entry }, (_k, v) =>
        typeof v === "bigint" ? v.toString() : v,
      ),
    );
  };
}

/** A refusal that retrying cannot fix: the daemon stops with it. */
export class DaemonFatalError extends Error {
  override name = "DaemonFatalError";
}

/** True for errors of the transport (node down, connection reset, timeouts), which are retried. */
export function isTransientRpcError(err: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    const o = e as { code?: unknown; message?: unknown; cause?: unknown };
    const text = `${String(o.code ?? "")} ${String(o.message ?? "")}`;
    if (
      /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|UND_ERR|socket hang up|fetch failed|NETWORK_ERROR|SERVER_ERROR|TIMEOUT|timed? ?out|Cannot connect|connection (refused|reset|closed)|other side closed/i.test(
        text,
      )
    )
      return true;
    e = o.cause;
  }
  return false;
}

/** True for a transaction or call that the contract reverted. */
export function isRevert(err: unknown): boolean {
  const o = err as { code?: unknown; message?: unknown };
  return o?.code === "CALL_EXCEPTION" || /revert/i.test(String(o?.message ?? ""));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Groth16Words = [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];

interface Timing {
  witnessMs?: number;
  proveMs?: number;
  gasUsed?: bigint;
}

/** What the daemon keeps per served model. */
interface ModelState {
  /** With a committed model's registered weights commitment, once start() has read it. */
  served: ServedModel;
  /** Batch circuits by size: Groth16 provers, or a universal-mode model's PLONK batch artifacts. */
  batchProvers: ReadonlyMap<number, Prover | UniversalArtifacts>;
  /** Batch sizes both declared here and registered for the model (empty: no batching). */
  batchSizes: number[];
  sizesKnown: boolean;
  /** Batch sizes whose circuit failed to prove here (wrong model or size): not used again this run. */
  brokenSizes: Set<number>;
  clock: ProvingClock;
  lastWaiting: string;
}

export class ValidatorDaemon {
  private stopping = false;
  private address = "";
  /** The chain the daemon started on, checked on every pass. */
  private chain: { chainId: bigint; genesisHash: string; market: string } | undefined;
  private readonly timings = new Map<bigint, Timing>();
  private readonly waitingLogged = new Set<bigint>();
  /** The served models by id. */
  private readonly models = new Map<bigint, ModelState>();
  /** When each claimed request was first seen ready to prove, in `now()` seconds. */
  private readonly readySince = new Map<bigint, bigint>();
  /** Requests the grouping policy sent out singly: `advance` proves them alone. */
  private readonly released = new Set<bigint>();
  /** Requests whose batch reverted or failed for a reason of its own: they go singly. */
  private readonly noBatch = new Set<bigint>();
  private readonly batchTimings = new Map<number, Timing>();
  private readonly o: Required<Omit<DaemonOptions, "log">> & { log: (e: LogEntry) => void };

  constructor(options: DaemonOptions) {
    this.o = {
      fromBlock: 0,
      deadlineMarginSeconds: 10,
      pollMs: 1000,
      maxBlockRange: 5000,
      backoffMs: 250,
      maxBackoffMs: 8000,
      exitWhenIdle: false,
      batchWaitSeconds: 30,
      log: jsonLogger(),
      ...options,
    } as typeof this.o;
    if (this.o.models.length === 0) throw new Error("the daemon needs at least one model to serve");
    for (const served of this.o.models) {
      if (this.models.has(served.modelId)) throw new Error(`model ${served.modelId} is served twice`);
      if (served.universal) {
        // The type forbids Groth16 batch provers; a caller without types is told so.
        if ((served as { batchProvers?: unknown }).batchProvers)
          throw new Error(
            `model ${served.modelId}: a universal-mode model's batches are PLONK circuits (universalBatches)`,
          );
        const batches = served.universalBatches ?? new Map<number, UniversalArtifacts>();
        const gates = new Map<number, number>([[1, served.universal.manifest.gates]]);
        for (const [k, b] of batches) {
          if (b.manifest.publicSignals[0] !== "fold")
            throw new Error(
              `model ${served.modelId}: ${b.manifest.circuit}, given for batch size ${k}, is not a batch circuit`,
            );
          gates.set(k, b.manifest.gates);
        }
        this.models.set(served.modelId, {
          served,
          batchProvers: batches,
          batchSizes: [],
          sizesKnown: batches.size === 0,
          brokenSizes: new Set(),
          clock: new ProvingClock(gates),
          lastWaiting: "",
        });
        continue;
      }
      const { prover } = served.artifacts;
      if (circuitMode(prover) === "batch")
        throw new Error(
          `model ${served.modelId}: ${prover.manifest.circuit} is a batch circuit; give it as a batch prover`,
        );
      const batchProvers = served.batchProvers ?? new Map<number, Prover>();
      const constraints = new Map<number, number>([[1, prover.manifest.constraints]]);
      for (const [k, p] of batchProvers) {
        if (circuitMode(p) !== "batch")
          throw new Error(
            `model ${served.modelId}: ${p.manifest.circuit}, given for batch size ${k}, is not a batch circuit`,
          );
        constraints.set(k, p.manifest.constraints);
      }
      this.models.set(served.modelId, {
        served,
        batchProvers,
        batchSizes: [],
        sizesKnown: false,
        brokenSizes: new Set(),
        clock: new ProvingClock(constraints),
        lastWaiting: "",
      });
    }
  }

  /** The state of a served model; a journalled request of another model cannot be proved here. */
  private model(modelId: bigint): ModelState | undefined {
    return this.models.get(modelId);
  }

  /** Asks the loop to stop after the step it is in. */
  stop(): void {
    this.stopping = true;
  }

  /** Runs until stopped (or idle, with exitWhenIdle). Throws only on a fatal refusal. */
  async run(): Promise<void> {
    const { log } = this.o;
    await this.retrying("start", () => this.start());
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.checkChain();
        await this.tick();
        if (failures > 0) log({ event: "rpc-recovered", after: failures });
        failures = 0;
      } catch (err) {
        if (!isTransientRpcError(err)) throw err;
        failures++;
        const delay = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** Math.min(failures - 1, 16));
        log({ event: "rpc-error", level: "warn", attempt: failures, retryInMs: delay, error: shortMessage(err) });
        await sleep(delay);
        continue;
      }
      if (this.o.exitWhenIdle && this.o.journal.pending().length === 0) break;
      await sleep(this.o.pollMs);
    }
    log({ event: "stopped" });
  }

  /** Throws a DaemonFatalError if the node's chain is no longer the one the daemon started on. */
  private async checkChain(): Promise<void> {
    const provider = this.o.signer.provider!;
    const was = this.chain!;
    // Asked of the node itself: a provider may cache the chain id it saw first.
    const raw = provider as unknown as { send?(method: string, params: unknown[]): Promise<string> };
    const chainId = raw.send ? BigInt(await raw.send("eth_chainId", [])) : (await provider.getNetwork()).chainId;
    const genesis = await provider.getBlock(0);
    const code = await provider.getCode(was.market);
    const reset =
      chainId !== was.chainId
        ? `its chain id is now ${chainId}, was ${was.chainId}`
        : genesis?.hash !== was.genesisHash
          ? `its genesis block is now ${genesis?.hash}, was ${was.genesisHash}`
          : code === "0x"
            ? `the market ${was.market} has no code on it any more`
            : undefined;
    if (reset)
      throw new DaemonFatalError(
        `the node's chain was reset while the validator ran (${reset}): stopping; the journal belongs to the old chain`,
      );
  }

  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let failures = 1; ; failures++) {
      try {
        return await fn();
      } catch (err) {
        if (!isTransientRpcError(err) || this.stopping) throw err;
        const delay = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** Math.min(failures - 1, 16));
        this.o.log({
          event: "rpc-error",
          level: "warn",
          during: what,
          attempt: failures,
          retryInMs: delay,
          error: shortMessage(err),
        });
        await sleep(delay);
      }
    }
  }

  private async start(): Promise<void> {
    const { market, signer, journal, log } = this.o;
    const provider = signer.provider!;
    this.address = await signer.getAddress();
    const { chainId } = await provider.getNetwork();
    const genesis = await provider.getBlock(0);
    this.chain = { chainId, genesisHash: genesis!.hash!, market: await market.getAddress() };
    try {
      journal.bind({
        chainId,
        genesisHash: genesis!.hash!,
        market: await market.getAddress(),
        validator: this.address,
      });
    } catch (err) {
      if (err instanceof JournalMismatchError) throw new DaemonFatalError(err.message);
      throw err;
    }
    let staked: bigint;
    try {
      staked = await ensureStaked(market, signer);
    } catch (err) {
      if (isRevert(err))
        throw new DaemonFatalError(
          `cannot stake the market's minimum for ${this.address} (${shortMessage(err)}); fund the account with the stake token`,
        );
      throw err;
    }
    for (const m of this.models.values()) {
      await this.checkRegistered(m);
      await this.discoverBatchSizes(m);
    }
    const models = [...this.models.values()];
    log({
      event: "started",
      validator: this.address,
      chainId,
      market: await market.getAddress(),
      modelIds: models.map((m) => m.served.modelId),
      minFee: this.o.minFee,
      stakedNow: staked,
      cursor: journal.cursor() ?? null,
      pending: journal.pending().length,
      models: models.map((m) => ({
        modelId: m.served.modelId,
        model: referenceOf(m.served).name,
        circuit: circuitOf(m.served),
        mode: modeOf(m.served),
        batchSizes: m.batchSizes,
      })),
      batchWaitSeconds: this.o.batchWaitSeconds,
    });
  }

  /**
   * Checks a served model against its registry entry: the circuit's mode must be the model's, and
   * a committed model's weights must open the registered commitment (which its proofs then carry).
   */
  private async checkRegistered(m: ModelState): Promise<void> {
    const { modelId } = m.served;
    const registry = IModelRegistry__factory.connect(await this.o.market.registry(), this.o.signer);
    const entry = await registry.model(modelId);
    const mode = modeOf(m.served);
    const registered = entry.mode === 2n ? "universal" : entry.mode === 1n ? "committed" : "baked";
    if (entry.owner === ZeroAddress)
      throw new DaemonFatalError(`model ${modelId} is not registered in the market's registry`);
    if (registered !== mode)
      throw new DaemonFatalError(
        `model ${modelId} is registered in ${registered} mode; ${circuitOf(m.served)} is a ${mode} circuit`,
      );
    if (m.served.universal) {
      // The registry pins the key's hash: a manifest of another key would prove what the market refuses.
      const { keyHash } = m.served.universal.manifest;
      if (keyHash.toLowerCase() !== entry.vkHash.toLowerCase())
        throw new DaemonFatalError(
          `model ${modelId}: the PLONK key of ${circuitOf(m.served)} has hash ${keyHash}, the registry pins ` +
            `${entry.vkHash}: serve the registered model's own universal manifest`,
        );
      for (const [k, b] of m.batchProvers as ReadonlyMap<number, UniversalArtifacts>) {
        // A size the registry has no key for is left out by discoverBatchSizes; a registered one must be this key.
        const key = await registry.verificationKey(modelId, k);
        if (key !== "0x" && keccak256(key) !== b.manifest.keyHash.toLowerCase())
          throw new DaemonFatalError(
            `model ${modelId}: the PLONK key of ${b.manifest.circuit} has hash ${b.manifest.keyHash}, the registry's ` +
              `key for batches of ${k} has ${keccak256(key)}: serve the registered model's own batch manifest`,
          );
      }
      return;
    }
    const { artifacts } = m.served;
    if (mode !== "committed") return;
    let commitment: bigint;
    try {
      commitment = committedModelCommitment(artifacts.model, artifacts.prover.committedArchitecture());
    } catch (err) {
      throw new DaemonFatalError(`model ${modelId}: ${(err as Error).message}`);
    }
    if (commitment !== entry.weightsCommitment)
      throw new DaemonFatalError(
        `model ${modelId}: the weights of "${artifacts.model.name}" commit to ${commitment}, the registry pins ` +
          `${entry.weightsCommitment}: serve the registered model's own quantized file`,
      );
    m.served = { ...m.served, artifacts: { ...artifacts, weightsCommitment: entry.weightsCommitment } };
  }

  /** Reads which of a model's declared batch sizes the registry has a verifier for. */
  private async discoverBatchSizes(m: ModelState): Promise<void> {
    if (m.batchProvers.size === 0) return;
    const declared = [...m.batchProvers.keys()].filter((k) => !m.brokenSizes.has(k)).sort((a, b) => a - b);
    const supported = declared.length === 0 ? [] : await supportedBatchSizes(this.o.market, m.served.modelId, declared);
    if (!m.sizesKnown || supported.join() !== m.batchSizes.join()) {
      this.o.log({
        event: "batch-sizes",
        modelId: m.served.modelId,
        declared,
        supported,
        ...(supported.length < declared.length
          ? { detail: "no batch verifier registered for the other sizes; they are not used" }
          : {}),
      });
    }
    m.batchSizes = supported;
    m.sizesKnown = true;
  }

  /** One pass: scan new blocks, then advance every unfinished request as far as it goes. */
  async tick(): Promise<void> {
    await this.scan();
    await this.claimPass();
    const open = new Set(this.o.journal.openBatches().map((b) => b.batchId));
    for (const r of this.o.journal.pending()) {
      if (this.stopping) return;
      if (r.state === "batched" && r.batchId !== null && open.has(r.batchId)) continue; // its batch decides
      await this.advance(r);
    }
    await this.batchPass();
  }

  private async scan(): Promise<void> {
    const { market, journal, log } = this.o;
    const head = await this.o.signer.provider!.getBlockNumber();
    let from = (journal.cursor() ?? this.o.fromBlock - 1) + 1;
    while (from <= head) {
      const to = Math.min(head, from + this.o.maxBlockRange - 1);
      const events = [];
      for (const modelId of this.models.keys())
        events.push(...(await market.queryFilter(market.filters.InferenceRequested(undefined, modelId), from, to)));
      events.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
      const added = journal.recordScan(
        events.map((e) => ({
          requestId: e.args.requestId,
          modelId: e.args.modelId,
          inputCommitment: e.args.inputCommitment,
          fee: e.args.fee,
          deadline: e.args.deadline,
          input: hexlify(e.args.input),
          block: e.blockNumber,
        })),
        to,
      );
      for (const r of added)
        log({ event: "request-seen", requestId: r.requestId, fee: r.fee, deadline: r.deadline, block: r.block });
      from = to + 1;
    }
  }

  /**
   * Claims every new request this validator would claim (fee at least the minimum, input opening
   * its commitment, Open on-chain, deadline not too close) with one claimBatch, up to the bonds
   * its free stake covers; all the claims share one journalled nonce, so a restart finds them as
   * it finds a single claim. A lone request, or a batch claim refused (someone claimed one
   * first), is left `seen` for {@link advance}, which claims one by one.
   */
  private async claimPass(): Promise<void> {
    const { journal, market, signer } = this.o;
    const seen = journal.pending().filter((r) => r.state === "seen" && r.fee >= this.o.minFee && !this.checkInput(r));
    if (seen.length < 2 || this.stopping) return;
    const [states, stake, params, now] = await Promise.all([
      requestsOnChain(
        market,
        seen.map((r) => r.requestId),
        Math.min(...seen.map((r) => r.block)),
      ),
      market.stakeOf(this.address),
      market.params(),
      this.now(),
    ]);
    const bonds = params.claimBond > 0n ? (stake.amount - stake.bonded) / params.claimBond : BigInt(seen.length);
    const todo = seen
      .filter(
        (r) =>
          states.get(r.requestId)!.status === RequestStatus.Open &&
          now + BigInt(this.o.deadlineMarginSeconds) <= r.deadline,
      )
      .sort((a, b) => (a.requestId < b.requestId ? -1 : 1))
      .slice(0, Number(bonds < BigInt(seen.length) ? bonds : BigInt(seen.length)));
    if (todo.length < 2) return;
    const nonce = await signer.getNonce("pending");
    for (const r of todo) this.set(r, "claiming", { nonce });
    try {
      const tx = await market.connect(signer).claimBatch(
        todo.map((r) => r.requestId),
        todo.map((r) => states.get(r.requestId)!.terms),
        { nonce },
      );
      for (const r of todo) journal.update(r.requestId, "claiming", { txHash: tx.hash });
      await tx.wait();
      for (const r of todo)
        this.set(journal.get(r.requestId)!, "claimed", {
          detail: `claimed in ${tx.hash} with ${todo.length - 1} others`,
        });
    } catch (err) {
      if (!isRevert(err)) throw err;
      for (const r of todo)
        this.set(journal.get(r.requestId)!, "seen", {
          nonce: null,
          detail: `batch claim refused: ${shortMessage(err)}`,
        });
    }
  }

  /** Conservative "now": the later of the last block's time and this machine's clock. */
  private async now(): Promise<bigint> {
    const block = await this.o.signer.provider!.getBlock("latest");
    return BigInt(Math.max(block!.timestamp, Math.floor(Date.now() / 1000)));
  }

  private finish(r: JournalRequest, state: RequestState, detail: string, fields: Partial<JournalRequest> = {}): void {
    this.o.journal.update(r.requestId, state, { ...fields, detail });
    const t = this.timings.get(r.requestId) ?? {};
    const final = this.o.journal.get(r.requestId)!;
    this.o.log({
      event: "request-summary",
      level: state === "failed" ? "error" : "info",
      requestId: r.requestId,
      outcome: state,
      detail,
      fee: r.fee,
      deadline: r.deadline,
      output: final.output,
      txHash: final.txHash,
      gasUsed: t.gasUsed,
      witnessMs: t.witnessMs === undefined ? undefined : Math.round(t.witnessMs),
      proveMs: t.proveMs === undefined ? undefined : Math.round(t.proveMs),
      failedAttempts: final.attempts,
      elapsedMs: Date.now() - r.firstSeenMs,
    });
    this.timings.delete(r.requestId);
  }

  private set(r: JournalRequest, state: RequestState, fields: Partial<JournalRequest> = {}): JournalRequest {
    this.o.journal.update(r.requestId, state, fields);
    this.o.log({
      event: "request-state",
      requestId: r.requestId,
      state,
      ...(fields.detail ? { detail: fields.detail } : {}),
    });
    return this.o.journal.get(r.requestId)!;
  }

  /** Advances one request through its states until it is final or has to wait. */
  private async advance(start: JournalRequest): Promise<void> {
    const { market, signer } = this.o;
    let r = start;
    const me = this.address.toLowerCase();
    for (let step = 0; step < 8 && !FINAL_STATES.has(r.state) && !this.stopping; step++) {
      const onChain = await requestOnChain(market, r.requestId, r.block);
      if (onChain.status === RequestStatus.Fulfilled) {
        const by = (await fulfilmentOf(market, r.requestId, r.block))?.validator ?? "another validator";
        if (by.toLowerCase() === me) return this.finish(r, "fulfilled", "fulfilled by this validator");
        return this.finish(r, "lost", `fulfilled by ${by} first; work on it stopped`);
      }
      if (onChain.status === RequestStatus.Refunded) return this.finish(r, "expired", "refunded to the requester");
      if ((await this.now()) + BigInt(this.o.deadlineMarginSeconds) > r.deadline) {
        return this.finish(r, "expired", `deadline ${r.deadline} too close or passed; nothing (more) submitted`);
      }
      const claimer = onChain.claimer.toLowerCase();
      switch (r.state) {
        case "seen": {
          if (r.fee < this.o.minFee)
            return this.finish(r, "skipped", `fee ${r.fee} below the minimum ${this.o.minFee}`);
          const bad = this.checkInput(r);
          if (bad) return this.finish(r, "skipped", bad);
          if (onChain.status === RequestStatus.Claimed) {
            if (claimer === me) {
              r = this.set(r, "claimed", { detail: "claim found on-chain" });
            } else if ((await this.now()) <= onChain.claimExpiresAt) {
              if (!this.waitingLogged.has(r.requestId)) {
                this.waitingLogged.add(r.requestId);
                this.o.log({
                  event: "request-waiting",
                  requestId: r.requestId,
                  claimer: onChain.claimer,
                  until: onChain.claimExpiresAt,
                });
              }
              return;
            } else {
              // The claimer's exclusive window is over: anyone staked may fulfil without a claim.
              r = this.set(r, "claimed", { detail: `claim of ${onChain.claimer} expired` });
            }
            break;
          }
          const nonce = await signer.getNonce("pending");
          r = this.set(r, "claiming", { nonce });
          try {
            const tx = await market.connect(signer).claim(r.requestId, onChain.terms, { nonce });
            this.o.journal.update(r.requestId, "claiming", { txHash: tx.hash });
            await tx.wait();
            r = this.set(r, "claimed", { detail: `claimed in ${tx.hash}` });
          } catch (err) {
            if (!isRevert(err)) throw err;
            // Someone claimed or fulfilled first: the next pass reads who.
            r = this.set(r, "seen", { nonce: null, detail: `claim refused: ${shortMessage(err)}` });
            return;
          }
          break;
        }
        case "claiming":
        case "submitting": {
          if (r.state === "claiming" && onChain.status === RequestStatus.Claimed && claimer === me) {
            r = this.set(r, "claimed", { detail: "claim found on-chain after restart" });
            break;
          }
          const latest = await signer.getNonce("latest");
          if (r.nonce !== null && latest > r.nonce) {
            // Our transaction with that nonce was mined and did not do its job (reverted).
            if (r.state === "claiming") {
              r = this.set(r, "seen", { nonce: null, detail: "claim mined without effect" });
              break;
            }
            const attempts = r.attempts + 1;
            if (attempts >= 3) return this.finish(r, "failed", `fulfilment reverted ${attempts} times`, { attempts });
            r = this.set(r, "proved", { nonce: null, attempts, detail: "fulfilment mined without effect; retrying" });
            break;
          }
          const pending = await signer.getNonce("pending");
          if (r.nonce !== null && pending > r.nonce) return; // still in the mempool
          // The transaction never left: go back one step and send it (again with this nonce).
          r = this.set(r, r.state === "claiming" ? "seen" : "proved", { nonce: null, detail: "unsent transaction" });
          break;
        }
        case "claimed": {
          // With batching on, the grouping policy decides when (and with whom) it is proved.
          if ((this.model(r.modelId)?.batchSizes.length ?? 0) > 0 && !this.released.has(r.requestId)) return;
          r = await this.prove(r);
          break;
        }
        case "batched": {
          // Its batch is closed without having fulfilled it (checked above): plan it again.
          r = this.set(r, "claimed", { batchId: null, detail: `batch ${r.batchId} closed` });
          break;
        }
        case "proved": {
          if (
            onChain.status === RequestStatus.Claimed &&
            claimer !== me &&
            (await this.now()) <= onChain.claimExpiresAt
          ) {
            r = this.set(r, "seen", { detail: `claimed by ${onChain.claimer} meanwhile` });
            return;
          }
          const nonce = await signer.getNonce("pending");
          r = this.set(r, "submitting", { nonce });
          try {
            const tx = await this.sendFulfilment(r, onChain.terms, nonce);
            this.o.journal.update(r.requestId, "submitting", { txHash: tx.hash });
            const receipt = await tx.wait();
            const t = this.timings.get(r.requestId) ?? {};
            t.gasUsed = receipt?.gasUsed;
            this.timings.set(r.requestId, t);
          } catch (err) {
            if (!isRevert(err)) throw err;
            // Reverted at estimation (nothing sent): a competitor, the deadline or a bad proof.
            // The next iteration reads the chain; a third revert marks it failed.
            const attempts = r.attempts + 1;
            if (attempts >= 3)
              return this.finish(r, "failed", `fulfilment refused: ${shortMessage(err)}`, { attempts });
            r = this.set(r, "proved", { nonce: null, attempts, detail: `fulfilment refused: ${shortMessage(err)}` });
            return;
          }
          break; // the next iteration sees Fulfilled and writes the summary
        }
      }
    }
  }

  /**
   * Batching, once per pass: carries every open batch as far as it goes, then asks the grouping
   * policy what to do with the claimed requests and does it.
   */
  private async batchPass(): Promise<void> {
    const { journal, market, log } = this.o;
    for (const b of journal.openBatches()) {
      if (this.stopping) return;
      await this.advanceBatch(b);
    }
    for (const m of this.models.values()) {
      if (this.stopping) return;
      if (m.batchSizes.length > 0) await this.batchPassOf(m);
    }
  }

  /** The grouping policy's decision for one model's claimed requests, carried out. */
  private async batchPassOf(m: ModelState): Promise<void> {
    const { journal, market, log } = this.o;
    const modelId = m.served.modelId;
    const now = await this.now();
    const me = this.address.toLowerCase();
    const ready: BatchCandidate[] = [];
    const alone: JournalRequest[] = [];
    for (const r of journal.pending()) {
      if (r.modelId !== modelId || r.state !== "claimed" || this.released.has(r.requestId)) continue;
      if (this.noBatch.has(r.requestId)) {
        alone.push(r);
        continue;
      }
      const onChain = await requestOnChain(market, r.requestId, r.block);
      if (onChain.status !== RequestStatus.Open && onChain.status !== RequestStatus.Claimed) continue; // advance sees it
      // Past our claim window a competitor may fulfil it and our bond is slashed: that is its deadline.
      const ours = onChain.status === RequestStatus.Claimed && onChain.claimer.toLowerCase() === me;
      const effectiveDeadline = ours && onChain.claimExpiresAt < r.deadline ? onChain.claimExpiresAt : r.deadline;
      if (!this.readySince.has(r.requestId)) this.readySince.set(r.requestId, now);
      ready.push({ requestId: r.requestId, effectiveDeadline, readySince: this.readySince.get(r.requestId)! });
    }
    const decision = decideBatches(ready, now, {
      sizes: m.batchSizes,
      batchWaitSeconds: BigInt(this.o.batchWaitSeconds),
      deadlineMarginSeconds: BigInt(this.o.deadlineMarginSeconds),
      provingSeconds: (k) => m.clock.estimate(k),
      pollSeconds: this.o.pollMs / 1000,
    });
    const waiting = decision.waiting.requestIds;
    const key = `${waiting.join()}@${decision.waiting.flushAt}`;
    if (waiting.length > 0 && key !== m.lastWaiting) {
      log({
        event: "batch-waiting",
        modelId,
        requestIds: waiting,
        largest: Math.max(...m.batchSizes),
        flushAt: decision.waiting.flushAt,
        provingEstimateMs: Math.round(m.clock.estimate(1) * 1000),
      });
    }
    m.lastWaiting = waiting.length > 0 ? key : "";
    if (decision.flushed) log({ event: "batch-flushed", modelId, ...decision.flushed });
    for (const ids of [...decision.batches, ...decision.flushedBatches.map((f) => f.requestIds)]) {
      if (this.stopping) return;
      const b = journal.planBatch(modelId, ids, `${ids.length} requests`);
      for (const id of ids) this.readySince.delete(id);
      log({
        event: "batch-planned",
        modelId,
        batchId: b.batchId,
        size: ids.length,
        requestIds: ids,
        provingEstimateMs: Math.round(m.clock.estimate(ids.length) * 1000),
      });
      if (this.stopping) return;
      await this.advanceBatch(b);
    }
    for (const r of [...decision.singles.map((s) => journal.get(s.requestId)!), ...alone]) {
      if (this.stopping) return;
      this.released.add(r.requestId);
      this.readySince.delete(r.requestId);
      await this.advance(r);
    }
  }

  /** Carries one batch attempt through its states until it is settled, abandoned or has to wait. */
  private async advanceBatch(start: JournalBatch): Promise<void> {
    const { market, signer, journal, log } = this.o;
    const me = this.address.toLowerCase();
    let b = start;
    for (let step = 0; step < 6 && !this.stopping; step++) {
      const onChain = await this.batchOnChain(b);
      // Who fulfilled a settled request, with which output, is in its event, not in storage.
      const fulfilments = await Promise.all(
        onChain.map((q, i) =>
          q.status === RequestStatus.Fulfilled
            ? fulfilmentOf(market, b.requestIds[i], journal.get(b.requestIds[i])!.block)
            : undefined,
        ),
      );
      if (fulfilments.every((f) => f?.validator.toLowerCase() === me)) {
        return this.settleBatch(
          b,
          fulfilments.map((f) => f!.output),
        );
      }
      if (b.state === "submitting") {
        const latest = await signer.getNonce("latest");
        if (b.nonce !== null && latest > b.nonce) {
          // Mined, and it did not settle the batch: it reverted (a batch settles all or nothing).
          return this.dropBatch(b, "fulfilBatch mined without effect (reverted)", !this.explains(onChain));
        }
        const pending = await signer.getNonce("pending");
        if (b.nonce !== null && pending > b.nonce) return; // still in the mempool
        b = journal.updateBatch(b.batchId, "proved", { nonce: null, txHash: null, detail: "unsent transaction" });
        continue;
      }
      // Nothing of it is out: every request must still be ours to fulfil, with time to do it.
      const now = await this.now();
      let problem: string | undefined;
      onChain.forEach((q, i) => {
        const id = b.requestIds[i];
        const deadline = journal.get(id)!.deadline;
        if (problem) return;
        if (q.status === RequestStatus.Fulfilled)
          problem = `request ${id} fulfilled by ${fulfilments[i]?.validator ?? "another validator"}`;
        else if (q.status === RequestStatus.Refunded) problem = `request ${id} refunded`;
        else if (q.status === RequestStatus.Claimed && q.claimer.toLowerCase() !== me && now <= q.claimExpiresAt)
          problem = `request ${id} claimed by ${q.claimer}`;
        else if (now + BigInt(this.o.deadlineMarginSeconds) > deadline)
          problem = `request ${id}'s deadline ${deadline} too close`;
      });
      if (problem) return this.dropBatch(b, problem, false);
      if (b.state === "planned") {
        const proved = await this.proveBatchAttempt(b);
        if (!proved) return;
        b = proved;
        continue;
      }
      // proved: journal the nonce, then send.
      const nonce = await signer.getNonce("pending");
      b = journal.updateBatch(b.batchId, "submitting", { nonce });
      try {
        const words = b.proof!.map(BigInt);
        const terms = onChain.map((q) => q.terms);
        const m = market.connect(signer);
        // A universal-mode model's batch carries the PLONK uint256[24], a Groth16 one the uint256[8].
        const universal = this.model(b.modelId)?.served.universal !== undefined;
        if (words.length !== (universal ? 24 : 8))
          throw new DaemonFatalError(`batch ${b.batchId}: the journal holds a proof of ${words.length} words`);
        const tx = universal
          ? await m.fulfilBatchUniversal(b.requestIds, terms, b.outputs!, words as PlonkProofWords, { nonce })
          : await m.fulfilBatch(b.requestIds, terms, b.outputs!, words as Groth16Words, { nonce });
        b = journal.updateBatch(b.batchId, "submitting", { txHash: tx.hash });
        log({ event: "batch-sent", batchId: b.batchId, size: b.requestIds.length, txHash: tx.hash, nonce });
        await tx.wait();
      } catch (err) {
        if (!isRevert(err)) throw err;
        // Refused at estimation (nothing sent) or reverted when mined: the next step reads why.
        const reason = `fulfilBatch refused: ${shortMessage(err)}`;
        const after = await this.batchOnChain(b);
        return this.dropBatch(b, reason, !this.explains(after));
      }
    }
  }

  /** The on-chain state and terms of a batch's requests, in its order. */
  private async batchOnChain(b: JournalBatch): Promise<RequestOnChain[]> {
    const from = Math.min(...b.requestIds.map((id) => this.o.journal.get(id)!.block));
    const states = await requestsOnChain(this.o.market, b.requestIds, from);
    return b.requestIds.map((id) => states.get(id)!);
  }

  /**
   * True if a request's on-chain state explains a batch's revert (settled, refunded or claimed
   * by someone else); false means the batch itself was at fault (proof, verifier, size).
   */
  private explains(onChain: { status: bigint; claimer: string }[]): boolean {
    const me = this.address.toLowerCase();
    return onChain.some(
      (q) => q.status !== RequestStatus.Open && !(q.status === RequestStatus.Claimed && q.claimer.toLowerCase() === me),
    );
  }

  /** Proves a planned batch and journals its outputs and proof; undefined if it was dropped. */
  private async proveBatchAttempt(b: JournalBatch): Promise<JournalBatch | undefined> {
    const { journal, market, signer, log } = this.o;
    const k = b.requestIds.length;
    const m = this.model(b.modelId);
    const prover = m?.batchProvers.get(k);
    if (!m || !prover) {
      await this.dropBatch(b, `no batch circuit of size ${k} for model ${b.modelId} configured here`, true);
      return undefined;
    }
    log({ event: "batch-proving", modelId: b.modelId, batchId: b.batchId, size: k, requestIds: b.requestIds });
    let proof: { outputs: bigint[]; predicted: number[]; words: bigint[]; witnessMs: number; proveMs: number };
    try {
      const requests = b.requestIds.map((id) => {
        const r = journal.get(id)!;
        return { requestId: id, inputCommitment: r.inputCommitment, input: getBytes(r.input) };
      });
      const binding = await bindingFor(market, signer);
      if (m.served.universal) {
        const p = await proveUniversalRequests(prover as UniversalArtifacts, requests, binding);
        proof = { ...p, words: p.proof };
      } else {
        const p = await proveRequests({ ...m.served.artifacts, prover: prover as Prover }, requests, binding);
        proof = { ...p, words: p.calldata };
      }
    } catch (err) {
      if (isTransientRpcError(err)) throw err;
      // A batch circuit that does not match the model or its size (or a broken build): this size
      // is not used again, and these requests go singly.
      m.brokenSizes.add(k);
      await this.dropBatch(b, `batch proof of size ${k} failed, size disabled: ${shortMessage(err)}`, true, "error");
      return undefined;
    }
    m.clock.record(k, (proof.witnessMs + proof.proveMs) / 1000);
    this.batchTimings.set(b.batchId, { witnessMs: proof.witnessMs, proveMs: proof.proveMs });
    return journal.updateBatch(b.batchId, "proved", {
      outputs: proof.outputs,
      proof: proof.words.map(String),
      detail: `predicted ${proof.predicted.join(",")}, proof in ${Math.round(proof.witnessMs + proof.proveMs)} ms`,
    });
  }

  /** Every request of the batch is fulfilled by us: records it, with the gas per inference. */
  private async settleBatch(b: JournalBatch, outputs: bigint[]): Promise<void> {
    const { journal, market, log } = this.o;
    const k = b.requestIds.length;
    let txHash = b.txHash;
    if (!txHash) {
      // Crashed after sending, before the hash was journalled: the fulfilment event names the tx.
      const [e] = await market.queryFilter(market.filters.InferenceFulfilled(b.requestIds[0]));
      txHash = e?.transactionHash ?? null;
    }
    const receipt = txHash ? await this.o.signer.provider!.getTransactionReceipt(txHash) : null;
    const gasUsed = receipt?.gasUsed;
    journal.updateBatch(b.batchId, "settled", { txHash, detail: `settled in ${txHash}` });
    const t = this.batchTimings.get(b.batchId) ?? {};
    this.batchTimings.delete(b.batchId);
    log({
      event: "batch-settled",
      batchId: b.batchId,
      size: k,
      requestIds: b.requestIds,
      txHash,
      gasUsed,
      gasPerInference: gasUsed === undefined ? undefined : gasUsed / BigInt(k),
      witnessMs: t.witnessMs === undefined ? undefined : Math.round(t.witnessMs),
      proveMs: t.proveMs === undefined ? undefined : Math.round(t.proveMs),
    });
    b.requestIds.forEach((id, i) => {
      const r = journal.get(id)!;
      if (FINAL_STATES.has(r.state)) return;
      this.timings.set(id, { ...t, gasUsed: gasUsed === undefined ? undefined : gasUsed / BigInt(k) });
      this.finish(r, "fulfilled", `fulfilled by this validator in batch ${b.batchId} of ${k}`, {
        output: outputs[i],
        txHash,
      });
    });
  }

  /**
   * Gives a batch up: its requests go back to `claimed` and are looked at again at once (a
   * settled one becomes lost, the rest are planned anew). With `alone`, the failure was the
   * batch's own (a revert no request explains, a failed proof): its requests then go singly.
   */
  private async dropBatch(b: JournalBatch, reason: string, alone: boolean, level: "warn" | "error" = "warn") {
    this.o.journal.abandonBatch(b.batchId, reason);
    this.batchTimings.delete(b.batchId);
    this.o.log({ event: "batch-dropped", level, batchId: b.batchId, requestIds: b.requestIds, reason });
    if (alone) {
      for (const id of b.requestIds) this.noBatch.add(id);
      const m = this.model(b.modelId);
      if (m) await this.discoverBatchSizes(m); // a removed batch verifier also reverts
    }
    for (const id of b.requestIds) {
      const r = this.o.journal.get(id);
      if (r && !FINAL_STATES.has(r.state) && !this.stopping) await this.advance(r);
    }
  }

  /**
   * Sends a proved request's fulfilment with the journalled nonce: fulfilUniversal with the
   * uint256[24] PLONK proof for a universal-mode model, fulfil with the Groth16 uint256[8] else.
   */
  private async sendFulfilment(r: JournalRequest, terms: RequestOnChain["terms"], nonce: number) {
    const market = this.o.market.connect(this.o.signer);
    const words = r.proof!.map(BigInt);
    if (this.model(r.modelId)?.served.universal) {
      if (words.length !== 24)
        throw new DaemonFatalError(`request ${r.requestId}: the journal holds no PLONK proof (${words.length} words)`);
      return market.fulfilUniversal(r.requestId, terms, r.output!, words as PlonkProofWords, { nonce });
    }
    return market.fulfil(r.requestId, terms, r.output!, words as Groth16Words, { nonce });
  }

  /** Returns an error message if the inline input cannot be proven, else undefined. */
  private checkInput(r: JournalRequest): string | undefined {
    const m = this.model(r.modelId);
    if (!m) return `model ${r.modelId} is not served by this validator`;
    try {
      checkRequestInput(referenceOf(m.served), { ...r, input: getBytes(r.input) });
    } catch (err) {
      if (err instanceof ProofRefusedError) return err.message;
      throw err;
    }
    return undefined;
  }

  private async prove(r: JournalRequest): Promise<JournalRequest> {
    const { market, signer, log } = this.o;
    const m = this.model(r.modelId);
    if (!m) {
      this.finish(r, "failed", `model ${r.modelId} is not served by this validator; nothing submitted`);
      return this.o.journal.get(r.requestId)!;
    }
    log({ event: "proving", requestId: r.requestId, modelId: r.modelId, mode: modeOf(m.served) });
    const request = { requestId: r.requestId, inputCommitment: r.inputCommitment, input: getBytes(r.input) };
    let proof: { outputs: bigint[]; predicted: number[]; calldata: bigint[]; witnessMs: number; proveMs: number };
    try {
      const binding = await bindingFor(market, signer);
      if (m.served.universal) {
        const { prover, model } = m.served.universal;
        const p = await proveUniversalRequest(prover, model, request, binding);
        proof = { ...p, outputs: [p.output], predicted: [p.predicted], calldata: p.proof };
      } else {
        proof = await proveRequests(m.served.artifacts, [request], binding);
      }
    } catch (err) {
      if (!(err instanceof ProofRefusedError)) throw err;
      this.finish(r, "failed", `${err.message}; nothing submitted`);
      return this.o.journal.get(r.requestId)!;
    }
    this.timings.set(r.requestId, { witnessMs: proof.witnessMs, proveMs: proof.proveMs });
    m.clock.record(1, (proof.witnessMs + proof.proveMs) / 1000);
    return this.set(r, "proved", {
      output: proof.outputs[0]!,
      proof: proof.calldata.map(String),
      detail: `predicted ${proof.predicted[0]}, proof in ${Math.round(proof.witnessMs + proof.proveMs)} ms`,
    });
  }
}

function shortMessage(err: unknown): string {
  const o = err as { shortMessage?: string; message?: string };
  return (o?.shortMessage ?? o?.message ?? String(err)).split("\n")[0].slice(0, 300);
}
