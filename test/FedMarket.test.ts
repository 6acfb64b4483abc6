import { expect } from "chai";
import { network } from "hardhat";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

import {
  AGGREGATION_WINDOW,
  BOND,
  ETH,
  ProjectStatus,
  FIELD_MODULUS,
  K_MAX,
  REWARD,
  HYPER_INITIAL,
  HYPER_MAX,
  HYPER_MIN,
  SLASH,
  SUBMISSION_WINDOW,
  Status,
  baseConfig,
  buildFinalization,
  cid,
  commitmentOf,
  createActiveProject,
  deployMarket,
  mockChunkProof,
  submitAll,
  type ConfigOverrides,
  type HyperParams,
  type MarketFixture,
} from "./helpers/market.js";

const { ethers, networkHelpers } = await network.create();
const { loadFixture, time } = networkHelpers;

async function fixture(): Promise<MarketFixture> {
  return deployMarket(ethers);
}

/** An active ETH project with four registered trainers. */
async function activeProject(): Promise<MarketFixture & { projectId: bigint }> {
  const f = await deployMarket(ethers);
  const projectId = await createActiveProject(f);
  return { ...f, projectId };
}

/** An active project whose open round has four submissions and whose aggregation window is open. */
async function roundReady(): Promise<MarketFixture & { projectId: bigint; commitments: bigint[] }> {
  const f = await activeProject();
  const commitments = await submitAll(f, f.projectId, f.trainers.slice(0, 4));
  await time.increase(SUBMISSION_WINDOW);
  return { ...f, commitments };
}

async function tokenFixture() {
  const f = await deployMarket(ethers);
  const token = await ethers.deployContract("TestToken");
  const feeToken = await ethers.deployContract("FeeOnTransferToken");
  for (const s of [f.owner, f.aggregator, ...f.trainers]) {
    await token.mint(s.address, 10n ** 24n);
    await feeToken.mint(s.address, 10n ** 24n);
    await token.connect(s).approve(await f.market.getAddress(), ethers.MaxUint256);
    await feeToken.connect(s).approve(await f.market.getAddress(), ethers.MaxUint256);
  }
  return { ...f, token, feeToken };
}

describe("FedMarket", function () {
  describe("createProject", function () {
    it("escrows an ETH budget and records the configuration", async function () {
      const f = await loadFixture(fixture);
      const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address });
      const tx = f.market.createProject(config, { value: config.budget });
      await expect(tx)
        .to.emit(f.market, "ProjectCreated")
        .withArgs(1n, f.owner.address, anyValue, config.budget, anyValue, 3n);
      await expect(tx).to.changeEtherBalances(ethers, [f.owner, f.market], [-BigInt(config.budget), config.budget]);
      const p = await f.market.getProject(1n);
      expect(p.status).to.equal(ProjectStatus.AwaitingAggregator);
      expect(p.budget).to.equal(config.budget);
      expect(p.numChunks).to.equal(3n); // ceil(250 / 100)
      expect(p.modelCommitment).to.equal(config.initialModelCommitment);
      expect(await f.market.totalLiabilities(ETH)).to.equal(config.budget);
    });

    it("escrows an ERC-20 budget and, for fee-on-transfer tokens, exactly what arrived", async function () {
      const f = await loadFixture(tokenFixture);
      const verifier = await f.verifier.getAddress();
      const plain = baseConfig({ verifier, aggregator: f.aggregator.address, token: await f.token.getAddress() });
      await expect(f.market.createProject(plain)).to.changeTokenBalances(
        ethers,
        f.token,
        [f.owner, f.market],
        [-BigInt(plain.budget), plain.budget],
      );
      const fee = baseConfig({ verifier, aggregator: f.aggregator.address, token: await f.feeToken.getAddress() });
      await f.market.createProject(fee);
      const received = (BigInt(fee.budget) * 99n) / 100n;
      expect((await f.market.getProject(2n)).budget).to.equal(received);
      expect(await f.market.totalLiabilities(await f.feeToken.getAddress())).to.equal(received);
    });

    it("rejects ETH sent with an ERC-20 project and a wrong ETH amount", async function () {
      const f = await loadFixture(tokenFixture);
      const verifier = await f.verifier.getAddress();
      const tokenConfig = baseConfig({ verifier, aggregator: f.aggregator.address, token: await f.token.getAddress() });
      await expect(f.market.createProject(tokenConfig, { value: 1n }))
        .to.be.revertedWithCustomError(f.market, "WrongEthAmount")
        .withArgs(0n, 1n);
      const ethConfig = baseConfig({ verifier, aggregator: f.aggregator.address });
      await expect(f.market.createProject(ethConfig, { value: 5n }))
        .to.be.revertedWithCustomError(f.market, "WrongEthAmount")
        .withArgs(ethConfig.budget, 5n);
    });

    const invalid: Array<[string, (v: string, a: string, o: string) => ConfigOverrides]> = [
      ["token", (_v, _a, o) => ({ token: o })],
      ["aggregator", () => ({ aggregator: ETH })],
      ["verifier", (_v, _a, o) => ({ verifier: o })],
      ["numRounds", () => ({ numRounds: 0 })],
      ["submissionWindow", () => ({ submissionWindow: 0n })],
      ["submissionWindow", () => ({ submissionWindow: 365n * 86400n + 1n })],
      ["aggregationWindow", () => ({ aggregationWindow: 0n })],
      ["aggregationWindow", () => ({ aggregationWindow: 2n ** 64n - 1n })],
      ["slashAmount", () => ({ slashAmount: BOND + 1n })],
      ["modelSize", () => ({ params: { modelSize: 0, byzantineTolerance: 1, quantizationScale: 1n, clipBound: 1n } })],
      ["initialModelCommitment", () => ({ initialModelCommitment: FIELD_MODULUS })],
      ["maxTrainersPerRound", () => ({ maxTrainersPerRound: K_MAX + 1 })],
      ["maxTrainersPerRound", () => ({ maxTrainersPerRound: 3 })], // below f + 3 = 4
    ];
    for (const [i, [field, make]] of invalid.entries()) {
      it(`rejects an invalid ${field} (case ${i})`, async function () {
        const f = await loadFixture(fixture);
        const config = baseConfig({
          verifier: await f.verifier.getAddress(),
          aggregator: f.aggregator.address,
          ...make(await f.verifier.getAddress(), f.aggregator.address, f.owner.address),
        });
        await expect(f.market.createProject(config, { value: config.budget }))
          .to.be.revertedWithCustomError(f.market, "InvalidConfig")
          .withArgs(field);
      });
    }

    it("rejects an empty or oversized CID", async function () {
      const f = await loadFixture(fixture);
      const verifier = await f.verifier.getAddress();
      for (const bad of [{ specCid: "" }, { initialModelCid: "x".repeat(129) }]) {
        const config = baseConfig({ verifier, aggregator: f.aggregator.address, ...bad });
        await expect(f.market.createProject(config, { value: config.budget })).to.be.revertedWithCustomError(
          f.market,
          "InvalidCid",
        );
      }
    });
  });

  describe("fundProject", function () {
    it("adds to the budget (anyone may fund)", async function () {
      const f = await loadFixture(activeProject);
      const before = (await f.market.getProject(f.projectId)).budget;
      await expect(f.market.connect(f.stranger).fundProject(f.projectId, 7n, { value: 7n }))
        .to.emit(f.market, "ProjectFunded")
        .withArgs(f.projectId, f.stranger.address, 7n);
      expect((await f.market.getProject(f.projectId)).budget).to.equal(before + 7n);
    });

    it("rejects unknown projects and ended projects", async function () {
      const f = await loadFixture(activeProject);
      await expect(f.market.fundProject(99n, 1n, { value: 1n }))
        .to.be.revertedWithCustomError(f.market, "UnknownProject")
        .withArgs(99n);
      await f.market.cancelProject(f.projectId);
      await expect(f.market.fundProject(f.projectId, 1n, { value: 1n }))
        .to.be.revertedWithCustomError(f.market, "WrongProjectStatus")
        .withArgs(f.projectId, ProjectStatus.Cancelled);
    });
  });

  describe("acceptAggregator", function () {
    it("takes the bond and opens round 0 with its reward reserved", async function () {
      const f = await loadFixture(fixture);
      const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address });
      await f.market.createProject(config, { value: config.budget });
      const key = "0x" + "33".repeat(32);
      await expect(f.market.connect(f.aggregator).acceptAggregator(1n, key, { value: BOND }))
        .to.emit(f.market, "AggregatorAccepted")
        .withArgs(1n, f.aggregator.address, BOND, BOND, key)
        .and.to.emit(f.market, "RoundOpened")
        .withArgs(1n, 0n, anyValue, anyValue, REWARD, config.initialModelCommitment, config.initialModelCid, anyValue);
      const p = await f.market.getProject(1n);
      expect(p.status).to.equal(ProjectStatus.Active);
      expect(p.roundReward).to.equal(REWARD);
      expect(p.budget).to.equal(REWARD * 2n);
      expect(p.aggregatorEncryptionKey).to.equal(key);
    });

    it("rejects anyone but the appointed aggregator, a short bond and a second acceptance", async function () {
      const f = await loadFixture(fixture);
      const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address });
      await f.market.createProject(config, { value: config.budget });
      await expect(f.market.connect(f.stranger).acceptAggregator(1n, ethers.ZeroHash, { value: BOND }))
        .to.be.revertedWithCustomError(f.market, "NotAggregator")
        .withArgs(1n, f.stranger.address);
      await expect(f.market.connect(f.aggregator).acceptAggregator(1n, ethers.ZeroHash, { value: BOND - 1n }))
        .to.be.revertedWithCustomError(f.market, "WrongEthAmount")
        .withArgs(BOND, BOND - 1n);
      await f.market.connect(f.aggregator).acceptAggregator(1n, ethers.ZeroHash, { value: BOND });
      await expect(f.market.connect(f.aggregator).acceptAggregator(1n, ethers.ZeroHash))
        .to.be.revertedWithCustomError(f.market, "WrongProjectStatus")
        .withArgs(1n, ProjectStatus.Active);
    });

    it("rejects a fee-on-transfer bond that arrives short", async function () {
      const f = await loadFixture(tokenFixture);
      const config = baseConfig({
        verifier: await f.verifier.getAddress(),
        aggregator: f.aggregator.address,
        token: await f.feeToken.getAddress(),
      });
      await f.market.createProject(config);
      await expect(f.market.connect(f.aggregator).acceptAggregator(1n, ethers.ZeroHash))
        .to.be.revertedWithCustomError(f.market, "InsufficientDeposit")
        .withArgs(BOND, (BOND * 99n) / 100n);
    });
  });

  describe("registerTrainer", function () {
    it("registers with a stake and rejects a second registration", async function () {
      const f = await loadFixture(fixture);
      await createActiveProject(f, { trainerStake: 50n }, 0);
      const [t] = f.trainers;
      await expect(f.market.connect(t!).registerTrainer(1n, [], { value: 50n }))
        .to.emit(f.market, "TrainerRegistered")
        .withArgs(1n, t!.address, 50n);
      expect(await f.market.getTrainer(1n, t!.address)).to.deep.equal([true, 0n, 50n]);
      await expect(f.market.connect(t!).registerTrainer(1n, [], { value: 50n }))
        .to.be.revertedWithCustomError(f.market, "AlreadyRegistered")
        .withArgs(1n, t!.address);
    });

    it("enforces the allowlist with a Merkle proof", async function () {
      const f = await loadFixture(fixture);
      const allowed = f.trainers.slice(0, 2).map((t) => [t.address]);
      const tree = StandardMerkleTree.of(allowed, ["address"]);
      await createActiveProject(f, { allowlistRoot: tree.root }, 0);
      const [a, , outsider] = f.trainers;
      await f.market.connect(a!).registerTrainer(1n, tree.getProof(0));
      await expect(f.market.connect(outsider!).registerTrainer(1n, tree.getProof(1)))
        .to.be.revertedWithCustomError(f.market, "NotAllowlisted")
        .withArgs(1n, outsider!.address);
    });

    it("rejects a wrong stake", async function () {
      const f = await loadFixture(fixture);
      await createActiveProject(f, { trainerStake: 50n }, 0);
      await expect(f.market.connect(f.trainers[0]!).registerTrainer(1n, [], { value: 49n }))
        .to.be.revertedWithCustomError(f.market, "WrongEthAmount")
        .withArgs(50n, 49n);
    });
  });

  describe("submitUpdate", function () {
    it("records the commitment in the next slot and emits it with the CID", async function () {
      const f = await loadFixture(activeProject);
      const [t] = f.trainers;
      const c = commitmentOf("u");
      await expect(f.market.connect(t!).submitUpdate(f.projectId, 0n, c, cid("u")))
        .to.emit(f.market, "UpdateSubmitted")
        .withArgs(f.projectId, 0n, t!.address, 0n, c, cid("u"));
      expect(await f.market.getSubmission(f.projectId, 0n, 0n)).to.deep.equal([t!.address, c]);
      expect((await f.market.getCurrentRound(f.projectId)).submissions).to.equal(1n);
    });

    it("rejects duplicate, unregistered, late and wrong-round submissions", async function () {
      const f = await loadFixture(activeProject);
      const [t] = f.trainers;
      await f.market.connect(t!).submitUpdate(f.projectId, 0n, commitmentOf("a"), cid("a"));
      await expect(f.market.connect(t!).submitUpdate(f.projectId, 0n, commitmentOf("b"), cid("b")))
        .to.be.revertedWithCustomError(f.market, "AlreadySubmitted")
        .withArgs(f.projectId, 0n, t!.address);
      await expect(f.market.connect(f.stranger).submitUpdate(f.projectId, 0n, commitmentOf("c"), cid("c")))
        .to.be.revertedWithCustomError(f.market, "NotRegistered")
        .withArgs(f.projectId, f.stranger.address);
      await expect(f.market.connect(f.trainers[1]!).submitUpdate(f.projectId, 1n, commitmentOf("d"), cid("d")))
        .to.be.revertedWithCustomError(f.market, "WrongRound")
        .withArgs(f.projectId, 0n, 1n);
      await time.increase(SUBMISSION_WINDOW);
      await expect(
        f.market.connect(f.trainers[1]!).submitUpdate(f.projectId, 0n, commitmentOf("e"), cid("e")),
      ).to.be.revertedWithCustomError(f.market, "SubmissionWindowClosed");
    });

    it("rejects a zero or out-of-field commitment and a bad CID", async function () {
      const f = await loadFixture(activeProject);
      const t = f.market.connect(f.trainers[0]!);
      await expect(t.submitUpdate(f.projectId, 0n, 0n, cid("a")))
        .to.be.revertedWithCustomError(f.market, "InvalidCommitment")
        .withArgs(0n);
      await expect(t.submitUpdate(f.projectId, 0n, FIELD_MODULUS, cid("a")))
        .to.be.revertedWithCustomError(f.market, "InvalidCommitment")
        .withArgs(FIELD_MODULUS);
      await expect(t.submitUpdate(f.projectId, 0n, 1n, "")).to.be.revertedWithCustomError(f.market, "InvalidCid");
    });

    it("rejects submissions beyond the round's slots", async function () {
      const f = await loadFixture(fixture);
      const projectId = await createActiveProject(f, {}, 5);
      await submitAll(f, projectId, f.trainers.slice(0, 4));
      await expect(f.market.connect(f.trainers[4]!).submitUpdate(projectId, 0n, commitmentOf("x"), cid("x")))
        .to.be.revertedWithCustomError(f.market, "RoundFull")
        .withArgs(projectId, 0n, 4n);
    });

    it("rejects submissions while the project awaits an aggregator", async function () {
      const f = await loadFixture(fixture);
      const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address });
      await f.market.createProject(config, { value: config.budget });
      await f.market.connect(f.trainers[0]!).registerTrainer(1n, []);
      await expect(f.market.connect(f.trainers[0]!).submitUpdate(1n, 0n, 1n, cid("a")))
        .to.be.revertedWithCustomError(f.market, "WrongProjectStatus")
        .withArgs(1n, ProjectStatus.AwaitingAggregator);
    });
  });

  describe("submitChunkProofs", function () {
    it("verifies chunks in order, across transactions, and allows a restart at 0", async function () {
      const f = await loadFixture(roundReady);
      const { chunkProofs } = await buildFinalization(f, f.projectId, []);
      const agg = f.market.connect(f.aggregator);
      await expect(agg.submitChunkProofs(f.projectId, 0n, 0n, chunkProofs.slice(0, 2)))
        .to.emit(f.market, "ChunkProofsAccepted")
        .withArgs(f.projectId, 0n, 0n, 2n, chunkProofs[1]!.accOut);
      await expect(agg.submitChunkProofs(f.projectId, 0n, 1n, chunkProofs.slice(2)))
        .to.be.revertedWithCustomError(f.market, "ChunkOutOfOrder")
        .withArgs(2n, 1n);
      await agg.submitChunkProofs(f.projectId, 0n, 2n, chunkProofs.slice(2));
      expect((await f.market.getCurrentRound(f.projectId)).chunksVerified).to.equal(3n);
      await agg.submitChunkProofs(f.projectId, 0n, 0n, chunkProofs.slice(0, 1));
      expect((await f.market.getCurrentRound(f.projectId)).chunksVerified).to.equal(1n);
    });

    it("rejects a chunk proof that does not chain from the stored accumulator", async function () {
      const f = await loadFixture(roundReady);
      const bad = mockChunkProof(123n, 456n);
      await expect(f.market.connect(f.aggregator).submitChunkProofs(f.projectId, 0n, 0n, [bad]))
        .to.be.revertedWithCustomError(f.market, "InvalidChunkProof")
        .withArgs(0n);
    });

    it("rejects too many chunks, the wrong caller, and calls outside the aggregation window", async function () {
      const f = await loadFixture(roundReady);
      const { chunkProofs } = await buildFinalization(f, f.projectId, []);
      const extra = [...chunkProofs, mockChunkProof(chunkProofs[2]!.accOut as bigint, 9n)];
      await expect(f.market.connect(f.aggregator).submitChunkProofs(f.projectId, 0n, 0n, extra))
        .to.be.revertedWithCustomError(f.market, "TooManyChunks")
        .withArgs(3n, 4n);
      await expect(f.market.connect(f.stranger).submitChunkProofs(f.projectId, 0n, 0n, chunkProofs))
        .to.be.revertedWithCustomError(f.market, "NotAggregator")
        .withArgs(f.projectId, f.stranger.address);
      await time.increase(AGGREGATION_WINDOW);
      await expect(
        f.market.connect(f.aggregator).submitChunkProofs(f.projectId, 0n, 0n, chunkProofs),
      ).to.be.revertedWithCustomError(f.market, "OutsideAggregationWindow");
    });

    it("rejects proofs during the submission window and below quorum", async function () {
      const f = await loadFixture(activeProject);
      await submitAll(f, f.projectId, f.trainers.slice(0, 3));
      const proof = mockChunkProof(0n, 1n);
      await expect(
        f.market.connect(f.aggregator).submitChunkProofs(f.projectId, 0n, 0n, [proof]),
      ).to.be.revertedWithCustomError(f.market, "OutsideAggregationWindow");
      await time.increase(SUBMISSION_WINDOW);
      await expect(f.market.connect(f.aggregator).submitChunkProofs(f.projectId, 0n, 0n, [proof]))
        .to.be.revertedWithCustomError(f.market, "QuorumNotReached")
        .withArgs(f.projectId, 0n, 3n, 4n);
    });
  });

  describe("finalizeRound", function () {
    const outcomes = [
      { status: Status.Inlier, score: 300n },
      { status: Status.Inlier, score: 100n },
      { status: Status.NotAggregated, score: 0n },
      { status: Status.Inlier, score: 0n },
    ];

    it("records the model, accrues shares proportional to proven scores and opens the next round", async function () {
      const f = await loadFixture(roundReady);
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, outcomes);
      const tx = f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result);
      await expect(tx)
        .to.emit(f.market, "RoundFinalized")
        .withArgs(f.projectId, 0n, result.newModelCommitment, result.newModelCid, 400n, REWARD);
      await expect(tx)
        .to.emit(f.market, "ContributionRecorded")
        .withArgs(f.projectId, 0n, f.trainers[0]!.address, 0n, Status.Inlier, 300n, (REWARD * 3n) / 4n);
      await expect(tx)
        .to.emit(f.market, "ContributionRecorded")
        .withArgs(f.projectId, 0n, f.trainers[2]!.address, 2n, Status.NotAggregated, 0n, 0n);
      await expect(tx).to.emit(f.market, "RoundOpened");
      expect(await f.market.creditOf(ETH, f.trainers[0]!.address)).to.equal((REWARD * 3n) / 4n);
      expect(await f.market.creditOf(ETH, f.trainers[1]!.address)).to.equal(REWARD / 4n);
      expect(await f.market.creditOf(ETH, f.trainers[2]!.address)).to.equal(0n);
      const p = await f.market.getProject(f.projectId);
      expect(p.modelCommitment).to.equal(result.newModelCommitment);
      expect(p.modelCid).to.equal(result.newModelCid);
      expect(p.currentRound).to.equal(1n);
    });

    it("returns the rounding remainder to the budget and pays nobody when all scores are zero", async function () {
      const f = await loadFixture(roundReady);
      const before = (await f.market.getProject(f.projectId)).budget;
      const thirds = [1n, 1n, 1n, 0n].map((score) => ({ status: Status.Inlier, score }));
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, thirds);
      await f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result);
      const share = REWARD / 3n;
      // The next round reserved another REWARD from the budget; the remainder came back first.
      expect((await f.market.getProject(f.projectId)).budget).to.equal(before + (REWARD - 3n * share) - REWARD);

      await submitAll(f, f.projectId, f.trainers.slice(0, 4));
      await time.increase(SUBMISSION_WINDOW);
      const zero = [0, 1, 2, 3].map(() => ({ status: Status.Inlier, score: 0n }));
      const next = await buildFinalization(f, f.projectId, zero);
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectId, 1n, 0n, next.chunkProofs, next.result))
        .to.emit(f.market, "RoundFinalized")
        .withArgs(f.projectId, 1n, anyValue, anyValue, 0n, 0n);
    });

    it("rejects a decision proof when any public input is tampered with", async function () {
      const f = await loadFixture(roundReady);
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, outcomes);
      const agg = f.market.connect(f.aggregator);
      await agg.submitChunkProofs(f.projectId, 0n, 0n, chunkProofs);
      const tampered = [
        { ...result, newModelCommitment: BigInt(result.newModelCommitment) + 1n },
        { ...result, outcomes: [BigInt((result.outcomes as bigint[])[0]!) + 4n, (result.outcomes as bigint[])[1]!] },
      ];
      for (const r of tampered) {
        await expect(agg.finalizeRound(f.projectId, 0n, 0n, [], r)).to.be.revertedWithCustomError(
          f.market,
          "InvalidDecisionProof",
        );
      }
      await expect(agg.finalizeRound(f.projectId, 0n, 0n, [], { ...result, outcomes: [1n] }))
        .to.be.revertedWithCustomError(f.market, "WrongOutcomeCount")
        .withArgs(2n, 1n);
    });

    it("requires every chunk proof before the decision", async function () {
      const f = await loadFixture(roundReady);
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, outcomes);
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs.slice(0, 2), result))
        .to.be.revertedWithCustomError(f.market, "ChunksIncomplete")
        .withArgs(2n, 3n);
    });

    it("rejects finalization by anyone but the aggregator and after the window", async function () {
      const f = await loadFixture(roundReady);
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, outcomes);
      await expect(f.market.connect(f.owner).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result))
        .to.be.revertedWithCustomError(f.market, "NotAggregator")
        .withArgs(f.projectId, f.owner.address);
      await time.increase(AGGREGATION_WINDOW);
      await expect(
        f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result),
      ).to.be.revertedWithCustomError(f.market, "OutsideAggregationWindow");
    });

    it("completes the project after the last round and releases budget and bond", async function () {
      const f = await loadFixture(fixture);
      const projectId = await createActiveProject(f, { numRounds: 1, budget: REWARD * 2n });
      await submitAll(f, projectId, f.trainers.slice(0, 4));
      await time.increase(SUBMISSION_WINDOW);
      const { chunkProofs, result } = await buildFinalization(f, projectId, outcomes);
      await expect(f.market.connect(f.aggregator).finalizeRound(projectId, 0n, 0n, chunkProofs, result))
        .to.emit(f.market, "ProjectClosed")
        .withArgs(projectId, ProjectStatus.Completed, REWARD, BOND);
      expect(await f.market.creditOf(ETH, f.owner.address)).to.equal(REWARD);
      expect(await f.market.creditOf(ETH, f.aggregator.address)).to.equal(BOND);
    });
  });

  describe("skipRound", function () {
    it("closes a round below quorum without slashing and returns its reward", async function () {
      const f = await loadFixture(activeProject);
      await submitAll(f, f.projectId, f.trainers.slice(0, 3));
      await expect(f.market.skipRound(f.projectId)).to.be.revertedWithCustomError(f.market, "SubmissionWindowOpen");
      await time.increase(SUBMISSION_WINDOW);
      await expect(f.market.connect(f.stranger).skipRound(f.projectId))
        .to.emit(f.market, "RoundSkipped")
        .withArgs(f.projectId, 0n, 3n)
        .and.to.emit(f.market, "RoundOpened");
      const p = await f.market.getProject(f.projectId);
      expect(p.bondPosted).to.equal(BOND);
      expect(p.currentRound).to.equal(1n);
      expect(p.budget).to.equal(REWARD * 2n); // round 0's reward came back, round 1's is reserved
    });

    it("refuses to skip a round that reached quorum", async function () {
      const f = await loadFixture(roundReady);
      await expect(f.market.skipRound(f.projectId))
        .to.be.revertedWithCustomError(f.market, "QuorumReached")
        .withArgs(f.projectId, 0n, 4n, 4n);
    });
  });

  describe("failRound", function () {
    it("slashes the bond to submitters and owner after the aggregation window, then awaits an aggregator", async function () {
      const f = await loadFixture(roundReady);
      await expect(f.market.failRound(f.projectId)).to.be.revertedWithCustomError(f.market, "AggregationWindowOpen");
      await time.increase(AGGREGATION_WINDOW);
      const perTrainer = SLASH / 2n / 4n;
      await expect(f.market.connect(f.stranger).failRound(f.projectId))
        .to.emit(f.market, "RoundFailed")
        .withArgs(f.projectId, 0n, f.aggregator.address, SLASH, perTrainer);
      for (const t of f.trainers.slice(0, 4)) {
        expect(await f.market.creditOf(ETH, t.address)).to.equal(perTrainer);
      }
      expect(await f.market.creditOf(ETH, f.owner.address)).to.equal(SLASH - 4n * perTrainer);
      const p = await f.market.getProject(f.projectId);
      expect(p.status).to.equal(ProjectStatus.AwaitingAggregator);
      expect(p.bondPosted).to.equal(BOND - SLASH);
      expect(p.budget).to.equal(REWARD * 3n);
    });

    it("lets the owner continue with the same aggregator (bond topped up) or a new one", async function () {
      const f = await loadFixture(roundReady);
      await time.increase(AGGREGATION_WINDOW);
      await f.market.failRound(f.projectId);
      await f.market.appointAggregator(f.projectId, f.aggregator.address, BOND, SLASH);
      await expect(f.market.connect(f.aggregator).acceptAggregator(f.projectId, ethers.ZeroHash, { value: SLASH }))
        .to.emit(f.market, "RoundOpened")
        .withArgs(f.projectId, 1n, anyValue, anyValue, REWARD, anyValue, anyValue, anyValue);

      await submitAll(f, f.projectId, f.trainers.slice(0, 4));
      await time.increase(SUBMISSION_WINDOW + AGGREGATION_WINDOW);
      await f.market.failRound(f.projectId);
      const replacement = f.stranger;
      await expect(f.market.appointAggregator(f.projectId, replacement.address, BOND, SLASH))
        .to.emit(f.market, "Credited")
        .withArgs(ETH, f.aggregator.address, BOND - SLASH);
      await f.market.connect(replacement).acceptAggregator(f.projectId, ethers.ZeroHash, { value: BOND });
      expect((await f.market.getProject(f.projectId)).aggregator).to.equal(replacement.address);
    });

    it("only lets the owner appoint, and only while awaiting an aggregator", async function () {
      const f = await loadFixture(roundReady);
      await expect(f.market.connect(f.stranger).appointAggregator(f.projectId, f.stranger.address, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "NotProjectOwner")
        .withArgs(f.projectId, f.stranger.address);
      await expect(f.market.appointAggregator(f.projectId, f.stranger.address, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "WrongProjectStatus")
        .withArgs(f.projectId, ProjectStatus.Active);
    });
  });

  describe("cancelProject", function () {
    it("refunds everything at once when the open round has no quorum", async function () {
      const f = await loadFixture(activeProject);
      await expect(f.market.cancelProject(f.projectId))
        .to.emit(f.market, "ProjectCancelled")
        .withArgs(f.projectId, REWARD * 3n, false)
        .and.to.emit(f.market, "ProjectClosed")
        .withArgs(f.projectId, ProjectStatus.Cancelled, REWARD * 3n, BOND);
      expect(await f.market.creditOf(ETH, f.owner.address)).to.equal(REWARD * 3n);
      expect(await f.market.creditOf(ETH, f.aggregator.address)).to.equal(BOND);
    });

    it("keeps a round with quorum payable: the aggregator can still finalize it", async function () {
      const f = await loadFixture(roundReady);
      await expect(f.market.cancelProject(f.projectId))
        .to.emit(f.market, "ProjectCancelled")
        .withArgs(f.projectId, REWARD * 2n, true);
      await expect(f.market.connect(f.trainers[5]!).registerTrainer(f.projectId, []))
        .to.be.revertedWithCustomError(f.market, "ProjectCancelling")
        .withArgs(f.projectId);
      const outcomes = [0, 1, 2, 3].map(() => ({ status: Status.Inlier, score: 1n }));
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, outcomes);
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result))
        .to.emit(f.market, "ProjectClosed")
        .withArgs(f.projectId, ProjectStatus.Cancelled, 0n, BOND);
      expect(await f.market.creditOf(ETH, f.trainers[0]!.address)).to.equal(REWARD / 4n);
    });

    it("rejects strangers and a second cancellation", async function () {
      const f = await loadFixture(activeProject);
      await expect(f.market.connect(f.stranger).cancelProject(f.projectId))
        .to.be.revertedWithCustomError(f.market, "NotProjectOwner")
        .withArgs(f.projectId, f.stranger.address);
      await f.market.cancelProject(f.projectId);
      await expect(f.market.cancelProject(f.projectId))
        .to.be.revertedWithCustomError(f.market, "WrongProjectStatus")
        .withArgs(f.projectId, ProjectStatus.Cancelled);
    });
  });

  describe("releaseStake", function () {
    it("returns the stake only after the project ended, once", async function () {
      const f = await loadFixture(fixture);
      const projectId = await createActiveProject(f, { trainerStake: 50n }, 1);
      const t = f.market.connect(f.trainers[0]!);
      await expect(t.releaseStake(projectId))
        .to.be.revertedWithCustomError(f.market, "NoStakeToRelease")
        .withArgs(projectId, f.trainers[0]!.address);
      await f.market.cancelProject(projectId);
      const release = t.releaseStake(projectId);
      await expect(release).to.emit(f.market, "StakeReleased").withArgs(projectId, f.trainers[0]!.address, 50n);
      await expect(release).to.emit(f.market, "Credited").withArgs(ETH, f.trainers[0]!.address, 50n);
      await expect(t.releaseStake(projectId)).to.be.revertedWithCustomError(f.market, "NoStakeToRelease");
    });
  });

  describe("withdraw", function () {
    it("pays out ETH credits once and keeps the books balanced", async function () {
      const f = await loadFixture(activeProject);
      await f.market.cancelProject(f.projectId);
      const owed = await f.market.creditOf(ETH, f.owner.address);
      const tx = f.market.withdraw(ETH);
      await expect(tx).to.emit(f.market, "Withdrawn").withArgs(ETH, f.owner.address, owed);
      await expect(tx).to.changeEtherBalances(ethers, [f.market, f.owner], [-owed, owed]);
      await expect(f.market.withdraw(ETH))
        .to.be.revertedWithCustomError(f.market, "NothingToWithdraw")
        .withArgs(ETH, f.owner.address);
      await f.market.connect(f.aggregator).withdraw(ETH);
      expect(await f.market.totalLiabilities(ETH)).to.equal(0n);
      expect(await ethers.provider.getBalance(await f.market.getAddress())).to.equal(0n);
    });

    it("pays out ERC-20 credits", async function () {
      const f = await loadFixture(tokenFixture);
      const token = await f.token.getAddress();
      await createActiveProject(f, { token });
      await f.market.cancelProject(1n);
      await expect(f.market.withdraw(token)).to.changeTokenBalances(
        ethers,
        f.token,
        [f.market, f.owner],
        [-(REWARD * 3n), REWARD * 3n],
      );
    });

    it("keeps the credit when the token transfer reverts, so nothing is lost", async function () {
      const f = await loadFixture(fixture);
      const blockable = await ethers.deployContract("BlockableToken");
      await blockable.mint(f.owner.address, 10n ** 24n);
      await blockable.mint(f.aggregator.address, 10n ** 24n);
      await blockable.approve(await f.market.getAddress(), ethers.MaxUint256);
      await blockable.connect(f.aggregator).approve(await f.market.getAddress(), ethers.MaxUint256);
      const token = await blockable.getAddress();
      await createActiveProject(f, { token }, 0);
      await f.market.cancelProject(1n);
      await blockable.setBlocked(f.owner.address, true);
      await expect(f.market.withdraw(token)).to.be.revertedWithCustomError(blockable, "Blocked");
      expect(await f.market.creditOf(token, f.owner.address)).to.equal(REWARD * 3n);
      await blockable.setBlocked(f.owner.address, false);
      await f.market.withdraw(token);
      expect(await f.market.creditOf(token, f.owner.address)).to.equal(0n);
    });
  });

  describe("hyper-parameters", function () {
    const asTuple = (h: HyperParams) => [BigInt(h.learningRateMicros), BigInt(h.localEpochs), BigInt(h.batchSize)];
    const inliers = [1n, 1n, 1n, 1n].map((score) => ({ status: Status.Inlier, score }));
    const hyper = (learningRateMicros: bigint, localEpochs: bigint, batchSize: bigint): HyperParams => ({
      learningRateMicros,
      localEpochs,
      batchSize,
    });

    it("stores the bounds and opens round 0 with the initial values (event and views)", async function () {
      const f = await loadFixture(fixture);
      const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address });
      await f.market.createProject(config, { value: config.budget });
      await expect(f.market.connect(f.aggregator).acceptAggregator(1n, ethers.ZeroHash, { value: BOND }))
        .to.emit(f.market, "RoundOpened")
        .withArgs(1n, 0n, anyValue, anyValue, REWARD, anyValue, anyValue, asTuple(HYPER_INITIAL));
      const p = await f.market.getProject(1n);
      expect(asTuple(p.hyperParams)).to.deep.equal(asTuple(HYPER_INITIAL));
      expect(asTuple(p.minHyperParams)).to.deep.equal(asTuple(HYPER_MIN));
      expect(asTuple(p.maxHyperParams)).to.deep.equal(asTuple(HYPER_MAX));
      expect(asTuple((await f.market.getCurrentRound(1n)).hyperParams)).to.deep.equal(asTuple(HYPER_INITIAL));
    });

    const invalidBounds: Array<[string, ConfigOverrides]> = [
      ["minHyperParams", { minHyperParams: { ...HYPER_MIN, learningRateMicros: 0n }, initialHyperParams: hyper(0n, 2n, 32n) }],
      ["minHyperParams", { minHyperParams: { ...HYPER_MIN, localEpochs: 0n } }],
      ["minHyperParams", { minHyperParams: { ...HYPER_MIN, batchSize: 0n } }],
      ["maxHyperParams", { maxHyperParams: { ...HYPER_MAX, learningRateMicros: HYPER_MIN.learningRateMicros - 1n } }],
      ["maxHyperParams", { maxHyperParams: { ...HYPER_MAX, localEpochs: 0n } }],
      ["maxHyperParams", { maxHyperParams: { ...HYPER_MAX, batchSize: HYPER_MIN.batchSize - 1n } }],
    ];
    for (const [i, [field, overrides]] of invalidBounds.entries()) {
      it(`rejects invalid bounds at creation: ${field} (case ${i})`, async function () {
        const f = await loadFixture(fixture);
        const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address, ...overrides });
        await expect(f.market.createProject(config, { value: config.budget }))
          .to.be.revertedWithCustomError(f.market, "InvalidConfig")
          .withArgs(field);
      });
    }

    it("rejects initial values outside the bounds, naming the field", async function () {
      const f = await loadFixture(fixture);
      const verifier = await f.verifier.getAddress();
      const cases: Array<[HyperParams, string, bigint, bigint, bigint]> = [
        [{ ...HYPER_INITIAL, learningRateMicros: HYPER_MAX.learningRateMicros + 1n }, "learningRateMicros", HYPER_MAX.learningRateMicros + 1n, HYPER_MIN.learningRateMicros, HYPER_MAX.learningRateMicros],
        [{ ...HYPER_INITIAL, localEpochs: HYPER_MAX.localEpochs + 1n }, "localEpochs", HYPER_MAX.localEpochs + 1n, HYPER_MIN.localEpochs, HYPER_MAX.localEpochs],
        [{ ...HYPER_INITIAL, batchSize: HYPER_MIN.batchSize - 1n }, "batchSize", HYPER_MIN.batchSize - 1n, HYPER_MIN.batchSize, HYPER_MAX.batchSize],
      ];
      for (const [initialHyperParams, field, value, min, max] of cases) {
        const config = baseConfig({ verifier, aggregator: f.aggregator.address, initialHyperParams });
        await expect(f.market.createProject(config, { value: config.budget }))
          .to.be.revertedWithCustomError(f.market, "HyperParamOutOfBounds")
          .withArgs(field, value, min, max);
      }
    });

    it("finalizeRound sets the next round's values, inclusive of both bounds", async function () {
      const f = await loadFixture(roundReady);
      const lowest = hyper(HYPER_MIN.learningRateMicros, HYPER_MIN.localEpochs, HYPER_MIN.batchSize);
      const first = await buildFinalization(f, f.projectId, inliers, undefined, lowest);
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, first.chunkProofs, first.result))
        .to.emit(f.market, "RoundOpened")
        .withArgs(f.projectId, 1n, anyValue, anyValue, REWARD, first.result.newModelCommitment, anyValue, asTuple(lowest));
      expect(asTuple((await f.market.getCurrentRound(f.projectId)).hyperParams)).to.deep.equal(asTuple(lowest));

      await submitAll(f, f.projectId, f.trainers.slice(0, 4));
      await time.increase(SUBMISSION_WINDOW);
      const highest = hyper(HYPER_MAX.learningRateMicros, HYPER_MAX.localEpochs, HYPER_MAX.batchSize);
      const second = await buildFinalization(f, f.projectId, inliers, undefined, highest);
      await f.market.connect(f.aggregator).finalizeRound(f.projectId, 1n, 0n, second.chunkProofs, second.result);
      expect(asTuple((await f.market.getProject(f.projectId)).hyperParams)).to.deep.equal(asTuple(highest));
    });

    it("finalizeRound rejects next values outside the bounds, naming the field, and changes nothing", async function () {
      const f = await loadFixture(roundReady);
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, inliers);
      const agg = f.market.connect(f.aggregator);
      const cases: Array<[HyperParams, string, bigint, bigint, bigint]> = [
        [hyper(HYPER_MIN.learningRateMicros - 1n, 2n, 32n), "learningRateMicros", HYPER_MIN.learningRateMicros - 1n, HYPER_MIN.learningRateMicros, HYPER_MAX.learningRateMicros],
        [hyper(HYPER_MAX.learningRateMicros + 1n, 2n, 32n), "learningRateMicros", HYPER_MAX.learningRateMicros + 1n, HYPER_MIN.learningRateMicros, HYPER_MAX.learningRateMicros],
        [hyper(10_000n, 0n, 32n), "localEpochs", 0n, HYPER_MIN.localEpochs, HYPER_MAX.localEpochs],
        [hyper(10_000n, 6n, 32n), "localEpochs", 6n, HYPER_MIN.localEpochs, HYPER_MAX.localEpochs],
        [hyper(10_000n, 2n, 65n), "batchSize", 65n, HYPER_MIN.batchSize, HYPER_MAX.batchSize],
      ];
      for (const [nextHyperParams, field, value, min, max] of cases) {
        await expect(agg.finalizeRound(f.projectId, 0n, 0n, chunkProofs, { ...result, nextHyperParams }))
          .to.be.revertedWithCustomError(f.market, "HyperParamOutOfBounds")
          .withArgs(field, value, min, max);
      }
      const round = await f.market.getCurrentRound(f.projectId);
      expect(round.round).to.equal(0n);
      expect(asTuple(round.hyperParams)).to.deep.equal(asTuple(HYPER_INITIAL));
    });

    it("skipped and failed rounds keep the current values", async function () {
      const f = await loadFixture(roundReady);
      const decayed = hyper(5_000n, 2n, 32n);
      const fin = await buildFinalization(f, f.projectId, inliers, undefined, decayed);
      await f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, fin.chunkProofs, fin.result);

      await time.increase(SUBMISSION_WINDOW); // round 1: no submissions
      await expect(f.market.skipRound(f.projectId))
        .to.emit(f.market, "RoundOpened")
        .withArgs(f.projectId, 2n, anyValue, anyValue, anyValue, anyValue, anyValue, asTuple(decayed));

      await submitAll(f, f.projectId, f.trainers.slice(0, 4));
      await time.increase(SUBMISSION_WINDOW + AGGREGATION_WINDOW);
      await f.market.failRound(f.projectId); // round 2 was the last: the project completes
      const p = await f.market.getProject(f.projectId);
      expect(p.status).to.equal(ProjectStatus.Completed);
      expect(asTuple(p.hyperParams)).to.deep.equal(asTuple(decayed));
    });

    it("a failed round's successor opens with the same values after a new acceptance", async function () {
      const f = await loadFixture(roundReady);
      await time.increase(AGGREGATION_WINDOW);
      await f.market.failRound(f.projectId);
      await f.market.appointAggregator(f.projectId, f.aggregator.address, BOND, SLASH);
      await expect(f.market.connect(f.aggregator).acceptAggregator(f.projectId, ethers.ZeroHash, { value: SLASH }))
        .to.emit(f.market, "RoundOpened")
        .withArgs(f.projectId, 1n, anyValue, anyValue, REWARD, anyValue, anyValue, asTuple(HYPER_INITIAL));
    });
  });

  describe("roundContext", function () {
    it("binds chain, contract, project, round and parameters, with f in the low byte", async function () {
      const f = await loadFixture(activeProject);
      const p = await f.market.getProject(f.projectId);
      const { chainId } = await ethers.provider.getNetwork();
      const digest = BigInt(
        ethers.keccak256(
          ethers.AbiCoder.defaultAbiCoder().encode(
            ["uint256", "address", "uint256", "uint256", "bytes32"],
            [chainId, await f.market.getAddress(), f.projectId, 0n, p.paramsHash],
          ),
        ),
      );
      const ctx = await f.market.roundContext(f.projectId, 0n);
      expect(ctx).to.equal(((digest >> 16n) << 8n) | 1n);
      expect(ctx).to.be.lessThan(FIELD_MODULUS);
      expect(await f.market.roundContext(f.projectId, 1n)).to.not.equal(ctx);
    });
  });
});
