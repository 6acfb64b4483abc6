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

  it("publishes only a committed reference, once, from the end of the reveals to the middle of the aggregation window", async () => {
    const f = await loadFixture(openRound);
    await toAggregationWindow(f, f.projectId);
    await expect(f.market.connect(f.owner).publishReference(f.projectId, f.round, cid("reference")))
      .to.be.revertedWithCustomError(f.market, "ReferenceNotCommitted")
      .withArgs(f.projectId, f.round);

    const g = await openRound();
    await g.market.connect(g.owner).commitReference(g.projectId, g.round, COMMITMENT);
    await toRevealWindow(g, g.projectId);
    const window = await g.market.getCurrentRound(g.projectId);
    const gEnd = window.revealDeadline + AGGREGATION_WINDOW / 2n;
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

    // From the middle of the aggregation window on, the aggregator's half is left to it.
    const h = await openRound();
    await h.market.connect(h.owner).commitReference(h.projectId, h.round, COMMITMENT);
    const hWindow = await h.market.getCurrentRound(h.projectId);
    const hEnd = hWindow.revealDeadline + AGGREGATION_WINDOW / 2n;
    await time.increaseTo(hEnd);
    await expect(h.market.connect(h.owner).publishReference(h.projectId, h.round, cid("reference")))
      .to.be.revertedWithCustomError(h.market, "OutsideReferenceWindow")
      .withArgs(h.projectId, h.round, hWindow.revealDeadline, hEnd);
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
