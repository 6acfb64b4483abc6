pragma circom 2.1.0;

include "../lib.circom";
include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/poseidon.circom";

// Stage2Marginal(MODE, K, CHUNK, B, BG): what stage 2 of issue 12 would add to one chunk proof, alone,
// so that its constraint count is the marginal cost (docs/SCORING.md, "Fifth round"). It proves
// nothing about a round and is never deployed. The inputs stand for signals the chunk proof already
// has (`used`: the in-model update values; `prevEnc`: the previous model's offset-encoded values;
// `quotient`: floor(S / n)); what is counted is only what the mode adds to them:
// - MODE 1, Delta from the older model: unpack the model before the previous one (BG bits), extend its
//   chain, Delta = g - older, <u_k, Delta> and |Delta|^2;
// - MODE 2, producing a delta chain: range-check floor(S / n) at B bits, pack it, extend the chain
//   (the chunk proof range-checks floor(S / n) itself since the model headroom: only the packing and
//   the hash are new, 4,096 of the 5,185 constraints at K 8, CHUNK 512, B 8 are not);
// - MODE 3, using the previous round's delta chain: unpack Delta at B bits, extend the chain,
//   <u_k, Delta> and |Delta|^2;
// - MODE 4, the owner's reference v at B bits: unpack, extend its chain, <u_k, v>.
// Count with circom2 (the main component is the only line that changes):
//   echo 'pragma circom 2.1.0; include "stage2_marginal.circom"; component main = Stage2Marginal(3, 8, 512, 8, 24);' > .cache/m.circom
//   node node_modules/circom2/cli.js .cache/m.circom --r1cs --O2 -l node_modules -l circuits -l circuits/bench -o .cache
template Stage2Marginal(MODE, K, CHUNK, B, BG) {
    // Bits of the vector this mode unpacks: the older model (MODE 1) or Delta / v (MODE 3, 4).
    var BITS = MODE == 1 ? BG : B;
    var NPX = packedLength(CHUNK, BITS);
    var OFFX = 1 << (BITS - 1);

    // Stand-in for the chunk proof's in-model update values of every slot.
    signal input used[K][CHUNK];
    // Stand-in for the previous model's offset-encoded values (MODE 1).
    signal input prevEnc[CHUNK];
    // Stand-in for the chunk's floor(S / n) values (MODE 2).
    signal input quotient[CHUNK];
    // The chain this mode extends (the older model's, the delta's or v's).
    signal input chainIn;
    // The packed vector this mode unpacks (ignored by MODE 2).
    signal input packedIn[NPX];
    // <u_k, Delta> or <u_k, v> over the chunk (0 in MODE 2).
    signal output dots[K];
    // |Delta|^2 over the chunk (0 in MODE 2 and 4).
    signal output delta2;
    // The extended chain.
    signal output chainOut;

    // Hash of the chunk's packed vector, as the model chains hash theirs.
    component hash = HashMany(NPX);
    if (MODE == 2) {
        // Range check of every floor(S / n) (offset-encoded at B bits), which makes the packing unique.
        component inRange[CHUNK];
        // The packed delta chunk.
        component pack = PackEncoded(CHUNK, B);
        for (var x = 0; x < CHUNK; x++) {
            inRange[x] = Num2Bits(B);
            inRange[x].in <== quotient[x] + OFFX;
            pack.enc[x] <== quotient[x] + OFFX;
        }
        hash.in <== pack.packed;
        for (var k = 0; k < K; k++) {
            dots[k] <== 0;
        }
        delta2 <== 0;
    } else {
        // The unpacked vector (its decomposition is the range check).
        component values = UnpackEncoded(CHUNK, BITS);
        values.packed <== packedIn;
        hash.in <== packedIn;
        // Delta (MODE 1: g - older; MODE 3: the decoded delta) or v (MODE 4), per parameter.
        signal d[CHUNK];
        for (var x = 0; x < CHUNK; x++) {
            d[x] <== MODE == 1 ? prevEnc[x] - values.enc[x] : values.enc[x] - OFFX;
        }
        // u_k[x] * d[x]: one constraint per slot and parameter.
        signal products[K][CHUNK];
        for (var k = 0; k < K; k++) {
            var sum = 0;
            for (var x = 0; x < CHUNK; x++) {
                products[k][x] <== used[k][x] * d[x];
                sum += products[k][x];
            }
            dots[k] <== sum;
        }
        if (MODE == 4) {
            delta2 <== 0;
        } else {
            // d[x]^2: one constraint per parameter.
            signal squares[CHUNK];
            var sum2 = 0;
            for (var x = 0; x < CHUNK; x++) {
                squares[x] <== d[x] * d[x];
                sum2 += squares[x];
            }
            delta2 <== sum2;
        }
    }
    // The chain step, as prevModelChain's: Poseidon(chain, chunk hash).
    component next = Poseidon(2);
    next.inputs[0] <== chainIn;
    next.inputs[1] <== hash.out;
    chainOut <== next.out;
}
