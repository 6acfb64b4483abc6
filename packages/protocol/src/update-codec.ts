/**
 * The update codec: the one place where a trainer's update is sealed and opened
 * (docs/PROOF-INTERFACE.md, "Sealed updates"; the arithmetic is @fedmarket/core's cipher.ts).
 *
 * - `sealUpdate`: the quantized update packed per chunk and encrypted for the aggregator's
 *   registered BabyJubJub seal key `A` under a fresh ephemeral secret `e` (core `sealedSlot`), the
 *   on-chain commitment `sealedCommitment(cipherChain(chunks), E)` (no salt: `e` randomises the
 *   ciphertext), and `e` wrapped for the owner's X25519 key (`FMEV`, bound to the submission's
 *   context by `updateAssociatedData`), all in one `FMSU` blob (sealed-update.ts).
 * - `openUpdate`: blob -> the checks below -> the values and the sealed update the round proof
 *   decrypts. The aggregator opens with its seal secret `a` (`S = a * 8E`), the owner with its
 *   X25519 key (the wrap gives `e`, then `S = e * 8A`): both get the same key, so they reach the
 *   same verdict on every blob whose wrap opens. It names what is wrong instead of throwing, so
 *   that the aggregator (which excludes the slot or proves it), the audit (which re-checks the
 *   aggregator's exclusions with the owner's key) and the tools cannot drift apart: an update is
 *   usable exactly when `openUpdate` says `ok`.
 *
 * The checks, in order (the first failure is the reason):
 *
 * | reason          | the update ...                                                                 |
 * | --------------- | ------------------------------------------------------------------------------ |
 * | `missing`       | cannot be fetched from the blob store (`fetchAndOpenUpdate` only)              |
 * | `not-opening`   | is no `FMSU` blob for the project's circuit and model size, or its ciphertext  |
 * |                 | and `E` do not give the commitment on chain: not the committed data, which the |
 * |                 | aggregator treats as *not available*                                           |
 * | `bad-key`       | commits to an `E` that is not on the curve (the round proof shows it)          |
 * | `undecryptable` | (owner only) has a wrap that does not open for the owner's key and the         |
 * |                 | submission's context, or that holds no `e` with `8 * e * Base8 = 8E`           |
 * | `malformed`     | decrypts to a chunk whose plaintext does not unpack to `B`-bit values (a value |
 * |                 | beyond `B` bits, or non-zero bits above the last value of an element)          |
 *
 * `undecryptable` is never the aggregator's reason: the wrap is not committed and the proof
 * decrypts without it. Values in the zero padding of the last chunk are not checked (the circuits
 * cannot check them either: PROOF-INTERFACE, "Known gap: padding"); `values` holds the first `D`.
 */
import {
  cipherChain,
  clearCofactor,
  CURVE_IDENTITY,
  decryptChunk,
  FIELD_MODULUS,
  isOnCurve,
  publicKeyOf as curvePublicKeyOf,
  randomScalar,
  sealedCommitment,
  sealedSlot,
  sharedKey,
  SUBGROUP_ORDER,
  unpack,
  validateConfig,
  type CircuitConfig,
  type CurvePoint,
  type SealedUpdate,
} from "@fedmarket/core";
import { getBytes, toBeHex, toBigInt } from "ethers";
import { openEnvelope, sealEnvelope } from "./envelope.ts";
import { decodeSealedUpdate, encodeSealedUpdate } from "./sealed-update.ts";
import type { BlobStore, FetchOptions } from "./storage/blob-store.ts";

/** Why an update cannot be used (see the module comment). */
export type UpdateExclusionReason = "missing" | "not-opening" | "bad-key" | "undecryptable" | "malformed";

/** The reasons `openUpdate` can give the aggregator (the wrap is the owner's business). */
export type AggregatorOpeningReason = "not-opening" | "bad-key" | "malformed";

/** The reasons `openUpdate` can give the owner. */
export type OwnerOpeningReason = AggregatorOpeningReason | "undecryptable";

/** The caller's own fault (a bad context, key or input): nothing about the update. */
export class UpdateCodecError extends Error {
  constructor(message: string) {
    super(`update codec: ${message}`);
    this.name = "UpdateCodecError";
  }
}

/** Context the owner's wrap of an update is bound to (its AEAD associated data; not stored). */
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
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new UpdateCodecError(`${what} ${JSON.stringify(address)} is not an address`);
  return getBytes(address);
}

function u256Bytes(x: bigint, what: string): Uint8Array {
  if (x < 0n || x >= 1n << 256n) throw new UpdateCodecError(`${what} ${x} is not a uint256`);
  return getBytes(toBeHex(x, 32));
}

/**
 * The owner wrap's associated data for an update: `"fedmarket-update/1" || chainId (32 BE) ||
 * market (20) || projectId (32 BE) || round (4 BE) || trainer (20)`. Opening a wrap in any other
 * context (another chain, deployment, project, round or submitter) fails.
 */
export function updateAssociatedData(ctx: UpdateContext): Uint8Array {
  if (!Number.isInteger(ctx.round) || ctx.round < 0 || ctx.round > 0xffff_ffff)
    throw new UpdateCodecError(`round ${ctx.round} is not a u32`);
  const round = new Uint8Array(4);
  new DataView(round.buffer).setUint32(0, ctx.round, false);
  const parts = [
    AD_TAG,
    u256Bytes(ctx.chainId, "chain id"),
    addressBytes(ctx.market, "market"),
    u256Bytes(ctx.projectId, "project id"),
    round,
    addressBytes(ctx.trainer, "trainer"),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function checkConfig(config: CircuitConfig): void {
  try {
    validateConfig(config);
  } catch (err) {
    throw new UpdateCodecError(`circuit configuration: ${(err as Error).message}`);
  }
}

/**
 * Throws unless `sealKey` can seal: canonical coordinates on the curve, and `8A` not the identity
 * (a low-order key would give every update the public key `S = (0, 1)`). The contract refuses off-curve
 * keys and the identity on registration; this also refuses the other low-order points.
 */
function checkSealKey(sealKey: CurvePoint): void {
  const [x, y] = sealKey;
  if (x < 0n || x >= FIELD_MODULUS || y < 0n || y >= FIELD_MODULUS || !isOnCurve(sealKey)) {
    throw new UpdateCodecError(`seal key [${x}, ${y}] is not a BabyJubJub point`);
  }
  if (samePoint(clearCofactor(sealKey), CURVE_IDENTITY)) throw new UpdateCodecError(`seal key [${x}, ${y}] has low order`);
}

function samePoint(p: CurvePoint, q: CurvePoint): boolean {
  return p[0] === q[0] && p[1] === q[1];
}

/** What `sealUpdate` needs: the submission's context, the quantized update and the project's keys. */
export interface SealUpdateInput extends UpdateContext {
  /** Circuit configuration the values are quantized and packed for. */
  readonly config: CircuitConfig;
  /** The quantized update (`D` signed `B`-bit integers). */
  readonly values: readonly bigint[];
  /** The aggregator's registered seal key `A` (`ProjectInfo.aggregatorSealKey`). */
  readonly sealKey: CurvePoint;
  /** The owner's X25519 public key (32 bytes, `ProjectInfo.ownerEncryptionKey`). */
  readonly ownerKey: Uint8Array;
  /**
   * `e` in `[1, l)`; default: a fresh `randomScalar()`. Pass the returned one to re-create the same
   * blob, never to seal other values (the keystream would repeat).
   */
  readonly ephemeralSecret?: bigint;
}

/** A sealed update, ready to pin and commit. */
export interface SealUpdateResult {
  /** The `FMSU` blob the trainer pins. */
  readonly blob: Uint8Array;
  /** `sealedCommitment(cipherChain(chunks), E)`, what the trainer commits to on chain. */
  readonly commitment: bigint;
  /**
   * `e`: sealing again with it (same inputs) gives the same blob, CID and commitment. It decrypts
   * the update: keep it as secret as the update itself.
   */
  readonly ephemeralSecret: bigint;
}

/**
 * Seals a quantized update for the project's aggregator (its seal key) and owner (a wrap of `e`
 * bound to the submission's context, so that it cannot be replayed in another round, project or
 * deployment, or under another trainer's address). Deterministic given `ephemeralSecret`: the wrap's
 * randomness is derived from `e` (envelope.ts, `seed`). Throws `UpdateCodecError` for inputs out
 * of range (the caller's fault: nothing is published).
 */
export function sealUpdate(input: SealUpdateInput): SealUpdateResult {
  const { chainId, market, projectId, round, trainer, config, values, sealKey, ownerKey } = input;
  checkConfig(config);
  if (values.length < 1 || values.length > 0xffff_ffff) throw new UpdateCodecError(`needs 1 to 2^32-1 values, got ${values.length}`);
  checkSealKey(sealKey);
  if (ownerKey.length !== 32) throw new UpdateCodecError(`the owner's X25519 public key is 32 bytes, got ${ownerKey.length}`);
  const e = input.ephemeralSecret ?? randomScalar();
  if (e <= 0n || e >= SUBGROUP_ORDER) throw new UpdateCodecError("the ephemeral secret is not a scalar in [1, l)");
  const associatedData = updateAssociatedData({ chainId, market, projectId, round, trainer });
  let slot: ReturnType<typeof sealedSlot>;
  try {
    slot = sealedSlot(config, values, sealKey, e);
  } catch (err) {
    throw new UpdateCodecError(`cannot seal the values: ${(err as Error).message}`);
  }
  const eBytes = u256Bytes(e, "ephemeral secret");
  let ownerWrap: Uint8Array;
  try {
    ownerWrap = sealEnvelope(eBytes, [ownerKey], { associatedData, seed: eBytes });
  } catch (err) {
    throw new UpdateCodecError(`cannot wrap the ephemeral secret for the owner: ${(err as Error).message}`);
  }
  if (slot.sealed === undefined) throw new Error("unreachable: sealedSlot always seals");
  const blob = encodeSealedUpdate({ config, modelSize: values.length, sealed: slot.sealed, ownerWrap });
  return { blob, commitment: slot.commitment, ephemeralSecret: e };
}

/** The aggregator's key: its seal secret `a` (`A = a * Base8` is the registered seal key). */
export interface AggregatorUpdateKey {
  readonly kind: "aggregator";
  readonly secret: bigint;
}

/** The owner's key: its X25519 secret key (32 bytes), the recipient of every update's wrap. */
export interface OwnerUpdateKey {
  readonly kind: "owner";
  readonly secretKey: Uint8Array;
}

export type UpdateKey = AggregatorUpdateKey | OwnerUpdateKey;

/** Everything an update is checked against: its submission's context and the project's facts on chain. */
export interface OpenUpdateContext extends UpdateContext {
  /** The project's circuit configuration (from its spec, checked against the chain). */
  readonly config: CircuitConfig;
  /** The model size `D` on chain. */
  readonly modelSize: number;
  /** The commitment the trainer revealed on chain with this update's CID. */
  readonly commitment: bigint;
  /** The aggregator's registered seal key `A` (`ProjectInfo.aggregatorSealKey`). */
  readonly sealKey: CurvePoint;
}

/** An update that passed every check. */
export interface OpenedUpdate {
  readonly ok: true;
  /** The `D` quantized values. */
  readonly values: readonly bigint[];
  /** `E` and the ciphertext chunks: what the round proof decrypts (core `RoundSlot.sealed`). */
  readonly sealed: SealedUpdate;
}

/** An update that cannot be used, with the first check it failed and a message saying why. */
export interface RejectedUpdate<Reason extends UpdateExclusionReason = UpdateExclusionReason> {
  readonly ok: false;
  readonly reason: Reason;
  readonly detail: string;
}

export type UpdateOpening<Reason extends UpdateExclusionReason = UpdateExclusionReason> = OpenedUpdate | RejectedUpdate<Reason>;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The last aggregator secret checked against its seal key (a scalar multiplication costs tens of ms). */
let checkedSealSecret: { readonly secret: bigint; readonly sealKey: CurvePoint } | undefined;

function sealKeyOf(secret: bigint): CurvePoint {
  if (checkedSealSecret?.secret !== secret) checkedSealSecret = { secret, sealKey: curvePublicKeyOf(secret) };
  return checkedSealSecret.sealKey;
}

/** Throws unless the context and key are usable (the caller's faults); returns the wrap's associated data. */
function checkOpening(key: UpdateKey, context: OpenUpdateContext): Uint8Array {
  const { chainId, market, projectId, round, trainer, config, modelSize, sealKey } = context;
  checkConfig(config);
  if (!Number.isInteger(modelSize) || modelSize < 1) throw new UpdateCodecError(`model size ${modelSize} is not a positive integer`);
  checkSealKey(sealKey);
  const associatedData = updateAssociatedData({ chainId, market, projectId, round, trainer });
  if (key.kind === "aggregator") {
    if (key.secret <= 0n || key.secret >= SUBGROUP_ORDER)
      throw new UpdateCodecError("the aggregator's seal secret is not a scalar in [1, l)");
    if (!samePoint(sealKeyOf(key.secret), sealKey)) {
      throw new UpdateCodecError("the aggregator's seal secret is not the one of the project's seal key");
    }
  } else if (key.secretKey.length !== 32) {
    throw new UpdateCodecError(`an X25519 secret key is 32 bytes, got ${key.secretKey.length}`);
  }
  return associatedData;
}

/**
 * The owner's shared key: `e` from the wrap, checked against the committed `E` (`8 e Base8 = 8E`,
 * exactly when `e * 8A` is the aggregator's `a * 8E`), then `S = e * 8A`.
 */
function ownerSharedKey(
  wrap: Uint8Array,
  key: OwnerUpdateKey,
  associatedData: Uint8Array,
  context: OpenUpdateContext,
  ephemeral: CurvePoint,
): { key: CurvePoint } | RejectedUpdate<"undecryptable"> {
  let plain: Uint8Array;
  try {
    plain = openEnvelope(wrap, key.secretKey, { associatedData });
  } catch (err) {
    return { ok: false, reason: "undecryptable", detail: `the owner wrap does not open: ${message(err)}` };
  }
  if (plain.length !== 32)
    return { ok: false, reason: "undecryptable", detail: `the owner wrap holds ${plain.length} bytes, not a 32-byte secret` };
  const e = toBigInt(plain);
  if (e <= 0n || e >= SUBGROUP_ORDER) return { ok: false, reason: "undecryptable", detail: "the owner wrap holds no scalar in [1, l)" };
  if (!samePoint(clearCofactor(curvePublicKeyOf(e)), clearCofactor(ephemeral))) {
    return { ok: false, reason: "undecryptable", detail: "the owner wrap holds a secret that is not the one of the committed E" };
  }
  const shared = sharedKey(e, context.sealKey);
  if (!shared.valid) throw new UpdateCodecError("the seal key is not on the curve"); // checkSealKey ran first
  return { key: shared.key };
}

/**
 * Checks a sealed update and decrypts it with the aggregator's seal secret or the owner's X25519
 * key (see the module comment). Never throws for the update's own faults, whatever its bytes: a
 * trainer must not be able to stop the aggregator's round (or the audit) with a crafted blob.
 * Throws `UpdateCodecError` only for the caller's faults: a context that is no valid associated
 * data, a seal key that cannot seal, an aggregator secret that is not the seal key's, an X25519
 * key that is not 32 bytes.
 */
export function openUpdate(blob: Uint8Array, key: AggregatorUpdateKey, context: OpenUpdateContext): UpdateOpening<AggregatorOpeningReason>;
export function openUpdate(blob: Uint8Array, key: UpdateKey, context: OpenUpdateContext): UpdateOpening<OwnerOpeningReason>;
export function openUpdate(blob: Uint8Array, key: UpdateKey, context: OpenUpdateContext): UpdateOpening<OwnerOpeningReason> {
  const associatedData = checkOpening(key, context);
  const { config, modelSize, commitment } = context;
  let decoded: ReturnType<typeof decodeSealedUpdate>;
  try {
    decoded = decodeSealedUpdate(blob, { config, modelSize });
  } catch (err) {
    return { ok: false, reason: "not-opening", detail: `no sealed update for this project: ${message(err)}` };
  }
  const { sealed, ownerWrap } = decoded;
  if (sealedCommitment(cipherChain(sealed.chunks), sealed.ephemeral) !== commitment) {
    return { ok: false, reason: "not-opening", detail: "the ciphertext and E do not open the commitment revealed on chain" };
  }
  if (!isOnCurve(sealed.ephemeral)) {
    return { ok: false, reason: "bad-key", detail: `the committed E [${sealed.ephemeral[0]}, ${sealed.ephemeral[1]}] is not on the curve` };
  }
  let shared: CurvePoint;
  if (key.kind === "aggregator") {
    const s = sharedKey(key.secret, sealed.ephemeral);
    if (!s.valid) throw new Error("unreachable: E is on the curve");
    shared = s.key;
  } else {
    const s = ownerSharedKey(ownerWrap, key, associatedData, context, sealed.ephemeral);
    if ("ok" in s) return s;
    shared = s.key;
  }
  const values: bigint[] = [];
  for (let j = 0; j < sealed.chunks.length; j++) {
    try {
      values.push(...unpack(decryptChunk(sealed.chunks[j] as readonly bigint[], shared, j), config.updateBits, config.chunk));
    } catch (err) {
      return { ok: false, reason: "malformed", detail: `chunk ${j} does not unpack to ${config.updateBits}-bit values: ${message(err)}` };
    }
  }
  return { ok: true, values: values.slice(0, modelSize), sealed };
}

/**
 * Fetches an update from the blob store (with `fetchOptions`' timeout and retries), then
 * `openUpdate`s it. A fetch that fails is the update's fault (`missing`: the trainer did not keep
 * its CID available), except when the caller's own `fetchOptions.signal` aborted it: that rethrows.
 */
export async function fetchAndOpenUpdate(
  store: BlobStore,
  cid: string,
  key: AggregatorUpdateKey,
  context: OpenUpdateContext,
  fetchOptions?: FetchOptions,
): Promise<UpdateOpening<"missing" | AggregatorOpeningReason>>;
export async function fetchAndOpenUpdate(
  store: BlobStore,
  cid: string,
  key: UpdateKey,
  context: OpenUpdateContext,
  fetchOptions?: FetchOptions,
): Promise<UpdateOpening>;
export async function fetchAndOpenUpdate(
  store: BlobStore,
  cid: string,
  key: UpdateKey,
  context: OpenUpdateContext,
  fetchOptions: FetchOptions = {},
): Promise<UpdateOpening> {
  checkOpening(key, context);
  let blob: Uint8Array;
  try {
    blob = await store.get(cid, fetchOptions);
  } catch (err) {
    if (fetchOptions.signal?.aborted === true) throw err;
    return { ok: false, reason: "missing", detail: `cannot fetch ${cid}: ${message(err)}` };
  }
  return openUpdate(blob, key, context);
}
