import { test } from "node:test";
import assert from "node:assert/strict";
import { FIELD_MODULUS } from "@fedmarket/core";
import {
  decodeUpdatePayload,
  encodeUpdatePayload,
  updateAssociatedData,
  updatePayloadSize,
  UpdatePayloadError,
  UPDATE_PAYLOAD_HEADER_BYTES,
  type UpdatePayload,
} from "../src/update-payload.ts";

const config = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 };
const payload: UpdatePayload = {
  projectId: 7n,
  round: 3,
  config,
  values: [0n, 1n, -1n, 32767n, -32768n, 1234n, -4321n],
  salt: FIELD_MODULUS - 1n,
};

function throwsPayload(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UpdatePayloadError, `expected UpdatePayloadError, got ${String(err)}`);
    assert.match(err.message, re);
    return true;
  });
}

test("round trip; exact header bytes", () => {
  const bytes = encodeUpdatePayload(payload);
  assert.equal(bytes.length, UPDATE_PAYLOAD_HEADER_BYTES + 2 * 7);
  assert.equal(bytes.length, updatePayloadSize(7, 16));
  assert.equal(Buffer.from(bytes.subarray(0, 4)).toString("ascii"), "FMUP");
  assert.deepEqual([...bytes.subarray(4, 24)], [1, 4, 16, 32, 16, 0, 0, 0, 3, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(bytes[24 + 31], 7); // project id big-endian
  // -1 as two's complement LE in 2 bytes
  assert.deepEqual([...bytes.subarray(UPDATE_PAYLOAD_HEADER_BYTES + 4, UPDATE_PAYLOAD_HEADER_BYTES + 6)], [0xff, 0xff]);
  assert.deepEqual(decodeUpdatePayload(bytes, { projectId: 7n, round: 3, config, count: 7 }), payload);
});

test("odd widths round trip (B = 12 -> 2 bytes, B = 20 -> 3 bytes, B = 64 -> 8 bytes)", () => {
  for (const bits of [12, 20, 64]) {
    const half = 1n << BigInt(bits - 1);
    const values = [0n, 1n, -1n, half - 1n, -half, 5n];
    const c = { ...config, updateBits: bits, modelBits: Math.max(32, bits) };
    const p = { ...payload, config: c, values, projectId: (1n << 255n) + 5n, salt: 12345n };
    assert.deepEqual(decodeUpdatePayload(encodeUpdatePayload(p)), p);
  }
});

test("encoding refuses out-of-range input", () => {
  throwsPayload(() => encodeUpdatePayload({ ...payload, values: [32768n] }), /value 0 = 32768 is not in/);
  throwsPayload(() => encodeUpdatePayload({ ...payload, values: [] }), /needs 1 to/);
  throwsPayload(() => encodeUpdatePayload({ ...payload, salt: FIELD_MODULUS }), /salt/);
  throwsPayload(() => encodeUpdatePayload({ ...payload, round: -1 }), /round -1/);
  throwsPayload(() => encodeUpdatePayload({ ...payload, projectId: 1n << 256n }), /uint256/);
  throwsPayload(() => encodeUpdatePayload({ ...payload, config: { ...config, kMax: 65 } }), /circuit configuration: K_MAX 65/);
});

test("malformed payloads fail with clear errors", () => {
  const bytes = encodeUpdatePayload(payload);
  const mutate = (at: number, v: number): Uint8Array => {
    const c = bytes.slice();
    c[at] = v;
    return c;
  };
  throwsPayload(() => decodeUpdatePayload(bytes.subarray(0, 40)), /shorter than the 88-byte header/);
  throwsPayload(() => decodeUpdatePayload(mutate(0, 0x58)), /bad magic/);
  throwsPayload(() => decodeUpdatePayload(mutate(4, 2)), /unsupported version 2/);
  throwsPayload(() => decodeUpdatePayload(mutate(6, 1)), /B 1 must be/);
  throwsPayload(() => decodeUpdatePayload(mutate(20, 1)), /reserved/);
  throwsPayload(
    () => decodeUpdatePayload(bytes.subarray(0, bytes.length - 1)),
    /header says 7 values of 16 bits \(102 bytes\) but the payload has 101/,
  );
  const salt = bytes.slice();
  salt.fill(0xff, 56, 88);
  throwsPayload(() => decodeUpdatePayload(salt), /salt is not a canonical/);
  throwsPayload(() => decodeUpdatePayload(bytes, { projectId: 8n }), /made for project 7, expected 8/);
  throwsPayload(() => decodeUpdatePayload(bytes, { round: 4 }), /made for round 3, expected 4/);
  throwsPayload(() => decodeUpdatePayload(bytes, { config: { ...config, chunk: 32 } }), /made for circuit/);
  throwsPayload(() => decodeUpdatePayload(bytes, { count: 8 }), /has 7 values, the model has 8/);
  // a 12-bit value stored in 2 bytes that exceeds 12 bits
  const p12 = encodeUpdatePayload({ ...payload, config: { ...config, updateBits: 12 }, values: [0n] });
  p12[UPDATE_PAYLOAD_HEADER_BYTES] = 0x00;
  p12[UPDATE_PAYLOAD_HEADER_BYTES + 1] = 0x08; // 2048
  throwsPayload(() => decodeUpdatePayload(p12), /value 0 = 2048 is outside the 12-bit range/);
});

test("associated data binds chain, market, project, round and trainer", () => {
  const ctx = { chainId: 31337n, market: "0x" + "ab".repeat(20), projectId: 1n, round: 0, trainer: "0x" + "cd".repeat(20) };
  const ad = updateAssociatedData(ctx);
  assert.equal(ad.length, 18 + 32 + 20 + 32 + 4 + 20);
  assert.notDeepEqual(updateAssociatedData({ ...ctx, round: 1 }), ad);
  assert.notDeepEqual(updateAssociatedData({ ...ctx, trainer: "0x" + "ce".repeat(20) }), ad);
  throwsPayload(() => updateAssociatedData({ ...ctx, market: "0x12" }), /market "0x12" is not an address/);
});
