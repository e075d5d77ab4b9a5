import { expect } from "chai";
import { conv2dLinearCombinations } from "../../scripts/circuit/conv-baked.ts";
import { SNARK_SCALAR_FIELD, toField } from "../../scripts/circuit/field.ts";
import { packedCommitment, requantize } from "../../scripts/circuit/reference.ts";
import {
  avgPool2D,
  avgPoolShift,
  conv2DCommitted,
  convOutputSize,
  denseCommitted,
  maxPool2D,
  signedPackedCommitment,
  sumPool2D,
  type Chw,
  type Conv2DShape,
  type Pool2DShape,
} from "../../scripts/circuit/reference-layers.ts";
import { CircuitTester } from "../helpers/circuit-tester.ts";
import { seededInts } from "../helpers/random.ts";
import { checkConstraintSnapshot } from "../helpers/snapshot.ts";

const fieldOf = (values: number[]) => values.map((v) => toField(v));
const flatChw = (t: Chw) => t.flat(2);

/** The honest witness must satisfy the r1cs and give `expected` as its public outputs. */
async function expectOutputs(t: CircuitTester, input: Record<string, unknown>, expected: bigint[]): Promise<bigint[]> {
  const w = await t.witness(input);
  expect(t.satisfies(w), "honest witness satisfies the r1cs").to.equal(true);
  expect(t.outputs(w)).to.deep.equal(expected);
  return w;
}

async function expectRejected(t: CircuitTester, input: Record<string, unknown>, what: string): Promise<void> {
  let failed = false;
  try {
    await t.witness(input);
  } catch {
    failed = true;
  }
  expect(failed, `${what} must have no witness`).to.equal(true);
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

function tensor(c: number, h: number, w: number, value: (c: number, h: number, w: number) => number): Chw {
  return Array.from({ length: c }, (_, i) =>
    Array.from({ length: h }, (_, j) => Array.from({ length: w }, (_, k) => value(i, j, k))),
  );
}

/** A random integer in [lo, hi] other than 0, so that no product leaves its other factor free. */
function nonZero(rnd: (lo: number, hi: number) => number, lo: number, hi: number): number {
  for (;;) {
    const v = rnd(lo, hi);
    if (v !== 0) return v;
  }
}

/**
 * Free wires of a pooling circuit whose window sums are bit-decomposed, checked one by one.
 * With k = 2 (remainder of 2 bits), circom --O2 eliminates the top remainder bit, so moving one
 * input by 2 moves that implied bit by 1: the changed witness is the honest witness of another
 * input whose window sums floor to the same quotients, not a value the prover could choose
 * for a fixed input. Every other wire must be pinned: so each free wire must be a main
 * input, and each accepted change must leave every window's quotient unchanged.
 */
function expectOnlyEquivalentInputsFree(
  t: CircuitTester,
  w: bigint[],
  x: Chw,
  shape: Pool2DShape,
  quotient: (sum: number) => number,
): void {
  const firstInput = 1 + t.r1cs.nPubOut + t.r1cs.nPubIn;
  const flat = flatChw(x);
  const honest = flatChw(sumPool2D(x, shape)).map(quotient);
  for (const wire of t.unpinnedWires(w)) {
    expect(wire, `wire ${wire} is free but is not a main input`).to.be.within(firstInput, firstInput + flat.length - 1);
    for (const d of [1, -1, 2]) {
      const forged = w.slice();
      forged[wire] = toField(BigInt(flat[wire - firstInput] + d));
      if (!t.satisfies(forged)) continue;
      const moved = flat.slice();
      moved[wire - firstInput] += d;
      const [H, W] = [shape.inH, shape.inW];
      const other = tensor(shape.C, H, W, (c, h, ww) => moved[(c * H + h) * W + ww]);
      expect(flatChw(sumPool2D(other, shape)).map(quotient), `input wire ${wire} moved by ${d}`).to.deep.equal(honest);
    }
  }
}

/** Taps along one axis, over all output positions, that read a real input (conv2d.circom's convValidTaps). */
function convValidTaps(inSize: number, k: number, stride: number, pad: number): number {
  let n = 0;
  for (let o = 0; o < convOutputSize(inSize, k, stride, pad); o++)
    for (let t = 0; t < k; t++) if (o * stride + t - pad >= 0 && o * stride + t - pad < inSize) n++;
  return n;
}

describe("circuits/lib layer templates against their TypeScript reference", function () {
  describe("DenseCommitted", function () {
    const [nIn, nOut] = [5, 3];
    const key = `DenseCommitted(${nIn},${nOut})`;
    let t: CircuitTester;
    before(async function () {
      t = await CircuitTester.compile(
        `dense-committed-${nIn}-${nOut}`,
        ["dense.circom"],
        `component main = DenseCommitted(${nIn}, ${nOut});`,
      );
    });

    it(`${key}: equals denseCommitted on edge and seeded random inputs, every wire pinned`, async function () {
      const rnd = seededInts(21);
      const full = (v: number) => Array.from({ length: nOut }, () => Array(nIn).fill(v));
      const cases: { x: number[]; w: number[][]; b: number[]; pinned: boolean }[] = [
        // A zero factor leaves the other factor of its product free: the weights are pinned
        // by their commitment (next test) and the inputs by whatever produced them.
        { x: Array(nIn).fill(0), w: full(5), b: [0, 1, -1], pinned: false },
        { x: Array(nIn).fill(255), w: full(-128), b: Array(nOut).fill(-128), pinned: true },
        { x: Array(nIn).fill(255), w: full(127), b: Array(nOut).fill(127), pinned: true },
        ...Array.from({ length: 8 }, () => ({
          x: Array.from({ length: nIn }, () => rnd(1, 255)),
          w: Array.from({ length: nOut }, () => Array.from({ length: nIn }, () => nonZero(rnd, -128, 127))),
          b: Array.from({ length: nOut }, () => rnd(-128, 127)),
          pinned: true,
        })),
      ];
      for (const { x, w, b, pinned } of cases) {
        const wtns = await expectOutputs(t, { in: x, weights: w, bias: b }, fieldOf(denseCommitted(x, w, b)));
        if (pinned) expect(t.unpinnedWires(wtns), `free wires at x=${x}`).to.deep.equal([]);
      }
    });

    it(`${key}: a forged output is refused`, async function () {
      const x = [3, 0, 255, 7, 1];
      const w = [
        [1, -2, 3, -4, 5],
        [127, -128, 0, 1, -1],
        [9, 9, 9, 9, 9],
      ];
      const wtns = await t.witness({ in: x, weights: w, bias: [4, -4, 0] });
      const honest = denseCommitted(x, w, [4, -4, 0]);
      for (let o = 0; o < nOut; o++)
        for (const lie of [honest[o] + 1, honest[o] - 1, -honest[o]]) {
          expect(t.satisfies(forge(t, wtns, { [`main.out[${o}]`]: BigInt(lie) })), `out[${o}]=${lie}`).to.equal(false);
        }
    });

    it(`${key}: constraint count is nIn * nOut and matches the snapshot`, function () {
      checkConstraintSnapshot(key, t.constraints);
      expect(t.constraints).to.equal(nIn * nOut);
    });
  });

  describe("SignedPackedCommitment", function () {
    const [n, valueBits] = [40, 8];
    const key = `SignedPackedCommitment(${n},${valueBits})`;
    let t: CircuitTester;
    let unsigned: CircuitTester;
    before(async function () {
      t = await CircuitTester.compile(
        `signed-packed-commitment-${n}-${valueBits}`,
        ["commitment-signed.circom"],
        `component main = SignedPackedCommitment(${n}, ${valueBits});`,
      );
      unsigned = await CircuitTester.compile(
        `packed-commitment-main-${n}-${valueBits}`,
        ["commitment.circom"],
        `component main = PackedCommitment(${n}, ${valueBits});`,
      );
    });

    it(`${key}: equals signedPackedCommitment (offset 2^(valueBits-1), then packed) on edge and random values, every wire pinned`, async function () {
      const rnd = seededInts(8);
      const half = 2 ** (valueBits - 1);
      for (const values of [
        Array(n).fill(0),
        Array(n).fill(-half),
        Array(n).fill(half - 1),
        Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1)),
        Array.from({ length: n }, () => rnd(-half, half - 1)),
      ]) {
        const expected = signedPackedCommitment(values, valueBits);
        expect(expected).to.equal(
          packedCommitment(
            values.map((v) => v + half),
            valueBits,
          ),
        );
        const w = await expectOutputs(t, { in: values }, [expected]);
        expect(t.unpinnedWires(w)).to.deep.equal([]);
      }
    });

    it(`${key}: refuses values outside the signed range, as the reference does`, async function () {
      for (const bad of [128, -129, 255]) {
        const values = Array.from({ length: n }, (_, i) => (i === 3 ? bad : 0));
        expect(() => signedPackedCommitment(values, valueBits)).to.throw(RangeError);
        await expectRejected(t, { in: values }, `value ${bad}`);
      }
    });

    it(`${key}: costs exactly what PackedCommitment does (the offset is free), matches the snapshot`, function () {
      checkConstraintSnapshot(key, t.constraints);
      expect(t.constraints).to.equal(unsigned.constraints);
      expect(t.constraints).to.be.greaterThan(n * valueBits);
    });
  });

  describe("DenseCommitted bound to its weights by SignedPackedCommitment", function () {
    const [nIn, nOut, weightBits] = [4, 2, 8];
    const nParams = nIn * nOut + nOut;
    let t: CircuitTester;
    before(async function () {
      t = await CircuitTester.compile(
        `dense-committed-bound-${nIn}-${nOut}-${weightBits}`,
        ["dense.circom", "commitment-signed.circom"],
        `template T() {
    signal input in[${nIn}];
    signal input weights[${nOut}][${nIn}];
    signal input bias[${nOut}];
    signal output weightCommitment;
    signal output out[${nOut}];
    component c = SignedPackedCommitment(${nParams}, ${weightBits});
    for (var o = 0; o < ${nOut}; o++) {
        for (var i = 0; i < ${nIn}; i++) {
            c.in[o * ${nIn} + i] <== weights[o][i];
        }
        c.in[${nIn * nOut} + o] <== bias[o];
    }
    weightCommitment <== c.out;
    out <== DenseCommitted(${nIn}, ${nOut})(in, weights, bias);
}
component main = T();`,
      );
    });

    const params = (w: number[][], b: number[]) => [...w.flat(), ...b];

    it("publishes the weights' commitment; with it, a weight multiplied by a zero input is pinned too", async function () {
      const w = [
        [-128, 127, -1, 1],
        [5, -6, 7, -8],
      ];
      const b = [100, -100];
      for (const x of [
        [0, 0, 0, 0],
        [255, 0, 17, 1],
      ]) {
        const wtns = await expectOutputs(t, { in: x, weights: w, bias: b }, [
          signedPackedCommitment(params(w, b), weightBits),
          ...fieldOf(denseCommitted(x, w, b)),
        ]);
        expect(t.unpinnedWires(wtns)).to.deep.equal([]);
      }
    });

    it("a different weight gives a different commitment; an out-of-range weight has no witness", async function () {
      const w = [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ];
      const other = [
        [1, 2, 3, 4],
        [5, 6, 7, 9],
      ];
      expect(signedPackedCommitment(params(w, [0, 0]), weightBits)).to.not.equal(
        signedPackedCommitment(params(other, [0, 0]), weightBits),
      );
      await expectRejected(
        t,
        {
          in: [1, 1, 1, 1],
          weights: [
            [128, 0, 0, 0],
            [0, 0, 0, 0],
          ],
          bias: [0, 0],
        },
        "weight 128",
      );
    });

    it("constraint count is DenseCommitted's plus SignedPackedCommitment's", function () {
      checkConstraintSnapshot(
        `DenseCommitted(${nIn},${nOut})+SignedPackedCommitment(${nParams},${weightBits})`,
        t.constraints,
      );
      // 10 values in one chunk: Poseidon(1), whose cost is the rest.
      expect(t.constraints).to.be.greaterThan(nIn * nOut + nParams * weightBits);
    });
  });

  for (const shape of [
    { inH: 6, inW: 6, inC: 1, outC: 2, k: 3, stride: 1, pad: 1 },
    { inH: 7, inW: 7, inC: 2, outC: 2, k: 3, stride: 2, pad: 0 },
  ] satisfies Conv2DShape[]) {
    const { inH, inW, inC, outC, k, stride, pad } = shape;
    const key = `Conv2DCommitted(${inH},${inW},${inC},${outC},${k},${stride},${pad})`;
    describe(key, function () {
      let t: CircuitTester;
      before(async function () {
        t = await CircuitTester.compile(
          `conv2d-committed-${inH}-${inW}-${inC}-${outC}-${k}-${stride}-${pad}`,
          ["conv2d.circom"],
          `component main = Conv2DCommitted(${inH}, ${inW}, ${inC}, ${outC}, ${k}, ${stride}, ${pad});`,
        );
      });

      const kernel = (f: () => number) =>
        Array.from({ length: outC }, () =>
          Array.from({ length: inC }, () => Array.from({ length: k }, () => Array.from({ length: k }, f))),
        );

      it("equals conv2DCommitted (zero padding, CHW) on edge and seeded random inputs, every wire pinned", async function () {
        const rnd = seededInts(inH * 100 + stride);
        const cases: { x: Chw; w: number[][][][]; b: number[]; pinned: boolean }[] = [
          { x: tensor(inC, inH, inW, () => 0), w: kernel(() => 3), b: Array(outC).fill(-1), pinned: false },
          { x: tensor(inC, inH, inW, () => 255), w: kernel(() => -128), b: Array(outC).fill(-128), pinned: true },
          { x: tensor(inC, inH, inW, () => 255), w: kernel(() => 127), b: Array(outC).fill(127), pinned: true },
          ...Array.from({ length: 4 }, () => ({
            x: tensor(inC, inH, inW, () => rnd(1, 255)),
            w: kernel(() => nonZero(rnd, -128, 127)),
            b: Array.from({ length: outC }, () => rnd(-128, 127)),
            pinned: true,
          })),
        ];
        for (const { x, w, b, pinned } of cases) {
          const expected = fieldOf(flatChw(conv2DCommitted(x, w, b, shape)));
          const wtns = await expectOutputs(t, { in: x, weights: w, bias: b }, expected);
          if (pinned) expect(t.unpinnedWires(wtns)).to.deep.equal([]);
        }
      });

      it("a forged output is refused", async function () {
        const rnd = seededInts(3);
        const x = tensor(inC, inH, inW, () => rnd(0, 255));
        const w = kernel(() => rnd(-128, 127));
        const wtns = await t.witness({ in: x, weights: w, bias: [1, -1] });
        const honest = conv2DCommitted(x, w, [1, -1], shape);
        for (const [oc, y, xx] of [
          [0, 0, 0],
          [1, 1, 1],
        ]) {
          const lie = BigInt(honest[oc][y][xx] + 1);
          expect(t.satisfies(forge(t, wtns, { [`main.out[${oc}][${y}][${xx}]`]: lie }))).to.equal(false);
        }
      });

      it("constraint count is outC * inC * validTaps(H) * validTaps(W) and matches the snapshot", function () {
        checkConstraintSnapshot(key, t.constraints);
        expect(t.constraints).to.equal(
          outC * inC * convValidTaps(inH, k, stride, pad) * convValidTaps(inW, k, stride, pad),
        );
        if (pad === 0) {
          const [outH, outW] = [convOutputSize(inH, k, stride, 0), convOutputSize(inW, k, stride, 0)];
          expect(t.constraints).to.equal(outC * outH * outW * inC * k * k);
        }
      });
    });
  }

  describe("baked conv2d from conv2dLinearCombinations", function () {
    const shape: Conv2DShape = { inH: 6, inW: 6, inC: 1, outC: 2, k: 3, stride: 1, pad: 1 };
    // |acc| <= 9 * 255 * 128 + 128 < 2^19: signed 20-bit accumulators.
    const [accBits, shift] = [20, 4];
    const rnd = seededInts(99);
    const weights = Array.from({ length: 2 }, () =>
      Array.from({ length: 1 }, () =>
        Array.from({ length: 3 }, () => Array.from({ length: 3 }, () => (rnd(0, 3) === 0 ? 0 : rnd(-128, 127)))),
      ),
    );
    weights[0][0][1][1] = 0; // at least one zero weight: it must produce no term
    weights[1][0][0][0] = -128;
    const bias = [-77, 31];
    const lcs = conv2dLinearCombinations(shape, weights, bias, "x");
    let t: CircuitTester;
    before(async function () {
      const [outH, outW] = [lcs[0].length, lcs[0][0].length];
      const lines = lcs.flatMap((plane, oc) =>
        plane.flatMap((row, y) =>
          row.map((lc, xx) => `    out[${oc}][${y}][${xx}] <== Requantize(${accBits}, ${shift})(${lc});`),
        ),
      );
      t = await CircuitTester.compile(
        "conv2d-baked-6-6-1-2-3-1-1",
        ["requantize.circom"],
        `template BakedConv() {
    signal input x[1][6][6];
    signal output out[2][${outH}][${outW}];
${lines.join("\n")}
}
component main = BakedConv();`,
      );
    });

    it("writes one term per non-zero weight on a real input, none for padding or zero weights", function () {
      expect(lcs[0][0][0]).to.not.match(/x\[0\]\[-|x\[0\]\[\d+\]\[-/);
      expect(lcs[0][2][2]).to.not.contain("x[0][2][2]"); // the centre tap of channel 0 is zero
      // Output (0,0) with pad 1 reads rows/columns 0..1 only: at most 4 terms plus the bias.
      expect(lcs[1][0][0].split(" * ").length - 1).to.be.at.most(4);
      expect(lcs[1][1][1]).to.match(/^31 - 128 \* x\[0\]\[0\]\[0\] /);
    });

    it("equals requantize(conv2DCommitted) on edge and random inputs, every wire pinned", async function () {
      const cases = [
        tensor(1, 6, 6, () => 0),
        tensor(1, 6, 6, () => 255),
        tensor(1, 6, 6, (_, h, w) => ((h + w) % 2 ? 255 : 0)),
        ...Array.from({ length: 4 }, () => tensor(1, 6, 6, () => rnd(0, 255))),
      ];
      for (const x of cases) {
        const expected = flatChw(conv2DCommitted(x, weights, bias, shape)).map((acc) =>
          toField(requantize(acc, accBits, shift)),
        );
        const w = await expectOutputs(t, { x }, expected);
        expect(t.unpinnedWires(w)).to.deep.equal([]);
      }
    });

    it("the conv itself costs 0 constraints: the count is the requantizers' alone", function () {
      checkConstraintSnapshot(`Conv2DBaked(6,6,1,2,3,1,1)+Requantize(${accBits},${shift})`, t.constraints);
      expect(t.constraints).to.equal(2 * 6 * 6 * accBits);
    });
  });

  describe("SumPool2D followed by Requantize (signed average pool)", function () {
    const shape: Pool2DShape = { inH: 4, inW: 4, C: 2, k: 2, stride: 2 };
    const inBits = 8;
    const shift = avgPoolShift(shape.k);
    const accBits = inBits + shift;
    let t: CircuitTester;
    before(async function () {
      t = await CircuitTester.compile(
        "sum-pool-requantize-4-4-2-2-2",
        ["avg-pool.circom", "requantize.circom"],
        `template T() {
    signal input in[2][4][4];
    signal output out[2][2][2];
    signal sums[2][2][2] <== SumPool2D(4, 4, 2, 2, 2)(in);
    for (var c = 0; c < 2; c++) {
        for (var y = 0; y < 2; y++) {
            for (var x = 0; x < 2; x++) {
                out[c][y][x] <== Requantize(${accBits}, ${shift})(sums[c][y][x]);
            }
        }
    }
}
component main = T();`,
      );
    });

    it("equals floor(sumPool2D / k^2) on signed edge and random inputs, no free wire but equivalent inputs", async function () {
      const rnd = seededInts(44);
      const half = 2 ** (inBits - 1);
      for (const x of [
        tensor(2, 4, 4, () => 0),
        tensor(2, 4, 4, () => -half),
        tensor(2, 4, 4, () => half - 1),
        tensor(2, 4, 4, (c, h, w) => ((c + h + w) % 3 === 0 ? -1 : 0)),
        ...Array.from({ length: 4 }, () => tensor(2, 4, 4, () => rnd(-half, half - 1))),
      ]) {
        const expected = flatChw(sumPool2D(x, shape)).map((s) => toField(requantize(s, accBits, shift)));
        const w = await expectOutputs(t, { in: x }, expected);
        expectOnlyEquivalentInputsFree(t, w, x, shape, (s) => Math.floor(s / 2 ** shift));
      }
    });

    it("SumPool2D costs 0 constraints: the count is the requantizers' alone", function () {
      checkConstraintSnapshot(`SumPool2D(4,4,2,2,2)+Requantize(${accBits},${shift})`, t.constraints);
      expect(t.constraints).to.equal(2 * 2 * 2 * accBits);
    });
  });

  for (const [shape, inBits] of [
    [{ inH: 4, inW: 4, C: 2, k: 2, stride: 2 }, 8],
    [{ inH: 4, inW: 4, C: 2, k: 2, stride: 1 }, 8],
    [{ inH: 4, inW: 4, C: 2, k: 4, stride: 1 }, 6],
  ] satisfies [Pool2DShape, number][]) {
    const { inH, inW, C, k, stride } = shape;
    const shift = avgPoolShift(k);
    const [outH, outW] = [convOutputSize(inH, k, stride, 0), convOutputSize(inW, k, stride, 0)];
    const key = `AvgPool2D(${inH},${inW},${C},${k},${stride},${inBits})`;
    describe(key, function () {
      let t: CircuitTester;
      before(async function () {
        t = await CircuitTester.compile(
          `avg-pool-${inH}-${inW}-${C}-${k}-${stride}-${inBits}`,
          ["avg-pool.circom"],
          `component main = AvgPool2D(${inH}, ${inW}, ${C}, ${k}, ${stride}, ${inBits});`,
        );
      });

      it("equals avgPool2D (floor of the window mean) on edge and seeded random inputs, no free wire but equivalent inputs", async function () {
        const rnd = seededInts(inBits * 10 + stride + k);
        const max = 2 ** inBits - 1;
        for (const x of [
          tensor(C, inH, inW, () => 0),
          tensor(C, inH, inW, () => max),
          tensor(C, inH, inW, (c, h, w) => (h === 0 && w === 0 ? max : c)),
          tensor(C, inH, inW, (c, h, w) => ((h + w + c) % 2 ? max : max - 1)),
          ...Array.from({ length: 4 }, () => tensor(C, inH, inW, () => rnd(0, max))),
        ]) {
          const w = await expectOutputs(t, { in: x }, fieldOf(flatChw(avgPool2D(x, shape, inBits))));
          if (shift > 2) expect(t.unpinnedWires(w)).to.deep.equal([]);
          else expectOnlyEquivalentInputsFree(t, w, x, shape, (s) => Math.floor(s / 2 ** shift));
        }
      });

      it("refuses quotient +-1 with the remainder moved to compensate", async function () {
        // Window sums 4*10 + 3 = 43 (k = 2) leave a non-zero remainder to borrow from.
        const x = tensor(C, inH, inW, (c, h, w) => (h === 0 && w === 0 ? 13 : 10 + c));
        const wtns = await t.witness({ in: x });
        const sums = flatChw(sumPool2D(x, shape));
        const honest = flatChw(avgPool2D(x, shape, inBits));
        for (const [i, lie] of [
          [0, honest[0]], // control: the same construction with the honest quotient is accepted
          [0, honest[0] + 1],
          [0, honest[0] - 1],
          [sums.length - 1, honest[sums.length - 1] + 1],
        ]) {
          const [c, y, xx] = [Math.floor(i / (outH * outW)), Math.floor(i / outW) % outH, i % outW];
          // sum = 2^shift * lie + r needs r = sum - 2^shift * lie, outside [0, 2^shift): its
          // low shift bits cannot hold it, whatever the forger writes.
          const r = BigInt(sums[i] - 2 ** shift * lie);
          const forged: Record<string, bigint> = { [`main.out[${c}][${y}][${xx}]`]: BigInt(lie) };
          const bits = (BigInt(lie) << BigInt(shift)) | (toField(r) & ((1n << BigInt(shift)) - 1n));
          for (let b = 0; b < inBits + shift; b++)
            forged[`main.sumBits[${c}][${y}][${xx}][${b}]`] = (bits >> BigInt(b)) & 1n;
          expect(t.satisfies(forge(t, wtns, forged)), `out[${i}] = ${lie}`).to.equal(lie === honest[i]);
        }
      });

      it("constraint count is C * outH * outW * (inBits + log2(k^2)) and matches the snapshot", function () {
        checkConstraintSnapshot(key, t.constraints);
        expect(t.constraints).to.equal(C * outH * outW * (inBits + shift));
      });
    });
  }

  for (const [shape, inBits] of [
    [{ inH: 4, inW: 4, C: 2, k: 2, stride: 2 }, 8],
    [{ inH: 4, inW: 4, C: 2, k: 3, stride: 1 }, 8],
  ] satisfies [Pool2DShape, number][]) {
    const { inH, inW, C, k, stride } = shape;
    const n = k * k;
    const [outH, outW] = [convOutputSize(inH, k, stride, 0), convOutputSize(inW, k, stride, 0)];
    const key = `MaxPool2D(${inH},${inW},${C},${k},${stride},${inBits})`;
    describe(key, function () {
      let t: CircuitTester;
      let checked: CircuitTester;
      before(async function () {
        const params = `${inH}, ${inW}, ${C}, ${k}, ${stride}, ${inBits}`;
        t = await CircuitTester.compile(
          `max-pool-${inH}-${inW}-${C}-${k}-${stride}-${inBits}`,
          ["max-pool.circom"],
          `component main = MaxPool2D(${params});`,
        );
        checked = await CircuitTester.compile(
          `range-checked-max-pool-${inH}-${inW}-${C}-${k}-${stride}-${inBits}`,
          ["max-pool.circom"],
          `component main = RangeCheckedMaxPool2D(${params});`,
        );
      });

      it("equals maxPool2D on ties, extremes and seeded random inputs, every wire pinned (both variants)", async function () {
        const rnd = seededInts(inBits + k * 7);
        const max = 2 ** inBits - 1;
        for (const x of [
          tensor(C, inH, inW, () => 0),
          tensor(C, inH, inW, () => max),
          tensor(C, inH, inW, (c, h, w) => (h === inH - 1 && w === inW - 1 ? max : c)),
          tensor(C, inH, inW, (c, h, w) => ((h + w) % 2 ? 9 : 4)),
          ...Array.from({ length: 5 }, () => tensor(C, inH, inW, () => rnd(0, max))),
        ]) {
          const expected = fieldOf(flatChw(maxPool2D(x, shape, inBits)));
          for (const circuit of [t, checked]) {
            const w = await expectOutputs(circuit, { in: x }, expected);
            expect(circuit.unpinnedWires(w)).to.deep.equal([]);
          }
        }
      });

      it("refuses a non-maximal element and a value above every element, with consistent gap bits and chain", async function () {
        const x = tensor(C, inH, inW, (c, h, w) => 10 * h + w + c);
        const wtns = await t.witness({ in: x });
        const honest = maxPool2D(x, shape, inBits)[0][0][0];
        const window = Array.from({ length: n }, (_, j) => x[0][Math.floor(j / k)][j % k]);
        // The honest maximum is the control: the same construction must then be accepted.
        for (const lie of [honest, Math.min(...window), honest - 1, honest + 1]) {
          const forged: Record<string, bigint> = { "main.out[0][0][0]": BigInt(lie) };
          const gaps = window.map((v) => toField(lie - v));
          gaps.forEach((g, j) => {
            for (let b = 0; b < inBits; b++) forged[`main.gapBits[0][0][0][${j}][${b}]`] = (g >> BigInt(b)) & 1n;
          });
          let chain = (gaps[0] * gaps[1]) % SNARK_SCALAR_FIELD;
          forged["main.chain[0][0][0][0]"] = chain;
          for (let j = 1; j < n - 1; j++) {
            chain = (chain * gaps[j + 1]) % SNARK_SCALAR_FIELD;
            forged[`main.chain[0][0][0][${j}]`] = chain;
          }
          expect(t.satisfies(forge(t, wtns, forged)), `max = ${lie}`).to.equal(lie === honest);
        }
      });

      it("inputs outside [0, 2^inBits): MaxPool2D relies on the caller, RangeCheckedMaxPool2D refuses them", async function () {
        // -1 below a window maximum of 0 passes every gap check: the range is the caller's duty.
        const x = tensor(C, inH, inW, (c, h, w) => (h === 0 && w === 0 ? -1 : 0));
        expect(() => maxPool2D(x, shape, inBits)).to.throw(RangeError);
        await t.witness({ in: x });
        await expectRejected(checked, { in: x }, "input -1");
        await expectRejected(checked, { in: tensor(C, inH, inW, () => 2 ** inBits) }, `input 2^${inBits}`);
      });

      it("constraint count is C * outH * outW * (k^2 * inBits + k^2 - 1), plus C * inH * inW * inBits range-checked", function () {
        checkConstraintSnapshot(key, t.constraints);
        checkConstraintSnapshot(
          `RangeCheckedMaxPool2D(${inH},${inW},${C},${k},${stride},${inBits})`,
          checked.constraints,
        );
        expect(t.constraints).to.equal(C * outH * outW * (n * inBits + n - 1));
        expect(checked.constraints).to.equal(t.constraints + C * inH * inW * inBits);
      });
    });
  }
});
