/**
 * Circuit benchmark: constraint counts, witness generation, Groth16 prove and verify times and
 * zkey sizes of the round circuits, plus a projection of the proving time of a full round.
 *
 *   node scripts/bench-circuit.ts                # everything; writes bench/circuit.json
 *   node scripts/bench-circuit.ts --quick        # constraint counts only (compile, no setup);
 *                                                # prints the table, writes a file only with --out
 *   node scripts/bench-circuit.ts --runs 5       # timed runs per measurement (median; default 3)
 *   node scripts/bench-circuit.ts --no-parallel  # skip the 2-worker proving measurement
 *   node scripts/bench-circuit.ts --out f.json   # another output file
 *   node scripts/bench-circuit.ts --only 8,128,8,24 --out f.json   # selected points (K,CHUNK,B,BG;...)
 *
 * Compilations and setups are cached by scripts/circuits (.cache/circuits, .cache/ptau); a warm
 * run takes a few minutes, a cold one also makes the dev powers of tau 2^13..2^16 and every setup.
 * Points whose circuit needs more than 2^MAX_POWER (16) are counted only. The setups are the
 * DEV setups (public seeds, NOT FOR PRODUCTION); timings do not depend on the toxic waste.
 *
 * Timings: `witnessMs` = snarkjs.wtns.calculate into memory (wasm load + calculation);
 * `proveMs` = snarkjs.groth16.prove with snarkjs's default worker pool (one thread per core);
 * `proveMs1` = the same with `singleThread` (one core); `verifyMs` = snarkjs.groth16.verify (JS).
 * Each is the median of `--runs` runs after one untimed warm-up run.
 */
import { availableParallelism, cpus, loadavg, totalmem, platform, arch } from "node:os";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as snarkjs from "snarkjs";
import { ROOT, compileConfig, compileTarget, listTargets, type CircuitKind, type CompiledCircuit } from "./circuits/circom.ts";
import { readR1csHeader } from "./circuits/r1cs.ts";
import { rng } from "./circuits/xorshift.ts";
import { devPtauPower, requiredPower, setupCircuit } from "./circuits/setup.ts";
import {
  publicKeyOf,
  sealedSlot,
  simulateRound,
  validateConfig,
  type CircuitConfig,
  type CircuitInput,
  type RoundSlot,
} from "@fedmarket/core";

/**
 * Largest dev powers of tau the benchmark sets up: 2^16 holds the demo's chunk circuit (sealed
 * updates made it larger than 2^15); a 2^17 setup takes too long for a benchmark run on 2 cores.
 */
const MAX_POWER = 16;
/** The aggregator's secret scalar in the benchmark rounds (public: benchmark only). */
const BENCH_SEAL_SECRET = 0xbe7c4n;
/** The model of the projection: MNIST MLP 784-32-10. */
const PROJECTION_MODEL = { name: "MNIST MLP 784-32-10", parameters: 784 * 32 + 32 + 32 * 10 + 10 };
/**
 * Budget of the whole chunk statement (chunk constraints per trainer-parameter at K = 8), shared by
 * sealed updates and the fair-scoring rule (issues 11 and 12).
 */
const TARGET_PER_TRAINER_PARAMETER = 32;

/** How much of a circuit is measured. */
type Depth = "full" | "count";

/** One benchmark point: a configuration and how deeply its two circuits are measured. */
interface Point {
  readonly config: CircuitConfig;
  readonly chunk: Depth;
  readonly decision: Depth;
  readonly role?: string;
}

const cfg = (kMax: number, chunk: number, updateBits: number, modelBits: number): CircuitConfig => ({ kMax, chunk, updateBits, modelBits });

/** The recommended production configuration (see circuits/README.md). */
const PRODUCTION = cfg(8, 512, 8, 24);
/** Its demo variant, small enough for a 2^16 setup (circuits/main/*_k8_c128_b8_g24.circom). */
const DEMO = cfg(8, 128, 8, 24);

const POINTS: readonly Point[] = [
  { config: cfg(4, 16, 16, 32), chunk: "full", decision: "full", role: "test configuration (circuits/main/*_k4_c16)" },
  { config: cfg(8, 32, 8, 24), chunk: "full", decision: "full" },
  { config: cfg(8, 64, 8, 24), chunk: "full", decision: "full" },
  { config: DEMO, chunk: "full", decision: "full", role: "demo (recommended parameters, setup fits 2^16)" },
  { config: cfg(8, 32, 16, 32), chunk: "count", decision: "full" },
  { config: cfg(8, 64, 16, 32), chunk: "full", decision: "full" },
  { config: cfg(8, 256, 8, 24), chunk: "count", decision: "count" },
  { config: PRODUCTION, chunk: "count", decision: "full", role: "recommended production configuration" },
  { config: cfg(8, 1024, 8, 24), chunk: "count", decision: "count" },
  { config: cfg(8, 512, 8, 16), chunk: "count", decision: "count", role: "BG = B + 8 variant" },
  { config: cfg(8, 256, 16, 32), chunk: "count", decision: "count" },
  { config: cfg(8, 512, 16, 32), chunk: "count", decision: "count" },
];

// ---------------------------------------------------------------------------------------------
// Worker: proves one witness single-threaded (used for the 2-worker measurement). The workers are
// child processes, not worker_threads: snarkjs loads the `web-worker` package, which treats any
// module loaded off the main thread as its own worker script and fails there.

/** Command-line flag that makes this script a proving worker. */
const WORKER_FLAG = "--prove-worker";

/** A proving job sent to a worker. */
interface Job {
  readonly id: number;
  readonly wasm: string;
  readonly zkey: string;
  readonly input: CircuitInput;
}

/** A worker's answer. */
interface JobResult {
  readonly id: number;
  readonly witnessMs: number;
  readonly proveMs: number;
  readonly publicSignals: string[];
}

async function witnessInMemory(input: CircuitInput, wasm: string): Promise<snarkjs.MemFile> {
  const wtns: snarkjs.MemFile = { type: "mem" };
  await snarkjs.wtns.calculate(input as snarkjs.WitnessInput, wasm, wtns);
  return wtns;
}

function workerMain(): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error(`${WORKER_FLAG} needs an IPC channel`);
  process.on("message", (job: Job) => {
    void (async () => {
      const t0 = performance.now();
      const wtns = await witnessInMemory(job.input, job.wasm);
      const t1 = performance.now();
      const { publicSignals } = await snarkjs.groth16.prove(job.zkey, wtns, undefined, { singleThread: true });
      const t2 = performance.now();
      const result: JobResult = { id: job.id, witnessMs: t1 - t0, proveMs: t2 - t1, publicSignals };
      send(result);
    })();
  });
  send("ready");
}

// ---------------------------------------------------------------------------------------------
// Main thread.

/** Constraint count and derived numbers of one compiled circuit. */
interface CountResult {
  readonly constraints: number;
  readonly wires: number;
  readonly publicInputs: number;
  /** ptau power its Groth16 setup needs. */
  readonly ptauPower: number;
}

/** Timings of one fully measured circuit (milliseconds, medians). */
interface Measured {
  readonly runs: number;
  readonly witnessMs: number;
  readonly proveMs: number;
  readonly proveMs1: number;
  readonly verifyMs: number;
  readonly zkeyBytes: number;
  readonly setupPtauPower: number;
  /** Seconds the setup took in this run (0 when cached). */
  readonly setupSeconds: number;
  readonly proveMsPerConstraint1: number;
}

interface CircuitResult extends CountResult {
  readonly main: string;
  readonly measured?: Measured;
  readonly note?: string;
}

interface PointResult {
  readonly K: number;
  readonly CHUNK: number;
  readonly B: number;
  readonly BG: number;
  readonly role?: string;
  readonly chunk: CircuitResult & { readonly perTrainerParameter: number; readonly perParameter: number };
  readonly decision: CircuitResult;
}

const started = performance.now();
const log = (m: string): void => {
  console.error(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);
};
const round1 = (x: number): number => Math.round(x * 10) / 10;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const sameConfig = (a: CircuitConfig, b: CircuitConfig): boolean =>
  a.kMax === b.kMax && a.chunk === b.chunk && a.updateBits === b.updateBits && a.modelBits === b.modelBits;

/** Compiles (cached) the committed main file of a configuration if there is one, else a generated main. */
async function compile(kind: CircuitKind, config: CircuitConfig): Promise<CompiledCircuit> {
  const committed = listTargets().find((t) => t.kind === kind && sameConfig(t.config, config));
  const sub = (m: string): void => log(`  ${m}`);
  return committed !== undefined ? compileTarget(committed, sub) : compileConfig(kind, config, sub);
}

function countOf(compiled: CompiledCircuit): CountResult {
  const h = readR1csHeader(compiled.r1cs);
  return { constraints: h.nConstraints, wires: h.nWires, publicInputs: h.nPubIn + h.nPubOut, ptauPower: requiredPower(compiled) };
}

/**
 * A round of two chunks with every slot filled: full-range updates (K - 1 honest ones around
 * zero, one far away) sealed for the aggregator's key, f = 1, a previous model well inside BG bits
 * and, as after any aggregated round, a non-zero step committed with it (zeros would flatter the prover).
 */
function benchRound(config: CircuitConfig): ReturnType<typeof simulateRound> {
  const r = rng(config.kMax * 1000 + config.chunk + config.updateBits);
  const d = 2 * config.chunk;
  const half = 2 ** (config.updateBits - 1);
  const slots: RoundSlot[] = [];
  for (let k = 0; k < config.kMax; k++) {
    const update = Array.from({ length: d }, () => (k === 1 ? r(-half, -half / 2) : r(-half / 4, half / 4 - 1)));
    slots.push(sealedSlot(config, update, publicKeyOf(BENCH_SEAL_SECRET), BigInt(1000 + k)));
  }
  const g = 2 ** (config.modelBits - 2);
  const prevModel = Array.from({ length: d }, () => r(-g, g));
  const prevStep = Array.from({ length: d }, () => r(-half / 4, half / 4 - 1));
  return simulateRound({ config, prevModel, prevStep, slots, f: 1, keccak: 0xbe7c4n << 200n, secret: BENCH_SEAL_SECRET });
}

/** Runs `f` once untimed, then `runs` timed times; returns the median and the last result. */
async function timed<T>(runs: number, f: () => Promise<T>): Promise<{ ms: number; last: T }> {
  let last = await f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    last = await f();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), last };
}

/**
 * Time snarkjs spends per `singleThread` proof building its bn128 curve (it is not cached in that
 * mode); part of every proveMs1, independent of the circuit size.
 */
async function singleThreadCurveMs(runs: number): Promise<number> {
  const t = await timed(runs, async () => {
    const curve = await snarkjs.curves.getCurveFromName("bn128", { singleThread: true });
    await curve.terminate();
  });
  return t.ms;
}

/** Setup (cached) + witness + prove + verify of one circuit on one input. */
async function measure(
  compiled: CompiledCircuit,
  input: CircuitInput,
  expected: readonly bigint[],
  runs: number,
): Promise<{ measured: Measured; zkey: string }> {
  const t0 = performance.now();
  const setup = await setupCircuit(compiled, { kind: "dev" }, (m) => log(`  ${m}`));
  const setupMs = performance.now() - t0;
  const vkey = JSON.parse(readFileSync(setup.vkeyFile, "utf8")) as snarkjs.VerificationKey;
  const name = compiled.target.name;

  const witness = await timed(runs, () => witnessInMemory(input, compiled.wasm));
  log(`  ${name}: witness ${witness.ms.toFixed(0)} ms`);
  const wtns = witness.last;
  const prove = await timed(runs, () => snarkjs.groth16.prove(setup.zkey, wtns));
  log(`  ${name}: prove ${prove.ms.toFixed(0)} ms (snarkjs worker pool)`);
  const prove1 = await timed(runs, () => snarkjs.groth16.prove(setup.zkey, wtns, undefined, { singleThread: true }));
  log(`  ${name}: prove ${prove1.ms.toFixed(0)} ms (single thread)`);
  const { proof, publicSignals } = prove.last;
  if (publicSignals.length !== expected.length || publicSignals.some((s, i) => BigInt(s) !== expected[i])) {
    throw new Error(`${name}: public signals differ from the reference`);
  }
  const verify = await timed(runs, () => snarkjs.groth16.verify(vkey, publicSignals, proof));
  if (!verify.last || !(await snarkjs.groth16.verify(vkey, prove1.last.publicSignals, prove1.last.proof))) {
    throw new Error(`${name}: proof does not verify`);
  }
  log(`  ${name}: verify ${verify.ms.toFixed(0)} ms`);
  const constraints = setup.constraints;
  return {
    zkey: setup.zkey,
    measured: {
      runs,
      witnessMs: round1(witness.ms),
      proveMs: round1(prove.ms),
      proveMs1: round1(prove1.ms),
      verifyMs: round1(verify.ms),
      zkeyBytes: statSync(setup.zkey).size,
      setupPtauPower: devPtauPower(requiredPower(compiled)),
      setupSeconds: setupMs > 2000 ? round1(setupMs / 1000) : 0,
      proveMsPerConstraint1: round3(prove1.ms / constraints),
    },
  };
}

/** Result of proving two different chunk witnesses in two worker processes. */
interface ParallelResult {
  readonly K: number;
  readonly CHUNK: number;
  readonly B: number;
  readonly BG: number;
  readonly runs: number;
  readonly sequentialSingleThreadMs: number;
  readonly sequentialPoolMs: number;
  readonly twoWorkersMs: number;
  readonly speedupVsSingleThread: number;
  readonly speedupVsPool: number;
  readonly method: string;
}

function startWorker(): Promise<ChildProcess> {
  return new Promise((resolvePromise, reject) => {
    const w = fork(fileURLToPath(import.meta.url), [WORKER_FLAG], { serialization: "advanced", stdio: "inherit" });
    w.once("error", reject);
    w.once("message", (m: unknown) => {
      if (m === "ready") resolvePromise(w);
      else reject(new Error(`unexpected worker message ${String(m)}`));
    });
  });
}

function runJob(w: ChildProcess, job: Job): Promise<JobResult> {
  return new Promise((resolvePromise, reject) => {
    w.once("error", reject);
    w.once("message", (m: JobResult) => resolvePromise(m));
    w.send(job);
  });
}

/** Closes a worker's IPC channel (it then exits) and waits for its exit. */
function stopWorker(w: ChildProcess): Promise<void> {
  return new Promise((resolvePromise) => {
    if (w.exitCode !== null) return resolvePromise();
    w.once("exit", () => resolvePromise());
    w.disconnect();
  });
}

/** Witness + prove of chunk witnesses 0 and 1: sequentially vs. in two worker processes. */
async function measureParallel(
  config: CircuitConfig,
  compiled: CompiledCircuit,
  zkey: string,
  inputs: readonly CircuitInput[],
  runs: number,
): Promise<ParallelResult> {
  const both = async (singleThread: boolean): Promise<void> => {
    for (const input of inputs) {
      const wtns = await witnessInMemory(input, compiled.wasm);
      await snarkjs.groth16.prove(zkey, wtns, undefined, singleThread ? { singleThread: true } : undefined);
    }
  };
  const n = Math.min(runs, 2); // each run makes 6 proofs
  const seq1 = await timed(n, () => both(true));
  log(`  2 chunk proofs sequentially, single thread: ${seq1.ms.toFixed(0)} ms`);
  const seqPool = await timed(n, () => both(false));
  log(`  2 chunk proofs sequentially, snarkjs pool: ${seqPool.ms.toFixed(0)} ms`);
  const workers = await Promise.all([startWorker(), startWorker()]);
  try {
    let id = 0;
    const par = await timed(n, async () => {
      const results = await Promise.all(
        workers.map((w, i) => runJob(w, { id: id++, wasm: compiled.wasm, zkey, input: inputs[i] as CircuitInput })),
      );
      return results;
    });
    log(`  2 chunk proofs in 2 workers: ${par.ms.toFixed(0)} ms`);
    return {
      K: config.kMax,
      CHUNK: config.chunk,
      B: config.updateBits,
      BG: config.modelBits,
      runs: n,
      sequentialSingleThreadMs: round1(seq1.ms),
      sequentialPoolMs: round1(seqPool.ms),
      twoWorkersMs: round1(par.ms),
      speedupVsSingleThread: Math.round((seq1.ms / par.ms) * 100) / 100,
      speedupVsPool: Math.round((seqPool.ms / par.ms) * 100) / 100,
      method:
        "wall time of witness + Groth16 prove of two different chunk witnesses (chunk 0, accIn = 0, and " +
        "chunk 1): sequentially in the main thread (singleThread prover, and snarkjs's default worker pool), " +
        "vs. one witness per worker (singleThread prover each; child processes, since snarkjs cannot load in a worker_thread), workers started and loaded beforehand",
    };
  } finally {
    await Promise.all(workers.map(stopWorker));
  }
}

function circomVersion(): string {
  const require = createRequire(import.meta.url);
  const cli = join(dirname(require.resolve("circom2/package.json")), "cli.js");
  try {
    const out = execFileSync(process.execPath, [cli, "--version"], { cwd: ROOT, encoding: "utf8" });
    return out
      .trim()
      .split("\n")
      .map((l) => l.trim())
      .join("; ");
  } catch {
    return "unknown";
  }
}

function packageVersion(name: string): string {
  // Read from node_modules directly: some packages (snarkjs) do not export their package.json.
  try {
    const pkg = JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string };
    return pkg.version;
  } catch {
    return "unknown";
  }
}

function row(p: PointResult): string {
  const m = p.chunk.measured;
  const d = p.decision.measured;
  const cells = [
    p.K,
    p.CHUNK,
    p.B,
    p.BG,
    p.chunk.constraints,
    p.chunk.perTrainerParameter,
    `2^${p.chunk.ptauPower}`,
    m?.witnessMs ?? "-",
    m?.proveMs ?? "-",
    m?.proveMs1 ?? "-",
    m?.verifyMs ?? "-",
    m === undefined ? "-" : (m.zkeyBytes / 2 ** 20).toFixed(1),
    p.decision.constraints,
    d?.proveMs1 ?? "-",
  ];
  return `| ${cells.join(" | ")} |`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      runs: { type: "string", default: "3" },
      "no-parallel": { type: "boolean", default: false },
      out: { type: "string" },
      only: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(readFileSync(new URL(import.meta.url), "utf8").split("*/")[0]);
    return;
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${values.runs} must be a positive integer`);
  const quick = values.quick;
  const parallel = !values["no-parallel"];
  const only = values.only
    ?.split(/[;\s]+/)
    .filter((x) => x !== "")
    .map((x) => {
      const [k, c, b, bg] = x.split(",").map(Number);
      return cfg(k ?? 0, c ?? 0, b ?? 0, bg ?? 0);
    });
  const points = only === undefined ? POINTS : POINTS.filter((p) => only.some((o) => sameConfig(o, p.config)));
  if (only !== undefined && points.length !== only.length) throw new Error(`--only: unknown point(s) in ${values.only ?? ""}`);
  if (only !== undefined && values.out === undefined && !quick)
    throw new Error("--only needs --out (bench/circuit.json holds every point)");
  const out = values.out !== undefined ? resolve(values.out) : quick ? undefined : join(ROOT, "bench", "circuit.json");

  const header = {
    command: `node ${relative(ROOT, process.argv[1] ?? "scripts/bench-circuit.ts")}${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
    date: new Date().toISOString(),
    machine: {
      cores: availableParallelism(),
      cpu: cpus()[0]?.model ?? "unknown",
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      platform: `${platform()} ${arch()}`,
      node: process.version,
    },
    tools: {
      circom: circomVersion(),
      circomFlags: "--O2",
      snarkjs: packageVersion("snarkjs"),
      ffjavascript: packageVersion("ffjavascript"),
      circomlib: packageVersion("circomlib"),
    },
    setup: "DEV setups (scripts/circuits/setup.ts, public seeds, NOT FOR PRODUCTION); timings and sizes equal a real setup's",
    method: {
      points: `"full": compile + Groth16 setup (ptau <= 2^${MAX_POWER}) + witness/prove/verify; "count": compile only`,
      input: "simulateRound (packages/core) of a 2-chunk round, every slot filled, f = 1; chunk timings on chunk 1 (accIn != 0)",
      timings:
        `median of --runs (${runs}) runs after one untimed warm-up; witnessMs = wtns.calculate into memory ` +
        "(wasm load + calculation); proveMs = groth16.prove with snarkjs's worker pool (one thread per core); " +
        "proveMs1 = groth16.prove with singleThread (1 core); verifyMs = groth16.verify (JS)",
      perTrainerParameter: "chunk constraints / (K * CHUNK)",
    },
  };

  const loadStart = loadavg().map((x) => Math.round(x * 100) / 100);
  const results: PointResult[] = [];
  let parallelResult: ParallelResult | undefined;
  const write = (extra: Record<string, unknown>): void => {
    if (out === undefined) return;
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ ...header, points: results, parallel: parallelResult, ...extra }, null, 2)}\n`);
  };

  // Largest fully measured chunk point and its inputs (for the parallel run and the projection).
  let largest: { point: PointResult; compiled: CompiledCircuit; zkey: string; inputs: CircuitInput[] } | undefined;

  try {
    for (const point of points) {
      const c = point.config;
      validateConfig(c);
      const label = `K=${c.kMax} CHUNK=${c.chunk} B=${c.updateBits} BG=${c.modelBits}`;
      log(`${label}${point.role !== undefined ? ` (${point.role})` : ""}`);
      const chunkCompiled = await compile("chunk", c);
      const decisionCompiled = await compile("decision", c);
      const chunkCount = countOf(chunkCompiled);
      const decisionCount = countOf(decisionCompiled);
      log(
        `  constraints: chunk ${chunkCount.constraints} (2^${chunkCount.ptauPower}), decision ${decisionCount.constraints} (2^${decisionCount.ptauPower})`,
      );

      const fullChunk = !quick && point.chunk === "full" && chunkCount.ptauPower <= MAX_POWER;
      const fullDecision = !quick && point.decision === "full" && decisionCount.ptauPower <= MAX_POWER;
      const tooBig = (want: Depth, n: CountResult): string | undefined =>
        !quick && want === "full" && n.ptauPower > MAX_POWER
          ? `counted only: its setup needs 2^${n.ptauPower} > 2^${MAX_POWER}`
          : undefined;
      const round = fullChunk || fullDecision ? benchRound(c) : undefined;

      let chunkMeasured: Measured | undefined;
      let chunkZkey = "";
      if (fullChunk && round !== undefined) {
        const w = round.chunkWitnesses[1];
        if (w === undefined) throw new Error("internal: the bench round has fewer than 2 chunks");
        const m = await measure(chunkCompiled, w.input, w.publicSignals, runs);
        chunkMeasured = m.measured;
        chunkZkey = m.zkey;
      }
      let decisionMeasured: Measured | undefined;
      if (fullDecision && round !== undefined) {
        decisionMeasured = (await measure(decisionCompiled, round.decision.input, round.decision.publicSignals, runs)).measured;
      }
      const chunkNote = tooBig(point.chunk, chunkCount);
      const decisionNote = tooBig(point.decision, decisionCount);
      const result: PointResult = {
        K: c.kMax,
        CHUNK: c.chunk,
        B: c.updateBits,
        BG: c.modelBits,
        ...(point.role !== undefined ? { role: point.role } : {}),
        chunk: {
          main: relative(ROOT, chunkCompiled.target.mainFile),
          ...chunkCount,
          perParameter: round1(chunkCount.constraints / c.chunk),
          perTrainerParameter: Math.round((chunkCount.constraints / (c.kMax * c.chunk)) * 100) / 100,
          ...(chunkMeasured !== undefined ? { measured: chunkMeasured } : {}),
          ...(chunkNote !== undefined ? { note: chunkNote } : {}),
        },
        decision: {
          main: relative(ROOT, decisionCompiled.target.mainFile),
          ...decisionCount,
          ...(decisionMeasured !== undefined ? { measured: decisionMeasured } : {}),
          ...(decisionNote !== undefined ? { note: decisionNote } : {}),
        },
      };
      results.push(result);
      if (
        chunkMeasured !== undefined &&
        round !== undefined &&
        (largest === undefined || chunkCount.constraints > largest.point.chunk.constraints)
      ) {
        largest = {
          point: result,
          compiled: chunkCompiled,
          zkey: chunkZkey,
          inputs: round.chunkWitnesses.slice(0, 2).map((w) => w.input),
        };
      }
      write({});
    }

    if (parallel && largest !== undefined) {
      const p = largest.point;
      log(`parallel proving at K=${p.K} CHUNK=${p.CHUNK} B=${p.B} BG=${p.BG}`);
      parallelResult = await measureParallel(
        { kMax: p.K, chunk: p.CHUNK, updateBits: p.B, modelBits: p.BG },
        largest.compiled,
        largest.zkey,
        largest.inputs,
        runs,
      );
    }
  } finally {
    const holder = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
    await holder.curve_bn128?.terminate();
  }

  const curveMs = quick ? 0 : await singleThreadCurveMs(runs);
  const projection = largest === undefined ? undefined : project(results, largest.point, parallelResult, curveMs);
  const loadEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  const recommendation = recommend(results);
  write({ loadAverage: { start: loadStart, end: loadEnd }, singleThreadCurveBuildMs: round1(curveMs), projection, recommendation });

  console.log(
    "| K | CHUNK | B | BG | chunk constraints | per trainer-param | ptau | witness ms | prove ms (pool) | prove ms (1 core) | verify ms | zkey MiB | decision constraints | decision prove ms (1 core) |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const p of results) console.log(row(p));
  if (parallelResult !== undefined) {
    console.log(
      `\n2 chunk proofs: ${parallelResult.sequentialSingleThreadMs} ms sequential (1 core), ` +
        `${parallelResult.twoWorkersMs} ms in 2 workers: speedup ${parallelResult.speedupVsSingleThread}x`,
    );
  }
  if (projection !== undefined) console.log(`\nprojection: ${JSON.stringify(projection.summary)}`);
  if (out !== undefined) log(`wrote ${relative(ROOT, out)}`);
  else if (quick) console.log(JSON.stringify({ ...header, points: results, recommendation }, null, 2));
}

/**
 * Least-squares fit of the 1-core prove time over the fully measured chunk points:
 * `t = c + a * constraints + b * N log2 N` (N = setup domain: MSMs grow with the constraints,
 * FFTs with the padded domain). Undefined with fewer than 4 points or a singular system.
 */
function fitProveModel(results: readonly PointResult[]): { a: number; b: number; c: number } | undefined {
  const rows = results.flatMap((p) => {
    const m = p.chunk.measured;
    if (m === undefined) return [];
    const n = 2 ** m.setupPtauPower;
    return [{ x: [1, p.chunk.constraints, n * m.setupPtauPower], y: m.proveMs1 }];
  });
  if (rows.length < 4) return undefined;
  // Normal equations (X^T X) w = X^T y, solved by Gaussian elimination with partial pivoting.
  const A = [0, 1, 2].map((i) => [0, 1, 2].map((j) => rows.reduce((acc, r) => acc + (r.x[i] as number) * (r.x[j] as number), 0)));
  const v = [0, 1, 2].map((i) => rows.reduce((acc, r) => acc + (r.x[i] as number) * r.y, 0));
  const M = A.map((row, i) => [...row, v[i] as number]);
  for (let col = 0; col < 3; col++) {
    let piv = col;
    for (let r = col + 1; r < 3; r++)
      if (Math.abs((M[r] as number[])[col] as number) > Math.abs((M[piv] as number[])[col] as number)) piv = r;
    [M[col], M[piv]] = [M[piv] as number[], M[col] as number[]];
    const pr = M[col] as number[];
    if (Math.abs(pr[col] as number) < 1e-9) return undefined;
    for (let r = 0; r < 3; r++) {
      if (r === col) continue;
      const row = M[r] as number[];
      const f = (row[col] as number) / (pr[col] as number);
      for (let k = col; k < 4; k++) row[k] = (row[k] as number) - f * (pr[k] as number);
    }
  }
  const w = M.map((row, i) => (row[3] as number) / (row[i] as number));
  return { c: w[0] as number, a: w[1] as number, b: w[2] as number };
}

/** Projected proving time of a full round (K = 8, MNIST MLP) for the production configuration. */
function project(
  results: readonly PointResult[],
  base: PointResult,
  par: ParallelResult | undefined,
  curveMs: number,
): { summary: Record<string, unknown> } & Record<string, unknown> {
  const find = (c: CircuitConfig): PointResult | undefined =>
    results.find((p) => p.K === c.kMax && p.CHUNK === c.chunk && p.B === c.updateBits && p.BG === c.modelBits);
  const prod = find(PRODUCTION);
  const baseM = base.chunk.measured;
  if (prod === undefined || baseM === undefined) return { summary: { note: "production point or measurements missing" } };
  const d = PROJECTION_MODEL.parameters;
  const proofs = Math.ceil(d / PRODUCTION.chunk);
  // 1-core prove time = fixed curve build (snarkjs singleThread) + a * constraints.
  const msPerConstraint1 = Math.max(0, baseM.proveMs1 - curveMs) / base.chunk.constraints;
  const witnessPerConstraint = baseM.witnessMs / base.chunk.constraints;
  const linear = curveMs + prod.chunk.constraints * msPerConstraint1;
  const basePower = devPtauPower(base.chunk.ptauPower);
  const nLogN = curveMs + prod.chunk.constraints * msPerConstraint1 * (prod.chunk.ptauPower / basePower);
  const witness = prod.chunk.constraints * witnessPerConstraint;
  // Decision: measured directly when its setup fitted, else scaled the same way.
  const dm = prod.decision.measured;
  const decision1 = dm !== undefined ? dm.proveMs1 : curveMs + prod.decision.constraints * msPerConstraint1;
  const decisionWitness = dm !== undefined ? dm.witnessMs : prod.decision.constraints * witnessPerConstraint;
  const speedup = par?.speedupVsSingleThread ?? 2;
  const total1 = proofs * (linear + witness) + decision1 + decisionWitness;
  const total1NLogN = proofs * (nLogN + witness) + decision1 + decisionWitness;
  const fit = fitProveModel(results);
  const fitted =
    fit === undefined ? undefined : fit.c + fit.a * prod.chunk.constraints + fit.b * 2 ** prod.chunk.ptauPower * prod.chunk.ptauPower;
  const total1Fit = fitted === undefined ? undefined : proofs * (fitted + witness) + decision1 + decisionWitness;
  const s = (ms: number): number => Math.round(ms / 100) / 10;
  const demo = find(DEMO);
  const demoM = demo?.chunk.measured;
  const demoDm = demo?.decision.measured;
  const demoProofs = Math.ceil(d / DEMO.chunk);
  const demoTotal1 =
    demoM !== undefined && demoDm !== undefined
      ? demoProofs * (demoM.proveMs1 + demoM.witnessMs) + demoDm.proveMs1 + demoDm.witnessMs
      : undefined;
  return {
    model: `${PROJECTION_MODEL.name}, D = ${d} parameters`,
    configuration: { K: PRODUCTION.kMax, CHUNK: PRODUCTION.chunk, B: PRODUCTION.updateBits, BG: PRODUCTION.modelBits },
    chunkProofs: proofs,
    paddedParameters: proofs * PRODUCTION.chunk - d,
    chunkConstraints: prod.chunk.constraints,
    chunkPtauPower: prod.chunk.ptauPower,
    measuredBase: {
      K: base.K,
      CHUNK: base.CHUNK,
      B: base.B,
      BG: base.BG,
      constraints: base.chunk.constraints,
      proveMs1: baseM.proveMs1,
      witnessMs: baseM.witnessMs,
      singleThreadCurveBuildMs: round1(curveMs),
      msPerConstraint1: round3(msPerConstraint1),
    },
    method:
      "chunk prove time on 1 core = snarkjs singleThread curve build (measured, per proof) + chunk constraints x " +
      "measured single-thread ms per constraint at the largest fully measured chunk point " +
      `(K=${base.K} CHUNK=${base.CHUNK} B=${base.B} BG=${base.BG}, curve build subtracted: ${round3(msPerConstraint1)} ` +
      `ms/constraint), i.e. linear in the constraints; the "NLogN" variant multiplies the per-constraint part by the ` +
      `log2(domain) ratio ${prod.chunk.ptauPower}/${basePower} (FFT growth; pessimistic since the MSMs dominate). ` +
      "Witness time scaled linearly from the same point. Decision: " +
      `${dm !== undefined ? `measured directly (its setup fits 2^${prod.decision.ptauPower})` : "scaled like the chunk"}. ` +
      "1 core = proofs x (chunk witness + prove) + decision witness + prove; 2 workers = 1-core total / the measured " +
      `2-worker speedup (${speedup}x${par !== undefined ? "" : ", assumed"}): chunk proofs are independent once the ` +
      "accumulator states are known (the reference computes them cheaply, sequentially).",
    fitMethod:
      "cross-check: least-squares fit t = c + a * constraints + b * N log2 N (N = setup domain) of the " +
      "1-core chunk prove times of all fully measured chunk points, evaluated at the production chunk",
    ...(fit !== undefined
      ? { fit: { cMs: round1(fit.c), aMsPerConstraint: Math.round(fit.a * 1e5) / 1e5, bMsPerNLogN: Math.round(fit.b * 1e6) / 1e6 } }
      : {}),
    chunkProveMs1: Math.round(linear),
    ...(fitted !== undefined ? { chunkProveMs1Fit: Math.round(fitted) } : {}),
    chunkProveMs1NLogN: Math.round(nLogN),
    chunkWitnessMs: Math.round(witness),
    decisionProveMs1: Math.round(decision1),
    decisionWitnessMs: Math.round(decisionWitness),
    twoWorkerSpeedup: speedup,
    summary: {
      oneCoreSeconds: s(total1),
      twoWorkersSeconds: s(total1 / speedup),
      oneCoreSecondsNLogN: s(total1NLogN),
      twoWorkersSecondsNLogN: s(total1NLogN / speedup),
      ...(total1Fit !== undefined ? { oneCoreSecondsFit: s(total1Fit), twoWorkersSecondsFit: s(total1Fit / speedup) } : {}),
      ...(demoTotal1 !== undefined
        ? {
            demoConfig: `K=${DEMO.kMax} CHUNK=${DEMO.chunk} B=${DEMO.updateBits} BG=${DEMO.modelBits}: ${demoProofs} chunk proofs x measured per-proof times`,
            demoOneCoreSeconds: s(demoTotal1),
            demoTwoWorkersSeconds: s(demoTotal1 / speedup),
          }
        : {}),
    },
  };
}

/** The recommended configuration and the reasons, from the counts. */
function recommend(results: readonly PointResult[]): Record<string, unknown> {
  const k8 = results.filter((p) => p.K === 8);
  const meeting = k8.filter((p) => p.chunk.perTrainerParameter <= TARGET_PER_TRAINER_PARAMETER);
  const prod = k8.find((p) => p.CHUNK === PRODUCTION.chunk && p.B === PRODUCTION.updateBits && p.BG === PRODUCTION.modelBits);
  return {
    target: `<= ${TARGET_PER_TRAINER_PARAMETER} chunk constraints per trainer-parameter at K = 8`,
    production: {
      K: PRODUCTION.kMax,
      CHUNK: PRODUCTION.chunk,
      B: PRODUCTION.updateBits,
      BG: PRODUCTION.modelBits,
      perTrainerParameter: prod?.chunk.perTrainerParameter,
      chunkConstraints: prod?.chunk.constraints,
      ptauPower: prod?.chunk.ptauPower,
    },
    demo: {
      K: DEMO.kMax,
      CHUNK: DEMO.chunk,
      B: DEMO.updateBits,
      BG: DEMO.modelBits,
      mains: ["circuits/main/chunk_k8_c128_b8_g24.circom", "circuits/main/decision_k8_c128_b8_g24.circom"],
    },
    meetingTarget: meeting.map((p) => `K=${p.K} CHUNK=${p.CHUNK} B=${p.B} BG=${p.BG}: ${p.chunk.perTrainerParameter}`),
    why:
      "B = 8 halves the dominant per-parameter costs (update unpacking K*B, and P = 31 values per packed element " +
      "instead of 15) and BG = 24 = B + 16 leaves headroom for the model; at CHUNK = 512 the fixed per-chunk cost " +
      "(two hashes of the 6 + K + K(K+1)/2 state fields, K + 2 chain steps, the keystream of each sealed slot) is " +
      "spread over 4x more parameters than at CHUNK = 128, so the count meets the target with a 2^17 setup (public " +
      "ceremony files exist); CHUNK = 1024 would need 2^18. The demo uses CHUNK = 128 so its dev setup fits 2^16.",
  };
}

if (process.argv[2] === WORKER_FLAG) workerMain();
else await main();
