import { test } from "node:test";
import assert from "node:assert/strict";
import { computeCtx, fOfCtx, modelSizeOfCtx, outcomeWords, packOutcome, unpackOutcome, type SlotStatus } from "../src/index.ts";

test("outcome layout: slot 3w+i at bit 66 i, status | score << 2", () => {
  const status: SlotStatus[] = [1, 2, 3, 0];
  const scores = [5n, 0n, 0n, 0n];
  const words = packOutcome(status, scores, 4);
  assert.equal(words.length, outcomeWords(4));
  assert.equal(words[0], 1n + (5n << 2n) + (2n << 66n) + (3n << 132n));
  assert.equal(words[1], 0n);
  assert.deepEqual(
    unpackOutcome(words, 4).map((s) => s.status),
    status,
  );
});

test("outcome round-trip with maximal scores", () => {
  const max = 2n ** 64n - 1n;
  const status: SlotStatus[] = [1, 1, 1, 1, 1, 1, 1, 1];
  const scores = new Array(8).fill(max);
  const words = packOutcome(status, scores, 8);
  assert.equal(words.length, 3);
  for (const w of words) assert.ok(w < 2n ** 198n);
  assert.deepEqual(
    unpackOutcome(words, 8).map((s) => s.score),
    scores,
  );
  assert.throws(() => packOutcome([1], [2n ** 64n], 1));
  assert.throws(() => unpackOutcome([1n << 66n], 1));
});

test("ctx: 208 bits of the keccak word, the model size D in bits 8..40, f in the low byte", () => {
  const keccak = 2n ** 256n - 1n;
  const ctx = computeCtx(keccak, 7, 1010);
  assert.equal(ctx, ((2n ** 208n - 1n) << 40n) | (1010n << 8n) | 7n);
  assert.ok(ctx < 2n ** 248n);
  assert.equal(fOfCtx(ctx), 7);
  assert.equal(modelSizeOfCtx(ctx), 1010);
  assert.equal(modelSizeOfCtx(computeCtx(0n, 0, 2 ** 32 - 1)), 2 ** 32 - 1);
  assert.throws(() => computeCtx(keccak, 256, 1));
  assert.throws(() => computeCtx(keccak, 0, 0), /model size/);
  assert.throws(() => computeCtx(keccak, 0, 2 ** 32), /model size/);
});
