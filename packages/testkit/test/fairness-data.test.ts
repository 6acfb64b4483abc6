import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Dataset } from "@fedmarket/ml";
import { fairnessData } from "../src/bench/fairness/data.ts";

/** One key per digit (its label and pixels), to compare splits as sets. */
function keys(ds: Dataset): string[] {
  const width = ds.features.length / ds.count;
  return Array.from({ length: ds.count }, (_, i) =>
    createHash("sha256")
      .update(`${ds.labels[i]}:`)
      .update(Buffer.from(ds.features.buffer, ds.features.byteOffset + i * width * 4, width * 4))
      .digest("hex"),
  );
}

test("a fixed evaluation split: the same trainers and evaluation digits at every validation size, nested validation splits", () => {
  const options = { seed: 4, trainers: 8, alpha: 0.5, holdoutFraction: 0.25, evaluationDigits: 1000 };
  const small = fairnessData({ ...options, validationDigits: 500 });
  const large = fairnessData({ ...options, validationDigits: 1400 });
  assert.deepEqual(keys(small.evaluation), keys(large.evaluation));
  assert.deepEqual(
    small.trainSets.map((d) => keys(d)),
    large.trainSets.map((d) => keys(d)),
  );
  // Per-class rounding: within a digit per class of the asked sizes.
  assert.ok(Math.abs(small.evaluation.count - 1000) <= 10 && Math.abs(small.validation.count - 500) <= 10);
  assert.ok(Math.abs(large.validation.count - 1400) <= 10);
  const largeValidation = new Set(keys(large.validation));
  assert.ok(
    keys(small.validation).every((k) => largeValidation.has(k)),
    "the smaller validation split is part of the larger",
  );
  // The trainers keep the other 75 %; the rest of the hold-out (here about 100 digits) is unused.
  assert.ok(Math.abs(large.trainSets.reduce((s, d) => s + d.count, 0) - 7500) <= 10);
  // Disjoint from each other and from every trainer.
  const all = [...large.trainSets.flatMap((d) => keys(d)), ...largeValidation, ...keys(large.evaluation)];
  // The mnist package repeats a few images; the splits must not share any beyond those.
  assert.ok(new Set(all).size >= all.length - 5, `${all.length - new Set(all).size} repeated digits`);
  assert.throws(() => fairnessData({ ...options, validationDigits: 1600 }), /raise --holdout/);
});
