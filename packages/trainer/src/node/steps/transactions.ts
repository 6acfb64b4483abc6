/**
 * What the commit and reveal steps share: waiting until no transaction of the account is pending
 * (a previous run's may still be in flight), finding this account's events in a receipt, and
 * turning a revert into a `TrainerNodeError` whose code the loop acts on.
 */
import type { TransactionReceipt } from "ethers";
import { MarketRevertError, PendingTransactionsError, waitForPending, type ProjectInfo } from "@fedmarket/protocol";
import { TrainerNodeError } from "../errors.ts";
import type { TrainerNodeOptions } from "../types.ts";

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
