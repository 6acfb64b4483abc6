import { test } from "node:test";
import assert from "node:assert/strict";
import { quantizeDelta as coreQuantizeDelta } from "@fedmarket/core";
import { quantizeDelta, quantizeUpdate } from "../src/update.ts";

const config = { kMax: 4, chunk: 8, updateBits: 16, modelBits: 32 };

test("quantizes with core's clip-then-round-half-away-from-zero", () => {
  const q = quantizeDelta(new Float32Array([0.5, -0.5, 2, -2, 1 / 8192, -1 / 8192]), { scale: 4096, clipBound: 1 }, 16);
  assert.deepEqual(q, [2048n, -2048n, 4096n, -4096n, 1n, -1n]);
  assert.throws(() => quantizeDelta(new Float32Array(1), { scale: 2 ** 20, clipBound: 1 }, 16), /does not fit 16 signed bits/);
});

test("quantizeUpdate: core's quantization at the circuit's B bits, for a configuration the circuits support", () => {
  const delta = new Float32Array(20).map((_, i) => (i - 10) / 100);
  assert.deepEqual(
    quantizeUpdate(delta, { scale: 4096, clipBound: 1 }, config),
    coreQuantizeDelta(delta, { scale: 4096, clipBound: 1 }, 16),
  );
  assert.throws(() => quantizeUpdate(delta, { scale: 4096, clipBound: 1 }, { ...config, kMax: 0 }), /K_MAX/);
  assert.throws(() => quantizeUpdate(delta, { scale: 2 ** 20, clipBound: 1 }, config), /does not fit 16 signed bits/);
});
