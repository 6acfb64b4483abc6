/**
 * The escrow check: what the market holds for the project adds up.
 * - `budget + roundReward + referenceDeposit` equals the deposits (`ProjectCreated` budget,
 *   `ProjectFunded`) minus the payouts (finalized rounds' `paid`, failed rounds' reward, a
 *   below-quorum cancellation's split), the reference deposits burned (`ReferenceDepositSettled`
 *   not returned: the owner withheld a reference it committed) and the refund at closing
 *   (`ProjectClosed.budgetRefunded`);
 * - the funders' refund pool equals what the closing reserved for them minus their `RefundClaimed`s;
 * - the aggregator's bond equals what was posted (`AggregatorAccepted`) minus slashes, returns after
 *   failed rounds and the release at closing;
 * - the market's balance of the project's token covers `totalLiabilities(token)` (a surplus is a
 *   warning: funds sent to the market outside its functions);
 * - every round reserved at most its entry of the project's reward schedule (`RoundOpened.reward`
 *   against core `roundRewardSchedule` of the created config): less only when the budget ran short.
 */
import { roundRewardSchedule } from "@fedmarket/core";
import { ETH_TOKEN } from "@fedmarket/protocol";
import type { AuditContext } from "../context.ts";
import { failure, info, warning, type Finding } from "../findings.ts";

/** The escrow's identities, expected vs on chain (the report's "Escrow" section). */
export interface EscrowAudit {
  readonly token: string;
  readonly deposits: bigint;
  readonly paid: bigint;
  /** Reference deposits burned. */
  readonly burned: bigint;
  readonly refunded: bigint;
  readonly expectedBudgetAndReserve: bigint;
  readonly budgetAndReserve: bigint;
  /** Refund not yet claimed by third-party funders: on chain, and reserved at closing minus claims. */
  readonly refundPool: bigint;
  readonly expectedRefundPool: bigint;
  readonly bondPosted: bigint;
  readonly expectedBondPosted: bigint;
  readonly marketBalance: bigint;
  readonly totalLiabilities: bigint;
}

/** The project's escrow accounts from its history and the market's state; `undefined` without `ProjectCreated`. */
export async function escrowAccount(ctx: AuditContext): Promise<EscrowAudit | undefined> {
  const { history: h, project } = ctx;
  if (h.created === undefined) return undefined;
  const deposits = h.created.budget + h.funded.reduce((a, f) => a + f.amount, 0n);
  // Payouts: proven shares of finalized rounds, failed rounds' rewards, a round cancelled below quorum.
  const cancelSplit = h.cancelled?.roundStillOpen === false ? h.cancelled.rewardToSubmitters : 0n;
  const paid =
    cancelSplit +
    h.rounds.reduce((a, r) => a + (r.end?.kind === "finalized" ? r.end.paid : r.end?.kind === "failed" ? r.end.reward : 0n), 0n);
  // Reference deposits the owner forfeited by withholding a committed reference (core `referenceDepositReturned`).
  const burned = h.rounds.reduce((a, r) => a + (r.referenceDeposit?.returned === false ? r.referenceDeposit.deposit : 0n), 0n);
  // The unspent budget is refunded once, when the project closes.
  const refunded = h.closed?.budgetRefunded ?? 0n;
  const expected = deposits - paid - burned - refunded;
  const expectedPool = (h.closed?.refundPool ?? 0n) - h.refundClaims.reduce((a, c) => a + c.amount, 0n);
  // The bond: posted - slashed - returned after failures - released at the end.
  const failed = h.rounds.flatMap((r) => (r.end?.kind === "failed" ? [r.end] : []));
  const slashed = failed.reduce((a, f) => a + f.slashed, 0n);
  const returned = failed.reduce((a, f) => a + f.bondReturned, 0n);
  // Optimistic rounds: a void slashes the stake its challenge held, a challenge still open holds its
  // stake apart, and a bond kept past the end for the last one is released later (BondReleased).
  const optimistic = h.rounds.flatMap((r) => (r.optimistic === undefined ? [] : [r.optimistic]));
  const voidSlashed = optimistic.reduce((a, o) => a + (o.voided?.slashed ?? 0n), 0n);
  const held = optimistic.reduce((a, o) => {
    const open = o.challenges.length > o.answered.length + (o.voided === undefined ? 0 : 1);
    return open ? a + (o.challenges.at(-1)?.stake ?? 0n) : a;
  }, 0n);
  const releasedLate = h.bondsReleased.reduce((a, b) => a + b.amount, 0n);
  const expectedBond =
    h.accepted.reduce((a, x) => a + x.amount, 0n) - slashed - returned - (h.closed?.bondReleased ?? 0n) - voidSlashed - held - releasedLate;
  const { balance, liabilities } = await ctx.marketHoldings();
  return {
    token: project.token,
    deposits,
    paid,
    burned,
    refunded,
    expectedBudgetAndReserve: expected,
    budgetAndReserve: project.budget + project.roundReward + project.referenceDeposit,
    refundPool: project.refundPool,
    expectedRefundPool: expectedPool,
    bondPosted: project.bondPosted,
    expectedBondPosted: expectedBond,
    marketBalance: balance,
    totalLiabilities: liabilities,
  };
}

export async function checkEscrow(ctx: AuditContext): Promise<Finding[]> {
  const e = await escrowAccount(ctx);
  if (e === undefined) return [info("escrow", "no ProjectCreated event in the history read: the deposits are unknown")];
  const { project, history } = ctx;
  const findings: Finding[] = [];
  if (e.budgetAndReserve !== e.expectedBudgetAndReserve) {
    findings.push(
      failure(
        "escrow",
        `escrow: project ${history.projectId} holds budget ${project.budget} + reserved ${project.roundReward} + reference deposit ${project.referenceDeposit} = ${e.budgetAndReserve}, but deposits ${e.deposits} - payouts ${e.paid} - burned ${e.burned} - refunds ${e.refunded} = ${e.expectedBudgetAndReserve}`,
      ),
    );
  }
  if (e.refundPool !== e.expectedRefundPool) {
    findings.push(
      failure("escrow", `escrow: the funders' refund pool is ${e.refundPool}, but reserved at closing - claimed = ${e.expectedRefundPool}`),
    );
  }
  if (e.bondPosted !== e.expectedBondPosted) {
    findings.push(
      failure(
        "escrow",
        `escrow: the aggregator's bond is ${e.bondPosted}, but posted - slashed - returned - released = ${e.expectedBondPosted}`,
      ),
    );
  }
  if (e.marketBalance < e.totalLiabilities) {
    findings.push(
      failure(
        "escrow",
        `escrow: the market holds ${e.marketBalance} of ${e.token === ETH_TOKEN ? "ETH" : e.token} but owes totalLiabilities ${e.totalLiabilities}`,
      ),
    );
  } else if (e.marketBalance > e.totalLiabilities) {
    findings.push(
      warning(
        "escrow",
        `escrow: the market holds ${e.marketBalance - e.totalLiabilities} more than it owes (tokens or ETH sent to it outside the contract's functions)`,
      ),
    );
  }
  findings.push(...checkSchedule(ctx));
  return findings;
}

/** Each round's reserve against the project's reward schedule (`_openRound`: `min(schedule_r, budget)`). */
function checkSchedule(ctx: AuditContext): Finding[] {
  const created = ctx.history.created;
  if (created === undefined) return [];
  const schedule = roundRewardSchedule(created.rewardPerRound, created.rewardDecayPpm, created.numRounds);
  return ctx.history.rounds.flatMap((r) => {
    const reserved = r.opened?.reward;
    const entry = schedule[r.round];
    if (reserved === undefined || entry === undefined || reserved <= entry) return [];
    return [
      failure(
        "escrow",
        `escrow: round ${r.round} reserved ${reserved}, above its reward ${entry} in the project's schedule (rewardPerRound ${created.rewardPerRound}, rewardDecayPpm ${created.rewardDecayPpm})`,
      ),
    ];
  });
}
