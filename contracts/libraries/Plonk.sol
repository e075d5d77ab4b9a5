// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title Plonk
 * @notice The protocol's own PLONK verifier over BN254 (the KZG-based PLONK of Gabizon, Williamson
 * and Ciobotaru, eprint 2019/953, with snarkjs 0.7's transcript), for verification keys held as
 * data. A universal-mode model's proofs rest only on a public powers-of-tau ceremony: its key is
 * a deterministic function of its circuit and of the ceremony file, so no per-model secret exists.
 * @dev The key names its ceremony, and the pairing check takes that ceremony's `[tau]_2` from
 * {ceremony}, a protocol constant, never from the key: a key built from any other powers of
 * tau (one whose tau its author knows) cannot verify a proof. Key layout, 32-byte big-endian words:
 * `ceremony | power | nPublic | k1 | k2 | omega | Qm | Ql | Qr | Qo | Qc | S1 | S2 | S3` with each
 * point as `(x, y)` and the point at infinity as `(0, 0)`; {KEY_LENGTH} bytes. The proof is the 24
 * words of snarkjs's PLONK calldata: `A, B, C, Z, T1, T2, T3, Wxi, Wxiw` (x, y each), then the
 * evaluations `a, b, c, s1, s2, zw` at xi (zw at xi * omega).
 */
library Plonk {
    /// @notice Order r of the BN254 scalar field.
    uint256 internal constant SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Order q of the BN254 base field.
    uint256 internal constant BASE_FIELD =
        21888242871839275222246405745257275088696311157297823662689037894645226208583;
    uint256 private constant _R = SCALAR_FIELD;

    /// @notice Length in bytes of a key: 6 words and 8 points.
    uint256 internal constant KEY_LENGTH = 22 * 32;
    /// @notice Largest domain, 2^28: the largest power of two dividing r - 1, and of the ceremonies.
    uint256 internal constant MAX_POWER = 28;

    /// @notice The Hermez (Polygon) ceremony: every `powersOfTau28_hez_final_NN.ptau` shares its tau.
    uint256 internal constant CEREMONY_HERMEZ = 1;
    /// @notice The project's development file `dev-insecure-pot12.ptau`. INSECURE: tests only.
    uint256 internal constant CEREMONY_DEV_POT12 = 2;
    /// @notice The project's development file `dev-insecure-pot16.ptau`. INSECURE: tests only.
    uint256 internal constant CEREMONY_DEV_POT16 = 3;
    /// @notice The project's development file `dev-insecure-pot17.ptau`. INSECURE: tests only.
    uint256 internal constant CEREMONY_DEV_POT17 = 4;
    /// @notice The development files poi generates (`dev-insecure-generated-potNN.ptau`, every power
    /// from one public secret, scripts/setup/dev-ptau.ts). INSECURE: anyone can forge; tests only.
    uint256 internal constant CEREMONY_DEV_GENERATED = 5;

    /// @notice Byte offset of the key's domain power (the domain has 2^power elements).
    uint256 internal constant POWER_OFFSET = 32;
    /// @notice Byte offset of the key's number of public signals.
    uint256 internal constant N_PUBLIC_OFFSET = 64;
    /// @notice Byte offset of k1 (k2 follows): the coset shifts of the permutation argument.
    uint256 internal constant K1_OFFSET = 96;
    /// @notice Byte offset of omega, the generator of the domain.
    uint256 internal constant OMEGA_OFFSET = 160;
    /// @notice Byte offset of Qm; Ql, Qr, Qo, Qc, S1, S2, S3 follow, 64 bytes each.
    uint256 internal constant QM_OFFSET = 192;
    /// @notice Byte offset of S1.
    uint256 internal constant S1_OFFSET = QM_OFFSET + 5 * 64;

    /**
     * @notice What makes a key unfit, as found by {keyDefect}.
     * - `WrongLength`: the key is not {KEY_LENGTH} bytes;
     * - `UnknownCeremony`: the key names no ceremony of {ceremony};
     * - `BadDomain`: the power is not in 3..28, omega does not generate a domain of 2^power
     *   elements, or the number of public signals is 0 or more than the domain holds;
     * - `NotCanonical`: a scalar is not below r or a coordinate not below q;
     * - `NotOnCurve`: a point is not on G1;
     * - `AtInfinity`: a permutation commitment S1, S2 or S3 is the point at infinity;
     * - `BadCosets`: k1 or k2 is zero, or the domain and its cosets by k1 and k2 overlap;
     * - `NoGates`: every selector (Qm, Ql, Qr, Qo, Qc) is at infinity: any witness satisfies it.
     */
    enum KeyDefect {
        None,
        WrongLength,
        UnknownCeremony,
        BadDomain,
        NotCanonical,
        NotOnCurve,
        AtInfinity,
        BadCosets,
        NoGates
    }

    /// @dev The challenges and the values derived from them, in one place (too many for the stack).
    struct Challenges {
        uint256 beta;
        uint256 gamma;
        uint256 alpha;
        uint256 xi;
        uint256 v1;
        uint256 u;
        uint256 xin;
        uint256 zh;
        uint256 l1;
        uint256 pi;
    }

    /**
     * @notice The protocol's table of ceremonies: whether `id` names one (`known`), whether it is
     * INSECURE (`insecure`: a development ceremony whose secret its maker, or for
     * {CEREMONY_DEV_GENERATED} anyone, knows, so proofs of its keys can be forged), and its
     * `[tau]_2` in the pairing precompile's order (x_im, x_re, y_im, y_re). `(false, false, 0)`
     * for any other id. The one place that says which ceremonies are insecure: a registry deployed
     * without accepting insecure ceremonies refuses keys that name one.
     * @dev The Hermez point is the `X_2` of every verifier snarkjs exports from a Hermez file;
     * test/scripts/hermez-ceremony.test.ts reads it from the genuine power-12 file (shipped by the
     * npm package circomkit 0.0.1, its blake2b checked) and compares. The development points were
     * read from the files in the project's development ptau directory (their README has the
     * files' hashes); anyone holding their maker's secret can forge proofs for their keys. The
     * generated development files' secret is public (tau = sha512 of a fixed string, mod r), so
     * anyone can forge proofs for theirs.
     */
    function ceremony(uint256 id) internal pure returns (bool known, bool insecure, uint256[4] memory tau2) {
        if (id == CEREMONY_HERMEZ) {
            return (
                true,
                false,
                [
                    17231025384763736816414546592865244497437017442647097510447326538965263639101,
                    21831381940315734285607113342023901060522397560371972897001948545212302161822,
                    11507326595632554467052522095592665270651932854513688777769618397986436103170,
                    2388026358213174446665280700919698872609886601280537296205114254867301080648
                ]
            );
        }
        if (id == CEREMONY_DEV_POT12) {
            return (
                true,
                true,
                [
                    19917493679357863759941211497841290110067957558235516960024924007566644950436,
                    14789468532883328198074746894895871169335625117348715903211708133440999238476,
                    6695561984986159796587914755141124624068531148095297008021105606805285670937,
                    16471524493776173561982427181093860475708992781939006221402373270214453701871
                ]
            );
        }
        if (id == CEREMONY_DEV_POT16) {
            return (
                true,
                true,
                [
                    1662799725822925086573793091945655248133252611139325269376779349297547236418,
                    11470635137376962928775047521544185303757623898729280191713136942395838397168,
                    1691265993772071417148130271743179330900570029190626303688709705794238931657,
                    19369579543011580009871192203213282354303154614229271550205400959956802593248
                ]
            );
        }
        if (id == CEREMONY_DEV_POT17) {
            return (
                true,
                true,
                [
                    13285898264090764631426578743785378624429735869024096369531196040122373259452,
                    18150009940346374215613698031330836615252447821395489568131824505770214898260,
                    9907774081433874971362466822710107216446466550069688174395940657764338308909,
                    2026890398062848901355844272080693056808022601107889974975584449890637233409
                ]
            );
        }
        if (id == CEREMONY_DEV_GENERATED) {
            return (
                true,
                true,
                [
                    17929103847966638224813779956792202529379573931498342755536433671850820953518,
                    1829505389409698405685520234453359825701552488328643867656984687090736946496,
                    11034254405376733573158586719174145275087013349439973994401627981753153010645,
                    12791890829053311155657232041532023766310667011934220870738019821227185302265
                ]
            );
        }
        return (false, false, tau2);
    }

    /**
     * @notice Finds the first defect of a key, and the byte offset of the word or point at fault;
     * `(None, 0)` for a sound key. Costs about 40k gas (a few hundred field multiplications).
     * @dev The key's commitments are made with the ceremony's powers of tau, so they can only be
     * commitments to some polynomials: no trapdoor hides in them, whatever they are. What these
     * checks refuse is a key that is malformed or says nothing (no gates, a domain that is not
     * one, overlapping cosets that void the copy constraints). Whether the key is the one of the
     * model's published circuit is checked off-chain, by rebuilding it (`poi verify-setup`).
     */
    function keyDefect(bytes calldata key) internal pure returns (KeyDefect, uint256) {
        if (key.length != KEY_LENGTH) return (KeyDefect.WrongLength, 0);
        (bool known, , ) = ceremony(_word(key, 0));
        if (!known) return (KeyDefect.UnknownCeremony, 0);
        uint256 power = _word(key, POWER_OFFSET);
        if (power < 3 || power > MAX_POWER) return (KeyDefect.BadDomain, POWER_OFFSET);
        uint256 nPublic = _word(key, N_PUBLIC_OFFSET);
        if (nPublic == 0 || nPublic > 1 << power) return (KeyDefect.BadDomain, N_PUBLIC_OFFSET);
        for (uint256 offset = K1_OFFSET; offset < QM_OFFSET; offset += 32) {
            if (_word(key, offset) >= SCALAR_FIELD) return (KeyDefect.NotCanonical, offset);
        }
        for (uint256 offset = QM_OFFSET; offset < KEY_LENGTH; offset += 32) {
            if (_word(key, offset) >= BASE_FIELD) return (KeyDefect.NotCanonical, offset);
        }
        // omega generates exactly 2^power elements iff omega^(2^(power-1)) = -1.
        if (_pow2k(_word(key, OMEGA_OFFSET), power - 1) != SCALAR_FIELD - 1) {
            return (KeyDefect.BadDomain, OMEGA_OFFSET);
        }
        // The cosets H, k1 H, k2 H are disjoint iff k1^n, k2^n differ from 1 and from each other.
        uint256 k1n = _pow2k(_word(key, K1_OFFSET), power);
        uint256 k2n = _pow2k(_word(key, K1_OFFSET + 32), power);
        if (k1n == 0 || k1n == 1) return (KeyDefect.BadCosets, K1_OFFSET);
        if (k2n == 0 || k2n == 1 || k2n == k1n) return (KeyDefect.BadCosets, K1_OFFSET + 32);
        bool anyGate = false;
        for (uint256 offset = QM_OFFSET; offset < KEY_LENGTH; offset += 64) {
            uint256 x = _word(key, offset);
            uint256 y = _word(key, offset + 32);
            if (x == 0 && y == 0) {
                if (offset >= S1_OFFSET) return (KeyDefect.AtInfinity, offset);
                continue;
            }
            if (!_onCurve(x, y)) return (KeyDefect.NotOnCurve, offset);
            if (offset < S1_OFFSET) anyGate = true;
        }
        if (!anyGate) return (KeyDefect.NoGates, QM_OFFSET);
        return (KeyDefect.None, 0);
    }

    /**
     * @notice Checks `proof` for `signals` against the key stored in the data contract `key`, with
     * the `[tau]_2` of the ceremony the key names.
     * @dev Returns false (never reverts) when `key` holds no key of {KEY_LENGTH} bytes, the key
     * names an unknown ceremony, a domain power outside 3..28 or another number of signals (none
     * is refused), a signal or evaluation is not below
     * r, a coordinate is not below q, a point is not on G1, or the final pairing check fails.
     * `key` holds one leading zero byte and then the key (see {VerificationKeyStore}).
     */
    function verify(address key, uint256[] memory signals, uint256[24] calldata proof) internal view returns (bool) {
        if (key.code.length != KEY_LENGTH + 1) return false;
        uint256[22] memory vk;
        assembly ("memory-safe") {
            extcodecopy(key, vk, 1, KEY_LENGTH)
        }
        (bool known, , uint256[4] memory tau2) = ceremony(vk[0]);
        // A registered key passed {keyDefect}; these keep an unchecked one from costing unbounded gas.
        if (!known || vk[1] < 3 || vk[1] > MAX_POWER || signals.length == 0 || vk[2] != signals.length) return false;
        for (uint256 i = 0; i < signals.length; ++i) {
            if (signals[i] >= SCALAR_FIELD) return false;
        }
        for (uint256 i = 0; i < 18; ++i) {
            if (proof[i] >= BASE_FIELD) return false;
        }
        for (uint256 i = 18; i < 24; ++i) {
            if (proof[i] >= SCALAR_FIELD) return false;
        }
        Challenges memory c = _challenges(vk, signals, proof);
        _publicInput(c, vk, signals);
        return _pairing(c, vk, proof, tau2);
    }

    /// @dev Fiat-Shamir as snarkjs 0.7 does it: Keccak-256 of big-endian words, reduced mod r.
    function _challenges(
        uint256[22] memory vk,
        uint256[] memory signals,
        uint256[24] calldata proof
    ) private pure returns (Challenges memory c) {
        uint256 n = signals.length;
        // Each challenge is written straight into `c` (fields at 0x00 beta, 0x20 gamma, 0x40
        // alpha, 0x60 xi, 0x80 v1, 0xa0 u).
        assembly ("memory-safe") {
            let p := mload(0x40)
            // beta = H(Qm..S3, signals, A, B, C)
            mcopy(p, add(vk, QM_OFFSET), 0x200)
            mcopy(add(p, 0x200), add(signals, 0x20), mul(n, 0x20))
            calldatacopy(add(p, add(0x200, mul(n, 0x20))), proof, 0xc0)
            mstore(c, mod(keccak256(p, add(0x2c0, mul(n, 0x20))), SCALAR_FIELD))
            // gamma = H(beta)
            mstore(add(c, 0x20), mod(keccak256(c, 0x20), SCALAR_FIELD))
            // alpha = H(beta, gamma, Z)
            mcopy(p, c, 0x40)
            calldatacopy(add(p, 0x40), add(proof, 0xc0), 0x40)
            mstore(add(c, 0x40), mod(keccak256(p, 0x80), SCALAR_FIELD))
            // xi = H(alpha, T1, T2, T3)
            mstore(p, mload(add(c, 0x40)))
            calldatacopy(add(p, 0x20), add(proof, 0x100), 0xc0)
            mstore(add(c, 0x60), mod(keccak256(p, 0xe0), SCALAR_FIELD))
            // v1 = H(xi, a, b, c, s1, s2, zw); v2..v5 are its powers.
            mstore(p, mload(add(c, 0x60)))
            calldatacopy(add(p, 0x20), add(proof, 0x240), 0xc0)
            mstore(add(c, 0x80), mod(keccak256(p, 0xe0), SCALAR_FIELD))
            // u = H(Wxi, Wxiw)
            calldatacopy(p, add(proof, 0x1c0), 0x80)
            mstore(add(c, 0xa0), mod(keccak256(p, 0x80), SCALAR_FIELD))
        }
    }

    /**
     * @dev Sets xi^n, Z_H(xi) = xi^n - 1, L_1(xi) and the public input polynomial at xi,
     * PI(xi) = -sum_i signals[i] L_{i+1}(xi), with L_{i+1}(xi) = omega^i Z_H(xi) / (n (xi - omega^i)).
     * One modular inversion serves every denominator.
     */
    function _publicInput(Challenges memory c, uint256[22] memory vk, uint256[] memory signals) private view {
        uint256 count = signals.length;
        uint256 n = 1 << vk[1];
        c.xin = _pow2k(c.xi, vk[1]);
        c.zh = addmod(c.xin, _R - 1, _R);
        // prefix[i] = d_0 ... d_{i-1}, with d_i = n (xi - omega^i); omegas[i] = omega^i.
        uint256[] memory prefix = new uint256[](count + 1);
        uint256[] memory omegas = new uint256[](count);
        prefix[0] = 1;
        omegas[0] = 1;
        for (uint256 i = 0; i < count; ++i) {
            if (i > 0) omegas[i] = mulmod(omegas[i - 1], vk[5], _R);
            prefix[i + 1] = mulmod(prefix[i], mulmod(n, addmod(c.xi, _R - omegas[i], _R), _R), _R);
        }
        // xi in the domain (probability n / r: xi is a hash) makes a denominator 0; its inverse is
        // then 0 and so is every L_i(xi), a check that no honest proof was made for.
        uint256 inverse = _inverse(prefix[count]);
        uint256 pi = 0;
        for (uint256 i = count; i > 0; --i) {
            // inverse = 1 / (d_0 ... d_{i-1}), so 1 / d_{i-1} = inverse * prefix[i-1].
            uint256 lagrange = mulmod(mulmod(omegas[i - 1], c.zh, _R), mulmod(inverse, prefix[i - 1], _R), _R);
            inverse = mulmod(inverse, mulmod(n, addmod(c.xi, _R - omegas[i - 1], _R), _R), _R);
            if (i == 1) c.l1 = lagrange;
            pi = addmod(pi, mulmod(signals[i - 1], lagrange, _R), _R);
        }
        c.pi = (_R - pi) % _R;
    }

    /**
     * @dev The batched KZG opening check of the paper's step 12, with every scalar folded into one
     * multi-scalar sum: e(-(Wxi + u Wxiw), [tau]_2) e(xi Wxi + u xi omega Wxiw + F - E, [1]_2) = 1,
     * where F - E = D + v A + v^2 B + v^3 C + v^4 S1 + v^5 S2 - e G1 and D is the linearisation
     * commitment (snarkjs's calculateD).
     */
    function _pairing(
        Challenges memory c,
        uint256[22] memory vk,
        uint256[24] calldata proof,
        uint256[4] memory tau2
    ) private view returns (bool) {
        uint256[17] memory scalars = _scalars(c, vk, proof);
        uint256[17] memory points = _pointOffsets();
        bool ok = true;
        assembly ("memory-safe") {
            let m := mload(0x40)
            // Accumulator at m + 0x40 .. m + 0x80, starting at Qc; ecMul writes at m .. m + 0x40,
            // so that m .. m + 0x80 is ecAdd's input.
            let acc := add(m, 0x40)
            mcopy(acc, add(vk, add(QM_OFFSET, 256)), 0x40)
            for {
                let i := 0
            } lt(i, 17) {
                i := add(i, 1)
            } {
                let at := mload(add(points, mul(i, 0x20)))
                let input := add(m, 0x80)
                switch at
                case 0x2000 {
                    mstore(input, 1)
                    mstore(add(input, 0x20), 2)
                }
                default {
                    switch lt(at, 0x1000)
                    case 1 {
                        mcopy(input, add(vk, at), 0x40)
                    }
                    default {
                        calldatacopy(input, add(proof, sub(at, 0x1000)), 0x40)
                    }
                }
                mstore(add(input, 0x40), mload(add(scalars, mul(i, 0x20))))
                // A precompile that refuses its input (a point off the curve) keeps only 1/64 of
                // the gas: stop at the first refusal so the rest returns false, not out of gas.
                ok := staticcall(gas(), 0x07, input, 0x60, m, 0x40)
                if iszero(ok) {
                    break
                }
                ok := staticcall(gas(), 0x06, m, 0x80, acc, 0x40)
            }
            // Every point was taken by ecMul in the loop, so the rest cannot be refused.
            if ok {
                // B1 = the accumulator, now at m + 0x40; A1 = Wxi + u Wxiw, built at m + 0x80.
                let p := add(m, 0x100)
                let a1 := add(m, 0x80)
                calldatacopy(a1, add(proof, 0x200), 0x40)
                mstore(add(a1, 0x40), mload(add(c, 0xa0)))
                ok := and(ok, staticcall(gas(), 0x07, a1, 0x60, a1, 0x40))
                calldatacopy(add(a1, 0x40), add(proof, 0x1c0), 0x40)
                ok := and(ok, staticcall(gas(), 0x06, a1, 0x80, p, 0x40))
                // Pairing input: (-A1, [tau]_2), (B1, [1]_2).
                mstore(add(p, 0x20), mod(sub(BASE_FIELD, mload(add(p, 0x20))), BASE_FIELD))
                mcopy(add(p, 0x40), tau2, 0x80)
                mcopy(add(p, 0xc0), acc, 0x40)
                mstore(add(p, 0x100), 11559732032986387107991004021392285783925812861821192530917403151452391805634)
                mstore(add(p, 0x120), 10857046999023057135944570762232829481370756359578518086990519993285655852781)
                mstore(add(p, 0x140), 4082367875863433681332203403145435568316851327593401208105741076214120093531)
                mstore(add(p, 0x160), 8495653923123431417604973247489272438418190587263600148770280649306958101930)
                ok := and(ok, staticcall(gas(), 0x08, p, 0x180, p, 0x20))
                ok := and(ok, eq(mload(p), 1))
            }
        }
        return ok;
    }

    /**
     * @dev The points of {_pairing}'s sum in the order of {_scalars}, as byte offsets: key offsets
     * below 0x1000, proof words (index * 32) as 0x1000 + offset; 0x2000 is the G1 generator.
     */
    function _pointOffsets() private pure returns (uint256[17] memory) {
        return
            [
                uint256(QM_OFFSET), // Qm
                QM_OFFSET + 64, // Ql
                QM_OFFSET + 128, // Qr
                QM_OFFSET + 192, // Qo
                0x1000 + 0xc0, // Z
                QM_OFFSET + 448, // S3
                0x1000 + 0x100, // T1
                0x1000 + 0x140, // T2
                0x1000 + 0x180, // T3
                0x1000, // A
                0x1000 + 0x40, // B
                0x1000 + 0x80, // C
                S1_OFFSET, // S1
                S1_OFFSET + 64, // S2
                0x2000, // G1
                0x1000 + 0x1c0, // Wxi
                0x1000 + 0x200 // Wxiw
            ];
    }

    /// @dev The scalar of each point of {_pairing}'s sum, in the same order.
    function _scalars(
        Challenges memory c,
        uint256[22] memory vk,
        uint256[24] calldata proof
    ) private pure returns (uint256[17] memory s) {
        // proof[18..23] = a, b, c, s1, s2, zw (the evaluations at xi, zw at xi omega).
        uint256 l1a2 = mulmod(c.l1, mulmod(c.alpha, c.alpha, _R), _R);
        // (a + beta s1 + gamma)(b + beta s2 + gamma), shared by r0 and the S3 term.
        uint256 perm = mulmod(
            addmod(addmod(proof[18], mulmod(c.beta, proof[21], _R), _R), c.gamma, _R),
            addmod(addmod(proof[19], mulmod(c.beta, proof[22], _R), _R), c.gamma, _R),
            _R
        );
        s[0] = mulmod(proof[18], proof[19], _R);
        s[1] = proof[18];
        s[2] = proof[19];
        s[3] = proof[20];
        {
            uint256 betaXi = mulmod(c.beta, c.xi, _R);
            uint256 z = addmod(addmod(proof[18], betaXi, _R), c.gamma, _R);
            z = mulmod(z, addmod(addmod(proof[19], mulmod(betaXi, vk[3], _R), _R), c.gamma, _R), _R);
            z = mulmod(z, addmod(addmod(proof[20], mulmod(betaXi, vk[4], _R), _R), c.gamma, _R), _R);
            s[4] = addmod(addmod(mulmod(z, c.alpha, _R), l1a2, _R), c.u, _R);
        }
        s[5] = _R - mulmod(perm, mulmod(mulmod(c.alpha, c.beta, _R), proof[23], _R), _R);
        s[6] = (_R - c.zh) % _R;
        s[7] = mulmod(s[6], c.xin, _R);
        s[8] = mulmod(s[7], c.xin, _R);
        s[9] = c.v1;
        s[10] = mulmod(c.v1, c.v1, _R);
        s[11] = mulmod(s[10], c.v1, _R);
        s[12] = mulmod(s[11], c.v1, _R);
        s[13] = mulmod(s[12], c.v1, _R);
        // -e = r0 - (v a + v^2 b + v^3 c + v^4 s1 + v^5 s2 + u zw), with
        // r0 = PI(xi) - L1(xi) alpha^2 - alpha perm (c + gamma) zw.
        uint256 r0 = mulmod(mulmod(c.alpha, perm, _R), mulmod(addmod(proof[20], c.gamma, _R), proof[23], _R), _R);
        r0 = addmod(c.pi, _R - addmod(l1a2, r0, _R), _R);
        uint256 e = mulmod(c.u, proof[23], _R);
        for (uint256 k = 0; k < 5; ++k) e = addmod(e, mulmod(s[9 + k], proof[18 + k], _R), _R);
        s[14] = addmod(r0, _R - e, _R);
        s[15] = c.xi;
        s[16] = mulmod(mulmod(c.u, c.xi, _R), vk[5], _R);
    }

    function _word(bytes calldata key, uint256 offset) private pure returns (uint256 w) {
        assembly ("memory-safe") {
            w := calldataload(add(key.offset, offset))
        }
    }

    /// @dev x^(2^k) mod r, by k squarings.
    function _pow2k(uint256 x, uint256 k) private pure returns (uint256) {
        for (uint256 i = 0; i < k; ++i) x = mulmod(x, x, SCALAR_FIELD);
        return x;
    }

    /// @dev 1 / x mod r by Fermat (x^(r-2)), with the modexp precompile; x must not be 0.
    function _inverse(uint256 x) private view returns (uint256 result) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, 0x20)
            mstore(add(p, 0x20), 0x20)
            mstore(add(p, 0x40), 0x20)
            mstore(add(p, 0x60), x)
            mstore(add(p, 0x80), sub(SCALAR_FIELD, 2))
            mstore(add(p, 0xa0), SCALAR_FIELD)
            // The precompile cannot refuse this input; out of gas, the result is 0, a refusal.
            let ok := staticcall(gas(), 0x05, p, 0xc0, p, 0x20)
            result := mul(mload(p), ok)
        }
    }

    function _onCurve(uint256 x, uint256 y) private pure returns (bool) {
        uint256 q = BASE_FIELD;
        return mulmod(y, y, q) == addmod(mulmod(mulmod(x, x, q), x, q), 3, q);
    }
}
