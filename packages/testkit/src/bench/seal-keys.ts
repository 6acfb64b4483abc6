/**
 * Deterministic seal secrets for the benchmarks and tests that compute rounds with @fedmarket/core's
 * `simulateRound` directly (no nodes): a reproducible run needs reproducible ciphertexts, so the
 * aggregator's seal secret and every trainer's ephemeral secret are derived from labels and
 * integers here. Real nodes draw each of them with `randomScalar()` (an ephemeral secret reused for
 * other values would repeat its keystream).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { SUBGROUP_ORDER } from "@fedmarket/core";
import { generateSealKeyPair, type SealKeyPair } from "../chain/demo-project.ts";

/** A scalar in `[1, l)` derived from `label` and `parts` (SHA-256, reduced; distinct inputs give distinct scalars in practice). */
export function deterministicScalar(label: string, ...parts: readonly (number | bigint)[]): bigint {
  const digest = sha256(new TextEncoder().encode([label, ...parts.map(String)].join("/")));
  let x = 0n;
  for (const b of digest) x = (x << 8n) | BigInt(b);
  return (x % (SUBGROUP_ORDER - 1n)) + 1n;
}

/** The aggregator's seal key pair of a benchmark run (`seed`). */
export function benchAggregatorKey(seed: number | bigint): SealKeyPair {
  return generateSealKeyPair(deterministicScalar("fedmarket-bench/aggregator", seed));
}

/** The ephemeral secret of trainer slot `slot` in round `round` of a benchmark run (`seed`). */
export function benchEphemeralSecret(seed: number | bigint, round: number, slot: number): bigint {
  return deterministicScalar("fedmarket-bench/ephemeral", seed, round, slot);
}
