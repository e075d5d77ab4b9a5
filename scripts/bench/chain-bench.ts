/**
 * The on-chain half of the benchmark, on Hardhat's in-process chain: verify gas, fulfil gas
 * and one validator's throughput. It uses the TypeChain types that `hardhat build` generates,
 * so run.ts imports it only after building the contracts.
 */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { getBytes } from "ethers";
import { IInferenceVerifier__factory, SettableVerifier__factory } from "../../types/ethers-contracts/index.js";
import { deployProtocol } from "../chain/protocol.ts";
import { postRequest } from "../chain/requester.ts";
import {
  claimRequest,
  ensureStaked,
  fulfilBatchRequests,
  fulfilRequest,
  openRequests,
  type OpenRequest,
} from "../chain/validator.ts";
import type { Digit } from "../model/mnist.ts";
import type { QuantizedMlp } from "../model/quantize.ts";
import type { Manifest } from "../setup/manifest.ts";
import type { Prover } from "../prove/prover.ts";

/** Gas every transaction pays before executing anything (no access list, not a creation). */
export const INTRINSIC_GAS = 21_000n;

export interface ChainBench {
  /** eth_estimateGas of a direct verifyProof call with a real proof, minus INTRINSIC_GAS. */
  verifyGas: bigint;
  /** Part of verifyGas that is calldata pricing rather than execution. */
  verifyCalldataGas: bigint;
  verifyCalldataBytes: number;
  /** receipt.gasUsed of the first fulfil (the validator's, owner's and protocol's credits go from zero to non-zero). */
  firstFulfilGas: bigint;
  /** receipt.gasUsed of each fulfil in the throughput loop (the credit slots are already non-zero). */
  loopFulfilGas: bigint[];
  /** receipt.gasUsed of requestInference with the 196-byte input inline. */
  requestGas: bigint[];
  /** receipt.gasUsed of each claim (locks the validator's bond) that precedes a fulfil. */
  claimGas: bigint[];
  /** Batched fulfilment against unclaimed requests, fee-credit slots already non-zero. */
  batch?: BatchBench;
  loop: {
    seconds: number;
    settled: number;
    perMinute: number;
    /** Time inside Prover.prove (witness + proof) and everything else (requests, events, claims, fulfils). */
    witnessMs: number;
    proveMs: number;
    otherMs: number;
  };
}

export interface BatchBench {
  /** Inferences per proof of the real batch circuit. */
  size: number;
  constraints: number;
  /** receipt.gasUsed of one fulfil of an unclaimed request (K = 1, same conditions as the batches). */
  singleGas: bigint;
  /** receipt.gasUsed of each fulfilBatch of `size` unclaimed requests with a real proof. */
  batchGas: bigint[];
  /** eth_estimateGas of verifyProof on the batch verifier with a real proof, minus INTRINSIC_GAS. */
  verifyGas: bigint;
  /** Warm witness + proof of each batch proof. */
  proveMs: number[];
  /**
   * Market-side gas of each further request in a batch: the difference between fulfilBatch of
   * `marginal.large` and of `marginal.small` requests, over their difference, both checked by a
   * verifier that answers yes without cryptography (SettableVerifier), so the verification cancels.
   */
  marginal: { small: number; large: number; smallGas: bigint; largeGas: bigint; perRequest: bigint };
}

/**
 * Calldata pricing of a transaction's data: 4 gas per zero byte, 16 per non-zero byte (EIP-2028).
 * A chain with EIP-7623 may charge a higher floor for data-heavy transactions; a verifyProof call
 * does enough execution to stay above it.
 */
export function calldataGas(data: string): bigint {
  let gas = 0n;
  for (const b of getBytes(data)) gas += b === 0 ? 4n : 16n;
  return gas;
}

export async function runChainBench(options: {
  ethers: HardhatEthers;
  manifest: Manifest;
  verifierContract: string;
  prover: Prover;
  quantized: QuantizedMlp;
  digits: Digit[];
  seconds: number;
  log: (msg: string) => void;
  /** A batch circuit of the same model to measure fulfilBatch with. */
  batch?: { verifierContract: string; manifest: Manifest; prover: Prover; size: number };
}): Promise<ChainBench> {
  const { ethers, prover, quantized, digits } = options;
  const [governance, modelOwner, requester, validator] = await ethers.getSigners();
  const price = 10n ** 18n;
  const protocol = await deployProtocol(ethers, governance, {
    verifierContract: options.verifierContract,
    manifest: options.manifest,
    modelOwner: modelOwner.address,
    price,
    batchVerifiers: options.batch
      ? [
          {
            verifierContract: options.batch.verifierContract,
            manifest: options.batch.manifest,
            batchSize: options.batch.size,
          },
        ]
      : [],
  });
  // Enough fee tokens for any loop this machine can run, and the validator's stake.
  await (await protocol.token.mint(requester.address, 1_000_000n * price)).wait();
  const { minStake } = await protocol.market.params();
  await (await protocol.token.mint(validator.address, minStake)).wait();
  await ensureStaked(protocol.market, validator);

  // Verify gas: a real proof (any binding: the verifier does not interpret the signals) sent
  // straight to the verifier, outside the market.
  const proof = await prover.prove({ pixels: Array.from(digits[0].pixels), binding: 1n });
  const c = proof.calldata;
  const pub = proof.publicSignals as [bigint, bigint, bigint];
  const verifier = IInferenceVerifier__factory.connect(protocol.verifier, governance);
  type Pair = [bigint, bigint];
  const args: [Pair, [Pair, Pair], Pair, [bigint, bigint, bigint]] = [
    [c[0], c[1]],
    [
      [c[2], c[3]],
      [c[4], c[5]],
    ],
    [c[6], c[7]],
    pub,
  ];
  if (!(await verifier.verifyProof(...args))) throw new Error("the deployed verifier rejects a real proof");
  const estimate = await verifier.verifyProof.estimateGas(...args);
  const data = verifier.interface.encodeFunctionData("verifyProof", args);
  options.log(`verifyProof: eth_estimateGas ${estimate}, calldata ${getBytes(data).length} bytes`);

  const settleOne = async (digit: Digit) => {
    const fromBlock = (await ethers.provider.getBlockNumber()) + 1;
    const posted = await postRequest(protocol.market, requester, protocol.modelId, digit.pixels);
    const open = await openRequests(protocol.market.connect(validator), protocol.modelId, fromBlock);
    const mine = open.find((r) => r.requestId === posted.requestId);
    if (!mine) throw new Error(`request ${posted.requestId} is not among the open requests`);
    const claimGas = await claimRequest(protocol.market, validator, mine.requestId);
    const fulfilled = await fulfilRequest(protocol.market, validator, prover, quantized, mine);
    return { posted, claimGas, fulfilled };
  };

  const first = await settleOne(digits[1 % digits.length]);
  options.log(`first fulfil: ${first.fulfilled.gasUsed} gas`);

  const loopFulfilGas: bigint[] = [];
  const requestGas: bigint[] = [first.posted.gasUsed];
  const claimGas: bigint[] = [first.claimGas];
  let witnessMs = 0;
  let proveMs = 0;
  let settled = 0;
  const t0 = performance.now();
  const end = t0 + options.seconds * 1000;
  while (performance.now() < end) {
    const { posted, claimGas: claimed, fulfilled } = await settleOne(digits[(2 + settled) % digits.length]);
    settled++;
    loopFulfilGas.push(fulfilled.gasUsed);
    requestGas.push(posted.gasUsed);
    claimGas.push(claimed);
    witnessMs += fulfilled.witnessMs;
    proveMs += fulfilled.proveMs;
  }
  const elapsed = performance.now() - t0;
  options.log(`throughput loop: ${settled} settled in ${(elapsed / 1000).toFixed(1)} s`);

  const postOpen = async (batchDigits: Digit[]): Promise<OpenRequest[]> => {
    const fromBlock = (await ethers.provider.getBlockNumber()) + 1;
    for (const d of batchDigits) await postRequest(protocol.market, requester, protocol.modelId, d.pixels);
    return openRequests(protocol.market.connect(validator), protocol.modelId, fromBlock);
  };
  let batch: BatchBench | undefined;
  if (options.batch) {
    const b = options.batch;
    const pick = (offset: number, n: number) =>
      Array.from({ length: n }, (_, i) => digits[(offset + i) % digits.length]);
    const [lone] = await postOpen(pick(100, 1));
    const singleGas = (await fulfilRequest(protocol.market, validator, prover, quantized, lone)).gasUsed;
    const batchGas: bigint[] = [];
    const proveMs: number[] = [];
    for (let round = 0; round < 3; round++) {
      const f = await fulfilBatchRequests(
        protocol.market,
        validator,
        b.prover,
        quantized,
        await postOpen(pick(200 + round * b.size, b.size)),
      );
      batchGas.push(f.gasUsed);
      proveMs.push(f.witnessMs + f.proveMs);
    }
    options.log(`K = 1: ${singleGas} gas; K = ${b.size}: ${batchGas.join(", ")} gas`);

    const batchProof = await b.prover.prove({
      pixels: pick(300, b.size).map((d) => Array.from(d.pixels)),
      challenge: 1n,
      batchBinding: 1n,
    });
    const bc = batchProof.calldata;
    const batchVerifier = IInferenceVerifier__factory.connect(protocol.batchVerifiers[b.size], governance);
    const batchVerifyGas =
      (await batchVerifier.verifyProof.estimateGas(
        [bc[0], bc[1]],
        [
          [bc[2], bc[3]],
          [bc[4], bc[5]],
        ],
        [bc[6], bc[7]],
        batchProof.publicSignals as [bigint, bigint, bigint],
      )) - INTRINSIC_GAS;

    // The market's own cost per further request: batches of two sizes against a verifier that
    // checks nothing, so that only the per-request work (checks, fold terms, settlement) differs.
    const yes = await new SettableVerifier__factory(governance).deploy(true);
    const [small, large] = [2, 8];
    const sizedGas: bigint[] = [];
    for (const size of [small, large]) {
      await (
        await protocol.registry
          .connect(governance)
          .setBatchVerifier(protocol.modelId, size, await yes.getAddress(), "0x" + "00".repeat(32))
      ).wait();
      const open = await postOpen(pick(400 + size, size));
      const ids = open.map((r) => r.requestId);
      const receipt = await (
        await protocol.market.connect(validator).fulfilBatch(
          ids,
          ids.map(() => 1n),
          [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n],
        )
      ).wait();
      sizedGas.push(receipt!.gasUsed);
    }
    batch = {
      size: b.size,
      constraints: b.manifest.constraints,
      singleGas,
      batchGas,
      verifyGas: batchVerifyGas,
      proveMs,
      marginal: {
        small,
        large,
        smallGas: sizedGas[0],
        largeGas: sizedGas[1],
        perRequest: (sizedGas[1] - sizedGas[0]) / BigInt(large - small),
      },
    };
  }

  return {
    verifyGas: estimate - INTRINSIC_GAS,
    verifyCalldataGas: calldataGas(data),
    verifyCalldataBytes: getBytes(data).length,
    firstFulfilGas: first.fulfilled.gasUsed,
    loopFulfilGas,
    requestGas,
    claimGas,
    batch,
    loop: {
      seconds: elapsed / 1000,
      settled,
      perMinute: (settled / elapsed) * 60_000,
      witnessMs,
      proveMs,
      otherMs: elapsed - witnessMs - proveMs,
    },
  };
}
