/**
 * `fedmarket-aggregator setup` (and `accept`, before it posts the bond): prepare every circuit
 * artifact a project needs BEFORE any aggregation window, because making them takes a while
 * (compiling the circuits with circom, the Groth16 keys: about a minute for the demo circuits in
 * dev, much longer from a ceremony's ptau at production size) and a round's window does not wait. `run` only finds them (artifacts.ts `resolveCircuits`) and refuses to
 * start when they are missing.
 *
 * The dev setup is made with the repository's circuit scripts, the same functions and the same
 * cache (`.cache/circuits`) the node used to call on first use: compile (`compileTarget`) and
 * Groth16 keys (`setupCircuit`: dev keys computed directly from their public secrets) per circuit.
 * Each step says `setup k/N` when it starts, passes on the scripts' own progress lines (percentages
 * of the dev keys, snarkjs's stages), says it is still running every `heartbeatMs` (15 s) and
 * how long it took. A ceremony's `--circuits` folder is only checked: nobody but the ceremony can
 * make its keys.
 */
import path from "node:path";
import { circuitNames, type CircuitConfig } from "@fedmarket/core";
import { releaseCurves, REPO_ROOT, type BlobStore, type FedMarketClient, type NodeLogger, type ProjectInfo } from "@fedmarket/protocol";
import { AggregatorError } from "./errors.ts";
import { ArtifactsError, circuitArtifactsStatus, devCircuitStates, devScripts, type DevCircuitState } from "./artifacts.ts";
import { formatSeconds } from "./progress.ts";
import { blobSource, type StepSettings } from "./steps/context.ts";
import { projectCircuitConfig } from "./verifier-check.ts";

/** Heartbeat period of a long setup step (default): the log is never silent for longer. */
export const SETUP_HEARTBEAT_MS = 15_000;

/** One step of a dev setup: compile a circuit, or make its Groth16 keys. */
export interface SetupStep {
  readonly kind: "compile" | "keys";
  readonly circuit: string;
}

/** The steps still needed for these circuits' dev setup, in order: per circuit, compile then keys. */
export function planDevSetup(circuits: readonly Pick<DevCircuitState, "name" | "isCompiled" | "hasKeys">[]): SetupStep[] {
  return circuits.flatMap((c) => [
    ...(c.isCompiled ? [] : [{ kind: "compile" as const, circuit: c.name }]),
    ...(c.hasKeys ? [] : [{ kind: "keys" as const, circuit: c.name }]),
  ]);
}

/** What a step does, as its lines say it. */
export function stepLabel(step: SetupStep): string {
  return step.kind === "compile"
    ? `compiling ${step.circuit} (circom)`
    : `making the DEV Groth16 keys of ${step.circuit} (zkey computed from the dev setup's public secrets, verification key)`;
}

/** What a finished step did, as its done line says it. */
function doneLabel(step: SetupStep): string {
  return step.kind === "compile" ? `compiled ${step.circuit}` : `made the DEV Groth16 keys of ${step.circuit}`;
}

/** The heartbeat line of step `k` of `n`: still running, for how long, and the last progress line it printed. */
export function heartbeatLine(k: number, n: number, step: SetupStep, elapsedMs: number, last?: string): string {
  return `setup ${k}/${n}: still ${step.kind === "compile" ? "compiling" : "making the keys of"} ${step.circuit}, ${formatSeconds(elapsedMs)} so far${
    last === undefined ? "" : ` (last: ${last})`
  }`;
}

export interface PrepareOptions {
  /** A ceremony's folder (`--circuits`): only checked. Default: the repository's dev setup, made if missing. */
  readonly dir?: string;
  /** Heartbeat period of a long step (default 15 s). */
  readonly heartbeatMs?: number;
}

export interface PreparedCircuits {
  readonly config: CircuitConfig;
  readonly names: { readonly chunk: string; readonly decision: string };
  readonly dev: boolean;
  /** Steps made now (0: everything was there). */
  readonly steps: number;
  readonly ms: number;
}

/** Runs one step with its start line, progress lines, heartbeat and done line. */
async function runStep(
  logger: NodeLogger,
  k: number,
  n: number,
  step: SetupStep,
  heartbeatMs: number,
  fn: (log: (m: string) => void) => Promise<unknown>,
): Promise<void> {
  const fields = { step: k, steps: n, kind: step.kind, circuit: step.circuit };
  logger.log("info", "setup.step", `setup ${k}/${n}: ${stepLabel(step)}`, fields);
  const started = Date.now();
  let last: string | undefined;
  const heartbeat = setInterval(
    () =>
      logger.log("info", "setup.heartbeat", heartbeatLine(k, n, step, Date.now() - started, last), { ...fields, ms: Date.now() - started }),
    heartbeatMs,
  );
  heartbeat.unref();
  try {
    await fn((m) => {
      // the heartbeat repeats the last progress figure (a percentage, a snarkjs stage and its size)
      if (/%|\(\d+\)$/.test(m)) last = m.length > 120 ? `${m.slice(0, 117)}...` : m;
      logger.log("info", "setup.progress", `setup ${k}/${n}: ${m}`, fields);
    });
  } finally {
    clearInterval(heartbeat);
  }
  const ms = Date.now() - started;
  logger.log("info", "setup.step-done", `setup ${k}/${n} done: ${doneLabel(step)} in ${(ms / 1000).toFixed(1)} s`, { ...fields, ms });
}

/**
 * Prepares the artifacts of a circuit configuration: the dev setup (compile, Groth16 keys), made
 * where missing and cached, or, with `dir`, a check that the ceremony's files are all there
 * (`ArtifactsError` naming the missing ones). Afterwards `resolveCircuits` finds everything, so a
 * node proves without making anything.
 */
export async function prepareCircuits(config: CircuitConfig, logger: NodeLogger, options: PrepareOptions = {}): Promise<PreparedCircuits> {
  const started = Date.now();
  const names = circuitNames(config);
  const both = `${names.chunk} and ${names.decision}`;
  if (options.dir !== undefined) {
    const { missing } = await circuitArtifactsStatus(config, { dir: options.dir });
    if (missing.length > 0) {
      throw new ArtifactsError(
        `--circuits ${options.dir} lacks files: ${missing.join("; ")}. Copy the ceremony's files there ` +
          "(setup makes only the repository's DEV setup: leave out --circuits for that)",
        missing,
      );
    }
    logger.log("info", "setup.done", `--circuits ${options.dir} has every file of ${both}: nothing to prepare`, { ...names, dev: false });
    return { config, names, dev: false, steps: 0, ms: Date.now() - started };
  }
  const steps = planDevSetup(await devCircuitStates([names.chunk, names.decision]));
  const cache = path.relative(process.cwd(), path.join(REPO_ROOT, ".cache", "circuits")) || ".cache/circuits";
  if (steps.length === 0) {
    logger.log("info", "setup.done", `the DEV setup of ${both} is ready (cached in ${cache}): nothing to prepare`, { ...names, dev: true });
    return { config, names, dev: true, steps: 0, ms: Date.now() - started };
  }
  logger.log(
    "info",
    "setup.start",
    `preparing the DEV setup of ${both} in ${steps.length} step(s) (cached in ${cache}; about a minute on 2 cores for the demo's circuits, mostly compiling)`,
    { ...names, steps: steps.length },
  );
  const s = await devScripts();
  const heartbeatMs = options.heartbeatMs ?? SETUP_HEARTBEAT_MS;
  try {
    for (const [i, step] of steps.entries()) {
      await runStep(logger, i + 1, steps.length, step, heartbeatMs, async (log) => {
        // the state again: an earlier step (or another process) may have made part of it
        const [state] = await devCircuitStates([step.circuit]);
        const target = (state as DevCircuitState).target;
        if (step.kind === "compile") await s.compileTarget(target, log);
        else await s.setupCircuit(s.compiledPaths(target), { kind: "dev" }, log);
      });
    }
  } finally {
    // snarkjs keeps the curve's worker threads alive after a setup: the node starts its own
    if (steps.some((st) => st.kind === "keys")) await releaseCurves();
  }
  const ms = Date.now() - started;
  logger.log(
    "info",
    "setup.done",
    `the DEV setup of ${both} is ready in ${formatSeconds(ms)} (NOT FOR PRODUCTION: public toxic waste; use --circuits with a ceremony's keys)`,
    { ...names, dev: true, steps: steps.length, ms },
  );
  return { config, names, dev: true, steps: steps.length, ms };
}

export interface ProjectSetupOptions extends PrepareOptions, Pick<StepSettings, "ipfsTimeoutMs" | "ipfsRetries"> {}

/**
 * Prepares the artifacts of project `project`: its circuit configuration from its model spec
 * (fetched from `store`, checked against the chain and the verifier: `projectCircuitConfig`), then
 * `prepareCircuits`. What `fedmarket-aggregator setup` and `accept` do. Artifacts nobody here can
 * make (a ceremony folder that lacks files, a configuration with no circuit in this repository)
 * are an `AggregatorError` "artifacts" (the CLIs exit 2).
 */
export async function prepareProjectCircuits(
  client: Pick<FedMarketClient, "verifierConfig">,
  store: BlobStore,
  project: ProjectInfo,
  logger: NodeLogger,
  options: ProjectSetupOptions = {},
): Promise<PreparedCircuits> {
  const config = await projectCircuitConfig({ chain: { client }, ...blobSource(store, options) }, project);
  const { chunk, decision } = circuitNames(config);
  logger.log(
    "info",
    "setup.project",
    `project ${project.id}: D = ${project.params.modelSize} parameters, circuits ${chunk} and ${decision} ` +
      `(K_MAX ${config.kMax}, CHUNK ${config.chunk}: ${Math.ceil(project.params.modelSize / config.chunk)} chunk proofs + 1 decision proof per round)`,
    { projectId: project.id, modelSize: project.params.modelSize, ...config },
  );
  try {
    return await prepareCircuits(config, logger, options);
  } catch (err) {
    if (err instanceof ArtifactsError) throw new AggregatorError("artifacts", `project ${project.id}: ${err.message}`, { cause: err });
    throw err;
  }
}
