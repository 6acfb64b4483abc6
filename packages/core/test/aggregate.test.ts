import { test } from "node:test";
import assert from "node:assert/strict";
import { aggregate, maskedSum } from "../src/index.ts";

test("g' = g + floor(S / n) with floor toward minus infinity", () => {
  const updates = [
    [1n, -1n, 5n],
    [2n, -2n, -6n],
    [100n, 100n, 100n],
  ];
  assert.deepEqual(maskedSum(updates, [true, true, false]), [3n, -3n, -1n]);
  assert.deepEqual(aggregate([10n, 10n, 10n], updates, [true, true, false], 8), [11n, 8n, 9n]);
  assert.deepEqual(aggregate([10n, 10n, 10n], updates, [false, false, false], 8), [10n, 10n, 10n]);
});

test("the new model must fit BG bits", () => {
  assert.throws(() => aggregate([127n], [[1n]], [true], 8));
  assert.deepEqual(aggregate([126n], [[1n]], [true], 8), [127n]);
  assert.throws(() => aggregate([-128n], [[-1n]], [true], 8));
});
