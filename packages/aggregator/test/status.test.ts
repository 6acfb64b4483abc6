/**
 * `fedmarket-aggregator status` is read only: it needs no Ethereum key (FEDMARKET_PRIVATE_KEY) and
 * no seal key, does not take the data folder's lock (a running `run` holds it), and sends and
 * writes nothing. The chain is a stand-in JSON-RPC endpoint (an HTTP server answering the reads
 * status makes with ABI-encoded FedMarket views), so the CLI runs end to end as a child process
 * without a hardhat node; the round files are written by the test.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ZeroAddress, ZeroHash, type ParamType } from "ethers";
import { fedMarketInterface, memoryLogger, ProjectStatus } from "@fedmarket/protocol";
import { acquireLock, type DataLock } from "../src/lock.ts";
import { openStatusReader } from "../src/setup.ts";
import { StoreError } from "../src/store.ts";

const BIN = fileURLToPath(new URL("../bin/fedmarket-aggregator.js", import.meta.url));
const MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const AGGREGATOR = `0x${"aa".repeat(20)}`;
const CHAIN_ID = 31337n;
const CHAIN_TIME = 120;

/** A zero value of an ABI type (tuples as objects by component name, so fields can be set by name). */
function zeroOf(t: ParamType): unknown {
  if (t.isTuple()) return Object.fromEntries(t.components.map((c) => [c.name, zeroOf(c)]));
  if (t.isArray()) return t.arrayLength > 0 ? Array.from({ length: t.arrayLength }, () => zeroOf(t.arrayChildren)) : [];
  if (t.baseType === "address") return ZeroAddress;
  if (t.baseType === "bool") return false;
  if (t.baseType === "string") return "";
  if (t.baseType === "bytes") return "0x";
  if (t.baseType.startsWith("bytes")) return `0x${"00".repeat(Number(t.baseType.slice(5)))}`;
  return 0n;
}

/** `name`'s (single, struct) result: zeros, with `fields` set. */
function structResult(name: string, fields: Record<string, unknown>): string {
  const out = fedMarketInterface.getFunction(name)!.outputs[0]!;
  return fedMarketInterface.encodeFunctionResult(name, [{ ...(zeroOf(out) as object), ...fields }]);
}

/**
 * A JSON-RPC endpoint on chain 31337 with the marketplace at MARKET: project 1 Active, round 2 open
 * with 3 revealed updates (commit window until 100, reveal until 150, aggregation until 400), latest
 * block at CHAIN_TIME. Every method asked is recorded; any other than the reads status makes is an error.
 */
function answer(method: string, params: unknown[]): unknown {
  switch (method) {
    case "eth_chainId":
      return `0x${CHAIN_ID.toString(16)}`;
    case "eth_blockNumber":
      return "0x10";
    case "eth_getCode":
      return "0x6080604052";
    case "eth_getBlockByNumber":
      return {
        hash: `0x${"12".repeat(32)}`,
        parentHash: `0x${"34".repeat(32)}`,
        number: "0x10",
        timestamp: `0x${CHAIN_TIME.toString(16)}`,
        nonce: "0x0000000000000000",
        difficulty: "0x0",
        gasLimit: "0x1c9c380",
        gasUsed: "0x0",
        miner: ZeroAddress,
        extraData: "0x",
        baseFeePerGas: "0x1",
        transactions: [],
      };
    case "eth_call": {
      const { to, data } = params[0] as { to: string; data: string };
      assert.equal(to.toLowerCase(), MARKET.toLowerCase(), "a call to the marketplace");
      const call = fedMarketInterface.parseTransaction({ data });
      switch (call?.name) {
        case "projectCount":
          return fedMarketInterface.encodeFunctionResult("projectCount", [1n]);
        case "getProject":
          assert.equal(call.args[0], 1n);
          return structResult("getProject", {
            status: ProjectStatus.Active,
            aggregator: AGGREGATOR,
            numRounds: 5,
            currentRound: 2,
            paramsHash: ZeroHash,
          });
        case "getCurrentRound":
          return structResult("getCurrentRound", {
            round: 2,
            submissions: 3,
            commits: 3,
            chunksVerified: 0,
            seed: 7n,
            submissionDeadline: 100,
            revealDeadline: 150,
            aggregationDeadline: 400,
          });
        default:
          throw new Error(`unexpected call ${call?.name ?? data.slice(0, 10)}`);
      }
    }
    default:
      throw new Error(`unexpected method ${method}`);
  }
}

let server: Server;
let rpcUrl: string;
/** Every JSON-RPC method the endpoint was asked, in order. */
const asked: string[] = [];
const dirs: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const one = (r: { id: unknown; method: string; params?: unknown[] }): unknown => {
        asked.push(r.method);
        try {
          return { jsonrpc: "2.0", id: r.id, result: answer(r.method, r.params ?? []) };
        } catch (err) {
          return { jsonrpc: "2.0", id: r.id, error: { code: -32601, message: (err as Error).message } };
        }
      };
      const parsed = JSON.parse(body) as Parameters<typeof one>[0] | Parameters<typeof one>[0][];
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(Array.isArray(parsed) ? parsed.map(one) : one(parsed)));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  rpcUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/**
 * A data folder a running `run` holds (its lock, taken by this process: alive, so anyone else
 * taking it is refused), with round 2 collected and opened (slot 1 excluded).
 */
async function dataFolderInUse(): Promise<{ dataDir: string; lock: DataLock; lockText: string }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-agg-status-"));
  dirs.push(dataDir);
  const lock = await acquireLock(dataDir);
  await assert.rejects(acquireLock(dataDir), /in use by another aggregator/, "the fixture's lock holds");
  const round = path.join(dataDir, "p1", "r2");
  await mkdir(round, { recursive: true });
  const slots = [0, 1, 2].map((slot) => ({ slot, trainer: AGGREGATOR, commitment: "1", cid: `cid-${slot}` }));
  await writeFile(path.join(round, "slots.json"), JSON.stringify({ projectId: "1", round: 2, fromBlock: 1, slots }));
  const openings = [
    { slot: 0, status: "opened" },
    { slot: 1, status: "unavailable", reason: "not available: timeout" },
    { slot: 2, status: "opened" },
  ];
  await writeFile(path.join(round, "openings.json"), JSON.stringify({ openings }));
  return { dataDir, lock, lockText: await readFile(lock.file, "utf8") };
}

/** Every file under `dir`, relative, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

/** The CLI without any key in its environment. */
function statusCli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("FEDMARKET_")) env[k] = v;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, "status", ...args], { env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr }),
    );
  });
}

/** The fields status prints, in order (JSON keys and the plain output's labels). */
const STATUS_FIELDS = [
  "project",
  "status",
  "openRound",
  "round",
  "chainTime",
  "submissionDeadline",
  "aggregationDeadline",
  "submissions",
  "chunksVerifiedOnChain",
  "step",
  "excluded",
];

test("the CLI's status: no FEDMARKET_PRIVATE_KEY, no seal key, the lock held by a running node; only reads", async () => {
  const { dataDir, lock, lockText } = await dataFolderInUse();
  try {
    const filesBefore = await filesUnder(dataDir);
    asked.length = 0;
    const target = ["--rpc-url", rpcUrl, "--market", MARKET, "--project", "1", "--data", dataDir];
    const json = await statusCli([...target, "--json"]);
    assert.equal(json.code, 0, json.stdout + json.stderr);
    const line = JSON.parse(json.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
    assert.equal(line.event, "status");
    assert.equal(line.msg, "project 1 round 2");
    assert.deepEqual(
      STATUS_FIELDS.map((k) => line[k]),
      ["1", "Active", 2, 2, CHAIN_TIME, 100, 400, 3, 0, "opened", [{ slot: 1, reason: "not available: timeout" }]],
    );

    const plain = await statusCli(target);
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    assert.equal(plain.stderr, "");
    const lines = plain.stdout.trimEnd().split("\n");
    assert.deepEqual(
      lines.map((l) => l.slice(0, 22).trimEnd()),
      [...STATUS_FIELDS, "dataDir"],
    );
    assert.ok(lines.includes(`${"step".padEnd(22)} opened`), plain.stdout);
    assert.ok(lines.includes(`${"dataDir".padEnd(22)} ${path.join(dataDir, "p1", "r2")}`), plain.stdout);

    // nothing sent, nothing written, the lock untouched
    assert.deepEqual([...new Set(asked)].sort(), ["eth_call", "eth_chainId", "eth_getBlockByNumber", "eth_getCode"]);
    assert.deepEqual(await filesUnder(dataDir), filesBefore, "no file created (no node.json, no lock of its own)");
    assert.equal(await readFile(lock.file, "utf8"), lockText, "the running node's lock is untouched");
  } finally {
    await lock.release();
  }
});

test("openStatusReader: reads the round without keys or lock; refuses a folder bound to another marketplace, writing nothing", async () => {
  const { dataDir, lock } = await dataFolderInUse();
  try {
    const reader = await openStatusReader({ rpcUrl, market: MARKET, dataDir }, memoryLogger());
    try {
      const s = await reader.status(1n);
      assert.equal(s.step, "opened");
      assert.equal(s.submissions, 3);
      const past = await reader.status(1n, 1);
      assert.deepEqual([past.round, past.step, past.submissions, past.submissionDeadline], [1, "not started", undefined, undefined]);
    } finally {
      await reader.close();
    }
    const other = { chainId: CHAIN_ID.toString(), market: `0x${"99".repeat(20)}`, aggregator: AGGREGATOR };
    await writeFile(path.join(dataDir, "node.json"), JSON.stringify(other));
    await assert.rejects(
      openStatusReader({ rpcUrl, market: MARKET, dataDir }, memoryLogger()),
      (err: unknown) => err instanceof StoreError && /belongs to market 0x9999/.test(err.message),
    );
    assert.deepEqual(JSON.parse(await readFile(path.join(dataDir, "node.json"), "utf8")), other);
  } finally {
    await lock.release();
  }
});
