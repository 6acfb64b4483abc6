#!/usr/bin/env node
/**
 * Round benchmark: writes bench/round.json (relative to the repository root).
 *
 *   node packages/testkit/src/bench/bench-round.ts [--ks 4,8] [--features 100] [--out bench/round.json]
 *
 * For each K, in its own child process (so that the peak RSS is the round's): a `hardhat node`
 * (child process), FedMarket + real Groth16 verifiers + the Groth16RoundVerifier adapter, an
 * embedded Helia store, K honest trainers (the trainer node library: TF.js training on CSV data,
 * quantize, seal for the aggregator's seal key and commit, pin, commitUpdate, revealUpdate) and one
 * aggregator round with real proofs (`AggregatorNode.runRound`: collect, open, compute, prove in the
 * worker pool, pin, submit).
 *
 * - K = 4: circuits `*_k4_c16` (CHUNK 16, B 16, BG 32); K = 8: circuits `*_k8_c128_b8_g24`
 *   (CHUNK 128, B 8, BG 24, the demo's). Both use the committed generated verifiers (Hardhat
 *   artifacts) and the cached dev setup, linked into a `--circuits` folder under the names the
 *   aggregator looks for.
 *
 * Model: a softmax regression on `--features` synthetic features and 10 labels, the same for both K
 * (D = 10 * features + 10). Peak RSS: `process.resourceUsage().maxRSS` of the benchmark process,
 * which includes the proving workers (worker_threads of the same process); the hardhat node's
 * peak (VmHWM) is reported separately.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { benchArgs } from "./args.ts";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ContractFactory, JsonRpcProvider, Wallet } from "ethers";
import * as snarkjs from "snarkjs";
import { bigs, openAggregator, roundSlotsOf, sealedOf, type OpeningsFile, type RoundInputFile } from "@fedmarket/aggregator";
import { cipherChain, sealedCommitment, simulateRound, type CircuitConfig } from "@fedmarket/core";
import { FedMarketClient, HeliaBlobStore, memoryLogger, REPO_ROOT } from "@fedmarket/protocol";
import { selectBackend } from "@fedmarket/ml";
import { syntheticBlobsCsv } from "../data/synthetic-data.ts";
import { startLocalChain } from "../chain/local-chain.ts";
import { createDemoProject, HARDHAT_KEYS, readArtifact } from "../chain/demo-project.ts";
import { deployGeneratedVerifiers, deployGroth16RoundVerifier } from "../chain/round-verifier.ts";
import { resolveConfig, openNode } from "@fedmarket/trainer";

const SELF = fileURLToPath(import.meta.url);
const { values: args } = benchArgs(import.meta.url, {
  ks: { type: "string", default: "4,8" },
  k: { type: "string" },
  features: { type: "string", default: "100" },
  child: { type: "string" },
  out: { type: "string", default: path.join(REPO_ROOT, "bench", "round.json") },
});
const FEATURES = Number(args.features);
const LABELS = Array.from({ length: 10 }, (_, i) => `c${i}`);
const D = FEATURES * LABELS.length + LABELS.length;
const WINDOW = 3600;

interface Setting {
  circuit: CircuitConfig;
  names: { chunk: string; decision: string };
  f: number;
  quantization: { scale: number; clipBound: number };
  verifiers: string;
}
const SETTINGS: Record<string, Setting> = {
  "4": {
    circuit: { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 },
    names: { chunk: "chunk_k4_c16", decision: "decision_k4_c16" },
    f: 0, // a project needs 2f + 3 slots (the consensus quorum): K = 4 tolerates no Byzantine trainer
    quantization: { scale: 4096, clipBound: 1 },
    verifiers: "committed generated verifiers (contracts/verifiers/generated, Hardhat artifacts)",
  },
  "8": {
    circuit: { kMax: 8, chunk: 128, updateBits: 8, modelBits: 24 },
    names: { chunk: "chunk_k8_c128_b8_g24", decision: "decision_k8_c128_b8_g24" },
    f: 2,
    quantization: { scale: 1024, clipBound: 127 / 1024 },
    verifiers: "committed generated verifiers (contracts/verifiers/generated, Hardhat artifacts)",
  },
};

const round1 = (x: number): number => Math.round(x * 10) / 10;
const log = (m: string): void => {
  process.stderr.write(`${m}\n`);
};

// ---------------------------------------------------------------------------------------------
// Parent: one child process per K, merged into bench/round.json
// ---------------------------------------------------------------------------------------------

async function parent(): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "fedmarket-bench-round-"));
  const results: unknown[] = [];
  const started = Date.now();
  try {
    for (const k of (args.ks as string).split(",")) {
      const file = path.join(tmp, `k${k}.json`);
      await new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, [SELF, "--k", k, "--features", String(FEATURES), "--child", file], {
          stdio: ["ignore", "inherit", "inherit"],
        });
        child.once("error", reject);
        child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`K = ${k}: child exited with ${code}`))));
      });
      results.push(JSON.parse(await readFile(file, "utf8")));
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const out = {
    command: `node packages/testkit/src/bench/bench-round.ts ${process.argv.slice(2).join(" ")}`.trim(),
    date: new Date().toISOString(),
    machine: {
      cores: os.availableParallelism(),
      cpu: os.cpus()[0]?.model ?? "?",
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
    },
    setup: "DEV Groth16 setups (scripts/circuits, public seeds, NOT FOR PRODUCTION); timings equal a real setup's",
    model: {
      kind: `softmax regression, ${FEATURES} synthetic features (4 Gaussian-ish class blobs per label pattern), ${LABELS.length} labels`,
      parameters: D,
    },
    method: {
      steps:
        "AggregatorNode.runRound step times (node.times, wall ms): collect = UpdateRevealed events + getSubmission cross-check; open = fetch + FMSU decode + commitment check + decrypt (seal secret) + unpack of every slot; compute = simulateRound (decryption again, the consensus rule, scores, aggregation, every chunk/decision witness input); prove = witness generation + Groth16 prove of every chunk and the decision in the worker pool (one worker_thread per core, snarkjs singleThread) + local verification of each proof; pin = new model to the blob store; submit = submitChunkProofs batches (default --chunk-batch: 128 chunk proofs per tx, each tx's proofs verified as one batch) + finalizeRound, mined",
      split:
        "fetchMs: the same sealed updates fetched again from the embedded store (warm); openVerifyMs = open - fetch; commitmentCheckMs: the ciphertext chain and Poseidon(chain, E) of every sealed update alone; witnessMs: snarkjs wtns.calculate of chunk 0 and of the decision in the main thread (the prove step does it inside the workers); perProofMs: witness + prove per proof as the workers report it",
      verifierCheck:
        "one-time start-up check (proofs of a trivial round verified by the on-chain verifier through eth_call), cached per verifier; not part of a round",
      rss: "maxRSS = process.resourceUsage().maxRSS of the benchmark process (trainers, aggregator and its proving worker_threads share it: workers are threads, so they are included); hardhatNodeVmHWM = peak RSS of the hardhat node child process (/proc/<pid>/status)",
    },
    totalWallSeconds: round1((Date.now() - started) / 1000),
    points: results,
  };
  await mkdir(path.dirname(args.out as string), { recursive: true });
  await writeFile(args.out as string, `${JSON.stringify(out, null, 2)}\n`);
  log(`wrote ${args.out}`);
}

// ---------------------------------------------------------------------------------------------
// Child: one round at one K
// ---------------------------------------------------------------------------------------------

const csv = (seed: number, n: number): string => syntheticBlobsCsv(seed, n, FEATURES, LABELS, 3);

interface DevSetup {
  setup: { zkey: string; vkeyFile: string; compiled: { wasm: string } };
}
type LoadProver = (name: string, mode?: { kind: "dev" }, log?: (m: string) => void) => Promise<DevSetup>;

async function childRun(k: string, outFile: string): Promise<void> {
  const setting = SETTINGS[k];
  if (setting === undefined) throw new Error(`no setting for K = ${k}`);
  const { circuit } = setting;
  const tmp = await mkdtemp(path.join(os.tmpdir(), `fedmarket-bench-round-k${k}-`));
  const chain = await startLocalChain({ log });
  const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, pollingInterval: 200, cacheTimeout: -1 });
  const signer = (i: number): Wallet => new Wallet(HARDHAT_KEYS[i] as string, provider);
  const store = await HeliaBlobStore.create({ dataDir: path.join(tmp, "ipfs") });
  const timings: Record<string, number> = {};
  try {
    // Circuit files (cached dev setup), linked under the names the aggregator looks for.
    const { loadProver } = (await import(pathToFileURL(path.join(REPO_ROOT, "scripts", "circuits", "prover.ts")).href)) as {
      loadProver: LoadProver;
    };
    const circuitsDir = path.join(tmp, "circuits");
    await mkdir(circuitsDir, { recursive: true });
    const files: Record<"chunk" | "decision", DevSetup["setup"]> = {
      chunk: (await loadProver(setting.names.chunk, { kind: "dev" }, log)).setup,
      decision: (await loadProver(setting.names.decision, { kind: "dev" }, log)).setup,
    };
    for (const kind of ["chunk", "decision"] as const) {
      const name = setting.names[kind];
      await symlink(files[kind].compiled.wasm, path.join(circuitsDir, `${name}.wasm`));
      await symlink(files[kind].zkey, path.join(circuitsDir, `${name}.zkey`));
      await symlink(files[kind].vkeyFile, path.join(circuitsDir, `${name}.vkey.json`));
    }

    // Contracts
    const deploy = async (abi: unknown[], bytecode: string, ctorArgs: unknown[]): Promise<string> => {
      const c = await new ContractFactory(abi as never, bytecode, signer(0)).deploy(...ctorArgs);
      await c.waitForDeployment();
      return c.getAddress();
    };
    const generated = await deployGeneratedVerifiers(signer(0), circuit);
    const verifier = await deployGroth16RoundVerifier(signer(0), { ...generated, circuit });
    const fm = readArtifact("FedMarket.sol/FedMarket.json");
    const market = await deploy(fm.abi, fm.bytecode, []);

    const backend = await selectBackend({ log });
    const spec = {
      format: "fedmarket-model-spec/1",
      name: `softmax-${FEATURES}-10`,
      inputShape: [FEATURES],
      labels: LABELS,
      layers: [{ type: "dense", units: LABELS.length, activation: "softmax" }],
      training: { epochs: 2, batchSize: 16, learningRate: 0.1, optimizer: "sgd" },
      quantization: setting.quantization,
      circuit,
    };
    const project = await createDemoProject({
      market,
      verifier,
      owner: signer(0),
      aggregator: signer(1),
      store,
      tf: backend.tf,
      spec,
      byzantineTolerance: setting.f,
      submissionWindow: WINDOW,
      revealWindow: WINDOW,
      aggregationWindow: 4 * WINDOW,
      numRounds: 2,
      rewardPerRound: 10n ** 18n,
      trainers: Array.from({ length: circuit.kMax }, (_, j) => signer(2 + j)),
    });

    // K honest trainers (accounts 2 .. K+1): commit, then (after the commit window) reveal
    await mkdir(path.join(tmp, "data"), { recursive: true });
    let t = Date.now();
    for (const phase of ["committed", "submitted"] as const) {
      if (phase === "submitted") {
        await chain.rpc("evm_increaseTime", [WINDOW + 1]);
        await chain.rpc("evm_mine", []);
      }
      for (let j = 0; j < circuit.kMax; j++) {
        const i = 2 + j;
        const data = path.join(tmp, "data", `trainer-${i}.csv`);
        await writeFile(data, csv(100 + i, 200));
        const config = await resolveConfig(
          {
            rpcUrl: chain.url,
            market,
            project: project.projectId.toString(),
            data,
            stateDir: path.join(tmp, "trainer-state", `t${i}`),
            pollInterval: "200",
            seed: String(i),
          },
          {},
        );
        const node = await openNode(config, memoryLogger(), { env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[i] }, store, backend });
        try {
          const r = await node.node.runRound(project.projectId);
          if (r.kind !== phase) throw new Error(`trainer ${i}: ${JSON.stringify(r)}`);
        } finally {
          await node.close();
        }
      }
    }
    timings.trainersTotalMs = Date.now() - t;
    await chain.rpc("evm_increaseTime", [WINDOW + 1]);
    await chain.rpc("evm_mine", []);

    // The aggregator
    const dataDir = path.join(tmp, "aggregator");
    const agg = await openAggregator({ rpcUrl: chain.url, market, dataDir, circuitsDir }, memoryLogger(), {
      env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] },
      store,
      sealSecret: project.aggregatorKey.secret,
    });
    let steps: Record<string, number>;
    let outcome;
    try {
      const p = await agg.node.o.chain.client.getProject(project.projectId);
      const config = await agg.node.circuitConfig(p);
      t = Date.now();
      await agg.node.checkVerifier(p, config);
      timings.verifierCheckMs = Date.now() - t;
      t = Date.now();
      outcome = await agg.node.runRound(project.projectId);
      timings.roundMs = Date.now() - t;
      steps = { ...agg.node.times };
    } finally {
      await agg.close();
    }
    if (outcome.kind !== "done" || outcome.done.kind !== "finalized") throw new Error(`round not finalized: ${JSON.stringify(outcome)}`);
    const rss = process.resourceUsage().maxRSS;

    // Splits measured separately
    const roundDir = path.join(dataDir, `p${project.projectId}`, "r0");
    const openings = JSON.parse(await readFile(path.join(roundDir, "openings.json"), "utf8")) as OpeningsFile;
    t = performance.now();
    await Promise.all(openings.openings.map((o) => store.get(o.cid)));
    const fetchMs = performance.now() - t;
    const sealedUpdates = openings.openings.flatMap((o) => (o.status === "unavailable" ? [] : [sealedOf(o.sealed)]));
    t = performance.now();
    for (const u of sealedUpdates) sealedCommitment(cipherChain(u.chunks), u.ephemeral);
    const commitmentCheckMs = performance.now() - t;
    const input = JSON.parse(await readFile(path.join(roundDir, "input.json"), "utf8")) as RoundInputFile;
    // As the compute step builds them: slots nobody revealed in are empty.
    const slots = roundSlotsOf(openings.openings);
    t = performance.now();
    const result = simulateRound({
      config: input.config,
      prevModel: bigs(input.prevModel),
      prevStep: bigs(input.prevStep),
      slots,
      f: input.f,
      keccak: BigInt(input.keccak),
      secret: project.aggregatorKey.secret,
    });
    const computeAgainMs = performance.now() - t;
    const wtns = async (kind: "chunk" | "decision", inp: unknown): Promise<number> => {
      const s = performance.now();
      await snarkjs.wtns.calculate(inp as snarkjs.WitnessInput, files[kind].compiled.wasm, { type: "mem" });
      return performance.now() - s;
    };
    await wtns("chunk", result.chunkWitnesses[0]!.input); // warm-up (wasm load)
    const witnessChunkMs = await wtns("chunk", result.chunkWitnesses[0]!.input);
    const witnessDecisionMs = await wtns("decision", result.decision.input);
    const proofMs = { chunk: [] as number[], decision: 0 };
    for (const f of await readdir(path.join(roundDir, "proofs"))) {
      const pf = JSON.parse(await readFile(path.join(roundDir, "proofs", f), "utf8")) as { ms: number };
      if (f.startsWith("chunk")) proofMs.chunk.push(pf.ms);
      else proofMs.decision = pf.ms;
    }
    const txs = JSON.parse(await readFile(path.join(roundDir, "txs.json"), "utf8")) as {
      batches: { txHash: string; count: number }[];
      finalize?: string;
    };
    const gas: { tx: string; chunkProofs: number; gasUsed: number }[] = [];
    for (const b of txs.batches)
      gas.push({
        tx: "submitChunkProofs",
        chunkProofs: b.count,
        gasUsed: Number((await provider.getTransactionReceipt(b.txHash))?.gasUsed ?? 0n),
      });
    if (txs.finalize !== undefined)
      gas.push({
        tx: "finalizeRound",
        chunkProofs: result.chunks - txs.batches.reduce((a, b) => a + b.count, 0),
        gasUsed: Number((await provider.getTransactionReceipt(txs.finalize))?.gasUsed ?? 0n),
      });
    let hardhatVmHwmKb: number | null = null;
    try {
      const status = await readFile(`/proc/${chain.child.pid}/status`, "utf8");
      hardhatVmHwmKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    } catch {
      /* not Linux */
    }
    const p = await new FedMarketClient(market, provider).getProject(project.projectId);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const point = {
      K: circuit.kMax,
      CHUNK: circuit.chunk,
      B: circuit.updateBits,
      BG: circuit.modelBits,
      f: setting.f,
      circuits: setting.names,
      verifiers: setting.verifiers,
      D,
      chunks: result.chunks,
      proofs: result.chunks + 1,
      trainers: circuit.kMax,
      quantization: setting.quantization,
      workers: os.availableParallelism(),
      finalized: { round: 0, onChainModelCommitmentMatches: p.modelCommitment === result.newModelCommitment, status: result.rule.status },
      stepsMs: {
        collect: steps.collect,
        open: steps.open,
        fetch: round1(fetchMs),
        openVerify: round1((steps.open ?? 0) - fetchMs),
        commitmentCheck: round1(commitmentCheckMs),
        compute: steps.compute,
        prove: steps.prove,
        pin: steps.pin,
        submit: steps.submit,
      },
      roundMs: timings.roundMs,
      witnessMs: {
        chunk: round1(witnessChunkMs),
        decision: round1(witnessDecisionMs),
        roundEstimate: round1(result.chunks * witnessChunkMs + witnessDecisionMs),
      },
      perProofMs: {
        chunkMean: round1(mean(proofMs.chunk)),
        chunkMax: Math.max(...proofMs.chunk),
        decision: proofMs.decision,
        note: "witness + prove inside one worker, single-threaded, while the other worker proves too",
      },
      computeAgainMs: round1(computeAgainMs),
      gas,
      peakRss: {
        processMaxRssMiB: round1(rss / 1024),
        includesWorkers: true,
        hardhatNodeVmHwmMiB: hardhatVmHwmKb === null ? null : round1(hardhatVmHwmKb / 1024),
      },
      oneTime: {
        verifierCheckMs: timings.verifierCheckMs,
        ...(timings.verifierCompileMs === undefined ? {} : { verifierCompileMs: timings.verifierCompileMs }),
        trainersTotalMs: timings.trainersTotalMs,
      },
    };
    log(`K = ${k}: ${JSON.stringify(point.stepsMs)} round ${timings.roundMs} ms, RSS ${point.peakRss.processMaxRssMiB} MiB`);
    await writeFile(outFile, JSON.stringify(point));
  } finally {
    await store.close();
    provider.destroy();
    await chain.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

if (args.child !== undefined) {
  await childRun(args.k as string, args.child);
  process.exit(0);
} else {
  await parent();
}
