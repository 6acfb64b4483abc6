/**
 * docs/QUICKSTART.md, the operators' quick start, executed exactly as written: its marked shell blocks
 * run in order in one `bash -euo pipefail` session from the repository root (run-doc.ts), on free
 * ports, with `$WORK` a fresh temporary folder: a hardhat node, `fedmarket ipfs serve`, the K4/C16
 * deployment, a 2-round project, three trainers and the aggregator as background processes, the status
 * loop until the project is Completed, and the owner's audit. Every step must pass, the audit must say
 * PASS, and the document must leave nothing behind in the repository's root or examples/.
 *
 * Minutes of wall time: the rounds follow the document's real windows (60 s commit + 30 s reveal
 * each); the first run on a machine also compiles the K4/C16 circuits (the `accept` step).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { REPO_ROOT } from "@fedmarket/protocol";
import { freePort } from "../../src/chain/local-chain.ts";
import { RUNNABLE_DOCS } from "../../src/docs/markdown-blocks.ts";
import { runDoc } from "../../src/docs/run-doc.ts";

/** The issue's budget for the whole quick start, set-up included (circuits already compiled). */
const BUDGET_SECONDS = 600;

/** What the repository's root and examples/ hold (build caches left out). */
async function repoEntries(): Promise<string[]> {
  const caches = new Set(["node_modules", ".cache", "cache", "artifacts", "types"]);
  const root = (await readdir(REPO_ROOT)).filter((e) => !caches.has(e));
  const examples = (await readdir(path.join(REPO_ROOT, "examples"), { recursive: true })).map((e) => path.join("examples", e));
  return [...root, ...examples].sort();
}

test("docs/QUICKSTART.md runs as written: a 2-round project completes and the audit passes", { timeout: 30 * 60_000 }, async () => {
  const before = await repoEntries();
  const result = await runDoc({
    file: path.join(REPO_ROOT, RUNNABLE_DOCS.quickstart as string),
    env: { RPC_PORT: String(await freePort()), IPFS_PORT: String(await freePort()) },
    timeoutMs: 25 * 60_000,
    onStep: (e) => {
      if (e.kind === "end") console.log(`step "${e.step.name}" (line ${e.step.line}): ${e.result.status} in ${e.result.seconds} s`);
    },
  });
  assert.ok(result.ok, result.failure);
  assert.ok(result.steps.length >= 10, `the quick start's steps: ${result.steps.map((s) => s.name).join(", ")}`);
  for (const s of result.steps) assert.equal(s.status, "passed", `step "${s.name}"`);
  assert.equal(result.auditVerdict, "PASS", result.steps.find((s) => s.name === "audit")?.output);
  assert.match(result.steps.find((s) => s.name === "wait")?.output ?? "", /Completed, round 2 of 2/);

  // The budget, unless this run also made the circuits' first-time setup (`setup 1/4: compiling ...`).
  const accept = result.steps.find((s) => s.name === "accept");
  const firstTime = /setup \d+\/\d+/.test(accept?.output ?? "");
  const measured = firstTime ? result.totalSeconds - (accept?.seconds ?? 0) : result.totalSeconds;
  console.log(`quick start: ${result.totalSeconds} s in all${firstTime ? `, ${measured} s without the first-time circuit setup` : ""}`);
  assert.ok(measured <= BUDGET_SECONDS, `the quick start took ${measured} s (budget ${BUDGET_SECONDS} s)`);

  assert.deepEqual(await repoEntries(), before, "the quick start wrote only into $WORK");
});
