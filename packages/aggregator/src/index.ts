/**
 * @fedmarket/aggregator: the aggregator node.
 *
 * - aggregator-node.ts: the node's state machine and loop (which step runs next, timing, checkpoints)
 * - steps/: one module per step of a round (wait, collect, open, compute, prove, pin, submit,
 *   settle), each a function of an explicit `StepContext`; steps/index.ts lists them with their files
 * - verifier-check.ts: start-up checks of a project (spec vs chain, on-chain verifier vs local keys)
 * - errors.ts: `AggregatorError` and its codes; keys.ts: the seal key file and the check against the registered seal key
 * - chain.ts: round ctx, aggregator transactions, the project's history (from its creation block)
 * - provers.ts, prover-pool.ts (+ prover-worker.ts): Groth16 proving in worker_threads, local verification
 * - artifacts.ts: the circuits' wasm/zkey/vkey (a ceremony folder or the repo's cached dev setup), found, never made
 * - prepare.ts: `fedmarket-aggregator setup` (and `accept`): makes the dev setup before any window, with progress
 * - progress.ts: durations and the proofs' ETA as the info-level progress lines say them
 * - store.ts, lock.ts: per-round step files (atomic), data-folder lock; status.ts: what they say
 * - setup.ts: building a node from a config, and status's read-only view (no key, no lock); accept.ts: accepting an appointment
 * - report/: the unproven round report (GTG-Shapley, leave-one-out on the owner's validation set)
 */
export * from "./artifacts.ts";
export * from "./prepare.ts";
export * from "./progress.ts";
export * from "./chain.ts";
export * from "./errors.ts";
export * from "./keys.ts";
export * from "./steps/index.ts";
export * from "./prover-pool.ts";
export * from "./provers.ts";
export * from "./verifier-check.ts";
export * from "./store.ts";
export * from "./status.ts";
export * from "./lock.ts";
export * from "./aggregator-node.ts";
export * from "./setup.ts";
export * from "./accept.ts";
export * from "./report/gtg-shapley.ts";
export * from "./report/leave-one-out.ts";
export * from "./report/round-report.ts";
export * from "./report/round-report-step.ts";
