/**
 * Small statistics for the fairness benchmark: rank and linear correlation over a handful of
 * trainers, medians. Ties get average ranks (so eight equal payouts give an undefined, reported
 * as `null`, correlation rather than an arbitrary one).
 */

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * Standard error of the mean, `sd / sqrt(n)` with the sample standard deviation (`n - 1`); `null`
 * below two values. Over seeds it says how far a mean Spearman is from a goal in units of its own
 * seed-to-seed spread (docs/SCORING.md, twenty-third round).
 */
export function standardError(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs);
  const variance = xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
  return Math.sqrt(variance / xs.length);
}

/** Median (mean of the two middle values for an even count); 0 for an empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** 1-based ranks, ties sharing their average rank. */
export function averageRanks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => ({ x, i })).sort((a, b) => a.x - b.x);
  const ranks = new Array<number>(xs.length).fill(0);
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && (order[end + 1] as { x: number }).x === (order[start] as { x: number }).x) end++;
    const r = (start + end) / 2 + 1;
    for (let j = start; j <= end; j++) ranks[(order[j] as { i: number }).i] = r;
    start = end + 1;
  }
  return ranks;
}

/** Pearson correlation; `null` when either side is constant (or fewer than 2 points). */
export function pearson(xs: readonly number[], ys: readonly number[]): number | null {
  if (xs.length !== ys.length) throw new RangeError("correlation of lists of unequal length");
  if (xs.length < 2) return null;
  const mx = mean(xs),
    my = mean(ys);
  let sxy = 0,
    sxx = 0,
    syy = 0;
  xs.forEach((x, i) => {
    const dx = x - mx,
      dy = (ys[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  });
  if (sxx === 0 || syy === 0) return null;
  return sxy / Math.sqrt(sxx * syy);
}

/** Spearman correlation (Pearson of average ranks). */
export function spearman(xs: readonly number[], ys: readonly number[]): number | null {
  return pearson(averageRanks(xs), averageRanks(ys));
}

/** Rounds to 4 decimals for the JSON output (keeps `null`). */
export function round4<T extends number | null>(x: T): T {
  return (x === null ? null : Math.round((x as number) * 1e4) / 1e4) as T;
}
