/**
 * The references check: every owner's reference published on chain (`ReferencePublished`) is a
 * `fedmarket-reference/1` blob that opens the round's committed commitment (protocol
 * `openReference`: the project and round, `B`, one value per parameter in the symmetric range,
 * the salted chain). A reference committed and never published is a warning: the owner kept back
 * what it committed to, which is possible for an honest owner (a crash, a missed window) and
 * today changes nothing that is paid (the round proofs do not use references yet).
 */
import { openReference } from "@fedmarket/protocol";
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
    const fetched = await fetchBlob(ctx, published.cid, "the reference");
    if ("problem" in fetched) {
      findings.push(failure("references", cannotFetch(`round ${r.round} reference`, published.cid, fetched.problem.detail), at));
      continue;
    }
    try {
      openReference(fetched.bytes, {
        projectId: ctx.projectId,
        round: r.round,
        commitment: committed,
        modelSize: spec.parameters,
        circuit: spec.circuit,
      });
    } catch (err) {
      findings.push(failure("references", `round ${r.round}: the reference pinned at ${published.cid}: ${(err as Error).message}`, at));
    }
  }
  return findings;
}
