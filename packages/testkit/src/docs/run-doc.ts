#!/usr/bin/env node
/**
 * Runs a markdown document's marked shell blocks exactly as written, so the document cannot drift from
 * the code (docs/QUICKSTART.md; tested by packages/testkit/test/docs/quickstart.test.ts).
 *
 *   node packages/testkit/src/docs/run-doc.ts docs/QUICKSTART.md [--json bench/operators.json] [--verbose] [--keep]
 *
 * The blocks marked `<!-- <doc>: step "<name>" -->` (markdown-blocks.ts) run in order in ONE
 * `bash -euo pipefail` session started in the repository root (`cwd`), so environment variables, shell
 * functions and background jobs carry from one step to the next. The session gets:
 *
 * - `WORK`: a fresh temporary folder; the document writes every file it creates there (its background
 *   processes' logs as `$WORK/logs/*.log`, by convention);
 * - the caller's environment without `FEDMARKET_*` variables (except `FEDMARKET_NODE_*`, which only say
 *   where Node comes from), without `WORK`, and, unless given, without `RPC_PORT` / `IPFS_PORT`: the
 *   document picks its defaults. The CLI passes free ports in `RPC_PORT` and `IPFS_PORT` unless they are
 *   set (a quick start's defaults, 8545 and 5001, may be taken on a shared machine).
 *
 * Each step's wall time is recorded (between markers the session prints around each block). When a step
 * fails (a command fails under `set -e`, or the time limit is reached) the runner stops there and reports
 * the step, its block, the last 50 lines of the session's output in that step and the last 50 lines of
 * every `*.log` file under `$WORK`; the work folder is kept. At the end, every process the session left
 * behind is killed (the session is its own process group). With `--json <file>` a successful run writes
 * `{ "steps": [{ "name", "seconds" }], "totalSeconds", "auditVerdict" }`, the verdict read from the
 * output of the step named `audit` (`audit PASS` / `audit FAIL`).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { docSteps, type DocStep } from "./markdown-blocks.ts";

/**
 * The repository root. Computed here rather than imported from @fedmarket/protocol: on a fresh clone
 * the runner starts before any `npm install` (the document's first step installs), so it may use
 * nothing but Node's own modules.
 */
const REPO_ROOT = path.resolve(import.meta.dirname, "..", "..", "..", "..");

export interface RunDocOptions {
  /** The markdown file (absolute, or relative to `cwd`). */
  readonly file: string;
  /** Where the session starts (default: the repository root). */
  readonly cwd?: string;
  /** Added to the session's environment (e.g. `RPC_PORT`, `IPFS_PORT`). */
  readonly env?: Readonly<Record<string, string>>;
  /** The session's `$WORK` (default: a fresh folder in the OS temp folder). */
  readonly workDir?: string;
  /** Keep `$WORK` after a successful run (a failed run always keeps it). */
  readonly keepWork?: boolean;
  /** Limit of the whole run (default 30 min); reaching it fails the running step. */
  readonly timeoutMs?: number;
  /** Lines of output and of each log shown for a failure (default 50). */
  readonly tailLines?: number;
  /** Progress: a step started or ended. */
  readonly onStep?: (event: StepEvent) => void;
  /** Every chunk of the session's output (stdout and stderr together), as it comes. */
  readonly onOutput?: (text: string) => void;
}

export type StepEvent =
  | { readonly kind: "start"; readonly index: number; readonly step: DocStep }
  | { readonly kind: "end"; readonly index: number; readonly step: DocStep; readonly result: StepResult };

export interface StepResult {
  readonly name: string;
  /** 1-based line of the block's opening fence in the document. */
  readonly line: number;
  readonly status: "passed" | "failed" | "not-run";
  /** Wall time; 0 for a step that did not run. */
  readonly seconds: number;
  /** What the session printed during the step. */
  readonly output: string;
}

export type AuditVerdict = "PASS" | "FAIL";

export interface RunDocResult {
  readonly ok: boolean;
  readonly file: string;
  readonly steps: readonly StepResult[];
  /** Wall time from the first step's start to the last step's end. */
  readonly totalSeconds: number;
  /** From the output of the step named `audit`; null without one (or without a verdict line). */
  readonly auditVerdict: AuditVerdict | null;
  /** The session's exit code (null when it was killed). */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly workDir: string;
  /** Whether `workDir` is still there. */
  readonly workKept: boolean;
  /** The failure report (step, block, output and log tails); undefined when ok. */
  readonly failure?: string;
}

/** What `--json` writes (bench/operators.json). */
export interface RunDocBench {
  readonly steps: { readonly name: string; readonly seconds: number }[];
  readonly totalSeconds: number;
  readonly auditVerdict: AuditVerdict | null;
}

const DEFAULT_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_TAIL = 50;

const round1 = (s: number): number => Math.round(s * 10) / 10;

/** The bash script of a run: the steps between marker lines `nonce` makes unique. */
export function sessionScript(steps: readonly DocStep[], nonce: string): string {
  const parts = [
    "# generated by packages/testkit/src/docs/run-doc.ts",
    "exec 2>&1",
    `__run_doc_mark() { printf '\\n@@run-doc:${nonce} %s %s@@\\n' "$1" "$2"; }`,
  ];
  steps.forEach((s, i) => {
    parts.push(`__run_doc_mark start ${i}`, s.code, `__run_doc_mark end ${i}`);
  });
  parts.push("__run_doc_mark done -", "");
  return parts.join("\n");
}

/** The verdict line of `fedmarket audit` in `text` (the last one), if any. */
export function auditVerdictOf(text: string): AuditVerdict | null {
  const all = [...text.matchAll(/\baudit (PASS|FAIL)\b/g)];
  const last = all[all.length - 1];
  return last === undefined ? null : (last[1] as AuditVerdict);
}

export function benchOf(result: RunDocResult): RunDocBench {
  return {
    steps: result.steps.map((s) => ({ name: s.name, seconds: s.seconds })),
    totalSeconds: result.totalSeconds,
    auditVerdict: result.auditVerdict,
  };
}

function sessionEnv(extra: Readonly<Record<string, string>>, workDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("FEDMARKET_") && !k.startsWith("FEDMARKET_NODE_")) continue;
    if (k === "WORK" || k === "RPC_PORT" || k === "IPFS_PORT") continue;
    env[k] = v;
  }
  return { ...env, FORCE_COLOR: "0", NO_COLOR: "1", ...extra, WORK: workDir };
}

function lastLines(text: string, n: number): string {
  const lines = text.replace(/\n+$/, "").split("\n");
  return lines.slice(-n).join("\n");
}

/** Every `*.log` file under `dir` (a few levels deep), sorted. */
async function logFiles(dir: string, depth = 3): Promise<string[]> {
  const found: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory() && depth > 0) found.push(...(await logFiles(full, depth - 1)));
    else if (e.isFile() && e.name.endsWith(".log")) found.push(full);
  }
  return found.sort();
}

/** Kills the session's process group: SIGTERM, then SIGKILL for whatever is left after `graceMs`. */
async function killGroup(pid: number, graceMs = 5000): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive()) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
}

/** Runs the marked steps of `options.file` (see the file comment). */
export async function runDoc(options: RunDocOptions): Promise<RunDocResult> {
  const cwd = options.cwd ?? REPO_ROOT;
  const file = path.resolve(cwd, options.file);
  const steps = docSteps(await readFile(file, "utf8"));
  if (steps.length === 0) throw new Error(`${file} has no marked steps (<!-- <doc>: step "<name>" --> before a shell block)`);
  const workDir = options.workDir ?? (await mkdtemp(path.join(os.tmpdir(), "fedmarket-run-doc-")));
  const tail = options.tailLines ?? DEFAULT_TAIL;
  const nonce = randomBytes(6).toString("hex");
  const scriptFile = path.join(os.tmpdir(), `fedmarket-run-doc-${nonce}.sh`);
  await writeFile(scriptFile, sessionScript(steps, nonce));

  const marker = new RegExp(`^@@run-doc:${nonce} (start|end|done) (\\d+|-)@@$`);
  const starts: number[] = [];
  const ends: number[] = [];
  const outputs: string[] = steps.map(() => "");
  let current = -1;
  let pending = "";
  let exitedAt: number | undefined;

  const child = spawn("bash", ["-euo", "pipefail", scriptFile], {
    cwd,
    env: sessionEnv(options.env ?? {}, workDir),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const pid = child.pid as number;
  // If this process dies first, the session's processes must not outlive it.
  const onExit = (): void => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  process.once("exit", onExit);

  const consume = (text: string): void => {
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const m = marker.exec(line);
      if (m === null) {
        if (current >= 0) outputs[current] += `${line}\n`;
        options.onOutput?.(`${line}\n`);
        continue;
      }
      const now = Date.now();
      if (m[1] === "start") {
        current = Number(m[2]);
        starts[current] = now;
        options.onStep?.({ kind: "start", index: current, step: steps[current] as DocStep });
      } else if (m[1] === "end") {
        const i = Number(m[2]);
        ends[i] = now;
        options.onStep?.({ kind: "end", index: i, step: steps[i] as DocStep, result: resultOf(i) });
      }
    }
  };
  const resultOf = (i: number): StepResult => {
    const s = steps[i] as DocStep;
    const start = starts[i];
    const end = ends[i];
    const status = start === undefined ? "not-run" : end === undefined ? "failed" : "passed";
    // A failed step ends when the session did (or now, while it still runs).
    const seconds = start === undefined ? 0 : round1(((end ?? exitedAt ?? Date.now()) - start) / 1000);
    // The marker's own blank line is not output.
    return { name: s.name, line: s.line, status, seconds, output: (outputs[i] ?? "").replace(/^\n/, "") };
  };
  child.stdout.setEncoding("utf8").on("data", consume);
  child.stderr.setEncoding("utf8").on("data", consume);

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void killGroup(pid, 2000);
  }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const { exitCode, signal } = await new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, sig) => {
      exitedAt = Date.now();
      resolve({ exitCode: code, signal: sig });
    });
  });
  clearTimeout(timer);
  if (pending !== "") consume("\n");
  // Background processes the document left running (or all of them, after a failure).
  await killGroup(pid);
  process.removeListener("exit", onExit);
  await rm(scriptFile, { force: true });

  const results = steps.map((_, i) => resultOf(i));
  const ok = exitCode === 0 && !timedOut && results.every((r) => r.status === "passed");
  const firstStart = starts[0];
  const lastEnd = ends[steps.length - 1];
  const totalSeconds = firstStart !== undefined && lastEnd !== undefined ? round1((lastEnd - firstStart) / 1000) : 0;
  const auditStep = results.find((r) => r.name === "audit");
  const auditVerdict = auditStep === undefined ? null : auditVerdictOf(auditStep.output);

  let failure: string | undefined;
  if (!ok) {
    const failedIndex = results.findIndex((r) => r.status !== "passed");
    const failed = results[failedIndex];
    const rel = path.relative(cwd, file) || file;
    const why = timedOut
      ? `the run reached its time limit (${Math.round((options.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)} s)`
      : `bash exited with ${exitCode === null ? `signal ${signal}` : `code ${exitCode}`}`;
    const lines: string[] = [];
    if (failed === undefined || failed.status === "not-run") {
      lines.push(`${rel}: ${why} outside any step${failed === undefined ? "" : ` (before step "${failed.name}")`}`);
    } else {
      const step = steps[failedIndex] as DocStep;
      lines.push(
        `${rel}: step ${failedIndex + 1}/${steps.length} "${failed.name}" (line ${failed.line}) failed after ${failed.seconds} s: ${why}`,
      );
      lines.push("--- its block ---", step.code);
      lines.push(`--- the last ${tail} lines of its output ---`, lastLines(failed.output, tail) || "(none)");
    }
    for (const log of await logFiles(workDir)) {
      const text = await readFile(log, "utf8").catch(() => "");
      lines.push(`--- the last ${tail} lines of ${log} ---`, lastLines(text, tail) || "(empty)");
    }
    lines.push(`(work folder kept: ${workDir})`);
    failure = lines.join("\n");
  }
  const keep = !ok || options.keepWork === true;
  if (!keep && options.workDir === undefined) await rm(workDir, { recursive: true, force: true });
  return {
    ok,
    file,
    steps: results,
    totalSeconds,
    auditVerdict,
    exitCode,
    signal,
    timedOut,
    workDir,
    workKept: keep || options.workDir !== undefined,
    ...(failure === undefined ? {} : { failure }),
  };
}

/**
 * A free TCP port on 127.0.0.1. The same as local-chain.ts `freePort`, repeated because this module
 * runs before `npm install` and so may import nothing but Node's own modules.
 */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const args = [...argv];
  const usage = "usage: node packages/testkit/src/docs/run-doc.ts <file.md> [--json <out.json>] [--verbose] [--keep] [--timeout <s>]";
  let file: string | undefined;
  let jsonOut: string | undefined;
  let verbose = false;
  let keep = false;
  let timeoutMs: number | undefined;
  while (args.length > 0) {
    const a = args.shift() as string;
    if (a === "--json") jsonOut = args.shift();
    else if (a === "--verbose") verbose = true;
    else if (a === "--keep") keep = true;
    else if (a === "--timeout") timeoutMs = Number(args.shift()) * 1000;
    else if (a === "-h" || a === "--help") {
      process.stdout.write(`${usage}\n`);
      return 0;
    } else if (!a.startsWith("-") && file === undefined) file = a;
    else {
      process.stderr.write(`error: unexpected argument ${a}\n${usage}\n`);
      return 2;
    }
  }
  if (file === undefined || (jsonOut !== undefined && jsonOut === "") || (timeoutMs !== undefined && !(timeoutMs > 0))) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const env: Record<string, string> = {
    RPC_PORT: process.env.RPC_PORT ?? String(await freeLocalPort()),
    IPFS_PORT: process.env.IPFS_PORT ?? String(await freeLocalPort()),
  };
  const started = Date.now();
  const stamp = (): string => `${String(Math.round((Date.now() - started) / 1000)).padStart(4)} s`;
  const result = await runDoc({
    file: path.resolve(process.cwd(), file),
    env,
    keepWork: keep,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    onStep: (e) =>
      process.stderr.write(
        e.kind === "start"
          ? `${stamp()}  step ${e.index + 1} "${e.step.name}" (line ${e.step.line})\n`
          : `${stamp()}  step ${e.index + 1} "${e.step.name}" done in ${e.result.seconds} s\n`,
      ),
    ...(verbose ? { onOutput: (t: string) => process.stderr.write(t) } : {}),
  });
  if (!result.ok) {
    process.stderr.write(`\n${result.failure ?? "failed"}\n`);
    return 1;
  }
  const summary = result.steps.map((s) => `${s.name} ${s.seconds} s`).join(", ");
  process.stderr.write(
    `all ${result.steps.length} steps passed in ${result.totalSeconds} s (${summary}); audit: ${result.auditVerdict ?? "-"}\n`,
  );
  if (result.workKept) process.stderr.write(`work folder: ${result.workDir}\n`);
  if (jsonOut !== undefined) {
    await writeFile(path.resolve(process.cwd(), jsonOut), `${JSON.stringify(benchOf(result), null, 2)}\n`);
    process.stderr.write(`wrote ${jsonOut}\n`);
  }
  return 0;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
