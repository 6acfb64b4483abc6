import { test } from "node:test";
import assert from "node:assert/strict";
import { selectBackend } from "../src/backend.ts";

// Compares the composed Conv2DBackpropFilter on wasm with the reference cpu kernel.
test("Conv2DBackpropFilter on wasm matches cpu (valid/same padding, strides 1 and 2)", async () => {
  const cases = [
    { x: [2, 7, 7, 3], f: [3, 3, 3, 4], strides: 1, pad: "valid" },
    { x: [2, 7, 7, 3], f: [3, 3, 3, 4], strides: 2, pad: "same" },
    { x: [1, 8, 6, 2], f: [5, 2, 2, 3], strides: [2, 1], pad: "same" },
    { x: [3, 5, 5, 1], f: [1, 1, 1, 2], strides: 1, pad: "valid" },
  ] as const;
  const results: Record<string, number[][]> = { cpu: [], wasm: [] };
  for (const name of ["cpu", "wasm"] as const) {
    const { tf } = await selectBackend({ prefer: [name], log: () => {} });
    for (const c of cases) {
      const before = tf.memory().numTensors;
      const x = tf.randomNormal([...c.x], 0, 1, "float32", 1) as import("@tensorflow/tfjs").Tensor4D;
      const filter = tf.randomNormal([...c.f], 0, 1, "float32", 2) as import("@tensorflow/tfjs").Tensor4D;
      const strides = c.strides as number | [number, number];
      const out = tf.conv2d(x, filter, strides, c.pad);
      const dy = tf.randomNormal(out.shape, 0, 1, "float32", 3);
      // d/dfilter of sum(conv2d(x, filter) * dy) is Conv2DBackpropFilter(x, dy)
      const dw = tf.grad((f) =>
        tf
          .conv2d(x, f as import("@tensorflow/tfjs").Tensor4D, strides, c.pad)
          .mul(dy)
          .sum(),
      )(filter);
      assert.deepEqual(dw.shape, [...c.f]);
      results[name]!.push(Array.from(dw.dataSync()));
      tf.dispose([x, filter, out, dy, dw]);
      assert.equal(tf.memory().numTensors, before, "no leaked tensors");
    }
  }
  results.cpu!.forEach((want, i) => {
    const got = results.wasm![i]!;
    const err = Math.max(...want.map((w, j) => Math.abs(w - got[j]!)));
    assert.ok(err < 1e-3, `case ${i}: max error ${err}`);
  });
  await selectBackend({ prefer: ["wasm"], log: () => {} });
});
