import { test } from "node:test";
import assert from "node:assert/strict";
import {
  checkReference,
  cipherChain,
  hashNarrow,
  pack,
  poseidon,
  quantizeReference,
  referenceBound,
  referenceChunks,
  referenceCommitment,
  unpack,
  unpackLow,
  type CircuitConfig,
} from "../src/index.ts";

const config: CircuitConfig = { kMax: 4, chunk: 2, updateBits: 8, modelBits: 16 };

test("the reference uses the whole symmetric range of B bits and keeps a zero direction zero", () => {
  assert.equal(referenceBound(8), 127);
  assert.deepEqual(quantizeReference([0.5, -1, 0.25, 0], 8), [64n, -127n, 32n, 0n]);
  // The scale is free: any positive multiple of a direction gives the same reference.
  assert.deepEqual(quantizeReference([5e-9, -1e-8, 2.5e-9, 0], 8), quantizeReference([0.5, -1, 0.25, 0], 8));
  assert.deepEqual(quantizeReference([2, 1], 8), [127n, 64n]); // 63.5 rounds away from zero
  assert.deepEqual(quantizeReference([0, 0, 0], 8), [0n, 0n, 0n]);
  assert.deepEqual(quantizeReference([], 8), []);
  assert.throws(() => quantizeReference([1, Number.NaN], 8), /reference direction value 1 is NaN/);
  assert.throws(() => quantizeReference([Number.POSITIVE_INFINITY], 8), /Infinity/);
});

test("checkReference: length and the B bits the chunk proof unpacks", () => {
  checkReference([127n, -127n, 0n, -128n], 4, config);
  assert.throws(() => checkReference([1n], 2, config), /has 1 values but the model has 2 parameters/);
  assert.throws(() => checkReference([128n], 1, config), /reference value 0 128 is not in/);
  assert.throws(() => checkReference([-129n], 1, config), /reference value 0 -129 is not in/);
});

test("the commitment is a sealed update's over v's packed chunks, with (salt, 0) for the ephemeral key", () => {
  const v = [3n, -127n, 127n];
  const salt = 12345n;
  const chunks = [pack([3n, -127n], 8), pack([127n, 0n], 8)];
  assert.deepEqual(referenceChunks(v, config), chunks);
  const chain = poseidon([poseidon([0n, hashNarrow(chunks[0] as bigint[])]), hashNarrow(chunks[1] as bigint[])]);
  assert.equal(cipherChain(chunks), chain);
  assert.equal(referenceCommitment(v, salt, config), poseidon([chain, salt, 0n]));
  assert.notEqual(referenceCommitment(v, salt, config), referenceCommitment(v, salt + 1n, config));
  assert.notEqual(referenceCommitment(v, salt, config), referenceCommitment([3n, -127n, 126n], salt, config));
  // Zero padding to whole chunks: the same values, padded explicitly, commit the same.
  assert.equal(referenceCommitment(v, salt, config), referenceCommitment([...v, 0n], salt, config));
  assert.throws(() => referenceCommitment([128n], salt, config), /reference value 0/);
  assert.throws(() => referenceCommitment(v, -1n, config), /reference salt/);
});

test("unpackLow reads an element's low bits whatever it holds, and equals unpack on packed values", () => {
  const v = [3n, -128n, 127n, 0n];
  assert.deepEqual(unpackLow(pack(v, 8), 8, 4), unpack(pack(v, 8), 8, 4));
  const junk = pack(v, 8)[0]! + (1n << 240n) + (5n << 24n);
  assert.deepEqual(unpackLow([junk], 8, 4), [3n, -128n, 127n, 5n]);
  assert.throws(() => unpack([junk], 8, 4), /packed element 0/);
  assert.throws(() => unpackLow([1n << 253n], 8, 4), /packed element 0/);
  assert.deepEqual(unpackLow([(1n << 253n) - 1n], 8, 4), [127n, 127n, 127n, 127n]);
});
