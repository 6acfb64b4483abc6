/**
 * One round of local training: start from the global weights, train on local data with the spec's
 * hyper-parameters, and return the update `delta = local - global` as a Float32Array in the flat
 * weight order (weights-format.ts), clipped coordinate-wise into `[-clipBound, clipBound]` (the
 * same clipping @fedmarket/core's quantizer applies, done here so the trainer can report it).
 *
 * With frozen layers (spec `trainable: false`) the update covers the trainable layers only; the
 * frozen layers get the spec's `frozenWeights` (which the caller fetches, e.g. with protocol's
 * `loadFrozenWeights`) and are checked to be unchanged after training.
 *
 * Refuses to produce an update (throws `NonFiniteUpdateError`) if the global weights, the data,
 * the loss during training, or the resulting weights contain NaN or infinity.
 *
 * Shuffling is seeded (one permutation per epoch), so with a fixed seed and backend the same
 * inputs give the same update.
 */
import type { Tensor, Rank } from "@tensorflow/tfjs";
import type { TF } from "./backend.ts";
import type { Dataset } from "./data/dataset.ts";
import { checkDatasetFits } from "./data/dataset.ts";
import { buildModel, predictLabels } from "./model-builder.ts";
import type { ModelSpec } from "@fedmarket/protocol";
import { requireFrozenWeights, targets } from "./model-inputs.ts";
import { permutation, seededRandom } from "./random.ts";
import { flattenFrozenWeights, flattenWeights, setFlatWeights } from "./model-weights.ts";

export interface TrainingProgress {
  readonly phase: "batch" | "epoch";
  /** 0-based epoch. */
  readonly epoch: number;
  readonly epochs: number;
  /** 0-based batch within the epoch (for `phase: "epoch"`, the number of batches). */
  readonly batch: number;
  readonly batchesPerEpoch: number;
  /** Samples processed so far in this run. */
  readonly samplesSeen: number;
  readonly totalSamples: number;
  /** Loss of the last batch (phase "batch") or the epoch's mean loss (phase "epoch"). */
  readonly loss: number;
  readonly accuracy: number | undefined;
}

export interface LocalTrainingOptions {
  readonly tf: TF;
  /** A spec (validated again here). */
  readonly spec: ModelSpec | unknown;
  /** The round's global model, flat (weights-format.ts order; the trainable layers only). */
  readonly globalWeights: Float32Array;
  /**
   * The frozen layers' weights (`spec.frozenWeights`, decoded); required when the spec freezes a
   * layer, an error otherwise.
   */
  readonly frozenWeights?: Float32Array;
  readonly dataset: Dataset;
  /** Called after every batch and every epoch (e.g. to drive a progress bar). */
  readonly onProgress?: (progress: TrainingProgress) => void;
  /** Seed of the per-epoch shuffles (default 0). */
  readonly seed?: number;
  /**
   * How often TensorFlow.js yields to the event loop during `fit` (default `"auto"`); `"never"`
   * is slightly faster but blocks timers (progress bar redraws) until the epoch ends.
   */
  readonly yieldEvery?: "auto" | "batch" | "epoch" | "never";
}

export interface LocalTrainingResult {
  /** `clip(local - global, clipBound)`, length `D`. */
  readonly delta: Float32Array;
  readonly parameters: number;
  /** Coordinates whose raw delta exceeded the clip bound. */
  readonly clippedCount: number;
  /** Largest `|local - global|` before clipping. */
  readonly maxAbsDelta: number;
  /** L2 norm of the returned (clipped) delta. */
  readonly deltaNorm: number;
  readonly samples: number;
  readonly epochs: number;
  /** Mean loss of each epoch. */
  readonly epochLosses: readonly number[];
  readonly durationMs: number;
  /** Training samples processed per second (samples * epochs / duration). */
  readonly samplesPerSecond: number;
  readonly backend: string;
}

/** The trainer refuses to publish an update because something is NaN or infinite. */
export class NonFiniteUpdateError extends Error {
  constructor(message: string) {
    super(`refusing to produce an update: ${message}`);
    this.name = "NonFiniteUpdateError";
  }
}

function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i] as number)) return i;
  return -1;
}

export async function trainLocally(options: LocalTrainingOptions): Promise<LocalTrainingResult> {
  const { tf, dataset, globalWeights, frozenWeights } = options;
  requireFrozenWeights(options.spec, frozenWeights);
  if (frozenWeights !== undefined) {
    const bad = firstNonFinite(frozenWeights);
    if (bad >= 0) throw new NonFiniteUpdateError(`frozen weight ${bad} is ${frozenWeights[bad]}`);
  }
  const { model, spec, summary } = buildModel(tf, options.spec, frozenWeights === undefined ? {} : { frozenWeights });
  const tensors: Tensor<Rank>[] = [];
  try {
    if (globalWeights.length !== summary.parameters) {
      throw new RangeError(`global weights have ${globalWeights.length} values but the model has ${summary.parameters} parameters`);
    }
    const badGlobal = firstNonFinite(globalWeights);
    if (badGlobal >= 0) throw new NonFiniteUpdateError(`global weight ${badGlobal} is ${globalWeights[badGlobal]}`);
    checkDatasetFits(dataset, spec.inputShape, spec.labels.length);
    const badFeature = firstNonFinite(dataset.features);
    if (badFeature >= 0) {
      const size = dataset.features.length / dataset.count;
      throw new NonFiniteUpdateError(`${dataset.source}: sample ${Math.floor(badFeature / size) + 1} has a non-finite feature`);
    }
    setFlatWeights(tf, model, globalWeights);

    const { epochs, batchSize } = spec.training;
    const n = dataset.count;
    const batchesPerEpoch = Math.ceil(n / batchSize);
    const xsAll = tf.tensor(dataset.features, [n, ...spec.inputShape], "float32");
    const ysAll = targets(tf, dataset.labels, summary, spec.labels.length);
    tensors.push(xsAll, ysAll);
    const rng = seededRandom(options.seed ?? 0);
    const epochLosses: number[] = [];
    let samplesSeen = 0;
    let diverged: string | undefined;
    const started = performance.now();

    for (let epoch = 0; epoch < epochs && diverged === undefined; epoch++) {
      const perm = tf.tensor1d(permutation(n, rng), "int32");
      const xs = tf.gather(xsAll, perm);
      const ys = tf.gather(ysAll, perm);
      perm.dispose();
      let lossSum = 0;
      let accuracy: number | undefined;
      try {
        await model.fit(xs, ys, {
          epochs: 1,
          batchSize,
          shuffle: false,
          verbose: 0,
          yieldEvery: options.yieldEvery ?? "auto",
          callbacks: {
            onBatchEnd: async (batch: number, logs?: Record<string, unknown>) => {
              const loss = Number(logs?.loss);
              const acc = logs?.acc ?? logs?.accuracy;
              const size = Math.min(batchSize, n - batch * batchSize);
              samplesSeen += size;
              lossSum += loss * size;
              accuracy = typeof acc === "number" ? acc : undefined;
              if (!Number.isFinite(loss)) {
                diverged = `loss became ${loss} at epoch ${epoch + 1}, batch ${batch + 1}`;
                model.stopTraining = true;
                return;
              }
              options.onProgress?.({
                phase: "batch",
                epoch,
                epochs,
                batch,
                batchesPerEpoch,
                samplesSeen,
                totalSamples: n * epochs,
                loss,
                accuracy,
              });
            },
          },
        });
      } finally {
        tf.dispose([xs, ys]);
      }
      const meanLoss = lossSum / n;
      epochLosses.push(meanLoss);
      if (diverged === undefined) {
        options.onProgress?.({
          phase: "epoch",
          epoch,
          epochs,
          batch: batchesPerEpoch,
          batchesPerEpoch,
          samplesSeen,
          totalSamples: n * epochs,
          loss: meanLoss,
          accuracy,
        });
      }
    }
    if (diverged !== undefined) throw new NonFiniteUpdateError(diverged);
    if (frozenWeights !== undefined) {
      // TF.js leaves non-trainable layers out of the optimizer; guard against that ever changing,
      // since the update would then silently ignore a moved backbone.
      const after = flattenFrozenWeights(model);
      const moved = after.findIndex((v, i) => v !== frozenWeights[i]);
      if (moved >= 0)
        throw new Error(`internal: frozen weight ${moved} changed during training (${frozenWeights[moved]} -> ${after[moved]})`);
    }
    const local = flattenWeights(model);
    const durationMs = performance.now() - started;

    const { clipBound } = spec.quantization;
    const delta = new Float32Array(local.length);
    let clippedCount = 0;
    let maxAbsDelta = 0;
    let sq = 0;
    for (let i = 0; i < local.length; i++) {
      const d = (local[i] as number) - (globalWeights[i] as number);
      if (!Number.isFinite(d)) throw new NonFiniteUpdateError(`parameter ${i} became ${local[i]} after training`);
      const a = Math.abs(d);
      if (a > maxAbsDelta) maxAbsDelta = a;
      let c = d;
      if (a > clipBound) {
        clippedCount++;
        c = Math.sign(d) * clipBound;
      }
      delta[i] = c;
      sq += (delta[i] as number) ** 2;
    }
    return {
      delta,
      parameters: local.length,
      clippedCount,
      maxAbsDelta,
      deltaNorm: Math.sqrt(sq),
      samples: n,
      epochs,
      epochLosses,
      durationMs,
      samplesPerSecond: (n * epochs) / (durationMs / 1000),
      backend: tf.getBackend(),
    };
  } finally {
    tf.dispose(tensors);
    // The model does not own an optimizer passed to compile(), so free its state here.
    (model.optimizer as { dispose?: () => void } | undefined)?.dispose?.();
    model.dispose();
  }
}

export interface EvaluateOptions {
  /** Samples per forward pass (default 512). */
  readonly batchSize?: number;
  /** The frozen layers' weights; required when the spec freezes a layer. */
  readonly frozenWeights?: Float32Array;
}

/**
 * Accuracy of `weights` (the trainable layers, e.g. a global model) together with the frozen
 * layers' weights on a dataset (fraction of correctly predicted labels).
 */
export function evaluateAccuracy(
  tf: TF,
  rawSpec: ModelSpec | unknown,
  weights: Float32Array,
  dataset: Dataset,
  options: EvaluateOptions = {},
): number {
  const { batchSize = 512, frozenWeights } = options;
  requireFrozenWeights(rawSpec, frozenWeights);
  const { model, spec } = buildModel(tf, rawSpec, { compile: false, ...(frozenWeights === undefined ? {} : { frozenWeights }) });
  try {
    setFlatWeights(tf, model, weights);
    let correct = 0;
    const size = dataset.features.length / dataset.count;
    for (let start = 0; start < dataset.count; start += batchSize) {
      const end = Math.min(dataset.count, start + batchSize);
      const xs = tf.tensor(dataset.features.subarray(start * size, end * size), [end - start, ...spec.inputShape], "float32");
      const predicted = predictLabels(tf, model, xs);
      xs.dispose();
      for (let i = 0; i < predicted.length; i++) if (predicted[i] === dataset.labels[start + i]) correct++;
    }
    return correct / dataset.count;
  } finally {
    model.dispose();
  }
}

/**
 * The initial global weights of a spec (seeded when the spec or `seed` says so): the trainable
 * layers only, so no frozen weights are needed.
 */
export function initialWeights(tf: TF, rawSpec: ModelSpec | unknown, seed?: number): Float32Array {
  const { model } = buildModel(tf, rawSpec, { compile: false, ...(seed === undefined ? {} : { seed }) });
  try {
    return flattenWeights(model);
  } finally {
    model.dispose();
  }
}
