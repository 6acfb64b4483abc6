/**
 * The aggregator survives what a real deployment does to it, with real Groth16 proofs (K4/C16) on
 * a real JSON-RPC chain (`hardhat node`) and an embedded Helia store:
 *
 * 1. a crash at every checkpoint of one round in turn (the test hook throws in-process, which leaves
 *    on disk exactly what `kill -9` leaves since every step file is written atomically; one
 *    checkpoint is a real SIGKILL of the CLI), each node resuming from what the last crash left;
 *    then a fresh node on the same data folder finishes the round with the reference result, one
 *    finalizeRound and no chunk proof sent twice;
 * 2. a JSON-RPC endpoint that fails every few requests (502, dropped connection, JSON-RPC errors);
 * 3. corrupt sealed updates (bytes that are no sealed update, a sealed update that does not open
 *    its commitment, one sealed for another seal key, one whose ephemeral key is off the curve, a
 *    CID that nobody pinned): left out with the update codec's reason (not available: flagged on
 *    chain, unanswered, an empty slot; or not decoded: excluded), the round still finalizes and
 *    only the faulty trainer loses its share;
 * 4. too few revealed updates (skipRound: a commitment that is never revealed does not count) and
 *    an aggregation window that closed before the node ran (nothing submitted, failRound, then the
 *    next round).
 *
 * Updates are synthetic (seeded integers, sealed, committed and revealed the way trainers do it),
 * the model a logistic regression on 8 features and 2 labels (D = 18: two chunks), so a round is
 * three proofs. K = 4 slots admit f = 0 only (Multi-Krum needs 2f + 3 updates): every valid update
 * is aggregated; the four trainers register before the aggregator accepts, so each round's draw
 * (4 candidates for 4 slots) gives trainer `k` slot `k`.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { SlotStatus, type RoundResult } from "@fedmarket/core";
import { ETH_TOKEN, FedMarketClient, memoryLogger, ProjectStatus } from "@fedmarket/protocol";
import { createDemoProject, HARDHAT_KEYS, type DemoProject } from "../../src/chain/demo-project.ts";
import {
  CHECKPOINTS,
  type Checkpoint,
  type DoneFile,
  openAggregator,
  type OpenedAggregator,
  readJson,
  toJson,
} from "@fedmarket/aggregator";
import { startFlakyRpc } from "./support/flaky-rpc.ts";
import { K4_C16, startMarketFixture, type MarketFixture } from "./support/market-fixture.ts";
import {
  aggregatorCalls,
  commitUpdateAs,
  expectedCredits,
  finalizedOutcomes,
  referenceRound,
  revealUpdateAs,
  runAggregatorCli,
  seededInts,
  submitRoundAs,
  type RoundUpdate,
  type SubmissionKind,
} from "./support/rounds.ts";
import { commitRevealRound, passAnswerDeadline, passDeadline } from "../helpers.ts";

const FEATURES = 8;
const LABELS = ["a", "b"];
const D = FEATURES * LABELS.length + LABELS.length; // 18: two chunks of 16
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
const WINDOW = 3600;
const AGGREGATION_WINDOW = 4 * WINDOW;
const REWARD = 10n ** 18n;
/** Multi-Krum's `f`: the largest with 2f + 3 <= K = 4. */
const F = 0;
/** Trainer accounts (Hardhat 2..5), registered in this order: trainer `k` holds slot `k`. */
const TRAINERS = [2, 3, 4, 5];

class SimulatedCrash extends Error {
  constructor(at: Checkpoint) {
    super(`simulated crash at ${at}`);
    this.name = "SimulatedCrash";
  }
}

let fx: MarketFixture;
let aggDir: string;
const measured: Record<string, number> = {};

before(async () => {
  fx = await startMarketFixture("fedmarket-aggregator-resilience-");
  aggDir = path.join(fx.tmp, "aggregator");
});

after(async () => {
  if (Object.keys(measured).length > 0) console.log(`measured: ${JSON.stringify(measured)}`);
  await fx?.close();
});

async function newProject(o: { rounds: number }): Promise<DemoProject> {
  return createDemoProject({
    market: fx.market,
    verifier: fx.verifier,
    owner: fx.signer(0),
    aggregator: fx.signer(1),
    store: fx.store,
    tf: fx.backend.tf,
    spec: SPEC,
    byzantineTolerance: F,
    submissionWindow: WINDOW,
    revealWindow: WINDOW,
    aggregationWindow: AGGREGATION_WINDOW,
    numRounds: o.rounds,
    rewardPerRound: REWARD,
    trainers: TRAINERS.map((i) => fx.signer(i)),
  });
}

/** An in-process aggregator on the shared data folder (one chunk proof per transaction: two transactions per round). */
function openNode(
  project: DemoProject,
  o: { rpcUrl?: string; onCheckpoint?: (name: Checkpoint) => void; logger?: ReturnType<typeof memoryLogger> } = {},
): Promise<OpenedAggregator> {
  return openAggregator(
    {
      rpcUrl: o.rpcUrl ?? fx.chain.url,
      market: fx.market,
      dataDir: aggDir,
      ipfsRetries: 0,
      ipfsTimeoutMs: 1_500,
      chunkBatch: 1,
      pollIntervalMs: 200,
    },
    o.logger ?? memoryLogger(),
    {
      env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] },
      store: fx.store,
      sealSecret: project.aggregatorKey.secret,
      ...(o.onCheckpoint === undefined ? {} : { onCheckpoint: o.onCheckpoint }),
    },
  );
}

/**
 * The update of trainer `k` (slot `k`) in `round`, sealed per `kind`: a direction shared by the
 * round's trainers plus small noise.
 */
function update(project: DemoProject, round: number, k: number, kind: SubmissionKind): RoundUpdate {
  const direction = seededInts(1_000 * round + Number(project.projectId), D, 150);
  const noise = seededInts(7_919 * (round + 1) + 31 * k + Number(project.projectId), D, 20);
  return { signerIndex: TRAINERS[k] as number, values: direction.map((v, i) => v + (noise[i] as bigint)), kind };
}

/**
 * Trainers `0 .. kinds.length - 1` commit, then reveal, their updates of `round` (`kinds[k]` is
 * trainer `k`'s, in slot `k`); afterwards the reveal window is closed: the aggregator's turn.
 */
async function submitRound(project: DemoProject, round: number, kinds: readonly SubmissionKind[]): Promise<void> {
  await submitRoundAs(fx, project, { round, config: K4_C16, updates: kinds.map((kind, k) => update(project, round, k, kind)) });
}

function reference(project: DemoProject, round: number): Promise<RoundResult> {
  return referenceRound(fx, project, { round, config: K4_C16, scale: SPEC.quantization.scale, f: F, modelSize: D });
}

interface Before {
  readonly block: number;
  readonly credits: bigint[];
}

async function snapshot(): Promise<Before> {
  const client = new FedMarketClient(fx.market, fx.provider);
  return {
    block: await fx.provider.getBlockNumber(),
    credits: await Promise.all(TRAINERS.map((i) => client.creditOf(ETH_TOKEN, fx.signer(i).address))),
  };
}

const roundDir = (project: DemoProject, round: number): string => path.join(aggDir, `p${project.projectId}`, `r${round}`);

interface RoundJson {
  readonly digest: string;
  readonly newModelCommitment: string;
  readonly status: number[];
  readonly scores: string[];
  readonly outcome: string[];
}

/** The finalized round is the reference's: model, outcomes, scores, credits, files; `calls` were the aggregator's only transactions. */
async function assertFinalized(
  project: DemoProject,
  round: number,
  expected: RoundResult,
  before: Before,
  done: DoneFile,
  calls: readonly string[],
): Promise<void> {
  assert.equal(done.kind, "finalized");
  assert.equal(done.by, "self");
  assert.equal(done.newModelCommitment, expected.newModelCommitment.toString());
  const client = new FedMarketClient(fx.market, fx.provider);
  const p = await client.getProject(project.projectId);
  assert.equal(p.modelCommitment, expected.newModelCommitment, "the proven model is the reference's");
  const sent = await aggregatorCalls(fx, before.block);
  assert.deepEqual(
    sent.map((c) => c.name),
    calls,
    "the aggregator's transactions since the round closed",
  );
  const finalize = sent.find((c) => c.name === "finalizeRound");
  assert.ok(finalize);
  assert.deepEqual(finalizedOutcomes(finalize), expected.outcome.map(String), "the finalized outcome words");
  const file = await readJson<RoundJson>(path.join(roundDir(project, round), "round.json"));
  assert.ok(file);
  const { digest, ...summary } = file;
  assert.equal(digest, createHash("sha256").update(toJson(summary)).digest("hex"), "round.json's digest is its content's");
  assert.deepEqual(file.status, expected.rule.status.map(Number));
  assert.deepEqual(file.scores, expected.rule.scores.map(String));
  assert.equal(file.newModelCommitment, expected.newModelCommitment.toString());
  const want = expectedCredits(expected, REWARD);
  const after = await snapshot();
  const events = await client.updateRevealed({ projectId: project.projectId, round });
  for (const ev of events) {
    const t = TRAINERS.findIndex((i) => fx.signer(i).address === ev.trainer);
    assert.equal((after.credits[t] as bigint) - (before.credits[t] as bigint), want[ev.slot], `credit of slot ${ev.slot}`);
  }
}

test("a crash at every checkpoint of one round, each restart resuming where the last crash left it: the reference result, one finalizeRound, no chunk proof sent twice", async () => {
  // One round crashed at every checkpoint in turn: the node started after the crash at checkpoint
  // i resumes from the files that crash left and runs on to checkpoint i + 1. Every step file is
  // written atomically, so what a crash at a checkpoint leaves does not depend on whether the run
  // started fresh or resumed; one round also proves once, not once per checkpoint.
  const project = await newProject({ rounds: 1 });
  const round = 0;
  await submitRound(project, round, ["honest", "honest", "honest", "honest"]);
  const expected = await reference(project, round);
  assert.deepEqual(expected.rule.status, new Array(4).fill(SlotStatus.Inlier), "the scenario: f = 0, every update aggregated");
  const before = await snapshot();
  const dir = roundDir(project, round);
  let digest: string | undefined;

  for (const at of CHECKPOINTS) {
    const started = Date.now();
    if (at === "after-chunk-batch-sent") {
      // One checkpoint as a real kill -9 of the CLI.
      const run = await runAggregatorCli(
        fx,
        project,
        [
          "run",
          "--once",
          "--json",
          "--project",
          project.projectId.toString(),
          "--data",
          aggDir,
          "--ipfs-repo",
          fx.ipfsDir,
          "--chunk-batch",
          "1",
          "--poll-interval",
          "200",
          "--ipfs-retries",
          "0",
          "--ipfs-timeout",
          "1500",
        ],
        { FEDMARKET_TEST_CRASH_AT: at },
      );
      assert.equal(run.signal, "SIGKILL", run.stdout + run.stderr);
      const onChain = await new FedMarketClient(fx.market, fx.provider).getCurrentRound(project.projectId);
      assert.equal(onChain.chunksVerified, 1, "the first chunk proof landed before the kill");
    } else {
      const crashing = await openNode(project, {
        onCheckpoint: (name) => {
          if (name === at) throw new SimulatedCrash(name);
        },
      });
      try {
        await assert.rejects(crashing.node.runRound(project.projectId), SimulatedCrash, `${at}: the run reaches the checkpoint`);
      } finally {
        await crashing.close();
      }
    }
    assert.ok(!existsSync(path.join(dir, "done.json")), `${at}: not done yet`);
    const digestNow = (await readJson<RoundJson>(path.join(dir, "round.json")))?.digest;
    if (digest !== undefined) assert.equal(digestNow, digest, `${at}: the same round.json as before the earlier crashes`);
    digest ??= digestNow;
    measured[`crash-${at}-ms`] = Date.now() - started;
  }

  const restarted = await openNode(project);
  let out;
  try {
    out = await restarted.node.runRound(project.projectId);
  } finally {
    await restarted.close();
  }
  assert.equal(out.kind, "done", JSON.stringify(out));
  assert.equal(out.kind === "done" && out.round, round);
  const done = await readJson<DoneFile>(path.join(dir, "done.json"));
  assert.ok(done, "done.json");
  await assertFinalized(project, round, expected, before, done, ["submitChunkProofs", "finalizeRound"]);
  assert.equal((await readJson<RoundJson>(path.join(dir, "round.json")))?.digest, digest, "the same digest after the last restart");
  const p = await new FedMarketClient(fx.market, fx.provider).getProject(project.projectId);
  assert.equal(p.status, ProjectStatus.Completed);
});

test("a JSON-RPC endpoint that fails every 4th request and loses answers to broadcasts: the node retries, sends each transaction once, finalizes the reference result", async () => {
  const project = await newProject({ rounds: 2 });
  await submitRound(project, 0, ["honest", "honest", "honest", "honest"]);
  const expected = await reference(project, 0);
  const before = await snapshot();
  // ...and the first answer to each transaction broadcast is lost after the node got it
  const proxy = await startFlakyRpc({ upstream: fx.chain.url, everyNth: 4, loseAnswerOf: ["eth_sendRawTransaction"] });
  const logger = memoryLogger();
  const started = Date.now();
  try {
    const agg = await openNode(project, { rpcUrl: proxy.url, logger });
    let out;
    try {
      out = await agg.node.runRound(project.projectId);
    } finally {
      await agg.close();
    }
    assert.equal(out.kind, "done", JSON.stringify(out));
  } finally {
    await proxy.close();
  }
  measured.flakyRoundMs = Date.now() - started;
  for (const [fault, n] of Object.entries(proxy.stats.faults)) assert.ok(n > 0, `fault ${fault} injected (${JSON.stringify(proxy.stats)})`);
  assert.equal(proxy.stats.lostAnswers, 2, "both transactions lost their first answer");
  const retries = logger.records.filter((r) => r.event === "rpc.retry");
  assert.ok(retries.length > 0, "the retries are logged");
  const done = await readJson<DoneFile>(path.join(roundDir(project, 0), "done.json"));
  assert.ok(done);
  await assertFinalized(project, 0, expected, before, done, ["submitChunkProofs", "finalizeRound"]);
  measured.flakyRequests = proxy.stats.requests;
  measured.flakyFaults = Object.values(proxy.stats.faults).reduce((a, b) => a + b, 0);
  measured.flakyRetriesLogged = retries.length;
});

test("corrupt updates are left out with their reason (not available: flagged and empty; or not decoded: excluded); the round finalizes and only the faulty trainer earns nothing", async () => {
  // The update codec's reasons for the aggregator (support/rounds.ts, SubmissionKind): not available
  // (missing, not-opening: the round proof has no ciphertext for the slot) or not decoded (bad-key:
  // E off the curve, proven; malformed: the ciphertext decrypts to junk under the project's key).
  const faults: { kind: SubmissionKind; reason: string; status: "unavailable" | "not-decoded" }[] = [
    { kind: "garbage-blob", reason: "not-opening", status: "unavailable" },
    { kind: "not-opening", reason: "not-opening", status: "unavailable" },
    { kind: "wrong-key", reason: "malformed", status: "not-decoded" },
    { kind: "bad-key", reason: "bad-key", status: "not-decoded" },
    { kind: "missing", reason: "missing", status: "unavailable" },
  ];
  const project = await newProject({ rounds: faults.length });
  for (const [round, { kind, reason, status: openingStatus }] of faults.entries()) {
    // the faulty update lands in slot `round % 4`
    const slot = round % TRAINERS.length;
    const kinds: SubmissionKind[] = ["honest", "honest", "honest"];
    kinds.splice(slot, 0, kind);
    await submitRound(project, round, kinds);
    const expected = await reference(project, round);
    // Not available: flagged on chain, nobody answers, an empty slot; not decoded: status 3 (proven).
    const faulty = openingStatus === "unavailable" ? SlotStatus.Empty : SlotStatus.Excluded;
    assert.deepEqual(
      expected.rule.status,
      kinds.map((k) => (k === "honest" ? SlotStatus.Inlier : faulty)),
      `${kind}: the scenario`,
    );
    const before = await snapshot();
    const agg = await openNode(project);
    try {
      let out = await agg.node.runRound(project.projectId);
      if (openingStatus === "unavailable") {
        assert.equal(out.kind, "waiting", `${kind}: flagged, waiting for answers: ${JSON.stringify(out)}`);
        await passAnswerDeadline(fx.roundChain, project.projectId);
        out = await agg.node.runRound(project.projectId);
      }
      assert.equal(out.kind, "done", `${kind}: ${JSON.stringify(out)}`);
      const status = await agg.node.status(project.projectId, round);
      assert.deepEqual(status.excluded, [{ slot, reason }], `${kind}: status`);
      assert.equal(status.step, "done (finalized)");
    } finally {
      await agg.close();
    }
    const openings = await readJson<{ openings: { slot: number; status: string; reason?: string }[] }>(
      path.join(roundDir(project, round), "openings.json"),
    );
    assert.deepEqual(
      openings?.openings.map((o) => [o.status, o.reason]),
      kinds.map((k) => (k === "honest" ? ["opened", undefined] : [openingStatus, reason])),
      `${kind}: openings.json`,
    );
    const done = await readJson<DoneFile>(path.join(roundDir(project, round), "done.json"));
    assert.ok(done);
    const sent =
      openingStatus === "unavailable" ? ["flagUnavailable", "submitChunkProofs", "finalizeRound"] : ["submitChunkProofs", "finalizeRound"];
    await assertFinalized(project, round, expected, before, done, sent);
    const after = await snapshot();
    assert.equal(after.credits[slot], before.credits[slot], `${kind}: the faulty trainer earns nothing`);
    for (const k of [0, 1, 2, 3].filter((x) => x !== slot))
      assert.ok((after.credits[k] as bigint) > (before.credits[k] as bigint), `${kind}: trainer in slot ${k} is paid`);
  }
});

test("too few revealed updates: skipRound; aggregation window over before the node ran: nothing submitted, failRound, then the next round", async () => {
  const project = await newProject({ rounds: 3 });
  const client = new FedMarketClient(fx.market, fx.provider);

  // Round 0: three commitments but two reveals; the quorum 2f + 3 = 3 counts revealed updates.
  await commitRevealRound(fx.roundChain, project.projectId, {
    commit: async () => {
      const pending = [];
      for (const k of [0, 1, 2])
        pending.push(await commitUpdateAs(fx, project, { ...update(project, 0, k, "honest"), round: 0, config: K4_C16 }));
      return pending;
    },
    reveal: async (pending) => {
      for (const p of pending.slice(0, 2)) await revealUpdateAs(fx, project, p);
    },
  });
  const skipped = await client.getCurrentRound(project.projectId);
  assert.deepEqual([skipped.commits, skipped.submissions], [3, 2], "three commitments, two of them revealed");
  let before = await snapshot();
  let agg = await openNode(project);
  try {
    const out = await agg.node.runRound(project.projectId);
    assert.equal(out.kind === "done" && out.done.kind, "skipped", JSON.stringify(out));
    assert.equal(out.kind === "done" && out.done.by, "self");
  } finally {
    await agg.close();
  }
  assert.deepEqual(
    (await aggregatorCalls(fx, before.block)).map((c) => c.name),
    ["skipRound"],
  );
  assert.equal((await client.getProject(project.projectId)).currentRound, 1);
  assert.deepEqual((await snapshot()).credits, before.credits, "a skipped round pays nobody, the trainer that never revealed included");

  // Round 1: quorum reached, but the node only starts after the aggregation window.
  const terms = await client.getProject(project.projectId); // the appointment the failure will clear
  await submitRound(project, 1, ["honest", "honest", "honest"]);
  await passDeadline(fx.roundChain, project.projectId, "aggregation");
  before = await snapshot();
  agg = await openNode(project);
  try {
    const out = await agg.node.runRound(project.projectId);
    assert.equal(out.kind, "done", JSON.stringify(out));
    assert.equal(out.kind === "done" && out.done.kind, "failed");
    assert.equal(out.kind === "done" && out.done.by, "self");
    // the project waits for its owner to appoint an aggregator: nothing to do
    const next = await agg.node.runRound(project.projectId);
    assert.equal(next.kind, "waiting", JSON.stringify(next));
  } finally {
    await agg.close();
  }
  assert.deepEqual(
    (await aggregatorCalls(fx, before.block)).map((c) => c.name),
    ["failRound"],
    "no proof, no finalizeRound",
  );
  assert.ok(!existsSync(path.join(roundDir(project, 1), "round.json")), "nothing computed for a round that can no longer be finalized");
  const p = await client.getProject(project.projectId);
  assert.equal(p.status, ProjectStatus.AwaitingAggregator);
  const after = await snapshot();
  for (const k of [0, 1, 2]) {
    assert.ok((after.credits[k] as bigint) > (before.credits[k] as bigint), "the trainers share the round's reward and half the slash");
  }

  // The failure cleared the appointment: the owner appoints the same aggregator again, which
  // accepts the same terms with its whole bond: round 2 opens and is finalized.
  const owner = new FedMarketClient(fx.market, fx.signer(0));
  const appoint = owner.contract.getFunction("appointAggregator");
  await (await appoint.send(project.projectId, fx.signer(1).address, terms.aggregatorBond, terms.slashAmount)).wait();
  const aggClient = new FedMarketClient(fx.market, fx.signer(1));
  const accepted = { bond: terms.aggregatorBond, slashAmount: terms.slashAmount };
  await (await aggClient.acceptAggregator(project.projectId, project.aggregatorKey.sealKey, accepted, true)).wait();
  await submitRound(project, 2, ["honest", "honest", "honest"]);
  const expected = await reference(project, 2);
  before = await snapshot();
  agg = await openNode(project);
  try {
    const out = await agg.node.runRound(project.projectId);
    assert.equal(out.kind === "done" && out.round, 2, JSON.stringify(out));
  } finally {
    await agg.close();
  }
  const done = await readJson<DoneFile>(path.join(roundDir(project, 2), "done.json"));
  assert.ok(done);
  await assertFinalized(project, 2, expected, before, done, ["submitChunkProofs", "finalizeRound"]);
});
