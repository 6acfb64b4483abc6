/**
 * The trainer node: `join` a project, `run` its rounds, report `status`, `claim` credits.
 * Each step of a round lives in steps/ (draw, prepare, produce, seal, pin, commit, reveal); the
 * account operations in account.ts; this class is the state machine and the loop.
 *
 * One round (`runRound`), resumable at every step through the state file (state.ts):
 *
 *  1. read the project and its open round from chain (by chain time); stop if the project ended,
 *     fail clearly if the window closed or the account is not registered; check that the account
 *     was drawn for a slot (fixing the round's seed if nobody has yet), else wait for the next round;
 *  2. download the model spec and the global model (CIDs from chain; every blob is verified
 *     against its CID), check the spec against the chain (`D`, scale, clip bound, the verifier's
 *     `kMax`/`chunk`) and the global model against the on-chain model commitment;
 *  3. the producer's update (honest: train on the local data -> clipped float delta), saved
 *     (`trained`); a producer may instead name a ready submission (`pinned`);
 *  4. quantize (update.ts -> @fedmarket/core) and seal (@fedmarket/protocol's `sealUpdate`): the
 *     packed update encrypted for the aggregator's registered seal key under a fresh ephemeral
 *     secret (recorded first, so a crash re-seals the same bytes), that secret wrapped for the
 *     owner's X25519 key and bound to (chain, market, project, round, trainer), the commitment over
 *     the ciphertext; saved as `update.fmsu` (`sealed`);
 *  5. pin it (`pinned`, CID);
 *  6. check `getTrainer(...).lastSubmittedRoundPlusOne` and pending transactions, then
 *     `commitUpdate(project, round, sealed)` in the commit window (`committing`, `committed`);
 *  7. once the commit window has closed, `revealUpdate(project, round, commitment, cid)`
 *     (`submitted`, tx hash), wait (`confirmed`). Until then `runRound` returns `committed` and
 *     `run` polls;
 *  8. for the rest of the round's aggregation window (each poll of `run`): if the aggregator flags
 *     this account's slot as not available (`UpdateFlagged`), publish the kept sealed update on
 *     chain before the answer deadline (`publishUpdate`, steps/answer.ts), or the slot counts as
 *     empty and earns nothing.
 *
 * A crash anywhere resumes at the last completed step; a commit or reveal that reached the chain
 * is recognised from `lastSubmittedRoundPlusOne` and its events (never sent twice).
 */
import type { ModelSpec } from "@fedmarket/protocol";
import {
  DeadlineWatch,
  OutageTracker,
  ProjectStatus,
  sleep,
  type NodeLogger,
  type OpenRoundInfo,
  type OutageBackoffOptions,
} from "@fedmarket/protocol";
import { loadDataset, selectBackend, type BackendInfo, type Dataset } from "@fedmarket/ml";
import * as account from "./account.ts";
import type { ClaimResult, JoinResult } from "./account.ts";
import { checkpoint } from "./chain-io.ts";
import { TrainerNodeError } from "./errors.ts";
import type { RoundEntry } from "./state.ts";
import { pinUpdate } from "./steps/pin.ts";
import { prepareRound } from "./steps/prepare.ts";
import { adoptReadySubmission, produceUpdate } from "./steps/produce.ts";
import { sealRoundUpdate } from "./steps/seal.ts";
import { adoptCommit, commitUpdate } from "./steps/commit.ts";
import { ensureDrawn, notDrawnReason } from "./steps/draw.ts";
import { adoptReveal, revealUpdate } from "./steps/reveal.ts";
import { answerFlag } from "./steps/answer.ts";
import type { Checkpoint, RoundOutcome, TrainerNodeOptions } from "./types.ts";
import { LocalTrainingProducer, type UpdateProducer } from "./update-producer.ts";

export { CHECKPOINTS, type Checkpoint, type RoundOutcome, type TrainerNodeOptions } from "./types.ts";

/**
 * The node: the round state machine (`runRound`: which step comes next, from the state file's
 * phase) and its loop (`run`), plus the account operations (account.ts). Each step lives in
 * steps/; the node holds only what outlives a step: the data set and the backend, loaded once.
 */
export class TrainerNode {
  readonly o: TrainerNodeOptions;
  #backend: BackendInfo | undefined;
  #datasetCache: { key: string; ds: Dataset } | undefined;
  readonly #producer: UpdateProducer;

  constructor(options: TrainerNodeOptions) {
    this.o = options;
    this.#backend = options.backend;
    this.#producer = options.producer ?? new LocalTrainingProducer();
  }

  get #log(): NodeLogger {
    return this.o.logger;
  }

  #checkpoint(name: Checkpoint): Promise<void> {
    return checkpoint(this.o, name);
  }

  /** Registers the account in the project, paying the stake if one is required. Idempotent. */
  join(projectId: bigint, allowlistProof: readonly string[] = []): Promise<JoinResult> {
    return account.join(this.o, projectId, allowlistProof);
  }

  /** Project, open round, this account and the local state. */
  status(projectId: bigint): Promise<Record<string, unknown>> {
    return account.status(this.o, projectId);
  }

  /** Withdraws the account's credits in the project's token (and releases its stake if asked). */
  claim(projectId: bigint, options: { releaseStake?: boolean } = {}): Promise<ClaimResult> {
    return account.claim(this.o, projectId, options);
  }

  async #loadData(spec: ModelSpec): Promise<Dataset> {
    if (this.o.data === undefined) throw new TrainerNodeError("no-data", "no training data: pass --data <folder or file>");
    const key = `${this.o.data}|${JSON.stringify(spec.inputShape)}|${spec.labels.join(",")}`;
    if (this.#datasetCache?.key === key) return this.#datasetCache.ds;
    let ds: Dataset;
    try {
      ds = await loadDataset(this.o.data, { inputShape: spec.inputShape, labels: spec.labels });
    } catch (err) {
      throw new TrainerNodeError("bad-data", `cannot use the training data: ${(err as Error).message}`, { cause: err });
    }
    this.#datasetCache = { key, ds };
    return ds;
  }

  async #tf(): Promise<BackendInfo> {
    this.#backend ??= await selectBackend({ log: (m) => this.#log.log("info", "backend", m) });
    return this.#backend;
  }

  /**
   * Does (or resumes) the open round of `projectId`: see the module comment. Throws
   * `TrainerNodeError` with code `window-closed`, `not-registered`, `ipfs`, `bad-data`, ... .
   */
  async runRound(projectId: bigint): Promise<RoundOutcome> {
    const open = await this.o.client.getOpenRound(projectId);
    const p = open.project;
    if (p.status === ProjectStatus.Completed || p.status === ProjectStatus.Cancelled) return { kind: "ended", status: p.statusName };
    if (p.status === ProjectStatus.AwaitingAggregator)
      return { kind: "waiting", reason: "the project waits for its aggregator to post a bond" };
    const me = await this.o.client.getTrainer(projectId, this.o.address);
    if (!me.registered) {
      throw new TrainerNodeError(
        "not-registered",
        `${this.o.address} is not registered in project ${projectId}: run \`fedmarket-trainer join --project ${projectId}\` first`,
      );
    }
    const round = open.round.round;
    let entry = this.o.state.get(projectId, round);
    if (me.lastSubmittedRoundPlusOne === round + 1) return this.#finishCommitted(projectId, open, entry);
    if (p.cancelRequested) return { kind: "waiting", reason: "the owner is cancelling the project" };
    if (!open.submissionOpen) {
      if (entry !== undefined && entry.phase !== "missed")
        await this.o.state.update(projectId, round, { phase: "missed", note: "commit window closed" });
      throw new TrainerNodeError(
        "window-closed",
        `the commit window of round ${round} of project ${projectId} closed at ${new Date(open.round.submissionDeadline * 1000).toISOString()} (chain time ${new Date(open.chainTime * 1000).toISOString()}); nothing was committed. Wait for the next round: \`fedmarket-trainer run\` does`,
      );
    }
    const draw = await ensureDrawn(this.o, p, open.round);
    if (!draw.selected) return { kind: "waiting", reason: notDrawnReason(p, open.round) };
    this.#log.log(
      "info",
      "round.open",
      `project ${projectId}, round ${round}: drawn for slot ${draw.slot}; commit window open for ${open.secondsLeft} s${entry ? ` (resuming at phase ${entry.phase})` : ""}`,
      { projectId, round, slot: draw.slot, secondsLeft: open.secondsLeft, phase: entry?.phase },
    );
    if (entry === undefined || entry.phase === "missed") {
      const input = await prepareRound(this.o, p, round, { loadDataset: (spec) => this.#loadData(spec), backend: () => this.#tf() });
      entry = await adoptReadySubmission(this.o, this.#producer, p, round, input);
      if (entry === undefined) {
        await produceUpdate(this.o, this.#producer, p, round, input);
        await this.#checkpoint("after-train");
        entry = this.o.state.get(projectId, round);
      }
    }
    if (entry?.phase === "trained") {
      await sealRoundUpdate(this.o, p, round);
      await this.#checkpoint("after-seal");
      entry = this.o.state.get(projectId, round);
    }
    if (entry?.phase === "sealed") {
      await pinUpdate(this.o, p, round);
      await this.#checkpoint("after-pin");
      entry = this.o.state.get(projectId, round);
    }
    if (entry?.phase === "pinned" || entry?.phase === "committing") {
      entry = await commitUpdate(this.o, p, round);
      await this.#checkpoint("after-commit");
    }
    return this.#finishCommitted(projectId, await this.o.client.getOpenRound(projectId), entry);
  }

  /**
   * The round after this account's commit landed: wait for the reveal window, reveal, confirm; then,
   * while the round's aggregation window runs, answer a flag on the slot (steps/answer.ts).
   */
  async #finishCommitted(projectId: bigint, open: OpenRoundInfo, current: RoundEntry | undefined): Promise<RoundOutcome> {
    const p = open.project;
    const round = open.round.round;
    let entry = current;
    if (entry?.phase === "confirmed") return { kind: "already-submitted", round, entry: (await answerFlag(this.o, open, entry)).entry };
    if (entry === undefined || entry.phase === "pinned" || entry.phase === "committing") entry = await adoptCommit(this.o, p, round);
    if (entry.phase === "missed") {
      const revealed = await adoptReveal(this.o, p, round);
      return revealed === undefined
        ? { kind: "waiting", reason: entry.note ?? `round ${round} missed` }
        : { kind: "already-submitted", round, entry: revealed };
    }
    if (open.chainTime < open.round.submissionDeadline) {
      return { kind: "committed", round, entry, revealOpensAt: open.round.submissionDeadline, chainTime: open.chainTime };
    }
    if (!open.revealOpen) {
      const revealed = await adoptReveal(this.o, p, round);
      if (revealed !== undefined) return { kind: "already-submitted", round, entry: revealed };
      await this.o.state.update(projectId, round, { phase: "missed", note: "reveal window closed before the reveal" });
      throw new TrainerNodeError(
        "window-closed",
        `the reveal window of round ${round} of project ${projectId} closed at ${new Date(open.round.revealDeadline * 1000).toISOString()} before this account revealed; its commitment earns nothing. Wait for the next round: \`fedmarket-trainer run\` does`,
      );
    }
    // A reveal that landed before a crash is adopted, not sent again.
    const revealed = await revealUpdate(this.o, p, round);
    await this.#checkpoint("after-confirm");
    return { kind: revealed.landed ? "already-submitted" : "submitted", round, entry: revealed.entry };
  }

  /**
   * Loops over rounds until the project ends (or `once`: after one round attempt; a commit is
   * followed through to its reveal).
   * Between rounds it polls the chain every `pollIntervalMs`. A closed window is logged and the
   * node waits for the next round. An outage of the chain's endpoint or of IPFS (@fedmarket/protocol's
   * `OutageTracker`) is waited out, however long: one warn line when the connection drops, the round
   * retried with capped backoff (`backoff`; default 1 s doubling to 30 s), one info line when it is
   * back; every step resumes from the state file. With `once` an outage ends the run like any other
   * error; other errors propagate. While a commitment waits for the reveal window it says so at once
   * and then at most every 30 s, and warns once when chain time stands still (@fedmarket/protocol's
   * `DeadlineWatch`: a local chain that mines no blocks).
   */
  async run(
    projectId: bigint,
    options: { once?: boolean; signal?: AbortSignal; backoff?: OutageBackoffOptions } = {},
  ): Promise<RoundOutcome> {
    const poll = this.o.pollIntervalMs ?? 5_000;
    const outages = new OutageTracker(this.#log, options.backoff);
    const watch = new DeadlineWatch(this.#log, this.o.now === undefined ? {} : { now: this.o.now });
    let lastLogged = "";
    for (;;) {
      if (options.signal?.aborted) return { kind: "waiting", reason: "stopped" };
      let outcome: RoundOutcome | { kind: "missed"; round: number; message: string };
      try {
        try {
          outcome = await this.runRound(projectId);
        } catch (err) {
          if (!(err instanceof TrainerNodeError && err.code === "window-closed" && !options.once)) throw err;
          outcome = { kind: "missed", round: (await this.o.client.getCurrentRound(projectId)).round, message: err.message };
        }
      } catch (err) {
        if (!options.once && (await outages.backoff(err, options.signal))) continue;
        throw err;
      }
      outages.restored();
      if (outcome.kind === "missed") {
        const key = `closed:${outcome.round}`;
        if (key !== lastLogged) this.#log.log("warn", "round.missed", outcome.message);
        lastLogged = key;
        await sleep(poll, options.signal);
        continue;
      }
      if (outcome.kind === "ended") {
        this.#log.log(
          "info",
          "project.ended",
          `project ${projectId} is ${outcome.status}; nothing more to do (\`fedmarket-trainer claim\` withdraws credits)`,
          { projectId },
        );
        return outcome;
      }
      if (options.once && outcome.kind !== "committed") return outcome;
      if (outcome.kind === "committed") {
        // the end of the commit window: a line now, a heartbeat, a warning if chain time stands still
        watch.observe({
          key: `reveal-opens:${projectId}:${outcome.round}`,
          event: "round.wait",
          what: `the commit deadline of round ${outcome.round} (${new Date(outcome.revealOpensAt * 1000).toISOString()})`,
          then: "committed; the update is revealed then",
          deadline: outcome.revealOpensAt,
          chainTime: outcome.chainTime,
          fields: { projectId, round: outcome.round },
        });
        lastLogged = `committed:${outcome.round}`;
        await sleep(poll, options.signal);
        continue;
      }
      watch.reset();
      const key = outcome.kind === "waiting" ? `waiting:${outcome.reason}` : `done:${outcome.round}`;
      if (key !== lastLogged) {
        this.#log.log(
          "info",
          "round.wait",
          outcome.kind === "waiting" ? `waiting: ${outcome.reason}` : `round ${outcome.round} done; waiting for the next round`,
          { projectId },
        );
        lastLogged = key;
      }
      await sleep(poll, options.signal);
    }
  }
}
