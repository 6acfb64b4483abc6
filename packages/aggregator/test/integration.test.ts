/**
 * End to end with real Groth16 proofs on a real JSON-RPC chain: `hardhat node` (child process on a
 * free port), FedMarket + the generated K4/C16 verifiers + the Groth16RoundVerifier adapter (from
 * the Hardhat artifacts: `npx hardhat build`), an embedded Helia store shared by everyone, a
 * logistic model on 12 features and 4 labels (D = 52: four chunks, the last one padded), three
 * honest trainers (the trainer node library, training with TF.js on CSV data) and one attacker
 * (a scaled, sign-flipped copy of an honest update, sealed with the protocol helpers).
 *
 * Round 0: the aggregator CLI is killed (SIGKILL) after its first proof; the restarted node reuses
 * what was saved and finalizes; the attacker is an outlier and earns nothing, honest trainers are
 * paid by proven score, and everything matches an independent reference computation.
 * Round 1: the attacker's update is not pinned (missing): it is excluded, the round still
 * finalizes. The CLI is killed right after sending finalizeRound; the restart adopts the
 * finalization from the chain without a second transaction.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ContractFactory, JsonRpcProvider, Wallet } from "ethers";
import { commitUpdate, randomSalt, simulateRound, SlotStatus, type RoundResult, type RoundSlot } from "@fedmarket/core";
import {
  computeCid, decodeUpdatePayload, decodeWeights, encodeUpdatePayload, ETH_TOKEN, FedMarketClient, globalModelCommitment,
  HeliaBlobStore, openEnvelope, quantizeModel, sealEnvelope, updateAssociatedData, bytes32ToBytes,
} from "@fedmarket/protocol";
import { selectBackend, type BackendInfo } from "@fedmarket/trainer";
import { startLocalChain, type LocalChain } from "../../trainer/src/tools/local-chain.ts";
import { createDemoProject, HARDHAT_KEYS, readArtifact, type DemoProject } from "../../trainer/src/tools/demo-project.ts";
import { resolveConfig } from "../../trainer/src/node/config.ts";
import { openNode } from "../../trainer/src/node/setup.ts";
import { memoryLogger } from "@fedmarket/protocol";
const trainerLogger = memoryLogger;
import { openAggregator } from "../src/setup.ts";
import { roundKeccak } from "../src/chain.ts";
import { LockError } from "../src/lock.ts";
import type { DoneFile } from "../src/aggregator-node.ts";

const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(PACKAGE_DIR, "bin", "fedmarket-aggregator.js");
const CIRCUIT = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 };
const FEATURES = 12;
const LABELS = ["a", "b", "c", "d"];
const D = FEATURES * LABELS.length + LABELS.length; // 52
const SPEC = {
  format: "fedmarket-model-spec/1",
  name: "logistic-12-4",
  inputShape: [FEATURES],
  labels: LABELS,
  layers: [{ type: "dense", units: LABELS.length, activation: "softmax" }],
  training: { epochs: 2, batchSize: 16, learningRate: 0.5, optimizer: "sgd" },
  quantization: { scale: 4096, clipBound: 1 },
  circuit: CIRCUIT,
};
const WINDOW = 3600;
const HONEST = [2, 3, 4];
const ATTACKER = 5;

let tmp: string;
let chain: LocalChain;
let provider: JsonRpcProvider;
let market: string;
let verifier: string;
let store: HeliaBlobStore;
let ipfsDir: string;
let project: DemoProject;
let backend: BackendInfo;
const aggData = (): string => path.join(tmp, "aggregator");
const signer = (i: number): Wallet => new Wallet(HARDHAT_KEYS[i] as string, provider);
const times: Record<string, unknown> = {};

/** Deterministic synthetic data: 4 Gaussian-ish blobs in 12 dimensions. */
function csv(seed: number, n: number): string {
  let s = seed;
  const rnd = (): number => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  const rows = [[...Array.from({ length: FEATURES }, (_, i) => `f${i}`), "label"].join(",")];
  for (let i = 0; i < n; i++) {
    const label = i % LABELS.length;
    const x = Array.from({ length: FEATURES }, (_, j) => ((j % LABELS.length === label ? 1.5 : 0) + (rnd() - 0.5)).toFixed(4));
    rows.push([...x, LABELS[label] as string].join(","));
  }
  return `${rows.join("\n")}\n`;
}

function deployFrom(relative: string, args: unknown[]): Promise<string> {
  const a = readArtifact(relative);
  return (async () => {
    const c = await new ContractFactory(a.abi as never, a.bytecode, signer(0)).deploy(...args);
    await c.waitForDeployment();
    return c.getAddress();
  })();
}

async function trainer(i: number) {
  const config = await resolveConfig({
    rpcUrl: chain.url, market, project: project.projectId.toString(), data: path.join(tmp, "data", `trainer-${i}.csv`),
    stateDir: path.join(tmp, "trainer-state", `t${i}`), pollInterval: "200", ipfsRetries: "1", ipfsTimeout: "2000", seed: String(i),
  }, {});
  return openNode(config, trainerLogger(), { env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[i] }, store, backend });
}

async function honestRound(): Promise<void> {
  for (const i of HONEST) {
    const t = await trainer(i);
    try {
      await t.node.join(project.projectId);
      const out = await t.node.runRound(project.projectId);
      assert.equal(out.kind, "submitted", `trainer ${i}: ${JSON.stringify(out)}`);
    } finally { await t.close(); }
  }
}

/** The attacker submits -10x trainer 2's update (clamped to B bits); `missing`: never pinned. */
async function attack(round: number, missing: boolean): Promise<void> {
  const client = new FedMarketClient(market, signer(ATTACKER));
  const chainId = (await provider.getNetwork()).chainId;
  if (!(await client.getTrainer(project.projectId, signer(ATTACKER).address)).registered) await (await client.registerTrainer(project.projectId)).wait();
  const [ev] = await client.updateSubmitted({ projectId: project.projectId, round, trainer: signer(2).address });
  assert.ok(ev);
  const plain = openEnvelope(await store.get(ev.cid), project.aggregatorKey.secretKey, {
    associatedData: updateAssociatedData({ chainId, market: client.address, projectId: project.projectId, round, trainer: ev.trainer }),
  });
  const honest = decodeUpdatePayload(plain).values;
  const lim = (1n << 15n) - 1n;
  const values = honest.map((v) => { const x = -10n * v; return x > lim ? lim : x < -lim ? -lim : x; });
  const salt = randomSalt();
  const payload = encodeUpdatePayload({ projectId: project.projectId, round, config: CIRCUIT, values, salt });
  const p = await client.getProject(project.projectId);
  const envelope = sealEnvelope(payload, [bytes32ToBytes(p.aggregatorEncryptionKey), bytes32ToBytes(p.ownerEncryptionKey)], {
    associatedData: updateAssociatedData({ chainId, market: client.address, projectId: project.projectId, round, trainer: signer(ATTACKER).address }),
  });
  const cid = missing ? await computeCid(envelope) : await store.put(envelope);
  await (await client.submitUpdate(project.projectId, round, commitUpdate(values, salt, CIRCUIT.chunk, CIRCUIT.updateBits), cid)).wait();
}

async function closeWindow(): Promise<void> {
  await chain.rpc("evm_increaseTime", [WINDOW + 1]);
  await chain.rpc("evm_mine", []);
}

/** An independent reference computation of the open round (what the chain must end up with). */
async function reference(round: number): Promise<RoundResult> {
  const client = new FedMarketClient(market, provider);
  const chainId = (await provider.getNetwork()).chainId;
  const p = await client.getProject(project.projectId);
  const prev = quantizeModel(decodeWeights(await store.get(p.modelCid)), SPEC.quantization.scale, CIRCUIT.modelBits);
  const events = await client.updateSubmitted({ projectId: project.projectId, round });
  const slots: RoundSlot[] = [];
  for (const ev of events.sort((a, b) => a.slot - b.slot)) {
    try {
      const plain = openEnvelope(await store.get(ev.cid), project.aggregatorKey.secretKey, {
        associatedData: updateAssociatedData({ chainId, market: client.address, projectId: project.projectId, round, trainer: ev.trainer }),
      });
      const u = decodeUpdatePayload(plain);
      slots.push({ commitment: ev.commitment, update: u.values, salt: u.salt });
    } catch {
      slots.push({ commitment: ev.commitment, excluded: true });
    }
  }
  return simulateRound({ config: CIRCUIT, prevModel: prev, slots, f: 1, keccak: roundKeccak(chainId, client.address, project.projectId, round, p.paramsHash) });
}

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        ...process.env, FEDMARKET_RPC_URL: chain.url, FEDMARKET_MARKET: market, FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] as string,
        FEDMARKET_X25519_KEY: Buffer.from(project.aggregatorKey.secretKey).toString("hex"), ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on("data", (b: Buffer) => { stderr += b.toString(); });
    const timer = setTimeout(() => { stderr += "\n[test: killed after 180 s]"; child.kill("SIGKILL"); }, 180_000);
    child.once("error", reject);
    child.once("exit", (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, ms: Date.now() - started }); });
  });
}

const runArgs = (): string[] => ["run", "--once", "--json", "--project", project.projectId.toString(), "--data", aggData(), "--ipfs-repo", ipfsDir, "--poll-interval", "200", "--ipfs-retries", "0", "--ipfs-timeout", "2000"];

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "fedmarket-aggregator-it-"));
  await mkdir(path.join(tmp, "data"), { recursive: true });
  for (const i of HONEST) await writeFile(path.join(tmp, "data", `trainer-${i}.csv`), csv(100 + i, 120));
  chain = await startLocalChain();
  provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, pollingInterval: 200, cacheTimeout: -1 });
  const chunkV = await deployFrom("verifiers/generated/ChunkVerifier_k4_c16.sol/ChunkVerifier_k4_c16.json", []);
  const decisionV = await deployFrom("verifiers/generated/DecisionVerifier_k4_c16.sol/DecisionVerifier_k4_c16.json", []);
  verifier = await deployFrom("verifiers/Groth16RoundVerifier.sol/Groth16RoundVerifier.json", [chunkV, decisionV, CIRCUIT.kMax, CIRCUIT.chunk]);
  market = await deployFrom("FedMarket.sol/FedMarket.json", []);
  ipfsDir = path.join(tmp, "ipfs");
  store = await HeliaBlobStore.create({ dataDir: ipfsDir });
  backend = await selectBackend({ log: () => {} });
  project = await createDemoProject({
    market, verifier, owner: signer(0), aggregator: signer(1), store, tf: backend.tf, spec: SPEC,
    byzantineTolerance: 1, submissionWindow: WINDOW, aggregationWindow: 4 * WINDOW, numRounds: 3, rewardPerRound: 10n ** 18n,
  });
});

after(async () => {
  if (Object.keys(times).length > 0) console.log(`measured: ${JSON.stringify(times)}`);
  await store?.close();
  provider?.destroy();
  await chain?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test("round 0: SIGKILL while proving, restart finalizes with real proofs; the attacker is an outlier and earns nothing", async () => {
  await honestRound();
  await attack(0, false);
  await closeWindow();
  const expected = await reference(0);
  assert.deepEqual(expected.krum.status, [SlotStatus.Inlier, SlotStatus.Inlier, SlotStatus.Inlier, SlotStatus.NotAggregated], "the scenario: three honest inliers, one outlier");

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
  const agg = await openAggregator({ rpcUrl: chain.url, market, dataDir: aggData(), ipfsRetries: 0, ipfsTimeoutMs: 2000 }, logger,
    { env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] }, store, secretKey: project.aggregatorKey.secretKey });
  let out;
  const started = Date.now();
  try {
    out = await agg.node.runRound(project.projectId);
    times.round0 = { resumeTotalMs: Date.now() - started, steps: { ...agg.node.times }, proofsReused: proofsBefore.length };
  } finally { await agg.close(); }
  assert.equal(out.kind, "done");
  assert.equal(out.kind === "done" && out.done.kind, "finalized");
  assert.equal(out.kind === "done" && out.done.by, "self");

  const client = new FedMarketClient(market, provider);
  const p = await client.getProject(project.projectId);
  assert.equal(p.currentRound, 1);
  assert.equal(p.modelCommitment, expected.newModelCommitment, "the proven model is the reference's");
  // the pinned model is the proven one
  const weights = decodeWeights(await store.get(p.modelCid), D);
  assert.equal(globalModelCommitment(weights, SPEC.quantization.scale, CIRCUIT), expected.newModelCommitment);
  // rewards by proven score; nothing for the attacker
  const total = expected.krum.scores.reduce((a, b) => a + b, 0n);
  assert.ok(total > 0n);
  const events = await client.updateSubmitted({ projectId: project.projectId, round: 0 });
  for (const ev of events) {
    const credit = await client.creditOf(ETH_TOKEN, ev.trainer);
    const want = expected.krum.inliers[ev.slot] ? (10n ** 18n * expected.krum.scores[ev.slot]!) / total : 0n;
    assert.equal(credit, want, `slot ${ev.slot}`);
    if (ev.trainer === signer(ATTACKER).address) assert.equal(credit, 0n);
    else assert.ok(credit > 0n);
  }
  assert.ok(!existsSync(path.join(aggData(), "aggregator.lock")), "lock released");
});

test("round 1: an unpinned update is excluded and the round finalizes; SIGKILL after sending finalizeRound, restart does not send it twice", async () => {
  await honestRound(); // the trainers train on the model the aggregator pinned
  await attack(1, true);
  await closeWindow();
  const expected = await reference(1);
  assert.equal(expected.krum.status[3], SlotStatus.Excluded);

  const crashed = await cli(runArgs(), { FEDMARKET_TEST_CRASH_AT: "after-finalize-sent" });
  assert.equal(crashed.signal, "SIGKILL", crashed.stdout + crashed.stderr);
  times.round1CrashedRunMs = crashed.ms;
  const dir = path.join(aggData(), `p${project.projectId}`, "r1");
  const openings = JSON.parse(await readFile(path.join(dir, "openings.json"), "utf8")) as { openings: { slot: number; status: string; reason?: string }[] };
  assert.deepEqual(openings.openings.map((o) => o.reason ?? o.status), ["opened", "opened", "opened", "missing"]);
  assert.match(crashed.stdout, /"event":"slot.excluded".*"reason":"missing"/);
  const nonce = await provider.getTransactionCount(signer(1).address);

  const again = await cli(runArgs());
  assert.equal(again.code, 0, again.stdout + again.stderr);
  times.round1RestartMs = again.ms;
  assert.match(again.stdout, /"event":"run.done".*"outcome":"finalized".*"by":"self"/);
  assert.equal(await provider.getTransactionCount(signer(1).address), nonce, "no second finalizeRound");
  const done = JSON.parse(await readFile(path.join(dir, "done.json"), "utf8")) as DoneFile;
  assert.equal(done.kind, "finalized");
  assert.equal(done.newModelCommitment, expected.newModelCommitment.toString());
  const p = await new FedMarketClient(market, provider).getProject(project.projectId);
  assert.equal(p.currentRound, 2);
  assert.equal(p.modelCommitment, expected.newModelCommitment);

  const status = await cli(["status", "--json", "--project", project.projectId.toString(), "--data", aggData(), "--ipfs-repo", ipfsDir, "--round", "1"]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /"step":"done \(finalized\)"/);
});

test("a second instance on the same data folder is refused; a verifier that does not match the keys is refused", async () => {
  const opts = { env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] }, store, secretKey: project.aggregatorKey.secretKey };
  const a = await openAggregator({ rpcUrl: chain.url, market, dataDir: aggData() }, memoryLogger(), opts);
  try {
    await assert.rejects(openAggregator({ rpcUrl: chain.url, market, dataDir: aggData() }, memoryLogger(), opts), (e: unknown) => e instanceof LockError && /in use by another aggregator/.test(e.message));
    const r = await cli(runArgs());
    assert.equal(r.code, 1);
    assert.match(r.stdout, /in use by another aggregator \(pid \d+/);
  } finally { await a.close(); }

  // A project whose verifier is a mock (does not accept the local keys' proofs).
  const mock = await deployFrom("test/mocks/MockRoundVerifier.sol/MockRoundVerifier.json", [CIRCUIT.kMax, CIRCUIT.chunk]);
  const other = await createDemoProject({ market, verifier: mock, owner: signer(0), aggregator: signer(1), store, tf: backend.tf, spec: SPEC, byzantineTolerance: 1 });
  const b = await openAggregator({ rpcUrl: chain.url, market, dataDir: path.join(tmp, "agg-mock") }, memoryLogger(), { ...opts, secretKey: other.aggregatorKey.secretKey });
  try {
    const p = await b.node.o.chain.client.getProject(other.projectId);
    const config = await b.node.circuitConfig(p);
    await assert.rejects(b.node.checkVerifier(p, config), /rejects proofs made with the local .*vkey/);
  } finally { await b.close(); }
});
