/**
 * Step 3b, **flags** (`flags.json`), between open and compute: "not available" is no longer this
 * node's word. Every slot the open step could not fetch or open (`unavailable`: `missing` or
 * `not-opening`) is flagged on chain in ONE `flagUnavailable` transaction; anyone (normally the
 * slot's trainer) may answer until the round's answer deadline by publishing the committed sealed
 * update as calldata (`UpdatePublished`, checked by the contract against the slot's commitment).
 * Once the deadline has passed (chain time) the answers are read from the chain: an answered slot is
 * opened from the published data (open.ts `openPublished`) and joins the round like any other
 * (counted, or not decoded for a proven reason); a slot still unanswered goes to core as
 * `unavailable: true`, i.e. an empty slot (status 0, unpaid), as the contract passes it to the
 * decision proof with commitment 0.
 *
 * Timing (IFedMarket): flags are taken only in the first half of the aggregation window
 * (`revealDeadline <= now < revealDeadline + W/2`) and before any chunk proof; the answer deadline
 * is then `now + W/4`, so at least `W/4` is left to prove. The open step cuts its fetches off in time
 * (`fetchDeadlineOf`), so every slot it gives up on can still be flagged. A slot that could not be
 * flagged in time (the node was down for half the window, say) makes the round UNPROVABLE: without
 * a flag the contract passes the slot's real commitment, and the proof would have to decrypt data
 * this node does not have. The node then sends nothing and lets the round fail at the end of its
 * aggregation window (wait.ts `failMissedRound`: the bond is slashed whoever calls it). It never
 * proves the round without that slot, which the chain would reject anyway.
 *
 * Resumable: the flagged slots and the transaction hash are saved before the receipt is awaited,
 * the answer deadline once it is read, the answered slots and their openings once settled. After a
 * crash before the hash was saved, the chain's `unavailableFlags` tells whether the flag landed, so
 * a restart neither flags twice nor forgets a flag.
 */
import type { CircuitConfig } from "@fedmarket/core";
import {
  MarketRevertError,
  maskOfSlots,
  slotsOfMask,
  waitForPending,
  type ProjectInfo,
  type PublicationRecord,
  type RoundInfo,
} from "@fedmarket/protocol";
import { AggregatorError } from "../errors.ts";
import type { StepContext } from "./context.ts";
import { openContextOf, openPublished, type SlotOpening } from "./open.ts";

/** `flags.json`: what was flagged, when answers close, what was answered. */
export interface FlagsFile {
  /** Slots flagged as not available (ascending); empty when every slot opened. */
  readonly flagged: number[];
  /** The flag transaction (absent: it was found on chain after a crash, or nothing was flagged). */
  readonly txHash?: string;
  /** The round's answer deadline (chain time), once the flag is mined. */
  readonly answerDeadline?: number;
  /** Set once the answers were read after the deadline: the flags are settled. */
  readonly settled?: boolean;
  /** Flagged slots answered on chain (`UpdatePublished`). */
  readonly answered?: number[];
  /** Flagged slots nobody answered: empty slots of the round. */
  readonly pending?: number[];
  /** The answered slots opened from the published data (`openings.json`'s form). */
  readonly published?: SlotOpening[];
  /** The round cannot be proven: slots could not be flagged in time (it is left to fail). */
  readonly unprovable?: string;
}

/** Where the flags of a round stand. */
export type FlagSettlement =
  /** The flags are settled: the round's openings, answered slots opened from the chain's data. */
  | { readonly kind: "settled"; readonly openings: SlotOpening[]; readonly file: FlagsFile }
  /** Slots are flagged and may be answered until `untilChainTime` (chain time). */
  | { readonly kind: "waiting"; readonly reason: string; readonly untilChainTime: number; readonly chainTime: number }
  /** Slots could not be flagged in time: the round cannot be proven (see the module comment). */
  | { readonly kind: "unprovable"; readonly reason: string };

/** The end of the flagging window: `revealDeadline + aggregationWindow / 2` (chain time, as the contract computes it). */
export function flagCutoff(project: Pick<ProjectInfo, "aggregationWindow">, round: Pick<RoundInfo, "revealDeadline">): number {
  return round.revealDeadline + Math.floor(project.aggregationWindow / 2);
}

/** Seconds kept after the fetch cut-off to send and mine the flag (at most a quarter of what is left). */
export const FLAG_MARGIN_SECONDS = 60;

/**
 * Wall-clock time (ms) after which the open step stops fetching, so that the slots it gives up on
 * can still be flagged: what is left of the flagging window by chain time, less a margin to send
 * and mine the flag. Chain time is assumed to advance with the wall clock (on a chain that mines
 * no blocks it does not, and the cut-off is only later than needed).
 */
export function fetchDeadlineOf(
  project: Pick<ProjectInfo, "aggregationWindow">,
  round: Pick<RoundInfo, "revealDeadline">,
  chainTime: number,
  now: number = Date.now(),
): number {
  const left = Math.max(0, flagCutoff(project, round) - chainTime);
  const margin = Math.min(FLAG_MARGIN_SECONDS, Math.floor(left / 4));
  return now + (left - margin) * 1000;
}

const list = (slots: readonly number[]): string => slots.join(", ");

/**
 * Flags the round's unavailable slots, waits for the answer deadline, reads the answers (see the
 * module comment). Returns `waiting` while answers may still come (the node polls), `unprovable`
 * when the slots could not be flagged in time, else the settled openings.
 */
export async function settleFlags(
  ctx: StepContext,
  project: ProjectInfo,
  round: RoundInfo,
  config: CircuitConfig,
  openings: readonly SlotOpening[],
): Promise<FlagSettlement> {
  const { files, chain, projectId, round: r } = ctx;
  let file = await files.read<FlagsFile>("flags.json");
  if (file?.settled === true) return { kind: "settled", openings: mergedOpenings(openings, file.published ?? []), file };
  if (file?.unprovable !== undefined) return { kind: "unprovable", reason: file.unprovable };
  const flagged = openings.filter((o) => o.status === "unavailable").map((o) => o.slot);
  if (flagged.length === 0) {
    const none: FlagsFile = { flagged: [], settled: true, answered: [], pending: [], published: [] };
    await files.write("flags.json", none);
    return { kind: "settled", openings: [...openings], file: none };
  }
  const mask = maskOfSlots(flagged);
  if (file === undefined || (file.txHash === undefined && file.answerDeadline === undefined)) {
    const sent = await flag(ctx, project, round, flagged, mask);
    if (sent.kind === "unprovable") return sent;
    file = sent.file;
  }
  if (file.answerDeadline === undefined) {
    let onChain = await chain.unavailableFlags(projectId);
    if ((onChain.flaggedMask & mask) !== mask && file.txHash !== undefined) {
      // Sent before a crash: let it land; one that never did (dropped, reverted) is sent again.
      await waitForPending(chain.client, ctx.config.address);
      onChain = await chain.unavailableFlags(projectId);
      const receipt = await chain.client.read("flag receipt", () => chain.client.provider.getTransactionReceipt(file?.txHash as string));
      if ((onChain.flaggedMask & mask) !== mask && (receipt === null || receipt.status !== 1)) {
        const sent = await flag(ctx, project, round, flagged, mask);
        if (sent.kind === "unprovable") return sent;
        file = sent.file;
        onChain = await chain.unavailableFlags(projectId);
      }
    }
    if ((onChain.flaggedMask & mask) !== mask) {
      throw new AggregatorError(
        "events",
        `round ${r}: the flag of slots ${list(flagged)} (tx ${file.txHash}) was mined, but unavailableFlags shows slots ${list(slotsOfMask(onChain.flaggedMask))}: the RPC node may lag; retry`,
      );
    }
    file = { ...file, answerDeadline: onChain.answerDeadline };
    await files.write("flags.json", file);
  }
  const deadline = file.answerDeadline as number;
  const chainTime = await chain.client.chainTime();
  if (chainTime < deadline) {
    return {
      kind: "waiting",
      reason: `round ${r}: slot(s) ${list(flagged)} flagged as not available; their trainers may publish them until chain time ${deadline} (${deadline - chainTime} s more)`,
      untilChainTime: deadline,
      chainTime,
    };
  }
  return settle(ctx, project, config, openings, file, mask);
}

/** Sends the flag (or adopts one that landed before a crash); `unprovable` when it is too late. */
async function flag(
  ctx: StepContext,
  project: ProjectInfo,
  round: RoundInfo,
  flagged: readonly number[],
  mask: bigint,
): Promise<{ kind: "sent"; file: FlagsFile } | { kind: "unprovable"; reason: string }> {
  const { files, chain, log, projectId, round: r } = ctx;
  // A flag sent before a crash may still be pending: let it land, then ask the chain.
  await waitForPending(chain.client, ctx.config.address);
  const onChain = await chain.unavailableFlags(projectId);
  if ((onChain.flaggedMask & mask) === mask) {
    const file: FlagsFile = { flagged: [...flagged], answerDeadline: onChain.answerDeadline };
    await files.write("flags.json", file);
    log.log("info", "round.flag.adopted", `round ${r}: slot(s) ${list(flagged)} were already flagged on chain: adopted, not sent again`, {
      round: r,
      flagged,
    });
    return { kind: "sent", file };
  }
  const cutoff = flagCutoff(project, round);
  const chainTime = await chain.client.chainTime();
  // The flag lands in a later block than the latest one.
  if (chainTime + 1 >= cutoff) return unprovable(ctx, flagged, `the flagging window closed at chain time ${cutoff}`);
  let tx;
  try {
    tx = await chain.flagUnavailable(projectId, r, mask & ~onChain.flaggedMask);
  } catch (err) {
    if (err instanceof MarketRevertError && (err.errorName === "FlaggingClosed" || err.errorName === "ChunkProofsStarted"))
      return unprovable(ctx, flagged, err.message);
    throw err;
  }
  const file: FlagsFile = { flagged: [...flagged], txHash: tx.hash };
  await files.write("flags.json", file);
  log.log(
    "info",
    "round.flagged",
    `round ${r}: flagged slot(s) ${list(flagged)} as not available (tx ${tx.hash}); each may be answered by publishing its update on chain`,
    { round: r, flagged, txHash: tx.hash },
  );
  await chain.wait(tx, ctx.config.confirmations ?? 1);
  return { kind: "sent", file };
}

async function unprovable(ctx: StepContext, flagged: readonly number[], why: string): Promise<{ kind: "unprovable"; reason: string }> {
  const reason =
    `round ${ctx.round} cannot be proven: slot(s) ${list(flagged)} could not be fetched or opened and could not be flagged (${why}); ` +
    "without a flag the proof would need their data. Nothing is submitted: the round fails at the end of its aggregation window";
  await ctx.files.write("flags.json", { flagged: [...flagged], unprovable: reason } satisfies FlagsFile);
  ctx.log.log("error", "round.unprovable", reason, { round: ctx.round, flagged });
  return { kind: "unprovable", reason };
}

/** After the answer deadline: the answers read from the chain, the answered slots opened, saved. */
async function settle(
  ctx: StepContext,
  project: ProjectInfo,
  config: CircuitConfig,
  openings: readonly SlotOpening[],
  file: FlagsFile,
  mask: bigint,
): Promise<FlagSettlement> {
  const { files, chain, log, projectId, round: r } = ctx;
  const { publications } = await chain.roundFlags(projectId, r);
  const byslot = new Map<number, PublicationRecord>();
  for (const p of publications) if (file.flagged.includes(p.slot)) byslot.set(p.slot, p);
  // The events and the contract's own record must agree: a lagging RPC node must not make this
  // node treat an answered slot as empty (the contract would pass its commitment, not 0).
  const onChain = await chain.unavailableFlags(projectId);
  const pendingMask = mask & ~maskOfSlots(byslot.keys());
  if ((onChain.pendingMask & mask) !== pendingMask) {
    throw new AggregatorError(
      "events",
      `round ${r}: UpdatePublished events answer slot(s) ${list([...byslot.keys()])} but unavailableFlags still has slot(s) ${list(slotsOfMask(onChain.pendingMask))} pending: the RPC node may lag or prune logs; retry, or use an archive endpoint`,
    );
  }
  const openCtx = openContextOf(ctx, project, config);
  const published: SlotOpening[] = [];
  for (const o of openings) {
    const p = byslot.get(o.slot);
    if (p !== undefined) published.push(openPublished(o, p, openCtx));
  }
  const answered = published.map((o) => o.slot);
  const pending = file.flagged.filter((k) => !byslot.has(k));
  const settled: FlagsFile = { ...file, settled: true, answered, pending, published };
  await files.write("flags.json", settled);
  log.log(
    "info",
    "round.flags.settled",
    `round ${r}: flags settled: ${answered.length} answered on chain (slot(s) ${list(answered) || "none"}, they join the round), ` +
      `${pending.length} unanswered (slot(s) ${list(pending) || "none"}, empty and unpaid)`,
    { round: r, answered, pending },
  );
  return { kind: "settled", openings: mergedOpenings(openings, published), file: settled };
}

/** The round's openings with the answered slots' openings in place of their `unavailable` ones. */
export function mergedOpenings(openings: readonly SlotOpening[], published: readonly SlotOpening[]): SlotOpening[] {
  const bySlot = new Map(published.map((o) => [o.slot, o]));
  return openings.map((o) => bySlot.get(o.slot) ?? o);
}
