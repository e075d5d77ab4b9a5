pragma circom 2.2.0;

include "circomlib/circuits/bitify.circom";

// Fused fixed-point requantize + ReLU + clamp:
//   out = clamp(floor(in / 2^shift), 0, 2^outBits - 1)
// Reference: requantReluClamp() in scripts/circuit/reference.ts.
//
// Accepted input range: -2^(accBits-1) <= in < 2^(accBits-1). The caller proves this
// statically (the model compiler bounds every accumulator from the weights and the
// input ranges), so an honest witness always exists. accBits <= 252, so the shifted
// value in + 2^(accBits-1) decomposes into accBits bits in exactly one way: the field
// (~2^253.6) never wraps and a prover cannot pick a second decomposition.
//
// Cost, with nHigh = accBits - 1 - shift - outBits quotient bits that can overflow the clamp:
//   accBits (bit decomposition; its sum is linear and folded by the optimiser)
//   + min(max(nHigh, 0), 4) (overflow detection) + 1 (output select).
template RequantReluClamp(accBits, shift, outBits) {
    assert(accBits >= 2 && accBits <= 252);
    assert(outBits >= 1 && shift >= 0);

    signal input in;
    signal output out;

    // bits[accBits-1] is 1 exactly when in >= 0; bits[shift..accBits-2] are the quotient's
    // magnitude bits when in >= 0; bits[0..shift-1] are the floor-division remainder.
    signal bits[accBits] <== Num2Bits(accBits)(in + (1 << (accBits - 1)));
    signal positive <== bits[accBits - 1];

    // The quotient's low outBits bits, and whether any higher bit is set (clamp).
    var top = accBits - 1;
    var lowEnd = shift + outBits < top ? shift + outBits : top;
    var low = 0;
    for (var i = shift; i < lowEnd; i++) {
        low += bits[i] * (1 << (i - shift));
    }
    var high = 0;
    for (var i = lowEnd; i < top; i++) {
        high += bits[i];
    }

    var maxOut = (1 << outBits) - 1;
    var nHigh = top - lowEnd;
    // g = 1 iff the value passes through unclamped: non-negative and no quotient bit at or
    // above 2^outBits set. positive - g = positive * overflow is the clamped-to-max case.
    signal g;
    if (nHigh == 0) {
        g <== positive;
    } else if (nHigh < 4) {
        // Few overflow bits: a product chain, one constraint per bit.
        signal chain[nHigh];
        chain[0] <== positive * (1 - bits[lowEnd]);
        for (var i = 1; i < nHigh; i++) {
            chain[i] <== chain[i - 1] * (1 - bits[lowEnd + i]);
        }
        g <== chain[nHigh - 1];
    } else {
        // Many overflow bits: their sum (< 252, no wrap) is zero iff none is set.
        signal noOverflow <== PinnedIsZero()(high);
        g <== positive * noOverflow;
    }
    out <== g * low + (positive - g) * maxOut;
}

// out = 1 if in == 0 else 0. Unlike circomlib's IsZero, the inverse hint is pinned too
// (to 0 when in == 0), so no witness signal is left free. Cost: 3.
template PinnedIsZero() {
    signal input in;
    signal output out;
    signal inv;
    inv <-- in != 0 ? 1 / in : 0;
    out <== 1 - in * inv;
    in * out === 0;
    inv * out === 0;
}

// Fixed-point requantize without activation: out = floor(in / 2^shift), signed.
// Accepted input range: -2^(accBits-1) <= in < 2^(accBits-1); out then lies in
// [-2^(accBits-1-shift), 2^(accBits-1-shift)). Cost: accBits constraints.
template Requantize(accBits, shift) {
    assert(accBits >= 2 && accBits <= 252 && shift < accBits);

    signal input in;
    signal output out;

    signal bits[accBits] <== Num2Bits(accBits)(in + (1 << (accBits - 1)));
    var q = 0;
    for (var i = shift; i < accBits; i++) {
        q += bits[i] * (1 << (i - shift));
    }
    // q is floor((in + 2^(accBits-1)) / 2^shift); remove the offset.
    out <== q - (1 << (accBits - 1 - shift));
}
