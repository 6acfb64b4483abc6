import { test } from "node:test";
import assert from "node:assert/strict";
import { dirichlet, gamma, permutation, seededRandom } from "../src/random.ts";

test("seeded generator is deterministic and uniform-ish", () => {
  const a = seededRandom(42),
    b = seededRandom(42),
    c = seededRandom(43);
  const xs = Array.from({ length: 10000 }, () => a());
  assert.deepEqual(
    Array.from({ length: 10000 }, () => b()),
    xs,
  );
  assert.notEqual(c(), xs[0]);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
  assert.throws(() => seededRandom(-1), /non-negative/);
});

test("permutation is a permutation", () => {
  const p = permutation(100, seededRandom(1));
  assert.deepEqual(
    [...p].sort((x, y) => x - y),
    Array.from({ length: 100 }, (_, i) => i),
  );
});

test("gamma and Dirichlet have the right means", () => {
  const rng = seededRandom(7);
  for (const shape of [0.3, 1, 4]) {
    let s = 0;
    for (let i = 0; i < 20000; i++) s += gamma(rng, shape);
    assert.ok(Math.abs(s / 20000 - shape) < 0.05 * Math.max(1, shape), `gamma(${shape}) mean ${s / 20000}`);
  }
  const p = dirichlet(rng, 0.5, 5);
  assert.equal(p.length, 5);
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  const tiny = dirichlet(rng, 1e-6, 4);
  assert.ok(Math.abs(tiny.reduce((a, b) => a + b, 0) - 1) < 1e-9);
});
