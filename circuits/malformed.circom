pragma circom 2.1.0;

// Proofs of malformation (docs/THREAT-MODEL.md row 11, "stage 3"): the aggregator may leave a
// keyed slot undecoded only if it proves that one plaintext element of that slot, in some chunk,
// cannot be unpacked by UnpackEncoded (lib.circom), i.e. that its canonical value (the integer
// 0 <= p < r representing it) is >= 2^w, w = slots * BITS the width UnpackEncoded allows for that
// element. TypeScript reference: packages/core/src/malformed.ts (`elementWidths`,
// `findMalformed`, `malformedWitness`). Witness tests: circuits/test/malformed.test.ts.
//
// Cost (circom2 --O2 as scripts/circuits/circom.ts compiles, all non-linear; the test prints the
// counts of OutOfRange(248) and SelectMalformed(128, 8)):
//   OutOfRange(248): 516 constraints (Num2Bits(254): 254, AliasCheck: 127 + 134, inverse: 1).
//   SelectMalformed(128, 8) (E = 5 packed elements; the K = 8, CHUNK = 128 configuration): 528
//     constraints per slot per chunk, i.e. ~4.1 per trainer-parameter at CHUNK = 128
//     (x K = 8 slots: 4224 per chunk proof).
//   SelectMalformed(512, 8) (E = 17): 552 constraints per slot per chunk, i.e. ~1.1 per
//     trainer-parameter at CHUNK = 512.
//   In general 515 + 2 E + 3 (selector booleans, selection products, last-element term, inverse;
//   2 E + 2 when the last element is full width).
// The strict decomposition dominates and is paid once per slot per chunk, whatever E.

include "circomlib/circuits/bitify.circom";
include "./lib.circom";

// Width in bits that UnpackEncoded(COUNT, BITS) allows for packed element e: the element holds
// slots = min(P, COUNT - e * P) values of BITS bits. Mirrors `elementWidths` in malformed.ts.
function elementWidth(COUNT, BITS, e) {
    var P = valuesPerElement(BITS);
    return minOf(P, COUNT - e * P) * BITS;
}

// Constrains `in` to be non-zero by exhibiting its inverse (one constraint). Used to say "at least
// one of these bits is 1" about a sum of at most 255 booleans, which cannot wrap around r.
template NonZero() {
    // The value that must not be 0.
    signal input in;
    // Its inverse, computed by the prover; no value satisfies in * inv = 1 when in = 0.
    signal inv;

    inv <-- in != 0 ? 1 / in : 0;
    in * inv === 1;
}

// Constrains the canonical value of `in` (the integer in [0, r) it stands for) to be >= 2^NBITS,
// NBITS <= 252. A plain Num2Bits(254) is not enough: for p < 2^254 - r (about 2^252) the bits of
// p + r also recompose to p in the field, and they have bit 253 set, so a prover could "show" high
// bits for a small, well-formed p. Num2Bits_strict adds circomlib's AliasCheck (the 254 bits, read
// as an integer, are <= r - 1), so the decomposition is the unique canonical one.
template OutOfRange(NBITS) {
    assert(NBITS <= 252);
    // The value claimed to be out of [0, 2^NBITS).
    signal input in;

    // Canonical decomposition of `in` (out[0..254), little-endian, unique thanks to AliasCheck).
    component canonical = Num2Bits_strict();
    canonical.in <== in;

    // Number of canonical bits at positions NBITS..253 that are set: at most 254 booleans, so the
    // sum is an integer below r and is 0 in the field exactly when all of them are 0.
    var high = 0;
    for (var b = NBITS; b < 254; b++) {
        high += canonical.out[b];
    }
    // At least one high bit is set: the canonical value is >= 2^NBITS.
    component nonZero = NonZero();
    nonZero.in <== high;
}

// An optional malformation claim about one slot's plaintext in one chunk: the E =
// packedLength(COUNT, BITS) elements UnpackEncoded(COUNT, BITS) would unpack, and a one-hot
// selector over E + 1 positions. Position i < E claims that element i is out of its range
// [0, 2^elementWidth(COUNT, BITS, i)); position E makes no claim. Output `claimed` = 1 iff a claim
// is made (and then proven).
//
// The selected element is decomposed once with Num2Bits_strict (canonical, as in OutOfRange), and
// the set bits above the selected element's width are counted with the widths folded in: every
// element but the last has width W = elementWidth(.., 0); the last one has WL <= W, so its bits in
// [WL, W) also count, but only when the last element is the one selected. Then
// high + select[E] must be non-zero:
// - "no claim" (select[E] = 1) is always satisfiable: the selected value is 0, its canonical bits
//   are 0, and the sum is 0 + 1 = 1, whatever the elements are (malformed ones included).
// - a claim (select[E] = 0, select[i] = 1, i < E) on a well-formed element cannot be proven: the
//   canonical bits of elements[i] are unique, and all of them from its width upwards are 0 since
//   the element is < 2^width(i); so the sum is 0 and has no inverse.
// - a claim on a malformed element is provable: its canonical value is >= 2^width(i), so one of
//   its canonical bits at or above width(i) is 1, and the sum is a positive integer <= 254 < r.
// Scaling a value instead of folding the widths would not do: multiplying by 2^(W - WL) in the
// field wraps around r and changes which values are >= the bound.
template SelectMalformed(COUNT, BITS) {
    var E = packedLength(COUNT, BITS);
    var W = elementWidth(COUNT, BITS, 0);
    var WL = elementWidth(COUNT, BITS, E - 1);
    // The slot's plaintext elements of this chunk (decrypted ciphertext), as UnpackEncoded sees them.
    signal input elements[E];
    // One-hot selector: select[i] = 1 claims element i malformed (i < E), select[E] = 1 claims nothing.
    signal input select[E + 1];
    // 1 when a malformation is claimed (and proven), 0 for "no claim".
    signal output claimed;

    // Every selector entry is a boolean and exactly one is set, so the selector means exactly one
    // position; the sum has E + 1 <= r terms of 0/1 and cannot wrap around.
    var total = 0;
    for (var i = 0; i <= E; i++) {
        select[i] * (select[i] - 1) === 0;
        total += select[i];
    }
    total === 1;
    claimed <== 1 - select[E];

    // select[i] * elements[i]: the selected element's contribution (0 for the others).
    signal picked[E];
    var chosen = 0;
    for (var i = 0; i < E; i++) {
        picked[i] <== select[i] * elements[i];
        chosen += picked[i];
    }

    // Canonical decomposition of the selected element (0 when nothing is claimed).
    component canonical = Num2Bits_strict();
    canonical.in <== chosen;

    // Set canonical bits at or above W: out of range for every element.
    var high = 0;
    for (var b = W; b < 254; b++) {
        high += canonical.out[b];
    }
    // Set canonical bits in [WL, W): out of range only for the last element (0 terms if WL = W).
    var between = 0;
    for (var b = WL; b < W; b++) {
        between += canonical.out[b];
    }
    // Those bits, counted only when the last element is the one selected.
    signal lastHigh <== select[E - 1] * between;

    // The claim holds (or no claim is made): see the template comment for why this is exact.
    component nonZero = NonZero();
    nonZero.in <== high + lastHigh + select[E];
}
