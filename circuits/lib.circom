pragma circom 2.1.0;

// Shared building blocks of the fedmarket circuits. The TypeScript reference implementation in
// packages/core mirrors every rule here (packing: pack.ts, hashing: poseidon.ts, sizes: config.ts).

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";

// Ceiling of log2 for n >= 1 (bits needed for the values 0..n-1). Mirrors `ceilLog2` in field.ts.
function clog2(n) {
    var bits = 0;
    while ((1 << bits) < n) {
        bits++;
    }
    return bits;
}

// Smaller of two numbers.
function minOf(a, b) {
    return a < b ? a : b;
}

// Values packed into one field element: P = floor(252 / bits). Mirrors `valuesPerElement`.
function valuesPerElement(bits) {
    return 252 \ bits;
}

// Packed elements holding `count` values of `bits` bits. Mirrors `packedLength`.
function packedLength(count, bits) {
    var per = valuesPerElement(bits);
    return (count + per - 1) \ per;
}

// Packed element e of COUNT zero values, each offset-encoded as 2^(BITS-1) (`pack` of zeros):
// what a slot that is not decoded contributes.
function zeroPacked(COUNT, BITS, e) {
    var P = valuesPerElement(BITS);
    var slots = minOf(P, COUNT - e * P);
    var x = 0;
    for (var p = 0; p < slots; p++) {
        x += (1 << (BITS - 1)) * (1 << (p * BITS));
    }
    return x;
}

// Poseidon calls made by HashMany(n): one for the first 16 inputs, one per further 15.
function hashManyCalls(n) {
    return n <= 16 ? 1 : 1 + (n - 16 + 14) \ 15;
}

// Hashes N field elements with circomlib Poseidon calls of at most 16 inputs (`hashMany` in
// poseidon.ts): N <= 16: Poseidon(in); otherwise h = Poseidon(in[0..16)), then
// h = Poseidon(h, next <= 15 inputs) until the inputs are used up.
template HashMany(N) {
    // The elements to hash.
    signal input in[N];
    // Their hash.
    signal output out;

    var CALLS = hashManyCalls(N);
    // The Poseidon calls, in chain order.
    component h[CALLS];
    var first = minOf(N, 16);
    h[0] = Poseidon(first);
    for (var i = 0; i < first; i++) {
        h[0].inputs[i] <== in[i];
    }
    var pos = first;
    for (var c = 1; c < CALLS; c++) {
        var len = minOf(15, N - pos);
        h[c] = Poseidon(len + 1);
        h[c].inputs[0] <== h[c - 1].out;
        for (var i = 0; i < len; i++) {
            h[c].inputs[i + 1] <== in[pos + i];
        }
        pos += len;
    }
    out <== h[CALLS - 1].out;
}

// Poseidon calls made by HashNarrow(n): one for n <= 5; else one for the first 5 inputs and one
// per further 4 (the last group zero-padded).
function hashNarrowCalls(n) {
    return n <= 5 ? 1 : 1 + (n - 5 + 3) \ 4;
}

// Hashes N field elements with circomlib Poseidon calls of at most 5 inputs, the widest a contract
// can call (poseidon-solidity ships PoseidonT2..T6): `hashNarrow` in poseidon.ts. N <= 5:
// Poseidon(in) (equal to HashMany(N)); otherwise h = Poseidon(in[0..5)), then h = Poseidon(h, next 4
// inputs), the last group padded with zeros so that every call after the first has 5 inputs and a
// contract needs one hasher. Used for the ciphertext chunks a trainer may have to publish on chain.
template HashNarrow(N) {
    // The elements to hash.
    signal input in[N];
    // Their hash.
    signal output out;

    var CALLS = hashNarrowCalls(N);
    // The Poseidon calls, in chain order.
    component h[CALLS];
    var first = minOf(N, 5);
    h[0] = Poseidon(first);
    for (var i = 0; i < first; i++) {
        h[0].inputs[i] <== in[i];
    }
    var pos = first;
    for (var c = 1; c < CALLS; c++) {
        h[c] = Poseidon(5);
        h[c].inputs[0] <== h[c - 1].out;
        for (var i = 0; i < 4; i++) {
            if (pos + i < N) {
                h[c].inputs[i + 1] <== in[pos + i];
            } else {
                h[c].inputs[i + 1] <== 0;
            }
        }
        pos += 4;
    }
    out <== h[CALLS - 1].out;
}

// Unpacks COUNT offset-encoded BITS-bit values from their packed field elements (`unpack` in
// pack.ts: little-endian, P = floor(252 / BITS) per element, the last element holds the rest).
// Each element is decomposed with Num2Bits(slots * BITS): this is the range check of every value
// and makes the decomposition unique (slots * BITS <= 252 < 254).
template UnpackEncoded(COUNT, BITS) {
    var P = valuesPerElement(BITS);
    var N = packedLength(COUNT, BITS);
    // The packed field elements.
    signal input packed[N];
    // The offset-encoded values, each in [0, 2^BITS) (value = enc - 2^(BITS-1)).
    signal output enc[COUNT];

    // One bit decomposition per packed element.
    component bits[N];
    for (var e = 0; e < N; e++) {
        var slots = minOf(P, COUNT - e * P);
        bits[e] = Num2Bits(slots * BITS);
        bits[e].in <== packed[e];
        for (var p = 0; p < slots; p++) {
            var lc = 0;
            for (var b = 0; b < BITS; b++) {
                lc += bits[e].out[p * BITS + b] * (1 << b);
            }
            enc[e * P + p] <== lc;
        }
    }
}

// Unpacks COUNT offset-encoded BITS-bit values from the low bits of their packed field elements,
// ignoring the bits above (`unpackLow` in pack.ts), for the owner's reference, whose answer on chain
// is checked against its commitment and the bound 2^253 only (FedMarketAnswers
// REFERENCE_ELEMENT_LIMIT). Each element is decomposed with Num2Bits(253): every element below 2^253
// has exactly one such decomposition (2^253 < p, so no alias), and the prover has no choice.
template UnpackLow(COUNT, BITS) {
    var P = valuesPerElement(BITS);
    var N = packedLength(COUNT, BITS);
    // The packed field elements (any field elements).
    signal input packed[N];
    // The offset-encoded values, each in [0, 2^BITS) (value = enc - 2^(BITS-1)).
    signal output enc[COUNT];

    // One 253-bit decomposition per packed element.
    component bits[N];
    for (var e = 0; e < N; e++) {
        var slots = minOf(P, COUNT - e * P);
        bits[e] = Num2Bits(253);
        bits[e].in <== packed[e];
        for (var p = 0; p < slots; p++) {
            var lc = 0;
            for (var b = 0; b < BITS; b++) {
                lc += bits[e].out[p * BITS + b] * (1 << b);
            }
            enc[e * P + p] <== lc;
        }
    }
}

// Packs COUNT offset-encoded BITS-bit values into field elements (the inverse of UnpackEncoded).
// Purely linear: the caller must have range-checked every `enc` to BITS bits.
template PackEncoded(COUNT, BITS) {
    var P = valuesPerElement(BITS);
    var N = packedLength(COUNT, BITS);
    // The offset-encoded values, each already known to lie in [0, 2^BITS).
    signal input enc[COUNT];
    // The packed field elements.
    signal output packed[N];

    for (var e = 0; e < N; e++) {
        var slots = minOf(P, COUNT - e * P);
        var lc = 0;
        for (var p = 0; p < slots; p++) {
            lc += enc[e * P + p] * (1 << (p * BITS));
        }
        packed[e] <== lc;
    }
}

// Range check: in lies in [0, 2^n) (n <= 252). One constraint per bit.
template RangeCheck(n) {
    // The value to check.
    signal input in;
    // The decomposition proving the range.
    component bits = Num2Bits(n);
    bits.in <== in;
}

// Number of state fields: counter, mask, decoded, keysHash, size, malformed, two model chains, the
// reference chain and norm, K trainer chains, K(K+1)/2 Gram entries, K alignments.
function stateLength(K) {
    return 12 + 3 * K + K * (K + 1) \ 2;
}

// Index of Gram entry (i, j), i <= j, in the row-major upper-triangular layout (`gramIndex`).
function gramIndex(i, j, K) {
    var a = minOf(i, j);
    var b = i + j - a;
    return a * K - (a * (a - 1)) \ 2 + (b - a);
}

// Hash of the accumulator state in the documented field order (accumulator.ts): [counter, mask,
// decoded, keysHash, size, malformed, prevModelChain, newModelChain, referenceChain, referenceNorm,
// trainerChains[0..K), gram[0..K(K+1)/2), alignment[0..K)].
template StateHash(K) {
    var KK = K * (K + 1) \ 2;
    // Chunks absorbed so far.
    signal input counter;
    // Aggregation mask (bit k = slot k is aggregated).
    signal input mask;
    // Decoded mask (bit k = slot k's plaintext is used).
    signal input decoded;
    // hashMany of the slots' shared keys.
    signal input keysHash;
    // The model size D (parameters before the last chunk's padding).
    signal input size;
    // Proven-malformed mask (bit k = a chunk proof showed slot k's plaintext out of range).
    signal input malformed;
    // Chain of the previous model over the absorbed chunks.
    signal input prevModelChain;
    // Chain of the new model over the absorbed chunks.
    signal input newModelChain;
    // Chain of the owner's reference v over the absorbed chunks.
    signal input referenceChain;
    // |v|^2 over the absorbed chunks' model parameters.
    signal input referenceNorm;
    // |Delta|^2 over the absorbed chunks' model parameters (Delta: the step committed with the previous model).
    signal input deltaNorm;
    // <Delta, v> over the absorbed chunks' model parameters (signed, as a field element).
    signal input deltaReference;
    // Trainer chains x[k] over the ciphertext chunks.
    signal input trainerChains[K];
    // Running Gram matrix, upper triangle, row-major (signed values as field elements).
    signal input gram[KK];
    // Running alignments <u_k, v> (signed values as field elements).
    signal input alignment[K];
    // Running <u_k, Delta> (signed values as field elements).
    signal input deltaAlignment[K];
    // hashMany of the fields in that order.
    signal output out;

    // The hash over all fields.
    component h = HashMany(stateLength(K));
    h.in[0] <== counter;
    h.in[1] <== mask;
    h.in[2] <== decoded;
    h.in[3] <== keysHash;
    h.in[4] <== size;
    h.in[5] <== malformed;
    h.in[6] <== prevModelChain;
    h.in[7] <== newModelChain;
    h.in[8] <== referenceChain;
    h.in[9] <== referenceNorm;
    h.in[10] <== deltaNorm;
    h.in[11] <== deltaReference;
    for (var k = 0; k < K; k++) {
        h.in[12 + k] <== trainerChains[k];
    }
    for (var i = 0; i < KK; i++) {
        h.in[12 + K + i] <== gram[i];
    }
    for (var k = 0; k < K; k++) {
        h.in[12 + K + KK + k] <== alignment[k];
        h.in[12 + 2 * K + KK + k] <== deltaAlignment[k];
    }
    out <== h.out;
}
