import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeWeights, encodeWeights } from "@fedmarket/protocol";
import { flattenWeights, setFlatWeights, weightLayout } from "../src/model-weights.ts";
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
