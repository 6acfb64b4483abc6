/**
 * The escrow check on a hand-built history: deposits, payouts and refunds against the project's
 * budget and reserve, the funders' refund pool, the aggregator's bond, and the market's balance
 * against `totalLiabilities` (from a fake chain).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ProjectHistory, ProjectInfo } from "@fedmarket/protocol";
import { checkEscrow, escrowAccount } from "../src/index.ts";
import {
  acceptance,
  AGGREGATOR,
  at,
  auditContext,
  finalized,
  opened,
  OWNER,
  PROJECT_ID,
  projectHistory,
  projectInfo,
  roundHistory,
  SEAL_KEY,
  submission,
  trainer,
  tx,
} from "./fixtures.ts";

/**
 * Created with 3000, funded 1000 by a third party; round 0 finalized paying 1000; round 1 failed
 * (reward 1000, 10 slashed, 90 of the bond returned) and a new aggregator accepted with 100:
 * budget + reserve 4000 - 2000 = 2000, bond 200 - 10 - 90 = 100.
 */
function history(extra: Partial<ProjectHistory> = {}): ProjectHistory {
  return projectHistory({
    budget: 3000n,
    funded: [{ ...at(2), projectId: PROJECT_ID, funder: trainer(3), amount: 1000n }],
    accepted: [100n, 100n].map((amount, k) => acceptance(3 + 100 * k, SEAL_KEY, amount)),
    rounds: [
      roundHistory({ round: 0, opened: opened(0, 4, 1000n), end: finalized(0, tx(0xf0), { totalScore: 1n, paid: 1000n }) }),
      roundHistory({
        round: 1,
        opened: opened(1, 70, 1000n),
        submissions: [0, 1, 2].map((k) => submission(1, k, 71 + k)),
        end: {
          ...at(90),
          projectId: PROJECT_ID,
          round: 1,
          kind: "failed",
          aggregator: AGGREGATOR,
          slashed: 10n,
          slashPerTrainer: 1n,
          reward: 1000n,
          bondReturned: 90n,
        },
      }),
    ],
    ...extra,
  });
}

const project = (overrides: Partial<ProjectInfo> = {}): ProjectInfo =>
  projectInfo({ budget: 1000n, roundReward: 1000n, bondPosted: 100n, ...overrides });

describe("# checkEscrow", () => {
  it("flags a round that reserved more than its entry of the project's reward schedule", async () => {
    const h = history();
    assert.ok(h.created !== undefined);
    // Halving from 1000: round 0 may reserve 1000 and round 1 at most 500, but it reserved 1000.
    const decayed: ProjectHistory = { ...h, created: { ...h.created, rewardDecayPpm: 500_000 } };
    const findings = await checkEscrow(auditContext({ history: decayed, project: project() }, { balance: 2100n, liabilities: 2100n }));
    assert.deepEqual(
      findings.map((f) => f.message),
      ["escrow: round 1 reserved 1000, above its reward 500 in the project's schedule (rewardPerRound 1000, rewardDecayPpm 500000)"],
    );
    assert.equal(findings[0]?.severity, "failure");
  });

  it("finds nothing when every identity holds and the market holds what it owes", async () => {
    const ctx = auditContext({ history: history(), project: project() }, { balance: 2100n, liabilities: 2100n });
    assert.deepEqual(await checkEscrow(ctx), []);
    const e = await escrowAccount(ctx);
    assert.equal(e?.deposits, 4000n);
    assert.equal(e?.paid, 2000n);
    assert.equal(e?.expectedBudgetAndReserve, 2000n);
    assert.equal(e?.expectedBondPosted, 100n);
  });

  it("fails a budget and reserve that deposits - payouts - refunds do not explain", async () => {
    const findings = await checkEscrow(
      auditContext({ history: history(), project: project({ budget: 900n }) }, { balance: 2000n, liabilities: 2000n }),
    );
    assert.deepEqual(findings, [
      {
        check: "escrow",
        severity: "failure",
        message: `escrow: project ${PROJECT_ID} holds budget 900 + reserved 1000 + reference deposit 0 = 1900, but deposits 4000 - payouts 2000 - burned 0 - refunds 0 = 2000`,
      },
    ]);
  });

  it("counts the open round's reference deposit as held and a burned one as gone", async () => {
    // Round 1's owner withheld its reference: its deposit of 300 burned. Round 2 holds a deposit of 200.
    const base = history();
    const rounds = base.rounds.map((r) =>
      r.round === 1 ? { ...r, referenceDeposit: { ...at(89), projectId: PROJECT_ID, round: 1, deposit: 300n, returned: false } } : r,
    );
    const findings = await checkEscrow(
      auditContext(
        { history: { ...base, rounds }, project: project({ budget: 500n, referenceDeposit: 200n }) },
        { balance: 2000n, liabilities: 2000n },
      ),
    );
    assert.deepEqual(findings, []);
  });

  it("fails a bond that is not posted - slashed - returned - released", async () => {
    const findings = await checkEscrow(
      auditContext({ history: history(), project: project({ bondPosted: 110n }) }, { balance: 1n, liabilities: 1n }),
    );
    assert.deepEqual(
      findings.map((f) => f.message),
      ["escrow: the aggregator's bond is 110, but posted - slashed - returned - released = 100"],
    );
  });

  it("fails a refund pool that is not what the closing reserved minus the claims", async () => {
    const closed = { ...at(95), projectId: PROJECT_ID, status: 4, budgetRefunded: 2000n, bondReleased: 100n, refundPool: 500n };
    const refundClaims = [{ ...at(96), projectId: PROJECT_ID, funder: trainer(3), amount: 200n }];
    const ctx = auditContext(
      { history: history({ closed, refundClaims }), project: project({ budget: 0n, roundReward: 0n, bondPosted: 0n, refundPool: 250n }) },
      { balance: 250n, liabilities: 250n },
    );
    assert.deepEqual(
      (await checkEscrow(ctx)).map((f) => f.message),
      ["escrow: the funders' refund pool is 250, but reserved at closing - claimed = 300"],
    );
  });

  it("fails a market that holds less than totalLiabilities, and warns of one that holds more", async () => {
    const short = await checkEscrow(auditContext({ history: history(), project: project() }, { balance: 2000n, liabilities: 2100n }));
    assert.deepEqual(short, [
      { check: "escrow", severity: "failure", message: "escrow: the market holds 2000 of ETH but owes totalLiabilities 2100" },
    ]);
    const surplus = await checkEscrow(auditContext({ history: history(), project: project() }, { balance: 2105n, liabilities: 2100n }));
    assert.deepEqual(surplus, [
      {
        check: "escrow",
        severity: "warning",
        message: "escrow: the market holds 5 more than it owes (tokens or ETH sent to it outside the contract's functions)",
      },
    ]);
  });

  it("without the project's creation in the history only says why it cannot judge", async () => {
    const { created: _created, ...rest } = history();
    const findings = await checkEscrow(auditContext({ history: rest, project: project({ owner: OWNER }) }));
    assert.deepEqual(
      findings.map((f) => f.severity),
      ["info"],
    );
    assert.equal(await escrowAccount(auditContext({ history: rest })), undefined);
  });
});
