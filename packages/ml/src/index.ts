/**
 * @fedmarket/ml: everything TensorFlow.js, shared by the trainer node, the aggregator's round
 * report, the audit's accuracy check and the demo.
 *
 * - backend.ts (+ wasm-kernels.ts): tfjs-node, else WASM, else CPU
 * - model-builder.ts: a `fedmarket-model-spec/1` spec -> TF.js model
 * - model-weights.ts: a TF.js model's weights as flat vectors (the protocol's order): the trainable
 *   layers (update, global model) and the frozen backbone; splitting a pretrained network's weights
 * - data/: IDX, CSV, JSON-lines and PNG-folder loaders; the `mnist` package's digits
 * - local-training.ts: one round of local training -> clipped float delta; evaluation; initial weights
 * - reference-direction.ts: the owner's reference direction (minus the validation loss gradient)
 * - random.ts: seeded randomness (shuffles, Gaussian, Dirichlet)
 */
export * from "./model-builder.ts";
export * from "./backend.ts";
export * from "./model-weights.ts";
export * from "./data/index.ts";
export * from "./random.ts";
export * from "./local-training.ts";
export * from "./reference-direction.ts";
