/**
 * The flag step against a scripted chain: the slots the open step could not fetch or open are
 * flagged in one transaction, the node waits (chain time) for the answer deadline, an answered
 * slot joins the round from the data published on chain, an unanswered one is an empty slot for
 * core, and `flags.json` makes every restart resume without flagging twice or forgetting a flag.
 * A slot that can no longer be flagged makes the round unprovable. Also: the open step's fetches
 * stop at the flagging cut-off.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TransactionResponse } from "ethers";
import { publicKeyOf, randomScalar } from "@fedmarket/core";
import {
  decodeSealedUpdate,
  flatCipher,
  generateKeyPair,
  MarketRevertError,
  memoryLogger,
  sealUpdate,
  type BlobStore,
  type FlagRecord,
  type ProjectInfo,
  type PublicationRecord,
  type RoundInfo,
  type UnavailableFlags,
} from "@fedmarket/protocol";
import type { AggregatorChain } from "../src/chain.ts";
import { AggregatorError } from "../src/errors.ts";
import type { CollectedSlot } from "../src/steps/collect.ts";
import type { StepContext } from "../src/steps/context.ts";
import { fetchDeadlineOf, flagCutoff, settleFlags, type FlagsFile } from "../src/steps/flag.ts";
import { openSlot, roundSlotsOf, type OpenContext, type SlotOpening } from "../src/steps/open.ts";
import { RoundFiles } from "../src/store.ts";

const CONFIG = { kMax: 4, chunk: 4, updateBits: 16, modelBits: 32 };
const D = 6;
const CHAIN_ID = 31337n;
const MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const PROJECT_ID = 1n;
const ROUND = 3;
const trainer = (k: number): string => `0x${(k + 1).toString(16).padStart(40, "0")}`;
const secret = randomScalar();
const sealKey = publicKeyOf(secret);
const owner = generateKeyPair();
/** Reveal deadline 1,000; aggregation window 400: flags until 1,200, answers then until now + 100. */
const ROUND_INFO = { round: ROUND, revealDeadline: 1_000, aggregationDeadline: 1_400 } as unknown as RoundInfo;
const PROJECT = { id: PROJECT_ID, params: { modelSize: D }, aggregatorSealKey: sealKey, aggregationWindow: 400 } as unknown as ProjectInfo;

const values = (k: number): bigint[] => Array.from({ length: D }, (_, i) => BigInt(i - 2 + k));
const sealed = (k: number) =>
  sealUpdate({
    chainId: CHAIN_ID,
    market: MARKET,
    projectId: PROJECT_ID,
    round: ROUND,
    trainer: trainer(k),
    config: CONFIG,
    values: values(k),
    sealKey,
    ownerKey: owner.publicKey,
  });
const SEALED = [0, 1, 2, 3].map(sealed);

const collected = (k: number): CollectedSlot => ({
  slot: k,
  trainer: trainer(k),
  commitment: SEALED[k]!.commitment.toString(),
  cid: `cid-${k}`,
  txHash: `0x${"00".repeat(32)}`,
  blockNumber: 1,
});

/** Slots 0 and 1 opened, 2 and 3 not available (what the open step left). */
function openings(): SlotOpening[] {
  return [0, 1, 2, 3].map((k): SlotOpening => {
    if (k >= 2) return { ...collected(k), status: "unavailable", reason: "missing", detail: "cannot fetch" };
    const blob = decodeSealedUpdate(SEALED[k]!.blob);
    const stored = {
      ephemeral: [String(blob.sealed.ephemeral[0]), String(blob.sealed.ephemeral[1])] as const,
      chunks: blob.sealed.chunks.map((c) => c.map(String)),
    };
    return { ...collected(k), status: "opened", update: values(k).map(String), sealed: stored };
  });
}

/** What slot `k`'s trainer publishes in answer to its flag. */
function publication(k: number): PublicationRecord {
  const { sealed: s, ownerWrap } = decodeSealedUpdate(SEALED[k]!.blob);
  return {
    projectId: PROJECT_ID,
    round: ROUND,
    trainer: trainer(k),
    slot: k,
    firstChunk: 0,
    ephemeral: s.ephemeral,
    cipher: flatCipher(s),
    ownerWrap,
    blockNumber: 9,
    transactionHash: `0x${"99".repeat(32)}`,
    logIndex: 0,
  };
}

/** A chain whose time, flags and answers the test sets; it records the flag transactions. */
class ScriptedChain {
  chainTime = 1_010;
  flags: UnavailableFlags = { pendingMask: 0n, flaggedMask: 0n, answerDeadline: 0 };
  publications: PublicationRecord[] = [];
  sent: bigint[] = [];
  revert: string | undefined;

  view(): AggregatorChain {
    return {
      client: {
        address: MARKET,
        chainTime: async () => this.chainTime,
        read: <T>(_what: string, fn: () => Promise<T>) => fn(),
        provider: { getTransactionCount: async () => 0 },
      },
      unavailableFlags: async () => this.flags,
      flagUnavailable: async (_p: bigint, round: number, mask: bigint) => {
        assert.equal(round, ROUND);
        if (this.revert !== undefined)
          throw new MarketRevertError(this.revert, [PROJECT_ID, BigInt(ROUND)], `flagUnavailable failed: ${this.revert}`);
        this.sent.push(mask);
        return { hash: `0x${String(this.sent.length).padStart(64, "0")}` } as TransactionResponse;
      },
      wait: async () => {
        // mined: the contract records the flags and sets the deadline to now + W/4
        const mask = this.sent.at(-1) as bigint;
        this.flags = {
          flaggedMask: this.flags.flaggedMask | mask,
          pendingMask: this.flags.pendingMask | mask,
          answerDeadline: this.chainTime + 100,
        };
        return {};
      },
      roundFlags: async () => ({ flags: [] as FlagRecord[], publications: this.publications }),
    } as unknown as AggregatorChain;
  }

  /** Slot `k`'s trainer answers (the contract clears its pending bit). */
  answer(k: number): void {
    this.publications.push(publication(k));
    this.flags = { ...this.flags, pendingMask: this.flags.pendingMask & ~(1n << BigInt(k)) };
  }
}

let dataDir: string;
before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-agg-flag-"));
});
after(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

let roundNo = 0;
/** A fresh round folder and its step context over `chain`. */
function context(chain: ScriptedChain, dir = path.join(dataDir, String(roundNo++))) {
  const log = memoryLogger();
  const ctx: StepContext = {
    chain: chain.view(),
    store: {} as BlobStore,
    log,
    config: { address: trainer(99), chainId: CHAIN_ID, dataDir: dir, sealSecret: secret },
    checkpoint: async () => {},
    projectId: PROJECT_ID,
    round: ROUND,
    files: new RoundFiles(dir, PROJECT_ID, ROUND),
  };
  return { ctx, log, dir };
}

describe("# settleFlags", () => {
  it("flags the unavailable slots in one transaction, waits for the answer deadline, then takes answered slots from the chain and leaves the rest empty", async () => {
    const chain = new ScriptedChain();
    const { ctx, dir } = context(chain);
    const first = await settleFlags(ctx, PROJECT, ROUND_INFO, CONFIG, openings());
    assert.deepEqual(chain.sent, [0b1100n], "one flag, slots 2 and 3");
    assert.deepEqual(first.kind === "waiting" && [first.untilChainTime, first.chainTime], [1_110, 1_010]);
    const file = (await ctx.files.read<FlagsFile>("flags.json")) as FlagsFile;
    assert.deepEqual(
      [file.flagged, file.txHash, file.answerDeadline, file.settled],
      [[2, 3], `0x${"1".padStart(64, "0")}`, 1_110, undefined],
    );

    chain.answer(3);
    chain.chainTime = 1_109;
    const early = await settleFlags(ctx, PROJECT, ROUND_INFO, CONFIG, openings());
    assert.equal(early.kind, "waiting", "answers may still come until the deadline");
    assert.equal(chain.sent.length, 1, "not flagged twice");

    chain.chainTime = 1_110;
    const settled = await settleFlags(ctx, PROJECT, ROUND_INFO, CONFIG, openings());
    assert.equal(settled.kind, "settled");
    const merged = settled.kind === "settled" ? settled.openings : [];
    assert.deepEqual(
      merged.map((o) => o.status),
      ["opened", "opened", "unavailable", "opened"],
    );
    const answered = merged[3];
    assert.deepEqual(answered?.status === "opened" && answered.update, values(3).map(String), "decoded from the published data");
    assert.ok(answered !== undefined && !("reason" in answered), "an answered slot keeps nothing of its unavailable opening");
    const slots = roundSlotsOf(merged);
    assert.deepEqual(slots[2], { commitment: SEALED[2]!.commitment, unavailable: true }, "unanswered: empty for core");
    assert.deepEqual(slots[3], { commitment: SEALED[3]!.commitment, sealed: decodeSealedUpdate(SEALED[3]!.blob).sealed });
    const done = (await ctx.files.read<FlagsFile>("flags.json")) as FlagsFile;
    assert.deepEqual([done.settled, done.answered, done.pending], [true, [3], [2]]);

    // A restart reads flags.json: no chain call at all.
    const offline = new ScriptedChain();
    offline.view = () => ({}) as AggregatorChain;
    const again = await settleFlags(context(offline, dir).ctx, PROJECT, ROUND_INFO, CONFIG, openings());
    assert.deepEqual(again.kind === "settled" && again.openings, merged);
  });

  it("every slot opened: nothing to flag, settled at once", async () => {
    const chain = new ScriptedChain();
    const { ctx } = context(chain);
    const all = openings().slice(0, 2);
    const out = await settleFlags(ctx, PROJECT, ROUND_INFO, CONFIG, all);
    assert.deepEqual(out.kind === "settled" && out.openings, all);
    assert.deepEqual(chain.sent, []);
    assert.deepEqual(await ctx.files.read<FlagsFile>("flags.json"), {
      flagged: [],
      settled: true,
      answered: [],
      pending: [],
      published: [],
    });
  });

  it("a flag that landed before a crash (no flags.json yet) is adopted from the chain, not sent again", async () => {
    const chain = new ScriptedChain();
    chain.flags = { flaggedMask: 0b1100n, pendingMask: 0b1100n, answerDeadline: 1_090 };
    const { ctx, log } = context(chain);
    const out = await settleFlags(ctx, PROJECT, ROUND_INFO, CONFIG, openings());
    assert.deepEqual(chain.sent, []);
    assert.deepEqual(out.kind === "waiting" && out.untilChainTime, 1_090);
    assert.ok(log.records.some((r) => r.event === "round.flag.adopted"));
    chain.chainTime = 1_090;
    const settled = await settleFlags(ctx, PROJECT, ROUND_INFO, CONFIG, openings());
    assert.deepEqual(settled.kind === "settled" && settled.file.pending, [2, 3], "nobody answered: both empty");
  });

  it("past the flagging cut-off (or refused with FlaggingClosed) the round is unprovable: nothing sent, and it stays so", async () => {
    const late = new ScriptedChain();
    late.chainTime = flagCutoff(PROJECT, ROUND_INFO) - 1;
    const { ctx } = context(late);
    const out = await settleFlags(ctx, PROJECT, ROUND_INFO, CONFIG, openings());
    assert.equal(out.kind, "unprovable");
    assert.match(
      out.kind === "unprovable" ? out.reason : "",
      /cannot be proven: slot\(s\) 2, 3 .*fails at the end of its aggregation window/,
    );
    assert.deepEqual(late.sent, []);
    late.chainTime = 1_010; // even if asked again, the decision stands
    assert.equal((await settleFlags(ctx, PROJECT, ROUND_INFO, CONFIG, openings())).kind, "unprovable");

    const refused = new ScriptedChain();
    refused.revert = "FlaggingClosed";
    assert.equal((await settleFlags(context(refused).ctx, PROJECT, ROUND_INFO, CONFIG, openings())).kind, "unprovable");
  });

  it("answer events that disagree with the contract's pending flags stop the round (a lagging RPC node)", async () => {
    const chain = new ScriptedChain();
    const { ctx } = context(chain);
    await settleFlags(ctx, PROJECT, ROUND_INFO, CONFIG, openings());
    chain.flags = { ...chain.flags, pendingMask: 0b0100n }; // slot 3 answered on chain, its event not seen
    chain.chainTime = 2_000;
    await assert.rejects(
      settleFlags(ctx, PROJECT, ROUND_INFO, CONFIG, openings()),
      (err: unknown) => err instanceof AggregatorError && err.code === "events" && /RPC node may lag/.test(err.message),
    );
    assert.equal((await ctx.files.read<FlagsFile>("flags.json"))?.settled, undefined, "nothing settled");
  });
});

describe("# the flagging cut-off", () => {
  it("flags until the middle of the aggregation window; fetches stop a margin before", () => {
    assert.equal(flagCutoff(PROJECT, ROUND_INFO), 1_200);
    // 190 s left: a quarter (47 s) kept for the flag
    assert.equal(fetchDeadlineOf(PROJECT, ROUND_INFO, 1_010, 0), 143_000);
    // plenty left: 60 s kept
    assert.equal(fetchDeadlineOf({ aggregationWindow: 7_200 }, ROUND_INFO, 1_000, 0), 3_540_000);
    assert.equal(fetchDeadlineOf(PROJECT, ROUND_INFO, 5_000, 7), 7, "past the cut-off: no time at all");
  });

  it("a fetch that has not answered by the cut-off is missing (so the slot can still be flagged)", async () => {
    const hanging: BlobStore = {
      get: (_cid, options) =>
        new Promise((_resolve, reject) => {
          options?.signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
        }),
      put: async () => "x",
      close: async () => {},
    };
    const ctx: OpenContext = {
      chainId: CHAIN_ID,
      market: MARKET,
      projectId: PROJECT_ID,
      round: ROUND,
      config: CONFIG,
      modelSize: D,
      sealSecret: secret,
      sealKey,
      store: hanging,
      timeoutMs: 60_000,
      retries: 5,
      fetchDeadline: Date.now() + 50,
    };
    const started = Date.now();
    const o = await openSlot(collected(0), ctx);
    assert.deepEqual([o.status, o.status === "unavailable" && o.reason], ["unavailable", "missing"]);
    assert.ok(Date.now() - started < 5_000, "cut off, not the 6 minutes of timeouts");
  });
});
