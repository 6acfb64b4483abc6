/**
 * `auditProject`: a project checked from chain logs and IPFS alone (plus, optionally, the owner's
 * X25519 key, which opens every sealed update, and a validation set). It only wires the audit
 * together:
 *
 * 1. reads what every check starts from into one `AuditContext` (context.ts: the project, its
 *    history from @fedmarket/protocol's reader, the verifier's configuration);
 * 2. runs the independent checks (checks/: spec, proofs, models, references, openings, payouts, escrow), each
 *    returning findings; the facts several of them need (spec, models, proven outcomes, openings)
 *    are derived once and shared (facts.ts);
 * 3. assembles the `AuditReport` from the same facts (per-round and per-trainer tables, escrow) and
 *    the findings: every failure and warning message, in the checks' order; the verdict is "fail"
 *    if there is at least one failure;
 * 4. with `outDir`, writes `audit-report.md` and the SVG charts (report.ts).
 *
 * An audit that cannot run gives no verdict: `auditProject` rejects (cannot-run.ts: IPFS or the
 * chain unreachable, `AuditCannotRunError`), and `auditExitCode` maps pass / fail / could not run
 * to 0 / 1 / 2.
 */
import { mkdir } from "node:fs/promises";
import { releaseCurves, unansweredSlots, type RoundHistory, type UpdateExclusionReason } from "@fedmarket/protocol";
import { slotStatusLabel, type CircuitConfig, type SlotStatusLabel } from "@fedmarket/core";
import { escrowAccount, runChecks, type EscrowAudit } from "./checks/index.ts";
import { loadAuditContext, type AuditContext, type AuditSource } from "./context.ts";
import { cancellationOf, type SpecFact } from "./facts.ts";
import { messagesOf, type Finding } from "./findings.ts";
import { writeAuditReport } from "./report.ts";

export interface AuditOptions extends AuditSource {
  /** Write `audit-report.md` and SVG charts here. */
  readonly outDir?: string;
}

export interface SlotAudit {
  readonly slot: number;
  readonly trainer: string;
  readonly commitment: string;
  readonly cid: string;
  readonly status?: SlotStatusLabel;
  readonly score?: bigint;
  readonly reward?: bigint;
  /** With the owner's key: is the update usable (it opens its commitment, is made for this round and decodes)? */
  readonly opens?: boolean;
  /** With the owner's key, for an update that is not usable: why, named as the update codec names it. */
  readonly unusable?: { readonly reason: UpdateExclusionReason; readonly detail: string };
  /** The aggregator flagged it as not available: answered on chain (it counts), or not (an empty slot). */
  readonly flag?: "answered" | "unanswered";
}

export interface RoundAudit {
  readonly round: number;
  readonly state: "open" | "finalized" | "skipped" | "failed" | "cancelled";
  readonly submissions: number;
  readonly reward: bigint;
  readonly paid: bigint;
  readonly totalScore: bigint;
  readonly chunkProofs: number;
  readonly proofsVerified: boolean;
  readonly modelCid?: string;
  readonly modelCommitment?: string;
  readonly modelMatches?: boolean;
  readonly inliers: number;
  readonly outliers: number;
  readonly excluded: number;
  /** Accuracy of the round's new model on the validation set. */
  readonly accuracy?: number;
  readonly slots: SlotAudit[];
  /** The failures found about this round, by any check. */
  readonly failures: string[];
}

export interface TrainerAudit {
  readonly trainer: string;
  readonly rounds: number;
  readonly totalScore: bigint;
  readonly totalPayout: bigint;
}

export interface AuditReport {
  readonly verdict: "pass" | "fail";
  readonly failures: string[];
  readonly warnings: string[];
  readonly project: {
    readonly id: bigint;
    readonly market: string;
    readonly chainId: bigint;
    readonly owner: string;
    readonly aggregator: string;
    readonly verifier: string;
    readonly status: string;
    readonly specCid: string;
    readonly circuit?: CircuitConfig;
    /** Trainable parameters (`D`) and, for a spec that freezes layers, their pinned weights. */
    readonly model?: { readonly parameters: number; readonly frozen?: { readonly cid: string; readonly parameters: number } };
    readonly verificationKeys?: { readonly chunk: string; readonly decision: string };
  };
  readonly initialModel?: { readonly cid: string; readonly commitment: string; readonly matches: boolean; readonly accuracy?: number };
  readonly rounds: RoundAudit[];
  readonly trainers: TrainerAudit[];
  readonly escrow?: EscrowAudit;
  readonly reportFile?: string;
  readonly charts: string[];
}

/**
 * Audits a live project: `loadAuditContext`, then `runAudit`. Throws when the audit cannot run (the
 * project does not exist, the chain or IPFS cannot be reached: `AuditCannotRunError`); a project
 * that fails the audit is a report with verdict "fail". `settleAudit` and `auditExitCode`
 * (cannot-run.ts) give the exit code of either.
 */
export async function auditProject(o: AuditOptions): Promise<AuditReport> {
  return runAudit(await loadAuditContext(o), o.outDir === undefined ? {} : { outDir: o.outDir });
}

/**
 * Runs every check on `ctx` and assembles the report (written into `outDir` with its charts when
 * given). An outage of IPFS or of the chain met on the way rejects with `AuditCannotRunError` and
 * gives no verdict.
 */
export async function runAudit(ctx: AuditContext, o: { readonly outDir?: string } = {}): Promise<AuditReport> {
  let report: AuditReport;
  try {
    report = await assembleReport(ctx, await runChecks(ctx));
  } finally {
    // snarkjs keeps a curve worker pool alive after verifying: without this the process never exits.
    await releaseCurves();
  }
  const { failures, warnings } = report;
  ctx.logger.log(
    report.verdict === "pass" ? "info" : "error",
    "audit.verdict",
    `audit ${report.verdict}: ${failures.length} failure(s), ${warnings.length} warning(s)`,
  );
  if (o.outDir === undefined) return report;
  await mkdir(o.outDir, { recursive: true });
  return writeAuditReport(report, o.outDir);
}

/**
 * The model recorded as `commitment` at `cid`, replacing the model at `replaced` (`null`: the
 * initial model; `undefined`: unknown, the history lacks the opening that names it): does the pinned
 * model make it with its step, and how accurate is it?
 */
async function recordedModel(
  ctx: AuditContext,
  cid: string,
  commitment: bigint,
  replaced: string | null | undefined,
): Promise<{ matches: boolean; accuracy?: number }> {
  const made = replaced === undefined ? undefined : await ctx.modelCommitment(cid, replaced);
  const accuracy = await ctx.accuracy(cid);
  const matches = made?.ok === true && made.commitment === commitment;
  return accuracy?.ok === true ? { matches, accuracy: accuracy.accuracy } : { matches };
}

/** One round's row of the report, from the facts the checks judged and the failures they found about it. */
async function roundAudit(ctx: AuditContext, r: RoundHistory, findings: readonly Finding[]): Promise<RoundAudit> {
  const round = r.round;
  const end = r.end;
  const openings = await ctx.openings(round);
  const unanswered = new Set(unansweredSlots(r));
  const flagged = new Set(r.flags.map((f) => f.slot));
  let slots: SlotAudit[] = r.submissions.map((s) => {
    const opening = openings?.get(s.slot); // opens, and why not (with the owner's key)
    return {
      slot: s.slot,
      trainer: s.trainer,
      commitment: s.commitment.toString(),
      cid: s.cid,
      ...(opening === undefined ? {} : { opens: opening.opens }),
      ...(opening?.unusable === undefined ? {} : { unusable: opening.unusable }),
      ...(flagged.has(s.slot) ? { flag: unanswered.has(s.slot) ? ("unanswered" as const) : ("answered" as const) } : {}),
    };
  });
  const failures = messagesOf(
    findings.filter((f) => f.round === round),
    "failure",
  );
  const base = { round, submissions: r.submissions.length, reward: r.opened?.reward ?? 0n, failures };
  if (end?.kind !== "finalized") {
    // A failed round, or one cancelled below quorum, pays its reward to its submitters in equal parts.
    const cancelled = cancellationOf(ctx.history, round);
    const paid = end?.kind === "failed" ? end.reward : (cancelled?.rewardToSubmitters ?? 0n);
    const state = end?.kind ?? (cancelled === undefined ? "open" : "cancelled");
    return { ...base, state, paid, totalScore: 0n, chunkProofs: 0, proofsVerified: false, inliers: 0, outliers: 0, excluded: 0, slots };
  }
  const proofs = await ctx.roundProofs(round);
  if (proofs?.ok === true) {
    const { outcomes } = proofs.check;
    slots = slots.map((s) => {
      const outcome = outcomes[s.slot];
      if (outcome === undefined) return s;
      const recorded = r.contributions.find((c) => c.slot === s.slot)?.reward ?? 0n;
      return { ...s, status: slotStatusLabel(outcome.status), score: outcome.score, reward: recorded };
    });
  }
  const model = await recordedModel(ctx, end.newModelCid, end.newModelCommitment, r.opened?.modelCid);
  const count = (status: SlotStatusLabel): number => slots.filter((s) => s.status === status).length;
  return {
    ...base,
    state: "finalized",
    paid: end.paid,
    totalScore: end.totalScore,
    chunkProofs: proofs?.ok === true ? proofs.check.chunkProofs : 0,
    proofsVerified: proofs?.ok === true && proofs.verified,
    modelCid: end.newModelCid,
    modelCommitment: end.newModelCommitment.toString(),
    modelMatches: model.matches,
    inliers: count("inlier"),
    outliers: count("not aggregated"),
    excluded: count("excluded"),
    ...(model.accuracy === undefined ? {} : { accuracy: model.accuracy }),
    slots,
  };
}

/** The `AuditReport`: the checks' findings, and the tables made of the facts they judged (all cached by now). */
async function assembleReport(ctx: AuditContext, findings: readonly Finding[]): Promise<AuditReport> {
  const failures = messagesOf(findings, "failure");
  const warnings = messagesOf(findings, "warning");
  const { history, project } = ctx;
  const spec = await ctx.spec();
  const keys = await ctx.verificationKeys();
  const created = history.created;
  const initialModel =
    created === undefined
      ? undefined
      : {
          cid: created.initialModelCid,
          commitment: created.initialModelCommitment.toString(),
          ...(await recordedModel(ctx, created.initialModelCid, created.initialModelCommitment, null)),
        };
  const rounds: RoundAudit[] = [];
  for (const r of history.rounds) rounds.push(await roundAudit(ctx, r, findings));
  const trainers = new Map<string, { rounds: number; totalScore: bigint; totalPayout: bigint }>();
  for (const r of rounds) {
    for (const s of r.slots) {
      const t = trainers.get(s.trainer) ?? { rounds: 0, totalScore: 0n, totalPayout: 0n };
      t.rounds++;
      t.totalScore += s.status === "inlier" ? (s.score ?? 0n) : 0n;
      t.totalPayout += s.reward ?? 0n;
      trainers.set(s.trainer, t);
    }
  }
  const escrow = await escrowAccount(ctx);
  return {
    verdict: failures.length === 0 ? "pass" : "fail",
    failures,
    warnings,
    project: {
      id: ctx.projectId,
      market: ctx.chain.market,
      chainId: ctx.chain.chainId,
      owner: project.owner,
      aggregator: project.aggregator,
      verifier: project.verifier,
      status: project.statusName,
      specCid: project.specCid,
      ...(spec.ok ? { circuit: spec.circuit, model: modelSummaryOf(spec) } : {}),
      ...(keys?.ok === true ? { verificationKeys: { chunk: keys.keys.chunkFile, decision: keys.keys.decisionFile } } : {}),
    },
    ...(initialModel === undefined ? {} : { initialModel }),
    rounds,
    trainers: [...trainers].map(([trainer, t]) => ({ trainer, ...t })),
    ...(escrow === undefined ? {} : { escrow }),
    charts: [],
  };
}

/** The report's line on the model: D, and the frozen layers' pinned weights when the spec freezes any. */
function modelSummaryOf(spec: Extract<SpecFact, { ok: true }>): NonNullable<AuditReport["project"]["model"]> {
  const cid = spec.spec.frozenWeights;
  return { parameters: spec.parameters, ...(cid === undefined ? {} : { frozen: { cid, parameters: spec.frozenParameters } }) };
}
