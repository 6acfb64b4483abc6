import { test } from "node:test";
import assert from "node:assert/strict";
import {
  SlotStatus,
  flagsOf,
  gramMatrix,
  maskOf,
  popcount,
  roundQuorum,
  screenSlots,
  slotStatuses,
  squaredDistance,
} from "../src/index.ts";

test("the quorum is 2f + 3 valid updates", () => {
  assert.deepEqual([0, 1, 2, 3, 255].map(roundQuorum), [3, 5, 7, 9, 513]);
});

test("the screen: empty, excluded (ignored for empty slots), duplicate commitments (any status), valid", () => {
  const commitments = [11n, 0n, 12n, 11n, 13n, 14n, 15n];
  const notDecoded = [false, true, false, false, true, false, false];
  const s = screenSlots(commitments, notDecoded);
  assert.deepEqual(s.empty, [false, true, false, false, false, false, false]);
  assert.deepEqual(s.excluded, [false, false, false, false, true, false, false]);
  assert.deepEqual(s.duplicate, [true, false, false, true, false, false, false]);
  assert.deepEqual(s.valid, [false, false, true, false, false, true, true]);
  // Precedence: empty, excluded, then the rule's selection (a duplicate is never selected: status 2).
  const selected = [false, false, true, false, true, false, true];
  assert.deepEqual(slotStatuses(s, selected), [
    SlotStatus.NotAggregated,
    SlotStatus.Empty,
    SlotStatus.Inlier,
    SlotStatus.NotAggregated,
    SlotStatus.Excluded,
    SlotStatus.NotAggregated,
    SlotStatus.Inlier,
  ]);
});

test("mask helpers and distances", () => {
  assert.equal(maskOf([true, false, true]), 5n);
  assert.deepEqual(flagsOf(5n, 4), [true, false, true, false]);
  assert.equal(popcount(0b1011n), 3);
  const g = gramMatrix([
    [1n, 2n],
    [3n, -1n],
  ]);
  assert.equal(squaredDistance(g, 0, 1), 4n + 9n);
});
