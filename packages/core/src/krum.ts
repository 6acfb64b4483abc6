/**
 * Multi-Krum over the valid trainer slots, scores, and the hints the decision circuit checks.
 *
 * Rules (docs/PROOF-INTERFACE.md, "Decision proof"):
 * - slot `k` is empty when `c[k] = 0` (also a slot flagged unavailable on chain and not answered:
 *   its public commitment is 0); excluded when it is not decoded, for a proven reason (ephemeral key
 *   off the curve, plaintext proven malformed; ignored for empty slots); duplicated when another
 *   slot (any status) holds the same non-zero commitment.
 *   Valid set `V` = non-empty, non-excluded, non-duplicated slots; `n = |V|`.
 * - status precedence: empty `0`, then excluded `3`, then duplicate `2`, then Multi-Krum
 *   (`1` inlier, `2` not aggregated).
 * - if `n >= 2f + 3` (`multiKrumQuorum(f)`, Multi-Krum's robustness condition): Krum score of
 *   `i in V` = sum of its `m = n - f - 2` smallest squared distances to the other members of `V`;
 *   inliers = the `n - f` smallest keys `krum * K_MAX + slot` (ties broken by the lower slot).
 *   Otherwise nobody is aggregated.
 * - score of an inlier `k` = `max(0, sum_{i inlier} G[k][i])`, which must be `< 2^64`; others 0.
 */
import { SCORE_BITS } from "./config.ts";
import { squaredDistance } from "./gram.ts";
import { SlotStatus } from "./slot-status.ts";

/** Inputs of the Multi-Krum decision; all arrays have `K_MAX` entries. */
export interface KrumInput {
  /** `c[k]`, `0n` for an empty slot. */
  readonly commitments: readonly bigint[];
  /** Slots that are not decoded (ephemeral key off the curve, plaintext proven malformed). */
  readonly excluded: readonly boolean[];
  /** Full symmetric Gram matrix of all slots (rows of invalid slots are ignored). */
  readonly gram: readonly (readonly bigint[])[];
  /** Tolerated number of Byzantine trainers (`0 <= f < 256`). */
  readonly f: number;
}

/** Result of Multi-Krum plus the hints the decision circuit verifies. */
export interface KrumResult {
  readonly status: SlotStatus[];
  readonly empty: boolean[];
  /** Effective exclusion flags (`excluded && !empty`): the circuit's `excluded` signal. */
  readonly excluded: boolean[];
  readonly duplicate: boolean[];
  readonly valid: boolean[];
  /** `|V|`. */
  readonly n: number;
  /** `n >= multiKrumQuorum(f)` (`2f + 3`). */
  readonly active: boolean;
  readonly inliers: boolean[];
  /** Krum scores of valid slots (0 for the others or when inactive). */
  readonly krumScores: bigint[];
  /** Rewards `s_k`. */
  readonly scores: bigint[];
  /** Hint: `selected[i][j]` = distance `d_ij` is among the `m` summed for `i`. */
  readonly selected: boolean[][];
  /** Hint: `tau[i]` = largest selected distance of row `i` (0 when none). */
  readonly tau: bigint[];
  /** Hint: keys of inliers are `< keyThreshold <=` keys of valid non-inliers. */
  readonly keyThreshold: bigint;
}

/**
 * Smallest number of valid updates `n` for which Multi-Krum aggregates: `2f + 3` (its robustness
 * guarantee against `f` Byzantine trainers needs `n >= 2f + 3`). Below it nobody is aggregated.
 */
export function multiKrumQuorum(f: number): number {
  return 2 * f + 3;
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
  const active = n >= multiKrumQuorum(f);

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

/** The statuses every decision rule shares, before it looks at the updates. */
export interface SlotScreen {
  readonly empty: boolean[];
  /** Effective exclusion flags (`excluded && !empty`). */
  readonly excluded: boolean[];
  /** Non-empty, and another slot holds the same commitment. */
  readonly duplicate: boolean[];
  /** Non-empty, decoded, no duplicate commitment: the slots a rule decides about. */
  readonly valid: boolean[];
}

/** Empty (`c = 0`), excluded (not decoded; ignored for empty slots), duplicate commitment, valid. */
export function screenSlots(commitments: readonly bigint[], notDecoded: readonly boolean[]): SlotScreen {
  const empty = commitments.map((c) => c === 0n);
  const excluded = notDecoded.map((e, i) => e && !empty[i]);
  const duplicate = commitments.map((c, i) => c !== 0n && commitments.some((d, j) => j !== i && d === c));
  const valid = commitments.map((_, i) => !empty[i] && !excluded[i] && !duplicate[i]);
  return { empty, excluded, duplicate, valid };
}

/** Status precedence: empty `0`, excluded `3`, then `1` for the rule's selected slots, `2` for the rest. */
export function slotStatuses(screen: Pick<SlotScreen, "empty" | "excluded">, selected: readonly boolean[]): SlotStatus[] {
  return screen.empty.map((isEmpty, i): SlotStatus => {
    if (isEmpty) return SlotStatus.Empty;
    if (screen.excluded[i]) return SlotStatus.Excluded;
    return selected[i] ? SlotStatus.Inlier : SlotStatus.NotAggregated;
  });
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

/** Number of set bits: the aggregation count `n` of a mask. */
export function popcount(mask: bigint): number {
  let n = 0;
  for (let m = mask; m > 0n; m >>= 1n) n += Number(m & 1n);
  return n;
}

/** Mask word `sum_k inlier_k * 2^k`. */
export function maskOf(flags: readonly boolean[]): bigint {
  return flags.reduce((acc, flag, k) => (flag ? acc | (1n << BigInt(k)) : acc), 0n);
}

/** Flags of a mask word for `k` slots. */
export function flagsOf(mask: bigint, k: number): boolean[] {
  return Array.from({ length: k }, (_, i) => ((mask >> BigInt(i)) & 1n) === 1n);
}
