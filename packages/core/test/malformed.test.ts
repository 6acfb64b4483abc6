import { test } from "node:test";
import assert from "node:assert/strict";
import { FIELD_MODULUS, elementWidths, findMalformed, malformedWitness, pack, packedLength, unpack } from "../src/index.ts";

/** A deterministic pseudo-random source (xorshift32), so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** Random signed `bits`-bit values. */
function randomValues(n: number, bits: number, rand: () => number): bigint[] {
  const half = 2 ** (bits - 1);
  return Array.from({ length: n }, () => BigInt(Math.floor(rand() * 2 * half) - half));
}

test("elementWidths: full elements of P * bits, the last one holds the rest", () => {
  // B = 8: P = 31, 100 = 3 * 31 + 7.
  assert.deepEqual(elementWidths(100, 8), [248, 248, 248, 56]);
  assert.deepEqual(elementWidths(93, 8), [248, 248, 248]);
  assert.deepEqual(elementWidths(128, 8), [248, 248, 248, 248, 32]);
  assert.deepEqual(elementWidths(5, 8), [40]);
  // B = 16: P = 15 (240 bits); B = 126: P = 2 (the full 252 bits).
  assert.deepEqual(elementWidths(16, 16), [240, 16]);
  assert.deepEqual(elementWidths(3, 126), [252, 126]);
  for (const [count, bits] of [
    [128, 8],
    [512, 8],
    [77, 13],
  ] as const) {
    const widths = elementWidths(count, bits);
    assert.equal(widths.length, packedLength(count, bits));
    assert.equal(
      widths.reduce((a, b) => a + b, 0),
      count * bits,
    );
    // `pack` fills every element up to exactly its width (all values at the top of the range).
    const top = pack(Array<bigint>(count).fill((1n << BigInt(bits - 1)) - 1n), bits);
    top.forEach((x, e) => assert.equal(x, (1n << BigInt(widths[e] as number)) - 1n));
  }
});

test("findMalformed at the extremes: 0, 2^w - 1 fit; 2^w and r - 1 do not", () => {
  const [w, wl] = [248n, 56n];
  const ok = [0n, (1n << w) - 1n, 1n, (1n << wl) - 1n];
  assert.equal(findMalformed(ok, 100, 8), null);
  for (const [e, bad] of [
    [0, 1n << w],
    [1, FIELD_MODULUS - 1n],
    [2, 1n << 253n],
    [3, 1n << wl],
    [3, (1n << w) - 1n],
  ] as const) {
    const elements = [...ok];
    elements[e] = bad;
    assert.equal(findMalformed(elements, 100, 8), e, `element ${e} = ${bad}`);
  }
  // The first malformed element is the one reported.
  assert.equal(findMalformed([0n, 1n << w, 0n, FIELD_MODULUS - 1n], 100, 8), 1);
  // A narrow last element: its bound, not the full width, applies.
  assert.equal(findMalformed([(1n << 40n) - 1n], 5, 8), null);
  assert.equal(findMalformed([1n << 40n], 5, 8), 0);
});

test("findMalformed rejects non-canonical values and wrong lengths", () => {
  assert.throws(() => findMalformed([FIELD_MODULUS, 0n, 0n, 0n], 100, 8), RangeError);
  assert.throws(() => findMalformed([-1n, 0n, 0n, 0n], 100, 8), RangeError);
  assert.throws(() => findMalformed([0n, 0n, 0n], 100, 8), RangeError);
  assert.throws(() => findMalformed([0n, 0n, 0n, 0n, 0n], 100, 8), RangeError);
});

test("consistent with unpack: accepted lists unpack, rejected ones make unpack throw", () => {
  const rand = prng(11);
  for (const [count, bits] of [
    [100, 8],
    [128, 8],
    [40, 16],
    [9, 32],
  ] as const) {
    for (let i = 0; i < 20; i++) {
      const values = randomValues(count, bits, rand);
      const packed = pack(values, bits);
      assert.equal(findMalformed(packed, count, bits), null);
      assert.deepEqual(unpack(packed, bits, count), values);
      // Push one element out of its range (at its bound, a random high bit, or a huge value).
      const widths = elementWidths(count, bits);
      const e = Math.floor(rand() * packed.length);
      const w = widths[e] as number;
      const choices = [
        1n << BigInt(w),
        (packed[e] as bigint) | (1n << BigInt(w + Math.floor(rand() * (253 - w)))),
        FIELD_MODULUS - 1n - BigInt(i),
      ];
      const bad = [...packed];
      bad[e] = choices[i % choices.length] as bigint;
      assert.equal(findMalformed(bad, count, bits), e);
      assert.throws(() => unpack(bad, bits, count), RangeError);
    }
  }
});

test("malformedWitness: one-hot selector at the first malformed element, else at 'no claim'", () => {
  const good = pack(randomValues(100, 8, prng(5)), 8);
  assert.deepEqual(malformedWitness(good, 100, 8), { elements: good, select: [0n, 0n, 0n, 0n, 1n] });
  const bad = [...good];
  bad[3] = 1n << 56n;
  assert.deepEqual(malformedWitness(bad, 100, 8), { elements: bad, select: [0n, 0n, 0n, 1n, 0n] });
  assert.throws(() => malformedWitness([FIELD_MODULUS, 0n, 0n, 0n], 100, 8), RangeError);
});
