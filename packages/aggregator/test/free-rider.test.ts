/** The free-rider rule on openings, and rebuilding the last global delta from public round data. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RoundOpenedEvent } from "@fedmarket/protocol";
import { excludeReplays, lastGlobalDelta } from "../src/free-rider.ts";
import type { SlotOpening } from "../src/collect.ts";

const slot = (k: number) => ({ slot: k, trainer: `0x${String(k).padStart(40, "0")}`, commitment: String(100 + k), cid: `cid${k}`, txHash: "0x", blockNumber: 1 });
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

const event = (round: number, commitment: bigint, cid: string): RoundOpenedEvent => ({
  projectId: 1n, round, submissionDeadline: 0, aggregationDeadline: 0, reward: 0n, modelCommitment: commitment, modelCid: cid,
  blockNumber: round, transactionHash: "0x", logIndex: 0,
} as unknown as RoundOpenedEvent);

test("the last global delta skips rounds that left the model unchanged (skipped or failed)", async () => {
  const models: Record<string, bigint[]> = { m0: [0n, 0n], m1: [2n, 1n] };
  const fetched: string[] = [];
  const src = {
    client: { roundOpened: async () => [event(0, 10n, "m0"), event(1, 11n, "m1"), event(2, 12n, "m2"), event(3, 12n, "m2")] },
    projectId: 1n, round: 3, currentModel: [5n, 5n], currentCommitment: 12n,
    fetchModel: async (cid: string) => { fetched.push(cid); return models[cid] as bigint[]; },
  };
  assert.deepEqual(await lastGlobalDelta(src), [3n, 4n]); // m2 - m1: round 2 was skipped, round 1 changed it
  assert.deepEqual(fetched, ["m1"]);
  assert.equal(await lastGlobalDelta({ ...src, round: 0, currentCommitment: 10n }), undefined);
});
