/**
 * The update codec: the one place where a trainer's update is sealed and opened.
 *
 * - `sealUpdate`: `FMUP` payload (update-payload.ts) -> `FMEV` envelope (envelope.ts) to the
 *   aggregator's and the owner's X25519 keys, bound to (chain, market, project, round, trainer).
 * - `openUpdate`: envelope -> payload -> the checks the aggregator's exclusions rest on -> the
 *   commitment on chain. It names what is wrong instead of throwing, so that the aggregator (which
 *   excludes the slot), the audit (which re-checks the aggregator's exclusions with the owner's key)
 *   and the tools cannot drift apart: an update is usable exactly when `openUpdate` says `ok`.
 *
 * The checks, in order (the first failure is the reason):
 *
 * | reason          | the update ...                                                                 |
 * | --------------- | ------------------------------------------------------------------------------ |
 * | `missing`       | cannot be fetched from the blob store (`fetchAndOpenUpdate` only)              |
 * | `undecryptable` | is no envelope for this key, or is bound to another chain, market, project,    |
 * |                 | round or submitter (AEAD associated data), or was tampered with                |
 * | `malformed`     | decrypts to bytes that are no `FMUP` payload, or to one made for another       |
 * |                 | project, round, circuit configuration or model size `D`                        |
 * | `not-opening`   | holds values and a salt that do not open the commitment submitted on chain     |
 */
import { commitUpdate, type CircuitConfig } from "@fedmarket/core";
import { openEnvelope, sealEnvelope } from "./envelope.ts";
import type { BlobStore, FetchOptions } from "./storage/blob-store.ts";
import { decodeUpdatePayload, encodeUpdatePayload, updateAssociatedData, type UpdateContext } from "./update-payload.ts";

/**
 * Why an update cannot be used (see the module comment). The aggregator's own exclusion reasons add
 * the free-rider rule's `replayed-global-delta` on top of these.
 */
export type UpdateExclusionReason = "missing" | "undecryptable" | "malformed" | "not-opening";

/** What `sealUpdate` needs: the envelope's binding context, the quantized update and its recipients. */
export interface SealUpdateInput extends UpdateContext {
  /** Circuit configuration the values are quantized and committed for. */
  readonly config: CircuitConfig;
  /** The quantized update (`D` signed `B`-bit integers). */
  readonly values: readonly bigint[];
  /** The commitment's salt. */
  readonly salt: bigint;
  /** X25519 public keys (32 bytes each): the project's aggregator and owner, as published on chain. */
  readonly recipientKeys: readonly Uint8Array[];
}

export interface SealedUpdate {
  /** What the trainer pins: the encrypted payload. */
  readonly envelope: Uint8Array;
  /** The plaintext `FMUP` payload (for sizes and tests; never published). */
  readonly payload: Uint8Array;
}

/**
 * Seals a quantized update for the project's aggregator and owner, bound to the submission's
 * context so that it cannot be replayed in another round, project or deployment, or under another
 * trainer's address. Throws `UpdatePayloadError` / `EnvelopeError` for inputs out of range (the
 * caller's fault: nothing is published).
 */
export function sealUpdate(input: SealUpdateInput): SealedUpdate {
  const { chainId, market, projectId, round, trainer, config, values, salt, recipientKeys } = input;
  const payload = encodeUpdatePayload({ projectId, round, config, values, salt });
  const associatedData = updateAssociatedData({ chainId, market, projectId, round, trainer });
  return { envelope: sealEnvelope(payload, recipientKeys, { associatedData }), payload };
}

/** Everything an update is checked against: its submission's context and the project's facts on chain. */
export interface OpenUpdateContext extends UpdateContext {
  /** The project's circuit configuration (from its spec, checked against the chain). */
  readonly config: CircuitConfig;
  /** The model size `D` on chain. */
  readonly modelSize: number;
  /** The commitment the trainer submitted on chain with this update's CID. */
  readonly commitment: bigint;
}

/** An update that passed every check. */
export interface OpenedUpdate {
  readonly ok: true;
  readonly values: readonly bigint[];
  readonly salt: bigint;
}

/** An update that cannot be used, with the first check it failed and a message saying why. */
export interface RejectedUpdate<Reason extends UpdateExclusionReason = UpdateExclusionReason> {
  readonly ok: false;
  readonly reason: Reason;
  readonly detail: string;
}

export type UpdateOpening<Reason extends UpdateExclusionReason = UpdateExclusionReason> = OpenedUpdate | RejectedUpdate<Reason>;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Decrypts an update with a recipient's X25519 secret key and checks it (see the module comment).
 * Never throws for the update's own faults, whatever its bytes: a trainer must not be able to stop
 * the aggregator's round (or the audit) with a crafted envelope. Throws only for the caller's
 * faults: a context that is no valid associated data (`UpdatePayloadError`), or a key that is not
 * 32 bytes (`RangeError`).
 */
export function openUpdate(
  envelope: Uint8Array,
  secretKey: Uint8Array,
  context: OpenUpdateContext,
): UpdateOpening<Exclude<UpdateExclusionReason, "missing">> {
  if (secretKey.length !== 32) throw new RangeError(`an X25519 secret key is 32 bytes, got ${secretKey.length}`);
  const { chainId, market, projectId, round, trainer, config, modelSize, commitment } = context;
  const associatedData = updateAssociatedData({ chainId, market, projectId, round, trainer });
  let plain: Uint8Array;
  try {
    plain = openEnvelope(envelope, secretKey, { associatedData });
  } catch (err) {
    return { ok: false, reason: "undecryptable", detail: message(err) };
  }
  let values: readonly bigint[];
  let salt: bigint;
  try {
    ({ values, salt } = decodeUpdatePayload(plain, { projectId, round, config, count: modelSize }));
  } catch (err) {
    return { ok: false, reason: "malformed", detail: message(err) };
  }
  if (commitUpdate(values, salt, config.chunk, config.updateBits) !== commitment) {
    return { ok: false, reason: "not-opening", detail: "the payload does not open the commitment submitted on chain" };
  }
  return { ok: true, values, salt };
}

/**
 * Fetches an update from the blob store (with `fetchOptions`' timeout and retries), then
 * `openUpdate`s it. A fetch that fails is the update's fault (`missing`: the trainer did not keep
 * its CID available), except when the caller's own `fetchOptions.signal` aborted it: that rethrows.
 */
export async function fetchAndOpenUpdate(
  store: BlobStore,
  cid: string,
  secretKey: Uint8Array,
  context: OpenUpdateContext,
  fetchOptions: FetchOptions = {},
): Promise<UpdateOpening> {
  let envelope: Uint8Array;
  try {
    envelope = await store.get(cid, fetchOptions);
  } catch (err) {
    if (fetchOptions.signal?.aborted === true) throw err;
    return { ok: false, reason: "missing", detail: `cannot fetch ${cid}: ${message(err)}` };
  }
  return openUpdate(envelope, secretKey, context);
}
