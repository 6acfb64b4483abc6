/**
 * Builds a TensorFlow.js LayersModel from a validated model spec.
 *
 * The layer order of the spec is the layer order of the model, which fixes the order of the
 * flattened weight vectors (see model-weights.ts): layer by layer, kernel before bias. Layers the
 * spec declares `trainable: false` are built frozen (TF.js `trainable: false`), so `fit` leaves
 * them alone; their weights come from `BuildModelOptions.frozenWeights`.
 */
import type { LayersModel, Tensor, Rank } from "@tensorflow/tfjs";
import type { TF } from "./backend.ts";
import type { LayerSpec, ModelSpec, ModelSummary, OptimizerName, TrainingSpec } from "@fedmarket/protocol";
import { validateModelSpec } from "@fedmarket/protocol";
import { setFrozenWeights } from "./model-weights.ts";

export interface BuildModelOptions {
  /**
   * Seed for the initial weights (default: `spec.seed`; random if neither is set). Trainers
   * overwrite the initial weights with the round's global model anyway.
   */
  readonly seed?: number;
  /** Compile the model with the spec's optimizer and loss (default true). */
  readonly compile?: boolean;
  /**
   * The frozen layers' weights (the spec's `frozenWeights` file, `summary.frozenParameters`
   * values). Without it the frozen layers keep their initial weights, which is fine for
   * `initialWeights` but not for training or evaluation.
   */
  readonly frozenWeights?: Float32Array;
}

type SymbolicTensor = ReturnType<TF["input"]>;

function kernelInitializer(tf: TF, seed: number | undefined, index: number) {
  return seed === undefined ? undefined : tf.initializers.glorotUniform({ seed: seed + index });
}

function asPair(v: number | readonly [number, number]): number | [number, number] {
  return typeof v === "number" ? v : [v[0], v[1]];
}

function applyLayer(tf: TF, layer: LayerSpec, x: SymbolicTensor, index: number, seed: number | undefined): SymbolicTensor {
  const name = `l${index}_${layer.type}`;
  let out: ReturnType<ReturnType<TF["layers"]["dense"]>["apply"]>;
  switch (layer.type) {
    case "dense":
      out = tf.layers
        .dense({
          name,
          units: layer.units,
          activation: layer.activation ?? "linear",
          useBias: layer.useBias ?? true,
          kernelInitializer: kernelInitializer(tf, seed, index),
          trainable: layer.trainable ?? true,
        })
        .apply(x);
      break;
    case "conv2d":
      out = tf.layers
        .conv2d({
          name,
          filters: layer.filters,
          kernelSize: asPair(layer.kernelSize),
          strides: layer.strides === undefined ? 1 : asPair(layer.strides),
          padding: layer.padding ?? "valid",
          activation: layer.activation ?? "linear",
          useBias: layer.useBias ?? true,
          kernelInitializer: kernelInitializer(tf, seed, index),
          trainable: layer.trainable ?? true,
        })
        .apply(x);
      break;
    case "maxPooling2d": {
      const pool = layer.poolSize === undefined ? 2 : asPair(layer.poolSize);
      out = tf.layers
        .maxPooling2d({
          name,
          poolSize: pool,
          strides: layer.strides === undefined ? pool : asPair(layer.strides),
          padding: layer.padding ?? "valid",
        })
        .apply(x);
      break;
    }
    case "flatten":
      out = tf.layers.flatten({ name }).apply(x);
      break;
    case "reshape":
      out = tf.layers.reshape({ name, targetShape: [...layer.targetShape] }).apply(x);
      break;
  }
  if (Array.isArray(out) || !("sourceLayer" in out)) throw new Error(`layer ${index} did not produce one symbolic tensor`);
  return out as SymbolicTensor;
}

/** A fresh optimizer for the spec's training settings (one per local training run). */
export function createOptimizer(tf: TF, training: TrainingSpec) {
  const lr = training.learningRate;
  const name: OptimizerName = training.optimizer;
  switch (name) {
    case "sgd":
      return tf.train.sgd(lr);
    case "momentum":
      return tf.train.momentum(lr, training.momentum ?? 0.9);
    case "adam":
      return tf.train.adam(lr);
    case "rmsprop":
      return tf.train.rmsprop(lr, 0.9, training.momentum ?? 0);
  }
}

/**
 * Builds (and by default compiles) the model described by `spec`. Accepts an unvalidated spec
 * object too: it is validated first. Returns the model and the spec's summary.
 */
export function buildModel(
  tf: TF,
  rawSpec: ModelSpec | unknown,
  options: BuildModelOptions = {},
): { model: LayersModel; spec: ModelSpec; summary: ModelSummary } {
  const { spec, summary } = validateModelSpec(rawSpec);
  const seed = options.seed ?? spec.seed;
  const input = tf.input({ shape: [...spec.inputShape], name: "input" });
  let x: SymbolicTensor = input;
  spec.layers.forEach((layer, i) => {
    x = applyLayer(tf, layer, x, i, seed);
  });
  const model = tf.model({ inputs: input, outputs: x, name: spec.name?.replace(/[^A-Za-z0-9_]/g, "_") ?? "fedmarket_model" });
  const counted = model.countParams();
  const expected = summary.parameters + summary.frozenParameters;
  if (counted !== expected) {
    model.dispose();
    throw new Error(`internal: spec says ${expected} parameters (${summary.frozenParameters} frozen), TensorFlow.js built ${counted}`);
  }
  if (options.frozenWeights !== undefined) {
    try {
      if (summary.frozenParameters === 0) {
        throw new Error(`frozenWeights given (${options.frozenWeights.length} values) but the spec freezes no layer; drop them`);
      }
      if (options.frozenWeights.length !== summary.frozenParameters) {
        throw new RangeError(
          `frozenWeights have ${options.frozenWeights.length} values but the spec's frozen layers have ${summary.frozenParameters} (spec.frozenWeights ${spec.frozenWeights})`,
        );
      }
      setFrozenWeights(tf, model, options.frozenWeights);
    } catch (err) {
      model.dispose();
      throw err;
    }
  }
  if (options.compile ?? true) compileModel(tf, model, spec, summary);
  return { model, spec, summary };
}

/** Compiles with a fresh optimizer (resets optimizer state, e.g. before each round). */
export function compileModel(tf: TF, model: LayersModel, spec: ModelSpec, summary: ModelSummary): void {
  model.compile({ optimizer: createOptimizer(tf, spec.training), loss: summary.loss, metrics: ["accuracy"] });
}

/** Runs the model on a batch and returns class indices (argmax, or threshold 0.5 for sigmoid). */
export function predictLabels(tf: TF, model: LayersModel, xs: Tensor<Rank>): Int32Array {
  return tf.tidy(() => {
    const out = model.predict(xs) as Tensor<Rank>;
    const last = out.shape[out.shape.length - 1];
    const idx = last === 1 ? out.greater(0.5).cast("int32").reshape([-1]) : out.argMax(-1);
    return idx.dataSync() as Int32Array;
  });
}
