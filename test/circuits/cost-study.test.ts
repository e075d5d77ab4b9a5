import { expect } from "chai";
import { readFileSync } from "node:fs";
import { COST_STUDY_FILE, runCostStudy, type CostStudy } from "../../scripts/circuit/cost-study.ts";

/** circomlib-ml's own figure for an MNIST MLP 784-56-10, the yardstick of the circuit-library issue. */
const CIRCOMLIB_ML_REPORTED = 73_416;

describe("cost study: MNIST MLP 784-56-10, baked weights", function () {
  let study: CostStudy;
  before(async function () {
    // Trains, quantizes and compiles the circuits afresh (about a minute).
    study = await runCostStudy(false);
  });

  it("matches the committed figures in circuits/cost-study.json (a snapshot: update with npm run circuits:costs)", function () {
    const committed = JSON.parse(readFileSync(COST_STUDY_FILE, "utf8")) as CostStudy;
    expect(study.constraints).to.deep.equal(committed.constraints);
    expect(study.accBits).to.deep.equal(committed.accBits);
  });

  it("spends at most 1/25 of circomlib-ml's constraints on the layers and 1/8 in total", function () {
    const { layers, total, inputCommitment8Bit, binding } = study.constraints;
    expect(layers).to.be.at.most(Math.floor(CIRCOMLIB_ML_REPORTED / 25));
    expect(total).to.be.at.most(Math.floor(CIRCOMLIB_ML_REPORTED / 8));
    // The parts are disjoint: the full circuit is exactly the layers plus commitment plus binding.
    expect(total).to.equal(layers + inputCommitment8Bit + binding);
  });

  it("is a useful model, not a degenerate one (quantized accuracy on 1,000 held-out digits)", function () {
    expect(study.quantizedAccuracy).to.be.at.least(0.9);
  });
});
