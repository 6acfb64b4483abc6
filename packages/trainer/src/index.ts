/**
 * @fedmarket/trainer: the trainer node's building blocks.
 *
 * - model-spec.ts / model-builder.ts: the `fedmarket-model-spec/1` JSON format and its TF.js model
 * - backend.ts (+ wasm-kernels.ts): tfjs-node, else WASM, else CPU
 * - weights-format.ts: flat weight vectors and the checksummed `.fmw` file format
 * - data/: IDX, CSV, JSON-lines and PNG-folder loaders
 * - local-training.ts: one round of local training -> clipped float delta
 * - update.ts: quantization and commitments (via @fedmarket/core)
 * - envelope.ts: multi-recipient X25519 + XChaCha20-Poly1305 encryption
 * - storage/: BlobStore on embedded Helia (offline, on disk) or a Kubo node
 * - tools/: MNIST partitions, training benchmark
 */
export * from "./model-spec.ts";
export * from "./model-builder.ts";
export * from "./backend.ts";
export * from "./weights-format.ts";
export * from "./data/index.ts";
export * from "./random.ts";
export * from "./local-training.ts";
export * from "./update.ts";
export * from "./envelope.ts";
export * from "./storage/index.ts";
export { makeMnistPartitions, dirichletPartition, loadMnistPackageDigits } from "./tools/mnist-partitions.ts";
