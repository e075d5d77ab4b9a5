pragma circom 2.2.0;

// Dense layer in committed mode: out[o] = bias[o] + sum_i weights[o][i] * in[i], with the
// weights and biases as private signals (bind them with SignedPackedCommitment, see
// commitment-signed.circom). Baked weights need no template: the generator writes the same
// sum as a linear combination of constants (scripts/circuit/generate-mlp.ts), at no cost.
// Reference: denseCommitted() in scripts/circuit/reference-layers.ts.
//
// Accepted input range: the template range-checks nothing itself; the caller guarantees
// 0 <= in[i] < 2^inBits (previous layer's clamp or the input commitment) and
// -2^(weightBits-1) <= weights, bias < 2^(weightBits-1) (the weight commitment).
// Widest intermediate: the accumulator, |out[o]| <= nIn * 2^(inBits + weightBits - 1)
// + 2^(weightBits-1). The model compiler bounds it to accBits <= 252 signed bits and the
// next layer's Requantize / RequantReluClamp(accBits, ...) range-checks it, so no partial
// sum reaches p/2 ~ 2^253: the field never wraps and out equals the integer sum.
//
// Cost: nIn * nOut (one constraint per multiply-accumulate; the sums are linear and folded
// into them by the optimiser).
template DenseCommitted(nIn, nOut) {
    assert(nIn >= 1 && nOut >= 1);

    signal input in[nIn];
    signal input weights[nOut][nIn];
    signal input bias[nOut];
    signal output out[nOut];

    signal products[nOut][nIn];
    for (var o = 0; o < nOut; o++) {
        var acc = bias[o];
        for (var i = 0; i < nIn; i++) {
            products[o][i] <== weights[o][i] * in[i];
            acc += products[o][i];
        }
        out[o] <== acc;
    }
}
