/**
 * The trainer node's state file: what it has done for each (project, round), so that `run` can be
 * killed (even with SIGKILL) at any point and started again without losing work, without sending
 * a second submission and without forgetting one that reached the chain.
 *
 * `<stateDir>/state.json` (written atomically: temporary file, fsync, rename, fsync of the folder)
 * and, per round, `<stateDir>/rounds/p<project>-r<round>/`:
 *
 * - `delta.fmw`: the trained, clipped float delta (weights format), written before phase `trained`
 * - `update.fmsu`: the sealed update (`FMSU`: ciphertext, ephemeral key, owner wrap), written
 *   before phase `sealed`; the ephemeral secret `e` it was sealed with is recorded in the entry
 *   first, so that sealing again after a crash writes the same bytes
 *
 * Phases of a round entry, in order: `trained` -> `sealed` -> `pinned` (CID known) -> `committing`
 * (commit transaction hash known) -> `committed` (sealed commitment mined in its drawn slot) ->
 * `submitted` (reveal transaction hash known) -> `confirmed` (reveal mined, or found on chain).
 * `missed`: a window closed before the update was committed or revealed. After `confirmed`, if the
 * aggregator flags the slot as not available, the answer (steps/answer.ts) records `answerTxHash`
 * once sent and `answered` once mined (or found answered on chain). The chain stays the
 * authority: before sending, the node checks `getTrainer(...).lastSubmittedRoundPlusOne` (commit)
 * and its `UpdateRevealed` event (reveal).
 */
import { writeFileAtomic } from "@fedmarket/protocol";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";

export const STATE_VERSION = 1;

export type RoundPhase = "trained" | "sealed" | "pinned" | "committing" | "committed" | "submitted" | "confirmed" | "missed";

export interface RoundEntry {
  readonly projectId: string;
  readonly round: number;
  readonly phase: RoundPhase;
  /**
   * Decimal string of the ephemeral secret `e` the update is sealed with (the seal step's
   * checkpoint, recorded in phase `trained` before the blob is written; cleared with a new delta).
   * It decrypts the update: keep it as secret as `delta.fmw`.
   */
  readonly ephemeralSecret?: string;
  /** Decimal string of the commitment (from phase `sealed`). */
  readonly commitment?: string;
  readonly cid?: string;
  /** The commit transaction (phase `committing` on). */
  readonly commitTxHash?: string;
  /** The reveal transaction (phase `submitted` on). */
  readonly txHash?: string;
  readonly blockNumber?: number;
  readonly slot?: number;
  /** The `publishUpdate` transaction answering a "not available" flag on this slot (steps/answer.ts). */
  readonly answerTxHash?: string;
  /** The flag on this slot is answered on chain (by this node or anyone): the update counts. */
  readonly answered?: boolean;
  /** Training summary, for `status`. */
  readonly samples?: number;
  readonly finalLoss?: number;
  readonly note?: string;
  readonly updatedAt: string;
}

export interface TrainerState {
  readonly version: typeof STATE_VERSION;
  readonly chainId?: string;
  readonly market?: string;
  readonly trainer?: string;
  readonly rounds: Readonly<Record<string, RoundEntry>>;
}

/** What a step changes in a round entry: always the phase, and any of the step's own fields. */
export type RoundPatch = Partial<Omit<RoundEntry, "projectId" | "round" | "updatedAt">> & { phase: RoundPhase };

export class StateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StateError";
  }
}

export function roundKey(projectId: bigint | string, round: number): string {
  return `${projectId}:${round}`;
}

export class StateStore {
  readonly dir: string;
  readonly file: string;
  #state: TrainerState = { version: STATE_VERSION, rounds: {} };
  #queue: Promise<void> = Promise.resolve();

  private constructor(dir: string) {
    this.dir = dir;
    this.file = path.join(dir, "state.json");
  }

  /** Opens (or creates) the state in `dir`. */
  static async open(dir: string): Promise<StateStore> {
    const store = new StateStore(dir);
    await mkdir(dir, { recursive: true });
    let text: string | undefined;
    try {
      text = await readFile(store.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (text !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new StateError(`state file ${store.file} is not valid JSON (${(err as Error).message}); move it away to start over`);
      }
      const s = parsed as TrainerState;
      if (typeof s !== "object" || s === null || s.version !== STATE_VERSION || typeof s.rounds !== "object") {
        throw new StateError(`state file ${store.file} has an unknown format (expected version ${STATE_VERSION})`);
      }
      store.#state = s;
    }
    return store;
  }

  get state(): TrainerState {
    return this.#state;
  }

  /** Folder of one round's files. */
  roundDir(projectId: bigint | string, round: number): string {
    return path.join(this.dir, "rounds", `p${projectId}-r${round}`);
  }

  get(projectId: bigint | string, round: number): RoundEntry | undefined {
    return this.#state.rounds[roundKey(projectId, round)];
  }

  /**
   * Binds the state folder to one chain, marketplace and trainer account; a folder used with
   * another one is an error (its entries would not mean anything there).
   */
  async bind(chainId: bigint, market: string, trainer: string): Promise<void> {
    const s = this.#state;
    const want = { chainId: chainId.toString(), market: market.toLowerCase(), trainer: trainer.toLowerCase() };
    for (const k of ["chainId", "market", "trainer"] as const) {
      const have = s[k];
      if (have !== undefined && have !== want[k]) {
        throw new StateError(
          `state folder ${this.dir} belongs to ${k} ${have}, not ${want[k]}: wrong network, marketplace or key? Use another --state-dir`,
        );
      }
    }
    if (s.chainId === undefined || s.market === undefined || s.trainer === undefined) {
      await this.#write({ ...s, ...want });
    }
  }

  /** Sets a round entry (merged with the existing one) and writes the file atomically. */
  async update(projectId: bigint | string, round: number, patch: RoundPatch): Promise<RoundEntry> {
    const key = roundKey(projectId, round);
    const entry: RoundEntry = {
      ...(this.#state.rounds[key] ?? {}),
      ...patch,
      projectId: projectId.toString(),
      round,
      updatedAt: new Date().toISOString(),
    };
    await this.#write({ ...this.#state, rounds: { ...this.#state.rounds, [key]: entry } });
    return entry;
  }

  async #write(next: TrainerState): Promise<void> {
    const run = this.#queue.then(async () => {
      await writeFileAtomic(this.file, `${JSON.stringify(next, null, 2)}\n`);
      this.#state = next;
    });
    this.#queue = run.catch(() => {});
    await run;
  }
}
