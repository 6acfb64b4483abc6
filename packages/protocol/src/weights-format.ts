/**
 * Flat weight vectors and their binary file format (`.fmw`).
 *
 * Order: layer by layer as in the spec, inside a layer kernel then bias, each tensor in row-major
 * (C) order (what TensorFlow.js `layer.getWeights()` gives, layer after layer; not `model.weights`,
 * which lists non-trainable weights last). Global models, local models and deltas hold the
 * trainable layers only, in this order, so index `i` always means the same parameter; a spec's
 * `frozenWeights` file holds the frozen layers only, in the same order.
 *
 * Binary layout (all integers little-endian):
 *
 * | offset     | size  | field                                                  |
 * | ---------- | ----- | ------------------------------------------------------ |
 * | 0          | 8     | magic, ASCII `FMWEIGHT`                                |
 * | 8          | 2     | format version, u16 = 1                                |
 * | 10         | 1     | dtype, u8: 1 = float32                                 |
 * | 11         | 1     | reserved, 0                                            |
 * | 12         | 8     | parameter count `D`, u64                               |
 * | 20         | 4 * D | values, float32 little-endian                          |
 * | 20 + 4 * D | 32    | SHA-256 of bytes `[0, 20 + 4 * D)` (header and values) |
 *
 * Decoding checks the magic, version, dtype, the exact length, the checksum and that every value
 * is finite. (Reading and writing a TensorFlow.js model's weights in this order is the trainer's
 * `model-weights.ts`.)
 */
import { sha256 } from "@noble/hashes/sha2.js";

export const WEIGHTS_MAGIC = "FMWEIGHT";
export const WEIGHTS_VERSION = 1;
export const DTYPE_FLOAT32 = 1;
export const WEIGHTS_HEADER_BYTES = 20;
export const WEIGHTS_CHECKSUM_BYTES = 32;

export class WeightsFormatError extends Error {
  constructor(message: string) {
    super(`weights file: ${message}`);
    this.name = "WeightsFormatError";
  }
}

/** Encodes a flat float32 vector (copied) into the binary format above. */
export function encodeWeights(values: Float32Array): Uint8Array {
  const d = values.length;
  const out = new Uint8Array(WEIGHTS_HEADER_BYTES + 4 * d + WEIGHTS_CHECKSUM_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = WEIGHTS_MAGIC.charCodeAt(i);
  view.setUint16(8, WEIGHTS_VERSION, true);
  view.setUint8(10, DTYPE_FLOAT32);
  view.setUint8(11, 0);
  view.setBigUint64(12, BigInt(d), true);
  for (let i = 0; i < d; i++) view.setFloat32(WEIGHTS_HEADER_BYTES + 4 * i, values[i] as number, true);
  const body = WEIGHTS_HEADER_BYTES + 4 * d;
  out.set(sha256(out.subarray(0, body)), body);
  return out;
}

/** Decodes and verifies a weights file; `expectedCount` (if given) must match `D`. */
export function decodeWeights(bytes: Uint8Array, expectedCount?: number): Float32Array {
  if (bytes.length < WEIGHTS_HEADER_BYTES + WEIGHTS_CHECKSUM_BYTES) {
    throw new WeightsFormatError(`${bytes.length} bytes is shorter than an empty weights file`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic !== WEIGHTS_MAGIC) throw new WeightsFormatError(`bad magic ${JSON.stringify(magic)} (expected ${WEIGHTS_MAGIC})`);
  const version = view.getUint16(8, true);
  if (version !== WEIGHTS_VERSION) throw new WeightsFormatError(`unsupported version ${version}`);
  const dtype = view.getUint8(10);
  if (dtype !== DTYPE_FLOAT32) throw new WeightsFormatError(`unsupported dtype ${dtype} (only 1 = float32)`);
  const count = view.getBigUint64(12, true);
  const expectedBytes = BigInt(WEIGHTS_HEADER_BYTES + WEIGHTS_CHECKSUM_BYTES) + 4n * count;
  if (BigInt(bytes.length) !== expectedBytes) {
    throw new WeightsFormatError(`header says ${count} parameters (${expectedBytes} bytes) but the file has ${bytes.length} bytes`);
  }
  const d = Number(count);
  if (expectedCount !== undefined && d !== expectedCount) {
    throw new WeightsFormatError(`has ${d} parameters but the model has ${expectedCount}`);
  }
  const body = WEIGHTS_HEADER_BYTES + 4 * d;
  const want = sha256(bytes.subarray(0, body));
  const got = bytes.subarray(body);
  for (let i = 0; i < 32; i++) {
    if (want[i] !== got[i]) throw new WeightsFormatError("checksum mismatch (file corrupted or truncated)");
  }
  const out = new Float32Array(d);
  for (let i = 0; i < d; i++) {
    const v = view.getFloat32(WEIGHTS_HEADER_BYTES + 4 * i, true);
    if (!Number.isFinite(v)) throw new WeightsFormatError(`value ${i} is ${v}`);
    out[i] = v;
  }
  return out;
}
