/**
 * The end-to-end demo on Hardhat's in-process chain: a real MNIST digit goes from a
 * requester's escrowed request, through a validator's Groth16 proof, to an on-chain payout.
 *
 *   npm run demo [-- --digit <index of a held-out test digit>] [-- --ptau <file>]
 */
import path from "node:path";
import hre from "hardhat";
import { formatUnits } from "ethers";
import { ROOT } from "./circuit/compile.ts";
import { onnxGraphAccuracy } from "./compiler/float-reference.ts";
import { loadMnist } from "./model/mnist.ts";
import { inferQuantizedGraph } from "./model/graph-inference.ts";
import { buildModel, REFERENCE_MODELS } from "./pipeline.ts";
import { stderrLines } from "./cli/support.ts";
import { loadModelArtifacts } from "./prove/prove-request.ts";
import { releaseProverThreads } from "./prove/prover.ts";

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

let stageNo = 0;
function stage(title: string, ms: number, lines: string[] = []): void {
  stageNo++;
  console.log(`\n[${stageNo}] ${title}  (${ms >= 1000 ? (ms / 1000).toFixed(2) + " s" : ms.toFixed(0) + " ms"})`);
  for (const l of lines) console.log(`    ${l}`);
}
async function timed<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const t = performance.now();
  const v = await fn();
  return [v, performance.now() - t];
}

async function main(): Promise<void> {
  const model = REFERENCE_MODELS["mnist-mlp"];
  const digitIndex = Number(arg("digit") ?? 7);
  console.log("poi demo: one MNIST inference, proven with Groth16 and settled on Hardhat's in-process chain");

  const [{ test, train }, loadMs] = await timed(() => loadMnist());
  if (!Number.isInteger(digitIndex) || digitIndex < 0 || digitIndex >= test.length) {
    throw new Error(`--digit must be an index of a held-out digit, 0..${test.length - 1}`);
  }
  stage("load real MNIST digits (mnist package, 14x14 bytes)", loadMs, [
    `${train.length} training digits, ${test.length} held-out digits`,
  ]);

  const built = await buildModel(model, {
    ptauPath: arg("ptau"),
    log: (m) => console.log(`    ${m}`),
    onStage: (s, ms, detail) => stage(s, ms, [detail]),
  });

  const [accuracy, accMs] = await timed(async () => {
    const float = await onnxGraphAccuracy(path.join(ROOT, model.onnx), [1, built.quantized.inputSize], test);
    let correct = 0;
    let agree = 0;
    test.forEach((d, i) => {
      const p = inferQuantizedGraph(built.quantized, d.pixels).predicted;
      if (p === d.label) correct++;
      if (p === float.predictions[i]) agree++;
    });
    return { float: float.accuracy, quantized: correct / test.length, agree: agree / test.length };
  });
  stage("accuracy on the held-out digits", accMs, [
    `float (onnxruntime on ${model.onnx}): ${(accuracy.float * 100).toFixed(1)}%`,
    `quantized (integer reference = circuit): ${(accuracy.quantized * 100).toFixed(1)}%, top-1 agreement ${(accuracy.agree * 100).toFixed(1)}%`,
  ]);

  const [, buildMs] = await timed(buildContracts);
  stage("compile contracts (solc 0.8.37 from npm)", buildMs);

  // The chain modules use the TypeChain types that the build above generates: load them now.
  const { deployProtocol } = await import("./chain/protocol.ts");
  const { postRequest } = await import("./chain/requester.ts");
  const { claimRequest, ensureStaked, fulfilRequest, openRequests } = await import("./chain/validator.ts");
  const { ethers } = await hre.network.create();
  const [governance, modelOwner, requester, validator] = await ethers.getSigners();
  const price = 10n ** 18n;
  const [protocol, deployMs] = await timed(() =>
    deployProtocol(ethers, governance, {
      manifestFile: built.manifestFile,
      modelOwner,
      price,
    }),
  );
  stage(
    "deploy token, circuit and model registries, market; the model owner registers the model with its verification key",
    deployMs,
    Object.entries(protocol.gas).map(([k, g]) => `${k}: ${g.toLocaleString("en-US")} gas`),
  );

  await (await protocol.token.mint(requester.address, 5n * price)).wait();
  const digit = test[digitIndex];
  const [posted, requestMs] = await timed(() =>
    postRequest(protocol.market, requester, protocol.modelId, digit.pixels),
  );
  stage("requester escrows the fee and posts the request", requestMs, [
    `request #${posted.requestId}: held-out digit ${digitIndex} (true label ${digit.label}), fee ${formatUnits(posted.fee)} POI`,
    `input commitment ${posted.inputCommitment.toString().slice(0, 20)}...`,
    `gas: ${posted.gasUsed.toLocaleString("en-US")}`,
  ]);

  const [artifacts, loadProverMs] = await timed(() => loadModelArtifacts(built.manifestFile));
  stage("validator loads and checks the artifacts and the quantized model against the manifest", loadProverMs, [
    `${built.manifest.constraints} constraints, zkey ${built.manifest.artifacts.zkey.sha256.slice(0, 16)}...`,
  ]);

  const params = await protocol.market.params();
  await (await protocol.token.mint(validator.address, params.minStake)).wait();
  const [[claimGas, mine], claimMs] = await timed(async () => {
    await ensureStaked(protocol.market, validator);
    const open = await openRequests(protocol.market.connect(validator), protocol.modelId);
    const request = open.find((r) => r.requestId === posted.requestId);
    if (!request) throw new Error(`request ${posted.requestId} is not open`);
    return [await claimRequest(protocol.market, validator, request), request] as const;
  });
  stage("validator stakes, picks up the event and claims the request (bond locked, exclusive window)", claimMs, [
    `stake ${formatUnits(params.minStake)} POI, bond ${formatUnits(params.claimBond)} POI, window ${params.claimWindow} s`,
    `claim gas: ${claimGas.toLocaleString("en-US")}`,
  ]);

  const [fulfilled, fulfilMs] = await timed(() => fulfilRequest(protocol.market, validator, artifacts, mine));
  stage("validator computes the witness, proves, fulfils with the request's terms", fulfilMs, [
    `witness ${fulfilled.witnessMs.toFixed(0)} ms, Groth16 proof ${fulfilled.proveMs.toFixed(0)} ms`,
    `predicted digit ${fulfilled.predicted}, true label ${digit.label}${fulfilled.predicted === digit.label ? " (correct)" : " (wrong)"}`,
    `fulfil gas (proof verified on-chain, fee split, bond released, attestation recorded): ${fulfilled.gasUsed.toLocaleString("en-US")}`,
    `attested on-chain: ${await protocol.market.isAttestedByRequest(await protocol.market.factOf(protocol.modelId, posted.inputCommitment, fulfilled.output), posted.requestId)}`,
  ]);

  const [withdrawGas, withdrawMs] = await timed(async () => {
    const token = await protocol.token.getAddress();
    const receipt = await (await protocol.market.connect(validator).withdraw(token)).wait();
    await (await protocol.market.connect(modelOwner).withdraw(token)).wait();
    return receipt!.gasUsed;
  });
  const bal = async (a: string) => formatUnits(await protocol.token.balanceOf(a));
  const [, , protocolFees] = await protocol.market.feeAccounts(await protocol.token.getAddress());
  stage("validator and model owner withdraw their credited shares", withdrawMs, [
    `split: protocol ${params.protocolFeeBps} bp, model-owner royalty ${params.royaltyBps} bp, validator the rest`,
    `withdraw gas: ${withdrawGas.toLocaleString("en-US")}`,
    `final balances: requester ${await bal(requester.address)} POI, validator ${await bal(validator.address)} POI ` +
      `(+${formatUnits(params.minStake)} staked), model owner ${await bal(modelOwner.address)} POI, ` +
      `market ${await bal(await protocol.market.getAddress())} POI (stake + ${formatUnits(protocolFees)} protocol fees)`,
  ]);
  await releaseProverThreads();
  console.log(
    `\ndemo complete.${built.manifest.ptau.insecure ? " (setup used an INSECURE development ptau: fine for a demo, never for a deployment)" : ""}`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(stderrLines(`demo failed: ${(err as Error).message}`));
    process.exit(1);
  },
);

/**
 * Compiles the contracts the demo deploys (not the Solidity tests: `npm test` builds those).
 * solc warns wherever transient storage is written; in this project that is only OpenZeppelin's
 * TransientSlot under ReentrancyGuardTransient, the use that the warning itself calls safe (a
 * guard cleared at the end of the call), so that one notice is not shown. Every other compiler
 * message still prints.
 */
async function buildContracts(): Promise<void> {
  const warn = console.warn;
  console.warn = (...parts: unknown[]) => {
    const text = parts.map(String).join(" ");
    const openZeppelinTransient =
      text.includes("Transient storage as defined by EIP-1153") &&
      text.includes("@openzeppelin/contracts/utils/TransientSlot.sol");
    if (!openZeppelinTransient) warn(...parts);
  };
  try {
    await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
  } finally {
    console.warn = warn;
  }
}
