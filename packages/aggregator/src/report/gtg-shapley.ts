/**
 * GTG-Shapley (Liu et al., "GTG-Shapley: Efficient and Accurate Participant Contribution Evaluation
 * in Federated Learning", 2022): a Monte-Carlo estimate of each player's Shapley value for one
 * round, over a utility `U(coalition)` (here: the validation accuracy of the model aggregated from
 * that coalition's updates), with the paper's three savings:
 *
 * - between-round truncation: when `|U(all) - U(none)| <= eps` the round changed nothing worth
 *   sharing out, and every value is 0;
 * - guided sampling: permutation `t` puts player `t mod n` first and shuffles the rest, so every
 *   player leads equally often (the first marginal `U({k}) - U(none)` carries the most signal);
 * - within-permutation truncation: once a prefix is within `eps` of `U(all)`, the remaining
 *   players' marginals in that permutation are taken as 0 without evaluating `U`.
 *
 * Sampling stops when the running means moved less than `tolerance` (relative) over the last
 * `window` permutations, checked at the end of each full cycle of `n` permutations, or at
 * `maxPermutations`. `U` is memoised over coalitions, so repeated prefixes cost nothing.
 *
 * Pure: no I/O; the randomness comes from the caller's seeded generator, so the same generator
 * seed gives the same values.
 */

/** Player indices `0..n-1`, ascending (the memo key and the argument `U` receives). */
export type Coalition = readonly number[];

/** The value of a coalition (e.g. validation accuracy); must be deterministic. */
export type Utility = (coalition: Coalition) => Promise<number>;

export interface MemoizedUtility {
  readonly utility: Utility;
  /** Distinct coalitions evaluated so far. */
  evaluations(): number;
}

const keyOf = (coalition: Coalition): string => coalition.join(",");
const sorted = (players: readonly number[]): number[] => [...players].sort((a, b) => a - b);

/** Wraps `U` so that each coalition (in any order) is evaluated once. */
export function memoizeUtility(u: Utility): MemoizedUtility {
  const cache = new Map<string, Promise<number>>();
  return {
    utility: (coalition) => {
      const canonical = sorted(coalition);
      const key = keyOf(canonical);
      let value = cache.get(key);
      if (value === undefined) {
        value = u(canonical);
        cache.set(key, value);
      }
      return value;
    },
    evaluations: () => cache.size,
  };
}

export interface GtgOptions {
  /** Uniform floats in [0, 1) from a seeded generator (determinism is the caller's seed). */
  readonly random: () => number;
  /** Truncation threshold on utility differences (default 0.001: one sample in 1,000). */
  readonly eps?: number;
  /** Relative change of the running means that counts as converged (default 0.05). */
  readonly tolerance?: number;
  /** Permutations over which convergence is measured (default max(2n, 10)). */
  readonly window?: number;
  /** Hard cap on sampled permutations (default 100). */
  readonly maxPermutations?: number;
}

export interface GtgResult {
  /** Estimated Shapley value per player. */
  readonly values: number[];
  readonly permutations: number;
  /** Distinct coalitions evaluated (including the empty and the full one). */
  readonly utilityEvaluations: number;
  readonly converged: boolean;
  /** True when between-round truncation set every value to 0. */
  readonly truncatedRound: boolean;
  readonly eps: number;
  readonly empty: number;
  readonly full: number;
}

export const GTG_DEFAULTS = { eps: 0.001, tolerance: 0.05, maxPermutations: 100 } as const;

/** `sum |a - b| / sum |a|`; 0 when nothing changed, Infinity when values left 0. */
function relativeChange(now: readonly number[], before: readonly number[]): number {
  let diff = 0;
  let size = 0;
  now.forEach((v, i) => {
    diff += Math.abs(v - (before[i] as number));
    size += Math.abs(v);
  });
  if (diff === 0) return 0;
  return size === 0 ? Infinity : diff / size;
}

/** A permutation of `0..n-1` starting with `first`, the rest shuffled (Fisher-Yates). */
function guidedPermutation(n: number, first: number, random: () => number): number[] {
  const rest = Array.from({ length: n }, (_, i) => i).filter((i) => i !== first);
  for (let i = rest.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rest[i], rest[j]] = [rest[j] as number, rest[i] as number];
  }
  return [first, ...rest];
}

export async function gtgShapley(n: number, u: Utility, options: GtgOptions): Promise<GtgResult> {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`player count ${n} must be a non-negative integer`);
  const eps = options.eps ?? GTG_DEFAULTS.eps;
  const tolerance = options.tolerance ?? GTG_DEFAULTS.tolerance;
  const maxPermutations = options.maxPermutations ?? GTG_DEFAULTS.maxPermutations;
  const window = options.window ?? Math.max(2 * n, 10);
  if (!(eps >= 0) || !(tolerance >= 0)) throw new RangeError("eps and tolerance must be >= 0");
  if (!Number.isInteger(maxPermutations) || maxPermutations < 1)
    throw new RangeError(`maxPermutations ${maxPermutations} must be an integer >= 1`);
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`window ${window} must be an integer >= 1`);

  const memo = memoizeUtility(u);
  const U = memo.utility;
  const all = Array.from({ length: n }, (_, i) => i);
  const empty = await U([]);
  const full = await U(all);
  const values = new Array<number>(n).fill(0);
  const done = (permutations: number, converged: boolean, truncatedRound: boolean): GtgResult => ({
    values,
    permutations,
    utilityEvaluations: memo.evaluations(),
    converged,
    truncatedRound,
    eps,
    empty,
    full,
  });
  if (n === 0) return done(0, true, false);
  if (Math.abs(full - empty) <= eps) return done(0, true, true);

  // history[t] = the running means after t permutations (for the convergence window)
  const history: number[][] = [[...values]];
  for (let t = 1; t <= maxPermutations; t++) {
    const order = guidedPermutation(n, (t - 1) % n, options.random);
    let previous = empty;
    for (let j = 0; j < n; j++) {
      const player = order[j] as number;
      // Within-permutation truncation: the prefix already does what everyone does.
      const current = Math.abs(full - previous) <= eps ? previous : await U(order.slice(0, j + 1));
      values[player] = ((t - 1) * (values[player] as number) + (current - previous)) / t;
      previous = current;
    }
    history.push([...values]);
    if (t % n === 0 && t >= window && relativeChange(values, history[t - window] as number[]) < tolerance) {
      return done(t, true, false);
    }
  }
  return done(maxPermutations, false, false);
}

/**
 * The exact Shapley values by enumerating every coalition (`2^n` utility evaluations): for tests
 * and tiny rounds only.
 */
export async function exactShapley(n: number, u: Utility): Promise<number[]> {
  if (!Number.isInteger(n) || n < 0 || n > 20) throw new RangeError(`exact Shapley needs 0 <= n <= 20 players (got ${n})`);
  const U = memoizeUtility(u).utility;
  const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));
  const values = new Array<number>(n).fill(0);
  for (let mask = 0; mask < 2 ** n; mask++) {
    const members = Array.from({ length: n }, (_, i) => i).filter((i) => (mask & (1 << i)) !== 0);
    const base = await U(members);
    const weight = (factorial(members.length) * factorial(n - members.length - 1)) / factorial(n);
    for (let i = 0; i < n; i++) {
      if ((mask & (1 << i)) !== 0) continue;
      values[i] = (values[i] as number) + weight * ((await U([...members, i])) - base);
    }
  }
  return values;
}
