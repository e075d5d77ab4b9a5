/**
 * The market as the page follows it: every request from its events (requested, claimed,
 * fulfilled or refunded, settled alone or in a batch), the gas of each settlement, and the
 * validators with their stake, read block range by block range as the chain grows.
 */
import { getBytes } from "ethers";
import type { InferenceMarket } from "../../types/ethers-contracts/index.js";
import { batchAttestationProof, factOf } from "../../scripts/chain/attestations.ts";
import { RequestStatus } from "../../scripts/chain/terms.ts";
import type { Chain } from "./chain.ts";

export interface RequestView {
  id: bigint;
  modelId: bigint;
  requester: string;
  fee: bigint;
  feeToken: string;
  inputCommitment: bigint;
  input: Uint8Array;
  deadline: bigint;
  requestedAt: number;
  status: bigint;
  claimer?: string;
  claimedAt?: number;
  validator?: string;
  output?: bigint;
  settledAt?: number;
  settleTx?: string;
  /** The settlement's gas per inference (a batch's gas shared by its requests). */
  gasPerInference?: bigint;
  /** Requests settled in the same transaction (1 for a single fulfil). */
  batchSize?: number;
  /** The batch's attestation root, if settled in a batch. */
  batchRoot?: string;
  refundedAt?: number;
  /** The last attestation check made in the page. */
  attestation?: AttestationCheck;
}

export interface AttestationCheck {
  fact: string;
  attested: boolean;
  /** The call that answered, as a reader would make it. */
  call: string;
}

export interface ValidatorView {
  address: string;
  stake: bigint;
  bonded: bigint;
  unbonding: bigint;
  settled: number;
}

/** Follows the market's events from the deployment's block on. */
export class MarketFeed {
  readonly requests = new Map<bigint, RequestView>();
  readonly validators = new Map<string, ValidatorView>();
  private scanned: number;
  private readonly times = new Map<number, number>();

  constructor(
    private readonly chain: Chain,
    private readonly fromBlock: number,
  ) {
    this.scanned = fromBlock - 1;
  }

  get market(): InferenceMarket {
    return this.chain.market;
  }

  /** Reads the blocks since the last call; returns whether anything new was seen. */
  async update(): Promise<boolean> {
    const head = await this.chain.provider.getBlockNumber();
    if (head < this.scanned)
      throw new Error(`the chain went back from block ${this.scanned} to ${head}: node restarted`);
    if (head === this.scanned) return false;
    const from = this.scanned + 1;
    const m = this.market;
    const f = m.filters;
    const [requested, claimed, fulfilled, refunded, batches, staked] = await Promise.all([
      m.queryFilter(f.InferenceRequested(), from, head),
      m.queryFilter(f.InferenceClaimed(), from, head),
      m.queryFilter(f.InferenceFulfilled(), from, head),
      m.queryFilter(f.InferenceRefunded(), from, head),
      m.queryFilter(f.BatchAttested(), from, head),
      m.queryFilter(f.Staked(), from, head),
    ]);
    for (const e of requested) {
      const a = e.args;
      this.requests.set(a.requestId, {
        id: a.requestId,
        modelId: a.modelId,
        requester: a.requester,
        fee: a.fee,
        feeToken: a.feeToken,
        inputCommitment: a.inputCommitment,
        input: getBytes(a.input),
        deadline: a.deadline,
        requestedAt: await this.timeOf(e.blockNumber),
        status: RequestStatus.Open,
      });
    }
    for (const e of claimed) {
      const r = this.requests.get(e.args.requestId);
      if (!r) continue;
      r.claimer = e.args.validator;
      r.claimedAt = Number(e.args.claimedAt);
      r.status = RequestStatus.Claimed;
    }
    // A transaction's InferenceFulfilled events are the requests it settled: its gas is theirs.
    const perTx = new Map<string, number>();
    for (const e of fulfilled) perTx.set(e.transactionHash, (perTx.get(e.transactionHash) ?? 0) + 1);
    const gas = new Map<string, bigint>();
    await Promise.all(
      [...perTx.keys()].map(async (hash) => {
        const receipt = await this.chain.provider.getTransactionReceipt(hash);
        if (receipt) gas.set(hash, receipt.gasUsed);
      }),
    );
    for (const e of fulfilled) {
      const r = this.requests.get(e.args.requestId);
      if (!r) continue;
      const n = perTx.get(e.transactionHash)!;
      r.validator = e.args.validator;
      r.output = e.args.output;
      r.settledAt = await this.timeOf(e.blockNumber);
      r.settleTx = e.transactionHash;
      r.batchSize = n;
      const g = gas.get(e.transactionHash);
      if (g !== undefined) r.gasPerInference = g / BigInt(n);
      r.status = RequestStatus.Fulfilled;
    }
    for (const e of refunded) {
      const r = this.requests.get(e.args.requestId);
      if (!r) continue;
      r.refundedAt = await this.timeOf(e.blockNumber);
      r.status = RequestStatus.Refunded;
    }
    for (const e of batches)
      for (const id of e.args.requestIds) {
        const r = this.requests.get(id);
        if (r) r.batchRoot = e.args.root;
      }
    for (const e of staked)
      if (!this.validators.has(e.args.validator))
        this.validators.set(e.args.validator, {
          address: e.args.validator,
          stake: 0n,
          bonded: 0n,
          unbonding: 0n,
          settled: 0,
        });
    await this.refreshValidators();
    this.scanned = head;
    return true;
  }

  private async refreshValidators(): Promise<void> {
    await Promise.all(
      [...this.validators.values()].map(async (v) => {
        const s = await this.market.stakeOf(v.address);
        v.stake = s.amount;
        v.bonded = s.bonded;
        v.unbonding = s.unbonding;
        v.settled = [...this.requests.values()].filter((r) => r.validator === v.address).length;
      }),
    );
  }

  private async timeOf(block: number): Promise<number> {
    let t = this.times.get(block);
    if (t === undefined) {
      t = (await this.chain.provider.getBlock(block))!.timestamp;
      this.times.set(block, t);
    }
    return t;
  }

  /**
   * Asks the market whether a settled request's fact is attested, as any contract would: a
   * single fulfilment with `isAttestedByRequest(fact, id)`, a batch with `isAttested(fact, root,
   * proof)` and the inclusion proof rebuilt from the batch's events.
   */
  async checkAttestation(r: RequestView): Promise<AttestationCheck> {
    if (r.output === undefined) throw new Error(`request #${r.id} is not settled`);
    const fact = factOf(r.modelId, r.inputCommitment, r.output);
    let check: AttestationCheck;
    if (r.batchRoot) {
      const p = await batchAttestationProof(this.market, r.id, this.fromBlock);
      if (!p) throw new Error(`request #${r.id}: no BatchAttested event holds it`);
      check = {
        fact,
        attested: p.fact === fact && (await this.market.isAttested(p.fact, p.root, p.proof)),
        call: `isAttested(fact, ${p.root.slice(0, 10)}…, [${p.proof.length} siblings])`,
      };
    } else {
      check = {
        fact,
        attested: await this.market.isAttestedByRequest(fact, r.id),
        call: `isAttestedByRequest(fact, ${r.id})`,
      };
    }
    r.attestation = check;
    return check;
  }
}
