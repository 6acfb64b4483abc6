/**
 * The node runtime: abortable sleep, waiting for pending transactions, the typed error base,
 * blob-fetch defaults and connecting to a JSON-RPC endpoint (a local HTTP server answering
 * `eth_chainId`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { RpcUnavailableError, WrongNetworkError } from "../src/chain/errors.ts";
import {
  BLOB_FETCH_DEFAULTS,
  blobFetchOptions,
  connectRpc,
  NodeError,
  PendingTransactionsError,
  sleep,
  waitForPending,
  type NonceReader,
} from "../src/node/runtime.ts";

const ADDRESS = `0x${"ab".repeat(20)}`;

test("sleep resolves after its delay and releases its abort listener", async () => {
  const controller = new AbortController();
  await sleep(1, controller.signal);
  assert.equal(getEventListeners(controller.signal, "abort").length, 0);
  await sleep(0);
});

test("sleep resolves at once when aborted, during the wait or before it", async () => {
  const controller = new AbortController();
  const waiting = sleep(3_600_000, controller.signal);
  controller.abort();
  await waiting;
  assert.equal(getEventListeners(controller.signal, "abort").length, 0);
  await sleep(3_600_000, controller.signal);
});

/** A nonce source whose account has `pending[i]` pending transactions at its i-th look. */
function nonces(pending: readonly number[]): NonceReader & { looks: number; reads: string[] } {
  const source = {
    looks: 0,
    reads: [] as string[],
    provider: {
      getTransactionCount: async (address: string, tag?: unknown): Promise<number> => {
        assert.equal(address, ADDRESS);
        if (tag === "latest") return 10;
        const n = pending[Math.min(source.looks, pending.length - 1)] as number;
        source.looks++;
        return 10 + n;
      },
    },
    async read<T>(what: string, fn: () => Promise<T>): Promise<T> {
      source.reads.push(what);
      return fn();
    },
  };
  return source;
}

test("waitForPending returns once nothing is pending, saying once that it waits", async () => {
  const idle = nonces([0]);
  const told: number[] = [];
  await waitForPending(idle, ADDRESS, { onWaiting: (n) => told.push(n) });
  assert.equal(idle.looks, 1);
  assert.deepEqual(told, []);

  const busy = nonces([2, 1, 1, 0]);
  const toldBusy: number[] = [];
  await waitForPending(busy, ADDRESS, { pollMs: 1, onWaiting: (n) => toldBusy.push(n) });
  assert.equal(busy.looks, 4);
  assert.deepEqual(toldBusy, [2]);
  assert.ok(
    busy.reads.every((w) => w === "nonce"),
    "reads go through the client's retries",
  );
});

test("waitForPending gives up with a typed error after its timeout, and stops when aborted", async () => {
  await assert.rejects(waitForPending(nonces([3]), ADDRESS, { pollMs: 1, timeoutMs: 0 }), (err: unknown) => {
    assert.ok(err instanceof PendingTransactionsError && err instanceof NodeError);
    assert.equal(err.code, "pending");
    assert.equal(err.pending, 3);
    assert.equal(err.message, `3 transaction(s) of ${ADDRESS} still pending after 0 s; check the node's mempool and gas price`);
    return true;
  });
  const controller = new AbortController();
  const stuck = nonces([1]);
  const waiting = waitForPending(stuck, ADDRESS, { pollMs: 3_600_000, signal: controller.signal });
  controller.abort(new Error("node stopping"));
  await assert.rejects(waiting, /node stopping/);
});

type ExampleCode = "config" | "ipfs";
class ExampleNodeError extends NodeError<ExampleCode> {}

test("NodeError: the subclass's name, a typed code, the message and the cause", () => {
  const cause = new Error("socket hang up");
  const err = new ExampleNodeError("ipfs", "cannot download the model spec", { cause });
  assert.ok(err instanceof Error && err instanceof NodeError && err instanceof ExampleNodeError);
  assert.equal(err.name, "ExampleNodeError");
  assert.equal(err.code, "ipfs");
  assert.equal(err.message, "cannot download the model spec");
  assert.equal(err.cause, cause);
  assert.match(String(err), /^ExampleNodeError: cannot download/);
  // @ts-expect-error a code outside the node's union does not compile
  assert.equal(new ExampleNodeError("ipfs-down", "x").code, "ipfs-down");
});

test("blob-fetch defaults fill what the configuration leaves out", () => {
  assert.deepEqual(blobFetchOptions({}), { timeoutMs: BLOB_FETCH_DEFAULTS.timeoutMs, retries: BLOB_FETCH_DEFAULTS.retries });
  assert.deepEqual(blobFetchOptions({ ipfsTimeoutMs: 2_000, ipfsRetries: 0 }), { timeoutMs: 2_000, retries: 0 });
  assert.deepEqual(blobFetchOptions({ ipfsRetries: 1 }), { timeoutMs: 30_000, retries: 1 });
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test("connectRpc: the endpoint's chain id, a provider pinned to it, a wrong or unreachable endpoint named", async () => {
  let requests = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (b: Buffer) => {
      body += b.toString();
    });
    req.on("end", () => {
      requests++;
      const { id, method } = JSON.parse(body) as { id: number; method: string };
      res.setHeader("content-type", "application/json");
      const answer = method === "eth_chainId" ? { result: "0x7a69" } : { error: { code: -32601, message: `no ${method} here` } };
      res.end(JSON.stringify({ jsonrpc: "2.0", id, ...answer }));
    });
  });
  const url = await listen(server);
  try {
    const { provider, chainId } = await connectRpc(url, { pollingIntervalMs: 250 });
    try {
      assert.equal(chainId, 31337n);
      assert.equal((await provider.getNetwork()).chainId, 31337n);
      assert.equal(provider.pollingInterval, 250);
    } finally {
      provider.destroy();
    }
    await assert.rejects(connectRpc(url, { chainId: 1n }), (err: unknown) => {
      assert.ok(err instanceof WrongNetworkError);
      assert.equal(err.message, `wrong network: ${url} is chain 31337, the configuration expects chain 1`);
      return true;
    });
    assert.ok(requests >= 2);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  // the port is closed now: nothing answers
  await assert.rejects(connectRpc(url, { attempts: 2 }), (err: unknown) => {
    assert.ok(err instanceof RpcUnavailableError);
    const expected = `^cannot reach the chain at ${url} \\(.+\\): start the node or fix --rpc-url / FEDMARKET_RPC_URL$`;
    assert.match(err.message, new RegExp(expected));
    return true;
  });
});
