import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeWeights, encodeWeights, validateModelSpec, withoutFrozen } from "@fedmarket/protocol";
import {
  flattenFrozenWeights,
  flattenWeights,
  frozenWeightLayout,
  joinTrainedWeights,
  setFlatWeights,
  setFrozenWeights,
  splitTrainedWeights,
  weightLayout,
} from "../src/model-weights.ts";
import { buildModel } from "../src/model-builder.ts";
import { exampleSpec, testBackend } from "./helpers.ts";

test("flatten/unflatten a model's weights in a stable order", async () => {
  const { tf } = await testBackend();
  for (const name of ["mnist-mlp", "mnist-cnn"] as const) {
    const a = buildModel(tf, exampleSpec(name), { seed: 1 }).model;
    const b = buildModel(tf, exampleSpec(name), { seed: 2 }).model;
    const layout = weightLayout(a);
    assert.deepEqual(
      layout.map((s) => s.name),
      name === "mnist-mlp"
        ? ["l0_dense/kernel", "l0_dense/bias", "l1_dense/kernel", "l1_dense/bias"]
        : ["l0_conv2d/kernel", "l0_conv2d/bias", "l2_conv2d/kernel", "l2_conv2d/bias", "l5_dense/kernel", "l5_dense/bias"],
    );
    const flat = flattenWeights(a);
    assert.equal(flat.length, a.countParams());
    // first kernel value is element [0, 0] of the first kernel (row-major)
    assert.equal(flat[0], a.getWeights()[0]!.dataSync()[0]);
    setFlatWeights(tf, b, decodeWeights(encodeWeights(flat), b.countParams()));
    assert.deepEqual(flattenWeights(b), flat);
    const xs = tf.randomUniform([3, ...(name === "mnist-cnn" ? [28, 28, 1] : [784])], 0, 1, "float32", 5);
    const pa = (a.predict(xs) as typeof xs).dataSync();
    const pb = (b.predict(xs) as typeof xs).dataSync();
    assert.deepEqual(pb, pa);
    assert.throws(() => setFlatWeights(tf, b, new Float32Array(3)), /has 3 values but the model has/);
    a.dispose();
    b.dispose();
    xs.dispose();
  }
});

// A small conv backbone (frozen) under a dense head; the CID is only checked for syntax here.
const FROZEN_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
const frozenConvSpec = {
  format: "fedmarket-model-spec/1",
  inputShape: [8, 8, 1],
  labels: ["a", "b", "c"],
  layers: [
    { type: "conv2d", filters: 4, kernelSize: 3, activation: "relu", trainable: false },
    { type: "maxPooling2d" },
    { type: "flatten" },
    { type: "dense", units: 5, activation: "relu", trainable: false },
    { type: "dense", units: 3, activation: "softmax" },
  ],
  training: { epochs: 1, batchSize: 8, learningRate: 0.1, optimizer: "sgd" },
  quantization: { scale: 4096, clipBound: 1 },
  frozenWeights: FROZEN_CID,
};

test("frozen layers: separate trainable and frozen layouts, round trips", async () => {
  const { tf } = await testBackend();
  const { model: a, summary } = buildModel(tf, frozenConvSpec, { seed: 1 });
  const { model: b } = buildModel(tf, frozenConvSpec, { seed: 2 });
  assert.deepEqual(
    weightLayout(a).map((s) => [s.name, s.offset, s.size]),
    [
      ["l4_dense/kernel", 0, 15],
      ["l4_dense/bias", 15, 3],
    ],
  );
  assert.deepEqual(
    frozenWeightLayout(a).map((s) => [s.name, s.offset, s.size]),
    [
      ["l0_conv2d/kernel", 0, 36],
      ["l0_conv2d/bias", 36, 4],
      ["l3_dense/kernel", 40, 180],
      ["l3_dense/bias", 220, 5],
    ],
  );
  assert.equal(summary.parameters, 18);
  assert.equal(summary.frozenParameters, 225);
  // model.weights puts the non-trainable weights last: the reason the layouts walk the layers
  assert.equal(a.weights[0]!.originalName, "l4_dense/kernel");
  const head = flattenWeights(a);
  const backbone = flattenFrozenWeights(a);
  assert.equal(head.length, 18);
  assert.equal(backbone.length, 225);
  assert.deepEqual(backbone.subarray(0, 36), a.layers[1]!.getWeights()[0]!.dataSync());
  setFlatWeights(tf, b, head);
  setFrozenWeights(tf, b, backbone);
  assert.deepEqual(flattenWeights(b), head);
  assert.deepEqual(flattenFrozenWeights(b), backbone);
  const xs = tf.randomUniform([4, 8, 8, 1], 0, 1, "float32", 9);
  assert.deepEqual((b.predict(xs) as typeof xs).dataSync(), (a.predict(xs) as typeof xs).dataSync());
  assert.throws(() => setFlatWeights(tf, b, backbone), /has 225 values but the model has 18 parameters/);
  assert.throws(() => setFrozenWeights(tf, b, head), /frozen vector has 18 values but the model has 225 frozen parameters/);
  [a, b, xs].forEach((t) => t.dispose());
});

test("a model without frozen layers keeps the model.weights layout", async () => {
  const { tf } = await testBackend();
  for (const name of ["mnist-logistic", "mnist-mlp", "mnist-cnn"] as const) {
    const { model } = buildModel(tf, exampleSpec(name), { seed: 4 });
    assert.deepEqual(
      weightLayout(model).map((s) => s.name),
      model.weights.map((w) => w.originalName),
    );
    const expected = model.getWeights().flatMap((t) => Array.from(t.dataSync()));
    assert.deepEqual(Array.from(flattenWeights(model)), expected);
    assert.deepEqual(frozenWeightLayout(model), []);
    assert.equal(flattenFrozenWeights(model).length, 0);
    model.dispose();
  }
});

test("splitTrainedWeights: a fully trained network -> head + frozen backbone, same predictions", async () => {
  const { tf } = await testBackend();
  const { spec } = validateModelSpec(frozenConvSpec);
  const full = buildModel(tf, withoutFrozen(spec), { seed: 6 }).model;
  const all = flattenWeights(full);
  assert.equal(all.length, 243);
  const parts = splitTrainedWeights(tf, spec, all);
  assert.equal(parts.trainable.length, 18);
  assert.equal(parts.frozen.length, 225);
  assert.deepEqual(joinTrainedWeights(tf, spec, parts), all);
  const { model } = buildModel(tf, spec, { frozenWeights: parts.frozen });
  setFlatWeights(tf, model, parts.trainable);
  assert.deepEqual(flattenFrozenWeights(model), parts.frozen);
  const xs = tf.randomUniform([4, 8, 8, 1], 0, 1, "float32", 10);
  assert.deepEqual((model.predict(xs) as typeof xs).dataSync(), (full.predict(xs) as typeof xs).dataSync());
  assert.throws(() => splitTrainedWeights(tf, spec, parts.trainable), /has 18 values but the spec's layers have 243 parameters/);
  // nothing frozen: everything is the head
  const plain = splitTrainedWeights(tf, withoutFrozen(spec), all);
  assert.deepEqual(plain.trainable, all);
  assert.equal(plain.frozen.length, 0);
  [model, full, xs].forEach((t) => t.dispose());
});

test("an adapter between frozen layers: trainable and frozen layers interleave, each layout keeps layer order", async () => {
  const { tf } = await testBackend();
  // frozen 6->4, trainable adapter 4->4, frozen 4->4, trainable head 4->3: any split the spec can express.
  const raw = {
    format: "fedmarket-model-spec/1",
    inputShape: [6],
    labels: ["a", "b", "c"],
    layers: [
      { type: "dense", units: 4, activation: "relu", trainable: false },
      { type: "dense", units: 4, activation: "relu" },
      { type: "dense", units: 4, activation: "relu", trainable: false },
      { type: "dense", units: 3, activation: "softmax" },
    ],
    training: { epochs: 1, batchSize: 4, learningRate: 0.1, optimizer: "sgd" },
    quantization: { scale: 4096, clipBound: 1 },
    frozenWeights: FROZEN_CID,
  };
  const { spec, summary } = validateModelSpec(raw);
  assert.equal(summary.parameters, 4 * 4 + 4 + 4 * 3 + 3);
  assert.equal(summary.frozenParameters, 6 * 4 + 4 + 4 * 4 + 4);
  const full = buildModel(tf, withoutFrozen(spec), { seed: 3 }).model;
  const parts = splitTrainedWeights(tf, spec, flattenWeights(full));
  const { model } = buildModel(tf, spec, { frozenWeights: parts.frozen });
  setFlatWeights(tf, model, parts.trainable);
  assert.deepEqual(
    weightLayout(model).map((s) => s.name),
    ["l1_dense/kernel", "l1_dense/bias", "l3_dense/kernel", "l3_dense/bias"],
  );
  assert.deepEqual(
    frozenWeightLayout(model).map((s) => s.name),
    ["l0_dense/kernel", "l0_dense/bias", "l2_dense/kernel", "l2_dense/bias"],
  );
  const xs = tf.randomUniform([5, 6], 0, 1, "float32", 4);
  assert.deepEqual((model.predict(xs) as typeof xs).dataSync(), (full.predict(xs) as typeof xs).dataSync());
  [model, full, xs].forEach((t) => t.dispose());
});
