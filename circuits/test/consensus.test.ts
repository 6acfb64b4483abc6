/**
 * Witness-level tests of the consensus-rule templates (circuits/consensus.circom) against
 * `consensusDecision` in packages/core/src/consensus.ts: each template on seeded random slots and
 * on hand-made edge cases (exact and near copies at the near-duplicate threshold, ties of the
 * median, clip factors at 2^F, the norm cap's bound, clusters of copies, negative score sums), and
 * wrong hints or outputs being rejected.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CONSENSUS_PARAMS,
  clipFactor,
  consensusDecision,
  consensusHints,
  cosineCap,
  gramIndex,
  innerProduct,
  gramMatrix,
  gramToUpper,
  mod,
  type CircuitInput,
  type ConsensusResult,
  type DeltaStats,
  type ReferenceStats,
  uncappedShares,
} from "@fedmarket/core";
import { loadTestMain, releaseCurves, rng, tamper, type TestCircuit } from "./harness.ts";

/** Slots of every test main. */
const K = 5;
/** Gram bound of the test mains: |G_ij| < 2^GB (the test vectors stay far below it). */
const GB = 40;
/** Clip bits (the production value). */
const F = CONSENSUS_PARAMS.clipBits;
/** The top cap's tolerance under test: a cosine up to 5/4 of the (f + 1)-th highest is not capped. */
const TOP_NUM = 5;
const TOP_DEN = 4;
/** clog2(K). */
const LOGK = Math.ceil(Math.log2(K));
/** Bound of the signed cluster values ConsensusRule gives ToUncapped: 2F + GB + clog2(K) + 3. */
const VB = 2 * F + GB + LOGK + 3;
/** Bound of the paid values ToUncapped gives ClusterScores: the sum of K values below 2^VB. */
const PAID_BITS = VB + LOGK;
/** Step 8''''s fixed-point bits. */
const P = CONSENSUS_PARAMS.toUncappedBits as number;

/** The test mains' ToUncapped: its inputs, and the component wired to them. */
const SHARES_INPUTS = ["value[K]", "before[K]", "deduction[K]", "factor", "factorRemainder", "quotient[K]", "remainder[K]"]
  .map((signal) => `    signal input ${signal};\n`)
  .join("");
const SHARES_WIRING = `    component shares = ToUncapped(K, VB, P);\n${SHARES_INPUTS.replace(/ {4}signal input (\w+)(\[K\])?;/g, "    shares.$1 <== $1;")}`;

/** Test main: ToUncapped feeding ClusterScores, as ConsensusRule wires them (the shift range-checks the paid values). */
const SCORES_MAIN = `pragma circom 2.1.0;
include "consensus.circom";
// Test main: ToUncapped(${K}, ${VB}, ${P}) feeding ClusterScores(${K}, ${F}, ${PAID_BITS}).
template TestScores(K, F, VB, P, W) {
${SHARES_INPUTS}    signal input kept[K];
    signal input labelOf[K][K];
    signal input clusterSize[K];
    signal input shiftQuotient[K];
    signal input shiftRemainder[K];
    signal input splitQuotient[K];
    signal input splitRemainder[K];
    signal output paid[K];
    signal output counted[K];
    signal output clusterScore[K];
    signal output score[K];
${SHARES_WIRING}    paid <== shares.paid;
    component scores = ClusterScores(K, F, W);
    scores.value <== shares.paid;
    scores.kept <== kept;
    scores.labelOf <== labelOf;
    scores.clusterSize <== clusterSize;
    scores.shiftQuotient <== shiftQuotient;
    scores.shiftRemainder <== shiftRemainder;
    scores.splitQuotient <== splitQuotient;
    scores.splitRemainder <== splitRemainder;
    counted <== scores.counted;
    clusterScore <== scores.clusterScore;
    score <== scores.score;
}
component main = TestScores(${K}, ${F}, ${VB}, ${P}, ${PAID_BITS});
`;

/** Test main: ToUncapped with the range check of its paid values that its caller owes (ClusterScores' shift). */
const TO_UNCAPPED_MAIN = `pragma circom 2.1.0;
include "consensus.circom";
// Test main: ToUncapped(${K}, ${VB}, ${P}), paid range-checked to ${PAID_BITS} bits.
template TestToUncapped(K, VB, P, W) {
${SHARES_INPUTS}    signal output paid[K];
${SHARES_WIRING}    component range[K];
    for (var r = 0; r < K; r++) {
        range[r] = RangeCheck(W);
        range[r].in <== shares.paid[r];
    }
    paid <== shares.paid;
}
component main = TestToUncapped(${K}, ${VB}, ${P}, ${PAID_BITS});
`;

const testMain = (template: string, args: string): string => `pragma circom 2.1.0;
include "consensus.circom";
// Test main: ${template}(${args}).
component main = ${template}(${args});
`;

/** Test main: NearDuplicatePairs feeding NearDuplicateLinks, as ConsensusRule wires them. */
const LINKS_MAIN = `pragma circom 2.1.0;
include "consensus.circom";
// Test main: NearDuplicatePairs(${K}, ${GB}) feeding NearDuplicateLinks(${K}).
template TestLinks(K, GB) {
    signal input gram[K * (K + 1) \\ 2];
    signal input candidate[K];
    signal output near[K][K];
    signal output linked[K][K];
    component pairs = NearDuplicatePairs(K, GB);
    pairs.gram <== gram;
    near <== pairs.near;
    component links = NearDuplicateLinks(K);
    links.near <== pairs.near;
    links.candidate <== candidate;
    linked <== links.linked;
}
component main = TestLinks(${K}, ${GB});
`;

let links: TestCircuit;
let median: TestCircuit;
let clip: TestCircuit;
let keep: TestCircuit;
let clusters: TestCircuit;
let cap: TestCircuit;
let scoring: TestCircuit;
let toUncapped: TestCircuit;
let rule: TestCircuit;
let aligned: TestCircuit;
let additiveValues: TestCircuit;
let gramValues: TestCircuit;
let deltaCap: TestCircuit;
let topCap: TestCircuit;
let deltaReplay: TestCircuit;
let deltaVeto: TestCircuit;
let helpingStep: TestCircuit;

before(async () => {
  links = await loadTestMain("test_near_duplicate_links", LINKS_MAIN);
  median = await loadTestMain("test_lower_median", testMain("LowerMedian", `${K}, ${GB}`));
  clip = await loadTestMain("test_clip_factor", testMain("ClipFactor", `${F}, ${GB}`));
  keep = await loadTestMain("test_consensus_keep", testMain("ConsensusKeep", `${K}, ${F}, ${GB}`));
  clusters = await loadTestMain("test_clusters", testMain("Clusters", `${K}`));
  cap = await loadTestMain("test_norm_cap", testMain("NormCap", `${K}, ${GB}`));
  scoring = await loadTestMain("test_cluster_scores", SCORES_MAIN);
  toUncapped = await loadTestMain("test_to_uncapped", TO_UNCAPPED_MAIN);
  rule = await loadTestMain("test_consensus_rule", testMain("ConsensusRule", `${K}, ${F}, ${GB}`));
  aligned = await loadTestMain("test_reference_aligned", testMain("ReferenceAligned", `${K}, ${GB}`));
  additiveValues = await loadTestMain("test_additive_values", testMain("AdditiveValues", `${K}, ${F}, ${GB}`));
  gramValues = await loadTestMain("test_gram_values", testMain("GramValues", `${K}, ${2 * F + GB}`));
  deltaCap = await loadTestMain("test_delta_cap", testMain("CosineCap", `${K}, ${GB}, 1, 1, 0`));
  topCap = await loadTestMain("test_top_cap", testMain("CosineCap", `${K}, ${GB}, ${TOP_NUM}, ${TOP_DEN}, 1`));
  deltaReplay = await loadTestMain("test_delta_replay", testMain("DeltaReplay", `${K}, ${GB}`));
  deltaVeto = await loadTestMain("test_delta_veto", testMain("DeltaVeto", `${K}, ${GB}`));
  helpingStep = await loadTestMain("test_helping_step", testMain("HelpingStep", `${GB}`));
});
after(releaseCurves);

/** A round: each slot's update vector, or `null` for an empty slot. */
type Round = readonly (readonly bigint[] | null)[];

/** The full Gram matrix of a round (0 rows for empty slots). */
function gramOf(round: Round): bigint[][] {
  const zeros = new Array<bigint>(round.find((u) => u !== null)?.length ?? 0).fill(0n);
  return gramMatrix(round.map((u) => u ?? zeros));
}

/** The upper triangle of a symmetric matrix as field elements (the circuits' `gram` and `h` inputs). */
function triangle(matrix: readonly (readonly bigint[])[]): bigint[] {
  return gramToUpper(matrix).map(mod);
}

/** `consensusDecision` of a round (distinct commitments, nothing excluded) and its Gram matrix. */
function decide(round: Round, f = 0): { gram: bigint[][]; result: ConsensusResult } {
  const gram = gramOf(round);
  const commitments = round.map((u, k) => (u === null ? 0n : BigInt(k + 1)));
  const result = consensusDecision({ commitments, excluded: round.map(() => false), gram, f });
  return { gram, result };
}

/** A seeded random vector of `dim` entries in [-range, range]. */
function randomVector(next: (lo: number, hi: number) => bigint, dim: number, range: number): bigint[] {
  return Array.from({ length: dim }, () => next(-range, range));
}

/** `u` plus a small seeded perturbation (entries in [-noise, noise]). */
function perturbed(next: (lo: number, hi: number) => bigint, u: readonly bigint[], noise: number): bigint[] {
  return u.map((x) => x + next(-noise, noise));
}

const bit = (b: boolean | undefined): bigint => (b === true ? 1n : 0n);

/** Value of output signal `name` of `c` in witness `w`. */
function output(c: TestCircuit, w: readonly bigint[], name: string): bigint {
  const index = c.signals.get(`main.${name}`);
  assert.ok(index !== undefined, `no signal main.${name}`);
  return w[index] as bigint;
}

/** `w` with output `name` replaced by `value`. */
function withOutput(c: TestCircuit, w: readonly bigint[], name: string, value: bigint): bigint[] {
  const copy = [...w];
  copy[c.signals.get(`main.${name}`) as number] = mod(value);
  return copy;
}

// ---- rounds shared by the tests ----

/** Seeded random rounds: independent vectors, near copies, exact copies, empty and zero slots. */
function randomRounds(count: number, seed: number): Round[] {
  const next = rng(seed);
  const rounds: Round[] = [];
  for (let r = 0; r < count; r++) {
    const dim = 4;
    const base = randomVector(next, dim, 1000);
    const round: (bigint[] | null)[] = [];
    for (let k = 0; k < K; k++) {
      const kind = Number(next(0, 9));
      if (kind === 0) round.push(null);
      else if (kind === 1) round.push(new Array<bigint>(dim).fill(0n));
      else if (kind <= 3) round.push([...base]);
      else if (kind <= 5) round.push(perturbed(next, base, Number(next(1, 400))));
      else if (kind === 6) round.push(base.map((x) => -x));
      else round.push(randomVector(next, dim, 1000));
    }
    rounds.push(round);
  }
  return rounds;
}

/**
 * Hand-made rounds at the near-duplicate threshold: (20,0,0,0,0) and (19,6,1,1,1) have cosine exactly
 * 19/20 (400 * 380^2 = 361 * 400 * 400); (19,6,1,1,2) is just below it; (100,32,..) is just above
 * and (100,33,..) just below (cos^2 >= 0.9025 iff t <= 32); a negated copy and an orthogonal vector.
 */
const THRESHOLD_ROUNDS: Round[] = [
  [
    [20n, 0n, 0n, 0n, 0n],
    [19n, 6n, 1n, 1n, 1n],
    [19n, 6n, 1n, 1n, 2n],
    [-20n, 0n, 0n, 0n, 0n],
    [0n, 5n, 0n, 0n, 0n],
  ],
  [
    [100n, 0n, 0n, 0n, 0n],
    [100n, 32n, 0n, 0n, 0n],
    [100n, 33n, 0n, 0n, 0n],
    [100n, 0n, 32n, 0n, 0n],
    [-100n, -32n, 0n, 0n, 0n],
  ],
  [[7n, 7n, 7n, 7n, 7n], [7n, 7n, 7n, 7n, 7n], null, [0n, 0n, 0n, 0n, 0n], [-7n, -7n, -7n, -7n, -7n]],
];

// ---- the owner's reference ----

/** A test reference: `v` (the rounds' dimension) and the model size `D` the margin uses. */
interface TestReference {
  readonly v: readonly bigint[];
  /** `D`: free here (the margin `cos > 4 / sqrt(D)` needs `D > 16` to let anyone in). */
  readonly size: number;
  /** The last global delta (omitted: zero, nothing is capped). */
  readonly delta?: readonly bigint[];
}

/**
 * The reference statistics the decision proof reads from the state: `<u_k, v>`, `|v|^2`, `D`, and
 * the last delta's `<u_k, Delta>`, `|Delta|^2`, `<Delta, v>`.
 */
function referenceStats(round: Round, { v, size, delta }: TestReference): ReferenceStats & { readonly delta: DeltaStats } {
  return {
    alignment: round.map((u) => (u === null ? 0n : innerProduct(u, v))),
    norm2: innerProduct(v, v),
    size,
    delta: deltaStatsOf(round, delta ?? v.map(() => 0n), v),
  };
}

/** The last delta's statistics the proofs carry: `<u_k, Delta>`, `|Delta|^2` and `<Delta, v>` (0 without `v`). */
function deltaStatsOf(round: Round, delta: readonly bigint[], v?: readonly bigint[]): DeltaStats {
  return {
    alignment: round.map((u) => (u === null ? 0n : innerProduct(u, delta))),
    norm2: innerProduct(delta, delta),
    reference: v === undefined ? 0n : innerProduct(delta, v),
  };
}

/** `consensusDecision` of a round by the owner's reference (distinct commitments, nothing excluded). */
function decideByReference(round: Round, reference: TestReference, f = 0): { gram: bigint[][]; result: ConsensusResult } {
  const gram = gramOf(round);
  const commitments = round.map((u, k) => (u === null ? 0n : BigInt(k + 1)));
  const result = consensusDecision({
    commitments,
    excluded: round.map(() => false),
    gram,
    f,
    ...referenceInput(referenceStats(round, reference)),
  });
  return { gram, result };
}

/** The reference and delta inputs of `consensusDecision` from `referenceStats`. */
function referenceInput({ delta, ...reference }: ReferenceStats & { readonly delta: DeltaStats }): {
  reference: ReferenceStats;
  delta: DeltaStats;
} {
  return { reference, delta };
}

/**
 * Seeded rounds with a reference: `mixedRounds` (copies, the common direction with noise, random
 * vectors, vectors against it) and `v` = the first update with noise, at `D = 64` (aligned iff
 * cos > 1/2), or the zero vector in every eighth round.
 */
function referenceRounds(count: number, seed: number): { round: Round; reference: TestReference }[] {
  const next = rng(seed);
  return mixedRounds(count, seed, "copy").map((round, r) => {
    const common = round.find((u) => u !== null) ?? [0n];
    const v = r % 8 === 7 ? common.map(() => 0n) : perturbed(next, common, 200);
    // A last delta near the common direction (its replays and followers are capped), against it
    // (nothing to cap), or none (round 0).
    const delta = r % 3 === 0 ? perturbed(next, common, 300) : r % 3 === 1 ? common.map((x) => -x) : undefined;
    return { round, reference: { v, size: 64, ...(delta === undefined ? {} : { delta }) } };
  });
}

// ---- 1. NearDuplicatePairs and NearDuplicateLinks ----

/** The near-duplicate test on every pair (`near` of consensusDecision): i != j, G_ij > 0, 400 G_ij^2 >= 361 G_ii G_jj. */
function nearOf(gram: readonly (readonly bigint[])[]): boolean[][] {
  const g = (i: number, j: number): bigint => gram[i]?.[j] as bigint;
  return gram.map((_, i) => gram.map((__, j) => i !== j && g(i, j) > 0n && 400n * g(i, j) ** 2n >= 361n * g(i, i) * g(j, j)));
}

/** NearDuplicateLinks input of a round. */
function linksInput(round: Round): { input: CircuitInput; result: ConsensusResult } {
  const { gram, result } = decide(round);
  const input = { gram: triangle(gram), candidate: result.candidate.map(bit) } as CircuitInput;
  return { input, result };
}

describe("NearDuplicatePairs and NearDuplicateLinks", () => {
  test("equal consensusDecision's near-duplicate test and linked on random and threshold rounds", async () => {
    let linkedPairs = 0;
    let unlinkedPositive = 0;
    for (const round of [...THRESHOLD_ROUNDS, ...randomRounds(20, 7)]) {
      const { input, result } = linksInput(round);
      const w = await links.witness(input);
      assert.equal(links.violated(w), -1);
      const near = nearOf(gramOf(round));
      for (let i = 0; i < K; i++) {
        for (let j = 0; j < K; j++) {
          assert.equal(output(links, w, `near[${i}][${j}]`), bit(near[i]?.[j]), `near[${i}][${j}]`);
          const expected = bit(result.linked[i]?.[j]);
          assert.equal(output(links, w, `linked[${i}][${j}]`), expected, `linked[${i}][${j}]`);
          if (i < j && expected === 1n) linkedPairs++;
        }
      }
      const g = decide(round).gram;
      for (let i = 0; i < K; i++) {
        for (let j = i + 1; j < K; j++)
          if (result.candidate[i] && result.candidate[j] && (g[i]?.[j] ?? 0n) > 0n && !result.linked[i]?.[j]) unlinkedPositive++;
      }
    }
    // The rounds exercise both outcomes of the threshold among positive inner products.
    assert.ok(linkedPairs > 10 && unlinkedPositive > 10, `${linkedPairs} linked, ${unlinkedPositive} positive but not linked`);
    console.error(`  NearDuplicatePairs(${K}, ${GB}) + NearDuplicateLinks(${K}): ${links.r1cs.nConstraints} constraints`);
  });

  test("the exact threshold links; just below, negated copies and orthogonal vectors do not", async () => {
    const { input } = linksInput(THRESHOLD_ROUNDS[0] as Round);
    const w = await links.witness(input);
    assert.equal(output(links, w, "linked[0][1]"), 1n);
    assert.equal(output(links, w, "linked[0][2]"), 0n);
    assert.equal(output(links, w, "linked[0][3]"), 0n);
    assert.equal(output(links, w, "linked[0][4]"), 0n);
    const w2 = await links.witness(linksInput(THRESHOLD_ROUNDS[1] as Round).input);
    assert.equal(output(links, w2, "linked[0][1]"), 1n);
    assert.equal(output(links, w2, "linked[0][2]"), 0n);
  });

  test("a flipped link, or a link of a non-candidate, violates a constraint", async () => {
    const { input, result } = linksInput(THRESHOLD_ROUNDS[2] as Round);
    assert.equal(result.linked[0]?.[1], true);
    const w = await links.witness(input);
    assert.equal(links.violated(w), -1);
    for (const [i, j] of [
      [0, 1],
      [1, 0],
      [0, 4],
      [2, 2],
      [1, 3],
    ] as const) {
      const flipped = 1n - output(links, w, `linked[${i}][${j}]`);
      assert.notEqual(links.violated(withOutput(links, w, `linked[${i}][${j}]`, flipped)), -1, `linked[${i}][${j}]`);
    }
    // Slot 1 no longer a candidate: its links vanish.
    const w2 = await links.witness(tamper(input, (c) => ((c.candidate as bigint[])[1] = 0n)));
    assert.equal(output(links, w2, "linked[0][1]"), 0n);
    assert.notEqual(links.violated(withOutput(links, w2, "linked[0][1]", 1n)), -1);
  });
});

// ---- 2. LowerMedian ----

/**
 * Seeded rounds of mostly independent vectors (few near-duplicates, so most rounds are active),
 * with ties: a slot may repeat an earlier vector's entries permuted or with signs flipped (the same
 * norm, usually not a near-duplicate).
 */
function spreadRounds(count: number, seed: number): Round[] {
  const next = rng(seed);
  const rounds: Round[] = [];
  for (let r = 0; r < count; r++) {
    const round: (bigint[] | null)[] = [];
    for (let k = 0; k < K; k++) {
      const kind = Number(next(0, 9));
      const earlier = round.filter((u): u is bigint[] => u !== null);
      const prev = earlier[Number(next(0, Math.max(0, earlier.length - 1)))];
      if (kind === 0) round.push(null);
      else if (kind <= 3 && prev !== undefined)
        round.push(prev.map((_, d) => (prev[(d + 1) % prev.length] as bigint) * (next(0, 1) === 0n ? 1n : -1n)));
      else round.push(randomVector(next, 4, 1000));
    }
    rounds.push(round);
  }
  return rounds;
}

/** Equal norms only: the median is decided by the slot numbers alone. */
const TIE_ROUNDS: Round[] = [
  [
    [10n, 0n, 0n],
    [0n, 10n, 0n],
    [0n, 0n, 10n],
    [6n, 8n, 0n],
    [0n, 6n, -8n],
  ],
  [[10n, 0n, 0n], null, [0n, 0n, 10n], [6n, 8n, 0n], [0n, 6n, -8n]],
  [[10n, 0n, 0n], [0n, 10n, 0n], [0n, 0n, 10n], [5n, 0n, 0n], null],
];

/** Each representative's cluster size (its votes and its weight in the median), 0 for other slots. */
function representativeWeights(result: ConsensusResult): bigint[] {
  return result.clusterSize.map((size, k) => (result.representative[k] ? BigInt(size) : 0n));
}

/** A cluster of three copies of norm 1 and two other updates: weighted, the median is the small cluster's. */
const WEIGHTED_ROUND: Round = [
  [1n, 0n],
  [1n, 0n],
  [1n, 0n],
  [0n, 5n],
  [-9n, 0n],
];

/** LowerMedian input of a round. */
function medianInput(round: Round): { input: CircuitInput; result: ConsensusResult } {
  const { gram, result } = decide(round);
  const input = {
    norm2: gram.map((row, k) => row[k] as bigint),
    member: result.representative.map(bit),
    weight: representativeWeights(result),
    active: bit(result.active),
    medianSlot: Array.from({ length: K }, (_, k) => bit(k === result.medianSlot)),
  } as CircuitInput;
  return { input, result };
}

describe("LowerMedian", () => {
  test("equals consensusDecision's median on random, tied and inactive rounds", async () => {
    let active = 0;
    let inactive = 0;
    const inactiveRound: Round = [[1n, 0n], [0n, 1n], null, null, null];
    for (const round of [...TIE_ROUNDS, WEIGHTED_ROUND, inactiveRound, ...spreadRounds(12, 11), ...randomRounds(4, 5)]) {
      const { input, result } = medianInput(round);
      const w = await median.witness(input);
      assert.equal(median.violated(w), -1);
      assert.equal(output(median, w, "m2"), result.medianNorm2);
      if (result.active) active++;
      else inactive++;
    }
    assert.ok(active >= 10 && inactive >= 1, `${active} active, ${inactive} inactive rounds`);
    assert.equal(medianInput(TIE_ROUNDS[0] as Round).result.medianSlot, 2);
    assert.equal(medianInput(TIE_ROUNDS[1] as Round).result.medianSlot, 2);
    // Rank floor((5 - 1) / 2) = 2 of the five slots is the third copy: the cluster of norm 1 (unweighted: slot 3).
    assert.equal(medianInput(WEIGHTED_ROUND).result.medianSlot, 0);
    console.error(`  LowerMedian(${K}, ${GB}): ${median.r1cs.nConstraints} constraints`);
  });

  test("another member, a non-member, two slots or a wrong m2 are rejected", async () => {
    for (const round of [...TIE_ROUNDS.slice(0, 2), WEIGHTED_ROUND, ...spreadRounds(1, 3)]) {
      const { input, result } = medianInput(round);
      if (!result.active) continue;
      const oneHot = (slots: readonly number[]): CircuitInput =>
        tamper(input, (c) => (c.medianSlot = Array.from({ length: K }, (_, k) => bit(slots.includes(k)))));
      for (let k = 0; k < K; k++) {
        if (k === result.medianSlot) continue;
        await assert.rejects(median.witness(oneHot([k])), `slot ${k} instead of ${result.medianSlot}`);
      }
      await assert.rejects(median.witness(oneHot([])));
      const other = result.representative.findIndex((m, k) => m && k !== result.medianSlot);
      await assert.rejects(median.witness(oneHot([result.medianSlot, other])));
      await assert.rejects(median.witness(tamper(input, (c) => (c.active = 0n))));
      // The weights decide the rank: the unweighted median (every member weight 1) is another slot.
      if (result.clusterSize.some((size) => size > 1)) {
        await assert.rejects(median.witness(tamper(input, (c) => (c.weight = result.representative.map(bit)))));
      }
      const w = await median.witness(input);
      assert.notEqual(median.violated(withOutput(median, w, "m2", result.medianNorm2 + 1n)), -1);
    }
  });

  test("active without members (all valid updates zero): no slot, m2 = 0", async () => {
    // consensusDecision takes no median here either (medianSlot -1, M2 = 0; the ConsensusRule tests run such a round).
    const input = {
      norm2: [0n, 0n, 0n, 0n, 5n],
      member: [0n, 0n, 0n, 0n, 0n],
      weight: [0n, 0n, 0n, 0n, 0n],
      active: 1n,
      medianSlot: [0n, 0n, 0n, 0n, 0n],
    } as CircuitInput;
    const w = await median.witness(input);
    assert.equal(median.violated(w), -1);
    assert.equal(output(median, w, "m2"), 0n);
    await assert.rejects(median.witness(tamper(input, (c) => ((c.medianSlot as bigint[])[4] = 1n))));
  });

  test("inactive: no slot may be selected", async () => {
    const { input, result } = medianInput([[1n, 0n], [0n, 1n], null, null, null]);
    assert.equal(result.active, false);
    const w = await median.witness(input);
    assert.equal(output(median, w, "m2"), 0n);
    await assert.rejects(median.witness(tamper(input, (c) => ((c.medianSlot as bigint[])[0] = 1n))));
  });
});

// ---- 3. ClipFactor ----

/** ClipFactor input for `g`, `m2`, `on` and the hint `sigma`. */
const clipInput = (g: bigint, m2: bigint, on: boolean, sigma: bigint): CircuitInput =>
  ({ g, m2, on: bit(on), sigmaHint: mod(sigma) }) as CircuitInput;

describe("ClipFactor", () => {
  const one = 1n << BigInt(F);

  /** Checks that the reference's sigma is accepted and sigma - 1 and sigma + 1 are rejected. */
  async function checkExact(g: bigint, m2: bigint, sigma: bigint): Promise<void> {
    const w = await clip.witness(clipInput(g, m2, true, sigma));
    assert.equal(clip.violated(w), -1, `g ${g}, m2 ${m2}`);
    assert.equal(output(clip, w, "sigma"), sigma);
    for (const wrong of [sigma - 1n, sigma + 1n]) {
      await assert.rejects(clip.witness(clipInput(g, m2, true, wrong)), `g ${g}, m2 ${m2}, sigma ${wrong}`);
    }
  }

  test("equals the clip factors of consensusDecision; neighbours are rejected", async () => {
    let clipped = 0;
    for (const round of [...spreadRounds(5, 21), TIE_ROUNDS[2] as Round]) {
      const { gram, result } = decide(round);
      for (let k = 0; k < K; k++) {
        if (!result.capped[k]) continue;
        const sigma = result.clip[k] as bigint;
        await checkExact((gram[k] as bigint[])[k] as bigint, result.medianNorm2, sigma);
        if (sigma < one) clipped++;
      }
    }
    assert.ok(clipped >= 5, `${clipped} clipped factors`);
    console.error(`  ClipFactor(${F}, ${GB}): ${clip.r1cs.nConstraints} constraints`);
  });

  test("edge cases: sigma = 2^F (g <= m2), exact squares, g far above m2, m2 = 0", async () => {
    const cases: [bigint, bigint][] = [
      [1000n, 1000n], // g = m2: 2^F
      [999n, 1000n], // g < m2: min(2^F, ...) = 2^F
      [4000n, 1000n], // g = 4 m2: exactly 2^(F-1)
      [4001n, 1000n], // just above: 2^(F-1) - 1
      [3999n, 1000n], // just below: 2^(F-1)
      [(1n << 39n) + 12345n, 1n], // g far above m2: 0
      [123456789n, 987n],
      [5n, 0n], // M2 = 0: 0
    ];
    for (const [g, m2] of cases) await checkExact(g, m2, clipFactor(g, m2, F));
    assert.equal(clipFactor(1000n, 1000n, F), one);
    assert.equal(clipFactor(4000n, 1000n, F), one / 2n);
    assert.equal(clipFactor((1n << 39n) + 12345n, 1n, F), 0n);
  });

  test("off: sigma must be 0; a wrong output is a violation", async () => {
    const w = await clip.witness(clipInput(1000n, 1000n, false, 0n));
    assert.equal(clip.violated(w), -1);
    assert.equal(output(clip, w, "sigma"), 0n);
    await assert.rejects(clip.witness(clipInput(1000n, 1000n, false, one)));
    await assert.rejects(clip.witness(clipInput(1000n, 1000n, false, 1n)));
    const on = await clip.witness(clipInput(4001n, 1000n, true, clipFactor(4001n, 1000n, F)));
    assert.notEqual(clip.violated(withOutput(clip, on, "sigma", clipFactor(4001n, 1000n, F) + 1n)), -1);
  });
});

// ---- 4. ConsensusKeep ----

/**
 * Seeded rounds for the consensus test: a common direction plus large noise (rarely near-duplicates
 * of each other), independent vectors, and vectors against the common direction.
 */
function consensusRounds(count: number, seed: number): Round[] {
  return mixedRounds(count, seed, "empty");
}

/**
 * Seeded rounds with clusters of copies: a slot may copy an earlier slot exactly (clusters of 2 or
 * 3), otherwise a common direction with noise and a random scale, independent vectors, or a vector
 * against the common direction.
 */
function copiesRounds(count: number, seed: number): Round[] {
  return mixedRounds(count, seed, "copy");
}

/**
 * The two generators above: each slot is (by a draw of 0..9) empty or a copy of an earlier slot,
 * the common direction with noise and a random scale, an independent vector, or a vector against
 * the common direction; "copy" rounds have more copies than "empty" rounds have empty slots.
 */
function mixedRounds(count: number, seed: number, first: "empty" | "copy"): Round[] {
  const [firstUpTo, perturbedUpTo, randomUpTo] = first === "empty" ? [0, 4, 7] : [2, 6, 8];
  const next = rng(seed);
  const rounds: Round[] = [];
  for (let r = 0; r < count; r++) {
    const base = randomVector(next, 6, 300);
    const round: (bigint[] | null)[] = [];
    for (let k = 0; k < K; k++) {
      const kind = Number(next(0, 9));
      const prev = first === "copy" ? round[Number(next(0, Math.max(0, round.length - 1)))] : undefined;
      if (kind <= firstUpTo && first === "empty") round.push(null);
      else if (kind <= firstUpTo && prev !== undefined && prev !== null) round.push([...prev]);
      else if (kind <= perturbedUpTo) round.push(perturbed(next, base, 400).map((x) => x * next(1, 3)));
      else if (kind <= randomUpTo) round.push(randomVector(next, 6, 600));
      else
        round.push(
          perturbed(
            next,
            base.map((x) => -x),
            300,
          ),
        );
    }
    rounds.push(round);
  }
  return rounds;
}

/** ConsensusKeep input of a round. */
function keepInput(round: Round): { input: CircuitInput; result: ConsensusResult; gram: bigint[][] } {
  const { gram, result } = decide(round);
  const input = {
    gram: triangle(gram),
    sigma: result.clip,
    capped: result.capped.map(bit),
    weight: representativeWeights(result),
  } as CircuitInput;
  return { input, result, gram };
}

describe("ConsensusKeep", () => {
  test("equals consensusDecision's aggregation mask and clipped Gram matrix", async () => {
    let kept = 0;
    let againstOthers = 0;
    let belowTau = 0;
    let untested = 0;
    let secondPassChanged = 0;
    for (const round of [...consensusRounds(24, 31), ...TIE_ROUNDS, WEIGHTED_ROUND]) {
      const { input, result, gram } = keepInput(round);
      const w = await keep.witness(input);
      assert.equal(keep.violated(w), -1);
      for (let r = 0; r < K; r++) {
        assert.equal(output(keep, w, `kept[${r}]`), bit(result.aggregated[r]), `kept[${r}]`);
        assert.equal(output(keep, w, `firstPass[${r}]`), bit(result.firstPass[r]), `firstPass[${r}]`);
        if (result.firstPass[r] !== result.aggregated[r]) secondPassChanged++;
        const c = (k: number): bigint => (result.capped[k] ? (result.clip[k] as bigint) : 0n);
        const h = (i: number, j: number): bigint => c(i) * c(j) * ((gram[i] as bigint[])[j] as bigint);
        if (result.capped[r] && result.tested) {
          // Which branch decided: kept, dot_r <= 0, or dot_r > 0 with a cosine below tau.
          const votes = (j: number): bigint => (result.capped[j] ? BigInt(result.clusterSize[j] as number) : 0n);
          const dot = Array.from({ length: K }, (_, j) => votes(j) * h(r, j)).reduce((a, b) => a + b, 0n) - h(r, r);
          if (result.aggregated[r]) kept++;
          else if (dot <= 0n) againstOthers++;
          else belowTau++;
        }
        for (let j = r; j < K; j++) assert.equal(output(keep, w, `h[${gramIndex(r, j, K)}]`), mod(h(r, j)));
      }
      if (!result.tested) untested++;
    }
    const counts = `${kept} kept, ${againstOthers} with dot <= 0, ${belowTau} below tau, ${untested} untested rounds, ${secondPassChanged} changed by the second pass`;
    assert.ok(kept >= 10 && againstOthers >= 2 && belowTau >= 1 && untested >= 1, counts);
    console.error(`  ConsensusKeep(${K}, ${F}, ${GB}): ${keep.r1cs.nConstraints} constraints`);
  });

  test("fewer than 3 capped slots: nobody is kept; sigmas outside the capped set are ignored", async () => {
    const round: Round = [[10n, 1n], [1n, 10n], null, null, [7n, -7n]];
    const { input, result } = keepInput(round);
    assert.ok(result.tested);
    const two = tamper(input, (c) => ((c.capped as bigint[])[4] = 0n));
    const w = await keep.witness(two);
    for (let r = 0; r < K; r++) assert.equal(output(keep, w, `kept[${r}]`), 0n);
    const noisy = tamper(input, (c) => ((c.sigma as bigint[])[2] = 12345n));
    const w2 = await keep.witness(noisy);
    for (let r = 0; r < K; r++) assert.equal(output(keep, w2, `kept[${r}]`), bit(result.aggregated[r]));
  });

  test("a flipped kept bit is a violation", async () => {
    for (const round of consensusRounds(4, 41)) {
      const { input, result } = keepInput(round);
      const w = await keep.witness(input);
      for (let r = 0; r < K; r++) {
        const flipped = bit(!result.aggregated[r]);
        assert.notEqual(keep.violated(withOutput(keep, w, `kept[${r}]`, flipped)), -1, `kept[${r}]`);
      }
    }
  });
});

// ---- 5. Clusters ----

/**
 * A chain: slot 0 ~ slot 2 ~ slot 1 but not slot 0 ~ slot 1 (angles of about 17 degrees), so slot 1
 * has depth 2 and a parent above it; slots 3 and 4 are copies of each other, far from the chain.
 */
const CHAIN_ROUND: Round = [
  [1000n, 0n, 0n],
  [1000n, 600n, 0n],
  [1000n, 300n, 0n],
  [0n, 0n, 50n],
  [0n, 0n, 50n],
];

/** The hints of a round as Clusters expects them (one-hot rows; label -1 / parent -1 = no bit). */
function clustersInput(round: Round): { input: CircuitInput; result: ConsensusResult } {
  const { result } = decide(round);
  const oneHot = (slot: number): bigint[] => Array.from({ length: K }, (_, l) => bit(l === slot));
  const input = {
    linked: result.linked.map((row) => row.map(bit)),
    candidate: result.candidate.map(bit),
    labelOf: result.label.map(oneHot),
    parentOf: result.parent.map(oneHot),
    depth: result.depth.map(BigInt),
  } as CircuitInput;
  return { input, result };
}

describe("Clusters", () => {
  test("equals consensusDecision's representatives and cluster sizes", async () => {
    let deep = 0;
    for (const round of [CHAIN_ROUND, ...THRESHOLD_ROUNDS, ...randomRounds(12, 51)]) {
      const { input, result } = clustersInput(round);
      const w = await clusters.witness(input);
      assert.equal(clusters.violated(w), -1);
      for (let k = 0; k < K; k++) {
        assert.equal(output(clusters, w, `representative[${k}]`), bit(result.representative[k]), `representative[${k}]`);
        const size = result.representative[k] ? BigInt(result.clusterSize[k] as number) : 0n;
        assert.equal(output(clusters, w, `clusterSize[${k}]`), size, `clusterSize[${k}]`);
      }
      if (result.depth.some((d) => d >= 2)) deep++;
    }
    assert.ok(deep >= 1);
    assert.deepEqual(decide(CHAIN_ROUND).result.parent, [-1, 2, 0, -1, 3]);
    console.error(`  Clusters(${K}): ${clusters.r1cs.nConstraints} constraints`);
  });

  test("wrong labels, parents or depths are rejected", async () => {
    const { input } = clustersInput(CHAIN_ROUND);
    /** `input` with some hints replaced: `label` / `parent` slot (-1: none) and `depth` per slot. */
    const edited = (
      base: CircuitInput,
      changes: { label?: Record<number, number>; parent?: Record<number, number>; depth?: Record<number, number> },
    ): CircuitInput =>
      tamper(base, (c) => {
        const oneHot = (slot: number): bigint[] => Array.from({ length: K }, (_, l) => bit(l === slot));
        for (const [k, l] of Object.entries(changes.label ?? {})) (c.labelOf as bigint[][])[Number(k)] = oneHot(l);
        for (const [k, p] of Object.entries(changes.parent ?? {})) (c.parentOf as bigint[][])[Number(k)] = oneHot(p);
        for (const [k, d] of Object.entries(changes.depth ?? {})) (c.depth as bigint[])[Number(k)] = BigInt(d);
      });
    const edits: [string, CircuitInput][] = [
      // Slot 1 claims to be its own cluster (a root), though it is linked to slot 2.
      ["split", edited(input, { label: { 1: 1 }, parent: { 1: -1 }, depth: { 1: 0 } })],
      // The copies 3, 4 join cluster 0 through an unlinked parent.
      ["merge", edited(input, { label: { 3: 0, 4: 0 }, parent: { 3: 0 }, depth: { 3: 1, 4: 2 } })],
      // Cluster {3, 4} labelled by its higher slot (and rooted there).
      ["label above the slot", edited(input, { label: { 3: 4, 4: 4 }, parent: { 3: 4, 4: -1 }, depth: { 3: 1, 4: 0 } })],
      // Cluster {3, 4} rooted at 4 but labelled 3: the root is not its own label.
      ["root above the label", edited(input, { parent: { 3: 4, 4: -1 }, depth: { 3: 1, 4: 0 } })],
      // Parent not linked (slot 1's parent is slot 0).
      ["unlinked parent", edited(input, { parent: { 1: 0 }, depth: { 1: 1 } })],
      // Depths that do not decrease by one.
      ["depth", edited(input, { depth: { 1: 3 } })],
      // A non-root without parent.
      ["no parent", edited(input, { parent: { 4: -1 } })],
      // Two parents.
      ["two parents", tamper(input, (c) => ((c.parentOf as bigint[][])[2] = [1n, 1n, 0n, 0n, 0n]))],
      // A cycle: 1 and 2 parents of each other (2's parent 1 is one level up, but 1's parent 2 is not).
      ["cycle", edited(input, { parent: { 1: 2, 2: 1 }, depth: { 1: 1, 2: 2 } })],
    ];
    // Control: the edits are rejected for what they change, not for how they are written.
    const copies: Round = [[3n, 4n], [3n, 4n], [3n, 4n], null, null];
    const { input: triangleInput, result: triangleResult } = clustersInput(copies);
    assert.deepEqual(triangleResult.parent, [-1, 0, 0, -1, -1]);
    const other = await clusters.witness(edited(triangleInput, { parent: { 2: 1 }, depth: { 2: 2 } }));
    assert.equal(clusters.violated(other), -1, "another BFS-like tree of the same cluster is accepted");
    for (const [name, bad] of edits) await assert.rejects(clusters.witness(bad), name);
    // A slot that is not a candidate gets no label, parent or depth.
    const { input: sparse } = clustersInput(THRESHOLD_ROUNDS[2] as Round);
    await assert.rejects(
      clusters.witness(tamper(sparse, (c) => ((c.labelOf as bigint[][])[2] = [1n, 0n, 0n, 0n, 0n]))),
      "label of an empty slot",
    );
    await assert.rejects(clusters.witness(tamper(sparse, (c) => ((c.depth as bigint[])[3] = 1n))), "depth of a zero slot");
    const w = await clusters.witness(input);
    assert.notEqual(clusters.violated(withOutput(clusters, w, "clusterSize[0]", 2n)), -1);
    assert.notEqual(clusters.violated(withOutput(clusters, w, "representative[4]", 1n)), -1);
  });
});

// ---- 6. NormCap ----

/**
 * Five representatives with squared norms 100, 400, 401, 81 and 49 (pairwise far from
 * near-duplicates): the lower median is 100, so 400 = cap2 * M2 is capped and 401 is not.
 */
const CAP_ROUND: Round = [
  [10n, 0n, 0n, 0n, 0n],
  [0n, 20n, 0n, 0n, 0n],
  [0n, 0n, 20n, 1n, 0n],
  [0n, 0n, 0n, 0n, 9n],
  [0n, 0n, 0n, 7n, 0n],
];

/** NormCap input of a round (`on`: active with at least one representative). */
function capInput(round: Round): { input: CircuitInput; result: ConsensusResult } {
  const { gram, result } = decide(round);
  const input = {
    norm2: gram.map((row, k) => row[k] as bigint),
    representative: result.representative.map(bit),
    m2: result.medianNorm2,
    on: bit(result.active && result.n > 0),
    cap2: CONSENSUS_PARAMS.cap2,
  } as CircuitInput;
  return { input, result };
}

describe("NormCap", () => {
  test("equals consensusDecision's capped on random, tied, inactive and boundary rounds", async () => {
    let capped = 0;
    let aboveCap = 0;
    const inactiveRound: Round = [[1n, 0n], [0n, 1n], null, null, null];
    // Slot k scaled by 2k + 1: norms far apart, many representatives above the cap.
    const scaled = spreadRounds(8, 65).map((round) => round.map((u, k) => u?.map((x) => x * BigInt(2 * k + 1)) ?? null));
    const rounds = [CAP_ROUND, inactiveRound, ...TIE_ROUNDS, ...spreadRounds(16, 61), ...randomRounds(8, 63), ...scaled];
    for (const round of rounds) {
      const { input, result } = capInput(round);
      const w = await cap.witness(input);
      assert.equal(cap.violated(w), -1);
      for (let k = 0; k < K; k++) {
        assert.equal(output(cap, w, `capped[${k}]`), bit(result.capped[k]), `capped[${k}]`);
        if (result.capped[k]) capped++;
        else if (result.active && result.representative[k]) aboveCap++;
      }
    }
    assert.ok(capped >= 20 && aboveCap >= 3, `${capped} capped, ${aboveCap} representatives above the cap`);
    console.error(`  NormCap(${K}, ${GB}): ${cap.r1cs.nConstraints} constraints`);
  });

  test("G_rr = cap2 * M2 is capped, cap2 * M2 + 1 is not", async () => {
    const { input, result } = capInput(CAP_ROUND);
    assert.equal(result.medianNorm2, 100n);
    assert.deepEqual(result.capped, [true, true, false, true, true]);
    const w = await cap.witness(input);
    assert.equal(output(cap, w, "capped[1]"), 1n);
    assert.equal(output(cap, w, "capped[2]"), 0n);
    // The same bound with a larger median: now 401 <= 4 * 101.
    const w2 = await cap.witness(tamper(input, (c) => (c.m2 = 101n)));
    assert.equal(output(cap, w2, "capped[2]"), 1n);
  });

  test("off or not a representative: not capped; a flipped output is a violation", async () => {
    const { input } = capInput(CAP_ROUND);
    const off = await cap.witness(tamper(input, (c) => (c.on = 0n)));
    for (let k = 0; k < K; k++) assert.equal(output(cap, off, `capped[${k}]`), 0n);
    const member = await cap.witness(tamper(input, (c) => ((c.representative as bigint[])[3] = 0n)));
    assert.equal(output(cap, member, "capped[3]"), 0n);
    const w = await cap.witness(input);
    for (let k = 0; k < K; k++) {
      const flipped = 1n - output(cap, w, `capped[${k}]`);
      assert.notEqual(cap.violated(withOutput(cap, w, `capped[${k}]`, flipped)), -1, `capped[${k}]`);
    }
  });
});

// ---- 7. ClusterScores ----

/**
 * A kept representative with a negative score sum: slots 0, 1 and 2 are kept, but slot 0's clipped
 * inner products with slots 1 and 2 sum to less than 0 (slot 2 fails the consensus test's first
 * pass and is kept by the second, whose voters are the first pass's survivors; the score sums over
 * the kept slots). Slot 4 copies slot 1 (a cluster of 2 labelled 1, two votes). Found by a seeded
 * search over small integer vectors.
 */
const NEGATIVE_ROUND: Round = [
  [-12n, -7n, -7n],
  [5n, -11n, -1n],
  [9n, -2n, 11n],
  [-1n, 6n, -9n],
  [5n, -11n, -1n],
];

/** Three copies (a cluster of 3 labelled 0) with two other kept updates. */
const TRIPLE_ROUND: Round = [
  [10n, 1n, 0n],
  [10n, 1n, 0n],
  [8n, 5n, 1n],
  [10n, 1n, 0n],
  [9n, -3n, 2n],
];

/** ClusterScores input of a round, with the hints of `consensusHints`. */
function scoresInput(round: Round): { input: CircuitInput; result: ConsensusResult; sums: bigint[] } {
  const { gram, result } = decide(round);
  const h = (i: number, j: number): bigint =>
    (result.clip[i] as bigint) * (result.clip[j] as bigint) * ((gram[i] as bigint[])[j] as bigint);
  const kept = result.aggregated;
  // sum_r over the other kept representatives (0 for slots that are not kept).
  const sums = Array.from({ length: K }, (_, r) =>
    kept[r] ? Array.from({ length: K }, (_, j) => (j !== r && kept[j] ? h(r, j) : 0n)).reduce((a, b) => a + b, 0n) : 0n,
  );
  const hints = consensusHints(result, F);
  const size = Array.from({ length: K }, (_, l) => (result.representative[l] ? BigInt(result.clusterSize[l] as number) : 0n));
  // By consensus nobody is over the top cap: ToUncapped is the clamp (its hints are consensusHints').
  const input = {
    value: sums.map(mod),
    before: new Array<bigint>(K).fill(0n),
    deduction: new Array<bigint>(K).fill(0n),
    factor: hints["uncappedFactor"],
    factorRemainder: hints["uncappedFactorRemainder"],
    quotient: hints["uncappedQuotient"],
    remainder: hints["uncappedRemainder"],
    kept: kept.map(bit),
    labelOf: hints.labelOf,
    clusterSize: size,
    shiftQuotient: hints.shiftQuotient,
    shiftRemainder: hints.shiftRemainder,
    splitQuotient: hints.splitQuotient,
    splitRemainder: hints.splitRemainder,
  } as CircuitInput;
  return { input, result, sums };
}

describe("ClusterScores", () => {
  test("equals consensusDecision's counted slots, cluster scores and scores", async () => {
    let counted = 0;
    let copies = 0;
    let unevenSplits = 0;
    let negative = 0;
    const rounds = [NEGATIVE_ROUND, TRIPLE_ROUND, ...copiesRounds(40, 71), ...consensusRounds(8, 73), ...TIE_ROUNDS];
    for (const round of rounds) {
      const { input, result, sums } = scoresInput(round);
      const w = await scoring.witness(input);
      assert.equal(scoring.violated(w), -1);
      for (let k = 0; k < K; k++) {
        assert.equal(output(scoring, w, `counted[${k}]`), bit(result.counted[k]), `counted[${k}]`);
        assert.equal(output(scoring, w, `clusterScore[${k}]`), result.clusterScores[k], `clusterScore[${k}]`);
        assert.equal(output(scoring, w, `score[${k}]`), result.scores[k], `score[${k}]`);
        if (result.counted[k]) counted++;
        if (result.aggregated[k]) {
          const size = BigInt(result.clusterSize[k] as number);
          if (size >= 2n) copies++;
          if ((result.clusterScores[k] as bigint) % size !== 0n) unevenSplits++;
          if ((sums[k] as bigint) < 0n) negative++;
        }
      }
    }
    const counts = `${counted} counted, ${copies} kept clusters of copies, ${unevenSplits} uneven splits, ${negative} negative sums`;
    assert.ok(counted >= 40 && copies >= 5 && unevenSplits >= 3 && negative >= 1, counts);
    console.error(`  ToUncapped(${K}, ${VB}, ${P}) and ClusterScores(${K}, ${F}, ${PAID_BITS}): ${scoring.r1cs.nConstraints} constraints`);
  });

  test("copies split their cluster's score; a negative sum scores 0", async () => {
    const triple = scoresInput(TRIPLE_ROUND).result;
    assert.deepEqual(triple.label, [0, 0, 2, 0, 4]);
    assert.ok(triple.aggregated[0] && (triple.clusterScores[0] as bigint) > 0n);
    for (const k of [0, 1, 3]) assert.equal(triple.scores[k], (triple.clusterScores[0] as bigint) / 3n);
    const { result, sums } = scoresInput(NEGATIVE_ROUND);
    assert.deepEqual(result.aggregated, [true, true, true, false, false]);
    assert.deepEqual(result.label, [0, 1, 2, 3, 1]);
    assert.ok((sums[0] as bigint) < 0n);
    assert.equal(result.clusterScores[0], 0n);
    assert.equal(result.scores[0], 0n);
    assert.ok((result.scores[1] as bigint) > 0n);
    assert.equal(result.scores[4], result.scores[1]);
    assert.equal(result.scores[1], (result.clusterScores[1] as bigint) / 2n);
    assert.deepEqual(result.counted, [true, true, true, false, true]);
  });

  test("wrong quotients, remainders or signs are rejected; wrong outputs are violations", async () => {
    const unit = 1n << BigInt(2 * F);
    /** `input` with hint `name[k]` replaced by `value` (a field element). */
    const hint = (base: CircuitInput, name: string, k: number, value: bigint): CircuitInput =>
      tamper(base, (c) => ((c[name] as bigint[])[k] = mod(value)));
    /** `input` with two hints replaced (a consistent quotient and remainder pair). */
    const pair = (base: CircuitInput, q: string, rem: string, k: number, qv: bigint, rv: bigint): CircuitInput =>
      hint(hint(base, q, k, qv), rem, k, rv);

    const { input: triple, result: tripleResult } = scoresInput(TRIPLE_ROUND);
    const { input: negative } = scoresInput(NEGATIVE_ROUND);
    for (const [input, k] of [
      [triple, 0],
      [triple, 2],
      [negative, 1],
    ] as const) {
      const at = (name: string): bigint => (input[name] as bigint[])[k] as bigint;
      const [q, rem, sq, srem, size] = ["shiftQuotient", "shiftRemainder", "splitQuotient", "splitRemainder", "clusterSize"].map(at);
      assert.ok((q as bigint) > 0n && (sq as bigint) > 0n, `slot ${k} scores`);
      // Control: the helpers rewrite hints without breaking them.
      assert.equal(
        scoring.violated(await scoring.witness(pair(input, "splitQuotient", "splitRemainder", k, sq as bigint, srem as bigint))),
        -1,
      );
      for (const d of [-1n, 1n]) {
        for (const name of ["shiftQuotient", "shiftRemainder", "splitQuotient", "splitRemainder"]) {
          await assert.rejects(scoring.witness(hint(input, name, k, at(name) + d)), `${name}[${k}] ${d}`);
        }
      }
      // Quotient and remainder moved together: the equation holds, a range check fails.
      await assert.rejects(scoring.witness(pair(input, "shiftQuotient", "shiftRemainder", k, (q as bigint) - 1n, (rem as bigint) + unit)));
      await assert.rejects(scoring.witness(pair(input, "shiftQuotient", "shiftRemainder", k, (q as bigint) + 1n, (rem as bigint) - unit)));
      const s = size as bigint;
      await assert.rejects(scoring.witness(pair(input, "splitQuotient", "splitRemainder", k, (sq as bigint) - 1n, (srem as bigint) + s)));
      await assert.rejects(scoring.witness(pair(input, "splitQuotient", "splitRemainder", k, (sq as bigint) + 1n, (srem as bigint) - s)));
      // A wrong sign: a positive sum claimed negative (hints 0).
      await assert.rejects(scoring.witness(pair(input, "shiftQuotient", "shiftRemainder", k, 0n, 0n)), `sign of slot ${k}`);
    }
    // The first case splits over a cluster of 3.
    assert.equal(tripleResult.clusterSize[0], 3);

    // A wrong sign: the negative sum of slot 0 claimed positive (the floor of the signed sum).
    const { sums } = scoresInput(NEGATIVE_ROUND);
    const signed = sums[0] as bigint;
    const floorQ = signed >= 0n ? signed / unit : -((-signed + unit - 1n) / unit);
    await assert.rejects(scoring.witness(pair(negative, "shiftQuotient", "shiftRemainder", 0, floorQ, signed - floorQ * unit)));
    await assert.rejects(scoring.witness(pair(negative, "shiftQuotient", "shiftRemainder", 0, 0n, 1n)));
    // A share for a cluster that is not kept: slot 3 (size 1) and slot 4 (not a label, size 0).
    await assert.rejects(scoring.witness(hint(negative, "splitQuotient", 3, 1n)), "share of a dropped cluster");
    await assert.rejects(scoring.witness(hint(negative, "splitQuotient", 4, 1n)), "share of a non-label");
    await assert.rejects(scoring.witness(hint(negative, "shiftQuotient", 3, 1n)), "cluster score of a dropped slot");

    const w = await scoring.witness(negative);
    assert.equal(scoring.violated(w), -1);
    for (let k = 0; k < K; k++) {
      const flipped = 1n - output(scoring, w, `counted[${k}]`);
      assert.notEqual(scoring.violated(withOutput(scoring, w, `counted[${k}]`, flipped)), -1, `counted[${k}]`);
      for (const name of [`clusterScore[${k}]`, `score[${k}]`]) {
        assert.notEqual(scoring.violated(withOutput(scoring, w, name, output(scoring, w, name) + 1n)), -1, name);
      }
    }
  });
});

// ---- 8''''. ToUncapped ----

/** A ToUncapped case: signed values after and before the top cap, and which slots it deducts from. */
interface ShareCase {
  readonly name: string;
  readonly value: readonly bigint[];
  readonly before: readonly bigint[];
  readonly over: readonly boolean[];
}

/** ToUncapped's input of a case (hints from core's `uncappedShares`; deductions 1 where over) and the expected paid values. */
function sharesInput(c: ShareCase): { input: CircuitInput; shares: ReturnType<typeof uncappedShares> } {
  const shares = uncappedShares({ values: c.value, before: c.before, overTop: c.over, bits: P });
  const input = {
    value: c.value.map(mod),
    before: c.before.map(mod),
    deduction: c.over.map((o, r) => (o ? BigInt(r + 1) : 0n)),
    factor: shares.factor,
    factorRemainder: shares.factorRemainder,
    quotient: shares.quotient,
    remainder: shares.remainder,
  } as CircuitInput;
  return { input, shares };
}

/** Seeded cases: values in (-2^30, 2^30), some slots over the cap with a value lowered by up to 2^28. */
function randomShareCases(count: number, seed: number): ShareCase[] {
  const next = rng(seed);
  return Array.from({ length: count }, (_, i) => {
    const over = Array.from({ length: K }, () => next(0, 2) === 0n);
    const value = Array.from({ length: K }, () => next(0, 2 ** 30) - (next(0, 3) === 0n ? 2n ** 30n : 0n));
    const before = value.map((x, r) => (over[r] ? x + next(1, 2 ** 28) : x));
    return { name: `seeded ${i}`, value, before, over };
  });
}

/** Hand-made cases (K = 5). */
const SHARE_CASES: ShareCase[] = [
  // Nobody over the cap: the clamp (the Gram rule's values pass through it).
  { name: "nobody over", value: [5n, -3n, 0n, 7n, 1n], before: [0n, 0n, 0n, 0n, 0n], over: [false, false, false, false, false] },
  // Two over it: pot 6 + 3 (one from 3 to -1), the others paid twice their value.
  { name: "pot", value: [4n, -1n, 3n, 6n, -4n], before: [10n, 3n, 3n, 6n, -4n], over: [true, true, false, false, false] },
  // Over from a negative pay: it took nothing from the pay.
  { name: "negative before", value: [-5n, 2n, 2n, 0n, 0n], before: [-2n, 2n, 2n, 0n, 0n], over: [true, false, false, false, false] },
  // Nobody else paid (H = 0): the capped values stand.
  { name: "nobody else", value: [3n, 0n, -2n, 0n, 0n], before: [8n, 0n, -2n, 0n, 0n], over: [true, false, false, false, false] },
  // Every slot over the cap.
  { name: "all over", value: [3n, 1n, 2n, 5n, 1n], before: [4n, 9n, 2n, 6n, 1n], over: [true, true, true, true, true] },
  // Floors: H = 3, pot 1.
  { name: "floors", value: [3n, 1n, 2n, 0n, 0n], before: [4n, 1n, 2n, 0n, 0n], over: [true, false, false, false, false] },
  // The extremes of the ranges: values at 2^VB - 1 and -2^VB, a pot of almost 2^VB paid to a value of 1.
  {
    name: "extremes",
    value: [2n ** BigInt(VB) - 1n, -(2n ** BigInt(VB)), 1n, 0n, 0n],
    before: [2n ** BigInt(VB) - 1n, 2n ** BigInt(VB) - 1n, 1n, 0n, 0n],
    over: [false, true, false, false, false],
  },
  // A tiny H against a large pot.
  { name: "tiny H", value: [1n, 0n, 0n, 0n, 1n], before: [1n, 0n, 0n, 0n, 2n ** 60n], over: [false, false, false, false, true] },
];

describe("ToUncapped", () => {
  test("equals core's uncappedShares on seeded and hand-made cases", async () => {
    let paidUp = 0;
    for (const c of [...randomShareCases(40, 811), ...SHARE_CASES]) {
      const { input, shares } = sharesInput(c);
      const w = await toUncapped.witness(input);
      assert.equal(toUncapped.violated(w), -1, c.name);
      for (let r = 0; r < K; r++) assert.equal(output(toUncapped, w, `paid[${r}]`), shares.paid[r], `${c.name}: paid[${r}]`);
      if (shares.pot > 0n && shares.total > 0n) paidUp++;
    }
    assert.ok(paidUp >= 20, `${paidUp} cases paid a pot to the uncapped`);
    console.error(`  ToUncapped(${K}, ${VB}, ${P}): ${toUncapped.r1cs.nConstraints} constraints`);
  });

  test("the hand-made cases pay as their names say", () => {
    const paid = (name: string): bigint[] => sharesInput(SHARE_CASES.find((c) => c.name === name)!).shares.paid;
    assert.deepEqual(paid("nobody over"), [5n, 0n, 0n, 7n, 1n]);
    assert.deepEqual(paid("pot"), [4n, 0n, 6n, 12n, 0n]);
    assert.deepEqual(paid("negative before"), [0n, 2n, 2n, 0n, 0n]);
    assert.deepEqual(paid("nobody else"), [3n, 0n, 0n, 0n, 0n]);
    assert.deepEqual(paid("all over"), [3n, 1n, 2n, 5n, 1n]);
    assert.deepEqual(paid("floors"), [3n, 1n, 2n, 0n, 0n]);
    // H = 2^VB, pot = 2^VB - 1: factor 2^(P + 1) - 1, so the pot reaches the two in proportion, less the floors.
    const extremes = paid("extremes");
    assert.equal(extremes[0], 2n ** BigInt(VB + 1) - 2n ** BigInt(VB - P) - 2n);
    assert.equal(extremes[2], 1n);
    assert.deepEqual(paid("tiny H"), [2n ** 60n, 0n, 0n, 0n, 1n]);
  });

  test("every hint changed at one entry is rejected; a deduction moved or a wrong output is a violation", async () => {
    let rejected = 0;
    for (const c of SHARE_CASES.filter((x) => ["pot", "floors", "nobody else", "extremes"].includes(x.name))) {
      const { input, shares } = sharesInput(c);
      const names = ["factor", "factorRemainder", "quotient", "remainder"];
      for (const name of names) {
        const entries = Array.isArray(input[name]) ? [...Array(K).keys()] : [-1];
        for (const k of entries) {
          for (const d of [1n, -1n]) {
            const edit = (x: Record<string, unknown>): void => {
              if (k < 0) x[name] = mod((x[name] as bigint) + d);
              else (x[name] as bigint[])[k] = mod(((x[name] as bigint[])[k] as bigint) + d);
            };
            await assert.rejects(toUncapped.witness(tamper(input, edit)), `${c.name}: ${name}[${k}] ${d}`);
            rejected++;
          }
        }
      }
      // Quotient and remainder moved together keep the equations: a range check fails.
      const one = 1n << BigInt(P);
      const uncapped = c.over.findIndex((o, r) => !o && (shares.paid[r] as bigint) > 0n);
      if (uncapped >= 0) {
        for (const [dq, dr] of [
          [1n, -one],
          [-1n, one],
        ] as const) {
          const edit = (x: Record<string, unknown>): void => {
            (x["quotient"] as bigint[])[uncapped] = mod((shares.quotient[uncapped] as bigint) + dq);
            (x["remainder"] as bigint[])[uncapped] = mod((shares.remainder[uncapped] as bigint) + dr);
          };
          await assert.rejects(toUncapped.witness(tamper(input, edit)), `${c.name}: quotient pair ${dq}`);
        }
      }
      const divisor = shares.total > 0n ? shares.total : 1n;
      for (const [dq, dr] of [
        [1n, -divisor],
        [-1n, divisor],
      ] as const) {
        const edit = (x: Record<string, unknown>): void => {
          x["factor"] = mod(shares.factor + dq);
          x["factorRemainder"] = mod(shares.factorRemainder + dr);
        };
        await assert.rejects(toUncapped.witness(tamper(input, edit)), `${c.name}: factor pair ${dq}`);
      }
      // Who is over the cap is CosineCap's proven deduction: moving it changes the pay, so these hints fail.
      for (let r = 0; r < K; r++) {
        const moved = tamper(input, (x) => ((x["deduction"] as bigint[])[r] = c.over[r] ? 0n : 1n));
        const expected = uncappedShares({ values: c.value, before: c.before, overTop: c.over.map((o, i) => (i === r ? !o : o)), bits: P });
        if (expected.paid.some((x, i) => x !== shares.paid[i]) || expected.factor !== shares.factor) {
          await assert.rejects(toUncapped.witness(moved), `${c.name}: deduction of ${r} moved`);
          rejected++;
        }
      }
      const w = await toUncapped.witness(input);
      for (let r = 0; r < K; r++) {
        assert.notEqual(toUncapped.violated(withOutput(toUncapped, w, `paid[${r}]`, (shares.paid[r] as bigint) + 1n)), -1, `paid[${r}]`);
      }
    }
    assert.ok(rejected >= 100, `${rejected} rejected`);
  });
});

// ---- 8. ConsensusRule ----

/** A round of the whole rule: the updates, the quorum's `f`, not-decoded slots, and a pair sharing a commitment. */
interface RuleCase {
  readonly round: Round;
  readonly f?: number;
  readonly excluded?: readonly number[];
  readonly duplicate?: readonly [number, number];
  /** The owner's reference: the rule then judges by it. */
  readonly reference?: TestReference;
  /** Without a reference: the last global delta (omitted: zero). */
  readonly delta?: readonly bigint[];
}

/** ConsensusRule input of a case (valid slots and quorum from `consensusDecision`, hints from `consensusHints`). */
function ruleInput({ round, f = 0, excluded = [], duplicate, reference, delta }: RuleCase): {
  input: CircuitInput;
  result: ConsensusResult;
} {
  const gram = gramOf(round);
  const commitments = round.map((u, k) => (u === null ? 0n : BigInt(k + 1)));
  if (duplicate !== undefined) commitments[duplicate[1]] = commitments[duplicate[0]] as bigint;
  const stats = reference === undefined ? undefined : referenceStats(round, reference);
  // Without a reference, the delta's statistics alone (its <Delta, v> is 0).
  const deltaOnly = delta === undefined ? undefined : deltaStatsOf(round, delta);
  const deltaStats = stats?.delta ?? deltaOnly;
  const result = consensusDecision({
    commitments,
    excluded: round.map((_, k) => excluded.includes(k)),
    gram,
    f,
    ...(stats === undefined ? {} : referenceInput(stats)),
    ...(deltaOnly === undefined ? {} : { delta: deltaOnly }),
  });
  const input = {
    gram: triangle(gram),
    valid: result.valid.map(bit),
    active: bit(result.active),
    byReference: bit(stats !== undefined),
    alignment: (stats?.alignment ?? new Array<bigint>(K).fill(0n)).map(mod),
    referenceNorm: stats?.norm2 ?? 0n,
    deltaAlignment: (deltaStats?.alignment ?? new Array<bigint>(K).fill(0n)).map(mod),
    deltaNorm: deltaStats?.norm2 ?? 0n,
    deltaReference: mod(deltaStats?.reference ?? 0n),
    size: BigInt(stats?.size ?? round.find((u) => u !== null)?.length ?? 0),
    f: BigInt(f),
    ...consensusHints(result, F),
  } as CircuitInput;
  return { input, result };
}

/** Checks the outputs of witness `w` against the reference `result`. */
function assertRuleOutputs(w: readonly bigint[], result: ConsensusResult, what: string): void {
  for (let k = 0; k < K; k++) {
    assert.equal(output(rule, w, `counted[${k}]`), bit(result.counted[k]), `${what}: counted[${k}]`);
    assert.equal(output(rule, w, `aggregated[${k}]`), bit(result.aggregated[k]), `${what}: aggregated[${k}]`);
    assert.equal(output(rule, w, `score[${k}]`), result.scores[k], `${what}: score[${k}]`);
  }
}

/** Every valid update zero: active, but no cluster and no median. */
const ZEROS_ROUND: Round = [[0n, 0n], [0n, 0n], [0n, 0n], null, [0n, 0n]];

describe("ConsensusRule", () => {
  test("equals consensusDecision's counted slots, aggregation mask and scores", async () => {
    const next = rng(101);
    const slot = (): number => Number(next(0, K - 1));
    const cases: RuleCase[] = [
      ...[CHAIN_ROUND, NEGATIVE_ROUND, TRIPLE_ROUND, CAP_ROUND, ZEROS_ROUND, ...THRESHOLD_ROUNDS, ...TIE_ROUNDS].map((round) => ({
        round,
      })),
      ...copiesRounds(16, 103).map((round) => ({ round })),
      ...consensusRounds(16, 105).map((round) => ({ round })),
      ...randomRounds(8, 107).map((round) => ({ round })),
      ...spreadRounds(8, 109).map((round) => ({ round })),
      // Quorum 5 (f = 1) with one slot not decoded: inactive rounds whose clusters still exist.
      ...copiesRounds(6, 111).map((round) => ({ round, f: 1, excluded: [slot()] })),
      // Not decoded, or sharing a commitment: invalid slots whose Gram rows must be ignored.
      ...copiesRounds(8, 113).map((round) => ({ round, excluded: [slot()] })),
      ...consensusRounds(8, 115).map((round) => ({ round, duplicate: [slot(), slot()] as [number, number] })),
    ];
    let inactive = 0;
    let untested = 0;
    let keptCopies = 0;
    let scored = 0;
    let dropped = 0;
    let invalidNonEmpty = 0;
    for (const [index, ruleCase] of cases.entries()) {
      const { input, result } = ruleInput(ruleCase);
      const w = await rule.witness(input);
      assert.equal(rule.violated(w), -1);
      assertRuleOutputs(w, result, `case ${index}`);
      if (!result.active) inactive++;
      else if (!result.tested) untested++;
      for (let k = 0; k < K; k++) {
        if (result.aggregated[k] && (result.clusterSize[k] as number) >= 2) keptCopies++;
        if ((result.scores[k] as bigint) > 0n) scored++;
        if (result.active && result.candidate[k] && !result.counted[k]) dropped++;
        if (!result.valid[k] && !result.empty[k] && (ruleCase.round[k]?.some((x) => x !== 0n) ?? false)) invalidNonEmpty++;
      }
    }
    const counts = `${inactive} inactive, ${untested} untested, ${keptCopies} kept clusters of copies, ${scored} scores > 0, ${dropped} dropped candidates, ${invalidNonEmpty} invalid non-zero slots`;
    assert.ok(inactive >= 8 && untested >= 1 && keptCopies >= 5 && scored >= 100 && dropped >= 10 && invalidNonEmpty >= 8, counts);
    console.error(`  ConsensusRule(${K}, ${F}, ${GB}): ${rule.r1cs.nConstraints} constraints (${counts})`);
  });

  test("every hint changed at one entry is rejected; another BFS tree gives the same outputs", async () => {
    const bitHints = new Set(["labelOf", "parentOf", "medianSlot"]);
    let rejected = 0;
    let same = 0;
    // A cluster of 3 split three ways, and a cluster of 2 with a negative score sum elsewhere.
    for (const round of [TRIPLE_ROUND, NEGATIVE_ROUND]) {
      const { input, result } = ruleInput({ round });
      const honestWitness = await rule.witness(input);
      assertRuleOutputs(honestWitness, result, "honest hints");
      for (const name of Object.keys(consensusHints(result, F))) {
        const hint = input[name] as bigint | (bigint | bigint[])[];
        // A scalar hint is one entry at no index.
        const entries = Array.isArray(hint) ? hint.flatMap((x, i) => (Array.isArray(x) ? x.map((_, j) => [i, j]) : [[i]])) : [[]];
        for (const at of entries) {
          const read = (c: Record<string, unknown>): bigint =>
            at.length === 0
              ? (c[name] as bigint)
              : at.length === 2
                ? ((c[name] as bigint[][])[at[0] as number] as bigint[])[at[1] as number]!
                : (c[name] as bigint[])[at[0] as number]!;
          const write = (c: Record<string, unknown>, v: bigint): void => {
            if (at.length === 0) c[name] = v;
            else if (at.length === 2) ((c[name] as bigint[][])[at[0] as number] as bigint[])[at[1] as number] = v;
            else (c[name] as bigint[])[at[0] as number] = v;
          };
          const original = read(input);
          const values = bitHints.has(name) ? [1n - original] : [mod(original + 1n), mod(original - 1n)];
          for (const value of values) {
            const what = `${name}[${at.join("][")}] = ${value}`;
            let w: bigint[];
            try {
              w = await rule.witness(tamper(input, (c) => write(c, value)));
            } catch {
              rejected++;
              continue;
            }
            // Accepted: a violation, or another valid hint with the reference's outputs.
            if (rule.violated(w) !== -1) rejected++;
            else {
              assertRuleOutputs(w, result, what);
              same++;
            }
          }
        }
      }
    }
    assert.ok(rejected >= 200, `${rejected} rejected, ${same} accepted with the same outputs`);
    console.error(`  ConsensusRule hints changed at one entry: ${rejected} rejected, ${same} accepted with the same outputs`);

    // Another BFS tree of the cluster {0, 1, 3} of TRIPLE_ROUND: slot 3 below slot 1 (depth 2).
    const { input, result } = ruleInput({ round: TRIPLE_ROUND });
    assert.deepEqual(result.parent, [-1, 0, -1, 0, -1]);
    const tree = tamper(input, (c) => {
      (c.parentOf as bigint[][])[3] = [0n, 1n, 0n, 0n, 0n];
      (c.depth as bigint[])[3] = 2n;
    });
    const w = await rule.witness(tree);
    assert.equal(rule.violated(w), -1);
    assertRuleOutputs(w, result, "another BFS tree");
  });

  test("flipped outputs and a wrong score are violations; valid and active are the caller's", async () => {
    const { input, result } = ruleInput({ round: TRIPLE_ROUND });
    const w = await rule.witness(input);
    for (let k = 0; k < K; k++) {
      for (const name of [`counted[${k}]`, `aggregated[${k}]`]) {
        assert.notEqual(rule.violated(withOutput(rule, w, name, 1n - output(rule, w, name))), -1, name);
      }
      assert.notEqual(rule.violated(withOutput(rule, w, `score[${k}]`, (result.scores[k] as bigint) + 1n)), -1, `score[${k}]`);
    }
    // The honest hints of an active round do not fit an inactive one (the median slot must be empty).
    await assert.rejects(rule.witness(tamper(input, (c) => (c.active = 0n))));
    // A slot declared invalid loses its label and cannot keep its hints.
    await assert.rejects(rule.witness(tamper(input, (c) => ((c.valid as bigint[])[4] = 0n))));
  });
});

// ---- 9. By the owner's reference: ReferenceAligned, AdditiveValues, GramValues, ConsensusRule ----

describe("ReferenceAligned", () => {
  test("equals consensusDecision's aligned slots on seeded rounds", async () => {
    let alignedCount = 0;
    let notAligned = 0;
    for (const { round, reference } of referenceRounds(24, 201)) {
      const { gram, result } = decideByReference(round, reference);
      const stats = referenceStats(round, reference);
      const w = await aligned.witness({
        alignment: stats.alignment.map(mod),
        norm2: gram.map((row, k) => row[k] as bigint),
        referenceNorm: stats.norm2,
        size: BigInt(stats.size),
      } as CircuitInput);
      assert.equal(aligned.violated(w), -1);
      for (let k = 0; k < K; k++) {
        // The template does not gate by validity (the rule does): compare the valid slots.
        if (!result.valid[k]) continue;
        const expected = result.aligned[k];
        assert.equal(output(aligned, w, `aligned[${k}]`), bit(expected), `aligned[${k}]`);
        if (expected) alignedCount++;
        else notAligned++;
      }
    }
    assert.ok(alignedCount >= 20 && notAligned >= 20, `${alignedCount} aligned, ${notAligned} not`);
    console.error(`  ReferenceAligned(${K}, ${GB}): ${aligned.r1cs.nConstraints} constraints`);
  });

  test("the margin is strict: a^2 D = 16 G |v|^2 is not aligned, one more is; a <= 0 never is", async () => {
    // a = 4, G = 16, |v|^2 = 1: a^2 D = 16 D against 16 * 16 = 256.
    const at = (alignment: bigint, size: bigint): CircuitInput =>
      ({
        alignment: new Array<bigint>(K).fill(mod(alignment)),
        norm2: new Array<bigint>(K).fill(16n),
        referenceNorm: 1n,
        size,
      }) as CircuitInput;
    const flag = async (input: CircuitInput): Promise<bigint> => {
      const w = await aligned.witness(input);
      assert.equal(aligned.violated(w), -1);
      return output(aligned, w, "aligned[0]");
    };
    assert.equal(await flag(at(4n, 16n)), 0n);
    assert.equal(await flag(at(4n, 17n)), 1n);
    assert.equal(await flag(at(-4n, 17n)), 0n);
    assert.equal(await flag(at(0n, 1n << 31n)), 0n);
    // |v|^2 = 0 (a zero reference): a is 0 too, nobody is aligned.
    assert.equal(await flag(tamper(at(0n, 64n), (c) => (c.referenceNorm = 0n))), 0n);
    // The extremes of the bounds: |a| just below 2^GB, D just below 2^32, G and |v|^2 just below 2^GB.
    const max = (1n << BigInt(GB)) - 1n;
    const extreme = tamper(at(max, (1n << 32n) - 1n), (c) => {
      c.norm2 = new Array<bigint>(K).fill(max);
      c.referenceNorm = max;
    });
    assert.equal(await flag(extreme), 1n);
    assert.equal(await flag(tamper(extreme, (c) => (c.alignment = new Array<bigint>(K).fill(mod(-max))))), 0n);
    // An alignment beyond the bound makes the witness unsatisfiable rather than giving a wrong answer.
    await assert.rejects(aligned.witness(tamper(extreme, (c) => (c.alignment = new Array<bigint>(K).fill(mod(max + 2n))))));
    const w = await aligned.witness(at(4n, 17n));
    assert.notEqual(aligned.violated(withOutput(aligned, w, "aligned[0]", 0n)), -1);
  });
});

/** AdditiveValues input of a round by the reference, and the values `2^F b_r` of the kept slots. */
function additiveInput(round: Round, reference: TestReference): { input: CircuitInput; values: bigint[]; result: ConsensusResult } {
  const { result } = decideByReference(round, reference);
  // Step 8' pays the kept players' alignments after the delta cap (DeltaCap's output).
  const alignment = referenceStats(round, reference).alignment.map((a, r) =>
    result.aggregated[r] ? (result.cappedAlignment[r] as bigint) : a,
  );
  const kept = result.aggregated;
  const values = alignment.map((a, r) => (kept[r] ? ((result.clip[r] as bigint) * a) << BigInt(F) : 0n));
  const input = { sigma: [...result.clip], alignment: alignment.map(mod), kept: kept.map(bit) } as CircuitInput;
  return { input, values, result };
}

describe("AdditiveValues", () => {
  test("equals consensusDecision's cluster values (before the clamp), negative ones and the bounds' extremes included", async () => {
    let negative = 0;
    let kept = 0;
    for (const { round, reference } of referenceRounds(32, 211)) {
      const { input, values, result } = additiveInput(round, reference);
      const w = await additiveValues.witness(input);
      assert.equal(additiveValues.violated(w), -1);
      for (let r = 0; r < K; r++) {
        assert.equal(output(additiveValues, w, `value[${r}]`), mod(values[r] as bigint), `value[${r}]`);
        if (result.aggregated[r]) {
          assert.equal(result.clusterSums[r], (values[r] as bigint) > 0n ? values[r] : 0n);
          kept++;
        }
      }
    }
    // Through the inputs directly: sigma at its ends, alignments at the bound's ends and negative,
    // one slot not kept (its value is 0 whatever its inputs).
    const first = referenceRounds(1, 213)[0] as { round: Round; reference: TestReference };
    const { input } = additiveInput(first.round, first.reference);
    const max = (1n << BigInt(GB)) - 1n;
    const sigma = Array.from({ length: K }, (_, r) => (r % 2 === 0 ? 1n << BigInt(F) : BigInt(r)));
    const alignment = Array.from({ length: K }, (_, r) => (r % 3 === 0 ? max : r % 3 === 1 ? -max : BigInt(-1000 * r)));
    const flags = Array.from({ length: K }, (_, r) => r !== K - 1);
    const w = await additiveValues.witness(
      tamper(input, (c) => Object.assign(c, { sigma, alignment: alignment.map(mod), kept: flags.map(bit) })),
    );
    for (let r = 0; r < K; r++) {
      const expected = flags[r] ? ((sigma[r] as bigint) * (alignment[r] as bigint)) << BigInt(F) : 0n;
      assert.equal(output(additiveValues, w, `value[${r}]`), mod(expected), `value[${r}]`);
      if (expected < 0n) negative++;
    }
    assert.ok(kept > 0 && negative >= 2, `${kept} kept, ${negative} negative values`);
    console.error(`  AdditiveValues(${K}, ${F}, ${GB}): ${additiveValues.r1cs.nConstraints} constraints`);
  });

  test("a wrong value is a violation", async () => {
    const first = referenceRounds(1, 215)[0] as { round: Round; reference: TestReference };
    const { input } = additiveInput(first.round, first.reference);
    const w = await additiveValues.witness(input);
    for (let r = 0; r < K; r++) {
      const name = `value[${r}]`;
      assert.notEqual(additiveValues.violated(withOutput(additiveValues, w, name, output(additiveValues, w, name) + 1n)), -1, name);
    }
  });
});

describe("GramValues", () => {
  test("equals the clipped alignment with the other kept clusters; a wrong value is a violation", async () => {
    for (const round of [NEGATIVE_ROUND, TRIPLE_ROUND, ...consensusRounds(8, 221)]) {
      const { gram, result } = decide(round);
      const h = (i: number, j: number): bigint =>
        (result.clip[i] as bigint) * (result.clip[j] as bigint) * ((gram[i] as bigint[])[j] as bigint);
      const { sums } = scoresInput(round);
      const w = await gramValues.witness({
        h: triangle(Array.from({ length: K }, (_, i) => Array.from({ length: K }, (_, j) => h(i, j)))),
        kept: result.aggregated.map(bit),
      } as CircuitInput);
      assert.equal(gramValues.violated(w), -1);
      for (let r = 0; r < K; r++) {
        assert.equal(output(gramValues, w, `value[${r}]`), mod(sums[r] as bigint), `value[${r}]`);
        assert.notEqual(gramValues.violated(withOutput(gramValues, w, `value[${r}]`, output(gramValues, w, `value[${r}]`) + 1n)), -1);
      }
    }
    console.error(`  GramValues(${K}, ${2 * F + GB}): ${gramValues.r1cs.nConstraints} constraints`);
  });
});

/** Hand-made rounds by the reference (D = 64: aligned iff cos(u, v) > 1/2). */
const REFERENCE_CASES: { name: string; round: Round; reference: TestReference }[] = [
  // All-equal updates: one cluster of 5, aligned, its score split five ways.
  { name: "all equal", round: Array.from({ length: K }, () => [10n, 3n, 0n]), reference: { v: [5n, 1n, 1n], size: 64 } },
  // Zero updates: valid (the quorum counts them), never aligned, never paid.
  {
    name: "zeros",
    round: [
      [10n, 0n, 0n],
      [0n, 0n, 0n],
      [0n, 0n, 0n],
      [9n, 2n, 0n],
      [8n, -2n, 1n],
    ],
    reference: { v: [1n, 0n, 0n], size: 64 },
  },
  // The zero reference: nobody aligned, nobody counted.
  {
    name: "zero v",
    round: [
      [10n, 0n, 0n],
      [9n, 1n, 0n],
      [8n, 0n, 2n],
      [7n, -1n, 0n],
      [10n, 1n, 1n],
    ],
    reference: { v: [0n, 0n, 0n], size: 64 },
  },
  // Against v, orthogonal to it, and at the margin: cos exactly 1/2 is out, just above is in.
  {
    name: "margin",
    round: [
      [1n, 0n, 0n, 0n],
      [-3n, 1n, 0n, 0n],
      [0n, 5n, 0n, 0n],
      [1n, 1n, 1n, 1n],
      [10n, 1n, 0n, 0n],
    ],
    reference: { v: [1n, 0n, 0n, 0n], size: 64 },
  },
  // A large aligned update (10x the others' norm): above 3x the median norm, an outlier.
  {
    name: "inflated",
    round: [
      [10n, 8n, 0n, 0n, 0n],
      [10n, 0n, 8n, 0n, 0n],
      [100n, 0n, 0n, 0n, -80n],
      [10n, 0n, 0n, 8n, 0n],
      [10n, 0n, 0n, 0n, 8n],
    ],
    reference: { v: [1n, 0n, 0n, 0n, 0n], size: 64 },
  },
  // Near-duplicates (copies and a near copy) of one update: one player splitting one value.
  {
    name: "copies",
    round: [
      [10n, 2n, 0n],
      [10n, 2n, 0n],
      [10n, 2n, 1n],
      [6n, 7n, 0n],
      [9n, -4n, 3n],
    ],
    reference: { v: [3n, 1n, 0n], size: 64 },
  },
  // A noisy replay of the last delta (slot 4: cosine 0.973 with it, below the replay screen) among
  // four honest updates: the cap takes from it what following Delta closer than the median player pays.
  replayCase("replay", [12n, 9n, 4n, 0n, 3n]),
  // An exact-enough replay of Delta (cosine 0.997 >= 99/100): valid, neither counted nor paid.
  replayCase("exact replay", [11n, 10n, 2n, 2n, 3n]),
];

/** Four honest updates and `replay` in slot 4, with `Delta` = (10, 10, 2, 2, 2) and `v` = (1, 1, 0, 0, 0). */
function replayCase(name: string, replay: readonly bigint[]): { name: string; round: Round; reference: TestReference } {
  return {
    name,
    round: [[10n, 9n, 8n, 0n, 0n], [9n, 11n, 0n, 8n, 0n], [11n, 10n, 0n, 0n, 8n], [10n, 10n, -6n, 0n, -5n], [...replay]],
    reference: { v: [1n, 1n, 0n, 0n, 0n], size: 64, delta: [10n, 10n, 2n, 2n, 2n] },
  };
}

/**
 * Two updates at cosine 1 with `v` (as `floor(sqrt(G_rr |v|^2))` rounds it) above three at 3/5, f = 2:
 * the top cap's pivot is the third highest (slot 4, ties by slot), and slots 0 and 1 are paid
 * `a_r - floor((4 * 10 * 10 - 5 * 6 * 10) / (4 * 10)) = 10 - 2`.
 */
const TOP_CAPPED_CASE: RuleCase = {
  round: [
    [10n, 3n, 0n, 0n, 0n],
    [10n, 0n, 3n, 0n, 0n],
    [6n, 8n, 0n, 0n, 0n],
    [6n, 0n, 8n, 0n, 0n],
    [6n, 0n, 0n, 8n, 0n],
  ],
  reference: { v: [1n, 0n, 0n, 0n, 0n], size: 64 },
  f: 2,
};

describe("ConsensusRule by the owner's reference", () => {
  test("equals consensusDecision on seeded and hand-made rounds, active and inactive", async () => {
    let counted = 0;
    let unaligned = 0;
    let scored = 0;
    let keptCopies = 0;
    let inactive = 0;
    const cases: RuleCase[] = [
      ...referenceRounds(24, 231).map(({ round, reference }) => ({ round, reference })),
      // f = 3: the quorum by the reference is 7 of 5 slots, nobody is counted.
      ...referenceRounds(4, 233).map(({ round, reference }) => ({ round, reference, f: 3 })),
      // f = 2: 5 = 2f + 1 slots are a quorum by the reference (by consensus 7 would be needed).
      ...referenceRounds(4, 235).map(({ round, reference }) => ({ round, reference, f: 2 })),
      // f = 1: the top cap's pivot is the second highest kept cosine with v (f = 0: the highest, nothing capped).
      ...referenceRounds(12, 237).map(({ round, reference }) => ({ round, reference, f: 1 })),
      ...REFERENCE_CASES.map(({ round, reference }) => ({ round, reference })),
      ...REFERENCE_CASES.map(({ round, reference }) => ({ round, reference, f: 1 })),
      TOP_CAPPED_CASE,
    ];
    let topCapped = 0;
    for (const [index, ruleCase] of cases.entries()) {
      const { input, result } = ruleInput(ruleCase);
      const w = await rule.witness(input);
      assert.equal(rule.violated(w), -1);
      assertRuleOutputs(w, result, `reference case ${index}`);
      if (!result.active) inactive++;
      topCapped += result.topDeduction.filter((x) => x > 0n).length;
      for (let k = 0; k < K; k++) {
        if (result.counted[k]) counted++;
        if (result.valid[k] && !result.aligned[k]) unaligned++;
        if ((result.scores[k] as bigint) > 0n) scored++;
        if (result.aggregated[k] && (result.clusterSize[k] as number) >= 2) keptCopies++;
      }
    }
    const counts = `${counted} counted, ${unaligned} valid but not aligned, ${scored} scores > 0, ${keptCopies} kept clusters of copies, ${inactive} inactive, ${topCapped} top-cap deductions`;
    assert.ok(counted >= 40 && unaligned >= 20 && scored >= 30 && keptCopies >= 5 && inactive >= 1 && topCapped >= 4, counts);
    console.error(`  ConsensusRule by the reference: ${counts}`);
  });

  test("the hand-made rounds decide as their names say", () => {
    const by = (name: string): ConsensusResult => {
      const c = REFERENCE_CASES.find((x) => x.name === name) as (typeof REFERENCE_CASES)[number];
      return ruleInput(c).result;
    };
    const top = ruleInput(TOP_CAPPED_CASE).result;
    assert.ok(top.topCapped && top.topPivotSlot === 4);
    assert.deepEqual(top.topDeduction, [2n, 2n, 0n, 0n, 0n]);
    assert.deepEqual(top.paidAlignment, [8n, 8n, 6n, 6n, 6n]);
    const equal = by("all equal");
    assert.deepEqual(equal.counted, [true, true, true, true, true]);
    assert.ok((equal.scores[0] as bigint) > 0n && equal.scores.every((x) => x === equal.scores[0]));
    const zeros = by("zeros");
    assert.deepEqual(zeros.counted, [true, false, false, true, true]);
    assert.deepEqual(by("zero v").counted, [false, false, false, false, false]);
    // Slot 0 (cos 1) and slot 4 (cos 0.995) are in; slot 3 (cos exactly 1/2) and the others are out.
    assert.deepEqual(by("margin").aligned, [true, false, false, false, true]);
    const inflated = by("inflated");
    assert.equal(inflated.counted[2], false);
    assert.deepEqual(inflated.counted, [true, true, false, true, true]);
    const replay = by("replay");
    assert.ok(replay.deltaCapped && (replay.deltaDeduction[4] as bigint) > 0n, "the replay is capped");
    assert.ok(replay.counted.every(Boolean));
    const exact = by("exact replay");
    assert.deepEqual(exact.replay, [false, false, false, false, true]);
    assert.deepEqual(exact.counted, [true, true, true, true, false]);
    assert.equal(exact.valid[4], true);
    assert.equal(exact.scores[4], 0n);
    const copies = by("copies");
    assert.deepEqual(copies.label.slice(0, 3), [0, 0, 0]);
    assert.equal(copies.scores[1], copies.scores[0]);
    assert.equal(copies.scores[0], (copies.clusterScores[0] as bigint) / 3n);
  });

  test("every hint changed at one entry is rejected or gives the same outputs; byReference flipped changes them", async () => {
    let rejected = 0;
    for (const ruleCase of [REFERENCE_CASES[5], REFERENCE_CASES[1], REFERENCE_CASES[6], IDENTITIES_CASE] as RuleCase[]) {
      const { input, result } = ruleInput(ruleCase);
      for (const name of [
        "medianSlot",
        "sigmaHint",
        "deltaRootHint",
        "deltaMedianHint",
        "deltaDeductionHint",
        "deltaRemainderHint",
        "topRootHint",
        "topPivotHint",
        "topDeductionHint",
        "topRemainderHint",
        "uncappedFactor",
        "uncappedFactorRemainder",
        "uncappedQuotient",
        "uncappedRemainder",
        "shiftQuotient",
        "shiftRemainder",
        "splitQuotient",
        "splitRemainder",
      ]) {
        // A scalar hint is one entry (k = -1).
        for (const k of Array.isArray(input[name]) ? [...Array(K).keys()] : [-1]) {
          const original = k < 0 ? (input[name] as bigint) : ((input[name] as bigint[])[k] as bigint);
          const values = ["medianSlot", "deltaMedianHint", "topPivotHint"].includes(name)
            ? [1n - original]
            : [mod(original + 1n), mod(original - 1n)];
          for (const value of values) {
            try {
              const w = await rule.witness(tamper(input, (c) => (k < 0 ? (c[name] = value) : ((c[name] as bigint[])[k] = value))));
              if (rule.violated(w) !== -1) rejected++;
              else assertRuleOutputs(w, result, `${name}[${k}] = ${value}`);
            } catch {
              rejected++;
            }
          }
        }
      }
    }
    assert.ok(rejected >= 150, `${rejected} rejected`);
    assert.ok(ruleInput(IDENTITIES_CASE).result.overTop.filter(Boolean).length === 2, "the identities' case pays the top cap's pot");
    // The same inputs judged by consensus: other hints are needed (the copies round's scores differ).
    const { input } = ruleInput(REFERENCE_CASES[5] as RuleCase);
    await assert.rejects(rule.witness(tamper(input, (c) => (c.byReference = 0n))));
  });
});

/**
 * Three honest updates (cosines 0.55-0.77 with v = e_1) and two of the owner's identities along v
 * (0.97, not near-duplicates of each other), f = 2: the pivot is the best honest player, the
 * identities are over 5/4 of it, and what the cap takes is paid to the honest three (step 8'''').
 */
const IDENTITIES_CASE: RuleCase = {
  round: [
    [100n, 90n, 80n, 0n],
    [90n, 110n, 0n, 80n],
    [120n, 80n, 0n, 60n],
    [160n, 40n, 0n, 0n],
    [160n, 0n, 40n, 0n],
  ],
  reference: { v: [1n, 0n, 0n, 0n], size: 64 },
  f: 2,
};

// ---- 8''. The delta cap: CosineCap(K, GB, 1, 1, 0) ----

/** The delta cap's input of a round by the reference (hints from `consensusHints`), and the expected outputs. */
function deltaCapInput(
  round: Round,
  reference: TestReference,
  on = true,
): { input: CircuitInput; expected: bigint[]; result: ConsensusResult } {
  const { gram, result } = decideByReference(round, reference);
  const stats = referenceStats(round, reference);
  const hints = consensusHints(result, F);
  const input = {
    value: stats.alignment.map(mod),
    along: (stats.delta?.alignment ?? []).map(mod),
    norm2: gram.map((row, k) => row[k] as bigint),
    alongNorm: stats.delta?.norm2 ?? 0n,
    weight: mod(stats.delta?.reference ?? 0n),
    kept: result.aggregated.map(bit),
    // HelpingStep's verdict, as ConsensusRule wires it.
    on: on && (stats.delta?.norm2 ?? 0n) > 0n && (stats.delta?.reference ?? 0n) > 0n ? 1n : 0n,
    f: 0n,
    rootHint: hints["deltaRootHint"],
    pivotHint: hints["deltaMedianHint"],
    deductionHint: hints["deltaDeductionHint"],
    remainderHint: hints["deltaRemainderHint"],
  } as CircuitInput;
  // The template caps the kept players and passes every other alignment through.
  const expected = stats.alignment.map((a, r) => (result.aggregated[r] ? (result.cappedAlignment[r] as bigint) : a));
  return { input, expected, result };
}

/** Hand-made delta-cap rounds (slots: K = 5). */
const DELTA_CASES: { name: string; round: Round; reference: TestReference }[] = [
  REFERENCE_CASES.find((c) => c.name === "replay") as { name: string; round: Round; reference: TestReference },
  // Five distinct updates with the same cosine 3/5 with Delta (and the same norm): ordered by slot,
  // nobody above the median.
  {
    name: "ties",
    round: [
      [3n, 4n, 0n, 0n],
      [3n, 0n, 4n, 0n],
      [3n, -4n, 0n, 0n],
      [3n, 0n, -4n, 0n],
      [3n, 0n, 0n, 4n],
    ],
    reference: { v: [1n, 0n, 0n, 0n], size: 64, delta: [7n, 0n, 0n, 0n] },
  },
  // Delta against v: following it does not help, nothing is capped.
  {
    name: "unhelpful",
    round: REFERENCE_CASES.find((c) => c.name === "replay")!.round,
    reference: { v: [1n, 1n, 0n, 0n, 0n], size: 64, delta: [-10n, -10n, 2n, 2n, 2n] },
  },
  // Round 0: Delta = 0.
  {
    name: "round 0",
    round: REFERENCE_CASES.find((c) => c.name === "replay")!.round,
    reference: { v: [1n, 1n, 0n, 0n, 0n], size: 64, delta: [0n, 0n, 0n, 0n, 0n] },
  },
  // Delta orthogonal to the updates but helping v a little: negative and zero cosines.
  {
    name: "signs",
    round: [[10n, 0n, 3n], [9n, 1n, -4n], [11n, -4n, 0n], [10n, 0n, 8n], null],
    reference: { v: [1n, 0n, 0n], size: 64, delta: [1n, 0n, 9n] },
  },
];

describe("CosineCap as the delta cap", () => {
  test("equals consensusDecision's capped alignments on seeded and hand-made rounds", async () => {
    let capped = 0;
    let deducted = 0;
    const cases = [
      ...referenceRounds(60, 271).filter(({ reference }) => reference.delta !== undefined),
      ...DELTA_CASES.map(({ round, reference }) => ({ round, reference })),
    ];
    for (const [index, { round, reference }] of cases.entries()) {
      const { input, expected, result } = deltaCapInput(round, reference);
      const w = await deltaCap.witness(input);
      assert.equal(deltaCap.violated(w), -1, `case ${index}`);
      for (let r = 0; r < K; r++)
        assert.equal(output(deltaCap, w, `capped[${r}]`), mod(expected[r] as bigint), `case ${index}: capped[${r}]`);
      if (result.deltaCapped) capped++;
      deducted += result.deltaDeduction.filter((x) => x > 0n).length;
    }
    assert.ok(capped >= 8 && deducted >= 8, `${capped} capped rounds, ${deducted} deductions`);
    console.error(
      `  CosineCap(${K}, ${GB}, 1, 1, 0): ${deltaCap.r1cs.nConstraints} constraints; ${capped} capped rounds, ${deducted} deductions`,
    );
  });

  test("the hand-made rounds cap as their names say", () => {
    const by = (name: string): ConsensusResult => {
      const c = DELTA_CASES.find((x) => x.name === name)!;
      return deltaCapInput(c.round, c.reference).result;
    };
    assert.ok(by("replay").deltaCapped && (by("replay").deltaDeduction[4] as bigint) > 0n);
    const ties = by("ties");
    assert.ok(ties.deltaCapped && ties.deltaDeduction.every((x) => x === 0n));
    assert.equal(ties.deltaMedianSlot, 2, "equal cosines are ordered by slot: the lower median of five is the third");
    for (const name of ["unhelpful", "round 0"]) assert.ok(!by(name).deltaCapped, name);
    assert.ok(by("signs").deltaCapped);
  });

  test("off: every alignment passes through and no hint may be set", async () => {
    const replay = DELTA_CASES[0]!;
    const { input } = deltaCapInput(replay.round, replay.reference);
    const quiet = deltaCapInput(replay.round, { ...replay.reference, delta: [0n, 0n, 0n, 0n, 0n] }).input;
    const offInput = tamper(input, (c) => {
      c["on"] = 0n;
      for (const name of ["rootHint", "pivotHint", "deductionHint", "remainderHint"]) c[name] = quiet[name] as bigint[];
    });
    const w = await deltaCap.witness(offInput);
    assert.equal(deltaCap.violated(w), -1);
    for (let r = 0; r < K; r++) assert.equal(output(deltaCap, w, `capped[${r}]`), (input["value"] as bigint[])[r]);
    // The capped round's hints with the cap off: rejected.
    await assert.rejects(deltaCap.witness(tamper(input, (c) => (c["on"] = 0n))));
  });

  test("every hint changed at one entry is rejected; a wrong output is a violation", async () => {
    let rejected = 0;
    for (const { name, round, reference } of DELTA_CASES.slice(0, 2)) {
      rejected += await rejectsCosineCapTampering(deltaCap, deltaCapInput(round, reference).input, name);
    }
    assert.ok(rejected >= 60, `${rejected} rejected`);
  });
});

/**
 * A CosineCap test main's input tampered: every hint off by one at every slot (the one-hot pivot
 * flipped instead) is rejected, and a capped output off by one is a violation. Returns the number
 * of rejected witnesses.
 */
async function rejectsCosineCapTampering(circuit: TestCircuit, input: CircuitInput, what: string): Promise<number> {
  let rejected = 0;
  for (const name of ["rootHint", "pivotHint", "deductionHint", "remainderHint"]) {
    for (let k = 0; k < K; k++) {
      const original = (input[name] as bigint[])[k] as bigint;
      const values = name === "pivotHint" ? [1n - original] : [mod(original + 1n), mod(original - 1n)];
      for (const value of values) {
        await assert.rejects(
          circuit.witness(tamper(input, (c) => ((c[name] as bigint[])[k] = value))),
          `${what}: ${name}[${k}] = ${value}`,
        );
        rejected++;
      }
    }
  }
  const w = await circuit.witness(input);
  for (let r = 0; r < K; r++) {
    const name = `capped[${r}]`;
    assert.notEqual(circuit.violated(withOutput(circuit, w, name, output(circuit, w, name) + 1n)), -1, `${what}: ${name}`);
  }
  return rejected;
}

// ---- The reference's top cap: CosineCap(K, GB, 5, 4, 1) ----

/** A top-cap case: the updates (null: not a player), the direction `x`, what is capped and `f`. */
interface TopCapCase {
  readonly name: string;
  readonly round: Round;
  readonly x: readonly bigint[];
  /** The capped quantity of each slot (any signed value). */
  readonly value: readonly bigint[];
  readonly f: number;
  /** The weight (default `|x|^2`: the reference cap's, a deduction in units of `<u_r, x>`). */
  readonly weight?: bigint;
  readonly on?: boolean;
}

/** CosineCap(K, GB, 5, 4, 1)'s input for a case (hints from core's `cosineCap`) and the expected outputs. */
function topCapInput(c: TopCapCase): { input: CircuitInput; expected: bigint[]; pivot: number; deduction: bigint[] } {
  const players = [...Array(K).keys()].filter((r) => c.round[r] != null);
  const norm2 = c.round.map((u) => (u == null ? 0n : innerProduct(u, u)));
  const along = c.round.map((u) => (u == null ? 0n : innerProduct(u, c.x)));
  const alongNorm = innerProduct(c.x, c.x);
  const weight = c.weight ?? alongNorm;
  const applies = (c.on ?? true) && players.length > 0 && alongNorm > 0n;
  const zeros = (): bigint[] => new Array<bigint>(K).fill(0n);
  const cap = applies
    ? cosineCap({
        k: K,
        kept: players,
        norm2: (r) => norm2[r] as bigint,
        along,
        alongNorm2: alongNorm,
        weight,
        pivot: { at: "top", f: c.f, num: BigInt(TOP_NUM), den: BigInt(TOP_DEN) },
      })
    : { root: zeros(), pivot: -1, deduction: zeros(), remainder: zeros() };
  const input = {
    value: c.value.map(mod),
    along: along.map(mod),
    norm2,
    alongNorm,
    weight: mod(weight),
    kept: c.round.map((u) => bit(u != null)),
    on: bit((c.on ?? true) && alongNorm > 0n),
    f: BigInt(c.f),
    rootHint: cap.root,
    pivotHint: [...Array(K).keys()].map((r) => bit(r === cap.pivot)),
    deductionHint: cap.deduction,
    remainderHint: cap.remainder,
  } as CircuitInput;
  const expected = c.value.map((x, r) => x - (cap.deduction[r] as bigint));
  return { input, expected, pivot: cap.pivot, deduction: cap.deduction };
}

/** The largest entry of the test vectors: `4 (2^19 - 1)^2 < 2^40 = 2^GB` for dimension 4. */
const TOP_EXTREME = (1n << 19n) - 1n;

/** Hand-made top-cap cases (K = 5 slots). */
const TOP_CASES: TopCapCase[] = [
  // Two players far above the rest (a coalition of f = 2 built for a reference): held to 5/4 of the third.
  {
    name: "coalition",
    round: [
      [9n, 1n, 0n, 0n],
      [9n, 0n, 1n, 0n],
      [3n, 8n, 0n, 0n],
      [2n, 0n, 8n, 1n],
      [3n, 0n, 1n, 8n],
    ],
    x: [1n, 0n, 0n, 0n],
    value: [90n, 91n, 30n, 20n, 31n],
    f: 2,
  },
  // Equal cosines: ordered by slot, nobody above 5/4 of the pivot.
  {
    name: "ties",
    round: [
      [3n, 4n, 0n, 0n],
      [3n, 0n, 4n, 0n],
      [3n, -4n, 0n, 0n],
      [3n, 0n, -4n, 0n],
      [3n, 0n, 0n, 4n],
    ],
    x: [1n, 0n, 0n, 0n],
    value: [3n, 3n, 3n, 3n, 3n],
    f: 1,
  },
  // Every update equal: one cosine, no deduction.
  { name: "all equal", round: Array.from({ length: K }, () => [5n, 1n, 2n, 0n]), x: [1n, 1n, 0n, 0n], value: [7n, 7n, 7n, 7n, 7n], f: 2 },
  // f >= n: the pivot is the lowest player.
  {
    name: "f above n",
    round: [[9n, 1n, 0n, 0n], null, [3n, 8n, 0n, 0n], null, [6n, 6n, 0n, 0n]],
    x: [1n, 0n, 0n, 0n],
    value: [9n, 0n, 3n, 0n, 6n],
    f: 255,
  },
  // f = 0: the pivot is the highest player, nobody is above it.
  {
    name: "f zero",
    round: [
      [9n, 1n, 0n, 0n],
      [1n, 9n, 0n, 0n],
      [3n, 8n, 0n, 0n],
      [2n, 2n, 2n, 0n],
      [6n, 6n, 0n, 0n],
    ],
    x: [1n, 0n, 0n, 0n],
    value: [9n, 1n, 3n, 2n, 6n],
    f: 0,
  },
  // One player: it is the pivot.
  { name: "one player", round: [null, null, [3n, 8n, 0n, 0n], null, null], x: [1n, 0n, 0n, 0n], value: [0n, 0n, 3n, 0n, 0n], f: 2 },
  // Nobody kept, or the cap off: everything passes through.
  { name: "nobody", round: [null, null, null, null, null], x: [1n, 0n, 0n, 0n], value: [1n, -2n, 3n, 0n, 5n], f: 2 },
  {
    name: "off",
    round: [[9n, 1n, 0n, 0n], [9n, 0n, 1n, 0n], [3n, 8n, 0n, 0n], [2n, 0n, 8n, 1n], null],
    x: [1n, 0n, 0n, 0n],
    value: [90n, 91n, 30n, 20n, 0n],
    f: 1,
    on: false,
  },
  // Negative and zero cosines, a pivot below zero, and a weight other than |x|^2.
  {
    name: "signs",
    round: [
      [-9n, 1n, 0n, 0n],
      [0n, 5n, 0n, 0n],
      [-3n, 8n, 0n, 0n],
      [-6n, -6n, 0n, 0n],
      [4n, 1n, 0n, 0n],
    ],
    x: [1n, 0n, 0n, 0n],
    value: [-5n, 0n, 2n, -9n, 4n],
    f: 1,
    weight: 7n,
  },
  // The extremes of the ranges: G_rr and X just below 2^GB, s_r at +-R_r (parallel and opposite updates).
  {
    name: "extremes",
    round: [
      [TOP_EXTREME, TOP_EXTREME, TOP_EXTREME, TOP_EXTREME],
      [-TOP_EXTREME, -TOP_EXTREME, -TOP_EXTREME, -TOP_EXTREME],
      [TOP_EXTREME, 0n, 0n, 0n],
      [TOP_EXTREME, TOP_EXTREME, 0n, 0n],
      [1n, 0n, 0n, 0n],
    ],
    x: [TOP_EXTREME, TOP_EXTREME, TOP_EXTREME, TOP_EXTREME],
    value: [(1n << 39n) - 1n, -(1n << 39n), 1n << 38n, 1n << 38n, 1n],
    f: 1,
  },
];

/** Seeded top-cap cases: random players, directions, values, `f` in 0..4 and weights `|x|^2` or random (>= 0, as the template requires). */
function randomTopCases(count: number, seed: number): TopCapCase[] {
  const next = rng(seed);
  return Array.from({ length: count }, (_, i) => {
    const x = randomVector(next, 4, 40);
    const common = randomVector(next, 4, 40);
    const round = Array.from({ length: K }, () => {
      if (next(0, 4) === 0n) return null;
      // Near x, near a common direction, or random: spread cosines, some equal-ish.
      const kind = next(0, 2);
      const u = kind === 0n ? perturbed(next, x, 15) : kind === 1n ? perturbed(next, common, 15) : randomVector(next, 4, 40);
      // A player has G_rr >= 1 (a zero update is never kept).
      return u.every((e) => e === 0n) ? null : u;
    });
    return {
      name: `random ${i}`,
      round,
      x,
      value: round.map(() => next(-5000, 5000)),
      f: Number(next(0, 4)),
      ...(i % 3 === 2 ? { weight: next(0, 3000) } : {}),
    };
  });
}

describe("CosineCap as the reference's top cap (5/4 of the (f + 1)-th highest cosine)", () => {
  test("equals core's cosineCap on seeded and hand-made cases", async () => {
    let deducted = 0;
    for (const c of [...randomTopCases(60, 613), ...TOP_CASES]) {
      const { input, expected, deduction } = topCapInput(c);
      const w = await topCap.witness(input);
      assert.equal(topCap.violated(w), -1, c.name);
      for (let r = 0; r < K; r++) assert.equal(output(topCap, w, `capped[${r}]`), mod(expected[r] as bigint), `${c.name}: capped[${r}]`);
      deducted += deduction.filter((x) => x > 0n).length;
    }
    assert.ok(deducted >= 20, `${deducted} deductions`);
    console.error(`  CosineCap(${K}, ${GB}, ${TOP_NUM}, ${TOP_DEN}, 1): ${topCap.r1cs.nConstraints} constraints; ${deducted} deductions`);
  });

  test("the hand-made cases cap as their names say", () => {
    const by = (name: string): ReturnType<typeof topCapInput> => topCapInput(TOP_CASES.find((c) => c.name === name)!);
    const coalition = by("coalition");
    assert.equal(coalition.pivot, 4, "the third highest cosine of five, f = 2");
    assert.ok((coalition.deduction[0] as bigint) > 0n && (coalition.deduction[1] as bigint) > 0n, "the two above it are capped");
    assert.ok(
      coalition.deduction.slice(2).every((x) => x === 0n),
      "nobody below the pivot is",
    );
    assert.equal(by("ties").pivot, 3, "equal cosines are ordered by slot: the second highest of five, f = 1, is slot 3");
    assert.ok(by("ties").deduction.every((x) => x === 0n) && by("all equal").deduction.every((x) => x === 0n));
    assert.equal(by("f above n").pivot, 2, "f >= n: the lowest cosine");
    assert.ok(
      by("f zero").deduction.every((x) => x === 0n),
      "f = 0: the highest is the pivot",
    );
    assert.equal(by("one player").pivot, 2);
    assert.equal(by("nobody").pivot, -1);
    assert.equal(by("off").pivot, -1);
    assert.ok(by("extremes").deduction.some((x) => x > 0n));
  });

  test("tolerance: a cosine up to 5/4 of the pivot's is not capped, above it the excess over 5/4 is", () => {
    // Slots 0-2 on x = e_1 at cosines 1, 4/5 and 3/5 (norm 5 each); f = 1: the pivot is slot 1 (4/5).
    const round: Round = [[5n, 0n, 0n, 0n], [4n, 3n, 0n, 0n], [3n, 4n, 0n, 0n], null, null];
    const { pivot, deduction } = topCapInput({ name: "tolerance", round, x: [1n, 0n, 0n, 0n], value: [0n, 0n, 0n, 0n, 0n], f: 1 });
    assert.equal(pivot, 1);
    // 1 <= 5/4 * 4/5: nothing; with f = 0 slot 0 is the pivot and nobody is above it either.
    assert.deepEqual(deduction, [0n, 0n, 0n, 0n, 0n]);
    // Slot 0 at 1 against a pivot at 3/5 (f = 2 of three players): capped by (1 - 3/4) * 5 = 1.25, floor 1.
    const low = topCapInput({ name: "low pivot", round, x: [1n, 0n, 0n, 0n], value: [0n, 0n, 0n, 0n, 0n], f: 2 });
    assert.equal(low.pivot, 2);
    assert.equal(low.deduction[0], 1n);
    assert.equal(low.deduction[1], 0n, "4/5 <= 5/4 * 3/5");
  });

  test("every hint changed at one entry is rejected, f changed moves the pivot; a wrong output is a violation", async () => {
    let rejected = 0;
    for (const c of TOP_CASES.filter((x) => ["coalition", "signs", "extremes"].includes(x.name))) {
      const { input } = topCapInput(c);
      rejected += await rejectsCosineCapTampering(topCap, input, c.name);
      // Another f with the same hints: the pivot is at the wrong rank.
      await assert.rejects(topCap.witness(tamper(input, (x) => (x["f"] = BigInt(c.f + 1)))), `${c.name}: f + 1`);
    }
    assert.ok(rejected >= 90, `${rejected} rejected`);
  });
});

// ---- 2''. DeltaReplay ----

describe("HelpingStep", () => {
  test("helps iff on, N != 0 and <Delta, v> >= 1, at the extremes of the ranges; a flipped output is a violation", async () => {
    const max = (1n << BigInt(GB)) - 1n;
    let cases = 0;
    for (const on of [0n, 1n])
      for (const n of [0n, 1n, max])
        for (const delta of [-max, -1n, 0n, 1n, 2n, max]) {
          const input = { deltaNorm: n, deltaReference: mod(delta), on } as CircuitInput;
          const w = await helpingStep.witness(input);
          assert.equal(helpingStep.violated(w), -1);
          const expected = on === 1n && n !== 0n && delta >= 1n ? 1n : 0n;
          assert.equal(output(helpingStep, w, "helps"), expected, `on ${on}, N ${n}, delta ${delta}`);
          assert.notEqual(helpingStep.violated(withOutput(helpingStep, w, "helps", 1n - expected)), -1);
          cases++;
        }
    // <Delta, v> beyond the bound makes the witness unsatisfiable rather than giving a wrong answer.
    await assert.rejects(helpingStep.witness({ deltaNorm: 1n, deltaReference: mod(max + 2n), on: 1n } as CircuitInput));
    await assert.rejects(helpingStep.witness({ deltaNorm: 1n, deltaReference: mod(-max - 1n), on: 1n } as CircuitInput));
    console.error(`  HelpingStep(${GB}): ${helpingStep.r1cs.nConstraints} constraints, ${cases} cases`);
  });
});

describe("DeltaVeto", () => {
  /** DeltaVeto input of a round by the reference, with consensusDecision's admitted flags. */
  function vetoInput(round: Round, reference: TestReference): { input: CircuitInput; result: ConsensusResult } {
    const { gram, result } = decideByReference(round, reference);
    const stats = referenceStats(round, reference);
    const input = {
      deltaAlignment: stats.delta.alignment.map(mod),
      norm2: gram.map((row, k) => row[k] as bigint),
      deltaNorm: stats.delta.norm2,
      aligned: result.aligned.map(bit),
      helps: stats.delta.norm2 > 0n && stats.delta.reference > 0n ? 1n : 0n,
    } as CircuitInput;
    return { input, result };
  }

  test("equals consensusDecision's admitted slots on seeded rounds (valid slots)", async () => {
    const next = rng(411);
    let vetoed = 0;
    let admitted = 0;
    for (const { round, reference } of referenceRounds(36, 409)) {
      // A last step v + n, n seeded noise twice v's size, and every other slot pushed against n by
      // its own size: slots aligned with v fall on both sides of the veto (<Delta, v> > 0 in most rounds).
      const size = (u: readonly bigint[]): number => Math.sqrt(Number(innerProduct(u, u)));
      const range = Number(reference.v.reduce((m, x) => ((x < 0n ? -x : x) > m ? (x < 0n ? -x : x) : m), 1n));
      const noise = reference.v.map(() => next(-2 * range, 2 * range));
      const delta = reference.v.map((x, i) => x + (noise[i] as bigint));
      const pushed: Round = round.map((u, k) => {
        if (u === null || k % 2 === 0) return u;
        const scale = size(u) / Math.max(1, size(noise));
        return u.map((x, i) => x - BigInt(Math.round(scale * Number(noise[i] as bigint))));
      });
      const { input, result } = vetoInput(pushed, { ...reference, delta });
      const w = await deltaVeto.witness(input);
      assert.equal(deltaVeto.violated(w), -1);
      for (let k = 0; k < K; k++) {
        if (!result.valid[k]) continue;
        assert.equal(output(deltaVeto, w, `admitted[${k}]`), bit(result.admitted[k]), `admitted[${k}]`);
        if (result.aligned[k] === true && !result.admitted[k]) vetoed++;
        if (result.admitted[k] === true) admitted++;
      }
    }
    assert.ok(vetoed >= 5 && admitted >= 20, `${vetoed} vetoed, ${admitted} admitted`);
    console.error(`  DeltaVeto(${K}, ${GB}): ${deltaVeto.r1cs.nConstraints} constraints`);
  });

  test("the veto is inclusive at cosine -1/10, applies only when the last step helps, and leaves the unaligned out", async () => {
    // b = -10, G_kk = N = 100: 100 * 10^2 = 1 * 100 * 100 (cosine -1/10).
    const at = (b: bigint, g: bigint, n: bigint, helps = 1n, aligned = 1n): CircuitInput =>
      ({
        deltaAlignment: new Array<bigint>(K).fill(mod(b)),
        norm2: new Array<bigint>(K).fill(g),
        deltaNorm: n,
        aligned: new Array<bigint>(K).fill(aligned),
        helps,
      }) as CircuitInput;
    const flag = async (input: CircuitInput): Promise<bigint> => {
      const w = await deltaVeto.witness(input);
      assert.equal(deltaVeto.violated(w), -1);
      return output(deltaVeto, w, "admitted[0]");
    };
    assert.equal(await flag(at(-10n, 100n, 100n)), 0n);
    assert.equal(await flag(at(-9n, 100n, 100n)), 1n);
    assert.equal(await flag(at(10n, 100n, 100n)), 1n);
    assert.equal(await flag(at(0n, 100n, 100n)), 1n);
    // Not aligned with v: never admitted.
    assert.equal(await flag(at(10n, 100n, 100n, 1n, 0n)), 0n);
    // Not a step to judge by (round 0, a step that does not help, by consensus: HelpingStep): no veto.
    assert.equal(await flag(at(-10n, 100n, 100n, 0n)), 1n);
    // The extremes of the bounds: b, G_kk and N just below 2^GB in size (cosine -1).
    const max = (1n << BigInt(GB)) - 1n;
    assert.equal(await flag(at(-max, max, max)), 0n);
    assert.equal(await flag(at(max, max, max)), 1n);
    // b beyond the bound makes the witness unsatisfiable rather than giving a wrong answer.
    await assert.rejects(deltaVeto.witness(at(-max - 2n, max, max)));
    const w = await deltaVeto.witness(at(-10n, 100n, 100n));
    assert.notEqual(deltaVeto.violated(withOutput(deltaVeto, w, "admitted[0]", 1n)), -1);
  });
});

describe("DeltaReplay", () => {
  /** DeltaReplay input of a round and a last delta, with consensusDecision's replay flags. */
  function replayInput(round: Round, delta: readonly bigint[]): { input: CircuitInput; expected: boolean[] } {
    const { result } = ruleInput({ round, delta });
    const stats = deltaStatsOf(round, delta);
    const gram = gramOf(round);
    const input = {
      deltaAlignment: stats.alignment.map(mod),
      norm2: gram.map((row, k) => row[k] as bigint),
      deltaNorm: stats.norm2,
      near: nearOf(gram).map((row) => row.map(bit)),
      nonZero: result.valid.map((v, k) => bit(v && !result.zero[k])),
    } as CircuitInput;
    return { input, expected: result.replay };
  }
  /** Seeded rounds whose last delta is one of their updates (so it and its copies are replays) or the common direction. */
  function replayRounds(count: number, seed: number): { round: Round; delta: bigint[] }[] {
    const next = rng(seed);
    return copiesRounds(count, seed).map((round, index) => {
      const first = round.find((u) => u !== null) ?? [0n];
      const delta = index % 3 === 2 ? perturbed(next, first, 40) : [...first];
      return { round, delta };
    });
  }

  test("equals consensusDecision's replay flags on seeded rounds (valid slots)", async () => {
    let replays = 0;
    let others = 0;
    for (const { round, delta } of replayRounds(24, 301)) {
      const { input, expected } = replayInput(round, delta);
      const w = await deltaReplay.witness(input);
      assert.equal(deltaReplay.violated(w), -1);
      for (let k = 0; k < K; k++) {
        if (round[k] === null) continue;
        assert.equal(output(deltaReplay, w, `replay[${k}]`), bit(expected[k]), `replay[${k}]`);
        if (expected[k]) replays++;
        else others++;
      }
    }
    assert.ok(replays >= 20 && others >= 40, `${replays} replays, ${others} others`);
    console.error(`  DeltaReplay(${K}, ${GB}): ${deltaReplay.r1cs.nConstraints} constraints`);
  });

  test("the threshold is inclusive: cos = 99/100 is a replay, one less is not; b <= 0 never is", async () => {
    // b = 99, G_kk = N = 100: 10000 * 99^2 = 9801 * 100 * 100.
    // No near-duplicates: nobody is rescued.
    const at = (b: bigint, g: bigint, n: bigint): CircuitInput =>
      ({
        deltaAlignment: new Array<bigint>(K).fill(mod(b)),
        norm2: new Array<bigint>(K).fill(g),
        deltaNorm: n,
        near: Array.from({ length: K }, () => new Array<bigint>(K).fill(0n)),
        nonZero: new Array<bigint>(K).fill(1n),
      }) as CircuitInput;
    const flag = async (input: CircuitInput): Promise<bigint> => {
      const w = await deltaReplay.witness(input);
      assert.equal(deltaReplay.violated(w), -1);
      return output(deltaReplay, w, "replay[0]");
    };
    assert.equal(await flag(at(99n, 100n, 100n)), 1n);
    assert.equal(await flag(at(98n, 100n, 100n)), 0n);
    assert.equal(await flag(at(-99n, 100n, 100n)), 0n);
    assert.equal(await flag(at(0n, 0n, 100n)), 0n);
    assert.equal(await flag(at(0n, 100n, 0n)), 0n);
    // The extremes of the bounds: b, G_kk and N just below 2^GB (cosine 1).
    const max = (1n << BigInt(GB)) - 1n;
    assert.equal(await flag(at(max, max, max)), 1n);
    assert.equal(await flag(at(-max, max, max)), 0n);
    // b beyond the bound makes the witness unsatisfiable rather than giving a wrong answer.
    await assert.rejects(deltaReplay.witness(at(max + 2n, max, max)));
    const w = await deltaReplay.witness(at(99n, 100n, 100n));
    assert.notEqual(deltaReplay.violated(withOutput(deltaReplay, w, "replay[0]", 0n)), -1);
  });

  test("a slot following Delta with a fresh near-duplicate is no replay (IID rounds); followers do not rescue each other", async () => {
    // core consensus.test.ts's IID round: slot 0 follows Delta (cosine 0.999), the others do not
    // (0.97-0.98) and are its near-duplicates.
    const delta = [100n, 50n, 20n, 0n, 0n, 0n, 0n];
    const iid: Round = [
      [101n, 50n, 20n, 4n, 0n, 0n, 0n],
      [100n, 52n, 14n, 0n, 25n, 0n, 0n],
      [98n, 55n, 18n, 0n, 0n, 24n, 0n],
      [104n, 45n, 20n, 0n, 0n, 0n, 26n],
      [95n, 52n, 25n, 22n, 0n, 0n, 0n],
    ];
    const flags = async (round: Round): Promise<{ got: bigint[]; expected: boolean[] }> => {
      const { input, expected } = replayInput(round, delta);
      const w = await deltaReplay.witness(input);
      assert.equal(deltaReplay.violated(w), -1);
      return { got: Array.from({ length: K }, (_, k) => output(deltaReplay, w, `replay[${k}]`)), expected };
    };
    const rescued = await flags(iid);
    assert.deepEqual(rescued.expected, [false, false, false, false, false]);
    assert.deepEqual(rescued.got, [0n, 0n, 0n, 0n, 0n]);
    // Slot 0 and a copy of it: both follow Delta, neither is fresh; the others are still fresh
    // near-duplicates, so both are rescued. With every other slot a copy too, nobody is fresh.
    const copies = await flags([iid[0] as bigint[], iid[0] as bigint[], ...iid.slice(2)]);
    assert.deepEqual(copies.got, copies.expected.map(bit));
    assert.deepEqual(copies.expected, [false, false, false, false, false]);
    const allCopies = await flags(Array.from({ length: K }, () => iid[0] as bigint[]));
    assert.deepEqual(allCopies.expected, [true, true, true, true, true]);
    assert.deepEqual(allCopies.got, [1n, 1n, 1n, 1n, 1n]);
    // Rescuers that are not valid (nonZero 0) rescue nobody, and the flag cannot be forged.
    const { input } = replayInput(iid, delta);
    const lonely = tamper(input, (c) => {
      c["nonZero"] = [1n, 0n, 0n, 0n, 0n];
    });
    const w = await deltaReplay.witness(lonely);
    assert.equal(output(deltaReplay, w, "replay[0]"), 1n);
    assert.notEqual(deltaReplay.violated(withOutput(deltaReplay, w, "replay[0]", 0n)), -1);
  });

  test("ConsensusRule screens replays in both modes: valid, neither counted nor paid", async () => {
    const exact = REFERENCE_CASES.find((c) => c.name === "exact replay") as (typeof REFERENCE_CASES)[number];
    let screened = 0;
    const cases: RuleCase[] = [
      exact,
      { round: exact.round, delta: exact.reference.delta as bigint[] },
      ...replayRounds(12, 303).map(({ round, delta }) => ({ round, delta })),
      ...replayRounds(12, 305).map(({ round, delta }, i) => ({
        round,
        reference: { v: (round.find((u) => u !== null) ?? [0n]).map((x, j) => x + BigInt((i + j) % 3)), size: 64, delta },
      })),
    ];
    for (const [index, ruleCase] of cases.entries()) {
      const { input, result } = ruleInput(ruleCase);
      const w = await rule.witness(input);
      assert.equal(rule.violated(w), -1);
      assertRuleOutputs(w, result, `replay case ${index}`);
      for (let k = 0; k < K; k++) {
        if (!result.replay[k]) continue;
        assert.ok(result.valid[k] && !result.counted[k] && result.scores[k] === 0n, `case ${index} slot ${k}`);
        screened++;
      }
    }
    assert.ok(screened >= 10, `${screened} replays screened`);
    // The screen reads the delta: with it zeroed, the exact replay is counted again.
    const { input, result } = ruleInput(exact);
    assert.equal(result.counted[4], false);
    const zeroed = tamper(input, (c) => {
      c["deltaAlignment"] = new Array<bigint>(K).fill(0n);
      c["deltaNorm"] = 0n;
      c["deltaReference"] = 0n;
    });
    // The hints were the replay's round's: with the delta gone they no longer fit (the slot is a candidate again).
    await assert.rejects(rule.witness(zeroed));
  });
});
