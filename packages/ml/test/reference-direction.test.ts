import { test } from "node:test";
import assert from "node:assert/strict";
import type { Scalar } from "@tensorflow/tfjs";
import { validateModelSpec, withoutFrozen, type ModelSpec } from "@fedmarket/protocol";
import { referenceDirection } from "../src/reference-direction.ts";
import { initialWeights } from "../src/local-training.ts";
import { buildModel } from "../src/model-builder.ts";
import { joinTrainedWeights, setFlatWeights, splitTrainedWeights } from "../src/model-weights.ts";
import { normal, seededRandom } from "../src/random.ts";
import type { Dataset } from "../src/data/dataset.ts";
import type { TF } from "../src/backend.ts";
import { testBackend } from "./helpers.ts";

// The CID is only checked for syntax here.
const FROZEN_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";

function tinySpec(layers: unknown[], labels: string[], extra: object = {}): ModelSpec {
  return validateModelSpec({
    format: "fedmarket-model-spec/1",
    inputShape: [2],
    labels,
    layers,
    training: { epochs: 1, batchSize: 8, learningRate: 0.1, optimizer: "sgd" },
    quantization: { scale: 4096, clipBound: 1 },
    ...extra,
  }).spec;
}

/** 2 -> 3 (tanh) -> 3 (softmax): 21 parameters, smooth, so finite differences are accurate. */
const softmaxSpec = tinySpec(
  [
    { type: "dense", units: 3, activation: "tanh" },
    { type: "dense", units: 3, activation: "softmax" },
  ],
  ["a", "b", "c"],
);
/** Logistic regression with a sigmoid output (binary cross-entropy, `[n, 1]` targets): 3 parameters. */
const sigmoidSpec = tinySpec([{ type: "dense", units: 1, activation: "sigmoid" }], ["no", "yes"]);
/** A frozen layer between two trainable ones: 9 + 12 trainable, 12 frozen. */
const frozenSpec = tinySpec(
  [
    { type: "dense", units: 3, activation: "tanh" },
    { type: "dense", units: 3, activation: "tanh", trainable: false },
    { type: "dense", units: 3, activation: "softmax" },
  ],
  ["a", "b", "c"],
  { frozenWeights: FROZEN_CID },
);

/** 37 noisy samples whose class follows a rule of the features (37: no batch size used divides it). */
function dataset(classes: number, seed: number, count = 37): Dataset {
  const rng = seededRandom(seed);
  const features = new Float32Array(count * 2);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const x = normal(rng);
    const y = normal(rng);
    features[2 * i] = x;
    features[2 * i + 1] = y;
    labels[i] = ((Math.floor((x + y + 0.7 * normal(rng)) * 2) % classes) + classes) % classes;
  }
  return { features, labels, count, sampleShape: [2], source: "tiny.csv" };
}

/** Initial weights plus noise, so the biases are not all zero and no coordinate is special. */
function weightsFor(tf: TF, spec: ModelSpec, seed: number): Float32Array {
  const rng = seededRandom(seed + 100);
  return initialWeights(tf, spec, seed).map((w) => w + 0.3 * normal(rng));
}

/**
 * The mean loss as the compiled model reports it (`evaluate`), with targets encoded here: an
 * independent check of both the loss function and the label encoding.
 */
function compiledLoss(tf: TF, spec: ModelSpec, weights: Float32Array, ds: Dataset, frozenWeights?: Float32Array): number {
  const { model, summary } = buildModel(tf, spec, frozenWeights === undefined ? {} : { frozenWeights });
  try {
    setFlatWeights(tf, model, weights);
    return tf.tidy(() => {
      const xs = tf.tensor(ds.features, [ds.count, ...spec.inputShape], "float32");
      const labels = tf.tensor1d(ds.labels, "int32");
      const ys =
        summary.loss === "binaryCrossentropy"
          ? labels.cast("float32").reshape([-1, 1])
          : tf.oneHot(labels, spec.labels.length).cast("float32");
      const [loss] = model.evaluate(xs, ys, { batchSize: ds.count }) as Scalar[];
      return loss!.dataSync()[0]!;
    });
  } finally {
    (model.optimizer as { dispose?: () => void } | undefined)?.dispose?.();
    model.dispose();
  }
}

/** `-dL/dw_i` by central differences of the compiled loss. */
function finiteDifferenceDirection(
  tf: TF,
  spec: ModelSpec,
  weights: Float32Array,
  ds: Dataset,
  frozenWeights?: Float32Array,
): Float64Array {
  const h = 1e-2;
  const out = new Float64Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const plus = weights.slice();
    const minus = weights.slice();
    plus[i] = weights[i]! + h;
    minus[i] = weights[i]! - h;
    // Divide by the step actually taken: float32 rounds w +- h.
    const step = plus[i]! - minus[i]!;
    out[i] = -(compiledLoss(tf, spec, plus, ds, frozenWeights) - compiledLoss(tf, spec, minus, ds, frozenWeights)) / step;
  }
  return out;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! ** 2;
  return Math.sqrt(s);
}

function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length);
  const diff = Array.from(actual, (a, i) => a - expected[i]!);
  return norm(diff) / norm(expected);
}

test("v matches central finite differences of the compiled loss (softmax and sigmoid outputs)", async () => {
  const { tf } = await testBackend();
  for (const [spec, classes, parameters] of [
    [softmaxSpec, 3, 21],
    [sigmoidSpec, 2, 3],
  ] as const) {
    const ds = dataset(classes, parameters);
    const weights = weightsFor(tf, spec, parameters);
    const r = referenceDirection(tf, spec, weights, ds);
    assert.equal(r.direction.length, parameters);
    assert.equal(r.samples, 37);
    const loss = compiledLoss(tf, spec, weights, ds);
    assert.ok(Math.abs(r.loss - loss) <= 1e-5 * loss, `loss ${r.loss} vs the compiled model's ${loss}`);
    const fd = finiteDifferenceDirection(tf, spec, weights, ds);
    assert.ok(norm(fd) > 1e-2, "the test point is not (nearly) stationary");
    const err = relativeError(r.direction, fd);
    assert.ok(err < 1e-2, `${parameters} parameters: relative error ${err} against finite differences`);
  }
});

test("v and the loss do not depend on the batch size", async () => {
  const { tf } = await testBackend();
  const ds = dataset(3, 7);
  const weights = weightsFor(tf, softmaxSpec, 7);
  const full = referenceDirection(tf, softmaxSpec, weights, ds, { batchSize: 37 });
  for (const batchSize of [1, 5, 36, 512]) {
    const r = referenceDirection(tf, softmaxSpec, weights, ds, { batchSize });
    const err = relativeError(r.direction, full.direction);
    assert.ok(err < 1e-5, `batchSize ${batchSize}: relative difference ${err}`);
    assert.ok(Math.abs(r.loss - full.loss) < 1e-5 * full.loss, `batchSize ${batchSize}: loss ${r.loss} vs ${full.loss}`);
    assert.equal(r.samples, 37);
  }
});

test("a frozen layer: v covers the trainable layers only, in flattenWeights order", async () => {
  const { tf } = await testBackend();
  const ds = dataset(3, 11);
  const full = weightsFor(tf, withoutFrozen(frozenSpec), 11);
  const { trainable, frozen } = splitTrainedWeights(tf, frozenSpec, full);
  assert.deepEqual([trainable.length, frozen.length], [21, 12]);
  const frozenCopy = frozen.slice();
  const r = referenceDirection(tf, frozenSpec, trainable, ds, { frozenWeights: frozen, batchSize: 8 });
  assert.equal(r.direction.length, 21);
  assert.deepEqual(frozen, frozenCopy, "the given frozen weights are not modified");
  const fd = finiteDifferenceDirection(tf, frozenSpec, trainable, ds, frozen);
  const err = relativeError(r.direction, fd);
  assert.ok(err < 1e-2, `relative error ${err} against finite differences`);
  // The same network with every layer trainable has the same gradient on the shared coordinates.
  const all = referenceDirection(tf, withoutFrozen(frozenSpec), joinTrainedWeights(tf, frozenSpec, { trainable, frozen }), ds);
  assert.equal(all.direction.length, 33);
  const head = splitTrainedWeights(tf, frozenSpec, all.direction).trainable;
  assert.ok(relativeError(r.direction, head) < 1e-5, "the trainable part of the all-trainable gradient");
  assert.ok(Math.abs(r.loss - all.loss) < 1e-6 * all.loss);
  assert.throws(() => referenceDirection(tf, frozenSpec, trainable, ds), /the spec freezes layer 1: pass their weights/);
});

test("a small step along v lowers the validation loss", async () => {
  const { tf } = await testBackend();
  for (const [spec, classes] of [
    [softmaxSpec, 3],
    [sigmoidSpec, 2],
  ] as const) {
    const ds = dataset(classes, 3);
    const weights = weightsFor(tf, spec, 3);
    const { direction, loss } = referenceDirection(tf, spec, weights, ds);
    const eta = 0.05 / norm(direction);
    const stepped = weights.map((w, i) => w + eta * direction[i]!);
    const after = compiledLoss(tf, spec, stepped, ds);
    // First order: the loss drops by about eta * |v|^2.
    const predicted = eta * norm(direction) ** 2;
    assert.ok(loss - after > 0.5 * predicted, `loss ${loss} -> ${after}, predicted drop ${predicted}`);
    assert.ok(referenceDirection(tf, spec, stepped, ds).loss < loss);
  }
});

test("errors: empty validation set, wrong weights length, non-finite gradient, bad batch size; no tensor leaks", async () => {
  const { tf } = await testBackend();
  const ds = dataset(3, 5);
  const weights = weightsFor(tf, softmaxSpec, 5);
  referenceDirection(tf, softmaxSpec, weights, ds);
  const before = tf.memory().numTensors;
  const empty: Dataset = { features: new Float32Array(0), labels: new Int32Array(0), count: 0, sampleShape: [2], source: "empty.csv" };
  assert.throws(
    () => referenceDirection(tf, softmaxSpec, weights, empty),
    (e: unknown) => e instanceof RangeError && /empty\.csv: the validation set is empty/.test(e.message),
  );
  assert.throws(
    () => referenceDirection(tf, softmaxSpec, new Float32Array(3), ds),
    (e: unknown) => e instanceof RangeError && /weight vector has 3 values but the model has 21 parameters/.test(e.message),
  );
  const nan = weights.slice();
  nan[4] = Number.NaN;
  assert.throws(
    () => referenceDirection(tf, softmaxSpec, nan, ds),
    (e: unknown) => e instanceof RangeError && /the reference direction is not finite .*check the weights/.test(e.message),
  );
  const badData: Dataset = { ...ds, features: ds.features.slice() };
  badData.features[3] = Number.POSITIVE_INFINITY;
  assert.throws(() => referenceDirection(tf, softmaxSpec, weights, badData), /tiny\.csv's features for NaN or infinity/);
  assert.throws(() => referenceDirection(tf, softmaxSpec, weights, ds, { batchSize: 0 }), RangeError);
  assert.throws(
    () => referenceDirection(tf, softmaxSpec, weights, { ...ds, sampleShape: [3], features: new Float32Array(37 * 3) }),
    /samples have shape \[3\] but the model expects \[2\]/,
  );
  referenceDirection(tf, softmaxSpec, weights, ds, { batchSize: 4 });
  assert.equal(tf.memory().numTensors, before);
});
