pragma circom 2.1.0;

include "./lib.circom";
include "./cipher/cipher.circom";
include "./consensus.circom";

// The decision proof (docs/PROOF-INTERFACE.md, "Decision proof"). Public inputs, in order:
// [ctx, prevModel, newModel, accFinal, sealKey.x, sealKey.y, reference, commitments[0..K_MAX),
// outcome[0..W)], W = ceil(K_MAX / 3).
//
// Proves: the final accumulator state opens accFinal; its model chains are prevModel/newModel; its
// size is ctx's model size D and its counter ceil(D / CHUNK);
// the prover knows the secret of the registered seal key; a non-zero reference opens as
// Poseidon(referenceChain, salt, 0) over the state's reference chain, so the state's alignments are
// <u_k, v> with the owner's committed v (0: no reference counts, and the alignments mean nothing);
// every non-empty commitment opens as
// Poseidon(x[k], E[k].x, E[k].y) over the ciphertext chain x[k] (a slot flagged on chain and not
// answered in time is passed with commitment 0 by the contract: it is empty, there is no other
// way to leave a slot out); the state's keysHash holds the shared keys secret * (8 * E[k]) of the
// non-empty slots whose E[k] is on the curve (zero for the others); exactly such slots are decoded,
// except those the chunk proofs proved malformed (the state's malformed mask); slot statuses
// (empty 0, excluded 3 = not decoded, for a proven reason only, duplicate 2, valid: counted 1 /
// not counted 2); the mask in the state is exactly the consensus rule's aggregated set (the kept
// clusters' representatives; nobody when fewer than 2f + 3 slots are valid, max(3, 2f + 1) by the
// owner's reference); the scores are the
// rule's (each member's share of its kept cluster's value, < 2^64; 0 for every other slot): by the
// owner's reference when it counts (aligned candidates, each kept cluster's clipped, delta-capped
// alignment <u_k, v>: the additive game's Shapley value), by consensus otherwise (the clipped alignment with the other kept
// clusters); the outcome words.
// Reference: `consensusDecision` in packages/core/src/consensus.ts (the rule, step by step, and
// `consensusHints`, the hints it is checked with; no sorting or search in the circuit).
//
// Bit widths: the decision checks counter < 2^32, so every Gram entry, alignment and |v|^2 is a
// sum of fewer than 2^32 * CHUNK products of B-bit values: each is below 2^DB in size with
// DB = 32 + ceil(log2 CHUNK) + 2B (config.ts `decisionBounds`, the rule's GB). All comparisons are range checks of differences of
// such bounded integers, far below the field size (the widest, the consensus test, is checked
// against 252 bits by the templates and by `validateConfig`).
template Decision(K_MAX, CHUNK, B, BG) {
    var KK = K_MAX * (K_MAX + 1) \ 2;
    var W = (K_MAX + 2) \ 3;
    var DB = 32 + clog2(CHUNK) + 2 * B;

    // ---- public inputs ----
    // Round context: keccak-derived binding in bits 40..247, the model size D in bits 8..39, f (tolerated
    // Byzantine trainers) in bits 0..7.
    signal input ctx;
    // Commitment of the previous global model (recorded on chain).
    signal input prevModel;
    // Commitment of the new global model.
    signal input newModel;
    // Accumulator after the last chunk proof.
    signal input accFinal;
    // The aggregator's registered BabyJubJub seal key A = secret * Base8 (the contract passes it).
    signal input sealKey[2];
    // The owner's reference commitment when the round's reference counts on chain (committed,
    // published, not left flagged), else 0 (the contract passes it; core reference.ts).
    signal input reference;
    // Update commitment of every slot, 0 for an empty slot (also a slot flagged unavailable on chain
    // and not answered in time: the contract passes 0 for it).
    signal input commitments[K_MAX];
    // Outcome words: slot 3w+i at bit 66i as status | score << 2.
    signal input outcome[W];

    // ---- private inputs: the final accumulator state ----
    // Number of chunks absorbed.
    signal input counter;
    // Aggregation mask used by every chunk proof.
    signal input mask;
    // Decoded mask used by every chunk proof.
    signal input decoded;
    // hashMany of the shared keys every chunk proof decrypted with.
    signal input keysHash;
    // The model size D the chunk proofs used (must be ctx's).
    signal input size;
    // Proven-malformed mask: bit k set when a chunk proof showed a plaintext element of slot k
    // (decrypted with the slot's key) out of range.
    signal input malformed;
    // Chain of the previous model and its step (the model commitment, core commit.ts).
    signal input prevModelChain;
    // Chain of the new model and this round's step.
    signal input newModelChain;
    // Chain of the reference v over its packed chunks.
    signal input referenceChain;
    // |v|^2 over the model's parameters.
    signal input referenceNorm;
    // |Delta|^2, <Delta, v> and every <u_k, Delta> over the model's parameters, Delta the last global
    // delta (the step committed with prevModel): the rule's delta cap (by the reference) reads them.
    signal input deltaNorm;
    signal input deltaReference;
    signal input deltaAlignment[K_MAX];
    // Trainer chains x[k][C] over the ciphertext chunks.
    signal input trainerChains[K_MAX];
    // Gram matrix, upper triangle, row-major (signed values as field elements).
    signal input gram[KK];
    // Alignments <u_k, v> (signed values as field elements).
    signal input alignment[K_MAX];

    // ---- private inputs: openings and hints ----
    // The aggregator's secret scalar.
    signal input secret;
    // Every slot's committed ephemeral key E[k] (ignored for empty slots).
    signal input ephemeral[K_MAX][2];
    // The reference's salt (ignored when reference = 0).
    signal input referenceSalt;
    // Hints of the consensus rule (ConsensusRule in consensus.circom, `consensusHints` in
    // packages/core/src/consensus.ts): the clusters' labels, BFS parents and depths, the median
    // slot, the clip factors, the delta cap's roots, median, deductions and remainders, the top
    // cap's roots, pivot, deductions and remainders, the factor of the top cap's redistribution
    // with its remainder and each uncapped player's quotient and remainder, and the quotients and
    // remainders of the scores' shift and split.
    signal input labelOf[K_MAX][K_MAX];
    signal input parentOf[K_MAX][K_MAX];
    signal input depth[K_MAX];
    signal input medianSlot[K_MAX];
    signal input sigmaHint[K_MAX];
    signal input deltaRootHint[K_MAX];
    signal input deltaMedianHint[K_MAX];
    signal input deltaDeductionHint[K_MAX];
    signal input deltaRemainderHint[K_MAX];
    signal input topRootHint[K_MAX];
    signal input topPivotHint[K_MAX];
    signal input topDeductionHint[K_MAX];
    signal input topRemainderHint[K_MAX];
    signal input uncappedFactor;
    signal input uncappedFactorRemainder;
    signal input uncappedQuotient[K_MAX];
    signal input uncappedRemainder[K_MAX];
    signal input shiftQuotient[K_MAX];
    signal input shiftRemainder[K_MAX];
    signal input splitQuotient[K_MAX];
    signal input splitRemainder[K_MAX];

    // ---- 1. the state opens accFinal and holds the model chains ----
    // Hash of the final state.
    component stateHash = StateHash(K_MAX);
    stateHash.counter <== counter;
    stateHash.mask <== mask;
    stateHash.decoded <== decoded;
    stateHash.keysHash <== keysHash;
    stateHash.size <== size;
    stateHash.malformed <== malformed;
    stateHash.prevModelChain <== prevModelChain;
    stateHash.newModelChain <== newModelChain;
    stateHash.referenceChain <== referenceChain;
    stateHash.referenceNorm <== referenceNorm;
    stateHash.trainerChains <== trainerChains;
    stateHash.gram <== gram;
    stateHash.alignment <== alignment;
    stateHash.deltaNorm <== deltaNorm;
    stateHash.deltaReference <== deltaReference;
    stateHash.deltaAlignment <== deltaAlignment;
    accFinal === stateHash.out;
    prevModel === prevModelChain;
    newModel === newModelChain;
    // counter < 2^32 bounds every Gram entry (see the header).
    component counterRange = RangeCheck(32);
    counterRange.in <== counter;

    // ---- 2. f and D from ctx ----
    // ctx < 2^248; its low 8 bits are f, the next 32 bits D.
    component ctxBits = Num2Bits(248);
    ctxBits.in <== ctx;
    var f = 0;
    for (var i = 0; i < 8; i++) {
        f += ctxBits.out[i] * (1 << i);
    }
    // Bits 8..40 of ctx are the model size D (the contract's modelSize): the chunk proofs' size.
    var modelSize = 0;
    for (var i = 8; i < 40; i++) {
        modelSize += ctxBits.out[i] * (1 << (i - 8));
    }
    size === modelSize;
    // The chunk proofs covered exactly ceil(D / CHUNK) chunks: 0 <= counter * CHUNK - D < CHUNK
    // (counter < 2^32 and D < 2^32, so the difference cannot wrap unnoticed).
    component lastChunkLow = RangeCheck(64);
    lastChunkLow.in <== counter * CHUNK - size;
    component lastChunkHigh = RangeCheck(64);
    lastChunkHigh.in <== CHUNK - 1 - (counter * CHUNK - size);

    // ---- 3. the seal key and the shared keys ----
    // Bits of the secret scalar, shared by the public key and every shared key.
    signal secretBits[scalarBits()] <== Num2Bits(scalarBits())(secret);
    // The prover knows the secret of the registered key.
    signal derivedKey[2] <== PublicKey()(secretBits);
    sealKey[0] === derivedKey[0];
    sealKey[1] === derivedKey[1];
    // empty[k].out = 1 iff commitments[k] = 0.
    component empty[K_MAX];
    // available[k] = 1 iff slot k is non-empty (its commitment must open; no slot is left out on
    // the prover's word).
    signal available[K_MAX];
    // shared[k]: secret * (8 * E[k]) and whether E[k] is on the curve.
    component shared[K_MAX];
    // keyed[k] = available[k] * valid E[k]: the slot has a shared key.
    signal keyed[K_MAX];
    // usedKey[k] = keyed[k] * shared key: the key the chunk proofs decrypted with.
    signal usedKey[K_MAX][2];
    // Poseidon(x[k], E[k].x, E[k].y) for the opening check.
    component opening[K_MAX];
    // hashMany of the used keys = the state's keysHash.
    component keysHashed = HashMany(2 * K_MAX);
    for (var k = 0; k < K_MAX; k++) {
        empty[k] = IsZero();
        empty[k].in <== commitments[k];
        available[k] <== 1 - empty[k].out;
        shared[k] = SharedKey();
        shared[k].secretBits <== secretBits;
        shared[k].peer <== ephemeral[k];
        keyed[k] <== available[k] * shared[k].valid;
        usedKey[k][0] <== keyed[k] * shared[k].key[0];
        usedKey[k][1] <== keyed[k] * shared[k].key[1];
        keysHashed.in[2 * k] <== usedKey[k][0];
        keysHashed.in[2 * k + 1] <== usedKey[k][1];
        opening[k] = Poseidon(3);
        opening[k].inputs[0] <== trainerChains[k];
        opening[k].inputs[1] <== ephemeral[k][0];
        opening[k].inputs[2] <== ephemeral[k][1];
        (commitments[k] - opening[k].out) * available[k] === 0;
    }
    keysHash === keysHashed.out;

    // ---- 3b. the reference: a non-zero commitment opens over the state's reference chain ----
    // 1 iff no reference counts.
    component noReference = IsZero();
    noReference.in <== reference;
    // 1 iff the reference counts: the quorum (step 5) and the rule (step 6) judge by it.
    signal byReference <== 1 - noReference.out;
    // Poseidon(referenceChain, salt, 0): core `referenceCommitment`, a sealed update's shape.
    component referenceOpening = Poseidon(3);
    referenceOpening.inputs[0] <== referenceChain;
    referenceOpening.inputs[1] <== referenceSalt;
    referenceOpening.inputs[2] <== 0;
    (reference - referenceOpening.out) * (1 - noReference.out) === 0;

    // ---- 4. slot classification ----
    // Decoded bits: exactly the slots with a shared key whose plaintext was not proven malformed.
    component decodedBits = Num2Bits(K_MAX);
    decodedBits.in <== decoded;
    // Malformed bits (the chunk proofs' running OR; each chunk proof keeps it a K_MAX-bit mask).
    component malformedBits = Num2Bits(K_MAX);
    malformedBits.in <== malformed;
    // keyedMalformed[k] = keyed[k] * malformed[k]: a keyed slot the chunk proofs showed malformed.
    signal keyedMalformed[K_MAX];
    // sameCommitment[k][l].out = 1 iff commitments[k] = commitments[l] (k < l).
    component sameCommitment[K_MAX][K_MAX];
    // hasTwin[k].out = 1 iff no other slot has the same commitment (IsZero of the count).
    component hasTwin[K_MAX];
    // duplicate[k] = 1 iff slot k is non-empty and another slot holds the same commitment.
    signal duplicate[K_MAX];
    // excluded[k] = 1 iff slot k is non-empty and not decoded (a key off the curve, or a plaintext
    // proven not to unpack).
    signal excluded[K_MAX];
    // valid[k] = 1 iff slot k is valid (decoded and not duplicated): the slots the rule considers.
    signal valid[K_MAX];
    for (var k = 0; k < K_MAX; k++) {
        for (var l = k + 1; l < K_MAX; l++) {
            sameCommitment[k][l] = IsEqual();
            sameCommitment[k][l].in[0] <== commitments[k];
            sameCommitment[k][l].in[1] <== commitments[l];
        }
    }
    var n = 0;
    for (var k = 0; k < K_MAX; k++) {
        var twins = 0;
        for (var l = 0; l < K_MAX; l++) {
            if (l < k) {
                twins += sameCommitment[l][k].out;
            }
            if (l > k) {
                twins += sameCommitment[k][l].out;
            }
        }
        hasTwin[k] = IsZero();
        hasTwin[k].in <== twins;
        duplicate[k] <== (1 - hasTwin[k].out) * (1 - empty[k].out);
        // Not decoded is never the aggregator's choice for a keyed slot: it needs a malformation
        // proof (and a decoded slot's plaintext unpacks in every chunk, so it cannot have one).
        keyedMalformed[k] <== keyed[k] * malformedBits.out[k];
        decodedBits.out[k] === keyed[k] - keyedMalformed[k];
        excluded[k] <== (1 - empty[k].out) - decodedBits.out[k];
        valid[k] <== decodedBits.out[k] * (1 - duplicate[k]);
        n += valid[k];
    }

    // ---- 5. the quorum: active = (n >= q), q = 2f + 3 by consensus, max(3, 2f + 1) by the reference ----
    // (core consensusQuorum / roundQuorum: the reference needs an honest majority only.)
    // n < q (n <= 64, q <= 513: 10 bits suffice).
    component fIsZero = IsZero();
    fIsZero.in <== f;
    // 2f + 3 - 2 * byReference * (1 - [f = 0]): by the reference 2f + 1, or 3 when f = 0.
    signal quorumCut;
    quorumCut <== byReference * (1 - fIsZero.out);
    component tooFew = LessThan(10);
    tooFew.in[0] <== n;
    tooFew.in[1] <== 2 * f + 3 - 2 * quorumCut;

    // ---- 6. the consensus rule on the valid slots' Gram matrix ----
    // Counted slots, the aggregated representatives and the scores (< 2^64), every step proven
    // from the hints (circuits/consensus.circom).
    component rule = ConsensusRule(K_MAX, consensusClipBits(), DB);
    rule.gram <== gram;
    rule.valid <== valid;
    rule.active <== 1 - tooFew.out;
    // By the owner's reference whenever it counts (its commitment opened in 3b).
    rule.byReference <== byReference;
    rule.alignment <== alignment;
    rule.referenceNorm <== referenceNorm;
    rule.deltaAlignment <== deltaAlignment;
    rule.deltaNorm <== deltaNorm;
    rule.deltaReference <== deltaReference;
    rule.deltaRootHint <== deltaRootHint;
    rule.deltaMedianHint <== deltaMedianHint;
    rule.deltaDeductionHint <== deltaDeductionHint;
    rule.deltaRemainderHint <== deltaRemainderHint;
    rule.f <== f;
    rule.topRootHint <== topRootHint;
    rule.topPivotHint <== topPivotHint;
    rule.topDeductionHint <== topDeductionHint;
    rule.topRemainderHint <== topRemainderHint;
    rule.uncappedFactor <== uncappedFactor;
    rule.uncappedFactorRemainder <== uncappedFactorRemainder;
    rule.uncappedQuotient <== uncappedQuotient;
    rule.uncappedRemainder <== uncappedRemainder;
    rule.size <== size;
    rule.labelOf <== labelOf;
    rule.parentOf <== parentOf;
    rule.depth <== depth;
    rule.medianSlot <== medianSlot;
    rule.sigmaHint <== sigmaHint;
    rule.shiftQuotient <== shiftQuotient;
    rule.shiftRemainder <== shiftRemainder;
    rule.splitQuotient <== splitQuotient;
    rule.splitRemainder <== splitRemainder;

    // ---- 7. the mask in the state is exactly the aggregated set ----
    // Mask bits (the decomposition also bounds the mask to K_MAX bits).
    component maskBits = Num2Bits(K_MAX);
    maskBits.in <== mask;
    for (var k = 0; k < K_MAX; k++) {
        maskBits.out[k] === rule.aggregated[k];
    }

    // ---- 8. statuses and outcome words ----
    // dupOpened[k] = decoded[k] * duplicate[k] (status 2 for a duplicate).
    signal dupOpened[K_MAX];
    for (var k = 0; k < K_MAX; k++) {
        dupOpened[k] <== decodedBits.out[k] * duplicate[k];
    }
    for (var w = 0; w < W; w++) {
        var word = 0;
        for (var i = 0; i < 3; i++) {
            var k = 3 * w + i;
            if (k < K_MAX) {
                // empty 0; excluded 3; duplicate 2; valid: counted 1, else 2.
                var status = 3 * excluded[k] + 2 * dupOpened[k] + 2 * valid[k] - rule.counted[k];
                word += (status + 4 * rule.score[k]) * (1 << (66 * i));
            }
        }
        outcome[w] === word;
    }
}
