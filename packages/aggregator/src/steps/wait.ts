/**
 * Step 1, **wait**: the open round is processed only once its reveal window has closed (chain
 * time, polled by the node's loop): before that no update of the round is visible, and none may
 * be. Two ends need no proof at all:
 * - fewer than `2f + 3` revealed updates: below the quorum nobody can be judged, the node calls
 *   `skipRound` (anyone may; nobody is at fault);
 * - the aggregation window already over (the node was down): nothing is computed or submitted; the
 *   node calls `failRound` itself, since its bond is slashed whoever calls it and the call pays the
 *   trainers their share at once and lets the owner appoint an aggregator again.
 * Both look at the chain first: a round someone else already ended is only recorded (settle.ts).
 */
import { roundQuorum } from "@fedmarket/core";
import { waitForPending, type ProjectInfo, type RoundInfo } from "@fedmarket/protocol";
import type { StepContext } from "./context.ts";
import { recordRoundEnd, type DoneFile, type TxsFile } from "./settle.ts";

/** The round's quorum, `max(3, 2f + 1)` revealed updates (@fedmarket/core `roundQuorum`): a round with fewer is skipped. */
export function quorumOf(project: ProjectInfo): number {
  return roundQuorum(project.params.byzantineTolerance);
}

/** Why the round must wait for its commit and reveal windows (`undefined`: both have closed). */
export function submissionWindowWait(
  round: RoundInfo,
  chainTime: number,
): { readonly reason: string; readonly untilChainTime: number } | undefined {
  if (chainTime >= round.revealDeadline) return undefined;
  const phase = chainTime < round.submissionDeadline ? "commit and reveal windows" : "reveal window";
  return {
    reason: `${phase} of round ${round.round} open for ${round.revealDeadline - chainTime} s more`,
    untilChainTime: round.revealDeadline,
  };
}

/**
 * Fixes the open round's seed (`drawSeed`) as soon as the node sees the round: the seed is the
 * hash of the opening block, and reading it early leaves nobody the choice of when it is read
 * (past 256 blocks the contract would re-anchor it to a later block). Anyone may call it; a
 * failure is only logged, since trainers fix it too.
 */
export async function fixSeed(ctx: StepContext): Promise<void> {
  const { chain, projectId, round: r } = ctx;
  try {
    await waitForPending(chain.client, ctx.config.address);
    const now = await chain.client.getCurrentRound(projectId);
    if (now.round !== r || now.seed !== 0n) return;
    await chain.wait(await chain.client.drawSeed(projectId), ctx.config.confirmations ?? 1);
    ctx.log.log("info", "round.seed", `round ${r}: drew the round's seed (hash of block ${now.seedBlock})`, { round: r });
  } catch (err) {
    ctx.log.log("warn", "round.seed", `round ${r}: could not draw the seed (${(err as Error).message}); trainers draw it too`, {
      round: r,
    });
  }
}

/** Skips a round without quorum (`skipRound`), unless it already ended, and records how it ended. */
export async function skipRoundWithoutQuorum(ctx: StepContext, round: RoundInfo, quorum: number): Promise<DoneFile> {
  const { chain, projectId, round: r } = ctx;
  await waitForPending(chain.client, ctx.config.address);
  const ended = await chain.roundEnd(projectId, r);
  if (ended === undefined) {
    ctx.log.log(
      "info",
      "round.skip",
      `round ${r} has ${round.submissions} revealed update(s), fewer than 2f + 3 = ${quorum}: skipping it`,
      {
        round: r,
        submissions: round.submissions,
      },
    );
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
