pragma circom 2.1.0;

// Inner products of N vectors over one chunk, checked at a random point instead of computed one
// product per pair and parameter (docs/PROOF-INTERFACE.md, "Inner products at a random point").
//
// The prover claims d[idx(i, j)] = <w_i, w_j> for every pair i <= j. With weights c_i the circuit
// checks one identity,
//
//     sum_x (sum_i c_i w_i[x])^2 = sum_{i <= j} (i == j ? 1 : 2) c_i c_j d[idx(i, j)],
//
// which costs N products per parameter (N - 1 weightings and one square) where the pairs cost
// N (N + 1) / 2. With c_0 = 1 and c_i = rho^(4^i) for i >= 1, each pair's weight c_i c_j is a
// distinct power of rho (base-4 digits: 1 at i and j, 2 at i, or 1 at j with i = 0; the pair (0, 0)
// is rho^0), so a wrong claim leaves a non-zero polynomial in rho of degree at most 2 * 4^(N-1),
// which a random rho zeroes with probability at most 2 * 4^(N-1) / r (r ~ 2^254; N = 10 gives
// 2^19 / r). The caller must draw rho after the claim is fixed: the chunk proof hashes its public
// accumulators, whose output state holds the claimed sums and commits to every vector.

include "circomlib/circuits/poseidon.circom";
include "./lib.circom";

// The weights c_1..c_{N-1} = rho^(4^i) of a challenge rho: two squarings per weight. (c_0 = 1
// needs no signal; InnerProductCheck leaves w_0 unweighted.)
template ChallengeWeights(N) {
    // The challenge.
    signal input rho;
    // c[i - 1] = rho^(4^i) for 1 <= i < N.
    signal output c[N - 1];
    // half[i - 1] = rho^(2 * 4^(i-1)): the square between two weights.
    signal half[N - 1];

    for (var i = 1; i < N; i++) {
        // c_i = (c_{i-1}^2)^2, with rho in the place of c_0 for the first weight.
        half[i - 1] <== i == 1 ? rho * rho : c[i - 2] * c[i - 2];
        c[i - 1] <== half[i - 1] * half[i - 1];
    }
}

// Checks that d holds every inner product <w_i, w_j>, i <= j (row-major upper triangle, as
// gramIndex), of the N vectors w over their CHUNK coordinates, at the challenge rho.
template InnerProductCheck(N, CHUNK) {
    var NN = N * (N + 1) \ 2;
    // The vectors (field elements; the chunk proof passes the in-model signed values).
    signal input w[N][CHUNK];
    // The claimed inner products, pair (i, j) at gramIndex(i, j, N).
    signal input d[NN];
    // The challenge, drawn after d and w are fixed.
    signal input rho;

    component weights = ChallengeWeights(N);
    weights.rho <== rho;
    // weighted[i][x] = c_i * w_i[x] for i >= 1 (w_0 has weight 1).
    signal weighted[N][CHUNK];
    // squared[x] = (sum_i c_i w_i[x])^2.
    signal squared[CHUNK];
    var left = 0;
    for (var x = 0; x < CHUNK; x++) {
        var combined = w[0][x];
        for (var i = 1; i < N; i++) {
            weighted[i][x] <== weights.c[i - 1] * w[i][x];
            combined += weighted[i][x];
        }
        squared[x] <== combined * combined;
        left += squared[x];
    }
    // pairWeight[idx(i, j)] = c_i c_j (c_0 = 1: the pairs with i = 0 reuse c_j).
    signal pairWeight[NN];
    // term[idx] = pairWeight * d, doubled off the diagonal.
    signal term[NN];
    var right = 0;
    for (var i = 0; i < N; i++) {
        for (var j = i; j < N; j++) {
            var idx = gramIndex(i, j, N);
            if (i == 0 && j == 0) {
                pairWeight[idx] <== 1;
            } else if (i == 0) {
                pairWeight[idx] <== weights.c[j - 1];
            } else {
                pairWeight[idx] <== weights.c[i - 1] * weights.c[j - 1];
            }
            term[idx] <== pairWeight[idx] * d[idx];
            right += (i == j ? 1 : 2) * term[idx];
        }
    }
    left === right;
}

// The claimed inner products of InnerProductCheck, computed by the prover: a witness hint, bound
// only by the check (and by whatever the caller hashes).
template InnerProductHints(N, CHUNK) {
    var NN = N * (N + 1) \ 2;
    // The vectors.
    signal input w[N][CHUNK];
    // <w_i, w_j> at gramIndex(i, j, N), unconstrained here.
    signal output d[NN];

    for (var i = 0; i < N; i++) {
        for (var j = i; j < N; j++) {
            var sum = 0;
            for (var x = 0; x < CHUNK; x++) {
                sum += w[i][x] * w[j][x];
            }
            d[gramIndex(i, j, N)] <-- sum;
        }
    }
}
