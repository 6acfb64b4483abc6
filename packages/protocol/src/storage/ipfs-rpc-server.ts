/**
 * A Kubo-RPC-compatible HTTP API over the embedded Helia node, so several processes (trainers, an
 * aggregator, an auditor) share one IPFS node through `--ipfs-api URL` when no Kubo binary is
 * available. Only the subset of the API that `KuboBlobStore` (kubo-rpc-client) and simple health
 * checks use is implemented:
 *
 * - `POST /api/v0/add`: multipart upload of one or more files, NDJSON `{Name, Hash, Size}` lines.
 *   UnixFS import with Kubo's defaults (fixed 256 KiB chunks, balanced DAG of 174 links,
 *   sha2-256): `cid-version=1` implies raw leaves, as on Kubo; `pin` defaults to true.
 * - `POST /api/v0/cat?arg=CID[&offset=N&length=N]`: the file's bytes.
 * - `POST /api/v0/pin/add?arg=CID...`: `{Pins: [...]}`.
 * - `POST /api/v0/version`: `{Version, Commit, Repo, System, Golang}`.
 *
 * Errors use Kubo's JSON shape `{Message, Code, Type: "error"}`: 400 for bad arguments, 404 for
 * unknown commands, 405 for non-POST requests, 500 when the command fails (e.g. a block that is
 * not in the local blockstore: the node is offline, so nothing is ever fetched from elsewhere).
 * Binds 127.0.0.1 by default: like Kubo's RPC API it has no authentication, so it must not be
 * exposed to untrusted networks.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { unixfs, type AddFileOptions, type UnixFS } from "@helia/unixfs";
import type { Helia } from "helia";
import type { CID } from "multiformats/cid";
import { CHUNK_BYTES, KUBO_COMPATIBLE_IMPORT, parseCid } from "./blob-store.ts";

export interface IpfsRpcServerOptions {
  /** The node whose blockstore is served (e.g. `HeliaBlobStore.helia`); the caller stops it. */
  readonly helia: Helia;
  /** Interface to bind (default `127.0.0.1`). */
  readonly host?: string;
  /** TCP port (default 5001; 0 picks a free one). */
  readonly port?: number;
  /** Largest accepted `add` request body (default 1 GiB): uploads are buffered in memory. */
  readonly maxUploadBytes?: number;
  /** Called once per failed request (for the caller's log); never with secrets, there are none. */
  readonly onError?: (command: string, err: Error) => void;
}

export interface IpfsRpcServer {
  /** `http://host:port`, what `--ipfs-api` expects. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops accepting requests and drops open connections (does not stop the Helia node). */
  close(): Promise<void>;
}

/** Version reported by `/api/v0/version` (a Kubo-like string so clients that parse it cope). */
export const IPFS_RPC_SERVER_VERSION = "0.0.0-fedmarket-helia";

/** go-ipfs-cmds error codes, as Kubo sends them. */
const ErrorCode = { normal: 0, client: 1, notFound: 3 } as const;

/** An error that becomes a Kubo-style JSON response with this status. */
class RpcError extends Error {
  readonly status: number;
  readonly code: number;
  constructor(status: number, code: number, message: string) {
    super(message);
    this.name = "RpcError";
    this.status = status;
    this.code = code;
  }
}

const badRequest = (message: string) => new RpcError(400, ErrorCode.client, message);

/** Starts the server; resolves once it listens. */
export async function startIpfsRpcServer(options: IpfsRpcServerOptions): Promise<IpfsRpcServer> {
  const host = options.host ?? "127.0.0.1";
  const requestedPort = options.port ?? 5001;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65_535) {
    throw new RangeError(`port ${requestedPort} must be an integer in 0..65535`);
  }
  const fs = unixfs(options.helia);
  const context: CommandContext = { helia: options.helia, fs, maxUploadBytes: options.maxUploadBytes ?? 2 ** 30 };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const command = url.pathname.startsWith("/api/v0/") ? url.pathname.slice("/api/v0/".length).replace(/\/+$/, "") : "";
    handle(context, command, url.searchParams, req, res).catch((err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      options.onError?.(command || url.pathname, e);
      sendError(res, e instanceof RpcError ? e : new RpcError(500, ErrorCode.normal, e.message));
    });
  });
  // Long uploads and streamed downloads must not be cut by Node's default request timeout.
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(requestedPort, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

interface CommandContext {
  readonly helia: Helia;
  readonly fs: UnixFS;
  readonly maxUploadBytes: number;
}

type Command = (ctx: CommandContext, query: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

const COMMANDS: Readonly<Record<string, Command>> = {
  add: addCommand,
  cat: catCommand,
  "pin/add": pinAddCommand,
  version: versionCommand,
};

async function handle(
  ctx: CommandContext,
  command: string,
  query: URLSearchParams,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (run === undefined) {
    req.resume();
    throw new RpcError(
      404,
      ErrorCode.notFound,
      `unknown command ${JSON.stringify(command || new URL(req.url ?? "/", "http://localhost").pathname)}: this embedded IPFS API serves only ${Object.keys(
        COMMANDS,
      )
        .map((c) => `/api/v0/${c}`)
        .join(", ")}`,
    );
  }
  if (req.method !== "POST") {
    req.resume();
    throw new RpcError(405, ErrorCode.client, `${req.method} not allowed: the Kubo RPC API takes POST requests`);
  }
  await run(ctx, query, req, res);
}

function sendError(res: http.ServerResponse, err: RpcError): void {
  if (res.headersSent) {
    // Part of a streamed body is out: the only honest signal left is to cut the connection.
    res.destroy(err);
    return;
  }
  const body = JSON.stringify({ Message: err.message, Code: err.code, Type: "error" });
  res.writeHead(err.status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: http.ServerResponse, value: unknown): void {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** Kubo's boolean flags: `true`/`false` (and `1`/`0`, or a bare flag meaning true). */
function flag(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const v = query.get(name);
  if (v === null) return fallback;
  if (v === "" || v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw badRequest(`option ${name}=${JSON.stringify(v)}: expected true or false`);
}

function nonNegativeInt(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw badRequest(`option ${name}=${JSON.stringify(v)}: expected a non-negative integer`);
  return Number(v);
}

/** `CID`, `/ipfs/CID` (no sub-paths: blobs are single files). */
function cidArg(arg: string): CID {
  const trimmed = arg.replace(/^\/ipfs\//, "").replace(/\/+$/, "");
  if (trimmed.includes("/")) throw badRequest(`argument ${JSON.stringify(arg)}: paths inside a DAG are not supported, give the file's CID`);
  try {
    return parseCid(trimmed);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
}

function requiredArgs(query: URLSearchParams): string[] {
  const args = query.getAll("arg");
  if (args.length === 0) throw badRequest('argument "ipfs-path" is required');
  return args;
}

/** Import options equal to what Kubo would use for these query options; rejects what would differ. */
export function importOptionsFromQuery(query: URLSearchParams): AddFileOptions {
  const cidVersion = nonNegativeInt(query, "cid-version") ?? 0;
  if (cidVersion !== 0 && cidVersion !== 1) throw badRequest(`cid-version=${cidVersion}: only 0 and 1 exist`);
  // On Kubo, --cid-version=1 turns raw leaves on unless told otherwise.
  const rawLeaves = flag(query, "raw-leaves", cidVersion === 1);
  const chunker = query.get("chunker");
  if (chunker !== null && chunker !== "" && chunker !== "default" && chunker !== `size-${CHUNK_BYTES}`) {
    throw badRequest(`chunker=${chunker}: this embedded node supports only Kubo's default size-${CHUNK_BYTES}`);
  }
  const hash = query.get("hash");
  if (hash !== null && hash !== "sha2-256") throw badRequest(`hash=${hash}: this embedded node supports only sha2-256`);
  for (const unsupported of ["trickle", "only-hash", "wrap-with-directory", "inline", "nocopy", "raw-leaves-only"]) {
    if (flag(query, unsupported, false)) throw badRequest(`option ${unsupported} is not supported by this embedded node`);
  }
  return { ...KUBO_COMPATIBLE_IMPORT, cidVersion, rawLeaves };
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) {
    req.resume();
    throw new RpcError(413, ErrorCode.client, `upload of ${declared} bytes exceeds this node's limit of ${limit} bytes`);
  }
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > limit) {
      req.resume();
      throw new RpcError(413, ErrorCode.client, `upload exceeds this node's limit of ${limit} bytes`);
    }
    parts.push(b);
  }
  return Buffer.concat(parts, total);
}

export interface MultipartFile {
  /** The part's file name (URL-decoded), `""` when none was given. */
  readonly name: string;
  readonly content: Buffer;
}

function boundaryOf(contentType: string | undefined): string {
  const match = /^multipart\/form-data\s*;(?:.*;)?\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  const boundary = match?.[1] ?? match?.[2];
  if (boundary === undefined)
    throw badRequest(`expected a multipart/form-data body with a boundary, got Content-Type ${JSON.stringify(contentType ?? "")}`);
  return boundary;
}

/**
 * Splits a multipart/form-data body into its file parts, the way Kubo reads `add` uploads:
 * parts named `file...` carry file content, parts named `dir...` (directories) are refused.
 */
export function parseMultipartFiles(body: Buffer, contentType: string | undefined): MultipartFile[] {
  const delimiter = Buffer.from(`--${boundaryOf(contentType)}`);
  const files: MultipartFile[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw badRequest("multipart body has no part");
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString("latin1") === "--") break;
    if (body.subarray(pos, pos + 2).toString("latin1") !== "\r\n") throw badRequest("malformed multipart body (no CRLF after a boundary)");
    pos += 2;
    const headerEnd = body.indexOf("\r\n\r\n", pos);
    if (headerEnd < 0) throw badRequest("malformed multipart body (part headers never end)");
    const headers = body.subarray(pos, headerEnd).toString("utf8");
    const contentStart = headerEnd + 4;
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), contentStart);
    if (next < 0) throw badRequest("malformed multipart body (missing closing boundary)");
    const disposition = /^content-disposition:(.*)$/im.exec(headers)?.[1] ?? "";
    const field = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? "";
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1] ?? "";
    const type = /^content-type:\s*(\S+)/im.exec(headers)?.[1] ?? "application/octet-stream";
    if (field.startsWith("dir") || type === "application/x-directory") {
      throw badRequest("directories are not supported by this embedded node: add files one at a time");
    }
    if (!field.startsWith("file")) throw badRequest(`unexpected multipart field ${JSON.stringify(field)} (expected "file")`);
    let name: string;
    try {
      name = decodeURIComponent(filename);
    } catch {
      name = filename;
    }
    files.push({ name, content: body.subarray(contentStart, next) });
    pos = next + 2;
  }
  if (files.length === 0) throw badRequest("no file in the upload");
  return files;
}

async function addCommand(ctx: CommandContext, query: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  let importOptions: AddFileOptions;
  let pin: boolean;
  try {
    importOptions = importOptionsFromQuery(query);
    pin = flag(query, "pin", true);
  } catch (err) {
    req.resume();
    throw err;
  }
  const files = parseMultipartFiles(await readBody(req, ctx.maxUploadBytes), req.headers["content-type"]);
  // Everything is imported before the first byte of the answer, so a failure is a clean 500.
  const lines: string[] = [];
  for (const file of files) {
    const cid = await ctx.fs.addBytes(file.content, importOptions);
    if (pin && !(await ctx.helia.pins.isPinned(cid))) {
      for await (const _ of ctx.helia.pins.add(cid)) {
        /* walks and pins every block */
      }
    }
    const stats = await ctx.fs.stat(cid, { extended: true, offline: true });
    const hash = cid.toString();
    lines.push(JSON.stringify({ Name: file.name || hash, Hash: hash, Size: stats.dagSize.toString() }));
  }
  res.writeHead(200, { "Content-Type": "application/x-ndjson", "X-Chunked-Output": "1" });
  res.end(`${lines.join("\n")}\n`);
}

const MISSING_BLOCK_ERRORS = new Set([
  "NotFoundError",
  "BlockNotFoundWhileOfflineError",
  "InvalidConfigurationError",
  "LoadBlockFailedError",
]);

async function catCommand(ctx: CommandContext, query: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  req.resume();
  const args = requiredArgs(query);
  if (args.length > 1) throw badRequest("give one CID per cat request");
  const cid = cidArg(args[0] as string);
  const offset = nonNegativeInt(query, "offset");
  const length = nonNegativeInt(query, "length");
  const abort = new AbortController();
  res.once("close", () => abort.abort());
  const chunks = ctx.fs
    .cat(cid, {
      offline: true,
      signal: abort.signal,
      ...(offset === undefined ? {} : { offset }),
      ...(length === undefined ? {} : { length }),
    })
    [Symbol.asyncIterator]();
  // The first chunk is read before the status line, so a missing root is a proper error answer.
  let first: IteratorResult<Uint8Array>;
  try {
    first = await chunks.next();
  } catch (err) {
    if (MISSING_BLOCK_ERRORS.has((err as Error).name)) {
      throw new RpcError(
        500,
        ErrorCode.normal,
        `block was not found locally (offline): ${cid.toString()} is not in this node's blockstore`,
      );
    }
    throw err;
  }
  res.writeHead(200, { "Content-Type": "text/plain", "X-Stream-Output": "1", "X-Content-Type-Options": "nosniff" });
  if (first.done !== true) {
    if (!res.write(first.value)) await new Promise((resolve) => res.once("drain", resolve));
    for (;;) {
      const next = await chunks.next();
      if (next.done === true) break;
      if (!res.write(next.value)) await new Promise((resolve) => res.once("drain", resolve));
    }
  }
  res.end();
}

async function pinAddCommand(
  ctx: CommandContext,
  query: URLSearchParams,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  req.resume();
  const cids = requiredArgs(query).map(cidArg);
  if (!flag(query, "recursive", true)) throw badRequest("recursive=false is not supported: pins always cover the whole DAG");
  for (const cid of cids) {
    if (await ctx.helia.pins.isPinned(cid)) continue;
    // Helia's pinning walk would ask the (absent) network for a missing block and fail outside
    // this request; so the DAG is first checked to be complete in the local blockstore.
    let complete: boolean;
    try {
      const stats = await ctx.fs.stat(cid, { extended: true, offline: true });
      complete = stats.localSize >= stats.size;
    } catch (err) {
      if (!MISSING_BLOCK_ERRORS.has((err as Error).name)) throw err;
      complete = false;
    }
    if (!complete)
      throw new RpcError(
        500,
        ErrorCode.normal,
        `cannot pin ${cid.toString()}: not all of its blocks are in this node's blockstore (offline node: add the content first)`,
      );
    for await (const _ of ctx.helia.pins.add(cid)) {
      /* walks every block */
    }
  }
  sendJson(res, { Pins: cids.map((c) => c.toString()) });
}

async function versionCommand(
  _ctx: CommandContext,
  _query: URLSearchParams,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  req.resume();
  sendJson(res, { Version: IPFS_RPC_SERVER_VERSION, Commit: "", Repo: "", System: `${process.arch}/${process.platform}`, Golang: "" });
}
