/**
 * The steps of a round, one module each, in the order the node runs them (aggregator-node.ts
 * decides which runs next; each step takes a `StepContext` and leaves its file in the round folder):
 *
 * | step | module | writes |
 * | --- | --- | --- |
 * | wait (skip / fail without proofs) | wait.ts | `txs.json`, `done.json` |
 * | collect | collect.ts | `slots.json` |
 * | open | open.ts | `openings.json` |
 * | flags (flag, wait for answers) | flag.ts | `flags.json` |
 * | reference (wait for publication, open, flag, read the answer) | reference.ts | `reference.json` |
 * | compute | compute.ts (+ model-cache.ts) | `input.json`, `round.json` |
 * | prove | prove.ts (+ provers.ts) | `proofs/` |
 * | pin | pin.ts | `model.json` |
 * | submit | submit.ts (+ hyper-params.ts) | `hyperparams.json`, `txs.json` |
 * | optimistic (submit's commit; tend: answer challenges, settle after the window) | optimistic.ts | `optimistic.json` |
 * | settle | settle.ts | `done.json` |
 * | report (optional) | report/round-report-step.ts | `report.json` |
 */
export * from "./context.ts";
export * from "./wait.ts";
export * from "./collect.ts";
export * from "./open.ts";
export * from "./flag.ts";
export * from "./reference.ts";
export * from "./model-cache.ts";
export * from "./compute.ts";
export * from "./prove.ts";
export * from "./pin.ts";
export * from "./hyper-params.ts";
export * from "./submit.ts";
export * from "./settle.ts";
export * from "./optimistic.ts";
