/**
 * The audit's human-readable output: `audit-report.md` with the verdict, every failure, the
 * per-round and per-trainer tables, and three SVG charts next to it (accuracy per round, score and
 * payout share per trainer, outliers per round). A chart with nothing to plot says why (no
 * validation set, no outliers, no finalized round) instead of showing an empty plot, and the score
 * and payout shares are explained where they are shown (`SHARE_EXPLANATION`).
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { barChart, lineChart } from "./svg.ts";
import type { AuditReport, SlotAudit } from "./audit.ts";

const CHART_FILES = {
  accuracy: "accuracy-per-round.svg",
  trainers: "score-and-payout-per-trainer.svg",
  outliers: "outliers-per-round.svg",
} as const;

const shortAddress = (a: string): string => `${a.slice(0, 6)}…${a.slice(-4)}`;
const pct = (part: bigint, total: bigint): number => (total === 0n ? 0 : Number((part * 1_000_000n) / total) / 10_000);

/**
 * What the score share and the payout share of a trainer are and why they can differ, in one line
 * (the trainers table). The rule is @fedmarket/core's `rewardShares`, i.e. `finalizeRound`: inlier
 * `k` of a round is credited `floor(reward * score_k / totalScore)`, `totalScore` the sum of that
 * round's inlier scores; a round whose total is 0 splits its reward equally among its valid slots.
 */
export const SHARE_EXPLANATION =
  "Score share: the trainer's proven scores as an inlier (counted by the consensus rule), summed over the finalized rounds, over all trainers' sum; " +
  "payout share: what the finalized rounds credited it (`ContributionRecorded`), over all credits. " +
  "They differ because each round pays its own reward to its inliers in proportion to their score in that round " +
  "(`floor(reward × score / round's total score)`, rounded down; equal parts to its valid slots if that total is 0), " +
  "so a point of score is worth more in a round with a larger reward or a smaller total score.";

/** The same, short enough for the chart's note. */
const SHARE_NOTE =
  "Score share: proven inlier scores summed over the finalized rounds. Payout share: what those rounds credited. " +
  "Each round splits its own reward among its inliers by their score in that round, so the two differ when rounds differ in reward or total score.";

const pctText = (part: bigint, total: bigint): string => (total === 0n ? "" : `${pct(part, total).toFixed(2)} %`);

/** The three charts as SVG text, keyed by file name. */
export function auditCharts(report: AuditReport): Map<string, string> {
  const charts = new Map<string, string>();
  const finalized = report.rounds.filter((r) => r.state === "finalized");
  const accuracyCategories = ["initial", ...finalized.map((r) => `round ${r.round}`)];
  const accuracies = [report.initialModel?.accuracy, ...finalized.map((r) => r.accuracy)];
  charts.set(
    CHART_FILES.accuracy,
    lineChart({
      title: accuracies.some((a) => a !== undefined)
        ? "Accuracy of the global model on the owner's validation set"
        : "Accuracy per round (no validation set given)",
      categories: accuracyCategories,
      series: [{ name: "accuracy", values: accuracies }],
      yMin: 0,
      yMax: 1,
      yLabel: "accuracy",
      empty: "no accuracy measured: pass --validation <data> to measure every model on a labelled validation set",
    }),
  );
  const totalScore = report.trainers.reduce((a, t) => a + t.totalScore, 0n);
  const totalPayout = report.trainers.reduce((a, t) => a + t.totalPayout, 0n);
  charts.set(
    CHART_FILES.trainers,
    barChart({
      title: "Share of proven score and of payouts per trainer (%)",
      note: SHARE_NOTE,
      categories: report.trainers.map((t) => shortAddress(t.trainer)),
      series: [
        { name: "score share %", values: report.trainers.map((t) => pct(t.totalScore, totalScore)) },
        { name: "payout share %", values: report.trainers.map((t) => pct(t.totalPayout, totalPayout)) },
      ],
      yLabel: "% of all trainers' total",
      yMin: 0,
      empty: "no proven score and no payout yet: no round has been finalized with a contribution",
    }),
  );
  charts.set(
    CHART_FILES.outliers,
    barChart({
      title: "Updates not aggregated per round",
      categories: report.rounds.map((r) => `round ${r.round}`),
      series: [
        { name: "outliers / duplicates", values: report.rounds.map((r) => r.outliers) },
        { name: "excluded (not decoded: proven)", values: report.rounds.map((r) => r.excluded) },
      ],
      yLabel: "updates",
      yMin: 0,
      format: (v) => (Number.isInteger(v) ? String(v) : ""),
      empty:
        finalized.length === 0
          ? "no finalized round yet: no update has been aggregated or left out"
          : `no outliers: every update submitted to the ${finalized.length} finalized round(s) was aggregated (0 outliers or duplicates, 0 excluded)`,
    }),
  );
  return charts;
}

/** The "opens (owner key)" cell: yes, no with the codec's reason, or nothing without the owner's key. */
function openingCell(s: SlotAudit): string {
  if (s.opens === undefined) return "";
  return s.opens ? "yes" : `**no**${s.unusable === undefined ? "" : ` (${s.unusable.reason})`}`;
}

function row(cells: readonly (string | number | bigint | undefined)[]): string {
  return `| ${cells.map((c) => (c === undefined ? "" : String(c))).join(" | ")} |`;
}

/** The Markdown report (charts referenced by relative file name). */
export function auditMarkdown(report: AuditReport, charts: readonly string[]): string {
  const p = report.project;
  const lines: string[] = [
    `# Audit of project ${p.id}`,
    "",
    `**Verdict: ${report.verdict.toUpperCase()}** (${report.failures.length} failure(s), ${report.warnings.length} warning(s))`,
    "",
    `- chain ${p.chainId}, market \`${p.market}\`, status ${p.status}`,
    `- owner \`${p.owner}\`, aggregator \`${p.aggregator}\`, verifier \`${p.verifier}\``,
    `- spec \`${p.specCid}\`${p.circuit === undefined ? "" : `, circuit K_MAX ${p.circuit.kMax}, CHUNK ${p.circuit.chunk}, B ${p.circuit.updateBits}, BG ${p.circuit.modelBits}`}`,
    ...(p.model === undefined
      ? []
      : [
          `- model: D = ${p.model.parameters} trained parameters` +
            (p.model.frozen === undefined
              ? ""
              : `; ${p.model.frozen.parameters} frozen (the owner's backbone, weights pinned at \`${p.model.frozen.cid}\`: bound to the chain by the spec's CID, fixed for the whole project, outside the proofs)`),
        ]),
    ...(p.verificationKeys === undefined
      ? []
      : [`- verification keys: \`${p.verificationKeys.chunk}\`, \`${p.verificationKeys.decision}\``]),
    ...(report.initialModel === undefined
      ? []
      : [
          `- initial model \`${report.initialModel.cid}\`: ${report.initialModel.matches ? "matches its commitment" : "**does not match its commitment**"}`,
        ]),
    "",
  ];
  if (report.failures.length > 0) lines.push("## Failures", "", ...report.failures.map((f) => `- ${f}`), "");
  if (report.warnings.length > 0) lines.push("## Warnings", "", ...report.warnings.map((w) => `- ${w}`), "");
  lines.push(
    "## Rounds",
    "",
    row([
      "round",
      "state",
      "submissions",
      "chunk proofs",
      "proofs",
      "model",
      "inliers",
      "outliers",
      "excluded",
      "reward",
      "paid",
      "accuracy",
    ]),
    row(Array.from({ length: 12 }, () => "---")),
    ...report.rounds.map((r) =>
      row([
        r.round,
        r.state,
        r.submissions,
        r.chunkProofs,
        r.state === "finalized" ? (r.proofsVerified ? "verified" : "**FAILED**") : "",
        r.modelMatches === undefined ? "" : r.modelMatches ? "matches" : "**MISMATCH**",
        r.inliers,
        r.outliers,
        r.excluded,
        r.reward,
        r.paid,
        r.accuracy === undefined ? "" : r.accuracy.toFixed(4),
      ]),
    ),
    "",
  );
  const slotRows = report.rounds.flatMap((r) =>
    r.slots.map((s) => row([r.round, s.slot, `\`${s.trainer}\``, s.status, s.score, s.reward, openingCell(s)])),
  );
  if (slotRows.length > 0) {
    lines.push(
      "## Contributions",
      "",
      row(["round", "slot", "trainer", "status", "score", "payout", "opens (owner key)"]),
      row(Array.from({ length: 7 }, () => "---")),
      ...slotRows,
      "",
    );
  }
  if (report.trainers.length > 0) {
    const totalScore = report.trainers.reduce((a, t) => a + t.totalScore, 0n);
    const totalPayout = report.trainers.reduce((a, t) => a + t.totalPayout, 0n);
    lines.push(
      "## Trainers",
      "",
      SHARE_EXPLANATION,
      "",
      row(["trainer", "rounds", "total score", "score share", "total payout", "payout share"]),
      row(Array.from({ length: 6 }, () => "---")),
      ...report.trainers.map((t) =>
        row([
          `\`${t.trainer}\``,
          t.rounds,
          t.totalScore,
          pctText(t.totalScore, totalScore),
          t.totalPayout,
          pctText(t.totalPayout, totalPayout),
        ]),
      ),
      "",
    );
  }
  const e = report.escrow;
  if (e !== undefined) {
    lines.push(
      "## Escrow",
      "",
      `- deposits ${e.deposits} - payouts ${e.paid} - burned reference deposits ${e.burned} - refunds ${e.refunded} = ${e.expectedBudgetAndReserve}; budget + reserve + reference deposit on chain ${e.budgetAndReserve}`,
      `- aggregator bond on chain ${e.bondPosted}, expected ${e.expectedBondPosted}`,
      `- market balance ${e.marketBalance}, totalLiabilities ${e.totalLiabilities}`,
      "",
    );
  }
  if (charts.length > 0) lines.push("## Charts", "", ...charts.map((c) => `![${c}](${c})`), "");
  return `${lines.join("\n")}\n`;
}

/** Writes the charts and `audit-report.md` into `outDir`; returns the report with their paths. */
export async function writeAuditReport(report: AuditReport, outDir: string): Promise<AuditReport> {
  const written: string[] = [];
  for (const [name, svg] of auditCharts(report)) {
    const file = path.join(outDir, name);
    await writeFile(file, svg);
    written.push(file);
  }
  const reportFile = path.join(outDir, "audit-report.md");
  await writeFile(
    reportFile,
    auditMarkdown(
      report,
      written.map((f) => path.basename(f)),
    ),
  );
  return { ...report, reportFile, charts: written };
}
