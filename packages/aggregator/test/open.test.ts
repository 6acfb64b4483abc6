/**
 * The open step: each verdict of the update codec becomes the right core `RoundSlot` (open.ts's
 * table): an update that opens and one whose committed data the proof decrypts but does not decode
 * (`bad-key`, `malformed`) enter the round with their sealed data; one that is missing or not the
 * committed data (`not-opening`) is `unavailable` (flagged next; unanswered, an empty slot for core). Real sealed updates in an in-memory store, and
 * the reference computation run on the slots, as the compute step runs it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  cipherChain,
  encryptChunk,
  FIELD_MODULUS,
  packedLength,
  publicKeyOf,
  randomScalar,
  sealedCommitment,
  sharedKey,
  simulateRound,
  type CurvePoint,
  type SealedUpdate,
} from "@fedmarket/core";
import {
  decodeSealedUpdate,
  encodeSealedUpdate,
  generateKeyPair,
  memoryLogger,
  sealUpdate,
  type BlobStore,
  type ProjectInfo,
} from "@fedmarket/protocol";
import type { AggregatorChain } from "../src/chain.ts";
import type { CollectedSlot } from "../src/steps/collect.ts";
import type { StepContext } from "../src/steps/context.ts";
import { openSlot, openSlots, roundSlotOf, type OpenContext, type SlotOpening } from "../src/steps/open.ts";
import { RoundFiles, toJson } from "../src/store.ts";

const CONFIG = { kMax: 8, chunk: 4, updateBits: 16, modelBits: 32 };
const D = 6; // two chunks, the second zero-padded
const CHAIN_ID = 31337n;
const MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const PROJECT_ID = 1n;
const ROUND = 0;
const trainer = (k: number): string => `0x${(k + 1).toString(16).padStart(40, "0")}`;

const secret = randomScalar();
const sealKey = publicKeyOf(secret);
const owner = generateKeyPair();

class MemoryStore implements BlobStore {
  readonly blobs = new Map<string, Uint8Array>();
  gets = 0;
  async put(bytes: Uint8Array): Promise<string> {
    const cid = `mem-${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}`;
    this.blobs.set(cid, bytes);
    return cid;
  }
  async get(cid: string): Promise<Uint8Array> {
    this.gets++;
    const bytes = this.blobs.get(cid);
    if (bytes === undefined) throw new Error(`no block for ${cid}`);
    return bytes;
  }
  async close(): Promise<void> {}
}

/** A collected slot whose revealed commitment and CID are the given ones. */
const collected = (slot: number, commitment: bigint, cid: string): CollectedSlot => ({
  slot,
  trainer: trainer(slot),
  commitment: commitment.toString(),
  cid,
  txHash: `0x${"00".repeat(32)}`,
  blockNumber: 1,
});

/** A blob of `sealed` (no owner wrap: the aggregator never looks at it) and the commitment it opens. */
async function pinSealed(store: MemoryStore, sealed: SealedUpdate): Promise<{ cid: string; commitment: bigint }> {
  const blob = encodeSealedUpdate({ config: CONFIG, modelSize: D, sealed, ownerWrap: new Uint8Array(0) });
  return { cid: await store.put(blob), commitment: sealedCommitment(cipherChain(sealed.chunks), sealed.ephemeral) };
}

/** Packed chunks sealed for the aggregator under a fresh ephemeral key (whatever they hold). */
function sealPacked(packed: readonly (readonly bigint[])[]): SealedUpdate {
  const e = randomScalar();
  const shared = sharedKey(e, sealKey);
  if (!shared.valid) throw new Error("unreachable");
  return { ephemeral: publicKeyOf(e), chunks: packed.map((m, j) => encryptChunk(m, shared.key, j)) };
}

/**
 * One slot per verdict: 0 and 1 open; 2 is missing; 3 is a real sealed update revealed with another
 * commitment and 6 bytes that are no sealed update (both not-opening); 4 commits to an `E` off the
 * curve (bad-key); 5 decrypts to a first element with bits above its last value (malformed).
 */
async function roundOfEveryVerdict(store: MemoryStore): Promise<{ slots: CollectedSlot[]; values: bigint[][] }> {
  const values = [0, 1].map((k) => Array.from({ length: D }, (_, i) => BigInt((i % 5) - 2 + k)));
  const seal = (k: number, v: readonly bigint[]) =>
    sealUpdate({
      chainId: CHAIN_ID,
      market: MARKET,
      projectId: PROJECT_ID,
      round: ROUND,
      trainer: trainer(k),
      config: CONFIG,
      values: v,
      sealKey,
      ownerKey: owner.publicKey,
    });
  const honest = values.map((v, k) => seal(k, v));
  const np = packedLength(CONFIG.chunk, CONFIG.updateBits);
  const offCurve: CurvePoint = [1n, 2n];
  const badKey = await pinSealed(store, { ephemeral: offCurve, chunks: decodeSealedUpdate(honest[0]!.blob).sealed.chunks });
  const junk = [[FIELD_MODULUS - 1n, ...new Array<bigint>(np - 1).fill(0n)], new Array<bigint>(np).fill(0n)];
  const malformed = await pinSealed(store, sealPacked(junk));
  const slots = [
    collected(0, honest[0]!.commitment, await store.put(honest[0]!.blob)),
    collected(1, honest[1]!.commitment, await store.put(honest[1]!.blob)),
    collected(2, 42n, "mem-nowhere"),
    collected(3, honest[0]!.commitment + 1n, await store.put(seal(3, values[0]!).blob)),
    collected(4, badKey.commitment, badKey.cid),
    collected(5, malformed.commitment, malformed.cid),
    collected(6, 43n, await store.put(new Uint8Array(100))),
  ];
  return { slots, values };
}

const openContext = (store: BlobStore): OpenContext => ({
  chainId: CHAIN_ID,
  market: MARKET,
  projectId: PROJECT_ID,
  round: ROUND,
  config: CONFIG,
  modelSize: D,
  sealSecret: secret,
  sealKey,
  store,
  timeoutMs: 500,
  retries: 0,
});

let dataDir: string;
before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-agg-open-"));
});
after(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("# openSlot", () => {
  it("maps each codec verdict to its status, and each status to the round slot the proof needs", async () => {
    const store = new MemoryStore();
    const { slots, values } = await roundOfEveryVerdict(store);
    const openings: SlotOpening[] = [];
    for (const s of slots) openings.push(await openSlot(s, openContext(store)));

    assert.deepEqual(
      openings.map((o) => [o.status, o.status === "opened" ? undefined : o.reason]),
      [
        ["opened", undefined],
        ["opened", undefined],
        ["unavailable", "missing"],
        ["unavailable", "not-opening"],
        ["not-decoded", "bad-key"],
        ["not-decoded", "malformed"],
        ["unavailable", "not-opening"],
      ],
    );
    const o0 = openings[0];
    assert.deepEqual(o0?.status === "opened" && o0.update, values[0]!.map(String));

    const roundSlots = openings.map(roundSlotOf);
    const sealedAt = (k: number): SealedUpdate => decodeSealedUpdate(store.blobs.get(slots[k]!.cid)!).sealed;
    for (const k of [0, 1, 4, 5]) {
      assert.deepEqual(roundSlots[k], { commitment: BigInt(slots[k]!.commitment), sealed: sealedAt(k) }, `slot ${k}: with its sealed data`);
    }
    for (const k of [2, 3, 6]) {
      assert.deepEqual(roundSlots[k], { commitment: BigInt(slots[k]!.commitment), unavailable: true }, `slot ${k}: unavailable`);
    }

    // As openings.json stores them: the same round slots, nothing to fetch again.
    const stored = JSON.parse(toJson(openings)) as SlotOpening[];
    assert.deepEqual(stored.map(roundSlotOf), roundSlots);

    const round = simulateRound({ config: CONFIG, prevModel: new Array<bigint>(D).fill(0n), slots: roundSlots, f: 0, keccak: 1n, secret });
    assert.deepEqual(round.decoded, [true, true, false, false, false, false, false, false]);
    assert.deepEqual(round.updates[0], values[0]);
    assert.deepEqual(round.updates[1], values[1]);
    // Two valid updates are fewer than 2f + 3 = 3: none aggregated. The not-decoded slots (bad key,
    // malformed) are status 3; the unavailable ones (once flagged and not answered) are empty, status 0.
    assert.deepEqual(round.rule.status, [2, 2, 0, 0, 3, 3, 0, 0]);
    assert.deepEqual(round.decision.publicSignals.slice(4, 6), [...sealKey], "the decision signals carry the seal key");
  });
});

describe("# openSlots", () => {
  it("saves every decision with the sealed data, so a restart reads openings.json and fetches nothing", async () => {
    const store = new MemoryStore();
    const { slots } = await roundOfEveryVerdict(store);
    const log = memoryLogger();
    const ctx = (s: BlobStore): StepContext => ({
      chain: { client: { address: MARKET } } as unknown as AggregatorChain,
      store: s,
      log,
      config: { address: trainer(99), chainId: CHAIN_ID, dataDir, sealSecret: secret, ipfsTimeoutMs: 500, ipfsRetries: 0 },
      checkpoint: async () => {},
      projectId: PROJECT_ID,
      round: ROUND,
      files: new RoundFiles(dataDir, PROJECT_ID, ROUND),
    });
    const project = { id: PROJECT_ID, params: { modelSize: D }, aggregatorSealKey: sealKey } as unknown as ProjectInfo;
    const first = await openSlots(ctx(store), project, CONFIG, slots);
    assert.deepEqual(
      log.records.filter((r) => r.event === "slot.excluded").map((r) => [r.fields.slot, r.fields.status, r.fields.reason]),
      [
        [2, "unavailable", "missing"],
        [3, "unavailable", "not-opening"],
        [4, "not-decoded", "bad-key"],
        [5, "not-decoded", "malformed"],
        [6, "unavailable", "not-opening"],
      ],
    );
    assert.match(log.records.find((r) => r.event === "round.opened")?.msg ?? "", /2 update\(s\) opened, 3 not available, 2 not decoded/);

    const offline = new MemoryStore();
    const again = await openSlots(ctx(offline), project, CONFIG, slots);
    assert.equal(offline.gets, 0);
    assert.deepEqual(again.map(roundSlotOf), first.map(roundSlotOf));
  });
});
