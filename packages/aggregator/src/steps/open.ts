/**
 * Step 3, **open** (`openings.json`): for each collected slot, fetch its CID from the blob store
 * (timeouts and retries, all cut off in time for the flagging deadline: flag.ts) and open the
 * `FMSU` sealed update with the aggregator's seal secret: @fedmarket/protocol's update codec
 * (`fetchAndOpenUpdate`), the same checks the owner's audit applies with the owner's key. What the
 * codec says decides how the slot enters the round (@fedmarket/core `RoundSlot`, `roundSlotOf` below):
 *
 * | codec says               | `status`      | next                                  | what the proof shows                    |
 * | ------------------------ | ------------- | ------------------------------------- | --------------------------------------- |
 * | ok                       | `opened`      | `{ commitment, sealed }`              | decrypts and decodes it                 |
 * | `missing`, `not-opening` | `unavailable` | flagged on chain (flag.ts)            | see below                               |
 * | `bad-key`                | `not-decoded` | `{ commitment, sealed }`              | status 3: `E` is off the curve (proven) |
 * | `malformed`              | `not-decoded` | `{ commitment, sealed }`              | status 3: the plaintext is not decoded  |
 *
 * `not-opening` is not the committed data, so the round treats it as not available (the proof
 * cannot decrypt what it does not have). "Not available" is no longer this node's word: the flag
 * step (flag.ts) flags every such slot on chain, and its trainer (or anyone) may answer by
 * publishing the committed data; an answered slot is opened here again from the chain's copy
 * (`openPublished`: the same verdicts) and is scored like any other; one still unanswered at the
 * answer deadline enters core as `{ commitment, unavailable: true }`, an empty slot (status 0,
 * unpaid), exactly as the contract passes it (commitment 0). The round proof does not yet prove a
 * malformed plaintext (PROOF-INTERFACE, "Sealed updates": the per-slot malformation proof); the
 * owner's audit re-checks it with the owner's key. No other rule excludes a decodable update.
 *
 * The decisions are saved before the next step, with the sealed data of every slot the round
 * decrypts, so a restart never decides a slot twice and never needs IPFS for the updates again (an
 * IPFS node that comes back later changes nothing).
 */
import type { CircuitConfig, RoundSlot, SealedUpdate } from "@fedmarket/core";
import {
  blobFetchOptions,
  decodeSealedUpdate,
  encodeSealedUpdate,
  fetchAndOpenUpdate,
  openUpdate,
  publishedSealedUpdate,
  type AggregatorOpeningReason,
  type BlobStore,
  type FetchOptions,
  type ProjectInfo,
  type PublishedSealedData,
  type SealKey,
  type UpdateOpening,
} from "@fedmarket/protocol";
import { AggregatorError } from "../errors.ts";
import type { CollectedSlot } from "./collect.ts";
import type { StepContext } from "./context.ts";

/** A sealed update as `openings.json` stores it: core's `SealedUpdate`, every element a decimal string. */
export interface StoredSealedUpdate {
  /** The committed ephemeral key `E` (`[x, y]`). */
  readonly ephemeral: readonly [string, string];
  /** The ciphertext, `C` chunks of `packedLength(CHUNK, B)` elements. */
  readonly chunks: readonly (readonly string[])[];
}

/** Why a slot's update is not available to the round: it cannot be fetched, or it is not the committed data. */
export type UnavailableReason = "missing" | "not-opening";

/** Why the committed data of a slot is not decoded (facts of that data, which the round proof decrypts). */
export type NotDecodedReason = Exclude<AggregatorOpeningReason, "not-opening">;

/** What the aggregator found for one slot (`openings.json`; the table in the module comment). */
export type SlotOpening =
  | (CollectedSlot & {
      readonly status: "opened";
      /** The `D` decoded values. */
      readonly update: readonly string[];
      readonly sealed: StoredSealedUpdate;
    })
  | (CollectedSlot & {
      readonly status: "not-decoded";
      readonly reason: NotDecodedReason;
      readonly detail: string;
      readonly sealed: StoredSealedUpdate;
    })
  | (CollectedSlot & { readonly status: "unavailable"; readonly reason: UnavailableReason; readonly detail: string });

/** `openings.json`. */
export interface OpeningsFile {
  readonly openings: SlotOpening[];
}

/** A sealed update in the form `openings.json` stores. */
export function storeSealed(sealed: SealedUpdate): StoredSealedUpdate {
  return { ephemeral: [sealed.ephemeral[0].toString(), sealed.ephemeral[1].toString()], chunks: sealed.chunks.map((c) => c.map(String)) };
}

/** The sealed update `openings.json` stores. */
export function sealedOf(stored: StoredSealedUpdate): SealedUpdate {
  return { ephemeral: [BigInt(stored.ephemeral[0]), BigInt(stored.ephemeral[1])], chunks: stored.chunks.map((c) => c.map(BigInt)) };
}

/** How a slot enters the round's reference computation (the table in the module comment). */
export function roundSlotOf(o: SlotOpening): RoundSlot {
  const commitment = BigInt(o.commitment);
  return o.status === "unavailable" ? { commitment, unavailable: true } : { commitment, sealed: sealedOf(o.sealed) };
}

/**
 * The round's slots in slot order for the reference computation: each opening's `roundSlotOf`,
 * and an empty slot (commitment 0) wherever nobody revealed.
 */
export function roundSlotsOf(openings: readonly SlotOpening[]): RoundSlot[] {
  const slots: RoundSlot[] = [];
  for (const o of openings) {
    while (slots.length < o.slot) slots.push({ commitment: 0n });
    slots.push(roundSlotOf(o));
  }
  return slots;
}

/** What opening one slot needs: whom the owner's wrap is bound to, what the blob must match, the key, where to fetch. */
export interface OpenContext {
  readonly chainId: bigint;
  readonly market: string;
  readonly projectId: bigint;
  readonly round: number;
  readonly config: CircuitConfig;
  /** The model size `D`. */
  readonly modelSize: number;
  /** The aggregator's seal secret `a`. */
  readonly sealSecret: bigint;
  /** The project's registered seal key (`publicKeyOf(sealSecret)`; the codec checks it). */
  readonly sealKey: SealKey;
  readonly store: BlobStore;
  readonly timeoutMs: number;
  readonly retries: number;
  /**
   * Wall-clock time (ms since the epoch) after which no fetch goes on: a slot whose blob has not
   * arrived by then is `missing`, so that it can still be flagged before the flagging deadline
   * (flag.ts `fetchDeadlineOf`). A slot not flagged in time would make the round unprovable.
   */
  readonly fetchDeadline?: number;
}

/** `options` with the fetch cut off at `deadline` (wall clock, ms), if there is one. */
export function cutOff(options: FetchOptions | undefined, deadline: number | undefined): FetchOptions | undefined {
  if (deadline === undefined) return options;
  const cut = AbortSignal.timeout(Math.max(0, deadline - Date.now()));
  return { ...options, signal: options?.signal === undefined ? cut : AbortSignal.any([options.signal, cut]) };
}

/**
 * A codec verdict as the slot's opening (the table in the module comment); `bytes`: the blob the
 * verdict is about, whose sealed data a not-decoded slot keeps (the codec's bad-key and malformed
 * verdicts do not carry it, and the round proof still decrypts it).
 */
function openingOf(s: CollectedSlot, opening: UpdateOpening, bytes: Uint8Array | undefined, ctx: OpenContext): SlotOpening {
  if (opening.ok) return { ...s, status: "opened", update: opening.values.map(String), sealed: storeSealed(opening.sealed) };
  const { reason, detail } = opening;
  if (reason === "missing" || reason === "not-opening") return { ...s, status: "unavailable", reason, detail };
  if (reason === "undecryptable") throw new AggregatorError("internal", `the aggregator's key cannot give the owner's verdict ${reason}`);
  // they decode, or the verdict would have been not-opening
  if (bytes === undefined) throw new AggregatorError("internal", `the codec judged ${s.cid} ${reason} without fetching it`);
  const { sealed } = decodeSealedUpdate(bytes, { config: ctx.config, modelSize: ctx.modelSize });
  return { ...s, status: "not-decoded", reason, detail, sealed: storeSealed(sealed) };
}

/** The codec's context of slot `s`. */
function updateContext(s: CollectedSlot, ctx: OpenContext) {
  return {
    chainId: ctx.chainId,
    market: ctx.market,
    projectId: ctx.projectId,
    round: ctx.round,
    trainer: s.trainer,
    config: ctx.config,
    modelSize: ctx.modelSize,
    commitment: BigInt(s.commitment),
    sealKey: ctx.sealKey,
  };
}

/** Fetches and opens one slot (the table in the module comment). Never throws for the slot's own faults. */
export async function openSlot(s: CollectedSlot, ctx: OpenContext): Promise<SlotOpening> {
  let fetched: Uint8Array | undefined;
  const recording: BlobStore = {
    get: async (cid, options) => {
      fetched = await ctx.store.get(cid, cutOff(options, ctx.fetchDeadline));
      return fetched;
    },
    put: (bytes) => ctx.store.put(bytes),
    close: async () => {},
  };
  const opening = await fetchAndOpenUpdate(recording, s.cid, { kind: "aggregator", secret: ctx.sealSecret }, updateContext(s, ctx), {
    timeoutMs: ctx.timeoutMs,
    retries: ctx.retries,
  });
  return openingOf(s, opening, fetched, ctx);
}

/**
 * Opens a flagged slot from the sealed update its answer published on chain (`UpdatePublished`):
 * the same codec and verdicts as a fetched blob. The contract checked that the data opens the
 * slot's commitment, so `unavailable` cannot come out of it: if it does, this node and the
 * contract disagree about the data, and the round must not go on (an `internal` error).
 */
export function openPublished(slot: CollectedSlot, published: PublishedSealedData, ctx: OpenContext): SlotOpening {
  // only the collected facts: `slot` may be the slot's earlier (unavailable) opening
  const s: CollectedSlot = {
    slot: slot.slot,
    trainer: slot.trainer,
    commitment: slot.commitment,
    cid: slot.cid,
    txHash: slot.txHash,
    blockNumber: slot.blockNumber,
  };
  const bytes = encodeSealedUpdate(publishedSealedUpdate(published, ctx.config, ctx.modelSize));
  const opening = openingOf(s, openUpdate(bytes, { kind: "aggregator", secret: ctx.sealSecret }, updateContext(s, ctx)), bytes, ctx);
  if (opening.status === "unavailable") {
    throw new AggregatorError(
      "internal",
      `the sealed update published for round ${ctx.round} slot ${s.slot} does not open its commitment here (${opening.detail}), though the contract accepted it`,
    );
  }
  return opening;
}

/** What opening the round's slots needs, from the node's settings and the project. */
export function openContextOf(ctx: StepContext, project: ProjectInfo, config: CircuitConfig, fetchDeadline?: number): OpenContext {
  return {
    chainId: ctx.config.chainId,
    market: ctx.chain.client.address,
    projectId: project.id,
    round: ctx.round,
    config,
    modelSize: project.params.modelSize,
    sealSecret: ctx.config.sealSecret,
    sealKey: project.aggregatorSealKey,
    store: ctx.store,
    ...blobFetchOptions(ctx.config),
    ...(fetchDeadline === undefined ? {} : { fetchDeadline }),
  };
}

/** The round's openings: read from `openings.json`, else every slot opened (in parallel) and saved. */
export async function openSlots(
  ctx: StepContext,
  project: ProjectInfo,
  config: CircuitConfig,
  slots: readonly CollectedSlot[],
  options: { readonly fetchDeadline?: number } = {},
): Promise<SlotOpening[]> {
  const { files, log, round: r } = ctx;
  const have = await files.read<OpeningsFile>("openings.json");
  if (have !== undefined) return have.openings;
  const bar = log.progress("fetch", slots.length, "updates");
  let n = 0;
  const openCtx = openContextOf(ctx, project, config, options.fetchDeadline);
  const openings = await Promise.all(
    slots.map(async (s) => {
      const o = await openSlot(s, openCtx);
      bar.update(++n);
      return o;
    }),
  );
  bar.stop();
  // Every fetch failing may be this node's IPFS rather than the trainers: if the store cannot even
  // take a small blob of its own, nothing is recorded (a retry opens the round again) and the run
  // loop backs off as in any outage. If it can, the updates really are unavailable.
  const missing = openings.filter((o) => o.status === "unavailable" && o.reason === "missing");
  if (openings.length > 0 && missing.length === openings.length && !(await storeAnswers(ctx))) {
    const detail = missing[0]?.status === "unavailable" ? missing[0].detail : "";
    throw new AggregatorError(
      "ipfs",
      `round ${r}: none of the ${openings.length} revealed updates could be fetched from IPFS (${detail}); is this node's IPFS reachable? Nothing was recorded; the round is opened again`,
      { cause: new Error(detail) },
    );
  }
  for (const o of openings) {
    if (o.status === "opened") continue;
    const what = o.status === "unavailable" ? "not available (to be flagged on chain)" : "not decoded";
    log.log("warn", "slot.excluded", `round ${r} slot ${o.slot} (${o.trainer}) ${what}: ${o.reason}: ${o.detail}`, {
      round: r,
      slot: o.slot,
      trainer: o.trainer,
      status: o.status,
      reason: o.reason,
      detail: o.detail,
      cid: o.cid,
    });
  }
  await files.write("openings.json", { openings } satisfies OpeningsFile);
  const count = (status: SlotOpening["status"]): number => openings.filter((o) => o.status === status).length;
  const [opened, unavailable, notDecoded] = [count("opened"), count("unavailable"), count("not-decoded")];
  log.log(
    "info",
    "round.opened",
    `round ${r}: ${opened} update(s) opened, ${unavailable} not available, ${notDecoded} not decoded ` +
      "(the not available are flagged on chain next: empty unless answered; the not decoded are excluded)",
    { round: r, opened, unavailable, notDecoded, excluded: unavailable + notDecoded },
  );
  await ctx.checkpoint("after-open");
  return openings;
}

/** Whether the blob store takes (and so is reachable for) a small blob of this node's own. */
async function storeAnswers(ctx: StepContext): Promise<boolean> {
  try {
    await ctx.store.put(new TextEncoder().encode("fedmarket aggregator: IPFS reachability probe"));
    return true;
  } catch {
    return false;
  }
}
