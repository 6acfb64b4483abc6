import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { unixfs } from "@helia/unixfs";
import {
  BlobNotFoundError,
  BlobStoreError,
  CidMismatchError,
  computeCid,
  fetchWithRetries,
  HeliaBlobStore,
  KuboBlobStore,
  normalizeKuboApiUrl,
  verifyCid,
  backoffDelay,
  CHUNK_BYTES,
} from "../src/storage/index.ts";
import { withTempDir } from "./helpers.ts";

const HELLO = new TextEncoder().encode("hello fedmarket\n");
/** CIDv1, raw codec, sha2-256 of "hello fedmarket\n" (regression vector; re-derived below with multiformats). */
const HELLO_CID = "bafkreiewo5neijylihqasdm3i474gz24cdaqmpktofvpityrqoqpbcyvvy";

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

test("fixed vector: Helia's CID of a small blob equals the raw-codec CIDv1 computed with multiformats", async (t) => {
  const independent = CID.create(1, raw.code, await sha256.digest(HELLO)).toString();
  assert.equal(independent, HELLO_CID);
  await withTempDir(async (dir) => {
    const started = performance.now();
    const store = await HeliaBlobStore.create({ dataDir: dir });
    const startMs = performance.now() - started;
    t.diagnostic(`Helia start ${startMs.toFixed(1)} ms`);
    assert.ok(startMs < 2000, `Helia started in ${startMs} ms`);
    try {
      assert.equal(await store.put(HELLO), HELLO_CID);
      assert.equal(await computeCid(HELLO), HELLO_CID);
      assert.deepEqual(await store.get(HELLO_CID), HELLO);
    } finally {
      const stopping = performance.now();
      await store.close();
      t.diagnostic(`Helia stop ${(performance.now() - stopping).toFixed(1)} ms`);
    }
  });
});

test('the importer reproduces Kubo\'s well-known CIDv0 of "hello world\\n" (legacy defaults)', async () => {
  const blocks = new Map<string, Uint8Array>();
  const fs = unixfs({
    blockstore: {
      put: async (cid: CID, bytes: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>) => {
        blocks.set(cid.toString(), bytes as Uint8Array);
        return cid;
      },
      has: async () => false,
      async *get() {
        yield new Uint8Array();
      },
    },
  });
  const v0 = await fs.addBytes(new TextEncoder().encode("hello world\n"), { cidVersion: 0, rawLeaves: false });
  assert.equal(v0.toString(), "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
});

test("a multi-chunk blob round-trips with 256 KiB raw leaves, across a restart", async () => {
  const big = pseudoRandomBytes(2 * CHUNK_BYTES + 12345, 7);
  await withTempDir(async (dir) => {
    let cid: string;
    const store = await HeliaBlobStore.create({ dataDir: dir });
    try {
      cid = await store.put(big);
      const parsed = CID.parse(cid);
      assert.equal(parsed.version, 1);
      assert.equal(parsed.code, 0x70, "dag-pb root");
      assert.equal(cid, await computeCid(big));
      // leaves are raw blocks of exactly the 256 KiB slices
      for (const [from, to] of [
        [0, CHUNK_BYTES],
        [CHUNK_BYTES, 2 * CHUNK_BYTES],
        [2 * CHUNK_BYTES, big.length],
      ] as const) {
        const leaf = CID.create(1, raw.code, await sha256.digest(big.subarray(from, to)));
        assert.ok(await store.helia.blockstore.has(leaf), `leaf ${from}..${to}`);
      }
      assert.deepEqual(await store.get(cid), big);
    } finally {
      await store.close();
    }
    const files = await readdir(path.join(dir, "blocks"), { recursive: true });
    assert.equal(files.filter((f) => f.endsWith(".data")).length, 4, "3 leaves + 1 root on disk");
    const reopened = await HeliaBlobStore.create({ dataDir: dir });
    try {
      assert.deepEqual(await reopened.get(cid, { timeoutMs: 5000, retries: 0 }), big);
    } finally {
      await reopened.close();
    }
  });
});

test("the import settings equal an explicit Kubo configuration (256 KiB chunks, 174 links per node)", async () => {
  // Test-only imports of @helia/unixfs's own dependency, to spell Kubo's settings out explicitly.
  const { fixedSize } = await import("ipfs-unixfs-importer/chunker");
  const { balanced } = await import("ipfs-unixfs-importer/layout");
  const explicit = async (bytes: Uint8Array) =>
    (
      await unixfs({
        blockstore: {
          put: async (cid: CID) => cid,
          has: async () => false,
          async *get() {
            yield new Uint8Array();
          },
        },
      }).addBytes(bytes, {
        cidVersion: 1,
        rawLeaves: true,
        reduceSingleLeafToSelf: true,
        chunker: fixedSize({ chunkSize: 262_144 }),
        layout: balanced({ maxChildrenPerNode: 174 }),
      })
    ).toString();
  // 175 chunks: one more than a node can link, so the balanced tree gets a second level.
  const big = pseudoRandomBytes(174 * CHUNK_BYTES + 1, 3);
  assert.equal(await computeCid(big), await explicit(big));
  const small = pseudoRandomBytes(CHUNK_BYTES + 1, 4);
  assert.equal(await computeCid(small), await explicit(small));
});

test("missing blobs fail fast offline; corrupted blocks and non-canonical CIDs are rejected", async () => {
  await withTempDir(async (dir) => {
    const store = await HeliaBlobStore.create({ dataDir: dir });
    try {
      const absent = CID.create(1, raw.code, await sha256.digest(new TextEncoder().encode("absent"))).toString();
      const t0 = performance.now();
      await assert.rejects(store.get(absent, { retries: 3, baseDelayMs: 1000 }), BlobNotFoundError);
      assert.ok(performance.now() - t0 < 500, "no retries for a definite miss");
      await assert.rejects(store.get("not-a-cid"), /invalid CID "not-a-cid"/);
      const cid = await store.put(HELLO);
      const files = (await readdir(path.join(dir, "blocks"), { recursive: true })).filter((f) => f.endsWith(".data"));
      const file = path.join(dir, "blocks", files[0]!);
      const bytes = await readFile(file);
      bytes[0]! ^= 1;
      await writeFile(file, bytes);
      await assert.rejects(
        store.get(cid, { retries: 2, baseDelayMs: 1 }),
        (e: unknown) => e instanceof CidMismatchError || /hash|match/i.test(String(e)),
      );
    } finally {
      await store.close();
    }
  });
  // a CIDv0 (non-canonical settings) of the same bytes is rejected by verification
  const v0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o";
  await assert.rejects(verifyCid(v0, new TextEncoder().encode("hello world\n")), CidMismatchError);
});

test("fetchWithRetries: timeouts per attempt, exponential backoff, clear errors", async () => {
  assert.deepEqual(
    [1, 2, 3, 4, 10].map((a) => backoffDelay(a, { baseDelayMs: 100, maxDelayMs: 500 })),
    [100, 200, 400, 500, 500],
  );
  let calls = 0;
  const value = await fetchWithRetries(
    "bafyX",
    async () => {
      calls++;
      if (calls < 3) throw new Error("flaky");
      return 42;
    },
    { retries: 3, baseDelayMs: 5 },
  );
  assert.equal(value, 42);
  assert.equal(calls, 3);
  const t0 = performance.now();
  await assert.rejects(
    fetchWithRetries("bafyY", (signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))), {
      timeoutMs: 30,
      retries: 2,
      baseDelayMs: 10,
    }),
    (e: unknown) => e instanceof BlobStoreError && /could not fetch bafyY after 3 attempts: timed out after 30 ms/.test(e.message),
  );
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 3 * 30 + 10 + 20 - 5 && elapsed < 2000, `elapsed ${elapsed}`);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 20);
  await assert.rejects(
    fetchWithRetries(
      "bafyZ",
      async () => {
        throw new Error("down");
      },
      { retries: 5, baseDelayMs: 1000, signal: controller.signal },
    ),
  );
});

test("Kubo store: URL handling and construction (no Kubo runs here)", async () => {
  assert.equal(normalizeKuboApiUrl("http://127.0.0.1:5001"), "http://127.0.0.1:5001");
  assert.equal(normalizeKuboApiUrl(" http://127.0.0.1:5001/ "), "http://127.0.0.1:5001");
  assert.equal(normalizeKuboApiUrl("http://localhost:5001/api/v0"), "http://localhost:5001");
  assert.equal(normalizeKuboApiUrl("https://ipfs.example.org"), "https://ipfs.example.org");
  assert.equal(normalizeKuboApiUrl("/ip4/127.0.0.1/tcp/5001"), "http://127.0.0.1:5001");
  assert.equal(normalizeKuboApiUrl("/ip6/::1/tcp/5001"), "http://[::1]:5001");
  assert.equal(normalizeKuboApiUrl("/dns4/kubo/tcp/5001/https"), "https://kubo:5001");
  assert.throws(() => normalizeKuboApiUrl("ftp://x:1"), /protocol must be http or https/);
  assert.throws(() => normalizeKuboApiUrl("localhost:5001"), /protocol must be http or https|not a URL/);
  assert.throws(() => normalizeKuboApiUrl("http://x:5001/ipfs"), /unexpected path/);
  assert.throws(() => normalizeKuboApiUrl("/ip4/127.0.0.1/udp/5001"), /multiaddr/);
  assert.throws(() => normalizeKuboApiUrl("not a url"), /not a URL/);
  const store = new KuboBlobStore({ apiUrl: "/ip4/127.0.0.1/tcp/5001" });
  assert.equal(store.apiUrl, "http://127.0.0.1:5001");
  await store.close();
});

test("Kubo store: an unreachable node gives a clear error after the retries", async () => {
  // Port 9 (discard) on localhost is closed here: connection refused, no network needed.
  const store = new KuboBlobStore({ apiUrl: "http://127.0.0.1:9", putTimeoutMs: 2000 });
  try {
    await assert.rejects(
      store.get(HELLO_CID, { retries: 1, timeoutMs: 2000, baseDelayMs: 10 }),
      /could not fetch bafkrei\w+ after 2 attempts/,
    );
    await assert.rejects(store.put(HELLO), /Kubo at http:\/\/127\.0\.0\.1:9: add failed/);
  } finally {
    await store.close();
  }
});
