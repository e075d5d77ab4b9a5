/**
 * The on-chain half of the benchmark, on Hardhat's in-process chain: verify gas, the gas of each
 * step of a request's life (request, claim, settlement) singly and in batches of every K built,
 * and one validator's throughput. It uses the TypeChain types that `hardhat build` generates,
 * so run.ts imports it only after building the contracts.
 */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { Contract, getBytes, type Signer } from "ethers";
import { Groth16Harness__factory, type InferenceMarket } from "../../types/ethers-contracts/index.js";
import { requestBinding } from "../chain/binding.ts";
import { registerCommittedCircuit } from "../chain/committed.ts";
import { deployProtocol, registerCommittedModel, registerUniversalModel } from "../chain/protocol.ts";
import { postRequest, postRequests } from "../chain/requester.ts";
import {
  claimRequest,
  claimRequests,
  ensureStaked,
  fulfilBatchRequests,
  fulfilBatchUniversalRequests,
  fulfilRequest,
  fulfilUniversalRequest,
  openRequests,
  type BatchFulfilment,
  type OpenRequest,
} from "../chain/validator.ts";
import { packedCommitment } from "../circuit/reference.ts";
import { inferQuantizedGraph } from "../model/graph-inference.ts";
import type { Digit } from "../model/mnist.ts";
import type { QuantizedGraph } from "../model/quantize-graph.ts";
import { offChainRequest, proveRequests } from "../prove/prove-request.ts";
import type { Manifest } from "../setup/manifest.ts";
import type { Prover, ProofResult } from "../prove/prover.ts";
import type { UniversalArtifacts } from "../prove/prove-request.ts";
import type { UniversalProver } from "../prove/universal-prover.ts";

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
  /** The whole life of batches of each K built, with real proofs, smallest K first. */
  batches: BatchLifecycleBench[];
}

/**
 * Batches of K requests through their whole life, each step one transaction: `requestInferences`
 * of K inputs, `claimBatch` of the K requests, `fulfilBatch` with a real proof of the K claimed
 * requests (fee-credit slots already non-zero). All figures are receipt.gasUsed, 21,000 intrinsic
 * included, per transaction (divide by `size` for gas per inference).
 */
export interface BatchLifecycleBench {
  size: number;
  constraints: number;
  requestGas: bigint[];
  claimGas: bigint[];
  settleGas: bigint[];
  /** eth_estimateGas of the protocol's verifier with a real batch proof, minus INTRINSIC_GAS (when measured). */
  verifyGas?: bigint;
  /** Warm witness + proof of each batch proof. */
  proveMs: number[];
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
  proof: ProofResult,
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
  proof: ProofResult,
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
    const claimGas = await claimRequest(market, validator, mine);
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

/** One baked MLP: single requests through the validator's own code, then batches of each K. */
export async function runChainBench(options: {
  ethers: HardhatEthers;
  manifest: Manifest;
  manifestFile: string;
  prover: Prover;
  quantized: QuantizedGraph;
  digits: Digit[];
  seconds: number;
  log: (msg: string) => void;
  /** Batch circuits of the same model, each measured through the whole batch lifecycle. */
  batches: { manifest: Manifest; manifestFile: string; prover: Prover; size: number }[];
  /** Batches of each size to measure (the median is reported). */
  rounds?: number;
}): Promise<ChainBench> {
  const { ethers, prover, quantized, digits } = options;
  const sizes = [...options.batches].sort((a, b) => a.size - b.size);
  const { protocol, governance, requester, validator } = await deployFunded(ethers, {
    manifestFile: options.manifestFile,
    batchKeys: sizes.map((b) => ({ manifestFile: b.manifestFile, batchSize: b.size })),
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

  const batches = await batchLifecycles({
    ethers,
    protocol,
    modelId: protocol.modelId,
    requester,
    validator,
    digits,
    sizes: sizes.map((b) => b.size),
    rounds: options.rounds ?? 3,
    log: options.log,
    fulfil: (k, open) => {
      const b = sizes.find((s) => s.size === k)!;
      return fulfilBatchRequests(protocol.market, validator, { prover: b.prover, model: quantized }, open);
    },
    verifyGas: async (k, pixels) => {
      const b = sizes.find((s) => s.size === k)!;
      const batchProof = await b.prover.prove({ pixels, challenge: 1n, batchBinding: 1n });
      return (await measureProtocolVerifyGas(protocol.batchVerifiers[k], governance, batchProof)).gas;
    },
    constraints: (k) => sizes.find((s) => s.size === k)!.manifest.constraints,
  });
  return { ...single, batches };
}

/**
 * Batches of each size in `sizes` through their whole life, `rounds` times each: requestInferences
 * of K digits, claimBatch, then `fulfil` (a real proof of the K claimed requests, settled in one
 * transaction), with the validator's stake raised for the largest batch's bonds first.
 */
async function batchLifecycles(o: {
  ethers: HardhatEthers;
  protocol: Awaited<ReturnType<typeof deployProtocol>>;
  modelId: bigint;
  requester: Signer;
  validator: Signer;
  digits: Digit[];
  sizes: number[];
  rounds: number;
  log: (msg: string) => void;
  fulfil: (size: number, open: OpenRequest[]) => Promise<BatchFulfilment>;
  /** Verify gas of a real batch proof of these pixels (any binding), when measured. */
  verifyGas?: (size: number, pixels: number[][]) => Promise<bigint>;
  /** The batch circuit's size: R1CS constraints, or PLONK gates. */
  constraints: (size: number) => number;
}): Promise<BatchLifecycleBench[]> {
  const { ethers, protocol, requester, validator, digits } = o;
  // A batch claim locks one bond per request: stake enough for the largest batch on top of minStake.
  const { claimBond } = await protocol.market.params();
  const extra = claimBond * BigInt(Math.max(0, ...o.sizes));
  if (extra > 0n) {
    await (await protocol.token.mint(await validator.getAddress(), extra)).wait();
    await (await protocol.token.connect(validator).approve(await protocol.market.getAddress(), extra)).wait();
    await (await protocol.market.connect(validator).stake(extra)).wait();
  }
  const pick = (offset: number, n: number) => Array.from({ length: n }, (_, i) => digits[(offset + i) % digits.length]);
  const batches: BatchLifecycleBench[] = [];
  let offset = 200;
  for (const size of [...o.sizes].sort((a, b) => a - b)) {
    const requestGas: bigint[] = [];
    const claimGas: bigint[] = [];
    const settleGas: bigint[] = [];
    const proveMs: number[] = [];
    for (let round = 0; round < o.rounds; round++) {
      const fromBlock = (await ethers.provider.getBlockNumber()) + 1;
      const posted = await postRequests(
        protocol.market,
        requester,
        o.modelId,
        pick(offset, size).map((d) => d.pixels),
      );
      offset += size;
      const ids = new Set(posted.map((p) => p.requestId));
      const open = (await openRequests(protocol.market.connect(validator), o.modelId, fromBlock)).filter((r) =>
        ids.has(r.requestId),
      );
      if (open.length !== size) throw new Error(`K = ${size}: ${open.length} of the posted requests are open`);
      // postRequests splits one transaction's gas evenly: the sum is the transaction's.
      requestGas.push(posted.reduce((sum, p) => sum + p.gasUsed, 0n));
      claimGas.push(await claimRequests(protocol.market, validator, open));
      const f = await o.fulfil(size, open);
      settleGas.push(f.gasUsed);
      proveMs.push(f.witnessMs + f.proveMs);
    }
    const verifyGas = o.verifyGas
      ? await o.verifyGas(
          size,
          pick(offset, size).map((d) => Array.from(d.pixels)),
        )
      : undefined;
    o.log(
      `K = ${size}: requestInferences ${requestGas.join(", ")}, claimBatch ${claimGas.join(", ")}, settlement ${settleGas.join(", ")} gas`,
    );
    batches.push({ size, constraints: o.constraints(size), requestGas, claimGas, settleGas, verifyGas, proveMs });
  }
  return batches;
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

/** Market figures of a universal-mode (PLONK) model, as docs/benchmarks.md's universal section shows them. */
export interface UniversalChainBench extends SingleChainBench {
  /** receipt.gasUsed of registerUniversalModel (the keys' checks and their data contracts). */
  registerGas: bigint;
  /** The whole life of universal batches of each K built, with real PLONK proofs, smallest K first. */
  batches: BatchLifecycleBench[];
}

/**
 * A universal-mode model registered next to the deployment's baked one by its PLONK key (and its
 * batch keys), then the single-model figures of every row: the verify gas of the check the market
 * makes (the registry's verifyUniversal, the protocol's own PLONK code on the key's data contract,
 * with a real proof), the first fulfil and a loop of request -> claim -> prove -> fulfilUniversal
 * through the validator's own code (fulfilUniversalRequest); then `batchRounds` batches of each K
 * through requestInferences, claimBatch and fulfilBatchUniversal (fulfilBatchUniversalRequests).
 */
export async function runUniversalChainBench(options: {
  ethers: HardhatEthers;
  /** The baked model every deployProtocol registers; the universal one is registered next to it. */
  bakedManifestFile: string;
  vkeyFile: string;
  prover: UniversalProver;
  quantized: QuantizedGraph;
  digits: Digit[];
  seconds: number;
  log: (msg: string) => void;
  batches?: { size: number; vkeyFile: string; artifacts: UniversalArtifacts }[];
  batchRounds?: number;
}): Promise<UniversalChainBench> {
  const { ethers, prover, quantized, digits } = options;
  const { protocol, requester, validator } = await deployFunded(ethers, { manifestFile: options.bakedManifestFile });
  const [, modelOwner] = await ethers.getSigners();
  const sizes = options.batches ?? [];
  const universal = await registerUniversalModel(protocol.registry, modelOwner, {
    vkeyFile: options.vkeyFile,
    batchKeys: sizes.map((b) => ({ vkeyFile: b.vkeyFile, batchSize: b.size })),
    feeToken: await protocol.token.getAddress(),
    price: 10n ** 18n,
  });
  options.log(`registerUniversalModel: ${universal.gasUsed} gas`);
  const single = await singleModelBench({
    ...options,
    market: protocol.market,
    modelId: universal.modelId,
    requester,
    validator,
    measureVerify: async () => {
      // A real proof (any binding: the verifier does not interpret the signals).
      const proof = await prover.prove({ pixels: Array.from(digits[0].pixels), binding: 1n });
      const args = [universal.modelId, 1n, proof.publicSignals, proof.proof] as const;
      if (!(await protocol.registry.verifyUniversal(...args)))
        throw new Error("the protocol's PLONK verifier rejects a real proof");
      const estimate = await protocol.registry.verifyUniversal.estimateGas(...args);
      const data = protocol.registry.interface.encodeFunctionData("verifyUniversal", [...args]);
      return { gas: estimate - INTRINSIC_GAS, calldataGas: calldataGas(data), calldataBytes: getBytes(data).length };
    },
    fulfil: (r) => fulfilUniversalRequest(protocol.market, validator, prover, quantized, r),
  });
  const batches = await batchLifecycles({
    ethers,
    protocol,
    modelId: universal.modelId,
    requester,
    validator,
    digits,
    sizes: sizes.map((b) => b.size),
    rounds: options.batchRounds ?? 1,
    log: options.log,
    fulfil: (k, open) =>
      fulfilBatchUniversalRequests(protocol.market, validator, sizes.find((b) => b.size === k)!.artifacts, open),
    constraints: (k) => sizes.find((b) => b.size === k)!.artifacts.manifest.gates,
  });
  return { ...single, registerGas: universal.gasUsed, batches };
}
