import { expect } from "chai";
import { buildModel, REFERENCE_MODELS } from "../../scripts/pipeline.ts";
import { checkConstraintSnapshot } from "../helpers/snapshot.ts";

describe("reference model circuits", function () {
  // The bench-only circuits (the 196-32-10 committed one, pot17) are built by `npm run bench`;
  // test/circuits/committed-mlp.test.ts checks that architecture's constraint count.
  for (const model of Object.values(REFERENCE_MODELS).filter((m) => !m.benchOnly)) {
    it(`${model.name}: constraint count matches the snapshot and fits the ptau its setup used`, async function () {
      const built = await buildModel(model);
      checkConstraintSnapshot(`model ${model.name}`, built.manifest.constraints);
      const power = Number(/pot(\d+)/.exec(built.manifest.ptau.file)?.[1]);
      expect(built.manifest.constraints).to.be.below(2 ** power);
    });
  }
});
