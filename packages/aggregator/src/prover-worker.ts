/**
 * A proving worker (worker_threads): receives the circuit files once, then proves one witness
 * input per message with snarkjs (`wtns.calculate` + `groth16.prove`, single-threaded so one worker
 * uses one core). Messages: in `{ id, circuit: "chunk" | "decision", input }`, out
 * `{ id, proof, publicSignals, ms }` or `{ id, error }`.
 */
import { parentPort, workerData } from "node:worker_threads";
import * as snarkjs from "snarkjs";
import type { ProofTask, ProofTaskResult, WorkerCircuits } from "./prover-pool.ts";

const circuits = (workerData as { circuits: WorkerCircuits }).circuits;
if (parentPort === null) throw new Error("prover-worker.ts must run in a worker thread");
const port = parentPort;

port.on("message", (task: ProofTask) => {
  void (async () => {
    const started = Date.now();
    try {
      const files = circuits[task.circuit];
      const wtns: snarkjs.MemFile = { type: "mem" };
      await snarkjs.wtns.calculate(task.input, files.wasm, wtns);
      const { proof, publicSignals } = await snarkjs.groth16.prove(files.zkey, wtns, undefined, { singleThread: true });
      const out: ProofTaskResult = { id: task.id, proof, publicSignals, ms: Date.now() - started };
      port.postMessage(out);
    } catch (err) {
      const out: ProofTaskResult = { id: task.id, error: err instanceof Error ? `${err.message}` : String(err), ms: Date.now() - started };
      port.postMessage(out);
    }
  })();
});
