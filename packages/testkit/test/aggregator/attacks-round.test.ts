/**
 * The trainer's attack modes against the exact round computation (`simulateRound`, what the
 * aggregator proves), on synthetic deltas: 6 honest trainers whose deltas share a direction plus
 * noise, 2 attackers, K = 8, f = 2, B = 8. Fast (no training, no proofs).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { simulateRound, SlotStatus, type CircuitConfig, type RoundSlot } from "@fedmarket/core";
import { prepareUpdate } from "@fedmarket/trainer";
import { attackDelta, duplicateSubmission, type AttackMode } from "../../src/attacks/attacks.ts";
import { normal, seededRandom } from "@fedmarket/ml";

const CONFIG: CircuitConfig = { kMax: 8, chunk: 16, updateBits: 8, modelBits: 24 };
const Q = { scale: 1024, clipBound: 127 / 1024 };
const D = 40;
const ATTACKERS = [2, 5];

function honestDeltas(seed: number): Float32Array[] {
  const rng = seededRandom(seed);
  const direction = Float32Array.from({ length: D }, () => normal(rng) * 0.03);
  return Array.from({ length: 8 }, () => direction.map((x) => x + normal(rng) * 0.005));
}

function round(mode: AttackMode): ReturnType<typeof simulateRound> {
  const deltas = honestDeltas(7);
  const slots: RoundSlot[] = [];
  const submitted: { trainer: string; commitment: bigint; cid: string }[] = [];
  deltas.forEach((honest, t) => {
    if (ATTACKERS.includes(t) && mode === "duplicate") {
      const copy = duplicateSubmission(submitted, `t${t}`);
      slots.push({ commitment: copy.commitment, excluded: true }); // the copied envelope is undecryptable for t
      submitted.push({ trainer: `t${t}`, ...copy });
      return;
    }
    const delta = ATTACKERS.includes(t) ? attackDelta(mode, honest, { seed: t, clipBound: Q.clipBound }) : honest;
    const u = prepareUpdate(delta, Q, CONFIG, BigInt(t + 1));
    slots.push({ commitment: u.commitment, update: u.quantized, salt: u.salt });
    submitted.push({ trainer: `t${t}`, commitment: u.commitment, cid: `cid${t}` });
  });
  return simulateRound({ config: CONFIG, prevModel: new Array<bigint>(D).fill(0n), slots, f: 2, keccak: 1n });
}

for (const mode of ["sign-flip", "scale", "gaussian", "free-rider"] as const) {
  test(`${mode}: both attackers are Multi-Krum outliers and earn nothing; every honest trainer is aggregated`, () => {
    const r = round(mode);
    for (const a of ATTACKERS) {
      assert.equal(r.krum.status[a], SlotStatus.NotAggregated, `slot ${a}`);
      assert.equal(r.krum.scores[a], 0n);
    }
    for (let t = 0; t < 8; t++) if (!ATTACKERS.includes(t)) assert.equal(r.krum.status[t], SlotStatus.Inlier, `honest slot ${t}`);
  });
}

test("duplicate: the copier's slot is excluded, the copied slot is a duplicate; neither is aggregated or paid", () => {
  const r = round("duplicate");
  assert.equal(r.krum.status[0], SlotStatus.NotAggregated, "victim (slot 0, copied by both attackers)");
  assert.equal(r.krum.duplicate[0], true);
  for (const k of [0, ...ATTACKERS]) {
    assert.equal(r.krum.inliers[k], false);
    assert.equal(r.krum.scores[k], 0n);
  }
  for (const a of ATTACKERS) assert.equal(r.krum.status[a], SlotStatus.Excluded);
  assert.equal(r.krum.n, 5, "valid set: the five other honest slots");
  assert.equal(r.krum.active, true);
});
