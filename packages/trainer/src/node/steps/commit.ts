/**
 * Step 6 of a round: lock the sealed commitment into the drawn slot (`commitUpdate`) during the
 * commit window. What is sent is `keccak256(chain, market, project, round, trainer, commitment,
 * keccak256(cid))` (`sealedCommitment`): it hides the commitment and the CID until the reveal and
 * opens only for this account, so copying it gains nothing. The chain is the authority: a commit
 * that landed (after a crash between sending and recording) is adopted from
 * `lastSubmittedRoundPlusOne` and its `UpdateCommitted` event, never sent twice.
 */
import type { TransactionReceipt } from "ethers";
import { sealedCommitment, type ProjectInfo } from "@fedmarket/protocol";
import type { RoundEntry } from "../state.ts";
import type { TrainerNodeOptions } from "../types.ts";
import { recordReceipt } from "./receipt.ts";
import { sendRecorded, waitNoPending } from "./transactions.ts";

/** The sealed commitment of this round's entry. */
export function sealedOf(o: TrainerNodeOptions, p: ProjectInfo, round: number, entry: RoundEntry): string {
  return sealedCommitment(o.chainId, o.client.address, p.id, round, o.address, BigInt(entry.commitment as string), entry.cid as string);
}

/**
 * Records a commit found on chain (phase `committed`, slot from its event) and says so: it was sent
 * before a restart and had landed. The opening stays the state file's: if that file lost it, the
 * update can never be revealed (the round is `missed`).
 */
export async function adoptCommit(o: TrainerNodeOptions, p: ProjectInfo, round: number): Promise<RoundEntry> {
  const entry = o.state.get(p.id, round);
  const ev = (await o.client.updateCommitted({ projectId: p.id, round, trainer: o.address })).at(-1);
  const slot = ev?.slot;
  if (entry?.commitment === undefined || entry.cid === undefined) {
    o.logger.log(
      "warn",
      "round.foreign",
      `round ${round}: a commitment of this account is on chain but the state file has no opening for it; another process uses this key? It cannot be revealed`,
      { projectId: p.id, round },
    );
    return o.state.update(p.id, round, { phase: "missed", note: "committed on chain without a local opening" });
  }
  if (ev !== undefined && ev.sealed !== sealedOf(o, p, round, entry)) {
    o.logger.log(
      "warn",
      "round.foreign",
      `round ${round}: the sealed commitment on chain is not the one in the state file; another process uses this key? It cannot be revealed`,
      { projectId: p.id, round },
    );
    return o.state.update(p.id, round, { phase: "missed", note: "the commitment on chain is not this state's" });
  }
  const adopted = await o.state.update(p.id, round, {
    phase: "committed",
    ...(ev === undefined ? {} : { commitTxHash: ev.transactionHash, ...(slot === undefined ? {} : { slot }) }),
  });
  o.logger.log(
    "info",
    "round.adopted",
    `round ${round}: the commit this account sent before the restart had landed${ev === undefined ? "" : ` (tx ${ev.transactionHash}, block ${ev.blockNumber}${slot === undefined ? "" : `, slot ${slot}`})`}: adopted, not sent again`,
    { projectId: p.id, round, step: "commit", txHash: ev?.transactionHash, slot },
  );
  return adopted;
}

/** Step 6: commit (after checking the chain), wait for the receipt. */
export async function commitUpdate(o: TrainerNodeOptions, p: ProjectInfo, round: number): Promise<RoundEntry> {
  const entry = o.state.get(p.id, round) as RoundEntry;
  if (entry.commitTxHash !== undefined) {
    const receipt = await o.client.provider.getTransactionReceipt(entry.commitTxHash);
    if (receipt !== null && receipt.status === 1) return committed(o, p, round, receipt, true);
  }
  await waitNoPending(o);
  const me = await o.client.getTrainer(p.id, o.address);
  if (me.lastSubmittedRoundPlusOne === round + 1) return adoptCommit(o, p, round);
  const sealed = sealedOf(o, p, round, entry);
  o.logger.log("info", "round.commit", `round ${round}: committing (sealed ${sealed.slice(0, 14)}...; revealed after the commit window)`, {
    projectId: p.id,
    round,
    sealed,
  });
  const receipt = await sendRecorded(
    o,
    p,
    round,
    () => o.client.commitUpdate(p.id, round, sealed),
    (commitTxHash) => ({ phase: "committing", commitTxHash }),
    { sent: "commit-sent-before-state", recorded: "after-commit" },
  );
  return committed(o, p, round, receipt);
}

/** Records the commit's receipt; `landed`: the receipt of a commit sent before a restart. */
async function committed(
  o: TrainerNodeOptions,
  p: ProjectInfo,
  round: number,
  receipt: TransactionReceipt,
  landed = false,
): Promise<RoundEntry> {
  const { entry, slot } = await recordReceipt(o, p, round, receipt, {
    phase: "committed",
    event: "UpdateCommitted",
    fields: { commitTxHash: receipt.hash },
  });
  const fields = { projectId: p.id, round, slot, block: receipt.blockNumber };
  if (landed)
    o.logger.log(
      "info",
      "round.adopted",
      `round ${round}: the commit this account sent before the restart had landed (tx ${receipt.hash}, block ${receipt.blockNumber}, slot ${slot ?? "?"}): adopted, not sent again`,
      { ...fields, step: "commit", txHash: receipt.hash },
    );
  else o.logger.log("info", "round.committed", `round ${round}: committed in block ${receipt.blockNumber}, slot ${slot ?? "?"}`, fields);
  return entry;
}
