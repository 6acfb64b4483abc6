/**
 * The outage policy of the nodes' `run` loops (node/outage.ts): which errors are outages, the capped
 * jittered backoff, and the one drop line and one restore line per outage. A fake clock and a fake
 * sleep: nothing here waits.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MarketRevertError, RpcUnavailableError, WrongNetworkError } from "../src/chain/errors.ts";
import { BlobNotFoundError, BlobStoreError, CidMismatchError } from "../src/storage/blob-store.ts";
import { memoryLogger } from "../src/node/log.ts";
import { classifyOutage, OutageTracker, outageDelay, type OutageBackoffOptions } from "../src/node/outage.ts";
import { NodeError, sleep } from "../src/node/runtime.ts";

const CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

test("outageDelay: 1 s doubling to 30 s, jittered by at most 20 % either way, never above the cap", () => {
  const exact = { random: () => 0.5 }; // no jitter
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 50].map((a) => outageDelay(a, exact)),
    [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000],
  );
  assert.equal(outageDelay(1, { random: () => 0 }), 800);
  assert.equal(outageDelay(1, { random: () => 0.999999 }), 1_200);
  assert.equal(outageDelay(4, { random: () => 0 }), 6_400);
  assert.equal(outageDelay(20, { random: () => 0 }), 24_000);
  assert.equal(outageDelay(20, { random: () => 0.999999 }), 30_000, "the cap holds with jitter");
  assert.equal(outageDelay(3, { baseDelayMs: 100, maxDelayMs: 250, jitter: 0, random: () => 0.9 }), 250);
  for (let i = 0; i < 200; i++) {
    const d = outageDelay(1 + (i % 9));
    assert.ok(d >= 800 && d <= 30_000, `delay ${d}`);
  }
});

test("classifyOutage: an unreachable chain or IPFS node is an outage; reverts, wrong networks and bad content are not", () => {
  const ipfsFetch = new BlobStoreError(`could not fetch ${CID} after 4 attempts: fetch failed`, CID, { cause: new Error("fetch failed") });
  const outages: [unknown, string][] = [
    [new RpcUnavailableError("cannot reach the JSON-RPC endpoint (getProject): connect ECONNREFUSED 127.0.0.1:1"), "chain"],
    [Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }), "chain"],
    [Object.assign(new Error("server response 502"), { code: "SERVER_ERROR" }), "chain"],
    [new Error("fetch failed", { cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) }), "chain"],
    [new NodeError("round", "could not read the round", { cause: new RpcUnavailableError("down") }), "chain"],
    [ipfsFetch, "IPFS"],
    [new NodeError("ipfs", `cannot download the model spec ${CID}: ...`, { cause: ipfsFetch }), "IPFS"],
    [new NodeError("ipfs", "cannot pin the new global model: connect ECONNREFUSED", { cause: new TypeError("fetch failed") }), "IPFS"],
  ];
  for (const [err, service] of outages) {
    const outage = classifyOutage(err);
    assert.equal(outage?.service, service, String(err));
    assert.equal(outage?.what, (err as Error).message);
  }
  const notOutages: unknown[] = [
    new MarketRevertError("SubmissionWindowClosed", [], "commitUpdate failed: the submission window closed"),
    new MarketRevertError("AlreadySubmitted", [], "revert", { cause: Object.assign(new Error("x"), { code: "CALL_EXCEPTION" }) }),
    new WrongNetworkError("wrong network: chain 1, expected 31337"),
    new CidMismatchError(CID, "bafkreiaaaa"),
    new BlobNotFoundError(CID, "not in the local blockstore (offline node)"),
    new NodeError("ipfs", `cannot download the model ${CID}: content does not match`, { cause: new CidMismatchError(CID, "bafkreiaaaa") }),
    new NodeError("ipfs", `the store returned another CID than ${CID}`), // no cause: the store's own fault
    new BlobStoreError('invalid CID "x"', "x"),
    new NodeError("revert", "round 3: timeout of the window (a 503 in the message is no transport error)"),
    new NodeError("bad-data", "cannot use the training data: no rows"),
    new Error("the published weights do not quantize to the proven model commitment"),
    Object.assign(new Error("bad argument"), { code: "INVALID_ARGUMENT" }),
    undefined,
    "a string",
  ];
  for (const err of notOutages) assert.equal(classifyOutage(err), undefined, String(err));
});

/** A fake clock that the fake sleep advances; the pauses asked for. */
function fakeTime(start = 1_000_000): { options: OutageBackoffOptions; pauses: number[]; clock: { t: number } } {
  const clock = { t: start };
  const pauses: number[] = [];
  return {
    clock,
    pauses,
    options: {
      now: () => clock.t,
      random: () => 0.5,
      sleep: async (ms) => {
        pauses.push(ms);
        clock.t += ms;
      },
    },
  };
}

test("OutageTracker: one warn line when the connection drops, one info line when it is back, backoff in between", async () => {
  const log = memoryLogger();
  const time = fakeTime();
  const outages = new OutageTracker(log, time.options);
  const down = new RpcUnavailableError("cannot reach the JSON-RPC endpoint (getProject): connect ECONNREFUSED 127.0.0.1:8545");

  // A run loop: eight failed attempts (each takes 3 s of retries inside the client), then success.
  let attempts = 0;
  for (;;) {
    attempts++;
    time.clock.t += 3_000;
    if (attempts <= 8) {
      assert.equal(await outages.backoff(down), true);
      assert.equal(outages.down, true);
      continue;
    }
    outages.restored();
    break;
  }
  assert.equal(outages.down, false);
  assert.deepEqual(time.pauses, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  const visible = log.records.filter((r) => r.level !== "debug");
  assert.deepEqual(
    visible.map((r) => [r.level, r.event]),
    [
      ["warn", "outage.down"],
      ["info", "outage.restored"],
    ],
  );
  const [drop, restore] = visible;
  assert.equal(
    drop?.msg,
    "connection to the chain (JSON-RPC) lost: cannot reach the JSON-RPC endpoint (getProject): connect ECONNREFUSED 127.0.0.1:8545; " +
      "retrying with backoff (1 s doubling to 30 s)",
  );
  // from the first failure to the success: 8 x 3 s of attempts after it and 121 s of pauses
  assert.equal(restore?.msg, "connection to the chain (JSON-RPC) restored after 145 s (8 failed attempts); carrying on");
  assert.deepEqual(restore?.fields, { service: "chain", downMs: 145_000, attempts: 8 });
  assert.equal(log.records.filter((r) => r.event === "outage.retry").length, 7, "the attempts in between, at debug level");

  // A later outage starts over: its own drop line, the backoff from 1 s again.
  outages.restored(); // nothing to restore: no line
  assert.equal(await outages.backoff(new BlobStoreError(`could not fetch ${CID}`, CID, { cause: new Error("timed out") })), true);
  assert.equal(time.pauses.at(-1), 1_000);
  outages.restored();
  const lines = log.records.filter((r) => r.level !== "debug").map((r) => r.msg);
  assert.equal(lines.length, 4);
  assert.match(lines[2] as string, /^connection to IPFS lost: could not fetch .*; retrying with backoff/);
  assert.equal(lines[3], "connection to IPFS restored after 1 s (1 failed attempt); carrying on");
});

test("OutageTracker: what is not an outage is left to the caller, without a line or a pause", async () => {
  const log = memoryLogger();
  const time = fakeTime();
  const outages = new OutageTracker(log, time.options);
  assert.equal(await outages.backoff(new MarketRevertError("WrongRound", [], "wrong round")), false);
  assert.equal(await outages.backoff(new NodeError("no-key", "no encryption key")), false);
  assert.equal(outages.down, false);
  assert.deepEqual(time.pauses, []);
  assert.deepEqual(log.records, []);
  // ...also in the middle of an outage: the outage stays open until an attempt goes through
  assert.equal(await outages.backoff(new RpcUnavailableError("down")), true);
  assert.equal(await outages.backoff(new WrongNetworkError("wrong network")), false);
  assert.equal(outages.down, true);
});

test("OutageTracker: the backoff ends at once when the loop's signal aborts", async () => {
  const controller = new AbortController();
  const outages = new OutageTracker(memoryLogger(), { baseDelayMs: 3_600_000, maxDelayMs: 3_600_000, sleep });
  const started = Date.now();
  const waiting = outages.backoff(new RpcUnavailableError("down"), controller.signal);
  controller.abort();
  assert.equal(await waiting, true);
  assert.ok(Date.now() - started < 1_000, "did not wait the hour");
});
