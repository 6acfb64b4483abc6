import { test } from "node:test";
import assert from "node:assert/strict";
import { modelCommitment } from "@fedmarket/core";
import {
  chainCircuitParams,
  checkSpecAgainstChain,
  dequantizeModel,
  globalModelCommitment,
  initialModelCommitment,
  ModelMismatchError,
  previousModelOpening,
  quantizeModel,
} from "../src/global-model.ts";
import { validateModelSpec } from "../src/model-spec.ts";
import { exampleSpec } from "./helpers.ts";

test("the model commitment is core's modelCommitment over round(w * scale) and the step that produced it", () => {
  const circuit = { kMax: 4, chunk: 4, updateBits: 16, modelBits: 32 };
  const w = new Float32Array([0.5, -0.25, 1 / 4096, -3 / 8192, 0.1]);
  const q = quantizeModel(w, 4096, 32);
  assert.deepEqual(q, [2048n, -1024n, 1n, -2n, 410n]); // -1.5 rounds away from zero; 0.1*4096 = 409.6
  const step = [3n, -1n, 0n, 2n, -7n];
  assert.equal(globalModelCommitment(w, step, 4096, circuit), modelCommitment(q, step, circuit));
  assert.equal(globalModelCommitment(w, undefined, 4096, circuit), modelCommitment(q, [0n, 0n, 0n, 0n, 0n], circuit), "no step: zeros");
  assert.notEqual(
    globalModelCommitment(w, step, 4096, circuit),
    globalModelCommitment(w, undefined, 4096, circuit),
    "the step is committed",
  );
  assert.deepEqual(quantizeModel(dequantizeModel(q, 4096), 4096, 32), q);
  assert.throws(() => quantizeModel([Number.NaN], 4096, 32), /is NaN/);
  assert.throws(() => quantizeModel([1], 4096, 8), /quantized model weight 0/);
  assert.throws(() => dequantizeModel([(1n << 25n) + 1n], 1), /float32 round trip/);
});

test("an initial model is committed only within the model's headroom: BG - 1 bits, at most maxRounds rounds", () => {
  const circuit = { kMax: 4, chunk: 4, updateBits: 8, modelBits: 16 }; // maxRounds 2^7, initial values in [-2^14, 2^14)
  const w = new Float32Array([(2 ** 14 - 1) / 1024, -(2 ** 14) / 1024, 0.1]);
  assert.equal(initialModelCommitment(w, 1024, circuit, 128), globalModelCommitment(w, undefined, 1024, circuit), "step zero");
  assert.throws(() => initialModelCommitment(w, 1024, circuit, 129), /numRounds 129 must be in \[1, 128\]/);
  assert.throws(
    () => initialModelCommitment([2 ** 14 / 1024], 1024, circuit, 1),
    /initial model value 0 16384 is not in \[-2\^14, 2\^14\): an initial model may use BG - 1 signed bits/,
  );
});

test("spec vs chain", () => {
  const { spec, summary } = validateModelSpec(exampleSpec("mnist-mlp"));
  const params = chainCircuitParams(spec, summary.parameters, 1);
  assert.deepEqual(params, { modelSize: 25450, byzantineTolerance: 1, quantizationScale: 4096n, clipBound: 4096n });
  const facts = { ...params, verifierMaxTrainers: 4, verifierChunkSize: 512 };
  assert.deepEqual(checkSpecAgainstChain(spec, summary.parameters, facts), spec.circuit);
  assert.throws(
    () => checkSpecAgainstChain(spec, summary.parameters, { ...facts, verifierChunkSize: 100, modelSize: 5 }),
    (err: unknown) =>
      err instanceof ModelMismatchError && /model size: spec 25450, chain 5; .*chunk: spec 512, verifier 100/.test(err.message),
  );
  const { circuit: _c, ...noCircuit } = spec;
  assert.throws(() => checkSpecAgainstChain(noCircuit, summary.parameters, facts), /no "circuit" section/);
});

test("the model before the current one is the latest earlier opening on another model", () => {
  const opened = [
    { round: 0, modelCommitment: 10n },
    { round: 1, modelCommitment: 11n },
    { round: 2, modelCommitment: 12n },
    { round: 3, modelCommitment: 12n },
  ];
  assert.equal(previousModelOpening(opened, 4, 12n)?.round, 1); // round 2 finalized round 1's model; round 3 left it
  assert.equal(previousModelOpening([...opened].reverse(), 4, 12n)?.round, 1); // event order does not matter
  assert.equal(previousModelOpening(opened, 1, 10n), undefined); // the model has never changed
});
