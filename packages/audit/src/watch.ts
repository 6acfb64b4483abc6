/**
 * The watcher of optimistic rounds (IFedMarketOptimistic): the one honest party the optimistic mode
 * needs. One pass (`watchOnce`) looks at every round of the project finalized optimistically and
 * not settled or voided yet:
 * - inside its challenge window with no challenge open: fetch the pinned proof bundle and apply
 *   `challengeTarget` (@fedmarket/protocol) with the project's own verifier; challenge the range it
 *   names (depositing the project's `challengeDeposit`);
 * - with a challenge open past its answer deadline (whoever challenged): void the round.
 * Everything else waits. `fedmarket watch` runs passes until the project has nothing left to watch.
 */
import { Contract } from "ethers";
import {
  challengeTarget,
  decodeProofBundle,
  ETH_TOKEN,
  loadProjectHistory,
  ROUND_VERIFIER_ABI,
  roundPayouts,
  type BlobStore,
  type FedMarketClient,
  type FetchOptions,
  type NodeLogger,
  type ProofBundle,
} from "@fedmarket/protocol";

export interface WatchOptions {
  /** A client whose runner can send (the watcher's account pays the deposits and the gas). */
  readonly client: FedMarketClient;
  readonly projectId: bigint;
  readonly store: BlobStore;
  readonly fetchOptions?: FetchOptions;
  readonly logger: NodeLogger;
  /** First block of the event scan (the project's creation block is the tightest). */
  readonly fromBlock?: number;
}

/** What one pass did for one round. */
export interface WatchAction {
  readonly round: number;
  readonly action: "proven" | "challenged" | "voided" | "waiting";
  readonly detail: string;
  readonly txHash?: string;
}

/** One pass over the project's optimistic rounds; `open` says whether any is still open to watch. */
export async function watchOnce(o: WatchOptions): Promise<{ readonly actions: WatchAction[]; readonly open: boolean }> {
  const { client, projectId, logger } = o;
  const history = await loadProjectHistory(client, projectId, o.fromBlock === undefined ? {} : { fromBlock: o.fromBlock });
  const project = await client.getProject(projectId);
  const { challengeDeposit } = await client.optimisticParams(projectId);
  const verifier = new Contract(project.verifier, ROUND_VERIFIER_ABI, client.provider);
  const verify = async (proof: readonly bigint[], accIn: bigint, accOut: bigint): Promise<boolean> =>
    Boolean(await verifier.getFunction("verifyChunk").staticCall([...proof], accIn, accOut));
  const actions: WatchAction[] = [];
  let open = false;
  for (const round of history.rounds) {
    const committed = round.optimistic?.committed;
    if (committed === undefined) continue;
    const r = round.round;
    const state = await client.getOptimisticRound(projectId, r);
    if (state.settled || state.voided) continue;
    const now = await client.chainTime();
    if (state.answerDeadline !== 0) {
      if (now < state.answerDeadline) {
        open = true;
        actions.push({ round: r, action: "waiting", detail: `a challenge is open until chain time ${state.answerDeadline}` });
        continue;
      }
      const payouts = roundPayouts(round);
      // The model the round started from: the one it opened with, unless the round before was voided
      // (restoring its own start) while this one was open.
      const before = history.rounds[r - 1]?.optimistic?.voided;
      const restored = before !== undefined && before.blockNumber < (round.end?.blockNumber ?? 0) ? before.restoredModelCid : undefined;
      const prevModelCid = restored ?? round.opened?.modelCid;
      if (prevModelCid === undefined) throw new Error(`round ${r}: no RoundOpened event read (scan from an earlier block)`);
      const tx = await client.send("voidRound", [projectId, r, payouts, prevModelCid]);
      await client.wait(tx);
      logger.log("warn", "watch.voided", `round ${r}: its challenge went unanswered: voided (${tx.hash})`, { round: r, txHash: tx.hash });
      actions.push({ round: r, action: "voided", detail: "the challenge went unanswered", txHash: tx.hash });
      continue;
    }
    if (now >= state.windowEnd) {
      actions.push({ round: r, action: "waiting", detail: "its window closed: it only waits to be settled" });
      continue;
    }
    open = true;
    let bundle: ProofBundle | undefined;
    try {
      bundle = decodeProofBundle(await o.store.get(committed.proofsCid, o.fetchOptions));
    } catch (err) {
      logger.log("warn", "watch.bundle", `round ${r}: its chunk proofs ${committed.proofsCid} cannot be read: ${(err as Error).message}`, {
        round: r,
      });
    }
    const target = await challengeTarget(bundle, { ...committed, numChunks: project.numChunks }, verify);
    if (target === undefined) {
      actions.push({ round: r, action: "proven", detail: "its pinned chunk proofs lead to the committed accumulator" });
      continue;
    }
    if (project.token !== ETH_TOKEN && challengeDeposit > 0n) await client.wait(await client.approveToken(project.token, challengeDeposit));
    const tx = await client.send("challengeRound", [projectId, r, target.first, target.count], {
      value: project.token === ETH_TOKEN ? challengeDeposit : 0n,
    });
    await client.wait(tx);
    const detail = `chunks ${target.first}..${target.first + target.count - 1}: ${target.reason}`;
    logger.log("warn", "watch.challenged", `round ${r}: challenged ${detail} (${tx.hash})`, { round: r, txHash: tx.hash });
    actions.push({ round: r, action: "challenged", detail, txHash: tx.hash });
  }
  return { actions, open };
}
