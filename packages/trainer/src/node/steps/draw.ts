/**
 * Step 1b of a round: is this account drawn for a slot? The contract draws the round's slots
 * among the trainers registered when it opened, from the hash of the opening block
 * (`FedMarket.slotOf`, reference @fedmarket/core slots.ts). While that seed is pending the node
 * fixes it itself (`drawSeed`: anyone may, and the earlier it is read the less anyone can choose
 * when), so a trainer never trains for a round it cannot enter.
 */
import type { ProjectInfo, RoundInfo, SlotDraw } from "@fedmarket/protocol";
import type { TrainerNodeOptions } from "../types.ts";
import { explain, waitNoPending } from "./transactions.ts";

/** This account's draw in the open round, fixing the seed first if nobody has. */
export async function ensureDrawn(o: TrainerNodeOptions, p: ProjectInfo, round: RoundInfo): Promise<SlotDraw> {
  let draw = await o.client.slotOf(p.id, o.address);
  if (draw.seedReady) return draw;
  await waitNoPending(o);
  draw = await o.client.slotOf(p.id, o.address);
  if (draw.seedReady) return draw;
  o.logger.log("info", "round.seed", `round ${round.round}: drawing the round's seed (hash of block ${round.seedBlock})`, {
    projectId: p.id,
    round: round.round,
  });
  try {
    await o.client.wait(await o.client.drawSeed(p.id), o.confirmations ?? 1);
  } catch (err) {
    throw explain(err, p, round.round);
  }
  return o.client.slotOf(p.id, o.address);
}

/** Why this account has no slot in the round, for the log. */
export function notDrawnReason(p: ProjectInfo, round: RoundInfo): string {
  const late =
    p.registeredTrainers > round.candidates
      ? `; ${p.registeredTrainers - round.candidates} trainer(s) registered after it opened take part from the next round on`
      : "";
  return `not drawn for round ${round.round}: ${round.candidates} registered trainers for ${p.maxTrainersPerRound} slots, drawn uniformly at random${late}`;
}
