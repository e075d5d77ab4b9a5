/**
 * Attestation proofs for other contracts: a fact is `factOf(modelId, inputCommitment, output)`;
 * a batch fulfilment records one Merkle root of its facts, and `isAttested(fact, root, proof)`
 * checks one fact with an inclusion proof. This module rebuilds a batch's tree from its events
 * and gives the proof of any of its facts (mirror of the market's `_merkleRoot`: leaves
 * `keccak256(abi.encode(fact))` in request order, inner nodes the keccak of the sorted pair, an
 * odd node at the end of a level carried up unchanged).
 */
import { AbiCoder, concat, keccak256 } from "ethers";
import type { InferenceMarket } from "../../types/ethers-contracts/index.js";
import { requestRecords } from "./terms.ts";

const coder = AbiCoder.defaultAbiCoder();

/** The fact the market records for an inference (mirror of `factOf`). */
export function factOf(modelId: bigint, inputCommitment: bigint, output: bigint): string {
  return keccak256(coder.encode(["uint256", "uint256", "uint256"], [modelId, inputCommitment, output]));
}

/** The Merkle leaf of a fact: hashed again, so that no leaf is also a pair of nodes. */
export function leafOf(fact: string): string {
  return keccak256(coder.encode(["bytes32"], [fact]));
}

function hashPair(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

/** Every level of the tree over `facts`, leaves first, root last. */
function levels(facts: readonly string[]): string[][] {
  if (facts.length === 0) throw new Error("a batch has at least one fact");
  const out = [facts.map(leafOf)];
  while (out[out.length - 1].length > 1) {
    const level = out[out.length - 1];
    const next: string[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(hashPair(level[i], level[i + 1]));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    out.push(next);
  }
  return out;
}

/** The root the market records for a batch of `facts`, in request order. */
export function attestationRoot(facts: readonly string[]): string {
  const l = levels(facts);
  return l[l.length - 1][0];
}

/** The inclusion proof of `facts[index]` in their root: the siblings from leaf to root. */
export function inclusionProof(facts: readonly string[], index: number): string[] {
  if (!Number.isInteger(index) || index < 0 || index >= facts.length)
    throw new RangeError(`fact index ${index} is outside the batch of ${facts.length}`);
  const proof: string[] = [];
  let i = index;
  for (const level of levels(facts).slice(0, -1)) {
    const sibling = i ^ 1;
    // The last node of an odd level has no sibling: it is carried up, and adds nothing.
    if (sibling < level.length) proof.push(level[sibling]);
    i = Math.floor(i / 2);
  }
  return proof;
}

/** A settled batch as its events give it. */
export interface AttestedBatch {
  root: string;
  modelId: bigint;
  requestIds: bigint[];
  /** Fact of each request, in request order. */
  facts: string[];
  blockNumber: number;
}

/** The proof that a request's fact is attested, ready for `isAttested(fact, root, proof)`. */
export interface AttestationProof {
  fact: string;
  root: string;
  proof: string[];
}

/**
 * The batches whose `BatchAttested` events lie in `fromBlock..toBlock`, with their facts rebuilt
 * from the requests' InferenceRequested and InferenceFulfilled events.
 * @throws if a batch's rebuilt facts do not give its recorded root (the node lost events)
 */
export async function attestedBatches(
  market: InferenceMarket,
  fromBlock = 0,
  toBlock: number | "latest" = "latest",
): Promise<AttestedBatch[]> {
  const batches = await market.queryFilter(market.filters.BatchAttested(), fromBlock, toBlock);
  if (batches.length === 0) return [];
  const ids = batches.flatMap((b) => [...b.args.requestIds]);
  const [records, fulfilled] = await Promise.all([
    requestRecords(market, ids, 0, toBlock),
    market.queryFilter(market.filters.InferenceFulfilled(), fromBlock, toBlock),
  ]);
  const outputs = new Map(fulfilled.map((e) => [`${e.blockNumber}:${e.args.requestId}`, e.args.output]));
  return batches.map((b) => {
    const requestIds = [...b.args.requestIds];
    const facts = requestIds.map((id) => {
      const r = records.get(id);
      const output = outputs.get(`${b.blockNumber}:${id}`);
      if (!r || output === undefined) throw new Error(`batch ${b.args.root}: the events of request ${id} are missing`);
      return factOf(b.args.modelId, r.terms.inputCommitment, output);
    });
    if (attestationRoot(facts) !== b.args.root)
      throw new Error(`batch ${b.args.root}: its facts rebuilt from events give another root`);
    return { root: b.args.root, modelId: b.args.modelId, requestIds, facts, blockNumber: b.blockNumber };
  });
}

/**
 * The attestation proof of request `requestId`, settled in a batch between `fromBlock` and
 * `toBlock`; undefined if no batch in that range holds it (a single fulfilment is checked with
 * `isAttestedByRequest(fact, requestId)` instead).
 */
export async function batchAttestationProof(
  market: InferenceMarket,
  requestId: bigint,
  fromBlock = 0,
  toBlock: number | "latest" = "latest",
): Promise<AttestationProof | undefined> {
  for (const b of await attestedBatches(market, fromBlock, toBlock)) {
    const i = b.requestIds.indexOf(requestId);
    if (i >= 0) return { fact: b.facts[i], root: b.root, proof: inclusionProof(b.facts, i) };
  }
  return undefined;
}
