import { test } from "node:test";
import assert from "node:assert/strict";
import { buildModel } from "../src/model-builder.ts";
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
