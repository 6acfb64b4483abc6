pragma circom 2.1.0;

// Sealed updates (docs/PROOF-INTERFACE.md, "Sealed updates"): the templates that let a round proof
// derive a trainer's shared key from the aggregator's registered key and decrypt its committed
// ciphertext. Reference: packages/core/src/cipher.ts (same names). Every template here is total:
// any input a trainer can choose (a point off the curve, a low-order point, any ciphertext) has a
// witness, so a trainer can never make a round unprovable; bad inputs become proven flags instead.

include "circomlib/circuits/babyjub.circom";
include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/escalarmulany.circom";
include "circomlib/circuits/escalarmulfix.circom";
include "circomlib/circuits/poseidon.circom";

// Bits of a secret scalar (`SCALAR_BITS`): the subgroup order l < 2^251.
function scalarBits() {
    return 253;
}

// Keystream elements per Poseidon call (`KEYSTREAM_BLOCK`): 9 of a width-10 state's outputs.
function keystreamBlock() {
    return 9;
}

// 2^16: the nonce of block b of chunk j is j * 2^16 + b (`keystreamNonce`).
function keystreamChunkStride() {
    return 65536;
}

// 1 iff p satisfies the BabyJubJub equation 168700 x^2 + y^2 = 1 + 168696 x^2 y^2 (`isOnCurve`).
template OnCurve() {
    // The point to test.
    signal input p[2];
    // 1 on the curve, 0 off it.
    signal output out;

    // x^2.
    signal x2 <== p[0] * p[0];
    // y^2.
    signal y2 <== p[1] * p[1];
    // x^2 y^2.
    signal x2y2 <== x2 * y2;
    out <== IsZero()(168700 * x2 + y2 - 1 - 168696 * x2y2);
}

// The public key secret * Base8 of a secret scalar given as bits (`publicKeyOf`); the caller
// decomposes the scalar once (Num2Bits(253)) and shares the bits with every SharedKey.
template PublicKey() {
    // Little-endian bits of the secret scalar.
    signal input secretBits[scalarBits()];
    // secret * Base8.
    signal output out[2];

    var BASE8[2] = [
        5299619240641551281634865583518297030282874472190772894086521144482721001553,
        16950150798460657717958625567821834550301663161624707787222815936182638968203
    ];
    out <== EscalarMulFix(scalarBits(), BASE8)(secretBits);
}

// The shared key secret * (8 * peer) of a secret scalar and a trainer-chosen point (`sharedKey`).
// Off the curve, `valid` is 0 and Base8 is multiplied instead (so a witness exists); the caller
// must then ignore `key`. Multiplying by the cofactor 8 first puts every on-curve point into the
// prime-order subgroup or on the identity, which circomlib's EscalarMulAny handles.
template SharedKey() {
    // Little-endian bits of the secret scalar.
    signal input secretBits[scalarBits()];
    // The peer's point, as committed by the trainer (any pair of field elements).
    signal input peer[2];
    // 1 iff peer is on the curve.
    signal output valid;
    // secret * (8 * peer) when valid.
    signal output key[2];

    var BASE8[2] = [
        5299619240641551281634865583518297030282874472190772894086521144482721001553,
        16950150798460657717958625567821834550301663161624707787222815936182638968203
    ];
    valid <== OnCurve()(peer);
    // The point multiplied: peer when valid, else Base8.
    signal point[2];
    point[0] <== BASE8[0] + valid * (peer[0] - BASE8[0]);
    point[1] <== BASE8[1] + valid * (peer[1] - BASE8[1]);
    // 2 * point, 4 * point, 8 * point (complete twisted Edwards doubling).
    component dbl[3];
    dbl[0] = BabyDbl();
    dbl[0].x <== point[0];
    dbl[0].y <== point[1];
    for (var i = 1; i < 3; i++) {
        dbl[i] = BabyDbl();
        dbl[i].x <== dbl[i - 1].xout;
        dbl[i].y <== dbl[i - 1].yout;
    }
    key <== EscalarMulAny(scalarBits())(secretBits, [dbl[2].xout, dbl[2].yout]);
}

// The first N keystream elements of chunk `chunkIndex` under `key` (`keystream`): block b is the
// first nine outputs of PoseidonEx([key.x, key.y, chunkIndex * 2^16 + b, 0, 0, 0, 0, 0, 0], 9),
// the tenth state element stays hidden. N <= 9 * 2^16 by construction of the nonce. Width 10
// rather than 4: a permutation costs 399 constraints at width 10 and 261 at width 4, so an
// element of keystream costs 44 instead of 87 (the chunk proof decrypts K_MAX * NP of them).
template Keystream(N) {
    // The shared key.
    signal input key[2];
    // The chunk's index j in the update (the accumulator's counter, < 2^32).
    signal input chunkIndex;
    // Keystream elements 0..N-1 of the chunk.
    signal output out[N];

    var BLOCKS = (N + keystreamBlock() - 1) \ keystreamBlock();
    assert(BLOCKS <= keystreamChunkStride());
    // One Poseidon permutation per block.
    component block[BLOCKS];
    for (var b = 0; b < BLOCKS; b++) {
        block[b] = PoseidonEx(keystreamBlock(), keystreamBlock());
        block[b].initialState <== 0;
        block[b].inputs[0] <== key[0];
        block[b].inputs[1] <== key[1];
        block[b].inputs[2] <== chunkIndex * keystreamChunkStride() + b;
        for (var i = 3; i < keystreamBlock(); i++) {
            block[b].inputs[i] <== 0;
        }
    }
    for (var i = 0; i < N; i++) {
        out[i] <== block[i \ keystreamBlock()].out[i % keystreamBlock()];
    }
}

// Decrypts the N ciphertext elements of chunk `chunkIndex`: plain[i] = cipher[i] - ks[i] in the
// field (`decryptChunk`). Always defined; whether the plaintext unpacks is the caller's check.
template DecryptChunk(N) {
    // The committed ciphertext elements of the chunk.
    signal input cipher[N];
    // The shared key.
    signal input key[2];
    // The chunk's index in the update.
    signal input chunkIndex;
    // The packed plaintext elements.
    signal output plain[N];

    component ks = Keystream(N);
    ks.key <== key;
    ks.chunkIndex <== chunkIndex;
    for (var i = 0; i < N; i++) {
        plain[i] <== cipher[i] - ks.out[i];
    }
}
