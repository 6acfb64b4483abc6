/**
 * Step 7 of a round: upload the sealed update and reveal the commitment and the CID sealed in
 * step 6 (`revealUpdate`), once the commit window has closed, so nobody (the aggregator included) sees any update before every
 * commitment of the round is locked. A reveal that landed is adopted from its `UpdateRevealed`
 * event, never sent twice.
 */
import type { TransactionReceipt } from "ethers";
import type { ProjectInfo } from "@fedmarket/protocol";
import type { RoundEntry } from "../state.ts";
import type { TrainerNodeOptions } from "../types.ts";
import { uploadUpdate } from "./pin.ts";
import { recordReceipt } from "./receipt.ts";
import { sendRecorded, waitNoPending } from "./transactions.ts";

/** This account's reveal in the round, if it reached the chain. */
async function revealedOnChain(o: TrainerNodeOptions, p: ProjectInfo, round: number) {
  return (await o.client.updateRevealed({ projectId: p.id, round, trainer: o.address })).at(-1);
}

/** The line a reveal sent before a restart gets when it is found on chain. */
function logAdopted(o: TrainerNodeOptions, p: ProjectInfo, round: number, txHash: string, block: number, slot: number | undefined): void {
  o.logger.log(
    "info",
    "round.adopted",
    `round ${round}: the reveal this account sent before the restart had landed (tx ${txHash}, block ${block}${slot === undefined ? "" : `, slot ${slot}`}): adopted, not sent again`,
    { projectId: p.id, round, step: "reveal", txHash, block, slot },
  );
}

/** Records a reveal found on chain (after a crash between sending and recording), and says so. */
export async function adoptReveal(o: TrainerNodeOptions, p: ProjectInfo, round: number): Promise<RoundEntry | undefined> {
  const ev = await revealedOnChain(o, p, round);
  if (ev === undefined) return undefined;
  const entry = await o.state.update(p.id, round, {
    phase: "confirmed",
    txHash: ev.transactionHash,
    blockNumber: ev.blockNumber,
    slot: ev.slot,
    commitment: ev.commitment.toString(),
    cid: ev.cid,
  });
  logAdopted(o, p, round, ev.transactionHash, ev.blockNumber, ev.slot);
  return entry;
}

/**
 * Step 7: reveal (after checking the chain), wait for the receipt. `landed`: the reveal had reached
 * the chain before this call (a previous run's), so nothing was sent now.
 */
export async function revealUpdate(
  o: TrainerNodeOptions,
  p: ProjectInfo,
  round: number,
): Promise<{ readonly entry: RoundEntry; readonly landed: boolean }> {
  const entry = o.state.get(p.id, round) as RoundEntry;
  if (entry.txHash !== undefined) {
    const receipt = await o.client.provider.getTransactionReceipt(entry.txHash);
    if (receipt !== null && receipt.status === 1) return { entry: await confirm(o, p, round, receipt, true), landed: true };
  }
  await waitNoPending(o);
  const adopted = await adoptReveal(o, p, round);
  if (adopted !== undefined) return { entry: adopted, landed: true };
  const commitment = BigInt(entry.commitment as string);
  const cid = entry.cid as string;
  await uploadUpdate(o, p, round, cid);
  o.logger.log("info", "round.reveal", `round ${round}: revealing commitment ${commitment.toString().slice(0, 12)}... with ${cid}`, {
    projectId: p.id,
    round,
    commitment,
    cid,
  });
  const receipt = await sendRecorded(
    o,
    p,
    round,
    () => o.client.revealUpdate(p.id, round, commitment, cid),
    (txHash) => ({ phase: "submitted", txHash }),
    { sent: "sent-before-state", recorded: "after-send" },
  );
  return { entry: await confirm(o, p, round, receipt), landed: false };
}

/** Records the reveal's receipt; `landed`: it is the receipt of a reveal sent before a restart. */
async function confirm(
  o: TrainerNodeOptions,
  p: ProjectInfo,
  round: number,
  receipt: TransactionReceipt,
  landed = false,
): Promise<RoundEntry> {
  const { entry, slot } = await recordReceipt(o, p, round, receipt, {
    phase: "confirmed",
    event: "UpdateRevealed",
    fields: { txHash: receipt.hash, blockNumber: receipt.blockNumber },
  });
  if (landed) {
    logAdopted(o, p, round, receipt.hash, receipt.blockNumber, slot);
    return entry;
  }
  o.logger.log(
    "info",
    "round.confirmed",
    `round ${round}: update revealed in block ${receipt.blockNumber}${slot === undefined ? "" : `, slot ${slot}`} (tx ${receipt.hash})`,
    { projectId: p.id, round, txHash: receipt.hash, block: receipt.blockNumber, slot },
  );
  return entry;
}
