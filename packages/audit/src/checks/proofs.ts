/**
 * The proofs check: every finalized round's chunk proofs and decision proof verify twice, with
 * snarkjs against the published verification key and with a static call to the project's
 * verifier, on public inputs rebuilt from chain data alone (../proofs.ts `checkRoundProofs`).
 * Without the published keys (reported here) only the on-chain verifier is asked, and no round
 * counts as verified.
 */
import type { AuditContext } from "../context.ts";
import { failure, info, type Finding } from "../findings.ts";

export async function checkProofs(ctx: AuditContext): Promise<Finding[]> {
  const findings: Finding[] = [];
  const keys = await ctx.verificationKeys();
  if (keys?.ok === false) findings.push(failure("proofs", keys.detail));
  if (keys === undefined)
    findings.push(
      info("proofs", "no usable spec, so no circuit to load the published verification keys of: only the project's verifier is asked"),
    );
  for (const { round } of ctx.history.rounds) {
    const proofs = await ctx.roundProofs(round);
    if (proofs === undefined) continue;
    if (!proofs.ok) {
      findings.push(failure("proofs", `round ${round}: proofs could not be checked: ${proofs.detail}`, { round }));
      continue;
    }
    findings.push(...proofs.check.failures.map((message) => failure("proofs", message, { round })));
  }
  return findings;
}
