import { test } from "node:test";
import assert from "node:assert/strict";
import { cosineSimilarity, globalDelta, isReplay, REPLAY_MIN_COSINE, replaysGlobalDelta } from "../src/index.ts";

const v = (...xs: number[]): bigint[] => xs.map(BigInt);

test("cosine similarity of integer vectors", () => {
  assert.equal(cosineSimilarity(v(1, 0), v(0, 1)), 0);
  assert.ok(Math.abs(cosineSimilarity(v(3, 4), v(6, 8)) - 1) < 1e-12);
  assert.ok(Math.abs(cosineSimilarity(v(1, 1), v(-1, -1)) + 1) < 1e-12);
  assert.equal(cosineSimilarity(v(0, 0), v(1, 2)), 0);
  assert.throws(() => cosineSimilarity(v(1), v(1, 2)), /unequal length/);
});

test("cosine stays exact for long vectors with large values (no overflow of float sums)", () => {
  const a = Array.from({ length: 30_000 }, (_, i) => BigInt(((i * 7919) % 255) - 127) * (1n << 20n));
  assert.ok(Math.abs(cosineSimilarity(a, a) - 1) < 1e-12);
});

test("global delta is the element-wise difference of consecutive models", () => {
  assert.deepEqual(globalDelta(v(5, -2, 7), v(3, 1, 7)), v(2, -3, 0));
  assert.throws(() => globalDelta(v(1), v(1, 2)), /unequal length/);
});

test("a copy of the last global delta (re-quantized, clipped, padded) is a replay", () => {
  const delta = Array.from({ length: 100 }, (_, i) => BigInt(Math.round(40 * Math.sin(i))));
  const copy = delta.map((x) => (x > 30n ? 30n : x + (x % 2n === 0n ? 0n : 1n))); // rounding + clipping noise
  assert.ok(replaysGlobalDelta([...copy, 0n, 0n, 0n], delta));
  assert.ok(cosineSimilarity(copy, delta) >= REPLAY_MIN_COSINE);
});

test("honest-looking updates, zero updates and a zero delta are not replays", () => {
  const delta = Array.from({ length: 100 }, (_, i) => BigInt(Math.round(40 * Math.sin(i))));
  const other = Array.from({ length: 100 }, (_, i) => BigInt(Math.round(40 * Math.sin(i) + 30 * Math.cos(3 * i))));
  assert.equal(replaysGlobalDelta(other, delta), false);
  assert.equal(replaysGlobalDelta(new Array<bigint>(100).fill(0n), delta), false);
  assert.equal(replaysGlobalDelta(delta, new Array<bigint>(100).fill(0n)), false);
});

test("the replay test is exact at the threshold: cos = 99/100 is a replay, just below is not", () => {
  // b = 99, g = n = 100: 100^2 99^2 >= 99^2 100 100.
  assert.equal(isReplay(99n, 100n, 100n), true);
  assert.equal(isReplay(98n, 100n, 100n), false);
  assert.equal(isReplay(-99n, 100n, 100n), false);
  assert.equal(isReplay(0n, 0n, 100n), false);
  assert.equal(REPLAY_MIN_COSINE, 0.99);
});
