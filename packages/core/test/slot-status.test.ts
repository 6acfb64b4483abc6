import { test } from "node:test";
import assert from "node:assert/strict";
import { SLOT_STATUS_LABELS, SLOT_STATUS_NAMES, SlotStatus, isSlotStatus, slotStatusLabel, slotStatusName } from "../src/index.ts";

test("status codes are those of IFedMarket.SlotStatus and the outcome words", () => {
  assert.deepEqual(SlotStatus, { Empty: 0, Inlier: 1, NotAggregated: 2, Excluded: 3 });
});

test("every code has a name and a label", () => {
  assert.deepEqual(SLOT_STATUS_NAMES, ["empty", "inlier", "not-aggregated", "excluded"]);
  assert.deepEqual(SLOT_STATUS_LABELS, ["empty", "inlier", "not aggregated", "excluded"]);
  assert.equal(slotStatusName(SlotStatus.NotAggregated), "not-aggregated");
  assert.equal(slotStatusLabel(SlotStatus.NotAggregated), "not aggregated");
  assert.equal(slotStatusName(SlotStatus.Inlier), "inlier");
});

test("slotStatusName refuses a code no proof can carry; slotStatusLabel shows it as a number", () => {
  for (const bad of [-1, 4, 1.5, Number.NaN]) {
    assert.equal(isSlotStatus(bad), false);
    assert.throws(() => slotStatusName(bad), /slot status .* is not one of 0..3/);
  }
  assert.equal(slotStatusLabel(7), "7");
});
