/**
 * Issue 12's measured output, per seed and rule:
 *
 * - `spearmanCumulative` / `pearsonCumulative`: over the 8 trainers of the all-honest run, each
 *   trainer's cumulative payout (sum over rounds of its share of the round reward, the reward
 *   being equal every round) against its cumulative exact Shapley value (accuracy utility);
 *   `spearmanCumulativeLoss` against the loss-utility Shapley value;
 * - `honestFalsePositiveRate`: honest slot-rounds not aggregated / all slot-rounds, all-honest run
 *   (candidates file: `honestLeftOutValuedRate`, the same over those left out while their exact
 *   accuracy-Shapley value in that round was positive: the left-out updates that contributed);
 * - per attack scenario: `gainFactor` = the attackers' total payout under attack / the same
 *   slots' total payout in the all-honest run (Sybil: all identities / the real trainer alone;
 *   the Sybil's baseline is its own run with the extra identities' slots empty;
 *   `0` when the attackers earn nothing, `null` when they earn something and their honest
 *   counterparts nothing: an unbounded gain); `inlierRounds` = attacker slot-rounds aggregated;
 *   `finalAccuracy` = evaluation accuracy after the last round.
 * - `valueFactor` (candidates file only; runs with exact Shapley under attack, `--attack-shapley`):
 *   the attackers' cumulative exact Shapley value under attack / the same slots' in the all-honest
 *   run (Sybil: all identities' / the real trainer's alone in the baseline, as the gain): what
 *   their updates added, next to what they were paid for it. A gain above 1 with a value factor
 *   below it is pay for value the attack did not add.
 *
 * The extras (`detectionRate`, `payoutShare`, ...) are only in fairness-candidates.json.
 */
import { REWARD_DECAY_ONE, roundRewardSchedule } from "@fedmarket/core";

import type { RunRecord } from "./runner.ts";
import type { Scenario } from "./scenarios.ts";
import { pearson, round4, spearman } from "./stats.ts";

export interface AttackSummary {
  readonly name: string;
  readonly gainFactor: number | null;
  readonly inlierRounds: number;
  readonly finalAccuracy: number | null;
}

export interface AttackDetails extends AttackSummary {
  /** Attacker slot-rounds not aggregated / attacker slot-rounds. */
  readonly detectionRate: number;
  /** Mean over rounds of the attackers' share of the round reward. */
  readonly payoutShare: number;
  /** Sum over rounds of the attackers' shares, under attack and (counterparts) all-honest. */
  readonly attackerPayout: number;
  readonly honestPayout: number;
  /**
   * Cumulative exact Shapley value (accuracy utility) of the attackers' slots under attack and of
   * the same slots all-honest (Sybil: the real trainer's in the baseline), and their ratio (null
   * without Shapley in both runs, or when the honest value is not positive).
   */
  readonly attackerValue: number | null;
  readonly honestValue: number | null;
  readonly valueFactor: number | null;
  /**
   * All-honest final accuracy minus this run's (percentage points; positive = worse). Sybil: its
   * baseline's minus this run's (the fake identities hold no data, so the all-honest run has more).
   */
  readonly accuracyDropPoints: number | null;
  /**
   * `attackers-absent` final accuracy minus this run's: the damage beyond losing the attackers'
   * own data (an attacker that withholds its data costs that much under any rule).
   */
  readonly accuracyDropVsAttackersAbsentPoints: number | null;
}

export interface SeedSummary {
  readonly seed: number;
  readonly spearmanCumulative: number | null;
  readonly spearmanCumulativeLoss: number | null;
  readonly pearsonCumulative: number | null;
  readonly honestFalsePositiveRate: number;
  readonly attacks: AttackSummary[];
}

export interface SeedDetails extends SeedSummary {
  readonly attacks: AttackDetails[];
  readonly allHonestFinalAccuracy: number | null;
  /** Spearman of cumulative Shapley on one half of the evaluation split against the other (measurement noise). */
  readonly shapleySplitHalfSpearman: number | null;
  /** Spearman of cumulative accuracy-Shapley against loss-Shapley. */
  readonly shapleyAccuracyVsLossSpearman: number | null;
  readonly cumulativePayout: number[];
  readonly cumulativeShapley: number[];
  readonly cumulativeShapleyLoss: number[];
  /** Per trainer: rounds aggregated in the all-honest run. */
  readonly honestRoundsAggregated: number[];
  /**
   * Honest slot-rounds left out while their exact accuracy-Shapley value in that round was positive,
   * over all slot-rounds: the false positives that cost a contribution (the others were worth nothing
   * or less to the round they were left out of: docs/SCORING.md, twenty-second round).
   */
  readonly honestLeftOutValuedRate: number;
}

/** One rule's decisions along a run: its own (closed loop) or those it made on another rule's trajectory. */
export type DecisionView = (run: RunRecord) => { aggregated: boolean[]; shares: number[] }[];

export const ownDecisions: DecisionView = (run) => run.rounds.map((r) => ({ aggregated: r.aggregated, shares: r.shares }));

export function decisionsOf(rule: string): DecisionView {
  return (run) =>
    run.rounds.map((r) => {
      const d = r.others?.[rule];
      if (d === undefined) throw new Error(`run ${run.scenario}/${run.rule} has no decisions of ${rule}`);
      return d;
    });
}

/**
 * The round rewards of a project whose `rewardDecayPpm` is `decay` x 1e6: the contract's schedule
 * (@fedmarket/core `roundRewardSchedule`, each round's reward the previous one's times the decay,
 * rounded down) as multiples of the equal schedule's reward (their mean is 1, so totals stay
 * comparable): 1 is equal rounds. The schedule starts from 10^30 units, so its rounding is far
 * below what a share's float carries.
 */
export function rewardSchedule(decay: number, rounds: number): number[] {
  if (!(decay > 0 && decay <= 1)) throw new RangeError(`reward decay ${decay}: must be in (0, 1]`);
  const ppm = Math.max(1, Math.round(decay * REWARD_DECAY_ONE));
  const raw = roundRewardSchedule(10n ** 30n, ppm, rounds).map(Number);
  const total = raw.reduce((a, x) => a + x, 0);
  return raw.map((x) => (x * rounds) / total);
}

/**
 * A view whose shares are paid out of `schedule`'s round rewards: round `r`'s shares times
 * `schedule[r]`. Who is aggregated, and every trajectory, stay the same (the pay does not steer the
 * model); only the money moves between rounds.
 */
export function scheduled(view: DecisionView, schedule: readonly number[]): DecisionView {
  return (run) =>
    view(run).map((d, r) => {
      const w = schedule[r];
      if (w === undefined) throw new RangeError(`the reward schedule has no round ${r}`);
      return { aggregated: d.aggregated, shares: d.shares.map((s) => s * w) };
    });
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

const sumVectors = (rows: readonly (readonly number[])[], k: number): number[] =>
  Array.from({ length: k }, (_, i) => rows.reduce((a, row) => a + (row[i] as number), 0));

/** The slots' exact Shapley values (accuracy utility) summed over a run's rounds; null unless every round has them. */
function cumulativeValue(run: RunRecord, slots: readonly number[]): number | null {
  let total = 0;
  for (const r of run.rounds) {
    if (r.shapley === undefined) return null;
    for (const s of slots) total += r.shapley.accuracy[s] as number;
  }
  return total;
}

/**
 * Summarizes one seed for one rule. `honest` must carry exact Shapley every round; `attacks`
 * holds one run per attack scenario. `withAccuracy` is false for decisions on another rule's
 * trajectory (their accuracy is that rule's).
 */
export function summarizeSeed(
  seed: number,
  honest: RunRecord,
  attacks: ReadonlyMap<string, RunRecord>,
  scenarios: readonly Scenario[],
  view: DecisionView,
  withAccuracy: boolean,
): SeedDetails {
  const honestDecisions = view(honest);
  const k = honestDecisions[0]?.shares.length ?? 0;
  const shapley = honest.rounds.map((r) => {
    if (r.shapley === undefined) throw new Error("the all-honest run needs exact Shapley every round");
    return r.shapley;
  });
  const cumulativePayout = sumVectors(
    honestDecisions.map((d) => d.shares),
    k,
  );
  const cumulativeShapley = sumVectors(
    shapley.map((s) => s.accuracy),
    k,
  );
  const cumulativeShapleyLoss = sumVectors(
    shapley.map((s) => s.loss),
    k,
  );
  const halfA = sumVectors(
    shapley.map((s) => s.accuracyHalves[0]),
    k,
  );
  const halfB = sumVectors(
    shapley.map((s) => s.accuracyHalves[1]),
    k,
  );
  const dropped = honestDecisions.reduce((a, d) => a + d.aggregated.filter((x) => !x).length, 0);
  const droppedValued = honestDecisions.reduce(
    (a, d, r) => a + d.aggregated.filter((x, slot) => !x && (shapley[r]?.accuracy[slot] ?? 0) > 0).length,
    0,
  );
  const honestPayoutOf = (slots: readonly number[]): number => slots.reduce((a, s) => a + (cumulativePayout[s] as number), 0);
  const attackRows: AttackDetails[] = [];
  const absent = attacks.get("attackers-absent");
  for (const scenario of scenarios) {
    if (scenario.kind === "honest" || scenario.kind === "baseline") continue;
    const run = attacks.get(scenario.name);
    if (run === undefined) continue;
    const decisions = view(run);
    const attackerPayout = decisions.reduce((a, d) => a + scenario.attackers.reduce((b, s) => b + (d.shares[s] as number), 0), 0);
    let honestPayout = honestPayoutOf(scenario.honestCounterparts);
    let reference = honest;
    if (scenario.baseline !== undefined) {
      const base = attacks.get(scenario.baseline);
      if (base === undefined) throw new Error(`scenario ${scenario.name} needs its baseline run ${scenario.baseline}`);
      honestPayout = view(base).reduce((a, d) => a + scenario.honestCounterparts.reduce((b, s) => b + (d.shares[s] as number), 0), 0);
      reference = base;
    }
    const inlierRounds = decisions.reduce((a, d) => a + scenario.attackers.filter((s) => d.aggregated[s]).length, 0);
    // Value under attack, where the run computed Shapley; against the all-honest run's value of the
    // same slots, or for a Sybil against its baseline's (the real trainer alone), like the gain.
    const attackerValue = cumulativeValue(run, scenario.attackers);
    const honestValue =
      attackerValue === null
        ? null
        : reference === honest
          ? scenario.honestCounterparts.reduce((a, s) => a + (cumulativeShapley[s] as number), 0)
          : cumulativeValue(reference, scenario.honestCounterparts);
    const slotRounds = scenario.attackers.length * decisions.length;
    attackRows.push({
      name: scenario.name,
      gainFactor: attackerPayout === 0 ? 0 : honestPayout === 0 ? null : round4(attackerPayout / honestPayout),
      inlierRounds,
      finalAccuracy: withAccuracy ? round4(run.finalAccuracy) : null,
      detectionRate: round4(1 - inlierRounds / slotRounds),
      payoutShare: round4(attackerPayout / decisions.length),
      attackerPayout: round4(attackerPayout),
      honestPayout: round4(honestPayout),
      attackerValue: attackerValue === null ? null : round6(attackerValue),
      honestValue: honestValue === null ? null : round6(honestValue),
      valueFactor: attackerValue === null || honestValue === null || honestValue <= 0 ? null : round4(attackerValue / honestValue),
      accuracyDropPoints: withAccuracy ? round4(100 * (reference.finalAccuracy - run.finalAccuracy)) : null,
      accuracyDropVsAttackersAbsentPoints:
        withAccuracy && absent !== undefined ? round4(100 * (absent.finalAccuracy - run.finalAccuracy)) : null,
    });
  }
  return {
    seed,
    spearmanCumulative: round4(spearman(cumulativePayout, cumulativeShapley)),
    spearmanCumulativeLoss: round4(spearman(cumulativePayout, cumulativeShapleyLoss)),
    pearsonCumulative: round4(pearson(cumulativePayout, cumulativeShapley)),
    honestFalsePositiveRate: round4(dropped / (k * honestDecisions.length)),
    attacks: attackRows,
    allHonestFinalAccuracy: withAccuracy ? round4(honest.finalAccuracy) : null,
    shapleySplitHalfSpearman: round4(spearman(halfA, halfB)),
    shapleyAccuracyVsLossSpearman: round4(spearman(cumulativeShapley, cumulativeShapleyLoss)),
    cumulativePayout: cumulativePayout.map(round4),
    cumulativeShapley: cumulativeShapley.map(round6),
    cumulativeShapleyLoss: cumulativeShapleyLoss.map(round6),
    honestRoundsAggregated: Array.from({ length: k }, (_, s) => honestDecisions.filter((d) => d.aggregated[s]).length),
    honestLeftOutValuedRate: round4(droppedValued / (k * honestDecisions.length)),
  };
}

/** The issue's exact schema (fairness.json): drops every extra field. */
export function issueSchema(details: SeedDetails): SeedSummary {
  return {
    seed: details.seed,
    spearmanCumulative: details.spearmanCumulative,
    spearmanCumulativeLoss: details.spearmanCumulativeLoss,
    pearsonCumulative: details.pearsonCumulative,
    honestFalsePositiveRate: details.honestFalsePositiveRate,
    attacks: details.attacks.map((a) => ({
      name: a.name,
      gainFactor: a.gainFactor,
      inlierRounds: a.inlierRounds,
      finalAccuracy: a.finalAccuracy,
    })),
  };
}
