/**
 * The attack wrappers change only what their attack changes and delegate the rest to the producer
 * they wrap (here a fake honest producer that records what it was given).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { memoryLogger, type ModelSpec, type ModelSummary } from "@fedmarket/protocol";
import type { BackendInfo, Dataset } from "@fedmarket/ml";
import type { ProducedUpdate, RoundInput, UpdateProducer } from "@fedmarket/trainer";
import { attackProducer, DeltaAttackProducer, DuplicateProducer, FreeRiderProducer, LabelFlipProducer } from "../src/attacks/producers.ts";

const HONEST = Float32Array.from([0.5, -0.25, 0, 0.125]);
const DATA: Dataset = {
  features: new Float32Array(8),
  labels: Int32Array.from([0, 1]),
  count: 2,
  shape: [4],
  source: "fake",
} as unknown as Dataset;

/** A fake honest producer: returns HONEST and records the dataset it trained on. */
class RecordingProducer implements UpdateProducer {
  calls = 0;
  labels: ArrayLike<number> | undefined;
  async produce(input: RoundInput): Promise<ProducedUpdate> {
    this.calls++;
    this.labels = (await input.loadDataset()).labels;
    return { delta: Float32Array.from(HONEST), samples: 2, finalLoss: 0.5 };
  }
}

function input(overrides: Partial<RoundInput> = {}): RoundInput {
  return {
    projectId: 1n,
    round: 3,
    trainer: "0x00000000000000000000000000000000000000aa",
    spec: { labels: ["a", "b", "c"], quantization: { scale: 4096, clipBound: 0.4 } } as unknown as ModelSpec,
    summary: { parameters: HONEST.length } as unknown as ModelSummary,
    globalWeights: new Float32Array(HONEST.length),
    hyperParams: { learningRateMicros: 1n, localEpochs: 1n, batchSize: 1n } as never,
    seed: 3,
    logger: memoryLogger(),
    loadDataset: async () => DATA,
    backend: async () => ({}) as BackendInfo,
    lastGlobalDelta: async () => undefined,
    submissions: async () => [],
    ...overrides,
  };
}

test("sign-flip trains honestly, then negates the delta (and clips it like an honest one)", async () => {
  const honest = new RecordingProducer();
  const out = await new DeltaAttackProducer("sign-flip", honest).produce(input());
  assert.equal(honest.calls, 1);
  assert.deepEqual(Array.from(out.delta), [-0.4, 0.25, 0, -0.125].map(Math.fround));
  assert.equal(out.samples, 2, "the honest run's bookkeeping is kept");
});

test("label-flip hands the honest producer the data with flipped labels", async () => {
  const honest = new RecordingProducer();
  const out = await new LabelFlipProducer(honest).produce(input());
  assert.deepEqual(Array.from(honest.labels ?? []), [2, 1], "y -> (C - 1) - y with C = 3");
  assert.deepEqual(Array.from(out.delta), Array.from(HONEST));
});

test("free-rider never trains: zeros in round 0, then the clipped last global delta", async () => {
  const zero = await new FreeRiderProducer().produce(input());
  assert.deepEqual(Array.from(zero.delta), [0, 0, 0, 0]);
  assert.equal(zero.samples, 0);
  const replay = await new FreeRiderProducer().produce(input({ lastGlobalDelta: async () => Float32Array.from([1, -1, 0.1, 0]) }));
  assert.deepEqual(Array.from(replay.delta), [0.4, -0.4, 0.1, 0].map(Math.fround));
});

test("duplicate finds nothing to copy while the commit window is open (no update is revealed yet) and fails clearly", async () => {
  const honest = new RecordingProducer();
  await assert.rejects(
    new DuplicateProducer(honest).adopt(input({ submissions: async () => [] })),
    /round 3: duplicate attack: nothing to copy: no other trainer's update is revealed in this round .*nothing was sent/,
  );
  // its own update is no copy either
  const mine = { trainer: "0x00000000000000000000000000000000000000AA", commitment: 1n, cid: "mine" };
  await assert.rejects(new DuplicateProducer(honest).adopt(input({ submissions: async () => [mine] })), /nothing to copy/);
  assert.equal(honest.calls, 0, "no training either");
});

test("duplicate would copy the first other trainer's revealed update, never its own (only if a protocol revealed updates before commitments close)", async () => {
  const mine = { trainer: "0x00000000000000000000000000000000000000AA", commitment: 1n, cid: "mine" };
  const other = { trainer: "0x00000000000000000000000000000000000000bb", commitment: 2n, cid: "other" };
  const copy = await new DuplicateProducer(new RecordingProducer()).adopt(input({ submissions: async () => [mine, other] }));
  assert.deepEqual(copy, { commitment: 2n, cid: "other" });
});

test("attackProducer maps every mode to its wrapper", () => {
  assert.ok(attackProducer("scale") instanceof DeltaAttackProducer);
  assert.ok(attackProducer("gaussian") instanceof DeltaAttackProducer);
  assert.ok(attackProducer("label-flip") instanceof LabelFlipProducer);
  assert.ok(attackProducer("free-rider") instanceof FreeRiderProducer);
  assert.ok(attackProducer("duplicate") instanceof DuplicateProducer);
});
