/**
 * The audit's human-readable output: `audit-report.md` with the verdict, every failure, the
 * per-round and per-trainer tables, and three SVG charts next to it (accuracy per round, score and
 * payout share per trainer, outliers per round).
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
    }),
  );
  const totalScore = report.trainers.reduce((a, t) => a + t.totalScore, 0n);
  const totalPayout = report.trainers.reduce((a, t) => a + t.totalPayout, 0n);
  charts.set(
    CHART_FILES.trainers,
    barChart({
      title: "Share of proven score and of payouts per trainer (%)",
      categories: report.trainers.map((t) => shortAddress(t.trainer)),
      series: [
        { name: "score share %", values: report.trainers.map((t) => pct(t.totalScore, totalScore)) },
        { name: "payout share %", values: report.trainers.map((t) => pct(t.totalPayout, totalPayout)) },
      ],
      yLabel: "% of all rounds",
      yMin: 0,
    }),
  );
  charts.set(
    CHART_FILES.outliers,
    barChart({
      title: "Updates not aggregated per round",
      categories: report.rounds.map((r) => `round ${r.round}`),
      series: [
        { name: "Multi-Krum outliers / duplicates", values: report.rounds.map((r) => r.outliers) },
        { name: "excluded (not available / not decoded)", values: report.rounds.map((r) => r.excluded) },
      ],
      yLabel: "updates",
      yMin: 0,
      format: (v) => (Number.isInteger(v) ? String(v) : ""),
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
    lines.push(
      "## Trainers",
      "",
      row(["trainer", "rounds", "total score", "total payout"]),
      row(["---", "---", "---", "---"]),
      ...report.trainers.map((t) => row([`\`${t.trainer}\``, t.rounds, t.totalScore, t.totalPayout])),
      "",
    );
  }
  const e = report.escrow;
  if (e !== undefined) {
    lines.push(
      "## Escrow",
      "",
      `- deposits ${e.deposits} - payouts ${e.paid} - refunds ${e.refunded} = ${e.expectedBudgetAndReserve}; budget + reserve on chain ${e.budgetAndReserve}`,
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
