pragma circom 2.2.0;

include "commitment.circom";

// Poseidon commitment to n signed values of valueBits bits, -2^(valueBits-1) <= in[i] <
// 2^(valueBits-1), such as the weights and biases of a committed-mode layer.
// Reference: signedPackedCommitment() in scripts/circuit/reference-layers.ts.
//
// A negative value is the field element p - |v|, which no valueBits-bit range check accepts,
// so each value is first offset by 2^(valueBits-1) into [0, 2^valueBits) and the offset
// values are range-checked and packed by PackedCommitment. The offset is linear, so it costs
// nothing; the commitment equals packedCommitment(values + 2^(valueBits-1), valueBits).
// Widest intermediate: a packed chunk of at most 248 bits < 2^253, as in PackedCommitment.
//
// Cost: exactly that of PackedCommitment(n, valueBits) (n * valueBits range checks plus the
// Poseidon hashing of ceil(n / floor(248 / valueBits)) chunks); the offset adds nothing.
template SignedPackedCommitment(n, valueBits) {
    assert(valueBits >= 2 && valueBits <= 248);

    signal input in[n];
    signal output out;

    component packed = PackedCommitment(n, valueBits);
    for (var i = 0; i < n; i++) {
        packed.in[i] <== in[i] + (1 << (valueBits - 1));
    }
    out <== packed.out;
}
