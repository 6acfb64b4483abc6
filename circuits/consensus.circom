pragma circom 2.1.0;

include "./lib.circom";

// Building blocks of the consensus rule (issue 12), which replaced Multi-Krum in the decision
// proof, in its two modes: by consensus (stage 1, no reference counts) and by the owner's reference
// (stage 2, the steps marked '). Reference: `consensusDecision` in packages/core/src/consensus.ts,
// whose header states the rule step by step; each template below checks one step, and
// ConsensusRule composes them for the decision proof (decision.circom).
//
// Signed values: Gram entries G_ij = <u_i, u_j> and alignments a_k = <u_k, v> are signed integers
// carried as field elements (a negative x is p - |x|). The caller guarantees |G_ij| < 2^GB,
// 0 <= G_ii < 2^GB, |a_k| < 2^GB and 0 <= |v|^2 < 2^GB (the decision proof bounds them through the
// state's counter, see decision.circom; GB = 55 in the production configuration). Every comparison
// below is a range check of a difference whose integer value is bounded well below the field size
// by these bounds, so no difference can wrap unnoticed.
//
// Constants: CONSENSUS_PARAMS in consensus.ts (dupNum / dupDen = 19 / 20, cap2 = 4,
// tauNum / tauDen = 3 / 100, marginSq = 16, referenceCap2 = 9, replayNum / replayDen = 99 / 100,
// veto = 1 / 10, topCap = 5 / 4);
// the clip bits F are a template parameter (16 in CONSENSUS_PARAMS).

// F, the clip factors' fixed-point bits (CONSENSUS_CLIP_BITS in packages/core/src/config.ts).
function consensusClipBits() {
    return 16;
}

// dupDen^2: the near-duplicate threshold compares dupDen^2 G_ij^2 with dupNum^2 G_ii G_jj.
function consensusDupDen2() {
    return 400;
}

// dupNum^2 (see consensusDupDen2).
function consensusDupNum2() {
    return 361;
}

// tauDen^2: the consensus test compares tauDen^2 dot_r^2 with tauNum^2 H_rr O_r.
function consensusTauDen2() {
    return 10000;
}

// tauNum^2 (see consensusTauDen2).
function consensusTauNum2() {
    return 9;
}

// Sign test of a bounded signed value: out = 1 iff d >= 0, for d in [-2^n, 2^n) (n <= 252).
// d + 2^n is decomposed into n + 1 bits: the decomposition exists only for d in that range (so a
// value outside it makes the witness unsatisfiable rather than giving a wrong answer) and is
// unique, and its top bit is 1 exactly when d + 2^n >= 2^n. The same check as circomlib's
// LessThan(n) on a difference, without requiring both operands to lie in [0, 2^n).
template NonNegative(n) {
    // The signed value (a field element standing for an integer in [-2^n, 2^n)).
    signal input d;
    // 1 iff d >= 0.
    signal output out;

    // n + 1 < 254 bits: the decomposition is unique (2^(n + 1) < p).
    assert(n <= 252);

    // Bits of d + 2^n, the range check and the sign at once.
    component bits = Num2Bits(n + 1);
    bits.in <== d + (1 << n);
    out <== bits.out[n];
}

// Step 2 of the rule, the near-duplicate test on every pair of slots: near[i][j] = 1 iff i != j,
// G_ij > 0 and dupDen^2 G_ij^2 >= dupNum^2 G_ii G_jj (cosine >= dupNum / dupDen; core `near` in
// consensusDecision). The replay screen (DeltaReplay) and the clusters (NearDuplicateLinks) both read
// it. Per pair i < j: one sign test of G_ij - 1 (GB + 1 bits) and one of the threshold difference
// (2 GB + 10 bits: dupDen^2 G_ij^2 and dupNum^2 G_ii G_jj are both in [0, 2^(2 GB + 9)) because
// 400 < 2^9).
template NearDuplicatePairs(K, GB) {
    var KK = K * (K + 1) \ 2;
    var TB = 2 * GB + 9;
    assert(TB <= 252);
    // Gram matrix, upper triangle, row-major (`gramIndex`); signed, |G_ij| < 2^GB, 0 <= G_ii < 2^GB.
    signal input gram[KK];
    // near[i][j] = 1 iff slots i and j are near-duplicates (symmetric, 0 on the diagonal).
    signal output near[K][K];

    // positive[i][j].out = 1 iff G_ij > 0 (sign of G_ij - 1, which lies in [-2^GB, 2^GB)).
    component positive[K][K];
    // square[i][j] = G_ij^2, in [0, 2^(2 GB)).
    signal square[K][K];
    // normProduct[i][j] = G_ii * G_jj, in [0, 2^(2 GB)).
    signal normProduct[K][K];
    // close[i][j].out = 1 iff dupDen^2 G_ij^2 - dupNum^2 G_ii G_jj >= 0 (in [-2^TB, 2^TB)).
    component close[K][K];
    for (var i = 0; i < K; i++) {
        near[i][i] <== 0;
        for (var j = i + 1; j < K; j++) {
            var g = gram[gramIndex(i, j, K)];
            positive[i][j] = NonNegative(GB);
            positive[i][j].d <== g - 1;
            square[i][j] <== g * g;
            normProduct[i][j] <== gram[gramIndex(i, i, K)] * gram[gramIndex(j, j, K)];
            close[i][j] = NonNegative(TB);
            close[i][j].d <== consensusDupDen2() * square[i][j] - consensusDupNum2() * normProduct[i][j];
            // The cosine is at least dupNum / dupDen.
            near[i][j] <== positive[i][j].out * close[i][j].out;
            near[j][i] <== near[i][j];
        }
    }
}

// Step 2 of the rule, the near-duplicate relation on the candidates: linked[i][j] = 1 iff both slots
// are candidates and near-duplicates (NearDuplicatePairs). `linked` of consensusDecision.
template NearDuplicateLinks(K) {
    // near[i][j] (NearDuplicatePairs: 0/1, symmetric, 0 on the diagonal).
    signal input near[K][K];
    // candidate[k] = 1 iff slot k is clustered (0/1, constrained by the caller).
    signal input candidate[K];
    // linked[i][j] = 1 iff i ~ j (symmetric, 0 on the diagonal).
    signal output linked[K][K];

    // bothCandidates[i][j] = candidate[i] * candidate[j] (i < j): only candidates are linked.
    signal bothCandidates[K][K];
    for (var i = 0; i < K; i++) {
        linked[i][i] <== 0;
        for (var j = i + 1; j < K; j++) {
            bothCandidates[i][j] <== candidate[i] * candidate[j];
            linked[i][j] <== bothCandidates[i][j] * near[i][j];
            linked[j][i] <== linked[i][j];
        }
    }
}

// Step 4 of the rule, the lower median of the candidates' squared norms, each cluster counted once
// per member: m2 = norm2[s] for the member s whose slots cover rank t = floor((N - 1) / 2) in the
// order of the key norm2[r] * K + r (N = sum of the weights, the number of candidates), 0 when
// inactive or without members. `medianSlot` / `medianNorm2` of consensusDecision. The quorum counts
// valid slots, so a round can be active with no member at all (every valid update zero): then no
// median is taken (the reference's medianSlot -1, medianNorm2 0).
// The keys of distinct slots are distinct integers (norm2[r] in [0, 2^GB), r < K), so the members
// are totally ordered; with `below` = the weight of the members before s, s covers rank t iff
// below <= t < below + w_s, i.e. (t an integer floor) N - 1 - 2 below >= 0 and
// 2 (below + w_s) - N >= 0. Both are integers in (-2K - 2, 2K + 2), range-checked to LOGK + 2 bits,
// and exactly one member satisfies them: the hint can select only it.
template LowerMedian(K, GB) {
    var LOGK = clog2(K);
    // Squared norms G_rr, each in [0, 2^GB) (guaranteed by the caller).
    signal input norm2[K];
    // member[r] = 1 iff slot r is a cluster representative (0/1, constrained by the caller).
    signal input member[K];
    // weight[r] = the number of slots member r stands for (its cluster's size, in [1, K]; 0 for
    // other slots; constrained by the caller).
    signal input weight[K];
    // 1 iff the quorum is met (0/1, constrained by the caller).
    signal input active;
    // Hint: one-hot flag of the median representative (all zero when inactive or without members).
    signal input medianSlot[K];
    // The lower median (0 when inactive or without members).
    signal output m2;

    // noMembers.out = 1 iff there is no member.
    component noMembers = IsZero();
    // on = active * (some member): a median is taken.
    signal on;

    // picked[r] = medianSlot[r] * norm2[r]: m2 is their sum.
    signal picked[K];
    // pickedWeight[r] = medianSlot[r] * weight[r]: the median member's weight is their sum.
    signal pickedWeight[K];
    // smaller[r].out = 1 iff key_r < key of the selected slot (sign of selectedKey - key_r - 1,
    // which lies in (-2^(GB + LOGK), 2^(GB + LOGK)) since every key is in [0, K 2^GB)).
    component smaller[K];
    // below[r] = weight[r] * smaller[r].out: slots ranked before the median (weight is 0 off members).
    signal below[K];
    // notPast / covers: on * (N - 1 - 2 below) and on * (2 (below + w_s) - N), both >= 0.
    signal notPast;
    signal covers;
    // notPastRange, coversRange: both in [0, 2^(LOGK + 2)).
    component notPastRange = RangeCheck(LOGK + 2);
    component coversRange = RangeCheck(LOGK + 2);

    var n = 0;
    var total = 0;
    for (var r = 0; r < K; r++) {
        n += member[r];
        total += weight[r];
    }
    noMembers.in <== n;
    on <== active * (1 - noMembers.out);
    var selectedCount = 0;
    var selectedSlot = 0;
    var sum = 0;
    var selectedWeight = 0;
    for (var r = 0; r < K; r++) {
        medianSlot[r] * (medianSlot[r] - 1) === 0;
        // Only a member can be the median.
        medianSlot[r] * (1 - member[r]) === 0;
        selectedCount += medianSlot[r];
        selectedSlot += medianSlot[r] * r;
        picked[r] <== medianSlot[r] * norm2[r];
        sum += picked[r];
        pickedWeight[r] <== medianSlot[r] * weight[r];
        selectedWeight += pickedWeight[r];
    }
    // Exactly one slot when a median is taken, none otherwise.
    selectedCount === on;
    m2 <== sum;
    // Key of the selected slot (0 when inactive).
    var selectedKey = m2 * K + selectedSlot;
    var count = 0;
    for (var r = 0; r < K; r++) {
        smaller[r] = NonNegative(GB + LOGK);
        smaller[r].d <== selectedKey - (norm2[r] * K + r) - 1;
        below[r] <== weight[r] * smaller[r].out;
        count += below[r];
    }
    notPast <== on * (total - 1 - 2 * count);
    notPastRange.in <== notPast;
    covers <== on * (2 * (count + selectedWeight) - total);
    coversRange.in <== covers;
}

// Step 5 of the rule, the clip factor of a capped representative:
// sigma = min(2^F, floor(2^F sqrt(m2 / g))), i.e. the largest integer sigma <= 2^F with
// sigma^2 g <= 2^(2F) m2 (`clipFactor`); sigma = 0 when off. Checked exactly as stated: when on,
// 0 <= sigma <= 2^F, sigma^2 g <= 2^(2F) m2, and sigma = 2^F or (sigma + 1)^2 g > 2^(2F) m2.
// With sigma <= 2^F and g, m2 in [0, 2^GB), both sides of each inequality lie in [0, 2^(2F + GB))
// (sigma + 1 <= 2^F whenever the second one is checked), so their differences cannot wrap.
template ClipFactor(F, GB) {
    var CB = 2 * F + GB;
    assert(CB <= 252);
    // The representative's squared norm G_rr, in (0, 2^GB) when on (guaranteed by the caller).
    signal input g;
    // The lower median M2, in [0, 2^GB).
    signal input m2;
    // 1 iff the slot is a capped representative (0/1, constrained by the caller).
    signal input on;
    // Hint: the prover's clip factor (`clipFactor(g, m2, F)` when on, 0 when off).
    signal input sigmaHint;
    // The clip factor, proven to be the one of the rule.
    signal output sigma;

    sigma <== sigmaHint;
    // Off: sigma = 0 (and then every check below holds trivially).
    (1 - on) * sigma === 0;
    // 0 <= sigma (F + 1 bits) and sigma <= 2^F.
    component low = RangeCheck(F + 1);
    low.in <== sigma;
    component high = RangeCheck(F + 1);
    high.in <== (1 << F) - sigma;
    // sg = sigma * g; lhs = sigma^2 g (< 2^CB).
    signal sg <== sigma * g;
    signal lhs <== sg * sigma;
    // The bound 2^(2F) m2.
    var bound = (1 << (2 * F)) * m2;
    // sigma^2 g <= 2^(2F) m2 (when off sigma = 0 and the difference is 2^(2F) m2 >= 0).
    component fits = RangeCheck(CB);
    fits.in <== bound - lhs;
    // atMax.out = 1 iff sigma = 2^F (then no larger factor is allowed anyway).
    component atMax = IsZero();
    atMax.in <== (1 << F) - sigma;
    // mustGrowPast = on * (1 - atMax): the maximality check applies.
    signal mustGrowPast <== on * (1 - atMax.out);
    // (sigma + 1)^2 g - 2^(2F) m2 - 1 = lhs + 2 sg + g - bound - 1, gated; >= 0 proves
    // (sigma + 1)^2 g > 2^(2F) m2.
    signal exceeds <== mustGrowPast * (lhs + 2 * sg + g - bound - 1);
    component maximal = RangeCheck(CB);
    maximal.in <== exceeds;
}

// One pass of step 6's consensus test on the clipped Gram matrix h (zero outside the capped
// representatives). Votes are slots: voter j stands for weight[j] slots (its cluster's size). For
// each tested r, with voters V, the other voting slots' clipped sum has
// dot_r = sum_{j in V} w_j H_rj - voter_r H_rr (one slot of r itself removed) and squared norm
// O_r = T - voter_r (2 dot_r + H_rr) (T = sum_{i, j in V} w_i w_j H_ij); r passes iff dot_r > 0 and
// tauDen^2 dot_r^2 >= tauNum^2 H_rr O_r (the cosine of the clipped update with the sum of the other
// voting slots' clipped updates is at least tauNum / tauDen). `agrees` in consensusDecision.
// Bounds (LOGK = clog2(K), HB = 2F + GB, |H_ij| < 2^HB; the weights are cluster sizes of disjoint
// clusters, so they sum to at most K, and the voting slots other than r's removed one to at most
// K - 1): |dot_r| < 2^(HB + LOGK); |O_r| < 2^(HB + 2 LOGK); tauDen^2 dot_r^2 < 2^(2 HB + 2 LOGK + 14) (10000 < 2^14) and
// |tauNum^2 H_rr O_r| < 2^(2 HB + 2 LOGK + 4): the test's difference is in (-2^TB, 2^TB) with
// TB = 2 HB + 2 LOGK + 15 (195 bits for K = 8, 201 for K = 64, with F = 16, GB = 55).
template Agrees(K, HB) {
    var KK = K * (K + 1) \ 2;
    var LOGK = clog2(K);
    var TB = 2 * HB + 2 * LOGK + 15;
    assert(TB <= 252);
    // Clipped Gram matrix, upper triangle (|H_ij| < 2^HB).
    signal input h[KK];
    // voter[k] = 1 iff slot k's clipped update is part of the consensus sum (0/1, from the caller).
    signal input voter[K];
    // weight[k] = the number of slots voter k stands for, in [0, K], summing to at most K (from the
    // caller: the cluster sizes).
    signal input weight[K];
    // passes[r] = 1 iff r agrees with the voters' consensus (computed for every slot; the caller
    // masks it with the slots under test).
    signal output passes[K];

    // votes[j] = voter[j] * weight[j]: the slots voter j adds to the sum.
    signal votes[K];
    for (var j = 0; j < K; j++) {
        votes[j] <== voter[j] * weight[j];
    }
    // voterRow[r][j] = votes[j] * H_rj: the voting slots' part of row r.
    signal voterRow[K][K];
    // voterPair[e] = votes[i] * votes[j] and voterEntry[e] = voterPair[e] * H_ij (i <= j).
    signal voterPair[KK];
    signal voterEntry[KK];
    var total = 0;
    for (var i = 0; i < K; i++) {
        for (var j = i; j < K; j++) {
            var e = gramIndex(i, j, K);
            voterPair[e] <== votes[i] * votes[j];
            voterEntry[e] <== voterPair[e] * h[e];
            total += i == j ? voterEntry[e] : 2 * voterEntry[e];
        }
    }
    // selfVote[r] = voter[r] * H_rr: the one slot of r removed from its own consensus sum.
    signal selfVote[K];
    // positive[r].out = 1 iff dot_r > 0 (sign of dot_r - 1).
    component positive[K];
    // removed[r] = voter[r] * (2 dot_r + H_rr): what the removed slot of r adds to T.
    signal removed[K];
    // dotSquare[r] = dot_r^2.
    signal dotSquare[K];
    // normOthers[r] = H_rr * O_r.
    signal normOthers[K];
    // aligned[r].out = 1 iff tauDen^2 dot_r^2 - tauNum^2 H_rr O_r >= 0.
    component aligned[K];
    for (var r = 0; r < K; r++) {
        var hrr = h[gramIndex(r, r, K)];
        selfVote[r] <== voter[r] * hrr;
        var dot = -selfVote[r];
        for (var j = 0; j < K; j++) {
            voterRow[r][j] <== votes[j] * h[gramIndex(r, j, K)];
            dot += voterRow[r][j];
        }
        positive[r] = NonNegative(HB + LOGK);
        positive[r].d <== dot - 1;
        removed[r] <== voter[r] * (2 * dot + hrr);
        dotSquare[r] <== dot * dot;
        normOthers[r] <== hrr * (total - removed[r]);
        aligned[r] = NonNegative(TB);
        aligned[r].d <== consensusTauDen2() * dotSquare[r] - consensusTauNum2() * normOthers[r];
        passes[r] <== positive[r].out * aligned[r].out;
    }
}

// Step 6 of the rule, the consensus test on the clipped Gram matrix H_ij = sigma_i sigma_j G_ij of
// the capped representatives, in two passes (`aggregated` of consensusDecision): when the capped
// representatives stand for at least 3 slots, capped r passes the first pass iff it agrees (Agrees,
// every slot one vote) with all the capped representatives, and is kept iff it agrees with those
// that passed the first pass. The second
// pass matters when outliers pull the first consensus sum away from honest updates (two
// sign-flipped updates against five honest ones push a small honest update below tau; against
// the first pass's survivors it is back in). Sigmas of slots that are not capped are zeroed here,
// so every sum runs over the capped representatives only.
template ConsensusKeep(K, F, GB) {
    var KK = K * (K + 1) \ 2;
    var LOGK = clog2(K);
    var HB = 2 * F + GB;
    // Gram matrix, upper triangle, row-major; signed, |G_ij| < 2^GB, 0 <= G_ii < 2^GB.
    signal input gram[KK];
    // Clip factors, each in [0, 2^F] (ClipFactor's outputs).
    signal input sigma[K];
    // capped[k] = 1 iff slot k is a representative within the norm cap (0/1, from the caller).
    signal input capped[K];
    // weight[k] = the size of representative k's cluster (in [0, K], summing to at most K; from the
    // caller, Clusters' clusterSize).
    signal input weight[K];
    // cappedSlots[k] = capped[k] * weight[k]: the slots capped representative k stands for.
    signal cappedSlots[K];
    // firstPass[r] = 1 iff r passes the first pass (a test that runs).
    signal output firstPass[K];
    // kept[r] = 1 iff r passes the second pass (the aggregation mask).
    signal output kept[K];
    // Clipped Gram matrix H, upper triangle (zero outside the capped representatives).
    signal output h[KK];

    // clip[k] = capped[k] * sigma[k].
    signal clip[K];
    for (var k = 0; k < K; k++) {
        clip[k] <== capped[k] * sigma[k];
    }
    // clipRow[e] = clip[i] * G_ij (i <= j), then h = clipRow * clip[j].
    signal clipRow[KK];
    for (var i = 0; i < K; i++) {
        for (var j = i; j < K; j++) {
            var e = gramIndex(i, j, K);
            clipRow[e] <== clip[i] * gram[e];
            h[e] <== clipRow[e] * clip[j];
        }
    }
    // tested.out = 1 iff the capped representatives stand for at least 3 slots (count - 3 in [-3, K)).
    var count = 0;
    for (var k = 0; k < K; k++) {
        cappedSlots[k] <== capped[k] * weight[k];
        count += cappedSlots[k];
    }
    component tested = NonNegative(LOGK + 2);
    tested.d <== count - 3;
    // cappedTested[r] = capped[r] * tested: r takes part in a test that runs.
    signal cappedTested[K];
    // The first pass: every capped representative votes.
    component first = Agrees(K, HB);
    first.h <== h;
    first.voter <== capped;
    first.weight <== weight;
    // The second pass: the first pass's survivors vote.
    component second = Agrees(K, HB);
    second.h <== h;
    second.weight <== weight;
    for (var r = 0; r < K; r++) {
        cappedTested[r] <== capped[r] * tested.out;
        firstPass[r] <== cappedTested[r] * first.passes[r];
        second.voter[r] <== firstPass[r];
    }
    for (var r = 0; r < K; r++) {
        kept[r] <== cappedTested[r] * second.passes[r];
    }
}

// Step 2 of the rule, the clusters: the connected components of `linked` (the near-duplicate
// relation, NearDuplicateLinks' output: symmetric, zero on the diagonal and outside the candidates),
// each labelled by its lowest slot. Outputs `representative` and `clusterSize` of consensusDecision
// (the size on the representative's slot only); the hint `labelOf` is proven to be the labelling
// and the caller may use it (membership of slot k in the cluster labelled l).
//
// Hints (`label`, `parent`, `depth` of consensusDecision, a BFS forest from each cluster's lowest
// slot): labelOf[k][l] = 1 iff candidate k has label l (one-hot; all zero for other slots),
// parentOf[k][p] = 1 iff p is k's BFS parent (one-hot for non-labels, all zero otherwise), depth[k].
// Constraints: (1) labelOf[k] is one-hot on candidates, zero elsewhere, and labelOf[k][l] = 0 for
// l > k (label[k] <= k); (2) linked slots have the same label; (3) a candidate of depth 0 is its own
// label; (4) a candidate of depth d != 0 has exactly one parent p, linked to k, of depth d - 1; other
// slots have no parent.
// Soundness: let C be a component of `linked`. By (2) every slot of C has one label l. Follow
// parents from any slot with label l: each step goes to a linked slot (so with label l by (2)) of
// depth one less; a walk in the finite graph that never stops would close a cycle of length L <= K
// whose depths satisfy d = d - L in the field, impossible (L < p); so it stops at a slot without
// parent, which by (4) has depth 0 and by (3) is its own label: the slot l itself. Hence l is in
// the component of every slot labelled l, i.e. l is in C, and by (1) l <= k for every k in C: l is
// the lowest slot of C. So the labelling is unique and `representative` and `clusterSize` are
// exactly the reference's. (depth is also range-checked to clog2(K) bits, which is not needed for
// the argument above.)
template Clusters(K) {
    var LOGK = clog2(K);
    // linked[i][j] = 1 iff i ~ j (NearDuplicateLinks: 0/1, symmetric, 0 on the diagonal and for
    // slots that are not candidates).
    signal input linked[K][K];
    // candidate[k] = 1 iff slot k is clustered (0/1, constrained by the caller).
    signal input candidate[K];
    // Hint: labelOf[k][l] = 1 iff slot l is the label (lowest slot) of candidate k's cluster.
    signal input labelOf[K][K];
    // Hint: parentOf[k][p] = 1 iff p is k's parent in the BFS tree of its cluster.
    signal input parentOf[K][K];
    // Hint: BFS depth of k from its label (0 for labels and for slots that are not candidates).
    signal input depth[K];
    // representative[k] = 1 iff candidate k is its cluster's label.
    signal output representative[K];
    // clusterSize[l] = number of slots labelled l (0 unless l is a representative).
    signal output clusterSize[K];

    // depthRange[k]: depth[k] in [0, 2^LOGK).
    component depthRange[K];
    // isRoot[k].out = 1 iff depth[k] = 0.
    component isRoot[K];
    // rootCandidate[k] = candidate[k] * isRoot[k].out: must be its own label.
    signal rootCandidate[K];
    // hasParent[k] = candidate[k] * (1 - isRoot[k].out): exactly one parent.
    signal hasParent[K];
    // parentDepth[k][p] = parentOf[k][p] * depth[p]: the chosen parent's depth.
    signal parentDepth[K][K];
    // childDepth[k] = hasParent[k] * (depth[k] - 1): the depth the parent must have.
    signal childDepth[K];

    // (1) one-hot labels on candidates, label <= slot.
    for (var k = 0; k < K; k++) {
        var labels = 0;
        for (var l = 0; l < K; l++) {
            if (l > k) {
                labelOf[k][l] === 0;
            } else {
                labelOf[k][l] * (labelOf[k][l] - 1) === 0;
                labels += labelOf[k][l];
            }
        }
        labels === candidate[k];
        representative[k] <== labelOf[k][k];
    }
    // (2) linked slots share their label (numeric labels sum l * labelOf[k][l] are equal iff the
    // one-hot rows are, as each row has at most one bit).
    for (var i = 0; i < K; i++) {
        for (var j = i + 1; j < K; j++) {
            var labelI = 0;
            var labelJ = 0;
            for (var l = 0; l < K; l++) {
                labelI += l * labelOf[i][l];
                labelJ += l * labelOf[j][l];
            }
            linked[i][j] * (labelI - labelJ) === 0;
        }
    }
    // (3) and (4): roots are labels; every other candidate has one linked parent one level up.
    for (var k = 0; k < K; k++) {
        depthRange[k] = RangeCheck(LOGK);
        depthRange[k].in <== depth[k];
        (1 - candidate[k]) * depth[k] === 0;
        isRoot[k] = IsZero();
        isRoot[k].in <== depth[k];
        rootCandidate[k] <== candidate[k] * isRoot[k].out;
        rootCandidate[k] * (1 - labelOf[k][k]) === 0;
        hasParent[k] <== candidate[k] - rootCandidate[k];
        var parents = 0;
        var chosenDepth = 0;
        for (var p = 0; p < K; p++) {
            parentOf[k][p] * (parentOf[k][p] - 1) === 0;
            // A parent is a linked slot (so a candidate other than k).
            parentOf[k][p] * (1 - linked[k][p]) === 0;
            parents += parentOf[k][p];
            parentDepth[k][p] <== parentOf[k][p] * depth[p];
            chosenDepth += parentDepth[k][p];
        }
        parents === hasParent[k];
        childDepth[k] <== hasParent[k] * (depth[k] - 1);
        chosenDepth === childDepth[k];
    }
    // Cluster sizes: members per label.
    for (var l = 0; l < K; l++) {
        var size = 0;
        for (var k = l; k < K; k++) {
            size += labelOf[k][l];
        }
        clusterSize[l] <== size;
    }
}

// cap2: a representative is capped (within the norm cap) iff G_rr <= cap2 * M2 (by consensus).
function consensusCap2() {
    return 4;
}

// referenceCap2: the norm cap by the owner's reference (3x the median norm; CONSENSUS_PARAMS).
function consensusReferenceCap2() {
    return 9;
}

// marginSq: aligned iff a_k > 0 and a_k^2 D > marginSq G_kk |v|^2 (cos(u_k, v) > 4 / sqrt(D)).
function consensusMarginSq() {
    return 16;
}

// Step 2' of the rule (by the owner's reference): aligned[k] = 1 iff a_k > 0 and
// a_k^2 D > marginSq G_kk |v|^2 (`aligned` of consensusDecision before its validity gate, which
// the caller applies). Bounds (from the caller): |a_k| < 2^GB, G_kk and |v|^2 in [0, 2^GB), D in
// [0, 2^32). The sign test of a_k - 1 is in [-2^GB, 2^GB); a_k^2 D is in [0, 2^(2 GB + 32)) and
// marginSq G_kk |v|^2 in [0, 2^(2 GB + 4)), so the margin's difference minus 1 lies in
// [-2^(2 GB + 32), 2^(2 GB + 32)), NonNegative(2 GB + 32)'s range.
template ReferenceAligned(K, GB) {
    assert(2 * GB + 32 <= 252);
    // a_k = <u_k, v> (signed, |a_k| < 2^GB).
    signal input alignment[K];
    // G_kk, each in [0, 2^GB).
    signal input norm2[K];
    // |v|^2 over the model's parameters, in [0, 2^GB).
    signal input referenceNorm;
    // The model size D, in [0, 2^32).
    signal input size;
    // aligned[k] = 1 iff slot k's update is aligned with v by the margin.
    signal output aligned[K];

    // positive[k].out = 1 iff a_k > 0 (sign of a_k - 1).
    component positive[K];
    // square[k] = a_k^2; scaled[k] = a_k^2 D.
    signal square[K];
    signal scaled[K];
    // normProduct[k] = G_kk |v|^2.
    signal normProduct[K];
    // margin[k].out = 1 iff a_k^2 D - marginSq G_kk |v|^2 - 1 >= 0.
    component margin[K];
    for (var k = 0; k < K; k++) {
        positive[k] = NonNegative(GB);
        positive[k].d <== alignment[k] - 1;
        square[k] <== alignment[k] * alignment[k];
        scaled[k] <== square[k] * size;
        normProduct[k] <== norm2[k] * referenceNorm;
        margin[k] = NonNegative(2 * GB + 32);
        margin[k].d <== scaled[k] - consensusMarginSq() * normProduct[k] - 1;
        aligned[k] <== positive[k].out * margin[k].out;
    }
}

// vetoDen^2 / vetoNum^2: vetoed iff b_k < 0 and vetoDen^2 b_k^2 >= vetoNum^2 G_kk N (cosine with the
// last global delta <= -1/10; CONSENSUS_PARAMS.veto in packages/core/src/consensus.ts).
function consensusVetoDen2() {
    return 100;
}

// vetoNum^2 (see consensusVetoDen2).
function consensusVetoNum2() {
    return 1;
}

// The top cap's tolerance topNum / topDen (CONSENSUS_PARAMS.topCap = 5 / 4): a kept player's cosine
// with v up to 5/4 of the (f + 1)-th highest is not capped (step 8''', CosineCap).
function consensusTopNum() {
    return 5;
}

// See consensusTopNum.
function consensusTopDen() {
    return 4;
}

// P, the fixed-point bits of step 8''''s factor (CONSENSUS_UNCAPPED_BITS = 16 in config.ts, ToUncapped).
function consensusUncappedBits() {
    return 16;
}

// Whether the last global delta is a step to judge by (core `helpingStep`): the rule judges by the
// owner's reference (on), the step is non-zero (N = |Delta|^2 != 0) and it helps the reference
// (delta = <Delta, v> >= 1). The last step's veto (DeltaVeto) and the delta cap (CosineCap) act only
// then; both read this one verdict. Bounds (from the caller): N in [0, 2^GB), |delta| < 2^GB, so the
// sign test of delta - 1 is in [-2^GB, 2^GB).
template HelpingStep(GB) {
    // N = |Delta|^2, in [0, 2^GB).
    signal input deltaNorm;
    // delta = <Delta, v> (signed, |delta| < 2^GB).
    signal input deltaReference;
    // 1 iff the rule judges by the reference (0/1, from the caller).
    signal input on;
    // helps = on [N != 0] [delta >= 1] (0/1).
    signal output helps;

    // noDelta.out = 1 iff N = 0 (round 0, or a round whose counted updates averaged to zero).
    component noDelta = IsZero();
    noDelta.in <== deltaNorm;
    // positive.out = 1 iff delta >= 1.
    component positive = NonNegative(GB);
    positive.d <== deltaReference - 1;
    // onDelta = on [N != 0].
    signal onDelta <== on * (1 - noDelta.out);
    helps <== onDelta * positive.out;
}

// Step 2'v of the rule (by the owner's reference, when the last global delta is a step to judge by:
// HelpingStep): a slot aligned with v is not admitted when it points against Delta, b_k < 0 and
// vetoDen^2 b_k^2 >= vetoNum^2 G_kk N: admitted[k] = aligned[k] (1 - helps against[k]) (`admitted`
// of consensusDecision before its validity gate, which the caller applies).
// Bounds (from the caller): |b_k| < 2^GB, G_kk and N in [0, 2^GB). The sign test of -b_k - 1 is in
// [-2^GB, 2^GB); vetoDen^2 b_k^2 is in [0, 2^(2 GB + 7)) (100 < 2^7) and vetoNum^2 G_kk N in
// [0, 2^(2 GB)), so their difference lies in NonNegative(2 GB + 7)'s range.
template DeltaVeto(K, GB) {
    assert(2 * GB + 7 <= 252);
    // b_k = <u_k, Delta> (signed, |b_k| < 2^GB).
    signal input deltaAlignment[K];
    // G_kk, each in [0, 2^GB).
    signal input norm2[K];
    // N = |Delta|^2, in [0, 2^GB).
    signal input deltaNorm;
    // ReferenceAligned's verdict (0/1).
    signal input aligned[K];
    // HelpingStep's verdict (0/1, from the caller): the veto applies.
    signal input helps;
    // admitted[k] = 1 iff slot k is admitted to the candidates by the reference.
    signal output admitted[K];

    // negative[k].out = 1 iff b_k < 0 (sign of -b_k - 1).
    component negative[K];
    // square[k] = b_k^2; normProduct[k] = G_kk N.
    signal square[K];
    signal normProduct[K];
    // margin[k].out = 1 iff vetoDen^2 b_k^2 - vetoNum^2 G_kk N >= 0.
    component margin[K];
    // against[k] = negative * margin; vetoed[k] = helps * against[k].
    signal against[K];
    signal vetoed[K];
    for (var k = 0; k < K; k++) {
        negative[k] = NonNegative(GB);
        negative[k].d <== -deltaAlignment[k] - 1;
        square[k] <== deltaAlignment[k] * deltaAlignment[k];
        normProduct[k] <== norm2[k] * deltaNorm;
        margin[k] = NonNegative(2 * GB + 7);
        margin[k].d <== consensusVetoDen2() * square[k] - consensusVetoNum2() * normProduct[k];
        against[k] <== negative[k].out * margin[k].out;
        vetoed[k] <== helps * against[k];
        admitted[k] <== aligned[k] * (1 - vetoed[k]);
    }
}

// replayDen^2 / replayNum^2: a replay iff b_k > 0 and replayDen^2 b_k^2 >= replayNum^2 G_kk N
// (cosine with the last global delta >= 99 / 100; REPLAY_NUM / REPLAY_DEN in packages/core/src/replay.ts).
function consensusReplayDen2() {
    return 10000;
}

// replayNum^2 (see consensusReplayDen2).
function consensusReplayNum2() {
    return 9801;
}

// Step 2'' of the rule, in both modes: slot k follows Delta iff b_k = <u_k, Delta> > 0 and
// replayDen^2 b_k^2 >= replayNum^2 G_kk N, Delta the last global delta (the step committed with the
// round's model) and N = |Delta|^2 (core `isReplay`); replay[k] = 1 iff k follows Delta and is no
// near-duplicate of a fresh slot (valid, non-zero, not following Delta). `replay` of
// consensusDecision on valid non-zero slots (the caller gates by validity). A zero update or a zero
// Delta has b_k = 0 and never follows it. Bounds (from the caller): |b_k| < 2^GB, G_kk and N in
// [0, 2^GB). The sign test of b_k - 1 is in [-2^GB, 2^GB); replayDen^2 b_k^2 and replayNum^2 G_kk N
// are both in [0, 2^(2 GB + 14)) (10000 < 2^14), so their difference lies in NonNegative(2 GB + 14)'s
// range. The count of fresh near-duplicates is below K.
template DeltaReplay(K, GB) {
    assert(2 * GB + 14 <= 252);
    // b_k = <u_k, Delta> (signed, |b_k| < 2^GB).
    signal input deltaAlignment[K];
    // G_kk, each in [0, 2^GB).
    signal input norm2[K];
    // N = |Delta|^2, in [0, 2^GB).
    signal input deltaNorm;
    // near[i][j] (NearDuplicatePairs: 0/1, symmetric, 0 on the diagonal).
    signal input near[K][K];
    // nonZero[k] = 1 iff slot k is valid with G_kk > 0 (0/1, from the caller).
    signal input nonZero[K];
    // replay[k] = 1 iff slot k's update has cosine >= 99 / 100 with Delta and no fresh near-duplicate.
    signal output replay[K];

    // positive[k].out = 1 iff b_k > 0 (sign of b_k - 1).
    component positive[K];
    // square[k] = b_k^2.
    signal square[K];
    // normProduct[k] = G_kk N.
    signal normProduct[K];
    // close[k].out = 1 iff replayDen^2 b_k^2 - replayNum^2 G_kk N >= 0.
    component close[K];
    // follows[k] = positive * close: cosine >= 99 / 100 with Delta.
    signal follows[K];
    // fresh[k] = nonZero[k] * (1 - follows[k]): valid, non-zero, not following Delta.
    signal fresh[K];
    for (var k = 0; k < K; k++) {
        positive[k] = NonNegative(GB);
        positive[k].d <== deltaAlignment[k] - 1;
        square[k] <== deltaAlignment[k] * deltaAlignment[k];
        normProduct[k] <== norm2[k] * deltaNorm;
        close[k] = NonNegative(2 * GB + 14);
        close[k].d <== consensusReplayDen2() * square[k] - consensusReplayNum2() * normProduct[k];
        follows[k] <== positive[k].out * close[k].out;
        fresh[k] <== nonZero[k] - nonZero[k] * follows[k];
    }
    // freshNear[k][j] = near[k][j] * fresh[j]: a fresh near-duplicate of k (0 on the diagonal).
    signal freshNear[K][K];
    // isolated[k].out = 1 iff k has no fresh near-duplicate.
    component isolated[K];
    for (var k = 0; k < K; k++) {
        var count = 0;
        for (var j = 0; j < K; j++) {
            freshNear[k][j] <== near[k][j] * fresh[j];
            count += freshNear[k][j];
        }
        isolated[k] = IsZero();
        isolated[k].in <== count;
        replay[k] <== follows[k] * isolated[k].out;
    }
}

// Step 4 of the rule, the norm cap: capped[k] = 1 iff on, k is a representative and
// G_kk <= cap2 * m2; `capped` of consensusDecision (nobody when off: inactive, or no median taken;
// without a median there is no representative either, so the quorum flag alone also works as `on`).
// The sign test is on cap2 * m2 - G_kk: with m2, G_kk in [0, 2^GB) and cap2 in [0, 16) it lies in
// (-2^GB, 2^(GB + 4)), inside NonNegative(GB + 4)'s range [-2^(GB + 4), 2^(GB + 4)).
template NormCap(K, GB) {
    assert(GB + 4 <= 252);
    // Squared norms G_kk, each in [0, 2^GB) (guaranteed by the caller).
    signal input norm2[K];
    // representative[k] = 1 iff slot k is its cluster's label (0/1, Clusters' output).
    signal input representative[K];
    // The lower median M2, in [0, 2^GB) (LowerMedian's output).
    signal input m2;
    // 1 iff the round is active and a median was taken (0/1, constrained by the caller).
    signal input on;
    // The cap squared, in [0, 16) (the caller's constant: consensusCap2 or consensusReferenceCap2).
    signal input cap2;
    // capped[k] = 1 iff slot k is a representative within the norm cap.
    signal output capped[K];

    // bound = cap2 * m2.
    signal bound <== cap2 * m2;
    // within[k].out = 1 iff cap2 * m2 - G_kk >= 0.
    component within[K];
    // onRepresentative[k] = on * representative[k].
    signal onRepresentative[K];
    for (var k = 0; k < K; k++) {
        within[k] = NonNegative(GB + 4);
        within[k].d <== bound - norm2[k];
        onRepresentative[k] <== on * representative[k];
        capped[k] <== onRepresentative[k] * within[k].out;
    }
}

// Step 8's cluster values by consensus: value[r] = kept[r] sum_{j kept, j != r} H_rj, the kept
// representative's clipped update's alignment with the other kept clusters' clipped updates (0 for
// slots that are not kept). Bounds: |H_ij| < 2^HB, so |value[r]| < (K - 1) 2^HB < 2^(HB + LOGK).
template GramValues(K, HB) {
    var KK = K * (K + 1) \ 2;
    // Clipped Gram matrix H_ij = sigma_i sigma_j G_ij, upper triangle (ConsensusKeep's output).
    signal input h[KK];
    // kept[r] = 1 iff representative r is kept (0/1, from the caller).
    signal input kept[K];
    // The cluster values (signed), 0 off the kept set.
    signal output value[K];

    // keptH[r][j] = kept[j] * H_rj (j != r): the terms of the sum.
    signal keptH[K][K];
    for (var r = 0; r < K; r++) {
        var sum = 0;
        for (var j = 0; j < K; j++) {
            if (j != r) {
                keptH[r][j] <== kept[j] * h[gramIndex(r, j, K)];
                sum += keptH[r][j];
            }
        }
        value[r] <== kept[r] * sum;
    }
}

// Bits of the larger of a cosine cap's tolerance terms NUM, DEN (0 for 1 / 1): how much wider than
// the plain cross products its tolerated ones are.
function capToleranceBits(NUM, DEN) {
    var m = NUM > DEN ? NUM : DEN;
    var bits = 0;
    while ((1 << bits) < m) {
        bits++;
    }
    return bits;
}

// A cosine cap (`cosineCap` in consensus.ts): when on and some player is kept, each kept r has
// R_r = floor(sqrt(G_rr X)) (X = |x|^2, s_r = <u_r, x>, so s_r / R_r = cos(u_r, x)), the players are
// ordered by cos(u_r, x) (r before q iff s_r R_q < s_q R_r, ties by slot), the pivot p is the player
// with `rank` players before it (TOP = 0: rank = floor((n - 1) / 2), the lower median; TOP = 1:
// rank = max(0, n - 1 - f), the (f + 1)-th highest), and
// capped[r] = value[r] - floor(max(0, DEN s_r R_p - NUM s_p R_r) weight / (DEN R_p X)): what r's
// cosine exceeds over NUM / DEN times the pivot's, valued at weight / X per unit of s. Otherwise
// capped[r] = value[r]. Step 8'', the delta cap, is CosineCap(K, GB, 1, 1, 0) with x = Delta and
// weight = <Delta, v>.
// Hints (each proven): rootHint (R_r for the players, 0 elsewhere), pivotHint (one-hot p, all zero
// when the cap does not apply), deductionHint and remainderHint (the floor's quotient and remainder,
// 0 elsewhere).
// Bounds (the caller's): |s_r|, |weight| < 2^GB, G_rr, X in [0, 2^GB), f in [0, 256), NUM, DEN in
// [1, 2^TB] (TB = capToleranceBits). Then R_r < 2^GB (range-checked, so R_r^2 and (R_r + 1)^2 are
// the integers' squares), |s_r| <= R_r by Cauchy-Schwarz for honest statistics, every cross
// product s_r R_q lies in (-2^(2GB), 2^(2GB)) and the tolerated differences in
// (-2^(2GB + 1 + TB), 2^(2GB + 1 + TB)); the excess e_r < 2^(2GB + 1 + TB), e_r weight <
// 2^(3GB + 1 + TB); the quotient is range-checked to GB + 1 + TB bits (honestly it is at most
// (1 + NUM / DEN) |u_r| |weight| / |x| < 2^(GB + 1 + TB) for |weight| <= |x| |v|) and the remainder
// to 2GB + TB bits, so both sides of e_r weight = q_r DEN R_p X + rem_r lie below 2^(3GB + 2 + 2TB)
// <= p and the floor is exact over the integers. |capped[r]| < |value[r]| + 2^(GB + 1 + TB).
template CosineCap(K, GB, NUM, DEN, TOP) {
    var TB = capToleranceBits(NUM, DEN);
    assert(NUM >= DEN && DEN >= 1);
    assert(TOP == 0 || TOP == 1);
    assert(3 * GB + 2 + 2 * TB <= 252);
    // value[r]: what is capped (signed; the delta cap's is a_r = <u_r, v>).
    signal input value[K];
    // s_r = <u_r, x> (signed).
    signal input along[K];
    // G_rr, each in [0, 2^GB).
    signal input norm2[K];
    // X = |x|^2, in [0, 2^GB).
    signal input alongNorm;
    // What a unit of s is worth, times X (signed; the delta cap's is <Delta, v>).
    signal input weight;
    // kept[r] = 1 iff representative r is kept (0/1, from the caller).
    signal input kept[K];
    // The caller's verdict (0/1): 1 only when X != 0 and the cap is to be taken.
    signal input on;
    // With TOP = 1: the tolerated number of faulty slots, in [0, 256) (ignored with TOP = 0).
    signal input f;
    // Hint: R_r for the players when the cap applies, 0 elsewhere.
    signal input rootHint[K];
    // Hint: one-hot over the players, the pivot p (all zero when the cap does not apply).
    signal input pivotHint[K];
    // Hint: the deduction q_r = floor(e_r weight / (DEN R_p X)) of each player (0 elsewhere).
    signal input deductionHint[K];
    // Hint: its remainder e_r weight - q_r DEN R_p X (0 elsewhere).
    signal input remainderHint[K];
    // capped[r] = value[r] minus its deduction (value[r] when the cap does not apply or r is not a player).
    signal output capped[K];

    // ---- whether the cap applies: on and there is a player ----
    var players = 0;
    for (var r = 0; r < K; r++) {
        players += kept[r];
    }
    component nobody = IsZero();
    nobody.in <== players;
    // applies = on [a player].
    signal applies <== on * (1 - nobody.out);
    // act[r] = applies * kept[r]: r is a player of a capped round.
    signal act[K];

    // ---- the roots: R_r^2 <= G_rr X < (R_r + 1)^2 for players, 0 elsewhere ----
    // gx[r] = G_rr X, rootSquare[r] = R_r^2.
    signal gx[K];
    signal rootSquare[K];
    // Bits of R_r: R_r < 2^GB, so its square is the integer's.
    component rootBits[K];
    // rootLow: G_rr X - R_r^2 >= 0; rootHigh: R_r^2 + 2 R_r - G_rr X >= 0 (i.e. (R_r + 1)^2 > G_rr X).
    component rootLow[K];
    component rootHigh[K];
    for (var r = 0; r < K; r++) {
        act[r] <== applies * kept[r];
        rootBits[r] = Num2Bits(GB);
        rootBits[r].in <== rootHint[r];
        (1 - act[r]) * rootHint[r] === 0;
        gx[r] <== norm2[r] * alongNorm;
        rootSquare[r] <== rootHint[r] * rootHint[r];
        rootLow[r] = NonNegative(2 * GB + 1);
        rootLow[r].d <== gx[r] - rootSquare[r];
        rootLow[r].out === 1;
        rootHigh[r] = NonNegative(2 * GB + 1);
        rootHigh[r].d <== act[r] * (rootSquare[r] + 2 * rootHint[r] - gx[r]);
        rootHigh[r].out === 1;
    }

    // ---- the order of cos(u_r, x): before[r][q] = 1 iff r comes before q ----
    // One entry per pair r < q, at index i (r-major, as the loop below counts).
    var PAIRS = K * (K - 1) \ 2;
    // crossR[i] = s_r R_q, crossQ[i] = s_q R_r.
    signal crossR[PAIRS];
    signal crossQ[PAIRS];
    // ahead[i].out = 1 iff s_r R_q - s_q R_r >= 0; level[i].out = 1 iff it is 0.
    component ahead[PAIRS];
    component level[PAIRS];
    // before[r][q] = 1 iff r comes before q in the order (r != q).
    var before[K][K];
    var i = 0;
    for (var r = 0; r < K; r++) {
        for (var q = r + 1; q < K; q++) {
            crossR[i] <== along[r] * rootHint[q];
            crossQ[i] <== along[q] * rootHint[r];
            ahead[i] = NonNegative(2 * GB + 1);
            ahead[i].d <== crossR[i] - crossQ[i];
            level[i] = IsZero();
            level[i].in <== crossR[i] - crossQ[i];
            // r < q: r first when its cosine is smaller, or equal.
            before[r][q] = 1 - ahead[i].out + level[i].out;
            before[q][r] = 1 - before[r][q];
            i++;
        }
    }

    // ---- the pivot: the player with `rank` players before it ----
    // beforeCount[m][q] = act[q] before[q][m]: q is a player ahead of m.
    signal beforeCount[K][K];
    // chosenBelow[m] = pivotHint[m] * (players ahead of m).
    signal chosenBelow[K];
    var selected = 0;
    var below = 0;
    for (var m = 0; m < K; m++) {
        pivotHint[m] * (pivotHint[m] - 1) === 0;
        pivotHint[m] * (1 - act[m]) === 0;
        selected += pivotHint[m];
        var ahead_m = 0;
        for (var q = 0; q < K; q++) {
            if (q != m) {
                beforeCount[m][q] <== act[q] * before[q][m];
                ahead_m += beforeCount[m][q];
            } else {
                beforeCount[m][q] <== 0;
            }
        }
        chosenBelow[m] <== pivotHint[m] * ahead_m;
        below += chosenBelow[m];
    }
    selected === applies;
    if (TOP == 0) {
        // applies: n - 1 - 2 below is 0 or 1 (below = floor((n - 1) / 2)); otherwise 0 (nothing selected).
        signal parity <== applies * (players - 1 - 2 * below);
        parity * (parity - 1) === 0;
    } else {
        // rank = max(0, n - 1 - f): n - 1 - f lies in [-256, K), a 9-bit sign test for K <= 256.
        assert(K <= 256);
        component spare = NonNegative(9);
        spare.d <== players - 1 - f;
        signal rank <== spare.out * (players - 1 - f);
        applies * (below - rank) === 0;
    }

    // ---- the pivot's s and R ----
    signal pivotS[K];
    signal pivotR[K];
    var sP = 0;
    var rP = 0;
    for (var m = 0; m < K; m++) {
        pivotS[m] <== pivotHint[m] * along[m];
        pivotR[m] <== pivotHint[m] * rootHint[m];
        sP += pivotS[m];
        rP += pivotR[m];
    }
    // denominator = DEN R_p X (>= 1 when the cap applies; 0 otherwise).
    signal denominator <== DEN * rP * alongNorm;

    // ---- the deductions: e_r weight = q_r DEN R_p X + rem_r, 0 <= rem_r < DEN R_p X ----
    // excessR[r] = s_r R_p, excessP[r] = s_p R_r.
    signal excessR[K];
    signal excessP[K];
    // exceeds[r].out = 1 iff DEN s_r R_p - NUM s_p R_r >= 0.
    component exceeds[K];
    // positivePart[r] = exceeds * (DEN s_r R_p - NUM s_p R_r); excess[r] = act[r] * positivePart[r].
    signal positivePart[K];
    signal excess[K];
    // product[r] = e_r weight; share[r] = q_r DEN R_p X.
    signal product[K];
    signal share[K];
    // Range checks of q_r, rem_r and DEN R_p X - 1 - rem_r.
    component quotientBits[K];
    component remainderBits[K];
    component remainderBelow[K];
    for (var r = 0; r < K; r++) {
        excessR[r] <== along[r] * rP;
        excessP[r] <== sP * rootHint[r];
        exceeds[r] = NonNegative(2 * GB + 1 + TB);
        exceeds[r].d <== DEN * excessR[r] - NUM * excessP[r];
        positivePart[r] <== exceeds[r].out * (DEN * excessR[r] - NUM * excessP[r]);
        excess[r] <== act[r] * positivePart[r];
        product[r] <== excess[r] * weight;
        share[r] <== deductionHint[r] * denominator;
        product[r] === share[r] + remainderHint[r];
        (1 - act[r]) * deductionHint[r] === 0;
        (1 - act[r]) * remainderHint[r] === 0;
        quotientBits[r] = Num2Bits(GB + 1 + TB);
        quotientBits[r].in <== deductionHint[r];
        remainderBits[r] = Num2Bits(2 * GB + TB);
        remainderBits[r].in <== remainderHint[r];
        remainderBelow[r] = Num2Bits(2 * GB + TB);
        remainderBelow[r].in <== act[r] * (denominator - 1 - remainderHint[r]);
        capped[r] <== value[r] - deductionHint[r];
    }
}

// Step 8' (by the owner's reference): value[r] = kept[r] 2^F b_r with b_r = sigma_r a_r (scale
// 2^F): each kept cluster's own term of the additive game U(T) = <v, sum of T's clipped updates>,
// which is its Shapley value, on the Gram rule's scale 2^(2F). Bounds: sigma in [0, 2^F] and
// |a_r| < 2^GB, so |value[r]| < 2^(2F + GB).
template AdditiveValues(K, F, GB) {
    // Clip factors, each in [0, 2^F] (0 off the capped representatives).
    signal input sigma[K];
    // a_r (signed, |a_r| < 2^GB): the delta-capped alignments.
    signal input alignment[K];
    // kept[r] = 1 iff representative r is kept (0/1, from the caller).
    signal input kept[K];
    // The cluster values (signed), 0 off the kept set.
    signal output value[K];

    // b[r] = sigma_r a_r.
    signal b[K];
    for (var r = 0; r < K; r++) {
        b[r] <== sigma[r] * alignment[r];
        value[r] <== kept[r] * b[r] * (1 << F);
    }
}

// Step 8'''' of the rule, the top cap's deduction paid to the players it does not cap
// (`uncappedShares` in consensus.ts): with over[r] = [deduction[r] != 0] (the top cap's proven
// deduction: 0 by consensus and off its players), y_r = max(0, value[r]), x_r = max(0, over[r] before[r]),
// pot = sum over[r] (x_r - y_r), H = sum (1 - over[r]) y_r and
// factor = floor(2^P (H + pot) / max(H, 1)): paid[r] = y_r when over, floor(y_r factor / 2^P)
// otherwise. By consensus nobody is over, the factor is 2^P (or 0 when H = 0, where every y is 0)
// and paid[r] = max(0, value[r]): this template is also the clamp of the Gram rule's values.
// Hints (each proven): factor and its remainder; per slot the quotient and remainder of
// y_r factor / 2^P (0 for players over the cap).
// Bounds (LOGK = clog2(K)): |value[r]|, |before[r]| < 2^VB (sign tests NonNegative(VB)), so
// H + pot < 2^(VB + LOGK) and the factor's equation factor max(H, 1) + rem = 2^P (H + pot) has both
// sides below 2^(P + 2VB + 2LOGK) <= p with factor < 2^(P + VB + LOGK) and rem, max(H, 1) - 1 - rem in
// [0, 2^(VB + LOGK)) range-checked: the factor is the floor. The caller range-checks paid[r] to
// [0, 2^W) for some W <= VB + LOGK + 1 (ClusterScores' shift does): then quotient[r] = paid[r] -
// over[r] y_r lies in (-2^VB, 2^W), both sides of quotient 2^P + rem = (1 - over) y factor are below
// 2^(P + 2VB + LOGK + 1) in size, and with rem in [0, 2^P) the quotient is the floor (0 over the cap).
template ToUncapped(K, VB, P) {
    var LOGK = clog2(K);
    assert(P + 2 * VB + 2 * LOGK + 2 <= 252);
    // The cluster values after the top cap (signed, |value[r]| < 2^VB, 0 off the kept players).
    signal input value[K];
    // The values before the top cap (signed, |before[r]| < 2^VB; read only where over).
    signal input before[K];
    // The top cap's deduction of each slot (CosineCap's proven hint: in [0, 2^(GB + 4)), 0 off its players).
    signal input deduction[K];
    // Hint: factor = floor(2^P (H + pot) / max(H, 1)).
    signal input factor;
    // Hint: its remainder.
    signal input factorRemainder;
    // Hint: floor(y_r factor / 2^P) for players not over the cap, else 0.
    signal input quotient[K];
    // Hint: y_r factor mod 2^P for players not over the cap, else 0.
    signal input remainder[K];
    // paid[r] >= 0: what slot r's cluster is paid (the caller range-checks it).
    signal output paid[K];

    // untouched[r].out = 1 iff the top cap deducts nothing from r; over[r] = 1 - that.
    component untouched[K];
    signal over[K];
    // positive[r]: value[r] >= 0; after[r] = y_r = max(0, value[r]).
    component positive[K];
    signal after[K];
    // gated[r] = over[r] before[r]; beforePositive[r]: it is >= 0; taken[r] = x_r = max(0, gated[r]).
    signal gated[K];
    component beforePositive[K];
    signal taken[K];
    // overAfter[r] = over[r] y_r: the capped players' pay.
    signal overAfter[K];
    var pot = 0;
    var total = 0;
    for (var r = 0; r < K; r++) {
        untouched[r] = IsZero();
        untouched[r].in <== deduction[r];
        over[r] <== 1 - untouched[r].out;
        positive[r] = NonNegative(VB);
        positive[r].d <== value[r];
        after[r] <== positive[r].out * value[r];
        gated[r] <== over[r] * before[r];
        beforePositive[r] = NonNegative(VB);
        beforePositive[r].d <== gated[r];
        taken[r] <== beforePositive[r].out * gated[r];
        overAfter[r] <== over[r] * after[r];
        pot += taken[r] - overAfter[r];
        total += after[r] - overAfter[r];
    }

    // ---- the factor: factor max(H, 1) + rem = 2^P (H + pot), 0 <= rem < max(H, 1) ----
    component nobody = IsZero();
    nobody.in <== total;
    signal divisor <== total + nobody.out;
    factor * divisor + factorRemainder === (1 << P) * (total + pot);
    component factorRange = RangeCheck(P + VB + LOGK);
    factorRange.in <== factor;
    component factorRemainderRange = RangeCheck(VB + LOGK);
    factorRemainderRange.in <== factorRemainder;
    component factorRemainderBelow = RangeCheck(VB + LOGK);
    factorRemainderBelow.in <== divisor - 1 - factorRemainder;

    // ---- each player's pay: quotient 2^P + rem = (1 - over) y factor, 0 <= rem < 2^P ----
    // product[r] = (y_r - over[r] y_r) factor.
    signal product[K];
    // remainderRange[r]: remainder[r] in [0, 2^P).
    component remainderRange[K];
    for (var r = 0; r < K; r++) {
        product[r] <== (after[r] - overAfter[r]) * factor;
        quotient[r] * (1 << P) + remainder[r] === product[r];
        remainderRange[r] = RangeCheck(P);
        remainderRange[r].in <== remainder[r];
        paid[r] <== overAfter[r] + quotient[r];
    }
}

// Steps 7 and 8 of the rule, counted slots and scores: `counted`, `clusterScores` and `scores` of
// consensusDecision, from the paid cluster values (GramValues by consensus, AdditiveValues by the
// reference, each through ToUncapped).
// - counted[k] = sum_l labelOf[k][l] kept[l]: slot k's cluster is kept.
// - clusterScore[r] = floor(value[r] / 2^(2F)) (0 for slots that are not kept, whose value is 0).
// - score[k] = counted[k] floor(clusterScore[l] / clusterSize[l]) for k's label l, < 2^SB (SB = 64,
//   SCORE_BITS of config.ts; a larger score makes the witness unsatisfiable, as the reference throws).
// Inputs as the other templates give them: kept from the caller (a kept slot is a capped
// representative, so its cluster size is at least 1), labelOf and clusterSize from Clusters
// (labelOf rows one-hot on candidates, zero elsewhere; clusterSize[l] <= K).
// Hints (inputs, as ClipFactor's sigmaHint, each proven): the quotient and remainder of each floor.
// Bounds (LOGK = clog2(K)): value[r] = q_r 2^(2F) + rem_r with rem_r in [0, 2^(2F)) and q_r in
// [0, 2^(VB - 2F)): the equation has a solution only for value[r] in [0, 2^VB) (so it is also the
// range check of the values ToUncapped requires), both sides are below 2^(VB + 1), far below p, so
// it holds over the integers and q_r is the floor. Split (per label l): clusterScore[l] = q'_l
// clusterSize[l] + rem'_l with q'_l in [0, 2^SB), rem'_l in [0, 2^LOGK) and, for kept l,
// clusterSize[l] - 1 - rem'_l in [0, 2^LOGK) (rem'_l < size, which needs size >= 1); both sides are
// below 2^(SB + LOGK + 1), so q'_l is the floor. For l not kept, q'_l = 0 is required (then
// clusterScore[l] = 0 forces rem'_l = 0): every hint is unique.
template ClusterScores(K, F, VB) {
    var LOGK = clog2(K);
    var SB = 64;
    assert(VB <= 252 && VB > 2 * F);
    // The paid cluster values, in [0, 2^VB) (0 for slots that are not kept).
    signal input value[K];
    // kept[r] = 1 iff representative r is kept (0/1, from the caller).
    signal input kept[K];
    // labelOf[k][l] = 1 iff slot l is the label of candidate k's cluster (Clusters' proven hint).
    signal input labelOf[K][K];
    // clusterSize[l] = number of slots labelled l, in [0, K] (Clusters' output).
    signal input clusterSize[K];
    // Hint: shiftQuotient[r] = floor(value[r] / 2^(2F)).
    signal input shiftQuotient[K];
    // Hint: shiftRemainder[r] = value[r] mod 2^(2F).
    signal input shiftRemainder[K];
    // Hint: splitQuotient[l] = floor(clusterScore[l] / clusterSize[l]) for kept l, else 0.
    signal input splitQuotient[K];
    // Hint: splitRemainder[l] = clusterScore[l] mod clusterSize[l] for kept l, else 0.
    signal input splitRemainder[K];
    // counted[k] = 1 iff slot k is a member of a kept cluster (status 1).
    signal output counted[K];
    // clusterScore[r] = floor(value[r] / 2^(2F)).
    signal output clusterScore[K];
    // score[k] = counted[k] * floor(clusterScore[label] / clusterSize[label]), in [0, 2^SB).
    signal output score[K];

    // shiftQuotientRange[r]: shiftQuotient[r] in [0, 2^(VB - 2F)).
    component shiftQuotientRange[K];
    // shiftRemainderRange[r]: shiftRemainder[r] in [0, 2^(2F)).
    component shiftRemainderRange[K];
    for (var r = 0; r < K; r++) {
        shiftQuotient[r] * (1 << (2 * F)) + shiftRemainder[r] === value[r];
        shiftQuotientRange[r] = RangeCheck(VB - 2 * F);
        shiftQuotientRange[r].in <== shiftQuotient[r];
        shiftRemainderRange[r] = RangeCheck(2 * F);
        shiftRemainderRange[r].in <== shiftRemainder[r];
        clusterScore[r] <== shiftQuotient[r];
    }

    // splitQuotientRange[l]: splitQuotient[l] in [0, 2^SB) (the score bound).
    component splitQuotientRange[K];
    // splitRemainderRange[l]: splitRemainder[l] in [0, 2^LOGK).
    component splitRemainderRange[K];
    // remainderGap[l] = kept[l] * (clusterSize[l] - 1 - splitRemainder[l]).
    signal remainderGap[K];
    // remainderGapRange[l]: remainderGap[l] in [0, 2^LOGK) (rem' < size for kept l).
    component remainderGapRange[K];
    for (var l = 0; l < K; l++) {
        splitQuotient[l] * clusterSize[l] + splitRemainder[l] === clusterScore[l];
        (1 - kept[l]) * splitQuotient[l] === 0;
        splitQuotientRange[l] = RangeCheck(SB);
        splitQuotientRange[l].in <== splitQuotient[l];
        splitRemainderRange[l] = RangeCheck(LOGK);
        splitRemainderRange[l].in <== splitRemainder[l];
        remainderGap[l] <== kept[l] * (clusterSize[l] - 1 - splitRemainder[l]);
        remainderGapRange[l] = RangeCheck(LOGK);
        remainderGapRange[l].in <== remainderGap[l];
    }

    // labelKept[k][l] = labelOf[k][l] * kept[l]: counted[k] is their sum.
    signal labelKept[K][K];
    // labelShare[k][l] = labelOf[k][l] * splitQuotient[l]: score[k] is their sum (splitQuotient is 0
    // for labels that are not kept, so the sum is counted[k] times the share of k's label).
    signal labelShare[K][K];
    for (var k = 0; k < K; k++) {
        var inKept = 0;
        var share = 0;
        for (var l = 0; l < K; l++) {
            labelKept[k][l] <== labelOf[k][l] * kept[l];
            inKept += labelKept[k][l];
            labelShare[k][l] <== labelOf[k][l] * splitQuotient[l];
            share += labelShare[k][l];
        }
        counted[k] <== inKept;
        // At most one label per row: the score is one splitQuotient (< 2^SB) or 0.
        score[k] <== share;
    }
}

// The whole consensus rule (steps 2 to 8; step 1's statuses and step 3's quorum come from the
// caller), in both modes: `counted`, `aggregated` and `scores` of consensusDecision, from the Gram
// matrix, the valid slots, the quorum flag and, when byReference = 1, the owner's reference
// (alignments, |v|^2, D), with every hint proven by the step templates above (so each output is the
// reference's for any accepted hints; `consensusHints` in consensus.ts computes them). Wiring:
// zero[k] = valid[k] * (G_kk = 0); NearDuplicatePairs on every pair; candidate = (valid - zero) *
// (1 - replay) * (byReference ? aligned : 1) (DeltaReplay, ReferenceAligned); NearDuplicateLinks on
// the candidates; Clusters (representatives, sizes, the proven labelling labelOf); LowerMedian of the representatives' G_rr (members = representatives,
// weights = cluster sizes by consensus, 1 by the reference; active = the quorum; its `on` also
// needs a representative); NormCap with on = active and cap2 =
// 4 or 9 (without a median there is no representative, see NormCap); ClipFactor per slot with
// on = capped; ConsensusKeep (two passes, on the clipped Gram matrix of the capped
// representatives); kept = ConsensusKeep's by consensus, every capped representative by the
// reference; cluster values GramValues or AdditiveValues; ClusterScores on the kept clusters.
// Bounds: the caller guarantees |G_ij| < 2^GB, 0 <= G_ii < 2^GB, |a_k| < 2^GB, |v|^2 in
// [0, 2^GB) and D < 2^32, as every step template requires; m2 is one of the G_rr, so it is in
// [0, 2^GB) as well; sigma is in [0, 2^F] (ClipFactor). The cluster values of both modes are
// below 2^(2F + GB + LOGK + 1) in size (GramValues, AdditiveValues).
template ConsensusRule(K, F, GB) {
    var KK = K * (K + 1) \ 2;
    var LOGK = clog2(K);
    // Gram matrix, upper triangle, row-major (`gramIndex`); signed, |G_ij| < 2^GB, 0 <= G_ii < 2^GB.
    signal input gram[KK];
    // valid[k] = 1 iff slot k is decoded, non-empty and has no duplicate commitment (0/1, from the
    // caller).
    signal input valid[K];
    // 1 iff the quorum is met: at least 2f + 3 valid slots (0/1, from the caller).
    signal input active;
    // 1 iff the rule judges by the owner's reference (it counts on chain; 0/1, from the caller).
    signal input byReference;
    // a_k = <u_k, v> (signed, |a_k| < 2^GB; ignored when byReference = 0).
    signal input alignment[K];
    // |v|^2, in [0, 2^GB) (ignored when byReference = 0).
    signal input referenceNorm;
    // b_k = <u_k, Delta>, Delta the last global delta (signed, |b_k| < 2^GB): the replay screen
    // (both modes) and the delta cap (by the reference).
    signal input deltaAlignment[K];
    // |Delta|^2, in [0, 2^GB).
    signal input deltaNorm;
    // <Delta, v> (signed, |<Delta, v>| < 2^GB).
    signal input deltaReference;
    // The model size D, in [0, 2^32).
    signal input size;
    // Hint (Clusters): labelOf[k][l] = 1 iff slot l is the label of candidate k's cluster.
    signal input labelOf[K][K];
    // Hint (Clusters): parentOf[k][p] = 1 iff p is k's parent in the BFS tree of its cluster.
    signal input parentOf[K][K];
    // Hint (Clusters): BFS depth of k from its label (0 for labels and other slots).
    signal input depth[K];
    // Hint (LowerMedian): one-hot flag of the median representative (all zero without a median).
    signal input medianSlot[K];
    // Hint (ClipFactor): the clip factor of each capped representative (0 for other slots).
    signal input sigmaHint[K];
    // The tolerated number of faulty slots f, in [0, 256): the top cap's pivot rank.
    signal input f;
    // Hints (the delta cap, CosineCap): the roots R_r, the one-hot median of cos(u_r, Delta), the
    // deductions and their remainders.
    signal input deltaRootHint[K];
    signal input deltaMedianHint[K];
    signal input deltaDeductionHint[K];
    signal input deltaRemainderHint[K];
    // Hints (the top cap, CosineCap): the roots floor(sqrt(G_rr |v|^2)), the one-hot (f + 1)-th
    // highest cos(u_r, v), the deductions and their remainders.
    signal input topRootHint[K];
    signal input topPivotHint[K];
    signal input topDeductionHint[K];
    signal input topRemainderHint[K];
    // Hints (ToUncapped): the factor of the uncapped players' pay and its remainder, and the
    // quotient and remainder of each one's pay times it over 2^P.
    signal input uncappedFactor;
    signal input uncappedFactorRemainder;
    signal input uncappedQuotient[K];
    signal input uncappedRemainder[K];
    // Hints (ClusterScores): quotient and remainder of each cluster value's shift by 2^(2F).
    signal input shiftQuotient[K];
    signal input shiftRemainder[K];
    // Hints (ClusterScores): quotient and remainder of each kept cluster's score split over its size.
    signal input splitQuotient[K];
    signal input splitRemainder[K];
    // counted[k] = 1 iff slot k is a member of a kept cluster (status 1).
    signal output counted[K];
    // aggregated[k] = 1 iff slot k is a kept representative (the aggregation mask).
    signal output aggregated[K];
    // score[k] = slot k's share of its kept cluster's score (0 for other slots), in [0, 2^64).
    signal output score[K];

    // norm2[k] = G_kk (a wire, for the templates taking the diagonal).
    signal norm2[K];
    // isZero[k].out = 1 iff G_kk = 0.
    component isZero[K];
    // zero[k] = valid[k] * isZero[k].out: a valid zero update, neither counted nor paid.
    signal zero[K];
    // fresh[k] = nonZero[k] * (1 - replay[k]): valid, non-zero and no replay of Delta.
    signal fresh[K];
    // referenceGate[k] = byReference * admitted[k]: the reference's verdict (aligned, not vetoed) when it judges.
    signal referenceGate[K];
    // candidate[k] = fresh[k] * (1 - byReference + referenceGate[k]): valid, non-zero, no replay
    // and (by the reference) aligned: the slots that are clustered.
    signal candidate[K];
    // Step 2: the near-duplicate test on every pair (the replay screen and the clusters read it).
    component pairs = NearDuplicatePairs(K, GB);
    pairs.gram <== gram;
    // nonZero[k] = valid[k] - zero[k]: valid with G_kk > 0.
    signal nonZero[K];
    // Step 2'': replays of the last global delta, in both modes.
    component replays = DeltaReplay(K, GB);
    replays.deltaAlignment <== deltaAlignment;
    replays.deltaNorm <== deltaNorm;
    replays.near <== pairs.near;
    // Step 2': alignment with the reference by the margin.
    component aligned = ReferenceAligned(K, GB);
    aligned.alignment <== alignment;
    aligned.referenceNorm <== referenceNorm;
    aligned.size <== size;
    for (var k = 0; k < K; k++) {
        norm2[k] <== gram[gramIndex(k, k, K)];
    }
    aligned.norm2 <== norm2;
    replays.norm2 <== norm2;
    // Whether the last global delta is a step to judge by (the veto and the delta cap read it).
    component helping = HelpingStep(GB);
    helping.deltaNorm <== deltaNorm;
    helping.deltaReference <== deltaReference;
    helping.on <== byReference;
    // Step 2'v: the last global delta's veto on the aligned slots, when the last step helps.
    component veto = DeltaVeto(K, GB);
    veto.deltaAlignment <== deltaAlignment;
    veto.norm2 <== norm2;
    veto.deltaNorm <== deltaNorm;
    veto.aligned <== aligned.aligned;
    veto.helps <== helping.helps;
    for (var k = 0; k < K; k++) {
        isZero[k] = IsZero();
        isZero[k].in <== norm2[k];
        zero[k] <== valid[k] * isZero[k].out;
        nonZero[k] <== valid[k] - zero[k];
    }
    replays.nonZero <== nonZero;
    for (var k = 0; k < K; k++) {
        fresh[k] <== nonZero[k] * (1 - replays.replay[k]);
        referenceGate[k] <== byReference * veto.admitted[k];
        candidate[k] <== fresh[k] * (1 - byReference + referenceGate[k]);
    }

    // Step 2: the near-duplicate relation on the candidates and its clusters.
    component links = NearDuplicateLinks(K);
    links.near <== pairs.near;
    links.candidate <== candidate;
    component clusters = Clusters(K);
    clusters.linked <== links.linked;
    clusters.candidate <== candidate;
    clusters.labelOf <== labelOf;
    clusters.parentOf <== parentOf;
    clusters.depth <== depth;

    // Step 4: the lower median of the representatives' squared norms, each weighted by its
    // cluster's size by consensus and counted once by the reference (4'), and the norm cap (4 by
    // consensus, 9 by the reference).
    // medianWeight[k] = clusterSize[k] + byReference * (representative[k] - clusterSize[k]).
    signal medianWeight[K];
    for (var k = 0; k < K; k++) {
        medianWeight[k] <== clusters.clusterSize[k] + byReference * (clusters.representative[k] - clusters.clusterSize[k]);
    }
    component median = LowerMedian(K, GB);
    median.norm2 <== norm2;
    median.member <== clusters.representative;
    median.weight <== medianWeight;
    median.active <== active;
    median.medianSlot <== medianSlot;
    component cap = NormCap(K, GB);
    cap.norm2 <== norm2;
    cap.representative <== clusters.representative;
    cap.m2 <== median.m2;
    cap.on <== active;
    cap.cap2 <== consensusCap2() + byReference * (consensusReferenceCap2() - consensusCap2());

    // Step 5: the clip factors of the capped representatives (0 elsewhere).
    component clip[K];
    for (var k = 0; k < K; k++) {
        clip[k] = ClipFactor(F, GB);
        clip[k].g <== norm2[k];
        clip[k].m2 <== median.m2;
        clip[k].on <== cap.capped[k];
        clip[k].sigmaHint <== sigmaHint[k];
    }

    // Step 6: the two-pass consensus test on the clipped Gram matrix; by the reference (6') every
    // capped representative is kept.
    component keep = ConsensusKeep(K, F, GB);
    keep.gram <== gram;
    for (var k = 0; k < K; k++) {
        keep.sigma[k] <== clip[k].sigma;
    }
    keep.capped <== cap.capped;
    keep.weight <== clusters.clusterSize;
    // kept[k] = keep.kept[k] + byReference * (capped[k] - keep.kept[k]).
    signal kept[K];
    for (var k = 0; k < K; k++) {
        kept[k] <== keep.kept[k] + byReference * (cap.capped[k] - keep.kept[k]);
    }

    // Step 8'': by the reference, the delta cap on the kept players' alignments.
    component deltaCap = CosineCap(K, GB, 1, 1, 0);
    deltaCap.value <== alignment;
    deltaCap.along <== deltaAlignment;
    deltaCap.norm2 <== norm2;
    deltaCap.alongNorm <== deltaNorm;
    deltaCap.weight <== deltaReference;
    deltaCap.kept <== kept;
    deltaCap.on <== helping.helps;
    deltaCap.f <== 0;
    deltaCap.rootHint <== deltaRootHint;
    deltaCap.pivotHint <== deltaMedianHint;
    deltaCap.deductionHint <== deltaDeductionHint;
    deltaCap.remainderHint <== deltaRemainderHint;

    // Step 8''': by the reference, the top cap on what the delta cap left: nobody kept is paid more
    // per unit of norm than topNum / topDen times the (f + 1)-th highest kept cosine with v (with v
    // = 0 nobody is aligned, so nobody is kept and the cap does not apply).
    component topCap = CosineCap(K, GB, consensusTopNum(), consensusTopDen(), 1);
    topCap.value <== deltaCap.capped;
    topCap.along <== alignment;
    topCap.norm2 <== norm2;
    topCap.alongNorm <== referenceNorm;
    topCap.weight <== referenceNorm;
    topCap.kept <== kept;
    topCap.on <== byReference;
    topCap.f <== f;
    topCap.rootHint <== topRootHint;
    topCap.pivotHint <== topPivotHint;
    topCap.deductionHint <== topDeductionHint;
    topCap.remainderHint <== topRemainderHint;

    // Step 8's cluster values: by consensus the clipped alignment with the other kept clusters, by
    // the reference the additive game's value (8') of the capped alignments (|a''| < 2^(GB + 2) +
    // 2^(GB + 4): the top cap's quotient is range-checked to GB + 1 + 3 bits).
    component gramValues = GramValues(K, 2 * F + GB);
    gramValues.h <== keep.h;
    gramValues.kept <== kept;
    component additiveValues = AdditiveValues(K, F, GB + 5);
    for (var k = 0; k < K; k++) {
        additiveValues.sigma[k] <== clip[k].sigma;
    }
    additiveValues.alignment <== topCap.capped;
    additiveValues.kept <== kept;
    // value[k] = gramValues + byReference * (additiveValues - gramValues).
    signal value[K];
    for (var k = 0; k < K; k++) {
        value[k] <== gramValues.value[k] + byReference * (additiveValues.value[k] - gramValues.value[k]);
    }

    // Step 8'''': what the top cap took is paid to the kept players it did not cap (by consensus
    // nobody is capped: the clamp max(0, value)). The values before the top cap: the additive values
    // of the delta-capped alignments (|a'| < 2^(GB + 2)).
    component beforeValues = AdditiveValues(K, F, GB + 2);
    for (var k = 0; k < K; k++) {
        beforeValues.sigma[k] <== clip[k].sigma;
    }
    beforeValues.alignment <== deltaCap.capped;
    beforeValues.kept <== kept;
    component toUncapped = ToUncapped(K, 2 * F + GB + LOGK + 3, consensusUncappedBits());
    toUncapped.value <== value;
    toUncapped.before <== beforeValues.value;
    toUncapped.deduction <== topDeductionHint;
    toUncapped.factor <== uncappedFactor;
    toUncapped.factorRemainder <== uncappedFactorRemainder;
    toUncapped.quotient <== uncappedQuotient;
    toUncapped.remainder <== uncappedRemainder;

    // Steps 7 and 8: counted members, cluster scores and their split (the shift range-checks the
    // paid values, as ToUncapped requires: they are at most the sum of the kept values before the top cap).
    component scores = ClusterScores(K, F, 2 * F + GB + 2 * LOGK + 3);
    scores.value <== toUncapped.paid;
    scores.kept <== kept;
    scores.labelOf <== labelOf;
    scores.clusterSize <== clusters.clusterSize;
    scores.shiftQuotient <== shiftQuotient;
    scores.shiftRemainder <== shiftRemainder;
    scores.splitQuotient <== splitQuotient;
    scores.splitRemainder <== splitRemainder;

    counted <== scores.counted;
    aggregated <== kept;
    score <== scores.score;
}
