/** Shared test helpers: one backend for the whole test process, package folders, temp folders. */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { selectBackend, type BackendInfo } from "@fedmarket/ml";
import { REPO_ROOT } from "@fedmarket/protocol";

/** This package's folder (its scripts are run as child processes by some tests). */
export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The command-line entry points that tests run as child processes, as a user would. */
export const BIN = {
  fedmarket: path.join(REPO_ROOT, "packages", "cli", "bin", "fedmarket.js"),
  trainer: path.join(REPO_ROOT, "packages", "trainer", "bin", "fedmarket-trainer.js"),
  aggregator: path.join(REPO_ROOT, "packages", "aggregator", "bin", "fedmarket-aggregator.js"),
} as const;

let backend: Promise<BackendInfo> | undefined;
/** The backend tests run on (wasm here; override with FEDMARKET_TF_BACKEND). */
export function testBackend(): Promise<BackendInfo> {
  backend ??= selectBackend({ log: () => {} });
  return backend;
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-testkit-test-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
