/**
 * Every shell block (```sh, ```bash, ```shell) of README.md, packages/<name>/README.md and the runnable
 * documents says what happens to it, on the last non-blank line before its fence:
 *
 * - `<!-- <doc>: step "<name>" -->`: a test runs it, which holds only in the document that `<doc>` names
 *   (RUNNABLE_DOCS: `quickstart` is docs/QUICKSTART.md, run by quickstart.test.ts);
 * - `<!-- not-run: <reason> -->`: no test runs it, for that (non-empty) reason.
 *
 * A block with neither is listed as `file:line`, so a new command in a README is either executed
 * somewhere or says why not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { REPO_ROOT } from "@fedmarket/protocol";
import { RUNNABLE_DOCS, docSteps, shellBlocks } from "../../src/docs/markdown-blocks.ts";

/** README.md, every packages/<name>/README.md and the runnable documents, relative to the repository root. */
async function documents(): Promise<string[]> {
  const files = ["README.md"];
  for (const name of (await readdir(path.join(REPO_ROOT, "packages"))).sort()) {
    const readme = path.join("packages", name, "README.md");
    if (existsSync(path.join(REPO_ROOT, readme))) files.push(readme);
  }
  return [...files, ...Object.values(RUNNABLE_DOCS)];
}

test("every shell block of the READMEs and the runnable documents is run by a test or says why not", async () => {
  const unmarked: string[] = [];
  const wrong: string[] = [];
  const files = await documents();
  for (const file of files) {
    for (const block of shellBlocks(await readFile(path.join(REPO_ROOT, file), "utf8"))) {
      const where = `${file}:${block.line}`;
      const m = block.marker;
      if (m === undefined) unmarked.push(`${where}: \`\`\`${block.lang} ${block.code.split("\n")[0] ?? ""}`);
      else if (m.kind === "not-run" && m.reason === "") wrong.push(`${where}: <!-- not-run: --> gives no reason`);
      else if (m.kind === "run" && RUNNABLE_DOCS[m.doc] !== file)
        wrong.push(
          `${where}: marked <!-- ${m.doc}: step "${m.step}" --> but ` +
            (RUNNABLE_DOCS[m.doc] === undefined ? `no test runs "${m.doc}" documents` : `"${m.doc}" is ${RUNNABLE_DOCS[m.doc]}`),
        );
    }
  }
  assert.ok(files.length >= 3, `found the documents: ${files.join(", ")}`);
  assert.equal(
    unmarked.length,
    0,
    `shell blocks with neither a run marker nor <!-- not-run: reason --> on the line before the fence:\n${unmarked.join("\n")}`,
  );
  assert.equal(wrong.length, 0, wrong.join("\n"));
});

test("the runnable documents' steps parse: unique names, each marker before a shell block", async () => {
  for (const [doc, file] of Object.entries(RUNNABLE_DOCS)) {
    const steps = docSteps(await readFile(path.join(REPO_ROOT, file), "utf8"), { doc });
    assert.ok(steps.length > 0, `${file} has steps`);
  }
});

test("the marker parser: fences, markers, blank lines and nested fences", () => {
  const md = [
    "# t", //  1
    "<!-- not-run: a reason -->", //  2
    "", //  3
    "```sh", //  4
    "echo one", //  5
    "```", //  6
    "text", //  7
    "```bash", //  8
    "echo two", //  9
    "```", // 10
    '<!-- quickstart: step "s1" -->', // 11
    "````sh", // 12
    "echo three", // 13
    "```", // 14
    "````", // 15
    "```ts", // 16
    "const x = 1;", // 17
    "```", // 18
  ].join("\n");
  const blocks = shellBlocks(md);
  assert.deepEqual(
    blocks.map((b) => [b.line, b.lang, b.marker?.kind ?? "none"]),
    [
      [4, "sh", "not-run"],
      [8, "bash", "none"],
      [12, "sh", "run"],
    ],
  );
  assert.equal(blocks[2]?.code, "echo three\n```");
  assert.deepEqual(
    docSteps(md).map((s) => [s.name, s.doc, s.line]),
    [["s1", "quickstart", 12]],
  );
  assert.throws(() => docSteps('<!-- d: step "a" -->\n\ntext\n```sh\nx\n```'), /step "a" is not followed by a fenced block/);
  assert.throws(() => docSteps('<!-- d: step "a" -->\n```sh\nx\n```\n<!-- d: step "a" -->\n```sh\ny\n```'), /a second step named "a"/);
});
