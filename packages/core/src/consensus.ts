/**
 * The consensus rule: who is counted, who is aggregated and what each slot scores, from the Gram
 * matrix alone (issue 12, stage 1; docs/SCORING.md, "The consensus rule"). It is the proven rule:
 * the decision circuit checks exactly this (`ConsensusRule` in circuits/consensus.circom), and
 * `simulateRound` decides every round with it. It replaced Multi-Krum (now only the fairness
 * benchmark's baseline, in @fedmarket/testkit).
 *
 * Why these steps (each closes one way to gain without contributing):
 * - Multi-Krum always drops `f` slots, so it drops honest trainers (a large, valuable update
 *   looks like an outlier) and keeps exact copies (distance 0). Here nobody is dropped for being
 *   large: an update is an outlier only if it is far larger than the median one or does not point
 *   with the others.
 * - Near-duplicates (cosine >= 19/20) form one cluster, which is one player in the median, the
 *   consensus test and the aggregate (only its lowest slot is aggregated), and its members split one
 *   score. Sending one update from several identities gains nothing. (The quorum alone counts slots:
 *   copies must not be able to make a round inactive, see step 3.)
 * - Sizes above the median do not count: every update is clipped to the median norm before it is
 *   tested or scored, so inflating an update gains nothing once it is at the median. Below it, the
 *   size is paid (an honest update grows with its data): scaling by `x` multiplies that round's pay
 *   by `min(x, M / |u|)`, which only the later rounds' damage takes back (docs/THREAT-MODEL.md row 23).
 * - Robustness counts slots, pay counts clusters: the median and the consensus test weigh each
 *   cluster by its members (copies move them no more than as many distinct updates would, and
 *   honest trainers with near-identical updates are not merged into one vote), while the aggregate
 *   and the scores take each cluster once.
 *
 * Steps, on integer Gram entries `G_ij = <u_i, u_j>` (exactly what the chunk proofs accumulate):
 * 1. Statuses of today's rule: empty (`c_k = 0`), excluded (not decoded), duplicate commitment.
 *    Valid = none of them. A valid zero update (`G_kk = 0`) is neither counted nor paid.
 * 2''. A replay of the last global delta `Delta` (the step committed with the round's model; the
 *    proofs carry `b_k = <u_k, Delta>` and `N = |Delta|^2`) is neither counted nor paid. An update
 *    *follows* `Delta` when `b_k > 0` and `REPLAY_DEN^2 b_k^2 >= REPLAY_NUM^2 G_kk N` (cosine >= 99/100),
 *    and is a replay when it follows `Delta` and is no near-duplicate (step 2's relation) of a valid,
 *    non-zero update that does not. `Delta` is public before the round opens, so sending it back
 *    contributes nothing, and with `v` it would still lower the owner's validation loss (the
 *    benchmark's free rider took 0.062 of the rewards through the delta cap's median allowance).
 *    The exception is for honest work where the steps barely turn: when every update is a
 *    near-duplicate of every other (IID data), `Delta` is the one cluster's representative, whose
 *    next update follows it; a fresh near-duplicate shows it is such work, and then it joins that
 *    cluster and splits its one score, so an attacker gains nothing from the exception a noisy
 *    replay would not get anyway. Noisier copies are paid through step 8'' at most a median
 *    update's following of `Delta`. In both modes: the chunk proofs accumulate `b_k` with or
 *    without `v`.
 * 2. Candidates = valid, non-zero, no replay. `i ~ j` (i != j candidates) iff `G_ij > 0` and
 *    `DUP_DEN^2 G_ij^2 >= DUP_NUM^2 G_ii G_jj`. Clusters = connected components of `~`; a cluster's
 *    representative is its lowest slot (hints: `label`, `parent`, `depth`).
 * 3. Quorum: with fewer than `consensusQuorum(f) = 2f + 3` valid slots nobody is counted (by the
 *    reference, 3': `roundQuorum(f) = max(3, 2f + 1)`, an honest majority, see screen.ts). It
 *    counts valid slots, zeros, replays and copies included, so that submitting zeros or copies can never
 *    make a round inactive (an inactive round's reward is split equally among the valid
 *    slots, which would pay the zeros and copies).
 * 4. `M2` = lower median of the candidates' norms, each cluster counted once per member (its
 *    representative's `G_rr` at rank `floor((N - 1) / 2)`, `N` the number of candidates, in the
 *    order of the key `G_rr * K + r`; hint `medianSlot`). Capped = representatives with
 *    `G_rr <= CAP2 * M2`.
 * 5. Clip factor of a capped representative: `sigma_r = min(2^F, floor(2^F sqrt(M2 / G_rr)))`,
 *    the largest integer `<= 2^F` with `sigma_r^2 G_rr <= 2^(2F) M2`. Clipped Gram:
 *    `H_ij = sigma_i sigma_j G_ij` (scale `2^(2F)`).
 * 6. Consensus test, with at least 3 capped slots (members of capped clusters). Votes are slots:
 *    a capped representative votes with its cluster's size `w_j` (copies and near-duplicates are
 *    one player in the median's order, the aggregate and the pay, but every slot has one vote, as
 *    many as distinct updates from the same identities would have). `r` agrees with voters `V` iff
 *    `dot_r = sum_{j in V} w_j H_rj - [r in V] H_rr > 0` and `TAU_DEN^2 dot_r^2 >= TAU_NUM^2 H_rr O_r`,
 *    `O_r = sum_{i, j in V} w_i w_j H_ij - [r in V] (2 dot_r + H_rr)`: the cosine of its clipped
 *    update with the sum of the other voting slots' clipped updates (one slot of r's own cluster
 *    removed) is at least `TAU_NUM / TAU_DEN`. Without weights, honest trainers whose updates are
 *    near-duplicates would be one vote against each attacker's (measured: six honest slots outvoted
 *    by two sign-flipped ones). First pass: every capped
 *    representative votes; second pass (the result): those that agreed in the first. Two
 *    sign-flipped updates pull the first pass's sum away from the small honest updates (measured:
 *    up to four honest slots dropped in a round, 11 points of accuracy lost); against the first
 *    pass's survivors they are back in.
 * 7. Aggregated (the mask) = kept representatives; counted (status 1) = every member of a kept
 *    cluster; everything else valid is status 2.
 * 8. Cluster score of kept `r`: `floor(max(0, sum_{j kept, j != r} H_rj) / 2^(2F))`: its clipped
 *    update's alignment with the other kept clusters' clipped updates. Each member scores
 *    `floor(cluster score / cluster size)`; every other slot 0. Scores must be `< 2^64`.
 *
 * With the owner's reference `v` (issue 12, stage 2: the reference counts on chain, so the round
 * proofs carry `a_k = <u_k, v>` and `|v|^2`, docs/SCORING.md "Ninth round"), the rule judges by `v`
 * instead of by consensus, which fails where honest updates disagree (non-IID data, a model near a
 * stationary point of the trainers' losses) and which copies can sway:
 * 2'. Candidates are also aligned with `v` by a margin: `a_k > 0` and
 *    `a_k^2 D > MARGIN^2 G_kk |v|^2` (`cos(u_k, v) > MARGIN / sqrt(D)`; noise has cosine
 *    `~ +-1/sqrt(D)` with anything, so 4 standard deviations of it keep noise out). Everything
 *    else valid is status 2. (`|v|^2 = 0`: nobody is aligned, nobody counted, and the reward is
 *    split equally among the valid slots: a useless reference never returns it to the owner.)
 * 2'v. The last step's veto (docs/SCORING.md, twenty-first round): when `N > 0` and `<Delta, v> > 0`
 *    (the last global delta helps by the owner's own reference), an aligned slot is still not a
 *    candidate when it points against `Delta`: `b_k < 0` and `den^2 b_k^2 >= num^2 G_kk N`
 *    (`params.veto`, cosine <= -1/10). The margin alone let flipped updates in when their honest
 *    counterparts pointed a little against `v` (label flips on two seeds, a sign flip on one); each
 *    pointed against the trainers' last common step (cosine -0.33 to -0.54), while no honest update
 *    of the benchmark came within 0.08 of the veto. `Delta` is the last round's counted updates, so
 *    a coalition counted then could push it against another trainer's next update; the cosine of
 *    -1/10 keeps that push large, and the benchmark's steering attacker, which knows its victim's
 *    update, never had the victim left out and was itself vetoed in most rounds (THREAT-MODEL row 24).
 * 4'. The median counts each cluster once (the lower median of the representatives' `G_rr`: no
 *    vote needs slot weights here, and with them a cluster of copies below the median pulled the
 *    clip level down for everyone, so copies gained), and the norm cap is `G_rr <= REF_CAP2 * M2`
 *    (3x the median norm: the consensus test no longer backs it up, and the benchmark measured 3x).
 * 6'. No consensus test: the capped representatives are kept.
 * 8'. Scores: each kept cluster's own term of the additive game `U(T) = <v, sum of T's clipped
 *    updates>`, `b_r = sigma_r a''_r` (scale `2^F`; `a''_r` from 8'' and 8'''): the game is additive, so its
 *    Shapley value gives every player exactly its own term, the first-order decrease of the owner's
 *    validation loss along its clipped update. The cluster sum `max(0, 2^F b_r)` is on the Gram
 *    rule's scale `2^(2F)`, and steps 7-8 shift and split it exactly as before. (Until the
 *    thirteenth round the game was on the mean of T's updates, `phi_r = (H_n / n) b_r - (H_n - 1) /
 *    (n (n - 1)) (B - b_r)`: its negative intercept paid nothing below about two thirds of the
 *    average `b`, so an honest update near that line gained several times its pay by inflating,
 *    and one below it earned nothing for positive work; docs/SCORING.md "Thirteenth round".)
 * 8''. The delta cap, before the pay (docs/SCORING.md "Third round"; the proofs carry the last global
 *    delta `Delta`, the step committed with the round's model, and every `b_k = <u_k, Delta>`,
 *    `N = |Delta|^2`, `delta = <Delta, v>`). A noisy replay of `Delta` lowers the owner's validation
 *    loss about as much as an honest update does, so `a_k` alone pays it. When `N > 0` and
 *    `delta > 0` (following `Delta` helps) and players are kept: `R_r = floor(sqrt(G_rr N))` (so
 *    `b_r / R_r` is `cos(u_r, Delta)`; `|b_r| <= R_r` by Cauchy-Schwarz), `mu` = the kept player at the
 *    lower median of that cosine (each cluster once, so copies cannot move it; ordered by
 *    `b_r R_s` against `b_s R_r`, ties by slot), and
 *    `a'_r = a_r - floor(max(0, b_r R_mu - b_mu R_r) delta / (R_mu N))`: the part of `a_r` that comes
 *    from following `Delta` closer than the median player (`(cos_r - cos_mu) |u_r| <Delta^, v>`) is
 *    removed. A replay earns at most what a median update of its size earns from `Delta`, and
 *    nothing for its noise; an honest update that follows `Delta` no closer than the median one is
 *    unchanged. Step 8''' then caps `a'_r` from the top. (`|a_r - a'_r| < 2^(GB + 1)`: the
 *    deduction is at most `2 |u_r| |v|`.)
 * 8'''. The top cap, after the delta cap (docs/SCORING.md "Twenty-fifth round"; `params.topCap`,
 *    5/4). The owner sets `v`, so it sets every cosine: a `v` built for its own identities (or told
 *    them) pays them several honest shares while the honest work is still aggregated (THREAT-MODEL
 *    row 21). When players are kept: `R_r = floor(sqrt(G_rr |v|^2))`, `p` = the kept player at the
 *    `(f + 1)`-th highest `cos(u_r, v) = a_r / R_r` (rank `max(0, n - 1 - f)` from the bottom, each
 *    cluster once, ties by slot), and `a''_r = a'_r - floor(max(0, 4 a_r R_p - 5 a_p R_r) / (4 R_p))`:
 *    what `r`'s cosine exceeds over 5/4 of the pivot's is not paid (`cosineCap`, the delta cap's
 *    computation with `v` in the place of `Delta`). A coalition of at most `f` kept players cannot
 *    lift the pivot above a non-member's cosine, so its rate is held to 5/4 of an honest player's;
 *    a coalition that sends low cosines cannot lower it (the pivot counts from the top), so it cannot
 *    cap others; an honest spread within 5/4 of the `(f + 1)`-th is untouched. Step 8' then pays
 *    `b_r = sigma_r a''_r`. (The deduction is at most `a_r`, since every kept `a_p > 0`.)
 * 8''''. What the top cap takes goes to the players it does not cap (docs/SCORING.md twenty-seventh
 *    round; `params.toUncappedBits`, `P = 16`). The contract splits a round's reward in proportion
 *    to the scores, so a deduction split nowhere would go to every kept player in proportion: the
 *    owner's identities under a crafted `v` then collected the honest leaders' deductions (2.29
 *    honest shares on nine seeds, measured). Over the cap = a top-cap deduction `> 0`; with `x_r`
 *    the pay before the top cap (`2^F sigma_r a'_r`) and `y_r` after it (`2^F sigma_r a''_r`),
 *    `pot = sum over the capped of max(0, x_r) - max(0, y_r)`, `H = sum over the others of
 *    max(0, y_r)`, `factor = floor(2^P (H + pot) / max(H, 1))`: a capped player's value is
 *    `max(0, y_r)`, every other's `floor(max(0, y_r) factor / 2^P)` (`uncappedShares`). Nobody
 *    capped: the factor is `2^P` and nothing changes. The owner's identities, at the cap, are paid
 *    out of the untopped total, so a crafted `v` buys them less than honest work (0.68 honest
 *    shares); what a capped honest leader loses goes to the other honest players first.
 * Each step closes the same ways to gain as in the Gram rule: a copy is one player, a large update
 * is clipped to the median, an update that does not lower the owner's validation loss is not
 * counted, a replay of the last step is neither counted nor paid (in both modes), and a noisier
 * copy of it is paid as a median update's following of it. What `v` lets a dishonest owner do is in
 * docs/THREAT-MODEL.md (row 21).
 */
import { CONSENSUS_CLIP_BITS, CONSENSUS_UNCAPPED_BITS, SCORE_BITS } from "./config.ts";
import { isReplay, REPLAY_DEN, REPLAY_NUM } from "./replay.ts";
import { consensusQuorum, roundQuorum, screenSlots, slotStatuses, type DecisionInput } from "./screen.ts";
import { type SlotStatus } from "./slot-status.ts";

/** The rule's constants (rational thresholds compared in integers; see the file header). */
export interface ConsensusParams {
  /** Near-duplicate cosine `dupNum / dupDen`. */
  readonly dupNum: bigint;
  readonly dupDen: bigint;
  /** Norm cap squared: outlier if `G_rr > cap2 * M2`. */
  readonly cap2: bigint;
  /** Consensus cosine `tauNum / tauDen`. */
  readonly tauNum: bigint;
  readonly tauDen: bigint;
  /** Fixed-point bits `F` of the clip factors. */
  readonly clipBits: number;
  /** With the reference: the margin squared, aligned iff `a_k > 0` and `a_k^2 D > marginSq G_kk |v|^2`. */
  readonly marginSq: bigint;
  /** With the reference: the norm cap squared (outlier if `G_rr > referenceCap2 * M2`). */
  readonly referenceCap2: bigint;
  /** Replay cosine `replayNum / replayDen`: a replay iff `b_k > 0` and `replayDen^2 b_k^2 >= replayNum^2 G_kk N` (step 2''). */
  readonly replayNum: bigint;
  readonly replayDen: bigint;
  /**
   * Step 2'v (proven at cosine -1/10). With the reference, when the last global delta is non-zero
   * and helps: a slot aligned with `v` is still not admitted when it points against `Delta` by a
   * fixed cosine (`b_k < 0` and `den^2 b_k^2 >= num^2 G_kk N`, cosine <= -num / den). Omitted: no
   * veto (the rule before the twenty-first round, docs/SCORING.md).
   */
  readonly veto?: { readonly num: bigint; readonly den: bigint };
  /**
   * Step 8''' (proven at 5/4, docs/SCORING.md twenty-fifth round). By the reference: no kept player
   * is paid a higher alignment per unit of norm than `num / den` times the `(f + 1)`-th highest kept
   * player's (`cosineCap` along `v`, pivot `"top"`). Omitted: no cap (the rule before that round).
   */
  readonly topCap?: { readonly num: bigint; readonly den: bigint };
  /**
   * Step 8'''' (docs/SCORING.md twenty-seventh round): what the top cap takes from the pay is paid to
   * the kept players it does not cap, in proportion to their pay, through a factor with this many
   * fixed-point bits (`uncappedShares`). Omitted: what the cap takes is split over every kept
   * player in proportion by the contract's split of the round's reward (the rule before that round).
   */
  readonly toUncappedBits?: number;
}

/**
 * The constants the benchmark measured (docs/SCORING.md): near-duplicates at cosine 0.95, norm cap
 * 2 x the median norm (honest updates reached at most 1.53 x it in the benchmark's runs), consensus
 * cosine 0.03 (noise has cosine ~ 1/sqrt(D) with anything), 16-bit clip factors.
 */
export const CONSENSUS_PARAMS: ConsensusParams = {
  dupNum: 19n,
  dupDen: 20n,
  cap2: 4n,
  tauNum: 3n,
  tauDen: 100n,
  clipBits: CONSENSUS_CLIP_BITS,
  marginSq: 16n,
  referenceCap2: 9n,
  replayNum: REPLAY_NUM,
  replayDen: REPLAY_DEN,
  veto: { num: 1n, den: 10n },
  topCap: { num: 5n, den: 4n },
  toUncappedBits: CONSENSUS_UNCAPPED_BITS,
};

/** What the round proofs carry about the owner's reference when it counts on chain. */
export interface ReferenceStats {
  /** `a_k = <u_k, v>` of every slot (0 for slots not decoded). */
  readonly alignment: readonly bigint[];
  /** `|v|^2` over the model's parameters. */
  readonly norm2: bigint;
  /** The model size `D` (the chunk proofs' `size`). */
  readonly size: number;
}

/** What the round proofs carry about the last global delta `Delta` (the step committed with the model). */
export interface DeltaStats {
  /** `b_k = <u_k, Delta>` of every slot (0 for slots not decoded). */
  readonly alignment: readonly bigint[];
  /** `N = |Delta|^2`. */
  readonly norm2: bigint;
  /** `<Delta, v>` (0 without a reference: only the delta cap, by the reference, reads it). */
  readonly reference: bigint;
}

/**
 * Inputs of the consensus decision (`f` sets the quorum only: `2f + 3`, or `max(3, 2f + 1)` by the reference). With `reference` the rule
 * judges by the owner's reference (the steps marked ' in the file header); without it by consensus.
 */
export interface ConsensusInput extends DecisionInput {
  readonly reference?: ReferenceStats;
  /** The last global delta's statistics (steps 2'' and 8''); omitted: `Delta = 0`, no replay, nothing capped. */
  readonly delta?: DeltaStats;
}

/** The decision plus every hint the circuit checks. */
export interface ConsensusResult {
  readonly status: SlotStatus[];
  readonly empty: boolean[];
  /** Effective exclusion flags (`excluded && !empty`). */
  readonly excluded: boolean[];
  readonly duplicate: boolean[];
  /** Decoded, non-empty, no duplicate commitment. */
  readonly valid: boolean[];
  /** Valid with `G_kk = 0`. */
  readonly zero: boolean[];
  /** Valid replays of the last global delta: `cos(u_k, Delta) >= replayNum / replayDen` (step 2''). */
  readonly replay: boolean[];
  /** Whether the rule judged by the owner's reference (`input.reference` given). */
  readonly byReference: boolean;
  /** Valid and aligned with the reference by the margin (all false without a reference): who may be paid. */
  readonly aligned: boolean[];
  /** Valid and admitted to the candidates by the reference: aligned and not vetoed (step 2'v). */
  readonly admitted: boolean[];
  /** Valid, non-zero, no replay (and admitted, by the reference): the slots that are clustered. */
  readonly candidate: boolean[];
  /** `linked[i][j]`: `i ~ j` (near-duplicates; symmetric, false on the diagonal). */
  readonly linked: boolean[][];
  /** Hint: the lowest slot of each candidate's cluster (-1 for other slots). */
  readonly label: number[];
  /** Hint: a linked slot one step closer to the label in a BFS tree (-1 for labels and other slots). */
  readonly parent: number[];
  /** Hint: BFS depth from the label (0 for labels and other slots). */
  readonly depth: number[];
  /** Candidates that are their cluster's label. */
  readonly representative: boolean[];
  /** Size of each candidate's cluster (0 for other slots). */
  readonly clusterSize: number[];
  /** Number of valid slots (the quorum counts them). */
  readonly validCount: number;
  /** Number of clusters. */
  readonly n: number;
  /** `validCount >= consensusQuorum(f)`, or `>= roundQuorum(f)` by the reference. */
  readonly active: boolean;
  /** Hint: the representative holding the lower median norm (-1 when inactive or without representatives). */
  readonly medianSlot: number;
  /** `M2` (0 when inactive). */
  readonly medianNorm2: bigint;
  /** Representatives within the norm cap (none when inactive). */
  readonly capped: boolean[];
  /** Clip factors `sigma_k` of capped representatives (0 for other slots). */
  readonly clip: bigint[];
  /** Whether the consensus test ran (at least 3 capped slots: members of capped clusters; never by the reference). */
  readonly tested: boolean;
  /** Hint: capped representatives that passed the first pass of the consensus test (its voters in the second). */
  readonly firstPass: boolean[];
  /** Representatives kept by the consensus test: the aggregation mask. */
  readonly aggregated: boolean[];
  /** Members of kept clusters: status 1. */
  readonly counted: boolean[];
  /** Whether the delta cap applied (step 8'': by the reference, `N > 0`, `<Delta, v> > 0`, players kept). */
  readonly deltaCapped: boolean;
  /** Hint: `R_r = floor(sqrt(G_rr N))` of each kept representative when the cap applies (0 elsewhere). */
  readonly deltaRoot: bigint[];
  /** Hint: the kept representative at the lower median of `cos(u_r, Delta)` (-1 when the cap does not apply). */
  readonly deltaMedianSlot: number;
  /** Hint: each kept representative's deduction `floor(max(0, b_r R_mu - b_mu R_r) <Delta, v> / (R_mu N))` (0 elsewhere). */
  readonly deltaDeduction: bigint[];
  /** Hint: the remainder of that floor (0 elsewhere). */
  readonly deltaRemainder: bigint[];
  /** `a'_r = a_r - deduction`: the delta-capped alignment (by the reference; 0 elsewhere). */
  readonly cappedAlignment: bigint[];
  /** Whether the top cap applied (step 8''': by the reference with `params.topCap`, players kept). */
  readonly topCapped: boolean;
  /** Hint: `floor(sqrt(G_rr |v|^2))` of each kept representative when the top cap applies (0 elsewhere). */
  readonly topRoot: bigint[];
  /** Hint: the kept representative at the `(f + 1)`-th highest `cos(u_r, v)` (-1 when the top cap does not apply). */
  readonly topPivotSlot: number;
  /** Hint: each kept representative's top-cap deduction (0 elsewhere). */
  readonly topDeduction: bigint[];
  /** Hint: the remainder of that floor (0 elsewhere). */
  readonly topRemainder: bigint[];
  /** `a''_r = a'_r - top-cap deduction`: the alignment step 8' pays (by the reference; 0 elsewhere). */
  readonly paidAlignment: bigint[];
  /**
   * Step 8'''' (hints; by consensus and without `params.toUncappedBits` nobody is over the cap, the pot is
   * 0 and the factor `2^P` or 0, so every value passes unchanged): kept representatives the top cap
   * deducts from (`topDeduction > 0`).
   */
  readonly overTop: boolean[];
  /** What the top cap took from their pay: `sum over overTop of max(0, before) - max(0, after)` (value scale). */
  readonly topPot: bigint;
  /** `H`: the other kept representatives' pay, `sum max(0, after)`. */
  readonly uncappedTotal: bigint;
  /** Hint: `floor(2^P (H + pot) / max(H, 1))`. */
  readonly uncappedFactor: bigint;
  /** Hint: the remainder of that floor. */
  readonly uncappedFactorRemainder: bigint;
  /** Hint: `floor(max(0, after_r) factor / 2^P)` of each kept representative not over the cap (0 elsewhere). */
  readonly uncappedQuotient: bigint[];
  /** Hint: the remainder of that floor (0 elsewhere). */
  readonly uncappedRemainder: bigint[];
  /**
   * The pre-shift cluster value of each kept representative (0 for other slots): `max(0, sum_{j
   * kept, j != r} H_rj)`, or by the reference `max(0, 2^F b_r)`, paid up by step 8'''' when the
   * top cap took from others.
   */
  readonly clusterSums: bigint[];
  /** Score of each kept representative's cluster, `clusterSums >> 2F` (0 for other slots). */
  readonly clusterScores: bigint[];
  /** Each slot's score: its cluster's score split over the members. */
  readonly scores: bigint[];
}

/** Runs the consensus decision (statuses, clusters, median, clip, consensus test, scores). */
export function consensusDecision(input: ConsensusInput, params: ConsensusParams = CONSENSUS_PARAMS): ConsensusResult {
  const { commitments, gram, f } = input;
  const k = commitments.length;
  if (input.excluded.length !== k || gram.length !== k || gram.some((row) => row.length !== k)) {
    throw new RangeError("slot count mismatch");
  }
  if (!Number.isInteger(f) || f < 0 || f > 255) throw new RangeError(`f ${f} must be in [0, 255]`);
  const G = (i: number, j: number): bigint => (gram[i] as readonly bigint[])[j] as bigint;
  const slots = [...Array(k).keys()];

  // 1. today's statuses
  const { empty, excluded, duplicate, valid } = screenSlots(commitments, input.excluded);
  const zero = slots.map((i) => valid[i] === true && G(i, i) === 0n);
  // 2''. replays of the last global delta (in both modes), unless a near-duplicate of a fresh update
  const delta = input.delta;
  if (delta !== undefined && delta.alignment.length !== k) throw new RangeError("slot count mismatch");
  const { dupNum, dupDen } = params;
  // Cosine >= dupNum / dupDen (the near-duplicate relation of step 2, on any two slots).
  const near = (i: number, j: number): boolean => {
    const g = G(i, j);
    return g > 0n && dupDen * dupDen * g * g >= dupNum * dupNum * G(i, i) * G(j, j);
  };
  const follows = slots.map(
    (i) =>
      delta !== undefined &&
      valid[i] === true &&
      !zero[i] &&
      isReplay(delta.alignment[i] as bigint, G(i, i), delta.norm2, params.replayNum, params.replayDen),
  );
  const fresh = (j: number): boolean => valid[j] === true && !zero[j] && !follows[j];
  const replay = slots.map((i) => follows[i] === true && !slots.some((j) => j !== i && fresh(j) && near(i, j)));
  // 2'. aligned with the owner's reference by the margin
  const ref = input.reference;
  if (ref !== undefined && ref.alignment.length !== k) throw new RangeError("slot count mismatch");
  const a = (i: number): bigint => (ref === undefined ? 0n : (ref.alignment[i] as bigint));
  const aligned = slots.map(
    (i) => ref !== undefined && valid[i] === true && a(i) > 0n && a(i) * a(i) * BigInt(ref.size) > params.marginSq * G(i, i) * ref.norm2,
  );
  // 2'v. the last step's veto reads the last step only where the delta cap does (step 8''): it is
  // non-zero and helps.
  const helps = helpingStep(ref, delta);
  const veto = helps === null ? undefined : params.veto;
  const against = (i: number): boolean => {
    if (helps === null || veto === undefined) return false;
    const d = helps.delta;
    const b = d.alignment[i] as bigint;
    if (b >= 0n) return false;
    return veto.den * veto.den * b * b >= veto.num * veto.num * G(i, i) * d.norm2;
  };
  const admitted = slots.map((i) => aligned[i] === true && !against(i));
  const candidate = slots.map((i) => valid[i] === true && !zero[i] && !replay[i] && (ref === undefined || admitted[i] === true));

  // 2. near-duplicate clusters (BFS from the lowest unlabelled slot gives label = minimum)
  const linked = slots.map((i) => slots.map((j) => i !== j && candidate[i] === true && candidate[j] === true && near(i, j)));
  const label = new Array<number>(k).fill(-1);
  const parent = new Array<number>(k).fill(-1);
  const depth = new Array<number>(k).fill(0);
  for (const root of slots) {
    if (!candidate[root] || label[root] !== -1) continue;
    label[root] = root;
    const queue = [root];
    while (queue.length > 0) {
      const x = queue.shift() as number;
      for (const y of slots) {
        if ((linked[x] as boolean[])[y] && label[y] === -1) {
          label[y] = root;
          parent[y] = x;
          depth[y] = (depth[x] as number) + 1;
          queue.push(y);
        }
      }
    }
  }
  const representative = slots.map((i) => candidate[i] === true && label[i] === i);
  const clusterSize = slots.map((i) => (candidate[i] ? label.filter((l) => l === label[i]).length : 0));
  const reps = slots.filter((i) => representative[i]);
  const n = reps.length;
  const candidateCount = candidate.filter(Boolean).length;
  const validCount = valid.filter(Boolean).length;
  const active = validCount >= (ref !== undefined ? roundQuorum(f) : consensusQuorum(f));

  // 4. lower median of the candidates' squared norms (clusters weighted by size), by the distinct key G_rr * K + r
  let medianSlot = -1;
  let medianNorm2 = 0n;
  const capped = new Array<boolean>(k).fill(false);
  const clip = new Array<bigint>(k).fill(0n);
  // No representative (every valid update is zero): no median, nobody capped.
  if (active && n > 0) {
    const byKey = [...reps].sort((a, b) => {
      const ka = G(a, a) * BigInt(k) + BigInt(a);
      const kb = G(b, b) * BigInt(k) + BigInt(b);
      return ka < kb ? -1 : 1;
    });
    // By consensus, weighted by slots: the representative at rank floor((N - 1) / 2) of the
    // candidates, each cluster counted as many times as it has members. By the reference (4'),
    // each cluster once: there is no vote to protect, and a cluster of copies below the median
    // would otherwise pull the clip level down for everyone (measured: 1.59x for two identities).
    const weightOf = (r: number): number => (ref === undefined ? (clusterSize[r] as number) : 1);
    const rank = Math.floor(((ref === undefined ? candidateCount : n) - 1) / 2);
    let below = 0;
    for (const r of byKey) {
      const w = weightOf(r);
      if (below + w > rank) {
        medianSlot = r;
        break;
      }
      below += w;
    }
    medianNorm2 = G(medianSlot, medianSlot);
    const cap2 = ref === undefined ? params.cap2 : params.referenceCap2;
    for (const r of reps) {
      if (G(r, r) > cap2 * medianNorm2) continue;
      capped[r] = true;
      clip[r] = clipFactor(G(r, r), medianNorm2, params.clipBits);
    }
  }

  // 6. consensus test on the clipped Gram matrix of the capped representatives, in two passes:
  // first against every other capped update, then against the others that passed the first.
  const H = (i: number, j: number): bigint => (clip[i] as bigint) * (clip[j] as bigint) * G(i, j);
  const inCap = slots.filter((i) => capped[i]);
  // Votes are slots: a representative stands for its cluster's members (weight = cluster size).
  const weight = (i: number): bigint => BigInt(clusterSize[i] as number);
  // 6'. by the reference there is no consensus test: every capped representative is kept.
  const tested = ref === undefined && inCap.reduce((sum, i) => sum + (clusterSize[i] as number), 0) >= 3;
  const firstPass = new Array<boolean>(k).fill(false);
  const aggregated = new Array<boolean>(k).fill(false);
  if (tested) {
    // The voters' slots minus one slot of r itself (when r votes): dot = <clip u_r, sum of the
    // others>, others = ||sum of the others||^2, both on the clipped scale.
    const agrees = (r: number, voters: readonly number[]): boolean => {
      const self = voters.includes(r);
      let dot = self ? -H(r, r) : 0n;
      let total = 0n;
      for (const i of voters) {
        dot += weight(i) * H(r, i);
        for (const j of voters) total += weight(i) * weight(j) * H(i, j);
      }
      const others = self ? total - 2n * dot - H(r, r) : total;
      return dot > 0n && params.tauDen * params.tauDen * dot * dot >= params.tauNum * params.tauNum * H(r, r) * others;
    };
    for (const r of inCap) firstPass[r] = agrees(r, inCap);
    const voters = inCap.filter((i) => firstPass[i]);
    for (const r of inCap) aggregated[r] = agrees(r, voters);
  }
  if (ref !== undefined) for (const r of inCap) aggregated[r] = true;

  // 7-8. counted members, cluster scores and their split
  const kept = slots.filter((i) => aggregated[i]);
  const counted = slots.map((i) => candidate[i] === true && aggregated[label[i] as number] === true);
  const shift = BigInt(2 * params.clipBits);
  // 8''. by the reference: the delta cap on the kept players' alignments.
  const cap = deltaCap(k, kept, G, ref, delta);
  // 8'''. by the reference: the top cap on what the delta cap left.
  const top = topCap(k, kept, G, ref, f, params.topCap, cap.cappedAlignment);
  // 8'. by the reference: the additive game's value b_r = sigma_r a''_r (scale 2^F), times 2^F to
  // sit on the Gram rule's scale 2^(2F).
  const onScale = (r: number, alignment: readonly bigint[]): bigint =>
    ((clip[r] as bigint) * (alignment[r] as bigint)) << BigInt(params.clipBits);
  const values = slots.map((r) => {
    if (!aggregated[r]) return 0n;
    if (ref !== undefined) return onScale(r, top.paidAlignment);
    let sum = 0n;
    for (const j of kept) if (j !== r) sum += H(r, j);
    return sum;
  });
  // 8''''. by the reference: what the top cap took is paid to the players it did not cap.
  const before = slots.map((r) => (ref !== undefined && aggregated[r] ? onScale(r, cap.cappedAlignment) : 0n));
  const overTop = slots.map((r) => params.toUncappedBits !== undefined && (top.topDeduction[r] as bigint) > 0n);
  const shares = uncappedShares({ values, before, overTop, bits: params.toUncappedBits ?? 0 });
  const clusterSums = shares.paid;
  const clusterScores = clusterSums.map((sum) => sum >> shift);
  const scores = slots.map((i) => {
    if (!counted[i]) return 0n;
    const s = (clusterScores[label[i] as number] as bigint) / BigInt(clusterSize[i] as number);
    if (s >= 1n << BigInt(SCORE_BITS)) throw new RangeError(`score of slot ${i} exceeds 2^${SCORE_BITS}`);
    return s;
  });
  const status = slotStatuses({ empty, excluded }, counted);
  return {
    status,
    empty,
    excluded,
    duplicate,
    valid,
    zero,
    replay,
    byReference: ref !== undefined,
    aligned,
    admitted,
    candidate,
    linked,
    label,
    parent,
    depth,
    representative,
    clusterSize,
    validCount,
    n,
    active,
    medianSlot,
    medianNorm2,
    capped,
    clip,
    tested,
    firstPass,
    aggregated,
    counted,
    ...cap,
    ...top,
    overTop,
    topPot: shares.pot,
    uncappedTotal: shares.total,
    uncappedFactor: shares.factor,
    uncappedFactorRemainder: shares.factorRemainder,
    uncappedQuotient: shares.quotient,
    uncappedRemainder: shares.remainder,
    clusterSums,
    clusterScores,
    scores,
  };
}

/** Step 8'' (file header): the delta cap's outputs and hints. */
type DeltaCap = Pick<
  ConsensusResult,
  "deltaCapped" | "deltaRoot" | "deltaMedianSlot" | "deltaDeduction" | "deltaRemainder" | "cappedAlignment"
>;

/**
 * By the reference, whether the last global delta is non-zero and helps (`N > 0`, `<Delta, v> > 0`):
 * when the delta cap (8'') and the veto (2'v) read it.
 */
function helpingStep(
  ref: ReferenceStats | undefined,
  delta: DeltaStats | undefined,
): { readonly ref: ReferenceStats; readonly delta: DeltaStats } | null {
  return ref !== undefined && delta !== undefined && delta.norm2 > 0n && delta.reference > 0n ? { ref, delta } : null;
}

/** Step 8'': caps what following the last global delta pays the kept players (by the reference). */
function deltaCap(
  k: number,
  kept: readonly number[],
  G: (i: number, j: number) => bigint,
  ref: ReferenceStats | undefined,
  delta: DeltaStats | undefined,
): DeltaCap {
  const alignment = new Array<bigint>(k).fill(0n);
  if (ref !== undefined) for (const r of kept) alignment[r] = ref.alignment[r] as bigint;
  const step = helpingStep(ref, delta);
  const cap =
    step === null || kept.length === 0
      ? null
      : cosineCap({
          k,
          kept,
          norm2: (r) => G(r, r),
          along: step.delta.alignment,
          alongNorm2: step.delta.norm2,
          weight: step.delta.reference,
          pivot: MEDIAN_PIVOT,
        });
  const { root, pivot, deduction, remainder, capped } = appliedCap(k, kept, alignment, cap);
  return {
    deltaCapped: cap !== null,
    deltaRoot: root,
    deltaMedianSlot: pivot,
    deltaDeduction: deduction,
    deltaRemainder: remainder,
    cappedAlignment: capped,
  };
}

/**
 * A cosine cap applied to the kept players' `values` (each less its deduction), or, with no cap
 * (`null`), the values unchanged and every hint 0 (the pivot -1).
 */
function appliedCap(
  k: number,
  kept: readonly number[],
  values: readonly bigint[],
  cap: CosineCap | null,
): CosineCap & { capped: bigint[] } {
  const zeros = (): bigint[] => new Array<bigint>(k).fill(0n);
  const { root, pivot, deduction, remainder } = cap ?? { root: zeros(), pivot: -1, deduction: zeros(), remainder: zeros() };
  const capped = [...values];
  for (const r of kept) capped[r] = (capped[r] as bigint) - (deduction[r] as bigint);
  return { root, pivot, deduction, remainder, capped };
}

/** Step 8''': the top cap's outputs and hints. */
type TopCap = Pick<ConsensusResult, "topCapped" | "topRoot" | "topPivotSlot" | "topDeduction" | "topRemainder" | "paidAlignment">;

/**
 * Step 8''' (by the reference, with `params.topCap`): what a kept player's cosine with `v` exceeds
 * over `num / den` times the `(f + 1)`-th highest kept player's is deducted from its delta-capped
 * alignment, at `|v|` per unit of `cos |u_r|`: `floor(max(0, den a_r R_p - num a_p R_r) / (den R_p))`,
 * `R_r = floor(sqrt(G_rr |v|^2))` (`cosineCap` with weight `|v|^2`).
 */
function topCap(
  k: number,
  kept: readonly number[],
  G: (i: number, j: number) => bigint,
  ref: ReferenceStats | undefined,
  f: number,
  tolerance: ConsensusParams["topCap"],
  cappedAlignment: readonly bigint[],
): TopCap {
  // Kept by the reference means aligned (a_r > 0), so |v|^2 >= 1 whenever someone is kept.
  const cap =
    ref === undefined || tolerance === undefined || kept.length === 0
      ? null
      : cosineCap({
          k,
          kept,
          norm2: (r) => G(r, r),
          along: ref.alignment,
          alongNorm2: ref.norm2,
          weight: ref.norm2,
          pivot: { at: "top", f, num: tolerance.num, den: tolerance.den },
        });
  const { root, pivot, deduction, remainder, capped } = appliedCap(k, kept, cappedAlignment, cap);
  return {
    topCapped: cap !== null,
    topRoot: root,
    topPivotSlot: pivot,
    topDeduction: deduction,
    topRemainder: remainder,
    paidAlignment: capped,
  };
}

/** Step 8'''''s input: signed cluster values on one scale (0 off the kept players). */
export interface UncappedSharesInput {
  /** What each player is paid after the top cap (signed). */
  readonly values: readonly bigint[];
  /** What it would be paid before the top cap (signed; `>= values` where `overTop`). */
  readonly before: readonly bigint[];
  /** The players the top cap deducts from. */
  readonly overTop: readonly boolean[];
  /** `P`: the factor's fixed-point bits. */
  readonly bits: number;
}

/** Step 8'''''s outputs (see the `ConsensusResult` fields of the same names). */
export interface UncappedShares {
  /** The paid values, all `>= 0`. */
  readonly paid: bigint[];
  readonly pot: bigint;
  readonly total: bigint;
  readonly factor: bigint;
  readonly factorRemainder: bigint;
  readonly quotient: bigint[];
  readonly remainder: bigint[];
}

/**
 * Step 8'''' (docs/SCORING.md twenty-seventh round): the top cap's deduction paid to the players it
 * does not cap. The contract splits a round's reward in proportion to the scores, so what a cap
 * takes would otherwise go to every kept player in proportion, the owner's identities, replays and
 * copies included: a `v` crafted for the owner's identities paid them more than honest work because
 * the honest leaders' deductions went to them (twenty-sixth round). Here a player over the cap is
 * paid `max(0, after)`, and every other player `floor(max(0, after) factor / 2^P)` with
 * `factor = floor(2^P (H + pot) / max(H, 1))`, `H` their total and `pot` what the cap took from
 * the pay of those over it (`max(0, before) - max(0, after)`): the values still sum to the untopped
 * total (up to the floors), and with nobody over the cap the factor is `2^P` and every value passes
 * unchanged. `ToUncapped` in circuits/consensus.circom checks exactly this.
 */
export function uncappedShares({ values, before, overTop, bits }: UncappedSharesInput): UncappedShares {
  const k = values.length;
  if (before.length !== k || overTop.length !== k) throw new RangeError("slot count mismatch");
  const positive = (x: bigint): bigint => (x > 0n ? x : 0n);
  const after = values.map(positive);
  let pot = 0n;
  let total = 0n;
  for (let r = 0; r < k; r++) {
    const x = after[r] as bigint;
    if (!overTop[r]) total += x;
    else if ((before[r] as bigint) < (values[r] as bigint)) throw new RangeError("the top cap only lowers a value");
    else pot += positive(before[r] as bigint) - x;
  }
  const one = 1n << BigInt(bits);
  const divisor = total > 0n ? total : 1n;
  const factor = (one * (total + pot)) / divisor;
  const factorRemainder = (one * (total + pot)) % divisor;
  const quotient = after.map((x, r) => (overTop[r] ? 0n : (x * factor) / one));
  const remainder = after.map((x, r) => (overTop[r] ? 0n : (x * factor) % one));
  const paid = after.map((x, r) => (overTop[r] ? x : (quotient[r] as bigint)));
  return { paid, pot, total, factor, factorRemainder, quotient, remainder };
}

/**
 * Which kept player a cosine cap measures the others against, and how far above it a player may
 * be: the player `rank` places from the bottom of the order of cosines, where `rank` is
 * `floor((n - 1) / 2)` (`"median"`, the delta cap's) or `max(0, n - 1 - f)` (`"top"`, the
 * `(f + 1)`-th highest: a coalition of at most `f` kept players cannot lift it above a
 * non-member's cosine), and the tolerance `num / den >= 1` (a cosine up to `num / den` times the
 * pivot's is not capped).
 */
export interface CapPivot {
  readonly at: "median" | "top";
  /** With `"top"`: the tolerated number of faulty slots (the round's `f`). */
  readonly f?: number;
  readonly num: bigint;
  readonly den: bigint;
}

/** The delta cap's pivot: the lower median, no tolerance. */
export const MEDIAN_PIVOT: CapPivot = { at: "median", num: 1n, den: 1n };

/** A cosine cap's input: the kept players and, for each, its inner product with the capped direction `x`. */
export interface CosineCapInput {
  /** Number of slots (the outputs' length). */
  readonly k: number;
  /** The kept players (representatives), any order; every one has `G_rr >= 1`. */
  readonly kept: readonly number[];
  /** `G_rr = |u_r|^2`. */
  readonly norm2: (r: number) => bigint;
  /** `s_r = <u_r, x>` of every slot (signed). */
  readonly along: readonly bigint[];
  /** `X = |x|^2 >= 1`. */
  readonly alongNorm2: bigint;
  /** What a unit of `s_r` is worth, times `X` (non-negative): `<Delta, v>` for the delta cap, `|v|^2` for a cap along `v` itself. */
  readonly weight: bigint;
  readonly pivot: CapPivot;
}

/** A cosine cap's outputs: per slot (0 off the kept players) and the pivot's slot. */
export interface CosineCap {
  /** `R_r = floor(sqrt(G_rr X))`. */
  readonly root: bigint[];
  /** The pivot `p` (the kept player at the pivot's rank in the order of `s_r / R_r`, ties by slot). */
  readonly pivot: number;
  /** `floor(e_r weight / (den R_p X))`, `e_r = max(0, den s_r R_p - num s_p R_r)`. */
  readonly deduction: bigint[];
  /** The floor's remainder. */
  readonly remainder: bigint[];
}

/**
 * A cosine cap (the delta cap, step 8'', is one): what a kept player's cosine with a direction `x`
 * exceeds over `num / den` times the pivot's, `(cos(u_r, x) - (num / den) cos(u_p, x)) |u_r|`,
 * valued at `weight / |x|` per unit, in integers: `R_r = floor(sqrt(G_rr X))` (so `s_r / R_r` is the
 * cosine; `|s_r| <= R_r` by Cauchy-Schwarz), players ordered by `s_r R_q` against `s_q R_r`, ties by
 * slot, and deduction `floor(max(0, den s_r R_p - num s_p R_r) weight / (den R_p X))`. `CosineCap`
 * in circuits/consensus.circom checks exactly this.
 */
export function cosineCap({ k, kept, norm2, along, alongNorm2, weight, pivot }: CosineCapInput): CosineCap {
  if (kept.length === 0) throw new RangeError("a cosine cap needs a kept player");
  if (pivot.num < pivot.den || pivot.den < 1n) throw new RangeError("a cosine cap's tolerance is at least 1");
  // The floor below is bigint division of non-negative operands, and the order needs every R_r >= 1.
  if (weight < 0n || alongNorm2 < 1n || kept.some((r) => norm2(r) < 1n)) {
    throw new RangeError("a cosine cap needs weight >= 0, |x|^2 >= 1 and G_rr >= 1 for every kept player");
  }
  const zeros = (): bigint[] => new Array<bigint>(k).fill(0n);
  const root = zeros();
  for (const r of kept) root[r] = isqrt(norm2(r) * alongNorm2);
  const s = (r: number): bigint => along[r] as bigint;
  const R = (r: number): bigint => root[r] as bigint;
  // r before q in the order of cos(u, x) = s / R, ties by slot (every R_r >= 1: G_rr, X >= 1).
  const before = (r: number, q: number): boolean => {
    const x = s(r) * R(q);
    const y = s(q) * R(r);
    return x < y || (x === y && r < q);
  };
  const ordered = [...kept].sort((r, q) => (before(r, q) ? -1 : 1));
  const n = ordered.length;
  const rank = pivot.at === "median" ? Math.floor((n - 1) / 2) : Math.max(0, n - 1 - (pivot.f ?? 0));
  const p = ordered[rank] as number;
  const deduction = zeros();
  const remainder = zeros();
  const denominator = pivot.den * R(p) * alongNorm2;
  for (const r of kept) {
    const difference = pivot.den * s(r) * R(p) - pivot.num * s(p) * R(r);
    const excess = difference > 0n ? difference : 0n;
    // Non-negative operands: bigint division is the floor.
    deduction[r] = (excess * weight) / denominator;
    remainder[r] = (excess * weight) % denominator;
  }
  return { root, pivot: p, deduction, remainder };
}

/**
 * `min(2^F, floor(2^F sqrt(m2 / g)))` for `g > 0`: the largest integer `s <= 2^F` with
 * `s^2 g <= 2^(2F) m2` (the circuit checks exactly these two inequalities and the next one's failure).
 */
export function clipFactor(g: bigint, m2: bigint, bits: number): bigint {
  if (g <= 0n || m2 < 0n) throw new RangeError("clip factor needs G_rr > 0 and M2 >= 0");
  const one = 1n << BigInt(bits);
  const bound = one * one * m2;
  if (one * one * g <= bound) return one;
  // s^2 <= bound / g: integer square root of floor(bound / g) (floor commutes: s^2 g <= bound iff s^2 <= floor(bound / g)).
  return isqrt(bound / g);
}

/** Integer square root (floor). */
export function isqrt(x: bigint): bigint {
  if (x < 0n) throw new RangeError("square root of a negative number");
  if (x < 2n) return x;
  let r = BigInt(Math.floor(Math.sqrt(Number(x))));
  while (r * r > x) r -= 1n;
  while ((r + 1n) * (r + 1n) <= x) r += 1n;
  return r;
}

/**
 * Every private hint of the consensus rule's circuit (`ConsensusRule` in circuits/consensus.circom,
 * which the decision circuit will take), from the decision `result`: one-hot `labelOf` / `parentOf`
 * rows (all zero for no label / parent), `depth`, the one-hot `medianSlot` (all zero without a
 * median), the clip factors `sigmaHint` (0 unless capped), the delta cap's roots, one-hot median,
 * deductions and remainders (`deltaRootHint`, `deltaMedianHint`, `deltaDeductionHint`,
 * `deltaRemainderHint`: 0 unless the cap applies), the top cap's (`topRootHint`, `topPivotHint`,
 * `topDeductionHint`, `topRemainderHint`: 0 unless it applies), the top cap's redistribution
 * (`uncappedFactor`, `uncappedFactorRemainder`, `uncappedQuotient`, `uncappedRemainder`), and the quotients and remainders of the
 * cluster sums' shift by `2^(2 clipBits)` (`shiftQuotient` = the cluster score, `shiftRemainder`)
 * and of the cluster scores' split over the cluster's members (`splitQuotient`, `splitRemainder`:
 * for kept labels); 0 wherever the rule takes no value.
 */
export function consensusHints(result: ConsensusResult, clipBits: number): Record<string, bigint | bigint[] | bigint[][]> {
  const k = result.label.length;
  const slots = [...Array(k).keys()];
  const bit = (b: boolean): bigint => (b ? 1n : 0n);
  const oneHot = (slot: number): bigint[] => slots.map((l) => bit(l === slot));
  const shift = BigInt(2 * clipBits);
  const kept = result.aggregated;
  const score = (l: number): bigint => result.clusterScores[l] as bigint;
  const size = (l: number): bigint => BigInt(result.clusterSize[l] as number);
  return {
    labelOf: result.label.map(oneHot),
    parentOf: result.parent.map(oneHot),
    depth: result.depth.map(BigInt),
    medianSlot: oneHot(result.medianSlot),
    sigmaHint: [...result.clip],
    deltaRootHint: [...result.deltaRoot],
    deltaMedianHint: oneHot(result.deltaMedianSlot),
    deltaDeductionHint: [...result.deltaDeduction],
    deltaRemainderHint: [...result.deltaRemainder],
    topRootHint: [...result.topRoot],
    topPivotHint: oneHot(result.topPivotSlot),
    topDeductionHint: [...result.topDeduction],
    topRemainderHint: [...result.topRemainder],
    uncappedFactor: result.uncappedFactor,
    uncappedFactorRemainder: result.uncappedFactorRemainder,
    uncappedQuotient: [...result.uncappedQuotient],
    uncappedRemainder: [...result.uncappedRemainder],
    shiftQuotient: [...result.clusterScores],
    shiftRemainder: slots.map((r) => (result.clusterSums[r] as bigint) - (score(r) << shift)),
    splitQuotient: slots.map((l) => (kept[l] ? score(l) / size(l) : 0n)),
    splitRemainder: slots.map((l) => (kept[l] ? score(l) % size(l) : 0n)),
  };
}
