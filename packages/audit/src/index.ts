/**
 * @fedmarket/audit: the owner's (or anyone's) audit of a project, trusting nothing but the chain and
 * content addressing.
 *
 * - audit.ts: `auditProject` builds the context, runs every check and assembles their findings into an `AuditReport`
 *   (`runAudit` does the same on a context already built)
 * - cannot-run.ts: when the audit could not run (IPFS or the chain unreachable: `AuditCannotRunError`, no verdict)
 *   and the exit codes (`settleAudit`, `auditExitCode`: 0 pass, 1 fail, 2 could not run)
 * - context.ts: the one read-only `AuditContext` every check is given (`loadAuditContext`, `createAuditContext`)
 * - facts.ts: what several checks share, derived once per audit (spec, keys, models, proven outcomes, openings,
 *   each round's seal key)
 * - findings.ts: `Finding` (check, severity, round, slot, message) and the check names
 * - checks/: one independent check per module (spec, proofs, models, openings, payouts, escrow), `runChecks`
 * - proofs.ts: each finalized round's chunk and decision proofs, re-verified from calldata (an
 *   optimistic round's chunk proofs from its pinned bundle)
 * - report.ts, svg.ts: the Markdown report and its SVG charts
 * - watch.ts: the watcher of optimistic rounds (`watchOnce`: challenge what the pinned proofs do not
 *   prove, void what went unanswered; `fedmarket watch`)
 */
export * from "./audit.ts";
export * from "./cannot-run.ts";
export * from "./context.ts";
export {
  cancellationOf,
  roundSealKey,
  sealKeyProblem,
  type AccuracyFact,
  type BlobProblem,
  type MarketHoldings,
  type ModelCommitmentFact,
  type ModelFact,
  type OpeningCheck,
  type RoundOpenings,
  type RoundProofsFact,
  type SpecFact,
  type VerificationKeysFact,
} from "./facts.ts";
export * from "./findings.ts";
export * from "./checks/index.ts";
export * from "./proofs.ts";
export * from "./report.ts";
export * from "./svg.ts";
export * from "./watch.ts";
