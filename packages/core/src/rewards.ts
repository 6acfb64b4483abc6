/**
 * The money rules of `contracts/FedMarket.sol`, off chain: the one reference of what the contract
 * pays, used by the audit and the tests (test/RewardRules.differential.test.ts pins the contract
 * to it on random rounds).
 *
 * - Finalized round (`finalizeRound`): only the round's submissions count. With `total` = the sum
 *   of the inliers' scores, inlier `k` is credited `mulDiv(reward, score_k, total)` =
 *   `floor(reward * score_k / total)` (OpenZeppelin `Math.mulDiv`: exact product, rounded down);
 *   every other slot, and an inlier scored 0, gets 0; the `remainder = reward - paid` (rounding
 *   dust) goes back to the budget. If `total` is 0 the whole reward is split equally (`equalShares`)
 *   among the inliers (a single kept cluster scores 0: it has no other cluster to align with);
 *   without inliers among the valid slots (inlier or not aggregated: the rule judged nobody), or
 *   among all of them if none is valid. A slot the rule left out is never paid while another was
 *   counted.
 * - Failed round (`failRound`, quorum reached, aggregator silent): `slashed = min(slashAmount,
 *   bondPosted)` leaves the bond; each of the `n` submitters is credited `floor(floor(slashed / 2)
 *   / n)` and the owner the rest. The round reward is split equally among the submitters, and the
 *   rest of the bond goes back to the aggregator.
 * - Cancelled below quorum (`cancelProject`): the open round's reward is split equally among its
 *   submitters (none: it goes back to the budget).
 * - Reference deposit (`commitReference`): committing the owner's reference takes the round's
 *   reward from the budget; when the round closes it returns to the budget if the reference counts
 *   (committed, published, answered if flagged) or the round had no quorum, and is otherwise burned
 *   (credited to the zero address): `referenceDepositReturned`.
 * - Equal splits (`equalShares`) pay all of the amount: `floor(amount / n)` each, one unit more for
 *   the first `amount % n` slots. Only a skipped round returns its reward to the budget.
 * - Round rewards (`_openRound`): round `r` reserves `min(next_r, budget)` from the budget, where
 *   `next_0 = rewardPerRound` and `next_{r+1} = floor(next_r * rewardDecayPpm / 1e6)`
 *   (`roundRewardSchedule`); every round is opened once, so the schedule depends on the round's
 *   index only, not on which rounds before it were skipped or failed.
 * - Refunds (`_closeProject`, `claimRefund`): the unspent budget is refunded pro rata to everything
 *   deposited; third-party funders' part (rounded down) goes to a pool they claim from, each
 *   `floor(pool * deposit / unclaimedDeposits)`, the last one what is left (`refundSplit`,
 *   `refundClaim`).
 *
 * Amounts are wei or token units (`uint256`), scores the proven 64-bit scores. A change of the
 * contract's rules changes this file and the differential test together.
 */
import { SCORE_BITS } from "./config.ts";
import { assertUnsignedBits } from "./field.ts";
import { SlotStatus } from "./slot-status.ts";

/** Bits of a Solidity `uint256` amount. */
const AMOUNT_BITS = 256;

/** How a finalized round's reward is split. */
export interface RewardShares {
  /** What each submitted slot is credited, in slot order (`ContributionRecorded.reward`). */
  readonly rewards: bigint[];
  /** Sum of the inliers' scores (`RoundFinalized.totalScore`). */
  readonly totalScore: bigint;
  /** Sum of `rewards` (`RoundFinalized.paid`); never more than the reward. */
  readonly paid: bigint;
  /** `reward - paid`: what returns to the project's budget. */
  readonly remainder: bigint;
}

/** How a failed round's slash is split. */
export interface SlashSplit {
  /** Taken from the aggregator's bond (`RoundFailed.slashed`). */
  readonly slashed: bigint;
  /** Credited to each of the round's submitters (`RoundFailed.slashPerTrainer`). */
  readonly perTrainer: bigint;
  /** Credited to the project's owner: the other half plus the rounding dust. */
  readonly toOwner: bigint;
}

/**
 * The scores the contract pays on: a slot's proven score if it is an inlier, 0 otherwise (the
 * contract ignores the score bits of any other status). Pass the outcomes of the submitted slots.
 */
export function payableScores(outcomes: readonly { readonly status: number; readonly score: bigint }[]): bigint[] {
  return outcomes.map((o) => (o.status === SlotStatus.Inlier ? o.score : 0n));
}

/** A submitted slot's proven outcome (as `unpackOutcome` gives it, or decoded from events). */
export type RewardOutcome = { readonly status: number; readonly score: bigint };

/**
 * Splits a finalized round's `reward` over its submitted slots exactly as `finalizeRound` does,
 * so that nodes, the audit and tests can say what every trainer is owed without the chain.
 *
 * Pass the proven outcomes of the round's submitted slots, in slot order. Passing only the payable
 * scores (`payableScores`: 0 unless an inlier) is enough while their total is positive; a round
 * whose total is 0 is split by status, so it then throws and asks for the outcomes.
 */
export function rewardShares(reward: bigint, outcomes: readonly RewardOutcome[]): RewardShares;
export function rewardShares(reward: bigint, scores: readonly bigint[]): RewardShares;
export function rewardShares(reward: bigint, slots: readonly RewardOutcome[] | readonly bigint[]): RewardShares {
  assertUnsignedBits(reward, AMOUNT_BITS, "reward");
  const outcomes: readonly RewardOutcome[] | undefined = slots.every((s): s is RewardOutcome => typeof s !== "bigint") ? slots : undefined;
  const scores = outcomes === undefined ? (slots as readonly bigint[]) : payableScores(outcomes);
  scores.forEach((s, k) => assertUnsignedBits(s, SCORE_BITS, `score of slot ${k}`));
  const totalScore = scores.reduce((a, s) => a + s, 0n);
  let rewards: bigint[];
  if (totalScore !== 0n || scores.length === 0) {
    // mulDiv floors the exact product; bigint division truncates, which is the floor for values >= 0.
    rewards = scores.map((s) => (s === 0n ? 0n : (reward * s) / totalScore));
  } else if (outcomes === undefined) {
    throw new RangeError("the total score is 0, so the reward is split by slot status: pass the slots' outcomes, not their scores");
  } else {
    // The counted slots if any (one kept cluster has no other to score against), else every valid
    // slot (the rule judged nobody), else every slot.
    const inliers = outcomes.map((o) => o.status === SlotStatus.Inlier);
    const valid = outcomes.map((o) => o.status === SlotStatus.Inlier || o.status === SlotStatus.NotAggregated);
    const eligible = inliers.some(Boolean) ? inliers : valid.some(Boolean) ? valid : valid.map(() => true);
    const parts = equalShares(reward, eligible.filter(Boolean).length);
    let next = 0;
    rewards = eligible.map((e) => (e ? (parts[next++] as bigint) : 0n));
  }
  const paid = rewards.reduce((a, r) => a + r, 0n);
  return { rewards, totalScore, paid, remainder: reward - paid };
}

/** An amount shared equally: what each gets, and the rounding dust left over. */
/** `rewardDecayPpm` of equal rounds (`FedMarketRounds.REWARD_DECAY_ONE`). */
export const REWARD_DECAY_ONE = 1_000_000;

/**
 * The reward each round of a project reserves when its budget suffices (`_openRound`): `rounds`
 * entries, the first `rewardPerRound`, each next one the previous times `decayPpm / 1e6`, rounded
 * down. `decayPpm` is in `[1, REWARD_DECAY_ONE]` (createProject refuses anything else).
 */
export function roundRewardSchedule(rewardPerRound: bigint, decayPpm: number, rounds: number): bigint[] {
  assertUnsignedBits(rewardPerRound, AMOUNT_BITS, "rewardPerRound");
  if (!Number.isInteger(decayPpm) || decayPpm < 1 || decayPpm > REWARD_DECAY_ONE) {
    throw new RangeError(`rewardDecayPpm must be an integer in [1, ${REWARD_DECAY_ONE}], got ${decayPpm}`);
  }
  if (!Number.isInteger(rounds) || rounds < 0) throw new RangeError(`rounds must be a non-negative integer, got ${rounds}`);
  const schedule: bigint[] = [];
  let next = rewardPerRound;
  for (let r = 0; r < rounds; r++) {
    schedule.push(next);
    next = (next * BigInt(decayPpm)) / BigInt(REWARD_DECAY_ONE);
  }
  return schedule;
}

export interface EqualSplit {
  /** `floor(amount / count)`. */
  readonly each: bigint;
  /** `amount - each * count`, always below `count`. */
  readonly remainder: bigint;
}

/**
 * Shares `amount` equally among `count` accounts, rounding down as Solidity's division does:
 * the building block of every per-head payment of the contract (the slash today).
 */
export function equalSplit(amount: bigint, count: number): EqualSplit {
  assertUnsignedBits(amount, AMOUNT_BITS, "amount");
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`count ${count} must be a positive integer`);
  const n = BigInt(count);
  const each = amount / n;
  return { each, remainder: amount - each * n };
}

/**
 * Shares `amount` among `count` slots exactly as the contract's equal splits do: `floor(amount /
 * count)` each and one unit more for the first `amount % count`, so all of it is paid (a failed
 * round's or a cancelled round's reward, a zero-total round's reward). Slot order.
 */
export function equalShares(amount: bigint, count: number): bigint[] {
  const { each, remainder } = equalSplit(amount, count);
  return Array.from({ length: count }, (_, k) => (BigInt(k) < remainder ? each + 1n : each));
}

/**
 * Splits a failed round's slash exactly as `failRound` does: half of what the bond can cover
 * compensates the round's `submissions` trainers equally, the rest goes to the owner.
 */
export function slashSplit(slashAmount: bigint, bondPosted: bigint, submissions: number): SlashSplit {
  assertUnsignedBits(slashAmount, AMOUNT_BITS, "slash amount");
  assertUnsignedBits(bondPosted, AMOUNT_BITS, "posted bond");
  // failRound needs a quorum (2f + 3) of submissions; with none there would be nobody to pay.
  if (!Number.isSafeInteger(submissions) || submissions < 1) {
    throw new RangeError(`submissions ${submissions} must be a positive integer`);
  }
  const slashed = slashAmount < bondPosted ? slashAmount : bondPosted;
  // `slashed / 2 / n` in the contract: floor(floor(s / 2) / n).
  const perTrainer = equalSplit(slashed / 2n, submissions).each;
  return { slashed, perTrainer, toOwner: slashed - perTrainer * BigInt(submissions) };
}

/** What a failed round credits (`failRound`). */
export interface FailedRoundSplit extends SlashSplit {
  /** Each submitter's credit, in slot order: its slash share and its equal part of the round reward. */
  readonly credits: bigint[];
  /** Credited back to the aggregator: the bond it posted minus the slash (`RoundFailed.bondReturned`). */
  readonly bondReturned: bigint;
}

/**
 * Everything a failed round credits, as `failRound` does: the slash (`slashSplit`), the round's
 * `reward` split equally among its `submissions` (`equalShares`), and the rest of the bond back to
 * the aggregator, whose appointment ends.
 */
export function failedRoundSplit(reward: bigint, slashAmount: bigint, bondPosted: bigint, submissions: number): FailedRoundSplit {
  assertUnsignedBits(reward, AMOUNT_BITS, "reward");
  const slash = slashSplit(slashAmount, bondPosted, submissions);
  const credits = equalShares(reward, submissions).map((part) => part + slash.perTrainer);
  return { ...slash, credits, bondReturned: bondPosted - slash.slashed };
}

/** What a voided optimistic round credits (`IFedMarketOptimistic.voidRound`). */
export interface VoidedRoundSplit {
  /** Each revealed slot's credit, in slot order: its equal part of the held payout and its slash share. */
  readonly credits: bigint[];
  /** Each slot's slash share, `floor(stake / 2 / n)` (`RoundVoided.slashPerTrainer`). */
  readonly perTrainer: bigint;
  /** The challenger's credit: its deposit back and the rest of the stake. */
  readonly toChallenger: bigint;
}

/**
 * Everything a voided optimistic round credits, as `voidRound` does: the round's held `payout` is
 * split like a failed round's reward (`equalShares` over its `trainers` revealed slots), the
 * challenge's `stake` (the bond it held) like a failed round's slash (`slashSplit`: half in equal
 * shares to those slots), and the challenger, not the owner, takes the rest of the stake with its
 * `deposit`.
 */
export function voidedRoundSplit(payout: bigint, stake: bigint, deposit: bigint, trainers: number): VoidedRoundSplit {
  assertUnsignedBits(deposit, AMOUNT_BITS, "deposit");
  const failed = failedRoundSplit(payout, stake, stake, trainers);
  return { credits: failed.credits, perTrainer: failed.perTrainer, toChallenger: deposit + failed.toOwner };
}

/** How a closing project's unspent budget is refunded. */
export interface RefundSplit {
  /** Credited to the owner at once: its pro-rata part, rounded up. */
  readonly toOwner: bigint;
  /** Kept for third-party funders to claim (`ProjectClosed.refundPool`). */
  readonly pool: bigint;
}

/**
 * Splits the unspent budget `refund` of a closing project as `_closeProject` does: pro rata to the
 * deposits, `pool = floor(refund * funderDeposits / deposited)` for the third-party funders, the
 * rest to the owner (`deposited` counts every deposit, the owner's included).
 */
export function refundSplit(refund: bigint, deposited: bigint, funderDeposits: bigint): RefundSplit {
  assertUnsignedBits(refund, AMOUNT_BITS, "refund");
  assertUnsignedBits(deposited, AMOUNT_BITS, "deposits");
  assertUnsignedBits(funderDeposits, AMOUNT_BITS, "funder deposits");
  if (funderDeposits > deposited) throw new RangeError(`funder deposits ${funderDeposits} exceed all deposits ${deposited}`);
  const pool = funderDeposits === 0n ? 0n : (refund * funderDeposits) / deposited;
  return { toOwner: refund - pool, pool };
}

/**
 * A funder's claim on the refund pool, as `claimRefund` computes it: `floor(pool * deposit /
 * unclaimedDeposits)`, or the whole pool for the last claimant (`deposit == unclaimedDeposits`).
 */
export function refundClaim(pool: bigint, deposit: bigint, unclaimedDeposits: bigint): bigint {
  assertUnsignedBits(pool, AMOUNT_BITS, "refund pool");
  if (deposit <= 0n || deposit > unclaimedDeposits) throw new RangeError(`deposit ${deposit} must be in (0, ${unclaimedDeposits}]`);
  return deposit === unclaimedDeposits ? pool : (pool * deposit) / unclaimedDeposits;
}

/**
 * Whether a round's reference deposit returns to the budget when the round closes, as
 * `_settleReferenceDeposit` decides: without a quorum (no rule judged anyone, nothing was steered)
 * or when the reference counts in the decision proof; otherwise it is burned. A withheld reference
 * therefore costs the owner the round's reward, what choosing between the two rules can move.
 */
export function referenceDepositReturned(round: { readonly quorumReached: boolean; readonly referenceCounts: boolean }): boolean {
  return !round.quorumReached || round.referenceCounts;
}
