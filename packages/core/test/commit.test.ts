import { test } from "node:test";
import assert from "node:assert/strict";
import { chainStep, chunkHash, hashMany, modelCommitment, pack, padToChunks, poseidon, splitChunks, vectorChain } from "../src/index.ts";

test("padding and splitting", () => {
  assert.deepEqual(padToChunks([1n, 2n, 3n], 2), [1n, 2n, 3n, 0n]);
  assert.deepEqual(padToChunks([], 2), [0n, 0n]);
  assert.deepEqual(splitChunks([1n, 2n, 3n, 0n], 2), [
    [1n, 2n],
    [3n, 0n],
  ]);
  assert.throws(() => splitChunks([1n], 2));
});

test("chains and model commitments", () => {
  const u = [5n, -3n, 7n, 1n, -8n];
  const chunk = 2;
  const h = splitChunks(padToChunks(u, chunk), chunk).map((c) => hashMany(pack(c, 8)));
  let t = 0n;
  for (const x of h) t = poseidon([t, x]);
  assert.equal(vectorChain(u, chunk, 8), t);
  assert.equal(chunkHash([5n, -3n], 8), h[0]);
  assert.equal(chainStep(0n, h[0] as bigint), poseidon([0n, h[0] as bigint]));
  assert.equal(modelCommitment(u, chunk, 16), vectorChain(u, chunk, 16));
  assert.notEqual(modelCommitment(u, chunk, 16), modelCommitment(u, chunk, 8));
});
