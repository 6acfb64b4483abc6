/**
 * The update codec: a sealed update opens for the aggregator (seal secret) and the owner (X25519
 * wrap) alike; each way an update can be unusable is named by its reason, first failing check
 * first, and both keys reach the same verdict on every blob whose wrap the owner can open; the
 * caller's own faults throw; no bytes make it throw. Deviant blobs are built with core's cipher
 * functions (what a faulty trainer can pin), never by hand.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  cipherChain,
  FIELD_MODULUS,
  isOnCurve,
  openSealedChunks,
  pack,
  padToChunks,
  publicKeyOf,
  randomScalar,
  sealChunks,
  sealedCommitment,
  sealedSlot,
  splitChunks,
  unpack,
  type CircuitConfig,
  type CurvePoint,
  type SealedUpdate,
} from "@fedmarket/core";
import { getBytes, toBeHex } from "ethers";
import { generateKeyPair, sealEnvelope } from "../src/envelope.ts";
import { decodeSealedUpdate, encodeSealedUpdate } from "../src/sealed-update.ts";
import { computeCid, HeliaBlobStore } from "../src/storage/index.ts";
import {
  fetchAndOpenUpdate,
  openUpdate,
  sealUpdate,
  updateAssociatedData,
  UpdateCodecError,
  type AggregatorUpdateKey,
  type OpenUpdateContext,
  type OwnerUpdateKey,
  type UpdateContext,
  type UpdateOpening,
} from "../src/update-codec.ts";
import { withTempDir } from "./helpers.ts";

// CHUNK 20 at B = 16: 15 values per element, so 2 elements per chunk (15 + 5 values); D = 30 is
// two chunks, the second half padding.
const config: CircuitConfig = { kMax: 4, chunk: 20, updateBits: 16, modelBits: 32 };
const values = Array.from({ length: 30 }, (_, i) => BigInt(((i * 7919) % 65536) - 32768));
values[0] = 32767n;
values[29] = -32768n;
const aggregatorSecret = randomScalar();
const sealKey = publicKeyOf(aggregatorSecret);
const owner = generateKeyPair();
const aggregator: AggregatorUpdateKey = { kind: "aggregator", secret: aggregatorSecret };
const ownerKey: OwnerUpdateKey = { kind: "owner", secretKey: owner.secretKey };
const submission: UpdateContext = {
  chainId: 31337n,
  market: `0x${"aa".repeat(20)}`,
  projectId: 7n,
  round: 3,
  trainer: `0x${"bb".repeat(20)}`,
};
const honest = sealUpdate({ ...submission, config, values, sealKey, ownerKey: owner.publicKey });
const expected: OpenUpdateContext = { ...submission, config, modelSize: values.length, commitment: honest.commitment, sealKey };

const json = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
const secretBytes = (e: bigint): Uint8Array => getBytes(toBeHex(e, 32));

/** The packed chunks of an update (core's packing), for sealing deviant plaintexts. */
function packedChunks(update: readonly bigint[]): bigint[][] {
  return splitChunks(padToChunks(update, config.chunk), config.chunk).map((c) => pack(c, config.updateBits));
}

/** A wrap of `secret` for `recipient`, bound to `ctx`: what a trainer puts next to its ciphertext. */
function wrap(secret: Uint8Array, recipient: Uint8Array = owner.publicKey, ctx: UpdateContext = submission): Uint8Array {
  return sealEnvelope(secret, [recipient], { associatedData: updateAssociatedData(ctx) });
}

/** A blob around any sealed update and wrap, and the commitment its ciphertext and E give. */
function craft(sealed: SealedUpdate, ownerWrap: Uint8Array): { blob: Uint8Array; context: OpenUpdateContext } {
  const commitment = sealedCommitment(cipherChain(sealed.chunks), sealed.ephemeral);
  return { blob: encodeSealedUpdate({ config, modelSize: values.length, sealed, ownerWrap }), context: { ...expected, commitment } };
}

/** `packed` sealed under `e` for the aggregator, with `e` wrapped for the owner. */
function sealPacked(packed: readonly (readonly bigint[])[], e: bigint = randomScalar()): { blob: Uint8Array; context: OpenUpdateContext } {
  return craft(sealChunks(packed, sealKey, e).sealed, wrap(secretBytes(e)));
}

function assertRejected(got: UpdateOpening, reason: string, detail: RegExp): void {
  assert.equal(got.ok, false, json(got));
  if (got.ok) return;
  assert.equal(got.reason, reason, got.detail);
  assert.match(got.detail, detail);
}

/** Opens with both keys; they must agree unless the owner's wrap does not open. */
function openBoth(blob: Uint8Array, context: OpenUpdateContext = expected): { aggregator: UpdateOpening; owner: UpdateOpening } {
  const a: UpdateOpening = openUpdate(blob, aggregator, context);
  const o: UpdateOpening = openUpdate(blob, ownerKey, context);
  assert.ok(a.ok || a.reason !== "undecryptable", "undecryptable is never the aggregator's reason");
  if (o.ok || o.reason !== "undecryptable") {
    assert.deepEqual(o.ok ? o : { ok: o.ok, reason: o.reason }, a.ok ? a : { ok: a.ok, reason: a.reason }, "aggregator and owner disagree");
  }
  return { aggregator: a, owner: o };
}

function assertBothRejected(blob: Uint8Array, context: OpenUpdateContext, reason: string, detail: RegExp): void {
  const { aggregator: a, owner: o } = openBoth(blob, context);
  assertRejected(a, reason, detail);
  assertRejected(o, reason, detail);
}

test("a sealed update opens for the aggregator and the owner: its values and the sealed update of core's reference", () => {
  const reference = sealedSlot(config, values, sealKey, honest.ephemeralSecret);
  assert.ok(reference.sealed !== undefined);
  assert.equal(honest.commitment, reference.commitment);
  assert.deepEqual(decodeSealedUpdate(honest.blob).sealed, reference.sealed);
  const { aggregator: a, owner: o } = openBoth(honest.blob);
  assert.deepEqual(a, { ok: true, values, sealed: reference.sealed });
  assert.deepEqual(o, a);
  // what the round proof decrypts: the update, zero-padded to whole chunks
  const chunks = openSealedChunks(reference.sealed, aggregatorSecret) ?? [];
  assert.deepEqual(
    chunks.flatMap((c) => unpack(c, config.updateBits, config.chunk)),
    padToChunks(values, config.chunk),
  );
});

test("resealing with the returned ephemeral secret gives the same blob, CID and commitment; a fresh secret does not", async () => {
  const again = sealUpdate({ ...submission, config, values, sealKey, ownerKey: owner.publicKey, ephemeralSecret: honest.ephemeralSecret });
  assert.deepEqual(again, honest);
  assert.equal(await computeCid(again.blob), await computeCid(honest.blob));
  const fresh = sealUpdate({ ...submission, config, values, sealKey, ownerKey: owner.publicKey });
  assert.notEqual(fresh.ephemeralSecret, honest.ephemeralSecret);
  assert.notEqual(fresh.commitment, honest.commitment);
  assert.notDeepEqual(fresh.blob, honest.blob);
});

test("not-opening: a blob made for another circuit configuration or model size", () => {
  for (const [other, detail] of [
    [{ ...config, chunk: 16 }, /chunk: made for chunk 16, the project's circuit has 20/],
    [{ ...config, kMax: 8 }, /kMax: made for kMax 8/],
    [{ ...config, modelBits: 40 }, /modelBits: made for modelBits 40/],
  ] as const) {
    const r = sealUpdate({ ...submission, config: other, values, sealKey, ownerKey: owner.publicKey });
    assertBothRejected(r.blob, { ...expected, commitment: r.commitment }, "not-opening", detail);
  }
  const longer = sealUpdate({ ...submission, config, values: [...values, 1n], sealKey, ownerKey: owner.publicKey });
  assertBothRejected(longer.blob, { ...expected, commitment: longer.commitment }, "not-opening", /valueCount: 31 values, the model has 30/);
});

test("not-opening: a ciphertext element or E that is not the committed one, another commitment, bytes that are no blob", () => {
  const decoded = decodeSealedUpdate(honest.blob);
  const flipped: SealedUpdate = {
    ephemeral: decoded.sealed.ephemeral,
    chunks: decoded.sealed.chunks.map((c, j) => c.map((x, i) => (j === 1 && i === 0 ? (x + 1n) % FIELD_MODULUS : x))),
  };
  const opens = /the ciphertext and E do not open the commitment revealed on chain/;
  assertBothRejected(encodeSealedUpdate({ ...decoded, sealed: flipped }), expected, "not-opening", opens);
  const otherE: SealedUpdate = { ...decoded.sealed, ephemeral: publicKeyOf(randomScalar()) };
  assertBothRejected(encodeSealedUpdate({ ...decoded, sealed: otherE }), expected, "not-opening", opens);
  const other = sealUpdate({ ...submission, config, values, sealKey, ownerKey: owner.publicKey });
  assertBothRejected(other.blob, expected, "not-opening", opens);
  const oldFormat = sealEnvelope(new Uint8Array(100), [owner.publicKey]);
  for (const [bytes, detail] of [
    [new Uint8Array(0), /length: 0 bytes is shorter/],
    [new Uint8Array(400).fill(7), /magic/],
    [oldFormat, /magic: "FMEV", expected FMSU/],
    [honest.blob.subarray(0, honest.blob.length - 1), /length: /],
  ] as const) {
    assertBothRejected(bytes, expected, "not-opening", detail);
  }
});

test("bad-key: a committed E off the curve (the commitment made over it)", () => {
  const decoded = decodeSealedUpdate(honest.blob);
  const offCurve: CurvePoint = [5n, 7n];
  assert.equal(isOnCurve(offCurve), false);
  const { blob, context } = craft({ ...decoded.sealed, ephemeral: offCurve }, decoded.ownerWrap);
  assertBothRejected(blob, context, "bad-key", /the committed E \[5, 7\] is not on the curve/);
});

test("undecryptable for the owner only: a wrap that is not the owner's, not for this submission, or holds another secret", () => {
  const e = honest.ephemeralSecret;
  const { sealed } = decodeSealedUpdate(honest.blob);
  const cases: [Uint8Array, RegExp][] = [
    [wrap(secretBytes(e), generateKeyPair().publicKey), /the owner wrap does not open: envelope: this key is not one of the recipients/],
    // the same ciphertext with its wrap bound to another trainer, round or deployment
    [wrap(secretBytes(e), owner.publicKey, { ...submission, trainer: `0x${"cc".repeat(20)}` }), /authentication failed/],
    [wrap(secretBytes(e), owner.publicKey, { ...submission, round: 4 }), /authentication failed/],
    [wrap(secretBytes(e), owner.publicKey, { ...submission, chainId: 1n }), /authentication failed/],
    [wrap(secretBytes(randomScalar())), /holds a secret that is not the one of the committed E/],
    [wrap(secretBytes(e).subarray(1)), /holds 31 bytes, not a 32-byte secret/],
    [wrap(secretBytes(0n)), /holds no scalar in \[1, l\)/],
    [new Uint8Array(0), /the owner wrap does not open: envelope: /],
  ];
  for (const [ownerWrap, detail] of cases) {
    const { blob, context } = craft(sealed, ownerWrap);
    assert.equal(context.commitment, honest.commitment, "the wrap is not committed");
    const { aggregator: a, owner: o } = openBoth(blob, context);
    assert.deepEqual(a, { ok: true, values, sealed });
    assertRejected(o, "undecryptable", detail);
  }
  // sealUpdate itself binds the wrap: a blob sealed for another trainer keeps its ciphertext
  const copied = sealUpdate({
    ...submission,
    trainer: `0x${"cc".repeat(20)}`,
    config,
    values,
    sealKey,
    ownerKey: owner.publicKey,
    ephemeralSecret: e,
  });
  assert.equal(copied.commitment, honest.commitment);
  assertRejected(openUpdate(copied.blob, ownerKey, expected), "undecryptable", /authentication failed/);
});

test("malformed: a plaintext that does not unpack to B-bit values, sealed deliberately", () => {
  const junk: [(packed: bigint[][]) => void, RegExp][] = [
    // chunk 1's last element holds 5 values (80 bits): a bit above them
    [(p) => (p[1]![1]! |= 1n << 200n), /chunk 1 does not unpack to 16-bit values: packed element 1 .* is not in \[0, 2\^80\)/],
    // chunk 0's first element is full (15 values, 240 bits): a bit above them
    [(p) => (p[0]![0]! |= 1n << 245n), /chunk 0 .*packed element 0 .* is not in \[0, 2\^240\)/],
    // a field element far beyond any packing (a "negative" plaintext)
    [(p) => (p[1]![0] = FIELD_MODULUS - 1n), /chunk 1 .*packed element 0/],
  ];
  for (const [spoil, detail] of junk) {
    const packed = packedChunks(values);
    spoil(packed);
    const { blob, context } = sealPacked(packed);
    assertBothRejected(blob, context, "malformed", detail);
  }
  // the same construction without junk opens: the junk is the only fault
  const { blob, context } = sealPacked(packedChunks(values));
  assert.equal(openBoth(blob, context).owner.ok, true);
});

test("the caller's faults throw UpdateCodecError", () => {
  const throws = (fn: () => unknown, detail: RegExp) =>
    assert.throws(fn, (err: unknown) => err instanceof UpdateCodecError && detail.test(err.message));
  throws(() => openUpdate(honest.blob, { kind: "owner", secretKey: new Uint8Array(31) }, expected), /32 bytes, got 31/);
  throws(() => openUpdate(honest.blob, { kind: "aggregator", secret: randomScalar() }, expected), /not the one of the project's seal key/);
  throws(() => openUpdate(honest.blob, { kind: "aggregator", secret: 0n }, expected), /not a scalar in \[1, l\)/);
  throws(() => openUpdate(honest.blob, ownerKey, { ...expected, market: "0x12" }), /market "0x12" is not an address/);
  throws(() => openUpdate(honest.blob, ownerKey, { ...expected, sealKey: [5n, 7n] }), /seal key \[5, 7\] is not a BabyJubJub point/);
  throws(() => openUpdate(honest.blob, ownerKey, { ...expected, modelSize: 0 }), /model size 0/);
  const input = { ...submission, config, values, sealKey, ownerKey: owner.publicKey };
  throws(() => sealUpdate({ ...input, values: [1n << 20n] }), /cannot seal the values: value 1048576 is not in/);
  throws(() => sealUpdate({ ...input, values: [] }), /needs 1 to/);
  throws(() => sealUpdate({ ...input, sealKey: [0n, FIELD_MODULUS - 1n] }), /has low order/); // the point of order 2
  throws(() => sealUpdate({ ...input, ownerKey: new Uint8Array(31) }), /32 bytes, got 31/);
  throws(() => sealUpdate({ ...input, ephemeralSecret: 0n }), /ephemeral secret is not a scalar/);
  throws(() => sealUpdate({ ...input, config: { ...config, kMax: 0 } }), /circuit configuration: K_MAX 0/);
  throws(() => sealUpdate({ ...input, round: -1 }), /round -1 is not a u32/);
});

test("fetchAndOpenUpdate: opens what the store holds; a CID it cannot fetch is missing", async () => {
  await withTempDir(async (dir) => {
    const store = await HeliaBlobStore.create({ dataDir: dir });
    try {
      const cid = await store.put(honest.blob);
      const { sealed } = decodeSealedUpdate(honest.blob);
      assert.deepEqual(await fetchAndOpenUpdate(store, cid, ownerKey, expected), { ok: true, values, sealed });
      assert.deepEqual(await fetchAndOpenUpdate(store, cid, aggregator, expected), { ok: true, values, sealed });
      const absent = await computeCid(new Uint8Array([1, 2, 3]));
      const missing = await fetchAndOpenUpdate(store, absent, aggregator, expected, { retries: 0 });
      assertRejected(missing, "missing", new RegExp(`^cannot fetch ${absent}: `));
      // the other reasons come through unchanged
      const stranger: OwnerUpdateKey = { kind: "owner", secretKey: generateKeyPair().secretKey };
      assertRejected(await fetchAndOpenUpdate(store, cid, stranger, expected), "undecryptable", /not one of the recipients/);
      // cancelling the fetch is the caller's doing, not the update's fault; so is a bad context
      const controller = new AbortController();
      controller.abort(new Error("stopping"));
      await assert.rejects(fetchAndOpenUpdate(store, absent, ownerKey, expected, { signal: controller.signal }));
      await assert.rejects(fetchAndOpenUpdate(store, absent, ownerKey, { ...expected, trainer: "0x1" }), UpdateCodecError);
    } finally {
      await store.close();
    }
  });
});

/** A small deterministic PRNG (mulberry32), so that a failing mutation can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

test("fuzz: random byte mutations of sealed blobs never make openUpdate throw, and both keys agree", () => {
  const random = prng(20_251_122);
  const int = (n: number): number => Math.floor(random() * n);
  const offCurve = craft({ ...decodeSealedUpdate(honest.blob).sealed, ephemeral: [5n, 7n] }, decodeSealedUpdate(honest.blob).ownerWrap);
  const spoiled = packedChunks(values);
  spoiled[1]![1]! |= 1n << 200n;
  const bases = [{ blob: honest.blob, context: expected }, offCurve, sealPacked(spoiled)];
  const at = (b: Uint8Array, change: (x: number) => number): Uint8Array => {
    const c = b.slice();
    const i = int(c.length);
    if (i < c.length) c[i] = change(c[i]!);
    return c;
  };
  const mutations: ((b: Uint8Array) => Uint8Array)[] = [
    (b) => at(b, (x) => x ^ (1 << int(8))), // a bit, anywhere
    (b) => at(b, () => int(256)), // a byte
    (b) => b.subarray(0, int(b.length + 1)), // truncated
    (b) => Uint8Array.from([...b, ...Array.from({ length: 1 + int(64) }, () => int(256))]), // extended
    (b) => {
      const c = b.slice(); // a header word (chunk, count, chunks or wrap length) set at random
      if (c.length >= 24) new DataView(c.buffer).setUint32(8 + 4 * int(4), int(2 ** 32), true);
      return c;
    },
    (b) => {
      const c = b.slice(); // a 32-byte word of E or the ciphertext replaced
      const word = 24 + 32 * int(6);
      if (c.length >= word + 32)
        c.set(
          Array.from({ length: 32 }, () => int(256)),
          word,
        );
      return c;
    },
  ];
  const seen = new Map<string, number>();
  for (let n = 0; n < 150; n++) {
    const base = bases[int(bases.length)]!;
    let bytes = base.blob;
    for (let m = 1 + int(3); m > 0; m--) bytes = mutations[int(mutations.length)]!(bytes);
    const { aggregator: a, owner: o } = openBoth(bytes, base.context);
    for (const r of [a, o]) {
      const key = r.ok ? "ok" : r.reason;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  // the mutations reach every reason (not-opening from the committed bytes, undecryptable from the wrap)
  assert.deepEqual([...seen.keys()].sort(), ["bad-key", "malformed", "not-opening", "ok", "undecryptable"], json([...seen]));
});
