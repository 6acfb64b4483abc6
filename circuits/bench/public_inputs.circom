pragma circom 2.1.0;

// PublicInputs(N): a circuit whose only statement is "I know the squares of my N public inputs".
// It exists for the gas benchmark (scripts/gas-verifiers.ts): a Groth16 verifier's gas depends only
// on its number of public inputs, so this circuit's verifier costs exactly what a round circuit's
// verifier with the same N costs, while proofs can be made for any input values. It proves nothing
// about a round and is never deployed for a project.
template PublicInputs(N) {
    // The public inputs whose verification cost is measured.
    signal input x[N];
    // x[i]^2: one constraint per input, so every public input is bound to the proof.
    signal squares[N];
    for (var i = 0; i < N; i++) {
        squares[i] <== x[i] * x[i];
    }
}
