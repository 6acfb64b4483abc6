/**
 * TensorFlow.js backend selection for the trainer.
 *
 * Order of preference:
 *  1. `tensorflow` — native libtensorflow via `@tensorflow/tfjs-node`, if that optional package can
 *     be imported (it is not a dependency: install it yourself where its prebuilt binary downloads);
 *  2. `wasm` — `@tensorflow/tfjs-backend-wasm`, with its `.wasm` files loaded from the installed
 *     package's `dist/` folder on disk (works offline; SIMD is used when available), plus the
 *     training kernels it lacks (wasm-kernels.ts: the convolution filter gradient);
 *  3. `cpu` — plain JavaScript (always available, slowest).
 *
 * `FEDMARKET_TF_BACKEND=tensorflow|wasm|cpu` forces one backend (failing if it cannot start).
 */
import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import path from "node:path";
import { registerWasmTrainingKernels } from "./wasm-kernels.ts";

export type TF = typeof tf;
export type BackendName = "tensorflow" | "wasm" | "cpu";
export const BACKEND_PREFERENCE: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];

export interface BackendInfo {
  readonly name: BackendName;
  readonly tf: TF;
  /** Human-readable details (e.g. "SIMD on, 1 thread"). */
  readonly details: string;
  /** Why the preferred backends were skipped. */
  readonly skipped: readonly { readonly name: BackendName; readonly reason: string }[];
}

export interface SelectBackendOptions {
  /** Backends to try, in order (default `BACKEND_PREFERENCE`, or `FEDMARKET_TF_BACKEND`). */
  readonly prefer?: readonly BackendName[];
  /** Where to report the choice (default: `console.error`). Pass `() => {}` to silence. */
  readonly log?: (message: string) => void;
}

const require = createRequire(import.meta.url);

/** The installed `@tensorflow/tfjs-backend-wasm/dist/` folder, with a trailing separator. */
export function wasmDistFolder(): string {
  const pkg = require.resolve("@tensorflow/tfjs-backend-wasm/package.json");
  return path.join(path.dirname(pkg), "dist") + path.sep;
}

async function tryTensorflow(): Promise<string> {
  // A variable specifier keeps TypeScript from requiring the optional package's types.
  const specifier = "@tensorflow/tfjs-node";
  await import(specifier);
  if (!(await tf.setBackend("tensorflow"))) throw new Error("tf.setBackend('tensorflow') returned false");
  return "native libtensorflow";
}

async function tryWasm(): Promise<string> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  const folder = wasmDistFolder();
  wasm.setWasmPaths(folder);
  if (!(await tf.setBackend("wasm"))) throw new Error("tf.setBackend('wasm') returned false");
  const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
  const threads = tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT");
  const added = registerWasmTrainingKernels(tf);
  return (
    `SIMD ${simd ? "on" : "off"}, threads ${threads ? "on" : "off"}, binaries from ${folder}` +
    (added.length ? `, added kernels ${added.join(", ")}` : "")
  );
}

async function tryCpu(): Promise<string> {
  if (!(await tf.setBackend("cpu"))) throw new Error("tf.setBackend('cpu') returned false");
  return "pure JavaScript";
}

const ATTEMPTS: Record<BackendName, () => Promise<string>> = {
  tensorflow: tryTensorflow,
  wasm: tryWasm,
  cpu: tryCpu,
};

function preferenceFromEnv(): readonly BackendName[] | undefined {
  const forced = process.env.FEDMARKET_TF_BACKEND;
  if (forced === undefined || forced === "") return undefined;
  if (!(BACKEND_PREFERENCE as readonly string[]).includes(forced)) {
    throw new Error(`FEDMARKET_TF_BACKEND=${forced}: expected one of ${BACKEND_PREFERENCE.join(", ")}`);
  }
  return [forced as BackendName];
}

/**
 * Starts the first backend of the preference list that works and logs which one runs.
 * Throws if none of them starts. Calling it again switches backends if asked to.
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendInfo> {
  const prefer = options.prefer ?? preferenceFromEnv() ?? BACKEND_PREFERENCE;
  const log = options.log ?? ((m: string) => console.error(m));
  const skipped: { name: BackendName; reason: string }[] = [];
  for (const name of prefer) {
    try {
      const details = await ATTEMPTS[name]();
      await tf.ready();
      log(
        `fedmarket-trainer: TensorFlow.js backend "${name}" (${details})` +
          (skipped.length ? `; skipped ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}` : ""),
      );
      return { name, tf, details, skipped };
    } catch (err) {
      skipped.push({ name, reason: firstLine(err) });
    }
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}`);
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0] ?? msg;
}
