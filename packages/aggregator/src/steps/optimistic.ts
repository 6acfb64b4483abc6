/**
 * Optimistic rounds (IFedMarketOptimistic), for a project created with a challenge window:
 *
 * - **commit** (step 7 in place of submit's chunk proofs, `optimistic.json`): the round's chunk
 *   accumulators and proofs are pinned as a proof bundle (the watchers' input), and
 *   `finalizeRoundOptimistic` sends the decision proof with the Merkle root of the accumulators.
 *   The bundle is kept in the round's folder too: this node answers challenges from it.
 * - **tend** (every loop, before the open round, also after the project ended): each optimistic
 *   round of this node that is not closed yet is looked up on chain. An open challenge is
 *   answered with the kept proofs (in batches of `--chunk-batch`), which must happen before the
 *   next round can be aggregated at all (the market refuses while a challenge is open); a round
 *   whose window closed is settled (`settleRound`, its payouts read from its `ContributionRecorded`
 *   events). A voided or settled round is closed in `optimistic.json`.
 */
import type { TransactionResponse } from "ethers";
import type { RoundResult } from "@fedmarket/core";
import { ChunkAccumulatorTree, encodeProofBundle, waitForPending, type OptimisticRoundInfo, type ProjectInfo } from "@fedmarket/protocol";
import type { RoundResultArg } from "../chain.ts";
import { AggregatorError } from "../errors.ts";
import { DEFAULT_CHUNK_BATCH, stepContext, type NodeContext, type StepContext } from "./context.ts";
import type { RoundProofs } from "./prove.ts";
import { roundFolders } from "./settle.ts";

/** `optimistic.json`: an optimistic round's commitment, its kept proofs and whether it is closed. */
export interface OptimisticFile {
  readonly proofsCid: string;
  readonly chunkRoot: string;
  /** `acc_0 .. acc_n`, decimal. */
  readonly accs: readonly string[];
  /** Chunk proof `j`'s eight words, decimal. */
  readonly proofs: readonly (readonly string[])[];
  readonly closed?: "settled" | "voided";
}

/** Pins the round's proof bundle and finalizes it optimistically; returns the transaction. */
export async function commitOptimisticRound(
  ctx: StepContext,
  project: ProjectInfo,
  result: RoundResult,
  proofs: RoundProofs,
  decision: RoundResultArg,
): Promise<TransactionResponse> {
  const { files, log } = ctx;
  const accs = [0n, ...result.chunkWitnesses.map((w) => w.publicSignals[1] as bigint)];
  const tree = new ChunkAccumulatorTree(accs);
  let file = await files.read<OptimisticFile>("optimistic.json");
  if (file === undefined) {
    const bundle = encodeProofBundle({ projectId: project.id, round: ctx.round, accs, proofs: proofs.chunks });
    let proofsCid: string;
    try {
      proofsCid = await ctx.store.put(bundle);
    } catch (err) {
      throw new AggregatorError(
        "ipfs",
        `cannot pin the round's chunk proofs for its watchers: ${(err as Error).message}. Is IPFS reachable?`,
        {
          cause: err,
        },
      );
    }
    file = {
      proofsCid,
      chunkRoot: tree.root,
      accs: accs.map(String),
      proofs: proofs.chunks.map((p) => p.map(String)),
    };
    await files.write("optimistic.json", file);
    log.log("info", "optimistic.pinned", `round ${ctx.round}'s chunk proofs pinned for watchers: ${proofsCid}`, {
      proofsCid,
      chunkRoot: tree.root,
    });
  }
  const accFinal = accs[accs.length - 1] as bigint;
  const tx = await ctx.chain.finalizeRoundOptimistic(project.id, ctx.round, accFinal, file.chunkRoot, file.proofsCid, decision);
  log.log("info", "tx.finalize", `finalizeRoundOptimistic sent (no chunk proofs; challenge window open): ${tx.hash}`, {
    txHash: tx.hash,
    optimistic: true,
  });
  return tx;
}

/** What tending the optimistic rounds found still pending (`undefined`: nothing). */
export interface OptimisticPending {
  /** The earliest chain time something is due: a window's end (to settle). */
  readonly untilChainTime: number;
  readonly reason: string;
}

/**
 * Answers every open challenge of this node's optimistic rounds of `projectId` and settles every
 * one whose window closed; returns what is still pending (windows not closed yet).
 */
export async function tendOptimisticRounds(
  node: NodeContext,
  projectId: bigint,
  chainTime: number,
): Promise<OptimisticPending | undefined> {
  let pending: OptimisticPending | undefined;
  for (const r of await roundFolders(node, projectId)) {
    const ctx = stepContext(node, projectId, r);
    const file = await ctx.files.read<OptimisticFile>("optimistic.json");
    if (file === undefined || file.closed !== undefined) continue;
    await waitForPending(node.chain.client, node.config.address);
    const o = await node.chain.client.getOptimisticRound(projectId, r);
    if (o.windowEnd === 0) continue; // committed locally, never finalized (submit adopts or retries it)
    if (o.voided || o.settled) {
      await close(ctx, file, o.voided ? "voided" : "settled", o);
      continue;
    }
    if (o.answerDeadline !== 0 && chainTime < o.answerDeadline) await answer(ctx, file, o);
    else if (o.answerDeadline === 0 && chainTime >= o.windowEnd) {
      const payouts = await node.chain.roundPayouts(projectId, r);
      const tx = await node.chain.settleRound(projectId, r, payouts);
      await node.chain.wait(tx, node.config.confirmations ?? 1);
      ctx.log.log("info", "optimistic.settled", `round ${r}'s held payouts credited after its challenge window: ${tx.hash}`, {
        round: r,
        txHash: tx.hash,
      });
      await close(ctx, file, "settled", o);
    } else if (o.answerDeadline === 0) {
      const due = {
        untilChainTime: o.windowEnd,
        reason: `round ${r}'s challenge window closes at chain time ${o.windowEnd}; then this node settles it`,
      };
      if (pending === undefined || due.untilChainTime < pending.untilChainTime) pending = due;
    }
  }
  return pending;
}

/** Answers the open challenge of the round from the kept proofs, from where it stands to its end. */
async function answer(ctx: StepContext, file: OptimisticFile, o: OptimisticRoundInfo): Promise<void> {
  const accs = file.accs.map(BigInt);
  const tree = new ChunkAccumulatorTree(accs);
  if (tree.root !== o.chunkRoot) {
    throw new AggregatorError("internal", `round ${ctx.round}'s kept accumulators do not give the committed chunk root ${o.chunkRoot}`);
  }
  const batch = Math.max(1, ctx.config.chunkBatch ?? DEFAULT_CHUNK_BATCH);
  ctx.log.log(
    "warn",
    "optimistic.challenged",
    `round ${ctx.round} is challenged (chunks ${o.first}..${o.end - 1}) by ${o.challenger}: answering`,
    {
      round: ctx.round,
      first: o.first,
      end: o.end,
      challenger: o.challenger,
    },
  );
  for (let next = o.next; next < o.end;) {
    const count = Math.min(batch, o.end - next);
    const proofs = file.proofs.slice(next, next + count).map((p, i) => ({ proof: p.map(BigInt), accOut: accs[next + i + 1] as bigint }));
    const done = next + count === o.end;
    // acc_0 is 0 and has no leaf proof; the last chunk ends at accFinal, no proof either.
    const inProof = next === 0 ? [] : tree.proof(next);
    const outProof = done && o.end !== accs.length - 1 ? tree.proof(o.end) : [];
    const tx = await ctx.chain.answerChallenge(ctx.projectId, ctx.round, accs[next] as bigint, inProof, proofs, outProof);
    await ctx.chain.wait(tx, ctx.config.confirmations ?? 1);
    ctx.log.log(
      "info",
      "optimistic.answered",
      `chunk proofs ${next}..${next + count - 1} of round ${ctx.round} sent in answer: ${tx.hash}`,
      {
        round: ctx.round,
        firstChunk: next,
        count,
        txHash: tx.hash,
      },
    );
    next += count;
  }
}

async function close(ctx: StepContext, file: OptimisticFile, how: "settled" | "voided", o: OptimisticRoundInfo): Promise<void> {
  await ctx.files.write("optimistic.json", { ...file, closed: how } satisfies OptimisticFile);
  if (how === "voided")
    ctx.log.log(
      "error",
      "optimistic.voided",
      `round ${ctx.round} was voided: a challenge by ${o.challenger} went unanswered; the bond was slashed`,
      {
        round: ctx.round,
      },
    );
}
