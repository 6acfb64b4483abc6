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
import { labelHistogram, loadDataset } from "@fedmarket/ml";
import {
  DEMO_CIRCUIT,
  demoBackboneSpec,
  demoModelSpec,
  OWNER_DIGITS_PER_CLASS,
  OWNER_VALIDATION_PER_CLASS,
  prepareDemoData,
} from "../../src/demo/demo-data.ts";
import { formatRound, honestLeftOutNote, type DemoRound } from "../../src/demo/demo-report.ts";

test("the demo spec freezes the owner's CNN backbone and trains a 650-parameter head in 6 chunks of the K8/C128 circuits", () => {
  const cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
  const { spec, summary } = validateModelSpec(demoModelSpec(1, cid));
  assert.equal(summary.parameters, 64 * 10 + 10);
  assert.equal(spec.frozenWeights, cid);
  assert.deepEqual(spec.circuit, DEMO_CIRCUIT);
  assert.equal(Math.ceil(summary.parameters / DEMO_CIRCUIT.chunk), 6);
  // The backbone spec is the same network with every layer trainable: the frozen parameters become trainable.
  const whole = validateModelSpec(demoBackboneSpec(1)).summary;
  assert.equal(whole.frozenParameters, 0);
  assert.equal(whole.parameters, summary.parameters + summary.frozenParameters);
  // Without the CID (before the owner pins the backbone) the spec is incomplete.
  assert.throws(() => validateModelSpec(demoModelSpec(1)), /frozenWeights/);
});

test("partitions are non-IID IDX folders the trainer node loads; the test split is held out", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-demo-data-"));
  try {
    const data = await prepareDemoData(dir, { trainers: 8, alpha: 0.5, seed: 1 });
    assert.equal(data.trainerDirs.length, 8);
    const sizes = data.histograms.map((h) => h.reduce((a, b) => a + b, 0));
    assert.equal(sizes.reduce((a, b) => a + b, 0) + data.owner.count + data.ownerValidation.count + data.test.count, 10_000);
    assert.ok(data.test.count > 900 && data.test.count < 1100);
    // The owner's own digits: skewed towards 0-4, as OWNER_DIGITS_PER_CLASS says.
    assert.deepEqual(labelHistogram(data.owner, 10), [...OWNER_DIGITS_PER_CLASS]);
    // Its validation digits (its reference's loss): balanced, and not its pretraining digits.
    assert.deepEqual(labelHistogram(data.ownerValidation, 10), new Array<number>(10).fill(OWNER_VALIDATION_PER_CLASS));
    const spec = validateModelSpec(demoBackboneSpec(1)).spec;
    const ds = await loadDataset(data.trainerDirs[0] as string, { inputShape: spec.inputShape, labels: spec.labels });
    assert.equal(ds.count, sizes[0]);
    assert.equal(ds.features.length, ds.count * 28 * 28);
    assert.ok(ds.features.every((v) => v >= 0 && v <= 1));
    // Non-IID: some trainer lacks most of some class compared with an even split.
    assert.ok(data.histograms.some((h) => Math.min(...h) < Math.max(...h) / 10));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the round table names attackers and their proven status; honest slots left out get a note", () => {
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
  // Every honest slot counted: nothing to explain.
  assert.equal(honestLeftOutNote([round]), null);
  const leftOut: DemoRound = {
    ...round,
    round: 1,
    scores: [
      { trainer: "trainer-0", role: "honest", slot: 0, status: "not-aggregated", score: "0", rewardEth: 0 },
      ...round.scores.slice(1),
    ],
  };
  assert.match(honestLeftOutNote([round, leftOut]) ?? "", /^honest updates not counted \(trainer-0 in round 1\)/);
});
