/**
 * The openings check: with the owner's key, each revealed update is opened as the aggregator opens
 * it (the update codec, `{ kind: "owner" }`: the same shared key as the aggregator's seal secret,
 * so the same verdict) and compared with each finalized round's proven outcome. An update whose
 * "not available" flag was answered is opened from the data published on chain (`UpdatePublished`),
 * which is what the aggregator had to decode; every other one from IPFS. The round proof decrypts
 * the committed ciphertext itself and shows an ephemeral key off the curve, so what is left to check
 * is what it does not prove:
 * - an update proven as not decoded (status 3, "excluded") that opens and decodes with the owner's
 *   key is a failure: status 3 now stands only for proven reasons (a key off the curve, a
 *   malformed plaintext), which a decodable update does not admit ("not available" is no longer a
 *   status 3 but a flag on chain, and an empty slot if unanswered);
 * - an update proven as decoded (status 1 or 2) whose data does not open its commitment, commits to
 *   a key off the curve or does not unpack is a failure: the pinned data contradicts the proof;
 * - one the owner cannot check (`missing`, or `undecryptable`: the trainer's wrap for the owner
 *   does not open) is a warning;
 * - a slot flagged as not available and not answered (empty, unpaid) is an info line, with or
 *   without the owner's key; a warning when the owner fetches and opens its update from IPFS (the
 *   aggregator's IPFS may have failed to reach it, or the flag was abusive: either way its trainer
 *   could have answered on chain and did not).
 * An update proven as not decoded that does not open either is what the aggregator said: nothing.
 */
import { SlotStatus, slotStatusLabel } from "@fedmarket/core";
import { unansweredSlots, type RoundHistory, type UpdateExclusionReason } from "@fedmarket/protocol";
import type { AuditContext } from "../context.ts";
import { roundSealKey, sealKeyProblem, type RoundOpenings } from "../facts.ts";
import { failure, info, warning, type Finding } from "../findings.ts";

/** What the owner found wrong with an update that the proof shows decoded, for the failure's message. */
const CONTRADICTIONS: Partial<Record<UpdateExclusionReason, string>> = {
  "not-opening": "is not the data its commitment opens",
  "bad-key": "commits to an ephemeral key off the curve",
  malformed: "does not unpack",
};

export async function checkOpenings(ctx: AuditContext): Promise<Finding[]> {
  if (ctx.ownerSecretKey === undefined) return [info("openings", "no owner key: the updates were not opened"), ...unansweredFlags(ctx)];
  if (!(await ctx.spec()).ok)
    return [info("openings", "no usable spec: the updates cannot be opened without the circuit configuration"), ...unansweredFlags(ctx)];
  const findings: Finding[] = [];
  for (const r of ctx.history.rounds) {
    const round = r.round;
    const openings = await ctx.openings(round);
    findings.push(...unansweredFlagsOf(r, openings));
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
      const where = opening.source === "chain" ? "its update (published on chain in answer to a flag)" : `its update (${s.cid})`;
      if (outcome.status === SlotStatus.Excluded && opening.opens) {
        findings.push(
          failure(
            "openings",
            `${who}: proven as not decoded (excluded), but ${where} opens its commitment and decodes with the owner's key: ` +
              "status 3 stands only for proven reasons (a key off the curve, a malformed plaintext), which a decodable update does not admit",
            at,
          ),
        );
      }
      const decoded = outcome.status === SlotStatus.Inlier || outcome.status === SlotStatus.NotAggregated;
      if (!decoded || opening.unusable === undefined) continue;
      const { reason, detail } = opening.unusable;
      const contradiction = CONTRADICTIONS[reason];
      const proven = `proven as decoded (${slotStatusLabel(outcome.status)})`;
      const data = opening.source === "chain" ? "the update published on chain" : `the update at ${s.cid}`;
      findings.push(
        contradiction === undefined
          ? warning("openings", `${who}: ${proven}, but the owner cannot check ${where}: ${reason}: ${detail}`, at)
          : failure("openings", `${who}: ${proven}, but the owner finds that ${data} ${contradiction} (${reason}: ${detail})`, at),
      );
    }
  }
  return findings;
}

/** The unanswered flags of every round, when the updates are not opened (no key, no spec). */
function unansweredFlags(ctx: AuditContext): Finding[] {
  return ctx.history.rounds.flatMap((r) => unansweredFlagsOf(r, undefined));
}

/**
 * A slot flagged as not available that nobody answered: an empty slot, unpaid. An info line, or a
 * warning when the owner fetched and opened its update from IPFS (`openings`).
 */
function unansweredFlagsOf(r: RoundHistory, openings: RoundOpenings | undefined): Finding[] {
  const round = r.round;
  return unansweredSlots(r).map((slot) => {
    const s = r.submissions.find((x) => x.slot === slot);
    const who = `round ${round} slot ${slot}${s === undefined ? "" : ` (${s.trainer})`}`;
    const at = { round, slot };
    const what = `${who}: flagged by the aggregator as not available and not answered on chain: an empty slot, unpaid`;
    if (openings?.get(slot)?.opens === true) {
      return warning(
        "openings",
        `${what}; but the owner fetches its update (${s?.cid}) from IPFS and it opens and decodes: the aggregator's IPFS may not have reached it, ` +
          "or the flag was abusive (its trainer could have answered by publishing the update on chain)",
        at,
      );
    }
    const why = openings?.get(slot)?.unusable;
    return info("openings", why === undefined ? what : `${what} (the owner cannot open it either: ${why.reason})`, at);
  });
}
