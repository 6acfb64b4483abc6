import { test } from "node:test";
import assert from "node:assert/strict";
import { validateModelSpec, parseModelSpec, ModelSpecError, featureCount, withoutFrozen, describeLayers } from "../src/model-spec.ts";
import { loadFrozenWeights } from "../src/frozen-weights.ts";
import { encodeWeights } from "../src/weights-format.ts";
import { computeCid } from "../src/storage/blob-store.ts";
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
  expectError({ ...base(), circuit: { ...circuit, modelBits: 8 } }, "circuit", /BG 8 must be in \[B \+ 1, 126\]/);
  expectError({ ...base(), circuit: { ...circuit, updateBits: 12 } }, "quantization", /4096 does not fit circuit.updateBits = 12/);
  expectError({ ...base(), quantization: { scale: 4096.5, clipBound: 1 } }, "quantization.scale", /must be an integer/);
});

// A CNN backbone (conv, pool, conv) frozen under a trained dense head.
const CID_A = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
function frozenCnn(patch: Record<string, unknown> = {}): Record<string, unknown> {
  const cnn = exampleSpec("mnist-cnn") as { layers: Record<string, unknown>[] };
  const layers = cnn.layers.map((l, i) => (i === 0 || i === 2 ? { ...l, trainable: false } : l));
  return { ...cnn, layers, frozenWeights: CID_A, ...patch };
}

test("frozen layers: trainable parameters, frozen parameters and flags", () => {
  const { spec, summary } = validateModelSpec(frozenCnn());
  assert.equal(summary.parameters, 4010);
  assert.equal(summary.frozenParameters, 80 + 1168);
  assert.deepEqual(
    summary.layers.map((l) => l.frozen),
    [true, false, true, false, false, false],
  );
  assert.equal(summary.layers[0]!.parameters, 80);
  assert.equal(spec.frozenWeights, CID_A);
  assert.equal((spec.layers[0] as { trainable?: boolean }).trainable, false);
  assert.ok(!("trainable" in spec.layers[5]!));
  // trainable: true is the default and disappears from the normalized spec
  const cnn = exampleSpec("mnist-cnn") as { layers: Record<string, unknown>[] };
  const explicit = { ...cnn, layers: cnn.layers.map((l, i) => (i === 5 ? { ...l, trainable: true } : l)) };
  assert.deepEqual(validateModelSpec(explicit), validateModelSpec(exampleSpec("mnist-cnn")));
  // the all-trainable version: same architecture, no flags, no CID
  assert.deepEqual(withoutFrozen(spec), validateModelSpec(exampleSpec("mnist-cnn")).spec);
  // a dense backbone
  const mlp = base() as { layers: Record<string, unknown>[] };
  const frozenMlp = validateModelSpec({ ...mlp, layers: [{ ...mlp.layers[0], trainable: false }, mlp.layers[1]], frozenWeights: CID_A });
  assert.equal(frozenMlp.summary.parameters, 330);
  assert.equal(frozenMlp.summary.frozenParameters, 784 * 32 + 32);
});

test("specs without frozen layers normalize as before", () => {
  for (const name of ["mnist-logistic", "mnist-mlp", "mnist-cnn"] as const) {
    const { spec, summary } = validateModelSpec(exampleSpec(name));
    assert.equal(summary.frozenParameters, 0);
    assert.ok(summary.layers.every((l) => !l.frozen));
    assert.ok(!("frozenWeights" in spec));
    assert.ok(spec.layers.every((l) => !("trainable" in l)));
    assert.deepEqual(validateModelSpec(spec).spec, spec);
  }
});

test("frozen layers: errors", () => {
  expectError(
    frozenCnn({ frozenWeights: undefined }),
    "frozenWeights",
    /layers 0, 2 are frozen \(trainable: false\): give the CID of their weights \(a fedmarket weights file of 1,248 values\)/,
  );
  expectError(frozenCnn({ frozenWeights: 42 }), "frozenWeights", /must be a CID string/);
  expectError(frozenCnn({ frozenWeights: "not-a-cid" }), "frozenWeights", /"not-a-cid" is not a valid CID.*1,248 values/);
  expectError({ ...base(), frozenWeights: CID_A }, "frozenWeights", /no layer is frozen/);
  const cnn = exampleSpec("mnist-cnn") as { layers: Record<string, unknown>[] };
  const bad = (i: number, trainable: unknown) => ({ ...cnn, layers: cnn.layers.map((l, k) => (k === i ? { ...l, trainable } : l)) });
  expectError(bad(0, "no"), "layers[0].trainable", /must be true or false/);
  expectError(bad(1, false), "layers[1].trainable", /only dense and conv2d layers have weights to freeze/);
  expectError(bad(4, true), "layers[4].trainable", /only dense and conv2d layers have weights to freeze/);
  const all = {
    ...cnn,
    layers: cnn.layers.map((l) => (l.type === "dense" || l.type === "conv2d" ? { ...l, trainable: false } : l)),
    frozenWeights: CID_A,
  };
  expectError(all, "layers", /every layer with weights is frozen: nothing to train/);
  assert.equal(describeLayers([3]), "layer 3");
  assert.equal(describeLayers([0, 1, 2, 3, 4, 5]), "layers 0-5");
  assert.equal(describeLayers([0, 1, 2, 5]), "layers 0-2, 5");
});

test("frozenWeights keeps the canonical CID form", () => {
  const { spec } = validateModelSpec(frozenCnn({ frozenWeights: `  ${CID_A}\n` }));
  assert.equal(spec.frozenWeights, CID_A);
});

test("loadFrozenWeights fetches and checks the frozen layers' weights", async () => {
  const values = Float32Array.from({ length: 1248 }, (_, i) => i / 1000);
  const bytes = encodeWeights(values);
  const cid = await computeCid(bytes);
  const { spec, summary } = validateModelSpec(frozenCnn({ frozenWeights: cid }));
  const asked: string[] = [];
  const got = await loadFrozenWeights(spec, summary, async (c) => {
    asked.push(c);
    return bytes;
  });
  assert.deepEqual(got, values);
  assert.deepEqual(asked, [cid]);
  await assert.rejects(
    loadFrozenWeights(spec, summary, async () => encodeWeights(new Float32Array(7))),
    (err: Error) => err.message.includes(`the frozen weights ${cid} do not fit the spec's frozen layers (1,248 values)`),
  );
  const plain = validateModelSpec(exampleSpec("mnist-mlp"));
  let called = false;
  const none = await loadFrozenWeights(plain.spec, plain.summary, async () => {
    called = true;
    return bytes;
  });
  assert.equal(none, undefined);
  assert.equal(called, false);
});
