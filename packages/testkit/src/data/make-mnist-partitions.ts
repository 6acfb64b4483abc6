#!/usr/bin/env node
/**
 * CLI: node packages/testkit/src/data/make-mnist-partitions.ts --out data/mnist --trainers 5 --alpha 0.5 --seed 1
 * (see mnist-partitions.ts for what it writes).
 */
import { Command, InvalidArgumentError } from "commander";
import { makeMnistPartitions } from "./mnist-partitions.ts";

function number(name: string, check: (n: number) => boolean) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || !check(n)) throw new InvalidArgumentError(`invalid ${name}: ${value}`);
    return n;
  };
}

const program = new Command()
  .name("make-mnist-partitions")
  .description("Write the mnist package's 10,000 digits as IDX files plus non-IID Dirichlet partitions per trainer.")
  .requiredOption("-o, --out <dir>", "output folder")
  .option(
    "-t, --trainers <n>",
    "number of trainer partitions",
    number("trainers", (n) => Number.isInteger(n) && n >= 1),
    5,
  )
  .option(
    "-a, --alpha <x>",
    "Dirichlet concentration (small = more skewed)",
    number("alpha", (n) => n > 0),
    0.5,
  )
  .option(
    "-s, --seed <n>",
    "random seed",
    number("seed", (n) => Number.isSafeInteger(n) && n >= 0),
    1,
  )
  .option(
    "--test-fraction <x>",
    "fraction of each class held out in test/",
    number("test fraction", (n) => n >= 0 && n < 1),
    0.1,
  )
  .option(
    "--min-samples <n>",
    "minimum samples per trainer",
    number("min samples", (n) => Number.isInteger(n) && n >= 0),
    10,
  )
  .parse();

const opts = program.opts<{ out: string; trainers: number; alpha: number; seed: number; testFraction: number; minSamples: number }>();
const manifest = await makeMnistPartitions({
  outDir: opts.out,
  trainers: opts.trainers,
  alpha: opts.alpha,
  seed: opts.seed,
  testFraction: opts.testFraction,
  minSamples: opts.minSamples,
});
console.log(`wrote ${opts.out}: all ${manifest.all.count}, test ${manifest.test.count}`);
for (const p of manifest.partitions)
  console.log(`  ${p.folder.padEnd(11)} ${String(p.count).padStart(5)} samples, per class [${p.histogram.join(" ")}]`);
