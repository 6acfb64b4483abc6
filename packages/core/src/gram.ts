/**
 * Gram matrix of the (quantized, padded) updates: `G[i][j] = <u_i, u_j>`.
 */
import { gramIndex, gramSize } from "./config.ts";

/** Full symmetric Gram matrix of equally long integer vectors. */
export function gramMatrix(vectors: readonly (readonly bigint[])[]): bigint[][] {
  const k = vectors.length;
  const g: bigint[][] = Array.from({ length: k }, () => new Array<bigint>(k).fill(0n));
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      const v = innerProduct(vectors[i] as readonly bigint[], vectors[j] as readonly bigint[]);
      (g[i] as bigint[])[j] = v;
      (g[j] as bigint[])[i] = v;
    }
  }
  return g;
}

/** `<a, b>`; throws on length mismatch. */
export function innerProduct(a: readonly bigint[], b: readonly bigint[]): bigint {
  if (a.length !== b.length) throw new RangeError("inner product of vectors of unequal length");
  let s = 0n;
  for (let x = 0; x < a.length; x++) s += (a[x] as bigint) * (b[x] as bigint);
  return s;
}

/** Upper-triangular row-major form (`i <= j`), the accumulator's layout. */
export function gramToUpper(g: readonly (readonly bigint[])[]): bigint[] {
  const k = g.length;
  const out = new Array<bigint>(gramSize(k)).fill(0n);
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) out[gramIndex(i, j, k)] = (g[i] as readonly bigint[])[j] as bigint;
  }
  return out;
}

/** Full symmetric matrix from the upper-triangular row-major form. */
export function gramFromUpper(upper: readonly bigint[], k: number): bigint[][] {
  if (upper.length !== gramSize(k)) throw new RangeError("wrong upper-triangular Gram length");
  return Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => upper[gramIndex(i, j, k)] as bigint));
}

/** Squared distance from the Gram matrix: `d_ij = G_ii + G_jj - 2 G_ij`. */
export function squaredDistance(g: readonly (readonly bigint[])[], i: number, j: number): bigint {
  const row = (r: number): readonly bigint[] => g[r] as readonly bigint[];
  return (row(i)[i] as bigint) + (row(j)[j] as bigint) - 2n * (row(i)[j] as bigint);
}
