import { test } from "node:test";
import assert from "node:assert/strict";
import { validateModelSpec, parseModelSpec, ModelSpecError, featureCount } from "../src/model-spec.ts";
import { exampleSpec } from "./helpers.ts";

const base = () => exampleSpec("mnist-mlp") as Record<string, unknown>;

function expectError(raw: unknown, pathPart: string, messagePart: RegExp): void {
  assert.throws(
    () => validateModelSpec(raw),
    (err: unknown) => {
      assert.ok(err instanceof ModelSpecError, `expected ModelSpecError, got ${String(err)}`);
      assert.equal(err.path, pathPart);
      assert.match(err.message, messagePart);
      return true;
    },
  );
}

test("example specs validate and count parameters", () => {
  const logistic = validateModelSpec(exampleSpec("mnist-logistic"));
  assert.equal(logistic.summary.parameters, 784 * 10 + 10);
  const mlp = validateModelSpec(exampleSpec("mnist-mlp"));
  assert.equal(mlp.summary.parameters, 784 * 32 + 32 + 32 * 10 + 10);
  assert.equal(mlp.summary.loss, "categoricalCrossentropy");
  const cnn = validateModelSpec(exampleSpec("mnist-cnn"));
  // conv 3x3x1x8+8, pool -> 13x13x8, conv 3x3x8x16+16 -> 11x11x16, pool -> 5x5x16 = 400, dense 400*10+10
  assert.deepEqual(
    cnn.summary.layers.map((l) => l.outputShape),
    [[26, 26, 8], [13, 13, 8], [11, 11, 16], [5, 5, 16], [400], [10]],
  );
  assert.equal(cnn.summary.parameters, 80 + 1168 + 4010);
  assert.equal(featureCount(cnn.spec), 784);
});

test("defaults are filled in", () => {
  const { spec } = validateModelSpec(exampleSpec("mnist-cnn"));
  assert.deepEqual(spec.layers[0], {
    type: "conv2d",
    filters: 8,
    kernelSize: [3, 3],
    strides: [1, 1],
    padding: "valid",
    activation: "relu",
    useBias: true,
  });
  assert.deepEqual(spec.layers[1], { type: "maxPooling2d", poolSize: [2, 2], strides: [2, 2], padding: "valid" });
});

test("binary logistic regression with one sigmoid unit", () => {
  const { summary } = validateModelSpec({
    ...base(),
    inputShape: [4],
    labels: ["no", "yes"],
    layers: [{ type: "dense", units: 1, activation: "sigmoid" }],
  });
  assert.equal(summary.loss, "binaryCrossentropy");
  assert.equal(summary.parameters, 5);
});

test("reshape lets a flat input feed a CNN", () => {
  const { summary } = validateModelSpec({
    ...base(),
    layers: [
      { type: "reshape", targetShape: [28, 28, 1] },
      { type: "conv2d", filters: 4, kernelSize: [5, 5], strides: 2, padding: "same", activation: "relu" },
      { type: "flatten" },
      { type: "dense", units: 10, activation: "softmax" },
    ],
  });
  assert.deepEqual(summary.layers[1]?.outputShape, [14, 14, 4]);
});

test("clear errors", () => {
  expectError(null, "", /must be a JSON object/);
  expectError({ ...base(), format: "v0" }, "format", /fedmarket-model-spec\/1/);
  expectError({ ...base(), extra: 1 }, "extra", /unknown field/);
  expectError({ ...base(), inputShape: [0] }, "inputShape[0]", /positive integer/);
  expectError({ ...base(), inputShape: [28, 28] }, "inputShape", /\[features\] or \[height, width, channels\]/);
  expectError({ ...base(), labels: ["a"] }, "labels", /at least 2/);
  expectError({ ...base(), labels: ["a", "a"] }, "labels[1]", /duplicate/);
  expectError({ ...base(), layers: [] }, "layers", /non-empty/);
  expectError({ ...base(), layers: [{ type: "lstm" }] }, "layers[0].type", /must be one of dense/);
  expectError({ ...base(), layers: [{ type: "dense", units: -3 }] }, "layers[0].units", /positive integer \(got -3\)/);
  expectError({ ...base(), layers: [{ type: "dense", units: 10, activation: "gelu" }] }, "layers[0].activation", /must be one of/);
  expectError({ ...base(), layers: [{ type: "dense", units: 10, activaton: "softmax" }] }, "layers[0].activaton", /unknown field/);
  expectError({ ...base(), layers: [{ type: "dense", units: 9, activation: "softmax" }] }, "layers[0]", /units = 10/);
  expectError({ ...base(), layers: [{ type: "conv2d", filters: 2, kernelSize: 3 }] }, "layers[0]", /rank-3 input but gets \[784\]/);
  expectError(
    { ...base(), inputShape: [4, 4, 1], layers: [{ type: "dense", units: 10, activation: "softmax" }] },
    "layers[0]",
    /add a flatten layer/,
  );
  expectError({ ...base(), inputShape: [4, 4, 1], layers: [{ type: "conv2d", filters: 2, kernelSize: 5 }] }, "layers[0]", /does not fit/);
  expectError({ ...base(), layers: [{ type: "reshape", targetShape: [27, 28, 1] }] }, "layers[0].targetShape", /holds 756 values/);
  expectError(
    { ...base(), training: { epochs: 1, batchSize: 0, learningRate: 0.1, optimizer: "sgd" } },
    "training.batchSize",
    /positive integer/,
  );
  expectError(
    { ...base(), training: { epochs: 1, batchSize: 1, learningRate: Number.NaN, optimizer: "sgd" } },
    "training.learningRate",
    /> 0/,
  );
  expectError(
    { ...base(), training: { epochs: 1, batchSize: 1, learningRate: 0.1, optimizer: "lbfgs" } },
    "training.optimizer",
    /sgd, momentum, adam, rmsprop/,
  );
  expectError(
    { ...base(), training: { epochs: 1, batchSize: 1, learningRate: 0.1, optimizer: "sgd", momentum: 0.9 } },
    "training.momentum",
    /only applies/,
  );
  expectError({ ...base(), quantization: { scale: 4096 } }, "quantization.clipBound", /> 0/);
});

test("parseModelSpec reports JSON syntax errors with the source name", () => {
  assert.throws(() => parseModelSpec("{", "spec.json"), /spec\.json is not valid JSON/);
});

test("circuit section: optional, validated against the quantization", () => {
  const { spec } = validateModelSpec(exampleSpec("mnist-mlp"));
  assert.deepEqual(spec.circuit, { kMax: 4, chunk: 512, updateBits: 16, modelBits: 32 });
  const { circuit: _c, ...rest } = base();
  assert.equal(validateModelSpec(rest).spec.circuit, undefined);
  const circuit = { kMax: 4, chunk: 512, updateBits: 16, modelBits: 32 };
  expectError({ ...base(), circuit: { ...circuit, kMax: 0 } }, "circuit.kMax", /positive integer/);
  expectError({ ...base(), circuit: { ...circuit, extra: 1 } }, "circuit.extra", /unknown field/);
  expectError({ ...base(), circuit: { ...circuit, modelBits: 8 } }, "circuit", /BG 8 must be in \[B, 126\]/);
  expectError({ ...base(), circuit: { ...circuit, updateBits: 12 } }, "quantization", /4096 does not fit circuit.updateBits = 12/);
  expectError({ ...base(), quantization: { scale: 4096.5, clipBound: 1 } }, "quantization.scale", /must be an integer/);
});
