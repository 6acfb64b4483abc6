/**
 * Multi-Krum, the fairness benchmark's baseline (bench/fairness/multi-krum.ts): the rule the
 * decision proof checked before the consensus rule. Its screen and quorum are core's (screen.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SlotStatus, gramMatrix, maskOf } from "@fedmarket/core";
import { inlierScores, multiKrum } from "../src/bench/fairness/multi-krum.ts";

const oneDim = (xs: number[]): bigint[][] => gramMatrix(xs.map((x) => [BigInt(x)]));
const distinct = (k: number): bigint[] => Array.from({ length: k }, (_, i) => BigInt(1000 + i));

test("textbook Multi-Krum: one far outlier", () => {
  const gram = oneDim([0, 1, 2, 3, 100]);
  const r = multiKrum({ commitments: distinct(5), excluded: new Array(5).fill(false), gram, f: 1 });
  assert.equal(r.n, 5);
  assert.ok(r.active);
  assert.deepEqual(r.krumScores.slice(0, 4), [5n, 2n, 2n, 5n]);
  assert.deepEqual(r.inliers, [true, true, true, true, false]);
  assert.deepEqual(r.status, [1, 1, 1, 1, 2]);
  assert.deepEqual(r.scores, [0n, 6n, 12n, 18n, 0n]);
  // hints: m = 2 distances selected per valid row, tau = the 2nd smallest
  assert.deepEqual(r.selected[0], [false, true, true, false, false]);
  assert.deepEqual(r.tau.slice(0, 4), [4n, 1n, 1n, 4n]);
  // keys: 0:25 1:11 2:12 3:28; threshold = largest inlier key + 1
  assert.equal(r.keyThreshold, 29n);
});

test("ties are broken by the lower slot", () => {
  const gram = oneDim([7, 7, 7, 7, 7]);
  const r = multiKrum({ commitments: distinct(5), excluded: new Array(5).fill(false), gram, f: 1 });
  assert.deepEqual(r.inliers, [true, true, true, true, false]);
  assert.deepEqual(r.status, [1, 1, 1, 1, 2]);
  assert.deepEqual(r.scores, [196n, 196n, 196n, 196n, 0n]);
});

/** Asserts the inactive branch: every valid slot status 2, no inlier, no score, no hint. */
function assertNobody(r: ReturnType<typeof multiKrum>): void {
  assert.equal(r.active, false);
  assert.ok(r.status.every((s, i) => (r.valid[i] === true ? s === SlotStatus.NotAggregated : true)));
  assert.ok(r.scores.every((s) => s === 0n));
  assert.ok(r.krumScores.every((s) => s === 0n));
  assert.ok(r.selected.every((row) => row.every((x) => !x)));
  assert.ok(r.tau.every((t) => t === 0n));
  assert.equal(maskOf(r.inliers), 0n);
  assert.equal(r.keyThreshold, 0n);
}

test("n < 2f + 3 aggregates nobody", () => {
  const gram = oneDim([1, 2, 3]);
  const r = multiKrum({ commitments: distinct(3), excluded: [false, false, false], gram, f: 1 });
  assertNobody(r);
  assert.deepEqual(r.status, [2, 2, 2]);
  // n = f + 3 is no longer enough
  const r4 = multiKrum({ commitments: distinct(4), excluded: new Array(4).fill(false), gram: oneDim([1, 2, 3, 4]), f: 1 });
  assertNobody(r4);
  assert.deepEqual(r4.status, [2, 2, 2, 2]);
});

test("boundary: n = 2f + 2 aggregates nobody, n = 2f + 3 runs Multi-Krum", () => {
  for (const f of [0, 1, 2, 3]) {
    const below = 2 * f + 2;
    const xs = Array.from({ length: below + 1 }, (_, i) => i * i);
    const inactive = multiKrum({
      commitments: distinct(below),
      excluded: new Array(below).fill(false),
      gram: oneDim(xs.slice(0, below)),
      f,
    });
    assert.equal(inactive.n, below);
    assertNobody(inactive);
    assert.deepEqual(inactive.status, new Array(below).fill(SlotStatus.NotAggregated));
    const active = multiKrum({ commitments: distinct(below + 1), excluded: new Array(below + 1).fill(false), gram: oneDim(xs), f });
    assert.equal(active.n, below + 1);
    assert.equal(active.active, true);
    // n - f inliers, each row sums m = n - f - 2 distances
    assert.equal(active.inliers.filter((x) => x).length, below + 1 - f);
    for (let i = 0; i <= below; i++) assert.equal(active.selected[i]?.filter((x) => x).length, below + 1 - f - 2);
  }
  // the threshold counts valid slots only: an excluded seventh slot leaves n = 6 < 7 at f = 2
  const excluded = [false, false, false, false, false, false, true];
  assertNobody(multiKrum({ commitments: distinct(7), excluded, gram: oneDim([0, 1, 2, 3, 4, 5, 6]), f: 2 }));
});

test("f = 2, n = 5: two identical poison vectors are no longer aggregated", () => {
  // under the old n >= f + 3 rule both clones had Krum score 0 (m = 1: each other's distance) and were inliers
  const r = multiKrum({ commitments: distinct(5), excluded: new Array(5).fill(false), gram: oneDim([0, 1, -1, 1000, 1000]), f: 2 });
  assertNobody(r);
  assert.deepEqual(r.status, [2, 2, 2, 2, 2]);
});

test("empty, excluded and duplicated slots leave the valid set", () => {
  const gram = oneDim([1, 2, 3, 4, 5, 6, 50]);
  const commitments = [11n, 0n, 12n, 11n, 13n, 14n, 15n];
  const excluded = [false, true, false, false, true, false, false];
  const r = multiKrum({ commitments, excluded, gram, f: 0 });
  assert.deepEqual(r.empty, [false, true, false, false, false, false, false]);
  assert.deepEqual(r.excluded, [false, false, false, false, true, false, false]);
  assert.deepEqual(r.duplicate, [true, false, false, true, false, false, false]);
  assert.deepEqual(r.valid, [false, false, true, false, false, true, true]);
  assert.equal(r.n, 3);
  // f = 0: n - f - 2 = 1 distance, n - f = 3 inliers: everybody valid
  assert.deepEqual(r.status, [
    SlotStatus.NotAggregated,
    SlotStatus.Empty,
    SlotStatus.Inlier,
    SlotStatus.NotAggregated,
    SlotStatus.Excluded,
    SlotStatus.Inlier,
    SlotStatus.Inlier,
  ]);
  assert.deepEqual(r.scores, [0n, 0n, 3n * 59n, 0n, 0n, 6n * 59n, 50n * 59n]);
});

test("scores are clamped at zero and bounded by 2^64", () => {
  assert.deepEqual(
    inlierScores(
      [
        [1n, -5n],
        [-5n, 1n],
      ],
      [true, true],
    ),
    [0n, 0n],
  );
  assert.deepEqual(
    inlierScores(
      [
        [4n, -1n],
        [-1n, 1n],
      ],
      [true, true],
    ),
    [3n, 0n],
  );
  assert.deepEqual(
    inlierScores(
      [
        [4n, -1n],
        [-1n, 1n],
      ],
      [true, false],
    ),
    [4n, 0n],
  );
  assert.throws(() => inlierScores([[2n ** 64n]], [true]));
  assert.deepEqual(inlierScores([[2n ** 64n - 1n]], [true]), [2n ** 64n - 1n]);
});

test("f Byzantine clones far away are all rejected", () => {
  // 5 honest around 0, f = 2 attackers at the same far point (distinct commitments)
  const xs = [0, 1, -1, 2, -2, 1000, 1000];
  const r = multiKrum({ commitments: distinct(7), excluded: new Array(7).fill(false), gram: oneDim(xs), f: 2 });
  assert.deepEqual(r.inliers, [true, true, true, true, true, false, false]);
});
