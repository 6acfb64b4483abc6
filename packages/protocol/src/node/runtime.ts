/**
 * What every fedmarket node (trainer, aggregator) and the owner's commands share at run time: how
 * they reach the chain, wait for their own pending transactions, pause between polls and fetch
 * blobs, and the typed base of their errors. One definition, so that a fix to any of them (a
 * hanging endpoint, a leaking timer) reaches all of them.
 */
import { JsonRpcProvider, type Provider } from "ethers";
import { RpcUnavailableError, WrongNetworkError } from "../chain/errors.ts";
import { projectCreationBlock, type CreationBlockClient } from "../chain/history.ts";
import type { NodeLogger } from "./log.ts";
import type { FetchOptions } from "../storage/blob-store.ts";

// -------------------------------------------------------------------------------------------------
// Errors
// -------------------------------------------------------------------------------------------------

/**
 * A clear, actionable failure of a node, with a stable machine-readable `code` (what a caller or a
 * test branches on; the `message` says what to do and may change). Each node narrows `Code` to its
 * own union, as MACI's error classes carry an enum, so that a misspelt code is a type error.
 */
export class NodeError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    // The subclass's own name (`TrainerNodeError`, `AggregatorError`, ...): what logs and CLIs print.
    this.name = new.target.name;
    this.code = code;
  }
}

// -------------------------------------------------------------------------------------------------
// Pausing
// -------------------------------------------------------------------------------------------------

/**
 * Resolves after `ms`, or as soon as `signal` aborts (at once if it already has). It resolves rather
 * than rejects on abort because the nodes' poll loops check `signal.aborted` themselves and stop
 * cleanly; a caller that must not go on follows it with `signal?.throwIfAborted()` (the retry
 * loops do). The timer and the abort listener are both released either way.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

// -------------------------------------------------------------------------------------------------
// Blob fetches
// -------------------------------------------------------------------------------------------------

/** The per-attempt timeout and the retries of a blob fetch (the `FetchOptions` every node sets). */
export type BlobFetchSettings = Readonly<Required<Pick<FetchOptions, "timeoutMs" | "retries">>>;

/**
 * How long one attempt to fetch a blob (spec, model, update) may take and how often it is retried,
 * unless configured (`--ipfs-timeout`, `--ipfs-retries`). Generous, because a trainer's update may
 * sit on a slow peer; bounded, because a round has a deadline.
 */
export const BLOB_FETCH_DEFAULTS: BlobFetchSettings = Object.freeze({ timeoutMs: 30_000, retries: 3 });

/** The fetch options of a node configured with optional `ipfsTimeoutMs` / `ipfsRetries`, defaults filled in. */
export function blobFetchOptions(config: {
  readonly ipfsTimeoutMs?: number | undefined;
  readonly ipfsRetries?: number | undefined;
}): BlobFetchSettings {
  return {
    timeoutMs: config.ipfsTimeoutMs ?? BLOB_FETCH_DEFAULTS.timeoutMs,
    retries: config.ipfsRetries ?? BLOB_FETCH_DEFAULTS.retries,
  };
}

// -------------------------------------------------------------------------------------------------
// Providers
// -------------------------------------------------------------------------------------------------

export interface ProviderOptions {
  /** How often ethers polls for receipts and new blocks (default 500 ms). */
  readonly pollingIntervalMs?: number;
}

/**
 * A JSON-RPC provider configured the way every node needs it: pinned to one network (no
 * re-detection on every call: `staticNetwork`) and without ethers' result cache, because the nodes
 * re-read chain state (nonces, rounds) to decide what to do and must see the latest.
 */
export function jsonRpcProvider(rpcUrl: string, chainId?: bigint, options: ProviderOptions = {}): JsonRpcProvider {
  return new JsonRpcProvider(rpcUrl, chainId, { staticNetwork: true, pollingInterval: options.pollingIntervalMs ?? 500, cacheTimeout: -1 });
}

export interface ConnectRpcOptions extends ProviderOptions {
  /** The chain the configuration expects (`--chain-id`): another one is a `WrongNetworkError`. */
  readonly chainId?: bigint;
  /** Attempts to reach the endpoint before giving up (default 4; backoff 250, 500, 1,000 ms, ...). */
  readonly attempts?: number;
  /** Per-attempt timeout of the `eth_chainId` request (default 10,000 ms). */
  readonly timeoutMs?: number;
}

/**
 * Connects to a JSON-RPC endpoint: asks for its chain id with a plain request first, so that an
 * unreachable endpoint fails within seconds with `RpcUnavailableError` (ethers' own network
 * detection would retry forever), checks it against `options.chainId`, and returns a provider
 * pinned to that chain (`jsonRpcProvider`).
 */
export async function connectRpc(rpcUrl: string, options: ConnectRpcOptions = {}): Promise<{ provider: JsonRpcProvider; chainId: bigint }> {
  const attempts = Math.max(1, options.attempts ?? 4);
  let chainId: bigint | undefined;
  let last: unknown;
  for (let attempt = 0; attempt < attempts && chainId === undefined; attempt++) {
    if (attempt > 0) await sleep(250 * 2 ** (attempt - 1));
    try {
      const res = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const body = (await res.json()) as { result?: unknown };
      if (typeof body.result !== "string") throw new Error(`unexpected answer ${JSON.stringify(body).slice(0, 100)}`);
      chainId = BigInt(body.result);
    } catch (err) {
      last = err;
    }
  }
  if (chainId === undefined) {
    // fetch reports the socket error as its cause ("fetch failed" alone says nothing)
    const reason = last instanceof Error ? (last.cause instanceof Error ? last.cause.message : last.message) : String(last);
    throw new RpcUnavailableError(`cannot reach the chain at ${rpcUrl} (${reason}): start the node or fix --rpc-url / FEDMARKET_RPC_URL`);
  }
  if (options.chainId !== undefined && options.chainId !== chainId) {
    throw new WrongNetworkError(`wrong network: ${rpcUrl} is chain ${chainId}, the configuration expects chain ${options.chainId}`);
  }
  return { provider: jsonRpcProvider(rpcUrl, chainId, options), chainId };
}

// -------------------------------------------------------------------------------------------------
// Pending transactions
// -------------------------------------------------------------------------------------------------

/**
 * Where `waitForPending` reads nonces: a `FedMarketClient` (its `read` adds the client's retries
 * and turns transport failures into `RpcUnavailableError`), or anything shaped like one.
 */
export interface NonceReader {
  readonly provider: Pick<Provider, "getTransactionCount">;
  read<T>(what: string, fn: () => Promise<T>): Promise<T>;
}

export interface WaitForPendingOptions {
  /** Pause between two looks at the nonces (default 500 ms). */
  readonly pollMs?: number;
  /** Give up after this long (default 300,000 ms) with `PendingTransactionsError`. */
  readonly timeoutMs?: number;
  /** Stops waiting: rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called once, when the first look finds pending transactions (so the node can say why it waits). */
  readonly onWaiting?: (pending: number) => void;
}

/** The account's transactions stayed pending for the whole `waitForPending` timeout. */
export class PendingTransactionsError extends NodeError<"pending"> {
  readonly address: string;
  /** Transactions still pending when the wait gave up. */
  readonly pending: number;

  constructor(address: string, pending: number, timeoutMs: number) {
    super(
      "pending",
      `${pending} transaction(s) of ${address} still pending after ${timeoutMs / 1000} s; check the node's mempool and gas price`,
    );
    this.address = address;
    this.pending = pending;
  }
}

/**
 * Waits until `address` has no pending transactions (its `pending` nonce is not above its
 * `latest`). A node calls it before deciding anything from chain state after a crash or restart:
 * a transaction it sent just before may still land, and sending again would double it.
 */
export async function waitForPending(client: NonceReader, address: string, options: WaitForPendingOptions = {}): Promise<void> {
  const pollMs = options.pollMs ?? 500;
  const timeoutMs = options.timeoutMs ?? 300_000;
  const deadline = Date.now() + timeoutMs;
  for (let look = 0; ; look++) {
    options.signal?.throwIfAborted();
    const [latest, pending] = await client.read("nonce", () =>
      Promise.all([client.provider.getTransactionCount(address, "latest"), client.provider.getTransactionCount(address, "pending")]),
    );
    if (pending <= latest) return;
    if (look === 0) options.onWaiting?.(pending - latest);
    if (Date.now() >= deadline) throw new PendingTransactionsError(address, pending - latest, timeoutMs);
    await sleep(pollMs, options.signal);
  }
}

/**
 * Where a node reads project `projectId`'s history from: its creation block (chain/history.ts
 * `projectCreationBlock`), so that no read scans the chain from block 0 in `eth_getLogs` windows.
 * An endpoint that cannot answer calls at old blocks (a pruned node) costs only time: the history
 * is then read from block 0, where the logs still are. An unreachable endpoint is thrown
 * (`RpcUnavailableError`): the caller's outage handling decides what to do.
 */
export async function historyStartBlock(client: CreationBlockClient, projectId: bigint, logger: NodeLogger): Promise<number> {
  try {
    return (await projectCreationBlock(client, projectId)) ?? 0;
  } catch (err) {
    if (err instanceof RpcUnavailableError) throw err;
    logger.log(
      "debug",
      "history.from-genesis",
      `cannot find the creation block of project ${projectId} (${(err as Error).message.split("\n")[0]}): reading its history from block 0`,
      { projectId },
    );
    return 0;
  }
}
