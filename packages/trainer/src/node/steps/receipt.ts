/**
 * How the commit and reveal steps record their transaction's receipt in the round's entry: the
 * phase it reached, the step's transaction fields and the slot named by the step's event. One place,
 * so the two steps cannot drift apart in what a mined transaction leaves in the state file (a
 * restart resumes from it); each step still announces its receipt in its own words.
 */
import type { TransactionReceipt } from "ethers";
import type { ProjectInfo } from "@fedmarket/protocol";
import type { RoundEntry } from "../state.ts";
import type { TrainerNodeOptions } from "../types.ts";
import { slotFromReceipt } from "./transactions.ts";

/** What a step records of its receipt. */
export interface ReceiptRecord {
  /** The phase the mined transaction moves the round to. */
  readonly phase: "committed" | "confirmed";
  /** The marketplace event of the transaction, whose `slot` is recorded. */
  readonly event: "UpdateCommitted" | "UpdateRevealed";
  /** The step's transaction fields of the entry (hash, block). */
  readonly fields: Pick<RoundEntry, "commitTxHash" | "txHash" | "blockNumber">;
}

/** Writes the receipt into the round's entry; the slot is left as it was when the receipt has no event. */
export async function recordReceipt(
  o: TrainerNodeOptions,
  p: ProjectInfo,
  round: number,
  receipt: TransactionReceipt,
  record: ReceiptRecord,
): Promise<{ readonly entry: RoundEntry; readonly slot: number | undefined }> {
  const slot = slotFromReceipt(o, receipt, record.event);
  const entry = await o.state.update(p.id, round, {
    phase: record.phase,
    ...record.fields,
    ...(slot === undefined ? {} : { slot }),
  });
  return { entry, slot };
}
