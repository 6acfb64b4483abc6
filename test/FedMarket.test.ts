import { expect } from "chai";
import { network } from "hardhat";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

import { computeCtx, isOnCurve, publicKeyOf, roundSeed } from "@fedmarket/core";
import type { MockRoundVerifier } from "../types/ethers-contracts/index.js";
import {
  AGGREGATION_WINDOW,
  BASE8,
  BOND,
  CHUNK_SIZE,
  ETH,
  ProjectStatus,
  FIELD_MODULUS,
  K_MAX,
  REWARD,
  SEAL_KEY,
  HYPER_INITIAL,
  HYPER_MAX,
  HYPER_MIN,
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
  deployMarket,
  drawSeed,
  mockChunkProof,
  pastAggregationWindow,
  registerTrainers,
  revealAll,
  sealedCommitment,
  submitAll,
  toAggregationWindow,
  toRevealWindow,
  type Update,
  type ConfigOverrides,
  type HyperParams,
  type MarketFixture,
  type SealKey,
} from "./helpers/market.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const { loadFixture, time } = networkHelpers;

async function fixture(): Promise<MarketFixture> {
  return deployMarket(connection);
}

/** An active ETH project (f = 0: quorum 3) whose round 0 has four candidates for its four slots. */
async function activeProject(): Promise<MarketFixture & { projectId: bigint }> {
  const f = await deployMarket(connection);
  const projectId = await createActiveProject(f);
  return { ...f, projectId };
}

/** An active project whose open round has four revealed updates and whose aggregation window is open. */
async function roundReady(): Promise<MarketFixture & { projectId: bigint; commitments: bigint[] }> {
  const f = await activeProject();
  const commitments = await submitAll(f, f.projectId, f.trainers.slice(0, 4));
  await toAggregationWindow(f, f.projectId);
  return { ...f, commitments };
}

async function tokenFixture() {
  const f = await deployMarket(connection);
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
      await expect(tx).to.emit(f.market, "ProjectCreated").withArgs(1n, f.owner.address, anyValue, config.budget, anyValue, 3n);
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
      ["revealWindow", () => ({ revealWindow: 0n })],
      ["revealWindow", () => ({ revealWindow: 365n * 86400n + 1n })],
      ["aggregationWindow", () => ({ aggregationWindow: 0n })],
      ["aggregationWindow", () => ({ aggregationWindow: 2n ** 64n - 1n })],
      ["slashAmount", () => ({ slashAmount: BOND + 1n })],
      ["modelSize", () => ({ params: { modelSize: 0, byzantineTolerance: 0, quantizationScale: 1n, clipBound: 1n } })],
      ["initialModelCommitment", () => ({ initialModelCommitment: FIELD_MODULUS })],
      ["maxTrainersPerRound", () => ({ maxTrainersPerRound: K_MAX + 1 })],
      ["maxTrainersPerRound", () => ({ maxTrainersPerRound: 2 })], // below 2f + 3 = 3
      ["maxTrainersPerRound", () => ({ params: circuitParams(1) })], // 4 slots, below 2f + 3 = 5
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

    it("rejects more rounds than the verifier's model headroom allows (maxRounds), accepts exactly that many", async function () {
      const f = await loadFixture(fixture);
      await f.verifier.setMaxRounds(3n);
      const make = (numRounds: number) =>
        baseConfig({ verifier: f.verifier.target as string, aggregator: f.aggregator.address, numRounds });
      const tooMany = make(4);
      await expect(f.market.createProject(tooMany, { value: tooMany.budget }))
        .to.be.revertedWithCustomError(f.market, "InvalidConfig")
        .withArgs("numRounds");
      const enough = make(3);
      await expect(f.market.createProject(enough, { value: enough.budget })).to.emit(f.market, "ProjectCreated");
    });

    it("rejects an empty or oversized CID", async function () {
      const f = await loadFixture(fixture);
      const verifier = await f.verifier.getAddress();
      for (const bad of [{ specCid: "" }, { initialModelCid: "x".repeat(129) }]) {
        const config = baseConfig({ verifier, aggregator: f.aggregator.address, ...bad });
        await expect(f.market.createProject(config, { value: config.budget })).to.be.revertedWithCustomError(f.market, "InvalidCid");
      }
    });

    it("rejects the owner as its own aggregator", async function () {
      const f = await loadFixture(fixture);
      const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.owner.address });
      await expect(f.market.createProject(config, { value: config.budget }))
        .to.be.revertedWithCustomError(f.market, "AggregatorIsOwner")
        .withArgs(f.owner.address);
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

    it("records a third party's deposit for its refund, not the owner's", async function () {
      const f = await loadFixture(activeProject);
      await f.market.connect(f.stranger).fundProject(f.projectId, 7n, { value: 7n });
      await f.market.connect(f.stranger).fundProject(f.projectId, 5n, { value: 5n });
      await f.market.fundProject(f.projectId, 11n, { value: 11n });
      expect(await f.market.getFunder(f.projectId, f.stranger.address)).to.deep.equal([12n, 0n]);
      expect(await f.market.getFunder(f.projectId, f.owner.address)).to.deep.equal([0n, 0n]);
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
    /** A project awaiting the fixture's aggregator on the base terms (ETH). */
    async function awaiting(): Promise<MarketFixture> {
      const f = await deployMarket(connection);
      const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address });
      await f.market.createProject(config, { value: config.budget });
      return f;
    }

    it("takes the bond and opens round 0 with its reward reserved", async function () {
      const f = await loadFixture(fixture);
      const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address });
      await f.market.createProject(config, { value: config.budget });
      await expect(f.market.connect(f.aggregator).acceptAggregator(1n, SEAL_KEY, BOND, SLASH, { value: BOND }))
        .to.emit(f.market, "AggregatorAccepted")
        .withArgs(1n, f.aggregator.address, BOND, BOND, SEAL_KEY)
        .and.to.emit(f.market, "RoundOpened")
        .withArgs(1n, 0n, 0n, anyValue, anyValue, anyValue, REWARD, config.initialModelCommitment, config.initialModelCid, anyValue);
      const p = await f.market.getProject(1n);
      expect(p.status).to.equal(ProjectStatus.Active);
      expect(p.roundReward).to.equal(REWARD);
      expect(p.budget).to.equal(REWARD * 2n);
    });

    it("stores the seal key, shows it in the project view and emits it", async function () {
      const f = await loadFixture(awaiting);
      expect(await f.market.getProject(1n).then((p) => [...p.aggregatorSealKey])).to.deep.equal([0n, 0n]);
      const key = publicKeyOf(123_456_789n) as SealKey;
      await expect(f.market.connect(f.aggregator).acceptAggregator(1n, key, BOND, SLASH, { value: BOND }))
        .to.emit(f.market, "AggregatorAccepted")
        .withArgs(1n, f.aggregator.address, BOND, BOND, key);
      expect([...(await f.market.getProject(1n)).aggregatorSealKey]).to.deep.equal(key);
    });

    it("refuses a key off the curve, a coordinate >= r and the identity with InvalidSealKey, before any bond moves", async function () {
      const f = await loadFixture(awaiting);
      const [x, y] = BASE8;
      const refused: Record<string, SealKey> = {
        "off the curve (y + 1)": [x, y + 1n],
        "off the curve (x + 1)": [x + 1n, y],
        "(0, 0), off the curve": [0n, 0n],
        "x + r (the same point mod r)": [x + FIELD_MODULUS, y],
        "y + r (the same point mod r)": [x, y + FIELD_MODULUS],
        "x = r": [FIELD_MODULUS, 1n],
        "the identity (0, 1)": [0n, 1n],
        "the identity with y + r": [0n, 1n + FIELD_MODULUS],
      };
      const agg = f.market.connect(f.aggregator);
      for (const [what, key] of Object.entries(refused)) {
        // The bond sent is short, too: the key is checked first.
        await expect(agg.acceptAggregator(1n, key, BOND, SLASH, { value: 0n }), what).to.be.revertedWithCustomError(
          f.market,
          "InvalidSealKey",
        );
      }
      const p = await f.market.getProject(1n);
      expect([p.status, p.bondPosted, [...p.aggregatorSealKey]]).to.deep.equal([BigInt(ProjectStatus.AwaitingAggregator), 0n, [0n, 0n]]);
      expect(await f.market.totalLiabilities(ETH)).to.equal(p.budget);
      await expect(agg.acceptAggregator(1n, BASE8, BOND, SLASH, { value: BOND })).to.emit(f.market, "AggregatorAccepted");
    });

    it("accepts exactly the curve points the reference accepts (keys a * Base8, their negations, random pairs)", async function () {
      const f = await loadFixture(awaiting);
      const agg = f.market.connect(f.aggregator);
      const keys: SealKey[] = [];
      for (let i = 1n; i <= 8n; i++) {
        const [kx, ky] = publicKeyOf(i * 0x9e3779b97f4a7c15n + 1n);
        keys.push([kx, ky], [FIELD_MODULUS - kx, ky], [kx, FIELD_MODULUS - ky]);
      }
      // (0, -1) has order 2: on the curve, so accepted; the decision proof (A = a * Base8) is what
      // rules out keys outside the subgroup.
      keys.push([0n, FIELD_MODULUS - 1n]);
      for (let i = 1n; i <= 8n; i++) {
        keys.push([BigInt(ethers.keccak256(ethers.toBeHex(i, 32))) % FIELD_MODULUS, BigInt(ethers.id(`y${i}`)) % FIELD_MODULUS]);
      }
      expect(keys.filter((k) => isOnCurve(k)).length).to.equal(25);
      for (const key of keys) {
        const accept = agg.acceptAggregator.staticCall(1n, key, BOND, SLASH, { value: BOND });
        if (isOnCurve(key)) await accept;
        else await expect(accept, `${key[0]}, ${key[1]}`).to.be.revertedWithCustomError(f.market, "InvalidSealKey");
      }
    });

    it("rejects anyone but the appointed aggregator, a short bond and a second acceptance", async function () {
      const f = await loadFixture(fixture);
      const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address });
      await f.market.createProject(config, { value: config.budget });
      const agg = f.market.connect(f.aggregator);
      await expect(f.market.connect(f.stranger).acceptAggregator(1n, SEAL_KEY, BOND, SLASH, { value: BOND }))
        .to.be.revertedWithCustomError(f.market, "NotAggregator")
        .withArgs(1n, f.stranger.address);
      await expect(agg.acceptAggregator(1n, SEAL_KEY, BOND, SLASH, { value: BOND - 1n }))
        .to.be.revertedWithCustomError(f.market, "WrongEthAmount")
        .withArgs(BOND, BOND - 1n);
      await agg.acceptAggregator(1n, SEAL_KEY, BOND, SLASH, { value: BOND });
      await expect(agg.acceptAggregator(1n, SEAL_KEY, BOND, SLASH))
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
      await expect(f.market.connect(f.aggregator).acceptAggregator(1n, SEAL_KEY, BOND, SLASH))
        .to.be.revertedWithCustomError(f.market, "InsufficientDeposit")
        .withArgs(BOND, (BOND * 99n) / 100n);
    });

    it("commits to the terms it accepts: any other bond or slash amount reverts with the current terms", async function () {
      const f = await loadFixture(fixture);
      const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address });
      await f.market.createProject(config, { value: config.budget });
      const agg = f.market.connect(f.aggregator);
      for (const [bond, slash] of [
        [BOND, SLASH - 1n],
        [BOND - 1n, SLASH],
        [BOND + 1n, SLASH],
      ] as const) {
        await expect(agg.acceptAggregator(1n, SEAL_KEY, bond, slash, { value: bond }))
          .to.be.revertedWithCustomError(f.market, "AppointmentTermsChanged")
          .withArgs(1n, BOND, SLASH);
      }
      await expect(agg.acceptAggregator(1n, SEAL_KEY, BOND, SLASH, { value: BOND })).to.emit(f.market, "RoundOpened");
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

  describe("drawSeed and slotOf", function () {
    it("fixes the seed from the opening block's hash, once, in a later block", async function () {
      const f = await loadFixture(activeProject);
      const round = await f.market.getCurrentRound(f.projectId);
      expect([round.seed, round.candidates]).to.deep.equal([0n, 4n]);
      const opening = await ethers.provider.getBlock(Number(round.seedBlock));
      const { chainId } = await ethers.provider.getNetwork();
      const seed = roundSeed(chainId, await f.market.getAddress(), f.projectId, 0, opening!.hash!);
      await expect(f.market.connect(f.stranger).drawSeed(f.projectId))
        .to.emit(f.market, "SeedDrawn")
        .withArgs(f.projectId, 0n, seed, round.seedBlock);
      expect((await f.market.getCurrentRound(f.projectId)).seed).to.equal(seed);
      // Idempotent: later calls return the same seed and emit nothing.
      expect(await f.market.drawSeed.staticCall(f.projectId)).to.equal(seed);
      await expect(f.market.drawSeed(f.projectId)).to.not.emit(f.market, "SeedDrawn");
    });

    it("with no more candidates than slots, candidate i holds slot i; a stranger holds none", async function () {
      const f = await loadFixture(activeProject);
      await drawSeed(f.market, f.projectId);
      for (const [i, t] of f.trainers.slice(0, 4).entries()) {
        expect(await f.market.slotOf(f.projectId, t.address)).to.deep.equal([true, true, BigInt(i)]);
      }
      expect(await f.market.slotOf(f.projectId, f.stranger.address)).to.deep.equal([true, false, 0n]);
    });

    it("rejects a project that is not active", async function () {
      const f = await loadFixture(fixture);
      const projectId = await createProject(f);
      await expect(f.market.drawSeed(projectId))
        .to.be.revertedWithCustomError(f.market, "WrongProjectStatus")
        .withArgs(projectId, ProjectStatus.AwaitingAggregator);
      expect(await f.market.slotOf(projectId, f.trainers[0]!.address)).to.deep.equal([false, false, 0n]);
    });
  });

  describe("commitUpdate", function () {
    it("locks the sealed commitment into the trainer's drawn slot and shows nothing else", async function () {
      const f = await loadFixture(activeProject);
      await drawSeed(f.market, f.projectId);
      const t = f.trainers[0]!;
      const c = commitmentOf("u");
      const sealed = await sealedCommitment(f.market, f.projectId, 0n, t.address, c, cid("u"));
      expect(await f.market.sealedCommitment(f.projectId, 0n, t.address, c, cid("u"))).to.equal(sealed);
      await expect(f.market.connect(t).commitUpdate(f.projectId, 0n, sealed))
        .to.emit(f.market, "UpdateCommitted")
        .withArgs(f.projectId, 0n, t.address, 0n, sealed);
      expect(await f.market.getSubmission(f.projectId, 0n, 0n)).to.deep.equal([ethers.ZeroAddress, 0n]);
      const round = await f.market.getCurrentRound(f.projectId);
      expect([round.commits, round.submissions]).to.deep.equal([1n, 0n]);
      expect(await f.market.getTrainer(f.projectId, t.address)).to.deep.equal([true, 1n, 0n]);
    });

    it("fixes the seed itself when nobody drew it yet", async function () {
      const f = await loadFixture(activeProject);
      const t = f.trainers[2]!;
      const sealed = await sealedCommitment(f.market, f.projectId, 0n, t.address, 7n, cid("u"));
      await expect(f.market.connect(t).commitUpdate(f.projectId, 0n, sealed))
        .to.emit(f.market, "SeedDrawn")
        .and.to.emit(f.market, "UpdateCommitted")
        .withArgs(f.projectId, 0n, t.address, 2n, sealed);
    });

    it("rejects a second, unregistered, late and wrong-round commitment", async function () {
      const f = await loadFixture(activeProject);
      const [t, other] = [f.trainers[0]!, f.trainers[1]!];
      await commitAll(f, f.projectId, [t]);
      await expect(f.market.connect(t).commitUpdate(f.projectId, 0n, ethers.ZeroHash))
        .to.be.revertedWithCustomError(f.market, "AlreadySubmitted")
        .withArgs(f.projectId, 0n, t.address);
      await expect(f.market.connect(f.stranger).commitUpdate(f.projectId, 0n, ethers.ZeroHash))
        .to.be.revertedWithCustomError(f.market, "NotRegistered")
        .withArgs(f.projectId, f.stranger.address);
      await expect(f.market.connect(other).commitUpdate(f.projectId, 1n, ethers.ZeroHash))
        .to.be.revertedWithCustomError(f.market, "WrongRound")
        .withArgs(f.projectId, 0n, 1n);
      const deadline = (await f.market.getCurrentRound(f.projectId)).submissionDeadline;
      await time.increaseTo(deadline);
      await expect(f.market.connect(other).commitUpdate(f.projectId, 0n, ethers.ZeroHash))
        .to.be.revertedWithCustomError(f.market, "SubmissionWindowClosed")
        .withArgs(f.projectId, 0n, deadline);
    });

    it("rejects commitments while the project awaits an aggregator", async function () {
      const f = await loadFixture(fixture);
      const projectId = await createProject(f);
      await f.market.connect(f.trainers[0]!).registerTrainer(projectId, []);
      await expect(f.market.connect(f.trainers[0]!).commitUpdate(projectId, 0n, ethers.ZeroHash))
        .to.be.revertedWithCustomError(f.market, "WrongProjectStatus")
        .withArgs(projectId, ProjectStatus.AwaitingAggregator);
    });

    it("draws four of five candidates for four slots: the fifth cannot commit", async function () {
      const f = await loadFixture(fixture);
      const projectId = await createActiveProject(f, {}, 5);
      await drawSeed(f.market, projectId);
      const drawn = [];
      for (const t of f.trainers.slice(0, 5)) {
        const [ready, selected, slot] = await f.market.slotOf(projectId, t.address);
        expect(ready).to.equal(true);
        if (selected) drawn.push(slot);
        else {
          await expect(f.market.connect(t).commitUpdate(projectId, 0n, ethers.ZeroHash))
            .to.be.revertedWithCustomError(f.market, "NotSelected")
            .withArgs(projectId, 0n, t.address);
        }
      }
      expect(drawn.map(Number).sort()).to.deep.equal([0, 1, 2, 3]);
      expect((await commitAll(f, projectId, f.trainers.slice(0, 5))).map((u) => u.slot)).to.deep.equal([0, 1, 2, 3]);
    });
  });

  describe("revealUpdate", function () {
    it("opens the sealed commitment in the reveal window: records and emits the commitment and the CID", async function () {
      const f = await loadFixture(activeProject);
      const [u] = await commitAll(f, f.projectId, f.trainers.slice(1, 2));
      await toRevealWindow(f, f.projectId);
      await expect(f.market.connect(u!.trainer).revealUpdate(f.projectId, 0n, u!.commitment, u!.cid))
        .to.emit(f.market, "UpdateRevealed")
        .withArgs(f.projectId, 0n, u!.trainer.address, 1n, u!.commitment, u!.cid);
      expect(await f.market.getSubmission(f.projectId, 0n, 1n)).to.deep.equal([u!.trainer.address, u!.commitment]);
      const round = await f.market.getCurrentRound(f.projectId);
      expect([round.commits, round.submissions]).to.deep.equal([1n, 1n]);
    });

    it("rejects a reveal outside its window, without a commitment, twice, or that does not open the seal", async function () {
      const f = await loadFixture(activeProject);
      const [u, late] = (await commitAll(f, f.projectId, f.trainers.slice(0, 2))) as [Update, Update];
      const round = await f.market.getCurrentRound(f.projectId);
      const [start, end] = [round.submissionDeadline, round.revealDeadline];
      const t = f.market.connect(u.trainer);
      await expect(t.revealUpdate(f.projectId, 0n, u.commitment, u.cid))
        .to.be.revertedWithCustomError(f.market, "OutsideRevealWindow")
        .withArgs(f.projectId, 0n, start, end);
      await toRevealWindow(f, f.projectId);
      await expect(f.market.connect(f.trainers[2]!).revealUpdate(f.projectId, 0n, u.commitment, u.cid))
        .to.be.revertedWithCustomError(f.market, "NotCommitted")
        .withArgs(f.projectId, 0n, f.trainers[2]!.address);
      for (const [commitment, updateCid] of [
        [u.commitment + 1n, u.cid],
        [u.commitment, cid("other")],
      ] as const) {
        await expect(t.revealUpdate(f.projectId, 0n, commitment, updateCid))
          .to.be.revertedWithCustomError(f.market, "RevealMismatch")
          .withArgs(f.projectId, 0n, u.trainer.address);
      }
      await expect(t.revealUpdate(f.projectId, 1n, u.commitment, u.cid))
        .to.be.revertedWithCustomError(f.market, "WrongRound")
        .withArgs(f.projectId, 0n, 1n);
      await t.revealUpdate(f.projectId, 0n, u.commitment, u.cid);
      await expect(t.revealUpdate(f.projectId, 0n, u.commitment, u.cid))
        .to.be.revertedWithCustomError(f.market, "AlreadyRevealed")
        .withArgs(f.projectId, 0n, u.trainer.address);
      await time.increaseTo(end);
      await expect(f.market.connect(late.trainer).revealUpdate(f.projectId, 0n, late.commitment, late.cid))
        .to.be.revertedWithCustomError(f.market, "OutsideRevealWindow")
        .withArgs(f.projectId, 0n, start, end);
      expect((await f.market.getCurrentRound(f.projectId)).submissions).to.equal(1n);
    });

    it("rejects a zero or out-of-field commitment and a bad CID, even when sealed", async function () {
      const f = await loadFixture(activeProject);
      const cases: Array<[bigint, string, string]> = [
        [0n, cid("a"), "InvalidCommitment"],
        [FIELD_MODULUS, cid("a"), "InvalidCommitment"],
        [1n, "", "InvalidCid"],
        [1n, "x".repeat(129), "InvalidCid"],
      ];
      const updates = await commitAll(f, f.projectId, f.trainers.slice(0, 4), (_t, i) => ({
        commitment: cases[i]![0],
        cid: cases[i]![1],
      }));
      await toRevealWindow(f, f.projectId);
      for (const [i, u] of updates.entries()) {
        const call = f.market.connect(u.trainer).revealUpdate(f.projectId, 0n, u.commitment, u.cid);
        if (cases[i]![2] === "InvalidCommitment") {
          await expect(call).to.be.revertedWithCustomError(f.market, "InvalidCommitment").withArgs(u.commitment);
        } else {
          await expect(call).to.be.revertedWithCustomError(f.market, "InvalidCid");
        }
      }
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
        .to.be.revertedWithCustomError(f.market, "InvalidChunkProofs")
        .withArgs(0n, 1n);
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
      await expect(f.market.connect(f.aggregator).submitChunkProofs(f.projectId, 0n, 0n, chunkProofs)).to.be.revertedWithCustomError(
        f.market,
        "OutsideAggregationWindow",
      );
    });

    it("rejects proofs during the commit and reveal windows and below quorum", async function () {
      const f = await loadFixture(activeProject);
      const proof = mockChunkProof(0n, 1n);
      const agg = f.market.connect(f.aggregator);
      const updates = await commitAll(f, f.projectId, f.trainers.slice(0, 2));
      await expect(agg.submitChunkProofs(f.projectId, 0n, 0n, [proof])).to.be.revertedWithCustomError(f.market, "OutsideAggregationWindow");
      await revealAll(f, f.projectId, updates);
      await expect(agg.submitChunkProofs(f.projectId, 0n, 0n, [proof])).to.be.revertedWithCustomError(f.market, "OutsideAggregationWindow");
      await toAggregationWindow(f, f.projectId);
      await expect(agg.submitChunkProofs(f.projectId, 0n, 0n, [proof]))
        .to.be.revertedWithCustomError(f.market, "QuorumNotReached")
        .withArgs(f.projectId, 0n, 2n, 3n);
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
        .withArgs(f.projectId, 0n, result.newModelCommitment, result.newModelCid, 400n, REWARD, anyValue);
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

    it("returns the rounding remainder to the budget", async function () {
      const f = await loadFixture(roundReady);
      const before = (await f.market.getProject(f.projectId)).budget;
      const thirds = [1n, 1n, 1n, 0n].map((score) => ({ status: Status.Inlier, score }));
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, thirds);
      await f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result);
      const share = REWARD / 3n;
      // The next round reserved another REWARD from the budget; the remainder came back first.
      expect((await f.market.getProject(f.projectId)).budget).to.equal(before + (REWARD - 3n * share) - REWARD);
    });

    it("splits a zero-total round equally among the inliers: a slot left out gets nothing while another is counted", async function () {
      const f = await loadFixture(roundReady);
      const before = (await f.market.getProject(f.projectId)).budget;
      // One kept cluster (slots 0 and 3) has no other cluster to align with: it scores 0.
      const zero = [
        { status: Status.Inlier, score: 0n },
        { status: Status.Excluded, score: 0n },
        { status: Status.NotAggregated, score: 9n },
        { status: Status.Inlier, score: 0n },
      ];
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, zero);
      const tx = f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result);
      await expect(tx).to.emit(f.market, "RoundFinalized").withArgs(f.projectId, 0n, anyValue, anyValue, 0n, REWARD, anyValue);
      await expect(tx)
        .to.emit(f.market, "ContributionRecorded")
        .withArgs(f.projectId, 0n, f.trainers[2]!.address, 2n, Status.NotAggregated, 9n, 0n);
      const credits = await Promise.all(f.trainers.slice(0, 4).map((t) => f.market.creditOf(ETH, t.address)));
      expect(credits).to.deep.equal([REWARD / 2n, 0n, 0n, REWARD / 2n]);
      // Nothing went back to the budget: the next round reserved its reward from what was there.
      expect((await f.market.getProject(f.projectId)).budget).to.equal(before - REWARD);
    });

    it("splits a zero-total round that counted nobody equally among the valid slots, the first one unit more", async function () {
      const f = await loadFixture(roundReady);
      const nobody = [
        { status: Status.NotAggregated, score: 0n },
        { status: Status.Excluded, score: 0n },
        { status: Status.NotAggregated, score: 9n },
        { status: Status.NotAggregated, score: 0n },
      ];
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, nobody);
      const third = REWARD / 3n; // 1_000_000 = 3 * 333_333 + 1
      const tx = f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result);
      await expect(tx)
        .to.emit(f.market, "ContributionRecorded")
        .withArgs(f.projectId, 0n, f.trainers[1]!.address, 1n, Status.Excluded, 0n, 0n);
      const credits = await Promise.all(f.trainers.slice(0, 4).map((t) => f.market.creditOf(ETH, t.address)));
      expect(credits).to.deep.equal([third + 1n, 0n, third, third]);
    });

    it("splits a round whose every slot is excluded among all its submitters, never the owner", async function () {
      const f = await loadFixture(roundReady);
      const excluded = [0, 1, 2, 3].map(() => ({ status: Status.Excluded, score: 0n }));
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, excluded);
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result))
        .to.emit(f.market, "RoundFinalized")
        .withArgs(f.projectId, 0n, anyValue, anyValue, 0n, REWARD, anyValue);
      for (const t of f.trainers.slice(0, 4)) expect(await f.market.creditOf(ETH, t.address)).to.equal(REWARD / 4n);
      expect(await f.market.creditOf(ETH, f.owner.address)).to.equal(0n);
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
        await expect(agg.finalizeRound(f.projectId, 0n, 0n, [], r)).to.be.revertedWithCustomError(f.market, "InvalidDecisionProof");
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
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result)).to.be.revertedWithCustomError(
        f.market,
        "OutsideAggregationWindow",
      );
    });

    it("completes the project after the last round and releases budget and bond", async function () {
      const f = await loadFixture(fixture);
      const projectId = await createActiveProject(f, { numRounds: 1, budget: REWARD * 2n });
      await submitAll(f, projectId, f.trainers.slice(0, 4));
      await toAggregationWindow(f, projectId);
      const { chunkProofs, result } = await buildFinalization(f, projectId, outcomes);
      await expect(f.market.connect(f.aggregator).finalizeRound(projectId, 0n, 0n, chunkProofs, result))
        .to.emit(f.market, "ProjectClosed")
        .withArgs(projectId, ProjectStatus.Completed, REWARD, BOND, 0n);
      expect(await f.market.creditOf(ETH, f.owner.address)).to.equal(REWARD);
      expect(await f.market.creditOf(ETH, f.aggregator.address)).to.equal(BOND);
    });
  });

  describe("skipRound", function () {
    it("closes a round below quorum after its reveal window, without slashing, and returns its reward", async function () {
      const f = await loadFixture(activeProject);
      // Three commitments (a quorum's worth), but only two revealed.
      const updates = await commitAll(f, f.projectId, f.trainers.slice(0, 3));
      await expect(f.market.skipRound(f.projectId)).to.be.revertedWithCustomError(f.market, "SubmissionWindowOpen");
      await revealAll(f, f.projectId, updates.slice(0, 2));
      const deadline = (await f.market.getCurrentRound(f.projectId)).revealDeadline;
      await expect(f.market.skipRound(f.projectId))
        .to.be.revertedWithCustomError(f.market, "SubmissionWindowOpen")
        .withArgs(f.projectId, 0n, deadline);
      await toAggregationWindow(f, f.projectId);
      await expect(f.market.connect(f.stranger).skipRound(f.projectId))
        .to.emit(f.market, "RoundSkipped")
        .withArgs(f.projectId, 0n, 2n)
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
        .withArgs(f.projectId, 0n, 4n, 3n);
    });
  });

  describe("failRound", function () {
    it("slashes the bond, splits the round's reward among its submitters and clears the appointment and its seal key", async function () {
      const f = await loadFixture(roundReady);
      await expect(f.market.failRound(f.projectId)).to.be.revertedWithCustomError(f.market, "AggregationWindowOpen");
      await time.increase(AGGREGATION_WINDOW);
      const slashPerTrainer = SLASH / 2n / 4n;
      const tx = f.market.connect(f.stranger).failRound(f.projectId);
      await expect(tx)
        .to.emit(f.market, "RoundFailed")
        .withArgs(f.projectId, 0n, f.aggregator.address, SLASH, slashPerTrainer, REWARD, BOND - SLASH);
      await expect(tx)
        .to.emit(f.market, "Credited")
        .withArgs(ETH, f.aggregator.address, BOND - SLASH);
      for (const t of f.trainers.slice(0, 4)) {
        expect(await f.market.creditOf(ETH, t.address)).to.equal(slashPerTrainer + REWARD / 4n);
      }
      expect(await f.market.creditOf(ETH, f.owner.address)).to.equal(SLASH - 4n * slashPerTrainer);
      const p = await f.market.getProject(f.projectId);
      expect(p.status).to.equal(ProjectStatus.AwaitingAggregator);
      expect([p.aggregator, p.bondPosted, p.aggregatorBond, p.slashAmount]).to.deep.equal([ethers.ZeroAddress, 0n, 0n, 0n]);
      expect([...p.aggregatorSealKey]).to.deep.equal([0n, 0n]);
      expect(p.budget).to.equal(REWARD * 2n); // round 0's reward went to its submitters
      expect(p.acceptanceDeadline).to.equal(BigInt(await time.latest()) + (await f.market.ACCEPTANCE_TIMEOUT()));
    });

    it("the owner appoints again (the same aggregator or a new one), who accepts with its full bond", async function () {
      const f = await loadFixture(roundReady);
      await time.increase(AGGREGATION_WINDOW);
      await f.market.failRound(f.projectId);
      await expect(f.market.connect(f.aggregator).acceptAggregator(f.projectId, SEAL_KEY, BOND, SLASH, { value: BOND }))
        .to.be.revertedWithCustomError(f.market, "NotAggregator")
        .withArgs(f.projectId, f.aggregator.address);
      await f.market.appointAggregator(f.projectId, f.aggregator.address, BOND, SLASH);
      await expect(f.market.connect(f.aggregator).acceptAggregator(f.projectId, SEAL_KEY, BOND, SLASH, { value: BOND }))
        .to.emit(f.market, "RoundOpened")
        .withArgs(f.projectId, 1n, 4n, anyValue, anyValue, anyValue, REWARD, anyValue, anyValue, anyValue);

      await submitAll(f, f.projectId, f.trainers.slice(0, 4));
      await pastAggregationWindow(f, f.projectId);
      await f.market.failRound(f.projectId);
      const replacement = f.stranger;
      await expect(f.market.appointAggregator(f.projectId, replacement.address, BOND, SLASH))
        .to.emit(f.market, "AggregatorAppointed")
        .withArgs(f.projectId, replacement.address, BOND, SLASH)
        .and.not.to.emit(f.market, "Credited");
      // The replacement registers its own seal key: the next decision proof is bound to it.
      const key = publicKeyOf(77n) as SealKey;
      await acceptTerms(f.market, replacement, f.projectId, true, key);
      const p = await f.market.getProject(f.projectId);
      expect([p.aggregator, [...p.aggregatorSealKey]]).to.deep.equal([replacement.address, key]);
      expect((await f.market.decisionPublicInputs(f.projectId, 1n, [0n, 0n])).slice(4, 6)).to.deep.equal(key);
    });

    it("only lets the owner appoint, only while awaiting an aggregator, and never itself", async function () {
      const f = await loadFixture(roundReady);
      await expect(f.market.connect(f.stranger).appointAggregator(f.projectId, f.stranger.address, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "NotProjectOwner")
        .withArgs(f.projectId, f.stranger.address);
      await expect(f.market.appointAggregator(f.projectId, f.stranger.address, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "WrongProjectStatus")
        .withArgs(f.projectId, ProjectStatus.Active);
      await time.increase(AGGREGATION_WINDOW);
      await f.market.failRound(f.projectId);
      await expect(f.market.appointAggregator(f.projectId, f.owner.address, BOND, SLASH))
        .to.be.revertedWithCustomError(f.market, "AggregatorIsOwner")
        .withArgs(f.owner.address);
      await expect(f.market.appointAggregator(f.projectId, f.stranger.address, BOND, BOND + 1n))
        .to.be.revertedWithCustomError(f.market, "InvalidConfig")
        .withArgs("slashAmount");
    });
  });

  describe("cancelProject", function () {
    it("closes at once when the open round has no submissions: the whole budget is refunded", async function () {
      const f = await loadFixture(activeProject);
      await expect(f.market.cancelProject(f.projectId))
        .to.emit(f.market, "ProjectCancelled")
        .withArgs(f.projectId, 0n, false, 0n)
        .and.to.emit(f.market, "ProjectClosed")
        .withArgs(f.projectId, ProjectStatus.Cancelled, REWARD * 3n, BOND, 0n);
      expect(await f.market.creditOf(ETH, f.owner.address)).to.equal(REWARD * 3n);
      expect(await f.market.creditOf(ETH, f.aggregator.address)).to.equal(BOND);
    });

    it("splits the open round's reward among the trainers that committed, revealed or not, when it has no quorum", async function () {
      const f = await loadFixture(activeProject);
      const updates = await commitAll(f, f.projectId, f.trainers.slice(0, 3));
      await revealAll(f, f.projectId, updates.slice(1, 3)); // two revealed: below the quorum of 3
      await expect(f.market.cancelProject(f.projectId))
        .to.emit(f.market, "ProjectCancelled")
        .withArgs(f.projectId, 0n, false, REWARD)
        .and.to.emit(f.market, "ProjectClosed")
        .withArgs(f.projectId, ProjectStatus.Cancelled, REWARD * 2n, BOND, 0n);
      const third = REWARD / 3n;
      const credits = await Promise.all(f.trainers.slice(0, 3).map((t) => f.market.creditOf(ETH, t.address)));
      expect(credits).to.deep.equal([third + 1n, third, third]);
      expect(await f.market.creditOf(ETH, f.owner.address)).to.equal(REWARD * 2n);
    });

    it("keeps a round with quorum payable: the aggregator can still finalize it, then the budget is refunded", async function () {
      const f = await loadFixture(roundReady);
      await expect(f.market.cancelProject(f.projectId)).to.emit(f.market, "ProjectCancelled").withArgs(f.projectId, 0n, true, 0n);
      expect(await f.market.creditOf(ETH, f.owner.address)).to.equal(0n);
      await expect(f.market.connect(f.trainers[5]!).registerTrainer(f.projectId, []))
        .to.be.revertedWithCustomError(f.market, "ProjectCancelling")
        .withArgs(f.projectId);
      const outcomes = [0, 1, 2, 3].map(() => ({ status: Status.Inlier, score: 1n }));
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, outcomes);
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result))
        .to.emit(f.market, "ProjectClosed")
        .withArgs(f.projectId, ProjectStatus.Cancelled, REWARD * 2n, BOND, 0n);
      expect(await f.market.creditOf(ETH, f.trainers[0]!.address)).to.equal(REWARD / 4n);
      expect(await f.market.creditOf(ETH, f.owner.address)).to.equal(REWARD * 2n);
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

  describe("expireProject", function () {
    /** A project whose aggregator never accepted, with one staked trainer. */
    async function unaccepted() {
      const f = await deployMarket(connection);
      const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address, trainerStake: 50n });
      await f.market.createProject(config, { value: config.budget });
      const createdAt = BigInt(await time.latest());
      await f.market.connect(f.trainers[0]!).registerTrainer(1n, [], { value: 50n });
      return { ...f, projectId: 1n, createdAt, timeout: await f.market.ACCEPTANCE_TIMEOUT() };
    }

    it("lets anyone close a project whose aggregator never accepted once ACCEPTANCE_TIMEOUT has passed", async function () {
      const f = await loadFixture(unaccepted);
      const deadline = f.createdAt + f.timeout;
      expect((await f.market.getProject(f.projectId)).acceptanceDeadline).to.equal(deadline);
      await expect(f.market.connect(f.stranger).expireProject(f.projectId))
        .to.be.revertedWithCustomError(f.market, "AcceptanceWindowOpen")
        .withArgs(f.projectId, deadline);
      await time.increaseTo(deadline);
      await expect(f.market.connect(f.stranger).expireProject(f.projectId))
        .to.emit(f.market, "ProjectExpired")
        .withArgs(f.projectId, deadline)
        .and.to.emit(f.market, "ProjectClosed")
        .withArgs(f.projectId, ProjectStatus.Cancelled, REWARD * 3n, 0n, 0n);
      expect(await f.market.creditOf(ETH, f.owner.address)).to.equal(REWARD * 3n);
      const p = await f.market.getProject(f.projectId);
      expect([p.status, p.acceptanceDeadline]).to.deep.equal([BigInt(ProjectStatus.Cancelled), 0n]);
      await expect(f.market.connect(f.trainers[0]!).releaseStake(f.projectId))
        .to.emit(f.market, "StakeReleased")
        .withArgs(f.projectId, f.trainers[0]!.address, 50n);
    });

    it("re-appointments do not restart the clock; the aggregator may accept until someone expires the project", async function () {
      const f = await loadFixture(unaccepted);
      await time.increaseTo(f.createdAt + f.timeout - 60n);
      await f.market.appointAggregator(f.projectId, f.stranger.address, BOND, SLASH);
      expect((await f.market.getProject(f.projectId)).acceptanceDeadline).to.equal(f.createdAt + f.timeout);
      await time.increaseTo(f.createdAt + f.timeout);
      await acceptTerms(f.market, f.stranger, f.projectId);
      await expect(f.market.expireProject(f.projectId))
        .to.be.revertedWithCustomError(f.market, "WrongProjectStatus")
        .withArgs(f.projectId, ProjectStatus.Active);
    });

    it("a failed round restarts the clock", async function () {
      const f = await loadFixture(roundReady);
      await time.increase(AGGREGATION_WINDOW);
      await f.market.failRound(f.projectId);
      const deadline = BigInt(await time.latest()) + (await f.market.ACCEPTANCE_TIMEOUT());
      await time.increaseTo(deadline - 2n); // the next transaction is mined one second later
      await expect(f.market.expireProject(f.projectId))
        .to.be.revertedWithCustomError(f.market, "AcceptanceWindowOpen")
        .withArgs(f.projectId, deadline);
      await time.increaseTo(deadline);
      await expect(f.market.connect(f.stranger).expireProject(f.projectId))
        .to.emit(f.market, "ProjectClosed")
        .withArgs(f.projectId, ProjectStatus.Cancelled, REWARD * 2n, 0n, 0n);
    });
  });

  describe("claimRefund", function () {
    it("refunds third-party funders pro rata to their deposits; the last claimant takes the exact remainder", async function () {
      const f = await loadFixture(activeProject); // the owner deposited 3 * REWARD
      const [a, b] = [f.stranger, f.trainers[6]!];
      await f.market.connect(a).fundProject(f.projectId, REWARD, { value: REWARD });
      await f.market.connect(b).fundProject(f.projectId, REWARD * 2n, { value: REWARD * 2n });
      // Round 0 pays its whole reward: 5 * REWARD of 6 * REWARD deposited are left.
      await submitAll(f, f.projectId, f.trainers.slice(0, 4));
      await toAggregationWindow(f, f.projectId);
      const inliers = [1n, 1n, 1n, 1n].map((score) => ({ status: Status.Inlier, score }));
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, inliers);
      await f.market.connect(f.aggregator).finalizeRound(f.projectId, 0n, 0n, chunkProofs, result);
      await expect(f.market.connect(a).claimRefund(f.projectId))
        .to.be.revertedWithCustomError(f.market, "NothingToRefund")
        .withArgs(f.projectId, a.address);

      const refund = REWARD * 5n;
      const pool = refund / 2n; // the funders deposited half of everything
      await expect(f.market.cancelProject(f.projectId))
        .to.emit(f.market, "ProjectClosed")
        .withArgs(f.projectId, ProjectStatus.Cancelled, refund, BOND, pool);
      expect(await f.market.creditOf(ETH, f.owner.address)).to.equal(refund - pool);
      expect((await f.market.getProject(f.projectId)).refundPool).to.equal(pool);

      const shareA = (pool * REWARD) / (REWARD * 3n); // rounded down
      expect(await f.market.getFunder(f.projectId, a.address)).to.deep.equal([REWARD, shareA]);
      await expect(f.market.connect(a).claimRefund(f.projectId))
        .to.emit(f.market, "RefundClaimed")
        .withArgs(f.projectId, a.address, shareA)
        .and.to.emit(f.market, "Credited")
        .withArgs(ETH, a.address, shareA);
      await expect(f.market.connect(b).claimRefund(f.projectId))
        .to.emit(f.market, "RefundClaimed")
        .withArgs(f.projectId, b.address, pool - shareA);
      expect((await f.market.getProject(f.projectId)).refundPool).to.equal(0n);
      for (const who of [a, b, f.owner]) {
        await expect(f.market.connect(who).claimRefund(f.projectId))
          .to.be.revertedWithCustomError(f.market, "NothingToRefund")
          .withArgs(f.projectId, who.address);
      }
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
      await expect(f.market.withdraw(ETH)).to.be.revertedWithCustomError(f.market, "NothingToWithdraw").withArgs(ETH, f.owner.address);
      await f.market.connect(f.aggregator).withdraw(ETH);
      expect(await f.market.totalLiabilities(ETH)).to.equal(0n);
      expect(await ethers.provider.getBalance(await f.market.getAddress())).to.equal(0n);
    });

    it("pays out ERC-20 credits", async function () {
      const f = await loadFixture(tokenFixture);
      const token = await f.token.getAddress();
      await createActiveProject(f, { token });
      await f.market.cancelProject(1n);
      await expect(f.market.withdraw(token)).to.changeTokenBalances(ethers, f.token, [f.market, f.owner], [-(REWARD * 3n), REWARD * 3n]);
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
      await expect(acceptTerms(f.market, f.aggregator, 1n))
        .to.emit(f.market, "RoundOpened")
        .withArgs(1n, 0n, 0n, anyValue, anyValue, anyValue, REWARD, anyValue, anyValue, asTuple(HYPER_INITIAL));
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
        [
          { ...HYPER_INITIAL, learningRateMicros: HYPER_MAX.learningRateMicros + 1n },
          "learningRateMicros",
          HYPER_MAX.learningRateMicros + 1n,
          HYPER_MIN.learningRateMicros,
          HYPER_MAX.learningRateMicros,
        ],
        [
          { ...HYPER_INITIAL, localEpochs: HYPER_MAX.localEpochs + 1n },
          "localEpochs",
          HYPER_MAX.localEpochs + 1n,
          HYPER_MIN.localEpochs,
          HYPER_MAX.localEpochs,
        ],
        [
          { ...HYPER_INITIAL, batchSize: HYPER_MIN.batchSize - 1n },
          "batchSize",
          HYPER_MIN.batchSize - 1n,
          HYPER_MIN.batchSize,
          HYPER_MAX.batchSize,
        ],
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
        .withArgs(f.projectId, 1n, 4n, anyValue, anyValue, anyValue, REWARD, first.result.newModelCommitment, anyValue, asTuple(lowest));
      expect(asTuple((await f.market.getCurrentRound(f.projectId)).hyperParams)).to.deep.equal(asTuple(lowest));

      await submitAll(f, f.projectId, f.trainers.slice(0, 4));
      await toAggregationWindow(f, f.projectId);
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
        [
          hyper(HYPER_MIN.learningRateMicros - 1n, 2n, 32n),
          "learningRateMicros",
          HYPER_MIN.learningRateMicros - 1n,
          HYPER_MIN.learningRateMicros,
          HYPER_MAX.learningRateMicros,
        ],
        [
          hyper(HYPER_MAX.learningRateMicros + 1n, 2n, 32n),
          "learningRateMicros",
          HYPER_MAX.learningRateMicros + 1n,
          HYPER_MIN.learningRateMicros,
          HYPER_MAX.learningRateMicros,
        ],
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

      await toAggregationWindow(f, f.projectId); // round 1: no submissions, its reveal window closed
      await expect(f.market.skipRound(f.projectId))
        .to.emit(f.market, "RoundOpened")
        .withArgs(f.projectId, 2n, 4n, anyValue, anyValue, anyValue, anyValue, anyValue, anyValue, asTuple(decayed));

      await submitAll(f, f.projectId, f.trainers.slice(0, 4));
      await pastAggregationWindow(f, f.projectId);
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
      await expect(acceptTerms(f.market, f.aggregator, f.projectId))
        .to.emit(f.market, "RoundOpened")
        .withArgs(f.projectId, 1n, 4n, anyValue, anyValue, anyValue, REWARD, anyValue, anyValue, asTuple(HYPER_INITIAL));
    });

    it("the last round's finalization emits the hyper-parameters it set", async function () {
      const f = await loadFixture(fixture);
      const projectId = await createActiveProject(f, { numRounds: 1 });
      await submitAll(f, projectId, f.trainers.slice(0, 4));
      await toAggregationWindow(f, projectId);
      const last = hyper(7_000n, 3n, 48n);
      const { chunkProofs, result } = await buildFinalization(f, projectId, inliers, undefined, last);
      const tx = f.market.connect(f.aggregator).finalizeRound(projectId, 0n, 0n, chunkProofs, result);
      await expect(tx).to.emit(f.market, "RoundFinalized").withArgs(projectId, 0n, anyValue, anyValue, 4n, REWARD, asTuple(last));
      await expect(tx).to.not.emit(f.market, "RoundOpened");
      expect(asTuple((await f.market.getProject(projectId)).hyperParams)).to.deep.equal(asTuple(last));
    });
  });

  describe("decisionPublicInputs", function () {
    it("lays out [ctx, prevModel, newModel, accFinal, sealKey.x, sealKey.y, reference, c[0..K_MAX), outcome words] with the registered key", async function () {
      const f = await loadFixture(fixture);
      const key = publicKeyOf(2n ** 200n + 12_345n) as SealKey;
      const projectId = await createProject(f);
      await registerTrainers(f.market, projectId, f.trainers.slice(0, 4));
      await acceptTerms(f.market, f.aggregator, projectId, true, key);
      const commitments = await submitAll(f, projectId, f.trainers.slice(0, 3));
      const { chunkProofs, result, inputs } = await buildFinalization(f, projectId, [{ status: Status.Inlier, score: 1n }]);
      await f.market.connect(f.aggregator).submitChunkProofs(projectId, 0n, 0n, chunkProofs);
      const onChain = await f.market.decisionPublicInputs(projectId, result.newModelCommitment, result.outcomes);
      const p = await f.market.getProject(projectId);
      expect(onChain.length).to.equal(await f.verifier.decisionInputCount());
      expect(onChain.length).to.equal(7 + K_MAX + Math.ceil(K_MAX / 3));
      expect([...onChain]).to.deep.equal([
        await f.market.roundContext(projectId, 0n),
        p.modelCommitment,
        result.newModelCommitment,
        BigInt(chunkProofs.at(-1)!.accOut),
        key[0],
        key[1],
        0n, // no reference committed (FedMarket.reference.test.ts covers one)
        ...commitments,
        ...(result.outcomes as bigint[]),
      ]);
      expect([...onChain]).to.deep.equal(inputs);
      await expect(f.market.connect(f.aggregator).finalizeRound(projectId, 0n, 3n, [], result)).to.emit(f.market, "RoundFinalized");
    });
  });

  describe("roundContext", function () {
    it("binds chain, contract, project, round and parameters, with D in bits 8..40 and f in the low byte", async function () {
      const f = await loadFixture(fixture);
      // f = 2 needs 2f + 3 = 7 slots: a verifier with 8.
      const verifier = (await ethers.deployContract("MockRoundVerifier", [8, CHUNK_SIZE])) as unknown as MockRoundVerifier;
      const projectId = await createActiveProject({ ...f, verifier }, { maxTrainersPerRound: 7, params: circuitParams(2) }, 0);
      const p = await f.market.getProject(projectId);
      const { chainId } = await ethers.provider.getNetwork();
      const digest = BigInt(
        ethers.keccak256(
          ethers.AbiCoder.defaultAbiCoder().encode(
            ["uint256", "address", "uint256", "uint256", "bytes32"],
            [chainId, await f.market.getAddress(), projectId, 0n, p.paramsHash],
          ),
        ),
      );
      const ctx = await f.market.roundContext(projectId, 0n);
      expect(ctx).to.equal(((digest >> 48n) << 40n) | (BigInt(p.params.modelSize) << 8n) | 2n);
      expect(ctx).to.equal(computeCtx(digest, 2, Number(p.params.modelSize)));
      expect(ctx).to.be.lessThan(FIELD_MODULUS);
      expect(await f.market.roundContext(projectId, 1n)).to.not.equal(ctx);
    });
  });
});
