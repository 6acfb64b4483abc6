/**
 * A TensorFlow.js model's weights as flat vectors, in the order fixed by the protocol's weights
 * format (@fedmarket/protocol `weights-format.ts`): layers as in the spec, kernel then bias, each
 * tensor row-major.
 *
 * Two vectors per model: the trainable layers' weights (`flattenWeights`: the global model, local
 * models, deltas; length `D`) and the frozen layers' weights (`flattenFrozenWeights`: the spec's
 * `frozenWeights` file). Both walk `model.layers` in order and read each layer's own weights,
 * never `model.weights`: that lists trainable weights first and non-trainable ones last, so its
 * order changes as soon as a layer is frozen. With no frozen layer, the trainable layout is
 * exactly the former `model.weights` order, so existing weight files stay valid.
 */
import type { LayersModel } from "@tensorflow/tfjs";
import type { TF } from "./backend.ts";
import { validateModelSpec, type ModelSpec } from "@fedmarket/protocol";

/** One weight tensor's place in a flat vector. */
export interface WeightSlot {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
}

type Layer = LayersModel["layers"][number];
type LayerWeight = Layer["weights"][number];

/** The layers of one kind (trainable or frozen) that have weights, in model order. */
function layersOf(model: LayersModel, frozen: boolean): Layer[] {
  return model.layers.filter((layer) => layer.weights.length > 0 && layer.trainable === !frozen);
}

function layoutOf(layers: readonly Layer[]): { slots: WeightSlot[]; weights: LayerWeight[]; total: number } {
  let offset = 0;
  const slots: WeightSlot[] = [];
  const weights: LayerWeight[] = [];
  for (const layer of layers) {
    // A layer's own `weights` keep their creation order (kernel, bias) whether trainable or not.
    for (const w of layer.weights) {
      const size = w.shape.reduce((a: number, b) => a * (b as number), 1);
      slots.push({ name: w.originalName, shape: w.shape.map((s) => s as number), offset, size });
      weights.push(w);
      offset += size;
    }
  }
  return { slots, weights, total: offset };
}

function flatten(layers: readonly Layer[]): Float32Array {
  const { slots, weights, total } = layoutOf(layers);
  const out = new Float32Array(total);
  weights.forEach((w, i) => out.set(w.read().dataSync() as Float32Array, (slots[i] as WeightSlot).offset));
  return out;
}

function assign(tf: TF, layers: readonly Layer[], flat: Float32Array, what: string): void {
  const { slots, total } = layoutOf(layers);
  if (flat.length !== total) {
    throw new RangeError(`${what} vector has ${flat.length} values but the model has ${total} ${what} parameters`);
  }
  let k = 0;
  for (const layer of layers) {
    const own = slots.slice(k, k + layer.weights.length);
    k += own.length;
    const tensors = own.map((s) => tf.tensor(flat.subarray(s.offset, s.offset + s.size), [...s.shape], "float32"));
    try {
      layer.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
  }
}

/** The flat layout of the trainable layers' weights (the update vector, length `D`). */
export function weightLayout(model: LayersModel): WeightSlot[] {
  return layoutOf(layersOf(model, false)).slots;
}

/** The flat layout of the frozen layers' weights (the spec's `frozenWeights` file). */
export function frozenWeightLayout(model: LayersModel): WeightSlot[] {
  return layoutOf(layersOf(model, true)).slots;
}

/** Concatenates the trainable layers' current weights into one Float32Array. */
export function flattenWeights(model: LayersModel): Float32Array {
  return flatten(layersOf(model, false));
}

/** Concatenates the frozen layers' current weights into one Float32Array (empty if none). */
export function flattenFrozenWeights(model: LayersModel): Float32Array {
  return flatten(layersOf(model, true));
}

/** Overwrites the trainable layers' weights from a vector in `flattenWeights` order. */
export function setFlatWeights(tf: TF, model: LayersModel, flat: Float32Array): void {
  // "weight vector has N values but the model has M parameters": existing callers match on it.
  const { total } = layoutOf(layersOf(model, false));
  if (flat.length !== total) {
    throw new RangeError(`weight vector has ${flat.length} values but the model has ${total} parameters`);
  }
  assign(tf, layersOf(model, false), flat, "trainable");
}

/** Overwrites the frozen layers' weights from a vector in `flattenFrozenWeights` order. */
export function setFrozenWeights(tf: TF, model: LayersModel, flat: Float32Array): void {
  assign(tf, layersOf(model, true), flat, "frozen");
}

/**
 * Splits the weights of a network trained with every layer trainable (the owner's pretraining:
 * all layers in order, kernel then bias, i.e. `flattenWeights` of a model built from
 * `withoutFrozen(spec)`) into the head (`trainable`, the round-0 global model, length `D`) and the
 * backbone (`frozen`, the file to pin as `spec.frozenWeights`). Pure arithmetic over the spec's
 * layer sizes: each layer's weights are contiguous in both layouts. `tf` is unused and kept so
 * the signature matches the rest of this package.
 */
export function splitTrainedWeights(
  _tf: TF,
  rawSpec: ModelSpec | unknown,
  full: Float32Array,
): { trainable: Float32Array; frozen: Float32Array } {
  // The owner splits before it pins the frozen part, so the spec need not name its CID yet.
  const { summary } = validateModelSpec(rawSpec, { frozenWeightsPending: true });
  const total = summary.parameters + summary.frozenParameters;
  if (full.length !== total) {
    throw new RangeError(
      `full weight vector has ${full.length} values but the spec's layers have ${total} parameters (trainable and frozen)`,
    );
  }
  const trainable = new Float32Array(summary.parameters);
  const frozen = new Float32Array(summary.frozenParameters);
  let from = 0;
  let t = 0;
  let f = 0;
  for (const layer of summary.layers) {
    const part = full.subarray(from, from + layer.parameters);
    from += layer.parameters;
    if (layer.frozen) {
      frozen.set(part, f);
      f += part.length;
    } else {
      trainable.set(part, t);
      t += part.length;
    }
  }
  return { trainable, frozen };
}

/** The inverse of `splitTrainedWeights`: the full vector of the all-trainable version of `spec`. */
export function joinTrainedWeights(
  _tf: TF,
  rawSpec: ModelSpec | unknown,
  parts: { readonly trainable: Float32Array; readonly frozen: Float32Array },
): Float32Array {
  const { summary } = validateModelSpec(rawSpec, { frozenWeightsPending: true });
  if (parts.trainable.length !== summary.parameters || parts.frozen.length !== summary.frozenParameters) {
    throw new RangeError(
      `got ${parts.trainable.length} trainable and ${parts.frozen.length} frozen values but the spec has ${summary.parameters} and ${summary.frozenParameters}`,
    );
  }
  const full = new Float32Array(summary.parameters + summary.frozenParameters);
  let to = 0;
  let t = 0;
  let f = 0;
  for (const layer of summary.layers) {
    if (layer.frozen) {
      full.set(parts.frozen.subarray(f, f + layer.parameters), to);
      f += layer.parameters;
    } else {
      full.set(parts.trainable.subarray(t, t + layer.parameters), to);
      t += layer.parameters;
    }
    to += layer.parameters;
  }
  return full;
}
