/**
 * Compiling the circom circuits (circom 2 via the `circom2` npm package, a WASM build), with
 * outputs cached in `.cache/circuits/<hash>/` keyed by every input of the compilation.
 */
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import type { CircuitConfig } from "../../packages/core/src/index.ts";

/** Repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Folder of the circom sources. */
export const CIRCUITS_DIR = join(ROOT, "circuits");
/** Folder of the main files (one per compiled configuration). */
export const MAIN_DIR = join(CIRCUITS_DIR, "main");
/** Cache root of compiled circuits and setups (git-ignored). */
export const CACHE_DIR = join(ROOT, ".cache", "circuits");

const require = createRequire(import.meta.url);

/** Which of the two circuits a main file instantiates. */
export type CircuitKind = "chunk" | "decision";

/** A main file and the configuration it instantiates. */
export interface CircuitTarget {
  /** File name without extension, e.g. `chunk_k4_c16`. */
  readonly name: string;
  readonly kind: CircuitKind;
  readonly config: CircuitConfig;
  /** Absolute path of the main file. */
  readonly mainFile: string;
}

/** Compiled artifacts of one target. */
export interface CompiledCircuit {
  readonly target: CircuitTarget;
  /** Cache folder `.cache/circuits/<hash>`. */
  readonly dir: string;
  readonly hash: string;
  readonly r1cs: string;
  readonly wasm: string;
  readonly sym: string;
}

/** Reads the configuration from a main file's `component main ... = Chunk(K, C, B, BG);`. */
export function parseMainFile(mainFile: string): CircuitTarget {
  const text = readFileSync(mainFile, "utf8");
  const m = /component\s+main[^=]*=\s*(Chunk|Decision)\s*\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)/.exec(text);
  if (m === null) throw new Error(`${mainFile}: no 'component main = Chunk(..)/Decision(..)' line`);
  const [, template, k, c, b, bg] = m;
  return {
    name: basename(mainFile, ".circom"),
    kind: template === "Chunk" ? "chunk" : "decision",
    config: { kMax: Number(k), chunk: Number(c), updateBits: Number(b), modelBits: Number(bg) },
    mainFile: resolve(mainFile),
  };
}

/**
 * Text of a main file for a configuration (used for measurements). It includes the templates
 * through the library path (`-l circuits`), so it can live anywhere.
 */
export function mainSource(kind: CircuitKind, config: CircuitConfig): string {
  const { kMax, chunk, updateBits, modelBits } = config;
  const args = `${kMax}, ${chunk}, ${updateBits}, ${modelBits}`;
  const comment = `// K_MAX = ${kMax}, CHUNK = ${chunk}, B = ${updateBits}, BG = ${modelBits}.`;
  return kind === "chunk"
    ? `pragma circom 2.1.0;\n${comment}\ninclude "chunk.circom";\n` +
      `component main {public [accIn, accOut]} = Chunk(${args});\n`
    : `pragma circom 2.1.0;\n${comment}\ninclude "decision.circom";\n` +
      `component main {public [ctx, prevModel, newModel, accFinal, commitments, outcome]} = Decision(${args});\n`;
}

/**
 * Whether `build.ts` (without explicit target names) generates a Solidity verifier for a main
 * file. Main files with a `// no-verifier` comment line are measured only
 * (scripts/bench-circuit.ts); naming them explicitly on the build.ts command line still builds them.
 */
export function generatesVerifier(target: CircuitTarget): boolean {
  return !/^\s*\/\/\s*no-verifier\b/m.test(readFileSync(target.mainFile, "utf8"));
}

/** All main files in circuits/main. */
export function listTargets(): CircuitTarget[] {
  return readdirSync(MAIN_DIR)
    .filter((f) => f.endsWith(".circom"))
    .sort()
    .map((f) => parseMainFile(join(MAIN_DIR, f)));
}

function packageVersion(name: string): string {
  const pkg = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")) as { version: string };
  return pkg.version;
}

/** The circom compiler flags (part of the cache key). */
const CIRCOM_FLAGS = ["--r1cs", "--wasm", "--sym", "--O2", "-l", "node_modules", "-l", "circuits"];

/**
 * Cache key: the main file, every library source in circuits/, the circomlib and circom2
 * versions, and the flags.
 */
export function sourcesHash(mainText: string): string {
  const h = createHash("sha256");
  h.update(`circom2@${packageVersion("circom2")} circomlib@${packageVersion("circomlib")} ${CIRCOM_FLAGS.join(" ")}\n`);
  for (const f of readdirSync(CIRCUITS_DIR).filter((x) => x.endsWith(".circom")).sort()) {
    h.update(`${f}\n`);
    h.update(readFileSync(join(CIRCUITS_DIR, f)));
  }
  h.update("main\n");
  h.update(mainText);
  return h.digest("hex").slice(0, 16);
}

/** Runs the circom2 CLI; resolves with its stdout, rejects with its output on failure. */
function runCircom(args: readonly string[]): Promise<string> {
  const cli = join(dirname(require.resolve("circom2/package.json")), "cli.js");
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { out += d.toString(); });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0 && /Everything went okay/.test(out)) resolvePromise(out);
      else reject(new Error(`circom2 ${args.join(" ")} failed (exit ${code}):\n${out}`));
    });
  });
}

/**
 * Compiles a target unless its cache folder is complete. The main file is compiled from its
 * place in circuits/main so relative includes resolve; outputs go to a temp folder first and
 * are renamed into place (safe against interrupted builds).
 */
export async function compileTarget(target: CircuitTarget, log: (m: string) => void = () => {}): Promise<CompiledCircuit> {
  const hash = sourcesHash(readFileSync(target.mainFile, "utf8"));
  const dir = join(CACHE_DIR, `${target.name}-${hash}`);
  const result: CompiledCircuit = {
    target,
    dir,
    hash,
    r1cs: join(dir, `${target.name}.r1cs`),
    wasm: join(dir, `${target.name}_js`, `${target.name}.wasm`),
    sym: join(dir, `${target.name}.sym`),
  };
  const complete = (): boolean => existsSync(result.r1cs) && existsSync(result.wasm) && existsSync(result.sym);
  if (complete()) return result;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  log(`compiling ${relative(ROOT, target.mainFile)} -> ${relative(ROOT, dir)}`);
  const started = Date.now();
  await runCircom([
    relative(ROOT, target.mainFile), ...CIRCOM_FLAGS, "-o", relative(ROOT, tmp),
  ]);
  log(`compiled ${target.name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // Another process (parallel test files) may have finished the same compilation meanwhile.
  if (complete()) {
    rmSync(tmp, { recursive: true, force: true });
    return result;
  }
  rmSync(dir, { recursive: true, force: true }); // a stale, incomplete folder
  try {
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!complete()) throw e;
  }
  return result;
}

/** Compiles a generated main file for a configuration (measurements). */
export async function compileConfig(
  kind: CircuitKind, config: CircuitConfig, log?: (m: string) => void,
): Promise<CompiledCircuit> {
  const { kMax, chunk, updateBits, modelBits } = config;
  const name = kind === "chunk"
    ? `gen_chunk_k${kMax}_c${chunk}_b${updateBits}_g${modelBits}`
    : `gen_decision_k${kMax}_c${chunk}_b${updateBits}_g${modelBits}`;
  const genDir = join(CACHE_DIR, "generated-mains");
  mkdirSync(genDir, { recursive: true });
  const mainFile = join(genDir, `${name}.circom`);
  writeFileSync(mainFile, mainSource(kind, config));
  return compileTarget({ name, kind, config, mainFile }, log);
}
