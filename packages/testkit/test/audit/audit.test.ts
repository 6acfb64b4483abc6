/**
 * `auditProject` on a round finalized by the real aggregator with real Groth16 proofs (K4/C16 dev
 * circuits, the verifiers deployed by `deployContracts` with Ignition) on a `hardhat node` child
 * process, with an embedded Helia store: three honest trainers and one x10-scaling attacker (the
 * trainer node library), registered before the aggregator accepts, committing then revealing.
 * K = 4 admits f = 0 only (the quorum is 2f + 3 valid updates); the consensus rule leaves the
 * attacker out (beyond twice the median norm) and counts the three honest trainers, whose IID
 * updates are one cluster scoring 0, so the reward is split equally among them: the audit checks
 * the proven outcome, whatever it is. The audit
 * passes (proofs by snarkjs and on chain, models, payouts, escrow, every update opens with the
 * owner's key, accuracy on a validation set, report and charts); then each tamper fails with a
 * message naming what is wrong: a wrong verification key, a pinned model whose bytes were changed
 * on disk, a credit forged by a lying RPC endpoint. Last, round 1 with an update made for another
 * round: under sealed updates the commitment is over the ciphertext, so a blob of another round has
 * another commitment (and a commitment revealed once cannot be revealed again): the aggregator finds
 * that it does not open the revealed commitment (`not-opening`: not available, excluded) and the
 * audit, opening it with the owner's key through the same codec, agrees.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider, Log, Wallet, type Filter, type FilterByBlockHash } from "ethers";
import {
  bytes32ToBytes,
  decodeWeights,
  encodeWeights,
  FedMarketClient,
  fedMarketInterface,
  generateKeyPair,
  HeliaBlobStore,
  memoryLogger,
  releaseCurves,
  REPO_ROOT,
  sealedCommitment,
  sealUpdate,
} from "@fedmarket/protocol";
import { initialWeights, loadDataset, selectBackend, type BackendInfo, type Dataset } from "@fedmarket/ml";
import { syntheticBlobsCsv } from "../../src/data/synthetic-data.ts";
import { openAggregator, acceptProject, readSealKeyFile } from "@fedmarket/aggregator";
import { startLocalChain, type LocalChain } from "../../src/chain/local-chain.ts";
import { HARDHAT_KEYS } from "../../src/chain/demo-project.ts";
import { attackProducer } from "../../src/attacks/producers.ts";
import { BIN, commitRevealRound, passAnswerDeadline, runTrainers, type RoundChain } from "../helpers.ts";
import { resolveConfig, openNode, type OpenedNode, type RoundOutcome } from "@fedmarket/trainer";
import { auditProject, checkPayouts, loadAuditContext, runChecks, type AuditReport } from "@fedmarket/audit";
import { deployContracts, type Deployment, createProject, type CreatedProject } from "@fedmarket/cli";

const FEDMARKET = BIN.fedmarket;
const CIRCUIT = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 };
const FEATURES = 12;
const LABELS = ["a", "b", "c", "d"];
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
const TRAINERS = [2, 3, 4, 5];
const ATTACKER = 5;
const REWARD = 10n ** 18n;

let tmp: string;
let chain: LocalChain;
let provider: JsonRpcProvider;
let deployment: Deployment;
let store: HeliaBlobStore;
let backend: BackendInfo;
let project: CreatedProject;
let ownerKey: ReturnType<typeof generateKeyPair>;
let validation: Dataset;
let passed: AuditReport;
const ipfsDir = (): string => path.join(tmp, "ipfs");

const csv = (seed: number, n: number): string => syntheticBlobsCsv(seed, n, FEATURES, LABELS);

/** Trainer `i`'s node (the attacker's with the x10 `scale` producer). */
async function trainerNode(i: number): Promise<OpenedNode> {
  const config = await resolveConfig(
    {
      rpcUrl: chain.url,
      market: deployment.market,
      project: project.projectId.toString(),
      data: path.join(tmp, "data", `trainer-${i}.csv`),
      stateDir: path.join(tmp, "trainer-state", `t${i}`),
      pollInterval: "200",
      ipfsRetries: "1",
      ipfsTimeout: "2000",
      seed: String(i),
    },
    {},
  );
  return openNode(config, memoryLogger(), {
    env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[i] },
    store,
    backend,
    ...(i === ATTACKER ? { producer: attackProducer("scale") } : {}),
  });
}

/** One `runRound` of trainer `i`. */
async function runTrainer(i: number): Promise<RoundOutcome> {
  const t = await trainerNode(i);
  try {
    return await t.node.runRound(project.projectId);
  } finally {
    await t.close();
  }
}

/** The local chain as the round helpers move it. */
const roundChain = (): RoundChain => ({
  rpc: (method, params) => chain.rpc(method, params),
  client: new FedMarketClient(deployment.market, provider),
});

function cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FEDMARKET, ...args], {
      cwd: tmp,
      env: { ...process.env, FEDMARKET_RPC_URL: chain.url },
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
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "fedmarket-cli-audit-"));
  await mkdir(path.join(tmp, "data"), { recursive: true });
  for (const i of TRAINERS) await writeFile(path.join(tmp, "data", `trainer-${i}.csv`), csv(100 + i, 120));
  await writeFile(path.join(tmp, "validation.csv"), csv(999, 200));
  chain = await startLocalChain();
  provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, pollingInterval: 200, cacheTimeout: -1 });
  deployment = await deployContracts({ rpcUrl: chain.url, privateKey: HARDHAT_KEYS[0] as string, verifier: "k4-c16" });
  store = await HeliaBlobStore.create({ dataDir: ipfsDir() });
  backend = await selectBackend({ log: () => {} });
  validation = await loadDataset(path.join(tmp, "validation.csv"), { inputShape: SPEC.inputShape, labels: SPEC.labels });
  ownerKey = generateKeyPair();
  await writeFile(path.join(tmp, "owner.x25519"), `${Buffer.from(ownerKey.secretKey).toString("hex")}\n`, { mode: 0o600 });
  project = await createProject({
    signer: new Wallet(HARDHAT_KEYS[0] as string, provider),
    market: deployment.market,
    verifier: deployment.roundVerifier,
    aggregator: new Wallet(HARDHAT_KEYS[1] as string).address,
    store,
    specJson: SPEC,
    initialWeights: initialWeights(backend.tf, SPEC, 1),
    ownerPublicKey: ownerKey.publicKey,
    rewardPerRound: REWARD,
    numRounds: 3,
    byzantineTolerance: 0,
    submissionWindow: WINDOW,
    revealWindow: WINDOW,
    aggregationWindow: 4 * WINDOW,
    aggregatorBond: 10n ** 16n,
    slashAmount: 10n ** 15n,
    trainerStake: 0n,
  });
  // The trainers join before the aggregator accepts: round 0's slots are drawn among the trainers
  // registered when it opens (4 candidates for 4 slots: trainer `k` of TRAINERS holds slot `k`).
  for (const i of TRAINERS) {
    const t = await trainerNode(i);
    try {
      assert.equal((await t.node.join(project.projectId)).registered, true);
    } finally {
      await t.close();
    }
  }
  const keyFile = path.join(tmp, "aggregator.seal");
  // accept prepares the K4/C16 circuits (from the spec on the shared store) before it posts the bond
  await acceptProject(
    {
      rpcUrl: chain.url,
      market: deployment.market,
      projectId: project.projectId,
      keyFile,
      env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] },
      store,
    },
    memoryLogger(),
  );

  await commitRevealRound(roundChain(), project.projectId, {
    commit: () => runTrainers(TRAINERS, runTrainer, "committed"),
    reveal: async () => {
      await runTrainers(TRAINERS, runTrainer, "submitted");
    },
  });
  const agg = await openAggregator(
    { rpcUrl: chain.url, market: deployment.market, dataDir: path.join(tmp, "aggregator"), workers: 2 },
    memoryLogger(),
    { env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] }, store, sealSecret: await readSealKeyFile(keyFile) },
  );
  try {
    const out = await agg.node.runRound(project.projectId);
    assert.equal(out.kind === "done" && out.done.kind, "finalized", JSON.stringify(out));
  } finally {
    await agg.close();
  }
});

after(async () => {
  await store?.close();
  provider?.destroy();
  await chain?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test("a project finalized with real proofs passes: proofs, models, payouts, escrow, openings, accuracy, report and charts", async () => {
  const outDir = path.join(tmp, "audit-pass");
  passed = await auditProject({
    provider,
    market: deployment.market,
    projectId: project.projectId,
    store,
    ownerSecretKey: ownerKey.secretKey,
    validation,
    outDir,
  });
  assert.deepEqual(passed.failures, []);
  assert.equal(passed.verdict, "pass");
  const [r0, r1] = passed.rounds;
  assert.ok(r0 && r1);
  assert.equal(r0.state, "finalized");
  assert.equal(r0.chunkProofs, 4, "D = 52 in chunks of 16");
  assert.ok(r0.proofsVerified);
  assert.equal(r0.modelMatches, true);
  assert.deepEqual([r0.inliers, r0.outliers, r0.excluded], [3, 1, 0], "f = 0: the three honest updates counted, the attacker not");
  assert.equal(
    r0.slots.find((s) => s.trainer === new Wallet(HARDHAT_KEYS[ATTACKER] as string).address)?.status,
    "not aggregated",
    "the x10 attacker is beyond the norm cap; the audit reports what the proof says",
  );
  assert.ok(
    r0.slots.every((s) => s.opens === true),
    "every update opens its commitment with the owner's key",
  );
  assert.equal(
    r0.slots.reduce((a, s) => a + (s.reward ?? 0n), 0n),
    r0.paid,
  );
  assert.ok(r0.paid > 0n && r0.paid <= REWARD);
  assert.equal(r1.state, "open");
  assert.ok(passed.initialModel?.matches);
  assert.ok(typeof passed.initialModel?.accuracy === "number" && typeof r0.accuracy === "number");
  assert.equal(passed.escrow?.expectedBudgetAndReserve, passed.escrow?.budgetAndReserve);
  assert.equal(passed.escrow?.marketBalance, passed.escrow?.totalLiabilities);
  assert.equal(passed.charts.length, 3);
  for (const chart of passed.charts) assert.match(await readFile(chart, "utf8"), /^<svg [\s\S]*<\/svg>\n$/);
  const md = await readFile(passed.reportFile as string, "utf8");
  assert.match(md, /\*\*Verdict: PASS\*\*/);
  assert.match(md, /\| 0 \| finalized \| 4 \| 4 \| verified \| matches \|/);

  // The same audit as a user runs it: exit 0, the JSON report on stdout.
  const run = await cli([
    "audit",
    "--market",
    deployment.market,
    "--project",
    project.projectId.toString(),
    "--ipfs-repo",
    ipfsDir(),
    "--owner-key-file",
    "owner.x25519",
    "--out",
    "audit-cli",
    "--json",
  ]);
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout) as { verdict: string; rounds: { chunkProofs: number }[] };
  assert.equal(json.verdict, "pass");
  assert.equal(json.rounds[0]?.chunkProofs, 4);

  // A caller can run any check alone on a context of its own.
  const ctx = await loadAuditContext({ provider, market: deployment.market, projectId: project.projectId, store });
  try {
    assert.deepEqual(await runChecks(ctx, ["payouts", "escrow"]), []);
  } finally {
    await releaseCurves();
  }
});

test("a wrong verification key fails every proof it cannot verify, naming the round, the proof and the key file", async () => {
  const vkeyDir = path.join(tmp, "wrong-vkeys");
  await mkdir(vkeyDir, { recursive: true });
  const generated = path.join(REPO_ROOT, "contracts", "verifiers", "generated");
  for (const name of ["ChunkVerifier_k4_c16.vkey.json", "DecisionVerifier_k4_c16.vkey.json"]) {
    const vkey = JSON.parse(await readFile(path.join(generated, name), "utf8")) as { IC: unknown[] };
    // Two valid curve points swapped: a well-formed key of a different circuit.
    [vkey.IC[1], vkey.IC[2]] = [vkey.IC[2], vkey.IC[1]];
    await writeFile(path.join(vkeyDir, name), JSON.stringify(vkey));
  }
  const report = await auditProject({ provider, market: deployment.market, projectId: project.projectId, store, vkeyDir });
  assert.equal(report.verdict, "fail");
  assert.ok(
    report.failures.some((f) =>
      /^round 0: chunk proof 0 \(tx 0x[0-9a-f]{64}\) does not verify against the published verification key .*wrong-vkeys\/ChunkVerifier_k4_c16\.vkey\.json/.test(
        f,
      ),
    ),
    report.failures.join("\n"),
  );
  assert.ok(
    report.failures.some((f) =>
      /^round 0: the decision proof \(tx 0x[0-9a-f]{64}\) does not verify against the published verification key .*DecisionVerifier_k4_c16\.vkey\.json$/.test(
        f,
      ),
    ),
    report.failures.join("\n"),
  );
  assert.ok(!report.failures.some((f) => /rejected by the project's verifier/.test(f)), "the on-chain verifier still accepts them");
  assert.equal(report.rounds[0]?.proofsVerified, false);

  const run = await cli([
    "audit",
    "--market",
    deployment.market,
    "--project",
    project.projectId.toString(),
    "--ipfs-repo",
    ipfsDir(),
    "--vkey-dir",
    vkeyDir,
    "--out",
    "audit-vkey",
  ]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stdout, /^audit FAIL: project 1, 2 round\(s\), 5 failure\(s\)/m);
  assert.match(run.stdout, /FAIL round 0: the decision proof/);
});

test("a pinned model whose bytes changed on disk fails, naming the round and the CID", async () => {
  const r0 = passed.rounds[0];
  assert.ok(r0?.modelCid !== undefined);
  // The embedded store keeps a small blob as one raw block file: find it by its content.
  const modelBytes = await store.get(r0.modelCid);
  const blocks = path.join(ipfsDir(), "blocks");
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else files.push(p);
    }
  };
  await walk(blocks);
  let target: string | undefined;
  for (const f of files) if (Buffer.compare(await readFile(f), Buffer.from(modelBytes)) === 0) target = f;
  assert.ok(target !== undefined, "the model's block file");
  const backup = `${target}.orig`;
  await copyFile(target, backup);
  try {
    const tampered = new Float32Array(decodeWeights(modelBytes));
    tampered[0] = (tampered[0] as number) + 0.5;
    await writeFile(target, encodeWeights(tampered));
    const report = await auditProject({
      provider,
      market: deployment.market,
      projectId: project.projectId,
      store,
      ipfsRetries: 0,
      ipfsTimeoutMs: 5_000,
    });
    assert.equal(report.verdict, "fail");
    assert.equal(report.rounds[0]?.modelMatches, false);
    assert.ok(
      report.failures.some((f) => f.startsWith(`round 0 model: cannot fetch ${r0.modelCid} from IPFS`)),
      report.failures.join("\n"),
    );
    assert.ok(report.rounds[0]?.proofsVerified, "the proofs themselves still verify");
  } finally {
    await copyFile(backup, target);
    await rm(backup);
  }
  assert.ok(existsSync(target));
});

/** An RPC endpoint that lies: it reports one more ETH credited to the first paid slot of round 0. */
class ForgingProvider extends JsonRpcProvider {
  override async getLogs(filter: Filter | FilterByBlockHash): Promise<Log[]> {
    const logs = await super.getLogs(filter);
    const event = fedMarketInterface.getEvent("ContributionRecorded");
    let forged = false;
    return logs.map((log) => {
      if (forged || event === null || log.topics[0] !== event.topicHash) return log;
      const parsed = fedMarketInterface.parseLog(log);
      const reward = BigInt(parsed?.args.reward as bigint);
      if (parsed === null || reward === 0n) return log;
      forged = true;
      const { data } = fedMarketInterface.encodeEventLog(event, [...parsed.args.slice(0, 6), reward + REWARD]);
      return new Log({ ...log, data }, this);
    });
  }
}

test("a credit forged by the RPC endpoint (one the chain cannot produce) fails against the proven share", async () => {
  const liar = new ForgingProvider(chain.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  try {
    const report = await auditProject({ provider: liar, market: deployment.market, projectId: project.projectId, store });
    assert.equal(report.verdict, "fail");
    // The proven share is a mulDiv of the scores, or an equal part when they total 0 (one kept cluster).
    const forged =
      /^round 0 slot \d \(0x[0-9a-fA-F]{40}\): credited \d+, the proven share is (mulDiv\(1000000000000000000, \d+, \d+\)|an equal part of 1000000000000000000 \(zero total score\)) = \d+$/;
    assert.ok(
      report.failures.some((f) => forged.test(f)),
      report.failures.join("\n"),
    );
    // The payouts check alone finds it too, as a failure about round 0 and the forged slot.
    const alone = await checkPayouts(
      await loadAuditContext({ provider: liar, market: deployment.market, projectId: project.projectId, store }),
    );
    assert.ok(
      alone.some(
        (f) => f.check === "payouts" && f.severity === "failure" && f.round === 0 && f.slot !== undefined && forged.test(f.message),
      ),
      JSON.stringify(alone),
    );
  } finally {
    await releaseCurves();
    liar.destroy();
  }
});

test("an update made for another round has another commitment: it does not open the revealed one, so it is not available (flagged, unanswered: an empty slot, not malformed), and the audit agrees", async () => {
  const round = 1;
  const honest = TRAINERS.filter((i) => i !== ATTACKER);
  // The faulty trainer reveals, in round 1, the CID of the sealed update it submitted in round 0.
  // Its commitment cannot be round 0's (the contract refuses a commitment revealed before:
  // DuplicateCommitment), so it commits to a fresh one, of an update sealed for round 1 that it
  // never pins. Round 0's blob does not open it: the commitment binds the ciphertext and E.
  const faulty = new Wallet(HARDHAT_KEYS[ATTACKER] as string, provider);
  const client = new FedMarketClient(deployment.market, faulty);
  const previous = (await client.updateRevealed({ projectId: project.projectId, round: 0 })).find((e) => e.trainer === faulty.address);
  assert.ok(previous !== undefined, "the faulty trainer's update of round 0");
  await commitRevealRound(roundChain(), project.projectId, {
    commit: async () => {
      await runTrainers(honest, runTrainer, "committed");
      const p = await client.getProject(project.projectId);
      const chainId = await client.chainId();
      const { commitment } = sealUpdate({
        chainId,
        market: client.address,
        projectId: p.id,
        round,
        trainer: faulty.address,
        config: CIRCUIT,
        values: Array.from({ length: p.params.modelSize }, (_, k) => BigInt((k % 7) - 3)),
        sealKey: p.aggregatorSealKey,
        ownerKey: bytes32ToBytes(p.ownerEncryptionKey),
      });
      const cid = previous.cid;
      const sealed = sealedCommitment(chainId, client.address, p.id, round, faulty.address, commitment, cid);
      await client.wait(await client.commitUpdate(p.id, round, sealed));
      return { commitment, cid };
    },
    reveal: async ({ commitment, cid }) => {
      await runTrainers(honest, runTrainer, "submitted");
      await client.wait(await client.revealUpdate(project.projectId, round, commitment, cid));
    },
  });
  const dataDir = path.join(tmp, "aggregator");
  const agg = await openAggregator({ rpcUrl: chain.url, market: deployment.market, dataDir, workers: 2 }, memoryLogger(), {
    env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] },
    store,
    sealSecret: await readSealKeyFile(path.join(tmp, "aggregator.seal")),
  });
  try {
    // Not available: flagged on chain; nobody answers before the deadline.
    const flagged = await agg.node.runRound(project.projectId);
    assert.equal(flagged.kind, "waiting", JSON.stringify(flagged));
    await passAnswerDeadline(roundChain(), project.projectId);
    const out = await agg.node.runRound(project.projectId);
    assert.equal(out.kind === "done" && out.done.kind, "finalized", JSON.stringify(out));
  } finally {
    await agg.close();
  }
  const file = path.join(dataDir, `p${project.projectId}`, `r${round}`, "openings.json");
  type Opening = { trainer: string; status: string; reason?: string; detail?: string };
  const { openings } = JSON.parse(await readFile(file, "utf8")) as { openings: Opening[] };
  const excluded = openings.find((o) => o.trainer === faulty.address);
  assert.equal(excluded?.status, "unavailable", "not the committed data: the round proof has no ciphertext for the slot");
  assert.equal(excluded.reason, "not-opening");
  assert.match(excluded.detail ?? "", /do not open the commitment revealed on chain/);

  const report = await auditProject({
    provider,
    market: deployment.market,
    projectId: project.projectId,
    store,
    ownerSecretKey: ownerKey.secretKey,
  });
  assert.deepEqual(report.failures, []);
  const r1 = report.rounds[round];
  assert.equal(r1?.state, "finalized");
  const slot = r1.slots.find((s) => s.trainer === faulty.address);
  assert.equal(slot?.status, "empty", "flagged and not answered: an empty slot");
  assert.equal(slot.flag, "unanswered");
  assert.equal(slot.reward ?? 0n, 0n, "the faulty trainer earns nothing");
  assert.equal(slot.opens, false, "not usable with the owner's key either");
  assert.deepEqual(slot.unusable, { reason: excluded.reason, detail: excluded.detail }, "the aggregator's reason, word for word");
  assert.ok(r1.slots.filter((s) => s !== slot).every((s) => s.opens === true && s.unusable === undefined));
  assert.ok(!report.warnings.some((w) => /proven as not decoded \(excluded\), but/.test(w)), report.warnings.join("\n"));
  assert.ok(!report.warnings.some((w) => /not answered on chain/.test(w)), "the owner cannot open it either: no warning");
});
