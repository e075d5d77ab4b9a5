pragma circom 2.2.0;

// Number of kernel taps, summed over all output positions along one axis, that land inside
// the input (taps on zero padding contribute nothing and are not emitted).
function convValidTaps(inSize, k, stride, pad) {
    var outSize = (inSize + 2 * pad - k) \ stride + 1;
    var n = 0;
    for (var o = 0; o < outSize; o++) {
        for (var t = 0; t < k; t++) {
            var pos = o * stride + t - pad;
            if (pos >= 0 && pos < inSize) {
                n++;
            }
        }
    }
    return n;
}

// 2-D convolution in committed mode, zero padding, layout in[c][h][w] (CHW),
// weights[oc][ic][kh][kw], bias[oc]:
//   out[oc][y][x] = bias[oc] + sum_{ic,kh,kw} weights[oc][ic][kh][kw] * in[ic][y*stride+kh-pad][x*stride+kw-pad]
// with outH = floor((inH + 2 pad - k) / stride) + 1 (outW likewise) and out-of-range
// positions reading 0. Weights are private signals (bind them with SignedPackedCommitment).
// Baked weights need no template: scripts/circuit/conv-baked.ts writes each output as a
// linear combination of constants, at no cost.
// Reference: conv2DCommitted() in scripts/circuit/reference-layers.ts.
//
// Accepted input range: the template range-checks nothing itself; the caller guarantees
// 0 <= in < 2^inBits and -2^(weightBits-1) <= weights, bias < 2^(weightBits-1).
// Widest intermediate: the accumulator, |out| <= inC * k^2 * 2^(inBits + weightBits - 1)
// + 2^(weightBits-1). The model compiler bounds it to accBits <= 252 signed bits and the next
// Requantize / RequantReluClamp(accBits, ...) range-checks it, so the field never wraps.
//
// Cost: outC * inC * convValidTaps(inH, k, stride, pad) * convValidTaps(inW, k, stride, pad)
// (one constraint per multiply-accumulate that reads a real input; without padding this is
// outC * outH * outW * inC * k^2).
template Conv2DCommitted(inH, inW, inC, outC, k, stride, pad) {
    assert(inH >= 1 && inW >= 1 && inC >= 1 && outC >= 1 && k >= 1 && stride >= 1);
    // pad < k keeps every weight tap on some real input (else a weight would be unconstrained).
    assert(pad >= 0 && pad < k && inH + 2 * pad >= k && inW + 2 * pad >= k);
    var outH = (inH + 2 * pad - k) \ stride + 1;
    var outW = (inW + 2 * pad - k) \ stride + 1;
    var nMacs = outC * inC * convValidTaps(inH, k, stride, pad) * convValidTaps(inW, k, stride, pad);

    signal input in[inC][inH][inW];
    signal input weights[outC][inC][k][k];
    signal input bias[outC];
    signal output out[outC][outH][outW];

    signal products[nMacs];
    var m = 0;
    for (var oc = 0; oc < outC; oc++) {
        for (var y = 0; y < outH; y++) {
            for (var x = 0; x < outW; x++) {
                var acc = bias[oc];
                for (var ic = 0; ic < inC; ic++) {
                    for (var kh = 0; kh < k; kh++) {
                        for (var kw = 0; kw < k; kw++) {
                            var h = y * stride + kh - pad;
                            var w = x * stride + kw - pad;
                            if (h >= 0 && h < inH && w >= 0 && w < inW) {
                                products[m] <== weights[oc][ic][kh][kw] * in[ic][h][w];
                                acc += products[m];
                                m++;
                            }
                        }
                    }
                }
                out[oc][y][x] <== acc;
            }
        }
    }
    assert(m == nMacs);
}
