/**
 * The validator's journal: one row per request it has seen, with the state of its work on it,
 * in a `node:sqlite` file. Every state change is one committed SQLite transaction (WAL,
 * synchronous=FULL), written *before* the action it announces (a claim or a fulfilment is
 * journalled with the nonce it will use before it is sent). After a crash at any point the
 * daemon reads the row back, looks at the chain, and either finds its transaction mined or
 * re-sends with the same nonce: at most one transaction per nonce can ever execute, so a
 * request is never submitted twice, and since the block cursor only moves after the requests
 * it covers are journalled, none is lost.
 *
 * A batch (several requests settled by one fulfilBatch) has a row of its own in `batches`, with
 * the same write-ahead rule: the batch and its requests are journalled together before it is
 * proved, and its nonce before its transaction is sent. Its requests stay in state `batched`
 * until the batch settles (each then becomes fulfilled) or is abandoned (each goes back to
 * `claimed`, to be planned again).
 */
import { DatabaseSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import path from "node:path";

/**
 * States of the work on one request.
 * - seen: journalled from its event; nothing sent yet.
 * - claiming: a claim with `nonce` is about to be or has been sent.
 * - claimed: the chain shows our claim (or the request may be fulfilled without one).
 * - proved: the proof is in the journal; nothing sent yet.
 * - submitting: a fulfilment with `nonce` is about to be or has been sent.
 * - batched: part of the open batch `batchId`; the batch's row says what was sent.
 * - fulfilled | lost | expired | skipped | failed: final.
 */
export type RequestState =
  | "seen"
  | "claiming"
  | "claimed"
  | "proved"
  | "submitting"
  | "batched"
  | "fulfilled"
  | "lost"
  | "expired"
  | "skipped"
  | "failed";

export const FINAL_STATES: ReadonlySet<RequestState> = new Set(["fulfilled", "lost", "expired", "skipped", "failed"]);

export interface JournalRequest {
  requestId: bigint;
  modelId: bigint;
  inputCommitment: bigint;
  fee: bigint;
  deadline: bigint;
  /** The inline input from the event, hex. */
  input: string;
  block: number;
  state: RequestState;
  /** Nonce of the claim or fulfilment in flight (claiming/submitting). */
  nonce: number | null;
  output: bigint | null;
  /** The proof as the market's uint256[8], decimal strings, once proved. */
  proof: string[] | null;
  txHash: string | null;
  detail: string | null;
  /** Fulfilment attempts that were mined but did not fulfil (reverted). */
  attempts: number;
  firstSeenMs: number;
  /** The batch it is part of while `batched`. */
  batchId: number | null;
}

/**
 * States of a batch attempt.
 * - planned: its requests are reserved for it; nothing proved or sent.
 * - proved: outputs and proof are journalled; nothing sent.
 * - submitting: a fulfilBatch with `nonce` is about to be or has been sent.
 * - settled: every request of it was fulfilled by this validator's fulfilBatch (final).
 * - abandoned: given up before or after sending, its requests back to `claimed` (final).
 */
export type BatchState = "planned" | "proved" | "submitting" | "settled" | "abandoned";

export interface JournalBatch {
  batchId: number;
  modelId: bigint;
  /** Strictly increasing, as fulfilBatch takes them. */
  requestIds: bigint[];
  state: BatchState;
  nonce: number | null;
  outputs: bigint[] | null;
  /** The proof as the market's uint256[8], decimal strings. */
  proof: string[] | null;
  txHash: string | null;
  detail: string | null;
  createdMs: number;
}

interface BatchRow {
  batch_id: number;
  model_id: string;
  request_ids: string;
  state: string;
  nonce: number | null;
  outputs: string | null;
  proof: string | null;
  tx_hash: string | null;
  detail: string | null;
  created_ms: number;
}

const fromBatchRow = (r: BatchRow): JournalBatch => ({
  batchId: r.batch_id,
  modelId: BigInt(r.model_id),
  requestIds: (JSON.parse(r.request_ids) as string[]).map(BigInt),
  state: r.state as BatchState,
  nonce: r.nonce,
  outputs: r.outputs === null ? null : (JSON.parse(r.outputs) as string[]).map(BigInt),
  proof: r.proof === null ? null : (JSON.parse(r.proof) as string[]),
  txHash: r.tx_hash,
  detail: r.detail,
  createdMs: r.created_ms,
});

interface Row {
  request_id: string;
  model_id: string;
  input_commitment: string;
  fee: string;
  deadline: string;
  input: string;
  block: number;
  state: string;
  nonce: number | null;
  output: string | null;
  proof: string | null;
  tx_hash: string | null;
  detail: string | null;
  attempts: number;
  first_seen_ms: number;
  batch_id: number | null;
}

const fromRow = (r: Row): JournalRequest => ({
  requestId: BigInt(r.request_id),
  modelId: BigInt(r.model_id),
  inputCommitment: BigInt(r.input_commitment),
  fee: BigInt(r.fee),
  deadline: BigInt(r.deadline),
  input: r.input,
  block: r.block,
  state: r.state as RequestState,
  nonce: r.nonce,
  output: r.output === null ? null : BigInt(r.output),
  proof: r.proof === null ? null : (JSON.parse(r.proof) as string[]),
  txHash: r.tx_hash,
  detail: r.detail,
  attempts: r.attempts,
  firstSeenMs: r.first_seen_ms,
  batchId: r.batch_id ?? null,
});

/** What a journal belongs to; a journal opened against another chain or market is refused. */
export interface JournalIdentity {
  chainId: bigint;
  genesisHash: string;
  market: string;
  validator: string;
}

export class Journal {
  private constructor(private readonly db: DatabaseSync) {}

  static open(file: string): Journal {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const db = new DatabaseSync(file);
    db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS requests (
        request_id TEXT PRIMARY KEY,
        model_id TEXT NOT NULL,
        input_commitment TEXT NOT NULL,
        fee TEXT NOT NULL,
        deadline TEXT NOT NULL,
        input TEXT NOT NULL,
        block INTEGER NOT NULL,
        state TEXT NOT NULL,
        nonce INTEGER,
        output TEXT,
        proof TEXT,
        tx_hash TEXT,
        detail TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        first_seen_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id TEXT NOT NULL,
        state TEXT NOT NULL,
        detail TEXT,
        at_ms INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS batches (
        batch_id INTEGER PRIMARY KEY AUTOINCREMENT,
        model_id TEXT NOT NULL,
        request_ids TEXT NOT NULL,
        state TEXT NOT NULL,
        nonce INTEGER,
        outputs TEXT,
        proof TEXT,
        tx_hash TEXT,
        detail TEXT,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
      );
    `);
    // Journals written before batching existed have no batch column: add it in place.
    const columns = db.prepare("PRAGMA table_info(requests)").all() as { name: string }[];
    if (!columns.some((c) => c.name === "batch_id")) db.exec("ALTER TABLE requests ADD COLUMN batch_id INTEGER");
    return new Journal(db);
  }

  close(): void {
    this.db.close();
  }

  private meta(key: string): string | undefined {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
    return row?.value;
  }

  private setMeta(key: string, value: string): void {
    this.db
      .prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?")
      .run(key, value, value);
  }

  /**
   * Binds a new journal to a chain, market and validator, or checks that an existing one was
   * made for them. A node restarted with a fresh chain has another genesis block: its request
   * ids mean other requests, so the journal refuses it instead of skipping or resubmitting.
   */
  bind(id: JournalIdentity): void {
    const want: Record<string, string> = {
      chainId: id.chainId.toString(),
      genesisHash: id.genesisHash.toLowerCase(),
      market: id.market.toLowerCase(),
      validator: id.validator.toLowerCase(),
    };
    if (this.meta("chainId") === undefined) {
      for (const [k, v] of Object.entries(want)) this.setMeta(k, v);
      return;
    }
    for (const [k, v] of Object.entries(want)) {
      const have = this.meta(k);
      if (have !== v) {
        throw new JournalMismatchError(
          `the journal was made for ${k} ${have}, but this run has ${v}; use another --journal file for another chain, market or validator`,
        );
      }
    }
  }

  /** Last block whose events are all journalled, or undefined before the first scan. */
  cursor(): number | undefined {
    const v = this.meta("cursor");
    return v === undefined ? undefined : Number(v);
  }

  /**
   * Journals the requests found in blocks up to `toBlock` and moves the cursor there, in one
   * transaction: a crash leaves either both or neither.
   */
  recordScan(
    found: Omit<
      JournalRequest,
      "state" | "nonce" | "output" | "proof" | "txHash" | "detail" | "attempts" | "firstSeenMs" | "batchId"
    >[],
    toBlock: number,
  ): JournalRequest[] {
    const inserted: JournalRequest[] = [];
    const now = Date.now();
    const insert = this.db.prepare(
      `INSERT OR IGNORE INTO requests (request_id, model_id, input_commitment, fee, deadline, input, block, state, first_seen_ms, updated_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'seen', ?, ?)`,
    );
    this.db.exec("BEGIN IMMEDIATE");
    try {
      for (const r of found) {
        const res = insert.run(
          r.requestId.toString(),
          r.modelId.toString(),
          r.inputCommitment.toString(),
          r.fee.toString(),
          r.deadline.toString(),
          r.input,
          r.block,
          now,
          now,
        );
        if (Number(res.changes) > 0) {
          this.history(r.requestId, "seen", `block ${r.block}`, now);
          inserted.push(this.get(r.requestId)!);
        }
      }
      this.setMeta("cursor", String(toBlock));
      this.db.exec("COMMIT");
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
    return inserted;
  }

  get(requestId: bigint): JournalRequest | undefined {
    const row = this.db.prepare("SELECT * FROM requests WHERE request_id = ?").get(requestId.toString()) as
      Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Requests whose work is not finished, oldest first. */
  pending(): JournalRequest[] {
    const rows = this.db
      .prepare("SELECT * FROM requests ORDER BY block, CAST(request_id AS INTEGER)")
      .all() as unknown as Row[];
    return rows.map(fromRow).filter((r) => !FINAL_STATES.has(r.state));
  }

  all(): JournalRequest[] {
    const rows = this.db
      .prepare("SELECT * FROM requests ORDER BY block, CAST(request_id AS INTEGER)")
      .all() as unknown as Row[];
    return rows.map(fromRow);
  }

  /** Moves a request to `state`, setting the given fields, and records it in the history. */
  update(
    requestId: bigint,
    state: RequestState,
    fields: Partial<
      Pick<JournalRequest, "nonce" | "output" | "proof" | "txHash" | "detail" | "attempts" | "batchId">
    > = {},
  ): void {
    const now = Date.now();
    const sets = ["state = ?", "updated_ms = ?"];
    const values: (string | number | null)[] = [state, now];
    if ("nonce" in fields) (sets.push("nonce = ?"), values.push(fields.nonce ?? null));
    if ("output" in fields) (sets.push("output = ?"), values.push(fields.output?.toString() ?? null));
    if ("proof" in fields) (sets.push("proof = ?"), values.push(fields.proof ? JSON.stringify(fields.proof) : null));
    if ("txHash" in fields) (sets.push("tx_hash = ?"), values.push(fields.txHash ?? null));
    if ("detail" in fields) (sets.push("detail = ?"), values.push(fields.detail ?? null));
    if ("attempts" in fields) (sets.push("attempts = ?"), values.push(fields.attempts ?? 0));
    if ("batchId" in fields) (sets.push("batch_id = ?"), values.push(fields.batchId ?? null));
    this.db.exec("BEGIN IMMEDIATE");
    try {
      this.db
        .prepare(`UPDATE requests SET ${sets.join(", ")} WHERE request_id = ?`)
        .run(...values, requestId.toString());
      this.history(requestId, state, fields.detail ?? null, now);
      this.db.exec("COMMIT");
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
  }

  /**
   * Journals a batch attempt and reserves its requests for it (state `batched`), in one
   * transaction, before anything is proved or sent for it.
   */
  planBatch(modelId: bigint, requestIds: bigint[], detail: string): JournalBatch {
    const now = Date.now();
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const res = this.db
        .prepare(
          "INSERT INTO batches (model_id, request_ids, state, detail, created_ms, updated_ms) VALUES (?, ?, 'planned', ?, ?, ?)",
        )
        .run(modelId.toString(), JSON.stringify(requestIds.map(String)), detail, now, now);
      const batchId = Number(res.lastInsertRowid);
      const reserve = this.db.prepare(
        "UPDATE requests SET state = 'batched', batch_id = ?, nonce = NULL, updated_ms = ? WHERE request_id = ?",
      );
      for (const id of requestIds) {
        reserve.run(batchId, now, id.toString());
        this.history(id, "batched", `batch ${batchId} of ${requestIds.length}`, now);
      }
      this.db.exec("COMMIT");
      return this.getBatch(batchId)!;
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
  }

  getBatch(batchId: number): JournalBatch | undefined {
    const row = this.db.prepare("SELECT * FROM batches WHERE batch_id = ?").get(batchId) as BatchRow | undefined;
    return row ? fromBatchRow(row) : undefined;
  }

  /** Batches neither settled nor abandoned, oldest first. */
  openBatches(): JournalBatch[] {
    const rows = this.db
      .prepare("SELECT * FROM batches WHERE state NOT IN ('settled', 'abandoned') ORDER BY batch_id")
      .all() as unknown as BatchRow[];
    return rows.map(fromBatchRow);
  }

  allBatches(): JournalBatch[] {
    const rows = this.db.prepare("SELECT * FROM batches ORDER BY batch_id").all() as unknown as BatchRow[];
    return rows.map(fromBatchRow);
  }

  /** Moves a batch to `state` (not to `abandoned`: see {@link abandonBatch}), setting the given fields. */
  updateBatch(
    batchId: number,
    state: Exclude<BatchState, "abandoned">,
    fields: Partial<Pick<JournalBatch, "nonce" | "outputs" | "proof" | "txHash" | "detail">> = {},
  ): JournalBatch {
    const sets = ["state = ?", "updated_ms = ?"];
    const values: (string | number | null)[] = [state, Date.now()];
    if ("nonce" in fields) (sets.push("nonce = ?"), values.push(fields.nonce ?? null));
    if ("outputs" in fields)
      (sets.push("outputs = ?"), values.push(fields.outputs ? JSON.stringify(fields.outputs.map(String)) : null));
    if ("proof" in fields) (sets.push("proof = ?"), values.push(fields.proof ? JSON.stringify(fields.proof) : null));
    if ("txHash" in fields) (sets.push("tx_hash = ?"), values.push(fields.txHash ?? null));
    if ("detail" in fields) (sets.push("detail = ?"), values.push(fields.detail ?? null));
    this.db.prepare(`UPDATE batches SET ${sets.join(", ")} WHERE batch_id = ?`).run(...values, batchId);
    return this.getBatch(batchId)!;
  }

  /**
   * Gives a batch up and hands its requests that are still `batched` back to `claimed` (the
   * daemon reads each one's on-chain state again and plans the live ones anew), in one transaction.
   */
  abandonBatch(batchId: number, detail: string): void {
    const now = Date.now();
    this.db.exec("BEGIN IMMEDIATE");
    try {
      this.db
        .prepare("UPDATE batches SET state = 'abandoned', nonce = NULL, detail = ?, updated_ms = ? WHERE batch_id = ?")
        .run(detail, now, batchId);
      const held = this.db
        .prepare("SELECT request_id FROM requests WHERE batch_id = ? AND state = 'batched'")
        .all(batchId) as { request_id: string }[];
      for (const { request_id } of held) {
        this.db
          .prepare(
            "UPDATE requests SET state = 'claimed', batch_id = NULL, nonce = NULL, updated_ms = ? WHERE request_id = ?",
          )
          .run(now, request_id);
        this.history(BigInt(request_id), "claimed", `batch ${batchId} abandoned: ${detail}`, now);
      }
      this.db.exec("COMMIT");
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
  }

  /** The states a request went through, oldest first. */
  historyOf(requestId: bigint): { state: RequestState; detail: string | null; atMs: number }[] {
    const rows = this.db
      .prepare("SELECT state, detail, at_ms FROM history WHERE request_id = ? ORDER BY id")
      .all(requestId.toString()) as { state: string; detail: string | null; at_ms: number }[];
    return rows.map((r) => ({ state: r.state as RequestState, detail: r.detail, atMs: r.at_ms }));
  }

  private history(requestId: bigint, state: string, detail: string | null, at: number): void {
    this.db
      .prepare("INSERT INTO history (request_id, state, detail, at_ms) VALUES (?, ?, ?, ?)")
      .run(requestId.toString(), state, detail, at);
  }
}

export class JournalMismatchError extends Error {
  override name = "JournalMismatchError";
}
