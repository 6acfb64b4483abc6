import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createRequire } from "node:module";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { dirichletPartition, makeMnistPartitions } from "../src/data/mnist-partitions.ts";
import { loadMnistPackageDigits, MNIST_PIXELS, loadDataset, labelHistogram } from "@fedmarket/ml";
import { PACKAGE_DIR, withTempDir } from "./helpers.ts";

const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

test("the mnist package's 10,000 digits become 8-bit images", () => {
  const d = loadMnistPackageDigits();
  assert.equal(d.count, 10000);
  assert.equal(d.images.length, 10000 * MNIST_PIXELS);
  const raw = (createRequire(import.meta.url)("mnist") as { raw: number[] }[])[0]!.raw;
  assert.equal(d.images[200], Math.round(raw[200]! * 255));
  assert.deepEqual(labelHistogram({ labels: Int32Array.from(d.labels) }, 10), [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
});

test("Dirichlet partition: disjoint, complete, deterministic, skew follows alpha", () => {
  const labels = Array.from({ length: 5000 }, (_, i) => i % 10);
  const parts = dirichletPartition(labels, 10, { trainers: 8, alpha: 0.1, seed: 3 });
  const all = parts.flat().sort((a, b) => a - b);
  assert.deepEqual(
    all,
    Array.from({ length: 5000 }, (_, i) => i),
  );
  assert.deepEqual(dirichletPartition(labels, 10, { trainers: 8, alpha: 0.1, seed: 3 }), parts);
  assert.notDeepEqual(dirichletPartition(labels, 10, { trainers: 8, alpha: 0.1, seed: 4 }), parts);
  // skew: mean (over trainers) share of the trainer's largest class
  const topShare = (ps: number[][]) =>
    ps.reduce((s, p) => {
      const h = new Array<number>(10).fill(0);
      for (const i of p) h[labels[i]!]! += 1;
      return s + Math.max(...h) / p.length;
    }, 0) / ps.length;
  const skewed = topShare(parts);
  const iid = topShare(dirichletPartition(labels, 10, { trainers: 8, alpha: 1000, seed: 3 }));
  assert.ok(skewed > 0.4, `alpha 0.1 top share ${skewed}`);
  assert.ok(iid < 0.15, `alpha 1000 top share ${iid}`);
  assert.ok(dirichletPartition(labels, 10, { trainers: 8, alpha: 0.05, seed: 3, minSamples: 100 }).every((p) => p.length >= 100));
  assert.throws(() => dirichletPartition(labels, 10, { trainers: 0, alpha: 1, seed: 1 }), /trainers/);
  assert.throws(() => dirichletPartition(labels, 10, { trainers: 2, alpha: 0, seed: 1 }), /alpha/);
});

test("writes IDX partitions that the ordinary loader reads; same seed, same bytes", async () => {
  await withTempDir(async (dir) => {
    const a = await makeMnistPartitions({ outDir: path.join(dir, "a"), trainers: 4, alpha: 0.5, seed: 11, minSamples: 10 });
    const b = await makeMnistPartitions({ outDir: path.join(dir, "b"), trainers: 4, alpha: 0.5, seed: 11, minSamples: 10 });
    assert.deepEqual(b.partitions, a.partitions);
    assert.equal(a.all.count, 10000);
    assert.equal(a.test.count + a.partitions.reduce((s, p) => s + p.count, 0), 10000);
    assert.equal(a.test.histogram[1], Math.round(1127 * 0.1));
    const manifest = JSON.parse(await readFile(path.join(dir, "a", "partitions.json"), "utf8"));
    assert.equal(manifest.format, "fedmarket-mnist-partitions/1");
    for (const p of a.partitions) {
      const ds = await loadDataset(path.join(dir, "a", p.folder), { inputShape: [784], labels: DIGITS });
      assert.equal(ds.count, p.count);
      assert.deepEqual(labelHistogram(ds, 10), p.histogram);
      const max = ds.features.reduce((m, v) => Math.max(m, v), 0);
      assert.ok(max <= 1 && max > 0.9);
    }
    const cnn = await loadDataset(path.join(dir, "a", "test"), { inputShape: [28, 28, 1], labels: DIGITS });
    assert.deepEqual(cnn.sampleShape, [28, 28, 1]);
  });
});

test("CLI writes the folder and prints a summary", async () => {
  await withTempDir(async (dir) => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      path.join(PACKAGE_DIR, "src/data/make-mnist-partitions.ts"),
      "--out",
      dir,
      "--trainers",
      "3",
      "--alpha",
      "1",
      "--seed",
      "2",
    ]);
    assert.match(stdout, /all 10000, test 999/);
    assert.match(stdout, /trainer-2/);
    await assert.rejects(
      promisify(execFile)(process.execPath, [path.join(PACKAGE_DIR, "src/data/make-mnist-partitions.ts"), "--out", dir, "--alpha", "-1"]),
      /invalid alpha/,
    );
  });
});
