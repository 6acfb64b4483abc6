/**
 * What running a spec's model needs besides its trainable weights, shared by training
 * (local-training.ts) and the owner's reference direction (reference-direction.ts) so both see the
 * same backbone and the same targets. Internal: not re-exported from the package entry.
 */
import type { Tensor, Rank } from "@tensorflow/tfjs";
import type { TF } from "./backend.ts";
import { describeLayers, frozenLayerIndices, validateModelSpec, type ModelSpec, type ModelSummary } from "@fedmarket/protocol";

/** Labels as the model's target tensor: one-hot, or a `[n, 1]` column for a sigmoid output. */
export function targets(tf: TF, labels: Int32Array, summary: ModelSummary, numClasses: number): Tensor<Rank> {
  return tf.tidy(() => {
    const l = tf.tensor1d(labels, "int32");
    return summary.loss === "binaryCrossentropy" ? l.cast("float32").reshape([-1, 1]) : tf.oneHot(l, numClasses).cast("float32");
  });
}

/**
 * A spec with frozen layers is only meaningful with their weights: without them the backbone
 * would be random and the update (or accuracy) silently wrong, so refuse up front.
 */
export function requireFrozenWeights(rawSpec: ModelSpec | unknown, frozenWeights: Float32Array | undefined): void {
  if (frozenWeights !== undefined) return;
  const { spec, summary } = validateModelSpec(rawSpec);
  if (summary.frozenParameters === 0) return;
  throw new Error(
    `the spec freezes ${describeLayers(frozenLayerIndices(summary))}: pass their weights (spec.frozenWeights ${spec.frozenWeights}, ` +
      `${summary.frozenParameters} values, e.g. from loadFrozenWeights) as frozenWeights`,
  );
}
