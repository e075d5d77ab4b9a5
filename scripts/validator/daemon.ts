/**
 * The validator daemon: watches the market's InferenceRequested events for one model, claims
 * the requests whose fee meets its minimum, proves them with a warm Prover and fulfils them.
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
 * RPC failures (refused connections, timeouts, resets) abort the current pass; the loop
 * retries it with exponential backoff, and the journal makes the retry pick up where the
 * failed pass stopped.
 */
import { getBytes, hexlify, type Signer } from "ethers";
import type { InferenceMarket } from "../../types/ethers-contracts/index.js";
import { packedCommitment } from "../circuit/reference.ts";
import { requestBinding } from "../chain/binding.ts";
import { ensureStaked, RequestStatus } from "../chain/validator.ts";
import { inferQuantized } from "../model/quantized-inference.ts";
import type { QuantizedMlp } from "../model/quantize.ts";
import type { Prover } from "../prove/prover.ts";
import { FINAL_STATES, JournalMismatchError, type Journal, type JournalRequest, type RequestState } from "./journal.ts";

export interface DaemonOptions {
  market: InferenceMarket;
  signer: Signer;
  prover: Prover;
  /** The quantized model: the integer reference the proof's output must equal. */
  model: QuantizedMlp;
  modelId: bigint;
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

interface Timing {
  witnessMs?: number;
  proveMs?: number;
  gasUsed?: bigint;
}

export class ValidatorDaemon {
  private stopping = false;
  private address = "";
  private readonly timings = new Map<bigint, Timing>();
  private readonly waitingLogged = new Set<bigint>();
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
      log: jsonLogger(),
      ...options,
    } as typeof this.o;
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
    log({
      event: "started",
      validator: this.address,
      chainId,
      market: await market.getAddress(),
      modelId: this.o.modelId,
      minFee: this.o.minFee,
      stakedNow: staked,
      cursor: journal.cursor() ?? null,
      pending: journal.pending().length,
      circuit: this.o.prover.manifest.circuit,
    });
  }

  /** One pass: scan new blocks, then advance every unfinished request as far as it goes. */
  async tick(): Promise<void> {
    await this.scan();
    for (const r of this.o.journal.pending()) {
      if (this.stopping) return;
      await this.advance(r);
    }
  }

  private async scan(): Promise<void> {
    const { market, journal, modelId, log } = this.o;
    const head = await this.o.signer.provider!.getBlockNumber();
    let from = (journal.cursor() ?? this.o.fromBlock - 1) + 1;
    while (from <= head) {
      const to = Math.min(head, from + this.o.maxBlockRange - 1);
      const events = await market.queryFilter(market.filters.InferenceRequested(undefined, modelId), from, to);
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
      const onChain = await market.request(r.requestId);
      if (onChain.status === RequestStatus.Fulfilled) {
        if (onChain.validator.toLowerCase() === me) return this.finish(r, "fulfilled", "fulfilled by this validator");
        return this.finish(r, "lost", `fulfilled by ${onChain.validator} first; work on it stopped`);
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
            const tx = await market.connect(signer).claim(r.requestId, { nonce });
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
          r = await this.prove(r);
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
            const proof = r.proof!.map(BigInt) as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
            const tx = await market.connect(signer).fulfil(r.requestId, r.output!, proof, { nonce });
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

  /** Returns an error message if the inline input cannot be proven, else undefined. */
  private checkInput(r: JournalRequest): string | undefined {
    const pixels = getBytes(r.input);
    if (pixels.length !== this.o.model.inputSize)
      return `input has ${pixels.length} bytes, the model takes ${this.o.model.inputSize}`;
    if (packedCommitment(pixels, this.o.model.inputBits) !== r.inputCommitment)
      return "the inline input does not open the input commitment";
    return undefined;
  }

  private async prove(r: JournalRequest): Promise<JournalRequest> {
    const { prover, model, market, signer, log } = this.o;
    const pixels = Array.from(getBytes(r.input));
    const expected = inferQuantized(model, pixels);
    const { chainId } = await signer.provider!.getNetwork();
    const binding = requestBinding(chainId, await market.getAddress(), r.requestId, this.address);
    log({ event: "proving", requestId: r.requestId });
    const proof = await prover.prove({ pixels, binding });
    const [inputCommitment, output, provenBinding] = proof.publicSignals;
    if (inputCommitment !== r.inputCommitment || output !== expected.output || provenBinding !== binding) {
      this.finish(r, "failed", "the circuit's public signals differ from the integer reference; nothing submitted");
      return this.o.journal.get(r.requestId)!;
    }
    this.timings.set(r.requestId, { witnessMs: proof.witnessMs, proveMs: proof.proveMs });
    return this.set(r, "proved", {
      output,
      proof: proof.calldata.map(String),
      detail: `predicted ${expected.predicted}, proof in ${Math.round(proof.witnessMs + proof.proveMs)} ms`,
    });
  }
}

function shortMessage(err: unknown): string {
  const o = err as { shortMessage?: string; message?: string };
  return (o?.shortMessage ?? o?.message ?? String(err)).split("\n")[0].slice(0, 300);
}
