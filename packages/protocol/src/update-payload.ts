/**
 * The update payload (`FMUP` v1): what a trainer encrypts (envelope.ts) and pins for the round's
 * aggregator and the project owner. It holds everything needed to open the on-chain commitment
 * `c = Poseidon(trainerChain(values), salt)` (docs/PROOF-INTERFACE.md), plus the context it was
 * made for so that a payload cannot be mistaken for another project's, round's or circuit's.
 *
 * Binary layout (integers little-endian unless noted; documented in packages/protocol/README.md):
 *
 * | offset | size      | field                                                            |
 * | ------ | --------- | ---------------------------------------------------------------- |
 * | 0      | 4         | magic, ASCII `FMUP`                                              |
 * | 4      | 1         | version = 1                                                      |
 * | 5      | 1         | kMax (1..64)                                                     |
 * | 6      | 1         | updateBits `B` (2..64)                                           |
 * | 7      | 1         | modelBits `BG` (B..126)                                          |
 * | 8      | 4         | chunk `CHUNK`, u32                                               |
 * | 12     | 4         | round, u32                                                       |
 * | 16     | 4         | value count `D`, u32 (>= 1)                                      |
 * | 20     | 4         | reserved, 0                                                      |
 * | 24     | 32        | project id, u256 big-endian                                      |
 * | 56     | 32        | salt, u256 big-endian, a canonical BN254 field element           |
 * | 88     | w * D     | values: `w = ceil(B / 8)` bytes each, two's complement, LE,      |
 * |        |           | each in `[-2^(B-1), 2^(B-1))`                                    |
 *
 * The payload is exactly `88 + w * D` bytes. Integrity comes from the envelope (AEAD) and, for the
 * values and salt, from the commitment on chain; `decodeUpdatePayload` still checks every field so
 * that a malformed payload fails with a message naming the field.
 */
import { assertSignedBits, FIELD_MODULUS, validateConfig, type CircuitConfig } from "@fedmarket/core";

export const UPDATE_PAYLOAD_MAGIC = "FMUP";
export const UPDATE_PAYLOAD_VERSION = 1;
export const UPDATE_PAYLOAD_HEADER_BYTES = 88;

/** Largest project id / salt: both are 256-bit words. */
const U256_MAX = (1n << 256n) - 1n;

export interface UpdatePayload {
  /** Marketplace project id. */
  readonly projectId: bigint;
  /** The round the update was trained for. */
  readonly round: number;
  /** Circuit configuration the values are quantized and committed for. */
  readonly config: CircuitConfig;
  /** The quantized update, `D` signed `B`-bit integers (not padded). */
  readonly values: readonly bigint[];
  /** The commitment's salt (a canonical field element). */
  readonly salt: bigint;
}

export class UpdatePayloadError extends Error {
  constructor(message: string) {
    super(`update payload: ${message}`);
    this.name = "UpdatePayloadError";
  }
}

/** Bytes per value for `B`-bit values. */
export function valueWidth(updateBits: number): number {
  return Math.ceil(updateBits / 8);
}

/** Encoded size of a payload of `count` values. */
export function updatePayloadSize(count: number, updateBits: number): number {
  return UPDATE_PAYLOAD_HEADER_BYTES + valueWidth(updateBits) * count;
}

function checkConfig(config: CircuitConfig): void {
  try {
    validateConfig(config);
  } catch (err) {
    throw new UpdatePayloadError(`circuit configuration: ${(err as Error).message}`);
  }
  if (config.chunk > 0xffff_ffff) throw new UpdatePayloadError(`chunk ${config.chunk} does not fit u32`);
}

function writeU256(out: Uint8Array, at: number, x: bigint): void {
  let v = x;
  for (let i = 31; i >= 0; i--) {
    out[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function readU256(bytes: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = 0; i < 32; i++) v = (v << 8n) | BigInt(bytes[at + i] as number);
  return v;
}

/** Encodes a payload; throws `UpdatePayloadError` for anything out of range. */
export function encodeUpdatePayload(payload: UpdatePayload): Uint8Array {
  const { projectId, round, config, values, salt } = payload;
  checkConfig(config);
  if (projectId < 0n || projectId > U256_MAX) throw new UpdatePayloadError(`project id ${projectId} is not a uint256`);
  if (!Number.isInteger(round) || round < 0 || round > 0xffff_ffff) throw new UpdatePayloadError(`round ${round} is not a u32`);
  if (values.length < 1 || values.length > 0xffff_ffff) throw new UpdatePayloadError(`needs 1 to 2^32-1 values, got ${values.length}`);
  if (salt < 0n || salt >= FIELD_MODULUS) throw new UpdatePayloadError("salt is not a canonical BN254 field element");
  const w = valueWidth(config.updateBits);
  const out = new Uint8Array(updatePayloadSize(values.length, config.updateBits));
  const view = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = UPDATE_PAYLOAD_MAGIC.charCodeAt(i);
  out[4] = UPDATE_PAYLOAD_VERSION;
  out[5] = config.kMax;
  out[6] = config.updateBits;
  out[7] = config.modelBits;
  view.setUint32(8, config.chunk, true);
  view.setUint32(12, round, true);
  view.setUint32(16, values.length, true);
  view.setUint32(20, 0, true);
  writeU256(out, 24, projectId);
  writeU256(out, 56, salt);
  const mask = (1n << BigInt(8 * w)) - 1n;
  values.forEach((v, i) => {
    try {
      assertSignedBits(v, config.updateBits, "value");
    } catch {
      throw new UpdatePayloadError(`value ${i} = ${v} is not in [-2^${config.updateBits - 1}, 2^${config.updateBits - 1})`);
    }
    let u = v & mask; // two's complement in w bytes
    const at = UPDATE_PAYLOAD_HEADER_BYTES + w * i;
    if (w === 2) {
      view.setUint16(at, Number(u), true);
      return;
    }
    for (let b = 0; b < w; b++) {
      out[at + b] = Number(u & 0xffn);
      u >>= 8n;
    }
  });
  return out;
}

export interface DecodeUpdateExpectations {
  readonly projectId?: bigint;
  readonly round?: number;
  readonly config?: CircuitConfig;
  /** Expected `D`. */
  readonly count?: number;
}

/**
 * Decodes and checks a payload. With `expect`, also checks that it was made for this project,
 * round, circuit configuration and model size.
 */
export function decodeUpdatePayload(bytes: Uint8Array, expect: DecodeUpdateExpectations = {}): UpdatePayload {
  if (bytes.length < UPDATE_PAYLOAD_HEADER_BYTES) {
    throw new UpdatePayloadError(`${bytes.length} bytes is shorter than the ${UPDATE_PAYLOAD_HEADER_BYTES}-byte header`);
  }
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== UPDATE_PAYLOAD_MAGIC) throw new UpdatePayloadError(`bad magic ${JSON.stringify(magic)} (expected ${UPDATE_PAYLOAD_MAGIC})`);
  if (bytes[4] !== UPDATE_PAYLOAD_VERSION) throw new UpdatePayloadError(`unsupported version ${bytes[4]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const config: CircuitConfig = {
    kMax: bytes[5] as number,
    updateBits: bytes[6] as number,
    modelBits: bytes[7] as number,
    chunk: view.getUint32(8, true),
  };
  checkConfig(config);
  const round = view.getUint32(12, true);
  const count = view.getUint32(16, true);
  if (count < 1) throw new UpdatePayloadError("value count is 0");
  if (view.getUint32(20, true) !== 0) throw new UpdatePayloadError("reserved bytes 20..24 are not zero");
  const projectId = readU256(bytes, 24);
  const salt = readU256(bytes, 56);
  if (salt >= FIELD_MODULUS) throw new UpdatePayloadError("salt is not a canonical BN254 field element");
  const expectedSize = updatePayloadSize(count, config.updateBits);
  if (bytes.length !== expectedSize) {
    throw new UpdatePayloadError(
      `header says ${count} values of ${config.updateBits} bits (${expectedSize} bytes) but the payload has ${bytes.length} bytes`,
    );
  }
  if (expect.projectId !== undefined && projectId !== expect.projectId) {
    throw new UpdatePayloadError(`made for project ${projectId}, expected ${expect.projectId}`);
  }
  if (expect.round !== undefined && round !== expect.round)
    throw new UpdatePayloadError(`made for round ${round}, expected ${expect.round}`);
  if (expect.config !== undefined) {
    const e = expect.config;
    if (e.kMax !== config.kMax || e.chunk !== config.chunk || e.updateBits !== config.updateBits || e.modelBits !== config.modelBits) {
      throw new UpdatePayloadError(`made for circuit ${JSON.stringify(config)}, expected ${JSON.stringify(e)}`);
    }
  }
  if (expect.count !== undefined && count !== expect.count)
    throw new UpdatePayloadError(`has ${count} values, the model has ${expect.count}`);
  const w = valueWidth(config.updateBits);
  const bits = BigInt(8 * w);
  const half = 1n << BigInt(config.updateBits - 1);
  const values: bigint[] = new Array<bigint>(count);
  for (let i = 0; i < count; i++) {
    const at = UPDATE_PAYLOAD_HEADER_BYTES + w * i;
    let u: bigint;
    if (w === 2) u = BigInt(view.getUint16(at, true));
    else {
      u = 0n;
      for (let b = w - 1; b >= 0; b--) u = (u << 8n) | BigInt(bytes[at + b] as number);
    }
    const v = u >= 1n << (bits - 1n) ? u - (1n << bits) : u; // sign-extend from w bytes
    if (v < -half || v >= half) {
      throw new UpdatePayloadError(`value ${i} = ${v} is outside the ${config.updateBits}-bit range`);
    }
    values[i] = v;
  }
  return { projectId, round, config, values, salt };
}

/** Context the envelope of an update is bound to (its AEAD associated data; not stored). */
export interface UpdateContext {
  readonly chainId: bigint;
  /** Marketplace contract address (0x + 40 hex). */
  readonly market: string;
  readonly projectId: bigint;
  readonly round: number;
  /** The submitting trainer's address (0x + 40 hex). */
  readonly trainer: string;
}

const AD_TAG = new TextEncoder().encode("fedmarket-update/1");

function addressBytes(address: string, what: string): Uint8Array {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new UpdatePayloadError(`${what} ${JSON.stringify(address)} is not an address`);
  return Uint8Array.from(Buffer.from(address.slice(2), "hex"));
}

/**
 * The envelope's associated data for an update: `"fedmarket-update/1" || chainId (32 BE) ||
 * market (20) || projectId (32 BE) || round (4 BE) || trainer (20)`. Decrypting an update in any
 * other context (another chain, deployment, project, round or submitter) fails.
 */
export function updateAssociatedData(ctx: UpdateContext): Uint8Array {
  const out = new Uint8Array(AD_TAG.length + 32 + 20 + 32 + 4 + 20);
  let at = 0;
  out.set(AD_TAG, at);
  at += AD_TAG.length;
  writeU256(out, at, ctx.chainId);
  at += 32;
  out.set(addressBytes(ctx.market, "market"), at);
  at += 20;
  writeU256(out, at, ctx.projectId);
  at += 32;
  new DataView(out.buffer).setUint32(at, ctx.round, false);
  at += 4;
  out.set(addressBytes(ctx.trainer, "trainer"), at);
  return out;
}
