/**
 * The sealed update format (`FMSU` v2): the layout of the module comment, and a decoder that names
 * the field of every error.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FIELD_MODULUS, packedLength, type CircuitConfig, type SealedUpdate } from "@fedmarket/core";
import {
  decodeSealedUpdate,
  encodeSealedUpdate,
  SEALED_UPDATE_HEADER_BYTES,
  sealedUpdateSize,
  SealedUpdateError,
  type SealedUpdateBlob,
  type SealedUpdateField,
} from "../src/sealed-update.ts";

// CHUNK 20 at B = 16: 15 values per element, so NP = 2 elements per chunk (15 + 5 values).
const config: CircuitConfig = { kMax: 4, chunk: 20, updateBits: 16, modelBits: 32 };
const NP = packedLength(config.chunk, config.updateBits);
const modelSize = 30; // C = 2 chunks
const sealed: SealedUpdate = {
  ephemeral: [11n, FIELD_MODULUS - 1n],
  chunks: [
    [1n, 2n],
    [FIELD_MODULUS - 2n, 0x0102n],
  ],
};
const ownerWrap = Uint8Array.from([0xf0, 0xf1, 0xf2]);
const blob: SealedUpdateBlob = { config, modelSize, sealed, ownerWrap };

function throwsField(fn: () => unknown, field: SealedUpdateField, detail: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SealedUpdateError, `expected SealedUpdateError, got ${String(err)}`);
    assert.equal(err.field, field, err.message);
    assert.ok(err.message.startsWith(`sealed update: ${field}: `), err.message);
    assert.match(err.message, detail);
    return true;
  });
}

/** The encoded blob with `patch(bytes, view)` applied to a copy. */
function patched(patch: (bytes: Uint8Array, view: DataView) => void, bytes = encodeSealedUpdate(blob)): Uint8Array {
  const copy = bytes.slice();
  patch(copy, new DataView(copy.buffer));
  return copy;
}

test("the layout is the documented one, and it round-trips", () => {
  assert.equal(NP, 2);
  const bytes = encodeSealedUpdate(blob);
  assert.equal(bytes.length, SEALED_UPDATE_HEADER_BYTES + 32 * 2 * NP + ownerWrap.length);
  assert.equal(bytes.length, sealedUpdateSize(config, modelSize, ownerWrap.length));
  const view = new DataView(bytes.buffer);
  assert.equal(Buffer.from(bytes.subarray(0, 4)).toString("latin1"), "FMSU");
  assert.deepEqual([...bytes.subarray(4, 8)], [2, 4, 16, 32]);
  assert.equal(view.getUint32(8, true), 20);
  assert.equal(view.getUint32(12, true), 30);
  assert.equal(view.getUint32(16, true), 2);
  assert.equal(view.getUint32(20, true), 3);
  assert.equal(bytes[24 + 31], 11); // E.x big-endian
  assert.equal(BigInt(`0x${Buffer.from(bytes.subarray(56, 88)).toString("hex")}`), FIELD_MODULUS - 1n);
  assert.equal(bytes[88 + 31], 1); // chunk 0 element 0
  assert.deepEqual([...bytes.subarray(88 + 3 * 32 + 30, 88 + 4 * 32)], [0x01, 0x02]); // chunk 1 element 1, chunk-major
  assert.deepEqual([...bytes.subarray(bytes.length - 3)], [0xf0, 0xf1, 0xf2]);
  assert.deepEqual(decodeSealedUpdate(bytes, { config, modelSize }), blob);
  // one chunk at least; a wrap may be empty (only the owner can tell it is useless)
  const single: SealedUpdateBlob = {
    config,
    modelSize: 1,
    sealed: { ephemeral: [0n, 1n], chunks: [[0n, 0n]] },
    ownerWrap: new Uint8Array(0),
  };
  assert.deepEqual(decodeSealedUpdate(encodeSealedUpdate(single)), single);
});

test("the decoder names the field: framing", () => {
  const bytes = encodeSealedUpdate(blob);
  throwsField(() => decodeSealedUpdate(bytes.subarray(0, 87)), "length", /87 bytes is shorter than the 88-byte header/);
  throwsField(
    () => decodeSealedUpdate(bytes.subarray(0, bytes.length - 1)),
    "length",
    /header says 2 chunks of 2 elements and a 3-byte owner wrap/,
  );
  throwsField(() => decodeSealedUpdate(Uint8Array.from([...bytes, 0])), "length", /bytes, but the header says/);
  throwsField(() => decodeSealedUpdate(patched((b) => (b[0] = 0x58))), "magic", /"XMSU", expected FMSU/);
  throwsField(() => decodeSealedUpdate(patched((b) => (b[4] = 1))), "version", /1 is not supported/);
  throwsField(() => decodeSealedUpdate(patched((_b, v) => v.setUint32(20, 4, true))), "length", /4-byte owner wrap/);
  throwsField(() => decodeSealedUpdate(patched((_b, v) => v.setUint32(20, 0xffff_ffff, true))), "length", /owner wrap/);
});

test("the decoder names the field: circuit configuration, value and chunk counts", () => {
  throwsField(() => decodeSealedUpdate(patched((b) => (b[5] = 0))), "kMax", /0 is not in \[1, 64\]/);
  throwsField(() => decodeSealedUpdate(patched((b) => (b[5] = 65))), "kMax", /65/);
  throwsField(() => decodeSealedUpdate(patched((b) => (b[6] = 1))), "updateBits", /1 is not in \[2, 64\]/);
  throwsField(() => decodeSealedUpdate(patched((b) => (b[7] = 15))), "modelBits", /15 is not in \[B = 16, 126\]/);
  throwsField(() => decodeSealedUpdate(patched((_b, v) => v.setUint32(8, 0, true))), "chunk", /0 is not in \[1, 2\^32\)/);
  throwsField(() => decodeSealedUpdate(patched((_b, v) => v.setUint32(12, 0, true))), "valueCount", /0 values/);
  throwsField(
    () => decodeSealedUpdate(patched((_b, v) => v.setUint32(16, 3, true))),
    "chunkCount",
    /3, but 30 values in chunks of 20 need 2/,
  );
  throwsField(() => decodeSealedUpdate(patched((_b, v) => v.setUint32(12, 41, true))), "chunkCount", /2, but 41 values/);
  // made for another project: each field of the configuration, then the model size
  const bytes = encodeSealedUpdate(blob);
  throwsField(() => decodeSealedUpdate(bytes, { config: { ...config, kMax: 8 } }), "kMax", /made for kMax 4, the project's circuit has 8/);
  throwsField(
    () => decodeSealedUpdate(bytes, { config: { ...config, chunk: 16 } }),
    "chunk",
    /made for chunk 20, the project's circuit has 16/,
  );
  throwsField(() => decodeSealedUpdate(bytes, { config: { ...config, updateBits: 8 } }), "updateBits", /made for updateBits 16/);
  throwsField(() => decodeSealedUpdate(bytes, { config: { ...config, modelBits: 24 } }), "modelBits", /made for modelBits 32/);
  throwsField(() => decodeSealedUpdate(bytes, { config, modelSize: 31 }), "valueCount", /30 values, the model has 31/);
});

test("the decoder names the field: canonical field elements", () => {
  const over = (at: number) => patched((b) => b.fill(0xff, at, at + 32));
  throwsField(() => decodeSealedUpdate(over(24)), "ephemeral", /E\.x is not a canonical BN254 field element/);
  throwsField(() => decodeSealedUpdate(over(56)), "ephemeral", /E\.y is not a canonical/);
  throwsField(() => decodeSealedUpdate(over(88 + 3 * 32)), "ciphertext", /chunk 1 element 1 is not a canonical/);
  // r itself is the first value that is not canonical
  const r = encodeSealedUpdate({
    ...blob,
    sealed: {
      ...sealed,
      chunks: [
        [1n, 2n],
        [FIELD_MODULUS - 1n, 0n],
      ],
    },
  });
  const rBytes = patched((b) => (b[88 + 2 * 32 + 31]! += 1), r);
  throwsField(() => decodeSealedUpdate(rBytes), "ciphertext", /chunk 1 element 0/);
});

test("the encoder refuses what the decoder would, naming the field", () => {
  throwsField(() => encodeSealedUpdate({ ...blob, modelSize: 0 }), "valueCount", /0 is not in \[1, 2\^32\)/);
  throwsField(() => encodeSealedUpdate({ ...blob, modelSize: 41 }), "chunkCount", /2 chunks, but 41 values in chunks of 20 need 3/);
  throwsField(
    () => encodeSealedUpdate({ ...blob, sealed: { ...sealed, chunks: [[1n, 2n], [3n]] } }),
    "ciphertext",
    /chunk 1 has 1 elements, expected 2/,
  );
  throwsField(() => encodeSealedUpdate({ ...blob, sealed: { ...sealed, ephemeral: [FIELD_MODULUS, 0n] } }), "ephemeral", /E\.x/);
  throwsField(
    () =>
      encodeSealedUpdate({
        ...blob,
        sealed: {
          ...sealed,
          chunks: [
            [-1n, 2n],
            [3n, 4n],
          ],
        },
      }),
    "ciphertext",
    /chunk 0 element 0/,
  );
  throwsField(() => encodeSealedUpdate({ ...blob, config: { ...config, updateBits: 65 } }), "updateBits", /65/);
  throwsField(() => encodeSealedUpdate({ ...blob, config: { ...config, chunk: 1.5 } }), "chunk", /1\.5/);
});
