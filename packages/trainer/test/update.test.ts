import { test } from "node:test";
import assert from "node:assert/strict";
import { commitUpdate, trainerChain, updateCommitment } from "@fedmarket/core";
import { prepareUpdate, quantizeDelta } from "../src/update.ts";

const config = { kMax: 4, chunk: 8, updateBits: 16, modelBits: 32 };

test("quantizes with core's clip-then-round-half-away-from-zero", () => {
  const q = quantizeDelta(new Float32Array([0.5, -0.5, 2, -2, 1 / 8192, -1 / 8192]), { scale: 4096, clipBound: 1 }, 16);
  assert.deepEqual(q, [2048n, -2048n, 4096n, -4096n, 1n, -1n]);
  assert.throws(() => quantizeDelta(new Float32Array(1), { scale: 2 ** 20, clipBound: 1 }, 16), /does not fit 16 signed bits/);
});

test("commitment matches core's and depends on the salt", () => {
  const delta = new Float32Array(20).map((_, i) => (i - 10) / 100);
  const a = prepareUpdate(delta, { scale: 4096, clipBound: 1 }, config, 123n);
  assert.equal(a.commitment, commitUpdate(a.quantized, 123n, 8, 16));
  assert.equal(a.commitment, updateCommitment(trainerChain(a.quantized, 8, 16), 123n));
  const b = prepareUpdate(delta, { scale: 4096, clipBound: 1 }, config);
  assert.notEqual(b.salt, 123n);
  assert.notEqual(b.commitment, a.commitment);
  assert.throws(() => prepareUpdate(delta, { scale: 4096, clipBound: 1 }, { ...config, kMax: 0 }), /K_MAX/);
});
