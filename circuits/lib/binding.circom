pragma circom 2.2.0;

// Binds a proof to one request and one prover. The public signal `binding` is computed by
// the market as keccak256(chainid, market, requestId, prover) mod r (ProofBinding.sol), so a
// proof made for one request or one prover verifies for no other. A public input that
// appears in no constraint could be dropped by the compiler and would bind nothing in the
// Groth16 equations; squaring it puts it in a constraint. Cost: 1.
template RequestBinding() {
    signal input binding;
    signal square <== binding * binding;
}
