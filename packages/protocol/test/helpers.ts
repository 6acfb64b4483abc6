/** Shared test helpers: example specs (copies of packages/trainer/examples) and temp folders. */
import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export function exampleSpec(name: "mnist-logistic" | "mnist-mlp" | "mnist-cnn"): unknown {
  return JSON.parse(readFileSync(path.join(PACKAGE_DIR, "test", "fixtures", `${name}.json`), "utf8"));
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-protocol-test-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
