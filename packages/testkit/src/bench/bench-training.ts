#!/usr/bin/env node
/**
 * Measures one round of local training: node packages/testkit/src/bench/bench-training.ts [--spec packages/trainer/examples/mnist-mlp.json]
 * [--samples 6000] [--epochs 1] [--backend wasm|cpu|tensorflow]. Uses the mnist package's digits.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Command } from "commander";
import {
  selectBackend,
  type BackendName,
  evaluateAccuracy,
  initialWeights,
  trainLocally,
  loadMnistPackageDigits,
  MNIST_PIXELS,
  permutation,
  seededRandom,
  type Dataset,
} from "@fedmarket/ml";
import { parseModelSpec, REPO_ROOT } from "@fedmarket/protocol";

const opts = new Command()
  .option("--spec <file>", "model spec", path.join(REPO_ROOT, "packages", "trainer", "examples", "mnist-mlp.json"))
  .option("--samples <n>", "training samples", "6000")
  .option("--epochs <n>", "override the spec's epochs")
  .option("--backend <name>", "force a backend")
  .option("--yield-every <mode>", "auto | batch | epoch | never", "auto")
  .parse()
  .opts<{ spec: string; samples: string; epochs?: string; backend?: BackendName; yieldEvery: "auto" | "never" }>();

const info = await selectBackend(opts.backend ? { prefer: [opts.backend] } : {});
const parsed = parseModelSpec(await readFile(opts.spec, "utf8"), opts.spec);
const spec = opts.epochs ? { ...parsed.spec, training: { ...parsed.spec.training, epochs: Number(opts.epochs) } } : parsed.spec;
const digits = loadMnistPackageDigits();
const order = permutation(digits.count, seededRandom(1));
const take = (from: number, to: number, name: string): Dataset => {
  const idx = order.subarray(from, to);
  const features = new Float32Array(idx.length * MNIST_PIXELS);
  const labels = new Int32Array(idx.length);
  idx.forEach((i, k) => {
    for (let p = 0; p < MNIST_PIXELS; p++) features[k * MNIST_PIXELS + p] = (digits.images[i * MNIST_PIXELS + p] as number) / 255;
    labels[k] = digits.labels[i] as number;
  });
  return { features, labels, count: idx.length, sampleShape: [...spec.inputShape], source: name };
};
const n = Number(opts.samples);
const train = take(0, n, "train");
const test = take(n, Math.min(digits.count, n + 2000), "test");
const global = initialWeights(info.tf, spec, 1);
const before = evaluateAccuracy(info.tf, spec, global, test);
const result = await trainLocally({ tf: info.tf, spec, globalWeights: global, dataset: train, yieldEvery: opts.yieldEvery });
const local = global.map((g, i) => g + (result.delta[i] as number));
const after = evaluateAccuracy(info.tf, spec, local, test);
console.log(
  JSON.stringify(
    {
      backend: result.backend,
      spec: spec.name,
      parameters: result.parameters,
      samples: result.samples,
      epochs: result.epochs,
      durationMs: Math.round(result.durationMs),
      samplesPerSecond: Math.round(result.samplesPerSecond),
      epochLosses: result.epochLosses.map((l) => +l.toFixed(4)),
      testAccuracyBefore: before,
      testAccuracyAfter: after,
      clippedCount: result.clippedCount,
      maxAbsDelta: +result.maxAbsDelta.toFixed(5),
    },
    null,
    2,
  ),
);
