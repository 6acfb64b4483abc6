/**
 * The audit's checks, one module each, in the order `auditProject` runs them. Each is an
 * `AuditCheck`: it reads one shared `AuditContext` (context.ts) and returns its findings
 * (findings.ts); none depends on another having run, so any of them can run alone (`runChecks(ctx,
 * ["payouts"])`) and a fact two checks need (a model, a round's proven outcomes) is derived once.
 *
 * | check | module | judges |
 * | --- | --- | --- |
 * | spec | spec.ts | `ProjectCreated` is in the history; the pinned spec vs the chain's parameters |
 * | proofs | proofs.ts (+ ../proofs.ts) | each finalized round's chunk and decision proofs, snarkjs and on chain |
 * | models | models.ts | every recorded model commitment vs the pinned model; the model chain; accuracy |
 * | references | references.ts | each owner's reference published vs its commitment; committed ones left unpublished |
 * | openings | openings.ts | with the owner key: each update opened, vs the proven outcome (decoded or excluded) |
 * | payouts | payouts.ts | `ContributionRecorded` / `Credited` vs `rewardShares` and the other money rules |
 * | escrow | escrow.ts | budget, refund pool, bond; the market's balance vs `totalLiabilities` |
 */
import type { AuditContext } from "../context.ts";
import { CHECK_NAMES, type CheckName, type Finding } from "../findings.ts";
import { checkEscrow } from "./escrow.ts";
import { checkModels } from "./models.ts";
import { checkOpenings } from "./openings.ts";
import { checkPayouts } from "./payouts.ts";
import { checkProofs } from "./proofs.ts";
import { checkReferences } from "./references.ts";
import { checkSpec } from "./spec.ts";

export { checkEscrow, escrowAccount, type EscrowAudit } from "./escrow.ts";
export { checkModels } from "./models.ts";
export { checkOpenings } from "./openings.ts";
export { checkPayouts } from "./payouts.ts";
export { checkProofs } from "./proofs.ts";
export { checkReferences } from "./references.ts";
export { checkSpec } from "./spec.ts";

/** A check: findings about one subject of the audit, from the shared context alone. */
export type AuditCheck = (ctx: AuditContext) => Promise<Finding[]>;

/** Every check by name. */
export const AUDIT_CHECKS: Readonly<Record<CheckName, AuditCheck>> = Object.freeze({
  spec: checkSpec,
  proofs: checkProofs,
  models: checkModels,
  references: checkReferences,
  openings: checkOpenings,
  payouts: checkPayouts,
  escrow: checkEscrow,
});

/**
 * Runs the named checks (default: all) one after the other, in `CHECK_NAMES` order whatever the
 * order asked, and returns their findings in that order. One at a time, because they share the
 * context's downloads and the RPC endpoint; a check that cannot read the chain at all throws.
 */
export async function runChecks(ctx: AuditContext, names: readonly CheckName[] = CHECK_NAMES): Promise<Finding[]> {
  const unknown = names.filter((n) => !CHECK_NAMES.includes(n));
  if (unknown.length > 0) throw new RangeError(`no audit check named ${unknown.join(", ")} (the checks: ${CHECK_NAMES.join(", ")})`);
  const findings: Finding[] = [];
  for (const name of CHECK_NAMES) {
    if (!names.includes(name)) continue;
    const found = await AUDIT_CHECKS[name](ctx);
    const count = (severity: Finding["severity"]): number => found.filter((f) => f.severity === severity).length;
    ctx.logger.log("info", "audit.check", `${name}: ${count("failure")} failure(s), ${count("warning")} warning(s)`);
    findings.push(...found);
  }
  return findings;
}
