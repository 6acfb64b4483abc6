/**
 * run-doc.ts on small documents: steps share one bash session (variables, functions, background jobs),
 * each is timed, the audit verdict is read from the `audit` step, a failing step stops the run with its
 * block, its output and the tails of the logs under $WORK, and no background process outlives the run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { withTempDir } from "../helpers.ts";
import { benchOf, runDoc } from "../../src/docs/run-doc.ts";

const fence = (step: string, code: string): string => `<!-- t: step "${step}" -->\n\n\`\`\`sh\n${code}\n\`\`\`\n`;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test("steps share one session; times, the audit verdict and the bench JSON", async () => {
  await withTempDir(async (dir) => {
    const doc = [
      "# a doc\n",
      fence(
        "one",
        'export GREETING=hello\nsay() { echo "$GREETING $1"; }\nmkdir -p "$WORK/logs"\nsleep 600 > "$WORK/logs/sleeper.log" 2>&1 &\necho $! > "$WORK/sleeper.pid"',
      ),
      "<!-- not-run: never -->\n\n```sh\nexit 3\n```\n",
      fence("two", 'say world\nkill -0 "$(cat "$WORK/sleeper.pid")" && echo "still running"\necho "port ${PORT:-none}"'),
      fence("audit", "echo 'audit PASS: project 1, 2 round(s), 0 failure(s)'"),
    ].join("\n");
    await writeFile(path.join(dir, "doc.md"), doc);
    const work = path.join(dir, "work");
    const result = await runDoc({ file: "doc.md", cwd: dir, workDir: work, env: { PORT: "4242" } });
    assert.ok(result.ok, result.failure);
    assert.deepEqual(
      result.steps.map((s) => [s.name, s.status]),
      [
        ["one", "passed"],
        ["two", "passed"],
        ["audit", "passed"],
      ],
    );
    const two = result.steps[1]?.output ?? "";
    assert.match(two, /hello world/);
    assert.match(two, /still running/, "a background job of step one runs on in step two");
    assert.match(two, /port 4242/);
    assert.equal(result.auditVerdict, "PASS");
    const pid = Number(await readFile(path.join(work, "sleeper.pid"), "utf8"));
    assert.equal(alive(pid), false, "the runner killed the background job the document left running");
    const bench = benchOf(result);
    assert.deepEqual(Object.keys(bench), ["steps", "totalSeconds", "auditVerdict"]);
    assert.deepEqual(
      bench.steps.map((s) => s.name),
      ["one", "two", "audit"],
    );
    assert.ok(bench.steps.every((s) => typeof s.seconds === "number" && s.seconds >= 0));
    assert.ok(bench.totalSeconds >= 0);
  });
});

test("a failing step stops the run: the step, its block, its output and the logs' tails", async () => {
  await withTempDir(async (dir) => {
    const doc = [
      // The background writer marks when its 80 lines are out, and the step waits for the mark: under
      // load the failing step could otherwise run before the log had a line (the tail read "(empty)").
      fence(
        "start",
        'mkdir -p "$WORK/logs"\n(for i in $(seq 80); do echo "bg line $i"; done; touch "$WORK/bg-written"; sleep 600) > "$WORK/logs/node.log" 2>&1 &\n' +
          'until [ -e "$WORK/bg-written" ]; do sleep 0.05; done',
      ),
      fence("breaks", 'for i in $(seq 70); do echo "out $i"; done\nls "$WORK/missing-file"\necho unreachable'),
      fence("later", "echo never"),
    ].join("\n");
    await writeFile(path.join(dir, "doc.md"), doc);
    const result = await runDoc({ file: "doc.md", cwd: dir, workDir: path.join(dir, "work") });
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.steps.map((s) => s.status),
      ["passed", "failed", "not-run"],
    );
    const report = result.failure ?? "";
    assert.match(report, /step 2\/3 "breaks" \(line \d+\) failed after [\d.]+ s: bash exited with code 2/);
    assert.match(report, /--- its block ---\nfor i in \$\(seq 70\)/);
    assert.match(report, /out 70/);
    assert.doesNotMatch(report, /out 10\n/, "only the last 50 lines of the step's output");
    assert.doesNotMatch(report, /^unreachable$/m, "set -e stopped the block at the failing command");
    assert.match(report, /the last 50 lines of .*node\.log ---\nbg line 31\n/);
    assert.match(report, /bg line 80/);
    assert.ok(existsSync(path.join(dir, "work")), "the work folder is kept after a failure");
  });
});

test("the time limit fails the running step and kills the session", async () => {
  await withTempDir(async (dir) => {
    await writeFile(path.join(dir, "doc.md"), fence("quick", "echo ok") + "\n" + fence("hangs", "sleep 600"));
    const started = Date.now();
    const result = await runDoc({ file: "doc.md", cwd: dir, workDir: path.join(dir, "work"), timeoutMs: 1500 });
    assert.ok(Date.now() - started < 20_000, "stopped at the limit");
    assert.equal(result.timedOut, true);
    assert.deepEqual(
      result.steps.map((s) => s.status),
      ["passed", "failed"],
    );
    assert.match(result.failure ?? "", /"hangs" .* the run reached its time limit/);
  });
});
