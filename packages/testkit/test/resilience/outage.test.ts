/**
 * The daemons ride out a JSON-RPC outage without a restart (issue 13): three trainer nodes and the
 * aggregator node `run()` in the background against a real `hardhat node`, every JSON-RPC request
 * going through a TCP proxy (node:net). Once every trainer has committed, the proxy is cut (new
 * connections refused, open ones closed) for 30 s of wall time and then restored; chain time moves
 * past the commit window (directly on the hardhat node). Without being restarted, each trainer
 * reveals, the aggregator proves the round with the K4/C16 circuits (real Groth16) and finalizes
 * it, and every node logged exactly one drop line and one restore line (for the trainers the drop
 * line is their only warning; the aggregator's client also logs each of its own short retries as
 * `rpc.retry`, aggregator setup.ts).
 *
 * The model is a logistic regression on 8 features and 2 labels (D = 18: two chunks of 16) on
 * synthetic CSV data; the three trainers register before the aggregator accepts, so all three are
 * drawn (K = 4 slots) and the round reaches Multi-Krum's quorum 2f + 3 = 3 (f = 0). The nodes' backoff
 * is capped at 4 s here (default 30 s) to keep the test short; an IPFS outage takes the same path
 * (its classification is unit-tested in packages/protocol/test/outage.test.ts).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, connect, type Server, type Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { ContractFactory, JsonRpcProvider, Wallet } from "ethers";
import { FedMarketClient, HeliaBlobStore, memoryLogger, ProjectStatus } from "@fedmarket/protocol";
import { selectBackend, type BackendInfo } from "@fedmarket/ml";
import { openNode as openTrainer, resolveConfig, type OpenedNode, type RoundOutcome as TrainerOutcome } from "@fedmarket/trainer";
import {
  openAggregator,
  prepareCircuits,
  readJson,
  type DoneFile,
  type OpenedAggregator,
  type RoundOutcome as AggregatorOutcome,
} from "@fedmarket/aggregator";
import { startLocalChain, type LocalChain } from "../../src/chain/local-chain.ts";
import { createDemoProject, HARDHAT_KEYS, readArtifact, type DemoProject } from "../../src/chain/demo-project.ts";
import { deployGeneratedVerifiers, deployGroth16RoundVerifier } from "../../src/chain/round-verifier.ts";
import { syntheticBlobsCsv } from "../../src/data/synthetic-data.ts";

const K4_C16 = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 } as const;
const FEATURES = 8;
const LABELS = ["a", "b"];
const SPEC = {
  format: "fedmarket-model-spec/1",
  name: "logistic-8-2",
  inputShape: [FEATURES],
  labels: LABELS,
  layers: [{ type: "dense", units: LABELS.length, activation: "softmax" }],
  training: { epochs: 1, batchSize: 16, learningRate: 0.5, optimizer: "sgd" },
  quantization: { scale: 4096, clipBound: 1 },
  circuit: K4_C16,
};
/** Hardhat accounts: 0 owns the project, 1 aggregates, these train. */
const TRAINERS = [2, 3, 4];
const OUTAGE_MS = 30_000;
/** The nodes' backoff in this test: 1 s doubling to 4 s (default: to 30 s). */
const BACKOFF = { maxDelayMs: 4_000 };
const POLL_MS = 200;

type Logger = ReturnType<typeof memoryLogger>;

// -------------------------------------------------------------------------------------------------
// The proxy
// -------------------------------------------------------------------------------------------------

/** A TCP proxy to `127.0.0.1:upstreamPort` that can be cut (connections refused and closed) and restored on the same port. */
interface TcpProxy {
  readonly url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function startTcpProxy(upstreamPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let connections = 0;
  let server: Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    const s = createServer((client) => {
      connections++;
      const upstream = connect(upstreamPort, "127.0.0.1");
      for (const socket of [client, upstream]) {
        open.add(socket);
        socket.once("close", () => open.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => resolve());
    });
    const address = s.address();
    port = typeof address === "object" && address !== null ? address.port : port;
    server = s;
  };
  const cut = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const socket of open) socket.destroy();
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    cut,
    restore: listen,
    close: cut,
  };
}

// -------------------------------------------------------------------------------------------------
// Fixture
// -------------------------------------------------------------------------------------------------

let tmp: string;
let chain: LocalChain;
let provider: JsonRpcProvider;
let store: HeliaBlobStore;
let backend: BackendInfo;
let market: string;
let verifier: string;

const signer = (i: number): Wallet => new Wallet(HARDHAT_KEYS[i] as string, provider);

async function deploy(relative: string, args: unknown[]): Promise<string> {
  const a = readArtifact(relative);
  const c = await new ContractFactory(a.abi as never, a.bytecode, signer(0)).deploy(...args);
  await c.waitForDeployment();
  return c.getAddress();
}

before(async () => {
  // as an operator does before any aggregation window (`fedmarket-aggregator setup`; cached after the first time)
  await prepareCircuits(K4_C16, memoryLogger());
  tmp = await mkdtemp(path.join(os.tmpdir(), "fedmarket-outage-"));
  chain = await startLocalChain();
  provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, pollingInterval: 200, cacheTimeout: -1 });
  const generated = await deployGeneratedVerifiers(signer(0), K4_C16);
  verifier = await deployGroth16RoundVerifier(signer(0), { ...generated, circuit: K4_C16 });
  market = await deploy("FedMarket.sol/FedMarket.json", []);
  store = await HeliaBlobStore.create({ dataDir: path.join(tmp, "ipfs") });
  backend = await selectBackend({ log: () => {} });
});

after(async () => {
  await store?.close();
  provider?.destroy();
  await chain?.stop();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

/** Polls `check` every 100 ms until it holds; fails after `timeoutMs` with `what`. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Mines a block just past the open round's commit or reveal deadline (`evm_increaseTime` + `evm_mine` on the hardhat node itself). */
async function passDeadline(project: DemoProject, deadline: "commit" | "reveal"): Promise<void> {
  const open = await new FedMarketClient(market, provider).getOpenRound(project.projectId);
  const at = deadline === "commit" ? open.round.submissionDeadline : open.round.revealDeadline;
  const latest = await provider.getBlock("latest");
  assert.ok(latest);
  if (at >= latest.timestamp) await chain.rpc("evm_increaseTime", [at - latest.timestamp + 1]);
  await chain.rpc("evm_mine", []);
}

const events = (logger: Logger, event: string) => logger.records.filter((r) => r.event === event);

// -------------------------------------------------------------------------------------------------
// The test
// -------------------------------------------------------------------------------------------------

test("a 30 s JSON-RPC outage after the commits: trainers reveal and the aggregator finalizes without a restart, one drop and one restore line each", async (t) => {
  const started = Date.now();
  const project = await createDemoProject({
    market,
    verifier,
    owner: signer(0),
    aggregator: signer(1),
    store,
    tf: backend.tf,
    spec: SPEC,
    byzantineTolerance: 0,
    submissionWindow: 3_600,
    revealWindow: 3_600,
    aggregationWindow: 4 * 3_600,
    numRounds: 1,
    rewardPerRound: 10n ** 18n,
    trainers: TRAINERS.map((i) => signer(i)),
  });
  const proxy = await startTcpProxy(chain.port);
  const controller = new AbortController();
  const { signal } = controller;

  // Three trainers and the aggregator, all through the proxy.
  const trainers: { who: number; logger: Logger; opened: OpenedNode }[] = [];
  let aggregator: { logger: Logger; opened: OpenedAggregator } | undefined;
  const runs: Promise<unknown>[] = [];
  try {
    for (const who of TRAINERS) {
      const data = path.join(tmp, `trainer-${who}.csv`);
      await writeFile(data, syntheticBlobsCsv(who, 96, FEATURES, LABELS));
      const config = await resolveConfig(
        {
          rpcUrl: proxy.url,
          market,
          project: project.projectId.toString(),
          data,
          stateDir: path.join(tmp, `state-${who}`),
          pollInterval: String(POLL_MS),
          ipfsRetries: "1",
          ipfsTimeout: "2000",
        },
        {},
      );
      const logger = memoryLogger();
      const opened = await openTrainer(config, logger, { env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[who] as string }, store, backend });
      trainers.push({ who, logger, opened });
    }
    const aggLogger = memoryLogger();
    aggregator = {
      logger: aggLogger,
      opened: await openAggregator(
        {
          rpcUrl: proxy.url,
          market,
          dataDir: path.join(tmp, "aggregator"),
          ipfsRetries: 0,
          ipfsTimeoutMs: 1_500,
          chunkBatch: 1,
          pollIntervalMs: POLL_MS,
        },
        aggLogger,
        { env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] }, store, sealSecret: project.aggregatorKey.secret },
      ),
    };
    const trainerRuns = trainers.map((tr) => tr.opened.node.run(project.projectId, { signal, backoff: BACKOFF }));
    const aggregatorRun = aggregator.opened.node.run(project.projectId, { signal, backoff: BACKOFF });
    runs.push(...trainerRuns, aggregatorRun);
    // a node that fails ends the test at once (the waits below would only time out)
    const failed = new Promise<never>((_, reject) => {
      for (const run of runs) run.catch(reject);
    });
    failed.catch(() => {});
    const watch = (what: string, check: () => boolean, timeoutMs: number): Promise<void> =>
      Promise.race([until(what, check, timeoutMs), failed]);

    // 1. every trainer commits (the commit window is open for an hour of chain time)
    await watch("every trainer committed", () => trainers.every((tr) => events(tr.logger, "round.committed").length === 1), 60_000);
    const committedAt = Date.now();
    await new Promise((r) => setTimeout(r, 2 * POLL_MS)); // let everyone poll through the proxy once more

    // 2. the outage: 30 s of refused connections
    await proxy.cut();
    const cutAt = Date.now();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    for (const [name, logger] of [...trainers.map((tr) => [`trainer ${tr.who}`, tr.logger] as const), ["aggregator", aggLogger] as const]) {
      assert.equal(events(logger, "outage.down").length, 1, `${name} noticed the outage, once`);
      assert.equal(events(logger, "outage.restored").length, 0, `${name}: not restored yet`);
    }
    await proxy.restore();
    const restoredAt = Date.now();
    // Chain time moves only once every node is back, so each restore line comes from a polling
    // attempt: an aggregator attempt that started after the reveal deadline would log it only after
    // proving the round, which stretches its downMs by the proving time (slow on a busy machine).
    await watch(
      "every node logged the restore",
      () => [...trainers.map((tr) => tr.logger), aggLogger].every((l) => events(l, "outage.restored").length > 0),
      60_000,
    );
    assert.equal((await new FedMarketClient(market, provider).getCurrentRound(project.projectId)).commits, 3);

    // 3. chain time past the commit window: the trainers reveal, without a restart
    await passDeadline(project, "commit");
    await watch("every trainer revealed", () => trainers.every((tr) => events(tr.logger, "round.confirmed").length === 1), 60_000);
    const revealedAt = Date.now();

    // 4. chain time past the reveal window: the aggregator proves and finalizes round 0, the project ends
    await passDeadline(project, "reveal");
    const outcomes = (await Promise.race([
      Promise.all(runs),
      new Promise((_, reject) => setTimeout(() => reject(new Error("the nodes did not finish within 90 s")), 90_000).unref()),
    ])) as (TrainerOutcome | AggregatorOutcome)[];
    assert.deepEqual(
      outcomes.map((o) => o.kind),
      ["ended", "ended", "ended", "ended"],
      "every node ran until the project ended",
    );
    const finishedAt = Date.now();

    // On chain: three reveals, round 0 finalized, the project completed.
    const client = new FedMarketClient(market, provider);
    const revealed = await client.updateRevealed({ projectId: project.projectId, round: 0 });
    assert.deepEqual(revealed.map((e) => e.trainer).sort(), TRAINERS.map((i) => signer(i).address).sort());
    assert.equal((await client.getProject(project.projectId)).status, ProjectStatus.Completed);
    const done = await readJson<DoneFile>(path.join(tmp, "aggregator", `p${project.projectId}`, "r0", "done.json"));
    assert.equal(done?.kind, "finalized");
    assert.equal(done?.by, "self");

    // Logs: exactly one drop (warn) and one restore (info) line per node, about the chain.
    for (const [name, logger] of [...trainers.map((tr) => [`trainer ${tr.who}`, tr.logger] as const), ["aggregator", aggLogger] as const]) {
      const down = events(logger, "outage.down");
      const restored = events(logger, "outage.restored");
      assert.equal(down.length, 1, `${name}: one drop line`);
      assert.equal(restored.length, 1, `${name}: one restore line`);
      assert.equal(down[0]?.level, "warn");
      assert.match(down[0]?.msg ?? "", /^connection to the chain \(JSON-RPC\) lost: .+; retrying with backoff \(1 s doubling to 4 s\)$/);
      assert.equal(restored[0]?.level, "info");
      assert.match(
        restored[0]?.msg ?? "",
        /^connection to the chain \(JSON-RPC\) restored after \d+ s \(\d+ failed attempts?\); carrying on$/,
      );
      const downMs = restored[0]?.fields.downMs as number;
      assert.ok(downMs >= OUTAGE_MS - 4_000 && downMs <= OUTAGE_MS + 15_000, `${name}: down for ${downMs} ms`);
      if (name !== "aggregator") {
        assert.equal(events(logger, "round.committed").length, 1, `${name}: committed once`);
        assert.deepEqual(
          logger.records.filter((r) => r.level === "warn" || r.level === "error").map((r) => r.event),
          ["outage.down"],
          `${name}: the drop line is its only warning`,
        );
      }
    }
    t.diagnostic(
      `wall time: ${Math.round((finishedAt - started) / 1000)} s (to the commits ${Math.round((committedAt - started) / 1000)} s, ` +
        `outage ${Math.round((restoredAt - cutAt) / 1000)} s, reveals ${Math.round((revealedAt - restoredAt) / 1000)} s after the restore, ` +
        `aggregation ${Math.round((finishedAt - revealedAt) / 1000)} s); restore lines: ` +
        [...trainers.map((tr) => tr.logger), aggLogger].map((l) => events(l, "outage.restored")[0]?.msg).join(" | "),
    );
  } finally {
    controller.abort();
    await proxy.close();
    // stopped nodes leave their loop at the next check (a node stuck on the closed proxy is not waited for)
    await Promise.race([Promise.allSettled(runs), new Promise((r) => setTimeout(r, 20_000).unref())]);
    for (const tr of trainers) await tr.opened.close();
    await aggregator?.opened.close();
  }
});
