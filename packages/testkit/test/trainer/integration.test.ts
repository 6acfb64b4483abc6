/**
 * End to end on a real JSON-RPC chain: `hardhat node` (child process on a free port, the repo's
 * Hardhat config), FedMarket + MockRoundVerifier from the Hardhat artifacts (`npx hardhat build`),
 * a tiny MLP (784-8-10) on real MNIST partitions (~450 samples per trainer), an embedded Helia
 * store on disk shared by owner and trainers. Trainers `join` and `run` (through the CLI binary and
 * in-process); the commitments on chain must open to the pinned, decrypted payloads. Then the
 * failure paths: crashes (a real SIGKILL between sending the transaction and writing the state,
 * and a crash between pinning and submitting), bad data, an unreachable IPFS node, a trainer
 * that did not join, a diverging model (NaN), a wrong network and an expired window.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ContractFactory, JsonRpcProvider, Wallet } from "ethers";
import { commitUpdate } from "@fedmarket/core";
import {
  decodeUpdatePayload,
  decodeWeights,
  FedMarketClient,
  HeliaBlobStore,
  KuboBlobStore,
  openEnvelope,
  updateAssociatedData,
  type BlobStore,
  memoryLogger,
} from "@fedmarket/protocol";
import { resolveConfig, openNode, TrainerNodeError, type Checkpoint, quantizeDelta } from "@fedmarket/trainer";
import { makeMnistPartitions } from "../../src/data/mnist-partitions.ts";
import {
  createDemoProject,
  deployMarketWithMockVerifier,
  HARDHAT_KEYS,
  readArtifact,
  type DemoProject,
} from "../../src/chain/demo-project.ts";
import { startLocalChain, freePort, type LocalChain } from "../../src/chain/local-chain.ts";
import { BIN as BINS, testBackend } from "../helpers.ts";

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

const signer = (i: number): Wallet => new Wallet(HARDHAT_KEYS[i] as string, provider);
const dataOf = (i: number): string => path.join(tmp, "mnist", `trainer-${i}`);

async function node(
  i: number,
  project: bigint,
  o: { data?: string; store?: BlobStore; onCheckpoint?: (c: Checkpoint) => void; chainId?: string; stateDir?: string } = {},
) {
  const config = await resolveConfig(
    {
      rpcUrl: chain.url,
      market,
      project: project.toString(),
      data: o.data ?? dataOf(i),
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
    env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[i] },
    store: o.store ?? store,
    backend: await testBackend(),
    ...(o.onCheckpoint ? { onCheckpoint: o.onCheckpoint } : {}),
  });
  return { ...opened, logger };
}

/** Runs the CLI binary; resolves with exit code/signal and output. */
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

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "fedmarket-integration-"));
  await makeMnistPartitions({ outDir: path.join(tmp, "mnist"), trainers: 20, alpha: 100, seed: 1, testFraction: 0.1, minSamples: 10 });
  chain = await startLocalChain();
  provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, pollingInterval: 200, cacheTimeout: -1 });
  ({ market, verifier } = await deployMarketWithMockVerifier(signer(0), CIRCUIT.kMax, CIRCUIT.chunk));
  ipfsDir = path.join(tmp, "ipfs");
  store = await HeliaBlobStore.create({ dataDir: ipfsDir });
  const { tf } = await testBackend();
  projectA = await createDemoProject({
    market,
    verifier,
    owner: signer(0),
    aggregator: signer(1),
    store,
    tf,
    spec: SPEC,
    submissionWindow: 86_400,
    trainerStake: stake,
  });
});

after(async () => {
  await store?.close();
  provider?.destroy();
  await chain?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test("join: through the CLI and in-process, paying the stake; idempotent", async () => {
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
  } finally {
    await n3.close();
  }
  const client = new FedMarketClient(market, provider);
  for (const i of [2, 3]) {
    const t = await client.getTrainer(projectA.projectId, signer(i).address);
    assert.deepEqual([t.registered, t.stake], [true, stake]);
  }
});

test("join: an ERC-20 stake is approved and paid", async () => {
  const art = readArtifact("test/mocks/TestTokens.sol/TestToken.json");
  const token = await new ContractFactory(art.abi as never, art.bytecode, signer(0)).deploy();
  await token.waitForDeployment();
  for (const i of [0, 1, 9]) await (await token.getFunction("mint").send(signer(i).address, 10n ** 24n)).wait();
  const { tf } = await testBackend();
  const project = await createDemoProject({
    market,
    verifier,
    owner: signer(0),
    aggregator: signer(1),
    store,
    tf,
    spec: SPEC,
    token: await token.getAddress(),
    trainerStake: 777n,
  });
  const n9 = await node(9, project.projectId);
  try {
    assert.equal((await n9.node.join(project.projectId)).registered, true);
  } finally {
    await n9.close();
  }
  const t = await new FedMarketClient(market, provider).getTrainer(project.projectId, signer(9).address);
  assert.deepEqual([t.registered, t.stake], [true, 777n]);
});

test("run: a SIGKILL after sending, before the state write, resumes without a second submission", async () => {
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
  ];
  const env = { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[2] as string };
  const crashed = await cli(args, { ...env, FEDMARKET_TEST_CRASH_AT: "sent-before-state" });
  assert.equal(crashed.signal, "SIGKILL", crashed.stdout + crashed.stderr);
  const client = new FedMarketClient(market, provider);
  assert.equal((await client.getTrainer(projectA.projectId, signer(2).address)).lastSubmittedRoundPlusOne, 1, "the transaction landed");
  const before = JSON.parse(await readFile(path.join(stateDir, "state.json"), "utf8")) as {
    rounds: Record<string, { phase: string; txHash?: string }>;
  };
  assert.equal(before.rounds[`${projectA.projectId}:0`]?.phase, "pinned", "the crash happened before the state recorded the transaction");
  const nonce = await provider.getTransactionCount(signer(2).address);

  const again = await cli(args, env);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /"outcome":"already-submitted"/);
  const state = JSON.parse(await readFile(path.join(stateDir, "state.json"), "utf8")) as {
    rounds: Record<string, { phase: string; txHash?: string; slot?: number }>;
  };
  const entry = state.rounds[`${projectA.projectId}:0`];
  assert.equal(entry?.phase, "confirmed");
  assert.match(entry?.txHash ?? "", /^0x[0-9a-f]{64}$/, "the submission found on chain is recorded");
  assert.equal(await provider.getTransactionCount(signer(2).address), nonce, "no second transaction");
  assert.equal((await client.getCurrentRound(projectA.projectId)).submissions, 1);
});

test("run: a crash between pin and submit resumes and submits exactly once", async () => {
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
  const client = new FedMarketClient(market, provider);
  assert.equal((await client.getTrainer(projectA.projectId, signer(3).address)).lastSubmittedRoundPlusOne, 0);
  const resumed = await node(3, projectA.projectId);
  try {
    const out = await resumed.node.runRound(projectA.projectId);
    assert.equal(out.kind, "submitted");
    const nonce = await provider.getTransactionCount(signer(3).address);
    const again = await resumed.node.runRound(projectA.projectId);
    assert.equal(again.kind, "already-submitted");
    assert.equal(await provider.getTransactionCount(signer(3).address), nonce);
  } finally {
    await resumed.close();
  }
  assert.equal((await client.getCurrentRound(projectA.projectId)).submissions, 2);
  const events = await client.updateSubmitted({ projectId: projectA.projectId, round: 0, trainer: signer(3).address }, { blockRange: 3 });
  assert.equal(events.length, 1);
});

test("the commitments on chain open to the pinned payloads (aggregator's and owner's keys)", async () => {
  const client = new FedMarketClient(market, provider);
  const chainId = (await provider.getNetwork()).chainId;
  const events = await client.updateSubmitted({ projectId: projectA.projectId, round: 0 });
  assert.equal(events.length, 2);
  for (const ev of events) {
    const stored = await client.getSubmission(projectA.projectId, 0, ev.slot);
    assert.equal(stored.commitment, ev.commitment);
    assert.equal(stored.trainer, ev.trainer);
    const envelope = await store.get(ev.cid);
    const associatedData = updateAssociatedData({
      chainId,
      market: client.address,
      projectId: projectA.projectId,
      round: 0,
      trainer: ev.trainer,
    });
    const plain = openEnvelope(envelope, projectA.aggregatorKey.secretKey, { associatedData });
    assert.deepEqual(openEnvelope(envelope, projectA.ownerKey.secretKey, { associatedData }), plain);
    assert.throws(() =>
      openEnvelope(envelope, projectA.aggregatorKey.secretKey, {
        associatedData: updateAssociatedData({
          chainId,
          market: client.address,
          projectId: projectA.projectId,
          round: 1,
          trainer: ev.trainer,
        }),
      }),
    );
    const payload = decodeUpdatePayload(plain, {
      projectId: projectA.projectId,
      round: 0,
      config: CIRCUIT,
      count: 784 * 8 + 8 + 8 * 10 + 10,
    });
    assert.equal(commitUpdate(payload.values, payload.salt, CIRCUIT.chunk, CIRCUIT.updateBits), ev.commitment);
    assert.ok(
      payload.values.some((v) => v !== 0n),
      "the update is not empty",
    );
    // the payload is the trainer's saved delta, quantized
    const i = HARDHAT_KEYS.findIndex((k) => new Wallet(k).address === ev.trainer);
    const stateDir = i === 2 ? path.join(tmp, "state-2") : path.join(dataOf(i), ".fedmarket");
    const delta = decodeWeights(await readFile(path.join(stateDir, "rounds", `p${projectA.projectId}-r0`, "delta.fmw")));
    assert.deepEqual(payload.values, quantizeDelta(delta, projectA.spec.quantization, CIRCUIT.updateBits));
  }
});

test("bad data, unreachable IPFS, not registered, wrong network: clear errors, nothing published", async () => {
  const client = new FedMarketClient(market, provider);
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
  assert.equal((await client.getCurrentRound(projectA.projectId)).submissions, 2, "nothing else was submitted");
});

test("run: trains with the open round's on-chain hyper-parameters, not the spec's", async () => {
  const { tf } = await testBackend();
  // The spec says lr 0.1, 1 epoch, batch 32; the chain says lr 0.02, 2 epochs, batch 64.
  const onChain = { learningRateMicros: 20_000, localEpochs: 2, batchSize: 64 };
  const p = await createDemoProject({
    market,
    verifier,
    owner: signer(0),
    aggregator: signer(1),
    store,
    tf,
    spec: SPEC,
    submissionWindow: 86_400,
    hyperParams: { initialHyperParams: onChain, minHyperParams: onChain, maxHyperParams: onChain },
  });
  assert.deepEqual((await new FedMarketClient(market, provider).getCurrentRound(p.projectId)).hyperParams, onChain);
  const n9 = await node(9, p.projectId);
  try {
    await n9.node.join(p.projectId);
    assert.equal((await n9.node.runRound(p.projectId)).kind, "submitted");
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
  const { tf } = await testBackend();
  // The chain bounds the learning rate (uint32 millionths), so the divergence comes from the data:
  // finite features near float32's maximum overflow the first layer to Inf, and the loss to NaN.
  const hugeCsv = path.join(tmp, "huge-features.csv");
  const header = ["label", ...Array.from({ length: 784 }, (_, i) => `f${i}`)].join(",");
  const rows = Array.from({ length: 20 }, (_, i) => [String(i % 10), ...new Array<string>(784).fill("3e38")].join(","));
  await writeFile(hugeCsv, `${header}\n${rows.join("\n")}\n`);
  const p = await createDemoProject({
    market,
    verifier,
    owner: signer(0),
    aggregator: signer(1),
    store,
    tf,
    spec: SPEC,
    submissionWindow: 86_400,
  });
  const n7 = await node(7, p.projectId, { data: hugeCsv });
  try {
    await n7.node.join(p.projectId);
    await expectNodeError(n7.node.runRound(p.projectId), "non-finite", /refusing to produce an update: .*nothing was published/);
    assert.equal(n7.node.o.state.get(p.projectId, 0), undefined);
    assert.ok(!existsSync(path.join(n7.node.o.state.roundDir(p.projectId, 0), "update.fmev")));
  } finally {
    await n7.close();
  }
  assert.equal((await new FedMarketClient(market, provider).getCurrentRound(p.projectId)).submissions, 0);
});

test("an expired submission window: a clear error, the state says nothing was submitted", async () => {
  const { tf } = await testBackend();
  const p = await createDemoProject({
    market,
    verifier,
    owner: signer(0),
    aggregator: signer(1),
    store,
    tf,
    spec: SPEC,
    submissionWindow: 60,
  });
  const n8 = await node(8, p.projectId);
  try {
    await n8.node.join(p.projectId);
    await chain.rpc("evm_increaseTime", [120]);
    await chain.rpc("evm_mine", []);
    await expectNodeError(
      n8.node.runRound(p.projectId),
      "window-closed",
      /submission window of round 0 of project \d+ closed at .*Wait for the next round/,
    );
    assert.equal(n8.node.o.state.get(p.projectId, 0), undefined);
  } finally {
    await n8.close();
  }
  assert.equal((await new FedMarketClient(market, provider).getCurrentRound(p.projectId)).submissions, 0);
});
