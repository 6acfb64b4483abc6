/** Shared test helpers: one backend for the whole test process, the example specs, temp folders. */
import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { selectBackend, type BackendInfo } from "../src/backend.ts";

/** The trainer's example specs are the documented ones: the ML layer is tested on exactly those. */
const EXAMPLES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../trainer/examples");

let backend: Promise<BackendInfo> | undefined;
/** The backend tests run on (wasm here; override with FEDMARKET_TF_BACKEND). */
export function testBackend(): Promise<BackendInfo> {
  backend ??= selectBackend({ log: () => {} });
  return backend;
}

export function exampleSpec(name: "mnist-logistic" | "mnist-mlp" | "mnist-cnn"): unknown {
  return JSON.parse(readFileSync(path.join(EXAMPLES_DIR, `${name}.json`), "utf8"));
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-ml-test-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
