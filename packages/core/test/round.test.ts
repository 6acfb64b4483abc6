import { test } from "node:test";
import assert from "node:assert/strict";
import {
  aggregate,
  committedSlot,
  flagsOf,
  gramMatrix,
  modelCommitment,
  multiKrum,
  padToChunks,
  simulateRound,
  unpackOutcome,
  type CircuitConfig,
} from "../src/index.ts";

const config: CircuitConfig = { kMax: 4, chunk: 5, updateBits: 8, modelBits: 16 };

function rnd(n: number, amp: number): bigint[] {
  return Array.from({ length: n }, () => BigInt(Math.floor(Math.random() * (2 * amp + 1)) - amp));
}

test("a round agrees with the whole-vector computation", () => {
  const d = 12; // 3 chunks, last one padded
  const prev = rnd(d, 1000);
  const updates = [rnd(d, 20), rnd(d, 20), rnd(d, 20), rnd(d, 120)];
  const slots = updates.map((u, k) => committedSlot(config, u, BigInt(k + 1) * 999n));
  const r = simulateRound({ config, prevModel: prev, slots, f: 0, keccak: 123n << 100n });
  assert.equal(r.chunks, 3);
  assert.equal(r.chunkWitnesses.length, 3);
  assert.equal(r.chunkWitnesses[0]?.publicSignals[0], 0n);
  for (let j = 1; j < 3; j++) {
    assert.equal(r.chunkWitnesses[j]?.publicSignals[0], r.chunkWitnesses[j - 1]?.publicSignals[1]);
  }
  const krum = multiKrum({
    commitments: r.commitments,
    excluded: [false, false, false, false],
    gram: gramMatrix(updates.map((u) => padToChunks(u, 5))),
    f: 0,
  });
  assert.deepEqual(r.krum.status, krum.status);
  assert.deepEqual(flagsOf(r.finalState.mask, 4), krum.inliers);
  assert.deepEqual(r.newModel, aggregate(prev, updates, krum.inliers, 16));
  assert.equal(r.newModelCommitment, modelCommitment(r.newModel, 5, 16));
  assert.deepEqual(
    unpackOutcome(r.outcome, 4).map((s) => s.score),
    krum.scores,
  );
  assert.equal(r.decision.publicSignals.length, 4 + 4 + 2);
  assert.equal(r.decision.publicSignals[3], r.chunkWitnesses[2]?.publicSignals[1]);
});

test("a round rejects a slot that does not open its commitment unless excluded", () => {
  const u = rnd(5, 3);
  const good = committedSlot(config, u, 5n);
  const bad = { ...good, salt: 6n };
  assert.throws(() => simulateRound({ config, prevModel: rnd(5, 3), slots: [good, bad], f: 0, keccak: 1n }));
  const r = simulateRound({ config, prevModel: rnd(5, 3), slots: [good, { ...bad, excluded: true }], f: 0, keccak: 1n });
  assert.deepEqual(r.krum.status, [2, 3, 0, 0]);
});
