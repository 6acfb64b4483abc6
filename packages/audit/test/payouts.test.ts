/**
 * The payouts check on hand-built histories: what the market recorded and credited for a round
 * against @fedmarket/core's money rules over the proven outcomes (given here, as the proofs fact
 * would give them).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SlotStatus, type SlotOutcome } from "@fedmarket/core";
import type { ProjectHistory } from "@fedmarket/protocol";
import { checkPayouts, type Finding } from "../src/index.ts";
import {
  AGGREGATOR,
  at,
  auditContext,
  commit,
  contribution,
  finalized,
  opened,
  OWNER,
  PROJECT_ID,
  projectHistory,
  proven,
  roundHistory,
  submission,
  trainer,
  tx,
  type FakeChainState,
} from "./fixtures.ts";

const FIN = tx(0xf0);
const REWARD = 1000n;
const OUTCOMES: SlotOutcome[] = [
  { status: SlotStatus.Inlier, score: 30n },
  { status: SlotStatus.Inlier, score: 10n },
  { status: SlotStatus.NotAggregated, score: 0n },
  { status: SlotStatus.Empty, score: 0n },
];

/** Round 0 finalized in FIN: 3 submissions, two inliers (30, 10) and one outlier; shares 750, 250, 0. */
function finalizedRound(
  o: { rewards?: readonly bigint[]; recorded?: readonly SlotOutcome[]; totalScore?: bigint; paid?: bigint } = {},
): ProjectHistory {
  const outcomes = o.recorded ?? OUTCOMES;
  const rewards = o.rewards ?? [750n, 250n, 0n];
  return projectHistory({
    rounds: [
      roundHistory({
        round: 0,
        opened: opened(0, 2, REWARD),
        submissions: [0, 1, 2].map((k) => submission(0, k, 3 + k)),
        contributions: [0, 1, 2].map((k) => contribution(0, k, FIN, { ...(outcomes[k] as SlotOutcome), reward: rewards[k] as bigint })),
        end: finalized(0, FIN, { totalScore: o.totalScore ?? 40n, paid: o.paid ?? REWARD }),
      }),
    ],
  });
}

const honestCredits = (): FakeChainState => ({ credits: { [FIN]: { [trainer(0)]: 750n, [trainer(1)]: 250n } } });

function payouts(history: ProjectHistory, chain: FakeChainState, outcomes: readonly SlotOutcome[] = OUTCOMES): Promise<Finding[]> {
  return checkPayouts(
    auditContext({ history }, chain, { roundProofs: async (_ctx, round) => (round === 0 ? proven(outcomes) : undefined) }),
  );
}

const messages = (findings: readonly Finding[]): string[] => findings.map((f) => f.message);

describe("# checkPayouts: a finalized round", () => {
  it("finds nothing when every contribution and credit is the proven share", async () => {
    assert.deepEqual(await payouts(finalizedRound(), honestCredits()), []);
  });

  it("fails a recorded reward that is not mulDiv(reward, score, total), naming the round, slot and rule", async () => {
    const findings = await payouts(finalizedRound({ rewards: [750n, 251n, 0n] }), honestCredits());
    assert.deepEqual(findings, [
      {
        check: "payouts",
        severity: "failure",
        round: 0,
        slot: 1,
        message: `round 0 slot 1 (${trainer(1)}): credited 251, the proven share is mulDiv(1000, 10, 40) = 250`,
      },
    ]);
  });

  it("fails a recorded status or score the proof does not say", async () => {
    const recorded = [OUTCOMES[0], { status: SlotStatus.Inlier, score: 11n }, OUTCOMES[2]] as SlotOutcome[];
    const findings = await payouts(finalizedRound({ recorded }), honestCredits());
    assert.ok(
      messages(findings).includes(`round 0 slot 1 (${trainer(1)}): recorded inlier with score 11, the proof says inlier with score 10`),
      messages(findings).join("\n"),
    );
  });

  it("fails RoundFinalized totals that the proven shares do not add up to", async () => {
    const findings = messages(await payouts(finalizedRound({ totalScore: 41n, paid: 999n }), honestCredits()));
    assert.deepEqual(findings, [
      "round 0: RoundFinalized reports a total score of 41, the proven inlier scores add up to 40",
      "round 0: RoundFinalized reports 999 paid, the proven shares add up to 1000",
    ]);
  });

  it("fails a Credited log that differs from the share, and one without a share", async () => {
    const chain = { credits: { [FIN]: { [trainer(0)]: 750n, [trainer(1)]: 200n, [trainer(3)]: 5n } } };
    assert.deepEqual(messages(await payouts(finalizedRound(), chain)), [
      `round 0: ${trainer(1).toLowerCase()} was Credited 200 in the finalization, its proven share (plus any closing refund) is 250`,
      `round 0: ${trainer(3).toLowerCase()} was Credited 5 in the finalization without a share`,
    ]);
  });

  it("splits a zero total score in equal parts among the valid slots", async () => {
    const zero = OUTCOMES.map((o) => ({ ...o, score: 0n, status: o.status === SlotStatus.Empty ? o.status : SlotStatus.NotAggregated }));
    const history = finalizedRound({ recorded: zero, rewards: [334n, 333n, 332n], totalScore: 0n, paid: 999n });
    const chain = { credits: { [FIN]: { [trainer(0)]: 334n, [trainer(1)]: 333n, [trainer(2)]: 333n } } };
    const findings = messages(await payouts(history, chain, zero));
    assert.ok(
      findings.includes(`round 0 slot 2 (${trainer(2)}): credited 332, the proven share is an equal part of 1000 (zero total score) = 333`),
      findings.join("\n"),
    );
    assert.ok(findings.includes("round 0: RoundFinalized reports 999 paid, the proven shares add up to 1000"), findings.join("\n"));
  });

  it("expects the closing refunds in the credits of the finalization that closed the project", async () => {
    const closed = { ...at(60, FIN), projectId: PROJECT_ID, status: 3, budgetRefunded: 500n, bondReleased: 100n, refundPool: 100n };
    const history = { ...finalizedRound(), closed };
    const credits = { [trainer(0)]: 750n, [trainer(1)]: 250n, [OWNER]: 400n, [AGGREGATOR]: 100n };
    assert.deepEqual(await payouts(history, { credits: { [FIN]: credits } }), []);
    const findings = messages(await payouts(history, honestCredits()));
    assert.deepEqual(findings, [
      `round 0: ${OWNER.toLowerCase()} was Credited 0 in the finalization, its proven share (plus any closing refund) is 400`,
      `round 0: ${AGGREGATOR.toLowerCase()} was Credited 0 in the finalization, its proven share (plus any closing refund) is 100`,
    ]);
  });

  it("judges nothing without proven outcomes (the proofs check reports why)", async () => {
    const ctx = auditContext(
      { history: finalizedRound({ rewards: [1n, 2n, 3n] }) },
      {},
      { roundProofs: async () => ({ ok: false, detail: "no calldata" }) },
    );
    assert.deepEqual(await checkPayouts(ctx), []);
  });
});

describe("# checkPayouts: rounds that did not finalize", () => {
  const FAIL = tx(0xfa);
  const failedRound = (slashPerTrainer = 1n): ProjectHistory =>
    projectHistory({
      rounds: [
        roundHistory({
          round: 0,
          opened: opened(0, 2, REWARD),
          submissions: [0, 1, 2].map((k) => submission(0, k, 3 + k)),
          end: {
            ...at(70, FAIL),
            projectId: PROJECT_ID,
            round: 0,
            kind: "failed",
            aggregator: AGGREGATOR,
            slashed: 10n,
            slashPerTrainer,
            reward: REWARD,
            bondReturned: 90n,
          },
        }),
      ],
    });
  // failedRoundSplit(1000, 10, 100, 3): equal parts 334/333/333 plus floor(10 / 2 / 3) = 1 each; 7 to the owner; 90 back.
  const failCredits = { [FAIL]: { [trainer(0)]: 335n, [trainer(1)]: 334n, [trainer(2)]: 334n, [OWNER]: 7n, [AGGREGATOR]: 90n } };

  it("a failed round credits failedRoundSplit's shares", async () => {
    assert.deepEqual(await payouts(failedRound(), { credits: failCredits }), []);
  });

  it("fails a failed round whose slash per submitter is not floor(slashed / 2 / n)", async () => {
    const findings = messages(await payouts(failedRound(2n), { credits: failCredits }));
    assert.deepEqual(findings, ["round 0: RoundFailed gives each submitter 2 of the slash, floor(10 / 2 / 3) = 1"]);
  });

  it("a round cancelled below quorum credits its reward in equal parts to the trainers that committed", async () => {
    const CANCEL = tx(0xca);
    const history = projectHistory({
      // slot 1 committed first, slot 0 revealed nothing: the split is by committed slot, in slot order
      rounds: [roundHistory({ round: 0, opened: opened(0, 2, REWARD), commits: [1, 0].map((k) => commit(0, k, 3 + k)) })],
      cancelled: { ...at(80, CANCEL), projectId: PROJECT_ID, round: 0, roundStillOpen: false, rewardToSubmitters: REWARD },
    });
    assert.deepEqual(await payouts(history, { credits: { [CANCEL]: { [trainer(0)]: 500n, [trainer(1)]: 500n } } }), []);
    const findings = messages(await payouts(history, { credits: { [CANCEL]: { [trainer(0)]: 1000n } } }));
    assert.deepEqual(findings, [
      `round 0: ${trainer(0).toLowerCase()} was Credited 1000 in the cancellation, an equal part of the round's reward (plus any closing refund) is 500`,
      `round 0: ${trainer(1).toLowerCase()} was Credited 0 in the cancellation, an equal part of the round's reward (plus any closing refund) is 500`,
    ]);
  });

  it("fails contributions recorded for a round that was not finalized", async () => {
    const history = projectHistory({
      rounds: [
        roundHistory({
          round: 0,
          opened: opened(0, 2, REWARD),
          contributions: [contribution(0, 0, FIN, { status: 1, score: 1n, reward: 5n })],
        }),
      ],
    });
    assert.deepEqual(messages(await payouts(history, {})), ["round 0: 1 ContributionRecorded event(s) without a RoundFinalized"]);
  });
});
