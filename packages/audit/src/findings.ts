/**
 * What a check says: a list of findings, each tagged with the check that made it and, where it has
 * one, the round and slot it is about. A check never throws for what it finds (only when it cannot
 * read the chain at all), so any subset of checks can run and their findings be put side by side.
 *
 * Severities: a `failure` is something the chain, the proofs or the pinned data contradict (the
 * verdict is "fail" if there is one); a `warning` is suspect but possible for an honest project (an
 * exclusion the owner cannot explain, surplus funds in the market); `info` says what a check could
 * not look at and why (no owner key, no usable spec), so a check run alone never returns a silent
 * nothing.
 *
 * What is on the auditor's side is never a finding: IPFS or the chain that cannot be reached (or
 * does not answer in time) stops the audit without a verdict (cannot-run.ts). A blob that IPFS
 * answers it does not have, or whose bytes do not match its CID, is the project's: a failure.
 */

/** The checks, in the order `auditProject` runs them and lists their findings. */
export const CHECK_NAMES = ["spec", "proofs", "models", "references", "openings", "payouts", "escrow"] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export type Severity = "failure" | "warning" | "info";

export interface Finding {
  readonly check: CheckName;
  readonly severity: Severity;
  readonly round?: number;
  readonly slot?: number;
  /** One line naming what is wrong and where (round, slot, CID, amount): the report prints it as is. */
  readonly message: string;
}

/** Where a finding is: a round, and a slot of it. */
export interface FindingPlace {
  readonly round?: number;
  readonly slot?: number;
}

function finding(check: CheckName, severity: Severity, message: string, at: FindingPlace): Finding {
  return {
    check,
    severity,
    ...(at.round === undefined ? {} : { round: at.round }),
    ...(at.slot === undefined ? {} : { slot: at.slot }),
    message,
  };
}

export const failure = (check: CheckName, message: string, at: FindingPlace = {}): Finding => finding(check, "failure", message, at);
export const warning = (check: CheckName, message: string, at: FindingPlace = {}): Finding => finding(check, "warning", message, at);
export const info = (check: CheckName, message: string, at: FindingPlace = {}): Finding => finding(check, "info", message, at);

/** The messages of the findings of one severity, in order (the report's `failures` and `warnings`). */
export function messagesOf(findings: readonly Finding[], severity: Severity): string[] {
  return findings.filter((f) => f.severity === severity).map((f) => f.message);
}

/** The message a check reports for a blob IPFS answered about but did not give (not found, bytes not matching the CID). */
export function cannotFetch(what: string, cid: string, detail: string): string {
  return `${what}: cannot fetch ${cid} from IPFS: ${detail}`;
}
