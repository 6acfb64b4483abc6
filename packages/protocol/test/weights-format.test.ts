import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeWeights, encodeWeights, WEIGHTS_HEADER_BYTES } from "../src/weights-format.ts";

test("encode/decode round trip, exact bytes of the header", () => {
  const values = new Float32Array([0, -1.5, 3.25, 1e-30, -0]);
  const bytes = encodeWeights(values);
  assert.equal(bytes.length, 20 + 4 * 5 + 32);
  assert.equal(Buffer.from(bytes.subarray(0, 8)).toString("ascii"), "FMWEIGHT");
  assert.deepEqual([...bytes.subarray(8, 20)], [1, 0, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0]);
  // -1.5 as float32 little-endian
  assert.deepEqual([...bytes.subarray(WEIGHTS_HEADER_BYTES + 4, WEIGHTS_HEADER_BYTES + 8)], [0, 0, 0xc0, 0xbf]);
  assert.deepEqual(decodeWeights(bytes), values);
  assert.deepEqual(decodeWeights(encodeWeights(new Float32Array(0))), new Float32Array(0));
});

test("corruption, truncation and wrong sizes are detected", () => {
  const bytes = encodeWeights(new Float32Array([1, 2, 3]));
  const flipped = bytes.slice();
  flipped[WEIGHTS_HEADER_BYTES + 1]! ^= 1;
  assert.throws(() => decodeWeights(flipped), /checksum mismatch/);
  assert.throws(() => decodeWeights(bytes.subarray(0, bytes.length - 1)), /header says 3 parameters/);
  const magic = bytes.slice();
  magic[0] = 0x58;
  assert.throws(() => decodeWeights(magic), /bad magic/);
  const version = bytes.slice();
  version[8] = 2;
  assert.throws(() => decodeWeights(version), /unsupported version 2/);
  const dtype = bytes.slice();
  dtype[10] = 2;
  assert.throws(() => decodeWeights(dtype), /unsupported dtype/);
  assert.throws(() => decodeWeights(bytes, 4), /has 3 parameters but the model has 4/);
  assert.throws(() => decodeWeights(encodeWeights(new Float32Array([Number.NaN]))), /value 0 is NaN/);
  assert.throws(() => decodeWeights(new Uint8Array(10)), /shorter/);
});
