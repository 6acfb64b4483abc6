/**
 * Step 5, **prove** (`proofs/chunk-<j>.json`, `proofs/decision.json`): every chunk proof and the
 * decision proof at once in the worker pool (one worker per core, snarkjs single-threaded in each).
 * Each proof is checked against the public signals the reference computation expects and verified
 * with the local verification key before its file is written, so a proof on disk is always one the
 * contract will accept; a restart proves only what is missing (a file whose signals do not match
 * the round's result is made again).
 */
import type { CircuitConfig, RoundResult } from "@fedmarket/core";
import { proofWords, writeFileAtomic } from "@fedmarket/protocol";
import type { Groth16Proof } from "snarkjs";
import { AggregatorError } from "../errors.ts";
import type { CircuitKind, GeneratedProof } from "../prover-pool.ts";
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
  if (todo.length > 0) {
    const pool = await provers.pool(config);
    const bar = log.progress("prove", jobs.length, "proofs");
    let n = jobs.length - todo.length;
    bar.update(n);
    let first = true;
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
        bar.update(++n, { info: `${job.kind} ${job.kind === "chunk" ? job.j : ""}` });
        log.log("debug", "proof.done", `${job.kind} proof ${job.j} in ${p.ms} ms`, { circuit: job.kind, index: job.j, ms: p.ms });
        if (first) {
          first = false;
          chain = chain.then(() => ctx.checkpoint("after-first-proof"));
          await chain;
        }
      }),
    );
    bar.stop();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    log.log(
      "info",
      "round.proved",
      `${todo.length} proof(s) made and verified locally in ${seconds} s (${jobs.length - todo.length} reused)`,
      {
        proofs: todo.length,
        reused: jobs.length - todo.length,
        ms: Date.now() - started,
      },
    );
    await ctx.checkpoint("after-prove");
  }
  return {
    chunks: result.chunkWitnesses.map((_, j) => words.get(`chunk:${j}`) as bigint[]),
    decision: words.get("decision:0") as bigint[],
  };
}
