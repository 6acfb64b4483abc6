import { test } from "node:test";
import assert from "node:assert/strict";
import {
  SlotStatus,
  consensusQuorum,
  flagsOf,
  gramMatrix,
  maskOf,
  popcount,
  roundQuorum,
  screenSlots,
  slotStatuses,
  squaredDistance,
} from "../src/index.ts";

test("the round's quorum is max(3, 2f + 1) revealed updates; the consensus quorum 2f + 3", () => {
  assert.deepEqual([0, 1, 2, 3, 255].map(roundQuorum), [3, 3, 5, 7, 511]);
  assert.deepEqual([0, 1, 2, 3, 255].map(consensusQuorum), [3, 5, 7, 9, 513]);
  // f trainers who never reveal leave a quorum whenever the project has 3f + 1 slots or more,
  // and the project minimum of 2f + 3 slots is at least the round's quorum.
  for (let f = 0; f < 256; f++) {
    assert.ok(Math.max(3 * f + 1, consensusQuorum(f)) - f >= roundQuorum(f));
    assert.ok(consensusQuorum(f) >= roundQuorum(f));
  }
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
