/**
 * The one place the trainer touches @fedmarket/core (the shared reference implementation of
 * quantization, the same code the circuits are tested against):
 *
 *   float delta --clip, quantize--> D signed B-bit integers
 *
 * Sealing those integers for the aggregator and committing to the ciphertext is
 * @fedmarket/protocol's update codec (`sealUpdate`, over core's cipher), shared with the aggregator
 * and the audit. Swapping the quantization means editing this file only.
 */
import { quantizeDelta, validateConfig, type CircuitConfig, type QuantizationParams } from "@fedmarket/core";
import type { QuantizationSpec } from "@fedmarket/protocol";

export type { CircuitConfig, QuantizationParams };
// The fixed-point rules live in @fedmarket/core (quantize.ts); re-exported for existing callers.
export { quantizationParams, quantizeDelta } from "@fedmarket/core";

/**
 * Quantizes a float delta for the project's circuit: `D` signed `B`-bit integers, what
 * `sealUpdate` seals. Throws for a configuration the circuits do not support or a delta that does
 * not fit `B` bits after clipping.
 */
export function quantizeUpdate(delta: Float32Array, spec: QuantizationSpec, config: CircuitConfig): bigint[] {
  validateConfig(config);
  return quantizeDelta(delta, spec, config.updateBits);
}
