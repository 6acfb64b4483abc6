/**
 * A pool of proving workers (worker_threads, one per core by default). Each worker loads the
 * circuit files once and proves single-threaded; tasks are queued and handed to the next free
 * worker, so the chunk proofs of a round are proven in parallel. Proofs are verified in the main
 * thread with the verification keys (`verify`).
 */
import os from "node:os";
import { Worker } from "node:worker_threads";
import * as snarkjs from "snarkjs";
import type { CircuitInput } from "@fedmarket/core";
import { releaseCurves } from "@fedmarket/protocol";
import type { RoundCircuits } from "./artifacts.ts";

export type CircuitKind = "chunk" | "decision";

export interface WorkerCircuits {
  readonly chunk: { readonly wasm: string; readonly zkey: string };
  readonly decision: { readonly wasm: string; readonly zkey: string };
}

export interface ProofTask {
  readonly id: number;
  readonly circuit: CircuitKind;
  readonly input: CircuitInput;
}

export type ProofTaskResult =
  | {
      readonly id: number;
      readonly proof: snarkjs.Groth16Proof;
      readonly publicSignals: string[];
      readonly ms: number;
      readonly error?: undefined;
    }
  | { readonly id: number; readonly error: string; readonly ms: number };

/** A proof as snarkjs returns it, plus how long it took. */
export interface GeneratedProof {
  readonly proof: snarkjs.Groth16Proof;
  readonly publicSignals: string[];
  readonly ms: number;
}

interface Pending {
  task: ProofTask;
  resolve: (p: GeneratedProof) => void;
  reject: (e: Error) => void;
}

export class ProverPool {
  readonly size: number;
  readonly circuits: RoundCircuits;
  readonly #workers: Worker[] = [];
  readonly #idle: Worker[] = [];
  readonly #queue: Pending[] = [];
  readonly #running = new Map<Worker, Pending>();
  #nextId = 1;
  #closed = false;
  #verifying: Promise<unknown> = Promise.resolve();

  constructor(circuits: RoundCircuits, size = os.availableParallelism()) {
    this.size = Math.max(1, size);
    this.circuits = circuits;
    const data: WorkerCircuits = {
      chunk: { wasm: circuits.chunk.wasm, zkey: circuits.chunk.zkey },
      decision: { wasm: circuits.decision.wasm, zkey: circuits.decision.zkey },
    };
    for (let i = 0; i < this.size; i++) {
      // snarkjs's `web-worker` dependency takes over any worker thread it is loaded in and runs
      // `workerData.mod`: give it an empty script; our own data travels in `circuits`.
      const w = new Worker(new URL("./prover-worker.ts", import.meta.url), {
        workerData: { mod: "data:text/javascript,void 0", name: "fedmarket-prover", type: "classic", circuits: data },
      });
      w.on("message", (r: ProofTaskResult) => this.#done(w, r));
      w.on("error", (err) => this.#failed(w, err));
      this.#workers.push(w);
      this.#idle.push(w);
    }
  }

  /** Proves one witness input. */
  prove(circuit: CircuitKind, input: CircuitInput): Promise<GeneratedProof> {
    if (this.#closed) return Promise.reject(new Error("the prover pool is closed"));
    return new Promise((resolve, reject) => {
      this.#queue.push({ task: { id: this.#nextId++, circuit, input }, resolve, reject });
      this.#pump();
    });
  }

  /** Verifies a proof with the circuit's verification key (main thread). */
  verify(circuit: CircuitKind, publicSignals: readonly string[], proof: snarkjs.Groth16Proof): Promise<boolean> {
    // One at a time: concurrent first calls would each build snarkjs's cached curve (a thread
    // pool) and leak all but one of them.
    const run = this.#verifying.then(() => snarkjs.groth16.verify(this.circuits[circuit].vkey, publicSignals, proof));
    this.#verifying = run.catch(() => false);
    return run;
  }

  #pump(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const w = this.#idle.pop() as Worker;
      const p = this.#queue.shift() as Pending;
      this.#running.set(w, p);
      w.postMessage(p.task);
    }
  }

  #done(w: Worker, r: ProofTaskResult): void {
    const p = this.#running.get(w);
    this.#running.delete(w);
    this.#idle.push(w);
    if (p !== undefined) {
      if (r.error !== undefined) p.reject(new Error(`proving ${p.task.circuit} failed: ${r.error}`));
      else p.resolve({ proof: r.proof, publicSignals: r.publicSignals, ms: r.ms });
    }
    this.#pump();
  }

  #failed(w: Worker, err: Error): void {
    const p = this.#running.get(w);
    this.#running.delete(w);
    p?.reject(new Error(`a proving worker crashed: ${err.message}`));
    const i = this.#workers.indexOf(w);
    if (i >= 0) this.#workers.splice(i, 1);
    if (this.#workers.length === 0) {
      for (const q of this.#queue.splice(0)) q.reject(new Error("every proving worker crashed"));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const q of this.#queue.splice(0)) q.reject(new Error("the prover pool is closed"));
    await Promise.all(this.#workers.map((w) => w.terminate()));
    this.#workers.length = 0;
    await releaseCurves();
  }
}
