import { test } from "node:test";
import assert from "node:assert/strict";
import { dequantize, quantize, roundHalfAwayFromZero, validateQuantization } from "../src/index.ts";

test("round half away from zero", () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49, -0.49, 0].map(roundHalfAwayFromZero),
    [1, 2, 3, -1, -2, -3, 0, -0, 0]);
});

test("quantize clips, scales and rounds", () => {
  const params = { scale: 4, clipBound: 2, bits: 8 };
  assert.deepEqual(quantize([0.125, -0.125, 0.3, 5, -5, 1.99, 0], params), [1n, -1n, 1n, 8n, -8n, 8n, 0n]);
  assert.deepEqual(dequantize([1n, -8n], 4), [0.25, -2]);
});

test("quantization parameters must fit B bits", () => {
  validateQuantization({ scale: 127, clipBound: 1, bits: 8 });
  assert.throws(() => validateQuantization({ scale: 128, clipBound: 1, bits: 8 }));
  assert.throws(() => validateQuantization({ scale: 0, clipBound: 1, bits: 8 }));
  assert.throws(() => quantize([Number.NaN], { scale: 1, clipBound: 1, bits: 8 }));
});
