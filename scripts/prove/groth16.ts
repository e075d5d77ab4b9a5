/**
 * The Groth16 prover's arithmetic on snarkjs's own stack (ffjavascript's bn128 WebAssembly and its
 * thread manager), producing the same standard proof as `snarkjs.groth16.prove`, faster:
 *
 * - the proving key is parsed once (proving-key.ts), not re-read for every proof;
 * - the QAP evaluation (A, B, C from the witness), the three inverse FFTs, coset shifts and FFTs
 *   and the join into H's scalars run as one task in one worker, in WebAssembly, where snarkjs
 *   builds A and B element by element from JavaScript on the main thread;
 * - the five multi-exponentiations run concurrently, each split by points into as many parts as
 *   the pool has workers, where snarkjs runs them one after another and splits each into one
 *   task per scalar window, every one of them copying all of the points to a worker;
 * - the four over the witness leave out its zero wires and take its small values (and small
 *   negative ones, on negated points) as short scalars, with fewer windows (witness-groups.ts).
 *
 * Platform-neutral (no Node APIs): the browser bundle runs the same code with web workers.
 */
import { buildBn128, type Curve, type TaskCommand } from "ffjavascript";
import type { Groth16Proof } from "snarkjs";
import { leToBigInt, type ProvingKey } from "./proving-key.ts";
import { gatherGroup, GROUP_WIDTHS, groupWitness, type WitnessGroups } from "./witness-groups.ts";

const N8 = 32;

/**
 * Fewest points per multi-exponentiation task: below this a worker's share costs less than
 * sending it, so a small circuit's products are not split across the whole pool.
 */
const MIN_POINTS_PER_TASK = 512;

let pooled: Promise<Curve> | undefined;
let callingThread: Promise<Curve> | undefined;

/**
 * The bn128 curve to prove on: with ffjavascript's worker pool (one worker per core, or
 * navigator.hardwareConcurrency in a browser; the same pool that snarkjs uses), or computing on
 * the calling thread. Each is built once per process.
 */
export function proverCurve(onCallingThread: boolean): Promise<Curve> {
  if (onCallingThread) return (callingThread ??= buildBn128(true));
  // ffjavascript caches the pooled curve itself once built; this also covers concurrent first calls.
  return (pooled ??= buildBn128());
}

/** Stops the worker pool (snarkjs's too: it is the same) so that a process or page can end. */
export async function releaseProverPool(): Promise<void> {
  const building = pooled;
  pooled = undefined;
  // A pool still being built is ended once it exists, rather than left running.
  if (building) await building.then((curve) => curve.terminate()).catch(() => {});
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  if (g.curve_bn128) await g.curve_bn128.terminate();
}

/**
 * Proves with `witness` (the wires as 32-byte little-endian field elements, not Montgomery form),
 * on the curve's worker pool, or on the calling thread for a single-thread curve.
 */
export async function proveGroth16(
  curve: Curve,
  key: ProvingKey,
  witness: Uint8Array,
): Promise<{ proof: Groth16Proof; publicSignals: bigint[] }> {
  if (witness.byteLength !== key.nVars * N8)
    throw new Error(`the witness has ${witness.byteLength / N8} wires, the proving key ${key.nVars}`);
  const { G1, G2, Fr } = curve;
  // Queued first, so that H's scalars are ready when the witness-only products finish.
  const hScalars = queue(curve, quotientTask(curve, key, witness)).then((r) => r[0]);
  const groups = groupWitness(witness);
  const [a, b1, b2, c, h] = await Promise.all([
    groupedMultiExp(curve, "G1", key.pointsA, groups, 0),
    groupedMultiExp(curve, "G1", key.pointsB1, groups, 0),
    groupedMultiExp(curve, "G2", key.pointsB2, groups, 0),
    groupedMultiExp(curve, "G1", key.pointsC, groups, key.nPublic + 1),
    hScalars.then((s) => multiExp(curve, "G1", key.pointsH, s, N8)),
  ]);

  // Blinding: A = α + Σ aᵢ·Aᵢ + r·δ, B = β + Σ aᵢ·Bᵢ + s·δ, C = Σ aᵢ·Cᵢ + H + s·A + r·B₁ - r·s·δ.
  const alpha1 = G1.fromRprLEM(key.alpha1, 0);
  const beta1 = G1.fromRprLEM(key.beta1, 0);
  const beta2 = G2.fromRprLEM(key.beta2, 0);
  const delta1 = G1.fromRprLEM(key.delta1, 0);
  const delta2 = G2.fromRprLEM(key.delta2, 0);
  const r = Fr.random();
  const s = Fr.random();
  const piA = G1.add(G1.add(a, alpha1), G1.timesFr(delta1, r));
  const piB = G2.add(G2.add(b2, beta2), G2.timesFr(delta2, s));
  const piB1 = G1.add(G1.add(b1, beta1), G1.timesFr(delta1, s));
  let piC = G1.add(c, h);
  piC = G1.add(piC, G1.timesFr(piA, s));
  piC = G1.add(piC, G1.timesFr(piB1, r));
  piC = G1.add(piC, G1.timesFr(delta1, Fr.neg(Fr.mul(r, s))));

  const str = (v: unknown): unknown => (Array.isArray(v) ? v.map(str) : String(v));
  const proof: Groth16Proof = {
    pi_a: str(G1.toObject(G1.toAffine(piA))) as string[],
    pi_b: str(G2.toObject(G2.toAffine(piB))) as string[][],
    pi_c: str(G1.toObject(G1.toAffine(piC))) as string[],
    protocol: "groth16",
    curve: "bn128",
  };
  const publicSignals: bigint[] = [];
  for (let i = 1; i <= key.nPublic; i++) publicSignals.push(leToBigInt(witness.subarray(i * N8, (i + 1) * N8)));
  return { proof, publicSignals };
}

/**
 * One task computing H's scalars: the QAP's A, B and C = A·B on the domain from the witness,
 * each interpolated (inverse FFT), shifted to the coset (times incⁱ) and evaluated there (FFT),
 * then A·B - C, out of Montgomery form. The same steps as snarkjs's prover, in one worker.
 */
function quotientTask(curve: Curve, key: ProvingKey, witness: Uint8Array): TaskCommand[] {
  const { Fr } = curve;
  const n = key.domainSize;
  const bytes = n * N8;
  // The coset generator: a 2n-th root of unity (or Fr's shift at the largest domain).
  const inc = key.power === Fr.s ? Fr.shift : Fr.w[key.power + 1];
  const task: TaskCommand[] = [
    { cmd: "ALLOCSET", var: 0, buff: key.coefs },
    { cmd: "ALLOCSET", var: 1, buff: witness },
    { cmd: "ALLOC", var: 2, len: bytes },
    { cmd: "ALLOC", var: 3, len: bytes },
    { cmd: "ALLOC", var: 4, len: bytes },
    {
      cmd: "CALL",
      fnName: "qap_buildABC",
      params: [
        { var: 0 },
        { val: key.nCoefs },
        { var: 1 },
        { var: 2 },
        { var: 3 },
        { var: 4 },
        { val: 0 },
        { val: n },
        { val: 0 },
        { val: key.nVars },
      ],
    },
    { cmd: "ALLOCSET", var: 5, buff: Fr.one },
    { cmd: "ALLOCSET", var: 6, buff: inc },
  ];
  for (const v of [2, 3, 4]) {
    task.push(
      { cmd: "CALL", fnName: "frm_ifft", params: [{ var: v }, { val: n }] },
      {
        cmd: "CALL",
        fnName: "frm_batchApplyKey",
        params: [{ var: v }, { val: n }, { var: 5 }, { var: 6 }, { var: v }],
      },
      { cmd: "CALL", fnName: "frm_fft", params: [{ var: v }, { val: n }] },
    );
  }
  task.push(
    { cmd: "ALLOC", var: 7, len: bytes },
    { cmd: "CALL", fnName: "qap_joinABC", params: [{ var: 2 }, { var: 3 }, { var: 4 }, { val: n }, { var: 7 }] },
    { cmd: "CALL", fnName: "frm_batchFromMontgomery", params: [{ var: 7 }, { val: n }, { var: 7 }] },
    { cmd: "GET", out: 0, var: 7, len: bytes },
  );
  return task;
}

/**
 * Σ wᵢ·baseᵢ over the wires `first`.. of a grouped witness (witness-groups.ts): one
 * multi-exponentiation per scalar width, zero wires left out; returns a projective point.
 */
async function groupedMultiExp(
  curve: Curve,
  group: "G1" | "G2",
  bases: Uint8Array,
  groups: WitnessGroups,
  first: number,
): Promise<Uint8Array> {
  const G = curve[group];
  const parts = GROUP_WIDTHS.map((width, g) => {
    const gathered = gatherGroup(groups, g, bases, G.F.n8 * 2, first);
    return gathered.n ? multiExp(curve, group, gathered.bases, gathered.scalars, width) : G.zero;
  });
  return (await Promise.all(parts)).reduce((sum, p) => G.add(sum, p), G.zero);
}

/**
 * Σ scalarᵢ·baseᵢ over affine bases (Montgomery form) and `width`-byte scalars, split by points
 * into one task per worker (fewer for a small circuit) that the pool runs in parallel; returns a
 * projective point.
 */
async function multiExp(
  curve: Curve,
  group: "G1" | "G2",
  bases: Uint8Array,
  scalars: Uint8Array,
  width: number,
): Promise<Uint8Array> {
  const G = curve[group];
  const baseBytes = G.F.n8 * 2;
  const n = bases.byteLength / baseBytes;
  if (scalars.byteLength !== n * width)
    throw new Error(`${group} multi-exponentiation: ${n} bases, ${scalars.byteLength / width} scalars`);
  const outBytes = G.F.n8 * 3;
  const fnName = group === "G1" ? "g1m_multiexpAffine" : "g2m_multiexpAffine";
  const parts = Math.max(1, Math.min(curve.tm.concurrency, Math.floor(n / MIN_POINTS_PER_TASK)));
  const per = Math.max(1, Math.ceil(n / parts));
  const tasks: Promise<Uint8Array[]>[] = [];
  for (let i = 0; i < n; i += per) {
    const m = Math.min(per, n - i);
    tasks.push(
      queue(curve, [
        { cmd: "ALLOCSET", var: 0, buff: bases.subarray(i * baseBytes, (i + m) * baseBytes) },
        { cmd: "ALLOCSET", var: 1, buff: scalars.subarray(i * width, (i + m) * width) },
        { cmd: "ALLOC", var: 2, len: outBytes },
        { cmd: "CALL", fnName, params: [{ var: 0 }, { var: 1 }, { val: width }, { val: m }, { var: 2 }] },
        { cmd: "GET", out: 0, var: 2, len: outBytes },
      ]),
    );
  }
  return (await Promise.all(tasks)).reduce((sum, [p]) => G.add(sum, p), G.zero);
}

/**
 * Runs a task on the calling thread as it is, or queues it for the pool with each input copied
 * and the copy transferred to the worker: posting a view would structured-clone the whole buffer
 * behind it (the whole zkey for a section), and a transfer avoids even a clone of the copy.
 */
function queue(curve: Curve, task: TaskCommand[]): Promise<Uint8Array[]> {
  if (curve.tm.singleThread) return curve.tm.queueAction(task);
  const transfers: ArrayBuffer[] = [];
  const owned = task.map((c): TaskCommand => {
    if (c.cmd !== "ALLOCSET" && c.cmd !== "SET") return c;
    // A copy of the bytes (a Node Buffer's slice() would be a view of the same memory).
    const buff = new Uint8Array(c.buff);
    transfers.push(buff.buffer as ArrayBuffer);
    return { ...c, buff };
  });
  return curve.tm.queueAction(owned, transfers);
}

/** The proof as the Solidity verifier expects it: uint256[8] with G2 coordinates swapped. */
export function proofCalldata(proof: Groth16Proof): bigint[] {
  const b = proof.pi_b;
  return [proof.pi_a[0], proof.pi_a[1], b[0][1], b[0][0], b[1][1], b[1][0], proof.pi_c[0], proof.pi_c[1]].map(BigInt);
}
