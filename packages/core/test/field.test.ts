import { test } from "node:test";
import assert from "node:assert/strict";
import {
  FIELD_MODULUS,
  ceilLog2,
  floorDiv,
  fromFieldSigned,
  mod,
  randomFieldElement,
  toField,
  assertSignedBits,
  assertUnsignedBits,
} from "../src/index.ts";

test("mod and signed mapping round-trip", () => {
  assert.equal(mod(-1n), FIELD_MODULUS - 1n);
  assert.equal(mod(FIELD_MODULUS + 5n), 5n);
  for (const v of [0n, 1n, -1n, 123456789n, -(2n ** 200n), 2n ** 200n]) {
    assert.equal(fromFieldSigned(toField(v)), v);
  }
  assert.throws(() => toField(FIELD_MODULUS));
  assert.throws(() => fromFieldSigned(FIELD_MODULUS));
});

test("floorDiv rounds toward minus infinity", () => {
  const cases: [bigint, bigint, bigint][] = [
    [7n, 2n, 3n],
    [-7n, 2n, -4n],
    [7n, -2n, -4n],
    [-7n, -2n, 3n],
    [-6n, 3n, -2n],
    [0n, 5n, 0n],
    [-1n, 8n, -1n],
  ];
  for (const [a, b, q] of cases) assert.equal(floorDiv(a, b), q, `${a} / ${b}`);
  assert.throws(() => floorDiv(1n, 0n));
});

test("ceilLog2", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 8, 9].map(ceilLog2), [0, 1, 2, 2, 3, 3, 4]);
});

test("range assertions", () => {
  assertSignedBits(-128n, 8, "x");
  assertSignedBits(127n, 8, "x");
  assert.throws(() => assertSignedBits(128n, 8, "x"));
  assert.throws(() => assertSignedBits(-129n, 8, "x"));
  assertUnsignedBits(255n, 8, "x");
  assert.throws(() => assertUnsignedBits(256n, 8, "x"));
  assert.throws(() => assertUnsignedBits(-1n, 8, "x"));
});

test("random field elements are canonical", () => {
  for (let i = 0; i < 50; i++) {
    const x = randomFieldElement();
    assert.ok(x >= 0n && x < FIELD_MODULUS);
  }
});
