/**
 * "Not available", made contestable (IFedMarket header): the aggregator flags revealed slots it
 * could not fetch or open (`flagUnavailable`), anyone answers by publishing the slot's sealed update
 * (`publishUpdate`, checked against the revealed commitment by the verifier's `sealedCommitmentFrom`;
 * the slot's trainer may send it in parts first, `publishUpdatePart`), chunk proofs wait for the answer deadline, and a slot left unanswered enters the decision proof
 * as empty (commitment 0).
 *
 * Most tests run on the mock verifier, whose sealed commitment is a keccak stand-in for the Poseidon
 * chain (`mockCommitment`), so trainers here reveal commitments of
 * made-up sealed updates. The last block runs on the real Groth16RoundVerifier and Poseidon
 * libraries with an update sealed by core (`encryptChunk`, `cipherChain`, `sealedCommitment`).
 */
import { expect } from "chai";
import { network } from "hardhat";
import { AbiCoder, getCreateAddress, keccak256 } from "ethers";

import {
  cipherChain,
  decryptChunk,
  encryptChunk,
  pack,
  packedLength,
  publicKeyOf,
  sealedCommitment as sealedUpdateCommitment,
  sharedKey,
  type CurvePoint,
} from "@fedmarket/core";
import {
  AGGREGATION_WINDOW,
  DECISION_HEAD,
  ETH,
  FIELD_MODULUS,
  ProjectStatus,
  Status,
  acceptTerms,
  baseConfig,
  buildFinalization,
  cid,
  commitAll,
  createActiveProject,
  deployMarket,
  mockChunkProof,
  pastAggregationWindow,
  registerTrainers,
  revealAll,
  submitAll,
  toAggregationWindow,
  type MarketFixture,
  type SlotOutcome,
  type UpdateFor,
} from "./helpers/market.js";
import { deployGeneratedVerifiers, deployGroth16RoundVerifier } from "./helpers/round-verifier.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const { loadFixture, time } = networkHelpers;
const coder = AbiCoder.defaultAbiCoder();

/** The base config's model (250 parameters) in CHUNK_SIZE = 100 chunks. */
const NUM_CHUNKS = 3;
/** A 32-byte owner wrap, as nodes publish it (its content is not checked). */
const OWNER_WRAP = "0x" + "5a".repeat(32);

/** A made-up sealed update: ephemeral key, flat ciphertext, and its commitment under the mock verifier. */
interface MockSealed {
  ephemeral: [bigint, bigint];
  cipher: bigint[];
  commitment: bigint;
}

/**
 * The mock verifier's stand-in commitment (MockRoundVerifier): `acc = keccak256(abi.encode(acc,
 * chunk)) mod p` over the chunks of `width` elements from `acc = 0`, then `keccak256(abi.encode(acc,
 * ephemeral)) mod p`.
 */
function mockCommitment(ephemeral: readonly [bigint, bigint], cipher: readonly bigint[], width = 1): bigint {
  let acc = 0n;
  for (let i = 0; i < cipher.length; i += width) {
    acc = BigInt(keccak256(coder.encode(["uint256", "uint256[]"], [acc, cipher.slice(i, i + width)]))) % FIELD_MODULUS;
  }
  return BigInt(keccak256(coder.encode(["uint256", "uint256[2]"], [acc, ephemeral]))) % FIELD_MODULUS;
}

/** A distinct made-up sealed update per label, of `length` ciphertext elements in chunks of `width`. */
function mockSealed(label: string, length: number = NUM_CHUNKS, width = 1): MockSealed {
  const element = (i: number): bigint => BigInt(keccak256(Buffer.from(`${label}/${i}`))) % FIELD_MODULUS;
  const ephemeral: [bigint, bigint] = [element(-1), element(-2)];
  const cipher = Array.from({ length }, (_, i) => element(i));
  return { ephemeral, cipher, commitment: mockCommitment(ephemeral, cipher, width) };
}

/** Every trainer reveals the commitment of its made-up sealed update (labelled by trainer and round). */
const sealedUpdates: UpdateFor = (t, _i, round) => ({
  commitment: mockSealed(`${t.address}/r${round}`).commitment,
  cid: cid(`u${round}x${t.address.slice(2, 12)}`),
});

interface FlagFixture extends MarketFixture {
  projectId: bigint;
  /** The open round. */
  round: bigint;
  /** The sealed update revealed in each slot (four trainers in slots 0..3). */
  sealed: MockSealed[];
  /** When the aggregation window opened. */
  start: bigint;
}

/** Round 0 of an active project with four updates revealed; the clock at the start of its aggregation window. */
async function flaggable(): Promise<FlagFixture> {
  const f = await deployMarket(connection);
  const projectId = await createActiveProject(f);
  const updates = await commitAll(f, projectId, f.trainers.slice(0, 4), sealedUpdates);
  await revealAll(f, projectId, updates);
  await toAggregationWindow(f, projectId);
  const round = (await f.market.getCurrentRound(projectId)).round;
  const sealed = updates.map((u) => mockSealed(`${u.trainer.address}/r${round}`));
  const start = (await f.market.getCurrentRound(projectId)).revealDeadline;
  return { ...f, projectId, round, sealed, start };
}

/** `slots` as a mask. */
function mask(...slots: number[]): bigint {
  return slots.reduce((m, s) => m | (1n << BigInt(s)), 0n);
}

function publish(f: FlagFixture, slot: number, sealed: MockSealed = f.sealed[slot]!, by = f.stranger, wrap: string = OWNER_WRAP) {
  return f.market.connect(by).publishUpdate(f.projectId, f.round, slot, sealed.ephemeral, sealed.cipher, wrap);
}

describe('FedMarket: contestable "not available" flags', function () {
  describe("# flagUnavailable", function () {
    it("flags revealed slots: one event per slot with its trainer, the answer deadline now + W/4", async function () {
      const f = await loadFixture(flaggable);
      const at = f.start + 10n;
      await time.setNextBlockTimestamp(at);
      const deadline = at + AGGREGATION_WINDOW / 4n;
      await expect(f.market.connect(f.aggregator).flagUnavailable(f.projectId, f.round, mask(0, 2)))
        .to.emit(f.market, "UpdateFlagged")
        .withArgs(f.projectId, f.round, f.trainers[0]!.address, 0n, deadline)
        .and.to.emit(f.market, "UpdateFlagged")
        .withArgs(f.projectId, f.round, f.trainers[2]!.address, 2n, deadline);
      expect(await f.market.unavailableFlags(f.projectId)).to.deep.equal([mask(0, 2), mask(0, 2), deadline]);
    });

    it("reports nothing while nothing is flagged", async function () {
      const f = await loadFixture(flaggable);
      expect(await f.market.unavailableFlags(f.projectId)).to.deep.equal([0n, 0n, 0n]);
    });

    it("is the aggregator's alone", async function () {
      const f = await loadFixture(flaggable);
      for (const s of [f.owner, f.stranger, f.trainers[0]!]) {
        await expect(f.market.connect(s).flagUnavailable(f.projectId, f.round, mask(0)))
          .to.be.revertedWithCustomError(f.market, "NotAggregator")
          .withArgs(f.projectId, s.address);
      }
    });

    it("takes only the open round", async function () {
      const f = await loadFixture(flaggable);
      await expect(f.market.connect(f.aggregator).flagUnavailable(f.projectId, f.round + 1n, mask(0)))
        .to.be.revertedWithCustomError(f.market, "WrongRound")
        .withArgs(f.projectId, f.round, f.round + 1n);
    });

    it("is open in the first half of the aggregation window only", async function () {
      const f = await loadFixture(flaggable);
      const agg = f.market.connect(f.aggregator);
      const half = f.start + AGGREGATION_WINDOW / 2n;
      await time.setNextBlockTimestamp(half);
      await expect(agg.flagUnavailable(f.projectId, f.round, mask(0)))
        .to.be.revertedWithCustomError(f.market, "FlaggingClosed")
        .withArgs(f.projectId, f.round);
    });

    it("is open until the last second of the first half: the latest deadline leaves the aggregator a quarter of the window", async function () {
      const f = await loadFixture(flaggable);
      const last = f.start + AGGREGATION_WINDOW / 2n - 1n;
      await time.setNextBlockTimestamp(last);
      await f.market.connect(f.aggregator).flagUnavailable(f.projectId, f.round, mask(1));
      const [, , deadline] = await f.market.unavailableFlags(f.projectId);
      expect(deadline).to.equal(last + AGGREGATION_WINDOW / 4n);
      expect(f.start + AGGREGATION_WINDOW - deadline).to.be.greaterThan(AGGREGATION_WINDOW / 4n);
    });

    it("is closed before the aggregation window (reveals still running)", async function () {
      const f = await deployMarket(connection);
      const projectId = await createActiveProject(f);
      await submitAll(f, projectId, f.trainers.slice(0, 4), sealedUpdates);
      await expect(f.market.connect(f.aggregator).flagUnavailable(projectId, 0n, mask(0))).to.be.revertedWithCustomError(
        f.market,
        "OutsideAggregationWindow",
      );
    });

    it("needs a quorum: below it the round has nothing to aggregate", async function () {
      const f = await deployMarket(connection);
      const projectId = await createActiveProject(f);
      await submitAll(f, projectId, f.trainers.slice(0, 2), sealedUpdates);
      await toAggregationWindow(f, projectId);
      await expect(f.market.connect(f.aggregator).flagUnavailable(projectId, 0n, mask(0)))
        .to.be.revertedWithCustomError(f.market, "QuorumNotReached")
        .withArgs(projectId, 0n, 2n, 3n);
    });

    it("is closed once a chunk proof of the round was accepted", async function () {
      const f = await loadFixture(flaggable);
      const agg = f.market.connect(f.aggregator);
      await agg.submitChunkProofs(f.projectId, f.round, 0n, [mockChunkProof(0n, 1n)]);
      await expect(agg.flagUnavailable(f.projectId, f.round, mask(0)))
        .to.be.revertedWithCustomError(f.market, "ChunkProofsStarted")
        .withArgs(f.projectId, f.round);
    });

    it("rejects an empty mask and a bit at or above maxTrainersPerRound", async function () {
      const f = await loadFixture(flaggable);
      const agg = f.market.connect(f.aggregator);
      for (const m of [0n, mask(4), mask(0, 4), 1n << 255n]) {
        await expect(agg.flagUnavailable(f.projectId, f.round, m))
          .to.be.revertedWithCustomError(f.market, "InvalidSlotMask")
          .withArgs(m);
      }
    });

    it("rejects a bit of a slot the verifier has but the project does not use", async function () {
      const f = await deployMarket(connection);
      const projectId = await createActiveProject(f, { maxTrainersPerRound: 3 }, 3);
      await submitAll(f, projectId, f.trainers.slice(0, 3), sealedUpdates);
      await toAggregationWindow(f, projectId);
      await expect(f.market.connect(f.aggregator).flagUnavailable(projectId, 0n, mask(3)))
        .to.be.revertedWithCustomError(f.market, "InvalidSlotMask")
        .withArgs(mask(3));
    });

    it("flags only slots that hold an update revealed in this round", async function () {
      const f = await deployMarket(connection);
      const projectId = await createActiveProject(f);
      // Slots 0..2 revealed, slot 3 committed but never revealed.
      const updates = await commitAll(f, projectId, f.trainers.slice(0, 4), sealedUpdates);
      await revealAll(f, projectId, updates.slice(0, 3));
      await toAggregationWindow(f, projectId);
      const agg = f.market.connect(f.aggregator);
      await expect(agg.flagUnavailable(projectId, 0n, mask(0, 3)))
        .to.be.revertedWithCustomError(f.market, "NotRevealed")
        .withArgs(projectId, 0n, 3n);
      expect(await f.market.unavailableFlags(projectId)).to.deep.equal([0n, 0n, 0n]);
    });

    it("flags only slots of this round: an empty slot holding an earlier round's update is not revealed now", async function () {
      const f = await deployMarket(connection);
      const projectId = await createActiveProject(f);
      await submitAll(f, projectId, f.trainers.slice(0, 4), sealedUpdates);
      const all = [0, 1, 2, 3].map((): SlotOutcome => ({ status: Status.Inlier, score: 1n }));
      const round0 = await buildFinalization(f, projectId, all);
      await f.market.connect(f.aggregator).finalizeRound(projectId, 0n, 0n, round0.chunkProofs, round0.result);
      // Round 1: only trainers 0..2 submit; slot 3 still holds trainer 3's round-0 update.
      await submitAll(f, projectId, f.trainers.slice(0, 3), sealedUpdates);
      await toAggregationWindow(f, projectId);
      await expect(f.market.connect(f.aggregator).flagUnavailable(projectId, 1n, mask(3)))
        .to.be.revertedWithCustomError(f.market, "NotRevealed")
        .withArgs(projectId, 1n, 3n);
    });

    it("flags a slot once a round: a mask with a flagged slot reverts as a whole", async function () {
      const f = await loadFixture(flaggable);
      const agg = f.market.connect(f.aggregator);
      await agg.flagUnavailable(f.projectId, f.round, mask(1));
      await expect(agg.flagUnavailable(f.projectId, f.round, mask(1, 2)))
        .to.be.revertedWithCustomError(f.market, "AlreadyFlagged")
        .withArgs(f.projectId, f.round, 1n);
      expect((await f.market.unavailableFlags(f.projectId))[1]).to.equal(mask(1));
      // Still flagged after an answer: flagging it again is refused too.
      await publish(f, 1);
      await expect(agg.flagUnavailable(f.projectId, f.round, mask(1))).to.be.revertedWithCustomError(f.market, "AlreadyFlagged");
    });

    it("moves the round's answer deadline to max(deadline, now + W/4): a later flag extends it for every flag", async function () {
      const f = await loadFixture(flaggable);
      const agg = f.market.connect(f.aggregator);
      await time.setNextBlockTimestamp(f.start + 1n);
      await agg.flagUnavailable(f.projectId, f.round, mask(0));
      const first = f.start + 1n + AGGREGATION_WINDOW / 4n;
      expect((await f.market.unavailableFlags(f.projectId))[2]).to.equal(first);
      const later = f.start + 200n;
      await time.setNextBlockTimestamp(later);
      await expect(agg.flagUnavailable(f.projectId, f.round, mask(2)))
        .to.emit(f.market, "UpdateFlagged")
        .withArgs(f.projectId, f.round, f.trainers[2]!.address, 2n, later + AGGREGATION_WINDOW / 4n);
      expect(await f.market.unavailableFlags(f.projectId)).to.deep.equal([mask(0, 2), mask(0, 2), later + AGGREGATION_WINDOW / 4n]);
      // Slot 0 can now be answered until the later deadline too.
      await time.setNextBlockTimestamp(first + 1n);
      await expect(publish(f, 0)).to.emit(f.market, "UpdatePublished");
    });
  });

  describe("# publishUpdate", function () {
    async function flagged(): Promise<FlagFixture> {
      const f = await flaggable();
      await f.market.connect(f.aggregator).flagUnavailable(f.projectId, f.round, mask(0, 2));
      return f;
    }

    it("lets anyone answer with the slot's sealed update; the event names the slot's trainer, not the sender", async function () {
      const f = await loadFixture(flagged);
      const s = f.sealed[0]!;
      await expect(publish(f, 0))
        .to.emit(f.market, "UpdatePublished")
        .withArgs(f.projectId, f.round, f.trainers[0]!.address, 0n, 0n, s.ephemeral, s.cipher, OWNER_WRAP);
      const [pending, flaggedMask, deadline] = await f.market.unavailableFlags(f.projectId);
      expect([pending, flaggedMask]).to.deep.equal([mask(2), mask(0, 2)]);
      expect(deadline).to.be.greaterThan(0n);
    });

    it("lets the trainer itself and the aggregator answer too", async function () {
      const f = await loadFixture(flagged);
      await expect(publish(f, 0, f.sealed[0], f.trainers[0])).to.emit(f.market, "UpdatePublished");
      await expect(publish(f, 2, f.sealed[2], f.aggregator)).to.emit(f.market, "UpdatePublished");
      expect((await f.market.unavailableFlags(f.projectId))[0]).to.equal(0n);
    });

    it("answers a flag once", async function () {
      const f = await loadFixture(flagged);
      await publish(f, 0);
      await expect(publish(f, 0)).to.be.revertedWithCustomError(f.market, "NotFlagged").withArgs(f.projectId, f.round, 0n);
    });

    it("refuses a slot that is not flagged, another round, and a slot the project does not have", async function () {
      const f = await loadFixture(flagged);
      await expect(publish(f, 1)).to.be.revertedWithCustomError(f.market, "NotFlagged").withArgs(f.projectId, f.round, 1n);
      const s = f.sealed[0]!;
      await expect(f.market.publishUpdate(f.projectId, f.round + 1n, 0n, s.ephemeral, s.cipher, OWNER_WRAP))
        .to.be.revertedWithCustomError(f.market, "NotFlagged")
        .withArgs(f.projectId, f.round + 1n, 0n);
      await expect(f.market.publishUpdate(f.projectId, f.round, 9n, s.ephemeral, s.cipher, OWNER_WRAP))
        .to.be.revertedWithCustomError(f.market, "NotFlagged")
        .withArgs(f.projectId, f.round, 9n);
    });

    it("needs numChunks * verifier.cipherWidth() ciphertext elements", async function () {
      const f = await loadFixture(flagged);
      const s = f.sealed[0]!;
      for (const cipher of [s.cipher.slice(0, 2), [...s.cipher, 1n], []]) {
        await expect(f.market.publishUpdate(f.projectId, f.round, 0n, s.ephemeral, cipher, OWNER_WRAP))
          .to.be.revertedWithCustomError(f.market, "WrongCipherLength")
          .withArgs(BigInt(NUM_CHUNKS), BigInt(cipher.length));
      }
      // The width comes from the verifier: at NP = 2 the project's three chunks take six elements.
      await f.verifier.setCipherWidth(2n);
      await expect(publish(f, 0))
        .to.be.revertedWithCustomError(f.market, "WrongCipherLength")
        .withArgs(BigInt(2 * NUM_CHUNKS), BigInt(NUM_CHUNKS));
    });

    it("answers with the verifier's width: six elements at NP = 2", async function () {
      const f = await deployMarket(connection);
      await f.verifier.setCipherWidth(2n);
      const wide: UpdateFor = (t, _i, round) => ({
        commitment: mockSealed(`wide/${t.address}/r${round}`, 2 * NUM_CHUNKS, 2).commitment,
        cid: cid(`w${round}x${t.address.slice(2, 12)}`),
      });
      const projectId = await createActiveProject(f);
      await submitAll(f, projectId, f.trainers.slice(0, 4), wide);
      await toAggregationWindow(f, projectId);
      await f.market.connect(f.aggregator).flagUnavailable(projectId, 0n, mask(1));
      const s = mockSealed(`wide/${f.trainers[1]!.address}/r0`, 2 * NUM_CHUNKS, 2);
      await expect(f.market.publishUpdate(projectId, 0n, 1n, s.ephemeral, s.cipher, OWNER_WRAP))
        .to.emit(f.market, "UpdatePublished")
        .withArgs(projectId, 0n, f.trainers[1]!.address, 1n, 0n, s.ephemeral, s.cipher, OWNER_WRAP);
    });

    it("refuses elements that are not canonical field elements, naming the first (ephemeral key first)", async function () {
      const f = await loadFixture(flagged);
      const s = f.sealed[0]!;
      const cases: Array<[[bigint, bigint], bigint[], bigint]> = [
        [[FIELD_MODULUS, s.ephemeral[1]], s.cipher, 0n],
        [[s.ephemeral[0], FIELD_MODULUS + 5n], s.cipher, 1n],
        [s.ephemeral, [s.cipher[0]!, s.cipher[1]!, FIELD_MODULUS], 4n],
        [s.ephemeral, [(1n << 256n) - 1n, FIELD_MODULUS, 0n], 2n],
      ];
      for (const [ephemeral, cipher, index] of cases) {
        await expect(f.market.publishUpdate(f.projectId, f.round, 0n, ephemeral, cipher, OWNER_WRAP))
          .to.be.revertedWithCustomError(f.market, "NonCanonicalElement")
          .withArgs(index);
      }
    });

    it("takes an owner wrap of at most 1,024 bytes", async function () {
      const f = await loadFixture(flagged);
      const long = "0x" + "00".repeat(1025);
      await expect(publish(f, 0, f.sealed[0], f.stranger, long))
        .to.be.revertedWithCustomError(f.market, "OwnerWrapTooLong")
        .withArgs(1025n);
      const longest = "0x" + "ff".repeat(1024);
      await expect(publish(f, 0, f.sealed[0], f.stranger, longest))
        .to.emit(f.market, "UpdatePublished")
        .withArgs(f.projectId, f.round, f.trainers[0]!.address, 0n, 0n, f.sealed[0]!.ephemeral, f.sealed[0]!.cipher, longest);
    });

    it("refuses data that does not open the slot's commitment", async function () {
      const f = await loadFixture(flagged);
      const s = f.sealed[0]!;
      const tampered: MockSealed = { ...s, cipher: [s.cipher[0]!, s.cipher[1]! + 1n, s.cipher[2]!] };
      const otherKey: MockSealed = { ...s, ephemeral: [s.ephemeral[1], s.ephemeral[0]] };
      // Another slot's update opens that slot's commitment, not this one's.
      for (const wrong of [tampered, otherKey, f.sealed[2]!]) {
        await expect(publish(f, 0, wrong))
          .to.be.revertedWithCustomError(f.market, "PublishedUpdateMismatch")
          .withArgs(f.projectId, f.round, 0n);
      }
      expect((await f.market.unavailableFlags(f.projectId))[0]).to.equal(mask(0, 2));
    });

    it("is closed from the answer deadline on", async function () {
      const f = await loadFixture(flagged);
      const [, , deadline] = await f.market.unavailableFlags(f.projectId);
      await time.setNextBlockTimestamp(deadline - 1n);
      await expect(publish(f, 0)).to.emit(f.market, "UpdatePublished");
      await time.setNextBlockTimestamp(deadline);
      await expect(publish(f, 2)).to.be.revertedWithCustomError(f.market, "AnswerWindowClosed").withArgs(f.projectId, f.round, deadline);
    });
  });

  describe("# publishUpdatePart", function () {
    async function flagged(): Promise<FlagFixture> {
      const f = await flaggable();
      await f.market.connect(f.aggregator).flagUnavailable(f.projectId, f.round, mask(0, 2));
      return f;
    }

    /** Slot `slot`'s trainer publishes ciphertext elements `[from, to)` of its sealed update. */
    function part(f: FlagFixture, slot: number, from: number, to: number, by = f.trainers[slot]!) {
      return f.market.connect(by).publishUpdatePart(f.projectId, f.round, slot, f.sealed[slot]!.cipher.slice(from, to));
    }

    it("takes the update in parts: each part's event, then publishUpdate completes it from the next chunk", async function () {
      const f = await loadFixture(flagged);
      const s = f.sealed[0]!;
      const trainer = f.trainers[0]!.address;
      await expect(part(f, 0, 0, 1))
        .to.emit(f.market, "UpdatePartPublished")
        .withArgs(f.projectId, f.round, trainer, 0n, 0n, [s.cipher[0]]);
      await expect(part(f, 0, 1, 2))
        .to.emit(f.market, "UpdatePartPublished")
        .withArgs(f.projectId, f.round, trainer, 0n, 1n, [s.cipher[1]]);
      // The rest (one chunk), the key and the wrap: anyone may complete it, as anyone may answer.
      await expect(f.market.connect(f.stranger).publishUpdate(f.projectId, f.round, 0n, s.ephemeral, s.cipher.slice(2), OWNER_WRAP))
        .to.emit(f.market, "UpdatePublished")
        .withArgs(f.projectId, f.round, trainer, 0n, 2n, s.ephemeral, [s.cipher[2]], OWNER_WRAP);
      expect((await f.market.unavailableFlags(f.projectId))[0]).to.equal(mask(2));
    });

    it("may carry every chunk: publishUpdate then brings only the key and the wrap", async function () {
      const f = await loadFixture(flagged);
      const s = f.sealed[2]!;
      await part(f, 2, 0, NUM_CHUNKS);
      await expect(f.market.connect(f.trainers[2]!).publishUpdate(f.projectId, f.round, 2n, s.ephemeral, [], OWNER_WRAP))
        .to.emit(f.market, "UpdatePublished")
        .withArgs(f.projectId, f.round, f.trainers[2]!.address, 2n, BigInt(NUM_CHUNKS), s.ephemeral, [], OWNER_WRAP);
    });

    it("then needs exactly the chunks not yet published", async function () {
      const f = await loadFixture(flagged);
      const s = f.sealed[0]!;
      await part(f, 0, 0, 2);
      await expect(publish(f, 0)).to.be.revertedWithCustomError(f.market, "WrongCipherLength").withArgs(1n, BigInt(NUM_CHUNKS));
      await expect(f.market.publishUpdate(f.projectId, f.round, 0n, s.ephemeral, s.cipher.slice(2), OWNER_WRAP)).to.emit(
        f.market,
        "UpdatePublished",
      );
    });

    it("is the slot's trainer's alone: a stranger's part could make the chain unopenable", async function () {
      const f = await loadFixture(flagged);
      for (const by of [f.stranger, f.aggregator, f.trainers[2]!]) {
        await expect(part(f, 0, 0, 1, by))
          .to.be.revertedWithCustomError(f.market, "NotSlotTrainer")
          .withArgs(f.projectId, f.round, 0n);
      }
    });

    it("takes whole chunks, at least one, none past the last", async function () {
      const f = await loadFixture(flagged);
      await expect(part(f, 0, 0, 0))
        .to.be.revertedWithCustomError(f.market, "WrongPartLength")
        .withArgs(0n, 1n, BigInt(NUM_CHUNKS));
      await expect(part(f, 0, 0, 2)).to.emit(f.market, "UpdatePartPublished");
      await expect(f.market.connect(f.trainers[0]!).publishUpdatePart(f.projectId, f.round, 0n, [1n, 2n]))
        .to.be.revertedWithCustomError(f.market, "WrongPartLength")
        .withArgs(2n, 1n, 1n);
      // At NP = 2 a part of three elements is not whole.
      await f.verifier.setCipherWidth(2n);
      await expect(f.market.connect(f.trainers[2]!).publishUpdatePart(f.projectId, f.round, 2n, [1n, 2n, 3n]))
        .to.be.revertedWithCustomError(f.market, "WrongPartLength")
        .withArgs(3n, 2n, BigInt(NUM_CHUNKS));
    });

    it("refuses non-canonical elements, numbered as in the whole update", async function () {
      const f = await loadFixture(flagged);
      await part(f, 0, 0, 1);
      await expect(f.market.connect(f.trainers[0]!).publishUpdatePart(f.projectId, f.round, 0n, [1n, FIELD_MODULUS]))
        .to.be.revertedWithCustomError(f.market, "NonCanonicalElement")
        .withArgs(2n + 2n);
    });

    it("a wrong part leaves the update unopenable: the completion is refused", async function () {
      const f = await loadFixture(flagged);
      const s = f.sealed[0]!;
      await f.market.connect(f.trainers[0]!).publishUpdatePart(f.projectId, f.round, 0n, [s.cipher[0]! + 1n]);
      await expect(f.market.publishUpdate(f.projectId, f.round, 0n, s.ephemeral, s.cipher.slice(1), OWNER_WRAP))
        .to.be.revertedWithCustomError(f.market, "PublishedUpdateMismatch")
        .withArgs(f.projectId, f.round, 0n);
    });

    it("needs a flagged, unanswered slot of the open round, before the answer deadline", async function () {
      const f = await loadFixture(flagged);
      await expect(part(f, 1, 0, 1))
        .to.be.revertedWithCustomError(f.market, "NotFlagged")
        .withArgs(f.projectId, f.round, 1n);
      await publish(f, 2);
      await expect(part(f, 2, 0, 1))
        .to.be.revertedWithCustomError(f.market, "NotFlagged")
        .withArgs(f.projectId, f.round, 2n);
      const [, , deadline] = await f.market.unavailableFlags(f.projectId);
      await time.setNextBlockTimestamp(deadline);
      await expect(part(f, 0, 0, 1))
        .to.be.revertedWithCustomError(f.market, "AnswerWindowClosed")
        .withArgs(f.projectId, f.round, deadline);
    });

    it("runs in the market, not in its module: the module's own storage knows no project", async function () {
      const f = await loadFixture(flagged);
      // FedMarket's answers module is the only contract it creates (nonce 1).
      const module = getCreateAddress({ from: await f.market.getAddress(), nonce: 1 });
      expect(await ethers.provider.getCode(module)).to.not.equal("0x");
      const direct = f.market.attach(module) as typeof f.market;
      await expect(direct.connect(f.trainers[0]!).publishUpdatePart(f.projectId, f.round, 0n, [1n]))
        .to.be.revertedWithCustomError(f.market, "UnknownProject")
        .withArgs(f.projectId);
    });
  });

  describe("# chunk proofs and the decision inputs", function () {
    async function flaggedOneAnswered(): Promise<FlagFixture> {
      const f = await flaggable();
      await f.market.connect(f.aggregator).flagUnavailable(f.projectId, f.round, mask(0, 2));
      await publish(f, 2);
      return f;
    }

    it("hold chunk proofs (submitChunkProofs and finalizeRound) until the answer deadline", async function () {
      const f = await loadFixture(flaggedOneAnswered);
      const agg = f.market.connect(f.aggregator);
      const [, , deadline] = await f.market.unavailableFlags(f.projectId);
      await time.setNextBlockTimestamp(deadline - 1n);
      await expect(agg.submitChunkProofs(f.projectId, f.round, 0n, [mockChunkProof(0n, 1n)]))
        .to.be.revertedWithCustomError(f.market, "AnswerWindowOpen")
        .withArgs(f.projectId, f.round, deadline);
      const outcomes = [0, 1, 2, 3].map((): SlotOutcome => ({ status: Status.Inlier, score: 1n }));
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, outcomes);
      await expect(agg.finalizeRound(f.projectId, f.round, 0n, chunkProofs, result))
        .to.be.revertedWithCustomError(f.market, "AnswerWindowOpen")
        .withArgs(f.projectId, f.round, deadline);
      await time.setNextBlockTimestamp(deadline);
      await expect(agg.submitChunkProofs(f.projectId, f.round, 0n, [mockChunkProof(0n, 1n)])).to.emit(f.market, "ChunkProofsAccepted");
    });

    it("pass 0 for a flagged slot nobody answered and the commitment of an answered one", async function () {
      const f = await loadFixture(flaggedOneAnswered);
      const inputs = await f.market.decisionPublicInputs(f.projectId, 1n, [0n, 0n]);
      const commitments = inputs.slice(DECISION_HEAD, DECISION_HEAD + 4);
      expect(commitments).to.deep.equal([0n, f.sealed[1]!.commitment, f.sealed[2]!.commitment, f.sealed[3]!.commitment]);
      // getSubmission still shows what was revealed: only the proof's view of the slot changes.
      expect((await f.market.getSubmission(f.projectId, f.round, 0n))[1]).to.equal(f.sealed[0]!.commitment);
    });

    it("finalize with the unanswered slot empty: status Empty, unpaid; the answered slot is scored like any other", async function () {
      const f = await loadFixture(flaggedOneAnswered);
      const [, , deadline] = await f.market.unavailableFlags(f.projectId);
      await time.increaseTo(deadline);
      const outcomes: SlotOutcome[] = [
        { status: Status.Empty, score: 0n },
        { status: Status.Inlier, score: 10n },
        { status: Status.Inlier, score: 30n },
        { status: Status.Inlier, score: 60n },
      ];
      const { chunkProofs, result, inputs } = await buildFinalization(f, f.projectId, outcomes);
      expect(inputs[DECISION_HEAD]).to.equal(0n); // slot 0
      await expect(f.market.connect(f.aggregator).finalizeRound(f.projectId, f.round, 0n, chunkProofs, result))
        .to.emit(f.market, "ContributionRecorded")
        .withArgs(f.projectId, f.round, f.trainers[0]!.address, 0n, Status.Empty, 0n, 0n)
        .and.to.emit(f.market, "ContributionRecorded")
        .withArgs(f.projectId, f.round, f.trainers[2]!.address, 2n, Status.Inlier, 30n, 300_000n);
      expect(await f.market.creditOf(ETH, f.trainers[0]!.address)).to.equal(0n);
    });

    it("a proof made with the flagged slot's commitment does not verify", async function () {
      const f = await loadFixture(flaggedOneAnswered);
      const [, , deadline] = await f.market.unavailableFlags(f.projectId);
      await time.increaseTo(deadline);
      const outcomes = [0, 1, 2, 3].map((): SlotOutcome => ({ status: Status.Inlier, score: 1n }));
      const honest = await buildFinalization(f, f.projectId, outcomes);
      // The aggregator's mock proof over the revealed commitment of slot 0 instead of 0.
      const inputs = [...honest.inputs];
      inputs[DECISION_HEAD] = f.sealed[0]!.commitment;
      const proof = [BigInt(keccak256(coder.encode(["uint256[]"], [inputs]))), 0n, 0n, 0n, 0n, 0n, 0n, 0n];
      await expect(
        f.market.connect(f.aggregator).finalizeRound(f.projectId, f.round, 0n, honest.chunkProofs, { ...honest.result, proof }),
      ).to.be.revertedWithCustomError(f.market, "InvalidDecisionProof");
    });

    it("a new round starts with nothing flagged and its slots can be flagged again", async function () {
      const f = await loadFixture(flaggedOneAnswered);
      const [, , deadline] = await f.market.unavailableFlags(f.projectId);
      await time.increaseTo(deadline);
      const outcomes = [0, 1, 2, 3].map((): SlotOutcome => ({ status: Status.Inlier, score: 1n }));
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, outcomes);
      await f.market.connect(f.aggregator).finalizeRound(f.projectId, f.round, 0n, chunkProofs, result);
      expect(await f.market.unavailableFlags(f.projectId)).to.deep.equal([0n, 0n, 0n]);

      await submitAll(f, f.projectId, f.trainers.slice(0, 4), sealedUpdates);
      await toAggregationWindow(f, f.projectId);
      expect(await f.market.unavailableFlags(f.projectId)).to.deep.equal([0n, 0n, 0n]);
      const agg = f.market.connect(f.aggregator);
      const round1 = f.round + 1n;
      expect((await f.market.decisionPublicInputs(f.projectId, 1n, [0n, 0n])).slice(DECISION_HEAD, DECISION_HEAD + 4)).to.not.include(0n);
      await expect(agg.flagUnavailable(f.projectId, round1, mask(0, 2))).to.emit(f.market, "UpdateFlagged");
      expect((await f.market.unavailableFlags(f.projectId)).slice(0, 2)).to.deep.equal([mask(0, 2), mask(0, 2)]);
    });

    it("a new round starts with no parts: chunks published in an earlier round do not count", async function () {
      const f = await loadFixture(flaggedOneAnswered);
      // Slot 0 (flagged, unanswered) got one chunk in parts, never completed: the slot stays empty.
      await f.market.connect(f.trainers[0]!).publishUpdatePart(f.projectId, f.round, 0n, f.sealed[0]!.cipher.slice(0, 1));
      const [, , deadline] = await f.market.unavailableFlags(f.projectId);
      await time.increaseTo(deadline);
      const outcomes = [0, 1, 2, 3].map((): SlotOutcome => ({ status: Status.Inlier, score: 1n }));
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, outcomes);
      await f.market.connect(f.aggregator).finalizeRound(f.projectId, f.round, 0n, chunkProofs, result);

      await submitAll(f, f.projectId, f.trainers.slice(0, 4), sealedUpdates);
      await toAggregationWindow(f, f.projectId);
      const round1 = f.round + 1n;
      await f.market.connect(f.aggregator).flagUnavailable(f.projectId, round1, mask(0));
      const [holder] = await f.market.getSubmission(f.projectId, round1, 0n);
      const s = mockSealed(`${holder}/r${round1}`);
      // The whole update again, from chunk 0.
      await expect(f.market.publishUpdate(f.projectId, round1, 0n, s.ephemeral, s.cipher, OWNER_WRAP))
        .to.emit(f.market, "UpdatePublished")
        .withArgs(f.projectId, round1, holder, 0n, 0n, s.ephemeral, s.cipher, OWNER_WRAP);
    });

    it("the last round's answer deadline does not hold the next round's chunk proofs", async function () {
      const f = await loadFixture(flaggedOneAnswered);
      const [, , deadline] = await f.market.unavailableFlags(f.projectId);
      await time.increaseTo(deadline);
      const outcomes = [0, 1, 2, 3].map((): SlotOutcome => ({ status: Status.Inlier, score: 1n }));
      const { chunkProofs, result } = await buildFinalization(f, f.projectId, outcomes);
      await f.market.connect(f.aggregator).finalizeRound(f.projectId, f.round, 0n, chunkProofs, result);
      await submitAll(f, f.projectId, f.trainers.slice(0, 4), sealedUpdates);
      await toAggregationWindow(f, f.projectId);
      await expect(f.market.connect(f.aggregator).submitChunkProofs(f.projectId, f.round + 1n, 0n, [mockChunkProof(0n, 1n)])).to.emit(
        f.market,
        "ChunkProofsAccepted",
      );
    });

    it("a failed round leaves no flags behind while the project waits for an aggregator", async function () {
      const f = await loadFixture(flaggedOneAnswered);
      await pastAggregationWindow(f, f.projectId);
      await f.market.failRound(f.projectId);
      expect((await f.market.getProject(f.projectId)).status).to.equal(ProjectStatus.AwaitingAggregator);
      expect(await f.market.unavailableFlags(f.projectId)).to.deep.equal([0n, 0n, 0n]);
      await expect(publish(f, 0)).to.be.revertedWithCustomError(f.market, "NotFlagged");
    });

    it("without flags nothing changes: chunk proofs right at the start of the window", async function () {
      const f = await loadFixture(flaggable);
      await expect(f.market.connect(f.aggregator).submitChunkProofs(f.projectId, f.round, 0n, [mockChunkProof(0n, 1n)])).to.emit(
        f.market,
        "ChunkProofsAccepted",
      );
    });
  });

  describe("# with the real Groth16RoundVerifier and Poseidon libraries", function () {
    /** The K4 test circuits: K_MAX 4, CHUNK 16, B 16, so NP = packedLength(16, 16) = 2. */
    const CIRCUIT = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 } as const;
    const MODEL_SIZE = 40; // three chunks, the last one padded
    const SEAL_SECRET = 0xa66a11n;

    /** A trainer's update sealed by core: packed chunks encrypted with the shared key, committed with Poseidon. */
    function sealUpdate(values: readonly bigint[], ephemeralSecret: bigint) {
      const aggregatorKey = publicKeyOf(SEAL_SECRET);
      const shared = sharedKey(ephemeralSecret, aggregatorKey);
      if (!shared.valid) throw new Error("the seal key is off the curve");
      const packed: bigint[][] = [];
      for (let j = 0; j * CIRCUIT.chunk < MODEL_SIZE; j++) {
        const chunk = values.slice(j * CIRCUIT.chunk, (j + 1) * CIRCUIT.chunk);
        packed.push(pack([...chunk, ...new Array<bigint>(CIRCUIT.chunk - chunk.length).fill(0n)], CIRCUIT.updateBits));
      }
      const chunks = packed.map((m, j) => encryptChunk(m, shared.key, j));
      const ephemeral: CurvePoint = publicKeyOf(ephemeralSecret);
      return { packed, chunks, ephemeral, commitment: sealedUpdateCommitment(cipherChain(chunks), ephemeral) };
    }

    async function realProject() {
      const f = await deployMarket(connection);
      const verifier = await deployGroth16RoundVerifier(ethers, { ...(await deployGeneratedVerifiers(ethers, CIRCUIT)), circuit: CIRCUIT });
      const config = baseConfig({
        verifier: await verifier.getAddress(),
        aggregator: f.aggregator.address,
        params: { modelSize: MODEL_SIZE, byzantineTolerance: 0, quantizationScale: 1n << 12n, clipBound: 1000n },
      });
      await f.market.connect(f.owner).createProject(config, { value: config.budget });
      const projectId = await f.market.projectCount();
      await registerTrainers(f.market, projectId, f.trainers.slice(0, 4));
      const sealKey = publicKeyOf(SEAL_SECRET);
      await acceptTerms(f.market, f.aggregator, projectId, true, [sealKey[0], sealKey[1]]);
      const updates = f.trainers.slice(0, 4).map((_, i) =>
        sealUpdate(
          Array.from({ length: MODEL_SIZE }, (_, k) => BigInt(((k * 37 + i * 11) % 201) - 100)),
          BigInt(1000 + i),
        ),
      );
      const byTrainer = new Map(f.trainers.slice(0, 4).map((t, i) => [t.address, updates[i]!]));
      const revealed = await commitAll(f, projectId, f.trainers.slice(0, 4), (t) => ({
        commitment: byTrainer.get(t.address)!.commitment,
        cid: cid(`real${t.address.slice(2, 12)}`),
      }));
      await revealAll(f, projectId, revealed);
      await toAggregationWindow(f, projectId);
      return { ...f, projectId, verifier, updates, sealKey };
    }

    it("checks published data with Poseidon on chain: core's sealed update answers its flag, a tampered one does not", async function () {
      const f = await loadFixture(realProject);
      expect(await f.verifier.cipherWidth()).to.equal(BigInt(packedLength(CIRCUIT.chunk, CIRCUIT.updateBits)));
      expect((await f.market.getProject(f.projectId)).numChunks).to.equal(3n);
      await f.market.connect(f.aggregator).flagUnavailable(f.projectId, 0n, mask(1));
      const u = f.updates[1]!;
      const ephemeral: [bigint, bigint] = [u.ephemeral[0], u.ephemeral[1]];
      const cipher = u.chunks.flat();
      expect(cipher).to.have.length(3 * 2);
      const tampered = [...cipher];
      tampered[5] = (tampered[5]! + 1n) % FIELD_MODULUS;
      await expect(f.market.connect(f.stranger).publishUpdate(f.projectId, 0n, 1n, ephemeral, tampered, OWNER_WRAP))
        .to.be.revertedWithCustomError(f.market, "PublishedUpdateMismatch")
        .withArgs(f.projectId, 0n, 1n);
      const tx = await f.market.connect(f.stranger).publishUpdate(f.projectId, 0n, 1n, ephemeral, cipher, OWNER_WRAP);
      await expect(tx)
        .to.emit(f.market, "UpdatePublished")
        .withArgs(f.projectId, 0n, f.trainers[1]!.address, 1n, 0n, ephemeral, cipher, OWNER_WRAP);

      // The aggregator decodes the published update from the event: it opens to the sealed values.
      const receipt = await tx.wait();
      const log = receipt!.logs.map((l) => f.market.interface.parseLog(l)).find((l) => l?.name === "UpdatePublished");
      const published = (log!.args.cipher as bigint[]).map((x) => BigInt(x));
      const shared = sharedKey(SEAL_SECRET, [BigInt(log!.args.ephemeral[0]), BigInt(log!.args.ephemeral[1])]);
      if (!shared.valid) throw new Error("the published ephemeral key is off the curve");
      const opened = [0, 1, 2].map((j) => decryptChunk(published.slice(2 * j, 2 * j + 2), shared.key, j));
      expect(opened).to.deep.equal(u.packed);

      // The answered slot keeps its commitment in the decision inputs.
      const [, , deadline] = await f.market.unavailableFlags(f.projectId);
      await time.increaseTo(deadline);
      const inputs = await f.market.decisionPublicInputs(f.projectId, 1n, [0n, 0n]);
      expect(inputs.slice(DECISION_HEAD, DECISION_HEAD + 4)).to.deep.equal(f.updates.map((x) => x.commitment));
    });

    it("checks an update published in parts with the same Poseidon chain: core's update answers, its events reassemble it", async function () {
      const f = await loadFixture(realProject);
      await f.market.connect(f.aggregator).flagUnavailable(f.projectId, 0n, mask(2));
      const u = f.updates[2]!;
      const cipher = u.chunks.flat();
      // Chunk 0 alone, then chunk 1: the market's partial chain equals core's over those chunks.
      await f.market.connect(f.trainers[2]!).publishUpdatePart(f.projectId, 0n, 2n, cipher.slice(0, 2));
      await f.market.connect(f.trainers[2]!).publishUpdatePart(f.projectId, 0n, 2n, cipher.slice(2, 4));
      expect(await f.verifier.cipherChain(0n, cipher.slice(0, 4))).to.equal(cipherChain(u.chunks.slice(0, 2)));
      const ephemeral: [bigint, bigint] = [u.ephemeral[0], u.ephemeral[1]];
      await expect(f.market.connect(f.stranger).publishUpdate(f.projectId, 0n, 2n, ephemeral, cipher.slice(4), OWNER_WRAP))
        .to.emit(f.market, "UpdatePublished")
        .withArgs(f.projectId, 0n, f.trainers[2]!.address, 2n, 2n, ephemeral, cipher.slice(4), OWNER_WRAP);
      expect(await f.verifier.sealedCommitmentFrom(cipherChain(u.chunks.slice(0, 2)), ephemeral, cipher.slice(4))).to.equal(u.commitment);
      expect(await f.verifier.sealedCommitment(ephemeral, cipher)).to.equal(u.commitment);
    });

    it("a flag nobody answers empties the slot in the decision inputs", async function () {
      const f = await loadFixture(realProject);
      await f.market.connect(f.aggregator).flagUnavailable(f.projectId, 0n, mask(3));
      const [, , deadline] = await f.market.unavailableFlags(f.projectId);
      await time.increaseTo(deadline);
      const inputs = await f.market.decisionPublicInputs(f.projectId, 1n, [0n, 0n]);
      expect(inputs.slice(DECISION_HEAD, DECISION_HEAD + 4)).to.deep.equal([...f.updates.slice(0, 3).map((x) => x.commitment), 0n]);
    });
  });
});
