import { test } from "node:test";
import assert from "node:assert/strict";
import {
  SlotStatus,
  equalShares,
  equalSplit,
  failedRoundSplit,
  voidedRoundSplit,
  payableScores,
  refundClaim,
  refundSplit,
  rewardShares,
  roundRewardSchedule,
  slashSplit,
  REWARD_DECAY_ONE,
} from "../src/index.ts";

const MAX_UINT256 = (1n << 256n) - 1n;
const MAX_SCORE = (1n << 64n) - 1n;

/** xorshift64*: a reproducible bigint stream, so a failing case can be replayed from its seed. */
function randomBits(seed: bigint): (bits: number) => bigint {
  let s = seed || 1n;
  const mask = (1n << 64n) - 1n;
  const next = (): bigint => {
    s ^= s >> 12n;
    s ^= (s << 25n) & mask;
    s ^= s >> 27n;
    return (s * 0x2545f4914f6cdd1dn) & mask;
  };
  return (bits) => {
    let v = 0n;
    for (let have = 0; have < bits; have += 64) v = (v << 64n) | next();
    return v & ((1n << BigInt(bits)) - 1n);
  };
}

test("rewardShares pays each inlier mulDiv(reward, score, total), rounded down, the dust back to the budget", () => {
  assert.deepEqual(rewardShares(100n, [1n, 2n, 0n]), { rewards: [33n, 66n, 0n], totalScore: 3n, paid: 99n, remainder: 1n });
  assert.deepEqual(rewardShares(10n ** 18n, [3n, 3n, 3n]).rewards, [333333333333333333n, 333333333333333333n, 333333333333333333n]);
  assert.deepEqual(rewardShares(7n, [5n]), { rewards: [7n], totalScore: 5n, paid: 7n, remainder: 0n });
});

test("rewardShares splits a zero-total round equally among the inliers, else the valid slots, else all", () => {
  const { Inlier, NotAggregated, Excluded } = SlotStatus;
  const mixed = [
    { status: Inlier, score: 0n },
    { status: Excluded, score: 0n },
    { status: NotAggregated, score: 9n },
    { status: Inlier, score: 0n },
  ];
  // Counted slots only (one kept cluster scores 0): the slot left out gets nothing.
  assert.deepEqual(rewardShares(1001n, mixed), { rewards: [501n, 0n, 0n, 500n], totalScore: 0n, paid: 1001n, remainder: 0n });
  // Nobody counted: 1000 = 3 * 333 + 1 among the valid slots, the first one unit more; nothing goes back to the budget.
  const judgedNobody = mixed.map((o) => (o.status === Inlier ? { ...o, status: NotAggregated } : o));
  assert.deepEqual(rewardShares(1000n, judgedNobody), { rewards: [334n, 0n, 333n, 333n], totalScore: 0n, paid: 1000n, remainder: 0n });
  const excluded = [0, 1, 2].map(() => ({ status: Excluded, score: 0n }));
  assert.deepEqual(rewardShares(10n, excluded).rewards, [4n, 3n, 3n]);
  assert.deepEqual(rewardShares(1000n, []), { rewards: [], totalScore: 0n, paid: 0n, remainder: 1000n });
  assert.deepEqual(rewardShares(0n, [5n, 7n]), { rewards: [0n, 0n], totalScore: 12n, paid: 0n, remainder: 0n });
  // Scores alone cannot say which slots are valid.
  assert.throws(() => rewardShares(1000n, [0n, 0n, 0n]), /pass the slots' outcomes/);
});

test("rewardShares on outcomes pays inliers only, by score", () => {
  const outcomes = [
    { status: SlotStatus.Inlier, score: 1n },
    { status: SlotStatus.NotAggregated, score: 50n },
    { status: SlotStatus.Inlier, score: 2n },
  ];
  assert.deepEqual(rewardShares(100n, outcomes), rewardShares(100n, [1n, 0n, 2n]));
});

test("rewardShares is exact at the bounds: a uint256 reward and 64-bit scores", () => {
  // mulDiv computes the full 512-bit product: reward * score overflows uint256 but the share does not.
  const r = rewardShares(MAX_UINT256, [MAX_SCORE, MAX_SCORE, 1n]);
  assert.equal(r.totalScore, 2n * MAX_SCORE + 1n);
  assert.equal(r.rewards[0], (MAX_UINT256 * MAX_SCORE) / (2n * MAX_SCORE + 1n));
  assert.equal(r.rewards[2], MAX_UINT256 / (2n * MAX_SCORE + 1n));
  assert.equal(r.paid + r.remainder, MAX_UINT256);
});

test("rewardShares: every share is the floor of its exact share, and the dust is below one unit per paid slot", () => {
  for (let seed = 1n; seed <= 300n; seed++) {
    const rand = randomBits(seed);
    const reward = rand(Number(rand(8)) + 1);
    const scores = Array.from({ length: Number(rand(6)) + 1 }, () => (rand(2) === 0n ? 0n : rand(Number(rand(6)) + 1)));
    // Inliers with these scores (a zero total is split by status: see the test above).
    const outcomes = scores.map((score) => ({ status: SlotStatus.Inlier, score }));
    const { rewards, totalScore, paid, remainder } = rewardShares(reward, outcomes);
    const paidSlots = BigInt(scores.filter((s) => s !== 0n).length);
    if (totalScore === 0n) {
      assert.deepEqual(rewards, equalShares(reward, scores.length), `seed ${seed}: equal split`);
      assert.equal(remainder, 0n, `seed ${seed}`);
      continue;
    }
    rewards.forEach((share, k) => {
      const exact = reward * (scores[k] as bigint); // share = floor(exact / total)
      assert.ok(share * totalScore <= exact && exact < (share + 1n) * totalScore, `seed ${seed} slot ${k}`);
    });
    assert.equal(paid + remainder, reward, `seed ${seed}`);
    assert.ok(remainder >= 0n && remainder < paidSlots, `seed ${seed}: dust ${remainder}`);
  }
});

test("rewardShares refuses amounts the contract cannot hold", () => {
  assert.throws(() => rewardShares(-1n, [1n]), /reward -1 is not in \[0, 2\^256\)/);
  assert.throws(() => rewardShares(MAX_UINT256 + 1n, [1n]), /reward/);
  assert.throws(() => rewardShares(1n, [1n, MAX_SCORE + 1n]), /score of slot 1/);
  assert.throws(() => rewardShares(1n, [-1n]), /score of slot 0/);
});

test("payableScores keeps the scores of inliers only", () => {
  const outcomes = [
    { status: SlotStatus.Inlier, score: 5n },
    { status: SlotStatus.NotAggregated, score: 9n },
    { status: SlotStatus.Excluded, score: 3n },
    { status: SlotStatus.Empty, score: 0n },
    { status: SlotStatus.Inlier, score: 0n },
  ];
  assert.deepEqual(payableScores(outcomes), [5n, 0n, 0n, 0n, 0n]);
});

test("equalSplit rounds down and leaves the dust", () => {
  assert.deepEqual(equalSplit(10n, 3), { each: 3n, remainder: 1n });
  assert.deepEqual(equalSplit(2n, 5), { each: 0n, remainder: 2n });
  assert.deepEqual(equalSplit(MAX_UINT256, 1), { each: MAX_UINT256, remainder: 0n });
  assert.throws(() => equalSplit(1n, 0), /count 0 must be a positive integer/);
  assert.throws(() => equalSplit(-1n, 2), /amount -1/);
});

test("equalShares pays all of the amount, one unit more for the first amount % count", () => {
  assert.deepEqual(equalShares(10n, 3), [4n, 3n, 3n]);
  assert.deepEqual(equalShares(2n, 5), [1n, 1n, 0n, 0n, 0n]);
  assert.deepEqual(equalShares(0n, 2), [0n, 0n]);
  assert.equal(
    equalShares(MAX_UINT256, 64).reduce((a, b) => a + b, 0n),
    MAX_UINT256,
  );
});

test("failedRoundSplit: slash shares plus equal reward parts to the submitters, the rest of the bond back", () => {
  const split = failedRoundSplit(1_000_000n, 200_000n, 500_000n, 3);
  assert.deepEqual(split.credits, [33_333n + 333_334n, 33_333n + 333_333n, 33_333n + 333_333n]);
  assert.deepEqual([split.slashed, split.perTrainer, split.toOwner, split.bondReturned], [200_000n, 33_333n, 100_001n, 300_000n]);
  assert.deepEqual(failedRoundSplit(0n, 10n, 7n, 3).bondReturned, 0n);
});

test("refundSplit and refundClaim: pro rata to deposits, the pool rounded down, the last claimant takes the rest", () => {
  assert.deepEqual(refundSplit(500n, 600n, 300n), { toOwner: 250n, pool: 250n });
  assert.deepEqual(refundSplit(10n, 3n, 1n), { toOwner: 7n, pool: 3n });
  assert.deepEqual(refundSplit(10n, 3n, 0n), { toOwner: 10n, pool: 0n });
  // Two funders of 1 and 2: the first claims floor(250 / 3), the second what is left.
  const first = refundClaim(250n, 100n, 300n);
  assert.equal(first, 83n);
  assert.equal(refundClaim(250n - first, 200n, 200n), 167n);
  assert.throws(() => refundClaim(1n, 0n, 1n), /deposit 0/);
  assert.throws(() => refundSplit(1n, 1n, 2n), /exceed/);
});

test("slashSplit gives half the slash to the submitters equally and the rest to the owner", () => {
  assert.deepEqual(slashSplit(200_000n, 500_000n, 4), { slashed: 200_000n, perTrainer: 25_000n, toOwner: 100_000n });
  // Both divisions round down: the owner gets the dust.
  assert.deepEqual(slashSplit(101n, 1000n, 3), { slashed: 101n, perTrainer: 16n, toOwner: 53n });
});

test("slashSplit takes no more than the posted bond", () => {
  assert.deepEqual(slashSplit(10n, 7n, 3), { slashed: 7n, perTrainer: 1n, toOwner: 4n });
  assert.deepEqual(slashSplit(10n, 0n, 3), { slashed: 0n, perTrainer: 0n, toOwner: 0n });
  assert.deepEqual(slashSplit(0n, 7n, 3), { slashed: 0n, perTrainer: 0n, toOwner: 0n });
  const huge = slashSplit(MAX_UINT256, MAX_UINT256, 64);
  assert.equal(huge.perTrainer, MAX_UINT256 / 128n);
  assert.equal(huge.perTrainer * 64n + huge.toOwner, MAX_UINT256);
});

test("slashSplit needs at least one submission and uint256 amounts", () => {
  assert.throws(() => slashSplit(1n, 1n, 0), /submissions 0 must be a positive integer/);
  assert.throws(() => slashSplit(1n, 1n, 1.5), /submissions 1.5/);
  assert.throws(() => slashSplit(-1n, 1n, 1), /slash amount/);
  assert.throws(() => slashSplit(1n, MAX_UINT256 + 1n, 1), /posted bond/);
});

test("voidedRoundSplit: the held payout and half the stake in equal shares to the slots, the rest and the deposit to the challenger", () => {
  const split = voidedRoundSplit(1_000_000n, 200_000n, 50_000n, 3);
  assert.equal(split.perTrainer, 33_333n);
  assert.deepEqual(split.credits, [333_334n + 33_333n, 333_333n + 33_333n, 333_333n + 33_333n]);
  assert.equal(split.toChallenger, 50_000n + 200_000n - 3n * 33_333n);
  // Nothing is created or lost: payout + stake + deposit is what is credited.
  assert.equal(split.credits.reduce((a, b) => a + b, 0n) + split.toChallenger, 1_000_000n + 200_000n + 50_000n);
  assert.throws(() => voidedRoundSplit(1n, 1n, 0n, 0), RangeError);
});

test("roundRewardSchedule: equal rounds at 1e6, each next reward the previous one decayed and rounded down", () => {
  assert.deepEqual(roundRewardSchedule(1000n, REWARD_DECAY_ONE, 3), [1000n, 1000n, 1000n]);
  assert.deepEqual(roundRewardSchedule(1000n, 500_000, 5), [1000n, 500n, 250n, 125n, 62n]);
  // Rounded down at each step, not once: 7 * 0.7^2 = 3.43, the iterated floor floor(floor(4.9) * 0.7) = 2.
  assert.deepEqual(roundRewardSchedule(7n, 700_000, 3), [7n, 4n, 2n]);
  assert.deepEqual(roundRewardSchedule(0n, 1, 2), [0n, 0n]);
  assert.deepEqual(roundRewardSchedule(5n, 1, 3), [5n, 0n, 0n]);
  assert.deepEqual(roundRewardSchedule(9n, 900_000, 0), []);
  // The contract multiplies with mulDiv: no overflow at the top of uint256.
  assert.deepEqual(roundRewardSchedule(MAX_UINT256, 999_999, 2), [MAX_UINT256, (MAX_UINT256 * 999_999n) / 1_000_000n]);
});

test("roundRewardSchedule refuses a decay the contract refuses", () => {
  for (const bad of [0, REWARD_DECAY_ONE + 1, 0.5, -1]) assert.throws(() => roundRewardSchedule(1n, bad, 1), RangeError);
  assert.throws(() => roundRewardSchedule(-1n, 1, 1), /rewardPerRound/);
  assert.throws(() => roundRewardSchedule(MAX_UINT256 + 1n, 1, 1), /rewardPerRound/);
});
