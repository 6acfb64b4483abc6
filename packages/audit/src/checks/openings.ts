/**
 * The openings check: with the owner's key, each revealed update is opened as the aggregator opens
 * it (the update codec, `{ kind: "owner" }`: the same shared key as the aggregator's seal secret,
 * so the same verdict) and compared with each finalized round's proven outcome. The round proof
 * decrypts the committed ciphertext itself and shows an ephemeral key off the curve, so what is
 * left to check is what it does not prove:
 * - an update proven as not decoded (status 3, "excluded") that opens and decodes with the owner's
 *   key is a warning: such an update admits no malformation claim and its key is on the curve, so
 *   the proof can only rest on the aggregator's claim that it was not available (possible for an
 *   honest aggregator whose IPFS could not fetch it; not contestable on chain yet);
 * - an update proven as decoded (status 1 or 2) whose blob does not open its commitment, commits to
 *   a key off the curve or does not unpack is a failure: the pinned data contradicts the proof;
 * - one the owner cannot check (`missing`, or `undecryptable`: the trainer's wrap for the owner
 *   does not open) is a warning.
 * An update proven as not decoded that does not open either is what the aggregator said: nothing.
 */
import { SlotStatus, slotStatusLabel } from "@fedmarket/core";
import type { UpdateExclusionReason } from "@fedmarket/protocol";
import type { AuditContext } from "../context.ts";
import { roundSealKey, sealKeyProblem } from "../facts.ts";
import { failure, info, warning, type Finding } from "../findings.ts";

/** What the owner found wrong with an update that the proof shows decoded, for the failure's message. */
const CONTRADICTIONS: Partial<Record<UpdateExclusionReason, string>> = {
  "not-opening": "is not the data its commitment opens",
  "bad-key": "commits to an ephemeral key off the curve",
  malformed: "does not unpack",
};

export async function checkOpenings(ctx: AuditContext): Promise<Finding[]> {
  if (ctx.ownerSecretKey === undefined) return [info("openings", "no owner key: the updates were not opened")];
  if (!(await ctx.spec()).ok) return [info("openings", "no usable spec: the updates cannot be opened without the circuit configuration")];
  const findings: Finding[] = [];
  for (const r of ctx.history.rounds) {
    const round = r.round;
    const openings = await ctx.openings(round);
    if (openings === undefined) {
      const problem = sealKeyProblem(roundSealKey(ctx.history, ctx.project, round), round);
      if (problem !== undefined && r.submissions.length > 0)
        findings.push(info("openings", `${problem}: its updates were not opened`, { round }));
      continue;
    }
    const proofs = await ctx.roundProofs(round);
    if (proofs?.ok !== true) continue;
    for (const s of r.submissions) {
      const outcome = proofs.check.outcomes[s.slot];
      const opening = openings.get(s.slot);
      if (outcome === undefined || opening === undefined) continue;
      const at = { round, slot: s.slot };
      const who = `round ${round} slot ${s.slot} (${s.trainer})`;
      if (outcome.status === SlotStatus.Excluded && opening.opens) {
        findings.push(
          warning(
            "openings",
            `${who}: proven as not decoded (excluded), but its update (${s.cid}) opens its commitment and decodes with the owner's key: ` +
              "the exclusion rests on the aggregator's claim that it was not available, which is not proven (a decodable update cannot be proven malformed)",
            at,
          ),
        );
      }
      const decoded = outcome.status === SlotStatus.Inlier || outcome.status === SlotStatus.NotAggregated;
      if (!decoded || opening.unusable === undefined) continue;
      const { reason, detail } = opening.unusable;
      const contradiction = CONTRADICTIONS[reason];
      const proven = `proven as decoded (${slotStatusLabel(outcome.status)})`;
      findings.push(
        contradiction === undefined
          ? warning("openings", `${who}: ${proven}, but the owner cannot check its update (${s.cid}): ${reason}: ${detail}`, at)
          : failure(
              "openings",
              `${who}: ${proven}, but the owner finds that the update at ${s.cid} ${contradiction} (${reason}: ${detail})`,
              at,
            ),
      );
    }
  }
  return findings;
}
