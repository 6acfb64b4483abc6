/**
 * **Settle**: recording how a round ended (`done.json`), from the chain's events only. The chain
 * is the authority: whether the round was finalized, skipped or failed, by this node or by another
 * account or instance, is read from its `RoundFinalized` / `RoundSkipped` / `RoundFailed` event,
 * never assumed from what this node sent. A round the node started but never recorded (killed
 * right after sending `finalizeRound`, say) is settled the same way on the next start, also when
 * that round's end closed the project. After a finalization the optional round report runs, after
 * `done.json`, so it can never delay or undo the round.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { waitForPending, type RoundEndRecord } from "@fedmarket/protocol";
import { AggregatorError } from "../errors.ts";
import { stepContext, type NodeContext, type StepContext } from "./context.ts";

/** `txs.json`: the round's transactions as they are sent (chunk batches, then finalize; or skip, or fail). */
export interface TxsFile {
  readonly batches: { firstChunk: number; count: number; txHash: string }[];
  readonly finalize?: string;
  readonly skip?: string;
  readonly fail?: string;
}

/** `done.json`: how the round ended on chain. */
export interface DoneFile {
  /** A round whose aggregation window passed before finalization is `failed` (the node calls failRound), with a `note`. */
  readonly kind: "finalized" | "skipped" | "failed";
  readonly by: "self" | "other" | "none";
  readonly txHash?: string;
  readonly blockNumber?: number;
  readonly newModelCommitment?: string;
  readonly newModelCid?: string;
  readonly note?: string;
}

/**
 * Writes `done.json` from the round's end event (the round must have ended on chain), logs it and,
 * for a finalized round, runs the round report. `ours` is the hash of the transaction this node
 * sent to end it, if any (else the sender is looked up).
 */
export async function recordRoundEnd(ctx: StepContext, ours?: string, note?: string): Promise<DoneFile> {
  const { projectId, round: r, files } = ctx;
  const end = await ctx.chain.roundEnd(projectId, r);
  if (end === undefined) throw new AggregatorError("internal", `round ${r} of project ${projectId} has not ended on chain`);
  const by = await whoSent(ctx, end, ours);
  const done: DoneFile = {
    kind: end.kind,
    by,
    txHash: end.transactionHash,
    blockNumber: end.blockNumber,
    ...(end.kind === "finalized" ? { newModelCommitment: end.newModelCommitment.toString(), newModelCid: end.newModelCid } : {}),
    ...(note === undefined ? {} : { note }),
  };
  await files.write("done.json", done);
  const byWhom = by === "other" ? " by another account or instance" : "";
  ctx.log.log(
    "info",
    `round.${end.kind}`,
    `round ${r} of project ${projectId} ${end.kind}${byWhom} in tx ${end.transactionHash} (block ${end.blockNumber})`,
    {
      round: r,
      ...done,
    },
  );
  // After done.json, so the report can never delay or undo the finalization; it only logs failures.
  if (end.kind === "finalized") await ctx.config.roundReport?.afterFinalize(projectId, r, files);
  return done;
}

/** Whether this node's account sent the transaction that ended the round. */
async function whoSent(ctx: StepContext, end: RoundEndRecord, ours?: string): Promise<"self" | "other"> {
  if (ours !== undefined && ours.toLowerCase() === end.transactionHash.toLowerCase()) return "self";
  const tx = await ctx.chain.client.provider.getTransaction(end.transactionHash);
  return tx !== null && tx.from.toLowerCase() === ctx.config.address.toLowerCase() ? "self" : "other";
}

/**
 * Settles every round of `projectId` before `openRound` that has a folder but no `done.json` and
 * has ended on chain; returns the last one settled (`undefined`: nothing to settle).
 */
export async function settlePastRounds(
  node: NodeContext,
  projectId: bigint,
  openRound: number,
): Promise<{ readonly round: number; readonly done: DoneFile } | undefined> {
  const rounds = await roundFolders(node, projectId);
  let last: { round: number; done: DoneFile } | undefined;
  for (const r of rounds) {
    if (r >= openRound) continue;
    const ctx = stepContext(node, projectId, r);
    if ((await ctx.files.read<DoneFile>("done.json")) !== undefined) continue;
    await waitForPending(node.chain.client, node.config.address);
    if ((await node.chain.roundEnd(projectId, r)) === undefined) continue;
    const txs = await ctx.files.read<TxsFile>("txs.json");
    last = { round: r, done: await recordRoundEnd(ctx, txs?.finalize) };
  }
  return last;
}

/** The rounds of `projectId` this node has a folder for, ascending (none when the project has no folder). */
export async function roundFolders(node: NodeContext, projectId: bigint): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(path.join(node.config.dataDir, `p${projectId}`));
  } catch {
    return [];
  }
  return names
    .map((n) => /^r(\d+)$/.exec(n)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}
