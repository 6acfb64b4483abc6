/**
 * Model specs for tests, shared by the packages' test files. Exported as the `@fedmarket/protocol/test-specs`
 * subpath, not from the package's entry: production code has no use for them. They live here, not in
 * @fedmarket/testkit, because every package whose tests use them already depends on @fedmarket/protocol,
 * while testkit depends on those packages (aggregator, audit, cli) and cannot be theirs.
 */
import type { CircuitSpec, ModelSpec } from "./model-spec.ts";

/**
 * The K4/C16 test model: a softmax regression, 12 features -> 4 labels, D = 12 x 4 + 4 = 52 parameters,
 * 4 chunk proofs of 16; its circuit (K_MAX 4, CHUNK 16, B 16, BG 32) is the one of the committed k4-c16
 * verifiers (contracts/verifiers/generated/*_k4_c16) and of the DEV circuits `fedmarket-aggregator setup`
 * prepares for them. One local epoch: the spec's training values become round 0's on-chain
 * hyper-parameters, and the tests that use it exercise projects, circuits and proofs, not the model's
 * quality, so the least training a node could do is enough. examples/specs/k4-c16.json, the quick
 * start's spec for the same verifiers, trains 2 epochs from initial weights of seed 1 for a better model.
 */
export const K4_TEST_SPEC: ModelSpec & { readonly name: string; readonly circuit: CircuitSpec } = {
  format: "fedmarket-model-spec/1",
  name: "logistic-12-4",
  inputShape: [12],
  labels: ["a", "b", "c", "d"],
  layers: [{ type: "dense", units: 4, activation: "softmax" }],
  training: { epochs: 1, batchSize: 16, learningRate: 0.5, optimizer: "sgd" },
  quantization: { scale: 4096, clipBound: 1 },
  circuit: { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 },
};
