/**
 * The chain-history reader against an in-process log store: the marketplace's real ABI encodes
 * every log, a provider answers `eth_getLogs` by address, block range and topics like a node
 * does, and the real `FedMarketClient` reads it in bounded windows. The project has a finalized,
 * a skipped, a failed, a second finalized and a final skipped round, and shares the chain with
 * another project whose logs must never leak into it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { toBeHex, type TopicFilter } from "ethers";
import {
  buildHistory,
  decisionReference,
  emptyRoundHistory,
  EventDecodeError,
  FedMarketClient,
  fedMarketInterface,
  HISTORY_EVENTS,
  committedModelStep,
  lastModelChange,
  ModelStepError,
  loadProjectHistory,
  loadRoundHistory,
  projectEvents,
  ProjectHistoryReader,
  referenceState,
  ROUND_EVENTS,
  roundEnd,
  roundOpenedBlock,
  roundSubmissions,
  type RoundOpenedRecord,
} from "../src/chain/index.ts";

const MARKET = `0x${"22".repeat(20)}`;
const OWNER = `0x${"0a".repeat(20)}`;
const AGGREGATOR = `0x${"0b".repeat(20)}`;
const TRAINERS = [1, 2, 3, 4].map((i) => `0x${String(i).padStart(2, "0").repeat(20)}`);
const HP = { learningRateMicros: 10_000, localEpochs: 1, batchSize: 16 };

interface StoredLog {
  readonly address: string;
  readonly topics: readonly string[];
  readonly data: string;
  readonly blockNumber: number;
  readonly transactionHash: string;
  readonly index: number;
}

/** Logs by block, answered the way a node filters them; every `eth_getLogs` call is recorded. */
class LogChain {
  readonly logs: StoredLog[] = [];
  readonly calls: { fromBlock: number; toBlock: number; topics: TopicFilter }[] = [];
  latest = 0;

  /** Emits `name(args)` in `block` (one transaction per block; log index = position in the block). */
  emit(block: number, name: string, args: readonly unknown[]): void {
    const { topics, data } = fedMarketInterface.encodeEventLog(name, args);
    const index = this.logs.filter((l) => l.blockNumber === block).length;
    this.logs.push({ address: MARKET, topics, data, blockNumber: block, transactionHash: toBeHex(block, 32), index });
    this.latest = Math.max(this.latest, block);
  }

  async getBlockNumber(): Promise<number> {
    return this.latest;
  }

  async getLogs(f: { address: string; topics: TopicFilter; fromBlock: number; toBlock: number }): Promise<StoredLog[]> {
    this.calls.push({ fromBlock: f.fromBlock, toBlock: f.toBlock, topics: f.topics });
    const matches = (want: TopicFilter[number], got: string | undefined): boolean =>
      want === null || want === undefined || (Array.isArray(want) ? want.includes(got as string) : want === got);
    return this.logs.filter(
      (l) =>
        l.address.toLowerCase() === f.address.toLowerCase() &&
        l.blockNumber >= f.fromBlock &&
        l.blockNumber <= f.toBlock &&
        f.topics.every((want, i) => matches(want, l.topics[i])),
    );
  }
}

function created(chain: LogChain, block: number, projectId: bigint, modelCommitment: bigint): void {
  const config = {
    token: `0x${"00".repeat(20)}`,
    aggregator: AGGREGATOR,
    verifier: `0x${"0c".repeat(20)}`,
    budget: 1000n,
    rewardPerRound: 100n,
    rewardDecayPpm: 1_000_000,
    numRounds: 5,
    maxTrainersPerRound: 4,
    submissionWindow: 60,
    revealWindow: 30,
    aggregationWindow: 600,
    challengeWindow: 0,
    aggregatorBond: 50n,
    slashAmount: 20n,
    challengeDeposit: 0n,
    trainerStake: 0n,
    allowlistRoot: toBeHex(0, 32),
    ownerEncryptionKey: toBeHex(7, 32),
    initialModelCommitment: modelCommitment,
    params: { modelSize: 2, byzantineTolerance: 1, quantizationScale: 4096n, clipBound: 4096n },
    initialHyperParams: HP,
    minHyperParams: HP,
    maxHyperParams: HP,
    specCid: "spec",
    initialModelCid: "m0",
  };
  chain.emit(block, "ProjectCreated", [projectId, OWNER, config, 1000n, toBeHex(9, 32), 1]);
}

const opened = (chain: LogChain, block: number, p: bigint, round: number, commitment: bigint, cid: string): void =>
  chain.emit(block, "RoundOpened", [p, round, 4, block * 10, block * 10 + 30, block * 10 + 60, 100n, commitment, cid, HP]);
const submitted = (chain: LogChain, block: number, p: bigint, round: number, slot: number): void =>
  chain.emit(block, "UpdateRevealed", [p, round, TRAINERS[slot], slot, BigInt(1000 * round + slot), `u${round}.${slot}`]);

/** Project 1 up to block 35 (round 0 finalized, round 1 open), with project 2's noise. */
function firstPart(chain: LogChain): void {
  created(chain, 5, 2n, 900n);
  created(chain, 10, 1n, 100n);
  chain.emit(10, "AggregatorAppointed", [1n, AGGREGATOR, 50n, 20n]);
  TRAINERS.forEach((t) => chain.emit(12, "TrainerRegistered", [1n, t, 0n]));
  chain.emit(15, "AggregatorAccepted", [1n, AGGREGATOR, 50n, 50n, [8n, 9n]]);
  opened(chain, 15, 1n, 0, 100n, "m0");
  opened(chain, 16, 2n, 0, 900n, "other");
  for (const slot of [0, 1, 2, 3]) submitted(chain, 20 + slot, 1n, 0, slot);
  submitted(chain, 21, 2n, 0, 0);
  chain.emit(30, "ChunkProofsAccepted", [2n, 0, 0, 1, 5n]);
  chain.emit(31, "ChunkProofsAccepted", [1n, 0, 0, 1, 77n]);
  for (const slot of [0, 1, 2, 3]) chain.emit(31, "ContributionRecorded", [1n, 0, TRAINERS[slot], slot, slot === 3 ? 3 : 1, 10n, 25n]);
  chain.emit(31, "RoundFinalized", [1n, 0, 101n, "m1", 30n, 75n, HP]);
  opened(chain, 31, 1n, 1, 101n, "m1");
  submitted(chain, 35, 1n, 1, 0);
}

/** The rest: round 1 skipped, round 2 failed, round 3 finalized, round 4 skipped and the project closed. */
function secondPart(chain: LogChain): void {
  chain.emit(50, "RoundSkipped", [1n, 1, 1]);
  opened(chain, 50, 1n, 2, 101n, "m1");
  for (const slot of [0, 1, 2]) submitted(chain, 55 + slot, 1n, 2, slot);
  chain.emit(70, "RoundFailed", [1n, 2, AGGREGATOR, 20n, 3n, 100n, 30n]);
  chain.emit(72, "AggregatorAppointed", [1n, AGGREGATOR, 50n, 20n]);
  chain.emit(75, "AggregatorAccepted", [1n, AGGREGATOR, 50n, 50n, [10n, 11n]]);
  opened(chain, 75, 1n, 3, 101n, "m1");
  for (const slot of [0, 1, 2]) submitted(chain, 80 + slot, 1n, 3, slot);
  chain.emit(90, "RoundFinalized", [1n, 3, 102n, "m2", 0n, 100n, HP]);
  opened(chain, 90, 1n, 4, 102n, "m2");
  chain.emit(95, "RoundSkipped", [1n, 4, 0]);
  chain.emit(95, "ProjectClosed", [1n, 3, 600n, 50n, 0n]);
  chain.emit(100, "ProjectFunded", [2n, OWNER, 5n]);
}

function fixture(): { chain: LogChain; client: FedMarketClient } {
  const chain = new LogChain();
  firstPart(chain);
  secondPart(chain);
  return { chain, client: new FedMarketClient(MARKET, chain as never, { retry: { baseDelayMs: 1 } }) };
}

test("a history is the project's events in bounded windows, grouped per round", async () => {
  const { chain, client } = fixture();
  const h = await loadProjectHistory(client, 1n, { blockRange: 16 });
  assert.equal(h.fromBlock, 0);
  assert.equal(h.toBlock, 100);
  assert.deepEqual(
    chain.calls.map((c) => [c.fromBlock, c.toBlock]),
    [0, 16, 32, 48, 64, 80, 96].map((a) => [a, Math.min(100, a + 15)]),
  );
  for (const c of chain.calls) assert.equal(c.topics[1], toBeHex(1n, 32), "only project 1's logs are asked for");
  assert.equal(h.created?.owner.toLowerCase(), OWNER);
  assert.equal(h.created?.initialModelCid, "m0");
  assert.equal(h.created?.numChunks, 1);
  assert.deepEqual([h.appointed.length, h.accepted.length, h.registered.length, h.funded.length], [2, 2, 4, 0]);
  assert.deepEqual(
    h.accepted.map((a) => a.sealKey),
    [
      [8n, 9n],
      [10n, 11n],
    ],
    "each acceptance's seal key",
  );
  assert.deepEqual(
    h.rounds.map((r) => r.end?.kind),
    ["finalized", "skipped", "failed", "finalized", "skipped"],
  );
  assert.deepEqual(
    h.rounds.map((r) => r.submissions.length),
    [4, 1, 3, 3, 0],
  );
  assert.deepEqual(
    h.rounds.map((r) => r.opened?.modelCid),
    ["m0", "m1", "m1", "m1", "m2"],
  );
  assert.deepEqual(h.rounds[0]?.opened?.hyperParams, HP);
  assert.deepEqual(
    h.rounds[0]?.chunkBatches.map((b) => b.accumulator),
    [77n],
  );
  assert.deepEqual(
    h.rounds[0]?.contributions.map((c) => c.status),
    [1, 1, 1, 3],
  );
  const failed = h.rounds[2]?.end;
  assert.equal(failed?.kind === "failed" ? failed.slashed : undefined, 20n);
  assert.equal(h.closed?.bondReleased, 50n);
  assert.equal(h.closed?.transactionHash, h.rounds[4]?.end?.transactionHash, "closed by the last round's end");
});

test("a history does not depend on the order of its events and ignores other projects'", async () => {
  const { client } = fixture();
  const events = await projectEvents(client, 1n);
  const foreign = await projectEvents(client, 2n);
  assert.ok(foreign.length > 0);
  const shuffled = [...foreign, ...events].reverse();
  assert.deepEqual(buildHistory(1n, shuffled, { fromBlock: 0, toBlock: 100 }), buildHistory(1n, events, { fromBlock: 0, toBlock: 100 }));
});

test("roundEnd, roundOpenedBlock and roundSubmissions answer from the history", async () => {
  const { client } = fixture();
  const h = await loadProjectHistory(client, 1n);
  assert.equal(roundEnd(h, 0)?.kind, "finalized");
  assert.equal(roundEnd(h, 1)?.kind, "skipped");
  assert.equal(roundEnd(h, 2)?.kind, "failed");
  assert.equal(roundEnd(h, 5), undefined, "a round that never opened has not ended");
  assert.equal(roundOpenedBlock(h, 2), 50);
  assert.equal(roundOpenedBlock(h, 5), undefined);
  assert.deepEqual(
    roundSubmissions(h, 0).map((s) => [s.slot, s.trainer.toLowerCase(), s.commitment, s.cid]),
    [0, 1, 2, 3].map((k) => [k, TRAINERS[k], BigInt(k), `u0.${k}`]),
  );
  assert.deepEqual(roundSubmissions(h, 7), []);
  const partial = await loadProjectHistory(client, 1n, { toBlock: 40 });
  assert.equal(roundEnd(partial, 1), undefined, "round 1 was still open at block 40");
});

test("one round reads only that round's events, from a lower bound", async () => {
  const { chain, client } = fixture();
  const full = await loadProjectHistory(client, 1n);
  chain.calls.length = 0;
  const from = roundOpenedBlock(full, 2) as number;
  const r2 = await loadRoundHistory(client, 1n, 2, { fromBlock: from, blockRange: 8 });
  assert.deepEqual(r2, full.rounds[2]);
  assert.ok(chain.calls.every((c) => c.fromBlock >= from && c.toBlock - c.fromBlock < 8));
  assert.ok(
    chain.calls.every((c) => c.topics[2] === toBeHex(2, 32)),
    "the filter selects the round",
  );
  assert.deepEqual(await loadRoundHistory(client, 1n, 9), {
    round: 9,
    commits: [],
    submissions: [],
    chunkBatches: [],
    contributions: [],
    flags: [],
    publications: [],
    publicationParts: [],
  });
  assert.deepEqual([...ROUND_EVENTS].sort(), [
    "ChallengeAnswered",
    "ChallengeProofsAccepted",
    "ChunkProofsAccepted",
    "ChunksCommitted",
    "ContributionRecorded",
    "ReferenceAnswered",
    "ReferenceCommitted",
    "ReferenceDepositSettled",
    "ReferenceFlagged",
    "ReferencePartAnswered",
    "ReferencePublished",
    "RoundChallenged",
    "RoundFailed",
    "RoundFinalized",
    "RoundOpened",
    "RoundSettled",
    "RoundSkipped",
    "RoundVoided",
    "SeedDrawn",
    "SeedReanchored",
    "UpdateCommitted",
    "UpdateFlagged",
    "UpdatePartPublished",
    "UpdatePublished",
    "UpdateRevealed",
  ]);
});

test("the incremental reader reads only new blocks and ends with the same history as one full read", async () => {
  const chain = new LogChain();
  firstPart(chain);
  const client = new FedMarketClient(MARKET, chain as never, { retry: { baseDelayMs: 1 } });
  const reader = new ProjectHistoryReader(client, 1n, { blockRange: 16, overlapBlocks: 4 });
  assert.equal(reader.history.rounds.length, 0);
  const first = await reader.refresh();
  assert.equal(first.toBlock, 35);
  assert.equal(roundEnd(first, 0)?.kind, "finalized");
  assert.equal(roundEnd(first, 1), undefined);

  // A log of an already-read block that the node indexed late, then the rest of the project.
  chain.emit(33, "ProjectFunded", [1n, OWNER, 7n]);
  secondPart(chain);
  chain.calls.length = 0;
  const [a, b] = await Promise.all([reader.refresh(), reader.refresh()]);
  assert.equal(chain.calls[0]?.fromBlock, 36 - 4, "re-reads only the overlap before the new blocks");
  assert.ok(chain.calls.every((c) => c.toBlock - c.fromBlock < 16));
  assert.equal(a, b, "concurrent refreshes run in turn: the second finds nothing new");
  assert.deepEqual(
    a.funded.map((f) => f.amount),
    [7n],
    "the late log is found once",
  );
  assert.deepEqual(a, await loadProjectHistory(client, 1n));

  chain.calls.length = 0;
  assert.equal(await reader.refresh(), a, "nothing new: the same history");
  assert.deepEqual(
    chain.calls.map((c) => [c.fromBlock, c.toBlock]),
    [[97, 100]],
  );
});

test("the last model change skips rounds that left the model unchanged", async () => {
  const { client } = fixture();
  const h = await loadProjectHistory(client, 1n);
  const change = (r: number): [number, number] | undefined => {
    const c = lastModelChange(h, r);
    return c === undefined ? undefined : [c.previous.round, c.current.round];
  };
  assert.equal(change(0), undefined, "the model has never changed");
  assert.deepEqual(change(1), [0, 1]);
  assert.deepEqual(change(3), [0, 3], "rounds 1 (skipped) and 2 (failed) kept round 0's result");
  assert.deepEqual(change(4), [3, 4], "the latest earlier model that differs");
  assert.equal(change(5), undefined, "no opening, no current model");
  const partial = await loadProjectHistory(client, 1n, { fromBlock: 40 });
  assert.equal(lastModelChange(partial, 3), undefined, "the history lacks the previous model");
});

test("the step committed with a round's model is that model minus the one it replaced, in quantized units", async () => {
  const { client } = fixture();
  const h = await loadProjectHistory(client, 1n);
  const models: Record<string, bigint[]> = { m0: [0n, 0n], m1: [2n, 1n], m2: [5n, 5n] };
  const loaded: string[] = [];
  const load = async (o: RoundOpenedRecord): Promise<bigint[] | undefined> => {
    loaded.push(o.modelCid);
    return models[o.modelCid];
  };
  assert.deepEqual(await committedModelStep(h, 4, models.m2!, load), [3n, 4n]);
  assert.deepEqual(loaded, ["m1"], "only the model it replaced is loaded: the caller has the round's own");
  assert.deepEqual(await committedModelStep(h, 3, models.m1!, load), [2n, 1n], "m1 - m0: the skipped and failed rounds do not count");
  loaded.length = 0;
  assert.equal(await committedModelStep(h, 0, models.m0!, load), undefined, "never changed: the step is zero");
  assert.deepEqual(loaded, [], "nothing to load");
});

test("a step that cannot be derived is an error, never zeros", async () => {
  const { client } = fixture();
  const h = await loadProjectHistory(client, 1n);
  const m2 = [5n, 5n];
  const withoutM1 = async (o: RoundOpenedRecord): Promise<bigint[] | undefined> => (o.modelCid === "m1" ? undefined : [0n, 0n]);
  await assert.rejects(
    committedModelStep(h, 4, m2, withoutM1),
    (err: unknown) =>
      err instanceof ModelStepError &&
      /^the model m1 that round 3 opened on cannot be loaded: round 4's model commits to its step from that model, .*Make sure IPFS serves m1/.test(
        err.message,
      ),
  );
  const load = async (): Promise<bigint[]> => [0n, 0n];
  // Read from block 40: rounds 0 and 1 opened before, so "never changed" cannot be told from "changed earlier".
  const partial = await loadProjectHistory(client, 1n, { fromBlock: 40 });
  await assert.rejects(
    committedModelStep(partial, 3, [2n, 1n], load),
    /has no RoundOpened of round 0, so the step committed with round 3's model cannot be derived: read the history from the project's creation block/,
  );
  await assert.rejects(committedModelStep(h, 5, m2, load), /has no RoundOpened of round 5/, "a round that has not opened");
});

test("the client's event queries return the history's record types", async () => {
  const { client } = fixture();
  const h = await loadProjectHistory(client, 1n);
  assert.deepEqual(await client.updateRevealed({ projectId: 1n, round: 2 }), h.rounds[2]?.submissions);
  assert.deepEqual(
    await client.roundOpened(1n),
    h.rounds.map((r) => r.opened),
  );
});

test("every ABI event indexed by project is part of the history", () => {
  const projectEventsInAbi: string[] = [];
  fedMarketInterface.forEachEvent((e) => {
    if (e.inputs[0]?.name === "projectId" && e.inputs[0].indexed === true) projectEventsInAbi.push(e.name);
  });
  assert.deepEqual(
    [...projectEventsInAbi].sort(),
    [...HISTORY_EVENTS].sort(),
    "add a decoder for the new event in records.ts (and file it in history.ts)",
  );
});

test("a log that lacks a field its decoder reads names the event and the field", () => {
  const stale = {
    eventName: "RoundFailed",
    args: { projectId: 1n, round: 2n, aggregator: AGGREGATOR, slashed: 20n, slashPerTrainer: 3n },
    blockNumber: 70,
    transactionHash: toBeHex(70, 32),
    logIndex: 0,
  };
  assert.throws(
    () => buildHistory(1n, [stale]),
    (err: unknown) =>
      err instanceof EventDecodeError &&
      err.eventName === "RoundFailed" &&
      err.field === "reward" &&
      /records\.ts is out of date/.test(err.message),
  );
});

/** A maker of project 1's parsed events of `round`, one block each from block 100, as `buildHistory` reads them. */
function roundEvents(round: bigint): (eventName: string, args: Record<string, unknown>) => Parameters<typeof buildHistory>[1][number] {
  let n = 100;
  return (eventName, args) => ({
    eventName,
    args: { projectId: 1n, round, ...args },
    blockNumber: n,
    transactionHash: toBeHex(n, 32),
    logIndex: n++ % 2,
  });
}

test("an optimistic round's commitment, challenges and void are filed under the round", () => {
  const ev = roundEvents(3n);
  const root = toBeHex(0xabc, 32);
  const h = buildHistory(1n, [
    ev("ChunksCommitted", { accFinal: 9n, chunkRoot: root, proofsCid: "p", payout: 100n, payoutHash: root, windowEnd: 500n }),
    ev("RoundChallenged", { challenger: AGGREGATOR, first: 2n, count: 1n, answerDeadline: 900n, stake: 20n }),
    ev("ChallengeProofsAccepted", { firstChunk: 2n, count: 1n, accOut: 7n }),
    ev("ChallengeAnswered", { aggregator: AGGREGATOR, deposit: 5n, stake: 20n }),
    ev("RoundChallenged", { challenger: AGGREGATOR, first: 0n, count: 4n, answerDeadline: 990n, stake: 20n }),
    ev("RoundVoided", {
      challenger: AGGREGATOR,
      slashed: 20n,
      slashPerTrainer: 2n,
      payout: 100n,
      trainers: 4n,
      restoredModel: 11n,
      restoredModelCid: "m2",
    }),
    { ...ev("BondReleased", { aggregator: AGGREGATOR, amount: 30n }), args: { projectId: 1n, aggregator: AGGREGATOR, amount: 30n } },
  ]);
  const o = h.rounds[3]?.optimistic;
  assert.equal(o?.committed?.windowEnd, 500);
  assert.equal(o?.committed?.chunkRoot, root);
  assert.deepEqual(
    o?.challenges.map((c) => [c.first, c.count]),
    [
      [2, 1],
      [0, 4],
    ],
  );
  assert.equal(o?.answerParts[0]?.accOut, 7n);
  assert.equal(o?.answered.length, 1);
  assert.equal(o?.voided?.restoredModelCid, "m2");
  assert.equal(o?.settled, undefined);
  assert.equal(h.bondsReleased[0]?.amount, 30n);
  assert.equal(h.rounds[2]?.optimistic, undefined, "a round without optimistic events has no optimistic part");
});

test("the owner's reference events are filed under the round, parts in order, and name its state", () => {
  const ev = roundEvents(2n);
  const events = [
    ev("ReferenceCommitted", { commitment: 77n, deposit: 1000n }),
    ev("ReferencePublished", { commitment: 77n, cid: "ref" }),
    ev("ReferenceFlagged", { answerDeadline: 900n }),
    ev("ReferencePartAnswered", { firstChunk: 0n, packed: [1n, 2n] }),
    ev("ReferencePartAnswered", { firstChunk: 1n, packed: [3n, 4n] }),
    ev("ReferenceAnswered", { firstChunk: 2n, salt: 5n, packed: [6n, 7n] }),
  ];
  const states = events.map((_, i) => referenceState(buildHistory(1n, events.slice(0, i + 1)).rounds[2]!));
  assert.deepEqual(states, ["committed", "published", "flagged", "flagged", "flagged", "answered"]);
  // The decision proof's reference input: the commitment while it counts (published, or answered after a flag), else 0.
  const inputs = events.map((_, i) => decisionReference(buildHistory(1n, events.slice(0, i + 1)).rounds[2]!));
  assert.deepEqual(inputs, [0n, 77n, 0n, 0n, 0n, 77n]);
  assert.equal(decisionReference(emptyRoundHistory(2)), 0n);
  const round = buildHistory(1n, events).rounds[2];
  assert.equal(round?.referencePublished?.cid, "ref");
  assert.equal(round?.referenceFlagged?.answerDeadline, 900);
  assert.deepEqual(
    round?.referenceAnswerParts?.map((p) => [p.firstChunk, p.packed]),
    [
      [0, [1n, 2n]],
      [1, [3n, 4n]],
    ],
  );
  assert.deepEqual([round?.referenceAnswered?.salt, round?.referenceAnswered?.packed], [5n, [6n, 7n]]);
  assert.equal(referenceState(emptyRoundHistory(2)), "none");
  // The deposit: taken at the commitment, settled (here returned: the reference counted) when the round closed.
  assert.equal(round?.referenceCommitted?.deposit, 1000n);
  const settled = buildHistory(1n, [...events, ev("ReferenceDepositSettled", { deposit: 1000n, returned: true })]).rounds[2];
  assert.deepEqual([settled?.referenceDeposit?.deposit, settled?.referenceDeposit?.returned], [1000n, true]);
});
