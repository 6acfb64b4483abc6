/**
 * The one place the trainer touches @fedmarket/core (the shared reference implementation of
 * quantization and commitments, the same code the circuits are tested against):
 *
 *   float delta --quantize--> B-bit integers --trainer chain + salt--> commitment (on chain)
 *
 * Swapping the implementation means editing this file only.
 */
import { commitUpdate, quantizeDelta, randomSalt, validateConfig, type CircuitConfig, type QuantizationParams } from "@fedmarket/core";
import type { QuantizationSpec } from "@fedmarket/protocol";

export type { CircuitConfig, QuantizationParams };
// The fixed-point rules live in @fedmarket/core (quantize.ts); re-exported for existing callers.
export { quantizationParams, quantizeDelta } from "@fedmarket/core";

export interface PreparedUpdate {
  readonly quantized: readonly bigint[];
  /** Secret until revealed to the aggregator (inside the encrypted payload). */
  readonly salt: bigint;
  /** `Poseidon(trainerChain(quantized), salt)`, the value submitted on chain. */
  readonly commitment: bigint;
}

/** Quantizes a delta and commits to it under a fresh (or given) salt. */
export function prepareUpdate(
  delta: Float32Array,
  spec: QuantizationSpec,
  config: CircuitConfig,
  salt: bigint = randomSalt(),
): PreparedUpdate {
  validateConfig(config);
  const quantized = quantizeDelta(delta, spec, config.updateBits);
  return { quantized, salt, commitment: commitUpdate(quantized, salt, config.chunk, config.updateBits) };
}
