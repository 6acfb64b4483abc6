/**
 * Step 3, **open** (`openings.json`): for each collected slot, fetch its CID from the blob store
 * (timeouts and retries) and open the `FMSU` sealed update with the aggregator's seal secret:
 * @fedmarket/protocol's update codec (`fetchAndOpenUpdate`), the same checks the owner's audit
 * applies with the owner's key. What the codec says decides how the slot enters the round
 * (@fedmarket/core `RoundSlot`, `roundSlotOf` below):
 *
 * | codec says               | `status`      | round slot                      | what the proof shows                    |
 * | ------------------------ | ------------- | ------------------------------- | --------------------------------------- |
 * | ok                       | `opened`      | `{ commitment, sealed }`        | decrypts and decodes it                 |
 * | `missing`, `not-opening` | `unavailable` | `{ commitment, unavailable }`   | status 3, on this node's word           |
 * | `bad-key`                | `not-decoded` | `{ commitment, sealed }`        | status 3: `E` is off the curve (proven) |
 * | `malformed`              | `not-decoded` | `{ commitment, sealed }`        | status 3: the plaintext is not decoded  |
 *
 * `not-opening` is not the committed data, so the round treats it as not available (the
 * proof cannot decrypt what it does not have). The round proof does not yet prove a malformed
 * plaintext (PROOF-INTERFACE, "Sealed updates": the per-slot malformation proof); the owner's audit
 * re-checks it with the owner's key. No other rule excludes a decodable update: the free-rider rule
 * (`replayed-global-delta`) was an exclusion on the aggregator's word and is gone until a proven
 * replay rule replaces it (issue 12).
 *
 * The decisions are saved before the next step, with the sealed data of every slot the round
 * decrypts, so a restart never decides a slot twice and never needs IPFS for the updates again (an
 * IPFS node that comes back later changes nothing).
 */
import type { CircuitConfig, RoundSlot, SealedUpdate } from "@fedmarket/core";
import {
  blobFetchOptions,
  decodeSealedUpdate,
  fetchAndOpenUpdate,
  type AggregatorOpeningReason,
  type BlobStore,
  type ProjectInfo,
  type SealKey,
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
}

/** Fetches and opens one slot (the table in the module comment). Never throws for the slot's own faults. */
export async function openSlot(s: CollectedSlot, ctx: OpenContext): Promise<SlotOpening> {
  // The codec's bad-key and malformed verdicts do not carry the sealed data, which the round
  // proof still decrypts: keep the bytes it fetched and decode them again below (they decode, or
  // the verdict would have been not-opening).
  let fetched: Uint8Array | undefined;
  const recording: BlobStore = {
    get: async (cid, options) => {
      fetched = await ctx.store.get(cid, options);
      return fetched;
    },
    put: (bytes) => ctx.store.put(bytes),
    close: async () => {},
  };
  const { config, modelSize } = ctx;
  const opening = await fetchAndOpenUpdate(
    recording,
    s.cid,
    { kind: "aggregator", secret: ctx.sealSecret },
    {
      chainId: ctx.chainId,
      market: ctx.market,
      projectId: ctx.projectId,
      round: ctx.round,
      trainer: s.trainer,
      config,
      modelSize,
      commitment: BigInt(s.commitment),
      sealKey: ctx.sealKey,
    },
    { timeoutMs: ctx.timeoutMs, retries: ctx.retries },
  );
  if (opening.ok) return { ...s, status: "opened", update: opening.values.map(String), sealed: storeSealed(opening.sealed) };
  const { reason, detail } = opening;
  if (reason === "missing" || reason === "not-opening") return { ...s, status: "unavailable", reason, detail };
  if (fetched === undefined) throw new AggregatorError("internal", `the codec judged ${s.cid} ${reason} without fetching it`);
  const { sealed } = decodeSealedUpdate(fetched, { config, modelSize });
  return { ...s, status: "not-decoded", reason, detail, sealed: storeSealed(sealed) };
}

/** The round's openings: read from `openings.json`, else every slot opened (in parallel) and saved. */
export async function openSlots(
  ctx: StepContext,
  project: ProjectInfo,
  config: CircuitConfig,
  slots: readonly CollectedSlot[],
): Promise<SlotOpening[]> {
  const { files, log, round: r } = ctx;
  const have = await files.read<OpeningsFile>("openings.json");
  if (have !== undefined) return have.openings;
  const bar = log.progress("fetch", slots.length, "updates");
  let n = 0;
  const openCtx: OpenContext = {
    chainId: ctx.config.chainId,
    market: ctx.chain.client.address,
    projectId: project.id,
    round: r,
    config,
    modelSize: project.params.modelSize,
    sealSecret: ctx.config.sealSecret,
    sealKey: project.aggregatorSealKey,
    store: ctx.store,
    ...blobFetchOptions(ctx.config),
  };
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
    const what = o.status === "unavailable" ? "not available" : "not decoded";
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
    `round ${r}: ${opened} update(s) opened, ${unavailable} not available, ${notDecoded} not decoded (each of these is excluded)`,
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
