/**
 * The model spec: a small JSON document, pinned to IPFS by the project owner, that tells every
 * trainer which network to build, how to train it and how to quantize the resulting update.
 *
 * Format `fedmarket-model-spec/1` (documented in packages/protocol/README.md):
 *
 * ```json
 * {
 *   "format": "fedmarket-model-spec/1",
 *   "name": "mnist-mlp",
 *   "inputShape": [784],
 *   "labels": ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
 *   "layers": [
 *     { "type": "dense", "units": 32, "activation": "relu" },
 *     { "type": "dense", "units": 10, "activation": "softmax" }
 *   ],
 *   "training": { "epochs": 1, "batchSize": 32, "learningRate": 0.1, "optimizer": "sgd",
 *                 "bounds": { "learningRate": [0.01, 0.1] } },
 *   "quantization": { "scale": 4096, "clipBound": 1 },
 *   "circuit": { "kMax": 4, "chunk": 512, "updateBits": 16, "modelBits": 32 }
 * }
 * ```
 *
 * Frozen backbone + trained head: a `dense` or `conv2d` layer with `"trainable": false` keeps the
 * weights the owner pinned under `frozenWeights` (a weights file, weights-format.ts, holding the
 * frozen layers in spec order, kernel then bias). Only the other layers are trained by the market:
 * `parameters` (`D`: update vector, global model, commitments, proofs) counts the trainable
 * parameters only; evaluation uses the frozen weights and the global model together.
 *
 * ```json
 * {
 *   "layers": [
 *     { "type": "dense", "units": 32, "activation": "relu", "trainable": false },
 *     { "type": "dense", "units": 10, "activation": "softmax" }
 *   ],
 *   "frozenWeights": "bafkrei...",
 *   ...
 * }
 * ```
 *
 * `validateModelSpec` checks every field, infers the shape after every layer and counts the
 * parameters, so a bad spec fails with a message naming the offending field before TensorFlow.js
 * sees it.
 */

import { CID } from "multiformats/cid";
import { roundHalfAwayFromZero, validateConfig, type CircuitConfig } from "@fedmarket/core";

export type { CircuitConfig };

/** The only format string this code accepts. */
export const MODEL_SPEC_FORMAT = "fedmarket-model-spec/1";

export const ACTIVATIONS = [
  "linear",
  "relu",
  "relu6",
  "elu",
  "selu",
  "sigmoid",
  "hardSigmoid",
  "tanh",
  "softmax",
  "softplus",
  "softsign",
  "swish",
] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const OPTIMIZERS = ["sgd", "momentum", "adam", "rmsprop"] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export type Padding = "valid" | "same";

/** Fully connected layer over a rank-1 input. */
export interface DenseLayerSpec {
  readonly type: "dense";
  readonly units: number;
  /** Default `"linear"`. */
  readonly activation?: Activation;
  /** Default `true`. */
  readonly useBias?: boolean;
  /**
   * `false` freezes the layer: its weights come from `ModelSpec.frozenWeights` and never change.
   * Default `true`; a normalized spec carries the field only when it is `false`.
   */
  readonly trainable?: boolean;
}

/** 2-D convolution over a `[height, width, channels]` input (channels last). */
export interface Conv2dLayerSpec {
  readonly type: "conv2d";
  readonly filters: number;
  readonly kernelSize: number | readonly [number, number];
  /** Default `1`. */
  readonly strides?: number | readonly [number, number];
  /** Default `"valid"`. */
  readonly padding?: Padding;
  /** Default `"linear"`. */
  readonly activation?: Activation;
  /** Default `true`. */
  readonly useBias?: boolean;
  /** `false` freezes the layer (see `DenseLayerSpec.trainable`). */
  readonly trainable?: boolean;
}

/** Max pooling over a `[height, width, channels]` input. */
export interface MaxPooling2dLayerSpec {
  readonly type: "maxPooling2d";
  /** Default `2`. */
  readonly poolSize?: number | readonly [number, number];
  /** Default: `poolSize`. */
  readonly strides?: number | readonly [number, number];
  /** Default `"valid"`. */
  readonly padding?: Padding;
}

/** Flattens any input to rank 1. */
export interface FlattenLayerSpec {
  readonly type: "flatten";
}

/** Reshapes the input (same element count), e.g. `[784]` to `[28, 28, 1]` before a conv2d. */
export interface ReshapeLayerSpec {
  readonly type: "reshape";
  readonly targetShape: readonly number[];
}

export type LayerSpec = DenseLayerSpec | Conv2dLayerSpec | MaxPooling2dLayerSpec | FlattenLayerSpec | ReshapeLayerSpec;

export const LAYER_TYPES = ["dense", "conv2d", "maxPooling2d", "flatten", "reshape"] as const;

/** Inclusive `[min, max]`. */
export type Range = readonly [number, number];

/**
 * How far the aggregator may move each round's hyper-parameters away from the spec's values
 * (they become the project's on-chain bounds, see hyper-params.ts). A missing range fixes the
 * value: `[value, value]`.
 */
export interface TrainingBounds {
  readonly learningRate?: Range;
  readonly epochs?: Range;
  readonly batchSize?: Range;
}

export interface TrainingSpec {
  /** Local epochs per round (>= 1); round 0's value on chain. */
  readonly epochs: number;
  /** Mini-batch size (>= 1); round 0's value on chain. */
  readonly batchSize: number;
  /** Optimizer learning rate (> 0); round 0's value on chain. */
  readonly learningRate: number;
  readonly optimizer: OptimizerName;
  /** Momentum for `"momentum"` (default 0.9) and `"rmsprop"` (default 0). */
  readonly momentum?: number;
  /** Bounds of the per-round hyper-parameters (default: fixed at the values above). */
  readonly bounds?: TrainingBounds;
}

/** How the float delta maps to the integers committed on chain (see @fedmarket/core quantize). */
export interface QuantizationSpec {
  /** Multiplier applied after clipping (> 0), e.g. 4096. */
  readonly scale: number;
  /** Every delta coordinate is clipped into `[-clipBound, clipBound]` (> 0). */
  readonly clipBound: number;
}

/**
 * The circuit configuration the project's round verifier is compiled for (docs/PROOF-INTERFACE.md):
 * `kMax` trainer slots, `chunk` parameters per chunk proof, `updateBits` (`B`) per quantized
 * update value and `modelBits` (`BG`) per quantized global-model value.
 */
export type CircuitSpec = CircuitConfig;

export interface ModelSpec {
  readonly format: typeof MODEL_SPEC_FORMAT;
  /** Free-form name, for humans. */
  readonly name?: string;
  /** Shape of one sample without the batch axis: `[features]` or `[height, width, channels]`. */
  readonly inputShape: readonly number[];
  /** Class names; a sample's label is an index into this list. At least 2, unique. */
  readonly labels: readonly string[];
  readonly layers: readonly LayerSpec[];
  readonly training: TrainingSpec;
  readonly quantization: QuantizationSpec;
  /**
   * The project's circuit configuration. Optional in the format (a spec without it can still be
   * trained), required by the trainer node: it fixes `B` and `CHUNK` of the commitment.
   */
  readonly circuit?: CircuitSpec;
  /** Seed for the initial weights the owner generates (optional; trainers start from global). */
  readonly seed?: number;
  /**
   * CID (canonical string form) of a weights file holding the frozen layers' weights: frozen
   * layers in spec order, each layer's kernel then bias, row-major; `ModelSummary.frozenParameters`
   * values. Present if and only if some layer has `trainable: false`.
   */
  readonly frozenWeights?: string;
}

/** Thrown for every problem with a spec; `path` names the field (e.g. `layers[2].units`). */
export class ModelSpecError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`model spec: ${path ? `${path}: ` : ""}${message}`);
    this.name = "ModelSpecError";
    this.path = path;
  }
}

/** One layer's inferred output shape and parameter count. */
export interface LayerSummary {
  readonly type: LayerSpec["type"];
  readonly outputShape: readonly number[];
  /** The layer's weights (kernel and bias), frozen or not. */
  readonly parameters: number;
  /** True only for a layer declared `trainable: false` (its weights come from `frozenWeights`). */
  readonly frozen: boolean;
}

export interface ModelSummary {
  readonly layers: readonly LayerSummary[];
  /**
   * Trainable parameters only (`D`: the length of the update vector, the global model and the
   * commitments). Frozen layers are not counted here but in `frozenParameters`.
   */
  readonly parameters: number;
  /** Values in the `frozenWeights` file (0 when no layer is frozen). */
  readonly frozenParameters: number;
  readonly outputShape: readonly number[];
  /** The loss the builder compiles with. */
  readonly loss: "categoricalCrossentropy" | "binaryCrossentropy";
}

type Json = unknown;

function isRecord(v: Json): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: Json): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === undefined) return "nothing";
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(v);
  }
}

function positiveInt(v: Json, path: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new ModelSpecError(path, `must be a positive integer (got ${describe(v)})`);
  }
  return v;
}

function positiveNumber(v: Json, path: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new ModelSpecError(path, `must be a finite number > 0 (got ${describe(v)})`);
  }
  return v;
}

function oneOf<T extends string>(v: Json, allowed: readonly T[], path: string): T {
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    throw new ModelSpecError(path, `must be one of ${allowed.join(", ")} (got ${describe(v)})`);
  }
  return v as T;
}

function pair(v: Json, path: string): [number, number] {
  if (typeof v === "number") {
    const n = positiveInt(v, path);
    return [n, n];
  }
  if (Array.isArray(v) && v.length === 2) {
    return [positiveInt(v[0], `${path}[0]`), positiveInt(v[1], `${path}[1]`)];
  }
  throw new ModelSpecError(path, `must be a positive integer or a pair of them (got ${describe(v)})`);
}

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      const where = path ? `${path}.${key}` : key;
      throw new ModelSpecError(where, `unknown field (allowed: ${allowed.join(", ")})`);
    }
  }
}

function shapeString(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Output length of a convolution / pooling window along one axis (TensorFlow semantics). */
function windowOutput(size: number, window: number, stride: number, padding: Padding): number {
  return padding === "same" ? Math.ceil(size / stride) : Math.floor((size - window) / stride) + 1;
}

function validateLayer(raw: Json, index: number, inputShape: readonly number[]): { layer: LayerSpec; summary: LayerSummary } {
  const path = `layers[${index}]`;
  if (!isRecord(raw)) throw new ModelSpecError(path, `must be an object (got ${describe(raw)})`);
  const type = oneOf(raw.type, LAYER_TYPES, `${path}.type`);
  const activation = (): Activation | undefined =>
    raw.activation === undefined ? undefined : oneOf(raw.activation, ACTIVATIONS, `${path}.activation`);
  const useBias = (): boolean | undefined => {
    if (raw.useBias === undefined) return undefined;
    if (typeof raw.useBias !== "boolean") {
      throw new ModelSpecError(`${path}.useBias`, `must be true or false (got ${describe(raw.useBias)})`);
    }
    return raw.useBias;
  };
  // Only layers with weights can be frozen; normalized specs carry the flag only when false so
  // that a spec without frozen layers normalizes exactly as before the field existed.
  const trainable = (): { trainable?: false } => {
    if (raw.trainable === undefined) return {};
    if (type !== "dense" && type !== "conv2d") {
      throw new ModelSpecError(
        `${path}.trainable`,
        `only dense and conv2d layers have weights to freeze; remove it from this ${type} layer`,
      );
    }
    if (typeof raw.trainable !== "boolean") {
      throw new ModelSpecError(`${path}.trainable`, `must be true or false (got ${describe(raw.trainable)})`);
    }
    return raw.trainable ? {} : { trainable: false };
  };
  const frozen = trainable().trainable === false;
  const padding = (): Padding | undefined =>
    raw.padding === undefined ? undefined : oneOf(raw.padding, ["valid", "same"] as const, `${path}.padding`);
  const needRank = (rank: number, hint: string): void => {
    if (inputShape.length !== rank) {
      throw new ModelSpecError(path, `${type} needs a rank-${rank} input but gets ${shapeString(inputShape)}; ${hint}`);
    }
  };

  switch (type) {
    case "dense": {
      checkKeys(raw, ["type", "units", "activation", "useBias", "trainable"], path);
      needRank(1, "add a flatten layer before it");
      const units = positiveInt(raw.units, `${path}.units`);
      const bias = useBias() ?? true;
      const layer: DenseLayerSpec = { type, units, activation: activation(), useBias: bias, ...trainable() };
      const inputs = inputShape[0] as number;
      return { layer, summary: { type, outputShape: [units], parameters: inputs * units + (bias ? units : 0), frozen } };
    }
    case "conv2d": {
      checkKeys(raw, ["type", "filters", "kernelSize", "strides", "padding", "activation", "useBias", "trainable"], path);
      needRank(3, "inputs are [height, width, channels]; use inputShape [h, w, c] or a reshape layer");
      const filters = positiveInt(raw.filters, `${path}.filters`);
      const kernel = pair(raw.kernelSize, `${path}.kernelSize`);
      const strides = raw.strides === undefined ? ([1, 1] as [number, number]) : pair(raw.strides, `${path}.strides`);
      const pad = padding() ?? "valid";
      const bias = useBias() ?? true;
      const [h, w, c] = inputShape as [number, number, number];
      const outH = windowOutput(h, kernel[0], strides[0], pad);
      const outW = windowOutput(w, kernel[1], strides[1], pad);
      if (outH < 1 || outW < 1) {
        throw new ModelSpecError(path, `kernel ${shapeString(kernel)} does not fit input ${shapeString(inputShape)} with padding "valid"`);
      }
      const layer: Conv2dLayerSpec = {
        type,
        filters,
        kernelSize: kernel,
        strides,
        padding: pad,
        activation: activation(),
        useBias: bias,
        ...trainable(),
      };
      const parameters = kernel[0] * kernel[1] * c * filters + (bias ? filters : 0);
      return { layer, summary: { type, outputShape: [outH, outW, filters], parameters, frozen } };
    }
    case "maxPooling2d": {
      checkKeys(raw, ["type", "poolSize", "strides", "padding"], path);
      needRank(3, "pooling works on [height, width, channels]");
      const pool = raw.poolSize === undefined ? ([2, 2] as [number, number]) : pair(raw.poolSize, `${path}.poolSize`);
      const strides = raw.strides === undefined ? pool : pair(raw.strides, `${path}.strides`);
      const pad = padding() ?? "valid";
      const [h, w, c] = inputShape as [number, number, number];
      const outH = windowOutput(h, pool[0], strides[0], pad);
      const outW = windowOutput(w, pool[1], strides[1], pad);
      if (outH < 1 || outW < 1) {
        throw new ModelSpecError(path, `pool ${shapeString(pool)} does not fit input ${shapeString(inputShape)}`);
      }
      const layer: MaxPooling2dLayerSpec = { type, poolSize: pool, strides, padding: pad };
      return { layer, summary: { type, outputShape: [outH, outW, c], parameters: 0, frozen } };
    }
    case "flatten": {
      checkKeys(raw, ["type"], path);
      const size = inputShape.reduce((a, b) => a * b, 1);
      return { layer: { type }, summary: { type, outputShape: [size], parameters: 0, frozen } };
    }
    case "reshape": {
      checkKeys(raw, ["type", "targetShape"], path);
      if (!Array.isArray(raw.targetShape) || raw.targetShape.length === 0) {
        throw new ModelSpecError(`${path}.targetShape`, `must be a non-empty array of positive integers`);
      }
      const target = raw.targetShape.map((d, i) => positiveInt(d, `${path}.targetShape[${i}]`));
      const from = inputShape.reduce((a, b) => a * b, 1);
      const to = target.reduce((a, b) => a * b, 1);
      if (from !== to) {
        throw new ModelSpecError(
          `${path}.targetShape`,
          `${shapeString(target)} holds ${to} values but the input ${shapeString(inputShape)} has ${from}`,
        );
      }
      return { layer: { type, targetShape: target }, summary: { type, outputShape: target, parameters: 0, frozen } };
    }
  }
}

function validateTraining(raw: Json): TrainingSpec {
  const path = "training";
  if (!isRecord(raw)) throw new ModelSpecError(path, `must be an object (got ${describe(raw)})`);
  checkKeys(raw, ["epochs", "batchSize", "learningRate", "optimizer", "momentum", "bounds"], path);
  const epochs = positiveInt(raw.epochs, `${path}.epochs`);
  const batchSize = positiveInt(raw.batchSize, `${path}.batchSize`);
  const learningRate = positiveNumber(raw.learningRate, `${path}.learningRate`);
  const optimizer = oneOf(raw.optimizer, OPTIMIZERS, `${path}.optimizer`);
  let momentum: number | undefined;
  if (raw.momentum !== undefined) {
    if (typeof raw.momentum !== "number" || !(raw.momentum >= 0 && raw.momentum < 1)) {
      throw new ModelSpecError(`${path}.momentum`, `must be a number in [0, 1) (got ${describe(raw.momentum)})`);
    }
    if (optimizer !== "momentum" && optimizer !== "rmsprop") {
      throw new ModelSpecError(`${path}.momentum`, `only applies to the "momentum" and "rmsprop" optimizers`);
    }
    momentum = raw.momentum;
  }
  const bounds = raw.bounds === undefined ? undefined : validateBounds(raw.bounds, { epochs, batchSize, learningRate }, `${path}.bounds`);
  return {
    epochs,
    batchSize,
    learningRate,
    optimizer,
    ...(momentum === undefined ? {} : { momentum }),
    ...(bounds === undefined ? {} : { bounds }),
  };
}

/** Each range must be `[min, max]` with `0 < min <= value <= max` (integers for epochs and batch size). */
function validateBounds(raw: Json, values: { epochs: number; batchSize: number; learningRate: number }, path: string): TrainingBounds {
  if (!isRecord(raw)) throw new ModelSpecError(path, `must be an object (got ${describe(raw)})`);
  checkKeys(raw, ["learningRate", "epochs", "batchSize"], path);
  const range = (key: "learningRate" | "epochs" | "batchSize"): Range | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    const where = `${path}.${key}`;
    if (!Array.isArray(v) || v.length !== 2) throw new ModelSpecError(where, `must be [min, max] (got ${describe(v)})`);
    const check = key === "learningRate" ? positiveNumber : positiveInt;
    const min = check(v[0], `${where}[0]`);
    const max = check(v[1], `${where}[1]`);
    const value = values[key];
    if (!(min <= value && value <= max)) {
      throw new ModelSpecError(where, `must contain training.${key} = ${value} (got [${min}, ${max}])`);
    }
    return [min, max];
  };
  const learningRate = range("learningRate");
  const epochs = range("epochs");
  const batchSize = range("batchSize");
  return {
    ...(learningRate === undefined ? {} : { learningRate }),
    ...(epochs === undefined ? {} : { epochs }),
    ...(batchSize === undefined ? {} : { batchSize }),
  };
}

function validateQuantization(raw: Json): QuantizationSpec {
  const path = "quantization";
  if (!isRecord(raw)) throw new ModelSpecError(path, `must be an object (got ${describe(raw)})`);
  checkKeys(raw, ["scale", "clipBound"], path);
  return {
    scale: positiveNumber(raw.scale, `${path}.scale`),
    clipBound: positiveNumber(raw.clipBound, `${path}.clipBound`),
  };
}

function validateCircuit(raw: Json, quantization: QuantizationSpec): CircuitSpec {
  const path = "circuit";
  if (!isRecord(raw)) throw new ModelSpecError(path, `must be an object (got ${describe(raw)})`);
  checkKeys(raw, ["kMax", "chunk", "updateBits", "modelBits"], path);
  const config: CircuitSpec = {
    kMax: positiveInt(raw.kMax, `${path}.kMax`),
    chunk: positiveInt(raw.chunk, `${path}.chunk`),
    updateBits: positiveInt(raw.updateBits, `${path}.updateBits`),
    modelBits: positiveInt(raw.modelBits, `${path}.modelBits`),
  };
  try {
    validateConfig(config);
  } catch (err) {
    throw new ModelSpecError(path, (err as Error).message);
  }
  // The chain stores the scale as an integer (CircuitParams.quantizationScale, uint64).
  if (!Number.isSafeInteger(quantization.scale)) {
    throw new ModelSpecError(
      "quantization.scale",
      `must be an integer when a circuit is given (the contract stores it as uint64; got ${quantization.scale})`,
    );
  }
  // core quantizedClipBound, kept a number here so that an overflow is reported as a spec error.
  const maxQ = roundHalfAwayFromZero(quantization.clipBound * quantization.scale);
  if (maxQ > 2 ** (config.updateBits - 1) - 1) {
    throw new ModelSpecError(
      "quantization",
      `clipBound * scale = ${maxQ} does not fit circuit.updateBits = ${config.updateBits} signed bits (max ${2 ** (config.updateBits - 1) - 1})`,
    );
  }
  return config;
}

export interface ValidateModelSpecOptions {
  /**
   * Accept a spec that freezes layers but does not name `frozenWeights` yet: the owner's tools,
   * which split pretrained weights and pin the frozen part before they know its CID. Everything
   * that trains, evaluates or publishes needs the CID and keeps the default (false).
   */
  readonly frozenWeightsPending?: boolean;
}

/**
 * Validates a parsed JSON value as a model spec and returns a normalized copy (defaults filled in)
 * together with its inferred shapes and parameter count. Throws `ModelSpecError`.
 */
export function validateModelSpec(raw: Json, options: ValidateModelSpecOptions = {}): { spec: ModelSpec; summary: ModelSummary } {
  if (!isRecord(raw)) throw new ModelSpecError("", `must be a JSON object (got ${describe(raw)})`);
  checkKeys(raw, ["format", "name", "inputShape", "labels", "layers", "training", "quantization", "circuit", "seed", "frozenWeights"], "");
  if (raw.format !== MODEL_SPEC_FORMAT) {
    throw new ModelSpecError("format", `must be ${JSON.stringify(MODEL_SPEC_FORMAT)} (got ${describe(raw.format)})`);
  }
  if (raw.name !== undefined && typeof raw.name !== "string") {
    throw new ModelSpecError("name", `must be a string (got ${describe(raw.name)})`);
  }
  if (!Array.isArray(raw.inputShape) || (raw.inputShape.length !== 1 && raw.inputShape.length !== 3)) {
    throw new ModelSpecError("inputShape", `must be [features] or [height, width, channels] (got ${describe(raw.inputShape)})`);
  }
  const inputShape = raw.inputShape.map((d, i) => positiveInt(d, `inputShape[${i}]`));
  if (!Array.isArray(raw.labels) || raw.labels.length < 2) {
    throw new ModelSpecError("labels", `must list at least 2 class names (got ${describe(raw.labels)})`);
  }
  const labels = raw.labels.map((l, i) => {
    if (typeof l !== "string" || l.length === 0) {
      throw new ModelSpecError(`labels[${i}]`, `must be a non-empty string (got ${describe(l)})`);
    }
    return l;
  });
  const seen = new Set<string>();
  labels.forEach((l, i) => {
    if (seen.has(l)) throw new ModelSpecError(`labels[${i}]`, `duplicate label ${JSON.stringify(l)}`);
    seen.add(l);
  });
  if (!Array.isArray(raw.layers) || raw.layers.length === 0) {
    throw new ModelSpecError("layers", `must be a non-empty array (got ${describe(raw.layers)})`);
  }
  const layers: LayerSpec[] = [];
  const summaries: LayerSummary[] = [];
  let shape: readonly number[] = inputShape;
  raw.layers.forEach((l, i) => {
    const { layer, summary } = validateLayer(l, i, shape);
    layers.push(layer);
    summaries.push(summary);
    shape = summary.outputShape;
  });
  // The output layer decides the loss.
  const lastIndex = layers.length - 1;
  const last = layers[lastIndex] as LayerSpec;
  let loss: ModelSummary["loss"];
  if (last.type !== "dense") {
    throw new ModelSpecError(`layers[${lastIndex}]`, `the output layer must be dense (got ${last.type})`);
  }
  if (last.units === labels.length && last.activation === "softmax") {
    loss = "categoricalCrossentropy";
  } else if (labels.length === 2 && last.units === 1 && last.activation === "sigmoid") {
    loss = "binaryCrossentropy";
  } else {
    throw new ModelSpecError(
      `layers[${lastIndex}]`,
      `the output layer must be dense with units = ${labels.length} (the number of labels) and activation "softmax"` +
        (labels.length === 2 ? `, or units = 1 and activation "sigmoid"` : "") +
        ` (got units = ${last.units}, activation = ${last.activation ?? "linear"})`,
    );
  }
  let seed: number | undefined;
  if (raw.seed !== undefined) {
    if (typeof raw.seed !== "number" || !Number.isSafeInteger(raw.seed) || raw.seed < 0) {
      throw new ModelSpecError("seed", `must be a non-negative integer (got ${describe(raw.seed)})`);
    }
    seed = raw.seed;
  }
  const frozenWeights = validateFrozen(raw.frozenWeights, summaries, options.frozenWeightsPending === true);
  const quantization = validateQuantization(raw.quantization);
  const circuit = raw.circuit === undefined ? undefined : validateCircuit(raw.circuit, quantization);
  const spec: ModelSpec = {
    format: MODEL_SPEC_FORMAT,
    ...(typeof raw.name === "string" ? { name: raw.name } : {}),
    inputShape,
    labels,
    layers,
    training: validateTraining(raw.training),
    quantization,
    ...(circuit === undefined ? {} : { circuit }),
    ...(seed === undefined ? {} : { seed }),
    ...(frozenWeights === undefined ? {} : { frozenWeights }),
  };
  const parameters = summaries.reduce((a, s) => a + (s.frozen ? 0 : s.parameters), 0);
  const frozenParameters = summaries.reduce((a, s) => a + (s.frozen ? s.parameters : 0), 0);
  return { spec, summary: { layers: summaries, parameters, frozenParameters, outputShape: shape, loss } };
}

/**
 * Checks `frozenWeights` against the layers' `trainable` flags and returns its canonical CID
 * string (undefined when nothing is frozen).
 */
function validateFrozen(raw: Json, summaries: readonly LayerSummary[], pending: boolean): string | undefined {
  const frozen = summaries.flatMap((s, i) => (s.frozen ? [i] : []));
  if (frozen.length === 0) {
    if (raw !== undefined) {
      throw new ModelSpecError("frozenWeights", `no layer is frozen (trainable: false), so there are no frozen weights; remove this field`);
    }
    return undefined;
  }
  if (summaries.every((s) => s.parameters === 0 || s.frozen)) {
    throw new ModelSpecError("layers", `every layer with weights is frozen: nothing to train; set trainable: false only on the backbone`);
  }
  const values = frozen.reduce((a, i) => a + (summaries[i] as LayerSummary).parameters, 0);
  const need = `${describeLayers(frozen)} ${frozen.length === 1 ? "is" : "are"} frozen (trainable: false): give the CID of their weights (a fedmarket weights file of ${values.toLocaleString("en-US")} values)`;
  if (raw === undefined) {
    if (pending) return undefined;
    throw new ModelSpecError("frozenWeights", need);
  }
  if (typeof raw !== "string") throw new ModelSpecError("frozenWeights", `must be a CID string (got ${describe(raw)}); ${need}`);
  try {
    return CID.parse(raw.trim()).toString();
  } catch (err) {
    throw new ModelSpecError("frozenWeights", `${describe(raw)} is not a valid CID (${(err as Error).message}); ${need}`);
  }
}

/** Indices of the frozen layers (`trainable: false`), in spec order. */
export function frozenLayerIndices(summary: Pick<ModelSummary, "layers">): number[] {
  return summary.layers.flatMap((s, i) => (s.frozen ? [i] : []));
}

/**
 * Layer indices for messages, consecutive runs collapsed: `layer 3`, `layers 0-5`,
 * `layers 0, 2, 5`, `layers 0-2, 5`.
 */
export function describeLayers(indices: readonly number[]): string {
  const parts: string[] = [];
  for (let k = 0; k < indices.length;) {
    let end = k;
    while (end + 1 < indices.length && (indices[end + 1] as number) === (indices[end] as number) + 1) end++;
    // Two neighbours read better as "0, 1" than as a range.
    if (end - k >= 2) {
      parts.push(`${indices[k]}-${indices[end]}`);
    } else {
      for (let j = k; j <= end; j++) parts.push(String(indices[j]));
    }
    k = end + 1;
  }
  return `${indices.length === 1 ? "layer" : "layers"} ${parts.join(", ")}`;
}

/**
 * The same architecture with every layer trainable and no `frozenWeights`: the spec an owner
 * pretrains (or evaluates) the whole network with. Its flat weights are all layers in order, which
 * `splitTrainedWeights` (@fedmarket/ml) splits into the head and the frozen part.
 */
export function withoutFrozen(spec: ModelSpec): ModelSpec {
  const { frozenWeights: _frozenWeights, ...rest } = spec;
  return {
    ...rest,
    layers: spec.layers.map((layer) => {
      if (layer.type !== "dense" && layer.type !== "conv2d") return layer;
      const { trainable: _trainable, ...unfrozen } = layer;
      return unfrozen;
    }),
  };
}

/** Parses JSON text as a model spec; `source` (a file name or CID) prefixes parse errors. */
export function parseModelSpec(text: string, source = "model spec"): { spec: ModelSpec; summary: ModelSummary } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ModelSpecError("", `${source} is not valid JSON: ${(err as Error).message}`);
  }
  return validateModelSpec(raw);
}

/** Number of values in one sample (`product(inputShape)`). */
export function featureCount(spec: Pick<ModelSpec, "inputShape">): number {
  return spec.inputShape.reduce((a, b) => a * b, 1);
}
