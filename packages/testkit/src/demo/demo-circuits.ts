/**
 * The demo circuits' development setup (compiled circuits, dev zkeys computed from public secrets), made
 * on first use by the aggregator's `prepareCircuits` (what `fedmarket-aggregator setup` does, with
 * the repository's circuit scripts) and cached in .cache/. The committed Solidity verifiers
 * (contracts/verifiers/generated/*_k8_c128_b8_g24.sol) come from the same deterministic dev setup;
 * the aggregator checks at start-up that the deployed verifier accepts proofs of these keys, so a
 * stale verifier fails loudly. The aggregator never makes the setup itself: the demo prepares it
 * before any round, as an operator does before accepting a project.
 */
import { circuitArtifactsStatus, prepareCircuits } from "@fedmarket/aggregator";
import type { NodeLogger } from "@fedmarket/protocol";
import { DEMO_CIRCUIT } from "./demo-data.ts";

export interface DemoCircuitsSetup {
  /** Wall time of the setup when it had to be made (first run on this machine). */
  readonly firstTimeMs?: number;
  /** Wall time of finding the cached setup otherwise. */
  readonly cachedMs?: number;
}

/** The setup's progress lines (step k/N, heartbeats, percentages) as `  setup: ...` lines. */
function setupLogger(log: (line: string) => void): NodeLogger {
  return {
    log(level, _event, msg) {
      if (level !== "debug") log(`  setup: ${level === "info" ? "" : `${level.toUpperCase()}: `}${msg}`);
    },
    progress: () => ({ update: () => {}, stop: () => {} }),
  };
}

/** Makes sure the demo circuits' dev setup exists; times it when it had to be made. */
export async function ensureDemoCircuits(log: (line: string) => void): Promise<DemoCircuitsSetup> {
  const started = Date.now();
  if ((await circuitArtifactsStatus(DEMO_CIRCUIT)).missing.length === 0) return { cachedMs: Date.now() - started };
  log(
    "first-time setup: compiling the demo circuits and making their DEV Groth16 setup (what `fedmarket-aggregator setup` does; " +
      "cached in .cache/; about a minute on 2 cores, mostly compiling the circuits: the dev keys are computed from their public secrets)",
  );
  await prepareCircuits(DEMO_CIRCUIT, setupLogger(log));
  const ms = Date.now() - started;
  log(`first-time setup done in ${(ms / 1000).toFixed(0)} s`);
  return { firstTimeMs: ms };
}
