/**
 * Per-round local hyper-parameters (`IFedMarket.HyperParams`): learning rate, local epochs and
 * batch size that every trainer uses in a round.
 *
 * The model spec's `training` values are round 0's; its optional `training.bounds` become the
 * project's on-chain bounds (a missing range fixes the value). After each finalized round the
 * aggregator publishes the next round's values (e.g. a learning-rate decay) with the round
 * record; the contract rejects anything outside the bounds. They are not part of the proven
 * statement: they change neither the recorded model nor the payments.
 *
 * On chain the learning rate is an integer number of millionths (`uint32`), epochs and batch size
 * are `uint16`.
 */
import type { HyperParams } from "./chain/fedmarket.ts";
import type { ModelSpec, Range, TrainingSpec } from "./model-spec.ts";

export type { HyperParams };

/** On-chain learning-rate unit: `learningRateMicros = round(learningRate * 1e6)`. */
export const LEARNING_RATE_MICROS = 1_000_000;
const UINT32_MAX = 2 ** 32 - 1;
const UINT16_MAX = 2 ** 16 - 1;

/** The three `HyperParams` of `createProject`'s configuration. */
export interface ChainHyperParams {
  readonly initialHyperParams: HyperParams;
  readonly minHyperParams: HyperParams;
  readonly maxHyperParams: HyperParams;
}

/** Learning rate -> on-chain millionths; throws unless it is representable (1e-6 .. ~4294). */
export function learningRateToMicros(learningRate: number, what = "learning rate"): number {
  const micros = Math.round(learningRate * LEARNING_RATE_MICROS);
  if (!Number.isFinite(learningRate) || micros < 1 || micros > UINT32_MAX) {
    throw new RangeError(`${what} ${learningRate} cannot go on chain: it must be between 1e-6 and ${UINT32_MAX / LEARNING_RATE_MICROS}`);
  }
  return micros;
}

export function learningRateFromMicros(micros: number): number {
  return micros / LEARNING_RATE_MICROS;
}

function uint16(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1 || value > UINT16_MAX) {
    throw new RangeError(`${what} ${value} cannot go on chain: it must be an integer from 1 to ${UINT16_MAX}`);
  }
  return value;
}

/** The on-chain initial values and bounds a project created for this spec must carry. */
export function chainHyperParams(spec: Pick<ModelSpec, "training">): ChainHyperParams {
  const t = spec.training;
  const lr: Range = t.bounds?.learningRate ?? [t.learningRate, t.learningRate];
  const epochs: Range = t.bounds?.epochs ?? [t.epochs, t.epochs];
  const batch: Range = t.bounds?.batchSize ?? [t.batchSize, t.batchSize];
  const at = (i: 0 | 1, name: string): HyperParams => ({
    learningRateMicros: learningRateToMicros(lr[i], `training.bounds.learningRate ${name}`),
    localEpochs: uint16(epochs[i], `training.bounds.epochs ${name}`),
    batchSize: uint16(batch[i], `training.bounds.batchSize ${name}`),
  });
  return {
    initialHyperParams: {
      learningRateMicros: learningRateToMicros(t.learningRate, "training.learningRate"),
      localEpochs: uint16(t.epochs, "training.epochs"),
      batchSize: uint16(t.batchSize, "training.batchSize"),
    },
    minHyperParams: at(0, "min"),
    maxHyperParams: at(1, "max"),
  };
}

/**
 * The spec's training section with a round's on-chain hyper-parameters in place of its own. The
 * bounds are dropped: the contract enforces them, and the round's values need not lie within
 * the spec's own ranges for the result to validate again as a spec.
 */
export function trainingForRound(training: TrainingSpec, h: HyperParams): TrainingSpec {
  const { bounds: _enforcedOnChain, ...rest } = training;
  return {
    ...rest,
    learningRate: learningRateFromMicros(h.learningRateMicros),
    epochs: h.localEpochs,
    batchSize: h.batchSize,
  };
}

/** The first field of `h` outside `[min, max]` (as the contract names it), or undefined. */
export function hyperParamOutOfBounds(h: HyperParams, min: HyperParams, max: HyperParams): keyof HyperParams | undefined {
  for (const key of ["learningRateMicros", "localEpochs", "batchSize"] as const) {
    if (h[key] < min[key] || h[key] > max[key]) return key;
  }
  return undefined;
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * The next round's hyper-parameters under a learning-rate decay: the learning rate times
 * `factor` (rounded to a millionth), every field clamped to the project's bounds.
 */
export function decayedHyperParams(current: HyperParams, factor: number, min: HyperParams, max: HyperParams): HyperParams {
  if (!Number.isFinite(factor) || factor <= 0) throw new RangeError(`learning-rate decay factor must be a number > 0 (got ${factor})`);
  return {
    learningRateMicros: clamp(Math.round(current.learningRateMicros * factor), min.learningRateMicros, max.learningRateMicros),
    localEpochs: clamp(current.localEpochs, min.localEpochs, max.localEpochs),
    batchSize: clamp(current.batchSize, min.batchSize, max.batchSize),
  };
}

/** `lr 0.01 (10000e-6), 2 epochs, batch 32`, for logs. */
export function formatHyperParams(h: HyperParams): string {
  return `lr ${learningRateFromMicros(h.learningRateMicros)} (${h.learningRateMicros}e-6), ${h.localEpochs} epoch${h.localEpochs === 1 ? "" : "s"}, batch ${h.batchSize}`;
}
