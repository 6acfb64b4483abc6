/**
 * The demo's model and data: a softmax regression on real MNIST digits downsampled to 10x10
 * (D = 100 * 10 + 10 = 1,010 parameters: 8 chunk proofs per round at CHUNK = 128), split the way
 * `make-mnist-partitions` splits (10 % stratified held-out test set, Dirichlet(alpha) non-IID
 * partitions of the rest), written as IDX folders that the trainer node loads like any user's data.
 *
 * Why not the 784-32-10 MLP (D = 25,450): 199 chunk proofs per round, ~5 min of proving per round
 * on 2 cores, 25 min for 5 rounds; the 10x10 softmax keeps the whole demo within minutes while
 * every step (training, commitments, Multi-Krum, Groth16 proofs, payouts) stays the real one.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  encodeIdx,
  IDX_IMAGES_FILE,
  IDX_LABELS_FILE,
  labelHistogram,
  loadMnistPackageDigits,
  type Dataset,
  seededRandom,
} from "@fedmarket/ml";
import { dirichletPartition, stratifiedHoldout } from "../data/mnist-partitions.ts";
import type { CircuitConfig } from "@fedmarket/core";

/** The demo circuits (circuits/main/*_k8_c128_b8_g24.circom). */
export const DEMO_CIRCUIT: CircuitConfig = { kMax: 8, chunk: 128, updateBits: 8, modelBits: 24 };

const SOURCE_SIDE = 28;
/** Side of the downsampled digits. */
export const DEMO_SIDE = 10;
const CLASSES = 10;
/** MNIST digits sit in a 20x20 box centred in the 28x28 frame: crop the 4-pixel margin, then 2x2 mean. */
const MARGIN = 4;
const POOL = 2;

/** The demo's model spec (trainers download it from IPFS; its circuit section names the demo circuits). */
export function demoModelSpec(seed: number): Record<string, unknown> {
  return {
    format: "fedmarket-model-spec/1",
    name: `mnist-${DEMO_SIDE}x${DEMO_SIDE}-softmax`,
    inputShape: [DEMO_SIDE * DEMO_SIDE],
    labels: Array.from({ length: CLASSES }, (_, i) => String(i)),
    layers: [{ type: "dense", units: CLASSES, activation: "softmax" }],
    training: { epochs: 2, batchSize: 32, learningRate: 0.5, optimizer: "sgd" },
    // B = 8: scale 2^10 and clip bound 127 / 1024, so |q| <= 127 fits 8 bits.
    quantization: { scale: 1024, clipBound: 127 / 1024 },
    circuit: DEMO_CIRCUIT,
    seed,
  };
}

/** 28x28 digit (0..255) -> 10x10 (0..255): crop the margin, average 2x2 blocks. */
export function downsampleDigit(images: Uint8Array, index: number, out: Uint8Array, outOffset: number): void {
  const base = index * SOURCE_SIDE * SOURCE_SIDE;
  for (let y = 0; y < DEMO_SIDE; y++) {
    for (let x = 0; x < DEMO_SIDE; x++) {
      let sum = 0;
      for (let dy = 0; dy < POOL; dy++) {
        for (let dx = 0; dx < POOL; dx++) {
          sum += images[base + (MARGIN + y * POOL + dy) * SOURCE_SIDE + MARGIN + x * POOL + dx] as number;
        }
      }
      out[outOffset + y * DEMO_SIDE + x] = Math.round(sum / (POOL * POOL));
    }
  }
}

export interface DemoData {
  /** IDX folder of each trainer's partition. */
  readonly trainerDirs: readonly string[];
  /** Samples per class of each partition. */
  readonly histograms: readonly (readonly number[])[];
  /** The held-out test split, in memory (pixels scaled to [0, 1]). */
  readonly test: Dataset;
}

/** Writes `trainers` non-IID partitions under `dir` and returns them with the test split. */
export async function prepareDemoData(dir: string, o: { trainers: number; alpha: number; seed: number }): Promise<DemoData> {
  const digits = loadMnistPackageDigits();
  const rng = seededRandom(o.seed);
  const { kept, heldOut } = stratifiedHoldout(digits.labels, CLASSES, 0.1, rng);
  const keptLabels = kept.map((i) => digits.labels[i] as number);
  const parts = dirichletPartition(keptLabels, CLASSES, { trainers: o.trainers, alpha: o.alpha, seed: o.seed, minSamples: 50 }, rng).map(
    (p) => p.map((k) => kept[k] as number),
  );
  const pixels = DEMO_SIDE * DEMO_SIDE;
  const subset = (indices: readonly number[]): { images: Uint8Array; labels: Uint8Array } => {
    const images = new Uint8Array(indices.length * pixels);
    const labels = new Uint8Array(indices.length);
    indices.forEach((i, k) => {
      downsampleDigit(digits.images, i, images, k * pixels);
      labels[k] = digits.labels[i] as number;
    });
    return { images, labels };
  };
  const trainerDirs: string[] = [];
  const histograms: number[][] = [];
  for (const [t, p] of parts.entries()) {
    const folder = path.join(dir, `trainer-${t}`);
    await mkdir(folder, { recursive: true });
    const { images, labels } = subset(p);
    await writeFile(path.join(folder, IDX_IMAGES_FILE), encodeIdx("u8", [p.length, DEMO_SIDE, DEMO_SIDE], images));
    await writeFile(path.join(folder, IDX_LABELS_FILE), encodeIdx("u8", [p.length], labels));
    trainerDirs.push(folder);
    histograms.push(labelHistogram({ labels: Int32Array.from(labels) }, CLASSES));
  }
  const t = subset(heldOut);
  const test: Dataset = {
    features: Float32Array.from(t.images, (v) => v / 255),
    labels: Int32Array.from(t.labels),
    count: heldOut.length,
    sampleShape: [pixels],
    source: "mnist test split (10x10)",
  };
  return { trainerDirs, histograms, test };
}
