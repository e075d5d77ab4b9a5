/**
 * Verification keys that the model registry accepts, for contract tests that need a baked model
 * without a circuit (test/contracts/TestKeys.sol builds the same kind in Solidity). alpha and the
 * IC points are seeded multiples of the G1 generator, gamma is the G2 generator, beta and delta are
 * 2 and 3 times it. Their discrete logs are public, so no proof made for such a key means anything:
 * they exercise registration and the market's refusals, never a proof's soundness.
 */
import { keccak256, toUtf8Bytes } from "ethers";
import type { VerificationKey } from "snarkjs";
import { encodeVerificationKey } from "../../scripts/setup/groth16-setup.ts";

/** Order q of the BN254 base field. */
const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** Order r of the BN254 scalar field. */
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

type G1 = [bigint, bigint] | null; // null: the point at infinity

const mod = (a: bigint) => ((a % Q) + Q) % Q;

function inverse(a: bigint): bigint {
  let [result, base, e] = [1n, mod(a), Q - 2n];
  for (; e > 0n; e >>= 1n, base = (base * base) % Q) if (e & 1n) result = (result * base) % Q;
  return result;
}

function add(p: G1, q: G1): G1 {
  if (!p) return q;
  if (!q) return p;
  if (p[0] === q[0] && mod(p[1] + q[1]) === 0n) return null;
  const slope = p[0] === q[0] ? mod(3n * p[0] * p[0] * inverse(2n * p[1])) : mod((q[1] - p[1]) * inverse(q[0] - p[0]));
  const x = mod(slope * slope - p[0] - q[0]);
  return [x, mod(slope * (p[0] - x) - p[1])];
}

/** `k` times the G1 generator (1, 2), by double-and-add. */
export function g1Times(k: bigint): [bigint, bigint] {
  let [acc, base]: [G1, G1] = [null, [1n, 2n]];
  for (let e = k % R; e > 0n; e >>= 1n, base = add(base, base)) if (e & 1n) acc = add(acc, base);
  if (!acc) throw new Error("the scalar is a multiple of r");
  return acc;
}

// G2 points in snarkjs's order: [[x_re, x_im], [y_re, y_im], [1, 0]].
const G2_GENERATOR = [
  [
    "10857046999023057135944570762232829481370756359578518086990519993285655852781",
    "11559732032986387107991004021392285783925812861821192530917403151452391805634",
  ],
  [
    "8495653923123431417604973247489272438418190587263600148770280649306958101930",
    "4082367875863433681332203403145435568316851327593401208105741076214120093531",
  ],
  ["1", "0"],
];
const G2_TWICE = [
  [
    "18029695676650738226693292988307914797657423701064905010927197838374790804409",
    "14583779054894525174450323658765874724019480979794335525732096752006891875705",
  ],
  [
    "2140229616977736810657479771656733941598412651537078903776637920509952744750",
    "11474861747383700316476719153975578001603231366361248090558603872215261634898",
  ],
  ["1", "0"],
];
const G2_THRICE = [
  [
    "2725019753478801796453339367788033689375851816420509565303521482350756874229",
    "7273165102799931111715871471550377909735733521218303035754523677688038059653",
  ],
  [
    "2512659008974376214222774206987427162027254181373325676825515531566330959255",
    "957874124722006818841961785324909313781880061366718538693995380805373202866",
  ],
  ["1", "0"],
];

/** A verification key for `nPublic` signals that the registry accepts, distinct per `seed`. */
export function registrableKey(nPublic: number, seed: string): VerificationKey {
  const point = (i: number) => {
    const [x, y] = g1Times((BigInt(keccak256(toUtf8Bytes(`${seed}/${i}`))) % (R - 1n)) + 1n);
    return [x.toString(), y.toString(), "1"];
  };
  return {
    protocol: "groth16",
    curve: "bn128",
    nPublic,
    vk_alpha_1: point(0),
    vk_beta_2: G2_TWICE,
    vk_gamma_2: G2_GENERATOR,
    vk_delta_2: G2_THRICE,
    IC: Array.from({ length: nPublic + 1 }, (_, i) => point(i + 1)),
  };
}

/** {registrableKey} as the bytes the registry takes. */
export function registrableKeyBytes(nPublic: number, seed: string): string {
  return encodeVerificationKey(registrableKey(nPublic, seed));
}
