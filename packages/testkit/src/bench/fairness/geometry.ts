/**
 * What a candidate round rule may look at: the Gram matrix of the round's updates and their inner
 * products with at most two reference vectors, the owner's validation direction `v` and the last
 * global delta `Delta` (public: consecutive global models), plus the owner's curvature scalar `c`.
 *
 * This is the whole interface on purpose. The chunk proofs already accumulate the Gram matrix;
 * one more committed vector costs `K` multiply-adds per coordinate, so a rule that is a function
 * of these numbers stays cheap to prove. Everything is in weight units (quantized values divided
 * by the project's scale). Integer sums are exact in float64 here: `|q| <= 127`, `D` ~ 25,000.
 */

/** The owner's reference at the previous model (validation split only). */
export interface Reference {
  /** `v = -grad L_val(prevModel)` (weight units). */
  readonly v: Float32Array;
  /** `L_val(prevModel)`. */
  readonly loss: number;
  /** Curvature scalar `c` of the surrogate `U(T) = <v, m_T> - (c/2) ||m_T||^2`. */
  readonly curvature: number;
}

export interface RoundStats {
  /** Slots with an opened update. */
  readonly present: readonly boolean[];
  /** `G_ij = <u_i, u_j>` (0 for slots without update). */
  readonly gram: readonly (readonly number[])[];
  /** `<u_k, v>`, `null` without a reference. */
  readonly alignment: readonly number[] | null;
  readonly vNorm2: number | null;
  /** `D`, the length of the updates (0 when every slot is empty). */
  readonly dimension: number;
  readonly curvature: number | null;
  /** `<u_k, Delta>`, `||Delta||^2`, `<Delta, v>`; `null` in round 0. */
  readonly last: { readonly dot: readonly number[]; readonly norm2: number; readonly dotV: number | null } | null;
}

/** Computes the statistics of one round (the only input of the candidate rules). */
export function roundStats(
  updates: readonly (Int32Array | null)[],
  scale: number,
  reference?: Reference,
  lastGlobalDelta?: Int32Array,
): RoundStats {
  const k = updates.length;
  const s2 = scale * scale;
  const gram = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < k; i++) {
    const ui = updates[i];
    if (ui == null) continue;
    for (let j = i; j < k; j++) {
      const uj = updates[j];
      if (uj == null) continue;
      const g = dotInt(ui, uj) / s2;
      (gram[i] as number[])[j] = g;
      (gram[j] as number[])[i] = g;
    }
  }
  const alignment = reference === undefined ? null : updates.map((u) => (u == null ? 0 : dotFloat(u, reference.v) / scale));
  let last: RoundStats["last"] = null;
  if (lastGlobalDelta !== undefined) {
    const norm2 = dotInt(lastGlobalDelta, lastGlobalDelta) / s2;
    last = {
      dot: updates.map((u) => (u == null ? 0 : dotInt(u, lastGlobalDelta) / s2)),
      norm2,
      dotV: reference === undefined ? null : dotFloat(lastGlobalDelta, reference.v) / scale,
    };
  }
  return {
    present: updates.map((u) => u != null),
    gram,
    alignment,
    vNorm2: reference === undefined ? null : dot(reference.v, reference.v),
    dimension: updates.find((u) => u != null)?.length ?? 0,
    curvature: reference === undefined ? null : reference.curvature,
    last,
  };
}

function dotInt(a: Int32Array, b: Int32Array): number {
  if (a.length !== b.length) throw new RangeError("inner product of vectors of unequal length");
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function dotFloat(a: Int32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError("inner product of vectors of unequal length");
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** `<a, b>` of two float vectors of equal length (float64 sums, in index order). */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError("inner product of vectors of unequal length");
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}
