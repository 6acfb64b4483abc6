pragma circom 2.1.0;

include "./lib.circom";
include "./cipher/cipher.circom";
include "./malformed.circom";
include "./inner.circom";

// One chunk proof (docs/PROOF-INTERFACE.md, "Chunk proof"): advances the round accumulator by
// one chunk of CHUNK model parameters for K_MAX trainer slots. Public inputs: [accIn, accOut].
//
// Proves, for this chunk: every slot's committed ciphertext chunk extends its trainer chain and
// decrypts under the slot's shared key (bound by the state's keysHash) at chunk index `counter`;
// the plaintext of every decoded slot unpacks within range (the others count as zeros); a slot may
// be marked malformed (the state's running mask) only with one plaintext element of this chunk
// proven out of range (malformed.circom); values past the model size D (the last chunk's padding)
// count as zeros; both model chains grow; the Gram matrix grows by the chunk's inner products
// (every inner product of the chunk is claimed by the prover and checked at one random point);
// the owner's reference chunk v (packed like a plaintext at B bits) unpacks from its elements' low bits, extends
// the reference chain, every slot's alignment grows by <u_k, v> and |v|^2 by the chunk's in-model v[x]^2;
// g'[x] = g[x] + floor(S[x] / n) with S the masked sum of the updates and n the mask's popcount
// (g' = g when n = 0), added to the packed model: the model is never unpacked, its range is the
// project's headroom rule (see step 5); the model chains hash each model chunk with its step (core
// `modelChunkHash`): g with the step committed with it, the last global delta Delta, unpacked at B
// bits so that every slot's <u_k, Delta>, |Delta|^2 and <Delta, v> grow; g' with this round's step
// floor(S / n), packed at B bits, which the next round reads as its Delta.
// Reference: `chunkStep` in packages/core/src/accumulator.ts.
//
// Constraint budget per parameter: K_MAX * B (update unpacking) + K_MAX (masked sum)
// + K_MAX + 2 (every inner product of the K_MAX + 2 vectors u_k, v, Delta, checked at one random
// point: InnerProductCheck, inner.circom) + 2 (v and Delta masked to the model) + B (quotient range)
// + 1 (division) + 2 ceil(log2 K_MAX) (remainder range) + B (Delta's unpacking)
// + Poseidon over packed elements (~40 per element; the two steps' elements too)
// + decryption (one width-10 Poseidon permutation per 9 packed elements, ~44 per element)
// + the reference's unpacking (a 253-bit decomposition per packed element, 253 / P per parameter)
// + its hashNarrow (~40 / P per parameter)
// + K_MAX * ~530 / CHUNK (one malformation claim per slot and chunk: a strict 254-bit decomposition)
// + K_MAX + 2 (padding: the masked values and the unary in-model mask) + ~40 / CHUNK (its count)
// + ~(K_MAX + 2)^2 / CHUNK (the check's pair weights) + ~240 / CHUNK (its challenge, Poseidon(accIn, accOut)).
template Chunk(K_MAX, CHUNK, B, BG) {
    var KK = K_MAX * (K_MAX + 1) \ 2;
    var L = stateLength(K_MAX);
    var NP = packedLength(CHUNK, B);
    var NPG = packedLength(CHUNK, BG);
    var PG = valuesPerElement(BG);
    var P = valuesPerElement(B);
    var LB = clog2(K_MAX) > 0 ? clog2(K_MAX) : 1;
    var OFF = 1 << (B - 1);

    // ---- public inputs ----
    // Accumulator before this chunk: 0 for the canonical initial state, else the state's hash.
    signal input accIn;
    // Accumulator after this chunk: the hash of the output state.
    signal input accOut;

    // ---- private inputs: the input state (accumulator.ts field order) ----
    // Chunks absorbed before this one.
    signal input counter;
    // Aggregation mask, bit k set when slot k is aggregated (fixed for the whole round).
    signal input mask;
    // Decoded mask, bit k set when slot k's plaintext is used (fixed for the whole round).
    signal input decoded;
    // hashMany of the slots' shared keys (fixed for the whole round).
    signal input keysHash;
    // The model size D (fixed for the round; the decision proof checks it against ctx).
    signal input size;
    // Proven-malformed mask: bit k set once some chunk proof showed slot k's plaintext out of range.
    signal input malformed;
    // Chain of the previous model g over the absorbed chunks.
    signal input prevModelChain;
    // Chain of the new model g' over the absorbed chunks.
    signal input newModelChain;
    // Chain of the owner's reference v over the absorbed chunks.
    signal input referenceChain;
    // |v|^2 over the absorbed chunks' model parameters.
    signal input referenceNorm;
    // |Delta|^2 over the absorbed chunks' model parameters.
    signal input deltaNorm;
    // <Delta, v> over the absorbed chunks' model parameters (signed, as a field element).
    signal input deltaReference;
    // Trainer chains x[k] over the absorbed ciphertext chunks.
    signal input trainerChains[K_MAX];
    // Running Gram matrix (upper triangle, row-major; signed values as field elements).
    signal input gram[KK];
    // Running alignments <u_k, v> (signed values as field elements).
    signal input alignment[K_MAX];
    // Running <u_k, Delta> (signed values as field elements).
    signal input deltaAlignment[K_MAX];

    // ---- private inputs: this chunk's data ----
    // Slot k's committed ciphertext chunk: its packed plaintext elements (B-bit offset-encoded
    // values, P = floor(252 / B) per element) plus the keystream.
    signal input ciphers[K_MAX][NP];
    // Slot k's shared key (the zero point for slots without one).
    signal input keys[K_MAX][2];
    // The previous model's chunk, packed (BG-bit offset-encoded values).
    signal input prevModel[NPG];
    // The chunk of the step committed with the previous model (the last global delta Delta), packed
    // like a plaintext (B-bit offset-encoded values): what the previous round's proof packed.
    signal input prevStep[NP];
    // The owner's reference chunk, packed like a plaintext (B-bit offset-encoded values); the
    // packed zero vector when no reference counts (the decision proof then ignores it).
    signal input reference[NP];
    // Slot k's optional malformation claim: one-hot over NP + 1 positions, position e < NP claims
    // plaintext element e out of range, position NP claims nothing (SelectMalformed).
    signal input malformedSelect[K_MAX][NP + 1];

    // ---- 1. open the input state ----
    // 1 iff accIn = 0, i.e. the input state must be the canonical initial state.
    component isInit = IsZero();
    isInit.in <== accIn;
    // Canonical initial state: everything but the round constants (mask, decoded, keysHash) is zero.
    isInit.out * counter === 0;
    isInit.out * malformed === 0;
    isInit.out * prevModelChain === 0;
    isInit.out * newModelChain === 0;
    isInit.out * referenceChain === 0;
    isInit.out * referenceNorm === 0;
    isInit.out * deltaNorm === 0;
    isInit.out * deltaReference === 0;
    for (var k = 0; k < K_MAX; k++) {
        isInit.out * trainerChains[k] === 0;
        isInit.out * alignment[k] === 0;
        isInit.out * deltaAlignment[k] === 0;
    }
    for (var i = 0; i < KK; i++) {
        isInit.out * gram[i] === 0;
    }
    // Hash of the input state.
    component hashIn = StateHash(K_MAX);
    hashIn.counter <== counter;
    hashIn.mask <== mask;
    hashIn.decoded <== decoded;
    hashIn.keysHash <== keysHash;
    hashIn.size <== size;
    hashIn.malformed <== malformed;
    hashIn.prevModelChain <== prevModelChain;
    hashIn.newModelChain <== newModelChain;
    hashIn.referenceChain <== referenceChain;
    hashIn.referenceNorm <== referenceNorm;
    hashIn.deltaNorm <== deltaNorm;
    hashIn.deltaReference <== deltaReference;
    hashIn.trainerChains <== trainerChains;
    hashIn.gram <== gram;
    hashIn.alignment <== alignment;
    hashIn.deltaAlignment <== deltaAlignment;
    // Otherwise accIn is the hash of the input state.
    accIn === hashIn.out * (1 - isInit.out);

    // ---- 2. the mask and the aggregation count n ----
    // Mask bits: the mask is a K_MAX-bit number.
    component maskBits = Num2Bits(K_MAX);
    maskBits.in <== mask;
    var popcount = 0;
    for (var k = 0; k < K_MAX; k++) {
        popcount += maskBits.out[k];
    }
    // 1 iff no slot is aggregated.
    component noneAggregated = IsZero();
    noneAggregated.in <== popcount;
    // Divisor: n, or 1 when n = 0 (then S = 0 and the quotient is forced to 0).
    signal divisor;
    divisor <== popcount + noneAggregated.out;

    // ---- 3. updates: hash the ciphertext into the trainer chains, decrypt, unpack the decoded ----
    // The keys are the ones the decision proof derived: hashMany of their coordinates.
    component keysHashed = HashMany(2 * K_MAX);
    for (var k = 0; k < K_MAX; k++) {
        keysHashed.in[2 * k] <== keys[k][0];
        keysHashed.in[2 * k + 1] <== keys[k][1];
    }
    keysHash === keysHashed.out;
    // Decoded bits: the decoded mask is a K_MAX-bit number.
    component decodedBits = Num2Bits(K_MAX);
    decodedBits.in <== decoded;
    // Decrypted packed plaintext of every slot (chunk index = counter).
    component plain[K_MAX];
    // decodedPlain[k][e] = decoded_k * plain[k][e]: a slot that is not decoded unpacks as zeros.
    signal decodedPlain[K_MAX][NP];
    // Unpacked update values of every slot (offset-encoded; 2^(B-1) encodes 0).
    component updateValues[K_MAX];
    // Slot k's malformation claim in this chunk (claimed = 1: an element is proven out of range).
    component claims[K_MAX];
    // Chunk hash of every slot's ciphertext.
    component updateHash[K_MAX];
    // Next trainer chain value x[k][j+1] = Poseidon(x[k][j], hashNarrow(cipher[k][j])).
    component trainerNext[K_MAX];
    for (var k = 0; k < K_MAX; k++) {
        plain[k] = DecryptChunk(NP);
        plain[k].cipher <== ciphers[k];
        plain[k].key <== keys[k];
        plain[k].chunkIndex <== counter;
        updateValues[k] = UnpackEncoded(CHUNK, B);
        for (var e = 0; e < NP; e++) {
            // A slot that is not decoded unpacks the packed encoding of all-zero values (offset 2^(B-1) each).
            decodedPlain[k][e] <== decodedBits.out[k] * (plain[k].plain[e] - zeroPacked(CHUNK, B, e)) + zeroPacked(CHUNK, B, e);
            updateValues[k].packed[e] <== decodedPlain[k][e];
        }
        claims[k] = SelectMalformed(CHUNK, B);
        claims[k].elements <== plain[k].plain;
        claims[k].select <== malformedSelect[k];
        updateHash[k] = HashNarrow(NP);
        updateHash[k].in <== ciphers[k];
        trainerNext[k] = Poseidon(2);
        trainerNext[k].inputs[0] <== trainerChains[k];
        trainerNext[k].inputs[1] <== updateHash[k].out;
    }

    // The malformed mask grows by this chunk's claims: bit k of the output is m_k OR claimed_k.
    component malformedBits = Num2Bits(K_MAX);
    malformedBits.in <== malformed;
    // malformedAnd[k] = m_k * claimed_k, for the OR m + c - m c.
    signal malformedAnd[K_MAX];
    var malformedNext = 0;
    for (var k = 0; k < K_MAX; k++) {
        malformedAnd[k] <== malformedBits.out[k] * claims[k].claimed;
        malformedNext += (malformedBits.out[k] + claims[k].claimed - malformedAnd[k]) * (1 << k);
    }

    // ---- 3b. which values are model parameters: the first min(CHUNK, D - counter * CHUNK) ----
    // The rest is the last chunk's zero padding; whatever a trainer put there counts as zero, so it
    // cannot move a distance, a score or the sum. D < 2^32 (decision proof) and counter < 2^32.
    // rest = D - counter * CHUNK, the parameters from this chunk on (>= 1 for every chunk of the model).
    signal rest <== size - counter * CHUNK;
    // Hint: 1 when rest >= CHUNK (a full chunk). Both branches are checked below.
    signal full;
    full <-- rest >= CHUNK ? 1 : 0;
    full * (full - 1) === 0;
    // full: rest - CHUNK >= 0; not full: rest - 1 >= 0 (no chunk starts at or past D). Both < 2^32.
    component restLow = RangeCheck(32);
    restLow.in <== rest - 1 - full * (CHUNK - 1);
    // not full: CHUNK - rest >= 0 (a wrapped negative difference fails the range check).
    signal headroom <== (1 - full) * (CHUNK - rest);
    component restHigh = RangeCheck(clog2(CHUNK) + 1);
    restHigh.in <== headroom;
    // validCount = CHUNK for a full chunk, rest otherwise: in [1, CHUNK].
    signal validCount <== rest + full * (CHUNK - rest);
    // inModel[x] = 1 iff x < validCount: booleans, non-increasing, summing to validCount.
    signal inModel[CHUNK];
    var inModelSum = 0;
    for (var x = 0; x < CHUNK; x++) {
        inModel[x] <-- x < validCount ? 1 : 0;
        inModel[x] * (inModel[x] - 1) === 0;
        if (x > 0) {
            inModel[x] * (1 - inModel[x - 1]) === 0;
        }
        inModelSum += inModel[x];
    }
    inModelSum === validCount;
    // used[k][x] = inModel[x] * u_k[x]: the signed update values that count (0 in the padding).
    signal used[K_MAX][CHUNK];
    for (var k = 0; k < K_MAX; k++) {
        for (var x = 0; x < CHUNK; x++) {
            used[k][x] <== inModel[x] * (updateValues[k].enc[x] - OFF);
        }
    }

    // ---- 4b. the reference: unpack v, extend its chain (its inner products: step 4d) ----
    // Unpacked reference values: the low bits of each packed element below 2^253, whatever else it
    // holds. Not UnpackEncoded's range check: a reference answered on chain has to open its
    // commitment and keep every element below 2^253 (FedMarketAnswers), nothing more, and an owner
    // who committed an element with other high bits set must not be able to make the round
    // unprovable (it would fail the aggregator's round). Values in the padding meet
    // used[k][x] = 0, so they change nothing.
    component referenceValues = UnpackLow(CHUNK, B);
    referenceValues.packed <== reference;
    // Chunk hash of the packed reference, as a trainer chain hashes its ciphertext.
    component referenceHash = HashNarrow(NP);
    referenceHash.in <== reference;
    // Next reference chain value: Poseidon(chain, hashNarrow(reference chunk)).
    component referenceNext = Poseidon(2);
    referenceNext.inputs[0] <== referenceChain;
    referenceNext.inputs[1] <== referenceHash.out;
    // vUsed[x] = inModel[x] * v[x]: the padding of v is the owner's to fill and must not count.
    signal vUsed[CHUNK];
    for (var x = 0; x < CHUNK; x++) {
        vUsed[x] <== inModel[x] * (referenceValues.enc[x] - OFF);
    }

    // ---- 4c. the last global delta: unpack Delta (its inner products: step 4d) ----
    // Delta's values, range-checked at B bits: the previous round's proof packed its quotients so
    // (step 5), and an initial model's commitment holds zeros (the owner's CLI, the aggregator's
    // accept and the audit compute it; a commitment that holds no B-bit packing makes only that
    // owner's rounds unprovable, as a model outside its headroom does).
    component deltaValues = UnpackEncoded(CHUNK, B);
    deltaValues.packed <== prevStep;
    // deltaUsed[x] = inModel[x] * Delta[x]: the padding of an initial commitment is the owner's to fill.
    signal deltaUsed[CHUNK];
    for (var x = 0; x < CHUNK; x++) {
        deltaUsed[x] <== inModel[x] * (deltaValues.enc[x] - OFF);
    }

    // ---- 4d. the chunk's inner products: Gram, <u_k, v>, <u_k, Delta>, |v|^2, |Delta|^2, <Delta, v> ----
    // All are inner products among NV = K_MAX + 2 in-model vectors, vector k < K_MAX being slot k's
    // values, K_MAX v and K_MAX + 1 Delta (u_k is zero in the padding, so <u_k, v> = <u_k, vUsed>).
    // The prover supplies them (InnerProductHints); InnerProductCheck proves them all at once at a
    // challenge drawn from accIn and accOut (step 7), whose output state holds the claimed sums and
    // commits to every vector: NV products per parameter instead of one per pair.
    var NV = K_MAX + 2;
    // vectors[i] = the i-th of the NV vectors (a renaming: no constraint survives --O2).
    signal vectors[NV][CHUNK];
    for (var x = 0; x < CHUNK; x++) {
        for (var k = 0; k < K_MAX; k++) {
            vectors[k][x] <== used[k][x];
        }
        vectors[K_MAX][x] <== vUsed[x];
        vectors[K_MAX + 1][x] <== deltaUsed[x];
    }
    component inner = InnerProductHints(NV, CHUNK);
    inner.w <== vectors;
    // Output Gram entries.
    signal gramOut[KK];
    for (var i = 0; i < K_MAX; i++) {
        for (var j = i; j < K_MAX; j++) {
            gramOut[gramIndex(i, j, K_MAX)] <== gram[gramIndex(i, j, K_MAX)] + inner.d[gramIndex(i, j, NV)];
        }
    }
    // Output alignments <u_k, v> and <u_k, Delta>.
    signal alignmentOut[K_MAX];
    signal deltaAlignmentOut[K_MAX];
    for (var k = 0; k < K_MAX; k++) {
        alignmentOut[k] <== alignment[k] + inner.d[gramIndex(k, K_MAX, NV)];
        deltaAlignmentOut[k] <== deltaAlignment[k] + inner.d[gramIndex(k, K_MAX + 1, NV)];
    }
    // Output |v|^2, |Delta|^2 and <Delta, v>.
    signal referenceNormOut <== referenceNorm + inner.d[gramIndex(K_MAX, K_MAX, NV)];
    signal deltaNormOut <== deltaNorm + inner.d[gramIndex(K_MAX + 1, K_MAX + 1, NV)];
    signal deltaReferenceOut <== deltaReference + inner.d[gramIndex(K_MAX, K_MAX + 1, NV)];

    // ---- 5. masked sum S[x] and the new model g'[x] = g[x] + floor(S[x] / n) ----
    // masked[k][x] = mask_k * u_k[x].
    signal masked[K_MAX][CHUNK];
    // quotient[x] = floor(S[x] / divisor), the mean step of parameter x.
    signal quotient[CHUNK];
    // remainder[x] = S[x] - quotient[x] * divisor, proven in [0, divisor).
    signal remainder[CHUNK];
    // Bits of remainder[x] (remainder >= 0).
    component remainderLow[CHUNK];
    // Bits of divisor - 1 - remainder[x] (remainder < divisor).
    component remainderHigh[CHUNK];
    // Bits of quotient[x] + 2^(B-1): the quotient is a B-bit value, as the floor of a mean of B-bit
    // values is. With it every term of quotient * divisor + remainder = S is far below the field
    // size, so the division is exact over the integers.
    component quotientBits[CHUNK];
    for (var x = 0; x < CHUNK; x++) {
        var s = 0;
        for (var k = 0; k < K_MAX; k++) {
            masked[k][x] <== maskBits.out[k] * used[k][x];
            s += masked[k][x];
        }
        // Witness: shift S by divisor * 2^(B-1) >= -S to divide a non-negative integer.
        var shifted = s + divisor * OFF;
        quotient[x] <-- shifted \ divisor - OFF;
        remainder[x] <-- shifted % divisor;
        quotient[x] * divisor + remainder[x] === s;
        remainderLow[x] = Num2Bits(LB);
        remainderLow[x].in <== remainder[x];
        remainderHigh[x] = Num2Bits(LB);
        remainderHigh[x].in <== divisor - 1 - remainder[x];
        quotientBits[x] = Num2Bits(B);
        quotientBits[x].in <== quotient[x] + OFF;
    }
    // The new model, packed: g' = g + quotient value by value, added to the packed previous model
    // without unpacking it. Offset encoding is kept (enc' = enc + quotient), and no value carries
    // into its neighbour because every g' fits BG bits: the model's headroom (core config.ts
    // `maxRounds`, docs/PROOF-INTERFACE.md "Model headroom") bounds the initial model to BG - 1
    // signed bits and the rounds to 2^(BG-B-1), each moving a value by at most 2^(B-1).
    signal newPacked[NPG];
    for (var e = 0; e < NPG; e++) {
        var slots = minOf(PG, CHUNK - e * PG);
        var step = 0;
        for (var p = 0; p < slots; p++) {
            step += quotient[e * PG + p] * (1 << (p * BG));
        }
        newPacked[e] <== prevModel[e] + step;
    }

    // This round's step, packed at B bits like a plaintext: value p of element e is quotient + 2^(B-1)
    // at bit p * B (in range by quotientBits), the layout the next round's prevStep unpacks.
    signal stepPacked[NP];
    for (var e = 0; e < NP; e++) {
        var slots = minOf(P, CHUNK - e * P);
        var packedStep = 0;
        for (var p = 0; p < slots; p++) {
            packedStep += (quotient[e * P + p] + OFF) * (1 << (p * B));
        }
        stepPacked[e] <== packedStep;
    }

    // ---- 6. model chains ----
    // Chunk hash of the previous model with its step: hashMany(prevModel ++ prevStep).
    component prevHash = HashMany(NPG + NP);
    // Chunk hash of the new model with this round's step.
    component newHash = HashMany(NPG + NP);
    for (var e = 0; e < NPG; e++) {
        prevHash.in[e] <== prevModel[e];
        newHash.in[e] <== newPacked[e];
    }
    for (var e = 0; e < NP; e++) {
        prevHash.in[NPG + e] <== prevStep[e];
        newHash.in[NPG + e] <== stepPacked[e];
    }
    // m[j+1] = Poseidon(m[j], hm[j]) for the previous model.
    component prevNext = Poseidon(2);
    prevNext.inputs[0] <== prevModelChain;
    prevNext.inputs[1] <== prevHash.out;
    // m'[j+1] = Poseidon(m'[j], hm'[j]) for the new model.
    component newNext = Poseidon(2);
    newNext.inputs[0] <== newModelChain;
    newNext.inputs[1] <== newHash.out;

    // ---- 7. the output state opens accOut ----
    // Hash of the output state.
    component hashOut = StateHash(K_MAX);
    hashOut.counter <== counter + 1;
    hashOut.mask <== mask;
    hashOut.decoded <== decoded;
    hashOut.keysHash <== keysHash;
    hashOut.size <== size;
    hashOut.malformed <== malformedNext;
    hashOut.prevModelChain <== prevNext.out;
    hashOut.newModelChain <== newNext.out;
    hashOut.referenceChain <== referenceNext.out;
    hashOut.referenceNorm <== referenceNormOut;
    hashOut.deltaNorm <== deltaNormOut;
    hashOut.deltaReference <== deltaReferenceOut;
    for (var k = 0; k < K_MAX; k++) {
        hashOut.trainerChains[k] <== trainerNext[k].out;
    }
    hashOut.gram <== gramOut;
    hashOut.alignment <== alignmentOut;
    hashOut.deltaAlignment <== deltaAlignmentOut;
    accOut === hashOut.out;

    // ---- 8. the inner products of step 4d, checked at a random point ----
    // The challenge hashes both accumulators: accIn fixes the input sums, accOut the claimed output
    // sums and (through the trainer, reference and model chains, keysHash, counter and size) every
    // vector they are claimed of, so no claim can be chosen after the challenge.
    component challenge = Poseidon(2);
    challenge.inputs[0] <== accIn;
    challenge.inputs[1] <== accOut;
    component innerCheck = InnerProductCheck(NV, CHUNK);
    innerCheck.w <== vectors;
    innerCheck.d <== inner.d;
    innerCheck.rho <== challenge.out;
}
