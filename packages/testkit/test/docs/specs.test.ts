/**
 * examples/: every model spec is a valid `fedmarket-model-spec/1` whose circuit is the configuration of
 * the committed verifier it claims (examples/README.md's table: the verifier's name, K_MAX, CHUNK, B, BG
 * as the generated verifiers' headers state them, D and the proofs per round); every configuration in
 * contracts/verifiers/generated has a spec; the demo's spec is the demo's; the quick start's data files
 * are what example-data.ts writes and fit their spec.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { circuitNames, type CircuitConfig } from "@fedmarket/core";
import { loadDataset } from "@fedmarket/ml";
import { parseModelSpec, REPO_ROOT, validateModelSpec, type ModelSpec, type ModelSummary } from "@fedmarket/protocol";
import { VERIFIER_KINDS } from "@fedmarket/cli";
import { demoModelSpec } from "../../src/demo/demo-data.ts";
import { EXAMPLE_DATA_DIR, EXAMPLE_FILES, exampleCsv } from "../../src/docs/example-data.ts";

const EXAMPLES = path.join(REPO_ROOT, "examples");
const GENERATED = path.join(REPO_ROOT, "contracts", "verifiers", "generated");

interface Row {
  readonly spec: string;
  readonly verifier: string;
  readonly deployKind: string;
  readonly circuit: CircuitConfig;
  readonly parameters: number;
  readonly proofs: string;
}

/** The rows of examples/README.md's table (`| \`specs/...\` | \`k4_c16\` | \`k4-c16\` | 4 | 16 | 16 | 32 | 52 | 4 chunk + 1 decision |`). */
async function readmeRows(): Promise<Row[]> {
  const text = await readFile(path.join(EXAMPLES, "README.md"), "utf8");
  const rows: Row[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("| `specs/")) continue;
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim().replace(/^`|`$/g, ""));
    assert.equal(cells.length, 9, `a row of 9 cells: ${line}`);
    const [spec, verifier, deployKind, k, c, b, g, d, proofs] = cells as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const n = (s: string): number => Number(s.replace(/,/g, ""));
    rows.push({
      spec,
      verifier,
      deployKind,
      circuit: { kMax: n(k), chunk: n(c), updateBits: n(b), modelBits: n(g) },
      parameters: n(d),
      proofs,
    });
  }
  return rows;
}

/** The circuit a generated verifier states in its header: `// Circuit: Chunk(K_MAX=4, CHUNK=16, B=16, BG=32); ...`. */
async function verifierCircuit(file: string): Promise<CircuitConfig> {
  const header = (await readFile(path.join(GENERATED, file), "utf8")).split("\n").slice(0, 5).join("\n");
  const m = /^\/\/ Circuit: (?:Chunk|Decision)\(K_MAX=(\d+), CHUNK=(\d+), B=(\d+), BG=(\d+)\)/m.exec(header);
  assert.ok(m !== null, `${file} states its circuit in its header`);
  return { kMax: Number(m[1]), chunk: Number(m[2]), updateBits: Number(m[3]), modelBits: Number(m[4]) };
}

/** The configurations of contracts/verifiers/generated, by name (`k4_c16`, `k8_c128_b8_g24`). */
async function generatedConfigurations(): Promise<string[]> {
  const names = new Set<string>();
  for (const f of await readdir(GENERATED)) {
    const m = /^(?:Batch)?(?:Chunk|Decision)Verifier_(.+)\.sol$/.exec(f);
    if (m !== null) names.add(m[1] as string);
  }
  return [...names].sort();
}

async function loadSpec(rel: string): Promise<{ spec: ModelSpec; summary: ModelSummary; raw: unknown }> {
  const text = await readFile(path.join(EXAMPLES, rel), "utf8");
  return { ...parseModelSpec(text, rel), raw: JSON.parse(text) as unknown };
}

test("every example spec is valid and its circuit is the verifier configuration it claims", async () => {
  const rows = await readmeRows();
  const specFiles = (await readdir(path.join(EXAMPLES, "specs"))).filter((f) => f.endsWith(".json")).sort();
  assert.ok(specFiles.length >= 2, "examples/specs holds the specs");
  assert.deepEqual(
    rows.map((r) => r.spec).sort(),
    specFiles.map((f) => `specs/${f}`),
    "examples/README.md has one row per spec",
  );

  for (const row of rows) {
    const { spec, summary } = await loadSpec(row.spec);
    const where = `${row.spec} (claims ${row.verifier})`;
    assert.ok(spec.circuit !== undefined, `${where}: has a circuit section`);
    assert.deepEqual(spec.circuit, row.circuit, `${where}: circuit section = the README's K_MAX, CHUNK, B, BG`);
    // The names the aggregator, the setup and the audit use for this configuration.
    assert.deepEqual(circuitNames(spec.circuit), { chunk: `chunk_${row.verifier}`, decision: `decision_${row.verifier}` }, where);
    for (const kind of ["Chunk", "Decision"]) {
      const file = `${kind}Verifier_${row.verifier}.sol`;
      assert.ok(existsSync(path.join(GENERATED, file)), `${where}: ${file} is committed`);
      assert.ok(
        existsSync(path.join(GENERATED, `${kind}Verifier_${row.verifier}.vkey.json`)),
        `${where}: its verification key is committed`,
      );
      assert.deepEqual(await verifierCircuit(file), spec.circuit, `${where}: ${file} is compiled for the spec's circuit`);
    }
    assert.ok(
      (VERIFIER_KINDS as readonly string[]).includes(row.deployKind),
      `${where}: \`fedmarket deploy --verifier ${row.deployKind}\` exists`,
    );
    assert.equal(row.deployKind.replaceAll("-", "_"), row.verifier, `${where}: the deploy kind names the same configuration`);
    assert.equal(summary.parameters, row.parameters, `${where}: D`);
    const chunks = Math.ceil(summary.parameters / spec.circuit.chunk);
    assert.equal(row.proofs, `${chunks} chunk + 1 decision`, `${where}: proofs per round`);
  }
});

test("every verifier configuration in contracts/verifiers/generated has an example spec", async () => {
  const claimed = (await readmeRows()).map((r) => r.verifier);
  const configurations = await generatedConfigurations();
  assert.ok(configurations.length >= 2, `found the generated verifiers: ${configurations.join(", ")}`);
  const missing = configurations.filter((c) => !claimed.includes(c));
  assert.deepEqual(missing, [], `configurations without an example spec in examples/README.md: ${missing.join(", ")}`);
});

test("the demo's spec (frozen CNN backbone + head) uses the circuits of examples/specs/k8-c128.json", async () => {
  const { spec } = await loadSpec("specs/k8-c128.json");
  // The demo's frozen weights are pretrained on first run, so their CID is the machine's: any CID validates.
  const demo = validateModelSpec(demoModelSpec(1, "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")).spec;
  assert.deepEqual(demo.circuit, spec.circuit);
  assert.deepEqual(demo.quantization, spec.quantization);
});

test("the quick start's data files are what example-data.ts writes, and fit examples/specs/k4-c16.json", async () => {
  const { spec } = await loadSpec("specs/k4-c16.json");
  for (const f of EXAMPLE_FILES) {
    const file = path.join(REPO_ROOT, EXAMPLE_DATA_DIR, f.name);
    assert.equal(await readFile(file, "utf8"), exampleCsv(f), `${f.name}: run node packages/testkit/src/docs/example-data.ts`);
    const ds = await loadDataset(file, { inputShape: spec.inputShape, labels: spec.labels });
    assert.equal(ds.count, f.rows, `${f.name}: every row loads`);
  }
});
