/**
 * The openings check with the owner's key: real sealed updates (and sealed updates broken in each
 * way the codec names) in an in-memory store, opened for the seal key the round's aggregator
 * registered, judged against proven outcomes (given here as the proofs fact would give them).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  cipherChain,
  encryptChunk,
  FIELD_MODULUS,
  packedLength,
  publicKeyOf,
  randomScalar,
  sealedCommitment,
  sharedKey,
  SlotStatus,
  type CurvePoint,
  type SlotOutcome,
} from "@fedmarket/core";
import {
  decodeSealedUpdate,
  encodeSealedUpdate,
  flatCipher,
  generateKeyPair,
  sealEnvelope,
  sealUpdate,
  updateAssociatedData,
  type ProjectHistory,
  type SealKey,
} from "@fedmarket/protocol";
import { checkOpenings, roundSealKey, sealKeyProblem } from "../src/index.ts";
import {
  acceptance,
  auditContext,
  CIRCUIT,
  D,
  finalized,
  MARKET,
  MemoryStore,
  opened,
  pinSpec,
  PROJECT_ID,
  projectHistory,
  projectInfo,
  proven,
  roundHistory,
  SEAL_KEY,
  submission,
  trainer,
  tx,
} from "./fixtures.ts";

const owner = generateKeyPair();
/** The key of an aggregator appointed later: the project's view shows it, round 0 was sealed for SEAL_KEY. */
const LATER_KEY: SealKey = publicKeyOf(987_654_321n);
const ROUND = 0;
const submissionContext = (slot: number) => ({
  chainId: 31337n,
  market: MARKET,
  projectId: PROJECT_ID,
  round: ROUND,
  trainer: trainer(slot),
});
const honestValues = Array.from({ length: D }, (_, k) => BigInt((k % 7) - 3));

type Pinned = { cid: string; commitment: bigint };

/** An update sealed as a trainer seals it, for SEAL_KEY and the owner (or another owner). */
async function honest(store: MemoryStore, slot: number, ownerKey = owner.publicKey): Promise<Pinned> {
  const { blob, commitment } = sealUpdate({
    ...submissionContext(slot),
    config: CIRCUIT,
    values: honestValues,
    sealKey: SEAL_KEY,
    ownerKey,
  });
  return { cid: await store.put(blob), commitment };
}

/** Bytes that are no sealed update, revealed with some commitment (not-opening). */
async function notOpening(store: MemoryStore): Promise<Pinned> {
  return { cid: await store.put(new Uint8Array(64)), commitment: 9n };
}

/** A committed `E` off the curve (bad-key), over the ciphertext of an honest update. */
async function badKey(store: MemoryStore): Promise<Pinned> {
  const { blob } = sealUpdate({
    ...submissionContext(0),
    config: CIRCUIT,
    values: honestValues,
    sealKey: SEAL_KEY,
    ownerKey: owner.publicKey,
  });
  const ephemeral: CurvePoint = [1n, 2n];
  const { chunks } = decodeSealedUpdate(blob).sealed;
  const bytes = encodeSealedUpdate({ config: CIRCUIT, modelSize: D, sealed: { ephemeral, chunks }, ownerWrap: new Uint8Array(0) });
  return { cid: await store.put(bytes), commitment: sealedCommitment(cipherChain(chunks), ephemeral) };
}

/** A plaintext with bits above its last value (malformed), sealed for SEAL_KEY, with `e` wrapped for the owner. */
async function malformed(store: MemoryStore, slot: number): Promise<Pinned> {
  const e = randomScalar();
  const shared = sharedKey(e, SEAL_KEY);
  if (!shared.valid) throw new Error("unreachable");
  const np = packedLength(CIRCUIT.chunk, CIRCUIT.updateBits);
  const chunkCount = Math.ceil(D / CIRCUIT.chunk);
  const packed = Array.from({ length: chunkCount }, (_, j) =>
    Array.from({ length: np }, (_, i) => (j === 0 && i === 0 ? FIELD_MODULUS - 1n : 0n)),
  );
  const sealed = { ephemeral: publicKeyOf(e), chunks: packed.map((m, j) => encryptChunk(m, shared.key, j)) };
  const eBytes = Uint8Array.from(Buffer.from(e.toString(16).padStart(64, "0"), "hex"));
  const ownerWrap = sealEnvelope(eBytes, [owner.publicKey], { associatedData: updateAssociatedData(submissionContext(slot)) });
  const bytes = encodeSealedUpdate({ config: CIRCUIT, modelSize: D, sealed, ownerWrap });
  return { cid: await store.put(bytes), commitment: sealedCommitment(cipherChain(sealed.chunks), sealed.ephemeral) };
}

/** Round 0, finalized, with one update per slot; its aggregator registered SEAL_KEY just before it opened. */
function history(updates: readonly Pinned[]): ProjectHistory {
  return projectHistory({
    accepted: [acceptance(2, SEAL_KEY)],
    rounds: [
      roundHistory({
        round: ROUND,
        opened: opened(ROUND, 4, 1000n),
        submissions: updates.map((u, k) => submission(ROUND, k, 5 + k, u.commitment, u.cid)),
        end: finalized(ROUND, tx(0xf0), { totalScore: 1n, paid: 1n }),
      }),
    ],
  });
}

async function findingsOf(store: MemoryStore, updates: readonly Pinned[], outcomes: readonly SlotOutcome[], h = history(updates)) {
  const specCid = await pinSpec(store);
  const ctx = auditContext(
    { history: h, store, project: projectInfo({ specCid, aggregatorSealKey: LATER_KEY }), ownerSecretKey: owner.secretKey },
    {},
    { roundProofs: async (_ctx, round) => (round === ROUND ? proven(outcomes) : undefined) },
  );
  return { ctx, findings: await checkOpenings(ctx) };
}

const inlier = { status: SlotStatus.Inlier, score: 5n };
const notAggregated = { status: SlotStatus.NotAggregated, score: 0n };
const excluded = { status: SlotStatus.Excluded, score: 0n };

describe("# checkOpenings", () => {
  it("opens each update for the round's seal key and judges the proven outcomes", async () => {
    const store = new MemoryStore();
    const updates = [await honest(store, 0), await honest(store, 1), await notOpening(store), await malformed(store, 3)];
    const { ctx, findings } = await findingsOf(store, updates, [inlier, excluded, notAggregated, inlier]);
    assert.deepEqual(
      findings.map((f) => [f.severity, f.round, f.slot]),
      [
        ["failure", 0, 1],
        ["failure", 0, 2],
        ["failure", 0, 3],
      ],
    );
    assert.equal(
      findings[0]?.message,
      `round 0 slot 1 (${trainer(1)}): proven as not decoded (excluded), but its update (${updates[1]?.cid}) opens its commitment and decodes with the owner's key: ` +
        "status 3 stands only for proven reasons (a key off the curve, a malformed plaintext), which a decodable update does not admit",
    );
    assert.match(
      findings[1]?.message ?? "",
      new RegExp(
        `^round 0 slot 2 \\(${trainer(2)}\\): proven as decoded \\(not aggregated\\), but the owner finds that the update at ${updates[2]?.cid} is not the data its commitment opens \\(not-opening: `,
      ),
    );
    assert.match(
      findings[2]?.message ?? "",
      /^round 0 slot 3 .*: proven as decoded \(inlier\), but the owner finds that the update at .* does not unpack \(malformed: chunk 0 /,
    );

    const openings = await ctx.openings(ROUND);
    assert.deepEqual(
      [0, 1].map((k) => openings?.get(k)),
      [
        { opens: true, source: "ipfs" },
        { opens: true, source: "ipfs" },
      ],
    );
    assert.deepEqual(
      [2, 3].map((k) => openings?.get(k)?.unusable?.reason),
      ["not-opening", "malformed"],
    );
  });

  it("finds nothing in an exclusion the owner's key confirms: not the committed data, missing, a key off the curve, malformed", async () => {
    const store = new MemoryStore();
    const updates = [await notOpening(store), { cid: "mem-nowhere", commitment: 11n }, await badKey(store), await malformed(store, 3)];
    const { ctx, findings } = await findingsOf(store, updates, [excluded, excluded, excluded, excluded]);
    assert.deepEqual(findings, []);
    const openings = await ctx.openings(ROUND);
    assert.deepEqual(
      [0, 1, 2, 3].map((k) => openings?.get(k)?.unusable?.reason),
      ["not-opening", "missing", "bad-key", "malformed"],
    );
  });

  it("warns of a decoded update the owner cannot check: missing, or its wrap not for the owner", async () => {
    const store = new MemoryStore();
    const updates = [await honest(store, 0), { cid: "mem-nowhere", commitment: 11n }, await honest(store, 2, generateKeyPair().publicKey)];
    const { findings } = await findingsOf(store, updates, [inlier, inlier, notAggregated]);
    assert.deepEqual(
      findings.map((f) => [f.severity, f.slot, /but the owner cannot check its update/.test(f.message)]),
      [
        ["warning", 1, true],
        ["warning", 2, true],
      ],
    );
    assert.match(findings[0]?.message ?? "", /: missing: cannot fetch mem-nowhere/);
    assert.match(findings[1]?.message ?? "", /: undecryptable: the owner wrap does not open/);
  });

  it("says so when the round's seal key is unknown, and opens nothing", async () => {
    const store = new MemoryStore();
    const updates = [await honest(store, 0)];
    const h = history(updates);
    // Only a later acceptance in the history read: which key round 0 was sealed for is not known.
    const { ctx, findings } = await findingsOf(store, updates, [inlier], { ...h, accepted: [acceptance(200, LATER_KEY)] });
    assert.deepEqual(
      findings.map((f) => [f.severity, f.round]),
      [["info", 0]],
    );
    assert.match(
      findings[0]?.message ?? "",
      /^round 0: the seal key its updates were sealed for is unknown .*--from-block\): its updates were not opened$/,
    );
    assert.equal(await ctx.openings(ROUND), undefined);
  });

  it("without the owner's key says so and opens nothing", async () => {
    const store = new MemoryStore();
    const ctx = auditContext({
      history: history([await honest(store, 0)]),
      store,
      project: projectInfo({ specCid: await pinSpec(store) }),
    });
    assert.deepEqual(await checkOpenings(ctx), [
      { check: "openings", severity: "info", message: "no owner key: the updates were not opened" },
    ]);
    assert.equal(await ctx.openings(ROUND), undefined);
  });
});

describe("# checkOpenings: flags", () => {
  const empty = { status: SlotStatus.Empty, score: 0n };
  /** `history(updates)` with slots 1 and 2 flagged, slot 1's flag answered with the data of `published`. */
  function flaggedHistory(updates: readonly Pinned[], published: Uint8Array): ProjectHistory {
    const h = history(updates);
    const r = h.rounds[ROUND]!;
    const { sealed, ownerWrap } = decodeSealedUpdate(published);
    const at = { projectId: 1n, round: ROUND, blockNumber: 7, transactionHash: tx(0xe0), logIndex: 0 };
    const flags = [1, 2].map((slot) => ({ ...at, trainer: trainer(slot), slot, answerDeadline: 100 }));
    const publications = [
      { ...at, trainer: trainer(1), slot: 1, firstChunk: 0, ephemeral: sealed.ephemeral, cipher: flatCipher(sealed), ownerWrap },
    ];
    return { ...h, rounds: [{ ...r, flags, publications }] };
  }

  it("an answered slot is opened from the chain's data; an unanswered one is an info line, a warning if the owner opens it from IPFS", async () => {
    const store = new MemoryStore();
    const updates = [await honest(store, 0), await honest(store, 1), await honest(store, 2)];
    const blob1 = await store.get(updates[1]!.cid);
    store.blobs.delete(updates[1]!.cid); // only on chain now
    const { ctx, findings } = await findingsOf(store, updates, [inlier, inlier, empty], flaggedHistory(updates, blob1));
    const openings = await ctx.openings(ROUND);
    assert.deepEqual(openings?.get(1), { opens: true, source: "chain", flag: "answered" });
    assert.deepEqual(openings?.get(2), { opens: true, source: "ipfs", flag: "unanswered" });
    assert.deepEqual(
      findings.map((f) => [f.severity, f.slot]),
      [["warning", 2]],
    );
    assert.match(
      findings[0]?.message ?? "",
      /round 0 slot 2 .*not answered on chain: an empty slot, unpaid; but the owner fetches its update .* opens and decodes/,
    );

    store.blobs.delete(updates[2]!.cid);
    const gone = await findingsOf(store, updates, [inlier, inlier, empty], flaggedHistory(updates, blob1));
    assert.deepEqual(
      gone.findings.map((f) => [f.severity, f.slot]),
      [["info", 2]],
    );
    assert.match(gone.findings[0]?.message ?? "", /empty slot, unpaid \(the owner cannot open it either: missing\)$/);
  });

  it("without the owner's key the unanswered flags are still reported", async () => {
    const store = new MemoryStore();
    const updates = [await honest(store, 0), await honest(store, 1), await honest(store, 2)];
    const ctx = auditContext({
      history: flaggedHistory(updates, await store.get(updates[1]!.cid)),
      store,
      project: projectInfo({ specCid: await pinSpec(store) }),
    });
    assert.deepEqual(
      (await checkOpenings(ctx)).map((f) => [f.severity, f.slot]),
      [
        ["info", undefined],
        ["info", 2],
      ],
    );
  });
});

describe("# roundSealKey", () => {
  /** Round 0 opened at block 4 after an acceptance at block 2; it failed; round 1 opened at 101 after a new acceptance at 100. */
  const twoAggregators = (): ProjectHistory =>
    projectHistory({
      accepted: [acceptance(2, SEAL_KEY), acceptance(100, LATER_KEY)],
      rounds: [roundHistory({ round: 0, opened: opened(0, 4, 1000n) }), roundHistory({ round: 1, opened: opened(1, 101, 1000n) })],
    });

  it("is the key of the last acceptance before the round opened", () => {
    const project = projectInfo({ aggregatorSealKey: LATER_KEY });
    assert.deepEqual(roundSealKey(twoAggregators(), project, 0), SEAL_KEY);
    assert.deepEqual(roundSealKey(twoAggregators(), project, 1), LATER_KEY);
  });

  it("is the project's current key when the history read holds no acceptance, and unknown otherwise", () => {
    const noAcceptance = { ...twoAggregators(), accepted: [] };
    assert.deepEqual(roundSealKey(noAcceptance, projectInfo({ aggregatorSealKey: LATER_KEY }), 0), LATER_KEY);
    assert.equal(roundSealKey(noAcceptance, projectInfo({ aggregatorSealKey: [0n, 0n] }), 0), undefined, "no aggregator now");
    const onlyLater = { ...twoAggregators(), accepted: [acceptance(100, LATER_KEY)] };
    assert.equal(roundSealKey(onlyLater, projectInfo({ aggregatorSealKey: LATER_KEY }), 0), undefined, "replaced since");
  });

  it("names a key no update can be sealed for", () => {
    assert.equal(sealKeyProblem(SEAL_KEY, 0), undefined);
    assert.match(
      sealKeyProblem([0n, FIELD_MODULUS - 1n], 3) ?? "",
      /^round 3: the registered seal key .* \(off the curve or of low order\)$/,
    );
    assert.match(sealKeyProblem([1n, 2n], 3) ?? "", /off the curve or of low order/);
  });
});
