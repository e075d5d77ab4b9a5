pragma circom 2.2.0;

include "circomlib/circuits/bitify.circom";

// Max pool of unsigned values, no padding, layout in[c][h][w] (CHW):
//   out[c][y][x] = max of in[c][y*stride+kh][x*stride+kw] over kh, kw < k,
// outH = floor((inH - k) / stride) + 1 (outW likewise).
// Reference: maxPool2D() in scripts/circuit/reference-layers.ts.
//
// Accepted input range: 0 <= in < 2^inBits, which the caller must already guarantee (outputs
// of RequantReluClamp(..., inBits) or of a range-checked input commitment). A caller that
// cannot guarantee it uses RangeCheckedMaxPool2D below. Widest intermediate: a gap
// out - in, in (-2^inBits, 2^inBits); inBits <= 252, so a negative gap wraps to above
// p - 2^inBits > 2^252 and fails its inBits-bit range check.
//
// Construction, per window of n = k^2 values: the prover supplies the maximum m; the circuit
// proves m >= every value (each gap m - in[j] range-checked to inBits bits) and m equal to
// one of them (prod_j (m - in[j]) = 0, a chain of n - 1 products: the field has no zero
// divisors, so some factor is 0). Only the value is proven, so ties need no rule. This costs
// n - 1 constraints per window instead of the 2n of an ArgMax-style one-hot selector
// (n booleans and n selected products).
//
// Cost: C * outH * outW * (k^2 * inBits + k^2 - 1).
template MaxPool2D(inH, inW, C, k, stride, inBits) {
    assert(C >= 1 && k >= 2 && stride >= 1 && inH >= k && inW >= k);
    assert(inBits >= 1 && inBits <= 252);
    var n = k * k;
    var outH = (inH - k) \ stride + 1;
    var outW = (inW - k) \ stride + 1;

    signal input in[C][inH][inW];
    signal output out[C][outH][outW];

    // Range checks only; the bits themselves are not needed.
    signal gapBits[C][outH][outW][n][inBits];
    // chain[t] = prod_{j <= t + 1} (m - window[j]); the last one must be 0.
    signal chain[C][outH][outW][n - 1];
    for (var c = 0; c < C; c++) {
        for (var y = 0; y < outH; y++) {
            for (var x = 0; x < outW; x++) {
                var window[n];
                for (var t = 0; t < n; t++) {
                    window[t] = in[c][y * stride + t \ k][x * stride + t % k];
                }
                var best = window[0];
                for (var t = 1; t < n; t++) {
                    // Compared as signed values in (-p/2, p/2], exact for in-range inputs.
                    if (window[t] > best) {
                        best = window[t];
                    }
                }
                out[c][y][x] <-- best;

                for (var t = 0; t < n; t++) {
                    gapBits[c][y][x][t] <== Num2Bits(inBits)(out[c][y][x] - window[t]);
                }
                chain[c][y][x][0] <== (out[c][y][x] - window[0]) * (out[c][y][x] - window[1]);
                for (var t = 1; t < n - 1; t++) {
                    chain[c][y][x][t] <== chain[c][y][x][t - 1] * (out[c][y][x] - window[t + 1]);
                }
                chain[c][y][x][n - 2] === 0;
            }
        }
    }
}

// MaxPool2D for inputs the caller cannot bound: each input is range-checked to inBits bits
// once (windows may overlap) before pooling. Accepted input range: any field element; inputs
// outside [0, 2^inBits) have no witness. Reference: maxPool2D() (which throws on them).
//
// Cost: C * inH * inW * inBits + the cost of MaxPool2D(inH, inW, C, k, stride, inBits).
template RangeCheckedMaxPool2D(inH, inW, C, k, stride, inBits) {
    var outH = (inH - k) \ stride + 1;
    var outW = (inW - k) \ stride + 1;

    signal input in[C][inH][inW];
    signal output out[C][outH][outW];

    signal inBitsOf[C][inH][inW][inBits];
    for (var c = 0; c < C; c++) {
        for (var h = 0; h < inH; h++) {
            for (var w = 0; w < inW; w++) {
                inBitsOf[c][h][w] <== Num2Bits(inBits)(in[c][h][w]);
            }
        }
    }
    out <== MaxPool2D(inH, inW, C, k, stride, inBits)(in);
}
