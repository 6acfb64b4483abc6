/**
 * The project owner's reference direction `v` (@fedmarket/core `reference.ts`, docs/SCORING.md):
 * minus the gradient of the mean validation loss at the round's global model, over the trainable
 * parameters in `flattenWeights` order, i.e. the direction in which a small step of the model
 * lowers the owner's validation loss fastest. Updates are judged by how well they agree with it
 * (`cos(u_k, v)`, `<u_k, v>`), so it has to live in exactly the updates' coordinates: the frozen
 * backbone takes part in the forward pass but has no coordinate in `v`.
 *
 * The loss is the one training minimises (the spec's `summary.loss`, the same targets as
 * `trainLocally`), so `v` points where an honest local step on data like the owner's would go.
 */
import type { Scalar, Tensor, Variable } from "@tensorflow/tfjs";
import type { LayersModel } from "@tensorflow/tfjs";
import type { TF } from "./backend.ts";
import type { Dataset } from "./data/dataset.ts";
import { checkDatasetFits, sampleSize } from "./data/dataset.ts";
import { buildModel } from "./model-builder.ts";
import { requireFrozenWeights, targets } from "./model-inputs.ts";
import { setFlatWeights, weightLayout, type WeightSlot } from "./model-weights.ts";
import type { ModelSpec } from "@fedmarket/protocol";

export interface ReferenceDirectionOptions {
  /** Samples per forward and backward pass (default 512); the result does not depend on it. */
  readonly batchSize?: number;
  /** The frozen layers' weights; required when the spec freezes a layer. */
  readonly frozenWeights?: Float32Array;
}

export interface ReferenceDirection {
  /** `-grad` of the mean validation loss, length `D` (the trainable parameters), `flattenWeights` order. */
  readonly direction: Float32Array;
  /** The mean validation loss at the given weights (the spec's training loss). */
  readonly loss: number;
  /** Validation samples the mean is over. */
  readonly samples: number;
}

/**
 * The trainable layers' variables in `flattenWeights` order. Gradients must come back in the
 * layout of the update vectors, so the order is checked against `weightLayout` rather than trusted.
 */
function trainableVariables(tf: TF, model: LayersModel): { variables: Variable[]; slots: WeightSlot[] } {
  const slots = weightLayout(model);
  const weights = model.layers.filter((layer) => layer.trainable && layer.weights.length > 0).flatMap((layer) => layer.weights);
  if (weights.length !== slots.length || weights.some((w, i) => w.originalName !== slots[i]?.name)) {
    throw new Error("internal: the trainable variables do not match the flat weight layout");
  }
  const variables = weights.map((w) => {
    // read() is typed as a Tensor snapshot but returns the layer's own Variable, which is what
    // variableGrads differentiates with respect to.
    const v = w.read();
    if (!(v instanceof tf.Variable)) throw new Error(`internal: weight ${w.originalName} is not backed by a tf.Variable`);
    return v;
  });
  return { variables, slots };
}

/** `v = -grad` of the mean validation loss at `weights` (trainable layers, `flattenWeights` order). */
export function referenceDirection(
  tf: TF,
  rawSpec: ModelSpec | unknown,
  weights: Float32Array,
  validation: Dataset,
  options: ReferenceDirectionOptions = {},
): ReferenceDirection {
  const { batchSize = 512, frozenWeights } = options;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer (got ${batchSize})`);
  requireFrozenWeights(rawSpec, frozenWeights);
  if (validation.count === 0) {
    throw new RangeError(
      `${validation.source}: the validation set is empty; the reference direction is a mean over validation samples, so pass at least one`,
    );
  }
  const { model, spec, summary } = buildModel(tf, rawSpec, { compile: false, ...(frozenWeights === undefined ? {} : { frozenWeights }) });
  try {
    setFlatWeights(tf, model, weights);
    checkDatasetFits(validation, spec.inputShape, spec.labels.length);
    const { variables, slots } = trainableVariables(tf, model);
    // tf.metrics.<name> is the very function model.compile({ loss: name }) resolves for these two
    // names; compiling just to read it back would create an optimizer for nothing.
    const lossFn = tf.metrics[summary.loss];
    const n = validation.count;
    const size = sampleSize(spec.inputShape);
    // Each batch gives its mean; weighting by batch length and dividing by n once makes the result
    // the mean over all samples whatever the batch size. Float64 keeps the sum from drifting with
    // the number of batches.
    const gradSum = new Float64Array(summary.parameters);
    let lossSum = 0;
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      const count = end - start;
      tf.tidy(() => {
        const xs = tf.tensor(validation.features.subarray(start * size, end * size), [count, ...spec.inputShape], "float32");
        const ys = targets(tf, validation.labels.subarray(start, end), summary, spec.labels.length);
        const { value, grads } = tf.variableGrads(() => tf.mean(lossFn(ys, model.apply(xs) as Tensor)) as Scalar, variables);
        lossSum += (value.dataSync()[0] as number) * count;
        variables.forEach((v, i) => {
          const grad = grads[v.name];
          // variableGrads leaves out a variable the loss does not reach; every trainable weight
          // feeds the output in these specs, so a gap means the layout went wrong.
          if (grad === undefined || grad === null) throw new Error(`internal: no gradient for ${v.name}`);
          const g = grad.dataSync();
          const { offset } = slots[i] as WeightSlot;
          for (let k = 0; k < g.length; k++) gradSum[offset + k] = (gradSum[offset + k] as number) + (g[k] as number) * count;
        });
      });
    }
    const loss = lossSum / n;
    const direction = new Float32Array(summary.parameters);
    for (let i = 0; i < direction.length; i++) direction[i] = -(gradSum[i] as number) / n;
    const bad = direction.findIndex((d) => !Number.isFinite(d));
    if (bad >= 0 || !Number.isFinite(loss)) {
      const where = bad >= 0 ? `gradient value ${bad} is ${direction[bad]}` : `loss is ${loss}`;
      throw new RangeError(
        `the reference direction is not finite (${where}): check the weights (a diverged global model?) and ${validation.source}'s features for NaN or infinity`,
      );
    }
    return { direction, loss, samples: n };
  } finally {
    model.dispose();
  }
}
