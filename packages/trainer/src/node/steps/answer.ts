/**
 * Step 8 of a round, after the reveal is confirmed: answer a "not available" flag. The aggregator
 * may flag a revealed slot it could not fetch or open from IPFS (`UpdateFlagged`, in the first half
 * of the aggregation window); a slot flagged and not answered by the round's answer deadline counts
 * as empty and earns nothing. The answer is the sealed update itself, published as calldata
 * (`publishUpdate`): the contract checks it against the revealed commitment, and the aggregator
 * must then decode it like any other. The node kept the exact blob it pinned (`update.fmsu` in the
 * round's folder, steps/seal.ts), so it can answer even when its IPFS node is gone. An update of
 * more than `answerChunksPerTx` chunks is published in parts first (`publishUpdatePart`, at most
 * that many chunks each; only the slot's trainer may), then completed by `publishUpdate`: at the
 * production width a chunk costs ~0.7 M gas, so a large model's answer does not fit one block.
 *
 * The node's loop calls this on every poll while the round is open and its aggregation window runs;
 * it costs one event query until the slot is flagged. Resumable: the transaction hash is recorded
 * before the receipt is awaited, `answered` once it is mined, and an answer found on chain (a
 * previous run's, or anyone's: anyone may publish the data) is adopted, never sent twice. Parts
 * already on chain (`UpdatePartPublished`, read after the account's pending transactions land) are
 * never sent again: a restart continues from the next chunk.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { SealedUpdate } from "@fedmarket/core";
import { decodeSealedUpdate, DEFAULT_ANSWER_CHUNKS_PER_TX, MarketRevertError, type OpenRoundInfo } from "@fedmarket/protocol";
import type { RoundEntry } from "../state.ts";
import type { TrainerNodeOptions } from "../types.ts";
import { SEALED_UPDATE_FILE } from "./seal.ts";
import { waitNoPending } from "./transactions.ts";

/** Where the answer to a flag stands after `answerFlag`. */
export type FlagAnswer =
  /** Not flagged (yet), or nothing to watch any more (the round's aggregation window is over). */
  | "not-flagged"
  /** Answered on chain: the update counts. */
  | "answered"
  /** Flagged, but it cannot be answered (deadline passed, no local blob): the slot counts as empty. */
  | "unanswerable";

/**
 * Answers a flag on this account's slot of the open round, if there is one (see the module comment).
 * Returns the (updated) entry and where the answer stands. A revert is logged, never thrown: the
 * round's outcome is the chain's, and the node goes on with the next round.
 */
export async function answerFlag(
  o: TrainerNodeOptions,
  open: OpenRoundInfo,
  current: RoundEntry,
): Promise<{ readonly entry: RoundEntry; readonly answer: FlagAnswer }> {
  const p = open.project;
  const round = open.round.round;
  let entry = current;
  const slot = entry.slot;
  if (entry.answered === true) return { entry, answer: "answered" };
  // Flags exist only in the aggregation window of the open round.
  if (slot === undefined || Number(entry.round) !== round) return { entry, answer: "not-flagged" };
  if (open.chainTime < open.round.revealDeadline || open.chainTime >= open.round.aggregationDeadline)
    return { entry, answer: "not-flagged" };
  const flags = await o.client.updateFlagged(
    p.id,
    { round, trainer: o.address },
    entry.blockNumber === undefined ? {} : { fromBlock: entry.blockNumber },
  );
  const flag = flags.find((f) => f.slot === slot);
  if (flag === undefined) return { entry, answer: "not-flagged" };
  const bit = 1n << BigInt(slot);
  const state = await o.client.unavailableFlags(p.id);
  const log = (level: "info" | "warn", event: string, msg: string, fields: Record<string, unknown> = {}): void =>
    o.logger.log(level, event, `round ${round}: ${msg}`, { projectId: p.id, round, slot, ...fields });
  if ((state.pendingMask & bit) === 0n) {
    entry = await o.state.update(p.id, round, { phase: entry.phase, answered: true });
    log("info", "round.answered", `the flag on slot ${slot} is answered on chain: the update counts`);
    return { entry, answer: "answered" };
  }
  if (entry.answerTxHash !== undefined) {
    // Sent before a restart: wait for it (still pending) rather than send a second one.
    const receipt = await o.client.provider.getTransactionReceipt(entry.answerTxHash);
    if (receipt === null) {
      await waitNoPending(o);
      if (((await o.client.unavailableFlags(p.id)).pendingMask & bit) === 0n) return answerFlag(o, open, entry);
    }
  }
  if (open.chainTime >= state.answerDeadline) {
    log(
      "warn",
      "round.flag.closed",
      `slot ${slot} was flagged as not available and the answer window closed at chain time ${state.answerDeadline}: it counts as empty`,
    );
    return { entry, answer: "unanswerable" };
  }
  const file = path.join(o.state.roundDir(p.id, round), SEALED_UPDATE_FILE);
  if (!existsSync(file)) {
    log(
      "warn",
      "round.flag.unanswerable",
      `slot ${slot} was flagged as not available, but this node has no copy of the sealed update (a ready-made submission): publish it with publishUpdate before chain time ${state.answerDeadline}, or it counts as empty`,
    );
    return { entry, answer: "unanswerable" };
  }
  const { sealed, ownerWrap } = decodeSealedUpdate(new Uint8Array(await readFile(file)));
  log(
    "info",
    "round.flagged",
    `the aggregator flagged slot ${slot} as not available: publishing the sealed update on chain (until chain time ${state.answerDeadline})`,
    {
      answerDeadline: state.answerDeadline,
    },
  );
  try {
    await waitNoPending(o);
    const firstChunk = await publishParts(o, open, slot, sealed);
    const tx = await o.client.publishUpdate(p.id, round, slot, sealed, ownerWrap, firstChunk);
    entry = await o.state.update(p.id, round, { phase: entry.phase, answerTxHash: tx.hash });
    await o.client.wait(tx, o.confirmations ?? 1);
    entry = await o.state.update(p.id, round, { phase: entry.phase, answered: true });
    log("info", "round.answered", `published the update of slot ${slot} (tx ${tx.hash}): the flag is answered, the update counts`, {
      txHash: tx.hash,
    });
    return { entry, answer: "answered" };
  } catch (err) {
    if (!(err instanceof MarketRevertError)) throw err;
    // Answered by someone else meanwhile (NotFlagged), or too late (AnswerWindowClosed): the chain decides.
    if (((await o.client.unavailableFlags(p.id)).pendingMask & bit) === 0n) return answerFlag(o, open, entry);
    log("warn", "round.flag.unanswerable", `could not publish the update of slot ${slot}: ${err.message}`, { error: err.errorName });
    return { entry, answer: "unanswerable" };
  }
}

/**
 * Publishes the chunks of `sealed` that do not fit the last answer transaction, in parts of at most
 * `answerChunksPerTx` chunks, continuing after those already on chain; returns the chunk the
 * completing `publishUpdate` starts at (0 when the update fits one transaction).
 */
async function publishParts(o: TrainerNodeOptions, open: OpenRoundInfo, slot: number, sealed: SealedUpdate): Promise<number> {
  const perTx = o.answerChunksPerTx ?? DEFAULT_ANSWER_CHUNKS_PER_TX;
  if (!Number.isInteger(perTx) || perTx < 1) throw new Error(`answerChunksPerTx must be a positive integer, got ${perTx}`);
  const total = sealed.chunks.length;
  if (total <= perTx) return 0;
  const p = open.project;
  const round = open.round.round;
  const np = sealed.chunks[0]?.length ?? 1;
  // The contract takes a slot's parts in order, each right after the last: the furthest one ends the published prefix.
  const parts = await o.client.updatePartsPublished(p.id, { round, trainer: o.address });
  let next = parts.filter((x) => x.slot === slot).reduce((end, x) => Math.max(end, x.firstChunk + x.cipher.length / np), 0);
  while (total - next > perTx) {
    const tx = await o.client.publishUpdatePart(p.id, round, slot, sealed, next, perTx);
    await o.client.wait(tx, o.confirmations ?? 1);
    next += perTx;
    o.logger.log(
      "info",
      "round.answer.part",
      `round ${round}: published chunks ${next - perTx}..${next - 1} of ${total} of slot ${slot}'s update (tx ${tx.hash})`,
      {
        projectId: p.id,
        round,
        slot,
        txHash: tx.hash,
      },
    );
  }
  return next;
}
