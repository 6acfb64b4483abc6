/**
 * Where the circuits' proving artifacts come from: for a circuit configuration
 * (`K_MAX`, `CHUNK`, `B`, `BG`) the chunk and decision circuits are `chunk_k<K>_c<C>_b<B>_g<BG>` and
 * `decision_k<K>_c<C>_b<B>_g<BG>`, without the `_b<B>_g<BG>` suffix for the default `B = 16`,
 * `BG = 32` (the names of `circuits/main/`). Each needs the witness generator (`.wasm`), the proving key (`.zkey`) and
 * the verification key (`.vkey.json`).
 *
 * - `--circuits <dir>`: `<dir>/<name>.wasm`, `<dir>/<name>.zkey`, `<dir>/<name>.vkey.json`
 *   (a production ceremony's output).
 * - otherwise (development, inside this repository): the cached dev setup of
 *   `circuits/main/<name>.circom` (`.cache/circuits/`), made by `fedmarket-aggregator setup`
 *   (prepare.ts) with the repository's circuit scripts. DEV SETUP: anyone can forge proofs for its verifiers.
 *
 * This module only finds them (`resolveCircuits`) and says what is missing (`circuitArtifactsStatus`):
 * making them takes minutes, which a node must never spend inside an aggregation window.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "@fedmarket/protocol";
import { circuitNames, type CircuitConfig } from "@fedmarket/core";

export interface CircuitFiles {
  readonly name: string;
  readonly wasm: string;
  readonly zkey: string;
  readonly vkeyFile: string;
  /** The verification key (snarkjs JSON). */
  readonly vkey: Record<string, unknown>;
}

export interface RoundCircuits {
  readonly chunk: CircuitFiles;
  readonly decision: CircuitFiles;
  readonly dev: boolean;
}

/** A circuit's artifacts are missing (or cannot be made); `missing` names what, one entry per circuit. */
export class ArtifactsError extends Error {
  readonly missing: readonly string[];

  constructor(message: string, missing: readonly string[] = []) {
    super(message);
    this.name = "ArtifactsError";
    this.missing = missing;
  }
}

export { circuitNames } from "@fedmarket/core";

// -------------------------------------------------------------------------------------------------
// The repository's circuit scripts (dev setup), loaded at run time: a development tool of this
// repository, not a dependency of the package. Typed here by what the aggregator uses; the values
// they return are passed back to them as they are.
// -------------------------------------------------------------------------------------------------

/** A main file of circuits/main, as the scripts parse it. */
export interface DevTarget {
  readonly name: string;
}

/** Where a target's compiled artifacts are cached (`.cache/circuits/<name>-<hash>/`). */
export interface DevCompiled {
  readonly target: DevTarget;
  readonly dir: string;
  readonly r1cs: string;
  readonly wasm: string;
  readonly sym: string;
}

/** A finished (or cached) dev Groth16 setup. */
export interface DevSetupResult {
  readonly compiled: { readonly wasm: string };
  readonly zkey: string;
  readonly vkeyFile: string;
}

/** scripts/circuits/circom.ts and setup.ts, as far as the aggregator uses them. */
export interface DevScripts {
  parseMainFile(file: string): DevTarget;
  compiledPaths(target: DevTarget): DevCompiled;
  compileTarget(target: DevTarget, log: (m: string) => void): Promise<DevCompiled>;
  devSetupCached(compiled: DevCompiled): boolean;
  setupCircuit(compiled: DevCompiled, mode: { kind: "dev" }, log: (m: string) => void): Promise<DevSetupResult>;
}

let scripts: Promise<DevScripts> | undefined;

/** The circuit scripts of this repository (loaded once). */
export function devScripts(): Promise<DevScripts> {
  const load = async (name: string): Promise<Record<string, unknown>> =>
    (await import(pathToFileURL(path.join(REPO_ROOT, "scripts", "circuits", name)).href)) as Record<string, unknown>;
  scripts ??= Promise.all([load("circom.ts"), load("setup.ts")]).then(
    ([circom, setup]) => ({ ...circom, ...setup }) as unknown as DevScripts,
  );
  return scripts;
}

/** `circuits/main/<name>.circom`. */
export function devMainFile(name: string): string {
  return path.join(REPO_ROOT, "circuits", "main", `${name}.circom`);
}

/** How far the dev setup of one circuit is: compiled (r1cs, wasm, sym) and with Groth16 keys (zkey, vkey). */
export interface DevCircuitState {
  readonly name: string;
  readonly target: DevTarget;
  readonly compiled: DevCompiled;
  readonly isCompiled: boolean;
  readonly hasKeys: boolean;
}

/** Where each dev circuit of `names` stands (nothing is made); a circuit without a main file is an `ArtifactsError`. */
export async function devCircuitStates(names: readonly string[]): Promise<DevCircuitState[]> {
  const s = await devScripts();
  return names.map((name) => {
    const main = devMainFile(name);
    if (!existsSync(main)) {
      throw new ArtifactsError(
        `no circuit ${name}: ${path.relative(REPO_ROOT, main)} does not exist, so there is no dev setup to make; ` +
          `pass --circuits <dir> with ${name}.wasm, ${name}.zkey and ${name}.vkey.json`,
        [name],
      );
    }
    const target = s.parseMainFile(main);
    const compiled = s.compiledPaths(target);
    const isCompiled = [compiled.r1cs, compiled.wasm, compiled.sym].every((f) => existsSync(f));
    return { name, target, compiled, isCompiled, hasKeys: isCompiled && s.devSetupCached(compiled) };
  });
}

// -------------------------------------------------------------------------------------------------
// Status and resolution
// -------------------------------------------------------------------------------------------------

/** Whether a configuration's artifacts are all there, and what is missing (one line per circuit). */
export interface ArtifactsStatus {
  readonly dev: boolean;
  readonly names: { readonly chunk: string; readonly decision: string };
  readonly missing: readonly string[];
}

function missingInDir(dir: string, name: string): string[] {
  return [`${name}.wasm`, `${name}.zkey`, `${name}.vkey.json`].filter((f) => !existsSync(path.join(dir, f)));
}

/** What is missing of one dev circuit, or undefined. */
function devMissing(c: DevCircuitState): string | undefined {
  if (c.hasKeys) return undefined;
  return `${c.name}: ${c.isCompiled ? "compiled, no Groth16 keys" : "not compiled, no Groth16 keys"} (DEV setup)`;
}

/** What of the configuration's artifacts is missing (`missing` empty: `resolveCircuits` finds them); makes nothing. */
export async function circuitArtifactsStatus(config: CircuitConfig, options: { dir?: string } = {}): Promise<ArtifactsStatus> {
  const names = circuitNames(config);
  const both = [names.chunk, names.decision];
  if (options.dir !== undefined) {
    const dir = options.dir;
    const missing = both.flatMap((n) => {
      const files = missingInDir(dir, n);
      return files.length === 0 ? [] : [`${n}: ${files.join(", ")} missing in ${dir}`];
    });
    return { dev: false, names, missing };
  }
  const missing = (await devCircuitStates(both)).map(devMissing).filter((m) => m !== undefined);
  return { dev: true, names, missing };
}

function read(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
}

/**
 * Finds the chunk and decision circuits of a configuration: in `dir`, or the cached dev setup.
 * Makes nothing: missing files are an `ArtifactsError` naming them (`prepareCircuits`,
 * `fedmarket-aggregator setup`, makes the dev setup).
 */
export async function resolveCircuits(
  config: CircuitConfig,
  options: { dir?: string; log?: (m: string) => void } = {},
): Promise<RoundCircuits> {
  const names = circuitNames(config);
  const dir = options.dir;
  if (dir !== undefined) {
    const { missing } = await circuitArtifactsStatus(config, { dir });
    if (missing.length > 0) throw new ArtifactsError(`circuit files missing: ${missing.join("; ")}`, missing);
    const files = (name: string): CircuitFiles => {
      const vkeyFile = path.join(dir, `${name}.vkey.json`);
      return { name, wasm: path.join(dir, `${name}.wasm`), zkey: path.join(dir, `${name}.zkey`), vkeyFile, vkey: read(vkeyFile) };
    };
    return { chunk: files(names.chunk), decision: files(names.decision), dev: false };
  }
  const states = await devCircuitStates([names.chunk, names.decision]);
  const missing = states.map(devMissing).filter((m) => m !== undefined);
  if (missing.length > 0) throw new ArtifactsError(`the circuits are not prepared: ${missing.join("; ")}`, missing);
  const s = await devScripts();
  const log = options.log ?? (() => {});
  const files = async (c: DevCircuitState): Promise<CircuitFiles> => {
    // Cached: setupCircuit only computes the paths (the call `fedmarket-aggregator setup` made the files with).
    const setup = await s.setupCircuit(c.compiled, { kind: "dev" }, log);
    return { name: c.name, wasm: setup.compiled.wasm, zkey: setup.zkey, vkeyFile: setup.vkeyFile, vkey: read(setup.vkeyFile) };
  };
  const [chunk, decision] = states as [DevCircuitState, DevCircuitState];
  return { chunk: await files(chunk), decision: await files(decision), dev: true };
}
