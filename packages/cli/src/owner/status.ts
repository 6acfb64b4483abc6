/**
 * `fedmarket project status`: a project's rounds (models, outliers, scores, payouts, the owner's
 * reference) and its trainers' totals, from the chain's views and events, as tables or JSON.
 */
import { formatUnits } from "ethers";
import { REWARD_DECAY_ONE, SlotStatus, equalShares, slotStatusLabel } from "@fedmarket/core";
import {
  ETH_TOKEN,
  loadProjectHistory,
  referenceState,
  type FedMarketClient,
  type ProjectHistory,
  type ProjectInfo,
  type ReferenceState,
} from "@fedmarket/protocol";
import { tokenDecimals } from "./project.ts";
import { formatAmount, unitOf } from "./amount.ts";

export interface RoundStatusRow {
  readonly round: number;
  readonly state: "open" | "finalized" | "skipped" | "failed" | "cancelled";
  readonly submissions: number;
  readonly inliers: number;
  readonly outliers: number;
  readonly excluded: number;
  readonly reward: bigint;
  readonly paid: bigint;
  readonly modelCid: string;
  /** The owner's reference this round (`referenceState`). */
  readonly reference: ReferenceState;
  readonly scores: {
    readonly slot: number;
    readonly trainer: string;
    readonly status: string;
    readonly score: bigint;
    readonly payout: bigint;
  }[];
}

export interface TrainerStatusRow {
  readonly trainer: string;
  readonly rounds: number;
  readonly inlierRounds: number;
  readonly totalScore: bigint;
  readonly totalPayout: bigint;
  /** What the account can withdraw now in the project's token (all projects together). */
  readonly withdrawable: bigint;
}

export interface ProjectStatusReport {
  readonly project: ProjectInfo;
  readonly decimals: number;
  readonly rounds: RoundStatusRow[];
  readonly trainers: TrainerStatusRow[];
}

export async function projectStatus(
  client: FedMarketClient,
  projectId: bigint,
  options: { fromBlock?: number; history?: ProjectHistory } = {},
): Promise<ProjectStatusReport> {
  const project = await client.getProject(projectId);
  const history =
    options.history ??
    (await loadProjectHistory(client, projectId, options.fromBlock === undefined ? {} : { fromBlock: options.fromBlock }));
  const decimals = await tokenDecimals(client.provider, project.token);
  // A cancellation below quorum ends the open round: its reward went to its submitters.
  const cancelled = history.cancelled?.roundStillOpen === false ? history.cancelled : undefined;
  /** What a round paid its submitters: proven shares, or equal parts of a failed or cancelled round's reward. */
  const roundPaid = (r: ProjectHistory["rounds"][number]): bigint => {
    if (r.end?.kind === "finalized") return r.end.paid;
    if (r.end?.kind === "failed") return r.end.reward;
    return r.end === undefined && cancelled?.round === r.round ? cancelled.rewardToSubmitters : 0n;
  };
  const rounds: RoundStatusRow[] = history.rounds
    .filter((r) => r.opened !== undefined)
    .map((r) => {
      const count = (s: number): number => r.contributions.filter((c) => c.status === s).length;
      return {
        round: r.round,
        state: r.end?.kind ?? (cancelled?.round === r.round ? "cancelled" : "open"),
        submissions: r.submissions.length,
        inliers: count(SlotStatus.Inlier),
        outliers: count(SlotStatus.NotAggregated),
        excluded: count(SlotStatus.Excluded),
        reward: r.opened?.reward ?? 0n,
        paid: roundPaid(r),
        modelCid: r.end?.kind === "finalized" ? r.end.newModelCid : (r.opened?.modelCid ?? ""),
        reference: referenceState(r),
        scores: r.contributions.map((c) => ({
          slot: c.slot,
          trainer: c.trainer,
          status: slotStatusLabel(c.status),
          score: c.score,
          payout: c.reward,
        })),
      };
    });
  const byTrainer = new Map<string, { rounds: number; inlierRounds: number; totalScore: bigint; totalPayout: bigint }>();
  for (const r of history.rounds) {
    // A failed or cancelled round's reward is split equally among its submitters (no contributions recorded).
    const split = r.end?.kind === "finalized" || r.submissions.length === 0 ? [] : equalShares(roundPaid(r), r.submissions.length);
    for (const [k, s] of r.submissions.entries()) {
      const t = byTrainer.get(s.trainer) ?? { rounds: 0, inlierRounds: 0, totalScore: 0n, totalPayout: 0n };
      t.rounds++;
      t.totalPayout += split[k] ?? 0n;
      byTrainer.set(s.trainer, t);
    }
    for (const c of r.contributions) {
      const t = byTrainer.get(c.trainer);
      if (t === undefined) continue;
      if (c.status === SlotStatus.Inlier) t.inlierRounds++;
      t.totalScore += c.score;
      t.totalPayout += c.reward;
    }
  }
  const token = project.token === ETH_TOKEN ? ETH_TOKEN : project.token;
  const trainers: TrainerStatusRow[] = [];
  for (const [trainer, t] of byTrainer) trainers.push({ trainer, ...t, withdrawable: await client.creditOf(token, trainer) });
  return { project, decimals, rounds, trainers };
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const short = (s: string, n = 10): string => (s.length <= 2 * n ? s : `${s.slice(0, n)}…${s.slice(-4)}`);

/** The report as text tables. */
export function formatStatus(s: ProjectStatusReport): string {
  const p = s.project;
  const unit = p.token === ETH_TOKEN ? "ETH" : `token ${short(p.token, 8)}`;
  const amount = (v: bigint): string => formatUnits(v, s.decimals);
  const full = (v: bigint): string => formatAmount(v, unitOf(p.token, s.decimals));
  const lines = [
    `project ${p.id}: ${p.statusName}${p.cancelRequested ? " (cancel requested)" : ""}, round ${p.currentRound} of ${p.numRounds}`,
    `owner ${p.owner}, aggregator ${p.aggregator}, verifier ${p.verifier}`,
    `budget ${full(p.budget)} + ${full(p.roundReward)} reserved for the open round`,
    `${rewardTerms(p, full)}; bond posted ${full(p.bondPosted)}`,
    ...(p.acceptanceDeadline === 0
      ? []
      : [
          `awaiting the aggregator's acceptance; anyone may close the project after ${new Date(p.acceptanceDeadline * 1000).toISOString()} (\`fedmarket project expire --project ${p.id}\`)`,
        ]),
    ...(p.refundPool === 0n
      ? []
      : [`${full(p.refundPool)} of the refund not yet claimed by third-party funders (\`fedmarket project refund\`)`]),
    `model ${p.modelCid} (commitment ${short(p.modelCommitment.toString(), 8)}), spec ${p.specCid}`,
    "",
    table(
      ["round", "state", "subm.", "inliers", "outliers", "excluded", `reward (${unit})`, "paid", "model CID", "reference"],
      s.rounds.map((r) => [
        String(r.round),
        r.state,
        String(r.submissions),
        String(r.inliers),
        String(r.outliers),
        String(r.excluded),
        amount(r.reward),
        amount(r.paid),
        short(r.modelCid, 12),
        r.reference,
      ]),
    ),
  ];
  const scored = s.rounds.filter((r) => r.scores.length > 0);
  if (scored.length > 0) {
    lines.push(
      "",
      table(
        ["round", "slot", "trainer", "status", "score", "payout"],
        scored.flatMap((r) =>
          r.scores.map((c) => [String(r.round), String(c.slot), c.trainer, c.status, c.score.toString(), amount(c.payout)]),
        ),
      ),
    );
  }
  if (s.trainers.length > 0) {
    lines.push(
      "",
      table(
        ["trainer", "rounds", "inlier", "total score", `total payout (${unit})`, "withdrawable now (all projects)"],
        s.trainers.map((t) => [
          t.trainer,
          String(t.rounds),
          String(t.inlierRounds),
          t.totalScore.toString(),
          amount(t.totalPayout),
          amount(t.withdrawable),
        ]),
      ),
    );
  }
  return lines.join("\n");
}

/** The project's reward schedule: equal rounds, or the next round's reward and the decay that follows it. */
function rewardTerms(p: { readonly rewardPerRound: bigint; readonly rewardDecayPpm: number }, full: (v: bigint) => string): string {
  if (p.rewardDecayPpm === REWARD_DECAY_ONE) return `reward per round ${full(p.rewardPerRound)}`;
  return `next round's reward ${full(p.rewardPerRound)}, each later one x ${p.rewardDecayPpm / REWARD_DECAY_ONE} of the one before`;
}
