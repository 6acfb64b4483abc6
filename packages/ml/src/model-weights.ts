/**
 * A TensorFlow.js model's weights as one flat vector, in the order fixed by the protocol's
 * weights format (@fedmarket/protocol `weights-format.ts`): `model.weights` order (layers as in
 * the spec; kernel then bias), each tensor row-major.
 */
import type { LayersModel } from "@tensorflow/tfjs";
import type { TF } from "./backend.ts";

/** One weight tensor's place in the flat vector. */
export interface WeightSlot {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
}

/** The flat layout of a model's weights (in `model.weights` order). */
export function weightLayout(model: LayersModel): WeightSlot[] {
  let offset = 0;
  return model.weights.map((w) => {
    const size = w.shape.reduce((a: number, b) => a * (b as number), 1);
    const slot = { name: w.originalName, shape: w.shape.map((s) => s as number), offset, size };
    offset += size;
    return slot;
  });
}

/** Concatenates the model's current weights into one Float32Array. */
export function flattenWeights(model: LayersModel): Float32Array {
  const layout = weightLayout(model);
  const total = layout.reduce((a, s) => a + s.size, 0);
  const out = new Float32Array(total);
  model.weights.forEach((w, i) => {
    const values = w.read().dataSync();
    out.set(values as Float32Array, (layout[i] as WeightSlot).offset);
  });
  return out;
}

/** Overwrites the model's weights from a flat vector produced by `flattenWeights`. */
export function setFlatWeights(tf: TF, model: LayersModel, flat: Float32Array): void {
  const layout = weightLayout(model);
  const total = layout.reduce((a, s) => a + s.size, 0);
  if (flat.length !== total) {
    throw new RangeError(`weight vector has ${flat.length} values but the model has ${total} parameters`);
  }
  const tensors = layout.map((s) => tf.tensor(flat.subarray(s.offset, s.offset + s.size), [...s.shape], "float32"));
  try {
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}
