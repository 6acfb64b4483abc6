/**
 * End to end with real Groth16 proofs on a real JSON-RPC chain: `hardhat node` (child process on a
 * free port), FedMarket + the generated K4/C16 verifiers + the Groth16RoundVerifier adapter (from
 * the Hardhat artifacts: `npx hardhat build`), an embedded Helia store shared by everyone, a
 * logistic model on 12 features and 4 labels (D = 52: four chunks, the last one padded), four
 * trainers registered before the aggregator accepts (so each round's draw, 4 candidates for 4
 * slots, gives them slots 0..3): they commit, then reveal, through the trainer node library
 * (training with TF.js on CSV data), except the faulty one of round 1 (sealed with the protocol
 * helpers). K = 4 admits f = 0 only (the quorum is 2f + 3 valid updates): the honest updates agree
 * and are all counted; the consensus rule's outliers are tested at K = 8 (attacks-round.test.ts,
 * the demo).
 *
 * Round 0: the aggregator CLI is killed (SIGKILL) after its first proof; the restarted node reuses
 * what was saved and finalizes; the four trainers are paid by proven score, and everything matches
 * an independent reference computation.
 * Round 1: the faulty trainer commits and reveals an update it never pinned (missing): the
 * aggregator flags it on chain, nobody answers, so after the answer deadline the slot is empty
 * (status 0) and earns nothing; the round still finalizes. The CLI is killed right after sending
 * finalizeRound; the restart adopts the finalization from the chain without a second transaction.
 * Round 2: one trainer pins its update to a private store the aggregator cannot reach, but its node
 * answers the flag by publishing the kept sealed update on chain: the slot is decoded from the
 * published data, counted and paid like the others.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { type RoundResult, SlotStatus } from "@fedmarket/core";
import {
  computeCid,
  decodeWeights,
  ETH_TOKEN,
  FedMarketClient,
  globalModelCommitment,
  memoryLogger,
  type BlobStore,
  type FetchOptions,
} from "@fedmarket/protocol";
import { createDemoProject, HARDHAT_KEYS, type DemoProject } from "../../src/chain/demo-project.ts";
import { resolveConfig, openNode, type RoundOutcome } from "@fedmarket/trainer";
import { openAggregator, LockError, type DoneFile } from "@fedmarket/aggregator";
import { K4_C16, startMarketFixture, type MarketFixture } from "./support/market-fixture.ts";
import {
  commitUpdateAs,
  expectedCredits,
  referenceRound,
  revealUpdateAs,
  runAggregatorCli,
  seededInts,
  type CliRun,
} from "./support/rounds.ts";
import { syntheticBlobsCsv } from "../../src/data/synthetic-data.ts";
import { commitRevealRound, passAnswerDeadline, runTrainers, waitForFlags } from "../helpers.ts";

const CIRCUIT = K4_C16;
const FEATURES = 12;
const LABELS = ["a", "b", "c", "d"];
const D = FEATURES * LABELS.length + LABELS.length; // 52
const SPEC = {
  format: "fedmarket-model-spec/1",
  name: "logistic-12-4",
  inputShape: [FEATURES],
  labels: LABELS,
  layers: [{ type: "dense", units: LABELS.length, activation: "softmax" }],
  // The aggregator may decay the learning rate down to 0.1 (on-chain bounds from the spec).
  training: { epochs: 2, batchSize: 16, learningRate: 0.5, optimizer: "sgd", bounds: { learningRate: [0.1, 0.5] } },
  quantization: { scale: 4096, clipBound: 1 },
  circuit: CIRCUIT,
};
const WINDOW = 3600;
/** Multi-Krum's `f`: the largest with 2f + 3 <= K = 4. */
const F = 0;
/** Trainer accounts, registered in this order (slots 0..3 of every round). */
const TRAINERS = [2, 3, 4, 5];
/** The trainer whose round-1 update is faulty (never pinned). */
const FAULTY = 5;
/** The trainer that pins its round-2 update to a private store (and answers the flag on chain). */
const PRIVATE = 4;

/**
 * A trainer's own IPFS node that nobody else reaches: what it pins stays here (the aggregator cannot
 * fetch it); what it reads (spec, global models) comes from the shared store.
 */
class PrivateStore implements BlobStore {
  readonly blobs = new Map<string, Uint8Array>();
  readonly shared: BlobStore;
  constructor(shared: BlobStore) {
    this.shared = shared;
  }
  async put(bytes: Uint8Array): Promise<string> {
    const cid = await computeCid(bytes);
    this.blobs.set(cid, bytes);
    return cid;
  }
  get(cid: string, options?: FetchOptions): Promise<Uint8Array> {
    const own = this.blobs.get(cid);
    return own === undefined ? this.shared.get(cid, options) : Promise.resolve(own);
  }
  async close(): Promise<void> {}
}
let privateStore: PrivateStore;

let fx: MarketFixture;
let tmp: string;
let market: string;
let store: MarketFixture["store"];
let ipfsDir: string;
let project: DemoProject;
const aggData = (): string => path.join(tmp, "aggregator");
const signer = (i: number) => fx.signer(i);
const times: Record<string, unknown> = {};

const csv = (seed: number, n: number): string => syntheticBlobsCsv(seed, n, FEATURES, LABELS);

async function trainer(i: number, own: BlobStore = store) {
  const config = await resolveConfig(
    {
      rpcUrl: fx.chain.url,
      market,
      project: project.projectId.toString(),
      data: path.join(tmp, "data", `trainer-${i}.csv`),
      stateDir: path.join(tmp, "trainer-state", `t${i}`),
      pollInterval: "200",
      ipfsRetries: "1",
      ipfsTimeout: "2000",
      seed: String(i),
      // The trainer that answers a flag does it in parts, one chunk per transaction (publishUpdatePart).
      ...(own === store ? {} : { answerChunksPerTx: "1" }),
    },
    {},
  );
  return openNode(config, memoryLogger(), { env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[i] }, store: own, backend: fx.backend });
}

/**
 * One `runRound` of trainer `i`, on a node opened for it (as a process started for each phase would);
 * with `privately`, the node pins to its private store.
 */
async function runTrainer(i: number, privately = false): Promise<RoundOutcome> {
  const t = await trainer(i, privately ? privateStore : store);
  try {
    return await t.node.runRound(project.projectId);
  } finally {
    await t.close();
  }
}

/**
 * Round `round` up to the aggregator's turn: the trainer nodes commit, then reveal; with `faulty`,
 * account FAULTY does not run its node but commits and reveals, with the protocol helpers, an
 * update whose sealed blob it never pinned.
 */
async function playRound(round: number, o: { faulty: boolean; privately?: number }): Promise<void> {
  const nodes = o.faulty ? TRAINERS.filter((i) => i !== FAULTY) : TRAINERS;
  const run = (i: number): Promise<RoundOutcome> => runTrainer(i, i === o.privately);
  await commitRevealRound(fx.roundChain, project.projectId, {
    commit: async () => {
      await runTrainers(nodes, run, "committed");
      if (!o.faulty) return undefined;
      const values = seededInts(round + 1, D, 1_000);
      return commitUpdateAs(fx, project, { signerIndex: FAULTY, round, config: CIRCUIT, values, kind: "missing" });
    },
    reveal: async (faulty) => {
      await runTrainers(nodes, run, "submitted");
      if (faulty !== undefined) await revealUpdateAs(fx, project, faulty);
    },
  });
}

/** An independent reference computation of the open round (what the chain must end up with). */
function reference(round: number): Promise<RoundResult> {
  return referenceRound(fx, project, { round, config: CIRCUIT, scale: SPEC.quantization.scale, f: F, modelSize: D });
}

function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runAggregatorCli(fx, project, args, env);
}

const runArgs = (): string[] => [
  "run",
  "--once",
  "--json",
  "--project",
  project.projectId.toString(),
  "--data",
  aggData(),
  "--ipfs-repo",
  ipfsDir,
  "--poll-interval",
  "200",
  "--ipfs-retries",
  "0",
  "--ipfs-timeout",
  "2000",
];

before(async () => {
  fx = await startMarketFixture("fedmarket-aggregator-it-");
  ({ tmp, market, store, ipfsDir } = fx);
  privateStore = new PrivateStore(store);
  await mkdir(path.join(tmp, "data"), { recursive: true });
  for (const i of TRAINERS) await writeFile(path.join(tmp, "data", `trainer-${i}.csv`), csv(100 + i, 120));
  project = await createDemoProject({
    market,
    verifier: fx.verifier,
    owner: signer(0),
    aggregator: signer(1),
    store,
    tf: fx.backend.tf,
    spec: SPEC,
    byzantineTolerance: F,
    submissionWindow: WINDOW,
    revealWindow: WINDOW,
    aggregationWindow: 4 * WINDOW,
    numRounds: 3,
    rewardPerRound: 10n ** 18n,
    trainers: TRAINERS.map(signer),
  });
});

after(async () => {
  if (Object.keys(times).length > 0) console.log(`measured: ${JSON.stringify(times)}`);
  await fx?.close();
});

test("round 0: SIGKILL while proving, restart finalizes with real proofs; every trainer is paid by proven score", async () => {
  await playRound(0, { faulty: false });
  const expected = await reference(0);
  assert.deepEqual(expected.rule.status, new Array(4).fill(SlotStatus.Inlier), "the scenario: f = 0, four inliers");

  const crashed = await cli(runArgs(), { FEDMARKET_TEST_CRASH_AT: "after-first-proof" });
  assert.equal(crashed.signal, "SIGKILL", crashed.stdout + crashed.stderr);
  times.crashedRunMs = crashed.ms;
  const dir = path.join(aggData(), `p${project.projectId}`, "r0");
  for (const f of ["slots.json", "openings.json", "input.json", "round.json"]) assert.ok(existsSync(path.join(dir, f)), f);
  const proofsBefore = (await readdir(path.join(dir, "proofs"))).filter((f) => f.endsWith(".json"));
  assert.ok(proofsBefore.length >= 1 && proofsBefore.length < 5, `some proofs saved: ${proofsBefore.join(",")}`);
  assert.ok(existsSync(path.join(aggData(), "aggregator.lock")), "the killed process left its lock behind");
  assert.ok(!existsSync(path.join(dir, "done.json")));

  const logger = memoryLogger();
  const agg = await openAggregator(
    { rpcUrl: fx.chain.url, market, dataDir: aggData(), ipfsRetries: 0, ipfsTimeoutMs: 2000, lrDecay: 0.5 },
    logger,
    { env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] }, store, sealSecret: project.aggregatorKey.secret },
  );
  let out;
  const started = Date.now();
  try {
    out = await agg.node.runRound(project.projectId);
    times.round0 = { resumeTotalMs: Date.now() - started, steps: { ...agg.node.times }, proofsReused: proofsBefore.length };
  } finally {
    await agg.close();
  }
  assert.equal(out.kind, "done");
  assert.equal(out.kind === "done" && out.done.kind, "finalized");
  assert.equal(out.kind === "done" && out.done.by, "self");

  const client = new FedMarketClient(market, fx.provider);
  const p = await client.getProject(project.projectId);
  assert.equal(p.currentRound, 1);
  assert.equal(p.modelCommitment, expected.newModelCommitment, "the proven model is the reference's");
  // --lr-decay 0.5: round 1 opened with half the learning rate, epochs and batch size kept
  assert.deepEqual(p.hyperParams, { learningRateMicros: 250_000, localEpochs: 2, batchSize: 16 });
  const chosen = JSON.parse(await readFile(path.join(dir, "hyperparams.json"), "utf8")) as { next: unknown };
  assert.deepEqual(chosen.next, p.hyperParams);
  // the pinned model is the proven one, with the round's step
  const weights = decodeWeights(await store.get(p.modelCid), D);
  assert.equal(globalModelCommitment(weights, expected.step, SPEC.quantization.scale, CIRCUIT), expected.newModelCommitment);
  // rewards by the proven outcomes, to the trainer revealed in each slot (registration order); the
  // trainers' data are IID, so their updates are near-identical: one kept cluster, score 0, and the
  // zero-total rule splits the reward equally among the counted slots
  const rewards = expectedCredits(expected, 10n ** 18n);
  const events = await client.updateRevealed({ projectId: project.projectId, round: 0 });
  assert.deepEqual(
    [...events].sort((x, y) => x.slot - y.slot).map((ev) => [ev.slot, ev.trainer]),
    TRAINERS.map((i, k) => [k, signer(i).address]),
  );
  for (const ev of events) {
    const credit = await client.creditOf(ETH_TOKEN, ev.trainer);
    assert.equal(credit, rewards[ev.slot], `slot ${ev.slot}`);
    assert.ok(credit > 0n, `slot ${ev.slot} is paid`);
  }
  assert.ok(!existsSync(path.join(aggData(), "aggregator.lock")), "lock released");
});

test("round 1: an unpinned update is flagged, nobody answers: its slot is empty and unpaid; SIGKILL after sending finalizeRound, restart does not send it twice", async () => {
  const client = new FedMarketClient(market, fx.provider);
  const creditBefore = await client.creditOf(ETH_TOKEN, signer(FAULTY).address);
  await playRound(1, { faulty: true }); // the trainers train on the model the aggregator pinned
  const expected = await reference(1);
  assert.deepEqual(expected.rule.status, [SlotStatus.Inlier, SlotStatus.Inlier, SlotStatus.Inlier, SlotStatus.Empty]);

  // The CLI flags the missing slot, then waits for the answer deadline (chain time): moved past it here.
  const running = cli([...runArgs(), "--lr-decay", "0.3"], { FEDMARKET_TEST_CRASH_AT: "after-finalize-sent" });
  const flags = await waitForFlags(fx.roundChain, project.projectId);
  assert.deepEqual([flags.flaggedMask, flags.pendingMask], [1n << 3n, 1n << 3n], "slot 3 flagged, not answered");
  await passAnswerDeadline(fx.roundChain, project.projectId);
  const crashed = await running;
  assert.equal(crashed.signal, "SIGKILL", crashed.stdout + crashed.stderr);
  times.round1CrashedRunMs = crashed.ms;
  const dir = path.join(aggData(), `p${project.projectId}`, "r1");
  const openings = JSON.parse(await readFile(path.join(dir, "openings.json"), "utf8")) as {
    openings: { slot: number; status: string; reason?: string }[];
  };
  assert.deepEqual(
    openings.openings.map((o) => o.reason ?? o.status),
    ["opened", "opened", "opened", "missing"],
  );
  assert.match(crashed.stdout, /"event":"slot.excluded".*"reason":"missing"/);
  assert.match(crashed.stdout, /"event":"round.flagged"/);
  const flagsFile = JSON.parse(await readFile(path.join(dir, "flags.json"), "utf8")) as {
    flagged: number[];
    pending: number[];
    answered: number[];
  };
  assert.deepEqual([flagsFile.flagged, flagsFile.answered, flagsFile.pending], [[3], [], [3]]);
  const nonce = await fx.provider.getTransactionCount(signer(1).address);

  const again = await cli(runArgs());
  assert.equal(again.code, 0, again.stdout + again.stderr);
  times.round1RestartMs = again.ms;
  assert.match(again.stdout, /"event":"run.done".*"outcome":"finalized".*"by":"self"/);
  assert.equal(await fx.provider.getTransactionCount(signer(1).address), nonce, "no second finalizeRound");
  const done = JSON.parse(await readFile(path.join(dir, "done.json"), "utf8")) as DoneFile;
  assert.equal(done.kind, "finalized");
  assert.equal(done.newModelCommitment, expected.newModelCommitment.toString());
  const p = await client.getProject(project.projectId);
  assert.equal(p.currentRound, 2);
  assert.equal(await client.creditOf(ETH_TOKEN, signer(FAULTY).address), creditBefore, "the faulty trainer earns nothing");
  const contributions = await client.queryEvents(
    client.contract.interface.encodeFilterTopics("ContributionRecorded", [project.projectId, 1, signer(FAULTY).address]),
  );
  assert.deepEqual(
    contributions.map((e) => [Number(e.args.status as bigint), BigInt(e.args.reward as bigint)]),
    [[SlotStatus.Empty, 0n]],
    "recorded as an empty slot",
  );
  assert.equal(p.modelCommitment, expected.newModelCommitment);
  // 0.25 x 0.3 = 0.075 is below the project's minimum: clamped to 0.1; the record matches the chain
  assert.deepEqual(p.hyperParams, { learningRateMicros: 100_000, localEpochs: 2, batchSize: 16 });
  const chosen = JSON.parse(await readFile(path.join(dir, "hyperparams.json"), "utf8")) as { next: unknown; lrDecay: number };
  assert.deepEqual([chosen.next, chosen.lrDecay], [p.hyperParams, 0.3]);

  const status = await cli([
    "status",
    "--json",
    "--project",
    project.projectId.toString(),
    "--data",
    aggData(),
    "--ipfs-repo",
    ipfsDir,
    "--round",
    "1",
  ]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /"step":"done \(finalized\)"/);
});

test("round 2: an update pinned where the aggregator cannot fetch it is flagged; its node answers on chain, in parts, and it is counted and paid", async () => {
  const client = new FedMarketClient(market, fx.provider);
  const before = await client.creditOf(ETH_TOKEN, signer(PRIVATE).address);
  await playRound(2, { faulty: false, privately: PRIVATE });
  const slot = TRAINERS.indexOf(PRIVATE);
  assert.ok(privateStore.blobs.size > 0, "the update went to the private store only");

  const logger = memoryLogger();
  const agg = await openAggregator({ rpcUrl: fx.chain.url, market, dataDir: aggData(), ipfsRetries: 0, ipfsTimeoutMs: 2000 }, logger, {
    env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] },
    store,
    sealSecret: project.aggregatorKey.secret,
  });
  try {
    const first = await agg.node.runRound(project.projectId);
    assert.equal(
      first.kind,
      "waiting",
      JSON.stringify(first, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
    );
    const flags = await client.unavailableFlags(project.projectId);
    assert.deepEqual([flags.flaggedMask, flags.pendingMask], [1n << BigInt(slot), 1n << BigInt(slot)]);
    assert.equal(first.kind === "waiting" && first.untilChainTime, flags.answerDeadline);

    // The trainer's node, polled in the aggregation window, answers with the update it kept.
    const answered = await runTrainer(PRIVATE, true);
    assert.equal(answered.kind, "already-submitted");
    assert.equal(answered.kind === "already-submitted" && answered.entry.answered, true, "the answer is recorded");
    assert.equal((await client.unavailableFlags(project.projectId)).pendingMask, 0n);
    assert.equal((await client.updatePublished(project.projectId, { round: 2 })).length, 1);
    // In parts, one chunk each (--answer-chunks-per-tx 1): every chunk but the last, which completes it.
    const numChunks = Number((await client.getProject(project.projectId)).numChunks);
    assert.ok(numChunks > 1);
    assert.equal((await client.updatePartsPublished(project.projectId, { round: 2 })).length, numChunks - 1);

    await passAnswerDeadline(fx.roundChain, project.projectId);
    const expected = await reference(2);
    assert.deepEqual(expected.rule.status, new Array(4).fill(SlotStatus.Inlier), "the published update decodes and is aggregated");
    const out = await agg.node.runRound(project.projectId);
    assert.equal(out.kind === "done" && out.done.kind, "finalized", JSON.stringify(out));
    const flagsFile = JSON.parse(await readFile(path.join(aggData(), `p${project.projectId}`, "r2", "flags.json"), "utf8")) as {
      answered: number[];
      pending: number[];
    };
    assert.deepEqual([flagsFile.answered, flagsFile.pending], [[slot], []]);
    const p = await client.getProject(project.projectId);
    assert.equal(p.statusName, "Completed");
    const rewards = expectedCredits(expected, 10n ** 18n);
    assert.ok((rewards[slot] ?? 0n) > 0n);
    assert.equal((await client.creditOf(ETH_TOKEN, signer(PRIVATE).address)) - before, rewards[slot], "paid its proven share");
  } finally {
    await agg.close();
  }
});

test("a second instance on the same data folder is refused; a verifier that does not match the keys is refused", async () => {
  const opts = { env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] }, store, sealSecret: project.aggregatorKey.secret };
  const a = await openAggregator({ rpcUrl: fx.chain.url, market, dataDir: aggData() }, memoryLogger(), opts);
  try {
    await assert.rejects(
      openAggregator({ rpcUrl: fx.chain.url, market, dataDir: aggData() }, memoryLogger(), opts),
      (e: unknown) => e instanceof LockError && /in use by another aggregator/.test(e.message),
    );
    const r = await cli(runArgs());
    assert.equal(r.code, 1);
    assert.match(r.stdout, /in use by another aggregator \(pid \d+/);
  } finally {
    await a.close();
  }

  // A project whose verifier is a mock (does not accept the local keys' proofs).
  const mock = await fx.deployFrom("test/mocks/MockRoundVerifier.sol/MockRoundVerifier.json", [CIRCUIT.kMax, CIRCUIT.chunk]);
  const other = await createDemoProject({
    market,
    verifier: mock,
    owner: signer(0),
    aggregator: signer(1),
    store,
    tf: fx.backend.tf,
    spec: SPEC,
    byzantineTolerance: F,
  });
  const b = await openAggregator({ rpcUrl: fx.chain.url, market, dataDir: path.join(tmp, "agg-mock") }, memoryLogger(), {
    ...opts,
    sealSecret: other.aggregatorKey.secret,
  });
  try {
    const p = await b.node.o.chain.client.getProject(other.projectId);
    const config = await b.node.circuitConfig(p);
    await assert.rejects(b.node.checkVerifier(p, config), /rejects proofs made with the local .*vkey/);
  } finally {
    await b.close();
  }
});
