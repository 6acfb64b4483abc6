/**
 * The free-rider rule on openings. Rebuilding the last global delta from public round data is
 * @fedmarket/protocol's `lastGlobalDelta` (packages/protocol/test/history.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { excludeReplays } from "../src/free-rider.ts";
import type { SlotOpening } from "../src/steps/open.ts";

const slot = (k: number) => ({
  slot: k,
  trainer: `0x${String(k).padStart(40, "0")}`,
  commitment: String(100 + k),
  cid: `cid${k}`,
  txHash: "0x",
  blockNumber: 1,
});
const opened = (k: number, update: number[]): SlotOpening => ({ ...slot(k), status: "opened", update: update.map(String), salt: "7" });

test("an opened copy of the last delta is excluded with its reason; others are untouched", () => {
  const delta = [5n, -3n, 8n, 0n];
  const openings: SlotOpening[] = [
    opened(0, [4, -1, 2, 3]),
    opened(1, [5, -3, 8, 0, 0, 0]), // the copy (with chunk padding)
    { ...slot(2), status: "excluded", reason: "missing", detail: "gone" },
    opened(3, [0, 0, 0, 0]), // a zero update is not a replay: it earns nothing anyway
  ];
  const out = excludeReplays(openings, delta);
  assert.deepEqual(out[0], openings[0]);
  assert.equal(out[1]?.status, "excluded");
  assert.equal(out[1]?.status === "excluded" ? out[1].reason : "", "replayed-global-delta");
  assert.equal("update" in (out[1] as object), false, "the excluded slot keeps no update");
  assert.deepEqual(out[2], openings[2]);
  assert.deepEqual(out[3], openings[3]);
  assert.deepEqual(excludeReplays(openings, undefined), openings);
});
