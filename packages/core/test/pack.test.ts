import { test } from "node:test";
import assert from "node:assert/strict";
import { offsetDecode, offsetEncode, pack, unpack, valuesPerElement } from "../src/index.ts";

test("P = floor(252 / B)", () => {
  assert.equal(valuesPerElement(16), 15);
  assert.equal(valuesPerElement(8), 31);
  assert.equal(valuesPerElement(32), 7);
  assert.equal(valuesPerElement(12), 21);
});

test("offset encoding", () => {
  assert.equal(offsetEncode(-128n, 8), 0n);
  assert.equal(offsetEncode(127n, 8), 255n);
  assert.equal(offsetDecode(128n, 8), 0n);
  assert.throws(() => offsetEncode(128n, 8));
  assert.throws(() => offsetDecode(256n, 8));
});

test("little-endian layout and partial last element", () => {
  // B = 126: P = 2
  const packed = pack([1n, -1n, 5n], 126);
  const off = 1n << 125n;
  assert.deepEqual(packed, [1n + off + ((off - 1n) << 126n), 5n + off]);
  assert.deepEqual(unpack(packed, 126, 3), [1n, -1n, 5n]);
});

test("round-trip of random values incl. extremes", () => {
  for (const bits of [2, 8, 13, 16, 32]) {
    const half = 1n << BigInt(bits - 1);
    const values = [-half, half - 1n, 0n];
    for (let i = 0; i < 100; i++) {
      values.push(BigInt(Math.floor(Math.random() * Number(2n * half))) - half);
    }
    const packed = pack(values, bits);
    assert.equal(packed.length, Math.ceil(values.length / valuesPerElement(bits)));
    for (const e of packed) assert.ok(e < 1n << 252n);
    assert.deepEqual(unpack(packed, bits, values.length), values);
  }
});

test("unpack rejects junk above the used slots", () => {
  const packed = pack([1n, 2n], 8);
  assert.throws(() => unpack([(packed[0] as bigint) | (1n << 16n)], 8, 2));
  assert.throws(() => unpack(packed, 8, 40));
});
