/**
 * What the commit and reveal steps record of their transaction's receipt (steps/receipt.ts): the
 * phase, the transaction's fields and the slot of the step's event in the state file, and the line
 * each step logs, for a receipt just mined and for one of a transaction sent before a restart. A
 * receipt without the event keeps the slot already recorded. The chain is a stand-in (one layer: the
 * steps); the end-to-end rounds are in packages/testkit/test/trainer.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TransactionReceipt } from "ethers";
import { fedMarketInterface, memoryLogger, type FedMarketClient, type ProjectInfo } from "@fedmarket/protocol";
import { StateStore, type RoundEntry } from "../src/node/state.ts";
import { commitUpdate } from "../src/node/steps/commit.ts";
import { revealUpdate } from "../src/node/steps/reveal.ts";
import type { TrainerNodeOptions } from "../src/node/types.ts";
import { ME, standInOptions } from "./support/options.ts";

const MARKET = `0x${"bb".repeat(20)}`;
const COMMIT_TX = `0x${"11".repeat(32)}`;
const REVEAL_TX = `0x${"22".repeat(32)}`;
const CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
const project = { id: 1n } as unknown as ProjectInfo;
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A mined receipt of `hash` holding the marketplace event `event` for `slot`, or no event at all. */
function receiptOf(hash: string, blockNumber: number, event?: { name: "UpdateCommitted" | "UpdateRevealed"; slot: number }) {
  const logs =
    event === undefined
      ? []
      : [
          fedMarketInterface.encodeEventLog(
            event.name,
            event.name === "UpdateCommitted"
              ? [1n, 0n, ME, BigInt(event.slot), `0x${"33".repeat(32)}`]
              : [1n, 0n, ME, BigInt(event.slot), 12345n, CID],
          ),
        ];
  return { hash, blockNumber, status: 1, logs } as unknown as TransactionReceipt;
}

/**
 * The options of a node whose round 0 entry is `entry`; the chain mines every transaction sent into
 * `mined` and has `landed` as the receipt of any hash asked for (a transaction sent before a restart).
 */
async function nodeWith(
  entry: Partial<RoundEntry> & Pick<RoundEntry, "phase">,
  chain: { mined?: TransactionReceipt; landed?: TransactionReceipt },
): Promise<{ o: TrainerNodeOptions; log: ReturnType<typeof memoryLogger> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-trainer-receipt-"));
  dirs.push(dir);
  const state = await StateStore.open(dir);
  await state.update(1n, 0, { commitment: "12345", cid: CID, ...entry });
  const sent = { hash: chain.mined?.hash };
  const client = {
    address: MARKET,
    contract: { interface: fedMarketInterface },
    provider: {
      getTransactionReceipt: async () => chain.landed ?? null,
      getTransactionCount: async () => 0,
    },
    read: <T>(_what: string, fn: () => Promise<T>) => fn(),
    getTrainer: async () => ({ registered: true, lastSubmittedRoundPlusOne: 0 }),
    updateRevealed: async () => [],
    commitUpdate: async () => sent,
    revealUpdate: async () => sent,
    wait: async () => chain.mined,
  } as unknown as FedMarketClient;
  const log = memoryLogger();
  const o = standInOptions(client, state, log, { pollIntervalMs: 1 });
  return { o, log };
}

const fieldsOf = (e: RoundEntry | undefined) => ({
  phase: e?.phase,
  commitTxHash: e?.commitTxHash,
  txHash: e?.txHash,
  blockNumber: e?.blockNumber,
  slot: e?.slot,
});

test("commit: the mined receipt records phase committed, the commit tx and the slot of UpdateCommitted", async () => {
  const { o, log } = await nodeWith({ phase: "pinned" }, { mined: receiptOf(COMMIT_TX, 7, { name: "UpdateCommitted", slot: 3 }) });
  const entry = await commitUpdate(o, project, 0);
  const want = { phase: "committed", commitTxHash: COMMIT_TX, txHash: undefined, blockNumber: undefined, slot: 3 };
  assert.deepEqual(fieldsOf(entry), want);
  assert.deepEqual(fieldsOf(o.state.get(1n, 0)), want, "written to the state file");
  assert.deepEqual(log.records.at(-1), {
    level: "info",
    event: "round.committed",
    msg: "round 0: committed in block 7, slot 3",
    fields: { projectId: 1n, round: 0, slot: 3, block: 7 },
  });
});

test("commit: the receipt of a commit sent before a restart is adopted, and a receipt without the event keeps the slot", async () => {
  const { o, log } = await nodeWith(
    { phase: "committing", commitTxHash: COMMIT_TX, slot: 2 },
    { landed: receiptOf(COMMIT_TX, 7) }, // no UpdateCommitted in it
  );
  const entry = await commitUpdate(o, project, 0);
  assert.deepEqual(fieldsOf(entry), { phase: "committed", commitTxHash: COMMIT_TX, txHash: undefined, blockNumber: undefined, slot: 2 });
  assert.deepEqual(log.records, [
    {
      level: "info",
      event: "round.adopted",
      msg: `round 0: the commit this account sent before the restart had landed (tx ${COMMIT_TX}, block 7, slot ?): adopted, not sent again`,
      fields: { projectId: 1n, round: 0, slot: undefined, block: 7, step: "commit", txHash: COMMIT_TX },
    },
  ]);
});

test("reveal: the mined receipt records phase confirmed, the reveal tx, its block and the slot of UpdateRevealed", async () => {
  const { o, log } = await nodeWith(
    { phase: "committed", commitTxHash: COMMIT_TX, slot: 3 },
    { mined: receiptOf(REVEAL_TX, 9, { name: "UpdateRevealed", slot: 3 }) },
  );
  const out = await revealUpdate(o, project, 0);
  assert.equal(out.landed, false);
  const want = { phase: "confirmed", commitTxHash: COMMIT_TX, txHash: REVEAL_TX, blockNumber: 9, slot: 3 };
  assert.deepEqual(fieldsOf(out.entry), want);
  assert.deepEqual(fieldsOf(o.state.get(1n, 0)), want, "written to the state file");
  assert.deepEqual(log.records.at(-1), {
    level: "info",
    event: "round.confirmed",
    msg: `round 0: update revealed in block 9, slot 3 (tx ${REVEAL_TX})`,
    fields: { projectId: 1n, round: 0, txHash: REVEAL_TX, block: 9, slot: 3 },
  });
});

test("reveal: the receipt of a reveal sent before a restart is adopted, and says so", async () => {
  const { o, log } = await nodeWith(
    { phase: "submitted", commitTxHash: COMMIT_TX, txHash: REVEAL_TX },
    { landed: receiptOf(REVEAL_TX, 9, { name: "UpdateRevealed", slot: 1 }) },
  );
  const out = await revealUpdate(o, project, 0);
  assert.equal(out.landed, true);
  assert.deepEqual(fieldsOf(out.entry), { phase: "confirmed", commitTxHash: COMMIT_TX, txHash: REVEAL_TX, blockNumber: 9, slot: 1 });
  assert.deepEqual(log.records, [
    {
      level: "info",
      event: "round.adopted",
      msg: `round 0: the reveal this account sent before the restart had landed (tx ${REVEAL_TX}, block 9, slot 1): adopted, not sent again`,
      fields: { projectId: 1n, round: 0, step: "reveal", txHash: REVEAL_TX, block: 9, slot: 1 },
    },
  ]);
});
