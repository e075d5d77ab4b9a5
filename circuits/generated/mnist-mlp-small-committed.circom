pragma circom 2.2.0;

// GENERATED FILE, do not edit. Made by `npm run build:circuit`: committed-mode MLP 196-4-10, weights private and committed.

include "binding.circom";
include "commitment.circom";
include "commitment-signed.circom";
include "dense.circom";
include "requantize.circom";
include "argmax.circom";
include "circomlib/circuits/poseidon.circom";

template MnistMlpSmallCommitted() {
    signal input pixels[196];
    signal input w0[4][196];
    signal input b0[4];
    signal input w1[10][4];
    signal input b1[10];
    signal input binding;
    signal output modelCommitment;
    signal output inputCommitment;
    signal output result;

    // Weights range-checked to 8 signed bits and biases to 17 by their commitments.
    component weights = SignedPackedCommitment(824, 8);
    component biases = SignedPackedCommitment(14, 17);
    for (var o = 0; o < 4; o++) {
        for (var i = 0; i < 196; i++) {
            weights.in[0 + o * 196 + i] <== w0[o][i];
        }
        biases.in[0 + o] <== b0[o];
    }
    for (var o = 0; o < 10; o++) {
        for (var i = 0; i < 4; i++) {
            weights.in[784 + o * 4 + i] <== w1[o][i];
        }
        biases.in[4 + o] <== b1[o];
    }
    modelCommitment <== Poseidon(2)([weights.out, biases.out]);
    inputCommitment <== PackedCommitment(196, 8)(pixels);
    RequestBinding()(binding);

    // Layer 0: accumulators of any committed model lie within 24 signed bits.
    component d0 = DenseCommitted(196, 4);
    d0.in <== pixels;
    d0.weights <== w0;
    d0.bias <== b0;
    signal h0[4];
    for (var o = 0; o < 4; o++) {
        h0[o] <== RequantReluClamp(24, 10, 8)(d0.out[o]);
    }

    // Layer 1: accumulators of any committed model lie within 19 signed bits.
    component d1 = DenseCommitted(4, 10);
    d1.in <== h0;
    d1.weights <== w1;
    d1.bias <== b1;

    signal predicted <== ArgMax(10, 20)(d1.out);
    var packed = predicted;
    for (var i = 0; i < 10; i++) {
        packed += (d1.out[i] + 262144) * (1 << (4 + 19 * i));
    }
    result <== packed;
}

component main {public [binding]} = MnistMlpSmallCommitted();
