/**
 * The answer step (steps/answer.ts) against a stand-in chain: once its reveal is confirmed, a
 * trainer whose slot the aggregator flagged as not available publishes the sealed update it kept
 * (exactly the blob it pinned) before the answer deadline, records it, and never sends it twice;
 * outside the aggregation window, without a flag, or past the deadline it sends nothing. The
 * end-to-end round is in packages/testkit/test/aggregator/integration.test.ts.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TransactionResponse } from "ethers";
import { FIELD_MODULUS, type SealedUpdate } from "@fedmarket/core";
import {
  encodeSealedUpdate,
  MarketRevertError,
  memoryLogger,
  type FedMarketClient,
  type FlagRecord,
  type OpenRoundInfo,
  type UnavailableFlags,
} from "@fedmarket/protocol";
import { StateStore, type RoundEntry } from "../src/node/state.ts";
import { answerFlag } from "../src/node/steps/answer.ts";
import { SEALED_UPDATE_FILE } from "../src/node/steps/seal.ts";
import type { TrainerNodeOptions } from "../src/node/types.ts";
import { ME, standInOptions } from "./support/options.ts";

const ROUND = 2;
const SLOT = 1;
const CONFIG = { kMax: 4, chunk: 20, updateBits: 16, modelBits: 32 };
const SEALED: SealedUpdate = {
  ephemeral: [11n, FIELD_MODULUS - 1n],
  chunks: [
    [1n, 2n],
    [3n, 4n],
  ],
};
const WRAP = Uint8Array.from([7, 8, 9]);
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The open round at `chainTime`: reveals until 100, aggregation until 500. */
const openAt = (chainTime: number): OpenRoundInfo =>
  ({ project: { id: 1n }, round: { round: ROUND, revealDeadline: 100, aggregationDeadline: 500 }, chainTime }) as unknown as OpenRoundInfo;

class StandIn {
  flagged = false;
  flags: UnavailableFlags = { pendingMask: 0n, flaggedMask: 0n, answerDeadline: 0 };
  published: { slot: number; sealed: SealedUpdate; ownerWrap: Uint8Array; firstChunk?: number }[] = [];
  /** Parts on chain: `[firstChunk, count]` of each `publishUpdatePart`. */
  parts: [number, number][] = [];
  revert: string | undefined;

  flag(deadline: number): void {
    this.flagged = true;
    this.flags = { pendingMask: 1n << BigInt(SLOT), flaggedMask: 1n << BigInt(SLOT), answerDeadline: deadline };
  }

  client(): FedMarketClient {
    return {
      address: `0x${"bb".repeat(20)}`,
      read: <T>(_what: string, fn: () => Promise<T>) => fn(),
      provider: { getTransactionReceipt: async () => null, getTransactionCount: async () => 0 },
      updateFlagged: async (): Promise<FlagRecord[]> =>
        this.flagged
          ? [{ projectId: 1n, round: ROUND, trainer: ME, slot: SLOT, answerDeadline: this.flags.answerDeadline } as FlagRecord]
          : [],
      unavailableFlags: async () => this.flags,
      publishUpdate: async (_p: bigint, round: number, slot: number, sealed: SealedUpdate, ownerWrap: Uint8Array, firstChunk = 0) => {
        assert.equal(round, ROUND);
        if (this.revert !== undefined) throw new MarketRevertError(this.revert, [], `publishUpdate failed: ${this.revert}`);
        this.published.push({ slot, sealed, ownerWrap, ...(firstChunk === 0 ? {} : { firstChunk }) });
        return { hash: `0x${"44".repeat(32)}` } as TransactionResponse;
      },
      publishUpdatePart: async (_p: bigint, _round: number, _slot: number, _sealed: SealedUpdate, firstChunk: number, count: number) => {
        this.parts.push([firstChunk, count]);
        return { hash: `0x${"55".repeat(32)}`, part: true } as unknown as TransactionResponse;
      },
      updatePartsPublished: async () =>
        this.parts.map(([firstChunk, count]) => ({ slot: SLOT, firstChunk, cipher: new Array<bigint>(count * 2).fill(1n) })),
      wait: async (tx: { part?: boolean }) => {
        if (tx.part !== true) this.flags = { ...this.flags, pendingMask: 0n };
        return {};
      },
    } as unknown as FedMarketClient;
  }
}

async function nodeWith(
  chain: StandIn,
  withBlob = true,
  answerChunksPerTx?: number,
): Promise<{ o: TrainerNodeOptions; entry: RoundEntry; log: ReturnType<typeof memoryLogger> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-trainer-answer-"));
  dirs.push(dir);
  const state = await StateStore.open(dir);
  const entry = await state.update(1n, ROUND, { phase: "confirmed", slot: SLOT, blockNumber: 5, commitment: "1", cid: "cid" });
  if (withBlob) {
    await mkdir(state.roundDir(1n, ROUND), { recursive: true });
    await writeFile(
      path.join(state.roundDir(1n, ROUND), SEALED_UPDATE_FILE),
      encodeSealedUpdate({ config: CONFIG, modelSize: 30, sealed: SEALED, ownerWrap: WRAP }),
    );
  }
  const log = memoryLogger();
  const o = standInOptions(chain.client(), state, log, answerChunksPerTx === undefined ? {} : { answerChunksPerTx });
  return { o, entry, log };
}

test("a flagged slot is answered with the kept sealed update, once; the state file records it", async () => {
  const chain = new StandIn();
  const { o, entry } = await nodeWith(chain);
  assert.equal((await answerFlag(o, openAt(150), entry)).answer, "not-flagged", "nothing flagged yet");
  assert.deepEqual(chain.published, []);

  chain.flag(300);
  const out = await answerFlag(o, openAt(160), entry);
  assert.equal(out.answer, "answered");
  assert.deepEqual(chain.published, [{ slot: SLOT, sealed: SEALED, ownerWrap: WRAP }], "exactly the pinned data");
  assert.deepEqual([out.entry.answered, out.entry.answerTxHash, out.entry.phase], [true, `0x${"44".repeat(32)}`, "confirmed"]);
  assert.equal(o.state.get(1n, ROUND)?.answered, true);

  const again = await answerFlag(o, openAt(170), o.state.get(1n, ROUND) as RoundEntry);
  assert.equal(again.answer, "answered");
  assert.equal(chain.published.length, 1, "never sent twice");
});

test("no answer outside the aggregation window, past the answer deadline or without the blob", async () => {
  const chain = new StandIn();
  chain.flag(300);
  const { o, entry, log } = await nodeWith(chain);
  assert.equal((await answerFlag(o, openAt(99), entry)).answer, "not-flagged", "reveal window still open");
  assert.equal((await answerFlag(o, openAt(500), entry)).answer, "not-flagged", "aggregation window over");
  assert.equal((await answerFlag(o, openAt(300), entry)).answer, "unanswerable");
  assert.ok(log.records.some((r) => r.event === "round.flag.closed" && /counts as empty/.test(r.msg)));

  const bare = await nodeWith(chain, false);
  assert.equal((await answerFlag(bare.o, openAt(150), bare.entry)).answer, "unanswerable");
  assert.ok(bare.log.records.some((r) => r.event === "round.flag.unanswerable"));
  assert.deepEqual(chain.published, []);
});

test("answered by someone else meanwhile: adopted, nothing sent; a refused publish is logged, not thrown", async () => {
  const chain = new StandIn();
  chain.flag(300);
  chain.flags = { ...chain.flags, pendingMask: 0n };
  const { o, entry } = await nodeWith(chain);
  assert.equal((await answerFlag(o, openAt(150), entry)).answer, "answered");
  assert.deepEqual(chain.published, []);

  const refused = new StandIn();
  refused.flag(300);
  refused.revert = "AnswerWindowClosed";
  const r = await nodeWith(refused);
  assert.equal((await answerFlag(r.o, openAt(150), r.entry)).answer, "unanswerable");
  assert.ok(r.log.records.some((x) => x.event === "round.flag.unanswerable" && /AnswerWindowClosed/.test(x.msg)));
});

test("an update of more chunks than one answer carries goes in parts first, and a restart continues after those on chain", async () => {
  const chain = new StandIn();
  chain.flag(300);
  const { o, entry } = await nodeWith(chain, true, 1);
  const out = await answerFlag(o, openAt(160), entry);
  assert.equal(out.answer, "answered");
  // Two chunks, one per transaction: chunk 0 as a part, chunk 1 with the key and the wrap.
  assert.deepEqual(chain.parts, [[0, 1]]);
  assert.deepEqual(chain.published, [{ slot: SLOT, sealed: SEALED, ownerWrap: WRAP, firstChunk: 1 }]);

  // A node that stopped after its part landed: the part is not sent again.
  const again = new StandIn();
  again.flag(300);
  again.parts = [[0, 1]];
  const restarted = await nodeWith(again, true, 1);
  assert.equal((await answerFlag(restarted.o, openAt(160), restarted.entry)).answer, "answered");
  assert.deepEqual(again.parts, [[0, 1]], "no part twice");
  assert.equal(again.published[0]?.firstChunk, 1);
});
