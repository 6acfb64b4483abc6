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
 *   `circuits/main/<name>.circom`, compiled and set up on first use by `scripts/circuits`
 *   (`loadProver`). DEV SETUP: anyone can forge proofs for its verifiers.
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

export class ArtifactsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArtifactsError";
  }
}

export { circuitNames } from "@fedmarket/core";

function fromDir(dir: string, name: string): CircuitFiles {
  const wasm = path.join(dir, `${name}.wasm`);
  const zkey = path.join(dir, `${name}.zkey`);
  const vkeyFile = path.join(dir, `${name}.vkey.json`);
  const missing = [wasm, zkey, vkeyFile].filter((f) => !existsSync(f));
  if (missing.length > 0) throw new ArtifactsError(`circuit files missing in ${dir}: ${missing.map((f) => path.basename(f)).join(", ")}`);
  return { name, wasm, zkey, vkeyFile, vkey: JSON.parse(readFileSync(vkeyFile, "utf8")) as Record<string, unknown> };
}

interface DevSetup {
  setup: { zkey: string; vkeyFile: string; compiled: { wasm: string } };
}
type LoadProver = (name: string, mode?: { kind: "dev" }, log?: (m: string) => void) => Promise<DevSetup>;

async function devFiles(name: string, log: (m: string) => void): Promise<CircuitFiles> {
  const main = path.join(REPO_ROOT, "circuits", "main", `${name}.circom`);
  if (!existsSync(main)) {
    throw new ArtifactsError(`no circuit ${name}: ${main} does not exist; pass --circuits <dir> with ${name}.wasm/.zkey/.vkey.json`);
  }
  // Loaded at run time (not a static import): the scripts are a development tool of this repository.
  const proverModule = pathToFileURL(path.join(REPO_ROOT, "scripts", "circuits", "prover.ts")).href;
  const { loadProver } = (await import(proverModule)) as { loadProver: LoadProver };
  const { setup } = await loadProver(name, { kind: "dev" }, log);
  return {
    name,
    wasm: setup.compiled.wasm,
    zkey: setup.zkey,
    vkeyFile: setup.vkeyFile,
    vkey: JSON.parse(readFileSync(setup.vkeyFile, "utf8")) as Record<string, unknown>,
  };
}

/** Resolves the chunk and decision circuits of a configuration. */
export async function resolveCircuits(
  config: CircuitConfig,
  options: { dir?: string; log?: (m: string) => void } = {},
): Promise<RoundCircuits> {
  const names = circuitNames(config);
  if (options.dir !== undefined) {
    return { chunk: fromDir(options.dir, names.chunk), decision: fromDir(options.dir, names.decision), dev: false };
  }
  const log = options.log ?? (() => {});
  return { chunk: await devFiles(names.chunk, log), decision: await devFiles(names.decision, log), dev: true };
}
