/**
 * Child processes for end-to-end tests that run the command lines the way a user does. Every child
 * leads its own process group (`detached`), so `killAll()` in an `after` hook takes down what a
 * child started too (npx -> hardhat, CLI -> prover workers) and CI never hangs on a leftover.
 */
import { spawn, type ChildProcess } from "node:child_process";

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Finished extends Exit {
  readonly stdout: string;
  readonly stderr: string;
}

export interface StartOptions {
  readonly cwd?: string;
  readonly env?: Record<string, string | undefined>;
  /** Name in error messages and the transcript. */
  readonly name: string;
}

/** Longest output kept per stream (the tail), enough for the JSON lines a test looks for. */
const KEEP_CHARS = 2_000_000;

export class Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<Exit>;
  #stdout = "";
  #stderr = "";
  #exit: Exit | undefined;
  readonly #listeners = new Set<() => void>();

  constructor(command: string, args: readonly string[], options: StartOptions) {
    this.name = options.name;
    this.process = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, FORCE_COLOR: "0", ...options.env } as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.process.stdout?.on("data", (b: Buffer) => {
      this.#stdout = (this.#stdout + b.toString()).slice(-KEEP_CHARS);
      this.#notify();
    });
    this.process.stderr?.on("data", (b: Buffer) => {
      this.#stderr = (this.#stderr + b.toString()).slice(-KEEP_CHARS);
      this.#notify();
    });
    this.exited = new Promise((resolve) => {
      this.process.once("error", (err) => {
        this.#stderr += `\n[spawn error: ${err.message}]`;
        this.#exit = { code: null, signal: null };
        this.#notify();
        resolve(this.#exit);
      });
      // "close" (not "exit"): the output streams are drained by then.
      this.process.once("close", (code, signal) => {
        this.#exit = { code, signal };
        this.#notify();
        resolve(this.#exit);
      });
    });
    this.exited.catch(() => {});
  }

  get stdout(): string {
    return this.#stdout;
  }
  get stderr(): string {
    return this.#stderr;
  }
  get exit(): Exit | undefined {
    return this.#exit;
  }

  /** stdout parsed as JSON lines (non-JSON lines are skipped). */
  jsonLines(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const line of this.#stdout.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* a partial line */
      }
    }
    return out;
  }

  /** What the child printed, for assertion messages. */
  transcript(): string {
    return `--- ${this.name} (exit ${JSON.stringify(this.#exit)}) stdout ---\n${this.#stdout.slice(-6000)}\n--- stderr ---\n${this.#stderr.slice(-6000)}`;
  }

  /**
   * Resolves with the first value `probe` returns that is not undefined, re-checked on every
   * output and on exit; rejects if the child exits first or after `safetyMs` (a hang guard for CI,
   * not a performance expectation).
   */
  waitFor<T>(what: string, probe: () => T | undefined, safetyMs = 240_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        let value: T | undefined;
        try {
          value = probe();
        } catch (err) {
          done();
          reject(err);
          return;
        }
        if (value !== undefined) {
          done();
          resolve(value);
          return;
        }
        if (this.#exit !== undefined) {
          done();
          reject(new Error(`${this.name} exited before ${what}\n${this.transcript()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no ${what} after ${safetyMs} ms\n${this.transcript()}`));
      }, safetyMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
      check();
    });
  }

  /** The first JSON line on stdout whose `event` is `event` (and that `match` accepts). */
  waitForEvent(
    event: string,
    match: (line: Record<string, unknown>) => boolean = () => true,
    safetyMs?: number,
  ): Promise<Record<string, unknown>> {
    return this.waitFor(`a "${event}" line`, () => this.jsonLines().find((l) => l.event === event && match(l)), safetyMs);
  }

  /**
   * Signals the whole process group; `evenIfExited` also reaches grandchildren that outlived the
   * group leader (e.g. hardhat under npx).
   */
  kill(signal: NodeJS.Signals, evenIfExited = false): void {
    if ((this.#exit !== undefined && !evenIfExited) || this.process.pid === undefined) return;
    try {
      process.kill(-this.process.pid, signal);
    } catch {
      /* already gone */
    }
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }
}

/** Starts children and remembers them, so one call in `after` ends every one of them. */
export class ChildRegistry {
  readonly children: Child[] = [];

  start(command: string, args: readonly string[], options: StartOptions): Child {
    const child = new Child(command, args, options);
    this.children.push(child);
    return child;
  }

  /** Runs a command to completion (killed after `safetyMs`, a hang guard). */
  async run(command: string, args: readonly string[], options: StartOptions, safetyMs = 240_000): Promise<Finished> {
    const child = this.start(command, args, options);
    const timer = setTimeout(() => child.kill("SIGKILL"), safetyMs);
    const exit = await child.exited;
    clearTimeout(timer);
    return { ...exit, stdout: child.stdout, stderr: child.stderr };
  }

  /** SIGKILLs every child's process group still running and waits for them to be gone. */
  async killAll(): Promise<void> {
    for (const c of this.children) c.kill("SIGKILL", true);
    await Promise.all(this.children.map((c) => c.exited));
  }
}
