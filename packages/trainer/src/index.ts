/**
 * @fedmarket/trainer: the trainer node's building blocks.
 *
 * The formats shared with the aggregator (model spec, weights file, sealed update and its codec,
 * blob storage, chain client) live in @fedmarket/protocol.
 *
 * The ML layer (TensorFlow.js backend, model builder, data loaders, local training) lives in
 * @fedmarket/ml; development tools (local chain, demo projects, attack wrappers, benchmarks) live
 * in the private @fedmarket/testkit.
 *
 * - update.ts: quantization (via @fedmarket/core); sealing and commitments are the protocol's `sealUpdate`
 * - node/: the trainer node (config, state file, round loop) behind the `fedmarket-trainer` CLI
 */
export * from "./update.ts";
export * from "./node/config.ts";
export * from "./node/state.ts";
export * from "./node/setup.ts";
export * from "./node/trainer-node.ts";
export * from "./node/update-producer.ts";
export * from "./node/errors.ts";
export type { ClaimResult, JoinResult } from "./node/account.ts";
