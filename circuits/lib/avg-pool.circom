pragma circom 2.2.0;

include "circomlib/circuits/bitify.circom";

// Window sums, no padding, layout in[c][h][w] (CHW):
//   out[c][y][x] = sum_{kh,kw < k} in[c][y*stride+kh][x*stride+kw],
// outH = floor((inH - k) / stride) + 1 (outW likewise).
// Reference: sumPool2D() in scripts/circuit/reference-layers.ts.
//
// Accepted input range: any values with |in| < 2^inBits; the sum of k^2 of them is below
// k^2 * 2^inBits, far from p/2 for any inBits <= 240. For a signed average pool, feed each
// sum to Requantize(inBits + log2(k^2), log2(k^2)) (floor division, inputs signed inBits-bit).
//
// Cost: 0 (each output is a linear combination the optimiser folds into its consumer). The
// outputs must feed a constraint, such as Requantize: if they were the outputs of the main
// circuit with nothing after them, --O2 would drop their linear equations and leave them free.
template SumPool2D(inH, inW, C, k, stride) {
    assert(C >= 1 && k >= 1 && stride >= 1 && inH >= k && inW >= k);
    var outH = (inH - k) \ stride + 1;
    var outW = (inW - k) \ stride + 1;

    signal input in[C][inH][inW];
    signal output out[C][outH][outW];

    for (var c = 0; c < C; c++) {
        for (var y = 0; y < outH; y++) {
            for (var x = 0; x < outW; x++) {
                var sum = 0;
                for (var kh = 0; kh < k; kh++) {
                    for (var kw = 0; kw < k; kw++) {
                        sum += in[c][y * stride + kh][x * stride + kw];
                    }
                }
                out[c][y][x] <== sum;
            }
        }
    }
}

// Average pool of unsigned values, no padding, layout CHW, k a power of two:
//   out[c][y][x] = floor(sum of the k x k window / k^2).
// Reference: avgPool2D() in scripts/circuit/reference-layers.ts.
//
// Accepted input range: 0 <= in < 2^inBits, which the caller guarantees (outputs of
// RequantReluClamp(..., inBits) or of a range-checked input commitment); this template does
// not re-check them. Widest intermediate: the window sum, below 2^(inBits + shift) with
// shift = log2(k^2); inBits + shift <= 252, so the sum is an integer below p and has exactly
// one decomposition into inBits + shift bits.
//
// Construction: the sum is decomposed into inBits + shift bits; the low shift bits are the
// remainder and the high inBits bits the quotient, which is the output. This is the cheapest
// sound form: the quotient q and remainder r with sum = 2^shift q + r are unique only if
// both are range-checked (r < 2^shift, q < 2^inBits); with q unchecked, any r would give a
// field element q = (sum - r) / 2^shift. Those two range checks are exactly the bit
// decomposition, and the sum and quotient are linear in the inputs and the bits.
//
// Cost: C * outH * outW * (inBits + log2(k^2)).
template AvgPool2D(inH, inW, C, k, stride, inBits) {
    var shift = 0;
    while ((1 << shift) < k * k) {
        shift++;
    }
    assert((1 << shift) == k * k);
    assert(C >= 1 && k >= 1 && stride >= 1 && inH >= k && inW >= k);
    assert(inBits >= 1 && inBits + shift <= 252);
    var outH = (inH - k) \ stride + 1;
    var outW = (inW - k) \ stride + 1;

    signal input in[C][inH][inW];
    signal output out[C][outH][outW];

    // sumBits[c][y][x][0..shift-1] is the remainder, [shift..] the quotient.
    signal sumBits[C][outH][outW][inBits + shift];
    for (var c = 0; c < C; c++) {
        for (var y = 0; y < outH; y++) {
            for (var x = 0; x < outW; x++) {
                var sum = 0;
                for (var kh = 0; kh < k; kh++) {
                    for (var kw = 0; kw < k; kw++) {
                        sum += in[c][y * stride + kh][x * stride + kw];
                    }
                }
                sumBits[c][y][x] <== Num2Bits(inBits + shift)(sum);
                var q = 0;
                for (var b = shift; b < inBits + shift; b++) {
                    q += sumBits[c][y][x][b] * (1 << (b - shift));
                }
                out[c][y][x] <== q;
            }
        }
    }
}
