/**
 * The trainer's attack modes against the exact round computation (`simulateRound`, what the
 * aggregator proves), on synthetic deltas: 6 honest trainers whose deltas share a direction plus
 * their own part (pairwise cosine about 0.7, as non-IID trainers' are), 2 attackers, K = 8, f = 2
 * (the largest with 2f + 3 <= K), B = 8, every update sealed for the aggregator's seal key and
 * decrypted by the round. D = 2,048: pure noise has cosine about 1 / sqrt(D) with anything, so the
 * consensus test's 0.03 separates it only from D of a few thousand on (the MNIST MLP has 25,450
 * parameters). Fast (no training, no proofs). The
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
const D = 2048;
const ATTACKERS = [2, 5];
const AGGREGATOR = benchAggregatorKey(7);

/** Honest deltas: a shared direction plus each trainer's own part of standard deviation `spread` (0.02: cosine ~ 0.7). */
function honestDeltas(seed: number, spread = 0.02): Float32Array[] {
  const rng = seededRandom(seed);
  const direction = Float32Array.from({ length: D }, () => normal(rng) * 0.03);
  return Array.from({ length: 8 }, () => direction.map((x) => x + normal(rng) * spread));
}

/** The round's slots: honest trainers' updates, and the attackers' per `mode` (`duplicate`: copies of slot 0's commitment). */
function round(mode: AttackMode, f = 2, spread?: number): ReturnType<typeof simulateRound> {
  const deltas = honestDeltas(7, spread);
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
  test(`${mode}: both attackers are outliers of the consensus rule and earn nothing; every honest trainer is counted`, () => {
    const r = round(mode);
    for (const a of ATTACKERS) {
      assert.equal(r.rule.status[a], SlotStatus.NotAggregated, `slot ${a}`);
      assert.equal(r.rule.scores[a], 0n);
    }
    for (let t = 0; t < 8; t++) if (!ATTACKERS.includes(t)) assert.equal(r.rule.status[t], SlotStatus.Inlier, `honest slot ${t}`);
  });
}

test("near-identical honest updates are one cluster but keep one vote per slot: two sign-flipped attackers do not outvote them", () => {
  // Spread 0.004: the honest updates are near-duplicates (cosine ~ 0.98), one cluster of six.
  const r = round("sign-flip", 2, 0.004);
  const honest = [0, 1, 3, 4, 6, 7];
  for (const t of honest) assert.equal(r.rule.label[t], 0, `honest slot ${t} is in slot 0's cluster`);
  assert.deepEqual(r.rule.aggregated, [true, false, false, false, false, false, false, false], "the cluster is aggregated once");
  for (const t of honest) assert.equal(r.rule.status[t], SlotStatus.Inlier, `honest slot ${t}`);
  for (const a of ATTACKERS) {
    assert.equal(r.rule.status[a], SlotStatus.NotAggregated, `slot ${a}`);
    assert.equal(r.rule.scores[a], 0n);
  }
});

test("near-identical honest updates keep the median: two inflated attackers (4x the honest direction plus their own part) are capped out, not aggregated", () => {
  // Per cluster, the median of {honest cluster, attacker, attacker} would be an attacker's norm: both
  // would be aggregated at full size (measured: a 3.1x model step, each attacker paid 15x an honest
  // member). Per slot, six honest slots hold the median.
  const rng = seededRandom(7);
  const direction = Float32Array.from({ length: D }, () => normal(rng) * 0.03);
  const deltas = Array.from({ length: 8 }, (_, t) => {
    if (!ATTACKERS.includes(t)) return direction.map((x) => x + normal(rng) * 0.004);
    const own = seededRandom(100 + t);
    return direction.map((x) => 4 * x + normal(own) * 0.06);
  });
  const slots = deltas.map((u) => sealedSlot(CONFIG, quantizeUpdate(u, Q, CONFIG), AGGREGATOR.sealKey));
  const r = simulateRound({ config: CONFIG, prevModel: new Array<bigint>(D).fill(0n), slots, f: 2, keccak: 1n, secret: AGGREGATOR.secret });
  assert.equal(r.rule.label[r.rule.medianSlot], 0, "the median is the honest cluster's");
  for (const a of ATTACKERS) {
    assert.equal(r.rule.label[a], a, `attacker ${a} is its own cluster`);
    assert.equal(r.rule.capped[a], false, `attacker ${a} is beyond the norm cap`);
    assert.equal(r.rule.status[a], SlotStatus.NotAggregated);
  }
  assert.deepEqual(r.rule.aggregated, [true, false, false, false, false, false, false, false]);
});

test("duplicate: in the commit phase no update is revealed, so a copier has nothing to copy", () => {
  // Commit-reveal: every trainer commits while nothing is revealed; reveals come after the commit window.
  const revealedWhileCommitting: { trainer: string; commitment: bigint; cid: string }[] = [];
  for (const a of ATTACKERS) assert.throws(() => duplicateSubmission(revealedWhileCommitting, `t${a}`), /nothing to copy/);
});

test("duplicate, defense in depth: were copies of a commitment in the round, the copies open it too, so the copiers' and the copied slots are all duplicates; none is aggregated or paid", () => {
  // f = 1: with f = 2 the five valid updates left would be below the 2f + 3 = 7 quorum (nobody aggregated).
  assert.equal(round("duplicate").rule.active, false, "f = 2: 5 valid updates < 7, nobody is aggregated");
  const r = round("duplicate", 1);
  assert.equal(r.rule.status[0], SlotStatus.NotAggregated, "victim (slot 0, copied by both attackers)");
  assert.equal(r.rule.duplicate[0], true);
  for (const k of [0, ...ATTACKERS]) {
    assert.equal(r.rule.aggregated[k], false);
    assert.equal(r.rule.scores[k], 0n);
  }
  for (const a of ATTACKERS) {
    assert.equal(r.rule.status[a], SlotStatus.NotAggregated, `copier (slot ${a})`);
    assert.equal(r.rule.duplicate[a], true);
    assert.equal(r.decoded[a], true, "the copy decrypts: it is the victim's ciphertext");
  }
  assert.equal(r.rule.validCount, 5, "valid set: the five other honest slots");
  assert.equal(r.rule.active, true);
});
