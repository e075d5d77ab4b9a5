/**
 * The on-chain half of the benchmark, on Hardhat's in-process chain: verify gas, fulfil gas
 * and one validator's throughput. It uses the TypeChain types that `hardhat build` generates,
 * so run.ts imports it only after building the contracts.
 */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { getBytes } from "ethers";
import { IInferenceVerifier__factory } from "../../types/ethers-contracts/index.js";
import { deployProtocol } from "../chain/protocol.ts";
import { postRequest } from "../chain/requester.ts";
import { claimRequest, ensureStaked, fulfilRequest, openRequests } from "../chain/validator.ts";
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
}): Promise<ChainBench> {
  const { ethers, prover, quantized, digits } = options;
  const [governance, modelOwner, requester, validator] = await ethers.getSigners();
  const price = 10n ** 18n;
  const protocol = await deployProtocol(ethers, governance, {
    verifierContract: options.verifierContract,
    manifest: options.manifest,
    modelOwner: modelOwner.address,
    price,
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

  return {
    verifyGas: estimate - INTRINSIC_GAS,
    verifyCalldataGas: calldataGas(data),
    verifyCalldataBytes: getBytes(data).length,
    firstFulfilGas: first.fulfilled.gasUsed,
    loopFulfilGas,
    requestGas,
    claimGas,
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
