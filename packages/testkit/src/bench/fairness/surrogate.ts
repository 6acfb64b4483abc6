/**
 * The exact Shapley value of the quadratic surrogate game, in closed form.
 *
 * Players are `n` updates `u_1..u_n`, `v` a reference direction (minus the gradient of the
 * owner's validation loss at the previous model) and `c >= 0` one curvature scalar. A coalition
 * `T` is worth
 *
 *     U(T) = <v, m_T> - (c / 2) ||m_T||^2,   m_T = (1 / |T|) sum_{j in T} u_j,   U(empty) = 0,
 *
 * the second-order Taylor model of the validation-loss decrease of the step `m_T` with the
 * Hessian replaced by `c I`. Writing `a_k = <u_k, v>`, `G` the Gram matrix, `A = sum_j a_j`,
 * `R_k = sum_{j != k} G_kj`, `Y = sum_{i < j} G_ij` and `Dg = sum_i G_ii`, the Shapley value is
 *
 *     phi_k = L1 a_k + L2 (A - a_k)
 *             - (c / 2) [ Q1 G_kk + Q2 (Dg - G_kk) + P1 R_k + P2 (Y - R_k) ]
 *
 * with six coefficients that depend only on `n`. Derivation: a game `h(|T|) sum_{i in T} x_i`
 * has, for a coalition `S` of size `s` drawn uniformly from the others, expected marginal
 * `h(s+1) x_k + (h(s+1) - h(s)) s (X - x_k) / (n - 1)`; a game `h(|T|) sum_{i<j in T} y_ij` has
 * `h(s+1) s R_k / (n - 1) + (h(s+1) - h(s)) s (s - 1) (Y - R_k) / ((n - 1)(n - 2))`. Shapley is
 * the mean of these over `s = 0 .. n - 1`. The linear part uses `h(t) = 1/t`, the diagonal part
 * `h(t) = 1/t^2` and the pairs `h(t) = 2/t^2` (each unordered pair counted twice in `||m_T||^2`):
 *
 *     L1 = H_n / n                                  L2 = -(H_n - 1) / (n (n - 1))
 *     Q1 = (1/n) sum_{t=1..n} 1/t^2                 Q2 = (1/n) sum_s (1/(s+1)^2 - 1/s^2) s / (n - 1)
 *     P1 = (1/n) sum_s 2 s / ((s+1)^2 (n - 1))      P2 = (1/n) sum_s 2 (1/(s+1)^2 - 1/s^2) s (s-1) / ((n-1)(n-2))
 *
 * So a proof needs only the Gram matrix (already accumulated by the chunk proofs) and the `n`
 * inner products `<u_k, v>`: one extra reference vector, `n` more multiply-adds per coordinate.
 * `test/fairness-surrogate.test.ts` checks the closed form against brute force over all
 * coalitions.
 */

/** The six coefficients of the closed form for `n` players. */
export interface SurrogateCoefficients {
  readonly n: number;
  /** Weight of the player's own `<u_k, v>`. */
  readonly linSelf: number;
  /** Weight of the other players' `<u_j, v>` (their sum). */
  readonly linOthers: number;
  /** Weight of the player's own `G_kk`. */
  readonly diagSelf: number;
  /** Weight of the other players' `G_jj` (their sum). */
  readonly diagOthers: number;
  /** Weight of `R_k = sum_{j != k} G_kj`. */
  readonly pairSelf: number;
  /** Weight of the pairs not involving `k`: `Y - R_k`. */
  readonly pairOthers: number;
}

/** Closed-form coefficients (exact sums over coalition sizes; `n >= 1`). */
export function surrogateCoefficients(n: number): SurrogateCoefficients {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`player count ${n} must be a positive integer`);
  let linSelf = 0,
    linOthers = 0,
    diagSelf = 0,
    diagOthers = 0,
    pairSelf = 0,
    pairOthers = 0;
  const h1 = (t: number): number => (t === 0 ? 0 : 1 / t);
  const h2 = (t: number): number => (t === 0 ? 0 : 1 / (t * t));
  for (let s = 0; s < n; s++) {
    linSelf += h1(s + 1);
    diagSelf += h2(s + 1);
    if (n >= 2) {
      linOthers += ((h1(s + 1) - h1(s)) * s) / (n - 1);
      diagOthers += ((h2(s + 1) - h2(s)) * s) / (n - 1);
      pairSelf += (2 * h2(s + 1) * s) / (n - 1);
    }
    if (n >= 3) pairOthers += (2 * (h2(s + 1) - h2(s)) * s * (s - 1)) / ((n - 1) * (n - 2));
  }
  return {
    n,
    linSelf: linSelf / n,
    linOthers: linOthers / n,
    diagSelf: diagSelf / n,
    diagOthers: diagOthers / n,
    pairSelf: pairSelf / n,
    pairOthers: pairOthers / n,
  };
}

/**
 * Shapley values of the surrogate game from `a_k = <u_k, v>`, the Gram matrix and `c`, by the
 * closed form (`O(n^2)`, no coalition enumerated).
 */
export function surrogateShapley(alignment: readonly number[], gram: readonly (readonly number[])[], curvature: number): number[] {
  const n = alignment.length;
  if (n === 0) return [];
  checkGram(gram, n);
  const co = surrogateCoefficients(n);
  const A = sum(alignment);
  let Dg = 0,
    Y = 0;
  const R = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    Dg += gram[i]?.[i] as number;
    for (let j = 0; j < n; j++) if (j !== i) R[i] = (R[i] as number) + (gram[i]?.[j] as number);
    for (let j = i + 1; j < n; j++) Y += gram[i]?.[j] as number;
  }
  return alignment.map((a, k) => {
    const gkk = gram[k]?.[k] as number;
    const rk = R[k] as number;
    const lin = co.linSelf * a + co.linOthers * (A - a);
    const quad = co.diagSelf * gkk + co.diagOthers * (Dg - gkk) + co.pairSelf * rk + co.pairOthers * (Y - rk);
    return lin - (curvature / 2) * quad;
  });
}

/** `U(T)` of the surrogate game for a coalition given by its members (0 for the empty one). */
export function surrogateUtility(
  members: readonly number[],
  alignment: readonly number[],
  gram: readonly (readonly number[])[],
  curvature: number,
): number {
  const t = members.length;
  if (t === 0) return 0;
  let lin = 0,
    quad = 0;
  for (const i of members) {
    lin += alignment[i] as number;
    for (const j of members) quad += gram[i]?.[j] as number;
  }
  return lin / t - (curvature / 2) * (quad / (t * t));
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function checkGram(gram: readonly (readonly number[])[], n: number): void {
  if (gram.length !== n || gram.some((row) => row.length !== n)) throw new RangeError(`Gram matrix must be ${n} x ${n}`);
}
