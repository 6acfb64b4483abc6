/**
 * An optimistic round end to end, with real Groth16 proofs on a real JSON-RPC chain (the fixture of
 * integration.test.ts: `hardhat node`, FedMarket, the K4/C16 verifiers, an embedded Helia store,
 * four trainer nodes): in a project with a challenge window the aggregator node finalizes with the
 * decision proof and the Merkle root of its chunk accumulators, pins the proofs for watchers and
 * holds the payouts; the pinned bundle proves the committed chain (the watcher's `challengeTarget`,
 * with the project's own verifier); a challenge of two chunks is answered by the node before it
 * does anything else; after the window the node settles the round and the trainers are paid by
 * proven score; the owner's audit passes (proofs from the bundle, shares in the settlement). Then
 * round 1 is finalized with a valid decision proof but no proof bundle behind its CID, and nobody
 * answers: the watcher (@fedmarket/audit `watchOnce`) challenges every chunk and voids the round.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { Contract } from "ethers";
import {
  challengeTarget,
  ChunkAccumulatorTree,
  computeCid,
  proofWords,
  decodeProofBundle,
  ETH_TOKEN,
  FEDMARKET_ABI,
  FedMarketClient,
  loadProjectHistory,
  memoryLogger,
  ROUND_VERIFIER_ABI,
} from "@fedmarket/protocol";
import { K4_TEST_SPEC } from "@fedmarket/protocol/test-specs";
import { openAggregator, type ProofFile, type RoundFile } from "@fedmarket/aggregator";
import { auditProject, watchOnce } from "@fedmarket/audit";
import { voidedRoundSplit } from "@fedmarket/core";
import { openNode, resolveConfig, type RoundOutcome } from "@fedmarket/trainer";
import { createDemoProject, HARDHAT_KEYS, type DemoProject } from "../../src/chain/demo-project.ts";
import { syntheticBlobsCsv } from "../../src/data/synthetic-data.ts";
import { trainersRound } from "../helpers.ts";
import { K4_C16, startMarketFixture, type MarketFixture } from "./support/market-fixture.ts";
import { expectedCredits, referenceRound } from "./support/rounds.ts";

// The shared K4/C16 test model: 12 features, 4 labels, D = 52 in four chunks.
const SPEC = K4_TEST_SPEC;
const CIRCUIT = K4_C16;
const FEATURES = SPEC.inputShape[0] as number;
const LABELS = [...SPEC.labels];
const D = FEATURES * LABELS.length + LABELS.length;
const WINDOW = 3600;
const CHALLENGE_WINDOW = WINDOW / 2;
const TRAINERS = [2, 3, 4, 5];
const CHALLENGER = 6;
const REWARD = 10n ** 18n;
const DEPOSIT = 10n ** 16n;

let fx: MarketFixture;
let project: DemoProject;

async function runTrainer(i: number): Promise<RoundOutcome> {
  const config = await resolveConfig(
    {
      rpcUrl: fx.chain.url,
      market: fx.market,
      project: project.projectId.toString(),
      data: path.join(fx.tmp, "data", `trainer-${i}.csv`),
      stateDir: path.join(fx.tmp, "trainer-state", `t${i}`),
      pollInterval: "200",
      seed: String(i),
    },
    {},
  );
  const t = await openNode(config, memoryLogger(), {
    env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[i] },
    store: fx.store,
    backend: fx.backend,
  });
  try {
    return await t.node.runRound(project.projectId);
  } finally {
    await t.close();
  }
}

/** One `runRound` of the aggregator node (a process started for each step would do the same). */
async function runAggregator() {
  const agg = await openAggregator(
    {
      rpcUrl: fx.chain.url,
      market: fx.market,
      dataDir: path.join(fx.tmp, "aggregator"),
      ipfsRetries: 0,
      ipfsTimeoutMs: 2000,
      chunkBatch: 1,
    },
    memoryLogger(),
    { env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] }, store: fx.store, sealSecret: project.aggregatorKey.secret },
  );
  try {
    return await agg.node.runRound(project.projectId);
  } finally {
    await agg.close();
  }
}

before(async () => {
  fx = await startMarketFixture("fedmarket-optimistic-it-");
  await mkdir(path.join(fx.tmp, "data"), { recursive: true });
  for (const i of TRAINERS)
    await writeFile(path.join(fx.tmp, "data", `trainer-${i}.csv`), syntheticBlobsCsv(100 + i, 120, FEATURES, LABELS));
  project = await createDemoProject({
    market: fx.market,
    verifier: fx.verifier,
    owner: fx.signer(0),
    aggregator: fx.signer(1),
    store: fx.store,
    tf: fx.backend.tf,
    spec: SPEC,
    byzantineTolerance: 0,
    submissionWindow: WINDOW,
    revealWindow: WINDOW,
    aggregationWindow: 4 * WINDOW,
    // Half a commit window: round 0 is settled while round 1's commit window is still open.
    challengeWindow: CHALLENGE_WINDOW,
    challengeDeposit: DEPOSIT,
    numRounds: 2,
    rewardPerRound: REWARD,
    rewardDecayPpm: 1_000_000,
    trainers: TRAINERS.map((i) => fx.signer(i)),
  });
});

after(async () => {
  await fx?.close();
});

test("an optimistic round: committed, proven by its pinned bundle, answered when challenged, settled after its window", async () => {
  const client = new FedMarketClient(fx.market, fx.provider);
  const pid = project.projectId;
  assert.equal((await client.optimisticParams(pid)).challengeWindow, CHALLENGE_WINDOW);
  await trainersRound(fx.roundChain, pid, TRAINERS, runTrainer);
  const expected = await referenceRound(fx, project, { round: 0, config: CIRCUIT, scale: SPEC.quantization.scale, f: 0, modelSize: D });

  const out = await runAggregator();
  assert.equal(out.kind === "done" && out.done.kind, "finalized", JSON.stringify(out));
  assert.equal((await client.getProject(pid)).modelCommitment, expected.newModelCommitment, "the proven model is the reference's");
  // No chunk proof went on chain; the payouts are held.
  const history = await loadProjectHistory(client, pid);
  const round0 = history.rounds[0];
  assert.equal(round0?.chunkBatches.length, 0);
  const committed = round0?.optimistic?.committed;
  assert.ok(committed !== undefined, "ChunksCommitted");
  for (const i of TRAINERS) assert.equal(await client.creditOf(ETH_TOKEN, fx.signer(i).address), 0n, `trainer ${i} not paid yet`);

  // The watcher's view: the pinned bundle is the committed chain and every proof verifies on the project's verifier.
  const bundle = decodeProofBundle(await fx.store.get(committed.proofsCid));
  assert.equal(new ChunkAccumulatorTree(bundle.accs).root, committed.chunkRoot);
  const verifier = new Contract(fx.verifier, ROUND_VERIFIER_ABI, fx.provider);
  const verify = async (p: readonly bigint[], accIn: bigint, accOut: bigint): Promise<boolean> =>
    Boolean(await verifier.getFunction("verifyChunk").staticCall([...p], accIn, accOut));
  const numChunks = (await client.getProject(pid)).numChunks;
  assert.equal(await challengeTarget(bundle, { ...committed, numChunks }, verify), undefined, "nothing to challenge");
  const forged = { ...bundle, proofs: bundle.proofs.map((p, j) => (j === 2 ? bundle.proofs[1]! : p)) };
  assert.deepEqual(await challengeTarget(forged, { ...committed, numChunks }, verify), {
    first: 2,
    count: 1,
    reason: "chunk proof 2 does not verify",
  });

  // A challenge of chunks 1..2: the node answers it (one proof per transaction, --chunk-batch 1) before anything else.
  const market = new Contract(fx.market, FEDMARKET_ABI, fx.signer(CHALLENGER));
  await (await market.getFunction("challengeRound")(pid, 0, 1, 2, { value: DEPOSIT })).wait();
  const aggregatorCredit = await client.creditOf(ETH_TOKEN, fx.signer(1).address);
  const waiting = await runAggregator();
  assert.equal(waiting.kind, "waiting", "round 1 has no submissions yet");
  const o = await client.getOptimisticRound(pid, 0);
  assert.equal(o.answerDeadline, 0, "the challenge was answered");
  assert.equal(o.next, 3);
  assert.equal(await client.creditOf(ETH_TOKEN, fx.signer(1).address), aggregatorCredit + DEPOSIT, "the deposit went to the aggregator");

  // After the window the node settles: every trainer is paid by proven score.
  await fx.roundChain.rpc("evm_setNextBlockTimestamp", [o.windowEnd]);
  await fx.roundChain.rpc("evm_mine", []);
  await runAggregator();
  assert.equal((await client.getOptimisticRound(pid, 0)).settled, true);
  const rewards = expectedCredits(expected, REWARD);
  const reveals = await client.updateRevealed({ projectId: pid, round: 0 });
  for (const ev of reveals) assert.equal(await client.creditOf(ETH_TOKEN, ev.trainer), rewards[ev.slot], `slot ${ev.slot}`);

  // The owner's audit verifies the optimistic round: chunk proofs from the pinned bundle, the
  // decision from finalizeRoundOptimistic's calldata, the shares in the settlement.
  const report = await auditProject({
    provider: fx.provider,
    market: fx.market,
    projectId: pid,
    store: fx.store,
    ownerSecretKey: project.ownerKey.secretKey,
  });
  assert.deepEqual(report.failures, []);
  assert.equal(report.verdict, "pass");
});

test("a round whose chunk proofs were never pinned: the watcher challenges every chunk, nobody answers, it voids the round", async () => {
  const client = new FedMarketClient(fx.market, fx.provider);
  const pid = project.projectId;
  await trainersRound(fx.roundChain, pid, TRAINERS, runTrainer);
  const opened = await client.getProject(pid);
  // A dishonest aggregator: a valid decision proof, the true chunk root, but no proof bundle behind its CID
  // (and, not running its node, it will not answer). Its proofs come from a prove-only run.
  const agg = await openAggregator(
    { rpcUrl: fx.chain.url, market: fx.market, dataDir: path.join(fx.tmp, "aggregator"), ipfsRetries: 0, ipfsTimeoutMs: 2000 },
    memoryLogger(),
    { env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] }, store: fx.store, sealSecret: project.aggregatorKey.secret },
  );
  let dir: string;
  try {
    ({ dir } = await agg.node.proveRound(pid, 1));
  } finally {
    await agg.close();
  }
  const round = JSON.parse(await readFile(path.join(dir, "round.json"), "utf8")) as RoundFile;
  const decision = JSON.parse(await readFile(path.join(dir, "proofs", "decision.json"), "utf8")) as ProofFile;
  const accs = [0n, ...round.chunkSignals.map(([, out]) => BigInt(out))];
  const tree = new ChunkAccumulatorTree(accs);
  const neverPinned = await computeCid(new TextEncoder().encode("no such bundle"));
  const aggregator = new Contract(fx.market, FEDMARKET_ABI, fx.signer(1));
  const finalize = await aggregator.getFunction("finalizeRoundOptimistic")(pid, 1, accs.at(-1), tree.root, neverPinned, {
    newModelCommitment: BigInt(round.newModelCommitment),
    outcomes: round.outcome.map(BigInt),
    proof: proofWords(decision.proof),
    newModelCid: opened.modelCid,
    nextHyperParams: opened.hyperParams,
  });
  await finalize.wait();

  const watcher = new FedMarketClient(fx.market, fx.signer(CHALLENGER));
  const watch = () =>
    watchOnce({ client: watcher, projectId: pid, store: fx.store, fetchOptions: { timeoutMs: 1000, retries: 0 }, logger: memoryLogger() });
  const first = await watch();
  const r1 = first.actions.find((a) => a.round === 1);
  assert.equal(r1?.action, "challenged", JSON.stringify(first.actions));
  const o = await client.getOptimisticRound(pid, 1);
  assert.deepEqual([o.first, o.end], [0, (await client.getProject(pid)).numChunks], "every chunk, the bundle being unavailable");

  await fx.roundChain.rpc("evm_setNextBlockTimestamp", [o.answerDeadline]);
  await fx.roundChain.rpc("evm_mine", []);
  const credits = async (): Promise<bigint[]> => Promise.all(TRAINERS.map((i) => client.creditOf(ETH_TOKEN, fx.signer(i).address)));
  const before = await credits();
  const challengerBefore = await client.creditOf(ETH_TOKEN, fx.signer(CHALLENGER).address);
  const second = await watch();
  assert.equal(second.actions.find((a) => a.round === 1)?.action, "voided", JSON.stringify(second.actions));
  assert.equal(second.open, false, "nothing left to watch");
  assert.equal((await client.getOptimisticRound(pid, 1)).voided, true);
  // The model is the one round 1 started from; the held reward and half the stake went equally to its slots.
  const p = await client.getProject(pid);
  assert.equal(p.modelCommitment, opened.modelCommitment);
  assert.equal(p.modelCid, opened.modelCid);
  const split = voidedRoundSplit(o.payout, o.stake, DEPOSIT, TRAINERS.length);
  const after = await credits();
  TRAINERS.forEach((_, k) => assert.equal(after[k]! - before[k]!, split.credits[k], `trainer ${TRAINERS[k]}`));
  assert.equal((await client.creditOf(ETH_TOKEN, fx.signer(CHALLENGER).address)) - challengerBefore, split.toChallenger);
});
