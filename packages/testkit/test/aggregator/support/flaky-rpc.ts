/**
 * A JSON-RPC proxy that fails on purpose: every `everyNth` HTTP request is answered with the next
 * fault of a rotation (a 502, a dropped connection, a JSON-RPC "internal error" and a JSON-RPC
 * rate limit) instead of being forwarded; all other requests go to the upstream node unchanged.
 * Such a failed request never reaches the upstream node. `loseAnswerOf` adds the nastier case: the
 * first request with each distinct call of these methods (e.g. `eth_sendRawTransaction`) is
 * forwarded, then its connection dropped before the answer: the transaction was sent, the sender
 * does not know it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type RpcFault = "http-502" | "drop" | "rpc-internal" | "rpc-rate-limited";
export const RPC_FAULTS: readonly RpcFault[] = ["http-502", "drop", "rpc-internal", "rpc-rate-limited"];

export interface FlakyRpcOptions {
  readonly upstream: string;
  /** Fail every n-th request (n >= 2, so that every retry of a failed request can succeed). */
  readonly everyNth: number;
  readonly faults?: readonly RpcFault[];
  /** JSON-RPC methods whose first request per distinct params loses its answer (forwarded, then dropped). */
  readonly loseAnswerOf?: readonly string[];
}

export interface FlakyRpc {
  readonly url: string;
  /** Requests seen, faults injected by kind, the JSON-RPC methods of the failed requests, answers lost after forwarding. */
  readonly stats: { requests: number; faults: Record<RpcFault, number>; failedMethods: string[]; lostAnswers: number };
  /** Faults are injected only while enabled (default: enabled). */
  enabled: boolean;
  close(): Promise<void>;
}

interface RpcRequest {
  readonly id?: unknown;
  readonly method?: unknown;
  readonly params?: unknown;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.once("end", () => resolve(body));
    req.once("error", reject);
  });
}

function rpcError(body: string, code: number, message: string): string {
  let parsed: RpcRequest | RpcRequest[];
  try {
    parsed = JSON.parse(body) as RpcRequest | RpcRequest[];
  } catch {
    parsed = {};
  }
  const one = (r: RpcRequest): unknown => ({ jsonrpc: "2.0", id: r.id ?? null, error: { code, message } });
  return JSON.stringify(Array.isArray(parsed) ? parsed.map(one) : one(parsed));
}

function requestsOf(body: string): RpcRequest[] {
  try {
    const parsed = JSON.parse(body) as RpcRequest | RpcRequest[];
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    return [{ method: "?" }];
  }
}

export async function startFlakyRpc(o: FlakyRpcOptions): Promise<FlakyRpc> {
  if (!Number.isInteger(o.everyNth) || o.everyNth < 2) throw new RangeError(`everyNth ${o.everyNth} must be an integer >= 2`);
  const faults = o.faults ?? RPC_FAULTS;
  const stats = {
    requests: 0,
    faults: { "http-502": 0, drop: 0, "rpc-internal": 0, "rpc-rate-limited": 0 },
    failedMethods: [] as string[],
    lostAnswers: 0,
  };
  const answered = new Set<string>();
  let injected = 0;
  const proxy: { enabled: boolean } = { enabled: true };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    stats.requests++;
    if (proxy.enabled && stats.requests % o.everyNth === 0) {
      const fault = faults[injected++ % faults.length] as RpcFault;
      stats.faults[fault]++;
      stats.failedMethods.push(...requestsOf(body).map((r) => String(r.method)));
      const json = (text: string): void => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(text);
      };
      switch (fault) {
        case "http-502":
          res.writeHead(502, { "content-type": "text/plain" });
          res.end("502 Bad Gateway");
          return;
        case "drop":
          req.socket.destroy();
          return;
        case "rpc-internal":
          json(rpcError(body, -32603, "Internal error: upstream rate limited, try again"));
          return;
        case "rpc-rate-limited":
          json(rpcError(body, -32005, "rate limited"));
          return;
      }
    }
    const lose =
      proxy.enabled &&
      requestsOf(body).some((r) => {
        if (!(o.loseAnswerOf ?? []).includes(String(r.method))) return false;
        const key = `${String(r.method)}:${JSON.stringify(r.params)}`;
        if (answered.has(key)) return false;
        answered.add(key);
        return true;
      });
    const upstream = await fetch(o.upstream, { method: "POST", headers: { "content-type": "application/json" }, body });
    const text = await upstream.text();
    if (lose) {
      stats.lostAnswers++;
      req.socket.destroy();
      return;
    }
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
    res.end(text);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`proxy error: ${(err as Error).message}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    get enabled() {
      return proxy.enabled;
    },
    set enabled(v: boolean) {
      proxy.enabled = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
