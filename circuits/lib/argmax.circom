pragma circom 2.2.0;

include "circomlib/circuits/bitify.circom";

// Index of the first maximum of in[0..n-1] (ties go to the lowest index).
// Reference: argmax() in scripts/circuit/reference.ts.
//
// Accepted input range: every pairwise difference |in[i] - in[j]| < 2^diffBits, which the
// caller guarantees statically (diffBits <= 252). The prover supplies a one-hot selector;
// the circuit then proves in[c] >= in[j] for j > c and in[c] > in[j] for j < c by
// range-checking each gap. A negative gap would wrap to ~2^254 and fail its range check.
//
// Cost: n (selector bits) + n (selected value) + n * diffBits (gap range checks).
template ArgMax(n, diffBits) {
    assert(n >= 2 && diffBits >= 1 && diffBits <= 252);

    signal input in[n];
    signal output out;

    signal sel[n];
    var best = 0;
    for (var i = 1; i < n; i++) {
        // Circuit values are compared as signed in (-p/2, p/2] by circom.
        if (in[i] > in[best]) {
            best = i;
        }
    }
    var count = 0;
    for (var i = 0; i < n; i++) {
        sel[i] <-- i == best ? 1 : 0;
        sel[i] * (sel[i] - 1) === 0;
        count += sel[i];
    }
    count === 1;

    signal picked[n];
    var maxValue = 0;
    var index = 0;
    for (var i = 0; i < n; i++) {
        picked[i] <== sel[i] * in[i];
        maxValue += picked[i];
        index += i * sel[i];
    }

    // after[j] = 1 iff the chosen index is greater than j, which demands a strict gap.
    var after = 0;
    signal gapBits[n][diffBits];
    for (var j = n - 1; j >= 0; j--) {
        gapBits[j] <== Num2Bits(diffBits)(maxValue - in[j] - after);
        after += sel[j];
    }
    out <== index;
}
