/**
 * The round report: per valid update, its GTG-Shapley and leave-one-out values on the owner's
 * validation set, next to the proven score (the consensus rule's), so owners can compare the two. Nothing in
 * it is proven or checked on chain, and it moves no money: the report says so itself.
 *
 * Utility of a coalition S of valid updates = validation accuracy of the model the proven rule
 * would publish for S: `g + floor(sum_{k in S} u_k / |S|)` on the quantized values (the empty
 * coalition = the previous model), dequantized. The proven new model is the coalition of the
 * aggregated slots (the kept clusters' representatives), so `accuracy.new` is their utility.
 *
 * Pure apart from the injected `accuracy` function (see round-report-step.ts for the node's glue).
 */
import { dequantizeModel, floorDiv, maskedSum, type SlotStatusName } from "@fedmarket/core";
import { gtgShapley, memoizeUtility, type Coalition, type GtgOptions } from "./gtg-shapley.ts";
import { leaveOneOut } from "./leave-one-out.ts";

export const ROUND_REPORT_SCHEMA = "fedmarket-round-report/1";
export const ROUND_REPORT_NOTE =
  "UNPROVEN estimates: GTG-Shapley and leave-one-out values of each valid update, measured by the aggregator " +
  "on the project owner's validation set (utility = validation accuracy of the model aggregated from a subset of " +
  "the updates with the proven rule). They are not proven, not checked on chain and do not move money; only " +
  "provenScore (the proven consensus-rule score) is paid.";

// The status names are @fedmarket/core's one table; re-exported for this module's existing importers.
export { SLOT_STATUS_NAMES, type SlotStatusName } from "@fedmarket/core";

export interface ReportSlot {
  readonly slot: number;
  readonly trainer: string;
  readonly status: SlotStatusName;
  /** The proven score (decimal string). */
  readonly provenScore: string;
  /** The opened quantized delta when the update is valid (a player); absent otherwise. */
  readonly update?: readonly bigint[];
}

export interface RoundReportInput {
  readonly project: string;
  readonly round: number;
  /** CID of the round's new (proven) global model. */
  readonly modelCid: string;
  /** The previous global model, quantized. */
  readonly prevModel: readonly bigint[];
  readonly scale: number;
  readonly slots: readonly ReportSlot[];
  readonly validation: { readonly samples: number; readonly source: string };
  /** Validation accuracy of a float weight vector. */
  readonly accuracy: (weights: Float32Array) => number | Promise<number>;
  /** Seeded generator for the permutation sampling (seed it from the round). */
  readonly random: () => number;
  readonly gtg?: Omit<GtgOptions, "random">;
}

export interface RoundReportPlayer {
  readonly slot: number;
  readonly trainer: string;
  readonly status: SlotStatusName;
  readonly provenScore: string;
  /** null for slots that are not valid updates (excluded, duplicated). */
  readonly shapley: number | null;
  readonly leaveOneOut: number | null;
}

export interface RoundReport {
  readonly schema: typeof ROUND_REPORT_SCHEMA;
  readonly unproven: true;
  readonly note: string;
  readonly project: string;
  readonly round: number;
  readonly modelCid: string;
  readonly validation: { readonly samples: number; readonly source: string };
  /**
   * Validation accuracy of the previous model, the proven new one (the inliers' aggregate) and the
   * aggregate of every valid update (the Shapley values sum to `allValid - prev`).
   */
  readonly accuracy: { readonly prev: number; readonly new: number; readonly allValid: number };
  readonly players: RoundReportPlayer[];
  readonly gtg: {
    readonly permutations: number;
    readonly utilityEvaluations: number;
    readonly eps: number;
    readonly converged: boolean;
    /** |U(all) - U(none)| <= eps: every Shapley value set to 0 without sampling. */
    readonly truncatedRound: boolean;
  };
  readonly ms: number;
}

/** The floats of `prev + floor(sum(updates) / count)` (the proven rule, without its BG range check). */
export function aggregateDequantized(prevModel: readonly bigint[], updates: readonly (readonly bigint[])[], scale: number): Float32Array {
  if (updates.length === 0) return dequantizeModel(prevModel, scale);
  // maskedSum + floorDiv are the operations of core's aggregate(); its BG range check is left
  // out because a coalition the proof never aggregates may leave BG bits and still be evaluated.
  const sum = maskedSum(
    updates,
    updates.map(() => true),
  );
  const n = BigInt(updates.length);
  return dequantizeModel(
    prevModel.map((g, x) => g + floorDiv(sum[x] ?? 0n, n)),
    scale,
  );
}

export async function computeRoundReport(input: RoundReportInput): Promise<RoundReport> {
  const started = performance.now();
  const players = input.slots.filter((s) => s.update !== undefined);
  const memo = memoizeUtility(async (coalition: Coalition) =>
    input.accuracy(
      aggregateDequantized(
        input.prevModel,
        coalition.map((i) => players[i]?.update as readonly bigint[]),
        input.scale,
      ),
    ),
  );
  const gtg = await gtgShapley(players.length, memo.utility, { ...input.gtg, random: input.random });
  const loo = await leaveOneOut(players.length, memo.utility);
  const inliers = players.flatMap((p, i) => (p.status === "inlier" ? [i] : []));
  const accuracyNew = await memo.utility(inliers);
  const playerIndex = new Map(players.map((p, i) => [p.slot, i]));
  return {
    schema: ROUND_REPORT_SCHEMA,
    unproven: true,
    note: ROUND_REPORT_NOTE,
    project: input.project,
    round: input.round,
    modelCid: input.modelCid,
    validation: { samples: input.validation.samples, source: input.validation.source },
    accuracy: { prev: gtg.empty, new: accuracyNew, allValid: gtg.full },
    players: input.slots.map((s) => {
      const i = playerIndex.get(s.slot);
      return {
        slot: s.slot,
        trainer: s.trainer,
        status: s.status,
        provenScore: s.provenScore,
        shapley: i === undefined ? null : (gtg.values[i] as number),
        leaveOneOut: i === undefined ? null : (loo[i] as number),
      };
    }),
    gtg: {
      permutations: gtg.permutations,
      utilityEvaluations: memo.evaluations(),
      eps: gtg.eps,
      converged: gtg.converged,
      truncatedRound: gtg.truncatedRound,
    },
    ms: Math.round(performance.now() - started),
  };
}
