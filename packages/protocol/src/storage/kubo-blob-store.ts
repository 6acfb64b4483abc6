/**
 * BlobStore on a Kubo node through its RPC API (`--ipfs-api URL`, e.g. `http://127.0.0.1:5001`,
 * or a multiaddr such as `/ip4/127.0.0.1/tcp/5001`). Blobs are added with Kubo's
 * `--cid-version 1` settings made explicit (raw leaves, `size-262144` chunker, sha2-256) and
 * pinned; fetched bytes are verified against the CID like every other store.
 */
import http from "node:http";
import https from "node:https";
import { create, type KuboRPCClient } from "kubo-rpc-client";
import {
  BlobStoreError,
  collect,
  fetchWithRetries,
  KUBO_CHUNKER,
  parseCid,
  verifyCid,
  type BlobStore,
  type FetchOptions,
} from "./blob-store.ts";

export interface KuboBlobStoreOptions {
  /** Kubo RPC endpoint: `http(s)://host:port` (an `/api/v0` suffix is accepted) or a multiaddr. */
  readonly apiUrl: string;
  /** Timeout of one `put` request (default 120,000 ms). */
  readonly putTimeoutMs?: number;
}

/**
 * Normalizes an RPC endpoint to `protocol://host:port` (no trailing slash, no `/api/v0`).
 * Throws `BlobStoreError` for anything that is not an http(s) URL or a tcp multiaddr.
 */
export function normalizeKuboApiUrl(input: string): string {
  const raw = input.trim();
  if (raw.startsWith("/")) {
    const parts = raw.split("/").filter(Boolean);
    const [proto, host, tcp, port, scheme] = parts;
    const hostOk = proto === "ip4" || proto === "ip6" || proto === "dns" || proto === "dns4" || proto === "dns6";
    if (
      !hostOk ||
      host === undefined ||
      tcp !== "tcp" ||
      port === undefined ||
      !/^\d+$/.test(port) ||
      parts.length > 5 ||
      (scheme !== undefined && scheme !== "http" && scheme !== "https")
    ) {
      throw new BlobStoreError(`--ipfs-api ${JSON.stringify(input)}: expected a multiaddr like /ip4/127.0.0.1/tcp/5001 or an http(s) URL`);
    }
    const h = proto === "ip6" ? `[${host}]` : host;
    return `${scheme ?? "http"}://${h}:${port}`;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BlobStoreError(`--ipfs-api ${JSON.stringify(input)}: not a URL (expected e.g. http://127.0.0.1:5001)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new BlobStoreError(`--ipfs-api ${JSON.stringify(input)}: protocol must be http or https, got ${url.protocol}`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new BlobStoreError(`--ipfs-api ${JSON.stringify(input)}: credentials, query and fragment are not supported`);
  }
  const pathname = url.pathname.replace(/\/+$/, "");
  if (pathname !== "" && pathname !== "/api/v0") {
    throw new BlobStoreError(
      `--ipfs-api ${JSON.stringify(input)}: unexpected path ${url.pathname} (give the node's address, e.g. http://127.0.0.1:5001)`,
    );
  }
  return `${url.protocol}//${url.host}`;
}

export class KuboBlobStore implements BlobStore {
  /** `protocol://host:port` of the node. */
  readonly apiUrl: string;
  readonly client: KuboRPCClient;
  readonly #agent: http.Agent;
  readonly #putTimeoutMs: number;

  constructor(options: KuboBlobStoreOptions) {
    this.apiUrl = normalizeKuboApiUrl(options.apiUrl);
    this.#putTimeoutMs = options.putTimeoutMs ?? 120_000;
    this.#agent = this.apiUrl.startsWith("https:")
      ? new https.Agent({ keepAlive: true, maxSockets: 6 })
      : new http.Agent({ keepAlive: true, maxSockets: 6 });
    this.client = create({ url: `${this.apiUrl}/api/v0`, agent: this.#agent });
  }

  async put(bytes: Uint8Array): Promise<string> {
    try {
      const { cid } = await this.client.add(bytes, {
        cidVersion: 1,
        rawLeaves: true,
        chunker: KUBO_CHUNKER,
        hashAlg: "sha2-256",
        pin: true,
        signal: AbortSignal.timeout(this.#putTimeoutMs),
      });
      return cid.toString();
    } catch (err) {
      throw new BlobStoreError(`Kubo at ${this.apiUrl}: add failed: ${(err as Error).message}`, undefined, { cause: err });
    }
  }

  async get(cid: string, options: FetchOptions = {}): Promise<Uint8Array> {
    const parsed = parseCid(cid);
    return fetchWithRetries(
      cid,
      async (signal) => {
        const bytes = await collect(this.client.cat(parsed, { signal }), signal);
        await verifyCid(cid, bytes);
        return bytes;
      },
      options,
    );
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }
}
