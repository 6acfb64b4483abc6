/**
 * End to end on a real JSON-RPC chain: `hardhat node` (child process on a free port, the repo's
 * Hardhat config), FedMarket + MockRoundVerifier from the Hardhat artifacts (`npx hardhat build`),
 * a tiny MLP (784-8-10) on real MNIST partitions (~450 samples per trainer), an embedded Helia
 * store on disk shared by owner and trainers. Trainers `join` (before the aggregator accepts: a
 * round's slots are drawn among the trainers registered when it opens) and `run` (through the CLI
 * binary and in-process): each commits a sealed commitment in the commit window, then reveals it
 * once that window closed (the tests move chain time); the revealed commitments must be those of
 * the pinned sealed updates, which open with the aggregator's seal secret and the owner's key. Then the failure paths: a trainer registered too late for the round,
 * crashes (a real SIGKILL between sending the commit and writing the state, then between sending
 * the reveal and writing the state; an in-process crash at every checkpoint of a round), bad data,
 * an unreachable IPFS node, a trainer that did not join, a diverging model (NaN), a wrong network,
 * a closed commit window and a reveal window that closed before the reveal. And the copier: under
 * commit-reveal it finds nothing to copy, and a copied sealed commitment does not open for it.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ContractFactory, JsonRpcProvider, parseEther, toBeHex, Wallet } from "ethers";
import {
  computeCid,
  decodeWeights,
  encodeWeights,
  FedMarketClient,
  HeliaBlobStore,
  KuboBlobStore,
  MarketRevertError,
  openUpdate,
  sealedCommitment,
  type BlobStore,
  type OpenUpdateContext,
  memoryLogger,
} from "@fedmarket/protocol";
import {
  CHECKPOINTS,
  resolveConfig,
  openNode,
  TrainerNodeError,
  type Checkpoint,
  quantizeDelta,
  type TrainerNode,
  type UpdateProducer,
} from "@fedmarket/trainer";
import { makeMnistPartitions } from "../../src/data/mnist-partitions.ts";
import {
  acceptDemoProject,
  createDemoProject,
  deployMarketWithMockVerifier,
  HARDHAT_KEYS,
  readArtifact,
  type DemoProject,
  type DemoProjectOptions,
} from "../../src/chain/demo-project.ts";
import { startLocalChain, freePort, type LocalChain } from "../../src/chain/local-chain.ts";
import { DuplicateProducer } from "../../src/attacks/producers.ts";
import { ChildRegistry } from "../cli/support/child-processes.ts";
import { assertOutcome, BIN as BINS, marketCalls, passDeadline, testBackend, type RoundChain } from "../helpers.ts";

const CIRCUIT = { kMax: 4, chunk: 128, updateBits: 16, modelBits: 32 };
const SPEC = {
  format: "fedmarket-model-spec/1",
  name: "mnist-mlp-784-8-10",
  inputShape: [784],
  labels: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  layers: [
    { type: "dense", units: 8, activation: "relu" },
    { type: "dense", units: 10, activation: "softmax" },
  ],
  training: { epochs: 1, batchSize: 32, learningRate: 0.1, optimizer: "sgd" },
  quantization: { scale: 4096, clipBound: 1 },
  circuit: CIRCUIT,
};
const BIN = BINS.trainer;

let tmp: string;
let chain: LocalChain;
let provider: JsonRpcProvider;
let market: string;
let verifier: string;
let store: HeliaBlobStore;
let ipfsDir: string;
let projectA: DemoProject;
const stake = 10n ** 15n;
const procs = new ChildRegistry();

const signer = (i: number): Wallet => new Wallet(HARDHAT_KEYS[i] as string, provider);
const dataOf = (i: number): string => path.join(tmp, "mnist", `trainer-${i}`);
const reader = (): FedMarketClient => new FedMarketClient(market, provider);
const roundChain = (): RoundChain => ({ rpc: (method, params) => chain.rpc(method, params), client: reader() });

/**
 * A trainer node for Hardhat account `who` (an index of HARDHAT_KEYS) or for a private key (then
 * `data` defaults to trainer 2's partition).
 */
async function node(
  who: number | string,
  project: bigint,
  o: {
    data?: string;
    store?: BlobStore;
    onCheckpoint?: (c: Checkpoint) => void;
    chainId?: string;
    stateDir?: string;
    producer?: UpdateProducer;
  } = {},
) {
  const key = typeof who === "number" ? (HARDHAT_KEYS[who] as string) : who;
  const config = await resolveConfig(
    {
      rpcUrl: chain.url,
      market,
      project: project.toString(),
      data: o.data ?? dataOf(typeof who === "number" ? who : 2),
      pollInterval: "200",
      ipfsRetries: "1",
      ipfsTimeout: "2000",
      ...(o.chainId ? { chainId: o.chainId } : {}),
      ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    },
    {},
  );
  const logger = memoryLogger();
  const opened = await openNode(config, logger, {
    env: { FEDMARKET_PRIVATE_KEY: key },
    store: o.store ?? store,
    backend: await testBackend(),
    ...(o.onCheckpoint ? { onCheckpoint: o.onCheckpoint } : {}),
    ...(o.producer ? { producer: o.producer } : {}),
  });
  return { ...opened, logger };
}

/** A demo project on the shared market and store (the mock verifier accepts any proof). */
async function demoProject(o: Partial<DemoProjectOptions> = {}): Promise<DemoProject> {
  const { tf } = await testBackend();
  return createDemoProject({ market, verifier, owner: signer(0), aggregator: signer(1), store, tf, spec: SPEC, ...o });
}

const cliEnv = (key: string): Record<string, string> => ({
  FEDMARKET_RPC_URL: chain.url,
  FEDMARKET_MARKET: market,
  FEDMARKET_TF_BACKEND: "wasm",
  FEDMARKET_PRIVATE_KEY: key,
});

/** Runs the CLI binary to its end; resolves with exit code/signal and output. */
function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, FEDMARKET_RPC_URL: chain.url, FEDMARKET_MARKET: market, FEDMARKET_TF_BACKEND: "wasm", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function expectNodeError(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof TrainerNodeError, `expected TrainerNodeError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

interface StateFile {
  rounds: Record<string, { phase: string; txHash?: string; commitTxHash?: string; slot?: number }>;
}

const readState = async (stateDir: string): Promise<StateFile> =>
  JSON.parse(await readFile(path.join(stateDir, "state.json"), "utf8")) as StateFile;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "fedmarket-integration-"));
  await makeMnistPartitions({ outDir: path.join(tmp, "mnist"), trainers: 20, alpha: 100, seed: 1, testFraction: 0.1, minSamples: 10 });
  chain = await startLocalChain();
  provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, pollingInterval: 200, cacheTimeout: -1 });
  ({ market, verifier } = await deployMarketWithMockVerifier(signer(0), CIRCUIT.kMax, CIRCUIT.chunk));
  ipfsDir = path.join(tmp, "ipfs");
  store = await HeliaBlobStore.create({ dataDir: ipfsDir });
  // Project A waits for its aggregator until its trainers have joined (test 1). Accounts 4 and 5
  // (the bad-data and unreachable-IPFS trainers) register here; 2 and 3 join in the first test.
  projectA = await demoProject({
    submissionWindow: 86_400,
    trainerStake: stake,
    accept: false,
    trainers: [signer(4), signer(5)],
  });
});

after(async () => {
  await procs.killAll();
  await store?.close();
  provider?.destroy();
  await chain?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test("join: through the CLI and in-process, paying the stake; idempotent; then the aggregator accepts and round 0 opens with them", async () => {
  const r = await cli(["join", "--project", projectA.projectId.toString(), "--json", "--state-dir", path.join(tmp, "state-2")], {
    FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[2] as string,
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /"event":"join.done"/);
  assert.ok(!r.stdout.includes((HARDHAT_KEYS[2] as string).slice(2)), "the key is never printed");
  const n3 = await node(3, projectA.projectId);
  try {
    assert.equal((await n3.node.join(projectA.projectId)).registered, true);
    assert.equal((await n3.node.join(projectA.projectId)).registered, false);
    // before the aggregator accepts there is no round to train for
    assertOutcome(await n3.node.runRound(projectA.projectId), "waiting", "trainer 3");
  } finally {
    await n3.close();
  }
  const client = reader();
  for (const i of [2, 3]) {
    const t = await client.getTrainer(projectA.projectId, signer(i).address);
    assert.deepEqual([t.registered, t.stake], [true, stake]);
  }
  await acceptDemoProject(market, signer(1), projectA);
  const round = await client.getCurrentRound(projectA.projectId);
  assert.deepEqual([round.round, round.candidates], [0, 4], "the four registered trainers are round 0's candidates");
});

test("join: an ERC-20 stake is approved and paid", async () => {
  const art = readArtifact("test/mocks/TestTokens.sol/TestToken.json");
  const token = await new ContractFactory(art.abi as never, art.bytecode, signer(0)).deploy();
  await token.waitForDeployment();
  for (const i of [0, 1, 9]) await (await token.getFunction("mint").send(signer(i).address, 10n ** 24n)).wait();
  const project = await demoProject({ token: await token.getAddress(), trainerStake: 777n });
  const n9 = await node(9, project.projectId);
  try {
    assert.equal((await n9.node.join(project.projectId)).registered, true);
  } finally {
    await n9.close();
  }
  const t = await reader().getTrainer(project.projectId, signer(9).address);
  assert.deepEqual([t.registered, t.stake], [true, 777n]);
});

test("a trainer registered after the round opened is no candidate: it waits for the next round and commits nothing", async () => {
  const n9 = await node(9, projectA.projectId);
  try {
    assert.equal((await n9.node.join(projectA.projectId)).registered, true);
    const out = await n9.node.runRound(projectA.projectId);
    assertOutcome(out, "waiting", "trainer 9");
    assert.match(out.reason, /not drawn for round 0: 4 registered trainers for 4 slots.*1 trainer\(s\) registered after it opened/);
    assert.equal(n9.node.o.state.get(projectA.projectId, 0), undefined, "nothing trained");
  } finally {
    await n9.close();
  }
  const client = reader();
  const draw = await client.slotOf(projectA.projectId, signer(9).address);
  assert.deepEqual([draw.seedReady, draw.selected], [true, false]);
  assert.equal((await client.getTrainer(projectA.projectId, signer(9).address)).lastSubmittedRoundPlusOne, 0);
  assert.equal((await client.getCurrentRound(projectA.projectId)).commits, 0);
});

test("run: a crash between pin and commit resumes and commits exactly once; the reveal waits for the commit window to close", async () => {
  const n3 = await node(3, projectA.projectId, {
    onCheckpoint: (c) => {
      if (c === "after-pin") throw new Error("simulated crash");
    },
  });
  try {
    await assert.rejects(n3.node.runRound(projectA.projectId), /simulated crash/);
    assert.equal(n3.node.o.state.get(projectA.projectId, 0)?.phase, "pinned");
  } finally {
    await n3.close();
  }
  const client = reader();
  assert.equal((await client.getTrainer(projectA.projectId, signer(3).address)).lastSubmittedRoundPlusOne, 0);
  const resumed = await node(3, projectA.projectId);
  try {
    const out = await resumed.node.runRound(projectA.projectId);
    assertOutcome(out, "committed", "trainer 3");
    assert.equal(out.revealOpensAt, (await client.getCurrentRound(projectA.projectId)).submissionDeadline);
    assert.equal(out.entry.phase, "committed");
    const nonce = await provider.getTransactionCount(signer(3).address);
    // still in the commit window: nothing to reveal yet, nothing sent
    assertOutcome(await resumed.node.runRound(projectA.projectId), "committed", "trainer 3 (again)");
    assert.equal(await provider.getTransactionCount(signer(3).address), nonce);
  } finally {
    await resumed.close();
  }
  const round = await client.getCurrentRound(projectA.projectId);
  assert.deepEqual([round.commits, round.submissions], [1, 0], "one sealed commitment, nothing revealed");
  const events = await client.updateCommitted({ projectId: projectA.projectId, round: 0, trainer: signer(3).address }, { blockRange: 3 });
  assert.equal(events.length, 1);
});

test("bad data, unreachable IPFS, not registered, wrong network: clear errors, nothing published", async () => {
  const client = reader();
  // bad data: a corrupt IDX folder
  const bad = path.join(tmp, "bad-data");
  await mkdir(bad, { recursive: true });
  await writeFile(path.join(bad, "images-idx3-ubyte"), Buffer.from("not an idx file"));
  await writeFile(path.join(bad, "labels-idx1-ubyte"), Buffer.from([0, 0, 8, 1, 0, 0, 0, 1, 3]));
  const n4 = await node(4, projectA.projectId, { data: bad });
  try {
    await n4.node.join(projectA.projectId);
    await expectNodeError(n4.node.runRound(projectA.projectId), "bad-data", /cannot use the training data: .*images-idx3-ubyte/);
    assert.equal(n4.node.o.state.get(projectA.projectId, 0), undefined, "no state entry");
  } finally {
    await n4.close();
  }

  // IPFS unreachable: a Kubo API on a closed port
  const kubo = new KuboBlobStore({ apiUrl: `http://127.0.0.1:${await freePort()}` });
  const n5 = await node(5, projectA.projectId, { store: kubo });
  try {
    await n5.node.join(projectA.projectId);
    await expectNodeError(n5.node.runRound(projectA.projectId), "ipfs", /cannot download the model spec .*Is IPFS reachable\?/);
    assert.equal(n5.node.o.state.get(projectA.projectId, 0), undefined);
  } finally {
    await n5.close();
    await kubo.close();
  }

  // not registered
  const n6 = await node(6, projectA.projectId);
  try {
    await expectNodeError(
      n6.node.runRound(projectA.projectId),
      "not-registered",
      /is not registered in project 1: run `fedmarket-trainer join --project 1` first/,
    );
  } finally {
    await n6.close();
  }

  // wrong network
  await assert.rejects(
    node(6, projectA.projectId, { chainId: "1" }),
    /wrong network: .* is chain 31337, the configuration expects chain 1/,
  );
  assert.equal((await client.getCurrentRound(projectA.projectId)).commits, 1, "nothing else was committed");
});

test("run: a SIGKILL after sending the commit, then one after sending the reveal, each before the state write: restarts adopt both, nothing is sent twice", async () => {
  const stateDir = path.join(tmp, "state-2");
  const args = [
    "run",
    "--once",
    "--json",
    "--project",
    projectA.projectId.toString(),
    "--data",
    dataOf(2),
    "--state-dir",
    stateDir,
    "--ipfs-repo",
    ipfsDir,
    "--poll-interval",
    "200",
  ];
  const key = HARDHAT_KEYS[2] as string;
  const client = reader();
  const account = signer(2).address;
  const startBlock = await provider.getBlockNumber();

  // 1. killed right after the commit was sent
  const crashed = await cli(args, { FEDMARKET_PRIVATE_KEY: key, FEDMARKET_TEST_CRASH_AT: "commit-sent-before-state" });
  assert.equal(crashed.signal, "SIGKILL", crashed.stdout + crashed.stderr);
  assert.equal((await client.getTrainer(projectA.projectId, account)).lastSubmittedRoundPlusOne, 1, "the commit landed");
  assert.equal(
    (await readState(stateDir)).rounds[`${projectA.projectId}:0`]?.phase,
    "pinned",
    "the crash happened before the state recorded the commit",
  );
  const [commitEvent] = await client.updateCommitted({ projectId: projectA.projectId, round: 0, trainer: account });
  assert.ok(commitEvent);

  // 2. the restart adopts the commit, waits for the reveal window, reveals and is killed right after sending
  const restarted = procs.start(process.execPath, [BIN, ...args], {
    name: "fedmarket-trainer run (restart, killed after the reveal is sent)",
    env: { ...cliEnv(key), FEDMARKET_TEST_CRASH_AT: "sent-before-state" },
  });
  await restarted.waitForEvent("round.adopted", (l) => /commit .* had landed/.test(String(l.msg)));
  await restarted.waitForEvent("round.wait", (l) => /committed; the update is revealed then/.test(String(l.msg)));
  const afterAdoption = await readState(stateDir);
  assert.equal(afterAdoption.rounds[`${projectA.projectId}:0`]?.phase, "committed");
  assert.equal(afterAdoption.rounds[`${projectA.projectId}:0`]?.commitTxHash, commitEvent.transactionHash, "the landed commit is recorded");
  await passDeadline(roundChain(), projectA.projectId, "commit");
  const killed = await restarted.exited;
  assert.equal(killed.signal, "SIGKILL", restarted.transcript());
  const [revealEvent] = await client.updateRevealed({ projectId: projectA.projectId, round: 0, trainer: account });
  assert.ok(revealEvent, "the reveal landed");
  assert.equal((await readState(stateDir)).rounds[`${projectA.projectId}:0`]?.phase, "committed", "killed before recording it");
  const nonce = await provider.getTransactionCount(account);

  // 3. the second restart adopts the reveal
  const again = await cli(args, { FEDMARKET_PRIVATE_KEY: key });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /"event":"run.result".*"outcome":"(already-)?submitted"/);
  const entry = (await readState(stateDir)).rounds[`${projectA.projectId}:0`];
  assert.equal(entry?.phase, "confirmed");
  assert.equal(entry?.txHash, revealEvent.transactionHash, "the reveal found on chain is recorded");
  assert.equal(entry?.commitTxHash, commitEvent.transactionHash);
  assert.equal(await provider.getTransactionCount(account), nonce, "no second transaction");
  const calls = (await marketCalls(provider, market, account, startBlock)).map((c) => c.name).filter((n) => n !== "drawSeed");
  assert.deepEqual(calls, ["commitUpdate", "revealUpdate"], "one commit, one reveal");
  const round = await client.getCurrentRound(projectA.projectId);
  assert.deepEqual([round.commits, round.submissions], [2, 1]);
});

test("run: once the commit window closed, the committed trainer reveals exactly once", async () => {
  const n3 = await node(3, projectA.projectId);
  try {
    assertOutcome(await n3.node.runRound(projectA.projectId), "submitted", "trainer 3");
    const nonce = await provider.getTransactionCount(signer(3).address);
    assertOutcome(await n3.node.runRound(projectA.projectId), "already-submitted", "trainer 3 (again)");
    assert.equal(await provider.getTransactionCount(signer(3).address), nonce);
  } finally {
    await n3.close();
  }
  const client = reader();
  assert.equal((await client.getCurrentRound(projectA.projectId)).submissions, 2);
  const events = await client.updateRevealed({ projectId: projectA.projectId, round: 0, trainer: signer(3).address }, { blockRange: 3 });
  assert.equal(events.length, 1);
});

/** A value with bigints, as text (for assertion messages). */
const show = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

test("the revealed commitments open their sealed commitments and the pinned sealed updates (aggregator's seal secret and owner's key)", async () => {
  const client = reader();
  const chainId = (await provider.getNetwork()).chainId;
  const p = await client.getProject(projectA.projectId);
  const events = await client.updateRevealed({ projectId: projectA.projectId, round: 0 });
  assert.equal(events.length, 2);
  const commits = await client.updateCommitted({ projectId: projectA.projectId, round: 0 });
  for (const ev of events) {
    const stored = await client.getSubmission(projectA.projectId, 0, ev.slot);
    assert.equal(stored.commitment, ev.commitment);
    assert.equal(stored.trainer, ev.trainer);
    const commit = commits.find((c) => c.trainer === ev.trainer);
    assert.equal(commit?.slot, ev.slot, "revealed in the slot it committed in");
    assert.equal(commit.sealed, sealedCommitment(chainId, client.address, projectA.projectId, 0, ev.trainer, ev.commitment, ev.cid));
    const blob = await store.get(ev.cid);
    const context: OpenUpdateContext = {
      chainId,
      market: client.address,
      projectId: projectA.projectId,
      round: 0,
      trainer: ev.trainer,
      config: CIRCUIT,
      modelSize: 784 * 8 + 8 + 8 * 10 + 10,
      commitment: ev.commitment,
      sealKey: p.aggregatorSealKey,
    };
    // The codec checks the blob against the revealed commitment, then decrypts it.
    const byAggregator = openUpdate(blob, { kind: "aggregator", secret: projectA.aggregatorKey.secret }, context);
    assert.ok(byAggregator.ok, show(byAggregator));
    const byOwner = openUpdate(blob, { kind: "owner", secretKey: projectA.ownerKey.secretKey }, context);
    assert.ok(byOwner.ok, show(byOwner));
    assert.deepEqual(byOwner.values, byAggregator.values, "the same shared key, the same values");
    // The owner's wrap is bound to the submission: in another round's context it does not open.
    const elsewhere = openUpdate(blob, { kind: "owner", secretKey: projectA.ownerKey.secretKey }, { ...context, round: 1 });
    assert.equal(elsewhere.ok ? "ok" : elsewhere.reason, "undecryptable");
    assert.ok(
      byAggregator.values.some((v) => v !== 0n),
      "the update is not empty",
    );
    // the sealed values are the trainer's saved delta, quantized
    const i = HARDHAT_KEYS.findIndex((k) => new Wallet(k).address === ev.trainer);
    const stateDir = i === 2 ? path.join(tmp, "state-2") : path.join(dataOf(i), ".fedmarket");
    const delta = decodeWeights(await readFile(path.join(stateDir, "rounds", `p${projectA.projectId}-r0`, "delta.fmw")));
    assert.deepEqual(byAggregator.values, quantizeDelta(delta, projectA.spec.quantization, CIRCUIT.updateBits));
  }
});

test("duplicate: a copier finds nothing to copy before the reveal; a copied sealed commitment cannot be revealed (RevealMismatch)", async () => {
  const VICTIM = 2;
  const COPIER = 3;
  const project = await demoProject({ trainers: [signer(VICTIM), signer(COPIER)] });
  const pid = project.projectId;
  const client = reader();
  const victim = await node(VICTIM, pid, { stateDir: path.join(tmp, "dup-victim") });
  const copier = await node(COPIER, pid, { stateDir: path.join(tmp, "dup-copier"), producer: new DuplicateProducer() });
  try {
    assertOutcome(await victim.node.runRound(pid), "committed", "victim");
    // Through the node: only revealed updates are public, and none is while commitments are taken.
    await assert.rejects(copier.node.runRound(pid), /nothing to copy: no other trainer's update is revealed in this round/);
    assert.equal((await client.getTrainer(pid, signer(COPIER).address)).lastSubmittedRoundPlusOne, 0, "the copier sent nothing");
    assert.notEqual(copier.node.o.state.get(pid, 0)?.phase, "committed");

    // At the chain level: the copier commits the victim's sealed commitment (public in UpdateCommitted)...
    const [sealedByVictim] = await client.updateCommitted({ projectId: pid, round: 0, trainer: signer(VICTIM).address });
    assert.ok(sealedByVictim);
    const copierClient = new FedMarketClient(market, signer(COPIER));
    await copierClient.wait(await copierClient.commitUpdate(pid, 0, sealedByVictim.sealed));
    await passDeadline(roundChain(), pid, "commit");
    assertOutcome(await victim.node.runRound(pid), "submitted", "victim");
    // ...but once the victim revealed, its opening does not open the copy: the seal binds its sender.
    const [revealed] = await client.updateRevealed({ projectId: pid, round: 0, trainer: signer(VICTIM).address });
    assert.ok(revealed);
    await assert.rejects(copierClient.revealUpdate(pid, 0, revealed.commitment, revealed.cid), (err: unknown) => {
      assert.ok(err instanceof MarketRevertError, String(err));
      assert.equal(err.errorName, "RevealMismatch");
      return true;
    });
    // and the copier's node never reveals a seal it has no opening for
    const out = await copier.node.runRound(pid);
    assertOutcome(out, "waiting", "copier");
    assert.match(out.reason, /committed on chain without a local opening/);
  } finally {
    await victim.close();
    await copier.close();
  }
  const round = await client.getCurrentRound(pid);
  assert.deepEqual([round.commits, round.submissions], [2, 1], "the copy is locked in its slot but never revealed");
});

test("run: trains with the open round's on-chain hyper-parameters, not the spec's", async () => {
  // The spec says lr 0.1, 1 epoch, batch 32; the chain says lr 0.02, 2 epochs, batch 64.
  const onChain = { learningRateMicros: 20_000, localEpochs: 2, batchSize: 64 };
  const p = await demoProject({
    submissionWindow: 86_400,
    hyperParams: { initialHyperParams: onChain, minHyperParams: onChain, maxHyperParams: onChain },
    trainers: [signer(9)],
  });
  assert.deepEqual((await reader().getCurrentRound(p.projectId)).hyperParams, onChain);
  const n9 = await node(9, p.projectId);
  try {
    assertOutcome(await n9.node.runRound(p.projectId), "committed", "trainer 9");
  } finally {
    await n9.close();
  }
  const used = n9.logger.records.find((r) => r.event === "round.hyperparams");
  assert.ok(used, "the node logs the hyper-parameters it trains with");
  assert.deepEqual([used.fields.learningRate, used.fields.epochs, used.fields.batchSize], [0.02, 2, 64]);
  assert.match(used.msg, /lr 0\.02 \(20000e-6\), 2 epochs, batch 64/);
  const trained = n9.logger.records.find((r) => r.event === "round.trained");
  assert.match(trained?.msg ?? "", /2 epoch\(s\)/);
});

test("a diverging model (NaN) never leaves the node", async () => {
  // The chain bounds the learning rate (uint32 millionths), so the divergence comes from the data:
  // finite features near float32's maximum overflow the first layer to Inf, and the loss to NaN.
  const hugeCsv = path.join(tmp, "huge-features.csv");
  const header = ["label", ...Array.from({ length: 784 }, (_, i) => `f${i}`)].join(",");
  const rows = Array.from({ length: 20 }, (_, i) => [String(i % 10), ...new Array<string>(784).fill("3e38")].join(","));
  await writeFile(hugeCsv, `${header}\n${rows.join("\n")}\n`);
  const p = await demoProject({ submissionWindow: 86_400, trainers: [signer(7)] });
  const n7 = await node(7, p.projectId, { data: hugeCsv });
  try {
    await expectNodeError(n7.node.runRound(p.projectId), "non-finite", /refusing to produce an update: .*nothing was published/);
    assert.equal(n7.node.o.state.get(p.projectId, 0), undefined);
    assert.ok(!existsSync(path.join(n7.node.o.state.roundDir(p.projectId, 0), "update.fmsu")));
  } finally {
    await n7.close();
  }
  const round = await reader().getCurrentRound(p.projectId);
  assert.deepEqual([round.commits, round.submissions], [0, 0]);
});

test("a closed commit window, and a reveal window that closed before the reveal: clear errors, the state says what happened", async () => {
  const client = reader();
  // The commit window closed before the trainer ran: nothing committed.
  const late = await demoProject({ submissionWindow: 60, trainers: [signer(8)] });
  const n8 = await node(8, late.projectId);
  try {
    await passDeadline(roundChain(), late.projectId, "commit");
    await expectNodeError(
      n8.node.runRound(late.projectId),
      "window-closed",
      /commit window of round 0 of project \d+ closed at .*nothing was committed\. Wait for the next round/,
    );
    assert.equal(n8.node.o.state.get(late.projectId, 0), undefined);
  } finally {
    await n8.close();
  }
  assert.equal((await client.getCurrentRound(late.projectId)).commits, 0);

  // Committed in time, but the node ran again only after the reveal window: its commitment earns nothing.
  const slow = await demoProject({ submissionWindow: 600, revealWindow: 60, trainers: [signer(8)] });
  const again = await node(8, slow.projectId);
  try {
    assertOutcome(await again.node.runRound(slow.projectId), "committed", "trainer 8");
    await passDeadline(roundChain(), slow.projectId, "commit");
    await passDeadline(roundChain(), slow.projectId, "reveal");
    await expectNodeError(
      again.node.runRound(slow.projectId),
      "window-closed",
      /reveal window of round 0 of project \d+ closed at .* before this account revealed; its commitment earns nothing/,
    );
    assert.equal(again.node.o.state.get(slow.projectId, 0)?.phase, "missed");
  } finally {
    await again.close();
  }
  const round = await client.getCurrentRound(slow.projectId);
  assert.deepEqual([round.commits, round.submissions], [1, 0]);
});

/**
 * SPEC's network with its hidden layer frozen: the backbone (784 -> 8 relu, 6,280 values) comes from
 * the spec's `frozenWeights`, only the head (8 -> 10 softmax) is trained, so D = 90 (one chunk).
 */
const FROZEN_SPEC = {
  ...SPEC,
  name: "mnist-frozen-784-8-10",
  layers: [{ ...SPEC.layers[0], trainable: false }, SPEC.layers[1]],
};
const FROZEN_PARAMETERS = 784 * 8 + 8;
const HEAD_D = 8 * 10 + 10;

/** `length` fixed pseudo-random values in [-scale, scale) (an LCG: the same values on every run). */
function fixedRandom(length: number, seed: number, scale: number): Float32Array {
  let x = seed >>> 0;
  return Float32Array.from({ length }, () => {
    x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0;
    return (x / 2 ** 32 - 0.5) * 2 * scale;
  });
}

test("frozen backbone: the spec names the pinned frozen weights, the node downloads them and commits and reveals an update of the trainable head only", async () => {
  const TRAINER = 7;
  const backbone = fixedRandom(FROZEN_PARAMETERS, 7, 0.08);
  const head = fixedRandom(HEAD_D, 11, 0.3);
  const project = await demoProject({ spec: FROZEN_SPEC, frozenWeights: backbone, initialWeights: head, trainers: [signer(TRAINER)] });
  const pid = project.projectId;
  const client = reader();

  // The pinned spec names the frozen weights by CID, and that CID holds them.
  const frozenCid = await computeCid(encodeWeights(backbone));
  const pinnedSpec = JSON.parse(new TextDecoder().decode(await store.get(project.specCid))) as { frozenWeights?: string };
  assert.equal(pinnedSpec.frozenWeights, frozenCid);
  assert.equal(project.spec.frozenWeights, frozenCid);
  assert.deepEqual(decodeWeights(await store.get(frozenCid)), backbone);
  const p = await client.getProject(pid);
  assert.equal(p.params.modelSize, HEAD_D, "D on chain counts the trainable head only");
  assert.deepEqual(decodeWeights(await store.get(p.modelCid)), head, "the global model is the given initial head");

  const stateDir = path.join(tmp, "frozen-trainer");
  const n = await node(TRAINER, pid, { stateDir });
  try {
    assertOutcome(await n.node.runRound(pid), "committed", "frozen-backbone trainer");
    const downloaded = n.logger.records.find((r) => r.event === "round.downloaded");
    assert.ok(downloaded, "the node logs what it downloaded");
    assert.deepEqual([downloaded.fields.parameters, downloaded.fields.frozenParameters], [HEAD_D, FROZEN_PARAMETERS]);
    assert.match(downloaded.msg, /\(90 trainable parameters, 6280 frozen\) downloaded and verified/);
    await passDeadline(roundChain(), pid, "commit");
    assertOutcome(await n.node.runRound(pid), "submitted", "frozen-backbone trainer");
    assert.equal(n.node.o.state.get(pid, 0)?.phase, "confirmed");
  } finally {
    await n.close();
  }

  const round = await client.getCurrentRound(pid);
  assert.deepEqual([round.commits, round.submissions], [1, 1]);
  const [ev] = await client.updateRevealed({ projectId: pid, round: 0 });
  assert.ok(ev, "the update was revealed");
  const chainId = (await provider.getNetwork()).chainId;
  const [commit] = await client.updateCommitted({ projectId: pid, round: 0 });
  assert.equal(commit?.sealed, sealedCommitment(chainId, client.address, pid, 0, ev.trainer, ev.commitment, ev.cid));
  const context: OpenUpdateContext = {
    chainId,
    market: client.address,
    projectId: pid,
    round: 0,
    trainer: ev.trainer,
    config: CIRCUIT,
    modelSize: HEAD_D,
    commitment: ev.commitment,
    sealKey: p.aggregatorSealKey,
  };
  const opened = openUpdate(await store.get(ev.cid), { kind: "aggregator", secret: project.aggregatorKey.secret }, context);
  assert.ok(opened.ok, show(opened));
  assert.equal(opened.values.length, HEAD_D, "the update covers the trainable parameters only");
  assert.ok(
    opened.values.some((v) => v !== 0n),
    "the head was trained",
  );
  const delta = decodeWeights(await readFile(path.join(stateDir, "rounds", `p${pid}-r0`, "delta.fmw")));
  assert.equal(delta.length, HEAD_D);
  assert.deepEqual(opened.values, quantizeDelta(delta, project.spec.quantization, CIRCUIT.updateBits));
  // Opened with the full network's size (backbone + head), it does not open.
  const whole = openUpdate(
    await store.get(ev.cid),
    { kind: "aggregator", secret: project.aggregatorKey.secret },
    {
      ...context,
      modelSize: FROZEN_PARAMETERS + HEAD_D,
    },
  );
  assert.equal(whole.ok, false);
});

test("frozen backbone: a spec naming frozen weights that were never pinned fails the round with a clear error, nothing published", async () => {
  const TRAINER = 8;
  // A valid CID of a weights file of the right length, but the file was never put into the store.
  const missingCid = await computeCid(encodeWeights(fixedRandom(FROZEN_PARAMETERS, 99, 0.08)));
  await assert.rejects(store.get(missingCid, { timeoutMs: 1000, retries: 0 }), "the frozen weights are not in the store");
  const project = await demoProject({
    spec: { ...FROZEN_SPEC, frozenWeights: missingCid },
    initialWeights: fixedRandom(HEAD_D, 11, 0.3),
    trainers: [signer(TRAINER)],
  });
  const pid = project.projectId;
  assert.equal(project.spec.frozenWeights, missingCid);
  const n = await node(TRAINER, pid, { stateDir: path.join(tmp, "frozen-missing") });
  try {
    await expectNodeError(
      n.node.runRound(pid),
      "ipfs",
      new RegExp(`cannot download the frozen layers' weights ${missingCid} .*that the blob is pinned`),
    );
    assert.equal(n.node.o.state.get(pid, 0), undefined, "no state entry");
    assert.ok(!existsSync(path.join(n.node.o.state.roundDir(pid, 0), "update.fmsu")), "no sealed update written");
    assert.equal(
      n.logger.records.find((r) => r.event === "round.downloaded"),
      undefined,
      "the round never got past the download",
    );
  } finally {
    await n.close();
  }
  const client = reader();
  const round = await client.getCurrentRound(pid);
  assert.deepEqual([round.commits, round.submissions], [0, 0]);
  assert.equal((await client.getTrainer(pid, signer(TRAINER).address)).lastSubmittedRoundPlusOne, 0, "the trainer sent nothing");
});

class SimulatedCrash extends Error {
  constructor(at: Checkpoint) {
    super(`simulated crash at ${at}`);
    this.name = "SimulatedCrash";
  }
}

/** Drives `n` through a round (commit, past the commit deadline, reveal) until a call throws. */
async function runUntilCrash(n: TrainerNode, projectId: bigint): Promise<never> {
  assertOutcome(await n.runRound(projectId), "committed", "before the crash");
  await passDeadline(roundChain(), projectId, "commit");
  await n.runRound(projectId);
  assert.fail("the round ended without reaching the checkpoint");
}

test("a crash at every checkpoint of a round, then a restart on the same state folder: one commit, one reveal, the state confirmed", async () => {
  assert.deepEqual(
    [...CHECKPOINTS],
    [
      "after-train",
      "after-seal",
      "after-pin",
      "commit-sent-before-state",
      "after-commit",
      "sent-before-state",
      "after-send",
      "after-confirm",
    ],
    "every checkpoint of the node is covered below",
  );
  const client = reader();
  for (const at of CHECKPOINTS) {
    // a fresh account per checkpoint, the only trainer of its own project
    const wallet = Wallet.createRandom(provider);
    await chain.rpc("hardhat_setBalance", [wallet.address, toBeHex(parseEther("10"))]);
    const p = await demoProject({ trainers: [wallet] });
    const stateDir = path.join(tmp, "checkpoints", at);
    const startBlock = await provider.getBlockNumber();

    const crashing = await node(wallet.privateKey, p.projectId, {
      stateDir,
      onCheckpoint: (c) => {
        if (c === at) throw new SimulatedCrash(c);
      },
    });
    try {
      await assert.rejects(runUntilCrash(crashing.node, p.projectId), SimulatedCrash, at);
    } finally {
      await crashing.close();
    }

    const restarted = await node(wallet.privateKey, p.projectId, { stateDir });
    try {
      let out = await restarted.node.runRound(p.projectId);
      if (out.kind === "committed") {
        await passDeadline(roundChain(), p.projectId, "commit");
        out = await restarted.node.runRound(p.projectId);
      }
      assert.ok(out.kind === "submitted" || out.kind === "already-submitted", `${at}: ${JSON.stringify(out)}`);
      assertOutcome(await restarted.node.runRound(p.projectId), "already-submitted", `${at}: a further call`);
    } finally {
      await restarted.close();
    }

    const calls = (await marketCalls(provider, market, wallet.address, startBlock)).filter((c) => c.name !== "drawSeed");
    assert.deepEqual(
      calls.map((c) => c.name),
      ["commitUpdate", "revealUpdate"],
      `${at}: one commit, one reveal`,
    );
    const entry = (await readState(stateDir)).rounds[`${p.projectId}:0`];
    assert.equal(entry?.phase, "confirmed", at);
    assert.deepEqual([entry.commitTxHash, entry.txHash], [calls[0]?.hash, calls[1]?.hash], `${at}: the state records both transactions`);
    const round = await client.getCurrentRound(p.projectId);
    assert.deepEqual([round.commits, round.submissions], [1, 1], at);
  }
});
