/**
 * The aggregator node: the state machine of a project's rounds and the loop that drives it. Each
 * step lives in its own module under steps/ and takes an explicit `StepContext`; this class only
 * decides which step runs next, times the steps and owns what lives as long as the node (the
 * proving workers, the checked global model, the verifier verdicts).
 *
 * One round, each step's output written atomically before the next starts:
 * 1. **wait** until the open round's commit and reveal windows have closed (chain time; the seed
 *    of the draw is fixed at once, `drawSeed`); too few revealed updates (< 2f + 3): `skipRound`;
 *    aggregation window already closed: `failRound` (steps/wait.ts)
 * 2. **collect** its `UpdateRevealed` events -> `slots.json` (steps/collect.ts)
 * 3. **open** every slot with the seal secret (fetch, check the commitment, decrypt, decode): the
 *    sealed data of each slot the round decrypts, or why a slot is not available, with the reason
 *    -> `openings.json` (steps/open.ts); its fetches stop in time for the flagging deadline
 * 3b. **flags**: the slots it could not fetch or open are flagged on chain in one transaction
 *    (first half of the aggregation window); the node waits (polling) until the answer deadline,
 *    then reads the answers: published slots join the round, unanswered ones are empty
 *    -> `flags.json` (steps/flag.ts). A slot that cannot be flagged in time makes the round
 *    unprovable: the node sends nothing and fails the round after its aggregation window
 * 3c. **reference**: the owner's reference `v` as the chain will pass it to the decision proof:
 *    waited for until published (or its window closed), fetched and opened, flagged when it does
 *    not open (with the slots' flags), its answer read -> `reference.json` (steps/reference.ts)
 * 4. **compute** the round with `@fedmarket/core`'s `simulateRound` -> `input.json`, `round.json` (steps/compute.ts)
 * 5. **prove** every chunk and the decision in the worker pool, verified locally -> `proofs/` (steps/prove.ts)
 * 6. **pin** the new global model -> `model.json` (steps/pin.ts)
 * 7. **submit** chunk proofs in batches and `finalizeRound` -> `txs.json` (steps/submit.ts); in a
 *    project with a challenge window, the proofs pinned for watchers and `finalizeRoundOptimistic`
 *    instead -> `optimistic.json` (steps/optimistic.ts)
 * 8. **settle**: how the round ended, from the chain's events -> `done.json` (steps/settle.ts)
 * 9. **report** (with a validation set, after finalization; unproven, best effort) -> `report.json`
 *    (report/round-report-step.ts)
 *
 * Before every round, and after the project ended until none is left: the node's optimistic
 * rounds are tended (steps/optimistic.ts): an open challenge is answered with the kept proofs, a
 * round whose challenge window closed is settled.
 *
 * Before a round: the project's spec and verifier are checked (verifier-check.ts) and its circuit
 * artifacts must be prepared already (`fedmarket-aggregator setup`, prepare.ts). A restart (also
 * after `kill -9`) re-reads the step files and continues; nothing random is used except the
 * proofs' own blinding, and proofs are persisted. The chain is the authority on whether a round is
 * over: before sending anything the node waits for its pending transactions and looks for the
 * round's `RoundFinalized` (or skipped/failed) event, so a round finalized by this or another
 * instance is never finalized twice.
 */
import { ZeroAddress, type Signer } from "ethers";
import type { CircuitConfig } from "@fedmarket/core";
import {
  DeadlineWatch,
  OutageTracker,
  ProjectStatus,
  sleep,
  type BlobStore,
  type NodeLogger,
  type OutageBackoffOptions,
  type ProjectInfo,
  type RoundInfo,
} from "@fedmarket/protocol";
import { ArtifactsError } from "./artifacts.ts";
import type { AggregatorChain } from "./chain.ts";
import { AggregatorError } from "./errors.ts";
import { checkAggregatorKey } from "./keys.ts";
import { Provers } from "./provers.ts";
import { roundStatus } from "./status.ts";
import { collectSlots } from "./steps/collect.ts";
import { computeRound } from "./steps/compute.ts";
import { stepContext, type Checkpoint, type NodeContext, type StepContext, type StepSettings } from "./steps/context.ts";
import { ModelCache } from "./steps/model-cache.ts";
import { fetchDeadlineOf, mergedOpenings, settleFlags, type FlagsFile } from "./steps/flag.ts";
import { tendOptimisticRounds } from "./steps/optimistic.ts";
import { openSlots } from "./steps/open.ts";
import { settleReference, settledReference } from "./steps/reference.ts";
import { pinNewModel } from "./steps/pin.ts";
import { makeProofs } from "./steps/prove.ts";
import { recordRoundEnd, settlePastRounds, type DoneFile } from "./steps/settle.ts";
import { submitRound } from "./steps/submit.ts";
import { failMissedRound, fixSeed, quorumOf, skipRoundWithoutQuorum, submissionWindowWait } from "./steps/wait.ts";
import { projectCircuitConfig, VerifierCheck } from "./verifier-check.ts";

export interface AggregatorNodeOptions extends StepSettings {
  readonly chain: AggregatorChain;
  readonly signer: Signer;
  readonly store: BlobStore;
  readonly logger: NodeLogger;
  /** `--circuits` folder; default: the repository's cached dev setup. */
  readonly circuitsDir?: string;
  /** Proving workers (default: one per core). */
  readonly workers?: number;
  readonly pollIntervalMs?: number;
  /** Test hook: called at each checkpoint (throw to simulate a crash). */
  readonly onCheckpoint?: (name: Checkpoint) => void | Promise<void>;
  /** Wall clock of the waits' heartbeat and chain-stall warning (default `Date.now`; tests fake it). */
  readonly now?: () => number;
}

export type RoundOutcome =
  | {
      readonly kind: "waiting";
      readonly round: number;
      readonly reason: string;
      /** The deadline waited for (chain time), when there is one: the end of the reveal window, or of the answers to flags. */
      readonly untilChainTime?: number;
      /** What that deadline is, for the wait's log lines (default: the round's reveal deadline). */
      readonly deadline?: { readonly key: string; readonly what: string; readonly then: string };
      /** The chain time (latest block timestamp) the wait was decided at. */
      readonly chainTime?: number;
    }
  | { readonly kind: "ended"; readonly status: string }
  | { readonly kind: "done"; readonly round: number; readonly done: DoneFile };

export interface StepTimes {
  [step: string]: number;
}

export class AggregatorNode {
  readonly o: AggregatorNodeOptions;
  /** Wall time of each step of the last `runRound` (ms). */
  readonly times: StepTimes = {};
  /** What every step is given (the round's folder is added per round). */
  readonly #ctx: NodeContext;
  readonly #provers: Provers;
  readonly #verifier: VerifierCheck;
  /** The current global model, quantized and checked against its commitment (fetched once per model). */
  readonly #models = new ModelCache();

  constructor(o: AggregatorNodeOptions) {
    this.o = o;
    this.#ctx = { chain: o.chain, store: o.store, log: o.logger, config: o, checkpoint: (name) => this.#checkpoint(name) };
    this.#provers = new Provers({
      log: o.logger,
      ...(o.circuitsDir === undefined ? {} : { circuitsDir: o.circuitsDir }),
      ...(o.workers === undefined ? {} : { workers: o.workers }),
    });
    this.#verifier = new VerifierCheck(this.#ctx, this.#provers);
  }

  get log(): NodeLogger {
    return this.o.logger;
  }

  async #checkpoint(name: Checkpoint): Promise<void> {
    await this.o.onCheckpoint?.(name);
  }

  async #timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      this.times[step] = (this.times[step] ?? 0) + Date.now() - t;
    }
  }

  async close(): Promise<void> {
    await this.#provers.close();
  }

  /** The project's circuit configuration from its spec, checked against the chain and the verifier (verifier-check.ts). */
  circuitConfig(project: ProjectInfo): Promise<CircuitConfig> {
    return projectCircuitConfig(this.#ctx, project);
  }

  /**
   * The project's circuit configuration, once its proving artifacts are known to be there
   * (`resolveCircuits`: a ceremony's `--circuits` folder, or the cached dev setup). Missing ones
   * are an `AggregatorError` "artifacts" (the CLI exits 2) naming the command that prepares them:
   * making them takes minutes, which must never be spent inside an aggregation window.
   */
  async requireArtifacts(project: ProjectInfo): Promise<CircuitConfig> {
    const config = await this.circuitConfig(project);
    try {
      await this.#provers.circuits(config);
    } catch (err) {
      if (!(err instanceof ArtifactsError)) throw err;
      const remedy =
        this.o.circuitsDir === undefined
          ? `prepare them first, before any aggregation window: \`fedmarket-aggregator setup --project ${project.id}\` ` +
            "with this command's --rpc-url, --market and --ipfs-api / --ipfs-repo / --data flags (it compiles the circuits and makes " +
            "their DEV Groth16 keys: minutes, once per machine; `accept` does it too unless --skip-setup), or pass --circuits <dir> with a ceremony's keys"
          : `copy the ceremony's .wasm, .zkey and .vkey.json files into ${this.o.circuitsDir} ` +
            `(\`fedmarket-aggregator setup --project ${project.id} --circuits ${this.o.circuitsDir}\` checks them)`;
      throw new AggregatorError("artifacts", `project ${project.id} cannot be proven here: ${err.message}. Nothing was done; ${remedy}`, {
        cause: err,
      });
    }
    return config;
  }

  /** Refuses a project whose on-chain verifier does not accept the local keys' proofs (verifier-check.ts). */
  checkVerifier(project: ProjectInfo, config: CircuitConfig): Promise<void> {
    return this.#verifier.check(project, config);
  }

  // -------------------------------------------------------------------------------------------
  // The state machine
  // -------------------------------------------------------------------------------------------

  /**
   * Processes the project's open round if its submission window has closed; returns at once with
   * `waiting` otherwise. Every step resumes from the files of a previous (crashed) run.
   */
  async runRound(projectId: bigint): Promise<RoundOutcome> {
    const { project, round, chainTime } = await this.o.chain.client.getOpenRound(projectId);
    if (project.status === ProjectStatus.None) throw new AggregatorError("unknown-project", `project ${projectId} does not exist`);
    // First what a crash left unrecorded, also when that round's end closed the project.
    const settled = await settlePastRounds(this.#ctx, projectId, round.round);
    if (settled !== undefined) return { kind: "done", ...settled };
    // Then its optimistic rounds: an open challenge blocks the open round until answered.
    const optimistic = await tendOptimisticRounds(this.#ctx, projectId, chainTime);
    if (project.status === ProjectStatus.Completed || project.status === ProjectStatus.Cancelled) {
      if (optimistic !== undefined) {
        const deadline = {
          key: `settle:${optimistic.untilChainTime}`,
          what: "an optimistic round's challenge window",
          then: "then this node settles it",
        };
        return {
          kind: "waiting",
          round: round.round,
          reason: optimistic.reason,
          untilChainTime: optimistic.untilChainTime,
          chainTime,
          deadline,
        };
      }
      return { kind: "ended", status: project.statusName };
    }
    // A failed round ends the appointment (the contract clears the aggregator): nobody is the
    // aggregator until the owner appoints one, so there is nothing to refuse, only to wait for.
    if (project.status === ProjectStatus.AwaitingAggregator && project.aggregator === ZeroAddress) {
      return {
        kind: "waiting",
        round: round.round,
        reason:
          "the project has no aggregator (a failed round ends the appointment): it waits for its owner to appoint one (appointAggregator) " +
          "and for that aggregator to accept (acceptAggregator: post the bond and register the seal key)",
      };
    }
    if (project.aggregator.toLowerCase() !== this.o.address.toLowerCase()) {
      throw new AggregatorError(
        "not-aggregator",
        `${this.o.address} is not the aggregator of project ${projectId} (it is ${project.aggregator}): use the appointed aggregator's key`,
      );
    }
    if (project.status === ProjectStatus.AwaitingAggregator) {
      return {
        kind: "waiting",
        round: round.round,
        reason: "the project waits for its aggregator to accept (acceptAggregator: post the bond and register the seal key)",
      };
    }
    const r = round.round;
    const ctx = stepContext(this.#ctx, projectId, r);
    const done = await ctx.files.read<DoneFile>("done.json");
    if (done !== undefined) return { kind: "done", round: r, done };
    if (round.seed === 0n && chainTime < round.submissionDeadline) await fixSeed(ctx);
    const wait = submissionWindowWait(round, chainTime);
    if (wait !== undefined) return { kind: "waiting", round: r, ...wait, chainTime };
    const quorum = quorumOf(project);
    if (round.submissions < quorum) return { kind: "done", round: r, done: await skipRoundWithoutQuorum(ctx, round, quorum) };
    checkAggregatorKey(project, this.o.sealSecret, "this node's configuration");
    const config = await this.requireArtifacts(project);
    await this.checkVerifier(project, config);
    return this.#aggregate(ctx, project, round, config, chainTime);
  }

  /**
   * A round with quorum whose reveal window has closed: finalize it (after the answers to its flags,
   * if it flagged slots: `waiting` until then), or fail it if its aggregation window passed too.
   */
  async #aggregate(
    ctx: StepContext,
    project: ProjectInfo,
    round: RoundInfo,
    config: CircuitConfig,
    chainTime: number,
  ): Promise<RoundOutcome> {
    const r = ctx.round;
    const done = (d: DoneFile): RoundOutcome => ({ kind: "done", round: r, done: d });
    // A previous run (or another instance) may have finalized it already.
    if ((await ctx.chain.roundEnd(project.id, r)) !== undefined) return done(await recordRoundEnd(ctx));
    if (chainTime >= round.aggregationDeadline) return done(await failMissedRound(ctx, round));
    const slots = await this.#timed("collect", () => collectSlots(ctx, round));
    const fetchDeadline = fetchDeadlineOf(project, round, chainTime);
    const opened = await this.#timed("open", () => openSlots(ctx, project, config, slots, { fetchDeadline }));
    const flags = await this.#timed("flags", () => settleFlags(ctx, project, round, config, opened));
    // Settled every time the flags are, so that a bad reference blob is flagged in the same half window.
    const reference = await this.#timed("reference", () => settleReference(ctx, project, round, config, fetchDeadline));
    if (flags.kind === "unprovable" || reference.kind === "unprovable") {
      const reason = flags.kind === "unprovable" ? flags.reason : reference.kind === "unprovable" ? reference.reason : "";
      const deadline = { key: `unprovable:${r}`, what: `the aggregation deadline of round ${r}`, then: "then this node fails the round" };
      return { kind: "waiting", round: r, reason, untilChainTime: round.aggregationDeadline, chainTime, deadline };
    }
    if (reference.kind === "waiting") {
      const { reason, untilChainTime } = reference;
      const deadline = {
        key: `reference:${r}:${untilChainTime}`,
        what: `round ${r}'s reference window`,
        then: "then this node reads the owner's reference and aggregates",
      };
      return { kind: "waiting", round: r, reason, untilChainTime, chainTime: reference.chainTime, deadline };
    }
    if (flags.kind === "waiting") {
      const { reason, untilChainTime } = flags;
      const deadline = {
        key: `answers:${r}`,
        what: `the answer deadline of round ${r}'s flags`,
        then: "then this node reads the answers and aggregates",
      };
      return { kind: "waiting", round: r, reason, untilChainTime, chainTime: flags.chainTime, deadline };
    }
    const { openings } = flags;
    const { result } = await this.#timed("compute", () => computeRound(ctx, project, config, openings, this.#models, reference.reference));
    const proofs = await this.#timed("prove", () => makeProofs(ctx, config, result, this.#provers));
    const cid = await this.#timed("pin", () => pinNewModel(ctx, project, config, result));
    return done(await this.#timed("submit", () => submitRound(ctx, project, result, proofs, cid)));
  }

  // -------------------------------------------------------------------------------------------
  // Loop, status, prove-only
  // -------------------------------------------------------------------------------------------

  /**
   * Runs rounds until the project ends (or `once`: until one round is done), polling chain time.
   * An outage of the chain's endpoint or of IPFS (@fedmarket/protocol's `OutageTracker`) is waited
   * out, however long: one warn line when the connection drops, the round retried with capped
   * backoff (`backoff`; default 1 s doubling to 30 s), one info line when it is back; every step
   * resumes from the round's files. With `once` an outage ends the run like any other error.
   * Before the first round it refuses (`AggregatorError` "artifacts") when the project's circuit
   * artifacts are not prepared (`requireArtifacts`). While it waits for a round's reveal deadline it
   * says so at once and then at most every 30 s, and warns once when chain time stands still
   * (@fedmarket/protocol's `DeadlineWatch`: a local chain that mines no blocks).
   */
  async run(
    projectId: bigint,
    options: { once?: boolean; signal?: AbortSignal; backoff?: OutageBackoffOptions } = {},
  ): Promise<RoundOutcome> {
    const outages = new OutageTracker(this.log, options.backoff);
    const watch = new DeadlineWatch(this.log, this.o.now === undefined ? {} : { now: this.o.now });
    let lastWaiting = "";
    let artifactsChecked = false;
    for (;;) {
      if (options.signal?.aborted) return { kind: "waiting", round: -1, reason: "stopped" };
      let out: RoundOutcome;
      /** After a done round: whether the next one has not opened yet (else loop at once). */
      let pause = false;
      try {
        // Before the first round: refuse at once (not at the next deadline) when nothing can be proven.
        if (!artifactsChecked) artifactsChecked = await this.#checkArtifacts(projectId);
        out = await this.runRound(projectId);
        if (out.kind === "done" && !options.once) {
          // the next round opens in the same transaction; loop at once
          const p = await this.o.chain.client.getProject(projectId);
          pause = p.currentRound === out.round && p.status === ProjectStatus.Active;
        }
      } catch (err) {
        if (!options.once && (await outages.backoff(err, options.signal))) continue;
        throw err;
      }
      outages.restored();
      if (out.kind === "ended") return out;
      if (out.kind === "done") {
        if (options.once) return out;
        if (pause) await sleep(this.o.pollIntervalMs ?? 5_000, options.signal);
        continue;
      }
      if (out.untilChainTime !== undefined && out.chainTime !== undefined) {
        // a deadline (reveal, answers to flags): a line now, a heartbeat, a warning if chain time stands still
        watch.observe({
          key: out.deadline?.key ?? `reveal:${out.round}`,
          event: "round.waiting",
          what: out.deadline?.what ?? `the reveal deadline of round ${out.round}`,
          then: out.deadline?.then ?? "then this node aggregates the round",
          deadline: out.untilChainTime,
          chainTime: out.chainTime,
          fields: { round: out.round },
        });
        lastWaiting = "";
      } else if (out.reason !== lastWaiting) {
        watch.reset();
        this.log.log("info", "round.waiting", out.reason, { round: out.round });
        lastWaiting = out.reason;
      }
      await sleep(this.o.pollIntervalMs ?? 5_000, options.signal);
    }
  }

  /**
   * `run`'s check before its first round: the project's artifacts are there (`requireArtifacts`),
   * unless the project has ended. Returns true once checked.
   */
  async #checkArtifacts(projectId: bigint): Promise<boolean> {
    const project = await this.o.chain.client.getProject(projectId);
    if (project.status === ProjectStatus.None) throw new AggregatorError("unknown-project", `project ${projectId} does not exist`);
    if (project.status !== ProjectStatus.Completed && project.status !== ProjectStatus.Cancelled) await this.requireArtifacts(project);
    return true;
  }

  /** What the data folder and the chain say about a round (default: the open one; status.ts). */
  status(projectId: bigint, round?: number): Promise<Record<string, unknown>> {
    return roundStatus({ client: this.o.chain.client, dataDir: this.o.dataDir }, projectId, round);
  }

  /**
   * Collects, opens, computes and proves round `round` (the open round, after its reveal
   * window) without submitting anything; returns the folder with the proofs.
   */
  async proveRound(projectId: bigint, round: number): Promise<{ dir: string; chunks: number }> {
    const { project, round: open, chainTime } = await this.o.chain.client.getOpenRound(projectId);
    if (open.round !== round) {
      throw new AggregatorError(
        "round",
        `round ${round} is not the open round of project ${projectId} (round ${open.round} is): only the open round can be proven (its commitments and model are on chain)`,
      );
    }
    if (chainTime < open.revealDeadline) {
      throw new AggregatorError(
        "round",
        `the commit and reveal windows of round ${round} are open for ${open.revealDeadline - chainTime} s more; prove it after they close`,
      );
    }
    checkAggregatorKey(project, this.o.sealSecret, "this node's configuration");
    const config = await this.requireArtifacts(project);
    const ctx = stepContext(this.#ctx, projectId, round);
    const slots = await this.#timed("collect", () => collectSlots(ctx, open));
    const opened = await this.#timed("open", () => openSlots(ctx, project, config, slots));
    // Prove-only sends nothing, so it flags nothing: it uses settled flags when a run left them
    // (else a slot it cannot open is proven as empty, which the chain accepts only once it is flagged and unanswered).
    const flags = await ctx.files.read<FlagsFile>("flags.json");
    const openings = flags?.settled === true ? mergedOpenings(opened, flags.published ?? []) : opened;
    // Likewise the owner's reference: the one a run settled, else none (which the chain accepts only
    // when the reference does not count).
    const reference = await settledReference(ctx);
    const { result } = await this.#timed("compute", () => computeRound(ctx, project, config, openings, this.#models, reference));
    await this.#timed("prove", () => makeProofs(ctx, config, result, this.#provers));
    return { dir: ctx.files.dir, chunks: result.chunks };
  }
}
