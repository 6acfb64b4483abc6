/**
 * The payouts check: every credit the market made for a round follows @fedmarket/core's money rules.
 * - A finalized round: each `ContributionRecorded` names the submitter and the proven status and
 *   score, and pays `mulDiv(reward, score, total)`, or with a zero total an equal part
 *   (`rewardShares` over the proven outcomes); `RoundFinalized`'s total score and `paid` add up.
 * - A failed round: its reserved reward in equal parts to its revealed submitters, the slash split as
 *   `failedRoundSplit` says, the rest of the bond back to the aggregator.
 * - A round cancelled below quorum: its reserved reward in equal parts to the trainers that committed
 *   in it, in slot order (`equalShares`).
 * In each case the `Credited` logs of the deciding transaction are exactly those amounts, plus the
 * `ProjectClosed` refunds when that transaction also closed the project (an optimistic round: the
 * settling or voiding transaction, `checkOptimisticCredits`). A round that did not end
 * in a finalization records no contribution.
 */
import { equalShares, failedRoundSplit, rewardShares, slotStatusLabel, voidedRoundSplit } from "@fedmarket/core";
import type { RoundHistory } from "@fedmarket/protocol";
import { chainCannotRun } from "../cannot-run.ts";
import type { AuditContext } from "../context.ts";
import { cancellationOf } from "../facts.ts";
import { failure, type Finding } from "../findings.ts";

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function addCredit(credits: Map<string, bigint>, account: string, amount: bigint): void {
  const key = account.toLowerCase();
  if (amount > 0n) credits.set(key, (credits.get(key) ?? 0n) + amount);
}

/** When `txHash` also closed the project: the owner's refund (the funders' pool stays in the market) and the bond. */
function addClosingCredits(ctx: AuditContext, credits: Map<string, bigint>, txHash: string, aggregator: string): void {
  const closed = ctx.history.closed;
  if (closed === undefined || closed.transactionHash !== txHash) return;
  addCredit(credits, ctx.project.owner, closed.budgetRefunded - closed.refundPool);
  addCredit(credits, aggregator, closed.bondReleased);
}

/** The `Credited` logs of `txHash` must be exactly `expected` (by account). */
async function checkCredits(
  ctx: AuditContext,
  round: number,
  txHash: string,
  expected: ReadonlyMap<string, bigint>,
  what: string,
  rule: string,
): Promise<Finding[]> {
  const credits = await ctx.chain.credited(txHash);
  const findings: Finding[] = [];
  for (const [account, amount] of expected) {
    const got = credits.get(account) ?? 0n;
    if (got !== amount)
      findings.push(failure("payouts", `round ${round}: ${account} was Credited ${got} in ${what}, ${rule} is ${amount}`, { round }));
  }
  for (const [account, amount] of credits) {
    if (!expected.has(account))
      findings.push(failure("payouts", `round ${round}: ${account} was Credited ${amount} in ${what} without a share`, { round }));
  }
  return findings;
}

/** `ContributionRecorded` == proven outcome, reward == mulDiv(reward, score, total), Credited in the same tx. */
async function checkFinalizedRound(
  ctx: AuditContext,
  r: RoundHistory,
  outcomes: readonly { status: number; score: bigint }[],
  reward: bigint,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const round = r.round;
  const end = r.end;
  if (end?.kind !== "finalized" || outcomes.length === 0) return findings;
  // What the contract must have paid: @fedmarket/core's rule over the revealed slots' proven outcomes
  // (in slot order; drawn slots need not be contiguous).
  const revealed = r.submissions.map((s) => outcomes[s.slot] ?? { status: 0, score: 0n });
  const shares = rewardShares(reward, revealed);
  const total = shares.totalScore;
  if (total !== end.totalScore) {
    findings.push(
      failure(
        "payouts",
        `round ${round}: RoundFinalized reports a total score of ${end.totalScore}, the proven inlier scores add up to ${total}`,
        { round },
      ),
    );
  }
  const expectedCredits = new Map<string, bigint>();
  for (const [k, s] of r.submissions.entries()) {
    const o = outcomes[s.slot];
    if (o === undefined) continue;
    const at = { round, slot: s.slot };
    const c = r.contributions.find((x) => x.slot === s.slot);
    const expected = shares.rewards[k] ?? 0n;
    if (c === undefined) {
      findings.push(failure("payouts", `round ${round} slot ${s.slot} (${s.trainer}): no ContributionRecorded event`, at));
      continue;
    }
    if (c.trainer.toLowerCase() !== s.trainer.toLowerCase()) {
      findings.push(
        failure("payouts", `round ${round} slot ${s.slot}: ContributionRecorded names ${c.trainer}, the submission was ${s.trainer}`, at),
      );
    }
    if (c.status !== o.status || c.score !== o.score) {
      findings.push(
        failure(
          "payouts",
          `round ${round} slot ${s.slot} (${s.trainer}): recorded ${slotStatusLabel(c.status)} with score ${c.score}, the proof says ${slotStatusLabel(o.status)} with score ${o.score}`,
          at,
        ),
      );
    }
    if (c.reward !== expected) {
      const rule = total === 0n ? `an equal part of ${reward} (zero total score)` : `mulDiv(${reward}, ${o.score}, ${total})`;
      findings.push(
        failure(
          "payouts",
          `round ${round} slot ${s.slot} (${s.trainer}): credited ${c.reward}, the proven share is ${rule} = ${expected}`,
          at,
        ),
      );
    }
    addCredit(expectedCredits, s.trainer, expected);
  }
  if (shares.paid !== end.paid) {
    findings.push(
      failure("payouts", `round ${round}: RoundFinalized reports ${end.paid} paid, the proven shares add up to ${shares.paid}`, { round }),
    );
  }
  if (r.optimistic?.committed !== undefined) return [...findings, ...(await checkOptimisticCredits(ctx, r, expectedCredits))];
  // The last round's finalization also closes the project: the owner's part of the unspent budget
  // and the bond to the aggregator, as the ProjectClosed event in the same transaction says.
  addClosingCredits(ctx, expectedCredits, end.transactionHash, ctx.project.aggregator);
  findings.push(
    ...(await checkCredits(
      ctx,
      round,
      end.transactionHash,
      expectedCredits,
      "the finalization",
      "its proven share (plus any closing refund)",
    )),
  );
  return findings;
}

/**
 * An optimistic round's credits: its finalization credits only a closing refund (the shares are
 * held); its settlement credits exactly the proven shares (`shares`, plus the bond kept for it if it
 * is released there); a voided round's void credits `voidedRoundSplit`'s parts instead. A round
 * still inside its window has credited nothing yet.
 */
async function checkOptimisticCredits(ctx: AuditContext, r: RoundHistory, shares: ReadonlyMap<string, bigint>): Promise<Finding[]> {
  const round = r.round;
  const end = r.end;
  const o = r.optimistic;
  if (end === undefined || o === undefined) return [];
  const closing = new Map<string, bigint>();
  addClosingCredits(ctx, closing, end.transactionHash, ctx.project.aggregator);
  const findings = await checkCredits(
    ctx,
    round,
    end.transactionHash,
    closing,
    "the optimistic finalization",
    "nothing but a closing refund",
  );
  const released = (txHash: string, credits: Map<string, bigint>): void => {
    for (const b of ctx.history.bondsReleased) if (b.transactionHash === txHash) addCredit(credits, b.aggregator, b.amount);
  };
  if (o.settled !== undefined) {
    const expected = new Map(shares);
    released(o.settled.transactionHash, expected);
    findings.push(...(await checkCredits(ctx, round, o.settled.transactionHash, expected, "the settlement", "its held proven share")));
  } else if (o.voided !== undefined) {
    const v = o.voided;
    const deposit = (await ctx.chain.optimisticParams(ctx.history.projectId)).challengeDeposit;
    const split = voidedRoundSplit(v.payout, v.slashed, deposit, v.trainers);
    const expected = new Map<string, bigint>();
    r.submissions.forEach((s, k) => addCredit(expected, s.trainer, split.credits[k] ?? 0n));
    addCredit(expected, v.challenger, split.toChallenger);
    released(v.transactionHash, expected);
    findings.push(...(await checkCredits(ctx, round, v.transactionHash, expected, "the void", "voidedRoundSplit's part")));
    findings.push(
      failure("payouts", `round ${round}: voided: a challenge by ${v.challenger} went unanswered, so its chunk proofs were never shown`, {
        round,
      }),
    );
  }
  return findings;
}

/**
 * A failed round: its reserved reward split equally among its submitters, the slash split as
 * `failedRoundSplit` says, the rest of the bond back to the aggregator, all Credited in the same
 * transaction.
 */
async function checkFailedRound(ctx: AuditContext, r: RoundHistory, reward: bigint): Promise<Finding[]> {
  const end = r.end;
  if (end?.kind !== "failed") return [];
  const round = r.round;
  const n = r.submissions.length;
  const findings: Finding[] = [];
  if (end.reward !== reward)
    findings.push(
      failure("payouts", `round ${round}: RoundFailed split a reward of ${end.reward}, the round reserved ${reward}`, { round }),
    );
  if (n === 0) return [...findings, failure("payouts", `round ${round}: failed without a submission`, { round })];
  // The event names the slash and the bond's rest, so the bond before was their sum.
  const want = failedRoundSplit(reward, end.slashed, end.slashed + end.bondReturned, n);
  if (end.slashPerTrainer !== want.perTrainer) {
    findings.push(
      failure(
        "payouts",
        `round ${round}: RoundFailed gives each submitter ${end.slashPerTrainer} of the slash, floor(${end.slashed} / 2 / ${n}) = ${want.perTrainer}`,
        { round },
      ),
    );
  }
  const expected = new Map<string, bigint>();
  r.submissions.forEach((s, k) => addCredit(expected, s.trainer, want.credits[k] ?? 0n));
  addCredit(expected, ctx.project.owner, want.toOwner);
  addCredit(expected, end.aggregator, end.bondReturned);
  addClosingCredits(ctx, expected, end.transactionHash, end.aggregator);
  return [...findings, ...(await checkCredits(ctx, round, end.transactionHash, expected, "the failure", "failedRoundSplit's share"))];
}

/** A round cancelled below quorum: its whole reserved reward in equal parts to its committers (slot order), in the cancelling transaction. */
async function checkCancelledRound(
  ctx: AuditContext,
  r: RoundHistory,
  reward: bigint,
  txHash: string,
  toSubmitters: bigint,
): Promise<Finding[]> {
  const round = r.round;
  const committers = [...r.commits].sort((a, b) => a.slot - b.slot);
  const n = committers.length;
  const due = n === 0 ? 0n : reward;
  const findings: Finding[] = [];
  if (toSubmitters !== due)
    findings.push(
      failure("payouts", `round ${round}: the cancellation split ${toSubmitters} among ${n} submitter(s), the round reserved ${reward}`, {
        round,
      }),
    );
  const expected = new Map<string, bigint>();
  if (n > 0) equalShares(due, n).forEach((part, k) => addCredit(expected, committers[k]?.trainer ?? "", part));
  addClosingCredits(ctx, expected, txHash, ctx.project.aggregator);
  return [
    ...findings,
    ...(await checkCredits(
      ctx,
      round,
      txHash,
      expected,
      "the cancellation",
      "an equal part of the round's reward (plus any closing refund)",
    )),
  ];
}

export async function checkPayouts(ctx: AuditContext): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const r of ctx.history.rounds) {
    const round = r.round;
    const reward = r.opened?.reward ?? 0n;
    if (r.end?.kind !== "finalized") {
      if (r.contributions.length > 0) {
        findings.push(
          failure("payouts", `round ${round}: ${r.contributions.length} ContributionRecorded event(s) without a RoundFinalized`, { round }),
        );
      }
      findings.push(...(await checkFailedRound(ctx, r, reward)));
      const cancelled = cancellationOf(ctx.history, round);
      if (cancelled !== undefined)
        findings.push(...(await checkCancelledRound(ctx, r, reward, cancelled.transactionHash, cancelled.rewardToSubmitters)));
      continue;
    }
    // What the proofs proved is the proofs check's to judge; without a proven outcome there is nothing to pay against.
    const proofs = await ctx.roundProofs(round);
    if (proofs?.ok !== true) continue;
    try {
      findings.push(...(await checkFinalizedRound(ctx, r, proofs.check.outcomes, reward)));
    } catch (err) {
      // The credits are read from the chain: an endpoint that went away stops the audit, it is no finding.
      const outage = chainCannotRun(err, `reading round ${round}'s credits`);
      if (outage !== undefined) throw outage;
      findings.push(failure("payouts", `round ${round}: payouts could not be checked: ${errorMessage(err)}`, { round }));
    }
  }
  return findings;
}
