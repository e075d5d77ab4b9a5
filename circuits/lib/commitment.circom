pragma circom 2.2.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/poseidon.circom";

// Poseidon commitment to a tensor of n unsigned values of valueBits bits each.
// Reference: packedCommitment() in scripts/circuit/reference.ts.
//
// Values are packed little-endian, floor(248 / valueBits) to a field element. Up to 16
// chunks are hashed with one Poseidon call; beyond that the hash is chained: the first 16
// chunks, then the running hash with up to 15 more chunks per call. Packing is binding only
// if every value really has valueBits bits (otherwise a value could borrow from its
// neighbour), so each value is range-checked; a chunk holds at most 248 bits < 2^253.
//
// Cost: n * valueBits (range checks) + the Poseidon calls over ceil(n / floor(248 / valueBits))
// chunks (see docs/circuits.md for the measured figures).
template PackedCommitment(n, valueBits) {
    var perChunk = 248 \ valueBits;
    var nChunks = (n + perChunk - 1) \ perChunk;
    assert(valueBits >= 1 && valueBits <= 248);
    assert(nChunks >= 1);

    signal input in[n];
    signal output out;

    signal chunks[nChunks];
    // Range checks only; the bits themselves are not needed.
    signal valueBitsOf[n][valueBits];
    var acc[nChunks];
    for (var c = 0; c < nChunks; c++) {
        acc[c] = 0;
    }
    for (var i = 0; i < n; i++) {
        valueBitsOf[i] <== Num2Bits(valueBits)(in[i]);
        acc[i \ perChunk] += in[i] * (1 << ((i % perChunk) * valueBits));
    }
    for (var c = 0; c < nChunks; c++) {
        chunks[c] <== acc[c];
    }
    out <== ChainedPoseidon(nChunks)(chunks);
}

// Poseidon over n >= 1 field elements: one call up to 16, then chained 15 at a time.
// Reference: poseidonChain() in scripts/circuit/reference.ts.
template ChainedPoseidon(n) {
    signal input in[n];
    signal output out;
    var first = n < 16 ? n : 16;
    var nCalls = 1 + (n - first + 14) \ 15;
    component calls[nCalls];
    calls[0] = Poseidon(first);
    for (var i = 0; i < first; i++) {
        calls[0].inputs[i] <== in[i];
    }
    var next = first;
    for (var k = 1; k < nCalls; k++) {
        var take = n - next < 15 ? n - next : 15;
        calls[k] = Poseidon(take + 1);
        calls[k].inputs[0] <== calls[k - 1].out;
        for (var i = 0; i < take; i++) {
            calls[k].inputs[1 + i] <== in[next + i];
        }
        next += take;
    }
    out <== calls[nCalls - 1].out;
}
