import { test } from "node:test";
import assert from "node:assert/strict";
import {
  consensusDecision,
  gramMatrix,
  innerProduct,
  quantizeDelta,
  quantizeReference,
  sealedSlot,
  simulateRound,
  SlotStatus,
  type CircuitConfig,
} from "@fedmarket/core";
import { evaluateAccuracy, normal, seededRandom } from "@fedmarket/ml";
import { validateModelSpec } from "@fedmarket/protocol";
import { BatchEvaluator } from "../src/bench/fairness/evaluator.ts";
import { dot, roundStats, type Reference } from "../src/bench/fairness/geometry.ts";
import {
  consensusGramRule,
  consensusKeep,
  consensusReferenceRule,
  nearDuplicateClusters,
  PROVEN_RULE,
  ruleRegistry,
  screen,
  spanCurvature,
  surrogateRule,
  type OwnerOracle,
  type RoundRule,
  type RuleRound,
} from "../src/bench/fairness/rules.ts";
import { newModel, shares as sharesOf } from "../src/bench/fairness/runner.ts";
import { l2Norm } from "../src/attacks/attacks.ts";
import { exactCurvature, hessianSketch, roundedDirection } from "../src/bench/fairness/curvature.ts";
import {
  allScenarios,
  CRAFTED_REFERENCE_GAMMA,
  craftAlong,
  craftedReference,
  noisyReplay,
  quantizeFast,
  roundSubmissions,
  steered,
  type Scenario,
  type SlotSubmission,
  type TrainingVariant,
} from "../src/bench/fairness/scenarios.ts";
import { benchAggregatorKey, benchEphemeralSecret } from "../src/bench/seal-keys.ts";
import { testBackend } from "./helpers.ts";

/** Small vectors where `simulateRound` runs (its Poseidon work grows with D); larger ones elsewhere, so noise has cos ~ 1/sqrt(D). */
const D = 256;
const BIG = 25_600;
const CONFIG: CircuitConfig = { kMax: 8, chunk: 128, updateBits: 8, modelBits: 24 };

/** Eight "honest" updates: a shared direction plus individual noise, integer, |q| <= 127. */
function honestUpdates(seed: number, scales: readonly number[] = [1, 1, 1, 1, 1, 1, 1, 1], d = BIG): Int32Array[] {
  const rng = seededRandom(seed);
  const common = Array.from({ length: d }, () => normal(rng));
  return scales.map((s) => Int32Array.from(common, (c) => Math.max(-127, Math.min(127, Math.round(s * 10 * (c + 0.8 * normal(rng)))))));
}

function roundOf(
  updates: readonly (Int32Array | null)[],
  options: { reference?: Reference; last?: Int32Array; commitments?: bigint[]; owner?: OwnerOracle | null } = {},
): RuleRound {
  return {
    f: 2,
    commitments: options.commitments ?? updates.map((u, k) => (u === null ? 0n : BigInt(k + 1))),
    excluded: updates.map(() => false),
    stats: roundStats(updates, 1024, options.reference, options.last),
    exact: () => ({
      config: CONFIG,
      prevModel: new Array<bigint>(updates.find((u) => u !== null)?.length ?? 0).fill(0n),
      updates: updates.map((u) => (u === null ? null : Array.from(u, BigInt))),
      lastGlobalDelta: options.last === undefined ? null : Array.from(options.last, BigInt),
      referenceDirection: options.reference?.v ?? null,
      owner: options.owner ?? null,
    }),
  };
}

/** @fedmarket/core's decision on the updates of slots 0..7 (commitments 1..8), `v` quantized as the owner commits it. */
function coreDecisionByReference(updates: readonly Int32Array[], v: Float32Array, last?: Int32Array): ReturnType<typeof consensusDecision> {
  const vectors = updates.map((u) => Array.from(u, BigInt));
  const vq = quantizeReference(v, CONFIG.updateBits);
  const step = last === undefined ? undefined : Array.from(last, BigInt);
  return consensusDecision({
    commitments: updates.map((_, k) => BigInt(k + 1)),
    excluded: updates.map(() => false),
    gram: gramMatrix(vectors),
    f: 2,
    reference: { alignment: vectors.map((u) => innerProduct(u, vq)), norm2: innerProduct(vq, vq), size: vectors[0]?.length ?? 0 },
    ...(step === undefined
      ? {}
      : {
          delta: {
            alignment: vectors.map((u) => innerProduct(u, step)),
            norm2: innerProduct(step, step),
            reference: innerProduct(step, vq),
          },
        }),
  });
}

/** The owner's direction: the honest consensus (what a validation gradient points along here). */
function referenceFor(updates: readonly Int32Array[], curvature = 0.5): Reference {
  const v = new Float32Array(BIG);
  for (const u of updates) for (let i = 0; i < BIG; i++) v[i] = (v[i] as number) + (u[i] as number) / 1024 / updates.length;
  return { v, loss: 1, curvature };
}

test("scenarios: every one of the issue's scenarios is present, Sybils with their baselines", () => {
  const names = allScenarios().map((s) => s.name);
  for (const n of [
    "honest",
    "inflate-x1.1",
    "inflate-x1.5",
    "inflate-x3",
    "replay-cos0.95",
    "replay-cos0.9",
    "replay-cos0.8",
    "sybil-2",
    "sybil-3",
    "sybil-noisy-2",
    "sybil-noisy-3",
    "lazy-10pct",
    "lazy-1batch",
    "lazy-1batch-rescaled",
    "sign-flip",
    "scale",
    "gaussian",
    "label-flip",
    "free-rider",
    "duplicate",
    "leaked-reference",
    "leaked-update",
    "crafted-reference",
    "steer-victim-0",
    "clip-lower-x0.25",
    "clip-lower-x0.1",
  ])
    assert.ok(names.includes(n), n);
  const s3 = allScenarios().find((s) => s.name === "sybil-3");
  assert.deepEqual(s3?.attackers, [2, 5, 7]);
  assert.equal(s3?.baseline, "sybil-3-baseline");
  assert.deepEqual(allScenarios().find((s) => s.name === "sybil-3-baseline")?.emptySlots, [5, 7]);
});

test("fast quantization equals @fedmarket/core's quantizeDelta, ties and clipping included", () => {
  const rng = seededRandom(12);
  const rule = { scale: 1024, clipBound: 127 / 1024 };
  const delta = Float32Array.from({ length: 5000 }, () => 0.3 * normal(rng));
  delta.set([0.5 / 1024, -0.5 / 1024, 1.5 / 1024, -2.5 / 1024, 127 / 1024, -1, 1, 0, -0], 0);
  assert.deepEqual(Array.from(quantizeFast(delta, rule, 8)), quantizeDelta(delta, rule, 8).map(Number));
  assert.throws(() => quantizeFast(Float32Array.of(Number.NaN), rule, 8), /quantize/);
});

/** The bench's quantization (scale 2^10, clip 127/1024). */
const QUANTIZATION = { scale: 1024, clipBound: 127 / 1024 };

/**
 * What every slot of `scenario` submits in round 0 (no last global delta) of a model of
 * `parameters` weights (default D) at 8 bits, every trainer's training replaced by
 * `trained(variant)`; `reference` is the owner's `v` for attackers that read it (default: none may).
 */
function roundZeroSubmissions(
  scenario: Scenario,
  trained: (variant: TrainingVariant) => Float32Array,
  options: { readonly parameters?: number; readonly reference?: Float32Array; readonly ownerUpdate?: Float32Array } = {},
): Promise<SlotSubmission[]> {
  const { parameters = D, reference, ownerUpdate } = options;
  return roundSubmissions({
    scenario,
    slots: 8,
    seed: 1,
    round: 0,
    parameters,
    quantization: QUANTIZATION,
    updateBits: 8,
    lastGlobalDelta: undefined,
    train: (_, variant) => Promise.resolve(trained(variant)),
    ownerReference: () => reference ?? assert.fail("this attacker does not read the owner's reference"),
    ...(ownerUpdate === undefined ? {} : { ownerUpdate: () => ownerUpdate }),
  });
}

test("rescaled lazy attackers send their one-batch direction at their honest delta's norm; others are untouched", async () => {
  const scenario = allScenarios().find((s) => s.name === "lazy-1batch-rescaled");
  assert.ok(scenario !== undefined);
  // Honest deltas along one direction, the lazy one a tenth as long along another.
  const full = Float32Array.from({ length: D }, (_, i) => (i % 2 === 0 ? 0.04 : -0.02));
  const lazy = Float32Array.from({ length: D }, (_, i) => (i % 3 === 0 ? 0.003 : 0.001));
  const submissions = await roundZeroSubmissions(scenario, (variant) => (variant === "full" ? full : lazy));
  const norm = (u: ArrayLike<number>): number => Math.sqrt(Array.from(u).reduce((a, x) => a + x * x, 0));
  const cosine = (u: ArrayLike<number>, w: ArrayLike<number>): number =>
    Array.from(u).reduce((a, x, i) => a + x * (w[i] as number), 0) / (norm(u) * norm(w));
  for (const [slot, s] of submissions.entries()) {
    const u = s.update as Int32Array;
    if (!scenario.attackers.includes(slot)) {
      assert.deepEqual(u, quantizeFast(full, QUANTIZATION, 8), `slot ${slot} is honest`);
      continue;
    }
    // Quantized at 1/1024: the norm within rounding of the honest one, the direction the lazy one's.
    assert.ok(Math.abs(norm(u) / 1024 / norm(full) - 1) < 0.01, `slot ${slot}: norm ${norm(u) / 1024} vs ${norm(full)}`);
    assert.ok(cosine(u, lazy) > 0.99, `slot ${slot}: cosine ${cosine(u, lazy)} with the lazy delta`);
  }
});

test("clip lowering: the first attacker sends its honest delta shrunk, the second and every other slot their honest delta", async () => {
  const scenario = allScenarios().find((s) => s.name === "clip-lower-x0.25");
  assert.ok(scenario !== undefined);
  const full = Float32Array.from({ length: D }, (_, i) => (i % 2 === 0 ? 0.04 : -0.02));
  const submissions = await roundZeroSubmissions(scenario, (variant) =>
    variant === "full" ? full : assert.fail(`no ${variant} training`),
  );
  for (const [slot, s] of submissions.entries())
    assert.deepEqual(
      s.update,
      quantizeFast(slot === scenario.attackers[0] ? full.map((x) => x * 0.25) : full, QUANTIZATION, 8),
      `slot ${slot}`,
    );
});

test("a leaked reference's (or owner's update's) identities send it at their honest norm, each with its own noise: not near-duplicates of each other", async () => {
  const rng = seededRandom(31);
  const full = Float32Array.from({ length: BIG }, () => 0.02 * normal(rng));
  const v = Float32Array.from({ length: BIG }, () => normal(rng));
  const w = Float32Array.from({ length: BIG }, () => normal(rng));
  for (const [name, told] of [
    ["leaked-reference", v],
    ["leaked-update", w],
  ] as const) {
    const scenario = allScenarios().find((s) => s.name === name);
    assert.ok(scenario !== undefined && scenario.parameter !== undefined);
    const submissions = await roundZeroSubmissions(
      scenario,
      (variant) => (variant === "full" ? full : assert.fail(`no ${variant} training`)),
      { parameters: BIG, reference: v, ownerUpdate: w },
    );
    const sent = scenario.attackers.map((slot) => Float64Array.from(submissions[slot]?.update as Int32Array, (x) => x / 1024));
    for (const [k, s] of submissions.entries())
      if (!scenario.attackers.includes(k)) assert.deepEqual(s.update, quantizeFast(full, QUANTIZATION, 8), `${name}: slot ${k} is honest`);
    for (const u of sent) {
      assert.ok(Math.abs(l2Norm(u) / l2Norm(full) - 1) < 0.02, `${name}: norm ${l2Norm(u)} vs ${l2Norm(full)}`);
      assert.ok(Math.abs(dot(u, told) / (l2Norm(u) * l2Norm(told)) - scenario.parameter) < 0.01, `${name}: cosine with what was told`);
    }
    const [a, b] = sent as [Float64Array, Float64Array];
    assert.ok(dot(a, b) / (l2Norm(a) * l2Norm(b)) < 0.9, `${name}: the identities are below the near-duplicate threshold (0.95)`);
  }
  // Without the owner's update the scenario refuses rather than sending something else.
  const update = allScenarios().find((s) => s.name === "leaked-update") as Scenario;
  await assert.rejects(
    roundZeroSubmissions(update, () => full, { parameters: BIG, reference: v }),
    /needs the owner's update/,
  );
});

test("noisy replay hits the requested cosine with the last global delta", () => {
  const last = honestUpdates(4)[0] as Int32Array;
  for (const c of [0.95, 0.9, 0.8]) {
    const u = noisyReplay(BIG, last, c, 7, 8);
    let ud = 0,
      uu = 0,
      dd = 0;
    u.forEach((x, i) => {
      ud += x * (last[i] as number);
      uu += x * x;
      dd += (last[i] as number) ** 2;
    });
    assert.ok(Math.abs(ud / Math.sqrt(uu * dd) - c) < 0.01, `cosine ${ud / Math.sqrt(uu * dd)} for ${c}`);
  }
  assert.deepEqual(noisyReplay(D, undefined, 0.9, 1, 8), new Int32Array(D), "zeros before any global delta");
});

test("the fallback without a reference (consensus-gram): the fast path equals @fedmarket/core's simulateRound on sealed updates; a replay of the last global delta is valid but neither counted nor paid", () => {
  const updates = honestUpdates(1, [1, 2, 1, 0.5, 3, 1, 1, 1], D);
  updates[5] = updates[2] as Int32Array; // same update under another ephemeral secret: distinct commitments
  const aggregator = benchAggregatorKey(1);
  const slots = updates.map((u, k) => sealedSlot(CONFIG, Array.from(u, BigInt), aggregator.sealKey, benchEphemeralSecret(1, 0, k)));
  // Slot 6 replays the last global delta exactly: the rule leaves it out in this mode too (core isReplay).
  const round = roundOf(updates, { commitments: slots.map((s) => s.commitment), last: updates[6] as Int32Array });
  const decision = consensusGramRule.decide(round);
  const result = simulateRound({
    config: CONFIG,
    prevModel: new Array<bigint>(D).fill(0n),
    slots,
    f: 2,
    keccak: 1n,
    secret: aggregator.secret,
    prevStep: Array.from(updates[6] as Int32Array, BigInt),
  });
  assert.deepEqual(result.decoded, new Array<boolean>(8).fill(true), "every sealed update decrypts");
  assert.equal(result.rule.valid[6], true, "the replay decodes and is valid (the quorum counts it)");
  assert.equal(result.rule.replay[6], true);
  assert.equal(result.rule.status[6], SlotStatus.NotAggregated, "the replay is neither counted nor paid");
  assert.equal(result.rule.scores[6], 0n);
  assert.deepEqual(decision.aggregated, result.rule.counted, "the benchmark's aggregated = counted (status 1)");
  assert.deepEqual(decision.payouts, result.rule.scores.map(Number));
  assert.deepEqual(Array.from(newModel(new Int32Array(D), updates, decision, 24)), result.newModel.map(Number));
});

test("floor-mean aggregation of a mask is the proven g + floor(S / n)", () => {
  const updates = honestUpdates(2, undefined, D);
  const mask = [true, false, true, true, false, true, true, false];
  const next = newModel(new Int32Array(D).fill(5), updates, { aggregation: { kind: "mean", mask }, payouts: [], aggregated: mask }, 24);
  for (let x = 0; x < D; x++) {
    const s = updates.reduce((a, u, k) => a + (mask[k] ? (u[x] as number) : 0), 0);
    assert.equal(next[x], 5 + Math.floor(s / 5));
  }
});

test("screen: empty, unopened, duplicate commitments, zero updates and replays are out", () => {
  const updates: (Int32Array | null)[] = honestUpdates(3);
  const last = updates[6] as Int32Array;
  updates[0] = null;
  updates[4] = new Int32Array(BIG);
  const commitments = [0n, 2n, 3n, 3n, 5n, 6n, 7n, 8n];
  const { reasons } = screen(roundOf(updates, { last, commitments }));
  assert.deepEqual(reasons, ["empty-or-unopened", null, "duplicate-commitment", "duplicate-commitment", "zero", null, "replay", null]);
});

test("consensus test: drops noise and sign flips, keeps a large honest update, caps a huge one", () => {
  const updates = honestUpdates(5, [1, 1, 0.5, 1, 2.5, 1, 1, 1]);
  const rng = seededRandom(9);
  updates[1] = Int32Array.from({ length: BIG }, () => Math.round(10 * normal(rng)));
  updates[3] = (updates[3] as Int32Array).map((x) => -x);
  const huge = (updates[6] as Int32Array).map((x) => Math.max(-127, Math.min(127, x * 8)));
  updates[6] = huge;
  const keep = consensusKeep(
    updates.map(() => true),
    roundStats(updates, 1024).gram,
    3,
    0.03,
  );
  assert.deepEqual(keep, [true, false, true, false, true, true, false, true]);
});

test("near-duplicates form one cluster; the surrogate rule pays a Sybil's copies one share together", () => {
  const updates = honestUpdates(6);
  const alone = [...updates] as (Int32Array | null)[];
  alone[5] = null;
  alone[7] = null;
  const sybil = [...updates];
  sybil[5] = updates[2] as Int32Array;
  sybil[7] = updates[2] as Int32Array;
  const stats = roundStats(sybil, 1024);
  assert.deepEqual(
    nearDuplicateClusters(
      sybil.map(() => true),
      stats.gram,
      0.95,
    ).find((c) => c.includes(2)),
    [2, 5, 7],
  );
  const rule = ruleRegistry().get("consensus-shapley");
  assert.ok(rule !== undefined);
  const reference = referenceFor(updates);
  const share = (r: RuleRound, slots: number[]): number => {
    const p = rule.decide(r).payouts;
    const total = p.reduce((a, b) => a + b, 0);
    return slots.reduce((a, k) => a + (p[k] as number), 0) / total;
  };
  const withCopies = share(roundOf(sybil, { reference, commitments: [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n] }), [2, 5, 7]);
  const single = share(roundOf(alone, { reference }), [2]);
  assert.ok(Math.abs(withCopies - single) < 1e-9, `copies earn ${withCopies}, alone ${single}`);
});

test("orthogonal gate: a noisy replay of the last global delta is not paid", () => {
  const updates = honestUpdates(8);
  // The last global delta: last round's consensus (another direction than this round's, as in training).
  const previous = honestUpdates(80);
  const last = Int32Array.from({ length: BIG }, (_, i) => Math.round(previous.reduce((a, u) => a + (u[i] as number), 0) / 8));
  updates[2] = noisyReplay(BIG, last, 0.9, 3, 8);
  const rule = surrogateRule("gate", {
    outlier: { kind: "consensus", kappa: 3, tau: 0.03 },
    alignmentGuard: "drop",
    norms: "clip",
    dedupCosine: 0.95,
    orthogonal: "gate",
    clusterWeights: true,
  });
  const decision = rule.decide(roundOf(updates, { reference: referenceFor(updates, 0.2), last }));
  assert.equal(decision.payouts[2], 0);
  assert.ok(decision.payouts.filter((p) => p > 0).length >= 5);
});

test("batched evaluator: same accuracy as the LayersModel, gradients (cross-entropy, smoothed accuracy) match finite differences", async () => {
  const { tf } = await testBackend();
  const { spec } = validateModelSpec({
    format: "fedmarket-model-spec/1",
    name: "tiny",
    inputShape: [6],
    labels: ["a", "b", "c"],
    layers: [
      { type: "dense", units: 4, activation: "relu" },
      { type: "dense", units: 3, activation: "softmax" },
    ],
    training: { epochs: 1, batchSize: 4, learningRate: 0.1, optimizer: "sgd" },
    quantization: { scale: 1024, clipBound: 0.1 },
    circuit: CONFIG,
    seed: 1,
  });
  const rng = seededRandom(2);
  const count = 40;
  const dataset = {
    features: Float32Array.from({ length: count * 6 }, () => rng()),
    labels: Int32Array.from({ length: count }, () => Math.floor(rng() * 3)),
    count,
    sampleShape: [6],
    source: "random",
  };
  const ev = new BatchEvaluator(tf, spec, dataset, 2);
  const models = [0, 1, 2].map(() => Float32Array.from({ length: ev.parameters }, () => normal(rng)));
  const batched = ev.evaluate(models);
  models.forEach((w, i) => assert.ok(Math.abs((batched.accuracy[i] as number) - evaluateAccuracy(tf, spec, w, dataset)) < 1e-6));
  const w = models[0] as Float32Array;
  const { gradient, loss } = ev.lossAndGradient(w);
  assert.ok(Math.abs(loss - (batched.loss[0] as number)) < 1e-5);
  /** Central differences of `objective` at `w` against `gradient`, at three coordinates. */
  const matchesDifferences = (objective: (x: Float32Array) => number, grad: Float32Array, what: string): void => {
    for (const i of [0, 7, ev.parameters - 1]) {
      const eps = 1e-2;
      const plus = Float32Array.from(w),
        minus = Float32Array.from(w);
      plus[i] = (plus[i] as number) + eps;
      minus[i] = (minus[i] as number) - eps;
      assert.ok(Math.abs((objective(plus) - objective(minus)) / (2 * eps) - (grad[i] as number)) < 2e-3, `${what} gradient ${i}`);
    }
  };
  matchesDifferences((x) => ev.evaluate([x]).loss[0] as number, gradient, "cross-entropy");
  // The smoothed accuracy: at zero weights every logit is 0, so each digit's margin over the other
  // two classes is -log 2, and the objective is 1 - sigmoid(-log 2 / temperature) exactly.
  const soft = { kind: "soft-accuracy", temperature: 2 } as const;
  const zero = ev.lossAndGradient(new Float32Array(ev.parameters), soft);
  assert.ok(Math.abs(zero.loss - (1 - 1 / (1 + Math.exp(Math.log(2) / 2)))) < 1e-6);
  const smooth = ev.lossAndGradient(w, soft);
  assert.ok(smooth.loss > 0 && smooth.loss < 1);
  matchesDifferences((x) => ev.lossAndGradient(x, soft).loss, smooth.gradient, "smoothed accuracy");
  ev.dispose();
});

test("delta cap: a noisy replay earns less than the median honest update; copies cannot move the cap", () => {
  const updates = honestUpdates(9);
  // The last global delta follows this round's consensus half-way, as a real one does (following it
  // helps), and is about as long as an update, so the replay is not simply too small to be paid.
  const previous = honestUpdates(90);
  const last = Int32Array.from({ length: BIG }, (_, i) =>
    Math.round((updates.reduce((a, u) => a + (u[i] as number), 0) + previous.reduce((a, u) => a + (u[i] as number), 0)) / 9),
  );
  const replayed = [...updates];
  replayed[2] = noisyReplay(BIG, last, 0.95, 3, 8);
  const reference = referenceFor(updates, 0.2);
  const capped = ruleRegistry().get("consensus-linear-capped");
  assert.ok(capped !== undefined);
  const uncapped = surrogateRule("uncapped", {
    outlier: { kind: "consensus", kappa: 3, tau: 0.03 },
    alignmentGuard: "drop",
    norms: "clip",
    dedupCosine: 0.95,
    orthogonal: "off",
    clusterWeights: true,
    curvatureScale: 0,
  });
  const p = capped.decide(roundOf(replayed, { reference, last })).payouts;
  const q = uncapped.decide(roundOf(replayed, { reference, last })).payouts;
  const honest = p.filter((_, k) => k !== 2).sort((a, b) => a - b);
  assert.ok((p[2] as number) < (q[2] as number), `the cap lowers the replay's pay (${p[2]} vs ${q[2]})`);
  assert.ok((p[2] as number) < (honest[3] as number), `the replay earns ${p[2]}, the median honest update ${honest[3]}`);
  // A Sybil's copies are one player: together they earn what the update earns alone, cap included.
  const sybil = [...updates];
  sybil[5] = updates[2] as Int32Array;
  sybil[7] = updates[2] as Int32Array;
  const alone = [...updates] as (Int32Array | null)[];
  alone[5] = null;
  alone[7] = null;
  const share = (payouts: readonly number[], slots: number[]): number =>
    slots.reduce((a, k) => a + (payouts[k] as number), 0) / payouts.reduce((a, b) => a + b, 0);
  const withCopies = share(capped.decide(roundOf(sybil, { reference, last })).payouts, [2, 5, 7]);
  const single = share(capped.decide(roundOf(alone, { reference, last })).payouts, [2]);
  assert.ok(Math.abs(withCopies - single) < 1e-9, `copies earn ${withCopies}, alone ${single}`);
});

test("consensus-gram: the benchmark runs @fedmarket/core's consensusDecision; honest large updates stay, copies share, sign flips and noise are out", () => {
  const honest = honestUpdates(11, [1, 1.3, 0.8, 1, 1.1, 0.9, 1.2, 1]);
  const flipped = Int32Array.from(honest[0] as Int32Array, (x) => -x);
  const rng = seededRandom(5);
  const noise = Int32Array.from({ length: BIG }, () => Math.round(10 * normal(rng)));
  const updates: Int32Array[] = [...honest.slice(0, 5), flipped, noise, honest[1] as Int32Array];
  const decision = consensusGramRule.decide(roundOf(updates));
  const exact = consensusDecision({
    commitments: updates.map((_, k) => BigInt(k + 1)),
    excluded: updates.map(() => false),
    gram: gramMatrix(updates.map((u) => Array.from(u, BigInt))),
    f: 2,
  });
  assert.deepEqual(decision.aggregation, { kind: "mean", mask: exact.aggregated });
  assert.deepEqual(decision.payouts, exact.scores.map(Number));
  assert.deepEqual(exact.status, [1, 1, 1, 1, 1, 2, 2, 1], "honest (the 1.3x one too) counted; sign flip and noise not");
  assert.deepEqual(exact.aggregated, [true, true, true, true, true, false, false, false], "the copy in slot 7 is not aggregated again");
  assert.equal(
    (decision.payouts[1] as number) + (decision.payouts[7] as number) <=
      (consensusGramRule.decide(roundOf([...updates.slice(0, 7), null])).payouts[1] as number) + 1,
    true,
  );
  assert.deepEqual(decision.aggregated, exact.counted);
});

test("aligned rule (stage 2 candidate): at a stationary point it counts every honest update the owner's direction favours, never a sign flip", () => {
  // Eight updates that cancel out (each pulls towards its own data) plus a small common part c, the
  // direction that helps: every honest update points against the sum of the others, as in the demo's
  // later rounds (docs/SCORING.md, "Fifth round"), so a Gram-only consensus test leaves them out.
  const rng = seededRandom(31);
  const own = Array.from({ length: 8 }, () => Array.from({ length: BIG }, () => 40 * normal(rng)));
  const common = Array.from({ length: BIG }, () => 4 * normal(rng));
  const updates = own.map((w) =>
    Int32Array.from(w, (x, i) => {
      const centred = x - own.reduce((a, o) => a + (o[i] as number), 0) / 8;
      return Math.max(-127, Math.min(127, Math.round(centred + (common[i] as number))));
    }),
  );
  const v = new Float32Array(BIG);
  common.forEach((c, i) => (v[i] = c / 1024));
  const reference: Reference = { v, loss: 1, curvature: 0.5 };
  const attacked = [...updates];
  attacked[2] = Int32Array.from(updates[2] as Int32Array, (x) => -x);
  const aligned = ruleRegistry().get("aligned-linear-capped");
  assert.ok(aligned !== undefined);
  const honest = aligned.decide(roundOf(updates, { reference }));
  assert.deepEqual(
    honest.aggregated,
    updates.map(() => true),
  );
  const underAttack = aligned.decide(roundOf(attacked, { reference }));
  assert.deepEqual(
    underAttack.aggregated,
    updates.map((_, k) => k !== 2),
  );
  assert.equal(underAttack.payouts[2], 0);
  // Gaussian noise of an update's size has cosine about +-1/sqrt(D) with v: `<u, v> > 0` lets it in half
  // the time, the margin of 4/sqrt(D) keeps it out while every honest update stays counted.
  const margin = ruleRegistry().get("aligned-margin-linear-capped");
  assert.ok(margin !== undefined);
  assert.deepEqual(
    margin.decide(roundOf(updates, { reference })).aggregated,
    updates.map(() => true),
  );
  const noisy: Int32Array[] = [...updates];
  const noiseRng = seededRandom(7);
  for (let trial = 0; trial < 4; trial++) {
    noisy[5] = Int32Array.from({ length: BIG }, () => Math.max(-127, Math.min(127, Math.round(40 * normal(noiseRng)))));
    const aggregatedWithNoise: readonly boolean[] = margin.decide(roundOf(noisy, { reference })).aggregated;
    assert.deepEqual(
      aggregatedWithNoise,
      updates.map((_, k) => k !== 5),
      `noise trial ${trial}`,
    );
  }
  // The Gram-only consensus rule (the proven one) counts none of them at this point.
  const gram = consensusGramRule.decide(roundOf(updates, { reference }));
  assert.ok(gram.aggregated.filter(Boolean).length < 8, `consensus-gram kept ${gram.aggregated.filter(Boolean).length}`);
});

/**
 * A stationary point (docs/SCORING.md, "Fifth round"): eight updates that cancel out (each pulls
 * towards its own data) plus a small common part, the direction that helps (the owner's `v`). At
 * small `d` the margin `4 / sqrt(d)` is wide, so the common part must be larger (`commonScale`).
 */
function stationaryRound(seed: number, d: number, commonScale = 4): { updates: Int32Array[]; reference: Reference } {
  const rng = seededRandom(seed);
  const own = Array.from({ length: 8 }, () => Array.from({ length: d }, () => 40 * normal(rng)));
  const common = Array.from({ length: d }, () => commonScale * normal(rng));
  const updates = own.map((w) =>
    Int32Array.from(w, (x, i) => {
      const centred = x - own.reduce((a, o) => a + (o[i] as number), 0) / 8;
      return Math.max(-127, Math.min(127, Math.round(centred + (common[i] as number))));
    }),
  );
  return { updates, reference: { v: Float32Array.from(common, (c) => c / 1024), loss: 1, curvature: 0.5 } };
}

test("consensus-reference is the proven rule: @fedmarket/core's consensusDecision with the reference quantized at B bits", () => {
  assert.equal(PROVEN_RULE, "consensus-reference");
  assert.equal(consensusReferenceRule.needsReference, true);
  assert.equal(ruleRegistry().get("consensus-reference"), consensusReferenceRule);
  assert.equal(ruleRegistry().get("consensus-gram"), consensusGramRule, "the fallback without a reference stays registered");
  const { updates, reference } = stationaryRound(31, BIG);
  updates[6] = updates[1] as Int32Array; // a copy under another commitment
  const decision = consensusReferenceRule.decide(roundOf(updates, { reference }));
  const exact = coreDecisionByReference(updates, reference.v);
  assert.equal(exact.byReference, true);
  assert.deepEqual(decision.aggregation, { kind: "mean", mask: exact.aggregated });
  assert.deepEqual(decision.payouts, exact.scores.map(Number));
  assert.deepEqual(decision.aggregated, exact.counted);
  assert.deepEqual(
    exact.aggregated,
    updates.map((_, k) => k !== 6),
    "the copy is not aggregated again",
  );
  assert.ok(Math.abs((decision.payouts[1] as number) - (decision.payouts[6] as number)) <= 1, "the copies split one score");
  assert.throws(() => consensusReferenceRule.decide(roundOf(updates)), /needs the owner's reference/);
});

test("consensus-reference: at a stationary point every honest update is counted, a sign flip, noise and an unaligned update are not", () => {
  const { updates, reference } = stationaryRound(31, BIG);
  // The Gram-only rule leaves honest updates out here; the reference keeps all of them.
  assert.ok(consensusGramRule.decide(roundOf(updates)).aggregated.filter(Boolean).length < 8);
  const honest = consensusReferenceRule.decide(roundOf(updates, { reference }));
  assert.deepEqual(
    honest.aggregated,
    updates.map(() => true),
  );
  assert.ok(honest.payouts.every((p) => p > 0));
  const attacked: Int32Array[] = [...updates];
  attacked[2] = Int32Array.from(updates[2] as Int32Array, (x) => -x);
  const rng = seededRandom(7);
  attacked[5] = Int32Array.from({ length: BIG }, () => Math.max(-127, Math.min(127, Math.round(40 * normal(rng)))));
  // Aligned, but by less than the margin: a slot's own part plus a tenth of the common one.
  const { updates: weak } = stationaryRound(31, BIG);
  const common = reference.v;
  attacked[7] = Int32Array.from(weak[7] as Int32Array, (x, i) => Math.round(x - 0.9 * 1024 * (common[i] as number)));
  const round = roundOf(attacked, { reference });
  const decision = consensusReferenceRule.decide(round);
  assert.deepEqual(
    decision.aggregated,
    attacked.map((_, k) => ![2, 5, 7].includes(k)),
  );
  for (const k of [2, 5, 7]) assert.equal(decision.payouts[k], 0, `slot ${k} is paid nothing`);
  // A sign flip of v scores it aligned no more: every slot is out.
  const flipped: Reference = { ...reference, v: reference.v.map((x) => -x) };
  assert.deepEqual(
    consensusReferenceRule.decide(roundOf(updates, { reference: flipped })).aggregated,
    updates.map(() => false),
  );
});

test("consensus-reference: the fast path equals @fedmarket/core's simulateRound with the owner's reference on sealed updates", () => {
  const { updates, reference } = stationaryRound(41, D, 30);
  updates[5] = updates[2] as Int32Array; // same update under another ephemeral secret: distinct commitments
  updates[3] = Int32Array.from(updates[3] as Int32Array, (x) => -x);
  const aggregator = benchAggregatorKey(1);
  const slots = updates.map((u, k) => sealedSlot(CONFIG, Array.from(u, BigInt), aggregator.sealKey, benchEphemeralSecret(1, 0, k)));
  const decision = consensusReferenceRule.decide(roundOf(updates, { reference, commitments: slots.map((s) => s.commitment) }));
  const result = simulateRound({
    config: CONFIG,
    prevModel: new Array<bigint>(D).fill(0n),
    slots,
    f: 2,
    keccak: 1n,
    secret: aggregator.secret,
    reference: { values: quantizeReference(reference.v, CONFIG.updateBits), salt: 5n },
  });
  assert.equal(result.rule.byReference, true);
  assert.equal(result.rule.status[3], SlotStatus.NotAggregated, "the sign flip is not counted");
  assert.ok(result.rule.counted.filter(Boolean).length >= 5, `counted ${result.rule.counted.filter(Boolean).length}`);
  assert.deepEqual(decision.aggregated, result.rule.counted);
  assert.deepEqual(decision.payouts, result.rule.scores.map(Number));
  assert.deepEqual(Array.from(newModel(new Int32Array(D), updates, decision, 24)), result.newModel.map(Number));
});

test("span curvature: on a quadratic loss whose Hessian is isotropic outside span(v, Delta), Q(u) is u^T A u for any u", () => {
  // A = alpha I + the symmetric 2 x 2 block [[beta, gamma], [gamma, delta]] in the orthonormal basis (e1, e2) of span(v, Delta).
  const d = 64;
  const rng = seededRandom(5);
  const v = Float32Array.from({ length: d }, () => normal(rng));
  const lastDelta = Array.from({ length: d }, () => BigInt(Math.round(50 * normal(rng))));
  const scale = 1024;
  const e1 = Array.from(v, (x) => x / Math.sqrt(dot(v, v)));
  const dl = lastDelta.map((x) => Number(x) / scale);
  const rest = dl.map((x, i) => x - dot(dl, e1) * (e1[i] as number));
  const e2 = rest.map((x) => x / Math.sqrt(dot(rest, rest)));
  const [alpha, beta, gamma, delta] = [0.3, 2.5, -0.7, 1.2];
  const times = (w: ArrayLike<number>): number[] => {
    const p1 = dot(w, e1);
    const p2 = dot(w, e2);
    return Array.from(
      w,
      (x, i) => alpha * x + (beta * p1 + gamma * p2) * (e1[i] as number) + (gamma * p1 + delta * p2) * (e2[i] as number),
    );
  };
  // L(g + s) = 1 + <s, -v> + s^T A s / 2: its gradient at g is -v, its Hessian A.
  const owner = {
    scale,
    direction: (): Float32Array => v,
    loss: (steps: readonly Float64Array[]): number[] => [1, ...steps.map((s) => 1 - dot(s, v) + dot(s, times(s)) / 2)],
  };
  const c = spanCurvature(owner, v, lastDelta);
  assert.ok(Math.abs(c.perpendicular - alpha) < 1e-6, `perpendicular ${c.perpendicular}`);
  const h = c.h as number[][];
  for (const [got, want] of [
    [h[0]?.[0], alpha + beta],
    [h[0]?.[1], gamma],
    [h[1]?.[1], alpha + delta],
  ])
    assert.ok(Math.abs((got as number) - (want as number)) < 1e-6, `${got} vs ${want}`);
  for (let trial = 0; trial < 5; trial++) {
    const u = Float64Array.from({ length: d }, () => normal(rng));
    assert.ok(Math.abs(c.quadratic(u) - dot(u, times(u))) < 1e-6 * dot(u, u));
    assert.ok(Math.abs(c.alignment(u) - dot(u, v)) < 1e-9 * Math.sqrt(dot(u, u) * dot(v, v)) + 1e-9);
  }
  // Round 0 (no last delta): the span is v's line.
  assert.equal(spanCurvature(owner, v, null).h.length, 1);
});

/**
 * A round in two directions, `c1` (stiff where a test makes it so) and `c2`: honest updates along
 * `c2 + 0.3 c1` with their own noise, slot 3 along the owner's `v = c1 + c2` at an honest norm, and
 * a last global delta along the consensus, so the delta cap applies. `flat` is an owner whose
 * direction does not move (`v' = v`).
 */
function twoDirectionRound(seed: number): {
  c1: number[];
  updates: Int32Array[];
  last: Int32Array;
  v: Float32Array;
  reference: Reference;
  flat: OwnerOracle;
} {
  const rng = seededRandom(seed);
  const c1 = Array.from({ length: BIG }, () => normal(rng));
  const c2 = Array.from({ length: BIG }, () => normal(rng));
  const clamp = (x: number): number => Math.max(-127, Math.min(127, Math.round(x)));
  const updates = Array.from({ length: 8 }, (_, k) =>
    k === 3
      ? Int32Array.from(c1, (a, i) => clamp(9.3 * (a + (c2[i] as number))))
      : Int32Array.from(c1, (a, i) => clamp(10 * (0.3 * a + (c2[i] as number) + 0.8 * normal(rng)))),
  );
  const last = Int32Array.from(c2, (b, i) => clamp(8 * (b + 0.3 * (c1[i] as number))));
  const v = Float32Array.from(c1, (a, i) => (a + (c2[i] as number)) / 1024);
  return { c1, updates, last, v, reference: { v, loss: 1, curvature: 0 }, flat: { scale: 1024, loss: () => [], direction: () => v } };
}

/** Each rule's payout shares on one round, by rule name. */
function sharesUnder(updates: readonly Int32Array[], round: Parameters<typeof roundOf>[1]): (name: string) => number[] {
  const registry = ruleRegistry();
  return (name) => {
    const d = (registry.get(name) as RoundRule).decide(roundOf(updates, round));
    return sharesOf(d.payouts, d.withheld);
  };
}

/** Shares on `twoDirectionRound(23)` with slot 3 replaying the last step with noise (cosine about 0.9 with it: below the replay screen's 0.99). */
function replayRound(): (name: string) => number[] {
  const { updates, last, reference, flat } = twoDirectionRound(23);
  const rng = seededRandom(29);
  updates[3] = Int32Array.from(last, (x) => Math.max(-127, Math.min(127, Math.round(x + 4 * normal(rng)))));
  return sharesUnder(updates, { reference, last, owner: flat });
}

test("curvature views: on a quadratic loss, u^T H u exactly, and a sketch of rank 3 finds the three stiff directions and the isotropic rest", () => {
  // H = alpha I + sum_i lambda_i s_i s_i^T (s_i orthonormal, far stiffer than alpha): L(g + x) = 1 - <x, v> + x^T H x / 2.
  const d = 96;
  const rng = seededRandom(11);
  const random = (): Float64Array => Float64Array.from({ length: d }, () => normal(rng));
  const stiff: Float64Array[] = [];
  for (let i = 0; i < 3; i++) {
    const x = random();
    for (const e of stiff) {
      const c = dot(x, e);
      for (let j = 0; j < d; j++) x[j] = (x[j] as number) - c * (e[j] as number);
    }
    const n = l2Norm(x);
    stiff.push(x.map((y) => y / n));
  }
  const [alpha, lambdas] = [0.2, [9, 5, 3]];
  const times = (x: ArrayLike<number>): Float64Array => {
    const out = Float64Array.from(x, (y) => alpha * y);
    stiff.forEach((e, i) => {
      const c = (lambdas[i] as number) * dot(x, e);
      for (let j = 0; j < d; j++) out[j] = (out[j] as number) + c * (e[j] as number);
    });
    return out;
  };
  const v = Float32Array.from(random(), (x) => x / 10);
  const owner = {
    scale: 1024,
    loss: (): number[] => [],
    direction: (step: Float64Array): Float32Array => {
      const h = times(step);
      return Float32Array.from(v, (x, i) => x - (h[i] as number));
    },
  };
  const last = Array.from({ length: d }, () => BigInt(Math.round(30 * normal(rng))));
  const exact = exactCurvature(owner, v, last);
  const sketch = hessianSketch(owner, v, last, 3);
  assert.ok(Math.abs(sketch.outside - alpha) < 1e-3, `outside ${sketch.outside}`);
  for (let trial = 0; trial < 5; trial++) {
    const u = random();
    const want = dot(u, times(u));
    // Float32 gradients: a relative error of about 1e-5.
    assert.ok(Math.abs(exact.quadratic(u) - want) < 1e-3 * want, `exact ${exact.quadratic(u)} vs ${want}`);
    assert.ok(Math.abs(sketch.quadratic(u) - want) < 1e-2 * want, `sketch ${sketch.quadratic(u)} vs ${want}`);
    assert.ok(Math.abs(exact.alignment(u) - dot(u, v)) < 1e-9);
  }
  // Along the stiffest direction both charge its curvature, where the rest charges alpha.
  const along = stiff[0] as Float64Array;
  assert.ok(Math.abs(sketch.quadratic(along) - 9.2) < 0.05, `stiff ${sketch.quadratic(along)}`);
  // Directions rounded to 4-bit reference vectors (7 steps of their largest magnitude a side) keep
  // most of each stiff direction: the sketch on their span still charges about the whole Hessian.
  const rounded = roundedDirection(Float64Array.from([0.5, -1, 0.26, 0.07, 0]), 4);
  assert.deepEqual(
    Array.from(rounded, (x) => Math.round(x * 7)),
    [4, -7, 2, 0, 0],
  );
  const coarse = hessianSketch(owner, v, last, 3, 4);
  for (let trial = 0; trial < 5; trial++) {
    const u = random();
    const want = dot(u, times(u));
    assert.ok(Math.abs(coarse.quadratic(u) - want) < 0.1 * want, `4-bit sketch ${coarse.quadratic(u)} vs ${want}`);
  }
  assert.ok(coarse.quadratic(along) > 8, `4-bit stiff ${coarse.quadratic(along)}`);
});

/**
 * An owner whose loss is stiff along `c1`: curvature enough for the round's mean step to overshoot
 * there (`<e1, v'> < 0`), so `v'` at the new model reverses along `c1` and stays `v` elsewhere.
 */
function stiffOwner(c1: readonly number[], updates: readonly Int32Array[], v: Float32Array): OwnerOracle {
  const scale = 1024;
  const e1 = c1.map((x) => x / Math.sqrt(dot(c1, c1)));
  const mean = Array.from({ length: BIG }, (_, i) => updates.reduce((s, u) => s + (u[i] as number), 0) / updates.length / scale);
  const lambda = (4 * dot(e1, v)) / dot(e1, mean);
  return {
    scale,
    loss: (): number[] => [],
    direction: (step: Float64Array): Float32Array => {
      const along = lambda * dot(e1, step);
      return Float32Array.from(v, (x, i) => x - along * (e1[i] as number));
    },
  };
}

test("trapezoid and endpoint pay: with a flat owner loss (v' = v) they are the proven pay, cap and clip included; where the step overshoots a stiff direction, the update that pushed along it loses its pay", () => {
  // The lazy update (slot 3) is the owner's gradient direction at an honest update's norm, as a rescaled one-batch step is.
  const { c1, updates, last, v, reference, flat } = twoDirectionRound(17);
  const stiff = stiffOwner(c1, updates, v);
  const registry = ruleRegistry();
  const rule = (name: string): RoundRule => registry.get(name) as RoundRule;
  const shares = (name: string, owner: OwnerOracle | null): number[] =>
    sharesOf(rule(name).decide(roundOf(updates, { reference, last, owner })).payouts);
  // The variants build on the delta-capped alignment: the proven pay before the top cap.
  const proven = shares("consensus-reference-untopped", null);
  // The cap takes something from someone here, so the comparison covers it.
  const core = coreDecisionByReference(updates, v, last);
  assert.ok(core.deltaCapped && core.deltaDeduction.some((x) => x > 0n), "the delta cap deducts");
  const flatShares = shares("reference-pay-trapezoid-capped", flat);
  // Float v against v quantized at 8 bits: the shares agree to quantization.
  proven.forEach((x, k) => assert.ok(Math.abs(x - (flatShares[k] as number)) < 0.01, `slot ${k}: ${x} vs ${flatShares[k]}`));
  const stiffShares = shares("reference-pay-trapezoid-capped", stiff);
  assert.ok((stiffShares[3] as number) < 0.5 * (flatShares[3] as number), `lazy: ${flatShares[3]} -> ${stiffShares[3]}`);
  for (const k of [0, 1, 2, 4, 5, 6, 7]) assert.ok((stiffShares[k] as number) > (flatShares[k] as number), `honest slot ${k} gains`);
  // The endpoint pay (w = v'): the same as the trapezoid where v' = v, and harder on the overshoot where it reverses.
  const flatEnd = shares("reference-pay-endpoint-capped", flat);
  flatShares.forEach((x, k) => assert.ok(Math.abs(x - (flatEnd[k] as number)) < 1e-9, `slot ${k}: ${x} vs ${flatEnd[k]}`));
  const stiffEnd = shares("reference-pay-endpoint-capped", stiff);
  assert.ok((stiffEnd[3] as number) <= (stiffShares[3] as number), `lazy: trapezoid ${stiffShares[3]}, endpoint ${stiffEnd[3]}`);
  assert.ok((stiffEnd[3] as number) < 0.5 * (flatEnd[3] as number), `lazy: ${flatEnd[3]} -> ${stiffEnd[3]}`);
  assert.throws(() => rule("reference-pay-trapezoid").decide(roundOf(updates, { reference, last })), /needs the owner's validation loss/);
});

test("pay along the owner's update: with the update equal to v it is the proven pay, cap and clip included; along another direction it pays that direction; without an update it refuses", () => {
  const { updates, last, v, reference, flat } = twoDirectionRound(17);
  const rule = ruleRegistry().get("reference-pay-update-capped") as RoundRule;
  assert.equal(rule.needsOwnerUpdate, true, "the runner trains the owner's update for it");
  const shares = (owner: OwnerOracle): number[] => sharesOf(rule.decide(roundOf(updates, { reference, last, owner })).payouts);
  // The variants build on the delta-capped alignment: the proven pay before the top cap.
  const proven = sharesOf(ruleRegistry().get("consensus-reference-untopped")?.decide(roundOf(updates, { reference, last })).payouts ?? []);
  const alongV = shares({ ...flat, update: Float32Array.from(v) });
  // Float v against v quantized at 8 bits: the shares agree to quantization.
  proven.forEach((x, k) => assert.ok(Math.abs(x - (alongV[k] as number)) < 0.01, `slot ${k}: ${x} vs ${alongV[k]}`));
  // Along slot 0's own direction, slot 0 earns the most (the decision, still by v, is unchanged).
  const own = Float32Array.from(updates[0] as Int32Array, (x) => x / 1024);
  const alongOwn = shares({ ...flat, update: own });
  assert.equal(Math.max(...alongOwn), alongOwn[0]);
  assert.throws(() => rule.decide(roundOf(updates, { reference, last, owner: flat })), /needs the owner's update/);
});

test("pay both views agree on: with the owner's update equal to v it is the proven pay; otherwise each slot is paid its smaller share under the two pays, renormalised, and a mix sits between them", () => {
  const { updates, last, v, reference, flat } = twoDirectionRound(17);
  const sharesBy = (name: string, owner: OwnerOracle): number[] =>
    sharesOf((ruleRegistry().get(name) as RoundRule).decide(roundOf(updates, { reference, last, owner })).payouts);
  const proven = sharesOf(ruleRegistry().get("consensus-reference")?.decide(roundOf(updates, { reference, last })).payouts ?? []);
  const agreeing = sharesBy("reference-pay-update-min-capped", { ...flat, update: Float32Array.from(v) });
  proven.forEach((x, k) => assert.ok(Math.abs(x - (agreeing[k] as number)) < 0.01, `slot ${k}: ${x} vs ${agreeing[k]}`));
  // Along slot 0's own direction the update pay favours slot 0; the smaller share does not pay it more than v does.
  const own = { ...flat, update: Float32Array.from(updates[0] as Int32Array, (x) => x / 1024) };
  const alongOwn = sharesBy("reference-pay-update-capped", own);
  const smaller = sharesBy("reference-pay-update-min-capped", own);
  assert.ok((alongOwn[0] as number) > (proven[0] as number) + 0.01, `the update pay favours slot 0: ${proven[0]} -> ${alongOwn[0]}`);
  // Before the final split each value is min(share under v, share under w); after it, the sum of the mins is below 1.
  const mins = proven.map((x, k) => Math.min(x, alongOwn[k] as number));
  const total = mins.reduce((a, x) => a + x, 0);
  smaller.forEach((x, k) =>
    assert.ok(Math.abs(x - (mins[k] as number) / total) < 0.01, `slot ${k}: ${x} vs ${(mins[k] as number) / total}`),
  );
  // The mixes interpolate: slot 0's share along v / |v| + w / |w| lies between its shares under v and under w.
  const mixed = sharesBy("reference-pay-update-mix-capped", own)[0] as number;
  assert.ok(mixed > (proven[0] as number) && mixed < (alongOwn[0] as number), `${proven[0]} < ${mixed} < ${alongOwn[0]}`);
});

test("orthogonal pay: a noisy replay of the last global delta loses most of what the delta cap leaves it (the median's rate along Delta)", () => {
  const shares = replayRound();
  const capped = shares("reference-pay-trapezoid-capped");
  const orthogonal = shares("reference-pay-trapezoid-orthogonal");
  assert.ok((capped[3] as number) > 0.05, `the delta cap pays the replay: ${capped[3]}`);
  assert.ok((orthogonal[3] as number) < 0.5 * (capped[3] as number), `orthogonal: ${capped[3]} -> ${orthogonal[3]}`);
  // With v' = v the endpoint variant is the same pay.
  const endpoint = shares("reference-pay-endpoint-orthogonal");
  orthogonal.forEach((x, k) => assert.ok(Math.abs(x - (endpoint[k] as number)) < 1e-9, `slot ${k}`));
});

test("shared screen: a noisy replay keeps only the lowest kept cosine's rate along Delta, between the delta cap and the whole deduction; with v' = v every point of the step pays alike", () => {
  const shares = replayRound();
  const capped = shares("reference-pay-trapezoid-capped");
  const shared = shares("reference-pay-trapezoid-shared");
  const orthogonal = shares("reference-pay-trapezoid-orthogonal");
  assert.ok((shared[3] as number) < (capped[3] as number), `shared below the median cap: ${capped[3]} -> ${shared[3]}`);
  assert.ok((shared[3] as number) >= (orthogonal[3] as number), `shared at or above the whole deduction: ${orthogonal[3]} <= ${shared[3]}`);
  for (const t of ["late", "endpoint"]) {
    const other = shares(`reference-pay-${t}-shared`);
    shared.forEach((x, k) => assert.ok(Math.abs(x - (other[k] as number)) < 1e-9, `${t}, slot ${k}`));
  }
});

test("pay above a replay's: a noisy replay of the last step keeps little of what the delta cap leaves it, and the honest players paid keep their order", () => {
  const shares = replayRound();
  const capped = shares("reference-pay-trapezoid-capped");
  const above = shares("reference-pay-trapezoid-above-replay");
  assert.ok((above[3] as number) < 0.5 * (capped[3] as number), `replay: ${capped[3]} -> ${above[3]}`);
  const paid = [0, 1, 2, 4, 5, 6, 7].filter((k) => (above[k] as number) > 0);
  assert.ok(paid.length >= 4, `honest players paid: ${paid.join(", ")}`);
  for (const a of paid)
    for (const b of paid)
      if ((capped[a] as number) > (capped[b] as number))
        assert.ok((above[a] as number) >= (above[b] as number), `order of slots ${a} and ${b}`);
});

test("clip at twice the median norm: the largest update scaled by 1.2 is paid 1.2 times as much, where the proven clip pays it at the median norm either way", () => {
  const { updates, last, reference, flat } = twoDirectionRound(17);
  const squaredNorms = updates.map((u) => u.reduce((a, x) => a + x * x, 0));
  const largest = squaredNorms.indexOf(Math.max(...squaredNorms));
  const other = largest === 0 ? 1 : 0;
  const scaled = updates.map((u, k) => (k === largest ? Int32Array.from(u, (x) => Math.round(1.2 * x)) : u));
  const ratio = (round: readonly Int32Array[], name: string): number => {
    const x = sharesUnder(round, { reference, last, owner: flat })(name);
    return (x[largest] as number) / (x[other] as number);
  };
  for (const name of ["reference-pay-trapezoid-capped-clip2", "reference-pay-endpoint-shared-clip2"]) {
    const grown = ratio(scaled, name) / ratio(updates, name);
    assert.ok(Math.abs(grown - 1.2) < 0.02, `${name}: x${grown}`);
  }
  const proven = ratio(scaled, "reference-pay-trapezoid-capped") / ratio(updates, "reference-pay-trapezoid-capped");
  assert.ok(Math.abs(proven - 1) < 0.02, `the median clip: x${proven}`);
});

test("reference cap: an update along v itself (a leaked reference) is paid what the median kept direction earns per unit of norm, and no more; with v' = v the trapezoid variant agrees", () => {
  // Slot 3 is v's direction at an honest norm: what the owner's identities send.
  const { updates, last, reference, flat } = twoDirectionRound(19);
  const shares = sharesUnder(updates, { reference, last, owner: flat });
  const medianHonest = (x: number[]): number => {
    const honest = x.filter((_, k) => k !== 3).sort((a, b) => a - b);
    return honest[Math.floor((honest.length - 1) / 2)] as number;
  };
  const proven = shares("consensus-reference-untopped");
  const capped = shares("reference-pay-reference-capped");
  assert.ok((proven[3] as number) > 1.2 * medianHonest(proven), `the proven pay favours v itself: ${proven[3]} vs ${medianHonest(proven)}`);
  assert.ok((capped[3] as number) <= 1.02 * medianHonest(capped), `capped: ${capped[3]} vs ${medianHonest(capped)}`);
  const trapezoid = shares("reference-pay-trapezoid-reference-capped");
  capped.forEach((x, k) => assert.ok(Math.abs(x - (trapezoid[k] as number)) < 0.01, `slot ${k}: ${x} vs ${trapezoid[k]}`));
});

test("top cap: an update along v (the owner's identity) is paid at most the best honest rate (5/4 of it as proven), and the honest slots below the (f + 1)-th highest cosine keep the untopped pay's ratios", () => {
  const { updates, last, v, reference, flat } = twoDirectionRound(19);
  const shares = sharesUnder(updates, { reference, last, owner: flat });
  const untopped = shares("consensus-reference-untopped");
  const proven = shares("consensus-reference");
  const top = shares("reference-pay-top-capped");
  const honest = [0, 1, 2, 4, 5, 6, 7];
  const best = (x: number[]): number => Math.max(...honest.map((k) => x[k] as number));
  assert.ok(
    (untopped[3] as number) > 1.2 * best(untopped),
    `without the top cap v itself is favoured: ${untopped[3]} vs ${best(untopped)}`,
  );
  // Slot 3's norm is an honest one's, so its share is its rate: at most the best honest slot's
  // (the variant's tolerance 1), or 5/4 of it (the proven cap's).
  assert.ok((top[3] as number) <= 1.02 * best(top), `capped: ${top[3]} vs ${best(top)}`);
  assert.ok((proven[3] as number) <= 1.25 * 1.02 * best(proven), `proven: ${proven[3]} vs ${best(proven)}`);
  assert.ok((proven[3] as number) < (untopped[3] as number), `the proven cap takes from v itself: ${untopped[3]} -> ${proven[3]}`);
  // f = 2: the pivot is the third highest cosine (slot 3's included); everyone below it keeps its pay relative to the others below.
  const cos = updates.map((u) => {
    const uv = u.reduce((a, x, i) => a + x * (v[i] as number), 0);
    return uv / (Math.sqrt(u.reduce((a, x) => a + x * x, 0)) * Math.sqrt(v.reduce((a, x) => a + x * x, 0)));
  });
  const pivot = [...cos].sort((a, b) => b - a)[2] as number;
  const below = honest.filter((k) => (cos[k] as number) < pivot);
  assert.ok(below.length >= 4, `slots below the pivot: ${below.join(", ")}`);
  const [first] = below as [number];
  for (const k of below) {
    const ratio = (x: number[]): number => (x[k] as number) / (x[first] as number);
    assert.ok(Math.abs(ratio(top) - ratio(untopped)) < 1e-6, `slot ${k}: ${ratio(top)} vs ${ratio(untopped)}`);
  }
});

test("withheld deductions: what the top cap takes from v itself is paid to no one else, so every other slot keeps the untopped pay's share (or, paid to the uncapped as proven, they split it in the capped pay's ratios); the caps' deductions from a replay are withheld too", () => {
  const { updates, last, reference, flat } = twoDirectionRound(19);
  const shares = sharesUnder(updates, { reference, last, owner: flat });
  const untopped = shares("consensus-reference-untopped");
  // The top cap with its deduction split over every kept player (the twenty-fifth round's proven rule).
  const split = shares("consensus-reference-split");
  const withheld = shares("reference-pay-top-capped-withheld");
  const sum = (x: number[]): number => x.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum(split) - 1) < 1e-9 && sum(withheld) < 0.99, `the cap's part is not paid: ${sum(withheld)}`);
  // Slot 3 (along v) is capped as proven; the others are paid what they were paid before the cap (up to the
  // scores' integer rounding: the variant scores at 2^40 of the pay unit, the rules at core's scale).
  assert.ok(Math.abs((withheld[3] as number) / (split[3] as number) - sum(withheld)) < 1e-6, "slot 3's score is the capped one");
  for (const k of [0, 1, 2, 4, 5, 6, 7]) {
    assert.ok(Math.abs((withheld[k] as number) - (untopped[k] as number)) < 1e-6, `slot ${k}: ${withheld[k]} vs ${untopped[k]}`);
    assert.ok((withheld[k] as number) <= (split[k] as number) + 1e-12, `slot ${k} does not gain from slot 3's cap`);
  }
  // Paid to the uncapped instead: slot 3 keeps its withheld share, the others split the rest in the capped pay's ratios.
  const toUncapped = shares("reference-pay-top-capped-to-uncapped");
  assert.ok(Math.abs(sum(toUncapped) - 1) < 1e-9 && Math.abs((toUncapped[3] as number) - (withheld[3] as number)) < 1e-6, "slot 3");
  for (const k of [1, 2, 4, 5, 6, 7]) {
    const ratio = (x: number[]): number => (x[k] as number) / (x[0] as number);
    assert.ok(Math.abs(ratio(toUncapped) - ratio(split)) < 1e-6, `slot ${k}: ${ratio(toUncapped)} vs ${ratio(split)}`);
  }
  // The proven rule (core's step 8'''', integers) is the bench's floating-point variant, up to its factor's
  // 16 fractional bits (each uncapped pay short by less than 2^-16 of itself).
  const proven = shares("consensus-reference");
  proven.forEach((x, k) => assert.ok(Math.abs(x - (toUncapped[k] as number)) < 2 ** -15, `slot ${k}: proven ${x} vs ${toUncapped[k]}`));
  const aboveReplay = shares("reference-pay-top-capped-to-above-replay");
  assert.ok(
    Math.abs(sum(aboveReplay) - 1) < 1e-9 && Math.abs((aboveReplay[3] as number) - (withheld[3] as number)) < 1e-6,
    "slot 3, above a replay",
  );
  // A noisy replay of the last step: the delta cap's deduction is withheld, so neither it nor anyone else gains from it.
  const replay = replayRound();
  const [paid, held] = [replay("consensus-reference"), replay("reference-pay-caps-withheld")];
  assert.ok((held[3] as number) < (paid[3] as number), `the replay: ${paid[3]} -> ${held[3]}`);
  paid.forEach((x, k) => assert.ok((held[k] as number) <= x + 1e-12, `slot ${k}: ${x} -> ${held[k]}`));
});

test("to the unreached: what the top cap takes from v itself goes to players neither cap reaches, so a noisy replay of the last step (reached by the delta cap) keeps the share it has when the deduction is withheld", () => {
  const { updates, last, reference, flat } = twoDirectionRound(19);
  const rng = seededRandom(31);
  updates[6] = Int32Array.from(last, (x) => Math.max(-127, Math.min(127, Math.round(x + 4 * normal(rng)))));
  const shares = sharesUnder(updates, { reference, last, owner: flat });
  const sum = (x: number[]): number => x.reduce((a, b) => a + b, 0);
  const [withheld, proven, unreached] = [
    shares("reference-pay-top-capped-withheld"),
    shares("consensus-reference"),
    shares("reference-pay-top-capped-to-unreached"),
  ];
  assert.ok(sum(withheld) < 0.99, `slot 3 is capped: ${sum(withheld)} of the round paid`);
  assert.ok(Math.abs(sum(unreached) - 1) < 1e-9, "the whole round is paid");
  // Slot 3 (capped) and slot 6 (the replay) are paid out of the untopped total, as when the deduction is withheld.
  for (const k of [3, 6]) assert.ok(Math.abs((unreached[k] as number) - (withheld[k] as number)) < 1e-6, `slot ${k}`);
  assert.ok((unreached[6] as number) < (proven[6] as number), `the replay: proven ${proven[6]}, to the unreached ${unreached[6]}`);
  // Nobody is paid less than when the deduction is withheld.
  withheld.forEach((x, k) => assert.ok((unreached[k] as number) >= x - 1e-9, `slot ${k}: ${x} -> ${unreached[k]}`));
  // With the delta cap's deduction paid the same way, the replay keeps less than its withheld share.
  const both = shares("reference-pay-caps-to-unreached");
  assert.ok(Math.abs(sum(both) - 1) < 1e-9 && (both[6] as number) < (withheld[6] as number), `the replay, both caps: ${both[6]}`);
});

test("crafted reference: a secret unit direction orthogonal to v, and v* at v's norm with cosine gamma to v; any owner vector bends the same way", () => {
  const rng = seededRandom(41);
  const v = Float32Array.from({ length: BIG }, () => normal(rng));
  const w = Float32Array.from({ length: BIG }, () => normal(rng) + 0.5);
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((x, y, i) => x + y * (b[i] as number), 0);
  const norm = (a: ArrayLike<number>): number => Math.sqrt(dot(a, a));
  const { reference, secret } = craftedReference(v, 3, 1);
  assert.ok(Math.abs(norm(secret) - 1) < 1e-5 && Math.abs(dot(secret, v)) / norm(v) < 1e-4, "unit and orthogonal to v");
  assert.ok(Math.abs(norm(reference) / norm(v) - 1) < 1e-4, "at v's norm");
  assert.ok(Math.abs(dot(reference, v) / (norm(reference) * norm(v)) - CRAFTED_REFERENCE_GAMMA) < 1e-4, "cosine gamma with v");
  assert.deepEqual(craftedReference(v, 3, 1).secret, secret, "deterministic per seed and round");
  assert.notDeepEqual(craftedReference(v, 3, 2).secret, secret, "a new direction each round");
  const bent = craftAlong(w, secret);
  assert.ok(Math.abs(norm(bent) / norm(w) - 1) < 0.05 && dot(bent, secret) / norm(bent) > 0.9, "w bent towards the secret");
});

test("start-above-replay: an owner that commits v' = v turns every step pay into the pay on v, so the update along v that the honest v' charges is paid in full", () => {
  // Slot 3 is v's direction at an honest norm (the owner's identity); the stiff owner's honest v' reverses along it.
  const { c1, updates, last, v, reference, flat } = twoDirectionRound(17);
  const stiff = stiffOwner(c1, updates, v);
  const under = (owner: OwnerOracle): ((name: string) => number[]) => sharesUnder(updates, { reference, last, owner });
  const honest = under(stiff)("reference-pay-late-above-replay");
  const start = under(stiff)("reference-pay-start-above-replay");
  // The owner's choice: v' = v makes late-above-replay what start-above-replay pays, whatever its real loss.
  const chosen = under(flat)("reference-pay-late-above-replay");
  start.forEach((x, k) => assert.ok(Math.abs(x - (chosen[k] as number)) < 1e-9, `slot ${k}: ${x} vs ${chosen[k]}`));
  assert.ok((honest[3] as number) < 0.5 * (start[3] as number), `the identity: honest v' ${honest[3]}, v' = v ${start[3]}`);
});

test("steer: against the victim's direction, with the attacker's own, at the asked multiple of its norm", () => {
  const own = Float32Array.from([3, 1, 0, 2]);
  const victim = Float32Array.from([1, 1, 1, 0]);
  const u = steered(own, victim, 2);
  const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * (b[i] as number), 0);
  const norm = (a: Float32Array): number => Math.sqrt(dot(a, a));
  assert.ok(dot(u, victim) / (norm(u) * norm(victim)) < -0.4, "against the victim");
  assert.ok(dot(u, own) > 0, "along its own direction");
  assert.ok(Math.abs(norm(u) - 2 * norm(own)) < 1e-5, "at twice its norm");
  // Nothing to steer against, or nothing of its own: its honest update.
  assert.deepEqual(steered(own, new Float32Array(4), 2), own);
});
