/**
 * What a node says while it waits for a deadline in chain time (the trainer for the end of the
 * commit window, the aggregator for the end of the reveal window): one line when the wait starts,
 * then a heartbeat at most every `heartbeatMs` ("42 s left"), so a plain log is never silent for
 * long; and one warning when chain time stands still.
 *
 * Chain time is the latest block's timestamp: it moves only when a block is mined. A local
 * `hardhat node` mines only when a transaction arrives (no interval mining by default), so a node
 * polling for a deadline there would wait forever without a word. The watch notices it from the
 * wall clock: it anchors chain time to the wall clock whenever chain time moves, and once the wall
 * clock is `graceMs` past the moment the deadline should have been reached from that anchor, chain
 * time has stood still for that long: it warns once per wait and says how to move it.
 */
import type { NodeLogger } from "./log.ts";

/** Heartbeat period of a wait (default): at most one "N s left" line per 30 s. */
export const DEADLINE_HEARTBEAT_MS = 30_000;
/** How far past the deadline's wall-clock estimate chain time may stand still before the warning (default). */
export const CHAIN_STALL_GRACE_MS = 30_000;

/** Chain time seen at a wall-clock moment: the last time it moved (or the wait's first look). */
export interface ChainClockAnchor {
  /** Latest block timestamp (s). */
  readonly chainTime: number;
  /** Wall clock (ms) when that chain time was first seen. */
  readonly wallMs: number;
}

/** The anchor after a look at the chain: kept while chain time stands still, moved when it moved. */
export function anchorChainClock(previous: ChainClockAnchor | undefined, chainTime: number, wallMs: number): ChainClockAnchor {
  return previous !== undefined && previous.chainTime === chainTime ? previous : { chainTime, wallMs };
}

/**
 * How long (ms) the wall clock is past the moment chain time should have reached `deadline`, had it
 * kept pace with the wall clock since `anchor` (negative: that moment is still ahead).
 */
export function deadlineOverdueMs(anchor: ChainClockAnchor, deadline: number, wallMs: number): number {
  return wallMs - (anchor.wallMs + (deadline - anchor.chainTime) * 1000);
}

/**
 * Whether chain time stands still: the deadline is still ahead in chain time, yet by the wall clock
 * it passed at least `graceMs` ago and no block has moved chain time since (`anchor`).
 */
export function chainTimeStalled(anchor: ChainClockAnchor, deadline: number, wallMs: number, graceMs = CHAIN_STALL_GRACE_MS): boolean {
  return anchor.chainTime < deadline && deadlineOverdueMs(anchor, deadline, wallMs) >= graceMs;
}

/** The warning: what is wrong, since when, and how to move chain time on a local chain. */
export function chainStalledMessage(what: string, anchor: ChainClockAnchor, deadline: number, wallMs: number): string {
  const still = Math.round((wallMs - anchor.wallMs) / 1000);
  const overdue = Math.round(deadlineOverdueMs(anchor, deadline, wallMs) / 1000);
  return (
    `chain time has not moved for ${still} s (latest block timestamp ${anchor.chainTime}), so ${what} never comes: ` +
    `it is at chain time ${deadline}, which the wall clock passed ${overdue} s ago. Chain time moves only when a block is mined. ` +
    "On a local `npx hardhat node` (it mines only when a transaction arrives) mine a block with the JSON-RPC call evm_mine, " +
    'or turn on interval mining: {"method":"evm_setIntervalMining","params":[1000]} (one block per second); ' +
    "on a testnet, check that the RPC endpoint follows the chain's head"
  );
}

export interface DeadlineWatchOptions {
  /** Wall clock in ms (default `Date.now`; tests fake it). */
  readonly now?: () => number;
  /** At most one heartbeat line per this long (default 30 s). */
  readonly heartbeatMs?: number;
  /** Chain time may stand still this long past the deadline's wall-clock estimate before the warning (default 30 s). */
  readonly graceMs?: number;
}

/** One look at the chain while waiting. */
export interface DeadlineLook {
  /** Identifies the wait (e.g. `reveal:3`): a new key starts a new wait (line at once, warning re-armed). */
  readonly key: string;
  /** Event name of the start and heartbeat lines. */
  readonly event: string;
  /** The deadline waited for, as the lines name it: `the reveal deadline of round 3`. */
  readonly what: string;
  /** What follows it, appended to the lines: `then this node reveals`. */
  readonly then?: string;
  /** The deadline (chain time, s). */
  readonly deadline: number;
  /** The latest block timestamp (s). */
  readonly chainTime: number;
  readonly fields?: Record<string, unknown>;
}

/** The state of a node's current wait (`observe` at every poll). */
export class DeadlineWatch {
  readonly #log: NodeLogger;
  readonly #o: DeadlineWatchOptions;
  #wait: { key: string; anchor: ChainClockAnchor; lastBeatMs: number; warned: boolean } | undefined;

  constructor(logger: NodeLogger, options: DeadlineWatchOptions = {}) {
    this.#log = logger;
    this.#o = options;
  }

  /**
   * Logs `waiting for <what>: <n> s left` (info) on a new wait and then at most every `heartbeatMs`, and the
   * chain-stalled warning once per wait (`chainTimeStalled`).
   */
  observe(look: DeadlineLook): void {
    const now = (this.#o.now ?? Date.now)();
    const left = Math.max(0, look.deadline - look.chainTime);
    const fields = { ...look.fields, deadline: look.deadline, chainTime: look.chainTime, secondsLeft: left };
    const then = look.then === undefined ? "" : `; ${look.then}`;
    const beat = (): void => this.#log.log("info", look.event, `waiting for ${look.what}: ${left} s left (chain time)${then}`, fields);
    if (this.#wait?.key !== look.key) {
      this.#wait = { key: look.key, anchor: { chainTime: look.chainTime, wallMs: now }, lastBeatMs: now, warned: false };
      beat();
      return;
    }
    const w = this.#wait;
    w.anchor = anchorChainClock(w.anchor, look.chainTime, now);
    if (now - w.lastBeatMs >= (this.#o.heartbeatMs ?? DEADLINE_HEARTBEAT_MS)) {
      w.lastBeatMs = now;
      beat();
    }
    if (!w.warned && chainTimeStalled(w.anchor, look.deadline, now, this.#o.graceMs)) {
      w.warned = true;
      this.#log.log("warn", "chain.stalled", chainStalledMessage(look.what, w.anchor, look.deadline, now), {
        ...fields,
        stalledMs: now - w.anchor.wallMs,
      });
    }
  }

  /** Ends the current wait (the next `observe` starts a new one). */
  reset(): void {
    this.#wait = undefined;
  }
}
