/**
 * Every fixed-point rule: how float updates and models map to the integers the circuits, the
 * commitments and the contract work on, and back. One project's rule is its spec's `quantization`
 * (`scale`, `clipBound`) plus the circuit's widths `B` (updates) and `BG` (models).
 *
 * - Update delta: `q = roundHalfAwayFromZero(clip(x, -clipBound, clipBound) * scale)`; the
 *   configuration must guarantee `|q| <= 2^(B-1) - 1` (checked by `validateQuantization`).
 *   The quantized clip bound `roundHalfAwayFromZero(clipBound * scale)` is what the contract
 *   stores as `CircuitParams.clipBound`.
 * - Global model: `q = roundHalfAwayFromZero(w * scale)`, not clipped, within `BG` signed bits.
 *   The aggregator's proven new model is integer (`g' = g + floor(S / n)`) and is published as
 *   float32 `w = g' / scale`, which quantizes back to exactly `g'` as long as `|g'| < 2^24`
 *   (float32 has a 24-bit significand and `scale` is a power of two or a small integer);
 *   `dequantizeModel` refuses values where that round trip would not be exact.
 *
 * Rounding is half away from zero everywhere, so that `-x` quantizes to `-q`.
 */
import { assertSignedBits } from "./field.ts";
import { initialModelBits, maxRounds, type CircuitConfig } from "./config.ts";

/** How float deltas map to integers. */
export interface QuantizationParams {
  /** Multiplier applied after clipping (e.g. `2 ** 12`). */
  readonly scale: number;
  /** Deltas are clipped into `[-clipBound, clipBound]` before scaling. */
  readonly clipBound: number;
  /** Bits of one quantized value (`B`). */
  readonly bits: number;
}

/** A spec's quantization (`scale`, `clipBound`), without the circuit's width. */
export type QuantizationRule = Pick<QuantizationParams, "scale" | "clipBound">;

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

/**
 * `roundHalfAwayFromZero(clipBound * scale)`: the largest `|q|` of an update, and the
 * `CircuitParams.clipBound` the contract stores, so that a spec and a project can be compared.
 */
export function quantizedClipBound(rule: QuantizationRule): bigint {
  const max = roundHalfAwayFromZero(rule.clipBound * rule.scale);
  if (!Number.isFinite(max)) throw new RangeError(`clipBound * scale = ${rule.clipBound * rule.scale} is not finite`);
  return BigInt(max);
}

/** A spec's quantization plus the circuit's update width `B`, validated: the parameters of `quantize`. */
export function quantizationParams(rule: QuantizationRule, updateBits: number): QuantizationParams {
  const params = { scale: rule.scale, clipBound: rule.clipBound, bits: updateBits };
  validateQuantization(params);
  return params;
}

/** A trainer's float delta as the signed `B`-bit integers it commits to (clip, scale, round). */
export function quantizeDelta(delta: ArrayLike<number>, rule: QuantizationRule, updateBits: number): bigint[] {
  return quantize(delta, quantizationParams(rule, updateBits));
}

/**
 * `q_i = roundHalfAwayFromZero(w_i * scale)`, each within `modelBits` (`BG`) signed bits: the
 * integer model a global model's commitment is computed over. Throws on a non-finite weight.
 */
export function quantizeModel(weights: ArrayLike<number>, scale: number, modelBits: number): bigint[] {
  const out: bigint[] = new Array<bigint>(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] as number;
    if (!Number.isFinite(w)) throw new RangeError(`model weight ${i} is ${w}`);
    const q = BigInt(roundHalfAwayFromZero(w * scale));
    assertSignedBits(q, modelBits, `quantized model weight ${i}`);
    out[i] = q;
  }
  return out;
}

/**
 * Throws a `RangeError` that says what to change unless a project's initial model and round count
 * keep within the model's headroom (config.ts `initialModelBits`, `maxRounds`): the rule under
 * which no proven round can push a model value out of its `BG` bits.
 */
export function checkModelHeadroom(initialModel: readonly bigint[], numRounds: number, config: CircuitConfig): void {
  const rounds = maxRounds(config);
  if (!Number.isInteger(numRounds) || numRounds < 1 || numRounds > rounds) {
    throw new RangeError(
      `numRounds ${numRounds} must be in [1, ${rounds}]: with B = ${config.updateBits} and BG = ${config.modelBits} ` +
        `a model value may move by 2^${config.updateBits - 1} per round (use fewer rounds or a circuit with a larger BG)`,
    );
  }
  const bits = initialModelBits(config);
  initialModel.forEach((q, i) => {
    try {
      assertSignedBits(q, bits, `initial model value ${i}`);
    } catch (err) {
      throw new RangeError(
        `${(err as Error).message}: an initial model may use BG - 1 signed bits, leaving room for the rounds' steps; ` +
          `scale the model down (a smaller quantization scale) or use a circuit with a larger BG`,
      );
    }
  });
}

/**
 * Float32 weights `q / scale` of an integer model, for publishing it; throws unless every value
 * quantizes back to exactly `q` (else the published file would not match the proven commitment).
 */
export function dequantizeModel(q: readonly bigint[], scale: number): Float32Array {
  const out = new Float32Array(q.length);
  q.forEach((v, i) => {
    out[i] = Number(v) / scale;
    if (BigInt(roundHalfAwayFromZero((out[i] as number) * scale)) !== v) {
      throw new RangeError(`model value ${i} = ${v} does not survive the float32 round trip (|q| must stay below 2^24)`);
    }
  });
  return out;
}
