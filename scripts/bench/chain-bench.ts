/**
 * The on-chain half of the benchmark, on Hardhat's in-process chain: verify gas, fulfil gas
 * and one validator's throughput. It uses the TypeChain types that `hardhat build` generates,
 * so run.ts imports it only after building the contracts.
 */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { Contract, getBytes, type Signer } from "ethers";
import {
  Groth16Harness__factory,
  SettableVerifier__factory,
  type InferenceMarket,
} from "../../types/ethers-contracts/index.js";
import { requestBinding } from "../chain/binding.ts";
import { registerCommittedCircuit } from "../chain/committed.ts";
import { deployProtocol, registerCommittedModel } from "../chain/protocol.ts";
import { postRequest } from "../chain/requester.ts";
import {
  claimRequest,
  ensureStaked,
  fulfilBatchRequests,
  fulfilRequest,
  openRequests,
  type OpenRequest,
} from "../chain/validator.ts";
import { packedCommitment } from "../circuit/reference.ts";
import { inferQuantizedGraph } from "../model/graph-inference.ts";
import type { Digit } from "../model/mnist.ts";
import type { QuantizedGraph } from "../model/quantize-graph.ts";
import type { Manifest } from "../setup/manifest.ts";
import { offChainRequest, proveRequests } from "../prove/prove-request.ts";
import type { Prover, ProofResult } from "../prove/prover.ts";

/** Gas every transaction pays before executing anything (no access list, not a creation). */
export const INTRINSIC_GAS = 21_000n;

/** The figures of one model with single-inference fulfilment, from one protocol deployment. */
export interface SingleChainBench {
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

export interface ChainBench extends SingleChainBench {
  /** Batched fulfilment against unclaimed requests, fee-credit slots already non-zero. */
  batch?: BatchBench;
  /** The same with the largest batch circuit built (real proofs, same conditions). */
  largeBatch?: LargeBatchBench;
}

export interface LargeBatchBench {
  size: number;
  constraints: number;
  /** receipt.gasUsed of each fulfilBatch of `size` unclaimed requests with a real proof. */
  batchGas: bigint[];
  /** eth_estimateGas of verifyProof on its verifier with a real proof, minus INTRINSIC_GAS. */
  verifyGas: bigint;
  /** Warm witness + proof of each batch proof. */
  proveMs: number[];
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

/**
 * Gas of a verifier's verifyProof with a real proof, called directly (outside the market):
 * eth_estimateGas minus INTRINSIC_GAS, and the calldata part of it. Works for any number of
 * public signals, so for every generated verifier.
 */
export async function measureVerifyGas(
  verifierAddress: string,
  signer: Signer,
  proof: Pick<ProofResult, "publicSignals" | "calldata">,
): Promise<{ gas: bigint; calldataGas: bigint; calldataBytes: number }> {
  const n = proof.publicSignals.length;
  const verifier = new Contract(
    verifierAddress,
    [`function verifyProof(uint256[2], uint256[2][2], uint256[2], uint256[${n}]) view returns (bool)`],
    signer,
  );
  const c = proof.calldata;
  const args = [
    [c[0], c[1]],
    [
      [c[2], c[3]],
      [c[4], c[5]],
    ],
    [c[6], c[7]],
    proof.publicSignals,
  ];
  const verifyProof = verifier.getFunction("verifyProof");
  if (!(await verifyProof.staticCall(...args))) throw new Error("the verifier rejects a real proof");
  const estimate = await verifyProof.estimateGas(...args);
  const data = verifier.interface.encodeFunctionData("verifyProof", args);
  return { gas: estimate - INTRINSIC_GAS, calldataGas: calldataGas(data), calldataBytes: getBytes(data).length };
}

interface Settled {
  gasUsed: bigint;
  witnessMs: number;
  proveMs: number;
}

/**
 * Gas of the protocol's own Groth16 verifier (contracts/libraries/Groth16.sol) checking a real
 * proof against a baked model's key as the registry stored it (a data contract read with
 * EXTCODECOPY): eth_estimateGas of the library behind a thin harness, minus INTRINSIC_GAS, and
 * the calldata part of it. This is what a baked model's fulfilment pays for verification.
 */
export async function measureProtocolVerifyGas(
  keyPointer: string,
  signer: Signer,
  proof: Pick<ProofResult, "publicSignals" | "calldata">,
): Promise<{ gas: bigint; calldataGas: bigint; calldataBytes: number }> {
  const harness = await new Groth16Harness__factory(signer).deploy();
  const calldata = proof.calldata as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  if (!(await harness.verify(keyPointer, proof.publicSignals, calldata)))
    throw new Error("the protocol's verifier rejects a real proof");
  const estimate = await harness.verify.estimateGas(keyPointer, proof.publicSignals, calldata);
  const data = harness.interface.encodeFunctionData("verify", [keyPointer, proof.publicSignals, calldata]);
  return { gas: estimate - INTRINSIC_GAS, calldataGas: calldataGas(data), calldataBytes: getBytes(data).length };
}

/**
 * Verify gas, first fulfil and a throughput loop of request -> claim -> prove -> fulfil for one
 * deployed model, with `fulfil` proving and settling one claimed request.
 */
async function singleModelBench(o: {
  ethers: HardhatEthers;
  market: InferenceMarket;
  modelId: bigint;
  requester: Signer;
  validator: Signer;
  digits: Digit[];
  seconds: number;
  log: (msg: string) => void;
  /** Gas of checking one real proof the way the market checks this model's proofs. */
  measureVerify: () => Promise<{ gas: bigint; calldataGas: bigint; calldataBytes: number }>;
  fulfil: (request: OpenRequest) => Promise<Settled>;
}): Promise<SingleChainBench> {
  const { ethers, market, modelId, requester, validator, digits } = o;
  const verify = await o.measureVerify();
  o.log(`verification: ${verify.gas} gas + 21,000, calldata ${verify.calldataBytes} bytes`);

  const settleOne = async (digit: Digit) => {
    const fromBlock = (await ethers.provider.getBlockNumber()) + 1;
    const posted = await postRequest(market, requester, modelId, digit.pixels);
    const open = await openRequests(market.connect(validator), modelId, fromBlock);
    const mine = open.find((r) => r.requestId === posted.requestId);
    if (!mine) throw new Error(`request ${posted.requestId} is not among the open requests`);
    const claimGas = await claimRequest(market, validator, mine.requestId);
    const fulfilled = await o.fulfil(mine);
    return { posted, claimGas, fulfilled };
  };

  const first = await settleOne(digits[1 % digits.length]);
  o.log(`first fulfil: ${first.fulfilled.gasUsed} gas`);

  const loopFulfilGas: bigint[] = [];
  const requestGas: bigint[] = [first.posted.gasUsed];
  const claimGas: bigint[] = [first.claimGas];
  let witnessMs = 0;
  let proveMs = 0;
  let settled = 0;
  const t0 = performance.now();
  const end = t0 + o.seconds * 1000;
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
  o.log(`throughput loop: ${settled} settled in ${(elapsed / 1000).toFixed(1)} s`);
  return {
    verifyGas: verify.gas,
    verifyCalldataGas: verify.calldataGas,
    verifyCalldataBytes: verify.calldataBytes,
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

/** Deploys a protocol for one baked model (and its batch keys), funds the requester and stakes the validator. */
async function deployFunded(
  ethers: HardhatEthers,
  options: { manifestFile: string; batchKeys?: { manifestFile: string; batchSize: number }[] },
) {
  const [governance, modelOwner, requester, validator] = await ethers.getSigners();
  const price = 10n ** 18n;
  const protocol = await deployProtocol(ethers, governance, {
    manifestFile: options.manifestFile,
    modelOwner,
    price,
    batchKeys: options.batchKeys ?? [],
  });
  // Enough fee tokens for any loop this machine can run, and the validator's stake.
  await (await protocol.token.mint(requester.address, 1_000_000n * price)).wait();
  const { minStake } = await protocol.market.params();
  await (await protocol.token.mint(validator.address, minStake)).wait();
  await ensureStaked(protocol.market, validator);
  return { protocol, governance, requester, validator };
}

/** One baked MLP: single fulfilment through the validator's own code, then batched fulfilment. */
export async function runChainBench(options: {
  ethers: HardhatEthers;
  manifest: Manifest;
  manifestFile: string;
  prover: Prover;
  quantized: QuantizedGraph;
  digits: Digit[];
  seconds: number;
  log: (msg: string) => void;
  /** A batch circuit of the same model to measure fulfilBatch with. */
  batch?: { manifest: Manifest; manifestFile: string; prover: Prover; size: number };
  /** A larger batch circuit of the same model, measured alike. */
  largeBatch?: { manifest: Manifest; manifestFile: string; prover: Prover; size: number };
}): Promise<ChainBench> {
  const { ethers, prover, quantized, digits } = options;
  const batches = [options.batch, options.largeBatch].flatMap((b) => (b ? [b] : []));
  const { protocol, governance, requester, validator } = await deployFunded(ethers, {
    manifestFile: options.manifestFile,
    batchKeys: batches.map((b) => ({ manifestFile: b.manifestFile, batchSize: b.size })),
  });
  const single = await singleModelBench({
    ethers,
    market: protocol.market,
    modelId: protocol.modelId,
    requester,
    validator,
    digits,
    seconds: options.seconds,
    log: options.log,
    // A real proof (any binding: the verifier does not interpret the signals).
    measureVerify: async () =>
      measureProtocolVerifyGas(
        protocol.verifier,
        validator,
        await prover.prove({ pixels: Array.from(digits[0].pixels), binding: 1n }),
      ),
    fulfil: (r) => fulfilRequest(protocol.market, validator, { prover, model: quantized }, r),
  });

  const postOpen = async (batchDigits: Digit[]): Promise<OpenRequest[]> => {
    const fromBlock = (await ethers.provider.getBlockNumber()) + 1;
    for (const d of batchDigits) await postRequest(protocol.market, requester, protocol.modelId, d.pixels);
    return openRequests(protocol.market.connect(validator), protocol.modelId, fromBlock);
  };
  const pick = (offset: number, n: number) => Array.from({ length: n }, (_, i) => digits[(offset + i) % digits.length]);
  /** Real batch proofs settled by fulfilBatch, and the batch verifier's own gas. */
  const measureBatch = async (b: NonNullable<typeof options.batch>, offset: number) => {
    const batchGas: bigint[] = [];
    const proveMs: number[] = [];
    for (let round = 0; round < 3; round++) {
      const f = await fulfilBatchRequests(
        protocol.market,
        validator,
        { prover: b.prover, model: quantized },
        await postOpen(pick(offset + round * b.size, b.size)),
      );
      batchGas.push(f.gasUsed);
      proveMs.push(f.witnessMs + f.proveMs);
    }
    const batchProof = await b.prover.prove({
      pixels: pick(offset + 100, b.size).map((d) => Array.from(d.pixels)),
      challenge: 1n,
      batchBinding: 1n,
    });
    const verifyGas = (await measureProtocolVerifyGas(protocol.batchVerifiers[b.size], governance, batchProof)).gas;
    options.log(`K = ${b.size}: ${batchGas.join(", ")} gas`);
    return { size: b.size, constraints: b.manifest.constraints, batchGas, verifyGas, proveMs };
  };

  let batch: BatchBench | undefined;
  if (options.batch) {
    const [lone] = await postOpen(pick(100, 1));
    const singleGas = (await fulfilRequest(protocol.market, validator, { prover, model: quantized }, lone)).gasUsed;
    options.log(`K = 1: ${singleGas} gas`);
    const measured = await measureBatch(options.batch, 200);

    // The market's own cost per further request: batches of two sizes of a committed model whose
    // governance circuits answer yes without cryptography (SettableVerifier), so that only the
    // per-request work (checks, fold terms, settlement) differs between the two sizes.
    const yes = await (await new SettableVerifier__factory(governance).deploy(true)).getAddress();
    const [small, large] = [2, 8];
    const circuit = async (size: number) => {
      const args = [yes, "0x" + "00".repeat(32), 4, size, "0x" + "00".repeat(32), ""] as const;
      const id = await protocol.circuits.registerCircuit.staticCall(...args);
      await (await protocol.circuits.registerCircuit(...args)).wait();
      return id;
    };
    const sized = await registerCommittedModel(protocol.registry, governance, {
      feeToken: await protocol.token.getAddress(),
      price: 10n ** 18n,
      circuitId: await circuit(1),
      weightsCommitment: 1n,
      batchCircuits: [
        { circuitId: await circuit(small), batchSize: small },
        { circuitId: await circuit(large), batchSize: large },
      ],
    });
    const sizedGas: bigint[] = [];
    for (const size of [small, large]) {
      const fromBlock = (await ethers.provider.getBlockNumber()) + 1;
      for (const d of pick(400 + size, size)) await postRequest(protocol.market, requester, sized.modelId, d.pixels);
      const open = await openRequests(protocol.market.connect(validator), sized.modelId, fromBlock);
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
      ...measured,
      singleGas,
      marginal: {
        small,
        large,
        smallGas: sizedGas[0],
        largeGas: sizedGas[1],
        perRequest: (sizedGas[1] - sizedGas[0]) / BigInt(large - small),
      },
    };
  }
  const largeBatch = options.largeBatch ? await measureBatch(options.largeBatch, 600) : undefined;
  return { ...single, batch, largeBatch };
}

/** One baked graph model (the reference CNN) registered alone, single fulfilment only. */
export async function runGraphChainBench(options: {
  ethers: HardhatEthers;
  manifestFile: string;
  prover: Prover;
  quantized: QuantizedGraph;
  digits: Digit[];
  seconds: number;
  log: (msg: string) => void;
}): Promise<SingleChainBench> {
  const { ethers, prover, quantized, digits } = options;
  const { protocol, requester, validator } = await deployFunded(ethers, { manifestFile: options.manifestFile });
  return singleModelBench({
    ...options,
    market: protocol.market,
    modelId: protocol.modelId,
    requester,
    validator,
    measureVerify: async () =>
      measureProtocolVerifyGas(
        protocol.verifier,
        validator,
        await prover.prove({ pixels: Array.from(digits[0].pixels), binding: 1n }),
      ),
    fulfil: (r) => fulfilRequest(protocol.market, validator, { prover, model: quantized }, r),
  });
}

/** Market figures of committed-mode requests, as the committed row of docs/benchmarks.md shows them. */
export interface CommittedChainBench {
  /** receipt.gasUsed of fulfilling one committed-mode request (K = 1). */
  fulfilGas: bigint;
  /** Gas per inference at the largest K the committed path settles in one transaction, if it batches. */
  largestBatch?: { size: number; gasPerInference: bigint };
  /** One validator's settled committed-mode requests per minute (request -> claim -> prove -> fulfil). */
  perMinute: number;
}

/**
 * Fulfilment gas and throughput of the committed-mode MLP (mnist-mlp-committed) on the market:
 * governance registers the shared circuit and its generated verifier, the model owner registers
 * the reference model by its weights commitment, and the validator proves each request with
 * the one proving path (fulfilRequest) and settles it with fulfil (request -> claim -> prove -> fulfil).
 * The committed circuit has no batch variant, so K = 1 is the largest K.
 */
export async function runCommittedChainBench(options: {
  ethers: HardhatEthers;
  manifest: Manifest;
  manifestFile: string;
  verifierContract: string;
  prover: Prover;
  quantized: QuantizedGraph;
  weightsCommitment: bigint;
  /** The baked model every deployProtocol registers; the committed one is registered next to it. */
  bakedManifestFile: string;
  digits: Digit[];
  seconds: number;
  log: (msg: string) => void;
}): Promise<CommittedChainBench & { single: SingleChainBench }> {
  const { ethers, prover, quantized } = options;
  const { protocol, governance, requester, validator } = await deployFunded(ethers, {
    manifestFile: options.bakedManifestFile,
  });
  const [, modelOwner] = await ethers.getSigners();
  const circuit = await registerCommittedCircuit(ethers, protocol.circuits, governance, {
    manifestFile: options.manifestFile,
    verifierContract: options.verifierContract,
  });
  const { modelId } = await registerCommittedModel(protocol.registry, modelOwner, {
    feeToken: await protocol.token.getAddress(),
    price: 10n ** 18n,
    circuitId: circuit.circuitId,
    weightsCommitment: options.weightsCommitment,
  });
  const single = await singleModelBench({
    ...options,
    market: protocol.market,
    modelId,
    requester,
    validator,
    measureVerify: async () =>
      measureVerifyGas(
        circuit.verifier,
        validator,
        await proveRequests({ prover, model: quantized }, [offChainRequest(quantized, options.digits[0].pixels)], {
          binding: 1n,
        }),
      ),
    fulfil: (r) =>
      fulfilRequest(
        protocol.market,
        validator,
        { prover, model: quantized, weightsCommitment: options.weightsCommitment },
        r,
      ),
  });
  // Median of the loop's fulfils (credit slots already non-zero), as for the baked rows.
  const sorted = [...single.loopFulfilGas].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const fulfilGas = sorted.length ? sorted[Math.floor(sorted.length / 2)] : single.firstFulfilGas;
  return { fulfilGas, perMinute: single.loop.perMinute, single };
}
