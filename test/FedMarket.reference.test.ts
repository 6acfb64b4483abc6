/**
 * The owner's reference (IFedMarket header, `commitReference`, `publishReference`): committed in
 * the commit window, before anything of the round is revealed, and published from the end of the
 * reveal window to the middle of the aggregation window; once each, by the owner only, for the
 * open round only. The commitment is core's `referenceCommitment` (a salted Poseidon chain); the
 * market stores it and does not check the blob (the audit does).
 */
import { expect } from "chai";
import { network } from "hardhat";

import { quantizeReference, referenceChunks, referenceCommitment, type CircuitConfig } from "@fedmarket/core";
import {
  AGGREGATION_WINDOW,
  CHUNK_SIZE,
  FIELD_MODULUS,
  K_MAX,
  cid,
  createActiveProject,
  deployMarket,
  mockChunkProof,
  submitAll,
  toAggregationWindow,
  toRevealWindow,
  type MarketFixture,
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

async function openRound(): Promise<ReferenceFixture> {
  const f = await deployMarket(connection);
  const projectId = await createActiveProject(f);
  const round = (await f.market.getCurrentRound(projectId)).round;
  return { ...f, projectId, round };
}

describe("FedMarket: the owner's reference", () => {
  it("commits in the commit window and publishes after the reveals, with past-tense events", async () => {
    const f = await loadFixture(openRound);
    await expect(f.market.connect(f.owner).commitReference(f.projectId, f.round, COMMITMENT))
      .to.emit(f.market, "ReferenceCommitted")
      .withArgs(f.projectId, f.round, COMMITMENT);
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

  /** Round 0 with four updates revealed (a quorum), a reference committed (the mock verifier's commitment of `PACKED` and `SALT`) and published. */
  async function publishedReference(): Promise<ReferenceFixture & { packed: bigint[]; commitment: bigint }> {
    const f = await openRound();
    // The base config's 3 chunks of the mock verifier's width 1.
    const packed = [11n, 22n, 33n];
    const commitment = await f.verifier.sealedCommitmentFrom(0n, [SALT, 0n], packed);
    await f.market.connect(f.owner).commitReference(f.projectId, f.round, commitment);
    await submitAll(f, f.projectId, f.trainers.slice(0, 4));
    await toAggregationWindow(f, f.projectId);
    await f.market.connect(f.owner).publishReference(f.projectId, f.round, cid("reference"));
    return { ...f, packed, commitment };
  }

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
});
