/**
 * The owner's validation-loss curvature, as a pay that charges each update its own overshoot could
 * read it (docs/SCORING.md, nineteenth round). Two views of the Hessian `H` of `L_val` at the round's
 * model, both from the owner's gradients alone (Hessian-vector products by central differences of
 * `-grad L_val`, over a step of the length the owner already uses for its secants):
 *
 * - `exactCurvature`: `u^T H u` for every update (one product per update): the ceiling of any
 *   second-order charge, not provable (it needs the update in the owner's hands);
 * - `hessianSketch`: `H` seen in the span of its top `rank` directions (subspace iteration from `v`
 *   and the last global delta), as the `rank x rank` matrix `T = Q^T H Q`, and as one mean curvature
 *   outside it. The owner would commit `Q` with `v` (each column one more reference vector in the
 *   chunk proofs) and `T` and the mean as scalars: every number it reads from an update is
 *   `<u, q_i>` or `|u|^2`.
 */
import { normal, seededRandom } from "@fedmarket/ml";
import { dot } from "./geometry.ts";
import { l2Norm } from "../../attacks/attacks.ts";
import type { OwnerOracle } from "./rules.ts";

/** What a second-order pay reads: `<u, v>` and the charge's quadratic form `Q(u) ~ u^T H u` (weight units). */
export interface Curvature {
  alignment(u: Float64Array): number;
  quadratic(u: Float64Array): number;
}

/** Subspace iterations of the sketch: the top directions of an MLP's Hessian separate within a few. */
const SKETCH_ITERATIONS = 8;
/** Random unit directions outside the sketch whose curvature is averaged into one scalar. */
const OUTSIDE_PROBES = 4;

/** `H x` for a unit `x`, by central differences of the owner's direction over `+- t x` (`direction` is `-grad`). */
function hessianTimes(owner: OwnerOracle, x: Float64Array, t: number): Float64Array {
  const plus = owner.direction(x.map((y) => t * y));
  const minus = owner.direction(x.map((y) => -t * y));
  return Float64Array.from(plus, (p, i) => -(p - (minus[i] as number)) / (2 * t));
}

function unit(a: Float64Array): Float64Array {
  const n = l2Norm(a);
  return n === 0 ? a : a.map((x) => x / n);
}

/** A copy of `a` with its components along the orthonormal `basis` removed, twice: one pass loses orthogonality in floating point. */
function withoutBasis(a: Float64Array, basis: readonly Float64Array[]): Float64Array {
  const out = Float64Array.from(a);
  for (let pass = 0; pass < 2; pass++)
    for (const e of basis) {
      const c = dot(out, e);
      for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) - c * (e[i] as number);
    }
  return out;
}

/** Gram-Schmidt, in place of a QR: the orthonormal columns spanning `vectors` (dependent ones dropped). */
function orthonormal(vectors: readonly Float64Array[]): Float64Array[] {
  const basis: Float64Array[] = [];
  for (const v of vectors) {
    const out = withoutBasis(v, basis);
    if (l2Norm(out) > 1e-9 * Math.max(1e-300, l2Norm(v))) basis.push(unit(out));
  }
  return basis;
}

/**
 * `Q(u) = p^T M p + outside (|u|^2 - |p|^2)`, `p` the coordinates of `u` in the orthonormal `basis`:
 * a curvature `M` seen in a subspace and one mean curvature (`outside`) in the rest.
 */
export function subspaceQuadratic(
  basis: readonly Float64Array[],
  matrix: readonly (readonly number[])[],
  outside: number,
): (u: Float64Array) => number {
  const m = basis.length;
  return (u) => {
    const p = basis.map((e) => dot(u, e));
    let q = 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < m; j++) q += (p[i] as number) * ((matrix[i] as number[])[j] as number) * (p[j] as number);
    const inSpan = p.reduce((a, x) => a + x * x, 0);
    return q + outside * Math.max(0, dot(u, u) - inSpan);
  };
}

/** The step length of the owner's secants: the last global delta's, or a tenth of `v`'s in round 0 (no last step). */
export function secantLength(v: Float64Array, delta: Float64Array | null): number {
  const d = delta === null ? 0 : l2Norm(delta);
  return d > 0 ? d : 0.1 * l2Norm(v);
}

/** A quantized vector in weight units (`/ owner.scale`), null stays null. */
export function weightUnits(owner: OwnerOracle, q: readonly bigint[] | null): Float64Array | null {
  return q === null ? null : Float64Array.from(q, (x) => Number(x) / owner.scale);
}

/** `Q(u) = u^T H u` by one Hessian-vector product per update: the second-order charge's ceiling. */
export function exactCurvature(owner: OwnerOracle, v32: Float32Array, lastGlobalDelta: readonly bigint[] | null): Curvature {
  const v = Float64Array.from(v32);
  const t = secantLength(v, weightUnits(owner, lastGlobalDelta));
  return {
    alignment: (u) => dot(u, v),
    quadratic(u) {
      const n = l2Norm(u);
      if (n === 0) return 0;
      const x = unit(u);
      return dot(x, hessianTimes(owner, x, t)) * n * n;
    },
  };
}

/**
 * `a` as a reference vector of `bits` bits would carry it: `top = 2^(bits - 1) - 1` steps a side,
 * values beyond the range clipped, at the range (its largest magnitude, or a multiple of its root mean
 * square: at few bits clipping the tails loses less than coarse steps) whose rounding keeps the
 * highest cosine with `a`. A proof reads `<u, q>` of the rounded vector only, so the sketch must be
 * built on it: its span, its curvature matrix and what lies outside it.
 */
export function roundedDirection(a: Float64Array, bits: number): Float64Array {
  const top = (1 << (bits - 1)) - 1;
  const max = a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  if (max === 0) return a;
  const rms = Math.sqrt(dot(a, a) / a.length);
  const round = (range: number): Float64Array => a.map((x) => (Math.max(-top, Math.min(top, Math.round((x / range) * top))) * range) / top);
  const cosine = (b: Float64Array): number => {
    const n = l2Norm(b);
    return n === 0 ? -1 : dot(a, b) / n;
  };
  // Each distinct range rounded and scored once; the first of equal cosines wins, the largest magnitude first.
  const ranges = [...new Set([max, ...[0.5, 1, 1.5, 2, 2.5, 3, 4].map((factor) => Math.min(max, factor * rms))])];
  let best = { rounded: a, cosine: -Infinity };
  for (const range of ranges) {
    const rounded = round(range);
    const c = cosine(rounded);
    if (c > best.cosine) best = { rounded, cosine: c };
  }
  return best.rounded;
}

/**
 * `H` in the span of `rank` orthonormal directions found by subspace iteration (started from `v`,
 * the last delta and seeded random directions), plus the mean curvature along random directions
 * outside it (never below 0): `Q(u) = p^T T p + c_out (|u|^2 - |p|^2)`, `p = Q^T u`. With `bits`,
 * the directions are first rounded to `bits`-bit reference vectors (`roundedDirection`) and the
 * span is theirs: a linear map of the `<u, q_i>` a proof would read, folded into `T`.
 */
export function hessianSketch(
  owner: OwnerOracle,
  v32: Float32Array,
  lastGlobalDelta: readonly bigint[] | null,
  rank: number,
  bits?: number,
): Curvature & { readonly outside: number } {
  const v = Float64Array.from(v32);
  const d = v.length;
  const delta = weightUnits(owner, lastGlobalDelta);
  const t = secantLength(v, delta);
  const rng = seededRandom(d + rank);
  const random = (): Float64Array => Float64Array.from({ length: d }, () => normal(rng));
  let basis = orthonormal([v, ...(delta === null ? [] : [delta]), ...Array.from({ length: rank }, random)]).slice(0, rank);
  for (let it = 0; it < SKETCH_ITERATIONS; it++) basis = orthonormal(basis.map((q) => hessianTimes(owner, q, t)));
  if (bits !== undefined) basis = orthonormal(basis.map((q) => roundedDirection(q, bits)));
  const products = basis.map((q) => hessianTimes(owner, q, t));
  const m = basis.length;
  const tMatrix = Array.from({ length: m }, (_, i) =>
    Array.from(
      { length: m },
      (__, j) =>
        (dot(basis[i] as Float64Array, products[j] as Float64Array) + dot(basis[j] as Float64Array, products[i] as Float64Array)) / 2,
    ),
  );
  const probes = Array.from({ length: OUTSIDE_PROBES }, () => unit(withoutBasis(random(), basis)));
  const outside = Math.max(0, probes.reduce((a, z) => a + dot(z, hessianTimes(owner, z, t)), 0) / OUTSIDE_PROBES);
  return {
    outside,
    alignment: (u) => dot(u, v),
    quadratic: subspaceQuadratic(basis, tMatrix, outside),
  };
}
