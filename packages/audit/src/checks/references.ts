/**
 * The references check: every owner's reference published on chain (`ReferencePublished`) is a
 * `fedmarket-reference/1` blob that opens the round's committed commitment (protocol
 * `openReference`: the project and round, `B`, one value per parameter at `B` bits,
 * the salted chain). A blob that does not open is a failure unless the aggregator flagged it and
 * the flag was answered on chain (then the round kept a reference that opens: a warning); a flag of
 * a blob that opens is a warning about the aggregator. A reference committed and never published is a warning: the owner kept back
 * what it committed to, which is possible for an honest owner (a crash, a missed window), and it
 * decides how the round is judged (by consensus instead of by the reference), which is why it
 * costs the owner the reference deposit. The deposit's settlement (`ReferenceDepositSettled`) must
 * follow core `referenceDepositReturned`: returned without a quorum or when the reference counted,
 * burned otherwise; a settlement that does not is a failure.
 */
import { referenceDepositReturned, type CircuitConfig } from "@fedmarket/core";
import { decisionReference, openReference, type RoundHistory } from "@fedmarket/protocol";
import type { AuditContext } from "../context.ts";
import { fetchBlob } from "../facts.ts";
import { cannotFetch, failure, info, warning, type Finding } from "../findings.ts";

export async function checkReferences(ctx: AuditContext): Promise<Finding[]> {
  const findings: Finding[] = [];
  const rounds = ctx.history.rounds.filter((r) => r.referenceCommitted !== undefined);
  if (rounds.length === 0) return [info("references", "no round has an owner's reference")];
  const spec = await ctx.spec();
  for (const r of rounds) {
    const at = { round: r.round };
    const committed = r.referenceCommitted?.commitment as bigint;
    const deposit = depositProblem(ctx, r);
    if (deposit !== undefined) findings.push(failure("references", deposit, at));
    const published = r.referencePublished;
    if (published === undefined) {
      if (r.end !== undefined)
        findings.push(warning("references", `round ${r.round}: the owner committed a reference and never published it`, at));
      continue;
    }
    if (!spec.ok) {
      findings.push(info("references", `round ${r.round}: no usable spec, the published reference is not checked`, at));
      continue;
    }
    const problem = await blobProblem(ctx, r.round, published.cid, committed, spec.parameters, spec.circuit);
    const flagged = r.referenceFlagged !== undefined;
    const answered = r.referenceAnswered !== undefined;
    if (problem === undefined) {
      if (flagged) {
        findings.push(
          warning(
            "references",
            `round ${r.round}: the aggregator flagged a reference whose blob opens its commitment` +
              (answered ? " (answered on chain)" : "; unanswered, the round had no reference"),
            at,
          ),
        );
      }
    } else if (answered) {
      // The chain holds values that open the commitment (answerReference checked them): the round kept its reference.
      findings.push(warning("references", `${problem}; the flagged reference was answered on chain`, at));
    } else {
      findings.push(failure("references", problem, at));
    }
  }
  return findings;
}

/** Why round `r`'s reference deposit was not settled as core `referenceDepositReturned` says, if it was not. */
function depositProblem(ctx: AuditContext, r: RoundHistory): string | undefined {
  const settled = r.referenceDeposit;
  if (settled === undefined) return undefined;
  // No quorum: skipped, or the project cancelled below it while this round was open.
  const cancelledBelowQuorum = ctx.history.cancelled?.roundStillOpen === false && ctx.history.cancelled.round === r.round;
  const quorumReached = r.end?.kind !== "skipped" && !cancelledBelowQuorum;
  const expected = referenceDepositReturned({ quorumReached, referenceCounts: decisionReference(r) !== 0n });
  if (settled.returned === expected) return undefined;
  return `round ${r.round}: the reference deposit of ${settled.deposit} was ${settled.returned ? "returned" : "burned"}, but the rule ${expected ? "returns" : "burns"} it`;
}

/** Why the reference pinned at `cid` does not open the round's commitment, or `undefined` when it does. */
async function blobProblem(
  ctx: AuditContext,
  round: number,
  cid: string,
  commitment: bigint,
  modelSize: number,
  circuit: CircuitConfig,
): Promise<string | undefined> {
  const fetched = await fetchBlob(ctx, cid, "the reference");
  if ("problem" in fetched) return cannotFetch(`round ${round} reference`, cid, fetched.problem.detail);
  try {
    openReference(fetched.bytes, { projectId: ctx.projectId, round, commitment, modelSize, circuit });
    return undefined;
  } catch (err) {
    return `round ${round}: the reference pinned at ${cid}: ${(err as Error).message}`;
  }
}
