import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CONSENSUS_PARAMS,
  SlotStatus,
  clipFactor,
  consensusDecision,
  consensusHints,
  cosineCap,
  gramMatrix,
  isqrt,
  uncappedShares,
  type ConsensusParams,
  type ConsensusResult,
} from "../src/index.ts";

const distinct = (k: number): bigint[] => Array.from({ length: k }, (_, i) => BigInt(1000 + i));
const none = (k: number): boolean[] => new Array<boolean>(k).fill(false);

/** The decision over integer vectors (one per slot; `null`: empty slot). */
function decide(vectors: (number[] | null)[], f = 1, commitments?: bigint[]): ConsensusResult {
  const dim = vectors.find((v) => v !== null)?.length ?? 1;
  const gram = gramMatrix(vectors.map((v) => (v ?? new Array<number>(dim).fill(0)).map((x) => BigInt(Math.round(x)))));
  const c = commitments ?? vectors.map((v, i) => (v === null ? 0n : BigInt(1000 + i)));
  return consensusDecision({ commitments: c, excluded: none(vectors.length), gram, f });
}

/** Five honest-looking updates around the direction (10, 10, 0, 0, ...), each with its own detail. */
function honest(): number[][] {
  return [
    [10, 9, 8, 0, 0, 0, 0],
    [9, 11, 0, 8, 0, 0, 0],
    [11, 10, 0, 0, 8, 0, 0],
    [10, 10, 0, 0, 0, 8, 0],
    [12, 8, 0, 0, 0, 0, 8],
  ];
}

test("integer square root and clip factor: the largest s <= 2^F with s^2 G <= 2^2F M2", () => {
  for (const x of [0n, 1n, 2n, 3n, 4n, 15n, 16n, 17n, (1n << 80n) - 1n, 1n << 80n]) {
    const r = isqrt(x);
    assert.ok(r * r <= x && (r + 1n) * (r + 1n) > x, `isqrt(${x})`);
  }
  assert.equal(clipFactor(100n, 100n, 16), 1n << 16n); // at the median: not clipped
  assert.equal(clipFactor(50n, 100n, 16), 1n << 16n); // below it: not clipped
  assert.equal(clipFactor(400n, 100n, 16), 1n << 15n); // twice the median norm: halved
  for (const [g, m2] of [
    [3n, 2n],
    [1000003n, 999n],
    [(1n << 60n) + 7n, 1n],
  ] as const) {
    const s = clipFactor(g, m2, 16);
    const bound = (1n << 32n) * m2;
    assert.ok(s * s * g <= bound && (s + 1n) * (s + 1n) * g > bound, `clip(${g}, ${m2})`);
  }
  assert.throws(() => clipFactor(0n, 1n, 16), /G_rr > 0/);
});

test("all honest: nobody is dropped for being large, the mask is every update, scores follow alignment", () => {
  const u = honest();
  u[4] = (u[4] as number[]).map((x) => x * 1.5); // a large honest update (1.5 x): counted, clipped
  const r = decide(u);
  assert.equal(r.n, 5);
  assert.ok(r.active && r.tested);
  assert.deepEqual(r.status, [1, 1, 1, 1, 1]);
  assert.deepEqual(r.aggregated, [true, true, true, true, true]);
  assert.deepEqual(r.clusterSize, [1, 1, 1, 1, 1]);
  assert.ok(r.scores.every((s) => s > 0n));
  assert.ok((r.clip[4] as bigint) < 1n << 16n, "the large update is clipped to the median norm");
});

test("inflation gains nothing once the update is at the median norm", () => {
  // slot 2 is the largest honest update (above the median norm); x4 keeps every factor exact
  const four = (): number[][] => honest().map((v) => v.map((x) => 4 * x));
  const base = decide(four());
  for (const factor of [1.25, 1.5, 1.75]) {
    const u = four();
    u[2] = (u[2] as number[]).map((x) => x * factor);
    const r = decide(u);
    assert.equal(r.status[2], SlotStatus.Inlier);
    // both are clipped to the same median norm; the clip factor rounds down
    assert.ok((r.scores[2] as bigint) <= (base.scores[2] as bigint), `x${factor}: ${r.scores[2]} vs ${base.scores[2]}`);
  }
  const u = four();
  u[2] = (u[2] as number[]).map((x) => x * 3); // beyond the cap (2 x the median norm): an outlier
  const r = decide(u);
  assert.equal(r.status[2], SlotStatus.NotAggregated);
  assert.equal(r.scores[2], 0n);
});

test("copies share one score: a Sybil's identities together earn what one update earns", () => {
  const base = decide([...honest(), null, null]);
  const u: (number[] | null)[] = [...honest(), honest()[1] as number[], honest()[1] as number[]];
  const r = decide(u);
  assert.deepEqual(r.label, [0, 1, 2, 3, 4, 1, 1]);
  assert.deepEqual(r.clusterSize, [1, 3, 1, 1, 1, 3, 3]);
  assert.equal(r.n, 5, "three identities, one cluster");
  assert.deepEqual(r.aggregated, [true, true, true, true, true, false, false], "only the lowest slot of a cluster is aggregated");
  assert.deepEqual(r.status, [1, 1, 1, 1, 1, 1, 1]);
  const copies = (r.scores[1] as bigint) + (r.scores[5] as bigint) + (r.scores[6] as bigint);
  assert.ok(copies <= (base.scores[1] as bigint), "three copies earn at most one update's score");
  for (const i of [0, 2, 3, 4]) assert.equal(r.scores[i], base.scores[i], `slot ${i} is unaffected by the copies`);
});

test("near-duplicates (cosine >= 0.95) cluster transitively; the parent and depth hints form a BFS tree", () => {
  // a chain: 5 ~ 6 ~ 7 but 5 and 7 are not near-duplicates of each other
  const a = [0, 0, 0, 0, 0, 0, 20];
  const b = [0, 0, 0, 0, 0, 5, 20];
  const c = [0, 0, 0, 0, 0, 10, 20];
  const r = decide([...honest(), a, b, c], 1);
  assert.ok(r.linked[5]?.[6] && r.linked[6]?.[7] && !r.linked[5]?.[7]);
  assert.deepEqual(r.label.slice(5), [5, 5, 5]);
  assert.deepEqual(r.parent.slice(5), [-1, 5, 6]);
  assert.deepEqual(r.depth.slice(5), [0, 1, 2]);
  // below the threshold (cos 0.94): two players
  const s = decide(
    [
      [1, 0, 0],
      [94, 34.1, 0],
      [0, 1, 0],
      [0, 0, 1],
      [1, 1, 1],
    ],
    0,
  );
  assert.equal(s.linked[0]?.[1], false);
});

test("zero updates and all-equal updates", () => {
  const u: number[][] = [...honest(), [0, 0, 0, 0, 0, 0, 0]];
  const r = decide(u);
  assert.ok(r.zero[5] && !r.candidate[5]);
  assert.equal(r.status[5], SlotStatus.NotAggregated);
  assert.equal(r.scores[5], 0n);
  // every update equal: one cluster of five slots, five votes: it agrees with itself and is kept
  // once; its score (alignment with the other kept clusters) is 0, so the round pays equal shares
  const same = decide(Array.from({ length: 5 }, () => [3, 4]));
  assert.equal(same.n, 1);
  assert.ok(same.active && same.tested);
  assert.deepEqual(same.aggregated, [true, false, false, false, false]);
  assert.deepEqual(same.status, [1, 1, 1, 1, 1]);
  assert.ok(same.scores.every((s) => s === 0n));
  assert.equal(same.medianSlot, 0);
  // two slots of one cluster are too few to test (nobody is kept), three are enough
  const pairOnly = decide([
    [3, 4],
    [3, 4],
    [0, 0],
    [0, 0],
    [0, 0],
  ]);
  assert.ok(pairOnly.active && !pairOnly.tested && pairOnly.aggregated.every((a) => !a));
  // every valid update zero: active, but no cluster, no median, nobody counted
  const zeros = decide(
    Array.from({ length: 3 }, () => [0, 0]),
    0,
  );
  assert.ok(zeros.active);
  assert.equal(zeros.n, 0);
  assert.equal(zeros.medianSlot, -1);
  assert.deepEqual(zeros.status, [2, 2, 2]);
  // zeros and copies count towards the quorum: they can never make a round inactive
  const few = decide([...honest().slice(0, 3), [0, 0, 0, 0, 0, 0, 0], honest()[0] as number[]], 1);
  assert.ok(few.active, "5 valid slots >= 2f + 3 although only 3 clusters are non-zero");
  assert.equal(few.status[4], SlotStatus.Inlier);
});

test("sign flips and noise fail the consensus test; ties in the median are broken by the lower slot", () => {
  const u: number[][] = [...honest(), (honest()[0] as number[]).map((x) => -x), [3, 2, 0, 0, 0, 0, 0], [0, 0, 9, -9, 9, -9, 0]];
  const r = decide(u, 2);
  assert.ok(r.active && r.tested);
  assert.equal(r.status[5], SlotStatus.NotAggregated, "sign flip");
  assert.equal(r.status[6], SlotStatus.Inlier, "a small, partly aligned update passes (cosine 0.03 is a low bar)");
  assert.equal(r.status[7], SlotStatus.NotAggregated, "orthogonal noise");
  const ties = decide(
    Array.from({ length: 5 }, (_, i) => [0, 0, 0, 0, 0, 6].map((x, j) => (j === i ? 5 : x))),
    1,
  );
  assert.equal(ties.medianSlot, 2, "equal norms: the median is the middle slot by key G_rr * K + r");
});

test("statuses of today's rule are kept: empty, excluded, duplicate commitment; the quorum counts valid slots", () => {
  const u: (number[] | null)[] = [...honest(), null];
  const c = [...distinct(5), 0n];
  c[4] = c[3] as bigint;
  const gram = gramMatrix(u.map((v) => (v ?? [0, 0, 0, 0, 0, 0, 0]).map(BigInt)));
  const r = consensusDecision({ commitments: c, excluded: [true, false, false, false, false, false], gram, f: 0 });
  assert.deepEqual(r.status, [SlotStatus.Excluded, 2, 2, 2, 2, SlotStatus.Empty]);
  assert.ok(r.duplicate[3] && r.duplicate[4]);
  assert.equal(r.n, 2);
  assert.equal(r.validCount, 2);
  assert.ok(!r.active, "2 valid slots < 2f + 3 = 3");
  assert.ok(r.status.every((s) => s !== SlotStatus.Inlier));
});

test("extremes: the largest update values stay exact and scores fit 64 bits", () => {
  const big = 127;
  const dim = 2000;
  const u = [0, 1, 2, 3, 4].map((i) => Array.from({ length: dim }, (_, x) => (x % 5 === i ? -big + 1 : big - (x % 3))));
  const r = decide(u);
  assert.ok(r.scores.every((s) => s >= 0n && s < 1n << 64n));
  assert.throws(() => consensusDecision({ commitments: distinct(2), excluded: none(3), gram: gramMatrix([[1n], [2n]]), f: 0 }), /mismatch/);
  assert.throws(() => consensusDecision({ commitments: distinct(1), excluded: none(1), gram: [[1n]], f: 256 }), /f 256/);
  assert.equal(CONSENSUS_PARAMS.clipBits, 16);
});

test("circuit hints: one-hot rows on candidates, the median slot, the quotient and remainder identities", () => {
  const u: (number[] | null)[] = [...honest(), honest()[1] as number[], [0, 0, 0, 0, 0, 0, 0], null];
  const gram = gramMatrix(u.map((v) => (v ?? [0, 0, 0, 0, 0, 0, 0]).map(BigInt)));
  const c = u.map((v, i) => (v === null ? 0n : BigInt(1000 + i)));
  const r = consensusDecision({ commitments: c, excluded: none(u.length), gram, f: 1 });
  const bits = CONSENSUS_PARAMS.clipBits;
  const hints = consensusHints(r, bits);
  const rows = (name: string): bigint[][] => hints[name] as bigint[][];
  const list = (name: string): bigint[] => hints[name] as bigint[];
  const sum = (xs: readonly bigint[]): bigint => xs.reduce((a, b) => a + b, 0n);
  assert.ok(r.active && r.tested && r.clusterSize[1] === 2);
  for (let k = 0; k < u.length; k++) {
    const labelRow = rows("labelOf")[k] as bigint[];
    assert.equal(sum(labelRow), r.candidate[k] ? 1n : 0n, `labelOf[${k}]`);
    if (r.candidate[k]) assert.equal(labelRow[r.label[k] as number], 1n);
    assert.equal(sum(rows("parentOf")[k] as bigint[]), r.parent[k] === -1 ? 0n : 1n, `parentOf[${k}]`);
    assert.equal(list("depth")[k], BigInt(r.depth[k] as number));
  }
  assert.deepEqual(rows("parentOf")[5], [0n, 1n, 0n, 0n, 0n, 0n, 0n, 0n], "the copy's parent is slot 1");
  assert.equal(sum(list("medianSlot")), 1n);
  assert.equal(list("medianSlot")[r.medianSlot], 1n);
  assert.deepEqual(list("sigmaHint"), r.clip);
  const unit = 1n << BigInt(2 * bits);
  for (let l = 0; l < u.length; l++) {
    const [q, rem, sq, srem] = ["shiftQuotient", "shiftRemainder", "splitQuotient", "splitRemainder"].map((n) => list(n)[l] as bigint);
    assert.equal(q, r.clusterScores[l], `shiftQuotient[${l}]`);
    assert.ok((rem as bigint) >= 0n && (rem as bigint) < unit);
    assert.equal((q as bigint) * unit + (rem as bigint), r.clusterSums[l], `shift of clusterSums[${l}]`);
    if (!r.aggregated[l]) {
      assert.ok(q === 0n && rem === 0n && sq === 0n && srem === 0n, `slot ${l} is not kept`);
      continue;
    }
    const size = BigInt(r.clusterSize[l] as number);
    assert.equal((sq as bigint) * size + (srem as bigint), q);
    assert.ok((srem as bigint) >= 0n && (srem as bigint) < size);
    for (let k = 0; k < u.length; k++) if (r.label[k] === l) assert.equal(r.scores[k], sq);
  }
  // Inactive: no median, no clip factor, no score.
  const inactive = consensusHints(decide(honest().slice(0, 2), 0), bits);
  assert.deepEqual(inactive.medianSlot, [0n, 0n]);
  assert.deepEqual(inactive.sigmaHint, [0n, 0n]);
  assert.deepEqual(inactive.splitQuotient, [0n, 0n]);
});

test("robustness counts slots, pay counts clusters: four near-identical honest updates outvote two opposite ones", () => {
  // Slots 0-3: one cluster (cosine > 0.95) of norm ~10; slots 4 and 5: two distinct updates against it, larger.
  const r = decide(
    [
      [10, 1],
      [10, 0],
      [10, -1],
      [9, 0],
      [-14, 5],
      [-14, -5],
    ],
    0,
  );
  assert.equal(r.n, 3, "three clusters");
  assert.deepEqual(r.clusterSize.slice(0, 4), [4, 4, 4, 4]);
  // Weighted median: rank floor((6 - 1) / 2) = 2 of the six slots falls in the honest cluster.
  assert.equal(r.medianSlot, 0);
  assert.deepEqual(r.aggregated, [true, false, false, false, false, false]);
  assert.deepEqual(r.status, [1, 1, 1, 1, 2, 2]);
  // Unweighted, the honest cluster would be one vote against two: its dot with the others is negative.
  assert.ok(r.scores.slice(4).every((s) => s === 0n));
});

// ---- by the owner's reference (issue 12, stage 2) ----

/** The decision by the owner's reference `v` at model size `size` (the margin is `cos > 4 / sqrt(size)`). */
function decideByReference(vectors: (number[] | null)[], v: number[], size = 64, f = 1, delta?: number[]): ConsensusResult {
  const dim = v.length;
  const big = vectors.map((u) => (u ?? new Array<number>(dim).fill(0)).map((x) => BigInt(Math.round(x))));
  const vb = v.map((x) => BigInt(x));
  const db = delta?.map((x) => BigInt(x));
  const dot = (a: readonly bigint[], b: readonly bigint[]): bigint => a.reduce((s, x, i) => s + x * (b[i] as bigint), 0n);
  return consensusDecision({
    commitments: vectors.map((u, i) => (u === null ? 0n : BigInt(1000 + i))),
    excluded: none(vectors.length),
    gram: gramMatrix(big),
    f,
    reference: { alignment: big.map((u) => dot(u, vb)), norm2: dot(vb, vb), size },
    ...(db === undefined ? {} : { delta: { alignment: big.map((u) => dot(u, db)), norm2: dot(db, db), reference: dot(db, vb) } }),
  });
}

/** The honest direction of `honest()`: v = (1, 1, 0, ...). */
const V = [1, 1, 0, 0, 0, 0, 0];

test("by the reference: aligned updates are counted, unaligned ones are not, a zero reference counts nobody", () => {
  const u: number[][] = [...honest(), [-10, -10, 0, 0, 0, 0, 0], [0, 0, 9, 9, 0, 0, 0], [10, -10, 1, 0, 0, 0, 0]];
  const r = decideByReference(u, V);
  assert.ok(r.byReference && !r.tested);
  assert.deepEqual(r.aligned, [true, true, true, true, true, false, false, false]);
  assert.deepEqual(r.status, [1, 1, 1, 1, 1, 2, 2, 2]);
  assert.deepEqual(r.aggregated, [true, true, true, true, true, false, false, false]);
  assert.deepEqual(r.scores.slice(5), [0n, 0n, 0n]);
  // The margin: cos(u, v) > 4 / sqrt(D). At D = 16 only cos = 1 passes (strictly: nobody).
  assert.deepEqual(decideByReference(u, V, 16).counted, new Array<boolean>(8).fill(false));
  // A zero reference aligns nobody: the round counts nobody, and rewardShares splits its reward
  // equally among the valid slots (never back to the owner).
  const zero = decideByReference(
    u,
    V.map(() => 0),
  );
  assert.ok(zero.active && zero.counted.every((c) => !c));
  assert.deepEqual(zero.status, new Array<number>(8).fill(SlotStatus.NotAggregated));
  // Without a reference the same round is judged by consensus.
  assert.ok(!decide(u).byReference);
});

test("by the reference the quorum is max(3, 2f + 1) valid slots; by consensus 2f + 3", () => {
  const three = honest().slice(0, 3);
  // f = 1: three valid slots are an honest majority; the consensus test would need five.
  assert.ok(decideByReference(three, V, 64, 1).active);
  assert.deepEqual(decideByReference(three, V, 64, 1).status, [1, 1, 1]);
  assert.ok(!decideByReference(three, V, 64, 2).active);
  // f = 0: never fewer than three.
  assert.ok(!decideByReference(three.slice(0, 2), V, 64, 0).active);
  const padded = [...three, null, null];
  assert.ok(!decideByReference(padded, V, 64, 2).active, "empty slots do not count");
  // The same slots without a reference: below the consensus quorum 2f + 3 = 5.
  const noRef = consensusDecision({
    commitments: three.map((_, i) => BigInt(1000 + i)),
    excluded: none(3),
    gram: gramMatrix(three.map((u) => u.map((x) => BigInt(x)))),
    f: 1,
  });
  assert.ok(!noRef.active);
});

test("by the reference: each kept cluster is paid its own clipped alignment (the additive game's Shapley value)", () => {
  const r = decideByReference(honest(), V);
  const kept = r.aggregated.filter(Boolean).length;
  assert.equal(kept, 5);
  const F = BigInt(CONSENSUS_PARAMS.clipBits);
  const b = honest().map((u, k) => (r.clip[k] as bigint) * BigInt((u[0] as number) + (u[1] as number)));
  for (let k = 0; k < 5; k++) {
    assert.equal(r.clusterSums[k], (b[k] as bigint) > 0n ? (b[k] as bigint) << F : 0n, `slot ${k}`);
    assert.equal(r.scores[k], (b[k] as bigint) > 0n ? (b[k] as bigint) >> F : 0n, `slot ${k}`);
  }
  // No intercept: a kept cluster far below the others' alignment is still paid its own (the mean
  // game paid nothing below about two thirds of the average).
  const small = honest();
  small[4] = (small[4] as number[]).map((x) => Math.round(x / 4));
  const withSmall = decideByReference(small, V);
  assert.equal(withSmall.status[4], SlotStatus.Inlier);
  // (3 + 2) times its clip factor 2^F: below the median it is not clipped.
  assert.equal(withSmall.clip[4], 1n << F);
  assert.equal(withSmall.scores[4], 5n, "a small aligned update earns its own term");
  // A single kept cluster takes its clipped alignment.
  const single = decideByReference(
    [
      [10, 10, 0, 0, 0, 0, 0],
      [-9, -9, 1, 0, 0, 0, 0],
      [0, 0, 0, 9, 9, 0, 0],
    ],
    V,
    64,
    0,
  );
  assert.deepEqual(single.counted, [true, false, false]);
  assert.equal(single.scores[0], 20n);
});

test("by the reference: inflation gains nothing, beyond 3x the median norm it is an outlier; copies share one value", () => {
  const four = (): number[][] => honest().map((v) => v.map((x) => 4 * x));
  const base = decideByReference(four(), V);
  for (const factor of [1.5, 2, 2.5]) {
    const u = four();
    u[2] = (u[2] as number[]).map((x) => x * factor);
    const r = decideByReference(u, V);
    assert.equal(r.status[2], SlotStatus.Inlier, `x${factor}`);
    assert.ok((r.scores[2] as bigint) <= (base.scores[2] as bigint), `x${factor}: ${r.scores[2]} vs ${base.scores[2]}`);
  }
  const u = four();
  u[2] = (u[2] as number[]).map((x) => x * 4);
  const r = decideByReference(u, V);
  assert.equal(r.status[2], SlotStatus.NotAggregated);
  assert.equal(r.scores[2], 0n);

  const copies = decideByReference([...honest(), honest()[1] as number[], honest()[1] as number[]], V);
  const alone = decideByReference([...honest(), null, null], V);
  assert.deepEqual(copies.clusterSize.slice(5), [3, 3]);
  const together = (copies.scores[1] as bigint) + (copies.scores[5] as bigint) + (copies.scores[6] as bigint);
  assert.ok(together <= (alone.scores[1] as bigint), "three identities earn at most one update's value");
  for (const i of [0, 2, 3, 4]) assert.equal(copies.scores[i], alone.scores[i], `slot ${i} is unaffected by the copies`);
});

test("by the reference: below the median norm inflation is paid up to the clip, min(x, M / |u|) of one round's pay, never more", () => {
  // Five honest updates and an aligned one at about half their norm (a trainer with little data).
  // The clip pays an update's size up to the median norm M: within one round, scaling the small
  // update by x multiplies its pay by min(x, M / |u|). docs/THREAT-MODEL.md row 23: the bound, and
  // what the later rounds take back (docs/SCORING.md, twentieth round).
  const six = (): number[][] => [...honest(), [6, 4, 0, 0, 0, 0, 0]].map((v) => v.map((x) => 4 * x));
  const base = decideByReference(six(), V);
  const norm2 = (six()[5] as number[]).reduce((a, x) => a + x * x, 0);
  for (const factor of [1.25, 1.5, 2, 3]) {
    const u = six();
    u[5] = (u[5] as number[]).map((x) => x * factor);
    const r = decideByReference(u, V);
    assert.equal(r.status[5], SlotStatus.Inlier, `x${factor}`);
    const gain = Number(r.scores[5]) / Number(base.scores[5]);
    const allowance = Math.min(factor, Math.sqrt(Number(r.medianNorm2) / norm2));
    // Scores are floors of fixed-point values: one unit either way.
    assert.ok(gain <= allowance + 1 / Number(base.scores[5]), `x${factor}: gain ${gain} above ${allowance}`);
    assert.ok(gain >= allowance - 1 / Number(base.scores[5]), `x${factor}: gain ${gain} below ${allowance}`);
  }
});

test("by the reference: copies do not move the clip level (the median counts each cluster once)", () => {
  // Five honest updates and a small aligned one (a lazy trainer); the lazy one copied twice more.
  const lazy = [4, 4, 0, 0, 0, 0, 0];
  const alone = decideByReference([...honest(), lazy, null, null], V);
  const copied = decideByReference([...honest(), lazy, lazy, lazy], V);
  assert.equal(copied.clusterSize[5], 3);
  assert.equal(copied.medianNorm2, alone.medianNorm2, "the copies leave the median where it was");
  for (const i of [0, 1, 2, 3, 4]) assert.equal(copied.scores[i], alone.scores[i], `slot ${i} is unaffected by the copies`);
  const together = (copied.scores[5] as bigint) + (copied.scores[6] as bigint) + (copied.scores[7] as bigint);
  assert.ok(together <= (alone.scores[5] as bigint), "three identities earn at most one update's value");
  // By consensus the slot-weighted median does move (robustness counts slots there).
  assert.notEqual(decide([...honest(), lazy, lazy, lazy]).medianNorm2, decide([...honest(), lazy, null, null]).medianNorm2);
});

/** The last global delta of the delta-cap tests: about the honest updates' mean. */
const DELTA = [10, 10, 2, 2, 2, 2, 2];

test("a replay of the last delta (cosine >= 99/100) stays valid but is neither counted nor paid, in both modes", () => {
  // cos([11, 10, 2, 2, 2, 2, 3], DELTA) = 0.997.
  const replay = [11, 10, 2, 2, 2, 2, 3];
  const u = [...honest(), replay];
  const dim = DELTA.length;
  const big = u.map((x) => x.map(BigInt));
  const db = DELTA.map(BigInt);
  const dot = (a: readonly bigint[], b: readonly bigint[]): bigint => a.reduce((s, x, i) => s + x * (b[i] as bigint), 0n);
  const delta = { alignment: big.map((x) => dot(x, db)), norm2: dot(db, db), reference: 0n };
  const byConsensus = (withDelta: boolean): ConsensusResult =>
    consensusDecision({
      commitments: u.map((_, i) => BigInt(1000 + i)),
      excluded: none(u.length),
      gram: gramMatrix(big),
      f: 1,
      ...(withDelta ? { delta } : {}),
    });
  for (const [mode, without, r] of [
    ["by the reference", decideByReference(u, V), decideByReference(u, V, 64, 1, DELTA)],
    ["by consensus", byConsensus(false), byConsensus(true)],
  ] as const) {
    assert.equal(without.counted[5], true, `${mode}: counted without a delta`);
    assert.ok((without.scores[5] as bigint) > 0n, `${mode}: paid without a delta`);
    assert.deepEqual(r.replay, [false, false, false, false, false, true], mode);
    assert.equal(r.valid[5], true, `${mode}: a replay stays valid (the quorum counts it)`);
    assert.equal(r.candidate[5], false, mode);
    assert.equal(r.counted[5], false, mode);
    assert.equal(r.scores[5], 0n, mode);
    assert.equal(r.status[5], 2, mode);
    assert.deepEqual(r.counted.slice(0, 5), [true, true, true, true, true], `${mode}: the honest slots stay counted`);
  }
  // The same vector with the sign flipped, or against a zero delta, is no replay.
  const flipped = decideByReference([...honest(), replay.map((x) => -x)], V, 64, 1, DELTA);
  assert.equal(flipped.replay[5], false);
  const zeroDelta = decideByReference(u, V, 64, 1, new Array<number>(dim).fill(0));
  assert.equal(zeroDelta.replay[5], false);
  assert.equal(zeroDelta.counted[5], true);
});

test("an update that follows the last delta stays a candidate when a fresh update is its near-duplicate (IID: the steps barely turn)", () => {
  // Every honest update is a near-duplicate of every other; Delta was the one cluster's
  // representative, slot 0's previous update, and slot 0's next update follows it (cosine 0.999; the
  // others 0.97-0.98, and 0.97-0.99 with slot 0).
  const delta = [100, 50, 20, 0, 0, 0, 0];
  const u = [
    [101, 50, 20, 4, 0, 0, 0],
    [100, 52, 14, 0, 25, 0, 0],
    [98, 55, 18, 0, 0, 24, 0],
    [104, 45, 20, 0, 0, 0, 26],
    [95, 52, 25, 22, 0, 0, 0],
  ];
  const r = decideByReference(u, V, 64, 1, delta);
  const cos = (a: number[], b: number[]): number =>
    a.reduce((s, x, i) => s + x * (b[i] as number), 0) / Math.hypot(...a) / Math.hypot(...b);
  assert.ok(cos(u[0] as number[], delta) >= 0.99 && u.slice(1).every((x) => cos(x, delta) < 0.99));
  assert.deepEqual(r.replay, [false, false, false, false, false], "slot 0 has fresh near-duplicates");
  assert.deepEqual(r.counted, [true, true, true, true, true]);
  // Exact replays of Delta among updates that do not follow it: near-duplicates of each other, but
  // neither is fresh, so neither rescues the other.
  const twoReplays = decideByReference([...honest(), [11, 10, 2, 2, 2, 2, 3], [11, 10, 2, 2, 2, 2, 3]], V, 64, 1, DELTA);
  assert.deepEqual(twoReplays.replay, [false, false, false, false, false, true, true]);
  assert.deepEqual(twoReplays.counted.slice(5), [false, false]);
  // A replay next to a noisy replay (cosine 0.97 with Delta, a near-duplicate of it): both in one
  // cluster, splitting what the noisy replay alone would earn.
  const noisy = [12, 9, 4, 0, 3, 2, 5].map((x) => 10 * x);
  const exact = [110, 100, 20, 20, 20, 20, 30];
  const scaled = honest().map((x) => x.map((y) => 10 * y));
  const alone = decideByReference([...scaled, noisy], V, 64, 1, DELTA);
  const pair = decideByReference([...scaled, noisy, exact], V, 64, 1, DELTA);
  assert.equal(pair.replay[6], false, "the exact replay is rescued by the noisy one");
  assert.equal(pair.label[6], 5, "and joins its cluster");
  const paid = (x: ConsensusResult, slots: number[]): bigint => slots.reduce((s, k) => s + (x.scores[k] as bigint), 0n);
  assert.ok(paid(pair, [5, 6]) <= paid(alone, [5]), `${paid(pair, [5, 6])} > ${paid(alone, [5])}`);
});

test("the delta cap: a replay of the last delta is paid as a median update's following of it, an honest update is unchanged", () => {
  // Five honest updates and a noisy replay of Delta (scaled to an honest norm, cosine 0.96 with it:
  // below the replay screen's 0.99, so it is counted and capped).
  const replay = [12, 9, 4, 0, 3, 2, 5];
  // Ten times the vectors, so that the deduction shows in the integer scores.
  const u = [...honest(), replay].map((x) => x.map((y) => 10 * y));
  const without = decideByReference(u, V);
  const r = decideByReference(u, V, 64, 1, DELTA);
  assert.ok(r.deltaCapped && !without.deltaCapped);
  assert.deepEqual(r.aggregated, without.aggregated, "the cap moves pay, not who is aggregated");
  // cos(u, Delta) = b / R with R = floor(sqrt(G N)); the median player mu is at rank floor((6 - 1) / 2) = 2.
  const dot = (a: readonly number[], b: readonly number[]): bigint => BigInt(a.reduce((s, x, i) => s + x * (b[i] as number), 0));
  const N = dot(DELTA, DELTA);
  const b = u.map((x) => dot(x, DELTA));
  const R = u.map((x) => isqrt(dot(x, x) * N));
  assert.deepEqual(r.deltaRoot, R);
  const order = [0, 1, 2, 3, 4, 5].sort(
    (i, j) => Number((b[i] as bigint) * (R[j] as bigint) - (b[j] as bigint) * (R[i] as bigint)) || i - j,
  );
  const mu = order[2] as number;
  assert.equal(r.deltaMedianSlot, mu);
  const delta = dot(DELTA, V);
  for (let k = 0; k < 6; k++) {
    const excess = (b[k] as bigint) * (R[mu] as bigint) - (b[mu] as bigint) * (R[k] as bigint);
    const deduction = excess > 0n ? (excess * delta) / ((R[mu] as bigint) * N) : 0n;
    assert.equal(r.deltaDeduction[k], deduction, `slot ${k}`);
    assert.equal(r.cappedAlignment[k], dot(u[k] as number[], V) - deduction);
    // players at or below the median cosine keep their alignment
    if (order.indexOf(k) <= 2) assert.equal(r.deltaDeduction[k], 0n);
  }
  // the replay follows Delta most closely: it loses the most, and earns less than uncapped
  assert.equal(order[5], 5);
  assert.ok((r.deltaDeduction[5] as bigint) > 0n);
  assert.ok((r.scores[5] as bigint) < (without.scores[5] as bigint));
  // the hints are the result's
  const hints = consensusHints(r, CONSENSUS_PARAMS.clipBits);
  assert.deepEqual(hints["deltaRootHint"], r.deltaRoot);
  assert.deepEqual(
    hints["deltaMedianHint"],
    [0, 1, 2, 3, 4, 5].map((k) => (k === mu ? 1n : 0n)),
  );
  for (let k = 0; k < 6; k++) {
    const excess = (b[k] as bigint) * (R[mu] as bigint) - (b[mu] as bigint) * (R[k] as bigint);
    const e = excess > 0n ? excess : 0n;
    assert.equal(e * delta, (r.deltaDeduction[k] as bigint) * (R[mu] as bigint) * N + (r.deltaRemainder[k] as bigint));
  }
});

test("the top cap: two updates along v itself are paid at 5/4 of the (f + 1)-th highest kept cosine, an honest best player's, and the honest players are paid what it takes", () => {
  // The honest updates have cosines 0.55-0.73 with v = e_1 (above the margin 1/2 at D = 64); slots 5
  // and 6 (no near-duplicates of each other: cosine 0.94) point along v at an honest norm (0.97),
  // what the owner's identities send when v is built for them.
  const v = [1, 0, 0, 0, 0, 0, 0];
  const u = [...honest(), [16, 4, 0, 0, 0, 0, 0], [16, 0, 4, 0, 0, 0, 0]];
  const r = decideByReference(u, v, 64, 2);
  const { topCap: _, toUncappedBits: __, ...untoppedParams } = CONSENSUS_PARAMS;
  const { toUncappedBits: ___, ...splitParams } = CONSENSUS_PARAMS;
  const dot = (a: readonly number[], b: readonly number[]): bigint => BigInt(a.reduce((x, y, i) => x + y * (b[i] as number), 0));
  const big = u.map((x) => x.map(BigInt));
  const under = (params: ConsensusParams): ConsensusResult =>
    consensusDecision(
      {
        commitments: u.map((_, i) => BigInt(1000 + i)),
        excluded: none(u.length),
        gram: gramMatrix(big),
        f: 2,
        reference: { alignment: u.map((x) => dot(x, v)), norm2: 1n, size: 64 },
      },
      params,
    );
  const untopped = under(untoppedParams);
  // The cap without step 8'''': what it takes stays with nobody in particular (the contract splits it over all).
  const split = under(splitParams);
  assert.ok(r.topCapped && !untopped.topCapped);
  assert.deepEqual(r.aggregated, untopped.aggregated, "the cap moves pay, not who is aggregated");
  // f = 2 of 7 kept: the pivot is the third highest cosine, the best honest player (slot 4, 12 / |u_4|).
  assert.equal(r.topPivotSlot, 4);
  const a = u.map((x) => dot(x, v));
  const R = u.map((x) => isqrt(dot(x, x)));
  assert.deepEqual(r.topRoot, R);
  for (let k = 0; k < 7; k++) {
    const excess = 4n * (a[k] as bigint) * (R[4] as bigint) - 5n * (a[4] as bigint) * (R[k] as bigint);
    const deduction = excess > 0n ? excess / (4n * (R[4] as bigint)) : 0n;
    assert.equal(r.topDeduction[k], deduction, `slot ${k}`);
    assert.equal(r.paidAlignment[k], (a[k] as bigint) - deduction);
  }
  for (let k = 0; k < 5; k++) assert.equal(split.scores[k], untopped.scores[k], `honest slot ${k} keeps its pay`);
  // Step 8'''': the honest players are paid what the cap took, in proportion to their pay, and the
  // round's total is the untopped one (up to the floors, one unit per kept player).
  assert.deepEqual(r.overTop, [false, false, false, false, false, true, true]);
  const sum = (xs: readonly bigint[]): bigint => xs.reduce((x, y) => x + y, 0n);
  const pot = sum([5, 6].map((k) => (untopped.clusterSums[k] as bigint) - (split.clusterSums[k] as bigint)));
  assert.equal(r.topPot, pot);
  assert.equal(r.uncappedTotal, sum(split.clusterSums.slice(0, 5)));
  assert.ok(sum(untopped.scores) - sum(r.scores) <= 7n && sum(r.scores) <= sum(untopped.scores));
  for (let k = 0; k < 5; k++) {
    const paidUp = ((split.clusterSums[k] as bigint) * (r.uncappedTotal + pot)) / r.uncappedTotal;
    assert.ok((r.clusterSums[k] as bigint) <= paidUp && paidUp - (r.clusterSums[k] as bigint) <= 1n + paidUp / 2n ** 15n, `slot ${k}`);
    assert.ok((r.clusterSums[k] as bigint) > (split.clusterSums[k] as bigint), `honest slot ${k} is paid up`);
    assert.ok((r.scores[k] as bigint) >= (untopped.scores[k] as bigint), `honest slot ${k} keeps at least its untopped pay`);
  }
  for (const k of [5, 6]) {
    assert.equal(r.scores[k], split.scores[k], `slot ${k} is paid its capped value`);
    assert.ok((r.topDeduction[k] as bigint) > 0n && (r.scores[k] as bigint) < (untopped.scores[k] as bigint), `slot ${k} is capped`);
    // Its rate a'' / R is at most 5/4 of the pivot's (up to the floor's unit).
    assert.ok(
      4n * ((r.paidAlignment[k] as bigint) - 1n) * (R[4] as bigint) <= 5n * (a[4] as bigint) * (R[k] as bigint),
      `slot ${k}'s rate`,
    );
  }
  // The hints are the result's.
  const hints = consensusHints(r, CONSENSUS_PARAMS.clipBits);
  assert.deepEqual(hints["topRootHint"], r.topRoot);
  assert.deepEqual(
    hints["topPivotHint"],
    [0, 1, 2, 3, 4, 5, 6].map((k) => (k === 4 ? 1n : 0n)),
  );
  // With f = 0 the pivot is the highest cosine: nobody is above it. By consensus there is no top cap.
  const trusting = decideByReference(u, v, 64, 0);
  assert.ok(trusting.topCapped && trusting.topDeduction.every((x) => x === 0n));
  const byConsensus = decide(u, 2);
  assert.ok(!byConsensus.topCapped && byConsensus.topPivotSlot === -1 && byConsensus.topRoot.every((x) => x === 0n));
});

test("uncappedShares: nobody over the cap changes nothing; the pot goes to the others in proportion, negative values pay 0, nobody else to pay keeps it", () => {
  const bits = 32;
  const one = 1n << 32n;
  // Nobody over the cap: the factor is 2^P and every value passes (negatives clamped to 0).
  const same = uncappedShares({ values: [5n, -3n, 0n, 7n], before: [9n, 9n, 9n, 9n], overTop: [false, false, false, false], bits });
  assert.deepEqual(same.paid, [5n, 0n, 0n, 7n]);
  assert.equal(same.factor, one);
  assert.ok(same.pot === 0n && same.total === 12n && same.remainder.every((x) => x === 0n));
  // Slot 0 over the cap (10 -> 4: pot 6), slot 1 over it from a negative pay (-2 -> -5: pot 0),
  // slot 2 over it from 3 to -1 (pot 3): H = 3 + 6 = 9, factor floor(2^32 * 18 / 9) = 2^33.
  const shares = uncappedShares({
    values: [4n, -5n, -1n, 3n, 6n, -4n],
    before: [10n, -2n, 3n, 3n, 6n, -4n],
    overTop: [true, true, true, false, false, false],
    bits,
  });
  assert.equal(shares.pot, 9n);
  assert.equal(shares.total, 9n);
  assert.equal(shares.factor, 2n * one);
  assert.deepEqual(shares.paid, [4n, 0n, 0n, 6n, 12n, 0n]);
  // A floor: H = 3, pot 1 -> factor floor(2^32 4 / 3), the value floor(2 factor / 2^32) = 2.
  const floored = uncappedShares({ values: [3n, 1n, 2n], before: [4n, 1n, 2n], overTop: [true, false, false], bits });
  assert.equal(floored.factor, (4n * one) / 3n);
  assert.equal(floored.factorRemainder, (4n * one) % 3n);
  assert.deepEqual(floored.paid, [3n, 1n, 2n]);
  assert.equal(floored.quotient[2], 2n);
  assert.equal(floored.remainder[2], (2n * floored.factor) % one);
  // Nobody else paid (H = 0): the capped values stand, the factor divides by 1.
  const alone = uncappedShares({ values: [3n, 0n], before: [8n, 0n], overTop: [true, false], bits });
  assert.deepEqual(alone.paid, [3n, 0n]);
  assert.equal(alone.factor, 5n * one);
  assert.throws(() => uncappedShares({ values: [3n], before: [2n], overTop: [true], bits }), /only lowers/);
});

test("cosineCap refuses what its floor and order cannot take: a tolerance below 1, a negative weight, a zero direction or player, nobody kept", () => {
  const base = {
    k: 2,
    kept: [0, 1],
    norm2: (): bigint => 4n,
    along: [2n, 1n],
    alongNorm2: 1n,
    weight: 1n,
    pivot: { at: "top", f: 0, num: 5n, den: 4n },
  } as const;
  assert.doesNotThrow(() => cosineCap(base));
  assert.throws(() => cosineCap({ ...base, pivot: { at: "top", f: 0, num: 3n, den: 4n } }), /tolerance/);
  assert.throws(() => cosineCap({ ...base, weight: -1n }), /weight >= 0/);
  assert.throws(() => cosineCap({ ...base, alongNorm2: 0n }), /weight >= 0/);
  assert.throws(() => cosineCap({ ...base, norm2: () => 0n }), /weight >= 0/);
  assert.throws(() => cosineCap({ ...base, kept: [] }), /needs a kept player/);
});

test("the delta cap applies only by the reference, with a last delta that helps, to the kept players", () => {
  const replay = [11, 10, 2, 2, 2, 2, 3];
  const u = [...honest(), replay];
  const off = (r: ConsensusResult): void => {
    assert.ok(!r.deltaCapped);
    assert.equal(r.deltaMedianSlot, -1);
    assert.ok(r.deltaDeduction.every((x) => x === 0n) && r.deltaRoot.every((x) => x === 0n));
  };
  // round 0: Delta = 0
  off(
    decideByReference(
      u,
      V,
      64,
      1,
      DELTA.map(() => 0),
    ),
  );
  // following Delta does not help (<Delta, v> <= 0): nothing to cap
  off(
    decideByReference(
      u,
      V,
      64,
      1,
      DELTA.map((x) => -x),
    ),
  );
  off(decideByReference(u, V, 64, 1, [1, -1, 0, 0, 0, 0, 0]));
  // by consensus there is no v
  off(decide(u));
  // nobody kept (the quorum is not met)
  off(decideByReference(u.slice(0, 2), V, 64, 1, DELTA));
  // a player not kept (an outlier, not aligned) gets no deduction and no root
  const flipped = [...u, [-10, -10, 0, 0, 0, 0, -9]];
  const r = decideByReference(flipped, V, 64, 1, DELTA);
  assert.ok(r.deltaCapped && !r.aggregated[6]);
  assert.equal(r.deltaRoot[6], 0n);
  assert.equal(r.deltaDeduction[6], 0n);
});

test("the delta cap: copies do not move the median cosine; ties are ordered by slot", () => {
  // Three copies of the replay are one cluster: one player, as a single replay is.
  const replay = [11, 10, 2, 2, 2, 2, 3];
  const one = decideByReference([...honest(), replay], V, 64, 1, DELTA);
  const three = decideByReference([...honest(), replay, replay, replay], V, 64, 1, DELTA);
  assert.equal(three.deltaMedianSlot, one.deltaMedianSlot);
  assert.equal(three.deltaDeduction[5], one.deltaDeduction[5]);
  // Equal cosines (every update the same vector up to scale): the order is by slot, nobody exceeds the median.
  const same = [
    [10, 10, 0, 0, 0, 0, 0],
    [20, 20, 0, 0, 0, 0, 0],
    [15, 15, 0, 0, 0, 0, 0],
  ].map((x) => x);
  const tied = decideByReference(same, V, 64, 0, DELTA);
  assert.ok(tied.deltaCapped);
  assert.ok(tied.deltaDeduction.every((x) => x === 0n));
});

/** The decision by the reference at `D = 1024` with parameters changed from CONSENSUS_PARAMS. */
function decideVariant(vectors: number[][], delta: number[], params: Partial<typeof CONSENSUS_PARAMS>): ConsensusResult {
  const big = vectors.map((u) => u.map((x) => BigInt(x)));
  const vb = V.map((x) => BigInt(x));
  const db = delta.map((x) => BigInt(x));
  const dot = (a: readonly bigint[], b: readonly bigint[]): bigint => a.reduce((s, x, i) => s + x * (b[i] as bigint), 0n);
  return consensusDecision(
    {
      commitments: vectors.map((_, i) => BigInt(1000 + i)),
      excluded: none(vectors.length),
      gram: gramMatrix(big),
      f: 1,
      // D = 1024: the margin is cos > 4 / 32 = 0.125.
      reference: { alignment: big.map((u) => dot(u, vb)), norm2: dot(vb, vb), size: 1024 },
      delta: { alignment: big.map((u) => dot(u, db)), norm2: dot(db, db), reference: dot(db, vb) },
    },
    { ...CONSENSUS_PARAMS, ...params },
  );
}

test("the last step's veto (2'v): an update aligned with v that points against Delta (cosine <= -1/10) is not counted", () => {
  // Delta = (10, 0, ..., 10): <Delta, v> = 10 > 0. The last update: cos(u, v) = 0.43 > 0.125,
  // cos(u, Delta) = -0.43 <= -0.1.
  const lastStep = [10, 0, 0, 0, 0, 0, 10];
  const u = [...honest(), [10, 10, 0, 0, 0, 0, -30]];
  const unvetoed = decideVariant(u, lastStep, { veto: undefined });
  const r = decideVariant(u, lastStep, {});
  assert.deepEqual(CONSENSUS_PARAMS.veto, { num: 1n, den: 10n });
  assert.ok(unvetoed.aligned[5] && unvetoed.aggregated[5] && (unvetoed.scores[5] as bigint) > 0n);
  assert.ok(r.aligned[5] && !r.admitted[5] && !r.candidate[5] && !r.aggregated[5]);
  assert.equal(r.status[5], SlotStatus.NotAggregated);
  assert.equal(r.scores[5], 0n);
  // The honest updates follow Delta: none is vetoed.
  assert.deepEqual(r.aggregated.slice(0, 5), [true, true, true, true, true]);
  // Only when the last step helps (<Delta, v> > 0), and not in round 0 (Delta = 0).
  assert.ok(decideVariant(u, [-10, 0, 0, 0, 0, 0, 10], {}).admitted[5]);
  assert.ok(decideVariant(u, [0, 0, 0, 0, 0, 0, 0], {}).admitted[5]);
  // The bound is inclusive: b = -10, G = N = 100 is cosine -1/10 exactly.
  const at = (b: bigint): boolean =>
    consensusDecision({
      commitments: [1n, 2n, 3n],
      excluded: none(3),
      gram: [
        [100n, 0n, 0n],
        [0n, 100n, 0n],
        [0n, 0n, 100n],
      ],
      f: 1,
      reference: { alignment: [10n, 10n, 10n], norm2: 1n, size: 1024 },
      delta: { alignment: [b, 10n, 10n], norm2: 100n, reference: 1n },
    }).admitted[0] as boolean;
  assert.ok(!at(-10n) && at(-9n) && at(0n));
  // At a wider cosine the same update passes.
  assert.ok(decideVariant(u, lastStep, { veto: { num: 1n, den: 2n } }).admitted[5]);
});
