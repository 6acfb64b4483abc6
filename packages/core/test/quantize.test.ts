import { test } from "node:test";
import assert from "node:assert/strict";
import {
  aggregate,
  checkModelHeadroom,
  dequantize,
  dequantizeModel,
  quantizationParams,
  quantize,
  quantizeDelta,
  quantizedClipBound,
  quantizeModel,
  roundHalfAwayFromZero,
  maxRounds,
  decisionBounds,
  validateConfig,
  validateQuantization,
  type CircuitConfig,
} from "../src/index.ts";

test("round half away from zero", () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49, -0.49, 0].map(roundHalfAwayFromZero), [1, 2, 3, -1, -2, -3, 0, -0, 0]);
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

test("a spec's quantization plus B: validated parameters, clip bound in quantized units", () => {
  assert.deepEqual(quantizationParams({ scale: 4096, clipBound: 1 }, 16), { scale: 4096, clipBound: 1, bits: 16 });
  assert.throws(() => quantizationParams({ scale: 2 ** 20, clipBound: 1 }, 16), /does not fit 16 signed bits/);
  assert.equal(quantizedClipBound({ scale: 1024, clipBound: 127 / 1024 }), 127n);
  assert.equal(quantizedClipBound({ scale: 4, clipBound: 0.625 }), 3n); // 2.5 rounds away from zero
  assert.throws(() => quantizedClipBound({ scale: 1e200, clipBound: 1e200 }), /not finite/);
});

test("quantizeDelta clips, scales and rounds a float delta into B bits", () => {
  const q = quantizeDelta(new Float32Array([0.5, -0.5, 2, -2, 1 / 8192, -1 / 8192]), { scale: 4096, clipBound: 1 }, 16);
  assert.deepEqual(q, [2048n, -2048n, 4096n, -4096n, 1n, -1n]);
});

test("model quantization: no clipping, BG bits, exact float32 round trip", () => {
  assert.deepEqual(quantizeModel([0.5, -0.5, 3, -1 / 8192], 4096, 32), [2048n, -2048n, 12288n, -1n]);
  const q = [0n, 1n, -1n, (1n << 24n) - 1n, -(1n << 24n)];
  assert.deepEqual(quantizeModel(dequantizeModel(q, 4096), 4096, 32), q);
  assert.ok(dequantizeModel(q, 4096) instanceof Float32Array);
  assert.throws(() => quantizeModel([Number.POSITIVE_INFINITY], 4096, 32), /model weight 0 is Infinity/);
  assert.throws(() => quantizeModel([1], 4096, 8), /quantized model weight 0/);
  assert.throws(() => dequantizeModel([(1n << 25n) + 1n], 1), /float32 round trip/);
});

test("model headroom: an initial model within BG - 1 bits and at most 2^(BG-B-1) rounds never leaves BG bits", () => {
  const config: CircuitConfig = { kMax: 2, chunk: 4, updateBits: 4, modelBits: 8 };
  assert.equal(maxRounds(config), 8);
  assert.equal(maxRounds({ kMax: 8, chunk: 512, updateBits: 8, modelBits: 24 }), 32768);
  assert.equal(maxRounds({ kMax: 8, chunk: 512, updateBits: 2, modelBits: 126 }), 2 ** 32 - 1);
  // the extremes: the initial range [-64, 64) and every round's largest step in one direction
  checkModelHeadroom([-64n, 63n], 8, config);
  let low = [-64n];
  let high = [63n];
  for (let round = 0; round < maxRounds(config); round++) {
    // two slots at -8 (the lowest 4-bit value) step by -8; at 7 by 7; aggregate checks BG bits
    low = aggregate(low, [[-8n], [-8n]], [true, true], 8);
    high = aggregate(high, [[7n], [7n]], [true, true], 8);
  }
  assert.deepEqual([low, high], [[-128n], [119n]]);
  assert.throws(
    () => checkModelHeadroom([64n], 8, config),
    /initial model value 0 64 is not in \[-2\^6, 2\^6\): an initial model may use BG - 1/,
  );
  assert.throws(() => checkModelHeadroom([-65n], 8, config), /-65 is not in \[-2\^6, 2\^6\)/);
  assert.throws(() => checkModelHeadroom([0n], 9, config), /numRounds 9 must be in \[1, 8\]/);
  assert.throws(() => checkModelHeadroom([0n], 0, config), /numRounds 0/);
  // BG = B leaves no headroom at all
  assert.throws(() => validateConfig({ kMax: 2, chunk: 4, updateBits: 8, modelBits: 8 }), /BG 8 must be in \[B \+ 1, 126\]/);
});

test("the decision's widest comparisons fit 252 bits: the consensus test, the cosine caps' floor and the top cap's redistribution", () => {
  // B = 16, CHUNK = 2^16: DB = 32 + 16 + 32 = 80, the top cap needs 3 DB + 2 + 2 * 3 = 248 bits, its
  // redistribution 16 + 2 (32 + 80 + 3 + 3) + 6 + 2 = 260: refused.
  assert.deepEqual(
    [decisionBounds({ kMax: 8, chunk: 1 << 16, updateBits: 16, modelBits: 32 })].map((b) => [b.gramBits, b.cosineCapBits, b.uncappedBits]),
    [[80, 248, 260]],
  );
  assert.throws(() => validateConfig({ kMax: 8, chunk: 1 << 16, updateBits: 16, modelBits: 32 }), /exceed 252 bits/);
  // CHUNK = 2^12: DB = 76, the redistribution 252 bits, the largest chunk that fits at B = 16; 2^13: 254.
  assert.equal(decisionBounds({ kMax: 8, chunk: 1 << 12, updateBits: 16, modelBits: 32 }).uncappedBits, 252);
  validateConfig({ kMax: 8, chunk: 1 << 12, updateBits: 16, modelBits: 32 });
  assert.throws(() => validateConfig({ kMax: 8, chunk: 1 << 13, updateBits: 16, modelBits: 32 }), /exceed 252 bits/);
  // The demo and production configurations (B = 8) are far inside: 210 and 214 bits.
  assert.deepEqual(
    [128, 512].map((chunk) => decisionBounds({ kMax: 8, chunk, updateBits: 8, modelBits: 24 }).uncappedBits),
    [210, 214],
  );
  // CHUNK = 2^20: DB = 84 (the consensus test alone, 2 (32 + 84) + 6 + 15 = 253, is also too wide).
  assert.throws(() => validateConfig({ kMax: 8, chunk: 1 << 20, updateBits: 16, modelBits: 32 }), /exceed 252 bits/);
  // K_MAX = 1 at DB = 84: the consensus test, 2 (32 + 84) + 0 + 15 = 247, fits; the top cap's 260 does not.
  assert.equal(decisionBounds({ kMax: 1, chunk: 1 << 20, updateBits: 16, modelBits: 32 }).consensusTestBits, 247);
  assert.throws(() => validateConfig({ kMax: 1, chunk: 1 << 20, updateBits: 16, modelBits: 32 }), /exceed 252 bits/);
});
