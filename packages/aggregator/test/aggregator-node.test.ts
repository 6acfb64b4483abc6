/**
 * The node's state machine before any step runs: which projects it waits for and which it refuses.
 * A failed round ends the appointment on chain (the aggregator becomes the zero address, the project
 * awaits one): the node that failed it waits, it does not crash with `not-aggregator`.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ZeroAddress, type Signer } from "ethers";
import { memoryLogger, ProjectStatus, type BlobStore, type ProjectInfo, type RoundInfo } from "@fedmarket/protocol";
import { AggregatorNode } from "../src/aggregator-node.ts";
import type { AggregatorChain } from "../src/chain.ts";
import { AggregatorError } from "../src/errors.ts";

const SELF = `0x${"aa".repeat(20)}`;
const OTHER = `0x${"bb".repeat(20)}`;
const dirs: string[] = [];

after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A node whose chain reports `project` (status, aggregator) with round 2 open. */
async function nodeSeeing(status: number, aggregator: string, chainTime = 50): Promise<AggregatorNode> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-agg-node-"));
  dirs.push(dataDir);
  const names = ["None", "AwaitingAggregator", "Active", "Completed", "Cancelled"];
  const project = { id: 1n, status, statusName: names[status], aggregator } as unknown as ProjectInfo;
  // the seed is drawn already: the node has nothing to send
  const round = {
    round: 2,
    submissions: 0,
    seed: 1n,
    submissionDeadline: 100,
    revealDeadline: 150,
    aggregationDeadline: 200,
  } as unknown as RoundInfo;
  const chain = { client: { getOpenRound: async () => ({ project, round, chainTime }) } } as unknown as AggregatorChain;
  return new AggregatorNode({
    chain,
    signer: {} as Signer,
    address: SELF,
    chainId: 31337n,
    store: {} as BlobStore,
    dataDir,
    logger: memoryLogger(),
    sealSecret: 1n,
  });
}

test("a project whose appointment a failed round cleared: waiting for the owner to appoint an aggregator", async () => {
  const out = await (await nodeSeeing(ProjectStatus.AwaitingAggregator, ZeroAddress)).runRound(1n);
  assert.equal(out.kind, "waiting", JSON.stringify(out));
  assert.equal(out.kind === "waiting" && out.round, 2);
  assert.match(out.kind === "waiting" ? out.reason : "", /appointAggregator/);
});

test("a project that appointed this node and awaits its acceptance: waiting for acceptAggregator", async () => {
  const out = await (await nodeSeeing(ProjectStatus.AwaitingAggregator, SELF)).runRound(1n);
  assert.deepEqual(out, {
    kind: "waiting",
    round: 2,
    reason: "the project waits for its aggregator to accept (acceptAggregator: post the bond and register the seal key)",
  });
});

test("a project appointed to another account: refused with not-aggregator, whatever its status", async () => {
  for (const status of [ProjectStatus.AwaitingAggregator, ProjectStatus.Active]) {
    await assert.rejects(
      (await nodeSeeing(status, OTHER)).runRound(1n),
      (err: unknown) => err instanceof AggregatorError && err.code === "not-aggregator",
    );
  }
});

test("an ended project: ended, before any appointment check", async () => {
  assert.deepEqual(await (await nodeSeeing(ProjectStatus.Completed, ZeroAddress)).runRound(1n), { kind: "ended", status: "Completed" });
});

test("the open round's commit and reveal windows: waiting until both close (no update is visible before)", async () => {
  const out = await (await nodeSeeing(ProjectStatus.Active, SELF)).runRound(1n);
  assert.deepEqual(out, {
    kind: "waiting",
    round: 2,
    reason: "commit and reveal windows of round 2 open for 100 s more",
    untilChainTime: 150,
    chainTime: 50,
  });
  const revealing = await (await nodeSeeing(ProjectStatus.Active, SELF, 120)).runRound(1n);
  assert.deepEqual(revealing, {
    kind: "waiting",
    round: 2,
    reason: "reveal window of round 2 open for 30 s more",
    untilChainTime: 150,
    chainTime: 120,
  });
});
