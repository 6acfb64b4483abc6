/**
 * The demo's data and report pieces (the end-to-end demo itself needs the 2^15 dev setup of the
 * K8 circuits and minutes of proving: run `npm run demo`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { validateModelSpec } from "@fedmarket/protocol";
import { loadDataset } from "@fedmarket/ml";
import { DEMO_CIRCUIT, DEMO_SIDE, demoModelSpec, downsampleDigit, prepareDemoData } from "../../src/demo/demo-data.ts";
import { formatRound, type DemoRound } from "../../src/demo/demo-report.ts";

test("downsampling crops the 4-pixel margin and averages 2x2 blocks", () => {
  const image = new Uint8Array(28 * 28);
  // A 2x2 block of 200 at the top-left of the cropped 20x20 box, one pixel of 100 at its bottom-right.
  for (const [y, x] of [
    [4, 4],
    [4, 5],
    [5, 4],
    [5, 5],
  ] as const)
    image[y * 28 + x] = 200;
  image[23 * 28 + 23] = 100;
  image[0] = 255; // in the margin: ignored
  const out = new Uint8Array(DEMO_SIDE * DEMO_SIDE + 3);
  downsampleDigit(image, 0, out, 3);
  assert.equal(out[3], 200);
  assert.equal(out[3 + DEMO_SIDE * DEMO_SIDE - 1], 25);
  assert.equal(
    out.slice(3).reduce((a, b) => a + b, 0),
    225,
  );
});

test("the demo spec is valid and fits 8 chunks of the K8/C128 circuits", () => {
  const { spec, summary } = validateModelSpec(demoModelSpec(1));
  assert.equal(summary.parameters, 1010);
  assert.deepEqual(spec.circuit, DEMO_CIRCUIT);
  assert.equal(Math.ceil(summary.parameters / DEMO_CIRCUIT.chunk), 8);
});

test("partitions are non-IID IDX folders the trainer node loads; the test split is held out", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-demo-data-"));
  try {
    const data = await prepareDemoData(dir, { trainers: 8, alpha: 0.5, seed: 1 });
    assert.equal(data.trainerDirs.length, 8);
    const sizes = data.histograms.map((h) => h.reduce((a, b) => a + b, 0));
    assert.equal(sizes.reduce((a, b) => a + b, 0) + data.test.count, 10_000);
    assert.ok(data.test.count > 900 && data.test.count < 1100);
    const spec = validateModelSpec(demoModelSpec(1)).spec;
    const ds = await loadDataset(data.trainerDirs[0] as string, { inputShape: spec.inputShape, labels: spec.labels });
    assert.equal(ds.count, sizes[0]);
    assert.equal(ds.features.length, ds.count * DEMO_SIDE * DEMO_SIDE);
    assert.ok(ds.features.every((v) => v >= 0 && v <= 1));
    // Non-IID: some trainer lacks most of some class compared with an even split.
    assert.ok(data.histograms.some((h) => Math.min(...h) < Math.max(...h) / 10));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the round table names attackers and their proven status", () => {
  const round: DemoRound = {
    round: 0,
    accuracy: 0.5,
    proofs: 9,
    proofMs: 40_000,
    trainMs: 2000,
    aggregateMs: 45_000,
    wallMs: 47_000,
    gasUsed: 2_100_000,
    gas: [{ tx: "finalizeRound", chunkProofs: 8, gasUsed: 2_100_000 }],
    outliers: [{ trainer: "trainer-5", role: "sign-flip", status: "not-aggregated" }],
    scores: [
      { trainer: "trainer-0", role: "honest", slot: 0, status: "inlier", score: "123", rewardEth: 1 },
      { trainer: "trainer-5", role: "sign-flip", slot: 5, status: "not-aggregated", score: "0", rewardEth: 0 },
    ],
  };
  const text = formatRound(round);
  assert.match(text, /accuracy 50\.0 %/);
  assert.match(text, /outliers caught: trainer-5 \(ATTACKER sign-flip, not-aggregated\)/);
  assert.match(text, /finalizeRound\[8\] 2,100,000/);
});
