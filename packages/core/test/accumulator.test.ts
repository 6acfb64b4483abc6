import { test } from "node:test";
import assert from "node:assert/strict";
import {
  FIELD_MODULUS,
  accumulatorValue,
  chunkStep,
  encryptChunk,
  gramIndex,
  gramSize,
  hashMany,
  hashState,
  initialState,
  keysHash,
  modelChunkHash,
  noReferenceChunk,
  pack,
  publicKeyOf,
  stateFields,
  stateFromFields,
  stateLength,
  type CircuitConfig,
  type RoundConstants,
} from "../src/index.ts";

const config: CircuitConfig = { kMax: 3, chunk: 4, updateBits: 8, modelBits: 16 };

test("upper-triangular Gram index is row-major and dense", () => {
  for (const k of [1, 3, 4, 8]) {
    const seen = new Set<number>();
    let expected = 0;
    for (let i = 0; i < k; i++) {
      for (let j = i; j < k; j++) {
        assert.equal(gramIndex(i, j, k), expected);
        assert.equal(gramIndex(j, i, k), expected);
        seen.add(expected++);
      }
    }
    assert.equal(seen.size, gramSize(k));
  }
});

const constants = (mask: bigint, decoded = mask): RoundConstants => ({ mask, decoded, keysHash: 99n, size: 40n });

test("state field order and hash", () => {
  const s = {
    ...initialState(3, constants(5n, 7n)),
    counter: 2n,
    prevModelChain: 7n,
    newModelChain: 8n,
    referenceChain: 9n,
    referenceNorm: 10n,
    deltaNorm: 11n,
    deltaReference: -12n,
    trainerChains: [1n, 2n, 3n],
    gram: [1n, -2n, 3n, 4n, 5n, 6n],
    alignment: [-1n, 0n, 7n],
    deltaAlignment: [4n, -5n, 0n],
  };
  const fields = stateFields(s);
  assert.equal(fields.length, stateLength(3));
  assert.equal(stateLength(3), 12 + 3 * 3 + 6);
  assert.deepEqual(fields.slice(0, 15), [2n, 5n, 7n, 99n, 40n, 0n, 7n, 8n, 9n, 10n, 11n, FIELD_MODULUS - 12n, 1n, 2n, 3n]);
  assert.equal(fields[16], FIELD_MODULUS - 2n);
  assert.deepEqual(fields.slice(21, 24), [FIELD_MODULUS - 1n, 0n, 7n]);
  assert.deepEqual(fields.slice(24), [4n, FIELD_MODULUS - 5n, 0n]);
  assert.deepEqual(stateFromFields(fields, 3), s);
  assert.equal(hashState(s), hashMany(fields));
  assert.equal(accumulatorValue(s), hashState(s));
  assert.equal(accumulatorValue(initialState(3, constants(5n))), 0n);
  assert.throws(() => initialState(3, constants(8n)), /above K_MAX/);
  assert.throws(() => initialState(3, constants(5n, 16n)), /above K_MAX/);
  assert.throws(() => initialState(3, constants(5n, 4n)), /not decoded/);
  assert.throws(() => initialState(3, { ...constants(5n), size: 0n }), /model size/);
  assert.throws(() => initialState(3, { ...constants(5n), size: 1n << 32n }), /model size/);
});

test("chunk step: decryption, Gram growth, masked floor average, chains", () => {
  const keys = [publicKeyOf(11n), publicKeyOf(12n), publicKeyOf(13n)];
  const s0 = initialState(3, { mask: 0b011n, decoded: 0b111n, keysHash: keysHash(keys), size: 8n });
  const u = [
    [1n, 2n, 3n, -4n],
    [2n, 2n, -3n, -5n],
    [127n, -128n, 0n, 0n],
  ];
  const slots = u.map((v, k) => ({ cipher: encryptChunk(pack(v, 8), keys[k]!, 0), key: keys[k]! }));
  const g = [10n, -10n, 0n, 32767n];
  const v = [-128n, 0n, 1n, 127n];
  const { next, newModelChunk, updateChunks } = chunkStep(config, s0, slots, g, pack(v, 8));
  assert.deepEqual(updateChunks, u);
  assert.equal(next.trainerChains[0], hashMany([0n, hashMany(slots[0]!.cipher)]));
  // n = 2: floor((1+2)/2)=1, floor(4/2)=2, floor(0/2)=0, floor(-9/2)=-5
  assert.deepEqual(newModelChunk, [11n, -8n, 0n, 32762n]);
  assert.equal(next.counter, 1n);
  assert.equal(next.mask, 0b011n);
  assert.equal(next.gram[gramIndex(0, 1, 3)], 2n + 4n - 9n + 20n);
  assert.equal(next.gram[gramIndex(2, 2, 3)], 127n * 127n + 128n * 128n);
  // every decoded slot's alignment with the reference chunk, and v's chain as a trainer chain's
  assert.deepEqual(next.alignment, [-128n + 3n - 508n, -256n - 3n - 635n, -127n * 128n]);
  assert.equal(next.referenceChain, hashMany([0n, hashMany(pack(v, 8))]));
  assert.equal(next.referenceNorm, 128n * 128n + 1n + 127n * 127n);
  assert.throws(() => chunkStep(config, s0, slots, g, pack(v, 8).slice(1)), /reference chunk has the wrong length/);
  const zero = chunkStep(config, s0, slots, g, noReferenceChunk(config)).next;
  assert.deepEqual(zero.alignment, [0n, 0n, 0n]);
  assert.deepEqual({ ...zero, alignment: next.alignment, referenceChain: next.referenceChain, referenceNorm: next.referenceNorm }, next);
  // overflow of the new model is rejected
  assert.throws(() =>
    chunkStep(
      config,
      s0,
      slots,
      [10n, 10n, 10n, 32767n].map((x, i) => (i === 0 ? 32767n : x)),
      noReferenceChunk(config),
    ),
  );
  // the chunk index is the counter: the same ciphertext at counter 1 does not unpack
  assert.throws(() => chunkStep(config, { ...s0, counter: 1n }, slots, g, noReferenceChunk(config)));
  // a slot that is not decoded contributes zeros whatever its ciphertext
  const { updateChunks: partly } = chunkStep(config, { ...s0, mask: 0b001n, decoded: 0b001n }, slots, g, pack(v, 8));
  assert.deepEqual(partly, [u[0], [0n, 0n, 0n, 0n], [0n, 0n, 0n, 0n]]);
  // the model ends at D = 6: in the second chunk only the first two values count, whatever the
  // trainers put in the padding (it is unpacked, so it must still be in range)
  const second = u.map((v, k) => ({ cipher: encryptChunk(pack(v, 8), keys[k]!, 1), key: keys[k]! }));
  const last = chunkStep(config, { ...s0, counter: 1n, size: 6n }, second, g, pack(v, 8));
  assert.deepEqual(last.updateChunks, [
    [1n, 2n, 0n, 0n],
    [2n, 2n, 0n, 0n],
    [127n, -128n, 0n, 0n],
  ]);
  assert.equal(last.next.gram[gramIndex(0, 1, 3)], 2n + 4n);
  // the reference's padding meets zeros too, and does not count in |v|^2
  assert.deepEqual(last.next.alignment, [-128n, -256n, -127n * 128n]);
  assert.equal(last.next.referenceNorm, 128n * 128n);
  // and no chunk starts at or past D
  assert.throws(() => chunkStep(config, { ...s0, counter: 2n }, second, g, pack(v, 8)), /beyond the model size/);

  // the last global delta: the step committed with g, opened with it in the model chain; only
  // the model's parameters count, whatever the padding holds
  const delta = [3n, -1n, 100n, -128n];
  const withDelta = chunkStep(config, { ...s0, counter: 1n, size: 6n }, second, g, pack(v, 8), delta);
  assert.deepEqual(withDelta.next.deltaAlignment, [3n - 2n, 6n - 2n, 127n * 3n + 128n]);
  assert.equal(withDelta.next.deltaNorm, 9n + 1n);
  assert.equal(withDelta.next.deltaReference, -128n * 3n);
  assert.equal(withDelta.next.prevModelChain, hashMany([0n, modelChunkHash(g, delta, config)]));
  assert.notEqual(withDelta.next.prevModelChain, last.next.prevModelChain);
  assert.deepEqual(last.next.deltaAlignment, [0n, 0n, 0n]);
  // the round's own step: floor(S / n), committed with the new model
  assert.deepEqual(withDelta.stepChunk, [1n, 2n, 0n, 0n]);
  assert.equal(withDelta.next.newModelChain, hashMany([0n, modelChunkHash(withDelta.newModelChunk, withDelta.stepChunk, config)]));
  assert.throws(() => chunkStep(config, s0, slots, g, pack(v, 8), [128n, 0n, 0n, 0n]), /step value/);
  assert.throws(() => chunkStep(config, s0, slots, g, pack(v, 8), [0n]), /step chunk has the wrong length/);
});
