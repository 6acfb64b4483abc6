/**
 * The openings check, the one check the chain cannot make: with the owner's key, each update is
 * opened exactly as the aggregator opens it (the update codec: it decrypts, is made for this
 * project, round, circuit and model size, and opens its commitment), and the free-rider rule is
 * re-applied to the recorded models. Against each finalized round's proven outcomes:
 * - an update proven as opening (aggregated or left out by Multi-Krum) that does not open is a failure;
 * - an excluded update that opens and does not replay the last global delta is a warning (an
 *   exclusion the owner cannot explain), and so is an aggregated replay (a free rider let in).
 */
import { SlotStatus } from "@fedmarket/core";
import type { AuditContext } from "../context.ts";
import { failure, info, warning, type Finding } from "../findings.ts";

export async function checkOpenings(ctx: AuditContext): Promise<Finding[]> {
  if (ctx.ownerSecretKey === undefined) return [info("openings", "no owner key: the updates were not opened")];
  if (!(await ctx.spec()).ok) return [info("openings", "no usable spec: the updates cannot be opened without the circuit configuration")];
  const findings: Finding[] = [];
  for (const r of ctx.history.rounds) {
    const round = r.round;
    const openings = await ctx.openings(round);
    const proofs = await ctx.roundProofs(round);
    if (openings === undefined || proofs?.ok !== true) continue;
    for (const s of r.submissions) {
      const outcome = proofs.check.outcomes[s.slot];
      const opening = openings.get(s.slot);
      if (outcome === undefined || opening === undefined) continue;
      const at = { round, slot: s.slot };
      const who = `round ${round} slot ${s.slot} (${s.trainer})`;
      // An update that opens may still be excluded by the free-rider rule (@fedmarket/core
      // replaysGlobalDelta), which the owner re-checks here; any other such exclusion is suspect.
      if (outcome.status === SlotStatus.Excluded && opening.opens && !opening.replay) {
        findings.push(
          warning(
            "openings",
            `${who}: excluded by the aggregator, but its update (${s.cid}) decrypts with the owner's key, opens its commitment and is no replay of the last global delta`,
            at,
          ),
        );
      }
      if (outcome.status === SlotStatus.Inlier && opening.replay) {
        findings.push(
          warning(
            "openings",
            `${who}: aggregated, but its update replays the last global delta (a free rider the aggregator should have excluded)`,
            at,
          ),
        );
      }
      if ((outcome.status === SlotStatus.Inlier || outcome.status === SlotStatus.NotAggregated) && !opening.opens) {
        findings.push(
          failure(
            "openings",
            `${who}: proven as opening its commitment, but the update at ${s.cid} does not open it with the owner's key`,
            at,
          ),
        );
      }
    }
  }
  return findings;
}
