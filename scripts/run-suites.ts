/**
 * Runs npm scripts side by side and fails if any fails:
 * `node scripts/run-suites.ts test:testkit test:layers test:circuits` (what `npm test` runs).
 *
 * Why: on a 2-core machine the package suites spend much of their time waiting (chain windows,
 * child processes, an RPC outage of 30 s) at about one core, while the circuit suite is one core of
 * witness generation and proving; side by side they finish minutes sooner than one after the other.
 * The testkit's end-to-end suites are the longest, so they run beside the layer packages' suites
 * rather than after them, and the testkit runs two of its files at a time (`--test-concurrency=2`
 * in its package.json; node's default on 2 cores is one): once the circuit suite ends, one file at
 * a time would leave a core idle for the testkit's last ten minutes.
 * They share nothing they could race on: every test starts its own chain on a free port and works in
 * its own temporary folder, and the circuit artifacts both read (`.cache/circuits`) are made by the
 * contract tests that run before them.
 *
 * Each script's output goes to `.cache/test-logs/<script>.log` and is printed whole when the script
 * ends (so the suites' lines do not interleave), with a line a minute saying what still runs.
 */
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const scripts = process.argv.slice(2);
if (scripts.length === 0 || scripts.some((s) => s.startsWith("-"))) {
  console.error("usage: node scripts/run-suites.ts <npm script> [<npm script> ...]");
  process.exit(2);
}

const LOG_DIR = join(import.meta.dirname, "..", ".cache", "test-logs");
mkdirSync(LOG_DIR, { recursive: true });
const started = Date.now();
const minutes = (ms: number): string => `${(ms / 60_000).toFixed(1)} min`;

interface Outcome {
  readonly script: string;
  readonly code: number;
  readonly ms: number;
  readonly log: string;
}

function run(script: string): Promise<Outcome> {
  const log = join(LOG_DIR, `${script.replace(/[^a-z0-9.-]/gi, "_")}.log`);
  const out = createWriteStream(log);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", script], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on("close", (code, signal) => {
      out.end(() => resolve({ script, code: code ?? (signal === null ? 1 : 128), ms: Date.now() - t0, log }));
    });
  });
}

const running = new Set(scripts);
const heartbeat = setInterval(() => {
  console.log(`[run-suites] ${minutes(Date.now() - started)}: still running ${[...running].join(", ")}`);
}, 60_000);

const outcomes = await Promise.all(
  scripts.map(async (s) => {
    const o = await run(s);
    running.delete(s);
    process.stdout.write(readFileSync(o.log, "utf8"));
    console.log(`[run-suites] ${s}: ${o.code === 0 ? "passed" : `FAILED (exit ${o.code})`} in ${minutes(o.ms)} (log: ${o.log})`);
    return o;
  }),
);
clearInterval(heartbeat);
const failed = outcomes.filter((o) => o.code !== 0);
console.log(
  `[run-suites] ${failed.length === 0 ? "all passed" : `FAILED: ${failed.map((o) => o.script).join(", ")}`} in ${minutes(Date.now() - started)}`,
);
process.exit(failed.length === 0 ? 0 : 1);
