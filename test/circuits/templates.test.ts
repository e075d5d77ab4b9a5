import { expect } from "chai";
import { SNARK_SCALAR_FIELD, toField } from "../../scripts/circuit/field.ts";
import {
  argmax,
  packedCommitment,
  requantize,
  requantReluClamp,
  valuesPerChunk,
} from "../../scripts/circuit/reference.ts";
import { CircuitTester } from "../helpers/circuit-tester.ts";
import { seededInts } from "../helpers/random.ts";
import { checkConstraintSnapshot } from "../helpers/snapshot.ts";

/** Honest witness must exist and give `expected`; then no single wire may move freely. */
async function expectMatchesAndPinned(
  t: CircuitTester,
  input: Record<string, unknown>,
  expected: bigint[],
): Promise<bigint[]> {
  const w = await t.witness(input);
  expect(t.satisfies(w), "honest witness satisfies the r1cs").to.equal(true);
  expect(t.outputs(w)).to.deep.equal(expected);
  return w;
}

async function expectRejected(t: CircuitTester, input: Record<string, unknown>): Promise<void> {
  let failed = false;
  try {
    await t.witness(input);
  } catch {
    failed = true;
  }
  expect(
    failed,
    `input ${JSON.stringify(input, (_, v) => (typeof v === "bigint" ? v.toString() : v))} must have no witness`,
  ).to.equal(true);
}

/** Sets named signals in a copy of a witness (signals the optimiser removed are skipped). */
function forge(t: CircuitTester, w: bigint[], values: Record<string, bigint>): bigint[] {
  const f = w.slice();
  for (const [name, v] of Object.entries(values)) {
    const idx = t.wire(name);
    if (idx >= 0) f[idx] = toField(v);
  }
  return f;
}

describe("circuits/lib templates against their TypeScript reference", function () {
  describe("RequantReluClamp", function () {
    for (const [accBits, shift, outBits] of [
      [20, 6, 8],
      [12, 6, 8],
      [24, 0, 8],
    ]) {
      const key = `RequantReluClamp(${accBits},${shift},${outBits})`;
      let t: CircuitTester;
      before(async function () {
        t = await CircuitTester.compile(
          `requant-relu-clamp-${accBits}-${shift}-${outBits}`,
          ["requantize.circom"],
          `template T() { signal input in; signal output out; component r = RequantReluClamp(${accBits}, ${shift}, ${outBits}); r.in <== in; out <== r.out; }\ncomponent main = T();`,
        );
      });

      it(`${key}: equals requantReluClamp on edge and seeded random inputs, every wire pinned`, async function () {
        const max = 2 ** (accBits - 1) - 1;
        const min = -(2 ** (accBits - 1));
        const clampEdge = 2 ** shift * 2 ** outBits;
        const edges = [
          0,
          1,
          -1,
          max,
          min,
          clampEdge - 1,
          clampEdge,
          clampEdge + 1,
          -clampEdge,
          2 ** shift - 1,
          2 ** shift,
        ].filter((v) => v >= min && v <= max);
        const rnd = seededInts(accBits * 1000 + shift);
        const inputs = [...edges, ...Array.from({ length: 12 }, () => rnd(min, max))];
        for (const acc of inputs) {
          const w = await expectMatchesAndPinned(t, { in: acc }, [
            BigInt(requantReluClamp(acc, accBits, shift, outBits)),
          ]);
          expect(t.unpinnedWires(w), `free wires at in=${acc}`).to.deep.equal([]);
        }
      });

      it(`${key}: rejects accumulators outside its range, as the reference does`, async function () {
        for (const acc of [2 ** (accBits - 1), -(2 ** (accBits - 1)) - 1]) {
          expect(() => requantReluClamp(acc, accBits, shift, outBits)).to.throw(RangeError);
          await expectRejected(t, { in: acc });
        }
      });

      it(`${key}: a forged output with a matching claim is refused`, async function () {
        const w = await t.witness({ in: 1000 });
        const honest = t.outputs(w)[0];
        for (const lie of [honest + 1n, honest - 1n, 0n, 255n, SNARK_SCALAR_FIELD - 1n]) {
          if (lie === honest) continue;
          expect(t.satisfies(forge(t, w, { "main.out": lie, "main.r.out": lie })), `out=${lie}`).to.equal(false);
        }
      });

      it(`${key}: constraint count matches the snapshot`, function () {
        checkConstraintSnapshot(key, t.constraints);
        const nHigh = Math.max(accBits - 1 - shift - outBits, 0);
        expect(t.constraints).to.equal(accBits + 1 + Math.min(nHigh, 4));
      });
    }
  });

  describe("Requantize", function () {
    let t: CircuitTester;
    const [accBits, shift] = [16, 5];
    before(async function () {
      t = await CircuitTester.compile(
        `requantize-${accBits}-${shift}`,
        ["requantize.circom"],
        `template T() { signal input in; signal output out; component r = Requantize(${accBits}, ${shift}); r.in <== in; out <== r.out; }\ncomponent main = T();`,
      );
    });

    it("equals requantize (floor division, signed) on edge and random inputs, every wire pinned", async function () {
      const rnd = seededInts(7);
      const max = 2 ** (accBits - 1) - 1;
      for (const acc of [
        0,
        1,
        -1,
        31,
        32,
        -32,
        -33,
        max,
        -max - 1,
        ...Array.from({ length: 10 }, () => rnd(-max - 1, max)),
      ]) {
        const w = await expectMatchesAndPinned(t, { in: acc }, [toField(requantize(acc, accBits, shift))]);
        expect(t.unpinnedWires(w)).to.deep.equal([]);
      }
      await expectRejected(t, { in: max + 1 });
    });

    it("constraint count matches the snapshot", function () {
      checkConstraintSnapshot(`Requantize(${accBits},${shift})`, t.constraints);
      expect(t.constraints).to.equal(accBits);
    });
  });

  describe("ArgMax", function () {
    const [n, diffBits] = [10, 12];
    let t: CircuitTester;
    before(async function () {
      t = await CircuitTester.compile(
        `argmax-${n}-${diffBits}`,
        ["argmax.circom"],
        `template T() { signal input in[${n}]; signal output out; component a = ArgMax(${n}, ${diffBits}); a.in <== in; out <== a.out; }\ncomponent main = T();`,
      );
    });

    it("equals argmax (first maximum) on ties, negatives and random inputs, every wire pinned", async function () {
      const rnd = seededInts(11);
      const half = 2 ** (diffBits - 1) - 1;
      const cases = [
        Array(n).fill(0),
        Array.from({ length: n }, (_, i) => (i === 3 || i === 7 ? 5 : -5)),
        Array.from({ length: n }, (_, i) => -i),
        Array.from({ length: n }, (_, i) => (i === n - 1 ? half : -half - 1 + 1)),
        ...Array.from({ length: 8 }, () => Array.from({ length: n }, () => rnd(-half, half))),
      ];
      for (const values of cases) {
        const w = await expectMatchesAndPinned(t, { in: values }, [BigInt(argmax(values))]);
        expect(t.unpinnedWires(w)).to.deep.equal([]);
      }
    });

    it("refuses every other index, even with a consistent selector and gap bits", async function () {
      const values = [3, -2, 9, 9, 0, -7, 4, 1, 8, 2];
      const w = await t.witness({ in: values });
      const honest = argmax(values);
      for (let c = 0; c < n; c++) {
        if (c === honest) continue;
        const forged: Record<string, bigint> = { "main.out": BigInt(c), "main.a.out": BigInt(c) };
        let after = 0n;
        for (let j = n - 1; j >= 0; j--) {
          // The gap the forger would need to decompose, wrapped into the field.
          const gap = toField(BigInt(values[c]) - BigInt(values[j]) - after);
          for (let k = 0; k < diffBits; k++) forged[`main.a.gapBits[${j}][${k}]`] = (gap >> BigInt(k)) & 1n;
          after += j === c ? 1n : 0n;
        }
        for (let i = 0; i < n; i++) {
          forged[`main.a.sel[${i}]`] = i === c ? 1n : 0n;
          forged[`main.a.picked[${i}]`] = i === c ? toField(values[i]) : 0n;
        }
        expect(t.satisfies(forge(t, w, forged)), `index ${c}`).to.equal(false);
      }
    });

    it("constraint count matches the snapshot", function () {
      checkConstraintSnapshot(`ArgMax(${n},${diffBits})`, t.constraints);
      expect(t.constraints).to.equal(n * (2 + diffBits));
    });
  });

  describe("PackedCommitment", function () {
    const [n, valueBits] = [40, 8];
    let t: CircuitTester;
    before(async function () {
      t = await CircuitTester.compile(
        `packed-commitment-${n}-${valueBits}`,
        ["commitment.circom"],
        `template T() { signal input in[${n}]; signal output out; component c = PackedCommitment(${n}, ${valueBits}); c.in <== in; out <== c.out; }\ncomponent main = T();`,
      );
    });

    it("equals packedCommitment (Poseidon over packed values) on edge and random tensors, every wire pinned", async function () {
      const rnd = seededInts(5);
      const max = 2 ** valueBits - 1;
      for (const values of [Array(n).fill(0), Array(n).fill(max), Array.from({ length: n }, () => rnd(0, max))]) {
        const w = await expectMatchesAndPinned(t, { in: values }, [packedCommitment(values, valueBits)]);
        expect(t.unpinnedWires(w)).to.deep.equal([]);
      }
    });

    it("refuses a value that borrows from its neighbour (out of range), which would alias the packing", async function () {
      // [256, 0, ...] and [0, 1, ...] pack to the same chunk: only the range check tells them apart.
      const aliased = Array(n).fill(0);
      aliased[0] = 2 ** valueBits;
      expect(() => packedCommitment(aliased, valueBits)).to.throw(RangeError);
      await expectRejected(t, { in: aliased });
      await expectRejected(t, { in: Array.from({ length: n }, (_, i) => (i === 5 ? -1 : 0)) });
    });

    it("constraint count matches the snapshot", function () {
      checkConstraintSnapshot(`PackedCommitment(${n},${valueBits})`, t.constraints);
      expect(valuesPerChunk(valueBits)).to.equal(31);
      expect(t.constraints).to.be.greaterThan(n * valueBits);
    });
  });

  describe("PackedCommitment beyond 16 chunks (chained Poseidon)", function () {
    const [n, valueBits] = [600, 8]; // 20 chunks: Poseidon(16), then Poseidon(1 + 4)
    let t: CircuitTester;
    before(async function () {
      t = await CircuitTester.compile(
        `packed-commitment-${n}-${valueBits}`,
        ["commitment.circom"],
        `template T() { signal input in[${n}]; signal output out; component c = PackedCommitment(${n}, ${valueBits}); c.in <== in; out <== c.out; }\ncomponent main = T();`,
      );
    });

    it("equals packedCommitment on a random tensor, every wire pinned, and counts as the snapshot says", async function () {
      const rnd = seededInts(600);
      const values = Array.from({ length: n }, () => rnd(0, 255));
      const w = await expectMatchesAndPinned(t, { in: values }, [packedCommitment(values, valueBits)]);
      expect(t.unpinnedWires(w)).to.deep.equal([]);
      checkConstraintSnapshot(`PackedCommitment(${n},${valueBits})`, t.constraints);
    });
  });

  describe("RequestBinding", function () {
    let t: CircuitTester;
    before(async function () {
      t = await CircuitTester.compile(
        "request-binding",
        ["binding.circom"],
        `template T() { signal input binding; component b = RequestBinding(); b.binding <== binding; }\ncomponent main {public [binding]} = T();`,
      );
    });

    it("keeps the public binding in a constraint, so it cannot be changed alone", async function () {
      const w = await t.witness({ binding: 123456789n });
      expect(t.satisfies(w)).to.equal(true);
      expect(t.r1cs.nPubIn).to.equal(1);
      expect(t.r1cs.byWire[1].length, "the binding wire appears in a constraint").to.be.greaterThan(0);
      expect(t.unpinnedWires(w)).to.deep.equal([]);
      checkConstraintSnapshot("RequestBinding()", t.constraints);
      expect(t.constraints).to.equal(1);
    });
  });
});
