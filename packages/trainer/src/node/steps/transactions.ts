/**
 * What the commit and reveal steps share: waiting until no transaction of the account is pending
 * (a previous run's may still be in flight), sending a round transaction so that a restart finds
 * it, finding this account's events in a receipt, and turning a revert into a `TrainerNodeError`
 * whose code the loop acts on.
 */
import type { TransactionReceipt, TransactionResponse } from "ethers";
import { MarketRevertError, PendingTransactionsError, waitForPending, type ProjectInfo } from "@fedmarket/protocol";
import { checkpoint } from "../chain-io.ts";
import { TrainerNodeError } from "../errors.ts";
import type { RoundPatch } from "../state.ts";
import type { Checkpoint, TrainerNodeOptions } from "../types.ts";

/** Waits until no transaction of this account is pending. */
export async function waitNoPending(o: TrainerNodeOptions): Promise<void> {
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

/**
 * Sends a round transaction and waits for its receipt. Its hash is recorded in the state between
 * the two, so that a restart looks the transaction up instead of sending it again; the crash
 * points on either side of that record (`sent`, `recorded`) are where the tests stop the node. A
 * revert, when sent or when mined, becomes the error the loop acts on.
 */
export async function sendRecorded(
  o: TrainerNodeOptions,
  p: ProjectInfo,
  round: number,
  send: () => Promise<TransactionResponse>,
  record: (txHash: string) => RoundPatch,
  points: { readonly sent: Checkpoint; readonly recorded: Checkpoint },
): Promise<TransactionReceipt> {
  let tx: TransactionResponse;
  try {
    tx = await send();
  } catch (err) {
    throw explain(err, p, round);
  }
  await checkpoint(o, points.sent);
  await o.state.update(p.id, round, record(tx.hash));
  await checkpoint(o, points.recorded);
  try {
    return await o.client.wait(tx, o.confirmations ?? 1);
  } catch (err) {
    throw explain(err, p, round);
  }
}

/** The `slot` argument of the marketplace event `name` in a receipt, if it holds one. */
export function slotFromReceipt(o: TrainerNodeOptions, receipt: TransactionReceipt, name: string): number | undefined {
  for (const log of receipt.logs) {
    try {
      const parsed = o.client.contract.interface.parseLog(log);
      if (parsed?.name === name) return Number(parsed.args.getValue("slot") as bigint);
    } catch {
      /* another contract's log */
    }
  }
  return undefined;
}

/** A revert of a round transaction, as the error the node loop acts on. */
export function explain(err: unknown, p: ProjectInfo, round: number): unknown {
  if (err instanceof MarketRevertError) {
    const name = err.errorName;
    const code =
      name === "SubmissionWindowClosed" || name === "WrongRound" || name === "OutsideRevealWindow"
        ? "window-closed"
        : name === "NotRegistered"
          ? "not-registered"
          : "revert";
    return new TrainerNodeError(code, `round ${round} of project ${p.id}: ${err.message}`, { cause: err });
  }
  return err;
}
