/**
 * The fairness benchmark's data: the robustness benchmark's split (the `mnist` package's 10,000
 * real digits, a stratified hold-out, Dirichlet(alpha) non-IID partitions of the rest, drawn with
 * the same rng calls in the same order), except that the hold-out is larger and split in two:
 *
 * - `validation` (default 500 digits, stratified): the project owner's own data, the only data a
 *   candidate rule may use (its reference direction `v` and curvature `c`);
 * - `evaluation` (the rest of the hold-out, >= 1,000 digits): used only to measure, i.e. the
 *   utilities of exact Shapley and the reported accuracies.
 *
 * Both are disjoint from each other and from every trainer's partition.
 */
import { dirichletPartition, stratifiedHoldout } from "../../data/mnist-partitions.ts";
import {
  labelHistogram,
  loadMnistPackageDigits,
  MNIST_CLASSES,
  MNIST_PIXELS,
  seededRandom,
  type Dataset,
  type Digits,
} from "@fedmarket/ml";

export interface FairnessDataOptions {
  readonly seed: number;
  readonly trainers: number;
  readonly alpha: number;
  /** Fraction of every class held out (validation + evaluation); default 0.15 (1,500 digits). */
  readonly holdoutFraction?: number;
  /** Digits of the owner's validation split, taken stratified from the hold-out; default 500. */
  readonly validationDigits?: number;
  /**
   * Digits of the evaluation split, when it is fixed first (stratified) and the validation split is
   * then drawn from the rest: the validation splits of different sizes are then nested (the same
   * per-class shuffle, a longer prefix) and every size sees the same trainers and evaluation digits.
   * Default: unset, the evaluation split is the rest of the hold-out after the validation split.
   */
  readonly evaluationDigits?: number;
}

export interface FairnessData {
  readonly trainSets: Dataset[];
  readonly validation: Dataset;
  readonly evaluation: Dataset;
}

/** Digits `indices` as a dataset with pixels scaled to `[0, 1]` (as the robustness benchmark). */
export function digitSubset(digits: Digits, indices: readonly number[], name: string): Dataset {
  const features = new Float32Array(indices.length * MNIST_PIXELS);
  const labels = new Int32Array(indices.length);
  indices.forEach((i, k) => {
    for (let p = 0; p < MNIST_PIXELS; p++) features[k * MNIST_PIXELS + p] = (digits.images[i * MNIST_PIXELS + p] as number) / 255;
    labels[k] = digits.labels[i] as number;
  });
  return { features, labels, count: indices.length, sampleShape: [MNIST_PIXELS], source: name };
}

export function fairnessData(options: FairnessDataOptions): FairnessData {
  const holdout = options.holdoutFraction ?? 0.15;
  const validationDigits = options.validationDigits ?? 500;
  const digits = loadMnistPackageDigits();
  const rng = seededRandom(options.seed);
  const { kept, heldOut } = stratifiedHoldout(digits.labels, MNIST_CLASSES, holdout, rng);
  const keptLabels = kept.map((i) => digits.labels[i] as number);
  const parts = dirichletPartition(
    keptLabels,
    MNIST_CLASSES,
    { trainers: options.trainers, alpha: options.alpha, seed: options.seed, minSamples: 1 },
    rng,
  ).map((p) => p.map((k) => kept[k] as number));
  const trainSets = parts.map((p, t) => digitSubset(digits, p, `trainer-${t}`));
  const labelsOf = (indices: readonly number[]): number[] => indices.map((i) => digits.labels[i] as number);
  const pick = (from: readonly number[], at: readonly number[]): number[] => at.map((k) => from[k] as number);
  if (options.evaluationDigits !== undefined) {
    const evaluationDigits = options.evaluationDigits;
    if (evaluationDigits + validationDigits >= heldOut.length)
      throw new RangeError(
        `evaluation (${evaluationDigits}) + validation (${validationDigits}) must be smaller than the hold-out (${heldOut.length}): raise --holdout`,
      );
    const first = stratifiedHoldout(labelsOf(heldOut), MNIST_CLASSES, evaluationDigits / heldOut.length, rng);
    const rest = pick(heldOut, first.kept);
    // The rest is shuffled per class whatever the size, so a larger validation split extends a smaller one.
    const second = stratifiedHoldout(labelsOf(rest), MNIST_CLASSES, validationDigits / rest.length, rng);
    return {
      trainSets,
      validation: digitSubset(digits, pick(rest, second.heldOut), "validation"),
      evaluation: digitSubset(digits, pick(heldOut, first.heldOut), "evaluation"),
    };
  }
  if (validationDigits >= heldOut.length)
    throw new RangeError(`validation (${validationDigits}) must be smaller than the hold-out (${heldOut.length})`);
  const split = stratifiedHoldout(labelsOf(heldOut), MNIST_CLASSES, validationDigits / heldOut.length, rng);
  return {
    trainSets,
    validation: digitSubset(digits, pick(heldOut, split.heldOut), "validation"),
    evaluation: digitSubset(digits, pick(heldOut, split.kept), "evaluation"),
  };
}

/** Per-class counts, for the JSON config. */
export function histogram(ds: Dataset): number[] {
  return labelHistogram(ds, MNIST_CLASSES);
}
