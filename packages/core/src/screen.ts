/**
 * What every decision rule shares before it looks at the updates (docs/PROOF-INTERFACE.md, "Decision
 * proof"): the decision's inputs, the quorum, the screen of the slots and the status precedence,
 * and the mask words.
 *
 * - slot `k` is empty when `c[k] = 0` (also a slot flagged unavailable on chain and not answered:
 *   its public commitment is 0); excluded when it is not decoded, for a proven reason (ephemeral key
 *   off the curve, plaintext proven malformed; ignored for empty slots); duplicated when another
 *   slot (any status) holds the same non-zero commitment. Valid = none of them.
 * - status precedence: empty `0`, then excluded `3`, then duplicate `2`, then the rule's (`1`
 *   counted, `2` not counted).
 * - quorum: with fewer than `roundQuorum(f)` valid slots (by the owner's reference) or
 *   `consensusQuorum(f)` (by consensus) the rule counts nobody.
 */
import { SlotStatus } from "./slot-status.ts";

/** Inputs of a round's decision; all arrays have `K_MAX` entries. */
export interface DecisionInput {
  /** `c[k]`, `0n` for an empty slot. */
  readonly commitments: readonly bigint[];
  /** Slots that are not decoded (ephemeral key off the curve, plaintext proven malformed). */
  readonly excluded: readonly boolean[];
  /** Full symmetric Gram matrix of all slots (rows of invalid slots are ignored). */
  readonly gram: readonly (readonly bigint[])[];
  /** Tolerated number of Byzantine trainers (`0 <= f < 256`): it sets the quorum. */
  readonly f: number;
}

/**
 * Smallest number of revealed updates with which a round is aggregated (the contract's `_quorum`:
 * below it the round is skipped), and of valid updates with which the rule by the owner's
 * reference counts anyone: `max(3, 2f + 1)`.
 *
 * - `2f + 1`: an honest majority. The rule by the reference judges each update against `v` alone;
 *   the one statistic the others move is the lower median of the norms, which an honest majority
 *   keeps within the honest norms.
 * - Not more: `f` Byzantine trainers that commit and never reveal must not be able to skip
 *   rounds, which keeps honest work unpaid and returns the reward to an owner who controls them.
 *   With `K` slots, `f` withheld reveals leave `K - f >= roundQuorum(f)` updates whenever
 *   `K >= 3f + 1` (the old quorum `2f + 3` needed `K >= 3f + 3`: two withholders stopped every
 *   round of the benchmark's 8 slots with `f = 2`).
 * - At least 3, so that an aggregate is never one or two trainers' updates.
 */
export function roundQuorum(f: number): number {
  return Math.max(3, 2 * f + 1);
}

/**
 * Smallest number of valid updates with which the rule by consensus counts anyone, and the least
 * number of slots a project may have: `2f + 3`. The consensus test asks each update to agree with
 * the sum of the others; with `f + 2` honest others against `f` colluding ones the honest side
 * keeps its margin (Multi-Krum's robustness condition, kept by the consensus rule). A round
 * between the two quorums without a counting reference is aggregated with nobody counted.
 */
export function consensusQuorum(f: number): number {
  return 2 * f + 3;
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
