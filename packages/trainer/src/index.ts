/**
 * @fedmarket/trainer: the trainer node's building blocks.
 *
 * The formats shared with the aggregator (model spec, weights file, update payload, envelope,
 * blob storage, chain client) live in @fedmarket/protocol.
 *
 * - model-builder.ts: a `fedmarket-model-spec/1` spec -> TF.js model
 * - backend.ts (+ wasm-kernels.ts): tfjs-node, else WASM, else CPU
 * - model-weights.ts: a TF.js model's weights as one flat vector (the protocol's order)
 * - data/: IDX, CSV, JSON-lines and PNG-folder loaders
 * - local-training.ts: one round of local training -> clipped float delta
 * - update.ts: quantization and commitments (via @fedmarket/core)
 * - node/: the trainer node (config, state file, round loop) behind the `fedmarket-trainer` CLI
 * - tools/: MNIST partitions, training benchmark
 */
export * from "./model-builder.ts";
export * from "./backend.ts";
export * from "./model-weights.ts";
export * from "./data/index.ts";
export * from "./random.ts";
export * from "./local-training.ts";
export * from "./update.ts";
export { makeMnistPartitions, dirichletPartition, loadMnistPackageDigits } from "./tools/mnist-partitions.ts";
export { syntheticBlobsCsv } from "./tools/synthetic-data.ts";
