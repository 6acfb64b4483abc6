/**
 * Attacker suite: re-entrancy (malicious trainer contract, malicious ERC-20), unauthorized
 * finalization, proof replay across rounds / projects / deployments, out-of-order chunk proofs,
 * withdrawal by strangers, a reverting token transfer that must leave the credit intact, and the
 * owner's and aggregator's attempts to take back or withhold what others are owed (cancelling below
 * quorum, front-running an acceptance, a failed aggregator re-accepting, excluding everyone,
 * aggregating its own project, never accepting, keeping third-party funds). Then the attacks on the
 * slot draw and the commit-reveal protocol: capturing slots by speed or by registering many
 * addresses, reading or steering the seed, copying another trainer's (sealed) commitment or an
 * update revealed in an earlier round or another project, reading updates before every commitment
 * is locked, and aggregating below the round's quorum of `max(3, 2f + 1)` revealed updates (or
 * skipping a round by withholding reveals). Every attack must fail and cost the honest parties nothing.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { LogDescription } from "ethers";

import { drawSlots, roundSeed } from "@fedmarket/core";
import type { BlockableToken, FedMarket, ReentrantToken, ReentrantTrainer, TestToken } from "../types/ethers-contracts/index.js";
import {
  AGGREGATION_WINDOW,
  BOND,
  DECISION_HEAD,
  ETH,
  FIELD_MODULUS,
  HYPER_INITIAL,
  ProjectStatus,
  REWARD,
  SEAL_KEY,
  SLASH,
  Status,
  acceptTerms,
  baseConfig,
  buildFinalization,
  cid,
  circuitParams,
  commitAll,
  commitmentOf,
  createActiveProject,
  createProject,
  decisionReference,
  deployMarket,
  drawSeed,
  mockChunkProof,
  mockDecisionProof,
  packOutcomes,
  pastAggregationWindow,
  registerTrainers,
  revealAll,
  sealedCommitment,
  slotCommitments,
  submitAll,
  toAggregationWindow,
  toRevealWindow,
  type ChunkProof,
  type MarketFixture,
  type RoundResult,
  type SealKey,
  type SlotOutcome,
  type Update,
  type UpdateFor,
} from "./helpers/market.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const { loadFixture, mine, time } = networkHelpers;

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

/**
 * The decision public inputs, computed off chain from docs/PROOF-INTERFACE.md, for the seal key the
 * fixtures' aggregator registered (or `sealKey`).
 */
async function decisionInputs(
  market: FedMarket,
  projectId: bigint,
  newModel: bigint,
  accFinal: bigint,
  words: bigint[],
  kMax: number,
  sealKey: SealKey = SEAL_KEY,
): Promise<bigint[]> {
  const project = await market.getProject(projectId);
  const ctx = await market.roundContext(projectId, project.currentRound);
  const commitments = await slotCommitments(market, projectId, kMax);
  const reference = await decisionReference(market, projectId);
  return [ctx, project.modelCommitment, newModel, accFinal, ...sealKey, reference, ...commitments, ...words];
}

// -------------------------------------------------------------------------------------------------
// Fixtures
// -------------------------------------------------------------------------------------------------

/**
 * An active ETH project (quorum 3) where three EOA trainers and one malicious trainer contract
 * (registered last: slot 3) committed and revealed, finalized with equal scores: the attacker holds
 * a credit of REWARD / 4.
 */
async function reentrantTrainerFixture() {
  const f = await deployMarket(connection);
  const projectId = await createProject(f);
  await registerTrainers(f.market, projectId, f.trainers.slice(0, 3));
  const attacker = (await ethers.deployContract("ReentrantTrainer", [await f.market.getAddress()])) as unknown as ReentrantTrainer;
  await attacker.register(projectId);
  await acceptTerms(f.market, f.aggregator, projectId);
  const round = 0n;
  const updates = await commitAll(f, projectId, f.trainers.slice(0, 3));
  await attacker.commit(projectId, round, commitmentOf("attacker-update"));
  await revealAll(f, projectId, updates);
  await attacker.reveal(projectId, round, commitmentOf("attacker-update"));
  const { chunkProofs, result } = await buildFinalization(f, projectId, inliers([1n, 1n, 1n, 1n]));
  await f.market.connect(f.aggregator).finalizeRound(projectId, round, 0, chunkProofs, result);
  const credit = await f.market.creditOf(ETH, await attacker.getAddress());
  expect(credit).to.equal(REWARD / 4n);
  return { ...f, projectId, attacker, credit };
}

/** A plain-token project and a malicious token that re-enters the market from transferFrom. */
async function reentrantTokenFixture() {
  const f = await deployMarket(connection);
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
  const f = await deployMarket(connection);
  const marketAddress = await f.market.getAddress();
  const token = (await ethers.deployContract("BlockableToken")) as unknown as BlockableToken;
  for (const s of [f.owner, f.aggregator, ...f.trainers]) {
    await token.mint(s.address, 10n ** 24n);
    await token.connect(s).approve(marketAddress, ethers.MaxUint256);
  }
  const projectId = await createActiveProject(f, { token: await token.getAddress() });
  await submitAll(f, projectId, f.trainers.slice(0, 4));
  const { chunkProofs, result } = await buildFinalization(f, projectId, inliers([1n, 2n, 3n, 4n]));
  await f.market.connect(f.aggregator).finalizeRound(projectId, 0, 0, chunkProofs, result);
  return { ...f, token, projectId };
}

/** Four revealed updates in the open round of an active ETH project; the aggregation window is open. */
async function roundReady() {
  const f = await deployMarket(connection);
  const projectId = await createActiveProject(f);
  const commitments = await submitAll(f, projectId, f.trainers.slice(0, 4));
  await toAggregationWindow(f, projectId);
  return { ...f, projectId, commitments };
}

/** Two revealed updates (one short of the quorum of 3) in the open round; its reveal window is still open. */
async function roundReadyBelowQuorum() {
  const f = await deployMarket(connection);
  const projectId = await createActiveProject(f);
  await submitAll(f, projectId, f.trainers.slice(0, 2));
  return { ...f, projectId };
}

/** A market and a mock verifier, no project. */
async function fixture(): Promise<MarketFixture> {
  return deployMarket(connection);
}

/**
 * Two identical projects (A = 1, B = 2) on one market, and a third identical project on a second
 * deployment, whose round 0 received the very same four commitments. Only `ctx` differs between
 * their decision proofs.
 */
async function replayFixture() {
  const f = await deployMarket(connection);
  const market2 = (await ethers.deployContract("FedMarket")) as unknown as FedMarket;
  const commitments = [0, 1, 2, 3].map((i) => commitmentOf(`replay-update-${i}`));
  // Project B, in the same market, receives other commitments: a commitment is revealed at most once
  // per market. The second deployment receives the same ones as project A.
  const commitmentsB = [0, 1, 2, 3].map((i) => commitmentOf(`replay-update-b-${i}`));
  const setUp = async (market: FedMarket) => {
    const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address });
    await market.connect(f.owner).createProject(config, { value: config.budget });
    const projectId = await market.projectCount();
    await registerTrainers(market, projectId, f.trainers.slice(0, 4));
    await acceptTerms(market, f.aggregator, projectId);
    return projectId;
  };
  const projectA = await setUp(f.market);
  const projectB = await setUp(f.market);
  const projectOther = await setUp(market2);
  // The three rounds opened seconds apart: commit to all, then reveal all, then aggregate.
  const updateFor =
    (values: readonly bigint[]): UpdateFor =>
    (_t, i) => ({ commitment: values[i]!, cid: cid(`u${i}`) });
  const rounds = [
    { c: f, id: projectA, values: commitments },
    { c: f, id: projectB, values: commitmentsB },
    { c: { market: market2, time }, id: projectOther, values: commitments },
  ];
  const updates: Update[][] = [];
  for (const r of rounds) updates.push(await commitAll(r.c, r.id, f.trainers.slice(0, 4), updateFor(r.values)));
  for (const [i, r] of rounds.entries()) await revealAll(r.c, r.id, updates[i]!);
  await toAggregationWindow({ market: market2, time }, projectOther);
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
      expect(await attacker.reentryAttempts()).to.equal(13n);
      expect(await attacker.reentrySuccesses()).to.equal(0n);
      const guardError = market.interface.encodeErrorResult("ReentrancyGuardReentrantCall", []);
      expect(await attacker.reentryErrorCount()).to.equal(13n);
      for (let i = 0n; i < 13n; i++) expect(await attacker.reentryErrors(i)).to.equal(guardError);

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
      await pastAggregationWindow(f, f.projectId);
      await f.market.failRound(f.projectId);
      const newAggregator = f.trainers[7]!;
      await f.market.connect(f.owner).appointAggregator(f.projectId, newAggregator.address, 0n, 0n);
      await acceptTerms(f.market, newAggregator, f.projectId, true, [FIELD_MODULUS - SEAL_KEY[0], SEAL_KEY[1]]); // its own key: -Base8
      await submitAll(f, f.projectId, f.trainers.slice(0, 4));
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

    it("a decision proof of project A does not verify in project B (same market: another ctx, other commitments)", async function () {
      const f = await loadFixture(replayFixture);
      const newModel = commitmentOf("replay-model");
      const { chunks, result, inputs } = await proveA(f, newModel, "same-chain");
      // Chunk proofs carry no context, so B accepts A's chunk chain...
      await f.market.connect(f.aggregator).submitChunkProofs(f.projectB, 0, 0, chunks);
      // ...and B's decision inputs then equal A's except ctx and the commitments, which cannot be A's
      // in the same market (DuplicateCommitment; the second deployment below isolates ctx).
      const inputsB = await f.market.decisionPublicInputs(f.projectB, newModel, outcomes);
      expect(inputsB[0]).to.not.equal(inputs[0]);
      const words = DECISION_HEAD + 4; // the outcome words, after the four slot commitments
      expect(inputsB.slice(1, DECISION_HEAD)).to.deep.equal(inputs.slice(1, DECISION_HEAD));
      for (const c of inputs.slice(DECISION_HEAD, words)) expect(inputsB.slice(DECISION_HEAD, words)).to.not.include(c);
      expect(inputsB.slice(words)).to.deep.equal(inputs.slice(words));
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectB, 0, 3, [], result)).to.be.revertedWithCustomError(
        f.market,
        "InvalidDecisionProof",
      );
      // Control: the proof is valid where it belongs.
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectA, 0, 0, chunks, result)).to.emit(f.market, "RoundFinalized");
    });

    it("a decision proof does not verify on a second FedMarket deployment (identical inputs but ctx)", async function () {
      const f = await loadFixture(replayFixture);
      const newModel = commitmentOf("replay-model");
      const { chunks, result, inputs } = await proveA(f, newModel, "same-chain");
      expect(f.projectOther).to.equal(f.projectA); // same project id, same round, same everything
      await f.market2.connect(f.aggregator).submitChunkProofs(f.projectOther, 0, 0, chunks);
      const inputsOther = await f.market2.decisionPublicInputs(f.projectOther, newModel, outcomes);
      expect(inputsOther.slice(1)).to.deep.equal(inputs.slice(1));
      expect(inputsOther[0]).to.not.equal(inputs[0]);
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
      // Round 1 receives new commitments (round 0's would be refused: DuplicateCommitment, see
      // "commitment copying").
      await submitAll(f, f.projectA, f.trainers.slice(0, 4), (_t, i) => ({
        commitment: commitmentOf(`replay-again-${i}`),
        cid: cid(`again${i}`),
      }));
      await toAggregationWindow(f, f.projectA);
      // Replaying with the old round number is refused outright...
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectA, 0, 0, chunks, result))
        .to.be.revertedWithCustomError(f.market, "WrongRound")
        .withArgs(f.projectA, 1n, 0n);
      // ...and under the new round number ctx (and the commitments) differ, so the decision proof fails.
      await f.market.connect(f.aggregator).submitChunkProofs(f.projectA, 1, 0, chunks);
      const inputs1 = await f.market.decisionPublicInputs(f.projectA, unchanged, outcomes);
      expect(inputs1[0]).to.not.equal(inputs[0]);
      expect(inputs1.slice(1, DECISION_HEAD)).to.deep.equal(inputs.slice(1, DECISION_HEAD));
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectA, 1, 3, [], result)).to.be.revertedWithCustomError(
        f.market,
        "InvalidDecisionProof",
      );
      // Control: re-proving the same outcomes for round 1 works.
      const reproved = await decisionInputs(f.market, f.projectA, unchanged, BigInt(chunks[2]!.accOut), outcomes, 4);
      await f.market.connect(f.aggregator).finalizeRound(f.projectA, 1, 3, [], { ...result, proof: mockDecisionProof(reproved) });
    });

    it("a decision proof for another seal key than the registered one does not verify", async function () {
      const f = await loadFixture(replayFixture);
      const newModel = commitmentOf("replay-model");
      const { chunks, result, inputs } = await proveA(f, newModel, "same-chain");
      await f.market.connect(f.aggregator).submitChunkProofs(f.projectA, 0, 0, chunks);
      // The proof decrypts the updates with the key it names: a key other than the one trainers
      // encrypted to (here -Base8, a valid point) makes different public inputs 4 and 5.
      const other: SealKey = [FIELD_MODULUS - SEAL_KEY[0], SEAL_KEY[1]];
      const forOther = await decisionInputs(f.market, f.projectA, newModel, BigInt(chunks[2]!.accOut), outcomes, 4, other);
      expect(forOther.slice(4, 6)).to.not.deep.equal(inputs.slice(4, 6));
      await expect(
        f.market.connect(f.aggregator).finalizeRound(f.projectA, 0, 3, [], { ...result, proof: mockDecisionProof(forOther) }),
      ).to.be.revertedWithCustomError(f.market, "InvalidDecisionProof");
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectA, 0, 3, [], result)).to.emit(f.market, "RoundFinalized");
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
        .to.be.revertedWithCustomError(f.market, "InvalidChunkProofs")
        .withArgs(0n, 2n);
      // One broken link inside a batch (chunk 1's proof from another accumulator): the whole batch is
      // refused, and nothing of it is kept.
      const midBroken = mockChunkProof(BigInt(c0.accOut) + 1n, BigInt(c1.accOut));
      await expect(agg.submitChunkProofs(pid, 0, 0, [c0, midBroken, c2]))
        .to.be.revertedWithCustomError(f.market, "InvalidChunkProofs")
        .withArgs(0n, 3n);
      expect((await f.market.getCurrentRound(pid)).chunksVerified).to.equal(0n);
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
        .to.be.revertedWithCustomError(f.market, "InvalidChunkProofs")
        .withArgs(1n, 1n);
      // A chunk 1 proof that does not continue the stored accumulator (starts from 0).
      const broken = mockChunkProof(0n, BigInt(c1.accOut));
      await expect(agg.submitChunkProofs(pid, 0, 1, [broken]))
        .to.be.revertedWithCustomError(f.market, "InvalidChunkProofs")
        .withArgs(1n, 1n);

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
      const credits = await Promise.all(f.trainers.slice(0, 2).map((t) => f.market.creditOf(ETH, t.address)));
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
      await expect(f.market.connect(f.aggregator).acceptAggregator(1n, SEAL_KEY, BOND, SLASH, { value: BOND }))
        .to.be.revertedWithCustomError(f.market, "AppointmentTermsChanged")
        .withArgs(1n, BOND * 10n, BOND * 10n);
      // The same terms with the bond sent for the new ones do not pass either.
      await expect(
        f.market.connect(f.aggregator).acceptAggregator(1n, SEAL_KEY, BOND, SLASH, { value: BOND * 10n }),
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
      await expect(agg.acceptAggregator(f.projectId, SEAL_KEY, BOND, SLASH, { value: BOND }))
        .to.be.revertedWithCustomError(f.market, "NotAggregator")
        .withArgs(f.projectId, f.aggregator.address);
      await expect(agg.acceptAggregator(f.projectId, SEAL_KEY, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "NotAggregator")
        .withArgs(f.projectId, f.aggregator.address);
      // Its remaining bond came back with the failure, so nothing holds the owner to it.
      expect(await f.market.creditOf(ETH, f.aggregator.address)).to.equal(BOND - SLASH);
      const replacement = f.trainers[7]!;
      await f.market.connect(f.owner).appointAggregator(f.projectId, replacement.address, BOND, SLASH);
      await expect(agg.acceptAggregator(f.projectId, SEAL_KEY, BOND, SLASH, { value: BOND })).to.be.revertedWithCustomError(
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

  // -----------------------------------------------------------------------------------------------
  // The slot draw and the commit-reveal protocol
  // -----------------------------------------------------------------------------------------------

  describe("slot capture by speed or by many addresses", function () {
    /** Four honest trainers, then a coalition of eight addresses, all registered before round 0 opens: 12 candidates, 4 slots. */
    async function coalitionFixture() {
      const f = await deployMarket(connection, { trainerCount: 12 });
      const projectId = await createProject(f, { numRounds: 10, budget: REWARD * 10n });
      await registerTrainers(f.market, projectId, f.trainers);
      await acceptTerms(f.market, f.aggregator, projectId);
      return { ...f, projectId, honest: f.trainers.slice(0, 4), coalition: f.trainers.slice(4) };
    }

    /**
     * Everybody commits in the block right after the round's opening block, the coalition first;
     * returns whether each candidate's transaction succeeded, by registration index.
     */
    async function raceForSlots(f: Awaited<ReturnType<typeof coalitionFixture>>, round: bigint): Promise<boolean[]> {
      const order = [...f.coalition, ...f.honest];
      const hashes = new Map<string, string>();
      await ethers.provider.send("evm_setAutomine", [false]);
      try {
        for (const t of order) {
          const sealed = await sealedCommitment(
            f.market,
            f.projectId,
            round,
            t.address,
            commitmentOf(`race-${round}-${t.address}`),
            cid("race"),
          );
          const tx = await f.market.connect(t).commitUpdate(f.projectId, round, sealed, { gasLimit: 1_000_000n });
          hashes.set(t.address, tx.hash);
        }
        await mine();
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
      const statuses: boolean[] = [];
      for (const t of f.trainers) statuses.push((await ethers.provider.getTransactionReceipt(hashes.get(t.address)!))!.status === 1);
      return statuses;
    }

    it("committing first, in the block after the opening, with many addresses takes no slot that was not drawn", async function () {
      const f = await loadFixture(coalitionFixture);
      const { chainId } = await ethers.provider.getNetwork();
      let honestDrawn = 0;
      // Rounds until an honest trainer was drawn (one chance in seven to have none in a round).
      for (let round = 0n; round < 10n && honestDrawn === 0; round++) {
        const open = await f.market.getCurrentRound(f.projectId);
        expect([open.round, open.candidates]).to.deep.equal([round, 12n]);
        const succeeded = await raceForSlots(f, round);
        expect(BigInt((await ethers.provider.getBlock("latest"))!.number)).to.equal(open.seedBlock + 1n);
        // The draw from the opening block's hash (@fedmarket/core) decides, not the order.
        const opening = await ethers.provider.getBlock(Number(open.seedBlock));
        const drawn = drawSlots(roundSeed(chainId, await f.market.getAddress(), f.projectId, Number(round), opening!.hash!), 12, 4);
        expect(succeeded).to.deep.equal(f.trainers.map((_t, i) => drawn.includes(i)));
        for (const [slot, index] of drawn.entries()) {
          expect(await f.market.slotOf(f.projectId, f.trainers[index]!.address)).to.deep.equal([true, true, BigInt(slot)]);
        }
        const coalitionSlots = drawn.filter((i) => i >= 4).length;
        honestDrawn += 4 - coalitionSlots;
        expect((await f.market.getCurrentRound(f.projectId)).commits).to.equal(4n);
        // Retrying does not help a coalition address that was not drawn.
        for (const [i, t] of f.trainers.entries()) {
          if (drawn.includes(i)) continue;
          await expect(f.market.connect(t).commitUpdate(f.projectId, round, ethers.ZeroHash))
            .to.be.revertedWithCustomError(f.market, "NotSelected")
            .withArgs(f.projectId, round, t.address);
        }
        await toAggregationWindow(f, f.projectId);
        await f.market.skipRound(f.projectId); // nobody revealed
      }
      expect(honestDrawn).to.be.greaterThan(0);
    });

    it("registering after the round opened gives no slot in it, even with a slot free; the next round counts it", async function () {
      const f = await loadFixture(fixture);
      const projectId = await createActiveProject(f, {}, 3); // 3 candidates for 4 slots
      const late = f.trainers[3]!;
      await f.market.connect(late).registerTrainer(projectId, []);
      await drawSeed(f.market, projectId);
      expect((await f.market.getProject(projectId)).registeredTrainers).to.equal(4n);
      expect((await f.market.getCurrentRound(projectId)).candidates).to.equal(3n);
      expect(await f.market.slotOf(projectId, late.address)).to.deep.equal([true, false, 0n]);
      const sealed = await sealedCommitment(f.market, projectId, 0n, late.address, 1n, cid("late"));
      await expect(f.market.connect(late).commitUpdate(projectId, 0n, sealed))
        .to.be.revertedWithCustomError(f.market, "NotSelected")
        .withArgs(projectId, 0n, late.address);
      await toAggregationWindow(f, projectId);
      await f.market.skipRound(projectId);
      expect((await f.market.getCurrentRound(projectId)).candidates).to.equal(4n);
      await drawSeed(f.market, projectId);
      expect(await f.market.slotOf(projectId, late.address)).to.deep.equal([true, true, 3n]);
      expect((await commitAll(f, projectId, [late])).map((u) => u.slot)).to.deep.equal([3]);
    });
  });

  describe("reading or steering the seed", function () {
    it("is pending in the opening block: a commitment there reverts SeedPending and fixes nothing", async function () {
      const f = await loadFixture(fixture);
      const projectId = await createProject(f);
      await registerTrainers(f.market, projectId, f.trainers.slice(0, 4));
      const t = f.trainers[0]!;
      const sealed = await sealedCommitment(f.market, projectId, 0n, t.address, 1n, cid("early"));
      // The acceptance (which opens round 0) and the commitment land in the same block.
      const block = BigInt(await ethers.provider.getBlockNumber()) + 1n;
      await ethers.provider.send("evm_setAutomine", [false]);
      let hashes: string[];
      try {
        const accept = await f.market
          .connect(f.aggregator)
          .acceptAggregator(projectId, SEAL_KEY, BOND, SLASH, { value: BOND, gasLimit: 2_000_000n });
        const early = await f.market.connect(t).commitUpdate(projectId, 0n, sealed, { gasLimit: 1_000_000n });
        hashes = [accept.hash, early.hash];
        await mine();
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
      const receipts = await Promise.all(hashes.map((h) => ethers.provider.getTransactionReceipt(h)));
      expect(receipts.map((r) => [r!.status, BigInt(r!.blockNumber)])).to.deep.equal([
        [1, block],
        [0, block],
      ]);
      const round = await f.market.getCurrentRound(projectId);
      expect([round.seedBlock, round.seed, round.commits]).to.deep.equal([block, 0n, 0n]);
      // The reason, replayed in that block's state: SeedPending (drawSeed there returns 0).
      await expect(f.market.connect(t).commitUpdate.staticCall(projectId, 0n, sealed, { blockTag: Number(block) }))
        .to.be.revertedWithCustomError(f.market, "SeedPending")
        .withArgs(projectId, 0n, block);
      expect(await f.market.drawSeed.staticCall(projectId, { blockTag: Number(block) })).to.equal(0n);
      // One block later the same commitment goes through and fixes the seed from the opening block's hash.
      const { chainId } = await ethers.provider.getNetwork();
      const seed = roundSeed(chainId, await f.market.getAddress(), projectId, 0, (await ethers.provider.getBlock(Number(block)))!.hash!);
      await expect(f.market.connect(t).commitUpdate(projectId, 0n, sealed))
        .to.emit(f.market, "SeedDrawn")
        .withArgs(projectId, 0n, seed, block)
        .and.to.emit(f.market, "UpdateCommitted");
    });

    it("re-anchors when nobody read it for 256 blocks; a later call draws from the new seed block", async function () {
      const f = await loadFixture(fixture);
      const projectId = await createActiveProject(f);
      const opened = await f.market.getCurrentRound(projectId);
      await mine(300);
      const t = f.trainers[0]!;
      const sealed = await sealedCommitment(f.market, projectId, 0n, t.address, 1n, cid("x"));
      // A commitment cannot use the expired hash (and its revert undoes the re-anchoring).
      await expect(f.market.connect(t).commitUpdate(projectId, 0n, sealed)).to.be.revertedWithCustomError(f.market, "SeedPending");
      expect((await f.market.getCurrentRound(projectId)).seedBlock).to.equal(opened.seedBlock);
      const tx = await f.market.connect(f.stranger).drawSeed(projectId);
      const anchor = BigInt((await tx.wait())!.blockNumber);
      await expect(tx).to.emit(f.market, "SeedReanchored").withArgs(projectId, 0n, anchor);
      await expect(tx).to.not.emit(f.market, "SeedDrawn");
      expect([(await f.market.getCurrentRound(projectId)).seedBlock, (await f.market.getCurrentRound(projectId)).seed]).to.deep.equal([
        anchor,
        0n,
      ]);
      const { chainId } = await ethers.provider.getNetwork();
      const seed = roundSeed(chainId, await f.market.getAddress(), projectId, 0, (await ethers.provider.getBlock(Number(anchor)))!.hash!);
      await expect(f.market.drawSeed(projectId)).to.emit(f.market, "SeedDrawn").withArgs(projectId, 0n, seed, anchor);
      expect((await f.market.getCurrentRound(projectId)).seed).to.equal(seed);
      await expect(f.market.connect(t).commitUpdate(projectId, 0n, sealed)).to.emit(f.market, "UpdateCommitted");
    });
  });

  describe("commitment copying", function () {
    /** Four candidates for four slots: the victim holds slot 0, the copier slot 1, two honest trainers slots 2 and 3. */
    async function copyFixture() {
      const f = await deployMarket(connection);
      const projectId = await createActiveProject(f);
      const [victim, copier, ...honest] = f.trainers.slice(0, 4) as [HardhatEthersSigner, HardhatEthersSigner, ...HardhatEthersSigner[]];
      return { ...f, projectId, victim, copier, honest };
    }

    /** Plays round 0 (the copier copying the victim's sealed commitment, or staying out) and finalizes it with equal scores. */
    async function playRound(copy: boolean): Promise<{ victimCredit: bigint; copierCredit: bigint; inputs: bigint[] }> {
      const f = await loadFixture(copyFixture);
      const [victimUpdate] = (await commitAll(f, f.projectId, [f.victim])) as [Update];
      if (copy) {
        // The copier reads the victim's sealed commitment from its event and commits it as its own.
        const [event] = await f.market.queryFilter(f.market.filters.UpdateCommitted(f.projectId, 0n, f.victim.address));
        const copied = event!.args.sealedCommit;
        await expect(f.market.connect(f.copier).commitUpdate(f.projectId, 0n, copied))
          .to.emit(f.market, "UpdateCommitted")
          .withArgs(f.projectId, 0n, f.copier.address, 1n, copied);
      }
      const honest = await commitAll(f, f.projectId, f.honest);
      if (copy) {
        // Even front-running the victim's reveal with the victim's own opening fails.
        await toRevealWindow(f, f.projectId);
        await expect(f.market.connect(f.copier).revealUpdate(f.projectId, 0n, victimUpdate.commitment, victimUpdate.cid))
          .to.be.revertedWithCustomError(f.market, "RevealMismatch")
          .withArgs(f.projectId, 0n, f.copier.address);
      }
      await revealAll(f, f.projectId, [victimUpdate, ...honest]);
      if (copy) {
        // Once revealed, the victim's commitment and CID are public: they still do not open the copy.
        await expect(f.market.connect(f.copier).revealUpdate(f.projectId, 0n, victimUpdate.commitment, victimUpdate.cid))
          .to.be.revertedWithCustomError(f.market, "RevealMismatch")
          .withArgs(f.projectId, 0n, f.copier.address);
      }
      const outcomes = [inliers([1n])[0]!, { status: Status.Empty, score: 0n }, ...inliers([1n, 1n])];
      const { chunkProofs, result, inputs } = await buildFinalization(f, f.projectId, outcomes);
      await f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result);
      await expectSolvent(f.market, ETH);
      return {
        victimCredit: await f.market.creditOf(ETH, f.victim.address),
        copierCredit: await f.market.creditOf(ETH, f.copier.address),
        inputs,
      };
    }

    it("a copied sealed commitment cannot be revealed by the copier; the victim reveals and is paid in full, as without the copier", async function () {
      const copied = await playRound(true);
      const alone = await playRound(false);
      expect(copied.inputs[DECISION_HEAD + 1]).to.equal(0n); // the copier's slot is empty in the proof
      expect(copied.copierCredit).to.equal(0n);
      expect(copied.victimCredit).to.equal(REWARD / 3n);
      expect(copied.victimCredit).to.equal(alone.victimCredit);
      expect(copied.inputs.slice(DECISION_HEAD, DECISION_HEAD + 4)).to.deep.equal(alone.inputs.slice(DECISION_HEAD, DECISION_HEAD + 4));
    });

    it("a commitment already revealed in the round cannot be revealed again from another slot (DuplicateCommitment)", async function () {
      const f = await loadFixture(copyFixture);
      // An accomplice seals the victim's commitment under its own address: a valid seal, but a duplicate.
      const same: UpdateFor = () => ({ commitment: commitmentOf("the-update"), cid: cid("theupdate") });
      const [first, second] = (await commitAll(f, f.projectId, [f.victim, f.copier], same)) as [Update, Update];
      await revealAll(f, f.projectId, [first]);
      await expect(f.market.connect(second.trainer).revealUpdate(f.projectId, 0n, second.commitment, second.cid))
        .to.be.revertedWithCustomError(f.market, "DuplicateCommitment")
        .withArgs(f.projectId, 0n, second.commitment);
      expect(await slotCommitments(f.market, f.projectId, 4)).to.deep.equal([first.commitment, 0n, 0n, 0n]);
      expect((await f.market.getCurrentRound(f.projectId)).submissions).to.equal(1n);
    });

    /** Inliers with score 1 in the slots of `updates`, the other slots empty. */
    function inliersIn(updates: readonly Update[]): SlotOutcome[] {
      return [0, 1, 2, 3].map((slot) =>
        updates.some((u) => u.slot === slot) ? { status: Status.Inlier, score: 1n } : { status: Status.Empty, score: 0n },
      );
    }

    // A sealed update is not bound to its submitter: once revealed, its commitment and CID are public,
    // and anyone drawn later could seal them under its own address. Commitments are unique across the
    // market, so such a copy is refused however the copier got its slot.
    it("a commitment revealed in an earlier round of the project cannot be revealed again (DuplicateCommitment)", async function () {
      const f = await loadFixture(copyFixture);
      // Round 0: the victim and the honest trainers reveal; the round is finalized.
      const round0 = await commitAll(f, f.projectId, [f.victim, ...f.honest]);
      await revealAll(f, f.projectId, round0);
      const victimUpdate = round0.find((u) => u.trainer === f.victim)!;
      const fin = await buildFinalization(f, f.projectId, inliersIn(round0));
      await f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, fin.chunkProofs, fin.result);
      // Round 1: the copier seals the victim's revealed commitment and CID under its own address,
      // and so does the victim itself (a replay of its own earlier update).
      const copy: UpdateFor = () => ({ commitment: victimUpdate.commitment, cid: victimUpdate.cid });
      const copies = await commitAll(f, f.projectId, [f.copier, f.victim], copy);
      const honest = await commitAll(f, f.projectId, f.honest);
      expect(copies).to.have.length(2);
      await toRevealWindow(f, f.projectId);
      for (const u of copies) {
        await expect(f.market.connect(u.trainer).revealUpdate(f.projectId, 1n, u.commitment, u.cid))
          .to.be.revertedWithCustomError(f.market, "DuplicateCommitment")
          .withArgs(f.projectId, 1n, victimUpdate.commitment);
      }
      await revealAll(f, f.projectId, honest);
      const expected = [0n, 0n, 0n, 0n];
      for (const u of honest) expected[u.slot] = u.commitment;
      expect(await slotCommitments(f.market, f.projectId, 4)).to.deep.equal(expected);
      expect((await f.market.getCurrentRound(f.projectId)).submissions).to.equal(2n);
    });

    it("a commitment revealed in another project of the market cannot be revealed again (DuplicateCommitment)", async function () {
      const f = await loadFixture(copyFixture);
      const [victimUpdate] = (await commitAll(f, f.projectId, [f.victim])) as [Update];
      await revealAll(f, f.projectId, [victimUpdate]);
      // Project B opens after the victim's reveal, with the same aggregator and seal key (so a copy
      // would even decrypt there); the copier is drawn into it and seals the victim's update.
      const projectB = await createActiveProject(f);
      expect((await f.market.getProject(projectB)).aggregatorSealKey).to.deep.equal(
        (await f.market.getProject(f.projectId)).aggregatorSealKey,
      );
      const copy: UpdateFor = () => ({ commitment: victimUpdate.commitment, cid: victimUpdate.cid });
      const [copied] = (await commitAll(f, projectB, [f.copier], copy)) as [Update];
      const honest = await commitAll(f, projectB, f.honest);
      await toRevealWindow(f, projectB);
      await expect(f.market.connect(f.copier).revealUpdate(projectB, 0n, copied.commitment, copied.cid))
        .to.be.revertedWithCustomError(f.market, "DuplicateCommitment")
        .withArgs(projectB, 0n, victimUpdate.commitment);
      await revealAll(f, projectB, honest);
      expect((await f.market.getCurrentRound(projectB)).submissions).to.equal(BigInt(honest.length));
      expect(await slotCommitments(f.market, projectB, 4)).to.not.include(victimUpdate.commitment);
    });
  });

  describe("reading updates before every commitment is locked", function () {
    it("no commitment or CID appears in any event, view or calldata before the reveal window", async function () {
      const f = await loadFixture(fixture);
      const projectId = await createActiveProject(f);
      const fromBlock = (await ethers.provider.getBlockNumber()) + 1;
      const updates = await commitAll(f, projectId, f.trainers.slice(0, 4));
      const secrets = updates.flatMap((u) => [
        ethers.toBeHex(u.commitment, 32).slice(2),
        ethers.hexlify(ethers.toUtf8Bytes(u.cid)).slice(2),
      ]);
      const hidden = (data: string, what: string) => {
        for (const secret of secrets) expect(data.toLowerCase(), what).to.not.include(secret);
      };
      // Events: only the seed and the sealed commitments.
      const logs = await ethers.provider.getLogs({ address: await f.market.getAddress(), fromBlock, toBlock: "latest" });
      const names = logs.map((log) => (f.market.interface.parseLog(log) as LogDescription).name);
      expect([...new Set(names)].sort()).to.deep.equal(["SeedDrawn", "UpdateCommitted"]);
      for (const log of logs) hidden(log.data + log.topics.join(""), "event");
      // Calldata: the sealed hash only.
      for (let b = fromBlock; b <= (await ethers.provider.getBlockNumber()); b++) {
        for (const hash of (await ethers.provider.getBlock(b))!.transactions)
          hidden((await ethers.provider.getTransaction(hash))!.data, "calldata");
      }
      // Views.
      expect(await slotCommitments(f.market, projectId, 4)).to.deep.equal([0n, 0n, 0n, 0n]);
      const inputs = await f.market.decisionPublicInputs(projectId, 1n, packOutcomes([]));
      expect(inputs.slice(DECISION_HEAD, DECISION_HEAD + 4)).to.deep.equal([0n, 0n, 0n, 0n]);
      const round = await f.market.getCurrentRound(projectId);
      expect([round.commits, round.submissions]).to.deep.equal([4n, 0n]);
      // Revealing before the window is refused; in it, the updates become public.
      await expect(
        f.market.connect(updates[0]!.trainer).revealUpdate(projectId, 0n, updates[0]!.commitment, updates[0]!.cid),
      ).to.be.revertedWithCustomError(f.market, "OutsideRevealWindow");
      await revealAll(f, projectId, updates);
      expect(await slotCommitments(f.market, projectId, 4)).to.deep.equal(updates.map((u) => u.commitment));
    });

    it("an unrevealed slot is empty in the decision inputs and gets nothing at finalization; a late reveal is refused", async function () {
      const f = await loadFixture(fixture);
      const projectId = await createActiveProject(f);
      const updates = await commitAll(f, projectId, f.trainers.slice(0, 4));
      await revealAll(f, projectId, [updates[0]!, updates[1]!, updates[3]!]);
      await toAggregationWindow(f, projectId);
      const silent = updates[2]!;
      await expect(f.market.connect(silent.trainer).revealUpdate(projectId, 0n, silent.commitment, silent.cid))
        .to.be.revertedWithCustomError(f.market, "OutsideRevealWindow")
        .withArgs(projectId, 0n, anyValue, anyValue);
      const outcomes = [...inliers([1n, 1n]), { status: Status.Empty, score: 0n }, ...inliers([1n])];
      const { chunkProofs, result, inputs } = await buildFinalization(f, projectId, outcomes);
      expect(inputs.slice(DECISION_HEAD, DECISION_HEAD + 4)).to.deep.equal([
        updates[0]!.commitment,
        updates[1]!.commitment,
        0n,
        updates[3]!.commitment,
      ]);
      const tx = await f.market.connect(f.aggregator).finalizeRound(projectId, 0n, 0n, chunkProofs, result);
      const recorded = (await tx.wait())!.logs
        .map((log) => f.market.interface.parseLog(log))
        .filter((e): e is LogDescription => e?.name === "ContributionRecorded")
        .map((e) => Number(e.args.slot));
      expect(recorded).to.deep.equal([0, 1, 3]);
      expect(await f.market.creditOf(ETH, silent.trainer.address)).to.equal(0n);
      for (const u of [updates[0]!, updates[1]!, updates[3]!])
        expect(await f.market.creditOf(ETH, u.trainer.address)).to.equal(REWARD / 3n);
      await expectSolvent(f.market, ETH);
    });
  });

  describe("aggregating below the quorum of max(3, 2f + 1)", function () {
    /** f = 2 (quorum 5 revealed updates) with 8 slots on an 8-slot verifier and 8 candidates. */
    async function f2Fixture() {
      const f = await deployMarket(connection, { kMax: 8 });
      const projectId = await createActiveProject(f, { maxTrainersPerRound: 8, params: circuitParams(2) }, 8);
      return { ...f, projectId };
    }

    it("a project needs at least 2f + 3 slots", async function () {
      const f = await loadFixture(f2Fixture);
      const config = baseConfig({
        verifier: await f.verifier.getAddress(),
        aggregator: f.aggregator.address,
        maxTrainersPerRound: 6,
        params: circuitParams(2),
      });
      await expect(f.market.createProject(config, { value: config.budget }))
        .to.be.revertedWithCustomError(f.market, "InvalidConfig")
        .withArgs("maxTrainersPerRound");
      await f.market.createProject({ ...config, maxTrainersPerRound: 7 }, { value: config.budget });
    });

    it("with f = 2, four revealed updates cannot be aggregated or failed; the round is skipped after its reveal deadline", async function () {
      const f = await loadFixture(f2Fixture);
      await submitAll(f, f.projectId, f.trainers.slice(0, 4));
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, inliers([1n, 1n, 1n, 1n]));
      const agg = f.market.connect(f.aggregator);
      await expect(agg.finalizeRound(f.projectId, 0n, 0n, chunkProofs, result))
        .to.be.revertedWithCustomError(f.market, "QuorumNotReached")
        .withArgs(f.projectId, 0n, 4n, 5n);
      await expect(agg.submitChunkProofs(f.projectId, 0n, 0n, chunkProofs))
        .to.be.revertedWithCustomError(f.market, "QuorumNotReached")
        .withArgs(f.projectId, 0n, 4n, 5n);
      await pastAggregationWindow(f, f.projectId);
      await expect(f.market.failRound(f.projectId))
        .to.be.revertedWithCustomError(f.market, "QuorumNotReached")
        .withArgs(f.projectId, 0n, 4n, 5n);
      await expect(f.market.connect(f.stranger).skipRound(f.projectId)).to.emit(f.market, "RoundSkipped").withArgs(f.projectId, 0n, 4n);
      const p = await f.market.getProject(f.projectId);
      expect([p.currentRound, p.bondPosted, p.budget]).to.deep.equal([1n, BOND, REWARD * 2n]);
      for (const t of f.trainers) expect(await f.market.creditOf(ETH, t.address)).to.equal(0n);
    });

    it("withheld reveals (THREAT-MODEL row 13): f = 2 of the owner's registrations withholding leave six revealers, a quorum, so the round cannot be skipped and its reward is paid; it takes 4 > f", async function () {
      const f = await loadFixture(f2Fixture);
      // The owner registered trainers 6 and 7: they commit like everyone, then withhold their reveals.
      const owned = new Set([f.trainers[6]!.address, f.trainers[7]!.address]);
      const updates = await commitAll(f, f.projectId, f.trainers.slice(0, 8));
      expect(updates).to.have.length(8);
      const revealed = updates.filter((u) => !owned.has(u.trainer.address));
      await revealAll(f, f.projectId, revealed);
      await toAggregationWindow(f, f.projectId);
      // With the old quorum 2f + 3 = 7 this skipped the round and returned its reward to the owner.
      await expect(f.market.connect(f.owner).skipRound(f.projectId))
        .to.be.revertedWithCustomError(f.market, "QuorumReached")
        .withArgs(f.projectId, 0n, 6n, 5n);
      const outcomes = [0, 1, 2, 3, 4, 5, 6, 7].map((slot) =>
        revealed.some((u) => u.slot === slot) ? { status: Status.Inlier, score: 1n } : { status: Status.Empty, score: 0n },
      );
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, outcomes);
      await f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result);
      for (const u of revealed) expect(await f.market.creditOf(ETH, u.trainer.address)).to.equal(REWARD / 6n);
      for (const a of owned) expect(await f.market.creditOf(ETH, a)).to.equal(0n);
      // Round 1: four withheld reveals (more than f) leave four, below the quorum: skipped.
      const next = await commitAll(f, f.projectId, f.trainers.slice(0, 8));
      await revealAll(f, f.projectId, next.slice(0, 4));
      await toAggregationWindow(f, f.projectId);
      await expect(f.market.connect(f.owner).skipRound(f.projectId)).to.emit(f.market, "RoundSkipped").withArgs(f.projectId, 1n, 4n);
      await expectSolvent(f.market, ETH);
    });

    it("with f = 2, five revealed updates can be aggregated (and no longer skipped)", async function () {
      const f = await loadFixture(f2Fixture);
      await submitAll(f, f.projectId, f.trainers.slice(0, 5));
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, inliers([1n, 1n, 1n, 1n, 1n]));
      await expect(f.market.skipRound(f.projectId))
        .to.be.revertedWithCustomError(f.market, "QuorumReached")
        .withArgs(f.projectId, 0n, 5n, 5n);
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result))
        .to.emit(f.market, "RoundFinalized")
        .withArgs(f.projectId, 0n, anyValue, anyValue, 5n, (REWARD / 5n) * 5n, anyValue);
      for (const t of f.trainers.slice(0, 5)) expect(await f.market.creditOf(ETH, t.address)).to.equal(REWARD / 5n);
      await expectSolvent(f.market, ETH);
    });
  });

  describe("outcomes a proof claims for slots without a revealed update", function () {
    /** Slot 1 committed but never revealed; slots 0, 2 and 3 revealed. */
    async function unrevealedSlotFixture() {
      const f = await deployMarket(connection);
      const projectId = await createActiveProject(f);
      const updates = await commitAll(f, projectId, f.trainers.slice(0, 4));
      await revealAll(f, projectId, [updates[0]!, updates[2]!, updates[3]!]);
      return { ...f, projectId };
    }

    /** Everything the market owes in ETH, part by part: what totalLiabilities must equal. */
    async function sumOfParts(f: MarketFixture, projectId: bigint): Promise<bigint> {
      const p = await f.market.getProject(projectId);
      let sum = p.budget + p.roundReward + p.bondPosted + p.refundPool;
      for (const who of [f.owner, f.aggregator, f.stranger, ...f.trainers]) sum += await f.market.creditOf(ETH, who.address);
      return sum;
    }

    it("do not dilute the revealed slots' shares: the total score counts revealed slots only", async function () {
      const f = await loadFixture(unrevealedSlotFixture);
      // A score claimed for the empty slot 1 (a sound decision circuit proves it Empty; a lax verifier might not).
      const outcomes = [...inliers([1n, 3n, 1n, 1n])];
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, outcomes);
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result))
        .to.emit(f.market, "RoundFinalized")
        .withArgs(f.projectId, 0n, anyValue, anyValue, 3n, (REWARD / 3n) * 3n, anyValue);
      for (const i of [0, 2, 3]) expect(await f.market.creditOf(ETH, f.trainers[i]!.address)).to.equal(REWARD / 3n);
    });

    it("cannot strand reward: a zero-total split counts the revealed slots only and credits all it reports as paid", async function () {
      const f = await loadFixture(unrevealedSlotFixture);
      const outcomes = [0, 1, 2, 3].map(() => ({ status: Status.NotAggregated, score: 0n }));
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, outcomes);
      await f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result);
      const credits = await Promise.all([0, 2, 3].map((i) => f.market.creditOf(ETH, f.trainers[i]!.address)));
      expect(credits.reduce((a, c) => a + c, 0n)).to.equal(REWARD);
      expect(await sumOfParts(f, f.projectId)).to.equal(await f.market.totalLiabilities(ETH));
    });
  });
});
