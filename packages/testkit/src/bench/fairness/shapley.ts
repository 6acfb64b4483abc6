/**
 * Exact Shapley values of a game given as a table of utilities over every coalition.
 *
 * A coalition of `n` players is a bit mask `T` in `[0, 2^n)` (bit `k` set: player `k` is in it),
 * `utilities[T]` its value. The Shapley value of `k` is the weighted mean of its marginal
 * contributions `U(S + k) - U(S)` over the coalitions `S` without `k`, with weights
 * `|S|! (n - |S| - 1)! / n!`. The fairness benchmark evaluates a real model on every coalition of
 * a round's updates (256 at n = 8), so the whole table is at hand and the exact value is cheap.
 */

/** Number of set bits of a coalition mask. */
export function coalitionSize(mask: number): number {
  let s = 0;
  for (let m = mask; m !== 0; m &= m - 1) s++;
  return s;
}

/** The members of a coalition mask, ascending. */
export function coalitionMembers(mask: number): number[] {
  const out: number[] = [];
  for (let k = 0; 1 << k <= mask; k++) if ((mask >> k) & 1) out.push(k);
  return out;
}

/** Every coalition of `n` players (`2^n` masks, the empty one first). */
export function allCoalitions(n: number): number[] {
  checkPlayers(n);
  return Array.from({ length: 2 ** n }, (_, mask) => mask);
}

/** `s! (n - s - 1)! / n!` for `s = 0 .. n - 1`: the Shapley weight of one coalition of size `s`. */
export function shapleyWeights(n: number): number[] {
  checkPlayers(n);
  const w: number[] = [];
  // w(s) = 1 / (n * C(n - 1, s)); the binomial is built incrementally to stay exact for small n.
  let binom = 1;
  for (let s = 0; s < n; s++) {
    w.push(1 / (n * binom));
    binom = (binom * (n - 1 - s)) / (s + 1);
  }
  return w;
}

/**
 * Exact Shapley values from a utility table of length `2^n` (`utilities[0]` is the empty
 * coalition's). Efficiency holds up to rounding: the values sum to `U(all) - U(empty)`.
 */
export function exactShapley(utilities: ArrayLike<number>, n: number): number[] {
  checkPlayers(n);
  if (utilities.length !== 2 ** n) throw new RangeError(`expected ${2 ** n} utilities for ${n} players, got ${utilities.length}`);
  const weights = shapleyWeights(n);
  const phi = new Array<number>(n).fill(0);
  for (let mask = 0; mask < 2 ** n; mask++) {
    const w = weights[coalitionSize(mask)];
    for (let k = 0; k < n; k++) {
      if ((mask >> k) & 1) continue;
      phi[k] = (phi[k] as number) + (w as number) * ((utilities[mask | (1 << k)] as number) - (utilities[mask] as number));
    }
  }
  return phi;
}

/** Shapley values of a game given as a function (tabulates it first). */
export function exactShapleyOf(n: number, utility: (members: readonly number[], mask: number) => number): number[] {
  const table = allCoalitions(n).map((mask) => utility(coalitionMembers(mask), mask));
  return exactShapley(table, n);
}

function checkPlayers(n: number): void {
  // 2^20 coalitions is already far beyond what a benchmark round evaluates; refuse silly sizes.
  if (!Number.isInteger(n) || n < 1 || n > 20) throw new RangeError(`player count ${n} must be an integer in [1, 20]`);
}
