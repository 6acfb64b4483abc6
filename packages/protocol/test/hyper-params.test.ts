import { test } from "node:test";
import assert from "node:assert/strict";
import { ModelSpecError, validateModelSpec } from "../src/model-spec.ts";
import {
  chainHyperParams,
  decayedHyperParams,
  formatHyperParams,
  hyperParamOutOfBounds,
  learningRateToMicros,
  trainingForRound,
} from "../src/hyper-params.ts";
import { describeMarketError, fedMarketInterface, toHyperParams } from "../src/chain/index.ts";
import { exampleSpec } from "./helpers.ts";

const withTraining = (training: Record<string, unknown>) => {
  const raw = exampleSpec("mnist-mlp") as Record<string, unknown>;
  return { ...raw, training: { ...(raw.training as Record<string, unknown>), ...training } };
};

test("without bounds the spec's values are fixed: initial = min = max", () => {
  const { spec } = validateModelSpec(withTraining({ epochs: 2, batchSize: 32, learningRate: 0.05 }));
  const h = chainHyperParams(spec);
  const fixed = { learningRateMicros: 50_000, localEpochs: 2, batchSize: 32 };
  assert.deepEqual(h, { initialHyperParams: fixed, minHyperParams: fixed, maxHyperParams: fixed });
});

test("training.bounds widen the on-chain bounds field by field", () => {
  const { spec } = validateModelSpec(
    withTraining({
      epochs: 2,
      batchSize: 32,
      learningRate: 0.05,
      bounds: { learningRate: [0.001, 0.1], epochs: [1, 3] },
    }),
  );
  assert.deepEqual(spec.training.bounds, { learningRate: [0.001, 0.1], epochs: [1, 3] });
  const h = chainHyperParams(spec);
  assert.deepEqual(h.minHyperParams, { learningRateMicros: 1_000, localEpochs: 1, batchSize: 32 });
  assert.deepEqual(h.maxHyperParams, { learningRateMicros: 100_000, localEpochs: 3, batchSize: 32 });
  assert.deepEqual(h.initialHyperParams, { learningRateMicros: 50_000, localEpochs: 2, batchSize: 32 });
});

test("bad bounds fail validation naming the field", () => {
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [
      { learningRate: 0.1, bounds: { learningRate: [0.2, 0.5] } },
      "training.bounds.learningRate",
      /must contain training.learningRate = 0.1/,
    ],
    [{ bounds: { epochs: [0, 3] } }, "training.bounds.epochs[0]", /positive integer/],
    [{ bounds: { batchSize: 64 } }, "training.bounds.batchSize", /\[min, max\]/],
    [{ bounds: { momentum: [0, 1] } }, "training.bounds.momentum", /unknown field/],
  ];
  for (const [training, path, message] of cases) {
    assert.throws(
      () => validateModelSpec(withTraining(training)),
      (err: unknown) => {
        assert.ok(err instanceof ModelSpecError);
        assert.equal(err.path, path);
        assert.match(err.message, message);
        return true;
      },
    );
  }
});

test("learning rates that do not fit a uint32 of millionths are refused", () => {
  assert.equal(learningRateToMicros(0.0000015), 2);
  assert.throws(() => learningRateToMicros(1e-7), /between 1e-6/);
  assert.throws(() => learningRateToMicros(5000), /between 1e-6/);
});

test("a decay multiplies the learning rate and clamps it to the bounds; factor 1 keeps everything", () => {
  const min = { learningRateMicros: 1_000, localEpochs: 1, batchSize: 16 };
  const max = { learningRateMicros: 100_000, localEpochs: 3, batchSize: 64 };
  const h = { learningRateMicros: 10_000, localEpochs: 2, batchSize: 32 };
  assert.deepEqual(decayedHyperParams(h, 1, min, max), h);
  assert.deepEqual(decayedHyperParams(h, 0.5, min, max), { ...h, learningRateMicros: 5_000 });
  assert.deepEqual(decayedHyperParams({ ...h, learningRateMicros: 1_500 }, 0.5, min, max), { ...h, learningRateMicros: 1_000 });
  assert.deepEqual(decayedHyperParams({ ...h, learningRateMicros: 90_000 }, 2, min, max), { ...h, learningRateMicros: 100_000 });
  assert.throws(() => decayedHyperParams(h, 0, min, max), /factor/);
  assert.equal(hyperParamOutOfBounds(h, min, max), undefined);
  assert.equal(hyperParamOutOfBounds({ ...h, batchSize: 65 }, min, max), "batchSize");
});

test("a round's on-chain values replace the spec's training values", () => {
  const { spec } = validateModelSpec(withTraining({ epochs: 1, batchSize: 32, learningRate: 0.1 }));
  const t = trainingForRound(spec.training, { learningRateMicros: 25_000, localEpochs: 3, batchSize: 8 });
  assert.equal(t.learningRate, 0.025);
  assert.equal(t.epochs, 3);
  assert.equal(t.batchSize, 8);
  assert.equal(t.optimizer, spec.training.optimizer);
  assert.equal(formatHyperParams({ learningRateMicros: 25_000, localEpochs: 3, batchSize: 8 }), "lr 0.025 (25000e-6), 3 epochs, batch 8");
});

test("the chain client decodes hyper-parameters from the ABI and explains the revert", () => {
  const event = fedMarketInterface.getEvent("RoundOpened");
  assert.ok(event);
  const data = fedMarketInterface.encodeEventLog(event, [1n, 0n, 4n, 10n, 15n, 20n, 30n, 40n, "bafy", [7000n, 2n, 16n]]);
  const parsed = fedMarketInterface.parseLog(data);
  assert.ok(parsed);
  assert.deepEqual(toHyperParams(parsed.args.hyperParams), { learningRateMicros: 7000, localEpochs: 2, batchSize: 16 });
  assert.match(
    describeMarketError("HyperParamOutOfBounds", ["batchSize", 65n, 16n, 64n]),
    /batchSize = 65 is outside the project's bounds \[16, 64\]/,
  );
});
