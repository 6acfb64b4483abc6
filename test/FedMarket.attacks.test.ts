/**
 * Attacker suite: re-entrancy (malicious trainer contract, malicious ERC-20), unauthorized
 * finalization, proof replay across rounds / projects / deployments, out-of-order chunk proofs,
 * withdrawal by strangers, a reverting token transfer that must leave the credit intact, and the
 * owner's and aggregator's attempts to take back or withhold what others are owed (cancelling below
 * quorum, front-running an acceptance, a failed aggregator re-accepting, excluding everyone,
 * aggregating its own project, never accepting, keeping third-party funds). Every attack must fail
 * and cost the honest parties nothing.
 */
import { expect } from "chai";
import { network } from "hardhat";

import type { BlockableToken, FedMarket, ReentrantToken, ReentrantTrainer, TestToken } from "../types/ethers-contracts/index.js";
import {
  AGGREGATION_WINDOW,
  BOND,
  ETH,
  HYPER_INITIAL,
  ProjectStatus,
  REWARD,
  SLASH,
  SUBMISSION_WINDOW,
  Status,
  acceptTerms,
  baseConfig,
  buildFinalization,
  cid,
  commitmentOf,
  createActiveProject,
  deployMarket,
  mockChunkProof,
  mockDecisionProof,
  packOutcomes,
  submitAll,
  type ChunkProof,
  type MarketFixture,
  type RoundResult,
  type SlotOutcome,
} from "./helpers/market.js";

const { ethers, networkHelpers } = await network.create();
const { loadFixture, time } = networkHelpers;

enum Mode {
  None,
  Bubble,
  TryAll,
  Revert,
}

const inliers = (scores: readonly bigint[]): SlotOutcome[] => scores.map((score) => ({ status: Status.Inlier, score }));

/** Balance and liabilities of the market in `token` must always agree. */
async function expectSolvent(market: FedMarket, token: string, erc20?: { balanceOf(a: string): Promise<bigint> }) {
  const address = await market.getAddress();
  const balance = token === ETH ? await ethers.provider.getBalance(address) : await erc20!.balanceOf(address);
  expect(await market.totalLiabilities(token)).to.equal(balance);
}

/** A chunk chain 0 -> a1 -> a2 -> ... fixed by `label` (independent of the project). */
function chunkChain(label: string, count: number): ChunkProof[] {
  const proofs: ChunkProof[] = [];
  let acc = 0n;
  for (let i = 0; i < count; i++) {
    const next = commitmentOf(`${label}-acc-${i}`);
    proofs.push(mockChunkProof(acc, next));
    acc = next;
  }
  return proofs;
}

/** The decision public inputs, computed off chain from docs/PROOF-INTERFACE.md. */
async function decisionInputs(
  market: FedMarket,
  projectId: bigint,
  newModel: bigint,
  accFinal: bigint,
  words: bigint[],
  kMax: number,
): Promise<bigint[]> {
  const project = await market.getProject(projectId);
  const round = await market.getCurrentRound(projectId);
  const ctx = await market.roundContext(projectId, project.currentRound);
  const commitments: bigint[] = [];
  for (let slot = 0; slot < kMax; slot++) {
    commitments.push(slot < Number(round.submissions) ? (await market.getSubmission(projectId, round.round, slot))[1] : 0n);
  }
  return [ctx, project.modelCommitment, newModel, accFinal, ...commitments, ...words];
}

// -------------------------------------------------------------------------------------------------
// Fixtures
// -------------------------------------------------------------------------------------------------

/**
 * An active ETH project (quorum 4) where three EOA trainers and one malicious trainer contract
 * submitted, finalized with equal scores: the attacker holds a credit of REWARD / 4.
 */
async function reentrantTrainerFixture() {
  const f = await deployMarket(ethers);
  const projectId = await createActiveProject(f, {}, 3);
  const attacker = (await ethers.deployContract("ReentrantTrainer", [await f.market.getAddress()])) as unknown as ReentrantTrainer;
  await attacker.register(projectId);
  await submitAll(f, projectId, f.trainers.slice(0, 3));
  const round = (await f.market.getCurrentRound(projectId)).round;
  await attacker.submit(projectId, round, commitmentOf("attacker-update"));
  await time.increase(SUBMISSION_WINDOW);
  const { chunkProofs, result } = await buildFinalization(f, projectId, inliers([1n, 1n, 1n, 1n]));
  await f.market.connect(f.aggregator).finalizeRound(projectId, round, 0, chunkProofs, result);
  const credit = await f.market.creditOf(ETH, await attacker.getAddress());
  expect(credit).to.equal(REWARD / 4n);
  return { ...f, projectId, attacker, credit };
}

/** A plain-token project and a malicious token that re-enters the market from transferFrom. */
async function reentrantTokenFixture() {
  const f = await deployMarket(ethers);
  const marketAddress = await f.market.getAddress();
  const token = (await ethers.deployContract("ReentrantToken", [marketAddress])) as unknown as ReentrantToken;
  await token.mint(f.owner.address, 10n ** 24n);
  await token.connect(f.owner).approve(marketAddress, ethers.MaxUint256);
  // The token holds tokens of its own to fund its re-entrant deposit.
  await token.mint(await token.getAddress(), 10n ** 24n);
  const config = baseConfig({
    verifier: await f.verifier.getAddress(),
    aggregator: f.aggregator.address,
    token: await token.getAddress(),
    aggregatorBond: 0n,
    slashAmount: 0n,
  });
  await f.market.connect(f.owner).createProject(config);
  return { ...f, token, config, projectA: 1n };
}

/** A BlockableToken project whose four trainers earned credits in a finalized round. */
async function blockableFixture() {
  const f = await deployMarket(ethers);
  const marketAddress = await f.market.getAddress();
  const token = (await ethers.deployContract("BlockableToken")) as unknown as BlockableToken;
  for (const s of [f.owner, f.aggregator, ...f.trainers]) {
    await token.mint(s.address, 10n ** 24n);
    await token.connect(s).approve(marketAddress, ethers.MaxUint256);
  }
  const projectId = await createActiveProject(f, { token: await token.getAddress() });
  await submitAll(f, projectId, f.trainers.slice(0, 4));
  await time.increase(SUBMISSION_WINDOW);
  const { chunkProofs, result } = await buildFinalization(f, projectId, inliers([1n, 2n, 3n, 4n]));
  await f.market.connect(f.aggregator).finalizeRound(projectId, 0, 0, chunkProofs, result);
  return { ...f, token, projectId };
}

/** Four submissions in the open round of an active ETH project; the aggregation window is open. */
async function roundReady() {
  const f = await deployMarket(ethers);
  const projectId = await createActiveProject(f);
  const commitments = await submitAll(f, projectId, f.trainers.slice(0, 4));
  await time.increase(SUBMISSION_WINDOW);
  return { ...f, projectId, commitments };
}

/** Three submissions (one short of the quorum of 4) in the open round; its submission window is still open. */
async function roundReadyBelowQuorum() {
  const f = await deployMarket(ethers);
  const projectId = await createActiveProject(f);
  await submitAll(f, projectId, f.trainers.slice(0, 3));
  return { ...f, projectId };
}

/** A market and a mock verifier, no project. */
async function fixture(): Promise<MarketFixture> {
  return deployMarket(ethers);
}

/**
 * Two identical projects (A = 1, B = 2) on one market, and a third identical project on a second
 * deployment, whose round 0 received the very same four commitments. Only `ctx` differs between
 * their decision proofs.
 */
async function replayFixture() {
  const f = await deployMarket(ethers);
  const market2 = (await ethers.deployContract("FedMarket")) as unknown as FedMarket;
  const commitments = [0, 1, 2, 3].map((i) => commitmentOf(`replay-update-${i}`));
  const setUp = async (market: FedMarket) => {
    const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address });
    await market.connect(f.owner).createProject(config, { value: config.budget });
    const projectId = await market.projectCount();
    await acceptTerms(market, f.aggregator, projectId);
    for (const [i, t] of f.trainers.slice(0, 4).entries()) {
      await market.connect(t).registerTrainer(projectId, []);
      await market.connect(t).submitUpdate(projectId, 0, commitments[i]!, cid(`u${i}`));
    }
    return projectId;
  };
  const projectA = await setUp(f.market);
  const projectB = await setUp(f.market);
  const projectOther = await setUp(market2);
  await time.increase(SUBMISSION_WINDOW);
  return { ...f, market2, projectA, projectB, projectOther, commitments };
}

// -------------------------------------------------------------------------------------------------
// Tests
// -------------------------------------------------------------------------------------------------

describe("FedMarket attacks", function () {
  describe("re-entrancy from a malicious trainer's receive()", function () {
    it("a re-entrant withdraw that bubbles up makes the whole withdrawal fail; the credit stays", async function () {
      const { market, attacker, credit } = await loadFixture(reentrantTrainerFixture);
      const attackerAddress = await attacker.getAddress();
      const balanceBefore = await ethers.provider.getBalance(await market.getAddress());
      await attacker.setMode(Mode.Bubble, 1n);
      // receive() re-enters withdraw -> ReentrancyGuardReentrantCall -> receive reverts -> the
      // market's ETH transfer fails.
      await expect(attacker.withdraw(ETH)).to.be.revertedWithCustomError(market, "EthTransferFailed").withArgs(attackerAddress, credit);
      expect(await market.creditOf(ETH, attackerAddress)).to.equal(credit);
      expect(await ethers.provider.getBalance(await market.getAddress())).to.equal(balanceBefore);
      expect(await attacker.received()).to.equal(0n);
      await expectSolvent(market, ETH);
    });

    it("every re-entrant call (withdraw and all other entry points) is rejected; paid exactly once", async function () {
      const { market, attacker, credit, projectId, trainers } = await loadFixture(reentrantTrainerFixture);
      const attackerAddress = await attacker.getAddress();
      const marketAddress = await market.getAddress();
      const balanceBefore = await ethers.provider.getBalance(marketAddress);
      const honestCredits = await Promise.all(trainers.slice(0, 3).map((t) => market.creditOf(ETH, t.address)));
      await attacker.setMode(Mode.TryAll, projectId);

      await expect(attacker.withdraw(ETH)).to.emit(market, "Withdrawn").withArgs(ETH, attackerAddress, credit);

      expect(await attacker.received()).to.equal(credit);
      expect(await attacker.reentryAttempts()).to.equal(11n);
      expect(await attacker.reentrySuccesses()).to.equal(0n);
      const guardError = market.interface.encodeErrorResult("ReentrancyGuardReentrantCall", []);
      expect(await attacker.reentryErrorCount()).to.equal(11n);
      for (let i = 0n; i < 11n; i++) expect(await attacker.reentryErrors(i)).to.equal(guardError);

      expect(await market.creditOf(ETH, attackerAddress)).to.equal(0n);
      expect(await ethers.provider.getBalance(marketAddress)).to.equal(balanceBefore - credit);
      for (const [i, t] of trainers.slice(0, 3).entries()) {
        expect(await market.creditOf(ETH, t.address)).to.equal(honestCredits[i]);
      }
      await expectSolvent(market, ETH);
      // Nothing left to take.
      await expect(attacker.withdraw(ETH)).to.be.revertedWithCustomError(market, "NothingToWithdraw").withArgs(ETH, attackerAddress);
    });

    it("a trainer that refuses ETH keeps its credit and can withdraw once it accepts again", async function () {
      const { market, attacker, credit } = await loadFixture(reentrantTrainerFixture);
      const attackerAddress = await attacker.getAddress();
      await attacker.setMode(Mode.Revert, 1n);
      await expect(attacker.withdraw(ETH)).to.be.revertedWithCustomError(market, "EthTransferFailed").withArgs(attackerAddress, credit);
      expect(await market.creditOf(ETH, attackerAddress)).to.equal(credit);
      await attacker.setMode(Mode.None, 1n);
      await expect(attacker.withdraw(ETH)).to.changeEtherBalances(ethers, [attacker, market], [credit, -credit]);
      await expectSolvent(market, ETH);
    });
  });

  describe("re-entrancy from a malicious ERC-20's transferFrom", function () {
    it("a fundProject re-entered during createProject cannot double-count the deposit", async function () {
      const { market, token, config, projectA, owner } = await loadFixture(reentrantTokenFixture);
      const tokenAddress = await token.getAddress();
      const budgetA = (await market.getProject(projectA)).budget;
      // While createProject(B) measures its balance delta, the token tries to deposit into A: if
      // that succeeded, B would also be credited with A's deposit.
      await token.arm(market.interface.encodeFunctionData("fundProject", [projectA, 5n * REWARD]), false);
      await market.connect(owner).createProject(config);
      expect(await token.reentryAttempts()).to.equal(1n);
      expect(await token.reentrySuccesses()).to.equal(0n);
      expect(await token.lastReentryError()).to.equal(market.interface.encodeErrorResult("ReentrancyGuardReentrantCall", []));
      expect((await market.getProject(2n)).budget).to.equal(config.budget);
      expect((await market.getProject(projectA)).budget).to.equal(budgetA);
      expect(await market.totalLiabilities(tokenAddress)).to.equal(BigInt(config.budget) * 2n);
      await expectSolvent(market, tokenAddress, token);
    });

    it("when the token lets the failure bubble up, the deposit reverts with ReentrancyGuardReentrantCall", async function () {
      const { market, token, config, projectA, owner } = await loadFixture(reentrantTokenFixture);
      await token.arm(market.interface.encodeFunctionData("fundProject", [projectA, 1n]), true);
      await expect(market.connect(owner).createProject(config)).to.be.revertedWithCustomError(market, "ReentrancyGuardReentrantCall");
      expect(await market.projectCount()).to.equal(1n);
      await expectSolvent(market, await token.getAddress(), token);
    });

    it("withdraw and cancelProject re-entered from fundProject's transferFrom are rejected", async function () {
      const { market, token, projectA, owner } = await loadFixture(reentrantTokenFixture);
      const tokenAddress = await token.getAddress();
      for (const payload of [
        market.interface.encodeFunctionData("withdraw", [tokenAddress]),
        market.interface.encodeFunctionData("cancelProject", [projectA]),
        market.interface.encodeFunctionData("createProject", [
          baseConfig({ verifier: await market.getAddress(), aggregator: owner.address }),
        ]),
      ]) {
        await token.arm(payload, false);
        await market.connect(owner).fundProject(projectA, 1000n);
        expect(await token.lastReentryError()).to.equal(market.interface.encodeErrorResult("ReentrancyGuardReentrantCall", []));
      }
      expect(await token.reentrySuccesses()).to.equal(0n);
      expect((await market.getProject(projectA)).status).to.equal(ProjectStatus.AwaitingAggregator);
      await expectSolvent(market, tokenAddress, token);
    });
  });

  describe("finalization by a non-aggregator", function () {
    it("rejects the owner, a trainer and a stranger, even with a valid proof", async function () {
      const f = await loadFixture(roundReady);
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, inliers([1n, 1n, 1n, 1n]));
      for (const caller of [f.owner, f.trainers[0]!, f.stranger]) {
        await expect(f.market.connect(caller).finalizeRound(f.projectId, 0, 0, chunkProofs, result))
          .to.be.revertedWithCustomError(f.market, "NotAggregator")
          .withArgs(f.projectId, caller.address);
        await expect(f.market.connect(caller).submitChunkProofs(f.projectId, 0, 0, chunkProofs))
          .to.be.revertedWithCustomError(f.market, "NotAggregator")
          .withArgs(f.projectId, caller.address);
      }
      // The aggregator's own call with the same data goes through.
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectId, 0, 0, chunkProofs, result)).to.emit(
        f.market,
        "RoundFinalized",
      );
    });

    it("rejects the previous aggregator after the owner appointed a new one", async function () {
      const f = await loadFixture(roundReady);
      await time.increase(3600n); // past the aggregation window
      await f.market.failRound(f.projectId);
      const newAggregator = f.trainers[7]!;
      await f.market.connect(f.owner).appointAggregator(f.projectId, newAggregator.address, 0n, 0n);
      await acceptTerms(f.market, newAggregator, f.projectId, true, "0x" + "33".repeat(32));
      await submitAll(f, f.projectId, f.trainers.slice(0, 4));
      await time.increase(SUBMISSION_WINDOW);
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, inliers([1n, 1n, 1n, 1n]));
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectId, 1, 0, chunkProofs, result))
        .to.be.revertedWithCustomError(f.market, "NotAggregator")
        .withArgs(f.projectId, f.aggregator.address);
      await f.market.connect(newAggregator).finalizeRound(f.projectId, 1, 0, chunkProofs, result);
    });
  });

  describe("proof replay", function () {
    const outcomes = packOutcomes(inliers([5n, 1n, 0n, 9n]));

    /** A valid finalization of round `round` of project A (chunk chain fixed by `label`). */
    async function proveA(f: Awaited<ReturnType<typeof replayFixture>>, newModel: bigint, label: string) {
      const chunks = chunkChain(label, 3);
      const accFinal = BigInt(chunks[2]!.accOut);
      const inputs = await decisionInputs(f.market, f.projectA, newModel, accFinal, outcomes, 4);
      const result: RoundResult = {
        newModelCommitment: newModel,
        outcomes,
        proof: mockDecisionProof(inputs),
        newModelCid: cid("m1"),
        nextHyperParams: { ...HYPER_INITIAL },
      };
      return { chunks, result, inputs };
    }

    it("a decision proof of project A does not verify in project B (same market, identical inputs but ctx)", async function () {
      const f = await loadFixture(replayFixture);
      const newModel = commitmentOf("replay-model");
      const { chunks, result, inputs } = await proveA(f, newModel, "same-chain");
      // Chunk proofs carry no context, so B accepts A's chunk chain...
      await f.market.connect(f.aggregator).submitChunkProofs(f.projectB, 0, 0, chunks);
      // ...and B's decision inputs then equal A's everywhere except ctx.
      const inputsB = await f.market.decisionPublicInputs(f.projectB, newModel, outcomes);
      expect(inputsB.slice(1)).to.deep.equal(inputs.slice(1));
      expect(inputsB[0]).to.not.equal(inputs[0]);
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectB, 0, 3, [], result)).to.be.revertedWithCustomError(
        f.market,
        "InvalidDecisionProof",
      );
      // Control: the proof is valid where it belongs.
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectA, 0, 0, chunks, result)).to.emit(f.market, "RoundFinalized");
    });

    it("a decision proof does not verify on a second FedMarket deployment", async function () {
      const f = await loadFixture(replayFixture);
      const newModel = commitmentOf("replay-model");
      const { chunks, result, inputs } = await proveA(f, newModel, "same-chain");
      expect(f.projectOther).to.equal(f.projectA); // same project id, same round, same everything
      await f.market2.connect(f.aggregator).submitChunkProofs(f.projectOther, 0, 0, chunks);
      const inputsOther = await f.market2.decisionPublicInputs(f.projectOther, newModel, outcomes);
      expect(inputsOther.slice(1)).to.deep.equal(inputs.slice(1));
      await expect(f.market2.connect(f.aggregator).finalizeRound(f.projectOther, 0, 3, [], result)).to.be.revertedWithCustomError(
        f.market2,
        "InvalidDecisionProof",
      );
    });

    it("a decision proof of round r does not verify in round r + 1", async function () {
      const f = await loadFixture(replayFixture);
      // Round 0 keeps the model unchanged, so round 1 starts from the same model commitment.
      const unchanged = (await f.market.getProject(f.projectA)).modelCommitment;
      const { chunks, result, inputs } = await proveA(f, unchanged, "same-chain");
      await f.market.connect(f.aggregator).finalizeRound(f.projectA, 0, 0, chunks, result);
      // Round 1 receives the very same commitments in the same slots.
      for (const [i, t] of f.trainers.slice(0, 4).entries()) {
        await f.market.connect(t).submitUpdate(f.projectA, 1, f.commitments[i]!, cid(`again${i}`));
      }
      await time.increase(SUBMISSION_WINDOW);
      // Replaying with the old round number is refused outright...
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectA, 0, 0, chunks, result))
        .to.be.revertedWithCustomError(f.market, "WrongRound")
        .withArgs(f.projectA, 1n, 0n);
      // ...and under the new round number only ctx differs, so the decision proof fails.
      await f.market.connect(f.aggregator).submitChunkProofs(f.projectA, 1, 0, chunks);
      const inputs1 = await f.market.decisionPublicInputs(f.projectA, unchanged, outcomes);
      expect(inputs1.slice(1)).to.deep.equal(inputs.slice(1));
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectA, 1, 3, [], result)).to.be.revertedWithCustomError(
        f.market,
        "InvalidDecisionProof",
      );
      // Control: re-proving the same outcomes for round 1 works.
      const reproved = await decisionInputs(f.market, f.projectA, unchanged, BigInt(chunks[2]!.accOut), outcomes, 4);
      await f.market.connect(f.aggregator).finalizeRound(f.projectA, 1, 3, [], { ...result, proof: mockDecisionProof(reproved) });
    });
  });

  describe("chunk proofs out of order", function () {
    it("rejects gaps, swaps, repeats, broken links, extra chunks and incomplete rounds", async function () {
      const f = await loadFixture(roundReady); // 250 parameters / 100 per chunk = 3 chunks
      const [c0, c1, c2] = chunkChain("order", 3) as [ChunkProof, ChunkProof, ChunkProof];
      const agg = f.market.connect(f.aggregator);
      const pid = f.projectId;

      // Starting anywhere but 0 (or the verified count).
      await expect(agg.submitChunkProofs(pid, 0, 1, [c1]))
        .to.be.revertedWithCustomError(f.market, "ChunkOutOfOrder")
        .withArgs(0n, 1n);
      // Swapped order: chunk 1's proof at position 0 does not start from accumulator 0.
      await expect(agg.submitChunkProofs(pid, 0, 0, [c1, c0]))
        .to.be.revertedWithCustomError(f.market, "InvalidChunkProof")
        .withArgs(0n);
      // More proofs than chunks.
      await expect(agg.submitChunkProofs(pid, 0, 0, [c0, c1, c2, c2]))
        .to.be.revertedWithCustomError(f.market, "TooManyChunks")
        .withArgs(3n, 4n);

      await agg.submitChunkProofs(pid, 0, 0, [c0]);
      // Skipping chunk 1.
      await expect(agg.submitChunkProofs(pid, 0, 2, [c2]))
        .to.be.revertedWithCustomError(f.market, "ChunkOutOfOrder")
        .withArgs(1n, 2n);
      // Repeating chunk 0's proof as chunk 1.
      await expect(agg.submitChunkProofs(pid, 0, 1, [c0]))
        .to.be.revertedWithCustomError(f.market, "InvalidChunkProof")
        .withArgs(1n);
      // A chunk 1 proof that does not continue the stored accumulator (starts from 0).
      const broken = mockChunkProof(0n, BigInt(c1.accOut));
      await expect(agg.submitChunkProofs(pid, 0, 1, [broken]))
        .to.be.revertedWithCustomError(f.market, "InvalidChunkProof")
        .withArgs(1n);

      await agg.submitChunkProofs(pid, 0, 1, [c1]);
      expect((await f.market.getCurrentRound(pid)).chunksVerified).to.equal(2n);
      // Finalizing before the last chunk.
      const { result } = await buildFinalization(f, pid, inliers([1n, 1n, 1n, 1n]));
      await expect(agg.finalizeRound(pid, 0, 2, [], result))
        .to.be.revertedWithCustomError(f.market, "ChunksIncomplete")
        .withArgs(2n, 3n);

      // Restarting at 0 resets the accumulator; the decision must match the final chain.
      await agg.submitChunkProofs(pid, 0, 0, [c0]);
      expect((await f.market.getCurrentRound(pid)).chunksVerified).to.equal(1n);
      const newModel = commitmentOf("order-model");
      const words = packOutcomes(inliers([1n, 1n, 1n, 1n]));
      const inputs = await decisionInputs(f.market, pid, newModel, BigInt(c2.accOut), words, 4);
      const good: RoundResult = {
        newModelCommitment: newModel,
        outcomes: words,
        proof: mockDecisionProof(inputs),
        newModelCid: cid("m"),
        nextHyperParams: { ...HYPER_INITIAL },
      };
      await expect(agg.finalizeRound(pid, 0, 1, [c1, c2], good)).to.emit(f.market, "RoundFinalized");
    });
  });

  describe("withdrawal by a stranger", function () {
    it("has nothing to withdraw and leaves every credit untouched", async function () {
      const f = await loadFixture(roundReady);
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, inliers([1n, 2n, 3n, 4n]));
      await f.market.connect(f.aggregator).finalizeRound(f.projectId, 0, 0, chunkProofs, result);
      const credits = await Promise.all(f.trainers.slice(0, 4).map((t) => f.market.creditOf(ETH, t.address)));
      expect(credits.every((c) => c > 0n)).to.equal(true);
      const token = (await ethers.deployContract("TestToken")) as unknown as TestToken;
      for (const asset of [ETH, await token.getAddress()]) {
        await expect(f.market.connect(f.stranger).withdraw(asset))
          .to.be.revertedWithCustomError(f.market, "NothingToWithdraw")
          .withArgs(asset, f.stranger.address);
      }
      await expect(f.market.connect(f.stranger).releaseStake(f.projectId))
        .to.be.revertedWithCustomError(f.market, "NoStakeToRelease")
        .withArgs(f.projectId, f.stranger.address);
      for (const [i, t] of f.trainers.slice(0, 4).entries()) {
        expect(await f.market.creditOf(ETH, t.address)).to.equal(credits[i]);
      }
      // The rightful owners still get exactly their credit.
      await expect(f.market.connect(f.trainers[3]!).withdraw(ETH)).to.changeEtherBalances(
        ethers,
        [f.trainers[3]!, f.market],
        [credits[3]!, -credits[3]!],
      );
      await expectSolvent(f.market, ETH);
    });
  });

  describe("a reverting token transfer on withdraw", function () {
    it("keeps the credit intact; the trainer withdraws it once unblocked", async function () {
      const { market, token, trainers } = await loadFixture(blockableFixture);
      const tokenAddress = await token.getAddress();
      const victim = trainers[1]!;
      const credit = await market.creditOf(tokenAddress, victim.address);
      expect(credit).to.be.greaterThan(0n);
      const liabilities = await market.totalLiabilities(tokenAddress);

      await token.setBlocked(victim.address, true);
      await expect(market.connect(victim).withdraw(tokenAddress)).to.be.revertedWithCustomError(token, "Blocked").withArgs(victim.address);
      expect(await market.creditOf(tokenAddress, victim.address)).to.equal(credit);
      expect(await market.totalLiabilities(tokenAddress)).to.equal(liabilities);

      // Others are not held hostage by the blocked account.
      const other = trainers[2]!;
      const otherCredit = await market.creditOf(tokenAddress, other.address);
      await expect(market.connect(other).withdraw(tokenAddress)).to.changeTokenBalances(
        ethers,
        token,
        [other, market],
        [otherCredit, -otherCredit],
      );

      await token.setBlocked(victim.address, false);
      await expect(market.connect(victim).withdraw(tokenAddress)).to.changeTokenBalances(
        ethers,
        token,
        [victim, market],
        [credit, -credit],
      );
      await expect(market.connect(victim).withdraw(tokenAddress))
        .to.be.revertedWithCustomError(market, "NothingToWithdraw")
        .withArgs(tokenAddress, victim.address);
      await expectSolvent(market, tokenAddress, token);
    });
  });
  describe("owner and aggregator accountability", function () {
    /** The owner's credit plus everything still escrowed for it: what it can still get out of the project. */
    async function ownerTake(f: MarketFixture, projectId: bigint): Promise<bigint> {
      const p = await f.market.getProject(projectId);
      return (await f.market.creditOf(ETH, f.owner.address)) + p.budget;
    }

    it("cancel below quorum: the owner, holding every decrypted update, cannot take the round's reward back", async function () {
      const f = await loadFixture(roundReadyBelowQuorum);
      const before = await ownerTake(f, f.projectId); // budget only: the round's reward is reserved
      await f.market.connect(f.owner).cancelProject(f.projectId);
      expect(await ownerTake(f, f.projectId)).to.equal(before);
      const credits = await Promise.all(f.trainers.slice(0, 3).map((t) => f.market.creditOf(ETH, t.address)));
      expect(credits.reduce((a, c) => a + c, 0n)).to.equal(REWARD);
      expect(Math.max(...credits.map(Number)) - Math.min(...credits.map(Number))).to.be.at.most(1);
      await expectSolvent(f.market, ETH);
    });

    it("front-running the acceptance with a larger bond or a 100 % slash does not bind the aggregator", async function () {
      const f = await loadFixture(fixture);
      const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address });
      await f.market.connect(f.owner).createProject(config, { value: config.budget });
      // The aggregator signs acceptAggregator(BOND, SLASH); the owner's re-appointment lands first.
      await f.market.connect(f.owner).appointAggregator(1n, f.aggregator.address, BOND * 10n, BOND * 10n);
      await expect(f.market.connect(f.aggregator).acceptAggregator(1n, ethers.ZeroHash, BOND, SLASH, { value: BOND }))
        .to.be.revertedWithCustomError(f.market, "AppointmentTermsChanged")
        .withArgs(1n, BOND * 10n, BOND * 10n);
      // The same terms with the bond sent for the new ones do not pass either.
      await expect(
        f.market.connect(f.aggregator).acceptAggregator(1n, ethers.ZeroHash, BOND, SLASH, { value: BOND * 10n }),
      ).to.be.revertedWithCustomError(f.market, "AppointmentTermsChanged");
      const p = await f.market.getProject(1n);
      expect([p.status, p.bondPosted]).to.deep.equal([BigInt(ProjectStatus.AwaitingAggregator), 0n]);
      await expectSolvent(f.market, ETH);
    });

    it("a failed aggregator cannot re-accept: the owner must appoint again and can replace it", async function () {
      const f = await loadFixture(roundReady);
      await time.increase(AGGREGATION_WINDOW);
      await f.market.failRound(f.projectId);
      const agg = f.market.connect(f.aggregator);
      await expect(agg.acceptAggregator(f.projectId, ethers.ZeroHash, BOND, SLASH, { value: BOND }))
        .to.be.revertedWithCustomError(f.market, "NotAggregator")
        .withArgs(f.projectId, f.aggregator.address);
      await expect(agg.acceptAggregator(f.projectId, ethers.ZeroHash, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "NotAggregator")
        .withArgs(f.projectId, f.aggregator.address);
      // Its remaining bond came back with the failure, so nothing holds the owner to it.
      expect(await f.market.creditOf(ETH, f.aggregator.address)).to.equal(BOND - SLASH);
      const replacement = f.trainers[7]!;
      await f.market.connect(f.owner).appointAggregator(f.projectId, replacement.address, BOND, SLASH);
      await expect(agg.acceptAggregator(f.projectId, ethers.ZeroHash, BOND, SLASH, { value: BOND })).to.be.revertedWithCustomError(
        f.market,
        "NotAggregator",
      );
      await acceptTerms(f.market, replacement, f.projectId);
      expect((await f.market.getProject(f.projectId)).aggregator).to.equal(replacement.address);
      await expectSolvent(f.market, ETH);
    });

    it("an aggregator that excludes everyone sends the reward to the submitters, not back to the owner", async function () {
      const f = await loadFixture(fixture);
      const projectId = await createActiveProject(f, { numRounds: 1, budget: REWARD * 2n });
      await submitAll(f, projectId, f.trainers.slice(0, 4));
      await time.increase(SUBMISSION_WINDOW);
      const everyone = [0, 1, 2, 3].map(() => ({ status: Status.Excluded, score: 0n }));
      const { chunkProofs, result } = await buildFinalization(f, projectId, everyone);
      await expect(f.market.connect(f.aggregator).finalizeRound(projectId, 0, 0, chunkProofs, result))
        .to.emit(f.market, "ProjectClosed")
        .withArgs(projectId, ProjectStatus.Completed, REWARD, BOND, 0n);
      // The owner gets back only what no round reserved.
      expect(await f.market.creditOf(ETH, f.owner.address)).to.equal(REWARD);
      for (const t of f.trainers.slice(0, 4)) expect(await f.market.creditOf(ETH, t.address)).to.equal(REWARD / 4n);
      await expectSolvent(f.market, ETH);
    });

    it("the owner cannot be its project's aggregator, at creation or on re-appointment", async function () {
      const f = await loadFixture(roundReady);
      const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.owner.address });
      await expect(f.market.connect(f.owner).createProject(config, { value: config.budget }))
        .to.be.revertedWithCustomError(f.market, "AggregatorIsOwner")
        .withArgs(f.owner.address);
      await time.increase(AGGREGATION_WINDOW);
      await f.market.failRound(f.projectId);
      await expect(f.market.connect(f.owner).appointAggregator(f.projectId, f.owner.address, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "AggregatorIsOwner")
        .withArgs(f.owner.address);
    });

    it("a project whose aggregator never accepts does not lock stakes and budget: anyone closes it", async function () {
      const f = await loadFixture(fixture);
      const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address, trainerStake: 50n });
      await f.market.connect(f.owner).createProject(config, { value: config.budget });
      const trainer = f.trainers[0]!;
      await f.market.connect(trainer).registerTrainer(1n, [], { value: 50n });
      await expect(f.market.connect(trainer).releaseStake(1n)).to.be.revertedWithCustomError(f.market, "NoStakeToRelease");
      await time.increaseTo((await f.market.getProject(1n)).acceptanceDeadline);
      await f.market.connect(trainer).expireProject(1n);
      await f.market.connect(trainer).releaseStake(1n);
      await expect(f.market.connect(trainer).withdraw(ETH)).to.changeEtherBalances(ethers, [trainer, f.market], [50n, -50n]);
      expect(await f.market.creditOf(ETH, f.owner.address)).to.equal(config.budget);
      await expectSolvent(f.market, ETH);
    });

    it("a third party's funds are refunded to it, not to the owner", async function () {
      const f = await loadFixture(fixture);
      const projectId = await createActiveProject(f); // the owner deposited 3 * REWARD, round 0 reserved REWARD
      const funder = f.stranger;
      await f.market.connect(funder).fundProject(projectId, REWARD * 3n, { value: REWARD * 3n });
      await f.market.connect(f.owner).cancelProject(projectId); // no submissions: everything is refunded
      expect(await f.market.creditOf(ETH, f.owner.address)).to.equal(REWARD * 3n);
      expect(await f.market.getFunder(projectId, funder.address)).to.deep.equal([REWARD * 3n, REWARD * 3n]);
      await f.market.connect(funder).claimRefund(projectId);
      await expect(f.market.connect(funder).withdraw(ETH)).to.changeEtherBalances(
        ethers,
        [funder, f.market],
        [REWARD * 3n, -(REWARD * 3n)],
      );
      await expectSolvent(f.market, ETH);
    });
  });
});
