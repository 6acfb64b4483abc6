/**
 * Step 6 of a round: `submitUpdate(project, round, commitment, cid)` after waiting for the account's
 * pending transactions and checking `lastSubmittedRoundPlusOne` on chain (`submitted`), then the
 * receipt (`confirmed`). The chain is the authority: a submission that landed (after a crash
 * between sending and recording) is adopted from its `UpdateSubmitted` event, never sent twice.
 */
import type { TransactionReceipt } from "ethers";
import { MarketRevertError, PendingTransactionsError, waitForPending, type ProjectInfo } from "@fedmarket/protocol";
import { checkpoint } from "../chain-io.ts";
import { TrainerNodeError } from "../errors.ts";
import type { RoundEntry } from "../state.ts";
import type { TrainerNodeOptions } from "../types.ts";

/** Records a submission found on chain (after a crash between sending and writing the state). */
export async function adoptOnChain(o: TrainerNodeOptions, p: ProjectInfo, round: number): Promise<RoundEntry> {
  const entry = o.state.get(p.id, round);
  const events = await o.client.updateSubmitted({ projectId: p.id, round, trainer: o.address });
  const ev = events.at(-1);
  if (ev !== undefined && entry?.commitment !== undefined && entry.commitment !== ev.commitment.toString()) {
    o.logger.log(
      "warn",
      "round.foreign",
      `round ${round}: the submission on chain (commitment ${ev.commitment}) is not the one in the state file; another process uses this key?`,
      { projectId: p.id, round },
    );
  }
  return o.state.update(p.id, round, {
    phase: "confirmed",
    ...(ev === undefined
      ? { note: "found on chain (lastSubmittedRoundPlusOne)" }
      : {
          txHash: ev.transactionHash,
          blockNumber: ev.blockNumber,
          slot: ev.slot,
          commitment: ev.commitment.toString(),
          cid: ev.cid,
        }),
  });
}

/** Waits until no transaction of this account is pending (a previous run's may be in flight). */
async function waitNoPending(o: TrainerNodeOptions): Promise<void> {
  try {
    await waitForPending(o.client, o.address, {
      pollMs: 1_000,
      timeoutMs: 120_000,
      onWaiting: (n) => o.logger.log("info", "tx.pending", `waiting for ${n} pending transaction(s) of ${o.address} to be mined`),
    });
  } catch (err) {
    if (!(err instanceof PendingTransactionsError)) throw err;
    throw new TrainerNodeError("pending", `transactions of ${o.address} stay pending; check the node and gas price, then run again`, {
      cause: err,
    });
  }
}

/** Step 6: submit (after checking the chain), wait for the receipt. */
export async function submitUpdate(o: TrainerNodeOptions, p: ProjectInfo, round: number): Promise<RoundEntry> {
  let entry = o.state.get(p.id, round) as RoundEntry;
  if (entry.txHash !== undefined) {
    const receipt = await o.client.provider.getTransactionReceipt(entry.txHash);
    if (receipt !== null && receipt.status === 1) return confirm(o, p, round, receipt);
  }
  await waitNoPending(o);
  const me = await o.client.getTrainer(p.id, o.address);
  if (me.lastSubmittedRoundPlusOne === round + 1) return adoptOnChain(o, p, round);
  const commitment = BigInt(entry.commitment as string);
  const cid = entry.cid as string;
  o.logger.log("info", "round.submit", `round ${round}: submitting commitment ${commitment.toString().slice(0, 12)}... with ${cid}`, {
    projectId: p.id,
    round,
    commitment,
    cid,
  });
  let tx;
  try {
    tx = await o.client.submitUpdate(p.id, round, commitment, cid);
  } catch (err) {
    throw explain(err, p, round);
  }
  await checkpoint(o, "sent-before-state");
  entry = await o.state.update(p.id, round, { phase: "submitted", txHash: tx.hash });
  await checkpoint(o, "after-send");
  let receipt: TransactionReceipt;
  try {
    receipt = await o.client.wait(tx, o.confirmations ?? 1);
  } catch (err) {
    throw explain(err, p, round);
  }
  return confirm(o, p, round, receipt);
}

async function confirm(o: TrainerNodeOptions, p: ProjectInfo, round: number, receipt: TransactionReceipt): Promise<RoundEntry> {
  let slot: number | undefined;
  for (const log of receipt.logs) {
    try {
      const parsed = o.client.contract.interface.parseLog(log);
      if (parsed?.name === "UpdateSubmitted") slot = Number(parsed.args[3]);
    } catch {
      /* another contract's log */
    }
  }
  const entry = await o.state.update(p.id, round, {
    phase: "confirmed",
    txHash: receipt.hash,
    blockNumber: receipt.blockNumber,
    ...(slot === undefined ? {} : { slot }),
  });
  o.logger.log(
    "info",
    "round.confirmed",
    `round ${round}: submission confirmed in block ${receipt.blockNumber}${slot === undefined ? "" : `, slot ${slot}`} (tx ${receipt.hash})`,
    {
      projectId: p.id,
      round,
      txHash: receipt.hash,
      block: receipt.blockNumber,
      slot,
    },
  );
  return entry;
}

function explain(err: unknown, p: ProjectInfo, round: number): unknown {
  if (err instanceof MarketRevertError) {
    const code =
      err.errorName === "SubmissionWindowClosed" || err.errorName === "WrongRound"
        ? "window-closed"
        : err.errorName === "NotRegistered"
          ? "not-registered"
          : "revert";
    return new TrainerNodeError(code, `round ${round} of project ${p.id}: ${err.message}`, { cause: err });
  }
  return err;
}
