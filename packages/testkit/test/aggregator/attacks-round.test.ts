/**
 * The trainer's attack modes against the exact round computation (`simulateRound`, what the
 * aggregator proves), on synthetic deltas: 6 honest trainers whose deltas share a direction plus
 * noise, 2 attackers, K = 8, f = 2 (the largest with 2f + 3 <= K), B = 8, every update sealed for
 * the aggregator's seal key and decrypted by the round. Fast (no training, no proofs). The
 * duplicate attack has nothing to copy under commit-reveal (updates are revealed only once every
 * commitment is locked); the duplicate rule is still checked, as defense in depth.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { sealedSlot, simulateRound, SlotStatus, type CircuitConfig, type RoundSlot } from "@fedmarket/core";
import { quantizeUpdate } from "@fedmarket/trainer";
import { attackDelta, duplicateSubmission, type AttackMode } from "../../src/attacks/attacks.ts";
import { benchAggregatorKey } from "../../src/bench/seal-keys.ts";
import { normal, seededRandom } from "@fedmarket/ml";

const CONFIG: CircuitConfig = { kMax: 8, chunk: 16, updateBits: 8, modelBits: 24 };
const Q = { scale: 1024, clipBound: 127 / 1024 };
const D = 40;
const ATTACKERS = [2, 5];
const AGGREGATOR = benchAggregatorKey(7);

function honestDeltas(seed: number): Float32Array[] {
  const rng = seededRandom(seed);
  const direction = Float32Array.from({ length: D }, () => normal(rng) * 0.03);
  return Array.from({ length: 8 }, () => direction.map((x) => x + normal(rng) * 0.005));
}

/** The round's slots: honest trainers' updates, and the attackers' per `mode` (`duplicate`: copies of slot 0's commitment). */
function round(mode: AttackMode, f = 2): ReturnType<typeof simulateRound> {
  const deltas = honestDeltas(7);
  const slots: RoundSlot[] = [];
  const revealed: { trainer: string; commitment: bigint; cid: string }[] = [];
  deltas.forEach((honest, t) => {
    if (ATTACKERS.includes(t) && mode === "duplicate") {
      // What the chain never lets through (a copied seal does not open for its copier: RevealMismatch;
      // a second reveal of a commitment is refused: DuplicateCommitment), as if it had.
      // The copied CID names the victim's sealed update, which opens the copied commitment.
      const copy = duplicateSubmission(revealed.slice(0, 1), `t${t}`);
      slots.push({ ...(slots.find((s) => s.commitment === copy.commitment) as RoundSlot) });
      return;
    }
    const delta = ATTACKERS.includes(t) ? attackDelta(mode, honest, { seed: t, clipBound: Q.clipBound }) : honest;
    const slot = sealedSlot(CONFIG, quantizeUpdate(delta, Q, CONFIG), AGGREGATOR.sealKey);
    slots.push(slot);
    revealed.push({ trainer: `t${t}`, commitment: slot.commitment, cid: `cid${t}` });
  });
  return simulateRound({ config: CONFIG, prevModel: new Array<bigint>(D).fill(0n), slots, f, keccak: 1n, secret: AGGREGATOR.secret });
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

test("duplicate: in the commit phase no update is revealed, so a copier has nothing to copy", () => {
  // Commit-reveal: every trainer commits while nothing is revealed; reveals come after the commit window.
  const revealedWhileCommitting: { trainer: string; commitment: bigint; cid: string }[] = [];
  for (const a of ATTACKERS) assert.throws(() => duplicateSubmission(revealedWhileCommitting, `t${a}`), /nothing to copy/);
});

test("duplicate, defense in depth: were copies of a commitment in the round, the copies open it too, so the copiers' and the copied slots are all duplicates; none is aggregated or paid", () => {
  // f = 1: with f = 2 the five valid updates left would be below the 2f + 3 = 7 quorum (nobody aggregated).
  assert.equal(round("duplicate").krum.active, false, "f = 2: 5 valid updates < 7, nobody is aggregated");
  const r = round("duplicate", 1);
  assert.equal(r.krum.status[0], SlotStatus.NotAggregated, "victim (slot 0, copied by both attackers)");
  assert.equal(r.krum.duplicate[0], true);
  for (const k of [0, ...ATTACKERS]) {
    assert.equal(r.krum.inliers[k], false);
    assert.equal(r.krum.scores[k], 0n);
  }
  for (const a of ATTACKERS) {
    assert.equal(r.krum.status[a], SlotStatus.NotAggregated, `copier (slot ${a})`);
    assert.equal(r.krum.duplicate[a], true);
    assert.equal(r.decoded[a], true, "the copy decrypts: it is the victim's ciphertext");
  }
  assert.equal(r.krum.n, 5, "valid set: the five other honest slots");
  assert.equal(r.krum.active, true);
});
