pragma circom 2.2.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/poseidon.circom";

// Poseidon commitment to a tensor of n unsigned values of valueBits bits each.
// Reference: packedCommitment() in scripts/circuit/reference.ts.
//
// Values are packed little-endian, floor(248 / valueBits) to a field element, and the
// chunks are hashed with one Poseidon call (at most 16 chunks). Packing is binding only if
// every value really has valueBits bits (otherwise a value could borrow from its
// neighbour), so each value is range-checked; a chunk holds at most 248 bits < 2^253.
//
// Cost: n * valueBits (range checks) + Poseidon(ceil(n / floor(248 / valueBits))).
template PackedCommitment(n, valueBits) {
    var perChunk = 248 \ valueBits;
    var nChunks = (n + perChunk - 1) \ perChunk;
    assert(valueBits >= 1 && valueBits <= 248);
    assert(nChunks >= 1 && nChunks <= 16);

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
    out <== Poseidon(nChunks)(chunks);
}
