/**
 * An outage on the auditor's side is no verdict about the project: an IPFS node that cannot be
 * reached (connection refused, no answer in time, a proxy in front of a stopped node) or a chain
 * endpoint that goes away stops the audit, "could not run" (exit 2), with a message that names the
 * endpoint and says what to do. What IPFS answers about a blob (bytes that do not match the CID, a
 * block it does not have) is still the project's failure (exit 1). The Kubo nodes here are a real
 * `KuboBlobStore` against a closed port and against tiny HTTP servers that answer as Kubo would.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { Provider } from "ethers";
import {
  BlobNotFoundError,
  BlobStoreError,
  CidMismatchError,
  computeCid,
  generateKeyPair,
  KuboBlobStore,
  RpcUnavailableError,
  type NodeLogger,
} from "@fedmarket/protocol";
import {
  AuditCannotRunError,
  auditExitCode,
  checkOpenings,
  ipfsEndpointOf,
  ipfsFailureKind,
  runAudit,
  settleAudit,
  type AuditContext,
  type AuditReport,
} from "../src/index.ts";
import {
  auditContext,
  finalized,
  MemoryStore,
  opened,
  pinSpec,
  projectHistory,
  projectInfo,
  roundHistory,
  SPEC,
  submission,
  tx,
} from "./fixtures.ts";

const SPEC_BYTES = new TextEncoder().encode(JSON.stringify(SPEC));
const FAST = { timeoutMs: 300, retries: 1, baseDelayMs: 5 };

/** A logger that keeps the events it is given. */
function recordingLogger(): { logger: NodeLogger; events: string[] } {
  const events: string[] = [];
  return { events, logger: { log: (_level, event) => void events.push(event), progress: () => ({ update: () => {}, stop: () => {} }) } };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const servers: http.Server[] = [];
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

/** An HTTP server standing in for a Kubo RPC API (or what is in front of it); its `http://` URL. */
async function fakeKubo(handle: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<string> {
  const server = http.createServer(handle);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** A project whose spec (and nothing else) is at `specCid`, audited through `store`: no rounds yet. */
function project(store: KuboBlobStore | MemoryStore, specCid: string, logger?: NodeLogger): AuditContext {
  return auditContext({
    history: projectHistory(),
    project: projectInfo({ specCid, modelCommitment: 7n }),
    store,
    fetchOptions: FAST,
    ...(logger === undefined ? {} : { logger }),
  });
}

/** The outcome of `runAudit` on `ctx`, with its exit code. */
async function audit(ctx: AuditContext): Promise<{ outcome: Awaited<ReturnType<typeof settleAudit>>; exitCode: number }> {
  const outcome = await settleAudit(runAudit(ctx));
  return { outcome, exitCode: auditExitCode(outcome) };
}

function cannotRunError(outcome: Awaited<ReturnType<typeof settleAudit>>): AuditCannotRunError {
  assert.equal(outcome.kind, "cannot-run");
  const error = outcome.kind === "cannot-run" ? outcome.error : undefined;
  assert.ok(error instanceof AuditCannotRunError, `an AuditCannotRunError, got ${String(error)}`);
  return error;
}

function failedReport(outcome: Awaited<ReturnType<typeof settleAudit>>): AuditReport {
  assert.equal(outcome.kind, "fail", outcome.kind === "cannot-run" ? String(outcome.error) : "");
  assert.ok(outcome.kind === "fail");
  return outcome.report;
}

/** The error chain a `KuboBlobStore` throws when nothing listens at its address. */
function refused(cid: string, where = "127.0.0.1:5001"): BlobStoreError {
  const socket = Object.assign(new Error(`connect ECONNREFUSED ${where}`), { code: "ECONNREFUSED" });
  return new BlobStoreError(`could not fetch ${cid} after 2 attempts: fetch failed`, cid, {
    cause: new TypeError("fetch failed", { cause: socket }),
  });
}

describe("# an IPFS node the auditor cannot reach: the audit could not run (exit 2)", () => {
  it("a Kubo RPC API that refuses connections: no verdict, exit 2, an error naming --ipfs-api's URL and what to do", async () => {
    const specCid = await computeCid(SPEC_BYTES);
    const store = new KuboBlobStore({ apiUrl: `http://127.0.0.1:${await closedPort()}` });
    const { logger, events } = recordingLogger();
    try {
      const { outcome, exitCode } = await audit(project(store, specCid, logger));
      assert.equal(exitCode, 2);
      const error = cannotRunError(outcome);
      assert.equal(error.service, "IPFS");
      assert.equal(error.endpoint, `the Kubo RPC API at ${store.apiUrl} (--ipfs-api)`);
      assert.match(
        error.message,
        new RegExp(`^cannot reach IPFS: the Kubo RPC API at ${store.apiUrl} \\(--ipfs-api\\) could not be reached for the model spec`),
      );
      assert.match(error.message, new RegExp(`the model spec ${specCid}`));
      assert.match(error.message, /ECONNREFUSED/);
      assert.match(error.message, /this says nothing about the project/);
      assert.match(error.message, /start the IPFS node .* or check --ipfs-api .*, then run the audit again\.$/);
      assert.ok(!events.includes("audit.verdict"), "no verdict is logged");
    } finally {
      await store.close();
    }
  });

  it("a Kubo RPC API that never answers within the timeout, after the retries: exit 2, and how to give it more time", async () => {
    const url = await fakeKubo(() => {
      /* accepts the request, never answers */
    });
    const store = new KuboBlobStore({ apiUrl: url });
    try {
      const { outcome, exitCode } = await audit(project(store, await computeCid(SPEC_BYTES)));
      assert.equal(exitCode, 2);
      const { message } = cannotRunError(outcome);
      assert.match(
        message,
        new RegExp(`^IPFS did not answer: the Kubo RPC API at ${url} \\(--ipfs-api\\) gave nothing for the model spec`),
      );
      assert.match(message, /in 2 attempt\(s\) of 300 ms/);
      assert.match(message, /raise --ipfs-timeout/);
    } finally {
      await store.close();
    }
  });

  it("a proxy answering 502 for a stopped node is the auditor's outage too", async () => {
    const url = await fakeKubo((_req, res) => {
      res.writeHead(502, { "Content-Type": "text/plain" }).end("Bad Gateway");
    });
    const store = new KuboBlobStore({ apiUrl: url });
    try {
      const { exitCode } = await audit(project(store, await computeCid(SPEC_BYTES)));
      assert.equal(exitCode, 2);
    } finally {
      await store.close();
    }
  });

  it("IPFS going away while the owner's key opens the updates stops the audit instead of calling them missing", async () => {
    const store = new MemoryStore();
    const specCid = await pinSpec(store);
    const get = store.get.bind(store);
    store.get = async (cid: string) => (cid.startsWith("update-") ? Promise.reject(refused(cid)) : get(cid));
    const ctx = auditContext({
      history: {
        ...projectHistory(),
        rounds: [
          roundHistory({
            round: 0,
            opened: opened(0, 2, 1000n),
            submissions: [submission(0, 0, 3)],
            end: finalized(0, tx(0xf0), { totalScore: 1n, paid: 1n }),
          }),
        ],
      },
      project: projectInfo({ specCid }),
      store,
      ownerSecretKey: generateKeyPair().secretKey,
    });
    const error = await checkOpenings(ctx).then(
      () => assert.fail("checkOpenings should have stopped"),
      (err: unknown) => err,
    );
    assert.ok(error instanceof AuditCannotRunError);
    assert.match(error.message, /^cannot reach IPFS: the IPFS store could not be reached for the update of round 0 slot 0 update-0-0: /);
  });
});

describe("# what IPFS answers about a blob is still the project's failure (exit 1)", () => {
  it("a block Kubo serves whose bytes do not match its CID fails the audit, naming the CID", async () => {
    const specCid = await computeCid(SPEC_BYTES);
    const url = await fakeKubo((_req, res) => {
      res.writeHead(200, { "Content-Type": "application/octet-stream" }).end("not the spec the project pinned");
    });
    const store = new KuboBlobStore({ apiUrl: url });
    try {
      const { outcome, exitCode } = await audit(project(store, specCid));
      assert.equal(exitCode, 1);
      const report = failedReport(outcome);
      assert.ok(
        report.failures.some((f) => f.startsWith(`model spec: cannot fetch ${specCid} from IPFS: content does not match ${specCid}`)),
        report.failures.join("\n"),
      );
    } finally {
      await store.close();
    }
  });

  it("a block Kubo answers it cannot find fails the audit", async () => {
    const url = await fakeKubo((_req, res) => {
      res
        .writeHead(500, { "Content-Type": "application/json" })
        .end(JSON.stringify({ Message: "block was not found locally (offline): ipld: could not find the node", Code: 0, Type: "error" }));
    });
    const store = new KuboBlobStore({ apiUrl: url });
    try {
      const specCid = await computeCid(SPEC_BYTES);
      const { outcome, exitCode } = await audit(project(store, specCid));
      assert.equal(exitCode, 1);
      assert.ok(failedReport(outcome).failures.some((f) => f.includes("block was not found locally")));
    } finally {
      await store.close();
    }
  });
});

describe("# ipfsFailureKind", () => {
  const cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
  const answer = (status: number, message: string): Error => Object.assign(new Error(message), { name: "HTTPError", response: { status } });
  const wrapped = (cause: unknown): BlobStoreError => new BlobStoreError(`could not fetch ${cid} after 3 attempts`, cid, { cause });

  it("connection refused, unknown host, reset, a proxy in front of a stopped node: unreachable", () => {
    assert.equal(ipfsFailureKind(refused(cid)), "unreachable");
    const dns = Object.assign(new Error("getaddrinfo ENOTFOUND ipfs.invalid"), { code: "ENOTFOUND" });
    assert.equal(ipfsFailureKind(wrapped(new TypeError("fetch failed", { cause: dns }))), "unreachable");
    const both = new AggregateError([Object.assign(new Error("connect ECONNREFUSED ::1:5001"), { code: "ECONNREFUSED" })]);
    assert.equal(ipfsFailureKind(wrapped(new TypeError("fetch failed", { cause: both }))), "unreachable");
    for (const status of [502, 503, 504, 401, 403])
      assert.equal(ipfsFailureKind(wrapped(answer(status, "proxy"))), "unreachable", `${status}`);
    assert.equal(ipfsFailureKind(wrapped(answer(404, "404 page not found"))), "unreachable", "no Kubo RPC API at that address");
  });

  it("no answer in time after the retries: timeout", () => {
    assert.equal(
      ipfsFailureKind(wrapped(new Error("timed out after 30000 ms", { cause: new DOMException("aborted", "TimeoutError") }))),
      "timeout",
    );
    assert.equal(ipfsFailureKind(wrapped(Object.assign(new Error("context deadline exceeded"), { name: "TimeoutError" }))), "timeout");
  });

  it("bytes that do not match the CID, a block the store says it lacks, a node's answer, an unknown error: answered", () => {
    assert.equal(ipfsFailureKind(new CidMismatchError(cid, "bafkreiother")), "answered");
    assert.equal(ipfsFailureKind(new BlobNotFoundError(cid, "not in the local blockstore")), "answered");
    assert.equal(ipfsFailureKind(wrapped(answer(500, "block was not found locally (offline)"))), "answered");
    assert.equal(ipfsFailureKind(new Error(`no block for ${cid}`)), "answered");
    assert.equal(ipfsFailureKind(new BlobStoreError(`invalid CID "x"`, "x")), "answered");
  });

  it("names the endpoint as the operator gave it", () => {
    const kubo = new KuboBlobStore({ apiUrl: "/ip4/127.0.0.1/tcp/5001" });
    assert.equal(ipfsEndpointOf(kubo), "the Kubo RPC API at http://127.0.0.1:5001 (--ipfs-api)");
    void kubo.close();
    const repo = Object.assign(new MemoryStore(), { dataDir: "/data/ipfs" });
    assert.equal(ipfsEndpointOf(repo), "the embedded IPFS repo /data/ipfs (--ipfs-repo)");
    assert.equal(ipfsEndpointOf(new MemoryStore()), "the IPFS store");
  });
});

describe("# a chain endpoint that goes away", () => {
  it("stops the audit while re-verifying the proofs, but a transaction the node does not have is a finding", async () => {
    const history = {
      ...projectHistory(),
      rounds: [roundHistory({ round: 0, opened: opened(0, 2, 1000n), end: finalized(0, tx(0xf0), { totalScore: 1n, paid: 1n }) })],
    };
    const down = auditContext({ history }, {});
    const ctx = (getTransaction: () => Promise<unknown>): AuditContext =>
      auditContext({ history, chain: { ...down.chain, provider: { getTransaction } as unknown as Provider } });
    const error = await ctx(() => Promise.reject(new RpcUnavailableError("JSON-RPC http://127.0.0.1:8545 unreachable")))
      .roundProofs(0)
      .then(
        () => assert.fail("should have stopped"),
        (err: unknown) => err,
      );
    assert.ok(error instanceof AuditCannotRunError);
    assert.equal(error.service, "chain");
    assert.match(error.message, /^cannot reach the chain while reading round 0's proofs: JSON-RPC http:\/\/127.0.0.1:8545 unreachable\. /);
    const missing = await ctx(async () => null).roundProofs(0);
    assert.deepEqual(missing, { ok: false, detail: `transaction ${tx(0xf0)} not found on this node` });
  });
});

describe("# auditExitCode", () => {
  it("0 pass, 1 fail, 2 could not run (any error the audit throws)", async () => {
    const report = { verdict: "pass" } as AuditReport;
    assert.equal(auditExitCode(await settleAudit(Promise.resolve(report))), 0);
    assert.equal(auditExitCode(await settleAudit(Promise.resolve({ ...report, verdict: "fail" }))), 1);
    assert.equal(auditExitCode(await settleAudit(Promise.reject(new Error("project 9 does not exist")))), 2);
  });
});
