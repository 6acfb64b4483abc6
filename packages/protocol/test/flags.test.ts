/**
 * "Not available" flags and their answers as the readers see them: the `UpdateFlagged` and
 * `UpdatePublished` decoders, their place in a round's history, the unanswered slots (what the
 * contract passes to the decision proof as empty), the published ciphertext split back into the
 * chunks of a sealed update, the slot masks and the revert messages of the new custom errors.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FIELD_MODULUS, packedLength, type CircuitConfig } from "@fedmarket/core";
import {
  buildHistory,
  describeMarketError,
  EVENT_DECODERS,
  EventDecodeError,
  fedMarketInterface,
  maskOfSlots,
  slotsOfMask,
  unansweredSlots,
  type ParsedEvent,
} from "../src/chain/index.ts";
import { decodeSealedUpdate, encodeSealedUpdate, flatCipher, publishedSealedUpdate, SealedUpdateError } from "../src/sealed-update.ts";

const TRAINER = `0x${"01".repeat(20)}`;
// CHUNK 20 at B = 16: NP = 2 elements per chunk; D = 30 values in C = 2 chunks.
const config: CircuitConfig = { kMax: 4, chunk: 20, updateBits: 16, modelBits: 32 };
const NP = packedLength(config.chunk, config.updateBits);
const D = 30;

let logIndex = 0;
function event(eventName: string, blockNumber: number, args: Record<string, unknown>): ParsedEvent {
  return { eventName, args, blockNumber, transactionHash: `0x${blockNumber.toString(16).padStart(64, "0")}`, logIndex: logIndex++ };
}
const flagged = (block: number, round: number, slot: number, deadline: number): ParsedEvent =>
  event("UpdateFlagged", block, {
    projectId: 1n,
    round: BigInt(round),
    trainer: TRAINER,
    slot: BigInt(slot),
    answerDeadline: BigInt(deadline),
  });
const published = (block: number, round: number, slot: number, cipher: bigint[] = [1n, 2n, 3n, 4n], firstChunk = 0): ParsedEvent =>
  event("UpdatePublished", block, {
    projectId: 1n,
    round: BigInt(round),
    trainer: TRAINER,
    slot: BigInt(slot),
    firstChunk: BigInt(firstChunk),
    ephemeral: [5n, 6n],
    cipher,
    ownerWrap: "0xf0f1",
  });

test("UpdateFlagged and UpdatePublished decode to plain records; a missing argument names the event and field", () => {
  const f = EVENT_DECODERS.UpdateFlagged(flagged(7, 2, 3, 1234));
  assert.deepEqual(
    { projectId: f.projectId, round: f.round, trainer: f.trainer, slot: f.slot, answerDeadline: f.answerDeadline, block: f.blockNumber },
    { projectId: 1n, round: 2, trainer: TRAINER, slot: 3, answerDeadline: 1234, block: 7 },
  );
  const p = EVENT_DECODERS.UpdatePublished(published(8, 2, 3));
  assert.deepEqual([p.slot, p.ephemeral, p.cipher, [...p.ownerWrap]], [3, [5n, 6n], [1n, 2n, 3n, 4n], [0xf0, 0xf1]]);
  assert.throws(
    () => EVENT_DECODERS.UpdatePublished(event("UpdatePublished", 9, { projectId: 1n, round: 2n, trainer: TRAINER, slot: 1n })),
    (err: unknown) => err instanceof EventDecodeError && err.eventName === "UpdatePublished" && err.field === "ephemeral",
  );
  assert.throws(
    () => EVENT_DECODERS.UpdatePublished({ ...published(9, 2, 1), args: { ...published(9, 2, 1).args, ownerWrap: "0xf" } }),
    (err: unknown) => err instanceof EventDecodeError && err.field === "ownerWrap",
  );
});

const part = (block: number, round: number, slot: number, firstChunk: number, cipher: bigint[]): ParsedEvent =>
  event("UpdatePartPublished", block, {
    projectId: 1n,
    round: BigInt(round),
    trainer: TRAINER,
    slot: BigInt(slot),
    firstChunk: BigInt(firstChunk),
    cipher,
  });

test("an update published in parts is whole in the round's history: the slot's parts come first, other slots' stay apart", () => {
  const h = buildHistory(1n, [part(20, 1, 2, 0, [1n, 2n]), part(20, 1, 0, 0, [9n, 9n]), published(21, 1, 2, [3n, 4n], 1)]);
  const r1 = h.rounds[1];
  assert.ok(r1);
  assert.deepEqual(
    r1.publicationParts.map((p) => [p.slot, p.firstChunk, p.cipher]),
    [
      [2, 0, [1n, 2n]],
      [0, 0, [9n, 9n]],
    ],
  );
  const [p] = r1.publications;
  assert.deepEqual([p?.slot, p?.firstChunk, p?.cipher], [2, 0, [1n, 2n, 3n, 4n]]);
  assert.deepEqual(unansweredSlots(r1), []);
  const blob = publishedSealedUpdate(p!, config, D);
  assert.deepEqual(blob.sealed.chunks, [
    [1n, 2n],
    [3n, 4n],
  ]);
});

test("a publication whose parts were not read stays partial, and is refused as a sealed update", () => {
  const h = buildHistory(1n, [published(21, 1, 2, [3n, 4n], 1)]);
  const p = h.rounds[1]?.publications[0];
  assert.equal(p?.firstChunk, 1);
  assert.throws(
    () => publishedSealedUpdate(p!, config, D),
    (err: unknown) => err instanceof SealedUpdateError && /from its opening block/.test(err.message),
  );
});

test("a round's history files flags and publications; the unanswered slots are the flagged ones nobody published", () => {
  const h = buildHistory(1n, [
    published(12, 1, 2),
    flagged(10, 1, 2, 500),
    flagged(10, 1, 0, 500),
    flagged(11, 1, 3, 520),
    flagged(3, 0, 1, 90),
  ]);
  const r1 = h.rounds[1];
  assert.ok(r1);
  assert.deepEqual(
    r1.flags.map((f) => f.slot),
    [2, 0, 3],
    "chain order",
  );
  assert.deepEqual(
    r1.publications.map((p) => p.slot),
    [2],
  );
  assert.deepEqual(unansweredSlots(r1), [0, 3]);
  assert.deepEqual(unansweredSlots(h.rounds[0]!), [1]);
  assert.deepEqual(unansweredSlots({ flags: [], publications: [] }), []);
});

test("the published ciphertext splits into chunks of NP: the sealed update as it was pinned", () => {
  const sealed = {
    ephemeral: [11n, FIELD_MODULUS - 1n] as const,
    chunks: [
      [1n, 2n],
      [FIELD_MODULUS - 2n, 0x0102n],
    ],
  };
  const ownerWrap = Uint8Array.from([1, 2, 3]);
  const blob = encodeSealedUpdate({ config, modelSize: D, sealed: { ephemeral: [...sealed.ephemeral], chunks: sealed.chunks }, ownerWrap });
  const cipher = flatCipher(sealed);
  assert.equal(cipher.length, 2 * NP);
  const again = publishedSealedUpdate({ ephemeral: [11n, FIELD_MODULUS - 1n], cipher, ownerWrap }, config, D);
  assert.deepEqual(again, decodeSealedUpdate(blob), "the same blob the trainer pinned");
  assert.deepEqual(encodeSealedUpdate(again), blob);

  const wrong = (f: () => unknown, field: string): void =>
    assert.throws(f, (err: unknown) => err instanceof SealedUpdateError && err.field === field);
  wrong(() => publishedSealedUpdate({ ephemeral: [1n, 2n], cipher: cipher.slice(1), ownerWrap }, config, D), "ciphertext");
  wrong(() => publishedSealedUpdate({ ephemeral: [1n, 2n], cipher, ownerWrap }, config, 50), "ciphertext");
  wrong(() => publishedSealedUpdate({ ephemeral: [FIELD_MODULUS, 2n], cipher, ownerWrap }, config, D), "ephemeral");
  wrong(
    () => publishedSealedUpdate({ ephemeral: [1n, 2n], cipher: [...cipher.slice(0, 3), FIELD_MODULUS], ownerWrap }, config, D),
    "ciphertext",
  );
});

test("slot masks: bit k is slot k", () => {
  assert.deepEqual(slotsOfMask(0n), []);
  assert.deepEqual(slotsOfMask(0b1011n), [0, 1, 3]);
  assert.equal(maskOfSlots([3, 0, 1]), 0b1011n);
  assert.equal(maskOfSlots(slotsOfMask(1n << 63n)), 1n << 63n);
});

test("the new custom errors say what happened and what to do", () => {
  assert.match(describeMarketError("FlaggingClosed", [1n, 2n]), /flagging window of round 2 of project 1 has closed.*fail/);
  assert.match(describeMarketError("AnswerWindowOpen", [1n, 2n, 100n]), /answered until .*\(100\).*wait for the answer deadline/);
  assert.match(
    describeMarketError("ReferencePublicationOpen", [1n, 2n, 100n]),
    /reference of round 2 of project 1 is committed and may be published until .*\(100\).*wait for its publication/,
  );
  assert.match(
    describeMarketError("PublishedUpdateMismatch", [1n, 2n, 3n]),
    /slot 3 of round 2 of project 1: only the sealed update that was committed/,
  );
  assert.match(describeMarketError("WrongCipherLength", [4n, 3n]), /has 3 elements, the project needs 4/);
  assert.match(describeMarketError("NotFlagged", [1n, 2n, 3n]), /slot 3 of round 2 of project 1 is not flagged/);
  assert.match(describeMarketError("NotSlotTrainer", [1n, 2n, 3n]), /only the trainer of slot 3 .*publishes its update in parts/);
  assert.match(describeMarketError("WrongPartLength", [3n, 2n, 4n]), /3 elements .* chunks of 2 elements within the 4 chunk/);
});

test(
  "the ABI knows the flag events with the round indexed second (so a round's history read selects them)",
  { skip: fedMarketInterface.getEvent("UpdateFlagged") === null ? "the exported ABI has no flag events yet" : false },
  () => {
    for (const name of ["UpdateFlagged", "UpdatePublished", "UpdatePartPublished"]) {
      const inputs = fedMarketInterface.getEvent(name)?.inputs ?? [];
      assert.deepEqual(
        inputs.slice(0, 3).map((i) => [i.name, i.indexed]),
        [
          ["projectId", true],
          ["round", true],
          ["trainer", true],
        ],
      );
    }
  },
);
