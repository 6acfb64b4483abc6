/**
 * Retries with exponential backoff for JSON-RPC calls. Only transport-level failures (connection
 * refused, timeouts, 5xx, rate limits) are retried; a revert or a bad argument is final.
 */
import { sleep } from "../node/runtime.ts";

export interface RetryOptions {
  /** Retries after the first attempt (default 4). */
  readonly retries?: number;
  /** First delay; doubles per retry up to `maxDelayMs` (defaults 200 ms and 5,000 ms). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Decides whether an error is worth retrying (default `isTransientRpcError`). */
  readonly isRetryable?: (err: unknown) => boolean;
  /** Called before each retry. */
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  readonly signal?: AbortSignal;
}

const TRANSIENT_CODES = new Set([
  "NETWORK_ERROR",
  "TIMEOUT",
  "SERVER_ERROR",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

function codesOf(err: unknown): string[] {
  const out: string[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 6 && typeof e === "object" && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" || typeof code === "number") out.push(String(code));
    e = (e as { cause?: unknown; error?: unknown }).cause ?? (e as { error?: unknown }).error;
  }
  return out;
}

/**
 * The endpoint's own JSON-RPC error inside an ethers `CALL_EXCEPTION` without revert data: ethers
 * reports every JSON-RPC error of `eth_call` and `eth_estimateGas` as a `CALL_EXCEPTION`, also a
 * rate limit that has nothing to do with the call (`info.error`).
 */
function rpcErrorInCallException(err: unknown): unknown {
  const e = err as { code?: unknown; data?: unknown; revert?: unknown; info?: { error?: unknown } } | null;
  if (e === null || typeof e !== "object" || e.code !== "CALL_EXCEPTION") return undefined;
  if ((e.data !== undefined && e.data !== null && e.data !== "0x") || (e.revert !== undefined && e.revert !== null)) return undefined;
  return e.info?.error ?? undefined;
}

/** True for errors that say "the RPC endpoint did not answer properly", not "the call failed". */
export function isTransientRpcError(err: unknown): boolean {
  const codes = codesOf(err);
  if (codes.includes("CALL_EXCEPTION")) {
    const inner = rpcErrorInCallException(err);
    return inner !== undefined && isTransientRpcError(inner);
  }
  if (codes.includes("INVALID_ARGUMENT") || codes.includes("ACTION_REJECTED")) return false;
  if (codes.some((c) => TRANSIENT_CODES.has(c))) return true;
  // JSON-RPC rate limits and "header not found" on load-balanced nodes
  if (codes.includes("-32005") || codes.includes("429")) return true;
  const message = err instanceof Error ? err.message : String((err as { message?: unknown } | null)?.message ?? err);
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket hang up|fetch failed|timeout|rate limit|Too Many Requests|header not found|502|503|504/i.test(
    message,
  );
}

/** Delay before retry `attempt` (1-based): `min(maxDelayMs, baseDelayMs * 2^(attempt-1))`. */
export function retryDelay(attempt: number, options: RetryOptions = {}): number {
  return Math.min(options.maxDelayMs ?? 5_000, (options.baseDelayMs ?? 200) * 2 ** (attempt - 1));
}

/** Runs `fn`, retrying retryable failures with exponential backoff; rethrows the last error. */
export async function withRetries<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const retries = options.retries ?? 4;
  const retryable = options.isRetryable ?? isTransientRpcError;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= retries || !retryable(err) || options.signal?.aborted) throw err;
      const delayMs = retryDelay(attempt + 1, options);
      options.onRetry?.({ attempt: attempt + 1, delayMs, error: err });
      await sleep(delayMs, options.signal);
      options.signal?.throwIfAborted(); // cancelled during the backoff: no further attempt
    }
  }
}
