import { test } from "node:test";
import assert from "node:assert/strict";
import { quantizeReference, referenceCommitment, type CircuitConfig } from "@fedmarket/core";
import { decodeReference, encodeReference, openReference, REFERENCE_FORMAT, type ReferenceBlob } from "../src/index.ts";

const circuit: CircuitConfig = { kMax: 4, chunk: 4, updateBits: 8, modelBits: 24 };
const values = quantizeReference([0.3, -1, 0.5, 0, 0.01, -0.2], 8);
const blob: ReferenceBlob = { projectId: 7n, round: 2, bits: 8, salt: 42n, values };
const expected = { projectId: 7n, round: 2, commitment: referenceCommitment(values, 42n, circuit), modelSize: 6, circuit };
const bytes = (o: Record<string, unknown>): Uint8Array => new TextEncoder().encode(JSON.stringify(o));
const json = (): Record<string, unknown> => JSON.parse(new TextDecoder().decode(encodeReference(blob))) as Record<string, unknown>;

test("a reference blob round-trips and opens its commitment", () => {
  assert.deepEqual(decodeReference(encodeReference(blob)), blob);
  assert.equal(json().format, REFERENCE_FORMAT);
  assert.deepEqual(openReference(encodeReference(blob), expected), blob);
  const empty = { ...blob, values: [] };
  assert.deepEqual(decodeReference(encodeReference(empty)), empty);
});

test("openReference names the first mismatch with the chain", () => {
  const enc = encodeReference(blob);
  assert.throws(() => openReference(enc, { ...expected, round: 3 }), /for project 7 round 2, not project 7 round 3/);
  assert.throws(() => openReference(enc, { ...expected, projectId: 8n }), /not project 8 round 2/);
  assert.throws(() => openReference(enc, { ...expected, circuit: { ...circuit, updateBits: 16 } }), /8 bits, the project's circuit B = 16/);
  assert.throws(() => openReference(enc, { ...expected, modelSize: 7 }), /has 6 values but the model has 7 parameters/);
  assert.throws(() => openReference(enc, { ...expected, commitment: 1n }), /opens commitment \d+, not the committed 1/);
  const wide = encodeReference({ ...blob, values: [...values.slice(0, 5), 128n] });
  assert.throws(() => openReference(wide, expected), /reference value 5 128 is not in/);
});

test("decodeReference refuses what is not a reference", () => {
  assert.throws(() => decodeReference(new TextEncoder().encode("{")), /not JSON/);
  assert.throws(() => decodeReference(bytes({ ...json(), format: "x" })), /format is x/);
  assert.throws(() => decodeReference(bytes({ ...json(), salt: 42 })), /salt is not a decimal string/);
  assert.throws(() => decodeReference(bytes({ ...json(), salt: (1n << 254n).toString() })), /not a BN254 field element/);
  assert.throws(() => decodeReference(bytes({ ...json(), values: [1, 2] })), /comma-separated/);
  assert.throws(() => decodeReference(bytes({ ...json(), values: "1,x" })), /value 1 \(x\) is not a small integer/);
  assert.throws(() => decodeReference(bytes({ ...json(), round: -1 })), /round is not an integer/);
  assert.throws(() => decodeReference(bytes({ ...json(), projectId: "0x7" })), /projectId is not a decimal string/);
});
