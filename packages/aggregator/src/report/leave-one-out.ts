/**
 * Leave-one-out values: `LOO_k = U(all) - U(all \ {k})`, what the round would lose without player
 * `k` alone. Cheaper than Shapley (n + 1 evaluations) but blind to redundancy: two identical good
 * updates each get LOO 0. Pass a memoised utility (gtg-shapley.ts) to share evaluations.
 */
import type { Utility } from "./gtg-shapley.ts";

export async function leaveOneOut(n: number, u: Utility): Promise<number[]> {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`player count ${n} must be a non-negative integer`);
  const all = Array.from({ length: n }, (_, i) => i);
  const full = await u(all);
  const values: number[] = [];
  for (const k of all) values.push(full - (await u(all.filter((i) => i !== k))));
  return values;
}
