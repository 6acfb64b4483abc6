/**
 * Step 2, **collect** (`slots.json`): the open round's revealed updates as the chain's events tell them
 * (`UpdateRevealed`, read for this round alone from its `RoundOpened` block in bounded windows
 * with retries), cross-checked with the round's submission count and with `getSubmission` for
 * every slot, so an RPC node that lags or prunes logs stops the round instead of silently
 * shrinking it.
 */
import type { RoundInfo, SubmissionRecord } from "@fedmarket/protocol";
import { AggregatorError } from "../errors.ts";
import type { StepContext } from "./context.ts";

/** A submission as collected from the chain (`slots.json`). */
export interface CollectedSlot {
  readonly slot: number;
  readonly trainer: string;
  readonly commitment: string;
  readonly cid: string;
  readonly txHash: string;
  readonly blockNumber: number;
}

/** `slots.json`: the round's submissions and the block their read started at. */
export interface SlotsFile {
  readonly projectId: string;
  readonly round: number;
  readonly fromBlock: number;
  readonly slots: CollectedSlot[];
}

/** The persisted form of an `UpdateRevealed` event (the history reader's `SubmissionRecord`). */
export function collectedFromEvent(e: SubmissionRecord): CollectedSlot {
  return {
    slot: e.slot,
    trainer: e.trainer,
    commitment: e.commitment.toString(),
    cid: e.cid,
    txHash: e.transactionHash,
    blockNumber: e.blockNumber,
  };
}

/** The round's slots: read from `slots.json`, else collected from the chain, checked and saved. */
export async function collectSlots(ctx: StepContext, round: RoundInfo): Promise<CollectedSlot[]> {
  const { chain, files, projectId, round: r } = ctx;
  const have = await files.read<SlotsFile>("slots.json");
  if (have !== undefined) return have.slots;
  const { fromBlock, submissions } = await chain.roundSubmissions(projectId, r);
  const slots = submissions.map(collectedFromEvent);
  if (slots.length !== round.submissions) {
    throw new AggregatorError(
      "events",
      `round ${r} has ${round.submissions} submissions on chain but ${slots.length} UpdateRevealed events were found from block ${fromBlock}: ` +
        "the RPC node may lag or prune logs; retry, or use an archive endpoint",
    );
  }
  for (const s of slots) {
    const stored = await chain.client.getSubmission(projectId, r, s.slot);
    if (stored.commitment.toString() !== s.commitment || stored.trainer.toLowerCase() !== s.trainer.toLowerCase()) {
      throw new AggregatorError("events", `slot ${s.slot} of round ${r}: the UpdateRevealed event does not match getSubmission`);
    }
  }
  await files.write("slots.json", { projectId: projectId.toString(), round: r, fromBlock, slots } satisfies SlotsFile);
  ctx.log.log("info", "round.collected", `round ${r}: ${slots.length} submission(s) collected`, { round: r, submissions: slots.length });
  await ctx.checkpoint("after-collect");
  return slots;
}
