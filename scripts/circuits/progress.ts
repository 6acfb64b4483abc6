/**
 * Progress of the slow steps of a circuit setup (the dev powers of tau, snarkjs's zkey steps): a
 * bar on a terminal, plain log lines otherwise, so that no step runs silently for minutes.
 */
import cliProgress from "cli-progress";
import type { Logger } from "snarkjs";

/** How progress is shown. */
export interface ProgressOptions {
  /** Where plain lines go (they are also the only output when there is no bar). */
  readonly log: (m: string) => void;
  /** Draw a bar on stderr (default: stderr is a TTY). */
  readonly bar?: boolean;
}

/** A running progress display. */
export interface Progress {
  /** Adds `n` to the work done. */
  add(n: number): void;
  stop(): void;
}

const useBar = (options: ProgressOptions): boolean => options.bar ?? Boolean(process.stderr.isTTY);

/** Progress of `total` units of work: a bar, or a log line at every 10 %. */
export function progress(label: string, total: number, options: ProgressOptions): Progress {
  if (useBar(options)) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | ETA {eta_formatted}`,
        hideCursor: true,
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { add: (n) => bar.increment(n), stop: () => bar.stop() };
  }
  let done = 0;
  let shown = 0;
  return {
    add(n) {
      done += n;
      const tenth = Math.floor((10 * done) / total);
      if (tenth > shown && tenth < 10) options.log(`${label}: ${10 * tenth} %`);
      shown = Math.max(shown, tenth);
    },
    stop: () => {},
  };
}

/**
 * A snarkjs logger that shows a step's progress from what snarkjs reports: `<stage>: i/n` debug
 * lines (zkey new, contributions, ...) drive a bar per stage on a terminal; otherwise each stage is
 * logged once, with its size (snarkjs's stages are short enough for that). Warnings and errors are
 * always logged.
 */
export function snarkjsProgress(step: string, options: ProgressOptions): Logger & { stop(): void } {
  const bar = useBar(options)
    ? new cliProgress.SingleBar(
        {
          format: `${step}: {stage} [{bar}] {percentage}%`,
          hideCursor: true,
          stream: process.stderr,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let stage = "";
  let running = false;
  const logged = new Set<string>();
  const report = (msg: string): void => {
    const m = /^(.*?):?\s*(\d+)\s*\/\s*(\d+)$/.exec(msg.trim());
    if (m === null || msg.includes("\n")) return;
    // "Writing points start A" and "... end A" are one stage.
    const name = (m[1] ?? "").replace(/\b(start|end)\b\s*/g, "").trim();
    const done = Number(m[2]);
    const total = Math.max(1, Number(m[3]));
    if (bar === undefined) {
      if (!logged.has(name)) options.log(`${step}: ${name} (${total})`);
      logged.add(name);
    } else if (!running) {
      bar.start(total, done, { stage: name });
      running = true;
    } else {
      if (name !== stage) bar.setTotal(total);
      bar.update(done, { stage: name });
    }
    stage = name;
  };
  return {
    debug: report,
    info: report,
    warn: (msg) => options.log(`${step}: WARNING ${msg}`),
    error: (msg) => options.log(`${step}: ERROR ${msg}`),
    stop: () => {
      if (running) bar?.stop();
      running = false;
    },
  };
}
