/**
 * When the audit could not run, and its exit codes. The project's convention: 0 the project passed
 * the audit, 1 it failed it (a proof, a model, a payout... does not check), 2 the audit could not
 * run (bad arguments, missing files, an unreachable chain or IPFS). An outage on the auditor's side
 * must never read as the project's failure, so:
 *
 * - a blob fetch that fails because IPFS cannot be reached (connection refused, unknown host, reset,
 *   a proxy answering 502/503/504, the embedded repo unreadable) or does not answer in time after
 *   the configured retries stops the audit with `AuditCannotRunError`, whose message names the
 *   endpoint (`--ipfs-api` URL or `--ipfs-repo` folder) and says what to do; no verdict is given;
 * - a fetch that IPFS answers is the project's: a blob the store says it does not have
 *   (`BlobNotFoundError`, or an error answer of the Kubo node), or whose bytes do not hash to their
 *   CID (`CidMismatchError`), stays a finding (a failure);
 * - the same for the chain: a proof check that failed because the JSON-RPC endpoint went away
 *   (`RpcUnavailableError`, a network error or timeout of the transport) stops the audit instead of
 *   failing the round's proofs.
 *
 * `settleAudit` turns an audit's promise into an `AuditOutcome` and `auditExitCode` gives its exit
 * code: a thrown error (the context could not be read, IPFS or the chain went away) means it could
 * not run.
 */
import {
  BlobNotFoundError,
  CidMismatchError,
  EXIT_CANNOT_RUN,
  EXIT_FAILED,
  EXIT_OK,
  RpcUnavailableError,
  type BlobStore,
  type FetchOptions,
} from "@fedmarket/protocol";
import type { AuditReport } from "./audit.ts";

/** What went away: IPFS (the blob store) or the chain's JSON-RPC endpoint. */
export type AuditService = "IPFS" | "chain";

/** The audit stopped without a verdict: an outage on the auditor's side, not a finding about the project. */
export class AuditCannotRunError extends Error {
  readonly service: AuditService;
  /** The endpoint that could not be used, as the operator names it (`--ipfs-api http://...`, `--ipfs-repo dir`, the RPC). */
  readonly endpoint: string;
  constructor(service: AuditService, endpoint: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AuditCannotRunError";
    this.service = service;
    this.endpoint = endpoint;
  }
}

/**
 * Why a blob fetch failed, as far as the auditor's side goes:
 * - `unreachable`: the store could not be reached or used at all (the auditor's outage);
 * - `timeout`: it did not answer within the per-attempt timeout, after every retry (the auditor's
 *   node is down, hung or not connected to the network that has the blob: the audit cannot say);
 * - `answered`: the store answered, and what it said is about the blob (not found, wrong bytes, an
 *   error of the node about this CID) or the error is of no known transport kind: a finding.
 */
export type IpfsFailureKind = "unreachable" | "timeout" | "answered";

/** `err`, its causes and the errors of an `AggregateError`, outermost first (bounded). */
function errorsIn(err: unknown): unknown[] {
  const out: unknown[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 16) {
    const e = queue.shift();
    if (e === undefined || e === null || out.includes(e)) continue;
    out.push(e);
    if (typeof e !== "object") continue;
    const { cause, errors } = e as { cause?: unknown; errors?: unknown };
    if (cause !== undefined) queue.push(cause);
    if (Array.isArray(errors)) queue.push(...(errors as unknown[]));
  }
  return out;
}

const field = (e: unknown, key: "code" | "name" | "message"): string | undefined => {
  const v = typeof e === "object" && e !== null ? (e as Record<string, unknown>)[key] : undefined;
  return typeof v === "string" || typeof v === "number" ? String(v) : undefined;
};

/** System and undici codes of a connection that could not be made or was lost, or of a repo that cannot be read. */
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EPIPE",
  "EPROTO",
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
  // the embedded repo (--ipfs-repo): its folder cannot be read
  "EACCES",
  "EPERM",
  "EIO",
  "EMFILE",
  "ENFILE",
]);

const TIMEOUT_CODES = new Set([
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** The HTTP status of an error answer (kubo-rpc-client's `HTTPError` keeps the `Response`). */
function httpStatusOf(e: unknown): number | undefined {
  const response = typeof e === "object" && e !== null ? (e as { response?: unknown }).response : undefined;
  const status = typeof response === "object" && response !== null ? (response as { status?: unknown }).status : undefined;
  return typeof status === "number" ? status : undefined;
}

/**
 * Statuses that are not the node's answer about a blob: a proxy or load balancer in front of a node
 * that is down (502, 503, 504), an API that refuses the auditor (401, 403, 429), or no Kubo RPC API
 * at that address (404 "page not found", 405).
 */
function isEndpointStatus(status: number, message: string): boolean {
  if (status === 502 || status === 503 || status === 504 || status === 401 || status === 403 || status === 429 || status === 405)
    return true;
  return status === 404 && /page not found/i.test(message);
}

/** Classifies a failed blob fetch (see `IpfsFailureKind`); anything unknown is `answered`, as before. */
export function ipfsFailureKind(err: unknown): IpfsFailureKind {
  const all = errorsIn(err);
  // What the store says about the blob itself is final, wherever it sits in the chain.
  if (all.some((e) => e instanceof CidMismatchError || e instanceof BlobNotFoundError)) return "answered";
  for (const e of all) {
    const status = httpStatusOf(e);
    if (status !== undefined) return isEndpointStatus(status, field(e, "message") ?? "") ? "unreachable" : "answered";
  }
  const codes = all.map((e) => field(e, "code"));
  if (codes.some((c) => c !== undefined && UNREACHABLE_CODES.has(c))) return "unreachable";
  const names = all.map((e) => field(e, "name"));
  if (codes.some((c) => c !== undefined && TIMEOUT_CODES.has(c))) return "timeout";
  // fetchWithRetries' per-attempt timeout ("timed out after N ms" around the abort), kubo-rpc-client's TimeoutError
  // (Kubo's "context deadline exceeded"), the AbortSignal.timeout reason.
  if (names.some((n) => n === "TimeoutError") || all.some((e) => /^timed out after \d+ ms$/.test(field(e, "message") ?? ""))) {
    return "timeout";
  }
  // undici's "fetch failed" with no code beneath it: no answer came back.
  if (all.some((e) => e instanceof TypeError && field(e, "message") === "fetch failed")) return "unreachable";
  // Helia stopped under the audit's feet.
  if (names.some((n) => n === "NotStartedError")) return "unreachable";
  return "answered";
}

/**
 * How the operator names the store: the Kubo RPC API's URL (a `KuboBlobStore`'s `apiUrl`), the
 * embedded repo's folder (a `HeliaBlobStore`'s `dataDir`), or a generic name for another store.
 */
export function ipfsEndpointOf(store: BlobStore): string {
  const { apiUrl, dataDir } = store as { apiUrl?: unknown; dataDir?: unknown };
  if (typeof apiUrl === "string") return `the Kubo RPC API at ${apiUrl} (--ipfs-api)`;
  if (typeof dataDir === "string") return `the embedded IPFS repo ${dataDir} (--ipfs-repo)`;
  return "the IPFS store";
}

/** What to do, per store kind. */
function ipfsAdvice(store: BlobStore, kind: Exclude<IpfsFailureKind, "answered">): string {
  const { apiUrl, dataDir } = store as { apiUrl?: unknown; dataDir?: unknown };
  const start =
    typeof apiUrl === "string"
      ? `start the IPFS node (\`ipfs daemon\`, or \`fedmarket ipfs serve --repo <dir>\` for an embedded repo) or check --ipfs-api ${apiUrl}`
      : typeof dataDir === "string"
        ? `check that ${dataDir} is the node's repo folder and readable (--ipfs-repo), and that no other process holds it`
        : "start the IPFS node or check --ipfs-api / --ipfs-repo";
  const slow =
    kind === "timeout" ? "; if the node is up, check it is connected to the network (`ipfs swarm peers`) or raise --ipfs-timeout" : "";
  return `${start}${slow}, then run the audit again`;
}

/** The message of `err`, with its innermost cause when that says more (`fetch failed` -> `connect ECONNREFUSED ...`). */
function detailOf(err: unknown): string {
  const all = errorsIn(err);
  const outer = field(all[0], "message") ?? String(err);
  const inner = [...all].reverse().find((e) => field(e, "message") !== undefined && field(e, "message") !== "");
  const innerMessage = field(inner, "message");
  return innerMessage === undefined || outer.includes(innerMessage) ? outer : `${outer} (${innerMessage})`;
}

/** What was being fetched, for the message. */
export interface BlobFetch {
  readonly store: BlobStore;
  /** What the blob is, e.g. "the model spec", "the model of round 2". */
  readonly what: string;
  readonly cid: string;
  readonly fetchOptions?: FetchOptions;
}

/**
 * `AuditCannotRunError` when a blob fetch failed on the auditor's side (`ipfsFailureKind`
 * `unreachable` or `timeout`), `undefined` when the failure is about the blob (a finding).
 */
export function ipfsCannotRun(err: unknown, f: BlobFetch): AuditCannotRunError | undefined {
  const kind = ipfsFailureKind(err);
  if (kind === "answered") return undefined;
  const endpoint = ipfsEndpointOf(f.store);
  const attempts = (f.fetchOptions?.retries ?? 3) + 1;
  const timeout = f.fetchOptions?.timeoutMs ?? 30_000;
  const what =
    kind === "unreachable"
      ? `cannot reach IPFS: ${endpoint} could not be reached for ${f.what} ${f.cid}`
      : `IPFS did not answer: ${endpoint} gave nothing for ${f.what} ${f.cid} in ${attempts} attempt(s) of ${timeout} ms`;
  return new AuditCannotRunError(
    "IPFS",
    endpoint,
    `${what}: ${detailOf(err)}. The audit could not run (this says nothing about the project): ${ipfsAdvice(f.store, kind)}.`,
    { cause: err },
  );
}

/** Transport codes of ethers and Node that mean "the JSON-RPC endpoint did not answer" (never a revert). */
const RPC_OUTAGE_CODES = new Set(["NETWORK_ERROR", "TIMEOUT", "SERVER_ERROR", ...UNREACHABLE_CODES, ...TIMEOUT_CODES]);

/**
 * `AuditCannotRunError` when a chain read failed because the JSON-RPC endpoint went away
 * (`RpcUnavailableError` or a transport error code anywhere in the cause chain), `undefined`
 * otherwise (a revert, a missing transaction, calldata that does not decode: findings).
 */
export function chainCannotRun(err: unknown, what: string): AuditCannotRunError | undefined {
  const all = errorsIn(err);
  const down =
    all.some((e) => e instanceof RpcUnavailableError) ||
    all.some((e) => {
      const code = field(e, "code");
      return code !== undefined && RPC_OUTAGE_CODES.has(code);
    });
  if (!down) return undefined;
  return new AuditCannotRunError(
    "chain",
    "the JSON-RPC endpoint (--rpc-url)",
    `cannot reach the chain while ${what}: ${detailOf(err)}. The audit could not run (this says nothing about the project): ` +
      "check that the node at --rpc-url (or FEDMARKET_RPC_URL) is up and reachable, then run the audit again.",
    { cause: err },
  );
}

/** How an audit ended: a verdict, or no verdict because it could not run. */
export type AuditOutcome =
  { readonly kind: "pass" | "fail"; readonly report: AuditReport } | { readonly kind: "cannot-run"; readonly error: unknown };

/** The outcome of an audit (`auditProject(...)`, `runAudit(...)`): any error it throws means it could not run. */
export async function settleAudit(audit: Promise<AuditReport>): Promise<AuditOutcome> {
  try {
    const report = await audit;
    return { kind: report.verdict, report };
  } catch (error) {
    return { kind: "cannot-run", error };
  }
}

/** The exit code of an audit's outcome: 0 pass, 1 fail, 2 could not run. */
export function auditExitCode(outcome: AuditOutcome): typeof EXIT_OK | typeof EXIT_FAILED | typeof EXIT_CANNOT_RUN {
  switch (outcome.kind) {
    case "pass":
      return EXIT_OK;
    case "fail":
      return EXIT_FAILED;
    case "cannot-run":
      return EXIT_CANNOT_RUN;
  }
}
