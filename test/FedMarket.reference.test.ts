/**
 * The owner's reference (IFedMarket header, `commitReference`, `publishReference`): committed in
 * the commit window, before anything of the round is revealed, and published from the end of the
 * reveal window to a quarter into the aggregation window; once each, by the owner only, for the
 * open round only. The commitment is core's `referenceCommitment` (a salted Poseidon chain); the
 * market stores it and does not check the blob (the audit does). The decision proof takes it as
 * public input 6 when it counts (published, and not left flagged), else 0; chunk proofs wait while
 * a committed reference may still be published.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { quantizeReference, referenceChunks, referenceCommitment, type CircuitConfig } from "@fedmarket/core";
import { ChunkAccumulatorTree } from "@fedmarket/protocol";
import type { IFedMarketOptimistic } from "../types/ethers-contracts/index.js";
import {
  AGGREGATION_WINDOW,
  CHUNK_SIZE,
  DECISION_HEAD,
  ETH,
  FIELD_MODULUS,
  REWARD,
  K_MAX,
  REFERENCE_INPUT,
  Status,
  buildFinalization,
  cid,
  createActiveProject,
  deployMarket,
  mockChunkProof,
  mockDecisionProof,
  packOutcomes,
  submitAll,
  toAggregationWindow,
  toRevealWindow,
  type ConfigOverrides,
  type MarketFixture,
  type SlotOutcome,
} from "./helpers/market.js";
import { deployGeneratedVerifiers, deployGroth16RoundVerifier } from "./helpers/round-verifier.js";

const connection = await network.create();
const { ethers } = connection;
const { loadFixture, time } = connection.networkHelpers;

const config: CircuitConfig = { kMax: K_MAX, chunk: CHUNK_SIZE, updateBits: 8, modelBits: 24 };
/** A reference of the base config's 250 parameters and its commitment. */
const REFERENCE = Array.from({ length: 250 }, (_, i) => BigInt((i % 255) - 127));
const SALT = 987654321n;
const COMMITMENT = referenceCommitment(REFERENCE, SALT, config);

interface ReferenceFixture extends MarketFixture {
  projectId: bigint;
  round: bigint;
}

/** Round 0 of a new project (the base config with `overrides`), open. */
async function openProjectRound(overrides: ConfigOverrides): Promise<ReferenceFixture> {
  const f = await deployMarket(connection);
  const projectId = await createActiveProject(f, overrides);
  const round = (await f.market.getCurrentRound(projectId)).round;
  return { ...f, projectId, round };
}

/** A project whose rounds may be finalized optimistically (IFedMarketOptimistic). */
const OPTIMISTIC: ConfigOverrides = { challengeWindow: 3_600n, challengeDeposit: 0n };

// Fixtures take no arguments (`loadFixture` passes its network connection).
const openRound = () => openProjectRound({});
const openOptimisticRound = () => openProjectRound(OPTIMISTIC);

describe("FedMarket: the owner's reference", () => {
  it("commits in the commit window and publishes after the reveals, with past-tense events", async () => {
    const f = await loadFixture(openRound);
    const reward = (await f.market.getCurrentRound(f.projectId)).reward;
    await expect(f.market.connect(f.owner).commitReference(f.projectId, f.round, COMMITMENT))
      .to.emit(f.market, "ReferenceCommitted")
      .withArgs(f.projectId, f.round, COMMITMENT, reward);
    await submitAll(f, f.projectId, f.trainers.slice(0, 4));
    await toAggregationWindow(f, f.projectId);
    await expect(f.market.connect(f.owner).publishReference(f.projectId, f.round, cid("reference")))
      .to.emit(f.market, "ReferencePublished")
      .withArgs(f.projectId, f.round, COMMITMENT, cid("reference"));
  });

  it("only the owner, only for the open round of an active project", async () => {
    const f = await loadFixture(openRound);
    await expect(f.market.connect(f.aggregator).commitReference(f.projectId, f.round, COMMITMENT))
      .to.be.revertedWithCustomError(f.market, "NotProjectOwner")
      .withArgs(f.projectId, f.aggregator.address);
    await expect(f.market.connect(f.owner).commitReference(f.projectId, f.round + 1n, COMMITMENT))
      .to.be.revertedWithCustomError(f.market, "WrongRound")
      .withArgs(f.projectId, f.round, f.round + 1n);
    await expect(f.market.connect(f.owner).commitReference(f.projectId + 1n, 0n, COMMITMENT))
      .to.be.revertedWithCustomError(f.market, "UnknownProject")
      .withArgs(f.projectId + 1n);
    await f.market.connect(f.owner).commitReference(f.projectId, f.round, COMMITMENT);
    await toAggregationWindow(f, f.projectId);
    await expect(f.market.connect(f.stranger).publishReference(f.projectId, f.round, cid("reference")))
      .to.be.revertedWithCustomError(f.market, "NotProjectOwner")
      .withArgs(f.projectId, f.stranger.address);
  });

  it("a commitment is a non-zero field element, committed once, before the commit window closes", async () => {
    const f = await loadFixture(openRound);
    for (const bad of [0n, FIELD_MODULUS]) {
      await expect(f.market.connect(f.owner).commitReference(f.projectId, f.round, bad))
        .to.be.revertedWithCustomError(f.market, "InvalidCommitment")
        .withArgs(bad);
    }
    await f.market.connect(f.owner).commitReference(f.projectId, f.round, COMMITMENT);
    await expect(f.market.connect(f.owner).commitReference(f.projectId, f.round, COMMITMENT + 1n))
      .to.be.revertedWithCustomError(f.market, "ReferenceAlreadyCommitted")
      .withArgs(f.projectId, f.round);

    const g = await openRound();
    await toRevealWindow(g, g.projectId);
    const deadline = (await g.market.getCurrentRound(g.projectId)).submissionDeadline;
    await expect(g.market.connect(g.owner).commitReference(g.projectId, g.round, COMMITMENT))
      .to.be.revertedWithCustomError(g.market, "SubmissionWindowClosed")
      .withArgs(g.projectId, g.round, deadline);
  });

  it("publishes only a committed reference, once, from the end of the reveals to a quarter into the aggregation window", async () => {
    const f = await loadFixture(openRound);
    await toAggregationWindow(f, f.projectId);
    await expect(f.market.connect(f.owner).publishReference(f.projectId, f.round, cid("reference")))
      .to.be.revertedWithCustomError(f.market, "ReferenceNotCommitted")
      .withArgs(f.projectId, f.round);

    const g = await openRound();
    await g.market.connect(g.owner).commitReference(g.projectId, g.round, COMMITMENT);
    await toRevealWindow(g, g.projectId);
    const window = await g.market.getCurrentRound(g.projectId);
    const gEnd = window.revealDeadline + AGGREGATION_WINDOW / 4n;
    // In the reveal window: trainers may still be revealing.
    await expect(g.market.connect(g.owner).publishReference(g.projectId, g.round, cid("reference")))
      .to.be.revertedWithCustomError(g.market, "OutsideReferenceWindow")
      .withArgs(g.projectId, g.round, window.revealDeadline, gEnd);
    await toAggregationWindow(g, g.projectId);
    await expect(g.market.connect(g.owner).publishReference(g.projectId, g.round, "")).to.be.revertedWithCustomError(
      g.market,
      "InvalidCid",
    );
    await g.market.connect(g.owner).publishReference(g.projectId, g.round, cid("reference"));
    await expect(g.market.connect(g.owner).publishReference(g.projectId, g.round, cid("other")))
      .to.be.revertedWithCustomError(g.market, "ReferenceAlreadyPublished")
      .withArgs(g.projectId, g.round);

    // From a quarter into the aggregation window on, the aggregator has the time left to fetch and flag it.
    const h = await openRound();
    await h.market.connect(h.owner).commitReference(h.projectId, h.round, COMMITMENT);
    const hWindow = await h.market.getCurrentRound(h.projectId);
    const hEnd = hWindow.revealDeadline + AGGREGATION_WINDOW / 4n;
    await time.increaseTo(hEnd);
    await expect(h.market.connect(h.owner).publishReference(h.projectId, h.round, cid("reference")))
      .to.be.revertedWithCustomError(h.market, "OutsideReferenceWindow")
      .withArgs(h.projectId, h.round, hWindow.revealDeadline, hEnd);
  });

  /**
   * Round 0 with a reference committed (the mock verifier's commitment of `packed` and `SALT`) and
   * four updates revealed (a quorum); the clock at the start of the aggregation window.
   */
  async function referenceCommitted(overrides: ConfigOverrides): Promise<ReferenceFixture & { packed: bigint[]; commitment: bigint }> {
    const f = await openProjectRound(overrides);
    // The base config's 3 chunks of the mock verifier's width 1.
    const packed = [11n, 22n, 33n];
    const commitment = await f.verifier.sealedCommitmentFrom(0n, [SALT, 0n], packed);
    await f.market.connect(f.owner).commitReference(f.projectId, f.round, commitment);
    await submitAll(f, f.projectId, f.trainers.slice(0, 4));
    await toAggregationWindow(f, f.projectId);
    return { ...f, packed, commitment };
  }

  /** `referenceCommitted`, then published at once. */
  async function referencePublished(overrides: ConfigOverrides): Promise<ReferenceFixture & { packed: bigint[]; commitment: bigint }> {
    const f = await referenceCommitted(overrides);
    await f.market.connect(f.owner).publishReference(f.projectId, f.round, cid("reference"));
    return f;
  }

  const committedReference = () => referenceCommitted({});
  const publishedReference = () => referencePublished({});
  const optimisticCommitted = () => referenceCommitted(OPTIMISTIC);
  const optimisticPublished = () => referencePublished(OPTIMISTIC);

  it("a flagged reference is answered by anyone with values and salt that open the commitment, once", async () => {
    const f = await loadFixture(publishedReference);
    const flag = await f.market.connect(f.aggregator).flagReference(f.projectId, f.round);
    const deadline = BigInt(await time.latest()) + AGGREGATION_WINDOW / 4n;
    await expect(flag).to.emit(f.market, "ReferenceFlagged").withArgs(f.projectId, f.round, deadline);
    expect((await f.market.unavailableFlags(f.projectId)).answerDeadline).to.equal(deadline);

    await expect(f.market.connect(f.stranger).answerReference(f.projectId, f.round, SALT + 1n, f.packed))
      .to.be.revertedWithCustomError(f.market, "PublishedReferenceMismatch")
      .withArgs(f.projectId, f.round);
    await expect(f.market.connect(f.stranger).answerReference(f.projectId, f.round, SALT, f.packed.slice(1)))
      .to.be.revertedWithCustomError(f.market, "WrongCipherLength")
      .withArgs(3n, 2n);
    await expect(f.market.connect(f.stranger).answerReference(f.projectId, f.round, FIELD_MODULUS, f.packed))
      .to.be.revertedWithCustomError(f.market, "NonCanonicalElement")
      .withArgs(0n);
    await expect(f.market.connect(f.stranger).answerReference(f.projectId, f.round, SALT, [11n, FIELD_MODULUS, 33n]))
      .to.be.revertedWithCustomError(f.market, "NonCanonicalElement")
      .withArgs(2n);
    // The chunk proof reads each element from 253 bits: 2^253 and above cannot be answered (in parts neither).
    await expect(f.market.connect(f.stranger).answerReference(f.projectId, f.round, SALT, [11n, 22n, 1n << 253n]))
      .to.be.revertedWithCustomError(f.market, "NonCanonicalElement")
      .withArgs(3n);
    await expect(f.market.connect(f.owner).answerReferencePart(f.projectId, f.round, [1n << 253n]))
      .to.be.revertedWithCustomError(f.market, "NonCanonicalElement")
      .withArgs(1n);
    await expect(f.market.connect(f.stranger).answerReference(f.projectId, f.round, SALT, f.packed))
      .to.emit(f.market, "ReferenceAnswered")
      .withArgs(f.projectId, f.round, 0n, SALT, f.packed);
    await expect(f.market.connect(f.owner).answerReference(f.projectId, f.round, SALT, f.packed))
      .to.be.revertedWithCustomError(f.market, "ReferenceNotFlagged")
      .withArgs(f.projectId, f.round);
  });

  it("a large reference is answered in parts, the owner's only, then completed by anyone", async () => {
    const f = await loadFixture(publishedReference);
    await f.market.connect(f.aggregator).flagReference(f.projectId, f.round);
    await expect(f.market.connect(f.stranger).answerReferencePart(f.projectId, f.round, f.packed.slice(0, 1)))
      .to.be.revertedWithCustomError(f.market, "NotProjectOwner")
      .withArgs(f.projectId, f.stranger.address);
    await expect(f.market.connect(f.owner).answerReferencePart(f.projectId, f.round, [1n, 2n, 3n, 4n]))
      .to.be.revertedWithCustomError(f.market, "WrongPartLength")
      .withArgs(4n, 1n, 3n);
    await expect(f.market.connect(f.owner).answerReferencePart(f.projectId, f.round, f.packed.slice(0, 1)))
      .to.emit(f.market, "ReferencePartAnswered")
      .withArgs(f.projectId, f.round, 0n, f.packed.slice(0, 1));
    await expect(f.market.connect(f.stranger).answerReference(f.projectId, f.round, SALT, f.packed))
      .to.be.revertedWithCustomError(f.market, "WrongCipherLength")
      .withArgs(2n, 3n);
    await expect(f.market.connect(f.stranger).answerReference(f.projectId, f.round, SALT, f.packed.slice(1)))
      .to.emit(f.market, "ReferenceAnswered")
      .withArgs(f.projectId, f.round, 1n, SALT, f.packed.slice(1));
  });

  it("only the aggregator flags, a published reference, once, in the first half of the window, before any chunk proof; answers close at the deadline", async () => {
    const f = await loadFixture(publishedReference);
    await expect(f.market.connect(f.owner).flagReference(f.projectId, f.round))
      .to.be.revertedWithCustomError(f.market, "NotAggregator")
      .withArgs(f.projectId, f.owner.address);
    await expect(f.market.connect(f.stranger).answerReference(f.projectId, f.round, SALT, f.packed))
      .to.be.revertedWithCustomError(f.market, "ReferenceNotFlagged")
      .withArgs(f.projectId, f.round);
    await f.market.connect(f.aggregator).flagReference(f.projectId, f.round);
    await expect(f.market.connect(f.aggregator).flagReference(f.projectId, f.round))
      .to.be.revertedWithCustomError(f.market, "ReferenceAlreadyFlagged")
      .withArgs(f.projectId, f.round);
    const { answerDeadline: deadline } = await f.market.unavailableFlags(f.projectId);
    await time.increaseTo(deadline);
    await expect(f.market.connect(f.owner).answerReference(f.projectId, f.round, SALT, f.packed))
      .to.be.revertedWithCustomError(f.market, "AnswerWindowClosed")
      .withArgs(f.projectId, f.round, deadline);

    // A committed reference that was never published has nothing to flag.
    const g = await openRound();
    await g.market.connect(g.owner).commitReference(g.projectId, g.round, COMMITMENT);
    await submitAll(g, g.projectId, g.trainers.slice(0, 4));
    await toAggregationWindow(g, g.projectId);
    await expect(g.market.connect(g.aggregator).flagReference(g.projectId, g.round))
      .to.be.revertedWithCustomError(g.market, "ReferenceNotPublished")
      .withArgs(g.projectId, g.round);
    // After a chunk proof, the decision's inputs are fixed.
    const i = await publishedReference();
    await i.market.connect(i.aggregator).submitChunkProofs(i.projectId, i.round, 0n, [mockChunkProof(0n, 5n)]);
    await expect(i.market.connect(i.aggregator).flagReference(i.projectId, i.round))
      .to.be.revertedWithCustomError(i.market, "ChunkProofsStarted")
      .withArgs(i.projectId, i.round);
    // From the middle of the aggregation window, flags are closed.
    const h = await publishedReference();
    const { revealDeadline } = await h.market.getCurrentRound(h.projectId);
    await time.increaseTo(revealDeadline + AGGREGATION_WINDOW / 2n);
    await expect(h.market.connect(h.aggregator).flagReference(h.projectId, h.round))
      .to.be.revertedWithCustomError(h.market, "FlaggingClosed")
      .withArgs(h.projectId, h.round);
  });

  it("the round verifier recomputes a reference's commitment on chain (sealedCommitmentFrom with (salt, 0))", async () => {
    // The K4 C16 test circuit (B = 16) and a 40-parameter reference: three chunks, the last padded.
    const circuit: CircuitConfig = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 };
    const verifier = await deployGroth16RoundVerifier(ethers, { ...(await deployGeneratedVerifiers(ethers, circuit)), circuit });
    const values = quantizeReference(
      Array.from({ length: 40 }, (_, i) => Math.cos(i) * (i % 3)),
      circuit.updateBits,
    );
    const salt = 2n ** 200n + 7n;
    const packed = referenceChunks(values, circuit).flat();
    expect(await verifier.sealedCommitmentFrom(0n, [salt, 0n], packed)).to.equal(referenceCommitment(values, salt, circuit));
  });

  // -----------------------------------------------------------------------------------------------
  // The decision proof's reference input, and the chunk proofs that wait for its publication
  // -----------------------------------------------------------------------------------------------

  const INLIERS: SlotOutcome[] = [0, 1, 2, 3].map(() => ({ status: Status.Inlier, score: 1n }));

  /** Input 6 of the open round's decision inputs as the market computes them (`decisionPublicInputs`). */
  async function referenceInput(f: ReferenceFixture): Promise<bigint> {
    return (await f.market.decisionPublicInputs(f.projectId, 1n, packOutcomes([])))[REFERENCE_INPUT]!;
  }

  /** The end of the open round's publication window: a quarter into its aggregation window. */
  async function publicationEnd(f: ReferenceFixture): Promise<bigint> {
    return (await f.market.getCurrentRound(f.projectId)).revealDeadline + AGGREGATION_WINDOW / 4n;
  }

  /**
   * Finalizes the open round with mock proofs (`buildFinalization`, whose inputs take the reference
   * from its events) after checking that the reference input is `expected` and that a proof about
   * the other value (`other`: the commitment when it does not count, 0 when it does) is refused.
   */
  async function finalizeWithReference(f: ReferenceFixture, expected: bigint, other: bigint): Promise<void> {
    const { chunkProofs, result, inputs } = await buildFinalization(f, f.projectId, INLIERS);
    expect(inputs[REFERENCE_INPUT]).to.equal(expected);
    const agg = f.market.connect(f.aggregator);
    await agg.submitChunkProofs(f.projectId, f.round, 0n, chunkProofs);
    const wrong = [...inputs];
    wrong[REFERENCE_INPUT] = other;
    const last = BigInt(chunkProofs.length);
    await expect(
      agg.finalizeRound(f.projectId, f.round, last, [], { ...result, proof: mockDecisionProof(wrong) }),
    ).to.be.revertedWithCustomError(f.market, "InvalidDecisionProof");
    await expect(agg.finalizeRound(f.projectId, f.round, last, [], result)).to.emit(f.market, "RoundFinalized");
  }

  describe("the decision proof's reference input (public input 6)", () => {
    it("is the commitment of a reference published and not flagged; a proof without it is refused", async () => {
      const f = await loadFixture(publishedReference);
      const inputs = await f.market.decisionPublicInputs(f.projectId, 1n, packOutcomes([]));
      expect(inputs).to.have.length(DECISION_HEAD + K_MAX + Math.ceil(K_MAX / 3));
      expect(inputs.length).to.equal(await f.verifier.decisionInputCount());
      expect(inputs[REFERENCE_INPUT]).to.equal(f.commitment);
      await finalizeWithReference(f, f.commitment, 0n);
    });

    it("is the commitment of a reference flagged and answered (0 while the flag is pending)", async () => {
      const f = await loadFixture(publishedReference);
      await f.market.connect(f.aggregator).flagReference(f.projectId, f.round);
      expect(await referenceInput(f)).to.equal(0n);
      await f.market.connect(f.stranger).answerReference(f.projectId, f.round, SALT, f.packed);
      expect(await referenceInput(f)).to.equal(f.commitment);
      await time.increaseTo((await f.market.unavailableFlags(f.projectId)).answerDeadline);
      await finalizeWithReference(f, f.commitment, 0n);
    });

    it("is 0 for a reference committed and never published; a proof with its commitment is refused", async () => {
      const f = await loadFixture(committedReference);
      expect(await referenceInput(f)).to.equal(0n);
      await time.increaseTo(await publicationEnd(f));
      expect(await referenceInput(f)).to.equal(0n);
      await finalizeWithReference(f, 0n, f.commitment);
    });

    it("is 0 for a reference flagged and not answered by the deadline", async () => {
      const f = await loadFixture(publishedReference);
      await f.market.connect(f.aggregator).flagReference(f.projectId, f.round);
      await time.increaseTo((await f.market.unavailableFlags(f.projectId)).answerDeadline);
      await expect(f.market.connect(f.owner).answerReference(f.projectId, f.round, SALT, f.packed)).to.be.revertedWithCustomError(
        f.market,
        "AnswerWindowClosed",
      );
      expect(await referenceInput(f)).to.equal(0n);
      await finalizeWithReference(f, 0n, f.commitment);
    });

    it("is 0 in a round without a reference", async () => {
      const f = await loadFixture(openRound);
      await submitAll(f, f.projectId, f.trainers.slice(0, 4));
      await toAggregationWindow(f, f.projectId);
      expect(await referenceInput(f)).to.equal(0n);
      await finalizeWithReference(f, 0n, COMMITMENT);
    });
  });

  describe("chunk proofs wait while a committed reference may still be published", () => {
    it("submitChunkProofs and finalizeRound revert with ReferencePublicationOpen until publishReference's window ends, then are taken", async () => {
      const f = await loadFixture(committedReference);
      const agg = f.market.connect(f.aggregator);
      const end = await publicationEnd(f);
      await expect(agg.submitChunkProofs(f.projectId, f.round, 0n, [mockChunkProof(0n, 1n)]))
        .to.be.revertedWithCustomError(f.market, "ReferencePublicationOpen")
        .withArgs(f.projectId, f.round, end);
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, INLIERS);
      await time.setNextBlockTimestamp(end - 1n);
      await expect(agg.finalizeRound(f.projectId, f.round, 0n, chunkProofs, result))
        .to.be.revertedWithCustomError(f.market, "ReferencePublicationOpen")
        .withArgs(f.projectId, f.round, end);
      // Both windows end together: from `end` on the reference can no longer be published, and the
      // chunk proofs are computed and taken without it.
      await time.setNextBlockTimestamp(end);
      const { revealDeadline } = await f.market.getCurrentRound(f.projectId);
      await expect(f.market.connect(f.owner).publishReference(f.projectId, f.round, cid("reference")))
        .to.be.revertedWithCustomError(f.market, "OutsideReferenceWindow")
        .withArgs(f.projectId, f.round, revealDeadline, end);
      await expect(agg.submitChunkProofs(f.projectId, f.round, 0n, chunkProofs)).to.emit(f.market, "ChunkProofsAccepted");
      await expect(agg.finalizeRound(f.projectId, f.round, BigInt(chunkProofs.length), [], result)).to.emit(f.market, "RoundFinalized");
    });

    /** The optimistic module at the market's address, and a finalizeRoundOptimistic of the fixture's round. */
    async function optimisticFinalize(f: ReferenceFixture) {
      const opt = (await ethers.getContractAt("IFedMarketOptimistic", await f.market.getAddress())) as unknown as IFedMarketOptimistic;
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, INLIERS);
      const tree = new ChunkAccumulatorTree([0n, ...chunkProofs.map((p) => BigInt(p.accOut))]);
      const finalize = () =>
        opt.connect(f.aggregator).finalizeRoundOptimistic(f.projectId, f.round, tree.accs.at(-1)!, tree.root, cid("proofs"), result);
      return { opt, finalize };
    }

    it("finalizeRoundOptimistic reverts with ReferencePublicationOpen until the publication window ends, then is taken", async () => {
      const f = await loadFixture(optimisticCommitted);
      const end = await publicationEnd(f);
      const { opt, finalize } = await optimisticFinalize(f);
      await time.setNextBlockTimestamp(end - 1n);
      await expect(finalize()).to.be.revertedWithCustomError(f.market, "ReferencePublicationOpen").withArgs(f.projectId, f.round, end);
      await time.setNextBlockTimestamp(end);
      await expect(finalize()).to.emit(opt, "ChunksCommitted");
    });

    it("finalizeRoundOptimistic also waits for the answer deadline of a flagged reference (AnswerWindowOpen)", async () => {
      const f = await loadFixture(optimisticPublished);
      await f.market.connect(f.aggregator).flagReference(f.projectId, f.round);
      const { answerDeadline } = await f.market.unavailableFlags(f.projectId);
      const { opt, finalize } = await optimisticFinalize(f);
      await time.setNextBlockTimestamp(answerDeadline - 1n);
      await expect(finalize()).to.be.revertedWithCustomError(f.market, "AnswerWindowOpen").withArgs(f.projectId, f.round, answerDeadline);
      await time.setNextBlockTimestamp(answerDeadline);
      await expect(finalize()).to.emit(opt, "ChunksCommitted");
    });

    it("a reference published before the window ends does not delay them, and it counts", async () => {
      // Published at the start of the aggregation window: chunk proofs right after.
      const f = await loadFixture(publishedReference);
      const end = await publicationEnd(f);
      await expect(f.market.connect(f.aggregator).submitChunkProofs(f.projectId, f.round, 0n, [mockChunkProof(0n, 1n)])).to.emit(
        f.market,
        "ChunkProofsAccepted",
      );
      expect(BigInt(await time.latest())).to.be.lessThan(end);
      // Published in its window's last seconds: it counts, and chunk proofs are taken at once.
      const g = await committedReference();
      const gEnd = await publicationEnd(g);
      await time.setNextBlockTimestamp(gEnd - 2n);
      await g.market.connect(g.owner).publishReference(g.projectId, g.round, cid("reference"));
      expect(await referenceInput(g)).to.equal(g.commitment);
      await expect(g.market.connect(g.aggregator).submitChunkProofs(g.projectId, g.round, 0n, [mockChunkProof(0n, 1n)])).to.emit(
        g.market,
        "ChunkProofsAccepted",
      );
      expect(BigInt(await time.latest())).to.be.lessThan(gEnd);
    });

    it("a round without a reference committed does not wait (submitChunkProofs, finalizeRoundOptimistic)", async () => {
      const f = await loadFixture(openRound);
      await submitAll(f, f.projectId, f.trainers.slice(0, 4));
      await toAggregationWindow(f, f.projectId);
      await expect(f.market.connect(f.aggregator).submitChunkProofs(f.projectId, f.round, 0n, [mockChunkProof(0n, 1n)])).to.emit(
        f.market,
        "ChunkProofsAccepted",
      );
      expect(BigInt(await time.latest())).to.be.lessThan(await publicationEnd(f));

      const g = await openOptimisticRound();
      await submitAll(g, g.projectId, g.trainers.slice(0, 4));
      const { chunkProofs, result } = await buildFinalization(g, g.projectId, INLIERS);
      const gEnd = await publicationEnd(g);
      const tree = new ChunkAccumulatorTree([0n, ...chunkProofs.map((p) => BigInt(p.accOut))]);
      const opt = (await ethers.getContractAt("IFedMarketOptimistic", await g.market.getAddress())) as unknown as IFedMarketOptimistic;
      await expect(
        opt.connect(g.aggregator).finalizeRoundOptimistic(g.projectId, g.round, tree.accs.at(-1)!, tree.root, cid("proofs"), result),
      ).to.emit(opt, "ChunksCommitted");
      expect(BigInt(await time.latest())).to.be.lessThan(gEnd);
    });

    it("a published reference in an optimistic round counts and does not delay finalizeRoundOptimistic", async () => {
      const f = await loadFixture(optimisticPublished);
      const end = await publicationEnd(f);
      expect(await referenceInput(f)).to.equal(f.commitment);
      const { chunkProofs, result, inputs } = await buildFinalization(f, f.projectId, INLIERS);
      expect(inputs[REFERENCE_INPUT]).to.equal(f.commitment);
      const tree = new ChunkAccumulatorTree([0n, ...chunkProofs.map((p) => BigInt(p.accOut))]);
      const opt = (await ethers.getContractAt("IFedMarketOptimistic", await f.market.getAddress())) as unknown as IFedMarketOptimistic;
      await expect(
        opt.connect(f.aggregator).finalizeRoundOptimistic(f.projectId, f.round, tree.accs.at(-1)!, tree.root, cid("proofs"), result),
      ).to.emit(opt, "ChunksCommitted");
      expect(BigInt(await time.latest())).to.be.lessThan(end);
    });
  });
  // -----------------------------------------------------------------------------------------------
  // The reference deposit: withholding a committed reference costs the round's reward
  // -----------------------------------------------------------------------------------------------

  describe("the reference deposit (the round's reward, taken at commitReference)", () => {
    /** Finalizes the open round with mock proofs about whatever reference input the market passes. */
    async function finalize(f: ReferenceFixture) {
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, INLIERS);
      const agg = f.market.connect(f.aggregator);
      await agg.submitChunkProofs(f.projectId, f.round, 0n, chunkProofs);
      return agg.finalizeRound(f.projectId, f.round, BigInt(chunkProofs.length), [], result);
    }

    it("moves the round's reward from the budget into the deposit; a budget holding less refuses the commitment", async () => {
      const f = await loadFixture(openRound);
      const before = await f.market.getProject(f.projectId);
      expect(before.referenceDeposit).to.equal(0n);
      await f.market.connect(f.owner).commitReference(f.projectId, f.round, COMMITMENT);
      const after = await f.market.getProject(f.projectId);
      expect(after.referenceDeposit).to.equal(before.roundReward);
      expect(after.budget).to.equal(before.budget - before.roundReward);
      expect(after.roundReward).to.equal(before.roundReward);

      // A project funding exactly one round: nothing is left in the budget for a deposit.
      const g = await openProjectRound({ budget: REWARD });
      await expect(g.market.connect(g.owner).commitReference(g.projectId, g.round, COMMITMENT))
        .to.be.revertedWithCustomError(g.market, "ReferenceDepositUnavailable")
        .withArgs(g.projectId, g.round, 0n, REWARD);
      // Funding the project makes room for it.
      await g.market.connect(g.owner).fundProject(g.projectId, REWARD, { value: REWARD });
      await expect(g.market.connect(g.owner).commitReference(g.projectId, g.round, COMMITMENT)).to.emit(g.market, "ReferenceCommitted");
    });

    it("is returned to the budget when the round is finalized with the reference counting (published, or flagged and answered)", async () => {
      const f = await loadFixture(publishedReference);
      const { budget, referenceDeposit } = await f.market.getProject(f.projectId);
      await expect(finalize(f)).to.emit(f.market, "ReferenceDepositSettled").withArgs(f.projectId, f.round, referenceDeposit, true);
      const after = await f.market.getProject(f.projectId);
      expect(after.referenceDeposit).to.equal(0n);
      // Round 1 opened with the next reward taken from the budget the deposit came back to.
      expect(after.budget + after.roundReward).to.equal(budget + referenceDeposit);
      expect(await f.market.creditOf(ETH, ethers.ZeroAddress)).to.equal(0n);

      const g = await publishedReference();
      await g.market.connect(g.aggregator).flagReference(g.projectId, g.round);
      await g.market.connect(g.stranger).answerReference(g.projectId, g.round, SALT, g.packed);
      await time.increaseTo((await g.market.unavailableFlags(g.projectId)).answerDeadline);
      await expect(finalize(g)).to.emit(g.market, "ReferenceDepositSettled").withArgs(g.projectId, g.round, REWARD, true);
    });

    it("is burned (credited to the zero address, which never withdraws) when the reference was withheld or left flagged", async () => {
      const f = await loadFixture(committedReference);
      const { budget, referenceDeposit } = await f.market.getProject(f.projectId);
      await time.increaseTo(await publicationEnd(f));
      await expect(finalize(f))
        .to.emit(f.market, "ReferenceDepositSettled")
        .withArgs(f.projectId, f.round, referenceDeposit, false)
        .and.to.emit(f.market, "Credited")
        .withArgs(ETH, ethers.ZeroAddress, referenceDeposit);
      const after = await f.market.getProject(f.projectId);
      expect(after.budget + after.roundReward).to.equal(budget);
      expect(await f.market.creditOf(ETH, ethers.ZeroAddress)).to.equal(referenceDeposit);

      const g = await publishedReference();
      await g.market.connect(g.aggregator).flagReference(g.projectId, g.round);
      await time.increaseTo((await g.market.unavailableFlags(g.projectId)).answerDeadline);
      await expect(finalize(g)).to.emit(g.market, "ReferenceDepositSettled").withArgs(g.projectId, g.round, REWARD, false);
    });

    it("is returned without a quorum (skipped, or cancelled below it); a failed round settles it as a finalized one would", async () => {
      // Skipped: nobody revealed.
      const f = await loadFixture(openRound);
      await f.market.connect(f.owner).commitReference(f.projectId, f.round, COMMITMENT);
      const deposit = (await f.market.getProject(f.projectId)).referenceDeposit;
      await toAggregationWindow(f, f.projectId);
      await expect(f.market.skipRound(f.projectId))
        .to.emit(f.market, "ReferenceDepositSettled")
        .withArgs(f.projectId, f.round, deposit, true);

      // Cancelled below the quorum: the deposit returns to the budget before it is refunded.
      const g = await openRound();
      await g.market.connect(g.owner).commitReference(g.projectId, g.round, COMMITMENT);
      const { referenceDeposit } = await g.market.getProject(g.projectId);
      await expect(g.market.connect(g.owner).cancelProject(g.projectId))
        .to.emit(g.market, "ReferenceDepositSettled")
        .withArgs(g.projectId, g.round, referenceDeposit, true)
        .and.to.emit(g.market, "ProjectClosed");
      expect((await g.market.getProject(g.projectId)).referenceDeposit).to.equal(0n);
      // The whole deposit (3 rounds' rewards) is refunded to the owner, nothing burned.
      expect(await g.market.creditOf(ETH, g.owner.address)).to.equal(3n * REWARD);
      expect(await g.market.creditOf(ETH, ethers.ZeroAddress)).to.equal(0n);

      // Failed (quorum, aggregator silent): returned if the reference counted, burned if withheld.
      const h = await publishedReference();
      await time.increaseTo((await h.market.getCurrentRound(h.projectId)).aggregationDeadline);
      await expect(h.market.failRound(h.projectId))
        .to.emit(h.market, "ReferenceDepositSettled")
        .withArgs(h.projectId, h.round, REWARD, true);
      const i = await committedReference();
      await time.increaseTo((await i.market.getCurrentRound(i.projectId)).aggregationDeadline);
      await expect(i.market.failRound(i.projectId))
        .to.emit(i.market, "ReferenceDepositSettled")
        .withArgs(i.projectId, i.round, REWARD, false);
    });
  });
});
