import { test } from "node:test";
import assert from "node:assert/strict";
import { evaluateAccuracy, initialWeights, NonFiniteUpdateError, trainLocally, type TrainingProgress } from "../src/local-training.ts";
import { loadMnistPackageDigits, MNIST_PIXELS } from "../src/data/mnist.ts";
import { validateModelSpec, withoutFrozen, type ModelSpec } from "@fedmarket/protocol";
import { buildModel } from "../src/model-builder.ts";
import { flattenFrozenWeights, flattenWeights, joinTrainedWeights, setFlatWeights, splitTrainedWeights } from "../src/model-weights.ts";
import type { Dataset } from "../src/data/dataset.ts";
import { exampleSpec, testBackend } from "./helpers.ts";

const digits = loadMnistPackageDigits();
/** Every `step`-th digit starting at `offset` (all classes), as a Dataset with the given shape. */
function mnistSlice(offset: number, count: number, step: number, sampleShape: number[]): Dataset {
  const features = new Float32Array(count * MNIST_PIXELS);
  const labels = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    const i = (offset + k * step) % digits.count;
    for (let p = 0; p < MNIST_PIXELS; p++) features[k * MNIST_PIXELS + p] = digits.images[i * MNIST_PIXELS + p]! / 255;
    labels[k] = digits.labels[i]!;
  }
  return { features, labels, count, sampleShape, source: `mnist[${offset}::${step}]` };
}
const spec = (name: "mnist-mlp" | "mnist-cnn" | "mnist-logistic", patch: Partial<ModelSpec> = {}): ModelSpec =>
  validateModelSpec({ ...(exampleSpec(name) as object), ...patch }).spec;

test("MLP: delta = local - global improves accuracy; progress per batch and epoch; seeded", async () => {
  const { tf } = await testBackend();
  const s = spec("mnist-mlp", { training: { epochs: 2, batchSize: 50, learningRate: 0.1, optimizer: "sgd" } });
  const train = mnistSlice(0, 1000, 7, [784]);
  const test = mnistSlice(3, 500, 11, [784]);
  const global = initialWeights(tf, s, 1);
  const events: TrainingProgress[] = [];
  const r = await trainLocally({ tf, spec: s, globalWeights: global, dataset: train, seed: 5, onProgress: (p) => events.push(p) });
  assert.equal(r.delta.length, 784 * 32 + 32 + 330);
  assert.equal(r.samples, 1000);
  assert.equal(events.filter((e) => e.phase === "batch").length, 2 * 20);
  assert.deepEqual(
    events.filter((e) => e.phase === "epoch").map((e) => e.epoch),
    [0, 1],
  );
  assert.equal(events.at(-1)?.samplesSeen, 2000);
  assert.ok(r.epochLosses[1]! < r.epochLosses[0]!, `loss decreases ${r.epochLosses}`);
  const local = global.map((g, i) => g + r.delta[i]!);
  const before = evaluateAccuracy(tf, s, global, test);
  const after = evaluateAccuracy(tf, s, local, test);
  assert.ok(after > 0.7 && after > before + 0.4, `accuracy ${before} -> ${after}`);
  assert.ok(r.samplesPerSecond > 0 && r.backend === tf.getBackend());
  const again = await trainLocally({ tf, spec: s, globalWeights: global, dataset: train, seed: 5 });
  assert.deepEqual(again.delta, r.delta);
});

test("deltas are clipped to the spec's bound", async () => {
  const { tf } = await testBackend();
  const s = spec("mnist-logistic", { quantization: { scale: 4096, clipBound: 0.01 } });
  const r = await trainLocally({ tf, spec: s, globalWeights: initialWeights(tf, s, 2), dataset: mnistSlice(0, 300, 13, [784]) });
  assert.ok(r.clippedCount > 0);
  assert.ok(r.maxAbsDelta > 0.01);
  assert.ok(r.delta.every((d) => Math.abs(d) <= 0.01 + 1e-9));
});

test("a small CNN trains on this backend", async () => {
  const { tf } = await testBackend();
  const s = spec("mnist-cnn", { training: { epochs: 1, batchSize: 32, learningRate: 0.003, optimizer: "adam" } });
  const global = initialWeights(tf, s, 3);
  const r = await trainLocally({ tf, spec: s, globalWeights: global, dataset: mnistSlice(0, 640, 13, [28, 28, 1]) });
  assert.equal(r.delta.length, 5258);
  const test = mnistSlice(5, 300, 17, [28, 28, 1]);
  const after = evaluateAccuracy(
    tf,
    s,
    global.map((g, i) => g + r.delta[i]!),
    test,
  );
  assert.ok(after > 0.5, `CNN accuracy after one small epoch ${after}`);
});

test("binary logistic regression with a sigmoid output", async () => {
  const { tf } = await testBackend();
  const s = validateModelSpec({
    ...(exampleSpec("mnist-logistic") as object),
    labels: ["zero", "one"],
    layers: [{ type: "dense", units: 1, activation: "sigmoid" }],
  }).spec;
  const zerosAndOnes = mnistSlice(0, 2000, 1, [784]);
  const keep = [...zerosAndOnes.labels.keys()].filter((i) => zerosAndOnes.labels[i]! <= 1);
  const features = new Float32Array(keep.length * 784);
  keep.forEach((i, k) => features.set(zerosAndOnes.features.subarray(i * 784, (i + 1) * 784), k * 784));
  const ds: Dataset = {
    features,
    labels: Int32Array.from(keep.map((i) => zerosAndOnes.labels[i]!)),
    count: keep.length,
    sampleShape: [784],
    source: "0/1",
  };
  const global = initialWeights(tf, s, 4);
  const r = await trainLocally({ tf, spec: s, globalWeights: global, dataset: ds });
  assert.ok(
    evaluateAccuracy(
      tf,
      s,
      global.map((g, i) => g + r.delta[i]!),
      ds,
    ) > 0.95,
  );
});

test("refuses to produce an update from NaN/Inf inputs or a diverging run", async () => {
  const { tf } = await testBackend();
  const s = spec("mnist-logistic");
  const ds = mnistSlice(0, 100, 3, [784]);
  const global = initialWeights(tf, s, 5);
  const bad = global.slice();
  bad[17] = Number.NaN;
  await assert.rejects(
    trainLocally({ tf, spec: s, globalWeights: bad, dataset: ds }),
    (e: unknown) => e instanceof NonFiniteUpdateError && /global weight 17 is NaN/.test(e.message),
  );
  const badData: Dataset = { ...ds, features: ds.features.slice() };
  badData.features[784 * 4 + 2] = Number.POSITIVE_INFINITY;
  await assert.rejects(trainLocally({ tf, spec: s, globalWeights: global, dataset: badData }), /sample 5 has a non-finite feature/);
  const exploding = spec("mnist-mlp", { training: { epochs: 3, batchSize: 10, learningRate: 1e30, optimizer: "sgd" } });
  await assert.rejects(
    trainLocally({ tf, spec: exploding, globalWeights: initialWeights(tf, exploding, 6), dataset: ds }),
    (e: unknown) => e instanceof NonFiniteUpdateError && /(loss became|after training)/.test(e.message),
  );
  await assert.rejects(trainLocally({ tf, spec: s, globalWeights: new Float32Array(3), dataset: ds }), /global weights have 3 values/);
  await assert.rejects(
    trainLocally({
      tf,
      spec: s,
      globalWeights: global,
      dataset: { features: new Float32Array(20), labels: new Int32Array(10), count: 10, sampleShape: [2], source: "tiny.csv" },
    }),
    /tiny\.csv: samples have shape \[2\] but the model expects \[784\]/,
  );
});

test("no tensors leak across a training run", async () => {
  const { tf } = await testBackend();
  const s = spec("mnist-mlp");
  const global = initialWeights(tf, s, 1);
  const ds = mnistSlice(0, 200, 3, [784]);
  await trainLocally({ tf, spec: s, globalWeights: global, dataset: ds });
  const before = tf.memory().numTensors;
  await trainLocally({ tf, spec: s, globalWeights: global, dataset: ds });
  assert.equal(tf.memory().numTensors, before);
});

// MLP 784-32-10 whose hidden layer is a frozen backbone; the CID is only checked for syntax here.
const FROZEN_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
function frozenMlp(): ModelSpec {
  const mlp = exampleSpec("mnist-mlp") as { layers: Record<string, unknown>[] };
  return validateModelSpec({
    ...mlp,
    layers: [{ ...mlp.layers[0], trainable: false }, mlp.layers[1]],
    frozenWeights: FROZEN_CID,
    training: { epochs: 2, batchSize: 50, learningRate: 0.1, optimizer: "sgd" },
  }).spec;
}

test("frozen backbone: only the head trains; accuracy with frozen weights = full model", async () => {
  const { tf } = await testBackend();
  const s = frozenMlp();
  const { trainable: global, frozen } = splitTrainedWeights(tf, s, initialWeights(tf, withoutFrozen(s), 11));
  assert.equal(global.length, 330);
  assert.deepEqual(initialWeights(tf, s, 11), global, "initialWeights is the head only");
  const frozenCopy = frozen.slice();
  const train = mnistSlice(0, 1000, 7, [784]);
  const test = mnistSlice(3, 500, 11, [784]);
  const r = await trainLocally({ tf, spec: s, globalWeights: global, frozenWeights: frozen, dataset: train, seed: 5 });
  assert.equal(r.delta.length, 330);
  assert.equal(r.parameters, 330);
  assert.ok(r.deltaNorm > 0);
  assert.deepEqual(frozen, frozenCopy, "the given frozen weights are not modified");
  const tensorsBefore = tf.memory().numTensors;
  await trainLocally({ tf, spec: s, globalWeights: global, frozenWeights: frozen, dataset: train, seed: 5 });
  evaluateAccuracy(tf, s, global, test, { frozenWeights: frozen });
  assert.equal(tf.memory().numTensors, tensorsBefore, "no tensors leak with frozen layers");
  const local = global.map((g, i) => g + r.delta[i]!);
  const before = evaluateAccuracy(tf, s, global, test, { frozenWeights: frozen });
  const after = evaluateAccuracy(tf, s, local, test, { frozenWeights: frozen, batchSize: 64 });
  assert.ok(after > before + 0.2, `head-only accuracy ${before} -> ${after}`);
  const full = joinTrainedWeights(tf, s, { trainable: local, frozen });
  assert.equal(evaluateAccuracy(tf, withoutFrozen(s), full, test), after);
  // The same training with TF.js directly: the frozen layer does not move.
  const { model } = buildModel(tf, s, { frozenWeights: frozen });
  setFlatWeights(tf, model, global);
  const xs = tf.tensor(train.features, [train.count, 784]);
  const ys = tf.oneHot(tf.tensor1d(train.labels, "int32"), 10).cast("float32");
  await model.fit(xs, ys, { epochs: 1, batchSize: 50, verbose: 0 });
  assert.deepEqual(flattenFrozenWeights(model), frozen);
  assert.notDeepEqual(flattenWeights(model), global);
  (model.optimizer as { dispose?: () => void } | undefined)?.dispose?.();
  tf.dispose([xs, ys]);
  model.dispose();
});

test("frozen backbone: missing or misplaced frozen weights are clear errors", async () => {
  const { tf } = await testBackend();
  const s = frozenMlp();
  const ds = mnistSlice(0, 50, 3, [784]);
  const global = initialWeights(tf, s, 12);
  const missing = new RegExp(`the spec freezes layer 0: pass their weights \\(spec.frozenWeights ${FROZEN_CID}`);
  await assert.rejects(trainLocally({ tf, spec: s, globalWeights: global, dataset: ds }), missing);
  assert.throws(() => evaluateAccuracy(tf, s, global, ds), missing);
  await assert.rejects(
    trainLocally({ tf, spec: s, globalWeights: global, frozenWeights: new Float32Array(3), dataset: ds }),
    /frozenWeights have 3 values but the spec's frozen layers have 25120/,
  );
  const plain = spec("mnist-logistic");
  assert.throws(
    () => evaluateAccuracy(tf, plain, initialWeights(tf, plain, 1), ds, { frozenWeights: new Float32Array(3) }),
    /the spec freezes no layer/,
  );
  const nan = new Float32Array(25120);
  nan[9] = Number.NaN;
  await assert.rejects(
    trainLocally({ tf, spec: s, globalWeights: global, frozenWeights: nan, dataset: ds }),
    (e: unknown) => e instanceof NonFiniteUpdateError && /frozen weight 9 is NaN/.test(e.message),
  );
});
