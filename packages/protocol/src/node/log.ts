/**
 * Output of the fedmarket nodes (trainer, aggregator): human-readable lines (with cli-progress
 * bars for downloads, training, fetching and proving when stdout is a TTY), or `--json`: one JSON
 * object per line
 * (`{"ts", "level", "event", "msg", ...fields}`, bigints as decimal strings). Secrets are never
 * passed to the logger.
 */
import cliProgress from "cli-progress";

export type Level = "debug" | "info" | "warn" | "error";

export interface Progress {
  update(value: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

export interface NodeLogger {
  log(level: Level, event: string, msg: string, fields?: Record<string, unknown>): void;
  /** A progress bar (TTY only; a no-op otherwise, the caller logs milestones itself). */
  progress(label: string, total: number, unit?: string): Progress;
}

const noProgress: Progress = { update: () => {}, stop: () => {} };

function jsonValue(_key: string, v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Error) return { name: v.name, message: v.message };
  if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString("hex")}`;
  return v;
}

export interface LoggerOptions {
  readonly json?: boolean;
  /** Progress bars (default: stdout is a TTY and not JSON). */
  readonly progress?: boolean;
  readonly quiet?: boolean;
  readonly out?: NodeJS.WritableStream;
  readonly err?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): NodeLogger {
  const out = options.out ?? process.stdout;
  const err = options.err ?? process.stderr;
  const json = options.json ?? false;
  const bars = options.progress ?? (!json && Boolean((out as NodeJS.WriteStream).isTTY));
  return {
    log(level, event, msg, fields = {}) {
      if (options.quiet && (level === "debug" || level === "info")) return;
      if (json) {
        out.write(`${JSON.stringify({ ts: new Date().toISOString(), level, event, msg, ...fields }, jsonValue)}\n`);
        return;
      }
      if (level === "debug") return;
      const line = `${new Date().toISOString().slice(11, 19)} ${level === "info" ? "" : `${level.toUpperCase()}: `}${msg}\n`;
      (level === "error" || level === "warn" ? err : out).write(line);
    },
    progress(label, total, unit = "") {
      if (!bars || total <= 0) return noProgress;
      const bar = new cliProgress.SingleBar(
        {
          format: `${label.padEnd(9)} [{bar}] {percentage}% | {value}/{total}${unit ? ` ${unit}` : ""} {info}`,
          hideCursor: true,
          clearOnComplete: false,
          stream: out as NodeJS.WriteStream,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { info: "" });
      return {
        update: (value, payload) => bar.update(value, { info: "", ...payload }),
        stop: () => bar.stop(),
      };
    },
  };
}

/** A logger that keeps records in memory (tests). */
export function memoryLogger(): NodeLogger & { records: { level: Level; event: string; msg: string; fields: Record<string, unknown> }[] } {
  const records: { level: Level; event: string; msg: string; fields: Record<string, unknown> }[] = [];
  return {
    records,
    log(level, event, msg, fields = {}) {
      records.push({ level, event, msg, fields });
    },
    progress() {
      return noProgress;
    },
  };
}

/**
 * How a node's CLI ends on an error: one error record (a JSON line under `--json`), the stack only
 * with FEDMARKET_DEBUG set, and `exitCode` (default 1, the operation failed; 2 when the command
 * could not run, see cli.ts).
 */
export function reportFailure(logger: NodeLogger, err: unknown, exitCode = 1): void {
  const e = err as Error;
  logger.log("error", "error", e.message, { name: e.name, code: (e as { code?: unknown }).code, exitCode });
  if (process.env.FEDMARKET_DEBUG) console.error(e);
  process.exitCode = exitCode;
}
