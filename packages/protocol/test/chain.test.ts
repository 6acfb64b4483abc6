import { test } from "node:test";
import assert from "node:assert/strict";
import { Interface, ZeroAddress, ZeroHash, type ParamType } from "ethers";
import {
  blockWindows,
  describeMarketError,
  FEDMARKET_ABI,
  FedMarketClient,
  fedMarketInterface,
  isTransientRpcError,
  queryEventsChunked,
  retryDelay,
  toMarketError,
  MarketRevertError,
  withRetries,
} from "../src/chain/index.ts";

test("the exported ABI has every call and event the nodes use", () => {
  const iface = new Interface(FEDMARKET_ABI);
  for (const f of [
    "getProject",
    "getCurrentRound",
    "getTrainer",
    "registerTrainer",
    "drawSeed",
    "commitUpdate",
    "revealUpdate",
    "slotOf",
    "withdraw",
    "creditOf",
    "releaseStake",
  ]) {
    assert.ok(iface.getFunction(f), f);
  }
  for (const e of ["UpdateCommitted", "UpdateRevealed", "RoundOpened", "TrainerRegistered"]) assert.ok(iface.getEvent(e), e);
  assert.ok(iface.getError("SubmissionWindowClosed"));
});

test("the exported ABI has the optimistic rounds' calls and events (FedMarket answers them through its module)", () => {
  const iface = new Interface(FEDMARKET_ABI);
  for (const f of [
    "finalizeRoundOptimistic",
    "challengeRound",
    "answerChallenge",
    "voidRound",
    "settleRound",
    "getOptimisticRound",
    "optimisticParams",
  ]) {
    assert.ok(iface.getFunction(f), f);
  }
  for (const e of [
    "ChunksCommitted",
    "RoundChallenged",
    "ChallengeProofsAccepted",
    "ChallengeAnswered",
    "RoundVoided",
    "RoundSettled",
    "BondReleased",
  ]) {
    assert.ok(iface.getEvent(e), e);
  }
});

test("bounded block windows", () => {
  assert.deepEqual(blockWindows(0, 4999, 2000), [
    [0, 1999],
    [2000, 3999],
    [4000, 4999],
  ]);
  assert.deepEqual(blockWindows(5, 5, 2000), [[5, 5]]);
  assert.deepEqual(blockWindows(6, 5, 2000), []);
  assert.throws(() => blockWindows(0, 1, 0), /blockRange/);
});

test("retries transient errors with exponential backoff, not reverts", async () => {
  assert.equal(retryDelay(1), 200);
  assert.equal(retryDelay(3), 800);
  assert.equal(retryDelay(10), 5000);
  let calls = 0;
  const delays: number[] = [];
  const result = await withRetries(
    async () => {
      calls++;
      if (calls < 3) throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
      return 42;
    },
    { baseDelayMs: 1, onRetry: (i) => delays.push(i.delayMs) },
  );
  assert.equal(result, 42);
  assert.deepEqual(delays, [1, 2]);
  calls = 0;
  const revert = Object.assign(new Error("execution reverted"), { code: "CALL_EXCEPTION" });
  await assert.rejects(
    withRetries(
      async () => {
        calls++;
        throw revert;
      },
      { baseDelayMs: 1 },
    ),
    /execution reverted/,
  );
  assert.equal(calls, 1);
  assert.equal(isTransientRpcError(new Error("fetch failed")), true);
  assert.equal(isTransientRpcError(revert), false);
  // ethers turns any JSON-RPC error of eth_call / eth_estimateGas into a CALL_EXCEPTION without data
  const limited = (error: unknown) =>
    Object.assign(new Error("missing revert data"), { code: "CALL_EXCEPTION", data: null, revert: null, info: { error } });
  assert.equal(isTransientRpcError(limited({ code: -32005, message: "rate limited" })), true);
  assert.equal(isTransientRpcError(limited({ code: -32603, message: "Internal error: upstream rate limited" })), true);
  assert.equal(isTransientRpcError(limited({ code: -32603, message: "execution reverted" })), false);
  assert.equal(isTransientRpcError(Object.assign(limited({ code: -32005, message: "rate limited" }), { data: "0x08c379a0" })), false);
});

test("event queries walk windows, retry, and halve windows the endpoint rejects", async () => {
  const topic = fedMarketInterface.getEvent("TrainerRegistered")!.topicHash;
  const calls: [number, number][] = [];
  let failOnce = true;
  const provider = {
    getBlockNumber: async () => 4500,
    getLogs: async (f: { fromBlock: number; toBlock: number }) => {
      calls.push([f.fromBlock, f.toBlock]);
      if (failOnce) {
        failOnce = false;
        throw Object.assign(new Error("timeout"), { code: "TIMEOUT" });
      }
      if (f.toBlock - f.fromBlock + 1 > 1000) throw new Error("query exceeds max block range 1000");
      if (f.fromBlock <= 3000 && 3000 <= f.toBlock) {
        const log = fedMarketInterface.encodeEventLog("TrainerRegistered", [1n, "0x" + "11".repeat(20), 5n]);
        return [{ ...log, blockNumber: 3000, transactionHash: "0x" + "aa".repeat(32), index: 0 }];
      }
      return [];
    },
  };
  const events = await queryEventsChunked(provider as never, fedMarketInterface, "0x" + "22".repeat(20), [topic], {
    blockRange: 2000,
    retry: { baseDelayMs: 1 },
  });
  assert.equal(events.length, 1);
  assert.equal(events[0]!.eventName, "TrainerRegistered");
  assert.equal(events[0]!.args.stake, 5n);
  assert.equal(events[0]!.blockNumber, 3000);
  assert.deepEqual(calls.slice(0, 3), [
    [0, 1999],
    [0, 1999],
    [0, 999],
  ]);
  assert.deepEqual(calls.at(-1), [4000, 4500]);
});

test("reverts become messages that say what to do", () => {
  const err = toMarketError({ revert: { name: "NotRegistered", args: [1n, "0xabc"] } }, "submitUpdate");
  assert.ok(err instanceof MarketRevertError);
  assert.match(err.message, /submitUpdate failed: 0xabc is not registered in project 1: run `fedmarket-trainer join` first/);
  assert.match(describeMarketError("SubmissionWindowClosed", [1n, 0n, 1700000000n]), /closed at 2023-11-14T22:13:20.000Z/);
  assert.match(describeMarketError("InvalidSealKey", []), /not a BabyJubJub public key/);
  assert.match(
    describeMarketError("InvalidChunkProofs", [2n, 3n]),
    /the 3 chunk proofs from chunk 2 on do not all verify.*resubmit from chunk 2/,
  );
});

/** The zero value of an ABI type (tuples as objects by field name). */
function zeroOf(t: ParamType): unknown {
  if (t.isTuple()) return Object.fromEntries(t.components.map((c) => [c.name, zeroOf(c)]));
  if (t.isArray()) return Array.from({ length: Math.max(t.arrayLength, 0) }, () => zeroOf(t.arrayChildren));
  if (t.baseType === "address") return ZeroAddress;
  if (t.baseType === "bool") return false;
  if (t.baseType === "string") return "";
  if (t.baseType === "bytes32") return ZeroHash;
  return 0n;
}

test("getProject decodes the aggregator's seal key as [x, y]", async () => {
  const [x, y] = [5299619240641551281634865583518297030282874472190772894086521144482721001553n, 7n];
  const view = zeroOf(fedMarketInterface.getFunction("getProject")!.outputs[0]!) as Record<string, unknown>;
  Object.assign(view, { status: 2, aggregatorSealKey: [x, y] });
  const result = fedMarketInterface.encodeFunctionResult("getProject", [view]);
  const provider = { getBlockNumber: async () => 1, call: async () => result };
  const client = new FedMarketClient("0x" + "12".repeat(20), provider as never);
  const project = await client.getProject(1n);
  assert.deepEqual(project.aggregatorSealKey, [x, y]);
  assert.equal(project.statusName, "Active");
});
