/**
 * The status of a trainer slot in a round's outcome, as the decision proof encodes it in two bits
 * and `IFedMarket.SlotStatus` records it in `ContributionRecorded`:
 *
 * - `0` `Empty` (`empty`): nobody submitted into the slot, or the aggregator flagged it on chain
 *   (`FedMarket.flagUnavailable`) and nobody published its sealed update in time (the decision proof
 *   then receives commitment 0 for it);
 * - `1` `Inlier` (`inlier`): counted by the proven rule (a member of a kept cluster; its
 *   representative is aggregated), and paid in proportion to its proven score;
 * - `2` `NotAggregated` (`not-aggregated`): an outlier of the consensus rule, a duplicated
 *   commitment, or a round with too few valid updates;
 * - `3` `Excluded` (`excluded`): the update was not decoded, for a proven reason only: its
 *   ephemeral key is off the curve, or a chunk proof showed its plaintext malformed
 *   (docs/PROOF-INTERFACE.md, "Sealed updates", stage 3). The aggregator cannot exclude a slot on
 *   its word: a slot it could not fetch is flagged on chain, and unless answered it is `Empty`.
 *
 * Names are identifiers for JSON reports; labels are the same words for prose and tables. Every
 * package maps codes to words through this file, so a new status is added in one place.
 */

/** Slot status codes of the outcome words (plain constants: no TypeScript enums). */
export const SlotStatus = {
  Empty: 0,
  Inlier: 1,
  NotAggregated: 2,
  Excluded: 3,
} as const;
/** One of the four status codes. */
export type SlotStatus = (typeof SlotStatus)[keyof typeof SlotStatus];

/** Identifier of each status, indexed by its code (machine-readable reports, e.g. `bench/demo.json`). */
export const SLOT_STATUS_NAMES = ["empty", "inlier", "not-aggregated", "excluded"] as const;
/** The identifier of a status. */
export type SlotStatusName = (typeof SLOT_STATUS_NAMES)[SlotStatus];

/** Label of each status, indexed by its code (human-readable reports, logs and tables). */
export const SLOT_STATUS_LABELS = ["empty", "inlier", "not aggregated", "excluded"] as const;
/** The label of a status. */
export type SlotStatusLabel = (typeof SLOT_STATUS_LABELS)[SlotStatus];

/** Whether `code` is one of the status codes (a value decoded from chain data or a file may not be). */
export function isSlotStatus(code: number): code is SlotStatus {
  return Number.isInteger(code) && code >= SlotStatus.Empty && code <= SlotStatus.Excluded;
}

/** The identifier of a status code; throws `RangeError` on a code no proof can carry. */
export function slotStatusName(code: number): SlotStatusName {
  if (!isSlotStatus(code)) throw new RangeError(`slot status ${code} is not one of 0..3`);
  return SLOT_STATUS_NAMES[code];
}

/**
 * The label of a status code, for display only: an unknown code is shown as its number rather than
 * throwing, so a report or log line about unexpected chain data still gets written.
 */
export function slotStatusLabel(code: SlotStatus): SlotStatusLabel;
export function slotStatusLabel(code: number): SlotStatusLabel | `${number}`;
export function slotStatusLabel(code: number): SlotStatusLabel | `${number}` {
  return isSlotStatus(code) ? SLOT_STATUS_LABELS[code] : `${code}`;
}
