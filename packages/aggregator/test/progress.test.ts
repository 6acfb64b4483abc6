/**
 * The proving progress at info level: the remaining time estimated from the proofs made so far, and
 * the one line per proof (progress.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { etaMs, formatSeconds, proofProgressLine } from "../src/progress.ts";

test("formatSeconds: seconds below a minute, minutes and seconds above", () => {
  assert.equal(formatSeconds(0), "0 s");
  assert.equal(formatSeconds(42_400), "42 s");
  assert.equal(formatSeconds(59_600), "1 min 00 s");
  assert.equal(formatSeconds(185_000), "3 min 05 s");
  assert.equal(formatSeconds(-5), "0 s");
});

test("etaMs: the mean time of the proofs made so far, times the proofs left, shared by the workers", () => {
  assert.equal(etaMs({ provedMs: 0, made: 0, left: 9, workers: 2 }), undefined, "nothing measured yet");
  assert.equal(etaMs({ provedMs: 3_000, made: 1, left: 8, workers: 1 }), 24_000);
  assert.equal(etaMs({ provedMs: 12_000, made: 4, left: 5, workers: 2 }), 7_500, "two workers prove two at a time");
  assert.equal(etaMs({ provedMs: 27_000, made: 9, left: 0, workers: 2 }), 0);
  assert.equal(etaMs({ provedMs: 3_000, made: 1, left: 8, workers: 0 }), 24_000, "at least one worker");
});

test("proofProgressLine: proof k/N (which) in s; ETA, counting the reused proofs in k", () => {
  assert.equal(
    proofProgressLine({ done: 3, total: 9, what: "chunk 2", proofMs: 2_940, etaMs: 17_400 }),
    "proof 3/9 (chunk 2) in 2.9 s; ETA 17 s",
  );
  assert.equal(
    proofProgressLine({ done: 5, total: 9, what: "decision", proofMs: 1_200, etaMs: 95_000 }),
    "proof 5/9 (decision) in 1.2 s; ETA 1 min 35 s",
  );
  assert.equal(
    proofProgressLine({ done: 9, total: 9, what: "chunk 7", proofMs: 3_000, etaMs: 0 }),
    "proof 9/9 (chunk 7) in 3.0 s; all made",
  );
  assert.equal(
    proofProgressLine({ done: 1, total: 9, what: "chunk 0", proofMs: 3_000, etaMs: undefined }),
    "proof 1/9 (chunk 0) in 3.0 s; ETA unknown",
  );
});
