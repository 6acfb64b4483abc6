import { test } from "node:test";
import assert from "node:assert/strict";
import { chainStep, hashMany, modelChunkHash, modelCommitment, pack, padToChunks, poseidon, splitChunks } from "../src/index.ts";

test("padding and splitting", () => {
  assert.deepEqual(padToChunks([1n, 2n, 3n], 2), [1n, 2n, 3n, 0n]);
  assert.deepEqual(padToChunks([], 2), [0n, 0n]);
  assert.deepEqual(splitChunks([1n, 2n, 3n, 0n], 2), [
    [1n, 2n],
    [3n, 0n],
  ]);
  assert.throws(() => splitChunks([1n], 2));
});

test("a chain step is Poseidon(prev, hash)", () => {
  const h = hashMany(pack([5n, -3n], 8));
  assert.equal(chainStep(0n, h), poseidon([0n, h]));
  assert.equal(chainStep(h, 7n), poseidon([h, 7n]));
});

test("a model commitment binds the model and the step that produced it", () => {
  const layout = { chunk: 2, modelBits: 16, updateBits: 8 };
  const g = [5n, -3n, 7n, 1n, -8n];
  const step = [1n, -128n, 127n, 0n, -1n];
  // chunk hash = hashMany(pack(model chunk, BG) ++ pack(step chunk, B)), chained from 0
  const modelChunks = splitChunks(padToChunks(g, 2), 2);
  const stepChunks = splitChunks(padToChunks(step, 2), 2);
  let m = 0n;
  modelChunks.forEach((c, j) => {
    const hm = hashMany([...pack(c, 16), ...pack(stepChunks[j]!, 8)]);
    assert.equal(modelChunkHash(c, stepChunks[j]!, layout), hm);
    m = poseidon([m, hm]);
  });
  assert.equal(modelCommitment(g, step, layout), m);
  // no step: an initial model's, zeros
  assert.equal(modelCommitment(g, undefined, layout), modelCommitment(g, [0n, 0n, 0n, 0n, 0n], layout));
  // the same model with another step (or another width) is another commitment
  assert.notEqual(modelCommitment(g, step, layout), modelCommitment(g, undefined, layout));
  assert.notEqual(modelCommitment(g, step, layout), modelCommitment(g, step, { ...layout, modelBits: 24 }));
  assert.throws(() => modelCommitment(g, step.slice(1), layout), /the step has 4 values, the model 5/);
  assert.throws(() => modelCommitment(g, [128n, 0n, 0n, 0n, 0n], layout), /is not in \[-2\^7, 2\^7\)/);
});
