/**
 * The fairness benchmark's per-seed summary (fairness/metrics.ts) on hand-made runs: what a gain and
 * a value factor divide by. The runs carry only what `summarizeSeed` reads.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ownDecisions, rewardSchedule, scheduled, summarizeSeed } from "../src/bench/fairness/metrics.ts";
import type { RoundRecord, RunRecord } from "../src/bench/fairness/runner.ts";
import type { Scenario } from "../src/bench/fairness/scenarios.ts";

/** One round of three slots: its payout shares and, when given, its exact Shapley values. */
function round(shares: number[], shapley?: number[]): RoundRecord {
  return {
    round: 0,
    aggregated: shares.map(() => true),
    shares,
    accuracy: 0.9,
    loss: 0.3,
    ...(shapley === undefined
      ? {}
      : { shapley: { accuracy: shapley, loss: shapley, accuracyHalves: [shapley, shapley], fullAccuracy: 0.9, emptyAccuracy: 0.1 } }),
    cosineWithLastDelta: shares.map(() => null),
    norms: shares.map(() => 1),
  };
}

function run(scenario: string, rounds: RoundRecord[]): RunRecord {
  return { scenario, rule: "r", rounds, finalAccuracy: 0.9, finalLoss: 0.3, wallSeconds: 0 };
}

const honest: Scenario = { name: "honest", kind: "honest", description: "", attackers: [], honestCounterparts: [] };
const baseline: Scenario = {
  name: "sybil-2-baseline",
  kind: "baseline",
  description: "",
  attackers: [],
  honestCounterparts: [],
  emptySlots: [2],
};
const sybil: Scenario = {
  name: "sybil-noisy-2",
  kind: "sybil",
  description: "",
  attackers: [1, 2],
  honestCounterparts: [1],
  baseline: "sybil-2-baseline",
  sybilSlots: [1, 2],
};
const inflate: Scenario = { name: "inflate-x1.5", kind: "inflate", description: "", attackers: [1], honestCounterparts: [1] };

test("a Sybil's value factor is its identities' Shapley value over the trainer's alone in the baseline, like its gain", () => {
  const runs = new Map([
    ["sybil-2-baseline", run("sybil-2-baseline", [round([0.5, 0.5, 0], [0.2, 0.1, 0]), round([0.6, 0.4, 0], [0.2, 0.1, 0])])],
    ["sybil-noisy-2", run("sybil-noisy-2", [round([0.4, 0.3, 0.3], [0.2, 0.05, 0.1]), round([0.4, 0.3, 0.3], [0.2, 0.05, 0.05])])],
  ]);
  const all = run("honest", [round([0.2, 0.5, 0.3], [0.1, 0.3, 0.2]), round([0.2, 0.5, 0.3], [0.1, 0.3, 0.2])]);
  const s = summarizeSeed(1, all, runs, [honest, baseline, sybil], ownDecisions, true);
  const a = s.attacks.find((x) => x.name === "sybil-noisy-2");
  // Pay: (0.3 + 0.3) x 2 rounds / (0.5 + 0.4); value: (0.05 + 0.1 + 0.05 + 0.05) / (0.1 + 0.1), not the all-honest 0.6.
  assert.equal(a?.gainFactor, 1.3333);
  assert.equal(a?.honestValue, 0.2);
  assert.equal(a?.attackerValue, 0.25);
  assert.equal(a?.valueFactor, 1.25);
});

test("without Shapley in the baseline a Sybil has no value factor; other attacks divide by the all-honest run", () => {
  const runs = new Map([
    ["sybil-2-baseline", run("sybil-2-baseline", [round([0.5, 0.5, 0])])],
    ["sybil-noisy-2", run("sybil-noisy-2", [round([0.4, 0.3, 0.3], [0.2, 0.05, 0.1])])],
    ["inflate-x1.5", run("inflate-x1.5", [round([0.3, 0.6, 0.1], [0.1, 0.15, 0.2])])],
  ]);
  const all = run("honest", [round([0.2, 0.5, 0.3], [0.1, 0.3, 0.2])]);
  const s = summarizeSeed(1, all, runs, [honest, baseline, sybil, inflate], ownDecisions, true);
  assert.equal(s.attacks.find((x) => x.name === "sybil-noisy-2")?.valueFactor, null);
  const inflated = s.attacks.find((x) => x.name === "inflate-x1.5");
  assert.equal(inflated?.gainFactor, 1.2);
  assert.equal(inflated?.valueFactor, 0.5);
});

test("a decaying reward schedule keeps the total, moves money to early rounds and leaves who is aggregated alone", () => {
  assert.deepEqual(rewardSchedule(1, 3), [1, 1, 1]);
  const w = rewardSchedule(0.5, 3);
  assert.deepEqual(
    w.map((x) => Math.round(x * 1e9) / 1e9),
    [12 / 7, 6 / 7, 3 / 7].map((x) => Math.round(x * 1e9) / 1e9),
  );
  assert.ok(Math.abs(w.reduce((a, x) => a + x, 0) - 3) < 1e-12);
  for (const bad of [0, -0.5, 1.5, Number.NaN]) assert.throws(() => rewardSchedule(bad, 3), RangeError);
  // Slot 0 earns early, slot 1 late: the equal schedule ties them, the decaying one pays slot 0 more.
  const rounds = [round([1, 0], [0.4, 0]), round([0.5, 0.5], [0, 0]), round([0, 1], [0, 0.1])];
  rounds[1] = { ...rounds[1], aggregated: [true, false] } as RoundRecord;
  const all = run("honest", rounds);
  const equal = scheduled(ownDecisions, rewardSchedule(1, 3))(all);
  const early = scheduled(ownDecisions, w)(all);
  assert.deepEqual(
    equal.map((d) => d.shares),
    rounds.map((r) => r.shares),
  );
  assert.deepEqual(
    early.map((d) => d.aggregated),
    rounds.map((r) => r.aggregated),
  );
  const total = (view: typeof equal, slot: number): number => view.reduce((a, d) => a + (d.shares[slot] as number), 0);
  assert.equal(total(equal, 0), total(equal, 1));
  assert.ok(total(early, 0) > total(early, 1));
  assert.throws(() => scheduled(ownDecisions, [1, 1])(all), RangeError);
});

test("false positives: every honest slot-round left out, and separately those left out while worth something", () => {
  const left = (r: RoundRecord, aggregated: boolean[]): RoundRecord => ({ ...r, aggregated });
  // Round 0 leaves out slot 2 (worth 0.2); round 1 leaves out slots 0 (worth -0.1) and 1 (worth exactly 0).
  const all = run("honest", [
    left(round([0.5, 0.5, 0], [0.1, 0.3, 0.2]), [true, true, false]),
    left(round([0, 0, 1], [-0.1, 0, 0.4]), [false, false, true]),
  ]);
  const s = summarizeSeed(1, all, new Map(), [honest], ownDecisions, true);
  assert.equal(s.honestFalsePositiveRate, 0.5);
  assert.equal(s.honestLeftOutValuedRate, 0.1667);
});
