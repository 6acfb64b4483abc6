/**
 * Multi-Krum over the valid trainer slots and its scores: the rule the decision proof checked
 * before the consensus rule (@fedmarket/core `consensusDecision`), kept here as the fairness
 * benchmark's baseline ("current" in every bench file) and for the attack benchmark's historical
 * row. Nothing proves it any more.
 *
 * Rules:
 * - slot `k` is empty when `c[k] = 0` (also a slot flagged unavailable on chain and not answered:
 *   its public commitment is 0); excluded when it is not decoded, for a proven reason (ephemeral key
 *   off the curve, plaintext proven malformed; ignored for empty slots); duplicated when another
 *   slot (any status) holds the same non-zero commitment.
 *   Valid set `V` = non-empty, non-excluded, non-duplicated slots; `n = |V|`.
 * - status precedence: empty `0`, then excluded `3`, then duplicate `2`, then Multi-Krum
 *   (`1` inlier, `2` not aggregated).
 * - if `n >= 2f + 3` (`consensusQuorum(f)`, Multi-Krum's robustness condition): Krum score of
 *   `i in V` = sum of its `m = n - f - 2` smallest squared distances to the other members of `V`;
 *   inliers = the `n - f` smallest keys `krum * K_MAX + slot` (ties broken by the lower slot).
 *   Otherwise nobody is aggregated.
 * - score of an inlier `k` = `max(0, sum_{i inlier} G[k][i])`, which must be `< 2^64`; others 0.
 */
import {
  consensusQuorum,
  screenSlots,
  SCORE_BITS,
  slotStatuses,
  type SlotStatus,
  squaredDistance,
  type DecisionInput,
} from "@fedmarket/core";

/** Inputs of the Multi-Krum decision: the decision's. */
export type KrumInput = DecisionInput;

/** Result of Multi-Krum (with the separators the old decision circuit checked). */
export interface KrumResult {
  readonly status: SlotStatus[];
  readonly empty: boolean[];
  /** Effective exclusion flags (`excluded && !empty`): the circuit's `excluded` signal. */
  readonly excluded: boolean[];
  readonly duplicate: boolean[];
  readonly valid: boolean[];
  /** `|V|`. */
  readonly n: number;
  /** `n >= consensusQuorum(f)` (`2f + 3`). */
  readonly active: boolean;
  readonly inliers: boolean[];
  /** Krum scores of valid slots (0 for the others or when inactive). */
  readonly krumScores: bigint[];
  /** Rewards `s_k`. */
  readonly scores: bigint[];
  /** `selected[i][j]` = distance `d_ij` is among the `m` summed for `i`. */
  readonly selected: boolean[][];
  /** `tau[i]` = largest selected distance of row `i` (0 when none). */
  readonly tau: bigint[];
  /** Keys of inliers are `< keyThreshold <=` keys of valid non-inliers. */
  readonly keyThreshold: bigint;
}

/** Runs the complete decision (status, Multi-Krum, scores). */
export function multiKrum(input: KrumInput): KrumResult {
  const { commitments, gram, f } = input;
  const k = commitments.length;
  if (input.excluded.length !== k || gram.length !== k) throw new RangeError("slot count mismatch");
  if (!Number.isInteger(f) || f < 0 || f > 255) throw new RangeError(`f ${f} must be in [0, 255]`);

  const { empty, excluded, duplicate, valid } = screenSlots(commitments, input.excluded);
  const members = valid.flatMap((v, i) => (v ? [i] : []));
  const n = members.length;
  const active = n >= consensusQuorum(f);

  const selected = Array.from({ length: k }, () => new Array<boolean>(k).fill(false));
  const tau = new Array<bigint>(k).fill(0n);
  const krumScores = new Array<bigint>(k).fill(0n);
  const inliers = new Array<boolean>(k).fill(false);
  let keyThreshold = 0n;

  if (active) {
    const m = n - f - 2;
    for (const i of members) {
      const row = members
        .filter((j) => j !== i)
        .map((j) => ({ j, d: squaredDistance(gram, i, j) }))
        .sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : a.j - b.j));
      let sum = 0n;
      for (const { j, d } of row.slice(0, m)) {
        (selected[i] as boolean[])[j] = true;
        sum += d;
        tau[i] = d; // ascending: ends at the m-th smallest
      }
      krumScores[i] = sum;
    }
    const keys = members
      .map((i) => ({ i, key: (krumScores[i] as bigint) * BigInt(k) + BigInt(i) }))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
    for (const { i, key } of keys.slice(0, n - f)) {
      inliers[i] = true;
      keyThreshold = key + 1n;
    }
  }

  const scores = inlierScores(gram, inliers);
  // A duplicate is never valid, so never an inlier: status 2.
  const status = slotStatuses({ empty, excluded }, inliers);
  return {
    status,
    empty,
    excluded,
    duplicate,
    valid,
    n,
    active,
    inliers,
    krumScores,
    scores,
    selected,
    tau,
    keyThreshold,
  };
}

/** `s_k = max(0, sum_{i inlier} G[k][i])` for inliers, 0 otherwise; throws if `>= 2^64`. */
export function inlierScores(gram: readonly (readonly bigint[])[], inliers: readonly boolean[]): bigint[] {
  return inliers.map((isInlier, k) => {
    if (!isInlier) return 0n;
    let sum = 0n;
    inliers.forEach((other, i) => {
      if (other) sum += (gram[k] as readonly bigint[])[i] as bigint;
    });
    const s = sum > 0n ? sum : 0n;
    if (s >= 1n << BigInt(SCORE_BITS)) throw new RangeError(`score of slot ${k} exceeds 2^64`);
    return s;
  });
}
