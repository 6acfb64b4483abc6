/**
 * @fedmarket/aggregator: the aggregator node.
 *
 * - chain.ts: round ctx, aggregator transactions, how a round ended (events)
 * - collect.ts: fetch, decrypt, decode and check each update; exclusions with reasons
 * - free-rider.ts: excludes copies of the last global delta (public, so free riders replay it)
 * - prover-pool.ts (+ prover-worker.ts): Groth16 proving in worker_threads, local verification
 * - artifacts.ts: the circuits' wasm/zkey/vkey (a ceremony folder or the repo's dev setup)
 * - store.ts, lock.ts: per-round step files (atomic), data-folder lock
 * - aggregator-node.ts: the resumable round pipeline; setup.ts: building a node from a config
 * - report/: the unproven round report (GTG-Shapley, leave-one-out on the owner's validation set)
 */
export * from "./artifacts.ts";
export * from "./chain.ts";
export * from "./collect.ts";
export * from "./free-rider.ts";
export * from "./prover-pool.ts";
export * from "./store.ts";
export * from "./lock.ts";
export * from "./aggregator-node.ts";
export * from "./setup.ts";
export * from "./accept.ts";
export * from "./report/gtg-shapley.ts";
export * from "./report/leave-one-out.ts";
export * from "./report/round-report.ts";
export * from "./report/round-report-step.ts";
