/**
 * The update codec: a sealed update opens for every recipient; each way an update can be unusable
 * is named by its reason, first failing check first; the caller's own faults throw.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { commitUpdate, type CircuitConfig } from "@fedmarket/core";
import { generateKeyPair, sealEnvelope } from "../src/envelope.ts";
import { computeCid, HeliaBlobStore } from "../src/storage/index.ts";
import {
  decodeUpdatePayload,
  encodeUpdatePayload,
  updateAssociatedData,
  UpdatePayloadError,
  type UpdateContext,
} from "../src/update-payload.ts";
import { fetchAndOpenUpdate, openUpdate, sealUpdate, type OpenUpdateContext, type UpdateOpening } from "../src/update-codec.ts";
import { withTempDir } from "./helpers.ts";

const config: CircuitConfig = { kMax: 4, chunk: 4, updateBits: 16, modelBits: 32 };
const values = [3n, -1n, 0n, 32767n, -32768n, 12n, -7n];
const salt = 123_456_789n;
const aggregator = generateKeyPair();
const owner = generateKeyPair();
const submission: UpdateContext = {
  chainId: 31337n,
  market: `0x${"aa".repeat(20)}`,
  projectId: 7n,
  round: 3,
  trainer: `0x${"bb".repeat(20)}`,
};
const commitment = commitUpdate(values, salt, config.chunk, config.updateBits);
const expected: OpenUpdateContext = { ...submission, config, modelSize: values.length, commitment };
const recipientKeys = [aggregator.publicKey, owner.publicKey];

/** An envelope bound to `submission` around any payload bytes: what a faulty trainer can pin. */
function sealRaw(payload: Uint8Array, ctx: UpdateContext = submission): Uint8Array {
  return sealEnvelope(payload, recipientKeys, { associatedData: updateAssociatedData(ctx) });
}

function assertRejected(got: UpdateOpening, reason: string, detail: RegExp): void {
  assert.equal(
    got.ok,
    false,
    JSON.stringify(got, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
  );
  if (got.ok) return;
  assert.equal(got.reason, reason);
  assert.match(got.detail, detail);
}

test("a sealed update opens for the aggregator and the owner with its values and salt", () => {
  const { envelope, payload } = sealUpdate({ ...submission, config, values, salt, recipientKeys });
  assert.deepEqual(decodeUpdatePayload(payload), { projectId: 7n, round: 3, config, values, salt });
  for (const key of [aggregator, owner]) {
    assert.deepEqual(openUpdate(envelope, key.secretKey, expected), { ok: true, values, salt });
  }
});

test("undecryptable: a key that is no recipient, or an envelope bound to another context", () => {
  const { envelope } = sealUpdate({ ...submission, config, values, salt, recipientKeys });
  assertRejected(openUpdate(envelope, generateKeyPair().secretKey, expected), "undecryptable", /not one of the recipients/);
  // a payload bound to another trainer (e.g. copied from its CID) does not open as this trainer's
  const copied = sealUpdate({ ...submission, trainer: `0x${"cc".repeat(20)}`, config, values, salt, recipientKeys }).envelope;
  assertRejected(openUpdate(copied, aggregator.secretKey, expected), "undecryptable", /authentication failed/);
  for (const other of [{ round: 4 }, { projectId: 8n }, { chainId: 1n }, { market: `0x${"ab".repeat(20)}` }]) {
    assertRejected(openUpdate(envelope, aggregator.secretKey, { ...expected, ...other }), "undecryptable", /authentication failed/);
  }
  const tampered = envelope.slice();
  tampered[tampered.length - 1]! ^= 1;
  assertRejected(openUpdate(tampered, aggregator.secretKey, expected), "undecryptable", /authentication failed/);
});

test("undecryptable, never a throw: arbitrary bytes in place of an envelope", () => {
  const crafted = [new Uint8Array(0), new Uint8Array(29), new TextEncoder().encode("FMEV\x01\x01 not really"), new Uint8Array(400).fill(7)];
  for (const bytes of crafted) {
    assertRejected(openUpdate(bytes, aggregator.secretKey, expected), "undecryptable", /^envelope: /);
  }
});

test("malformed: bytes that are no payload", () => {
  const short = sealRaw(new Uint8Array(64).fill(1));
  assertRejected(openUpdate(short, aggregator.secretKey, expected), "malformed", /shorter than the 88-byte header/);
  const bad = encodeUpdatePayload({ projectId: 7n, round: 3, config, values, salt });
  bad[4] = 9;
  assertRejected(openUpdate(sealRaw(bad), aggregator.secretKey, expected), "malformed", /unsupported version 9/);
});

test("malformed even when it opens the commitment: a payload made for another round, project, circuit or model size", () => {
  const cases: { payload: Parameters<typeof encodeUpdatePayload>[0]; detail: RegExp; commitment?: bigint }[] = [
    { payload: { projectId: 7n, round: 4, config, values, salt }, detail: /made for round 4, expected 3/ },
    { payload: { projectId: 8n, round: 3, config, values, salt }, detail: /made for project 8, expected 7/ },
    { payload: { projectId: 7n, round: 3, config: { ...config, kMax: 8 }, values, salt }, detail: /made for circuit/ },
    {
      payload: { projectId: 7n, round: 3, config, values: [...values, 1n], salt },
      detail: /has 8 values, the model has 7/,
      commitment: commitUpdate([...values, 1n], salt, config.chunk, config.updateBits),
    },
  ];
  for (const c of cases) {
    // the envelope is bound to the right submission, and the values and salt open the commitment
    const ctx = { ...expected, commitment: c.commitment ?? commitment };
    assert.equal(commitUpdate(c.payload.values, c.payload.salt, config.chunk, config.updateBits), ctx.commitment);
    assertRejected(openUpdate(sealRaw(encodeUpdatePayload(c.payload)), aggregator.secretKey, ctx), "malformed", c.detail);
  }
});

test("not-opening: a well-formed payload whose values or salt are not the committed ones", () => {
  const { envelope } = sealUpdate({ ...submission, config, values: values.map((v, i) => (i === 0 ? v + 1n : v)), salt, recipientKeys });
  assertRejected(openUpdate(envelope, aggregator.secretKey, expected), "not-opening", /does not open the commitment submitted on chain/);
  const salted = sealUpdate({ ...submission, config, values, salt: salt + 1n, recipientKeys }).envelope;
  assertRejected(openUpdate(salted, aggregator.secretKey, expected), "not-opening", /does not open/);
});

test("the caller's faults throw: a bad key length, a context that is no associated data", () => {
  const { envelope } = sealUpdate({ ...submission, config, values, salt, recipientKeys });
  assert.throws(() => openUpdate(envelope, new Uint8Array(31), expected), RangeError);
  assert.throws(() => openUpdate(envelope, aggregator.secretKey, { ...expected, market: "0x12" }), UpdatePayloadError);
  assert.throws(() => sealUpdate({ ...submission, config, values: [1n << 20n], salt, recipientKeys }), UpdatePayloadError);
});

test("fetchAndOpenUpdate: opens what the store holds; a CID it cannot fetch is missing", async () => {
  await withTempDir(async (dir) => {
    const store = await HeliaBlobStore.create({ dataDir: dir });
    try {
      const { envelope } = sealUpdate({ ...submission, config, values, salt, recipientKeys });
      const cid = await store.put(envelope);
      assert.deepEqual(await fetchAndOpenUpdate(store, cid, owner.secretKey, expected), { ok: true, values, salt });
      const other = sealUpdate({ ...submission, config, values, salt, recipientKeys }).envelope;
      const absent = await computeCid(other);
      const missing = await fetchAndOpenUpdate(store, absent, owner.secretKey, expected, { retries: 0 });
      assertRejected(missing, "missing", new RegExp(`^cannot fetch ${absent}: `));
      // the other reasons come through unchanged
      const stranger = generateKeyPair().secretKey;
      assertRejected(await fetchAndOpenUpdate(store, cid, stranger, expected), "undecryptable", /not one of the recipients/);
      // cancelling the fetch is the caller's doing, not the update's fault
      const controller = new AbortController();
      controller.abort(new Error("stopping"));
      await assert.rejects(fetchAndOpenUpdate(store, absent, owner.secretKey, expected, { signal: controller.signal }));
    } finally {
      await store.close();
    }
  });
});
