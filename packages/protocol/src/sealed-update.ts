/**
 * The sealed update (`FMSU` v2): what a trainer pins for its round (docs/PROOF-INTERFACE.md,
 * "Sealed updates"). It holds exactly what the on-chain commitment
 * `c = sealedCommitment(cipherChain(chunks), E)` (@fedmarket/core cipher.ts) opens: the ephemeral
 * key `E` and the ciphertext of every chunk of the packed update; plus the ephemeral secret `e`
 * wrapped for the project owner (an `FMEV` envelope to the owner's X25519 key, envelope.ts), so
 * that the owner can decrypt for audits without the aggregator's secret.
 *
 * Binary layout (integers little-endian unless noted; documented in packages/protocol/README.md):
 *
 * | offset      | size        | field                                                              |
 * | ----------- | ----------- | ------------------------------------------------------------------ |
 * | 0           | 4           | magic, ASCII `FMSU`                                                |
 * | 4           | 1           | version = 2 (v1: keystream blocks of 3 elements, v2: of 9)         |
 * | 5           | 1           | kMax (1..64)                                                       |
 * | 6           | 1           | updateBits `B` (2..64)                                             |
 * | 7           | 1           | modelBits `BG` (B..126)                                            |
 * | 8           | 4           | chunk `CHUNK`, u32 (>= 1)                                          |
 * | 12          | 4           | value count `D`, u32 (>= 1)                                        |
 * | 16          | 4           | chunk count `C = ceil(D / CHUNK)`, u32                             |
 * | 20          | 4           | owner wrap length `W`, u32                                         |
 * | 24          | 32          | `E.x`, u256 big-endian, a canonical BN254 field element            |
 * | 56          | 32          | `E.y`, u256 big-endian, a canonical BN254 field element            |
 * | 88          | 32 * C * NP | ciphertext elements, u256 big-endian, canonical, chunk-major;      |
 * |             |             | `NP = packedLength(CHUNK, B)` elements per chunk                   |
 * | 88 + 32CNP  | W           | the owner wrap: `FMEV` bytes of `e` (32 bytes, big-endian)         |
 *
 * The blob is exactly `88 + 32 * C * NP + W` bytes. Chunk `j`'s ciphertext encrypts the packed
 * values `j * CHUNK .. (j + 1) * CHUNK` of the update zero-padded to `C * CHUNK` values.
 *
 * `decodeSealedUpdate` checks every field and names it (`SealedUpdateError.field`). It frames the
 * owner wrap (its exact length) but does not look inside: the wrap is not committed, and only the
 * owner can open it (update-codec.ts, `undecryptable`). Whether `E` is on the curve and whether the
 * plaintext unpacks are the codec's checks too: they are facts of the committed data, not of its
 * encoding.
 */
import { FIELD_MODULUS, packedLength, validateConfig, type CircuitConfig, type CurvePoint, type SealedUpdate } from "@fedmarket/core";

export const SEALED_UPDATE_MAGIC = "FMSU";
export const SEALED_UPDATE_VERSION = 2;
export const SEALED_UPDATE_HEADER_BYTES = 88;
const U32_MAX = 0xffff_ffff;

/** A decoded sealed update: the committed data (`sealed`), the owner's wrap and what they were made for. */
export interface SealedUpdateBlob {
  /** Circuit configuration the update is packed for. */
  readonly config: CircuitConfig;
  /** `D`, the number of values (the model size); the chunks hold them zero-padded to `C * CHUNK`. */
  readonly modelSize: number;
  /** `E` and the ciphertext, `C` chunks of `NP` elements: what the commitment opens. */
  readonly sealed: SealedUpdate;
  /** `e` wrapped for the owner (`FMEV` bytes; not committed, not checked by the decoder). */
  readonly ownerWrap: Uint8Array;
}

/** The blob's fields, as named in `SealedUpdateError.field`. */
export type SealedUpdateField =
  | "length"
  | "magic"
  | "version"
  | "kMax"
  | "updateBits"
  | "modelBits"
  | "chunk"
  | "config"
  | "valueCount"
  | "chunkCount"
  | "ownerWrap"
  | "ephemeral"
  | "ciphertext";

/** A blob (or an input to `encodeSealedUpdate`) that breaks the format; `field` names where. */
export class SealedUpdateError extends Error {
  readonly field: SealedUpdateField;
  constructor(field: SealedUpdateField, message: string) {
    super(`sealed update: ${field}: ${message}`);
    this.name = "SealedUpdateError";
    this.field = field;
  }
}

/** `C`: chunks holding `D` values (at least one). */
export function sealedChunkCount(modelSize: number, chunk: number): number {
  return Math.max(1, Math.ceil(modelSize / chunk));
}

/** Encoded size of a blob of `D = modelSize` values with an owner wrap of `wrapBytes` bytes. */
export function sealedUpdateSize(config: CircuitConfig, modelSize: number, wrapBytes: number): number {
  const np = packedLength(config.chunk, config.updateBits);
  return SEALED_UPDATE_HEADER_BYTES + 32 * sealedChunkCount(modelSize, config.chunk) * np + wrapBytes;
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

/** The table's ranges field by field, then core's rules for the whole configuration. */
function checkConfig(config: CircuitConfig): void {
  const { kMax, chunk, updateBits, modelBits } = config;
  const within = (x: number, lo: number, hi: number): boolean => Number.isInteger(x) && x >= lo && x <= hi;
  if (!within(kMax, 1, 64)) throw new SealedUpdateError("kMax", `${kMax} is not in [1, 64]`);
  if (!within(updateBits, 2, 64)) throw new SealedUpdateError("updateBits", `${updateBits} is not in [2, 64]`);
  if (!within(modelBits, updateBits, 126)) throw new SealedUpdateError("modelBits", `${modelBits} is not in [B = ${updateBits}, 126]`);
  if (!within(chunk, 1, U32_MAX)) throw new SealedUpdateError("chunk", `${chunk} is not in [1, 2^32)`);
  try {
    validateConfig(config);
  } catch (err) {
    throw new SealedUpdateError("config", (err as Error).message);
  }
}

function checkElement(x: bigint, field: "ephemeral" | "ciphertext", what: string): void {
  if (x < 0n || x >= FIELD_MODULUS) throw new SealedUpdateError(field, `${what} is not a canonical BN254 field element`);
}

/**
 * Encodes a sealed update. Throws `SealedUpdateError` for anything out of range: a configuration
 * the circuits do not support, a chunk count or chunk length that does not match `D` and the
 * configuration, a coordinate or element that is no canonical field element. `E` need not be on
 * the curve (the format does not care; the codec does).
 */
export function encodeSealedUpdate(blob: SealedUpdateBlob): Uint8Array {
  const { config, modelSize, sealed, ownerWrap } = blob;
  checkConfig(config);
  if (!Number.isInteger(modelSize) || modelSize < 1 || modelSize > U32_MAX) {
    throw new SealedUpdateError("valueCount", `${modelSize} is not in [1, 2^32)`);
  }
  const chunks = sealedChunkCount(modelSize, config.chunk);
  const np = packedLength(config.chunk, config.updateBits);
  if (sealed.chunks.length !== chunks) {
    throw new SealedUpdateError(
      "chunkCount",
      `${sealed.chunks.length} chunks, but ${modelSize} values in chunks of ${config.chunk} need ${chunks}`,
    );
  }
  sealed.chunks.forEach((c, j) => {
    if (c.length !== np) throw new SealedUpdateError("ciphertext", `chunk ${j} has ${c.length} elements, expected ${np}`);
  });
  if (ownerWrap.length > U32_MAX) throw new SealedUpdateError("ownerWrap", `${ownerWrap.length} bytes do not fit a u32 length`);
  checkElement(sealed.ephemeral[0], "ephemeral", "E.x");
  checkElement(sealed.ephemeral[1], "ephemeral", "E.y");
  const out = new Uint8Array(sealedUpdateSize(config, modelSize, ownerWrap.length));
  const view = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = SEALED_UPDATE_MAGIC.charCodeAt(i);
  out[4] = SEALED_UPDATE_VERSION;
  out[5] = config.kMax;
  out[6] = config.updateBits;
  out[7] = config.modelBits;
  view.setUint32(8, config.chunk, true);
  view.setUint32(12, modelSize, true);
  view.setUint32(16, chunks, true);
  view.setUint32(20, ownerWrap.length, true);
  writeU256(out, 24, sealed.ephemeral[0]);
  writeU256(out, 56, sealed.ephemeral[1]);
  let at = SEALED_UPDATE_HEADER_BYTES;
  sealed.chunks.forEach((c, j) => {
    c.forEach((x, i) => {
      checkElement(x, "ciphertext", `chunk ${j} element ${i}`);
      writeU256(out, at, x);
      at += 32;
    });
  });
  out.set(ownerWrap, at);
  return out;
}

/** What a blob must have been made for (the project's circuit and model size). */
export interface SealedUpdateExpectations {
  readonly config?: CircuitConfig;
  /** Expected `D`. */
  readonly modelSize?: number;
}

/**
 * Decodes and checks a sealed update (see the module comment); with `expect`, also that it was
 * made for this circuit configuration and model size. Throws `SealedUpdateError` naming the first
 * field that is wrong; any bytes give a result or that error, never another exception.
 */
export function decodeSealedUpdate(bytes: Uint8Array, expect: SealedUpdateExpectations = {}): SealedUpdateBlob {
  if (bytes.length < SEALED_UPDATE_HEADER_BYTES) {
    throw new SealedUpdateError("length", `${bytes.length} bytes is shorter than the ${SEALED_UPDATE_HEADER_BYTES}-byte header`);
  }
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== SEALED_UPDATE_MAGIC) throw new SealedUpdateError("magic", `${JSON.stringify(magic)}, expected ${SEALED_UPDATE_MAGIC}`);
  if (bytes[4] !== SEALED_UPDATE_VERSION)
    throw new SealedUpdateError("version", `${bytes[4]} is not supported (expected ${SEALED_UPDATE_VERSION})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const config: CircuitConfig = {
    kMax: bytes[5] as number,
    updateBits: bytes[6] as number,
    modelBits: bytes[7] as number,
    chunk: view.getUint32(8, true),
  };
  checkConfig(config);
  if (expect.config !== undefined) {
    for (const k of ["kMax", "chunk", "updateBits", "modelBits"] as const) {
      if (config[k] !== expect.config[k])
        throw new SealedUpdateError(k, `made for ${k} ${config[k]}, the project's circuit has ${expect.config[k]}`);
    }
  }
  const modelSize = view.getUint32(12, true);
  if (modelSize < 1) throw new SealedUpdateError("valueCount", "0 values");
  if (expect.modelSize !== undefined && modelSize !== expect.modelSize) {
    throw new SealedUpdateError("valueCount", `${modelSize} values, the model has ${expect.modelSize}`);
  }
  const chunks = view.getUint32(16, true);
  const want = sealedChunkCount(modelSize, config.chunk);
  if (chunks !== want)
    throw new SealedUpdateError("chunkCount", `${chunks}, but ${modelSize} values in chunks of ${config.chunk} need ${want}`);
  const wrapBytes = view.getUint32(20, true);
  const size = sealedUpdateSize(config, modelSize, wrapBytes);
  if (bytes.length !== size) {
    throw new SealedUpdateError(
      "length",
      `${bytes.length} bytes, but the header says ${chunks} chunks of ${packedLength(config.chunk, config.updateBits)} elements and a ${wrapBytes}-byte owner wrap (${size} bytes)`,
    );
  }
  const ephemeral: CurvePoint = [readU256(bytes, 24), readU256(bytes, 56)];
  checkElement(ephemeral[0], "ephemeral", "E.x");
  checkElement(ephemeral[1], "ephemeral", "E.y");
  const np = packedLength(config.chunk, config.updateBits);
  const cipher: bigint[][] = [];
  let at = SEALED_UPDATE_HEADER_BYTES;
  for (let j = 0; j < chunks; j++) {
    const c: bigint[] = [];
    for (let i = 0; i < np; i++, at += 32) {
      const x = readU256(bytes, at);
      checkElement(x, "ciphertext", `chunk ${j} element ${i}`);
      c.push(x);
    }
    cipher.push(c);
  }
  return { config, modelSize, sealed: { ephemeral, chunks: cipher }, ownerWrap: bytes.slice(at) };
}

/**
 * The ciphertext of a sealed update as `publishUpdate` takes it and `UpdatePublished` carries it: the
 * chunks' elements one after the other (`numChunks * NP` elements, the contract checks the length);
 * from chunk `from` to chunk `to` (exclusive) for an update published in parts.
 */
export function flatCipher(sealed: Pick<SealedUpdate, "chunks">, from = 0, to = sealed.chunks.length): bigint[] {
  return sealed.chunks.slice(from, to).flat();
}

/** What `publishedSealedUpdate` reads of an `UpdatePublished` record (chain/records.ts `PublicationRecord`). */
export interface PublishedSealedData {
  /** The chunk `cipher` starts at: 0, a whole update (a history prepends a publication's parts). */
  readonly firstChunk?: number;
  readonly ephemeral: CurvePoint;
  /** The flat ciphertext, `numChunks * NP` elements, chunk-major. */
  readonly cipher: readonly bigint[];
  readonly ownerWrap: Uint8Array;
}

/**
 * The sealed update a flagged slot's answer published on chain (`UpdatePublished`), as the blob a
 * trainer would have pinned: the flat ciphertext split into chunks of `NP = packedLength(CHUNK, B)`
 * elements (the circuit's, which the event does not carry). The contract already checked that `E`
 * and the ciphertext open the slot's revealed commitment (so this is the committed data) and that
 * every element is canonical; the length is checked here against the model size, because the
 * contract checks it against the project's chunk count and a verifier's `cipherWidth`, not against
 * the spec this node reads. Throws `SealedUpdateError` when they disagree.
 */
export function publishedSealedUpdate(record: PublishedSealedData, config: CircuitConfig, modelSize: number): SealedUpdateBlob {
  checkConfig(config);
  const np = packedLength(config.chunk, config.updateBits);
  const chunks = sealedChunkCount(modelSize, config.chunk);
  if ((record.firstChunk ?? 0) !== 0) {
    throw new SealedUpdateError(
      "ciphertext",
      `the publication starts at chunk ${record.firstChunk}: its earlier chunks are in UpdatePartPublished events outside the blocks read; read the round from its opening block`,
    );
  }
  if (record.cipher.length !== chunks * np) {
    throw new SealedUpdateError(
      "ciphertext",
      `${record.cipher.length} published elements, but ${modelSize} values in chunks of ${config.chunk} need ${chunks} chunks of ${np}`,
    );
  }
  checkElement(record.ephemeral[0], "ephemeral", "E.x");
  checkElement(record.ephemeral[1], "ephemeral", "E.y");
  const cipher: bigint[][] = [];
  for (let j = 0; j < chunks; j++) {
    const c = record.cipher.slice(j * np, (j + 1) * np);
    c.forEach((x, i) => checkElement(x, "ciphertext", `chunk ${j} element ${i}`));
    cipher.push(c);
  }
  return {
    config,
    modelSize,
    sealed: { ephemeral: [record.ephemeral[0], record.ephemeral[1]], chunks: cipher },
    ownerWrap: record.ownerWrap,
  };
}
