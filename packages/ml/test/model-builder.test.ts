import { test } from "node:test";
import assert from "node:assert/strict";
import { buildModel } from "../src/model-builder.ts";
import { flattenFrozenWeights } from "../src/model-weights.ts";
import { exampleSpec, testBackend } from "./helpers.ts";

test("builds logistic regression, MLP and CNN with the expected shapes", async () => {
  const { tf } = await testBackend();
  for (const name of ["mnist-logistic", "mnist-mlp", "mnist-cnn"] as const) {
    const { model, summary, spec } = buildModel(tf, exampleSpec(name));
    assert.equal(model.countParams(), summary.parameters, name);
    const xs = tf.zeros([2, ...spec.inputShape]);
    const out = model.predict(xs) as ReturnType<typeof tf.zeros>;
    assert.deepEqual(out.shape, [2, 10], name);
    const sums = tf.sum(out, -1).dataSync();
    for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5, `${name}: softmax rows sum to 1`);
    tf.dispose([xs, out]);
    model.dispose();
  }
});

test("a seed makes the initial weights reproducible", async () => {
  const { tf } = await testBackend();
  const a = buildModel(tf, exampleSpec("mnist-mlp"), { seed: 7 }).model;
  const b = buildModel(tf, exampleSpec("mnist-mlp"), { seed: 7 }).model;
  const c = buildModel(tf, exampleSpec("mnist-mlp"), { seed: 8 }).model;
  const first = (m: typeof a) => Array.from(m.getWeights()[0]!.dataSync().slice(0, 20));
  assert.deepEqual(first(a), first(b));
  assert.notDeepEqual(first(a), first(c));
  [a, b, c].forEach((m) => m.dispose());
});

test("invalid specs are rejected before TensorFlow.js sees them", async () => {
  const { tf } = await testBackend();
  assert.throws(() => buildModel(tf, { format: "nope" }), /model spec: format/);
});

test("frozen layers are built non-trainable and take the given frozen weights", async () => {
  const { tf } = await testBackend();
  const cnn = exampleSpec("mnist-cnn") as { layers: Record<string, unknown>[] };
  const raw = {
    ...cnn,
    layers: cnn.layers.map((l, i) => (i === 0 || i === 2 ? { ...l, trainable: false } : l)),
    frozenWeights: "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
  };
  const { model, summary } = buildModel(tf, raw, { seed: 1 });
  assert.equal(summary.parameters, 4010);
  assert.equal(summary.frozenParameters, 80 + 1168);
  assert.equal(model.countParams(), 4010 + 1248);
  assert.deepEqual(
    model.layers.filter((l) => l.weights.length > 0).map((l) => [l.name, l.trainable]),
    [
      ["l0_conv2d", false],
      ["l2_conv2d", false],
      ["l5_dense", true],
    ],
  );
  assert.equal(model.trainableWeights.length, 2);
  const frozen = Float32Array.from({ length: 1248 }, (_, i) => (i % 17) / 100);
  const built = buildModel(tf, raw, { frozenWeights: frozen }).model;
  assert.deepEqual(flattenFrozenWeights(built), frozen);
  assert.throws(
    () => buildModel(tf, raw, { frozenWeights: new Float32Array(5) }),
    /frozenWeights have 5 values but the spec's frozen layers have 1248/,
  );
  assert.throws(() => buildModel(tf, exampleSpec("mnist-cnn"), { frozenWeights: frozen }), /the spec freezes no layer/);
  [model, built].forEach((m) => m.dispose());
});
