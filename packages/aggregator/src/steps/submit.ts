/**
 * Step 7, **submit** (`txs.json`, then `done.json` through settle.ts): the proofs go on chain.
 * First the node waits for its account's pending transactions (one sent before a crash may still
 * land) and asks the chain whether the round already ended: a round finalized by this or another
 * instance is adopted, never finalized twice. Chunk proofs go in batches of `--chunk-batch`
 * through `submitChunkProofs`, continuing the on-chain accumulator when it is ours (else restarting
 * at chunk 0); the last batch rides with `finalizeRound`, which also publishes the next round's
 * hyper-parameters (hyper-params.ts). In a project with a challenge window the round is finalized
 * optimistically instead, with no chunk proof on chain (optimistic.ts). Every hash is saved as soon
 * as it is known.
 */
import type { RoundResult } from "@fedmarket/core";
import { waitForPending, type ProjectInfo } from "@fedmarket/protocol";
import type { ChunkProofArg } from "../chain.ts";
import { AggregatorError } from "../errors.ts";
import { DEFAULT_CHUNK_BATCH, type StepContext } from "./context.ts";
import { nextRoundHyperParams } from "./hyper-params.ts";
import { commitOptimisticRound } from "./optimistic.ts";
import type { RoundProofs } from "./prove.ts";
import { recordRoundEnd, type DoneFile, type TxsFile } from "./settle.ts";

export { DEFAULT_CHUNK_BATCH } from "./context.ts";

/** Finalizes the round with its proofs and the pinned model `cid`, or adopts how it already ended. */
export async function submitRound(
  ctx: StepContext,
  project: ProjectInfo,
  result: RoundResult,
  proofs: RoundProofs,
  cid: string,
): Promise<DoneFile> {
  const { chain, files, log, round: r } = ctx;
  const projectId = project.id;
  const txs: TxsFile = (await files.read<TxsFile>("txs.json")) ?? { batches: [] };
  // A transaction sent before a crash may still be pending: let it land, then ask the chain.
  await waitForPending(chain.client, ctx.config.address);
  if ((await chain.roundEnd(projectId, r)) !== undefined) return recordRoundEnd(ctx, txs.finalize);
  const roundNow = await chain.client.getCurrentRound(projectId);
  if (roundNow.round !== r)
    throw new AggregatorError("internal", `round ${r} is no longer open (round ${roundNow.round} is) but no event says how it ended`);
  const confirmations = ctx.config.confirmations ?? 1;
  const nextHyperParams = await nextRoundHyperParams(project, r, ctx.config.lrDecay ?? 1, files, log);
  const decision = {
    newModelCommitment: result.newModelCommitment,
    outcomes: result.outcome,
    proof: proofs.decision,
    newModelCid: cid,
    nextHyperParams,
  };
  // A project with a challenge window: no chunk proofs on chain unless challenged (optimistic.ts).
  if (roundNow.chunksVerified === 0 && (await chain.client.optimisticParams(projectId)).challengeWindow > 0) {
    const tx = await commitOptimisticRound(ctx, project, result, proofs, decision);
    await ctx.checkpoint("after-finalize-sent");
    await files.write("txs.json", { ...txs, finalize: tx.hash } satisfies TxsFile);
    await chain.wait(tx, confirmations);
    return recordRoundEnd(ctx, tx.hash);
  }
  const chunkArgs: ChunkProofArg[] = proofs.chunks.map((proof, j) => ({ proof, accOut: result.chunkWitnesses[j]!.publicSignals[1] }));
  // Continue the on-chain accumulator if it is ours, else restart at chunk 0.
  let next = roundNow.chunksVerified;
  if (next > 0) {
    const ours = result.chunkWitnesses[next - 1]?.publicSignals[1];
    if (ours !== roundNow.accumulator) next = 0;
  }
  const batch = Math.max(1, ctx.config.chunkBatch ?? DEFAULT_CHUNK_BATCH);
  // Leave at most one batch for finalizeRound itself.
  while (result.chunks - next > batch) {
    const part = chunkArgs.slice(next, next + batch);
    const tx = await chain.submitChunkProofs(projectId, r, next, part);
    txs.batches.push({ firstChunk: next, count: part.length, txHash: tx.hash });
    await files.write("txs.json", txs);
    log.log("info", "tx.chunks", `chunk proofs ${next}..${next + part.length - 1} sent: ${tx.hash}`, {
      firstChunk: next,
      count: part.length,
      txHash: tx.hash,
    });
    await ctx.checkpoint("after-chunk-batch-sent");
    await chain.wait(tx, confirmations);
    next += part.length;
  }
  const tx = await chain.finalizeRound(projectId, r, next, chunkArgs.slice(next), decision);
  await ctx.checkpoint("after-finalize-sent");
  await files.write("txs.json", { ...txs, finalize: tx.hash } satisfies TxsFile);
  log.log("info", "tx.finalize", `finalizeRound sent: ${tx.hash}`, { txHash: tx.hash, chunksInTx: result.chunks - next });
  const receipt = await chain.wait(tx, confirmations);
  log.log("debug", "tx.finalize.mined", `finalizeRound mined in block ${receipt.blockNumber}, ${receipt.gasUsed} gas`, {
    gasUsed: receipt.gasUsed,
    blockNumber: receipt.blockNumber,
  });
  return recordRoundEnd(ctx, tx.hash);
}
