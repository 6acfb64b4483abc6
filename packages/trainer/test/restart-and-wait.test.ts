/**
 * What a restarted trainer says: a commit or reveal that had landed before the restart is adopted
 * and the log says so (not only "round 0 done"); and while its commitment waits for the reveal
 * window the node says so at once, then at most every 30 s, and warns once when chain time stands
 * still (a local chain that mines no blocks). The chain is a stand-in (one layer: the node), the
 * wall clock is fake; the end-to-end restarts are in packages/testkit/test/trainer.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { memoryLogger, ProjectStatus, type FedMarketClient, type ProjectInfo } from "@fedmarket/protocol";
import { StateStore } from "../src/node/state.ts";
import { sealedOf } from "../src/node/steps/commit.ts";
import { adoptReveal } from "../src/node/steps/reveal.ts";
import { TrainerNode } from "../src/node/trainer-node.ts";
import type { TrainerNodeOptions } from "../src/node/types.ts";
import { ME, standInOptions } from "./support/options.ts";

const MARKET = `0x${"bb".repeat(20)}`;
const COMMIT_TX = `0x${"11".repeat(32)}`;
const REVEAL_TX = `0x${"22".repeat(32)}`;
const CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const project = { id: 1n, status: ProjectStatus.Active, statusName: "Active", cancelRequested: false } as unknown as ProjectInfo;
/** Round 0: commit window until chain time 100, reveal window until 200. */
const round = { round: 0, submissionDeadline: 100, revealDeadline: 200 };

/**
 * Options of a node whose commit of round 0 is on chain (sent before a restart) while its state
 * file still says `pinned`; chain time stands at `chainTime`. `onPoll` runs at every look at the round.
 */
async function restartedAfterCommit(o: {
  chainTime: number;
  now?: () => number;
  onPoll?: () => void;
  logger?: ReturnType<typeof memoryLogger>;
}): Promise<TrainerNodeOptions> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-trainer-restart-"));
  dirs.push(dir);
  const state = await StateStore.open(dir);
  await state.update(1n, 0, { phase: "pinned", commitment: "12345", cid: CID });
  const base = { chainId: 31337n, client: { address: MARKET }, address: ME } as unknown as TrainerNodeOptions;
  const sealed = sealedOf(base, project, 0, state.get(1n, 0)!);
  const client = {
    address: MARKET,
    getOpenRound: async () => {
      o.onPoll?.();
      return {
        project,
        round,
        chainTime: o.chainTime,
        submissionOpen: o.chainTime < 100,
        revealOpen: false,
        secondsLeft: 100 - o.chainTime,
      };
    },
    getTrainer: async () => ({ registered: true, lastSubmittedRoundPlusOne: 1 }),
    updateCommitted: async () => [{ sealed, slot: 3, transactionHash: COMMIT_TX, blockNumber: 7 }],
    updateRevealed: async () => [{ slot: 3, transactionHash: REVEAL_TX, blockNumber: 9, commitment: 12345n, cid: CID }],
  } as unknown as FedMarketClient;
  return standInOptions(client, state, o.logger ?? memoryLogger(), { pollIntervalMs: 1, ...(o.now === undefined ? {} : { now: o.now }) });
}

test("a restart finds its commit on chain: adopted, and the log says so (tx, block, slot)", async () => {
  const o = await restartedAfterCommit({ chainTime: 50 });
  const out = await new TrainerNode(o).runRound(1n);
  assert.equal(out.kind, "committed");
  assert.equal(o.state.get(1n, 0)?.phase, "committed");
  const adopted = (o.logger as ReturnType<typeof memoryLogger>).records.filter((r) => r.event === "round.adopted");
  assert.deepEqual(
    adopted.map((r) => r.msg),
    [`round 0: the commit this account sent before the restart had landed (tx ${COMMIT_TX}, block 7, slot 3): adopted, not sent again`],
  );
});

test("a restart finds its reveal on chain: adopted, and the log says so", async () => {
  const o = await restartedAfterCommit({ chainTime: 150 });
  const entry = await adoptReveal(o, project, 0);
  assert.equal(entry?.phase, "confirmed");
  const log = (o.logger as ReturnType<typeof memoryLogger>).records;
  assert.equal(log.at(-1)?.event, "round.adopted");
  assert.equal(
    log.at(-1)?.msg,
    `round 0: the reveal this account sent before the restart had landed (tx ${REVEAL_TX}, block 9, slot 3): adopted, not sent again`,
  );
});

test("waiting for the reveal window: a line at once, a heartbeat at most every 30 s, one warning when chain time stands still", async () => {
  let wall = 0;
  const stop = new AbortController();
  const log = memoryLogger();
  const o = await restartedAfterCommit({
    chainTime: 40, // the commit deadline is 60 s of chain time away, and chain time never moves
    now: () => wall,
    logger: log,
    onPoll: () => {
      wall += 10_000;
      if (log.records.some((r) => r.level === "warn") || wall > 1_000_000) stop.abort();
    },
  });
  const out = await new TrainerNode(o).run(1n, { signal: stop.signal });
  assert.equal(out.kind, "waiting");
  const waits = log.records.filter((r) => r.event === "round.wait").map((r) => r.msg);
  assert.match(
    waits[0] ?? "",
    /^waiting for the commit deadline of round 0 \(1970-01-01T00:01:40\.000Z\): 60 s left \(chain time\); committed; the update is revealed then$/,
  );
  assert.ok(waits.length >= 2 && waits.length <= 4, `at most one line per 30 s of wall time: ${waits.length}`);
  const warnings = log.records.filter((r) => r.level === "warn");
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]?.event, "chain.stalled");
  assert.match(
    warnings[0]?.msg ?? "",
    /^chain time has not moved for \d+ s \(latest block timestamp 40\), so the commit deadline of round 0 .* never comes/,
  );
  assert.match(warnings[0]?.msg ?? "", /evm_mine.*evm_setIntervalMining/);
});
