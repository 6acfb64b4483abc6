/** The owner CLI's argument parsing and its exit-code convention (the end-to-end runs are in packages/testkit). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { InvalidArgumentError } from "commander";
import { RpcUnavailableError } from "@fedmarket/protocol";
import { exitCodeOf, jsonText, parseAddress, parseAmount, parseCount, parseProjectId } from "../src/commands/common.ts";
import { rpcUrlOf, DEFAULT_RPC_URL, UsageError } from "../src/owner/connect.ts";

test("arguments are checked at the boundary with messages that name the value", () => {
  assert.equal(parseAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"), "0x5FbDB2315678afecb367f032d93F642f64180aa3");
  assert.throws(
    () => parseAddress("0x12"),
    (e: unknown) => e instanceof InvalidArgumentError && /"0x12" is not an address/.test(e.message),
  );
  assert.equal(parseProjectId("7"), "7");
  assert.throws(() => parseProjectId("0"), /ids start at 1/);
  assert.equal(parseCount("0"), "0");
  assert.throws(() => parseCount("-1"), /non-negative integer/);
  assert.equal(parseAmount("1.5"), "1.5");
  assert.throws(() => parseAmount("1e3"), /not an amount/);
});

test("exit codes: 2 when the command could not run, 1 when the operation failed", () => {
  assert.equal(exitCodeOf(new UsageError("bad flag")), 2);
  assert.equal(exitCodeOf(new RpcUnavailableError("cannot reach the chain at http://127.0.0.1:1", { cause: new Error("refused") })), 2);
  assert.equal(exitCodeOf(new Error("reverted")), 1);
});

test("bigints print as decimal strings; the RPC URL comes from the flag, then the environment, then the default", () => {
  assert.equal(jsonText({ a: 10n ** 20n }), '{\n  "a": "100000000000000000000"\n}');
  assert.equal(rpcUrlOf("http://a", { FEDMARKET_RPC_URL: "http://b" }), "http://a");
  assert.equal(rpcUrlOf(undefined, { FEDMARKET_RPC_URL: "http://b" }), "http://b");
  assert.equal(rpcUrlOf(undefined, {}), DEFAULT_RPC_URL);
});
