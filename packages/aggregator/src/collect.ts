/**
 * Collecting and opening a round's updates: for each `UpdateSubmitted` event, fetch the CID from
 * the blob store (timeouts and retries), decrypt it with the aggregator's X25519 key (the envelope
 * is bound to chain, market, project, round and submitter), decode the `FMUP` payload and check
 * that it opens the commitment on chain. A slot that fails any step is excluded, with the reason.
 */
import { commitUpdate, type CircuitConfig } from "@fedmarket/core";
import {
  decodeUpdatePayload, openEnvelope, updateAssociatedData, type BlobStore, type UpdateSubmittedEvent,
} from "@fedmarket/protocol";

/** A submission as collected from the chain (`slots.json`). */
export interface CollectedSlot {
  readonly slot: number;
  readonly trainer: string;
  readonly commitment: string;
  readonly cid: string;
  readonly txHash: string;
  readonly blockNumber: number;
}

/**
 * Why a slot is excluded: its update cannot be used (`missing`, `undecryptable`, `malformed`,
 * `not-opening`), or it is a free rider's copy of the last global delta (free-rider.ts).
 */
export type ExclusionReason = "missing" | "undecryptable" | "malformed" | "not-opening" | "replayed-global-delta";

/** What the aggregator decided about one slot (`openings.json`). */
export type SlotOpening =
  | (CollectedSlot & { readonly status: "opened"; readonly update: readonly string[]; readonly salt: string })
  | (CollectedSlot & { readonly status: "excluded"; readonly reason: ExclusionReason; readonly detail: string });

export function collectedFromEvent(e: UpdateSubmittedEvent): CollectedSlot {
  return { slot: e.slot, trainer: e.trainer, commitment: e.commitment.toString(), cid: e.cid, txHash: e.transactionHash, blockNumber: e.blockNumber };
}

export interface OpenContext {
  readonly chainId: bigint;
  readonly market: string;
  readonly projectId: bigint;
  readonly round: number;
  readonly config: CircuitConfig;
  /** The model size `D`. */
  readonly modelSize: number;
  readonly secretKey: Uint8Array;
  readonly store: BlobStore;
  readonly timeoutMs: number;
  readonly retries: number;
}

/** Fetches, decrypts, decodes and checks one slot. Never throws for the slot's own faults. */
export async function openSlot(s: CollectedSlot, ctx: OpenContext): Promise<SlotOpening> {
  let envelope: Uint8Array;
  try {
    envelope = await ctx.store.get(s.cid, { timeoutMs: ctx.timeoutMs, retries: ctx.retries });
  } catch (err) {
    return { ...s, status: "excluded", reason: "missing", detail: `cannot fetch ${s.cid}: ${(err as Error).message}` };
  }
  let plain: Uint8Array;
  try {
    const associatedData = updateAssociatedData({ chainId: ctx.chainId, market: ctx.market, projectId: ctx.projectId, round: ctx.round, trainer: s.trainer });
    plain = openEnvelope(envelope, ctx.secretKey, { associatedData });
  } catch (err) {
    return { ...s, status: "excluded", reason: "undecryptable", detail: (err as Error).message };
  }
  let values: bigint[];
  let salt: bigint;
  try {
    const payload = decodeUpdatePayload(plain, { projectId: ctx.projectId, round: ctx.round, config: ctx.config, count: ctx.modelSize });
    values = [...payload.values];
    salt = payload.salt;
  } catch (err) {
    return { ...s, status: "excluded", reason: "malformed", detail: (err as Error).message };
  }
  if (commitUpdate(values, salt, ctx.config.chunk, ctx.config.updateBits) !== BigInt(s.commitment)) {
    return { ...s, status: "excluded", reason: "not-opening", detail: "the payload does not open the commitment submitted on chain" };
  }
  return { ...s, status: "opened", update: values.map(String), salt: salt.toString() };
}
