/**
 * Content-addressed blob storage for model specs, global models and encrypted updates.
 *
 * Every blob is stored as a UnixFS file with Kubo's `ipfs add --cid-version 1` settings (CIDv1,
 * raw leaves, fixed 256 KiB chunks, balanced DAG of at most 174 links per node, sha2-256), so the
 * embedded Helia node and a Kubo node give the same CID for the same bytes: a blob of at most
 * 256 KiB is a single `raw` block (`bafkrei...`), a larger one a `dag-pb` root (`bafybei...`).
 *
 * `get` treats every source as untrusted: it re-derives the CID of the bytes it received with the
 * same settings and rejects a mismatch, so a blob is accepted only if it is exactly the content
 * the CID names (and CIDs made with other settings are rejected: blobs must be canonical).
 * Fetches time out per attempt and are retried with exponential backoff.
 */
import { unixfs, type AddFileOptions } from "@helia/unixfs";
import { CID } from "multiformats/cid";
import { sleep } from "../node/runtime.ts";

export interface FetchOptions {
  /** Per-attempt timeout (default 30,000 ms). */
  readonly timeoutMs?: number;
  /** Retries after the first attempt (default 3). */
  readonly retries?: number;
  /** First backoff delay; doubles per retry (default 250 ms, capped at `maxDelayMs`, default 8,000). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Cancels the whole fetch. */
  readonly signal?: AbortSignal;
}

export interface BlobStore {
  /** Stores (and pins) `bytes`; returns the CID as a string (base32 CIDv1). */
  put(bytes: Uint8Array): Promise<string>;
  /** Fetches and verifies the blob named by `cid`. */
  get(cid: string, options?: FetchOptions): Promise<Uint8Array>;
  /** Releases resources (stops an embedded node). */
  close(): Promise<void>;
}

/**
 * UnixFS import settings equal to Kubo's `ipfs add --cid-version 1` defaults.
 *
 * Careful: @helia/unixfs's own defaults are NOT Kubo's (it uses 1 MiB chunks and 1,024 links per
 * node, "Filecoin" settings). Setting `chunker` and `layout` to `undefined` removes those
 * defaults so ipfs-unixfs-importer's built-in ones apply: fixed-size 262,144-byte chunks and a
 * balanced layout of at most 174 links per node, i.e. Kubo's. (This avoids a direct dependency on
 * ipfs-unixfs-importer; test/storage.test.ts checks the result against an explicit configuration.)
 */
export const KUBO_COMPATIBLE_IMPORT: AddFileOptions = Object.freeze({
  cidVersion: 1,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
  chunker: undefined,
  layout: undefined,
});
export const CHUNK_BYTES = 262_144;
/** Kubo RPC spelling of the same chunker. */
export const KUBO_CHUNKER = `size-${CHUNK_BYTES}`;

export class BlobStoreError extends Error {
  readonly cid: string | undefined;
  constructor(message: string, cid?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BlobStoreError";
    this.cid = cid;
  }
}

/** The bytes received do not hash to the CID asked for. Never retried. */
export class CidMismatchError extends BlobStoreError {
  constructor(expected: string, actual: string) {
    super(`content does not match ${expected} (its CID is ${actual} with Kubo-compatible settings)`, expected);
    this.name = "CidMismatchError";
  }
}

/** The store knows for sure that it cannot find the blob (e.g. an offline node). Never retried. */
export class BlobNotFoundError extends BlobStoreError {
  constructor(cid: string, detail: string) {
    super(`${cid} not found: ${detail}`, cid);
    this.name = "BlobNotFoundError";
  }
}

/** Parses a CID string, with a clear error. */
export function parseCid(cid: string): CID {
  try {
    return CID.parse(cid.trim());
  } catch (err) {
    throw new BlobStoreError(`invalid CID ${JSON.stringify(cid)}: ${(err as Error).message}`, cid);
  }
}

const hashOnly = {
  put: async (cid: CID) => cid,
  has: async () => false,
  // eslint-disable-next-line require-yield
  async *get(): AsyncGenerator<Uint8Array> {
    throw new Error("hash-only blockstore has no blocks");
  },
};

/** The CID `bytes` get when added with `KUBO_COMPATIBLE_IMPORT` (nothing is stored). */
export async function computeCid(bytes: Uint8Array): Promise<string> {
  const cid = await unixfs({ blockstore: hashOnly }).addBytes(bytes, KUBO_COMPATIBLE_IMPORT);
  return cid.toString();
}

/** Throws `CidMismatchError` unless `bytes` is the content named by `cid`. */
export async function verifyCid(cid: string, bytes: Uint8Array): Promise<void> {
  const expected = parseCid(cid);
  const actual = await computeCid(bytes);
  // Both sides in canonical string form (CIDv1 base32); a CIDv0 never matches (not canonical).
  if (expected.toString() !== actual) throw new CidMismatchError(expected.toString(), actual);
}

/** Backoff before retry `attempt` (1-based): `min(maxDelayMs, baseDelayMs * 2^(attempt-1))`. */
export function backoffDelay(attempt: number, options: FetchOptions = {}): number {
  return Math.min(options.maxDelayMs ?? 8_000, (options.baseDelayMs ?? 250) * 2 ** (attempt - 1));
}

/**
 * Runs `attempt(signal)` with a per-attempt timeout; retries failures (except `CidMismatchError`
 * and `BlobNotFoundError`) with exponential backoff. The error names the CID, the number of
 * attempts and the last cause.
 */
export async function fetchWithRetries<T>(
  cid: string,
  attempt: (signal: AbortSignal) => Promise<T>,
  options: FetchOptions = {},
): Promise<T> {
  const retries = options.retries ?? 3;
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!Number.isInteger(retries) || retries < 0) throw new RangeError(`retries ${retries} must be a non-negative integer`);
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs ${timeoutMs} must be > 0`);
  let last: unknown;
  for (let i = 0; i <= retries; i++) {
    if (i > 0) {
      await sleep(backoffDelay(i, options), options.signal);
      options.signal?.throwIfAborted(); // cancelled during the backoff: the caller's reason, as before
    }
    if (options.signal?.aborted) break;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    try {
      return await attempt(signal);
    } catch (err) {
      if (err instanceof CidMismatchError || err instanceof BlobNotFoundError) throw err;
      last = timeout.aborted ? new Error(`timed out after ${timeoutMs} ms`, { cause: err }) : err;
    }
  }
  if (options.signal?.aborted) throw new BlobStoreError(`fetching ${cid} was cancelled`, cid, { cause: options.signal.reason });
  const reason = last instanceof Error ? last.message : String(last);
  throw new BlobStoreError(`could not fetch ${cid} after ${retries + 1} attempt${retries ? "s" : ""}: ${reason}`, cid, { cause: last });
}

/** Concatenates an async stream of chunks, honouring an abort signal between chunks. */
export async function collect(chunks: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const c of chunks) {
    signal?.throwIfAborted();
    parts.push(c);
    total += c.length;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
