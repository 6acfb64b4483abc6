/**
 * Runs scenarios under round rules on one seed's data, with caches so that identical work is done
 * once per run:
 *
 * - training: keyed by (trainer, training variant, round, hash of the global model). Round 0
 *   starts from the same model under every rule, so its updates are identical for every rule;
 *   later rounds are shared whenever two rules (or scenarios) reach the same global model (e.g.
 *   every attack a rule fully excludes reproduces the same trajectory);
 * - the owner's reference (`v`, validation loss, curvature): keyed by the model hash;
 * - exact Shapley: keyed by the model hash and the hash of the round's updates.
 *
 * Each rule drives its own trajectory (closed loop: its aggregate is the next global model, as
 * in deployment), because final accuracy and later rounds' inliers depend on what the rule
 * aggregated. The trajectory of `current` is additionally scored by every other rule
 * (`alsoScore`): that gives the side-by-side comparison on identical updates.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { sealedSlot, simulateRound, type CircuitConfig, type RoundSlot } from "@fedmarket/core";
import type { ModelSpec } from "@fedmarket/protocol";
import { permutation, seededRandom, selectSamples, trainLocally, MNIST_CLASSES, type Dataset, type TF } from "@fedmarket/ml";
import { flipLabels } from "../../attacks/attacks.ts";
import type { FairnessData } from "./data.ts";
import { BatchEvaluator, CROSS_ENTROPY, type ReferenceObjective } from "./evaluator.ts";
import { roundStats, type Reference, type RoundStats } from "./geometry.ts";
import { PROVEN_RULE, referenceValues, type RoundRule, type RuleDecision, type RuleRound } from "./rules.ts";
import { craftAlong, craftedReference, roundSubmissions, type Scenario, type SlotSubmission, type TrainingVariant } from "./scenarios.ts";
import { benchAggregatorKey } from "../seal-keys.ts";
import { exactShapley } from "./shapley.ts";

/**
 * How the owner computes its reference `v` (docs/SCORING.md, twenty-third round): minus the gradient
 * of an objective on its validation split (the proven rule's, with cross-entropy), or the owner's own
 * update, one epoch of the trainers' training (`trainLocally`) on the validation split from the
 * round's model, as FLTrust's server computes its reference on its root data.
 */
export type ReferenceMode = { readonly kind: "gradient"; readonly objective: ReferenceObjective } | { readonly kind: "owner-update" };

/** How the owner's curvature scalar `c` is chosen (see `curvatureOf`). */
export type CurvatureMode =
  | { readonly kind: "fixed"; readonly value: number }
  | { readonly kind: "secant"; readonly direction: "v" | "delta"; readonly stepFactor: number; readonly scale: number };

export interface SeedRunnerOptions {
  readonly tf: TF;
  readonly spec: ModelSpec;
  readonly config: CircuitConfig;
  readonly f: number;
  readonly seed: number;
  readonly rounds: number;
  readonly data: FairnessData;
  readonly initialModel: Int32Array;
  readonly curvature: CurvatureMode;
  /** How `v` is computed (default: minus the gradient of the validation cross-entropy). */
  readonly reference?: ReferenceMode;
  readonly log: (message: string) => void;
}

/** Exact Shapley of one round, accuracy and loss utilities, on each half of the evaluation split. */
export interface ShapleyRound {
  /** Accuracy utility (mean of the halves = the whole evaluation split, the halves being equal). */
  readonly accuracy: number[];
  /** Utility `-loss`. */
  readonly loss: number[];
  readonly accuracyHalves: readonly [number[], number[]];
  /** Grand-coalition and empty-coalition accuracy (sanity). */
  readonly fullAccuracy: number;
  readonly emptyAccuracy: number;
}

export interface RoundRecord {
  readonly round: number;
  readonly aggregated: boolean[];
  /** Payout shares of the round reward (sum 1, or all 0 when nobody is paid). */
  readonly shares: number[];
  /** Accuracy and loss of the new global model on the evaluation split. */
  readonly accuracy: number;
  readonly loss: number;
  readonly shapley?: ShapleyRound;
  /** Other rules' decisions on this very round (only on the trajectory of the rule that drives it). */
  readonly others?: Record<string, { aggregated: boolean[]; shares: number[] }>;
  /** Cosine of each slot's update with the last global delta (null in round 0 / without update). */
  readonly cosineWithLastDelta: (number | null)[];
  readonly norms: number[];
  readonly stats?: RoundStats;
}

export interface RunRecord {
  readonly scenario: string;
  readonly rule: string;
  readonly rounds: RoundRecord[];
  readonly finalAccuracy: number;
  readonly finalLoss: number;
  readonly wallSeconds: number;
}

export interface RunOptions {
  /** Compute exact Shapley every round (the all-honest run). */
  readonly shapley: boolean;
  /** Rules that also score every round of this trajectory (open loop). */
  readonly alsoScore?: readonly RoundRule[];
  /** Check the proven rule's fast path (`PROVEN_RULE`) against @fedmarket/core's full `simulateRound` in these rounds. */
  readonly verifyRounds?: ReadonlySet<number>;
  /** Keep each round's statistics in the record (exploration). */
  readonly keepStats?: boolean;
}

export class SeedRunner {
  readonly #o: SeedRunnerOptions;
  readonly #halves: [BatchEvaluator, BatchEvaluator];
  readonly #validation: BatchEvaluator;
  readonly #train = new Map<string, Float32Array>();
  readonly #reference = new Map<string, Reference>();
  readonly #ownerUpdate = new Map<string, Float32Array>();
  readonly #shapley = new Map<string, ShapleyRound>();
  readonly #lazySubsets = new Map<number, Dataset>();
  readonly counters = { trainings: 0, trainingHits: 0, shapleyRounds: 0, shapleyHits: 0, verified: 0 };

  constructor(options: SeedRunnerOptions) {
    this.#o = options;
    const ev = options.data.evaluation;
    const half = Math.floor(ev.count / 2);
    const idx = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
    // Interleave so both halves keep the class balance of the stratified split.
    const a = idx(0, ev.count)
      .filter((i) => i % 2 === 0)
      .slice(0, half);
    const b = idx(0, ev.count)
      .filter((i) => i % 2 === 1)
      .slice(0, half);
    this.#halves = [
      new BatchEvaluator(options.tf, options.spec, selectSamples(ev, a, "evaluation-a")),
      new BatchEvaluator(options.tf, options.spec, selectSamples(ev, b, "evaluation-b")),
    ];
    this.#validation = new BatchEvaluator(options.tf, options.spec, options.data.validation);
  }

  /** Evaluation-split digits actually used (two equal halves). */
  get evaluationDigits(): number {
    return this.#halves[0].count + this.#halves[1].count;
  }

  dispose(): void {
    for (const e of [...this.#halves, this.#validation]) e.dispose();
  }

  /** Accuracy and loss of integer models on the evaluation split (mean of the halves). */
  evaluate(models: readonly Int32Array[]): { accuracy: number[]; loss: number[] } {
    const floats = models.map((m) => this.#float(m));
    const [a, b] = this.#halves.map((h) => h.evaluate(floats)) as [
      ReturnType<BatchEvaluator["evaluate"]>,
      ReturnType<BatchEvaluator["evaluate"]>,
    ];
    return {
      accuracy: a.accuracy.map((x, i) => (x + (b.accuracy[i] as number)) / 2),
      loss: a.loss.map((x, i) => (x + (b.loss[i] as number)) / 2),
    };
  }

  #float(model: Int32Array): Float32Array {
    const scale = this.#o.spec.quantization.scale;
    return Float32Array.from(model, (q) => q / scale);
  }

  async #trainDelta(
    trainer: number,
    variant: TrainingVariant,
    round: number,
    weights: Float32Array,
    modelKey: string,
  ): Promise<Float32Array> {
    const key = `${trainer}|${variant}|${round}|${modelKey}`;
    const hit = this.#train.get(key);
    if (hit !== undefined) {
      this.counters.trainingHits++;
      return hit;
    }
    const { tf, spec, seed, data } = this.#o;
    const base = data.trainSets[trainer] as Dataset;
    const shuffleSeed = seed * 100_000 + round * 100 + trainer;
    let dataset: Dataset;
    switch (variant) {
      case "full":
        dataset = base;
        break;
      case "label-flip":
        dataset = flipLabels(base, MNIST_CLASSES);
        break;
      case "lazy-10pct": {
        let subset = this.#lazySubsets.get(trainer);
        if (subset === undefined) {
          const perm = permutation(base.count, seededRandom(seed * 1000 + trainer));
          subset = selectSamples(base, perm.subarray(0, Math.max(1, Math.round(base.count / 10))), `${base.source} (10 %)`);
          this.#lazySubsets.set(trainer, subset);
        }
        dataset = subset;
        break;
      }
      case "lazy-1batch": {
        const perm = permutation(base.count, seededRandom(shuffleSeed));
        dataset = selectSamples(base, perm.subarray(0, Math.min(base.count, spec.training.batchSize)), `${base.source} (one batch)`);
        break;
      }
    }
    const result = await trainLocally({ tf, spec, globalWeights: weights, dataset, seed: shuffleSeed, yieldEvery: "never" });
    this.counters.trainings++;
    this.#train.set(key, result.delta);
    return result.delta;
  }

  /** Trains the owner's own update at a model once (`v` under `reference: owner-update`, or a rule's `OwnerOracle.update`; training is async). */
  async #prepareOwnerUpdate(model: Int32Array, modelKey: string): Promise<void> {
    if (this.#ownerUpdate.has(modelKey)) return;
    const { tf, spec, data, seed } = this.#o;
    const result = await trainLocally({
      tf,
      spec,
      globalWeights: this.#float(model),
      dataset: data.validation,
      seed: seed * 1009 + 17,
      yieldEvery: "never",
    });
    this.#ownerUpdate.set(modelKey, result.delta);
  }

  /** The owner's reference at a model: `v` (see `ReferenceMode`), `L_val`, and the curvature scalar. */
  reference(model: Int32Array, modelKey: string, lastGlobalDelta: Int32Array | undefined): Reference {
    const key = `${modelKey}|${this.#o.curvature.kind === "secant" && this.#o.curvature.direction === "delta" ? hashInts(lastGlobalDelta ?? new Int32Array(0)) : ""}`;
    const hit = this.#reference.get(key);
    if (hit !== undefined) return hit;
    const w = this.#float(model);
    const mode = this.#o.reference ?? { kind: "gradient", objective: CROSS_ENTROPY };
    const descent = this.#validation.lossAndGradient(w, mode.kind === "gradient" ? mode.objective : CROSS_ENTROPY);
    let v: Float32Array = descent.gradient.map((g) => -g);
    if (mode.kind === "owner-update") {
      const own = this.#ownerUpdate.get(modelKey);
      if (own === undefined) throw new Error("internal: the owner's update is trained at the start of the round (prepareOwnerUpdate)");
      v = own;
    }
    // `loss` stays the cross-entropy whatever `v` is: the curvature and the owner's pays measure it.
    const loss =
      mode.kind === "gradient" && mode.objective.kind !== "cross-entropy"
        ? (this.#validation.evaluate([w]).loss[0] as number)
        : descent.loss;
    const ref = { v, loss, curvature: this.#curvatureOf(w, v, loss, lastGlobalDelta) };
    this.#reference.set(key, ref);
    return ref;
  }

  /**
   * `c` from the validation split only, so the owner can fix it before submissions open: the
   * secant curvature `(L(w + t d) + L(w - t d) - 2 L(w)) / t^2` along a unit direction `d` (`v`,
   * or the last global delta when there is one), at a step `t = stepFactor * ||last global delta||`
   * (round 0: `stepFactor * 0.1 * ||v||`, the length of one plain gradient step at rate 0.1),
   * times `scale`. The consensus direction is the stiffest one an update has; most of a non-IID
   * update's energy lies in flatter, client-specific directions, so the isotropic `c I` that
   * best stands in for the Hessian on updates is a fraction of it (`scale`, measured: see
   * docs/SCORING.md).
   */
  #curvatureOf(w: Float32Array, v: Float32Array, loss: number, lastGlobalDelta: Int32Array | undefined): number {
    const mode = this.#o.curvature;
    if (mode.kind === "fixed") return mode.value;
    const scale = this.#o.spec.quantization.scale;
    const vNorm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    const deltaNorm = lastGlobalDelta === undefined ? 0 : Math.sqrt(lastGlobalDelta.reduce((s, x) => s + x * x, 0)) / scale;
    let dir: Float32Array;
    if (mode.direction === "delta" && lastGlobalDelta !== undefined && deltaNorm > 0)
      dir = Float32Array.from(lastGlobalDelta, (x) => x / scale / deltaNorm);
    else dir = v.map((x) => x / vNorm);
    const t = mode.stepFactor * (deltaNorm > 0 ? deltaNorm : 0.1 * vNorm);
    if (!(t > 0)) return 0;
    const plus = w.map((x, i) => x + t * (dir[i] as number));
    const minus = w.map((x, i) => x - t * (dir[i] as number));
    const [lp, lm] = this.#validation.evaluate([plus, minus]).loss as [number, number];
    return mode.scale * Math.max(0, (lp + lm - 2 * loss) / (t * t));
  }

  /** Exact Shapley of the round's updates: utility of `prevModel + floor-mean(coalition)` (the proven rule). */
  shapley(model: Int32Array, modelKey: string, updates: readonly (Int32Array | null)[]): ShapleyRound {
    const key = `${modelKey}|${hashInts(...updates.map((u) => u ?? new Int32Array(0)))}`;
    const hit = this.#shapley.get(key);
    if (hit !== undefined) {
      this.counters.shapleyHits++;
      return hit;
    }
    const n = updates.length;
    const total = 2 ** n;
    const scale = this.#o.spec.quantization.scale;
    const accs: [number[], number[]] = [[], []];
    const losses: [number[], number[]] = [[], []];
    const batch = 32;
    for (let start = 0; start < total; start += batch) {
      const models: Float32Array[] = [];
      for (let mask = start; mask < Math.min(total, start + batch); mask++) {
        const members = updates.flatMap((u, k) => (((mask >> k) & 1) === 1 && u !== null ? [u] : []));
        const w = new Float32Array(model.length);
        const c = members.length;
        for (let x = 0; x < model.length; x++) {
          let s = 0;
          for (const u of members) s += u[x] as number;
          // floor(S / n) of integers: float division cannot cross an integer here (|S| < 2^31, n <= 8).
          w[x] = ((model[x] as number) + (c === 0 ? 0 : Math.floor(s / c))) / scale;
        }
        models.push(w);
      }
      this.#halves.forEach((h, i) => {
        const e = h.evaluate(models);
        (accs[i] as number[]).push(...e.accuracy);
        (losses[i] as number[]).push(...e.loss.map((l) => -l));
      });
    }
    const phiA = exactShapley(accs[0], n),
      phiB = exactShapley(accs[1], n);
    const lossA = exactShapley(losses[0], n),
      lossB = exactShapley(losses[1], n);
    const out: ShapleyRound = {
      accuracy: phiA.map((x, k) => (x + (phiB[k] as number)) / 2),
      loss: lossA.map((x, k) => (x + (lossB[k] as number)) / 2),
      accuracyHalves: [phiA, phiB],
      fullAccuracy: ((accs[0][total - 1] as number) + (accs[1][total - 1] as number)) / 2,
      emptyAccuracy: ((accs[0][0] as number) + (accs[1][0] as number)) / 2,
    };
    this.counters.shapleyRounds++;
    this.#shapley.set(key, out);
    return out;
  }

  /** Runs one scenario for `rounds` rounds, the rule's aggregate becoming the next global model. */
  async run(scenario: Scenario, rule: RoundRule, options: RunOptions): Promise<RunRecord> {
    const started = performance.now();
    const { config, spec, seed, f } = this.#o;
    const scale = spec.quantization.scale;
    let model = this.#o.initialModel;
    let lastGlobalDelta: Int32Array | undefined;
    const rounds: RoundRecord[] = [];
    const needsReference = rule.needsReference || (options.alsoScore ?? []).some((r) => r.needsReference);
    const ownerUpdate =
      (needsReference && this.#o.reference?.kind === "owner-update") ||
      [rule, ...(options.alsoScore ?? [])].some((r) => r.needsOwnerUpdate === true);
    for (let r = 0; r < this.#o.rounds; r++) {
      const modelKey = hashInts(model);
      const weights = this.#float(model);
      if (ownerUpdate || scenario.leak === "update") await this.#prepareOwnerUpdate(model, modelKey);
      const ownerUpdateHere = this.#ownerUpdate.get(modelKey);
      const submissions = await roundSubmissions({
        scenario,
        slots: config.kMax,
        seed,
        round: r,
        parameters: model.length,
        quantization: spec.quantization,
        updateBits: config.updateBits,
        lastGlobalDelta,
        train: (t, variant) => this.#trainDelta(t, variant, r, weights, modelKey),
        ownerReference: () => this.reference(model, modelKey, lastGlobalDelta).v,
        ...(ownerUpdateHere === undefined ? {} : { ownerUpdate: () => ownerUpdateHere }),
      });
      const updates = submissions.map((s) => s.update);
      const commitments = commitmentIds(submissions);
      const honestReference = needsReference ? this.reference(model, modelKey, lastGlobalDelta) : undefined;
      // `crafted-reference`: the owner commits a reference (and an update) bent towards its identities' secret direction.
      const crafted =
        scenario.leak === "crafted" && honestReference !== undefined ? craftedReference(honestReference.v, seed, r) : undefined;
      const reference =
        crafted === undefined || honestReference === undefined ? honestReference : { ...honestReference, v: crafted.reference };
      const ownerUpdateUsed =
        crafted === undefined || ownerUpdateHere === undefined ? ownerUpdateHere : craftAlong(ownerUpdateHere, crafted.secret);
      const stats = roundStats(updates, scale, reference, lastGlobalDelta);
      const ruleRound: RuleRound = {
        f,
        commitments,
        excluded: submissions.map((s) => s.update === null),
        stats,
        exact: once(() => ({
          config,
          prevModel: Array.from(model, BigInt),
          updates: updates.map((u) => (u === null ? null : Array.from(u, BigInt))),
          lastGlobalDelta: lastGlobalDelta === undefined ? null : Array.from(lastGlobalDelta, BigInt),
          referenceDirection: reference === undefined ? null : reference.v,
          owner: {
            scale,
            loss: (steps) =>
              this.#validation.evaluate([weights, ...steps.map((s) => Float32Array.from(weights, (w, i) => w + (s[i] as number)))]).loss,
            direction: (step) =>
              this.#validation.lossAndGradient(Float32Array.from(weights, (w, x) => w + (step[x] as number))).gradient.map((g) => -g),
            ...(ownerUpdateUsed === undefined ? {} : { update: ownerUpdateUsed }),
          },
        })),
      };
      const decision = rule.decide(ruleRound);
      const next = newModel(model, updates, decision, config.modelBits);
      if (options.verifyRounds?.has(r) === true && rule.name === PROVEN_RULE)
        this.#verifyProven(ruleRound, submissions, decision, next, r, rule.needsReference);
      const others: Record<string, { aggregated: boolean[]; shares: number[] }> = {};
      for (const other of options.alsoScore ?? []) {
        const d = other === rule ? decision : other.decide(ruleRound);
        others[other.name] = { aggregated: [...d.aggregated], shares: shares(d.payouts, d.withheld) };
      }
      const shapley = options.shapley ? this.shapley(model, modelKey, updates) : undefined;
      const ev = this.evaluate([next]);
      const norms = updates.map((_, k) => Math.sqrt(stats.gram[k]?.[k] as number));
      rounds.push({
        round: r,
        aggregated: [...decision.aggregated],
        shares: shares(decision.payouts, decision.withheld),
        accuracy: ev.accuracy[0] as number,
        loss: ev.loss[0] as number,
        ...(shapley === undefined ? {} : { shapley }),
        ...(options.alsoScore === undefined ? {} : { others }),
        cosineWithLastDelta: updates.map((u, k) => {
          const last = stats.last;
          const gkk = stats.gram[k]?.[k] as number;
          return u === null || last === null || last.norm2 === 0 || gkk === 0
            ? null
            : (last.dot[k] as number) / Math.sqrt(gkk * last.norm2);
        }),
        norms,
        ...(options.keepStats === true ? { stats } : {}),
      });
      lastGlobalDelta = next.map((x, i) => x - (model[i] as number));
      model = next;
    }
    const last = rounds.at(-1) as RoundRecord;
    return {
      scenario: scenario.name,
      rule: rule.name,
      rounds,
      finalAccuracy: last.accuracy,
      finalLoss: last.loss,
      wallSeconds: (performance.now() - started) / 1000,
    };
  }

  /**
   * Recomputes a round of the proven rule with @fedmarket/core's `simulateRound` (updates sealed for
   * the run's aggregator key and really decrypted, Poseidon commitments, the chunk witnesses with the
   * owner's reference when the rule judges by it, the decision input) and throws unless the counted
   * slots, the scores and the new model equal the fast path's.
   */
  #verifyProven(
    round: RuleRound,
    submissions: readonly SlotSubmission[],
    decision: RuleDecision,
    next: Int32Array,
    r: number,
    withReference: boolean,
  ): void {
    const exact = round.exact();
    const { config, prevModel, updates } = exact;
    const aggregator = benchAggregatorKey(this.#o.seed);
    const real = submissions.map((s, k) =>
      updates[k] == null ? null : sealedSlot(config, updates[k] as bigint[], aggregator.sealKey, s.ephemeralSecret),
    );
    const slots: RoundSlot[] = submissions.map((s, k) => {
      const opened = real[k];
      if (s.empty === true || opened == null) return { commitment: 0n };
      // Replays are the rule's to leave out (core isReplay, on the step committed with prevModel).
      return opened;
    });
    // The reference as the owner commits it (any salt: it changes the commitment, not the decision).
    const reference = withReference ? { reference: { values: referenceValues(exact), salt: BigInt(this.#o.seed) } } : {};
    // The last global delta is the step the previous round committed with `prevModel` (none in round 0).
    const prevStep = exact.lastGlobalDelta ?? undefined;
    const result = simulateRound({
      config,
      prevModel,
      ...(prevStep === undefined ? {} : { prevStep }),
      slots,
      f: round.f,
      keccak: BigInt(this.#o.seed),
      secret: aggregator.secret,
      ...reference,
    });
    if (result.rule.byReference !== withReference) throw new Error("internal: simulateRound judged by the wrong mode");
    const same =
      result.rule.counted.every((x, k) => x === decision.aggregated[k]) &&
      result.rule.scores.every((s, k) => Number(s) === decision.payouts[k]) &&
      result.newModel.every((x, i) => Number(x) === next[i]);
    if (!same) throw new Error(`round ${r}: the fast path of "${PROVEN_RULE}" disagrees with simulateRound`);
    this.counters.verified++;
  }
}

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/** Payout shares: `p_k / (sum p + withheld)` (all zero when nobody is paid). */
export function shares(payouts: readonly number[], withheld = 0): number[] {
  const total = payouts.reduce((a, b) => a + b, 0) + withheld;
  return payouts.map((p) => (total > 0 ? p / total : 0));
}

/**
 * `prevModel + aggregate`: the rule's own new model, or the proven floor-mean of a mask, or
 * `floor(sum_p w_p s_p mean_p / sum_p w_p)` over groups; throws if a value leaves `modelBits`
 * signed bits. Group means of integers are exact in float64 and, with unit weights and scales,
 * the quotient floors exactly as `floorDiv` (so such a rule reproduces the proven floor-mean and
 * shares its trajectory, and training cache, with it).
 */
export function newModel(prev: Int32Array, updates: readonly (Int32Array | null)[], decision: RuleDecision, modelBits: number): Int32Array {
  if (decision.newModel !== undefined) return Int32Array.from(decision.newModel, Number);
  const agg = decision.aggregation;
  const groups = agg.kind === "mean" ? agg.mask.flatMap((m, k) => (m ? [{ members: [k], weight: 1, scale: 1 }] : [])) : agg.groups;
  const live = groups.filter((g) => g.weight > 0 && g.members.every((k) => updates[k] != null));
  if (live.length !== groups.filter((g) => g.weight > 0).length) throw new RangeError("an aggregated slot has no update");
  const total = live.reduce((a, g) => a + g.weight, 0);
  const unit = live.every((g) => g.weight === 1 && g.scale === 1);
  const out = new Int32Array(prev.length);
  const bound = 2 ** (modelBits - 1);
  for (let x = 0; x < prev.length; x++) {
    let s = 0;
    for (const g of live) {
      let m = 0;
      for (const k of g.members) m += (updates[k] as Int32Array)[x] as number;
      m /= g.members.length;
      s += unit ? m : g.weight * g.scale * m;
    }
    const v = (prev[x] as number) + (total === 0 ? 0 : Math.floor(s / total));
    if (v < -bound || v >= bound) throw new RangeError(`new model value ${x} = ${v} leaves ${modelBits} signed bits`);
    out[x] = v;
  }
  return out;
}

/**
 * Stand-ins for the commitments (equal exactly when the real Poseidon commitments of the sealed
 * updates are): a hash of the update and the ephemeral secret; 0 for an empty slot.
 */
function commitmentIds(submissions: readonly SlotSubmission[]): bigint[] {
  return submissions.map((s) => {
    if (s.update === null || s.empty === true) return 0n;
    const secretWords = Int32Array.from({ length: 8 }, (_, i) => Number(BigInt.asIntN(32, s.ephemeralSecret >> BigInt(32 * i))));
    return BigInt(`0x${hashInts(s.update, secretWords)}`) | 1n;
  });
}

/** Hex SHA-256 of integer vectors (cache keys). */
export function hashInts(...arrays: Int32Array[]): string {
  const h = sha256.create();
  for (const a of arrays) {
    h.update(Uint8Array.of(a.length & 0xff, (a.length >> 8) & 0xff, (a.length >> 16) & 0xff));
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return Array.from(h.digest(), (b) => b.toString(16).padStart(2, "0")).join("");
}
