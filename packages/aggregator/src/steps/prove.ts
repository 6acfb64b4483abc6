/**
 * Step 5, **prove** (`proofs/chunk-<j>.json`, `proofs/decision.json`): every chunk proof and the
 * decision proof at once in the worker pool (one worker per core, snarkjs single-threaded in each).
 * Each proof is checked against the public signals the reference computation expects and verified
 * with the local verification key before its file is written, so a proof on disk is always one the
 * contract will accept; a restart proves only what is missing (a file whose signals do not match
 * the round's result is made again) and says how many it reused. Progress is logged at info level,
 * one line per proof with the estimated time left (`proof 3/9 (chunk 2) in 2.9 s; ETA 17 s`), so a
 * plain log is not silent for the minute or more a round's proofs take.
 */
import type { CircuitConfig, RoundResult } from "@fedmarket/core";
import { proofWords, writeFileAtomic } from "@fedmarket/protocol";
import type { Groth16Proof } from "snarkjs";
import { AggregatorError } from "../errors.ts";
import type { CircuitKind, GeneratedProof } from "../prover-pool.ts";
import { etaMs, formatSeconds, proofProgressLine } from "../progress.ts";
import type { Provers } from "../provers.ts";
import { readJson, toJson } from "../store.ts";
import type { StepContext } from "./context.ts";

/** One proof file. */
export interface ProofFile {
  readonly proof: Groth16Proof;
  readonly publicSignals: string[];
  readonly ms: number;
}

/** The round's proofs as calldata words. */
export interface RoundProofs {
  readonly chunks: bigint[][];
  readonly decision: bigint[];
}

/** The round's proofs: the valid ones on disk, the rest made in the pool, verified and saved. */
export async function makeProofs(ctx: StepContext, config: CircuitConfig, result: RoundResult, provers: Provers): Promise<RoundProofs> {
  const { files, log } = ctx;
  const expected = (kind: CircuitKind, j: number): string[] =>
    kind === "chunk" ? result.chunkWitnesses[j]!.publicSignals.map(String) : result.decision.publicSignals.map(String);
  const fileOf = (kind: CircuitKind, j: number): string => (kind === "chunk" ? files.chunkProofFile(j) : files.decisionProofFile());
  const jobs: { kind: CircuitKind; j: number }[] = [
    ...result.chunkWitnesses.map((_, j) => ({ kind: "chunk" as const, j })),
    { kind: "decision", j: 0 },
  ];
  const words = new Map<string, bigint[]>();
  const todo: { kind: CircuitKind; j: number }[] = [];
  for (const job of jobs) {
    const have = await readJson<ProofFile>(fileOf(job.kind, job.j));
    if (have !== undefined && JSON.stringify(have.publicSignals) === JSON.stringify(expected(job.kind, job.j))) {
      words.set(`${job.kind}:${job.j}`, proofWords(have.proof));
    } else {
      todo.push(job);
    }
  }
  const reused = jobs.length - todo.length;
  const round = `round ${ctx.round}`;
  if (todo.length === 0) {
    log.log("info", "round.proved", `${round}: all ${jobs.length} proofs reused from a previous run (saved in ${files.dir})`, {
      proofs: 0,
      reused,
      ms: 0,
    });
  } else {
    const pool = await provers.pool(config);
    log.log(
      "info",
      "round.proving",
      `${round}: proving ${todo.length} of ${jobs.length} proofs (${result.chunks} chunk + 1 decision) on ${pool.size} worker(s)` +
        (reused > 0 ? `; ${reused} reused from a previous run` : ""),
      { proofs: todo.length, total: jobs.length, reused, workers: pool.size },
    );
    const bar = log.progress("prove", jobs.length, "proofs");
    let n = reused;
    bar.update(n);
    let first = true;
    let provedMs = 0;
    const started = Date.now();
    let chain = Promise.resolve();
    await Promise.all(
      todo.map(async (job) => {
        const input = job.kind === "chunk" ? result.chunkWitnesses[job.j]!.input : result.decision.input;
        const p: GeneratedProof = await pool.prove(job.kind, input);
        const want = expected(job.kind, job.j);
        if (JSON.stringify(p.publicSignals) !== JSON.stringify(want)) {
          throw new AggregatorError(
            "proof",
            `the ${job.kind} proof ${job.j} has public signals ${p.publicSignals.join(",")}, expected ${want.join(",")}`,
          );
        }
        if (!(await pool.verify(job.kind, p.publicSignals, p.proof))) {
          throw new AggregatorError("proof", `the ${job.kind} proof ${job.j} does not verify with the local verification key`);
        }
        await writeFileAtomic(
          fileOf(job.kind, job.j),
          toJson({ proof: p.proof, publicSignals: p.publicSignals, ms: p.ms } satisfies ProofFile),
        );
        words.set(`${job.kind}:${job.j}`, proofWords(p.proof));
        const done = ++n;
        const what = job.kind === "chunk" ? `chunk ${job.j}` : "decision";
        bar.update(done, { info: what });
        provedMs += p.ms;
        const eta = etaMs({ provedMs, made: done - reused, left: jobs.length - done, workers: pool.size });
        log.log("info", "proof.done", `${round}: ${proofProgressLine({ done, total: jobs.length, what, proofMs: p.ms, etaMs: eta })}`, {
          circuit: job.kind,
          index: job.j,
          ms: p.ms,
          done,
          total: jobs.length,
          ...(eta === undefined ? {} : { etaMs: eta }),
        });
        if (first) {
          first = false;
          chain = chain.then(() => ctx.checkpoint("after-first-proof"));
          await chain;
        }
      }),
    );
    bar.stop();
    const ms = Date.now() - started;
    log.log(
      "info",
      "round.proved",
      `${round}: ${todo.length} proof(s) made and verified locally in ${formatSeconds(ms)} (${reused} reused)`,
      { proofs: todo.length, reused, ms },
    );
    await ctx.checkpoint("after-prove");
  }
  return {
    chunks: result.chunkWitnesses.map((_, j) => words.get(`chunk:${j}`) as bigint[]),
    decision: words.get("decision:0") as bigint[],
  };
}
