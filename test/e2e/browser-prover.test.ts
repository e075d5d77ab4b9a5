/**
 * The browser build of the prover (scripts/prove/browser-entry.ts, bundled by esbuild) in a real
 * headless Chromium: it proves MLP inferences in the page with web workers, and snarkjs's verifier
 * in Node accepts the proofs. Skipped, saying what to install, where no Chromium is available.
 */
import { expect } from "chai";
import * as snarkjs from "snarkjs";
import { loadMnist } from "../../scripts/model/mnist.ts";
import { inferQuantizedGraph } from "../../scripts/model/graph-inference.ts";
import { buildModel, REFERENCE_MODELS, type BuiltModel } from "../../scripts/pipeline.ts";
import { proveInBrowser, type BrowserRun } from "../../scripts/prove/browser-run.ts";
import { Prover, releaseProverThreads } from "../../scripts/prove/prover.ts";
import { chromiumOrSkip } from "../helpers/chromium.ts";

describe("browser prover (same source, bundled with esbuild, in headless Chromium)", function () {
  let built: BuiltModel;
  let run: BrowserRun;
  const digits = loadMnist().test.slice(10, 13);
  const inputs = digits.map((d, i) => ({ pixels: Array.from(d.pixels), binding: BigInt(1000 + i) }));

  before(async function () {
    await chromiumOrSkip(this);
    built = await buildModel(REFERENCE_MODELS["mnist-mlp"]);
    run = await proveInBrowser(built.manifestFile, inputs);
  });

  after(async function () {
    await releaseProverThreads();
  });

  it("proves with web workers in the page", function () {
    expect(run.proofs).to.have.length(inputs.length);
    expect(run.hardwareConcurrency).to.be.greaterThan(0);
    expect(run.workers).to.equal(run.hardwareConcurrency);
  });

  it("makes standard Groth16 proofs of the integer reference's output that snarkjs's verifier accepts", async function () {
    const prover = await Prover.load(built.manifestFile);
    for (const [i, p] of run.proofs.entries()) {
      const ref = inferQuantizedGraph(built.quantized, digits[i].pixels);
      expect(p.publicSignals).to.deep.equal([ref.inputCommitment, ref.output, inputs[i].binding].map(String));
      expect(p.proof.protocol).to.equal("groth16");
      expect(p.calldata).to.have.length(8);
      expect(await snarkjs.groth16.verify(prover.vk, p.publicSignals, p.proof), `proof ${i}`).to.equal(true);
      // And a proof of another input's signals does not verify under it.
      const other = run.proofs[(i + 1) % run.proofs.length];
      expect(await snarkjs.groth16.verify(prover.vk, other.publicSignals, p.proof)).to.equal(false);
    }
  });
});
