/**
 * Aggregation `g' = g + floor(S / n)` with `S` the sum of the inlier updates and `n` their count
 * (`g' = g` when `n = 0`); floor rounds toward minus infinity; `g'` must fit `BG` signed bits.
 */
import { assertSignedBits, floorDiv } from "./field.ts";

/** Element-wise masked sum `S[x] = sum_{k in mask} u_k[x]`. */
export function maskedSum(updates: readonly (readonly bigint[])[], mask: readonly boolean[]): bigint[] {
  const length = updates[0]?.length ?? 0;
  const s = new Array<bigint>(length).fill(0n);
  updates.forEach((u, k) => {
    if (!mask[k]) return;
    if (u.length !== length) throw new RangeError("updates of unequal length");
    for (let x = 0; x < length; x++) s[x] = (s[x] as bigint) + (u[x] as bigint);
  });
  return s;
}

/** The new global model; throws if a value leaves the `modelBits` signed range. */
export function aggregate(
  prevModel: readonly bigint[],
  updates: readonly (readonly bigint[])[],
  mask: readonly boolean[],
  modelBits: number,
): bigint[] {
  const n = BigInt(mask.filter((m, k) => m && updates[k] !== undefined).length);
  const s = maskedSum(updates, mask);
  return prevModel.map((g, x) => {
    const next = n === 0n ? g : g + floorDiv(s[x] ?? 0n, n);
    assertSignedBits(next, modelBits, `new model value ${x}`);
    return next;
  });
}
