/**
 * Optimistic rounds (IFedMarketOptimistic) on the mock verifier: a round finalized with its chunk
 * results committed pays only after its challenge window; a challenge is answered with the chunk
 * proofs from committed accumulator to committed accumulator (at once or in parts), or the round
 * is voided: model restored, bond slashed, held payouts split among the round's trainers. The
 * accumulator tree and payout hash are packages/protocol's (`ChunkAccumulatorTree`,
 * `payoutHash`), so these tests also pin them to the contract's checks.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { ContractTransactionResponse, LogDescription } from "ethers";

import { voidedRoundSplit } from "@fedmarket/core";
import { ChunkAccumulatorTree, payoutHash, type Payout } from "@fedmarket/protocol";
import type { FedMarket, IFedMarketOptimistic } from "../types/ethers-contracts/index.js";
import {
  AGGREGATION_WINDOW,
  BOND,
  ETH,
  ProjectStatus,
  REVEAL_WINDOW,
  REWARD,
  SLASH,
  SUBMISSION_WINDOW,
  Status,
  baseConfig,
  buildFinalization,
  cid,
  createActiveProject,
  deployMarket,
  mockChunkProof,
  submitAll,
  toAggregationWindow,
  type ChunkProof,
  type MarketFixture,
  type SlotOutcome,
} from "./helpers/market.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const { loadFixture, time } = networkHelpers;

const CHALLENGE_WINDOW = 3_600n;
const DEPOSIT = 50_000n;
const OUTCOMES: SlotOutcome[] = [
  { status: Status.Inlier, score: 300n },
  { status: Status.Inlier, score: 100n },
  { status: Status.NotAggregated, score: 0n },
  { status: Status.Inlier, score: 0n },
];

interface Fixture extends MarketFixture {
  projectId: bigint;
  opt: IFedMarketOptimistic;
}

async function optimisticProject(numRounds = 3): Promise<Fixture> {
  const f = await deployMarket(connection);
  const projectId = await createActiveProject(f, {
    challengeWindow: CHALLENGE_WINDOW,
    challengeDeposit: DEPOSIT,
    numRounds,
    budget: REWARD * BigInt(numRounds),
  });
  const opt = (await ethers.getContractAt("IFedMarketOptimistic", await f.market.getAddress())) as unknown as IFedMarketOptimistic;
  return { ...f, projectId, opt };
}

const activeProject = () => optimisticProject();
const lastRoundProject = () => optimisticProject(1);

/** The accumulators a chunk chain commits: `acc_0 = 0`, then each proof's `accOut`. */
const accsOf = (proofs: readonly ChunkProof[]): bigint[] => [0n, ...proofs.map((p) => BigInt(p.accOut))];

/** The `ContributionRecorded` events of a transaction, as the payout list `settleRound` takes. */
async function payoutsOf(market: FedMarket, tx: ContractTransactionResponse): Promise<Payout[]> {
  const receipt = await tx.wait();
  return (receipt?.logs ?? [])
    .map((log) => market.interface.parseLog(log))
    .filter((e): e is LogDescription => e?.name === "ContributionRecorded")
    .map((e) => ({ trainer: e.args.trainer as string, share: e.args.reward as bigint }));
}

/** Round 0 submitted by four trainers and finalized optimistically; returns what a watcher sees. */
async function finalizedOptimistically(f: Fixture) {
  await submitAll(f, f.projectId, f.trainers.slice(0, 4));
  const before = await f.market.getProject(f.projectId);
  const { chunkProofs, result } = await buildFinalization(f, f.projectId, OUTCOMES);
  const tree = new ChunkAccumulatorTree(accsOf(chunkProofs));
  const accFinal = tree.accs.at(-1) as bigint;
  const tx = await f.opt.connect(f.aggregator).finalizeRoundOptimistic(f.projectId, 0n, accFinal, tree.root, cid("proofs"), result);
  const payouts = await payoutsOf(f.market, tx);
  return { tx, tree, chunkProofs, result, payouts, prevModel: before.modelCommitment, prevModelCid: before.modelCid };
}

describe("FedMarket: optimistic rounds", function () {
  it("refuses a challenge window longer than a round's commit and reveal windows", async function () {
    const f = await deployMarket(connection);
    const config = baseConfig({
      verifier: await f.verifier.getAddress(),
      aggregator: f.aggregator.address,
      challengeWindow: SUBMISSION_WINDOW + REVEAL_WINDOW + 1n,
    });
    await expect(f.market.createProject(config, { value: config.budget }))
      .to.be.revertedWithCustomError(f.market, "InvalidConfig")
      .withArgs("challengeWindow");
  });

  it("is refused in a project without a challenge window", async function () {
    const f = await deployMarket(connection);
    const projectId = await createActiveProject(f);
    const opt = (await ethers.getContractAt("IFedMarketOptimistic", await f.market.getAddress())) as unknown as IFedMarketOptimistic;
    await submitAll(f, projectId, f.trainers.slice(0, 4));
    const { chunkProofs, result } = await buildFinalization(f, projectId, OUTCOMES);
    const tree = new ChunkAccumulatorTree(accsOf(chunkProofs));
    await expect(opt.connect(f.aggregator).finalizeRoundOptimistic(projectId, 0n, tree.accs.at(-1)!, tree.root, cid("p"), result))
      .to.be.revertedWithCustomError(opt, "NotOptimistic")
      .withArgs(projectId);
  });

  it("an unchallenged round records its payouts, holds them for the window, then pays them", async function () {
    const f = await loadFixture(activeProject);
    const { tx, tree, result, payouts } = await finalizedOptimistically(f);
    const now = BigInt(await time.latest());
    await expect(tx)
      .to.emit(f.opt, "ChunksCommitted")
      .withArgs(f.projectId, 0n, tree.accs.at(-1), tree.root, cid("proofs"), REWARD, payoutHash(payouts), now + CHALLENGE_WINDOW);
    await expect(tx).to.emit(f.market, "RoundFinalized");
    expect(payouts.map((p) => p.share)).to.deep.equal([(REWARD * 3n) / 4n, REWARD / 4n, 0n, 0n]);
    // The model moves on at once (trainers train on it); the money waits.
    expect((await f.market.getProject(f.projectId)).modelCommitment).to.equal(result.newModelCommitment);
    for (const p of payouts) expect(await f.market.creditOf(ETH, p.trainer)).to.equal(0n);
    const view = await f.opt.getOptimisticRound(f.projectId, 0n);
    expect(view.payout).to.equal(REWARD);
    expect(view.payoutHash).to.equal(payoutHash(payouts));

    await expect(f.opt.settleRound(f.projectId, 0n, payouts)).to.be.revertedWithCustomError(f.opt, "ChallengeWindowOpen");
    await time.increaseTo(view.windowEnd);
    const swapped = [payouts[1]!, payouts[0]!, ...payouts.slice(2)];
    await expect(f.opt.settleRound(f.projectId, 0n, swapped)).to.be.revertedWithCustomError(f.opt, "PayoutsMismatch");
    await expect(f.opt.connect(f.stranger).settleRound(f.projectId, 0n, payouts))
      .to.emit(f.opt, "RoundSettled")
      .withArgs(f.projectId, 0n, REWARD);
    for (const p of payouts) expect(await f.market.creditOf(ETH, p.trainer)).to.equal(p.share);
    await expect(f.opt.settleRound(f.projectId, 0n, payouts)).to.be.revertedWithCustomError(f.opt, "RoundClosed");
    await expect(f.opt.challengeRound(f.projectId, 0n, 0n, 1n, { value: DEPOSIT })).to.be.revertedWithCustomError(
      f.opt,
      "ChallengeWindowClosed",
    );
  });

  it("a challenged chunk answered with its proof costs the challenger its deposit and the aggregator nothing", async function () {
    const f = await loadFixture(activeProject);
    const { tree, chunkProofs, payouts } = await finalizedOptimistically(f);
    const challenge = f.opt.connect(f.stranger).challengeRound(f.projectId, 0n, 1n, 1n, { value: DEPOSIT });
    const deadline = BigInt(await time.latest()) + 1n + AGGREGATION_WINDOW;
    await expect(challenge).to.emit(f.opt, "RoundChallenged").withArgs(f.projectId, 0n, f.stranger.address, 1n, 1n, deadline, SLASH);
    expect((await f.market.getProject(f.projectId)).bondPosted).to.equal(BOND - SLASH);
    await expect(f.opt.challengeRound(f.projectId, 0n, 0n, 1n, { value: DEPOSIT })).to.be.revertedWithCustomError(f.opt, "ChallengeOpen");

    const agg = f.opt.connect(f.aggregator);
    const proof = chunkProofs[1]!;
    // The answer must start and end at committed accumulators.
    await expect(agg.answerChallenge(f.projectId, 0n, tree.accs[1]! + 1n, tree.proof(1), [proof], tree.proof(2)))
      .to.be.revertedWithCustomError(f.opt, "AccumulatorNotCommitted")
      .withArgs(1n, tree.accs[1]! + 1n);
    const other = mockChunkProof(tree.accs[1]!, 12345n);
    await expect(agg.answerChallenge(f.projectId, 0n, tree.accs[1]!, tree.proof(1), [other], tree.proof(2)))
      .to.be.revertedWithCustomError(f.opt, "AccumulatorNotCommitted")
      .withArgs(2n, 12345n);
    const forged = { proof: [...proof.proof].map((w, i) => (i === 0 ? BigInt(w) + 1n : w)), accOut: proof.accOut } as ChunkProof;
    await expect(agg.answerChallenge(f.projectId, 0n, tree.accs[1]!, tree.proof(1), [forged], tree.proof(2)))
      .to.be.revertedWithCustomError(f.market, "InvalidChunkProofs")
      .withArgs(1n, 1n);

    await expect(agg.answerChallenge(f.projectId, 0n, tree.accs[1]!, tree.proof(1), [proof], tree.proof(2)))
      .to.emit(f.opt, "ChallengeAnswered")
      .withArgs(f.projectId, 0n, f.aggregator.address, DEPOSIT, SLASH);
    expect((await f.market.getProject(f.projectId)).bondPosted).to.equal(BOND);
    expect(await f.market.creditOf(ETH, f.aggregator.address)).to.equal(DEPOSIT);
    await time.increaseTo((await f.opt.getOptimisticRound(f.projectId, 0n)).windowEnd);
    await expect(f.opt.settleRound(f.projectId, 0n, payouts)).to.emit(f.opt, "RoundSettled");
  });

  it("a challenge of every chunk is answered in parts, ending at the decision proof's accumulator", async function () {
    const f = await loadFixture(activeProject);
    const { tree, chunkProofs } = await finalizedOptimistically(f);
    const n = BigInt(chunkProofs.length);
    await f.opt.connect(f.stranger).challengeRound(f.projectId, 0n, 0n, n, { value: DEPOSIT });
    const agg = f.opt.connect(f.aggregator);
    // acc_0 is 0 and has no proof; later parts ignore accIn.
    await expect(agg.answerChallenge(f.projectId, 0n, 0n, [], chunkProofs.slice(0, 1), []))
      .to.emit(f.opt, "ChallengeProofsAccepted")
      .withArgs(f.projectId, 0n, 0n, 1n, tree.accs[1]);
    await expect(agg.answerChallenge(f.projectId, 0n, 999n, [], chunkProofs.slice(1), [])).to.emit(f.opt, "ChallengeAnswered");
    expect((await f.opt.getOptimisticRound(f.projectId, 0n)).answerDeadline).to.equal(0n);
  });

  it("an unanswered challenge voids the round: model restored, bond slashed, held payouts split equally", async function () {
    const f = await loadFixture(activeProject);
    const { payouts, prevModel, prevModelCid } = await finalizedOptimistically(f);
    await f.opt.connect(f.stranger).challengeRound(f.projectId, 0n, 2n, 1n, { value: DEPOSIT });
    const view = await f.opt.getOptimisticRound(f.projectId, 0n);
    await expect(f.opt.voidRound(f.projectId, 0n, payouts, prevModelCid)).to.be.revertedWithCustomError(f.opt, "AnswerDeadlineNotReached");

    // Nothing of the next round is aggregated on a model a challenge may still void.
    await submitAll(f, f.projectId, f.trainers.slice(0, 4));
    await toAggregationWindow(f, f.projectId);
    const next = await buildFinalization(f, f.projectId, OUTCOMES);
    await expect(f.market.connect(f.aggregator).finalizeRound(f.projectId, 1n, 0n, next.chunkProofs, next.result))
      .to.be.revertedWithCustomError(f.opt, "ChallengeOpen")
      .withArgs(f.projectId, 0n, view.answerDeadline);

    // The next round's commit and reveal windows outlast the answer deadline.
    expect(BigInt(await time.latest())).to.be.greaterThanOrEqual(view.answerDeadline);
    await expect(f.opt.connect(f.aggregator).answerChallenge(f.projectId, 0n, 0n, [], [], [])).to.be.revertedWithCustomError(
      f.opt,
      "AnswerDeadlinePassed",
    );
    await expect(f.opt.voidRound(f.projectId, 0n, payouts, cid("elsewhere"))).to.be.revertedWithCustomError(f.opt, "ModelCidMismatch");
    await expect(f.opt.voidRound(f.projectId, 0n, payouts.slice(1), prevModelCid)).to.be.revertedWithCustomError(f.opt, "PayoutsMismatch");

    const n = BigInt(payouts.length);
    // The money rule's one home: @fedmarket/core's voidedRoundSplit.
    const split = voidedRoundSplit(REWARD, SLASH, DEPOSIT, payouts.length);
    const tx = f.opt.connect(f.owner).voidRound(f.projectId, 0n, payouts, prevModelCid);
    await expect(tx)
      .to.emit(f.opt, "RoundVoided")
      .withArgs(f.projectId, 0n, f.stranger.address, SLASH, split.perTrainer, REWARD, n, prevModel, prevModelCid);
    await tx;
    for (const [k, p] of payouts.entries()) expect(await f.market.creditOf(ETH, p.trainer)).to.equal(split.credits[k]);
    expect(await f.market.creditOf(ETH, f.stranger.address)).to.equal(split.toChallenger);
    const project = await f.market.getProject(f.projectId);
    expect(project.modelCommitment).to.equal(prevModel);
    expect(project.modelCid).to.equal(prevModelCid);
    expect(project.bondPosted).to.equal(BOND - SLASH);
    await expect(f.opt.settleRound(f.projectId, 0n, payouts)).to.be.revertedWithCustomError(f.opt, "RoundClosed");

    // The open round now proves on the restored model.
    const retry = await buildFinalization(f, f.projectId, OUTCOMES);
    expect(retry.inputs[1]).to.equal(prevModel);
    await expect(f.market.connect(f.aggregator).finalizeRound(f.projectId, 1n, 0n, retry.chunkProofs, retry.result)).to.emit(
      f.market,
      "RoundFinalized",
    );
    expect(await f.market.totalLiabilities(ETH)).to.equal(await ethers.provider.getBalance(await f.market.getAddress()));
  });

  it("checks challenge ranges and deposits", async function () {
    const f = await loadFixture(activeProject);
    const { chunkProofs } = await finalizedOptimistically(f);
    const n = BigInt(chunkProofs.length);
    const c = f.opt.connect(f.stranger);
    await expect(c.challengeRound(f.projectId, 0n, 0n, 0n, { value: DEPOSIT })).to.be.revertedWithCustomError(f.opt, "InvalidChunkRange");
    await expect(c.challengeRound(f.projectId, 0n, n - 1n, 2n, { value: DEPOSIT })).to.be.revertedWithCustomError(
      f.opt,
      "InvalidChunkRange",
    );
    await expect(c.challengeRound(f.projectId, 0n, 0n, 1n, { value: DEPOSIT - 1n })).to.be.revertedWithCustomError(
      f.market,
      "WrongEthAmount",
    );
    await expect(c.challengeRound(f.projectId, 1n, 0n, 1n, { value: DEPOSIT })).to.be.revertedWithCustomError(f.opt, "NotOptimisticRound");
    await expect(c.answerChallenge(f.projectId, 0n, 0n, [], chunkProofs.slice(0, 1), [])).to.be.revertedWithCustomError(
      f.opt,
      "NoOpenChallenge",
    );
  });

  it("keeps the bond posted past the project's end until its last optimistic round is settled", async function () {
    const f = await loadFixture(lastRoundProject);
    const { tx, payouts } = await finalizedOptimistically(f);
    await expect(tx).to.emit(f.market, "ProjectClosed").withArgs(f.projectId, ProjectStatus.Completed, 0n, 0n, 0n);
    expect(await f.market.creditOf(ETH, f.aggregator.address)).to.equal(0n);
    // A challenge after the end still finds the bond.
    await f.opt.connect(f.stranger).challengeRound(f.projectId, 0n, 0n, 1n, { value: DEPOSIT });
    expect((await f.market.getProject(f.projectId)).bondPosted).to.equal(BOND - SLASH);
    await time.increaseTo((await f.opt.getOptimisticRound(f.projectId, 0n)).answerDeadline);
    await expect(f.opt.voidRound(f.projectId, 0n, payouts, cid("model0")))
      .to.emit(f.opt, "BondReleased")
      .withArgs(f.projectId, f.aggregator.address, BOND - SLASH);
    expect(await f.market.creditOf(ETH, f.aggregator.address)).to.equal(BOND - SLASH);
    // Voided inside its window: nothing is left to challenge.
    expect(BigInt(await time.latest())).to.be.lessThan((await f.opt.getOptimisticRound(f.projectId, 0n)).windowEnd);
    await expect(f.opt.challengeRound(f.projectId, 0n, 0n, 1n, { value: DEPOSIT })).to.be.revertedWithCustomError(f.opt, "RoundClosed");
  });

  it("releases the kept bond when the last round is settled", async function () {
    const f = await loadFixture(lastRoundProject);
    const { payouts } = await finalizedOptimistically(f);
    await time.increaseTo((await f.opt.getOptimisticRound(f.projectId, 0n)).windowEnd);
    await expect(f.opt.settleRound(f.projectId, 0n, payouts))
      .to.emit(f.opt, "BondReleased")
      .withArgs(f.projectId, f.aggregator.address, BOND);
    expect((await f.market.getProject(f.projectId)).bondPosted).to.equal(0n);
  });

  it("refuses plain ETH transfers and calls nobody answers", async function () {
    const f = await loadFixture(activeProject);
    const to = await f.market.getAddress();
    await expect(f.stranger.sendTransaction({ to, value: 1n })).to.be.revert(ethers);
    await expect(f.stranger.sendTransaction({ to, data: "0xdeadbeef" })).to.be.revert(ethers);
  });
});
