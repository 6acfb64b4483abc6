/**
 * The demo's model and data: real MNIST digits (the `mnist` package's 10,000, 28x28), split into a
 * 10 % stratified held-out test set, the owner's own split (`OWNER_DIGITS_PER_CLASS`, skewed: the
 * data the owner pretrains its backbone on) and Dirichlet(alpha) non-IID partitions of what is left
 * for the trainers, written as IDX folders that the trainer node loads like any user's data. The
 * three are disjoint.
 *
 * The model is a small CNN whose convolutions and hidden layer are the owner's frozen backbone
 * (pretrained on the owner's split, pinned by CID in the spec) and whose output layer is the head the
 * market trains: D = 64 * 10 + 10 = 650 trainable parameters, 6 chunk proofs per round at CHUNK = 128.
 * The cost of a round's proofs grows with the trained parameters only, so a real network costs what
 * its head costs. (Training the whole 784-32-10 MLP instead would take 199 chunk proofs per round.)
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  encodeIdx,
  IDX_IMAGES_FILE,
  IDX_LABELS_FILE,
  labelHistogram,
  loadMnistPackageDigits,
  MNIST_SIDE,
  type Dataset,
  permutation,
  seededRandom,
} from "@fedmarket/ml";
import { dirichletPartition, stratifiedHoldout } from "../data/mnist-partitions.ts";
import type { CircuitConfig } from "@fedmarket/core";

/** The demo circuits (circuits/main/*_k8_c128_b8_g24.circom). */
export const DEMO_CIRCUIT: CircuitConfig = { kMax: 8, chunk: 128, updateBits: 8, modelBits: 24 };

const CLASSES = 10;
const PIXELS = MNIST_SIDE * MNIST_SIDE;
/**
 * The owner's own digits per class: 600 of each of 0-4 and none of 5-9 (3,000). The owner buys what
 * it lacks: its model cannot tell 5-9 apart (51 % on the test digits), and the trainers' data (the
 * other 5,500 digits, every class) is what the head is trained on. (Until stop 35 the owner had
 * 150 of each of 5-9: its head started at 97.0 %, an optimum no update moved the owner's
 * validation loss away from by the reference's margin, so the rule counted nobody and split every
 * round equally, attackers included.)
 */
export const OWNER_DIGITS_PER_CLASS: readonly number[] = [600, 600, 600, 600, 600, 0, 0, 0, 0, 0];
/**
 * The owner's validation digits per class (500, balanced: a small labelled sample of what it wants
 * the model to do, as FLTrust's root dataset), disjoint from its pretraining split: the owner's
 * reference `v` is minus the gradient of the loss on them. On the pretraining split itself `v` would
 * be the gradient at the owner's own optimum, about zero, aligned with no update.
 */
export const OWNER_VALIDATION_PER_CLASS = 50;
/** Width of the backbone's last (frozen) layer: the head's inputs. */
const FEATURES = 64;

/** The demo network's layers; `frozen` marks the owner's backbone (every layer but the output). */
function demoLayers(frozen: boolean): Record<string, unknown>[] {
  const backbone = (layer: Record<string, unknown>): Record<string, unknown> => (frozen ? { ...layer, trainable: false } : layer);
  return [
    backbone({ type: "conv2d", filters: 16, kernelSize: 5, activation: "relu" }),
    { type: "maxPooling2d", poolSize: 2 },
    backbone({ type: "conv2d", filters: 32, kernelSize: 5, activation: "relu" }),
    { type: "maxPooling2d", poolSize: 2 },
    { type: "flatten" },
    backbone({ type: "dense", units: FEATURES, activation: "relu" }),
    { type: "dense", units: CLASSES, activation: "softmax" },
  ];
}

function demoSpecBase(seed: number, frozen: boolean): Record<string, unknown> {
  return {
    format: "fedmarket-model-spec/1",
    name: frozen ? "mnist-cnn-head" : "mnist-cnn",
    inputShape: [MNIST_SIDE, MNIST_SIDE, 1],
    labels: Array.from({ length: CLASSES }, (_, i) => String(i)),
    layers: demoLayers(frozen),
    // Fine-tuning a pretrained head: small steps (larger ones overshoot on non-IID partitions).
    training: { epochs: 1, batchSize: 32, learningRate: 0.01, optimizer: "sgd" },
    // B = 8: scale 2^10 and clip bound 127 / 1024, so |q| <= 127 fits 8 bits.
    quantization: { scale: 1024, clipBound: 127 / 1024 },
    circuit: DEMO_CIRCUIT,
    seed,
  };
}

/**
 * The owner's whole network, every layer trainable: what it pretrains on its own split before the
 * project exists (ml `splitTrainedWeights` then separates the backbone from the head).
 */
export function demoBackboneSpec(seed: number): Record<string, unknown> {
  return demoSpecBase(seed, false);
}

/**
 * The project's model spec (trainers download it from IPFS; its circuit section names the demo
 * circuits): the same network with the backbone frozen at the weights pinned at `frozenWeightsCid`
 * (left out until the owner has pinned them: `createDemoProject` fills it in).
 */
export function demoModelSpec(seed: number, frozenWeightsCid?: string): Record<string, unknown> {
  return { ...demoSpecBase(seed, true), ...(frozenWeightsCid === undefined ? {} : { frozenWeights: frozenWeightsCid }) };
}

/** Human-readable description of the demo model (bench/demo.json `model`). */
export const DEMO_MODEL_DESCRIPTION = {
  backbone: "conv5x5x16-relu, maxpool2, conv5x5x32-relu, maxpool2, flatten, dense64-relu: pretrained by the owner on its own split, frozen",
  head: "dense10-softmax on the backbone's 64 features: trained by the market",
} as const;

export interface DemoData {
  /** IDX folder of each trainer's partition. */
  readonly trainerDirs: readonly string[];
  /** Samples per class of each partition. */
  readonly histograms: readonly (readonly number[])[];
  /** The owner's own split (pixels scaled to [0, 1]), disjoint from the trainers' and the test split. */
  readonly owner: Dataset;
  /** The owner's validation digits (balanced), disjoint from every other split: its reference's loss. */
  readonly ownerValidation: Dataset;
  /** The held-out test split, in memory (pixels scaled to [0, 1]). */
  readonly test: Dataset;
}

/** Writes `trainers` non-IID partitions under `dir` and returns them with the owner's and the test split. */
export async function prepareDemoData(dir: string, o: { trainers: number; alpha: number; seed: number }): Promise<DemoData> {
  const digits = loadMnistPackageDigits();
  const rng = seededRandom(o.seed);
  const { kept, heldOut } = stratifiedHoldout(digits.labels, CLASSES, 0.1, rng);
  // The owner's digits: the first ones of each class in a seeded shuffle of the non-test digits.
  // Then its validation digits, the next ones of each class.
  const quota = [...OWNER_DIGITS_PER_CLASS];
  const validationQuota = new Array<number>(CLASSES).fill(OWNER_VALIDATION_PER_CLASS);
  const ownerIndices: number[] = [];
  const validationIndices: number[] = [];
  const pool: number[] = [];
  for (const k of permutation(kept.length, rng)) {
    const i = kept[k] as number;
    const c = digits.labels[i] as number;
    if ((quota[c] ?? 0) > 0) {
      quota[c] = (quota[c] as number) - 1;
      ownerIndices.push(i);
    } else if ((validationQuota[c] ?? 0) > 0) {
      validationQuota[c] = (validationQuota[c] as number) - 1;
      validationIndices.push(i);
    } else pool.push(i);
  }
  const poolLabels = pool.map((i) => digits.labels[i] as number);
  const parts = dirichletPartition(poolLabels, CLASSES, { trainers: o.trainers, alpha: o.alpha, seed: o.seed, minSamples: 50 }, rng).map(
    (p) => p.map((k) => pool[k] as number),
  );
  const subset = (indices: readonly number[]): { images: Uint8Array; labels: Uint8Array } => {
    const images = new Uint8Array(indices.length * PIXELS);
    const labels = new Uint8Array(indices.length);
    indices.forEach((i, k) => {
      images.set(digits.images.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
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
    await writeFile(path.join(folder, IDX_IMAGES_FILE), encodeIdx("u8", [p.length, MNIST_SIDE, MNIST_SIDE], images));
    await writeFile(path.join(folder, IDX_LABELS_FILE), encodeIdx("u8", [p.length], labels));
    trainerDirs.push(folder);
    histograms.push(labelHistogram({ labels: Int32Array.from(labels) }, CLASSES));
  }
  const inMemory = (indices: readonly number[], source: string): Dataset => {
    const t = subset(indices);
    return {
      features: Float32Array.from(t.images, (v) => v / 255),
      labels: Int32Array.from(t.labels),
      count: indices.length,
      sampleShape: [MNIST_SIDE, MNIST_SIDE, 1],
      source,
    };
  };
  // Sorted, so the owner's split (and the backbone's cache key) does not depend on the shuffle order.
  ownerIndices.sort((a, b) => a - b);
  return {
    trainerDirs,
    histograms,
    owner: inMemory(ownerIndices, "mnist owner split"),
    ownerValidation: inMemory(
      [...validationIndices].sort((a, b) => a - b),
      "mnist owner validation split",
    ),
    test: inMemory(heldOut, "mnist test split"),
  };
}
