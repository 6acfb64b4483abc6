/**
 * How the nodes' `run` loops (trainer, aggregator) ride out an outage of the JSON-RPC endpoint or
 * of IPFS, however long: an outage is recognised (`classifyOutage`), the round is retried after a
 * capped, jittered exponential backoff (`outageDelay`: 1 s doubling to 30 s by default), and the
 * node says so exactly twice, one warn line when the connection drops and one info line when it is
 * back (`OutageTracker`). Every step of a round resumes from the node's files and checks the chain
 * before sending anything, so retrying a round is what a restart would do, without the restart.
 * Anything that is not an outage (a revert, bad data, a wrong key) is left to the caller.
 */
import { MarketRevertError, RpcUnavailableError, WrongNetworkError } from "../chain/errors.ts";
import { isTransientRpcError } from "../chain/retry.ts";
import { BlobNotFoundError, BlobStoreError, CidMismatchError } from "../storage/blob-store.ts";
import type { NodeLogger } from "./log.ts";
import { NodeError, sleep } from "./runtime.ts";

/** What went away: the chain's JSON-RPC endpoint or the IPFS node. */
export type OutageService = "chain" | "IPFS";

export interface Outage {
  readonly service: OutageService;
  /** The failure, one line (the error's message). */
  readonly what: string;
}

/** `err` and its causes, outermost first. */
function causesOf(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    out.push(e);
    e = typeof e === "object" ? (e as { cause?: unknown }).cause : undefined;
  }
  return out;
}

/** An IPFS failure worth waiting out: a fetch or a store that failed for a reason beneath it. */
function isIpfsFailure(e: unknown): boolean {
  if (e instanceof BlobStoreError) return e.cause !== undefined;
  return e instanceof NodeError && e.code === "ipfs" && e.cause !== undefined;
}

/**
 * Whether `err` says "the chain or IPFS is unreachable" (wait and retry) rather than "this cannot
 * work" (stop): `RpcUnavailableError`, an ethers transport error (`isTransientRpcError`) that no
 * client wrapped, a `BlobStoreError` with a cause (a fetch that kept failing, a Kubo node that did
 * not answer) or a node's `ipfs` error around one. A revert, a wrong network, content that does not
 * match its CID and a blob the store knows it does not have are never outages, wherever they sit in
 * the cause chain; nor is a node's own error (`NodeError`) that wraps neither.
 */
export function classifyOutage(err: unknown): Outage | undefined {
  const causes = causesOf(err);
  const final = (e: unknown): boolean =>
    e instanceof MarketRevertError || e instanceof WrongNetworkError || e instanceof CidMismatchError || e instanceof BlobNotFoundError;
  if (causes.some(final)) return undefined;
  const what = err instanceof Error ? err.message : String(err);
  if (causes.some((e) => e instanceof RpcUnavailableError)) return { service: "chain", what };
  if (causes.some(isIpfsFailure)) return { service: "IPFS", what };
  if (!(err instanceof NodeError) && isTransientRpcError(err)) return { service: "chain", what };
  return undefined;
}

export interface OutageBackoffOptions {
  /** The first pause (default 1,000 ms); it doubles per failed attempt... */
  readonly baseDelayMs?: number;
  /** ...up to this (default 30,000 ms). */
  readonly maxDelayMs?: number;
  /** Each pause is moved by up to this fraction either way, never above `maxDelayMs` (default 0.2). */
  readonly jitter?: number;
  /** Uniform in [0, 1) (default `Math.random`; tests fix it). */
  readonly random?: () => number;
  /** The wall clock in ms (default `Date.now`; tests fake it). */
  readonly now?: () => number;
  /** Pauses, abortably (default runtime.ts's `sleep`; tests fake it). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const DEFAULT_BASE_MS = 1_000;
const DEFAULT_MAX_MS = 30_000;
const DEFAULT_JITTER = 0.2;

/**
 * The pause after the `attempt`-th failed attempt of an outage (1-based): `baseDelayMs * 2^(attempt - 1)`
 * capped at `maxDelayMs`, moved by up to `jitter` of itself either way (so that nodes that lost the
 * same endpoint do not all come back in the same second), never above `maxDelayMs`.
 */
export function outageDelay(attempt: number, options: OutageBackoffOptions = {}): number {
  const base = options.baseDelayMs ?? DEFAULT_BASE_MS;
  const max = options.maxDelayMs ?? DEFAULT_MAX_MS;
  const jitter = options.jitter ?? DEFAULT_JITTER;
  const capped = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  const moved = capped * (1 + jitter * (2 * (options.random ?? Math.random)() - 1));
  return Math.max(0, Math.round(Math.min(max, moved)));
}

const SERVICE_NAMES: Record<OutageService, string> = { chain: "the chain (JSON-RPC)", IPFS: "IPFS" };

/**
 * The outage state of one `run` loop. After a failed round attempt the loop calls `backoff(err)`:
 * `false` means "not an outage, rethrow it"; otherwise the tracker has logged the drop (once per
 * outage: `outage.down`, warn), waited the backoff (abortable) and the loop tries again. After an
 * attempt that went through it calls `restored()`, which logs `outage.restored` (info) once if an
 * outage was in progress. The failed attempts in between are logged at debug level (`outage.retry`).
 */
export class OutageTracker {
  readonly #log: NodeLogger;
  readonly #o: OutageBackoffOptions;
  #current: { readonly service: OutageService; readonly since: number; attempts: number } | undefined;

  constructor(logger: NodeLogger, options: OutageBackoffOptions = {}) {
    this.#log = logger;
    this.#o = options;
  }

  /** An outage is in progress (dropped, not yet restored). */
  get down(): boolean {
    return this.#current !== undefined;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /**
   * If `err` is an outage (`classifyOutage`): logs the drop the first time, waits the next backoff
   * (returns early if `signal` aborts; the loop checks it) and returns true. Otherwise returns false
   * and logs nothing.
   */
  async backoff(err: unknown, signal?: AbortSignal): Promise<boolean> {
    const outage = classifyOutage(err);
    if (outage === undefined) return false;
    const current = (this.#current ??= { service: outage.service, since: this.#now(), attempts: 0 });
    current.attempts++;
    const delayMs = outageDelay(current.attempts, this.#o);
    const fields = { service: outage.service, error: outage.what, attempt: current.attempts, delayMs };
    if (current.attempts === 1) {
      const base = (this.#o.baseDelayMs ?? DEFAULT_BASE_MS) / 1000;
      const max = (this.#o.maxDelayMs ?? DEFAULT_MAX_MS) / 1000;
      this.#log.log(
        "warn",
        "outage.down",
        `connection to ${SERVICE_NAMES[outage.service]} lost: ${outage.what}; retrying with backoff (${base} s doubling to ${max} s)`,
        fields,
      );
    } else {
      this.#log.log("debug", "outage.retry", `still no connection to ${SERVICE_NAMES[outage.service]}: ${outage.what}`, fields);
    }
    await (this.#o.sleep ?? sleep)(delayMs, signal);
    return true;
  }

  /** A round attempt went through: logs the restore (once) if an outage was in progress. */
  restored(): void {
    const current = this.#current;
    if (current === undefined) return;
    this.#current = undefined;
    const downMs = Math.max(0, this.#now() - current.since);
    this.#log.log(
      "info",
      "outage.restored",
      `connection to ${SERVICE_NAMES[current.service]} restored after ${Math.round(downMs / 1000)} s (${current.attempts} failed attempt${current.attempts === 1 ? "" : "s"}); carrying on`,
      { service: current.service, downMs, attempts: current.attempts },
    );
  }
}
