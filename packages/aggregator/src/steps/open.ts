/**
 * Step 3, **open** (`openings.json`): for each collected slot, fetch the CID from the blob store
 * (timeouts and retries), decrypt it with the aggregator's X25519 key (the envelope is bound to
 * chain, market, project, round and submitter), decode the `FMUP` payload and check that it opens
 * the commitment on chain: @fedmarket/protocol's update codec, the same checks the owner's audit
 * applies. A slot that fails any of them is excluded with its reason, and so is an update that
 * replays the last global delta (free-rider.ts). The decisions are saved before the next step, so
 * a restart never decides a slot twice (an IPFS node that comes back later changes nothing).
 */
import type { CircuitConfig } from "@fedmarket/core";
import {
  blobFetchOptions,
  decodeWeights,
  fetchAndOpenUpdate,
  lastGlobalDelta,
  quantizeModel,
  type BlobStore,
  type ProjectInfo,
  type UpdateExclusionReason,
} from "@fedmarket/protocol";
import { AggregatorError } from "../errors.ts";
import { excludeReplays } from "../free-rider.ts";
import type { CollectedSlot } from "./collect.ts";
import { fetchBlob, type StepContext } from "./context.ts";
import type { ModelCache } from "./model-cache.ts";

/**
 * Why a slot is excluded: its update cannot be used (the update codec's `missing`, `undecryptable`,
 * `malformed`, `not-opening`), or it is a free rider's copy of the last global delta (free-rider.ts).
 */
export type ExclusionReason = UpdateExclusionReason | "replayed-global-delta";

/** What the aggregator decided about one slot (`openings.json`). */
export type SlotOpening =
  | (CollectedSlot & { readonly status: "opened"; readonly update: readonly string[]; readonly salt: string })
  | (CollectedSlot & { readonly status: "excluded"; readonly reason: ExclusionReason; readonly detail: string });

/** `openings.json`. */
export interface OpeningsFile {
  readonly openings: SlotOpening[];
}

/** What opening one slot needs: whom the envelope is bound to, what the payload must match, where to fetch. */
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
  const opening = await fetchAndOpenUpdate(
    ctx.store,
    s.cid,
    ctx.secretKey,
    {
      chainId: ctx.chainId,
      market: ctx.market,
      projectId: ctx.projectId,
      round: ctx.round,
      trainer: s.trainer,
      config: ctx.config,
      modelSize: ctx.modelSize,
      commitment: BigInt(s.commitment),
    },
    { timeoutMs: ctx.timeoutMs, retries: ctx.retries },
  );
  if (!opening.ok) return { ...s, status: "excluded", reason: opening.reason, detail: opening.detail };
  return { ...s, status: "opened", update: opening.values.map(String), salt: opening.salt.toString() };
}

/** The round's openings: read from `openings.json`, else every slot opened (in parallel), judged and saved. */
export async function openSlots(
  ctx: StepContext,
  project: ProjectInfo,
  config: CircuitConfig,
  slots: readonly CollectedSlot[],
  models: ModelCache,
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
    secretKey: ctx.config.secretKey,
    store: ctx.store,
    ...blobFetchOptions(ctx.config),
  };
  const opened = await Promise.all(
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
  const missing = opened.filter((o) => o.status === "excluded" && o.reason === "missing");
  if (opened.length > 0 && missing.length === opened.length && !(await storeAnswers(ctx))) {
    const detail = missing[0]?.status === "excluded" ? missing[0].detail : "";
    throw new AggregatorError(
      "ipfs",
      `round ${r}: none of the ${opened.length} revealed updates could be fetched from IPFS (${detail}); is this node's IPFS reachable? Nothing was recorded; the round is opened again`,
      { cause: new Error(detail) },
    );
  }
  const openings = excludeReplays(opened, await lastDelta(ctx, project, config, models));
  for (const o of openings) {
    if (o.status === "excluded") {
      log.log("warn", "slot.excluded", `round ${r} slot ${o.slot} (${o.trainer}) excluded: ${o.reason}: ${o.detail}`, {
        round: r,
        slot: o.slot,
        trainer: o.trainer,
        reason: o.reason,
        detail: o.detail,
        cid: o.cid,
      });
    }
  }
  await files.write("openings.json", { openings } satisfies OpeningsFile);
  const excluded = openings.filter((o) => o.status === "excluded").length;
  log.log("info", "round.opened", `round ${r}: ${openings.length - excluded} update(s) opened, ${excluded} excluded`, {
    round: r,
    opened: openings.length - excluded,
    excluded,
  });
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

/** The previous round's global delta (free-rider rule), from the `RoundOpened` history and IPFS. */
async function lastDelta(ctx: StepContext, project: ProjectInfo, config: CircuitConfig, models: ModelCache): Promise<bigint[] | undefined> {
  const r = ctx.round;
  const history = await ctx.chain.history(project.id);
  // Without the round's own opening the rule would silently compare nothing.
  if (history.rounds[r]?.opened === undefined) {
    throw new AggregatorError(
      "events",
      `no RoundOpened event of round ${r} found in blocks ${history.fromBlock}-${history.toBlock}: ` +
        "the RPC node may lag or prune logs; retry, or use an archive endpoint",
    );
  }
  const scale = Number(project.params.quantizationScale);
  return lastGlobalDelta(history, r, async (opened) => {
    if (opened.modelCommitment === project.modelCommitment) return models.current(ctx, project, config);
    const weights = decodeWeights(await fetchBlob(ctx, opened.modelCid, "earlier global model"), project.params.modelSize);
    return quantizeModel(weights, scale, config.modelBits);
  });
}
