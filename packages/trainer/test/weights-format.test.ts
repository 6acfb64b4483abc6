import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeWeights, encodeWeights, flattenWeights, setFlatWeights, weightLayout, WEIGHTS_HEADER_BYTES,
} from "../src/weights-format.ts";
import { buildModel } from "../src/model-builder.ts";
import { exampleSpec, testBackend } from "./helpers.ts";

test("encode/decode round trip, exact bytes of the header", () => {
  const values = new Float32Array([0, -1.5, 3.25, 1e-30, -0]);
  const bytes = encodeWeights(values);
  assert.equal(bytes.length, 20 + 4 * 5 + 32);
  assert.equal(Buffer.from(bytes.subarray(0, 8)).toString("ascii"), "FMWEIGHT");
  assert.deepEqual([...bytes.subarray(8, 20)], [1, 0, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0]);
  // -1.5 as float32 little-endian
  assert.deepEqual([...bytes.subarray(WEIGHTS_HEADER_BYTES + 4, WEIGHTS_HEADER_BYTES + 8)], [0, 0, 0xc0, 0xbf]);
  assert.deepEqual(decodeWeights(bytes), values);
  assert.deepEqual(decodeWeights(encodeWeights(new Float32Array(0))), new Float32Array(0));
});

test("corruption, truncation and wrong sizes are detected", () => {
  const bytes = encodeWeights(new Float32Array([1, 2, 3]));
  const flipped = bytes.slice(); flipped[WEIGHTS_HEADER_BYTES + 1]! ^= 1;
  assert.throws(() => decodeWeights(flipped), /checksum mismatch/);
  assert.throws(() => decodeWeights(bytes.subarray(0, bytes.length - 1)), /header says 3 parameters/);
  const magic = bytes.slice(); magic[0] = 0x58;
  assert.throws(() => decodeWeights(magic), /bad magic/);
  const version = bytes.slice(); version[8] = 2;
  assert.throws(() => decodeWeights(version), /unsupported version 2/);
  const dtype = bytes.slice(); dtype[10] = 2;
  assert.throws(() => decodeWeights(dtype), /unsupported dtype/);
  assert.throws(() => decodeWeights(bytes, 4), /has 3 parameters but the model has 4/);
  assert.throws(() => decodeWeights(encodeWeights(new Float32Array([Number.NaN]))), /value 0 is NaN/);
  assert.throws(() => decodeWeights(new Uint8Array(10)), /shorter/);
});

test("flatten/unflatten a model's weights in a stable order", async () => {
  const { tf } = await testBackend();
  for (const name of ["mnist-mlp", "mnist-cnn"] as const) {
    const a = buildModel(tf, exampleSpec(name), { seed: 1 }).model;
    const b = buildModel(tf, exampleSpec(name), { seed: 2 }).model;
    const layout = weightLayout(a);
    assert.deepEqual(layout.map((s) => s.name), name === "mnist-mlp"
      ? ["l0_dense/kernel", "l0_dense/bias", "l1_dense/kernel", "l1_dense/bias"]
      : ["l0_conv2d/kernel", "l0_conv2d/bias", "l2_conv2d/kernel", "l2_conv2d/bias", "l5_dense/kernel", "l5_dense/bias"]);
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
    a.dispose(); b.dispose(); xs.dispose();
  }
});
