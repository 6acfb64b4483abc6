/**
 * Production-size round benchmark (issue 15, item 4): sets up the recommended production circuits
 * (K 8, CHUNK 512, B 8, BG 24; the chunk circuit needs 2^17) with the DEV powers of tau and proves one
 * whole round of the 25,450-parameter MNIST MLP 784-32-10 (50 chunk proofs and the decision proof)
 * off chain, then writes `"fullMlpRound"` into bench/round.json (the rest of the file is
 * `npm run bench:round`'s and is kept).
 *
 *   node scripts/bench-production-round.ts              # setup (cached after the first run) + one round
 *   node scripts/bench-production-round.ts --chunks 4   # prove only the first 4 chunk proofs (a quick look; no file)
 *
 * The round is the reference implementation's (`simulateRound`, as the aggregator computes it): eight
 * sealed updates of seeded values (six around zero, two far away: f = 2 Byzantine), so every slot is
 * decrypted, unpacked and scored. Proving time does not depend on the values. Proofs are made one
 * after the other with snarkjs's worker pool (one thread per core), as the aggregator's pool does on
 * this machine, and each is verified. Peak memory is `process.resourceUsage().maxRSS` (the proving
 * threads are in this process). DEV setup (public seeds): NOT FOR PRODUCTION; timings equal a real one's.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as snarkjs from "snarkjs";
import { publicKeyOf, sealedSlot, simulateRound, type CircuitConfig, type CircuitInput, type RoundSlot } from "@fedmarket/core";
import { ROOT, compileConfig, type CircuitKind, type CompiledCircuit } from "./circuits/circom.ts";
import { readR1csHeader } from "./circuits/r1cs.ts";
import { requiredPower, setupCircuit } from "./circuits/setup.ts";
import { rng } from "./circuits/xorshift.ts";

const { values } = parseArgs({ options: { chunks: { type: "string" } } });
const PRODUCTION: CircuitConfig = { kMax: 8, chunk: 512, updateBits: 8, modelBits: 24 };
const MODEL = { name: "MNIST MLP 784-32-10", parameters: 784 * 32 + 32 + 32 * 10 + 10 };
/** The aggregator's secret scalar (public: benchmark only). */
const SEAL_SECRET = 0x9a0d5eedn;
const F = 2;
const OUT = join(ROOT, "bench", "round.json");

const started = performance.now();
const log = (m: string): void => console.error(`[production ${((performance.now() - started) / 1000).toFixed(0).padStart(5)} s] ${m}`);
const rssMiB = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

async function prepare(
  kind: CircuitKind,
): Promise<{ compiled: CompiledCircuit; zkey: string; vkey: snarkjs.VerificationKey; setupMs: number }> {
  const compiled = await compileConfig(kind, PRODUCTION, (m) => log(`  ${m}`));
  const t0 = performance.now();
  const setup = await setupCircuit(compiled, { kind: "dev" }, (m) => log(`  ${m}`));
  const setupMs = performance.now() - t0;
  const h = readR1csHeader(compiled.r1cs);
  log(`${kind}: ${h.nConstraints} constraints, 2^${requiredPower(compiled)}; setup ${(setupMs / 1000).toFixed(1)} s (0 if cached)`);
  return { compiled, zkey: setup.zkey, vkey: JSON.parse(readFileSync(setup.vkeyFile, "utf8")) as snarkjs.VerificationKey, setupMs };
}

/**
 * Eight sealed updates over the whole model: six around zero, two far away (f = 2), on a model
 * committed with a non-zero step, as after any aggregated round (zeros would flatter the prover).
 */
function round(): ReturnType<typeof simulateRound> {
  const r = rng(25_450);
  const d = MODEL.parameters;
  const half = 2 ** (PRODUCTION.updateBits - 1);
  const slots: RoundSlot[] = [];
  for (let k = 0; k < PRODUCTION.kMax; k++) {
    const far = k === 2 || k === 5;
    const update = Array.from({ length: d }, () => (far ? r(-half, -half / 2) : r(-half / 4, half / 4 - 1)));
    slots.push(sealedSlot(PRODUCTION, update, publicKeyOf(SEAL_SECRET), BigInt(5000 + k)));
  }
  const g = 2 ** (PRODUCTION.modelBits - 2);
  const prevModel = Array.from({ length: d }, () => r(-g, g));
  const prevStep = Array.from({ length: d }, () => r(-half / 4, half / 4 - 1));
  return simulateRound({ config: PRODUCTION, prevModel, prevStep, slots, f: F, keccak: 0x9a0dn << 200n, secret: SEAL_SECRET });
}

/** Witness + proof + verification of one input; times in ms. */
async function proveOne(
  c: { compiled: CompiledCircuit; zkey: string; vkey: snarkjs.VerificationKey },
  input: CircuitInput,
  expected: readonly bigint[],
): Promise<{ witnessMs: number; proveMs: number }> {
  const t0 = performance.now();
  const wtns: snarkjs.MemFile = { type: "mem" };
  await snarkjs.wtns.calculate(input as snarkjs.WitnessInput, c.compiled.wasm, wtns);
  const t1 = performance.now();
  const { proof, publicSignals } = await snarkjs.groth16.prove(c.zkey, wtns);
  const t2 = performance.now();
  if (publicSignals.length !== expected.length || publicSignals.some((s, i) => BigInt(s) !== expected[i])) {
    throw new Error(`${c.compiled.target.name}: public signals differ from the reference`);
  }
  if (!(await snarkjs.groth16.verify(c.vkey, publicSignals, proof)))
    throw new Error(`${c.compiled.target.name}: the proof does not verify`);
  return { witnessMs: t1 - t0, proveMs: t2 - t1 };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const chunk = await prepare("chunk");
const decision = await prepare("decision");
log(`setup done; peak RSS so far ${rssMiB()} MiB`);

const t0 = performance.now();
const r = round();
const referenceMs = performance.now() - t0;
const limit = values.chunks === undefined ? r.chunkWitnesses.length : Math.min(Number(values.chunks), r.chunkWitnesses.length);
log(`reference round: ${r.chunkWitnesses.length} chunks in ${(referenceMs / 1000).toFixed(1)} s; proving ${limit}`);

const tRound = performance.now();
const chunkTimes: { witnessMs: number; proveMs: number }[] = [];
for (let j = 0; j < limit; j++) {
  const w = r.chunkWitnesses[j]!;
  const t = await proveOne(chunk, w.input, w.publicSignals);
  chunkTimes.push(t);
  const left = ((performance.now() - tRound) / (j + 1)) * (limit - j - 1);
  log(
    `chunk ${j + 1}/${limit}: witness ${t.witnessMs.toFixed(0)} ms, prove ${t.proveMs.toFixed(0)} ms; about ${(left / 60_000).toFixed(1)} min left`,
  );
}
const decisionTime = await proveOne(decision, r.decision.input, r.decision.publicSignals);
const provingWallMs = performance.now() - tRound;
log(`decision: witness ${decisionTime.witnessMs.toFixed(0)} ms, prove ${decisionTime.proveMs.toFixed(0)} ms`);

if (limit < r.chunkWitnesses.length) {
  log(`only ${limit} of ${r.chunkWitnesses.length} chunks proven (--chunks): nothing written`);
  process.exit(0);
}

const fullMlpRound = {
  command: "node scripts/bench-production-round.ts",
  date: new Date().toISOString(),
  machine: { cores: availableParallelism(), cpu: cpus()[0]?.model.trim() ?? "unknown", memoryGiB: Math.round(totalmem() / 2 ** 30) },
  setup: "DEV setups (scripts/circuits/setup.ts, public seeds, NOT FOR PRODUCTION); timings and sizes equal a real setup's",
  model: { ...MODEL, chunks: r.chunkWitnesses.length },
  circuit: {
    ...PRODUCTION,
    chunkConstraints: readR1csHeader(chunk.compiled.r1cs).nConstraints,
    chunkPtauPower: requiredPower(chunk.compiled),
    decisionConstraints: readR1csHeader(decision.compiled.r1cs).nConstraints,
    decisionPtauPower: requiredPower(decision.compiled),
  },
  round: `simulateRound (packages/core) of 8 sealed updates, f = ${F}; every proof checked against the reference's public signals and verified`,
  setupSeconds: { chunk: Math.round(chunk.setupMs / 100) / 10, decision: Math.round(decision.setupMs / 100) / 10, note: "0 when cached" },
  referenceSeconds: Math.round(referenceMs / 100) / 10,
  wallSeconds: Math.round(provingWallMs / 100) / 10,
  perChunkProof: {
    proveMsMedian: Math.round(median(chunkTimes.map((t) => t.proveMs))),
    proveMsMax: Math.round(Math.max(...chunkTimes.map((t) => t.proveMs))),
    witnessMsMedian: Math.round(median(chunkTimes.map((t) => t.witnessMs))),
  },
  decisionProof: { proveMs: Math.round(decisionTime.proveMs), witnessMs: Math.round(decisionTime.witnessMs) },
  peakRssMiB: rssMiB(),
  notes:
    "wallSeconds: witness + prove + verify of every chunk proof and the decision proof, one after the other, snarkjs worker pool " +
    "(one thread per core); referenceSeconds: the aggregator's reference computation of the round (simulateRound); peakRssMiB: " +
    "maxRSS of this process (setup, reference and proving threads).",
};
const file = JSON.parse(readFileSync(OUT, "utf8")) as Record<string, unknown>;
writeFileSync(OUT, JSON.stringify({ ...file, fullMlpRound }, null, 2) + "\n");
log(`wrote fullMlpRound into ${OUT}: ${fullMlpRound.wallSeconds} s, peak ${fullMlpRound.peakRssMiB} MiB`);
process.exit(0);
