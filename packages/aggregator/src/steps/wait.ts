/**
 * Step 1, **wait**: the open round is processed only once its submission window has closed (chain
 * time, polled by the node's loop). Two ends need no proof at all:
 * - fewer than `f + 3` submissions: Multi-Krum cannot run, the node calls `skipRound` (anyone may;
 *   nobody is at fault);
 * - the aggregation window already over (the node was down): nothing is computed or submitted; the
 *   node calls `failRound` itself, since its bond is slashed whoever calls it and the call pays the
 *   trainers their share at once and lets the owner appoint an aggregator again.
 * Both look at the chain first: a round someone else already ended is only recorded (settle.ts).
 */
import { waitForPending, type ProjectInfo, type RoundInfo } from "@fedmarket/protocol";
import type { StepContext } from "./context.ts";
import { recordRoundEnd, type DoneFile, type TxsFile } from "./settle.ts";

/** Multi-Krum's minimum number of updates, `f + 3`: a round with fewer is skipped. */
export function quorumOf(project: ProjectInfo): number {
  return project.params.byzantineTolerance + 3;
}

/** Why the round must wait for its submission window (`undefined`: the window has closed). */
export function submissionWindowWait(
  round: RoundInfo,
  chainTime: number,
): { readonly reason: string; readonly untilChainTime: number } | undefined {
  if (chainTime >= round.submissionDeadline) return undefined;
  return {
    reason: `submission window of round ${round.round} open for ${round.submissionDeadline - chainTime} s more`,
    untilChainTime: round.submissionDeadline,
  };
}

/** Skips a round without quorum (`skipRound`), unless it already ended, and records how it ended. */
export async function skipRoundWithoutQuorum(ctx: StepContext, round: RoundInfo, quorum: number): Promise<DoneFile> {
  const { chain, projectId, round: r } = ctx;
  await waitForPending(chain.client, ctx.config.address);
  const ended = await chain.roundEnd(projectId, r);
  if (ended === undefined) {
    ctx.log.log("info", "round.skip", `round ${r} has ${round.submissions} submission(s), fewer than f + 3 = ${quorum}: skipping it`, {
      round: r,
      submissions: round.submissions,
    });
    const tx = await chain.skipRound(projectId);
    await ctx.files.write("txs.json", { batches: [], skip: tx.hash } satisfies TxsFile);
    await chain.wait(tx, ctx.config.confirmations ?? 1);
  }
  return recordRoundEnd(ctx);
}

/**
 * The aggregation window closed before this node finalized: nothing can be submitted any more.
 * The bond is slashed whoever calls failRound, so the node calls it itself: the round's trainers
 * get their share of the slash at once and the owner can appoint an aggregator for the next round.
 */
export async function failMissedRound(ctx: StepContext, round: RoundInfo): Promise<DoneFile> {
  const { chain, projectId, round: r } = ctx;
  ctx.log.log(
    "error",
    "round.missed",
    `round ${r}: the aggregation window closed at chain time ${round.aggregationDeadline} before finalization; failing the round (the bond is slashed)`,
    { round: r },
  );
  await waitForPending(chain.client, ctx.config.address);
  let ours: string | undefined;
  if ((await chain.roundEnd(projectId, r)) === undefined) {
    try {
      const tx = await chain.failRound(projectId);
      ours = tx.hash;
      await ctx.files.write("txs.json", { batches: [], fail: tx.hash } satisfies TxsFile);
      await chain.wait(tx, ctx.config.confirmations ?? 1);
    } catch (err) {
      // someone else failed it first: the chain says so below
      if ((await chain.roundEnd(projectId, r)) === undefined) throw err;
    }
  }
  return recordRoundEnd(ctx, ours, `missed the aggregation window (closed at chain time ${round.aggregationDeadline})`);
}
