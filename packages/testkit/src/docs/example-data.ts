#!/usr/bin/env node
/**
 * The training data shipped in examples/data/blobs-12x4/ for examples/specs/k4-c16.json (the
 * operators' quick start, docs/QUICKSTART.md): one CSV per trainer and a validation CSV for the
 * audit, all from `syntheticBlobsCsv` (12 features, 4 separable blobs, seeded).
 *
 * `node packages/testkit/src/docs/example-data.ts` rewrites them; packages/testkit/test/docs/specs.test.ts
 * checks that the committed files are exactly what this produces.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { REPO_ROOT } from "@fedmarket/protocol";
import { syntheticBlobsCsv } from "../data/synthetic-data.ts";

/** Folder of the blobs data, relative to the repository root. */
export const EXAMPLE_DATA_DIR = path.join("examples", "data", "blobs-12x4");
export const EXAMPLE_FEATURES = 12;
export const EXAMPLE_LABELS: readonly string[] = ["a", "b", "c", "d"];

/** Every file of the folder: name, seed and rows of its `syntheticBlobsCsv`. */
export const EXAMPLE_FILES: readonly { readonly name: string; readonly seed: number; readonly rows: number }[] = [
  { name: "trainer-1.csv", seed: 101, rows: 120 },
  { name: "trainer-2.csv", seed: 102, rows: 120 },
  { name: "trainer-3.csv", seed: 103, rows: 120 },
  { name: "validation.csv", seed: 200, rows: 200 },
];

/** The content of one example file. */
export function exampleCsv(file: (typeof EXAMPLE_FILES)[number]): string {
  return syntheticBlobsCsv(file.seed, file.rows, EXAMPLE_FEATURES, EXAMPLE_LABELS);
}

/** Writes every example file under `root` (default: the repository). */
export async function writeExampleData(root: string = REPO_ROOT): Promise<string[]> {
  const dir = path.join(root, EXAMPLE_DATA_DIR);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const f of EXAMPLE_FILES) {
    const file = path.join(dir, f.name);
    await writeFile(file, exampleCsv(f));
    written.push(file);
  }
  return written;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const file of await writeExampleData()) console.log(`wrote ${path.relative(REPO_ROOT, file)}`);
}
