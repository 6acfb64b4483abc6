import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ATTACK_MODES,
  attackDelta,
  attackNeedsTraining,
  attackStage,
  duplicateSubmission,
  flipLabel,
  flipLabels,
  freeRiderDelta,
  gaussianNoise,
  l2Norm,
  parseAttackMode,
  scaleDelta,
  signFlip,
} from "../src/attacks/attacks.ts";
import type { Dataset } from "@fedmarket/ml";

const honest = Float32Array.from([0.5, -0.25, 0, 0.125, -1, 0.75]);

test("sign flip negates every coordinate (no -0)", () => {
  assert.deepEqual(Array.from(signFlip(honest)), [-0.5, 0.25, 0, -0.125, 1, -0.75]);
  assert.ok(!Object.is(signFlip(honest)[2], -0));
  assert.deepEqual(Array.from(honest), [0.5, -0.25, 0, 0.125, -1, 0.75], "input untouched");
});

test("scaling multiplies by 10 (default) or the given factor; clipping bounds it", () => {
  assert.deepEqual(Array.from(scaleDelta(honest)), [5, -2.5, 0, 1.25, -10, 7.5]);
  assert.deepEqual(Array.from(scaleDelta(honest, 2)), [1, -0.5, 0, 0.25, -2, 1.5]);
  assert.deepEqual(Array.from(attackDelta("scale", honest, { clipBound: 1 })), [1, -1, 0, 1, -1, 1]);
  assert.throws(() => scaleDelta(honest, Number.NaN), /finite/);
});

test("gaussian noise is seeded, has the honest delta's norm scale and no correlation with it", () => {
  const d = 20_000;
  const a = gaussianNoise(d, 3, 7);
  const b = gaussianNoise(d, 3, 7);
  const c = gaussianNoise(d, 3, 8);
  assert.deepEqual(a, b, "same seed, same noise");
  assert.notDeepEqual(a, c, "another seed, other noise");
  assert.ok(Math.abs(l2Norm(a) - 3) < 0.1, `norm ${l2Norm(a)} close to 3`);
  let mean = 0;
  for (const x of a) mean += x;
  assert.ok(Math.abs(mean / d) < 0.01);
  const big = Float32Array.from({ length: d }, (_, i) => (i % 2 === 0 ? 0.02 : -0.01));
  const noise = attackDelta("gaussian", big, { seed: 5 });
  assert.deepEqual(noise, gaussianNoise(d, l2Norm(big), 5));
  assert.ok(Math.abs(l2Norm(noise) / l2Norm(big) - 1) < 0.05);
  assert.deepEqual(gaussianNoise(0, 1, 1), new Float32Array(0));
});

test("label flipping maps y -> 9 - y on 10 classes, keeps the features", () => {
  assert.equal(flipLabel(0, 10), 9);
  assert.equal(flipLabel(9, 10), 0);
  assert.equal(flipLabel(4, 10), 5);
  assert.throws(() => flipLabel(10, 10), /not in/);
  const ds: Dataset = { features: new Float32Array(3 * 2), labels: Int32Array.from([0, 3, 9]), count: 3, sampleShape: [2], source: "x" };
  const flipped = flipLabels(ds, 10);
  assert.deepEqual(Array.from(flipped.labels), [9, 6, 0]);
  assert.equal(flipped.features, ds.features);
  assert.deepEqual(Array.from(ds.labels), [0, 3, 9], "input untouched");
  assert.equal(attackStage("label-flip"), "data");
  assert.deepEqual(attackDelta("label-flip", honest), honest, "the delta stage leaves it alone");
});

test("free rider submits zeros, or the last global delta when known", () => {
  assert.deepEqual(freeRiderDelta(4), new Float32Array(4));
  assert.deepEqual(attackDelta("free-rider", honest), new Float32Array(honest.length));
  const last = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
  assert.deepEqual(attackDelta("free-rider", honest, { lastGlobalDelta: last }), Float32Array.from(last));
  assert.throws(() => freeRiderDelta(3, last), /6 values, expected 3/);
  assert.equal(attackNeedsTraining("free-rider"), false);
});

test("duplicate copies the first other trainer's revealed commitment and CID; with none revealed it has nothing to copy", () => {
  const others = [
    { trainer: "0xAA", commitment: 11n, cid: "bafy-a" },
    { trainer: "0xBB", commitment: 22n, cid: "bafy-b" },
  ];
  assert.deepEqual(duplicateSubmission(others, "0xbb"), { commitment: 11n, cid: "bafy-a" });
  assert.deepEqual(duplicateSubmission(others, "0xaa"), { commitment: 22n, cid: "bafy-b" });
  assert.deepEqual(duplicateSubmission(others), { commitment: 11n, cid: "bafy-a" });
  assert.throws(() => duplicateSubmission([others[0]!], "0xAA"), /nothing to copy: no other trainer's update is revealed/);
  // commit-reveal: while commitments are taken, nothing is revealed
  assert.throws(() => duplicateSubmission([], "0xAA"), /updates are revealed only after the commit window closed/);
  assert.equal(attackStage("duplicate"), "submission");
  assert.equal(attackNeedsTraining("duplicate"), false);
});

test("mode names parse; every mode has a stage", () => {
  for (const m of ATTACK_MODES) {
    assert.equal(parseAttackMode(m), m);
    assert.ok(["data", "delta", "submission"].includes(attackStage(m)));
  }
  assert.throws(() => parseAttackMode("nope"), /one of sign-flip, scale/);
  assert.deepEqual(Array.from(attackDelta("sign-flip", honest, { clipBound: 0.5 })), [-0.5, 0.25, 0, -0.125, 0.5, -0.5]);
});
