/**
 * Quantization of float model deltas into the B-bit integers the circuits work on, and back.
 *
 * `q = roundHalfAwayFromZero(clip(x, -clipBound, clipBound) * scale)`; the configuration must
 * guarantee `|q| <= 2^(B-1) - 1` (checked by `validateQuantization`).
 */
import { assertSignedBits } from "./field.ts";

/** How float deltas map to integers. */
export interface QuantizationParams {
  /** Multiplier applied after clipping (e.g. `2 ** 12`). */
  readonly scale: number;
  /** Deltas are clipped into `[-clipBound, clipBound]` before scaling. */
  readonly clipBound: number;
  /** Bits of one quantized value (`B`). */
  readonly bits: number;
}

/** Rounds half away from zero (`Math.round` rounds half toward +infinity). */
export function roundHalfAwayFromZero(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/** Throws unless every clipped, scaled value fits the two's-complement range of `bits`. */
export function validateQuantization(params: QuantizationParams): void {
  const { scale, clipBound, bits } = params;
  if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError(`scale ${scale} must be > 0`);
  if (!(Number.isFinite(clipBound) && clipBound >= 0)) {
    throw new RangeError(`clipBound ${clipBound} must be >= 0`);
  }
  const max = roundHalfAwayFromZero(clipBound * scale);
  if (!Number.isSafeInteger(max) || max > 2 ** (bits - 1) - 1) {
    throw new RangeError(`clipBound * scale = ${clipBound * scale} does not fit ${bits} signed bits`);
  }
}

/** Quantizes one float. */
export function quantizeValue(x: number, params: QuantizationParams): bigint {
  if (!Number.isFinite(x)) throw new RangeError(`cannot quantize ${x}`);
  const clipped = Math.min(params.clipBound, Math.max(-params.clipBound, x));
  const q = BigInt(roundHalfAwayFromZero(clipped * params.scale));
  assertSignedBits(q, params.bits, "quantized value");
  return q;
}

/** Quantizes a vector of float deltas. */
export function quantize(xs: ArrayLike<number>, params: QuantizationParams): bigint[] {
  validateQuantization(params);
  return Array.from(xs, (x) => quantizeValue(x, params));
}

/** Maps integers back to floats (`q / scale`). */
export function dequantize(qs: readonly bigint[], scale: number): number[] {
  return qs.map((q) => Number(q) / scale);
}
