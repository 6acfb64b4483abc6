/**
 * Differential fuzz test of the money rules: random rounds go through FedMarket's `finalizeRound`
 * and `failRound` on the in-process Hardhat network (MockRoundVerifier, so any outcome can be
 * "proven"), and every amount the contract records or credits must equal what @fedmarket/core's
 * reference computes (`rewardShares`, `failedRoundSplit`), the one statement of the rules that the
 * audit and the nodes rely on.
 *
 * The rounds vary the number of candidates (up to 16, sometimes more than the project's slots, so
 * the slots are drawn), of commitments and of revealed updates (quorum `max(3, 2f + 1)` to the slots; the
 * revealed slots are any subset of the committed ones, so not contiguous: the reference is given
 * the revealed slots' outcomes in slot order, the unrevealed slots must get nothing), the statuses
 * (with scores on non-inliers too, which the contract must ignore), the scores (zeros, all zero,
 * small, any width, 64-bit values near 2^64), the round reward (0, dust, wei amounts, and uint256
 * amounts up to 2^256 - 1 in an ERC-20), budgets that run out, and the aggregator's bond and slash
 * (0, all of the bond, anything between; re-appointed after each failure), and the reward schedule
 * (equal rounds, or a decay from one millionth to just under one): each round must reserve
 * `min(roundRewardSchedule(...)[round], budget)` however the rounds before it ended.
 *
 * The run is reproducible: every assertion names its seed and round; `FUZZ_SEED=<n>` runs
 * another sequence.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { LogDescription, TransactionReceipt } from "ethers";

import {
  REWARD_DECAY_ONE,
  SlotStatus,
  consensusQuorum,
  failedRoundSplit,
  packOutcome,
  rewardShares,
  roundQuorum,
  roundRewardSchedule,
} from "@fedmarket/core";
import type { FedMarket, MockRoundVerifier, TestToken } from "../types/ethers-contracts/index.js";
import {
  ETH,
  HYPER_INITIAL,
  ProjectStatus,
  SEAL_KEY,
  baseConfig,
  circuitParams,
  cid,
  commitAll,
  commitmentOf,
  mockChunkProof,
  mockDecisionProof,
  pastAggregationWindow,
  revealAll,
  toAggregationWindow,
  type Chain,
  type Update,
} from "./helpers/market.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

/** Slots of the mock verifier: 16 trainers, the owner, the aggregator and a caller fit Hardhat's 20 accounts. */
const K_MAX = 16;
/** Parameters per chunk; each project's model is one chunk, so a round needs one chunk proof. */
const CHUNK = 100;
const PROJECTS = 24;
const ROUNDS_PER_PROJECT = 8;
const SEED = BigInt(process.env.FUZZ_SEED ?? "20240610");
const MAX_UINT256 = 2n ** 256n - 1n;
const MAX_SCORE = 2n ** 64n - 1n;

/** A seeded xorshift64* stream: the same seed replays the same rounds. */
class Random {
  #s: bigint;

  constructor(seed: bigint) {
    this.#s = seed & MAX_SCORE || 1n;
  }

  #next(): bigint {
    this.#s ^= this.#s >> 12n;
    this.#s ^= (this.#s << 25n) & MAX_SCORE;
    this.#s ^= this.#s >> 27n;
    return (this.#s * 0x2545f4914f6cdd1dn) & MAX_SCORE;
  }

  /** Uniform in `[0, 2^bits)`. */
  bits(bits: number): bigint {
    let v = 0n;
    for (let have = 0; have < bits; have += 64) v = (v << 64n) | this.#next();
    return v & ((1n << BigInt(bits)) - 1n);
  }

  /** Uniform integer in `[lo, hi]`. */
  int(lo: number, hi: number): number {
    return lo + Number(this.#next() % BigInt(hi - lo + 1));
  }

  /** Uniform in `[0, max]`. */
  upTo(max: bigint): bigint {
    return max === MAX_UINT256 ? this.bits(256) : this.bits(max.toString(2).length + 64) % (max + 1n);
  }

  chance(p: number): boolean {
    return this.int(0, 999) < p * 1000;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)] as T;
  }
}

/** Cases the run must have reached, so that a change of the generator cannot make the fuzz vacuous. */
const covered = {
  zeroTotal: 0,
  dust: 0,
  zeroReward: 0,
  overflowingProduct: 0,
  ignoredNonInlierScore: 0,
  failed: 0,
  slashedAll: 0,
  slashedNothing: 0,
  closedByFinalize: 0,
  closedByFail: 0,
  drawnAmongMoreCandidates: 0,
  unrevealedCommitment: 0,
  nonContiguousReveals: 0,
  decayedReward: 0,
  decayedBelowBudget: 0,
};

/** How a project's amounts are drawn. */
type Tier = "extreme" | "huge" | "wei" | "dust";

interface Env {
  market: FedMarket;
  verifier: MockRoundVerifier;
  owner: HardhatEthersSigner;
  aggregator: HardhatEthersSigner;
  caller: HardhatEthersSigner;
  trainers: HardhatEthersSigner[];
}

/** A project under test and what the test knows about it. */
interface Project {
  readonly id: bigint;
  readonly label: string;
  readonly token: string;
  readonly tier: Tier;
  readonly maxTrainers: number;
  readonly quorum: number;
  /** Registered before round 0 opened: every round's candidates. */
  readonly candidates: number;
  /** What each round reserves when the budget suffices (`roundRewardSchedule`), one entry past the last round. */
  readonly schedule: readonly bigint[];
}

/** The revealed updates of a round, in slot order. */
type Revealed = readonly Update[];

/** The market's events of one transaction, in log order. */
function eventsOf(market: FedMarket, receipt: TransactionReceipt | null): LogDescription[] {
  if (receipt === null) throw new Error("no receipt");
  return receipt.logs.flatMap((log) => {
    const parsed = market.interface.parseLog(log);
    return parsed === null ? [] : [parsed];
  });
}

/** The one event named `name` among `events`. */
function only(events: readonly LogDescription[], name: string): LogDescription {
  const found = events.filter((e) => e.name === name);
  expect(found.length, `${name} events`).to.equal(1);
  return found[0] as LogDescription;
}

/** `Credited` events as `[account, amount]`, for one token. */
function credits(events: readonly LogDescription[], token: string): [string, bigint][] {
  return events
    .filter((e) => e.name === "Credited")
    .map((e) => {
      expect(e.args.token).to.equal(token);
      return [String(e.args.account), BigInt(e.args.amount)];
    });
}

/** What `_credit` emits: nothing for a zero amount. */
function credit(account: string, amount: bigint): [string, bigint][] {
  return amount === 0n ? [] : [[account, amount]];
}

/** A round's scores for K_MAX slots: one distribution per round, with zeros mixed in. */
function drawScores(rng: Random): bigint[] {
  const mode = rng.pick(["all-zero", "small", "any-width", "near-max", "mixed"] as const);
  return Array.from({ length: K_MAX }, () => {
    if (mode === "all-zero") return 0n;
    if (rng.chance(0.25)) return 0n;
    switch (mode) {
      case "small":
        return BigInt(rng.int(0, 5));
      case "any-width":
        return rng.bits(rng.int(1, 64));
      case "near-max":
        return MAX_SCORE - rng.bits(8);
      case "mixed":
        return rng.chance(0.5) ? MAX_SCORE - rng.bits(4) : BigInt(rng.int(1, 3));
    }
  });
}

/** Draws a bond and a slash (`slash <= bond`), sometimes 0 or all of it. */
function drawBond(rng: Random, tier: Tier): { bond: bigint; slash: bigint } {
  if (tier === "extreme") return { bond: 0n, slash: 0n };
  const bond = tier === "huge" ? rng.bits(rng.int(1, 200)) : rng.bits(rng.int(0, 60));
  const slash = rng.pick(["zero", "all", "some"] as const);
  return { bond, slash: slash === "zero" ? 0n : slash === "all" ? bond : rng.upTo(bond) };
}

async function deployEnv(): Promise<Env> {
  const [owner, aggregator, caller, ...trainers] = await ethers.getSigners();
  if (owner === undefined || aggregator === undefined || caller === undefined || trainers.length < K_MAX) {
    throw new Error(`need ${K_MAX + 3} signers`);
  }
  const market = (await ethers.deployContract("FedMarket")) as unknown as FedMarket;
  const verifier = (await ethers.deployContract("MockRoundVerifier", [K_MAX, CHUNK])) as unknown as MockRoundVerifier;
  return { market, verifier, owner, aggregator, caller, trainers: trainers.slice(0, K_MAX) };
}

/**
 * Creates, accepts and registers a project. Token projects get their own ERC-20 so that amounts
 * near 2^256 do not overflow the market's per-token liabilities across projects.
 */
async function createProject(env: Env, rng: Random, tier: Tier, label: string): Promise<Project> {
  let token = ETH;
  let rewardPerRound: bigint;
  let budget: bigint;
  if (tier === "extreme") {
    rewardPerRound = MAX_UINT256;
    budget = MAX_UINT256;
  } else if (tier === "huge") {
    rewardPerRound = rng.bits(rng.int(128, 255));
    // At most 2^255 - 1, leaving room under 2^256 for the aggregator's tokens.
    const all = rewardPerRound * BigInt(ROUNDS_PER_PROJECT);
    budget = rng.upTo(all < 2n ** 255n ? all : 2n ** 255n - 1n);
  } else if (tier === "wei") {
    rewardPerRound = rng.bits(rng.int(1, 60));
    budget = rng.upTo(rewardPerRound * BigInt(ROUNDS_PER_PROJECT));
  } else {
    rewardPerRound = BigInt(rng.int(0, 50));
    budget = rng.upTo(rewardPerRound * BigInt(ROUNDS_PER_PROJECT));
  }
  const market = await env.market.getAddress();
  if (tier === "extreme" || tier === "huge") {
    const erc20 = (await ethers.deployContract("TestToken")) as unknown as TestToken;
    token = await erc20.getAddress();
    await erc20.mint(env.owner.address, budget);
    if (tier === "huge") await erc20.mint(env.aggregator.address, 2n ** 255n - 1n);
    await erc20.connect(env.owner).approve(market, ethers.MaxUint256);
    await erc20.connect(env.aggregator).approve(market, ethers.MaxUint256);
  }
  const f = rng.int(0, 3);
  const q = roundQuorum(f);
  // A project has at least 2f + 3 slots (the consensus quorum); a round at least q reveals.
  const maxTrainers = rng.int(consensusQuorum(f), K_MAX);
  // Sometimes more candidates than slots: then the slots are drawn.
  const candidates = rng.chance(0.4) ? rng.int(maxTrainers, K_MAX) : maxTrainers;
  const { bond, slash } = drawBond(rng, tier);
  // Half the projects pay equal rounds; the others decay, sometimes steeply.
  const decay = rng.chance(0.5) ? REWARD_DECAY_ONE : rng.pick([1, rng.int(1, REWARD_DECAY_ONE - 1), rng.int(400_000, 999_999)] as const);
  const config = baseConfig({
    verifier: await env.verifier.getAddress(),
    aggregator: env.aggregator.address,
    token,
    budget,
    rewardPerRound,
    rewardDecayPpm: decay,
    numRounds: ROUNDS_PER_PROJECT,
    maxTrainersPerRound: maxTrainers,
    aggregatorBond: bond,
    slashAmount: slash,
    params: { ...circuitParams(f), modelSize: CHUNK },
  });
  const eth = (amount: bigint): { value: bigint } => ({ value: token === ETH ? amount : 0n });
  await env.market.connect(env.owner).createProject(config, eth(budget));
  const id = await env.market.projectCount();
  // Candidates register before round 0 opens.
  for (const t of env.trainers.slice(0, candidates)) await env.market.connect(t).registerTrainer(id, []);
  await env.market.connect(env.aggregator).acceptAggregator(id, SEAL_KEY, bond, slash, eth(bond));
  const schedule = roundRewardSchedule(rewardPerRound, decay, ROUNDS_PER_PROJECT + 1);
  return { id, label, token, tier, maxTrainers, quorum: q, candidates, schedule };
}

/**
 * Every drawn candidate commits to the open round and `revealed` of them (a random subset, so not
 * necessarily contiguous slots) reveal; returns the revealed updates in slot order.
 */
async function submit(env: Env, rng: Random, p: Project, round: number, revealed: number): Promise<Revealed> {
  const chain: Chain = { market: env.market, time };
  const all = await commitAll(chain, p.id, env.trainers.slice(0, p.candidates), (_t, i) => ({
    commitment: commitmentOf(`p${p.id}-r${round}-c${i}`),
    cid: cid(`u${p.id}x${round}x${i}`),
  }));
  expect(all.length, `${p.label} round ${round}: drawn`).to.equal(Math.min(p.candidates, p.maxTrainers));
  covered.drawnAmongMoreCandidates += p.candidates > p.maxTrainers ? 1 : 0;
  const keep = shuffle(rng, all).slice(0, revealed);
  const open = all.filter((u) => keep.includes(u));
  covered.unrevealedCommitment += all.length > revealed ? 1 : 0;
  covered.nonContiguousReveals += open.some((u, j) => u.slot !== j) ? 1 : 0;
  await revealAll(chain, p.id, open);
  return open;
}

/** A seeded Fisher-Yates shuffle. */
function shuffle<T>(rng: Random, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * Finalizes the round with random outcomes and checks `ContributionRecorded`, `RoundFinalized`,
 * every `Credited` and the budget against `rewardShares`.
 */
async function finalizeAndCheck(env: Env, rng: Random, p: Project, round: number, open: Revealed): Promise<void> {
  const k = open.length;
  const at = `${p.label} round ${round} (K = ${k}, seed ${SEED})`;
  const prior = await env.market.getProject(p.id);
  const statuses = Array.from({ length: K_MAX }, () =>
    rng.pick([SlotStatus.Inlier, SlotStatus.Inlier, SlotStatus.Inlier, SlotStatus.NotAggregated, SlotStatus.Excluded, SlotStatus.Empty]),
  );
  const scores = drawScores(rng);
  // Slots without a revealed update (empty, or committed and never revealed) keep random
  // outcomes: the contract must not read them.
  const words = packOutcome(statuses, scores, K_MAX);
  await toAggregationWindow({ market: env.market, time }, p.id);

  const acc = commitmentOf(`acc-${p.id}-${round}`);
  const newModel = commitmentOf(`model-${p.id}-${round}`);
  const slots = Array.from({ length: K_MAX }, (_, slot) => open.find((u) => u.slot === slot)?.commitment ?? 0n);
  // No owner reference in these rounds: public input 6 is 0.
  const inputs = [await env.market.roundContext(p.id, round), prior.modelCommitment, newModel, acc, ...SEAL_KEY, 0n, ...slots, ...words];
  const result = {
    newModelCommitment: newModel,
    outcomes: words,
    proof: mockDecisionProof(inputs),
    newModelCid: cid(`m${p.id}x${round}`),
    nextHyperParams: { ...HYPER_INITIAL },
  };
  const tx = await env.market.connect(env.aggregator).finalizeRound(p.id, round, 0n, [mockChunkProof(0n, acc)], result);
  const events = eventsOf(env.market, await tx.wait());

  const reward = prior.roundReward;
  // The reference splits over the revealed slots' outcomes, in slot order.
  const submitted = open.map((u) => ({ status: statuses[u.slot] as number, score: scores[u.slot] as bigint }));
  const want = rewardShares(reward, submitted);

  covered.zeroTotal += want.totalScore === 0n ? 1 : 0;
  covered.dust += want.totalScore !== 0n && want.remainder !== 0n ? 1 : 0;
  covered.zeroReward += reward === 0n ? 1 : 0;
  covered.overflowingProduct += submitted.some((s) => reward * s.score > MAX_UINT256) ? 1 : 0;
  covered.ignoredNonInlierScore += submitted.some((s) => s.status !== SlotStatus.Inlier && s.score !== 0n) ? 1 : 0;

  const recorded = events
    .filter((e) => e.name === "ContributionRecorded")
    .map((e) => [Number(e.args.slot), String(e.args.trainer), Number(e.args.status), BigInt(e.args.score), BigInt(e.args.reward)]);
  expect(recorded, `${at}: ContributionRecorded`).to.deep.equal(
    submitted.map((s, j) => [open[j]!.slot, open[j]!.trainer.address, s.status, s.score, want.rewards[j]]),
  );
  const finalized = only(events, "RoundFinalized");
  expect([BigInt(finalized.args.totalScore), BigInt(finalized.args.paid)], `${at}: RoundFinalized`).to.deep.equal([
    want.totalScore,
    want.paid,
  ]);

  // The remainder returns to the budget: then the next round reserves again, or the project closes.
  const closed = events.find((e) => e.name === "ProjectClosed");
  const budget = prior.budget + want.remainder;
  const expectedCredits = want.rewards.flatMap((r, j) => credit(open[j]!.trainer.address, r));
  if (closed === undefined) {
    const after = await env.market.getProject(p.id);
    expect(after.budget + after.roundReward, `${at}: budget`).to.equal(budget);
  } else {
    expect(BigInt(closed.args.budgetRefunded), `${at}: refund`).to.equal(budget);
    covered.closedByFinalize++;
    expectedCredits.push(...credit(env.owner.address, budget), ...credit(env.aggregator.address, prior.bondPosted));
  }
  expect(credits(events, p.token), `${at}: Credited`).to.deep.equal(expectedCredits);
}

/**
 * Lets the aggregation window pass, fails the round and checks `RoundFailed`, every `Credited`
 * and the bond against `failedRoundSplit`; then re-appoints the aggregator (the failure cleared its
 * appointment) with a new bond and slash, and it accepts them, posting the whole bond again.
 */
async function failAndCheck(env: Env, rng: Random, p: Project, round: number, open: Revealed): Promise<void> {
  const k = open.length;
  const at = `${p.label} round ${round} failed (K = ${k}, seed ${SEED})`;
  const prior = await env.market.getProject(p.id);
  await pastAggregationWindow({ market: env.market, time }, p.id);
  const tx = await env.market.connect(env.caller).failRound(p.id);
  const events = eventsOf(env.market, await tx.wait());

  const want = failedRoundSplit(prior.roundReward, prior.slashAmount, prior.bondPosted, k);
  const failed = only(events, "RoundFailed");
  const fields = ["slashed", "slashPerTrainer", "reward", "bondReturned"].map((name) => BigInt(failed.args[name]));
  expect(fields, `${at}: RoundFailed`).to.deep.equal([want.slashed, want.perTrainer, prior.roundReward, want.bondReturned]);
  covered.failed++;
  covered.slashedAll += want.slashed !== 0n && want.slashed === prior.bondPosted ? 1 : 0;
  covered.slashedNothing += want.slashed === 0n ? 1 : 0;
  const expectedCredits = [
    ...open.flatMap((u, j) => credit(u.trainer.address, want.credits[j] as bigint)),
    ...credit(env.owner.address, want.toOwner),
    ...credit(env.aggregator.address, want.bondReturned),
  ];
  // The reward went to the submitters: the budget keeps what it had.
  const budget = prior.budget;
  const closed = events.find((e) => e.name === "ProjectClosed");
  if (closed === undefined) {
    const after = await env.market.getProject(p.id);
    expect([after.bondPosted, after.budget, after.roundReward], `${at}: bond, budget, reserve`).to.deep.equal([0n, budget, 0n]);
    expect(Number(after.status), `${at}: status`).to.equal(ProjectStatus.AwaitingAggregator);
    expect(after.aggregator, `${at}: appointment cleared`).to.equal(ethers.ZeroAddress);
  } else {
    covered.closedByFail++;
    expectedCredits.push(...credit(env.owner.address, budget));
  }
  expect(credits(events, p.token), `${at}: Credited`).to.deep.equal(expectedCredits);
  if (closed !== undefined) return;

  // Same aggregator, new terms: it accepts them and posts the whole bond; the next round opens.
  const next = drawBond(rng, p.tier);
  await env.market.connect(env.owner).appointAggregator(p.id, env.aggregator.address, next.bond, next.slash);
  await env.market
    .connect(env.aggregator)
    .acceptAggregator(p.id, SEAL_KEY, next.bond, next.slash, { value: p.token === ETH ? next.bond : 0n });
}

/**
 * The open round reserved `min(schedule[round], budget before it opened)` (the reserve came out of
 * the budget) and the next round will reserve `schedule[round + 1]` (`roundRewardSchedule`).
 */
async function checkReserved(env: Env, p: Project, round: number): Promise<void> {
  const at = `${p.label} round ${round} opened (seed ${SEED})`;
  const open = await env.market.getProject(p.id);
  const want = p.schedule[round] as bigint;
  const before = open.budget + open.roundReward;
  expect([open.currentRound, open.roundReward], `${at}: reserved`).to.deep.equal([BigInt(round), want < before ? want : before]);
  expect(open.rewardPerRound, `${at}: the next round's reward`).to.equal(p.schedule[round + 1]);
  covered.decayedReward += want !== p.schedule[0] ? 1 : 0;
  covered.decayedBelowBudget += want !== p.schedule[0] && want < before ? 1 : 0;
}

describe("Reward rules: FedMarket against @fedmarket/core (differential)", function () {
  // No time limit: the work is a fixed number of rounds, however slow the machine is.
  this.timeout(0);
  const tiers: readonly Tier[] = ["extreme", "huge", "huge", "wei", "wei", "wei", "dust", "dust", "wei"];

  let env: Env;
  before(async function () {
    env = await deployEnv();
  });

  for (let i = 0; i < PROJECTS; i++) {
    const tier = tiers[i % tiers.length] as Tier;
    it(`project ${i} (${tier} amounts): every credit equals rewardShares / failedRoundSplit`, async function () {
      const rng = new Random(SEED * 1_000_003n + BigInt(i));
      const p = await createProject(env, rng, tier, `project ${i} (${tier})`);
      for (let round = 0; round < ROUNDS_PER_PROJECT; round++) {
        await checkReserved(env, p, round);
        const k = rng.int(p.quorum, Math.min(p.candidates, p.maxTrainers));
        const open = await submit(env, rng, p, round, k);
        if (rng.chance(0.3)) await failAndCheck(env, rng, p, round, open);
        else await finalizeAndCheck(env, rng, p, round, open);
      }
      expect(Number((await env.market.getProject(p.id)).status), `project ${i}: completed`).to.equal(ProjectStatus.Completed);
    });
  }

  it("reached every edge case it is meant to compare", function () {
    for (const [name, count] of Object.entries(covered)) expect(count, `${name} (seed ${SEED})`).to.be.greaterThan(0);
  });
});
