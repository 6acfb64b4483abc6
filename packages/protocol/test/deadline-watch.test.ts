/**
 * The wait for a deadline in chain time (node/deadline-watch.ts): the heartbeat lines and the one
 * warning when chain time stands still, on a fake wall clock. Nothing here waits.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { memoryLogger } from "../src/node/log.ts";
import {
  anchorChainClock,
  chainStalledMessage,
  chainTimeStalled,
  deadlineOverdueMs,
  DeadlineWatch,
  type DeadlineLook,
} from "../src/node/deadline-watch.ts";

test("anchorChainClock: kept while chain time stands still, moved to the wall clock when it moves", () => {
  const a = anchorChainClock(undefined, 1_000, 5_000);
  assert.deepEqual(a, { chainTime: 1_000, wallMs: 5_000 });
  assert.equal(anchorChainClock(a, 1_000, 9_000), a, "same block: the anchor stays");
  assert.deepEqual(anchorChainClock(a, 1_012, 9_000), { chainTime: 1_012, wallMs: 9_000 });
});

test("chainTimeStalled: only once the wall clock is the grace past the deadline's estimate with chain time unmoved", () => {
  const anchor = { chainTime: 1_000, wallMs: 0 }; // deadline 60 s of chain time ahead: expected at wall 60 s
  assert.equal(deadlineOverdueMs(anchor, 1_060, 60_000), 0);
  assert.equal(deadlineOverdueMs(anchor, 1_060, 30_000), -30_000);
  assert.equal(chainTimeStalled(anchor, 1_060, 60_000), false, "on time");
  assert.equal(chainTimeStalled(anchor, 1_060, 89_999), false, "within the 30 s grace");
  assert.equal(chainTimeStalled(anchor, 1_060, 90_000), true);
  assert.equal(chainTimeStalled(anchor, 1_060, 70_000, 10_000), true, "a custom grace");
  assert.equal(chainTimeStalled(anchor, 1_000, 500_000), false, "the deadline is reached in chain time: nothing stands still");
});

test("chainStalledMessage: says since when and how to move chain time (evm_mine, evm_setIntervalMining)", () => {
  const msg = chainStalledMessage("the reveal deadline of round 3", { chainTime: 1_000, wallMs: 0 }, 1_060, 95_000);
  assert.match(msg, /^chain time has not moved for 95 s \(latest block timestamp 1000\), so the reveal deadline of round 3 never comes/);
  assert.match(msg, /the wall clock passed 35 s ago/);
  assert.match(msg, /evm_mine/);
  assert.match(msg, /evm_setIntervalMining/);
});

/** A watch on a fake clock, with the records it logged. */
function fakeWatch(): { watch: DeadlineWatch; log: ReturnType<typeof memoryLogger>; at(ms: number): void } {
  let now = 0;
  const log = memoryLogger();
  return { watch: new DeadlineWatch(log, { now: () => now }), log, at: (ms) => (now = ms) };
}

const look = (chainTime: number, o: Partial<DeadlineLook> = {}): DeadlineLook => ({
  key: "reveal:3",
  event: "round.waiting",
  what: "the reveal deadline of round 3",
  deadline: 1_060,
  chainTime,
  ...o,
});

test("DeadlineWatch: a line when the wait starts, then at most one heartbeat per 30 s", () => {
  const { watch, log, at } = fakeWatch();
  for (const [ms, chainTime] of [
    [0, 1_000],
    [5_000, 1_005],
    [29_999, 1_029],
    [30_000, 1_030],
    [45_000, 1_045],
    [60_000, 1_059],
  ] as const) {
    at(ms);
    watch.observe(look(chainTime));
  }
  assert.deepEqual(
    log.records.map((r) => [r.level, r.event, r.msg]),
    [
      ["info", "round.waiting", "waiting for the reveal deadline of round 3: 60 s left (chain time)"],
      ["info", "round.waiting", "waiting for the reveal deadline of round 3: 30 s left (chain time)"],
      ["info", "round.waiting", "waiting for the reveal deadline of round 3: 1 s left (chain time)"],
    ],
  );
  assert.equal(log.records[0]?.fields.secondsLeft, 60);
});

test("DeadlineWatch: a new wait (another key) logs at once, with what follows it", () => {
  const { watch, log, at } = fakeWatch();
  watch.observe(look(1_000));
  at(1_000);
  watch.observe(
    look(1_001, { key: "reveal:4", what: "the reveal deadline of round 4", deadline: 2_000, then: "then this node aggregates" }),
  );
  assert.equal(log.records.length, 2);
  assert.equal(log.records[1]?.msg, "waiting for the reveal deadline of round 4: 999 s left (chain time); then this node aggregates");
});

test("DeadlineWatch: chain time standing still past the deadline's wall-clock estimate warns once, naming the fix", () => {
  const { watch, log, at } = fakeWatch();
  watch.observe(look(1_000)); // deadline 60 s ahead in chain time
  for (const ms of [20_000, 60_000, 89_000]) {
    at(ms);
    watch.observe(look(1_000));
  }
  assert.equal(log.records.filter((r) => r.level === "warn").length, 0, "not before the grace has passed");
  for (const ms of [90_000, 120_000, 600_000]) {
    at(ms);
    watch.observe(look(1_000));
  }
  const warnings = log.records.filter((r) => r.level === "warn");
  assert.equal(warnings.length, 1, "once per wait");
  assert.equal(warnings[0]?.event, "chain.stalled");
  assert.match(warnings[0]?.msg ?? "", /chain time has not moved for 90 s .*evm_mine.*evm_setIntervalMining/);
  const beats = log.records.filter((r) => r.event === "round.waiting").map((r) => r.msg);
  assert.ok(
    beats.every((m) => m.endsWith("60 s left (chain time)")),
    "the heartbeat goes on, still 60 s left",
  );

  // the next wait re-arms the warning
  at(700_000);
  watch.observe(look(1_000, { key: "reveal:4" }));
  at(790_000);
  watch.observe(look(1_000, { key: "reveal:4" }));
  assert.equal(log.records.filter((r) => r.level === "warn").length, 2);
});

test("DeadlineWatch: chain time that keeps moving never warns, however slowly the blocks come", () => {
  const { watch, log, at } = fakeWatch();
  // a block every 40 s of wall time, each 40 s of chain time later: the deadline comes on time
  for (let i = 0; i <= 30; i++) {
    at(i * 10_000);
    watch.observe(look(1_000 + 40 * Math.floor(i / 4), { deadline: 1_200 }));
  }
  assert.equal(log.records.filter((r) => r.level === "warn").length, 0);
});
