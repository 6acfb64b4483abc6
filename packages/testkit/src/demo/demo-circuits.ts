/**
 * The demo circuits' development setup (compiled circuits, dev powers of tau 2^15, zkeys), made
 * on first use by the repository's circuit scripts (scripts/circuits) and cached in .cache/. The
 * committed Solidity verifiers (contracts/verifiers/generated/*_k8_c128_b8_g24.sol) come from
 * the same deterministic dev setup; the aggregator checks at start-up that the deployed verifier
 * accepts proofs of these keys, so a stale verifier fails loudly.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { circuitNames } from "@fedmarket/core";
import { REPO_ROOT } from "@fedmarket/protocol";
import { DEMO_CIRCUIT } from "./demo-data.ts";

// The scripts are a development tool of this repository (not a dependency of the package):
// loaded at run time, typed here by what the demo uses.
interface CompiledPaths {
  readonly dir: string;
}
interface CircomModule {
  parseMainFile(file: string): unknown;
  compiledPaths(target: unknown): CompiledPaths;
}
interface SetupModule {
  devSetupCached(compiled: CompiledPaths): boolean;
}
interface ProverModule {
  loadProver(name: string, mode: { kind: "dev" }, log: (m: string) => void): Promise<unknown>;
  releaseCurves(): Promise<void>;
}

const script = async <T>(name: string): Promise<T> =>
  (await import(pathToFileURL(path.join(REPO_ROOT, "scripts", "circuits", name)).href)) as T;

export interface DemoCircuitsSetup {
  /** Wall time of the setup when it had to be made (first run on this machine). */
  readonly firstTimeMs?: number;
  /** Wall time of loading the cached setup otherwise. */
  readonly cachedMs?: number;
}

/** Makes sure the demo circuits' dev setup exists; times it when it had to be made. */
export async function ensureDemoCircuits(log: (line: string) => void): Promise<DemoCircuitsSetup> {
  const circom = await script<CircomModule>("circom.ts");
  const setup = await script<SetupModule>("setup.ts");
  const prover = await script<ProverModule>("prover.ts");
  const names = circuitNames(DEMO_CIRCUIT);
  const cached = [names.chunk, names.decision].every((name) =>
    setup.devSetupCached(circom.compiledPaths(circom.parseMainFile(path.join(REPO_ROOT, "circuits", "main", `${name}.circom`)))),
  );
  if (!cached) {
    log(
      "first-time setup: compiling the demo circuits and making their DEV Groth16 setup (cached in .cache/; " +
        "several minutes on 2 cores, mostly the Groth16 key generation; the dev powers of tau take ~30 s)",
    );
  }
  const started = Date.now();
  for (const name of [names.chunk, names.decision]) {
    await prover.loadProver(name, { kind: "dev" }, (m) => log(`  setup: ${m}`));
  }
  // The setup's snarkjs curve keeps worker threads alive; the aggregator makes its own.
  await prover.releaseCurves();
  const ms = Date.now() - started;
  if (!cached) log(`first-time setup done in ${(ms / 1000).toFixed(0)} s`);
  return cached ? { cachedMs: ms } : { firstTimeMs: ms };
}
