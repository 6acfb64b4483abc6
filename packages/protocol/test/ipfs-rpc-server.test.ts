/**
 * The Kubo-RPC-compatible API over the embedded Helia node, exercised through the real client
 * (KuboBlobStore on kubo-rpc-client), as the trainer and aggregator processes use it.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CID } from "multiformats/cid";
import {
  CHUNK_BYTES,
  computeCid,
  HeliaBlobStore,
  IPFS_RPC_SERVER_VERSION,
  KuboBlobStore,
  parseMultipartFiles,
  startIpfsRpcServer,
  type IpfsRpcServer,
} from "../src/storage/index.ts";

function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

async function drain<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

let dir: string;
let node: HeliaBlobStore;
let server: IpfsRpcServer;
const clients: KuboBlobStore[] = [];
const client = () => {
  const c = new KuboBlobStore({ apiUrl: server.url });
  clients.push(c);
  return c;
};

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-ipfs-rpc-"));
  node = await HeliaBlobStore.create({ dataDir: path.join(dir, "repo") });
  server = await startIpfsRpcServer({ helia: node.helia, port: 0 });
});

after(async () => {
  for (const c of clients) await c.close();
  await server?.close();
  await node?.close();
  await rm(dir, { recursive: true, force: true });
});

test("binds 127.0.0.1 by default and answers version like Kubo", async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(server.host, "127.0.0.1");
  const version = await client().client.version();
  assert.equal(version.version, IPFS_RPC_SERVER_VERSION);
});

test("put/get round-trip of a small blob: one raw block, same CID as the embedded store", async () => {
  const bytes = new TextEncoder().encode("hello fedmarket over the RPC API\n");
  const kubo = client();
  const cid = await kubo.put(bytes);
  assert.match(cid, /^bafkrei/);
  assert.equal(cid, await computeCid(bytes));
  assert.equal(cid, await node.put(bytes), "HeliaBlobStore gives the same CID");
  assert.deepEqual(await kubo.get(cid), bytes);
  assert.ok(await node.helia.pins.isPinned(CID.parse(cid)), "add pins by default");
});

test("put/get round-trip of a multi-block blob (> 256 KiB): dag-pb root, same CID as the embedded store", async () => {
  const bytes = pseudoRandomBytes(2 * CHUNK_BYTES + 12_345, 7);
  const kubo = client();
  const cid = await kubo.put(bytes);
  assert.match(cid, /^bafybei/);
  assert.equal(cid, await computeCid(bytes));
  assert.deepEqual(await kubo.get(cid), bytes);
  // ... and what the server stored is readable by the embedded node itself (same blockstore).
  assert.deepEqual(await node.get(cid), bytes);
  const [added] = await drain(kubo.client.addAll([{ path: "named.bin", content: bytes }], { cidVersion: 1, rawLeaves: true }));
  assert.equal(added?.path, "named.bin");
  assert.equal(added?.cid.toString(), cid);
  assert.ok(added !== undefined && added.size > bytes.length, "Size is the DAG size, blocks included");
  const part = await drain(kubo.client.cat(cid, { offset: CHUNK_BYTES - 2, length: 4 }));
  assert.deepEqual(Buffer.concat(part), Buffer.from(bytes.subarray(CHUNK_BYTES - 2, CHUNK_BYTES + 2)), "offset/length span two chunks");
});

test("a CID the node does not have: a clear error naming it, no hang", async () => {
  const absent = await computeCid(new TextEncoder().encode("never added"));
  await assert.rejects(
    client().get(absent, { retries: 1, baseDelayMs: 10, timeoutMs: 10_000 }),
    (err: Error) => err.message.includes(absent) && /after 2 attempts: block was not found locally \(offline\)/.test(err.message),
  );
  await assert.rejects(client().client.pin.add(CID.parse(absent)), /cannot pin .*not all of its blocks are in this node's blockstore/);
  assert.deepEqual(
    [...(await drain(client().client.pin.addAll([CID.parse(await node.put(new Uint8Array([1, 2, 3])))])))].map(String),
    [await computeCid(new Uint8Array([1, 2, 3]))],
    "pin/add of present content answers its CID",
  );
});

test("two clients see each other's blobs", async () => {
  const a = client();
  const b = client();
  const fromA = pseudoRandomBytes(1000, 1);
  const fromB = pseudoRandomBytes(CHUNK_BYTES + 1, 2);
  const [cidA, cidB] = await Promise.all([a.put(fromA), b.put(fromB)]);
  assert.deepEqual(await b.get(cidA), fromA);
  assert.deepEqual(await a.get(cidB), fromB);
});

test("Kubo-style errors: bad options 400, unknown command 404, GET 405, all as {Message, Code, Type}", async () => {
  const post = (p: string, init: RequestInit = {}) => fetch(`${server.url}${p}`, { method: "POST", ...init });
  const expectError = async (res: Response, status: number, message: RegExp) => {
    assert.equal(res.status, status);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    const body = (await res.json()) as { Message: string; Code: number; Type: string };
    assert.equal(body.Type, "error");
    assert.equal(typeof body.Code, "number");
    assert.match(body.Message, message);
  };
  await expectError(await post("/api/v0/add?chunker=size-1024", { body: "x" }), 400, /only Kubo's default size-262144/);
  await expectError(
    await post("/api/v0/add?cid-version=1", { body: "x", headers: { "content-type": "text/plain" } }),
    400,
    /multipart\/form-data/,
  );
  await expectError(await post("/api/v0/cat"), 400, /argument "ipfs-path" is required/);
  await expectError(await post("/api/v0/cat?arg=not-a-cid"), 400, /invalid CID/);
  await expectError(await post("/api/v0/swarm/peers"), 404, /unknown command "swarm\/peers".*\/api\/v0\/add/);
  await expectError(await fetch(`${server.url}/api/v0/version`), 405, /GET not allowed/);
  await assert.rejects(client().client.add(new Uint8Array([1]), { cidVersion: 1, trickle: true }), /option trickle is not supported/);
});

test("an upload above the size limit is refused with 413", async () => {
  const small = await startIpfsRpcServer({ helia: node.helia, port: 0, maxUploadBytes: 1000 });
  const kubo = new KuboBlobStore({ apiUrl: small.url });
  try {
    await assert.rejects(kubo.put(new Uint8Array(5000)), /exceeds this node's limit of 1000 bytes/);
  } finally {
    await kubo.close();
    await small.close();
  }
});

test("multipart parsing: several files, URL-encoded names, directories refused", () => {
  const boundary = "xyz";
  const body = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a%20b.bin"\r\nContent-Type: application/octet-stream\r\n\r\nAB\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file-1"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--x\r\n` +
      `--${boundary}--\r\n`,
    "latin1",
  );
  const files = parseMultipartFiles(body, `multipart/form-data; boundary=${boundary}`);
  assert.deepEqual(
    files.map((f) => [f.name, f.content.toString("latin1")]),
    [
      ["a b.bin", "AB"],
      ["", "\r\n--x"],
    ],
  );
  const dirBody = Buffer.from(
    `--b\r\nContent-Disposition: form-data; name="dir"; filename="d"\r\nContent-Type: application/x-directory\r\n\r\n\r\n--b--\r\n`,
  );
  assert.throws(() => parseMultipartFiles(dirBody, "multipart/form-data; boundary=b"), /directories are not supported/);
});

test("a block changed on the server's disk is served as is, and the client's CID check rejects it", async () => {
  const bytes = pseudoRandomBytes(300, 9);
  const kubo = client();
  const cid = await kubo.put(bytes);
  const blocks = path.join(dir, "repo", "blocks");
  let changed = 0;
  for (const entry of await readdir(blocks, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const content = await readFile(full);
    if (!content.equals(Buffer.from(bytes))) continue;
    content[0] = (content[0] as number) ^ 1;
    await writeFile(full, content);
    changed++;
  }
  assert.equal(changed, 1, "one block file holds the blob");
  await assert.rejects(kubo.get(cid, { retries: 0 }), (err: Error) => err.name === "CidMismatchError" && err.message.includes(cid));
});
