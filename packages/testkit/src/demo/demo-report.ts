/**
 * What the demo measures (`bench/demo.json` under `--json`) and how it prints it.
 */
import type { CircuitConfig } from "@fedmarket/core";

/** What a demo trainer does: honest, or one of the attack modes of packages/testkit/src/attacks/attacks.ts. */
export type DemoRole = "honest" | "sign-flip" | "scale" | "gaussian" | "label-flip" | "free-rider";

export interface DemoTrainer {
  /** `trainer-<i>`. */
  readonly trainer: string;
  readonly address: string;
  readonly role: DemoRole;
  readonly samples: number;
}

export interface DemoSlot {
  readonly trainer: string;
  readonly role: DemoRole;
  readonly slot: number;
  /** inlier | not-aggregated | excluded | empty (the proven status). */
  readonly status: string;
  /** Proven contribution score (decimal string). */
  readonly score: string;
  /** Reward accrued this round (ETH). */
  readonly rewardEth: number;
}

export interface DemoRound {
  readonly round: number;
  /** Test accuracy of the new global model. */
  readonly accuracy: number;
  /** Trainers whose update was not counted (the consensus rule's outliers, duplicates, slots not available or not decoded). */
  readonly outliers: readonly { readonly trainer: string; readonly role: DemoRole; readonly status: string }[];
  readonly scores: readonly DemoSlot[];
  /** Gas of the round's submitChunkProofs batches + finalizeRound. */
  readonly gasUsed: number;
  readonly gas: readonly { readonly tx: string; readonly chunkProofs: number; readonly gasUsed: number }[];
  /** Wall time of the aggregator's prove step (every chunk proof and the decision proof, 2 workers). */
  readonly proofMs: number;
  readonly proofs: number;
  /** Trainers' wall time (local training, quantize, seal and commit, pin, submit; one after the other). */
  readonly trainMs: number;
  /** Aggregator's wall time (collect, open, compute, prove, pin, submit). */
  readonly aggregateMs: number;
  readonly wallMs: number;
}

export interface DemoReport {
  readonly command: string;
  readonly date: string;
  readonly machine: { readonly cores: number; readonly cpu: string; readonly node: string };
  readonly config: {
    readonly model: string;
    readonly D: number;
    readonly kMax: number;
    readonly chunk: number;
    readonly updateBits: number;
    readonly modelBits: number;
    readonly chunks: number;
    readonly f: number;
    readonly trainers: number;
    readonly attackers: readonly { readonly trainer: string; readonly role: DemoRole }[];
    readonly rounds: number;
    readonly rewardPerRoundEth: number;
    readonly data: string;
    readonly chain: string;
    readonly storage: string;
    readonly proverWorkers: number;
    readonly setup: string;
  };
  /**
   * firstTime: the demo circuits' setup when it was made in this run (else cached, not included);
   * ownerBackbone: the owner's pretraining of its backbone when it ran in this run (else cached).
   * Neither is part of `totalWallMs`.
   */
  readonly setupMs: { readonly firstTime?: number; readonly cached?: number; readonly ownerBackbone?: number };
  /** The network: the owner's frozen backbone and the head the market trains (`trainedParameters` = D). */
  readonly model: {
    readonly backbone: string;
    readonly head: string;
    readonly trainedParameters: number;
    readonly frozenParameters: number;
  };
  /** Test accuracy of the owner's pretrained model alone (backbone + its own head): what federated training starts from. */
  readonly ownerOnlyAccuracy: number;
  /** Test accuracy of round 0's global model (the owner's head on the frozen backbone). */
  readonly initialAccuracy: number;
  readonly trainerList: readonly DemoTrainer[];
  readonly rounds: readonly DemoRound[];
  readonly payouts: readonly { readonly trainer: string; readonly role: DemoRole; readonly eth: number }[];
  readonly audit: { readonly verdict: "pass" | "fail"; readonly failures: readonly string[]; readonly reportFile?: string };
  /** Wall time of the demo without the first-time setup (chain, deploy, data, rounds, audit). */
  readonly totalWallMs: number;
  /** What the numbers do not show (e.g. `FREE_RIDER_NOTE`: how the proof treats replays of the last delta). */
  readonly notes?: readonly string[];
}

export const ROLE_LABEL: Record<DemoRole, string> = {
  honest: "honest",
  "sign-flip": "ATTACKER sign-flip",
  scale: "ATTACKER x10 scaling",
  gaussian: "ATTACKER gaussian noise",
  "label-flip": "ATTACKER label-flip",
  "free-rider": "FREE RIDER (replay)",
};

/**
 * What the demo prints about free riders: the proven rule leaves out a replay of the last global
 * delta (cosine >= 99/100 with it: valid, so the quorum counts it, but neither counted nor paid;
 * core `isReplay`, circuit `DeltaReplay`). A noisier copy is counted when it lowers the owner's
 * validation loss by the margin, and the delta cap pays its following of the last delta at most
 * at the median player's cosine (docs/THREAT-MODEL.md row 22).
 */
export const FREE_RIDER_NOTE =
  "free riders: a replay of the last global delta (cosine >= 0.99 with it) is neither counted nor paid, by the proof; " +
  "a noisier copy is paid at most what a median update earns from following that delta (the proven delta cap)";

/**
 * What the demo says when the proven rule left an honest trainer out. By the owner's reference an
 * update counts only when its cosine with `v` (minus the gradient of the owner's validation loss) is
 * above `4 / sqrt(D)`: an honest update whose local data pulls the head elsewhere than the
 * validation digits do is not counted that round (docs/SCORING.md, "Ninth round" and "Tenth round").
 * `null` when every honest slot was counted in every round.
 */
export function honestLeftOutNote(rounds: readonly DemoRound[]): string | null {
  const left = rounds.flatMap((r) =>
    r.scores.filter((s) => s.role === "honest" && s.status !== "inlier").map((s) => `${s.trainer} in round ${r.round}`),
  );
  if (left.length === 0) return null;
  return (
    `honest updates not counted (${left.join(", ")}): by the owner's reference an update counts only when its cosine with ` +
    "the owner's validation direction is above 4 / sqrt(D); these did not lower the owner's validation loss by that " +
    'margin (docs/SCORING.md, "Tenth round")'
  );
}

export function circuitLabel(c: CircuitConfig): string {
  return `K_MAX=${c.kMax} CHUNK=${c.chunk} B=${c.updateBits} BG=${c.modelBits}`;
}

const pad = (s: string, n: number): string => s.padEnd(n);
const padL = (s: string, n: number): string => s.padStart(n);

/** The per-round table, one block per round. */
export function formatRound(r: DemoRound): string {
  const lines = [
    `round ${r.round}: accuracy ${(r.accuracy * 100).toFixed(1)} %, proofs ${r.proofs} in ${(r.proofMs / 1000).toFixed(1)} s, ` +
      `gas ${r.gasUsed.toLocaleString("en-US")} (${r.gas.map((g) => `${g.tx}${g.chunkProofs > 0 ? `[${g.chunkProofs}]` : ""} ${g.gasUsed.toLocaleString("en-US")}`).join(" + ")}), ` +
      `wall ${(r.wallMs / 1000).toFixed(1)} s (train ${(r.trainMs / 1000).toFixed(1)} s, aggregate ${(r.aggregateMs / 1000).toFixed(1)} s)`,
    `  outliers caught: ${r.outliers.length === 0 ? "none" : r.outliers.map((o) => `${o.trainer} (${ROLE_LABEL[o.role]}, ${o.status})`).join(", ")}`,
    `  ${pad("trainer", 11)}${pad("role", 26)}${pad("slot", 6)}${pad("status", 16)}${padL("score", 14)}${padL("reward ETH", 13)}`,
  ];
  for (const s of r.scores) {
    lines.push(
      `  ${pad(s.trainer, 11)}${pad(ROLE_LABEL[s.role], 26)}${pad(String(s.slot), 6)}${pad(s.status, 16)}${padL(s.score, 14)}${padL(s.rewardEth.toFixed(4), 13)}`,
    );
  }
  const freeRiders = r.scores.filter((s) => s.role === "free-rider" && s.status === "inlier");
  if (freeRiders.length > 0) {
    lines.push(
      `  free rider aggregated, its pay for following the last delta capped: ${freeRiders.map((s) => `${s.trainer} ${s.rewardEth.toFixed(4)} ETH`).join(", ")}`,
    );
  }
  return lines.join("\n");
}

export function formatSummary(report: DemoReport): string {
  const lines = ["payouts (ETH credited to each trainer over all rounds, withdrawable):"];
  for (const p of report.payouts) lines.push(`  ${pad(p.trainer, 11)}${pad(ROLE_LABEL[p.role], 26)}${padL(p.eth.toFixed(4), 10)}`);
  if (report.payouts.some((p) => p.role === "free-rider")) lines.push(`  ${FREE_RIDER_NOTE}`);
  const leftOut = honestLeftOutNote(report.rounds);
  if (leftOut !== null) lines.push(`  ${leftOut}`);
  lines.push(
    `audit verdict: ${report.audit.verdict.toUpperCase()}${report.audit.failures.length > 0 ? `\n  ${report.audit.failures.join("\n  ")}` : ""}` +
      `${report.audit.reportFile === undefined ? "" : ` (report ${report.audit.reportFile})`}`,
  );
  const first = report.setupMs.firstTime;
  const backbone = report.setupMs.ownerBackbone;
  const final = report.rounds.at(-1)?.accuracy ?? 0;
  const points = (final - report.ownerOnlyAccuracy) * 100;
  lines.push(
    `accuracy on the held-out test digits: the owner's model alone ${(report.ownerOnlyAccuracy * 100).toFixed(1)} %; ` +
      `after ${report.rounds.length} federated rounds of the head on the trainers' data ${(final * 100).toFixed(1)} % ` +
      `(${points >= 0 ? "+" : ""}${points.toFixed(1)} points)`,
  );
  lines.push(
    `first-time setup: ${first === undefined ? "none (cached)" : `circuits ${(first / 1000).toFixed(0)} s`}` +
      `${backbone === undefined ? "" : `, the owner's backbone pretraining ${(backbone / 1000).toFixed(0)} s`}; ` +
      `demo wall time: ${(report.totalWallMs / 1000).toFixed(0)} s (${report.rounds.length} rounds, D = ${report.model.trainedParameters} trained parameters)`,
  );
  return lines.join("\n");
}
