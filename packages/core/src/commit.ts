/**
 * Chains over chunked vectors (docs/PROOF-INTERFACE.md, "Commitments"): chunk hashes, the chain
 * step and model commitments. An update's commitment is a chain over its *ciphertext* chunks and
 * the trainer's ephemeral key (`sealedCommitment`, cipher.ts), so no plaintext update chain or salt
 * is committed anywhere.
 */
import { pack } from "./pack.ts";
import { hashMany, poseidonPair } from "./poseidon.ts";

/** Zero-pads `values` to `ceil(len / chunk) * chunk` (at least one chunk). */
export function padToChunks(values: readonly bigint[], chunk: number): bigint[] {
  const chunks = Math.max(1, Math.ceil(values.length / chunk));
  const out = [...values];
  while (out.length < chunks * chunk) out.push(0n);
  return out;
}

/** Splits a padded vector into its chunks of `chunk` values. */
export function splitChunks(values: readonly bigint[], chunk: number): bigint[][] {
  if (values.length % chunk !== 0) throw new RangeError("vector is not padded to whole chunks");
  const out: bigint[][] = [];
  for (let i = 0; i < values.length; i += chunk) out.push(values.slice(i, i + chunk));
  return out;
}

/** Hash of one chunk: `hashMany(pack(chunkValues, bits))` (`h[k][j]` or `hm[j]`). */
export function chunkHash(chunkValues: readonly bigint[], bits: number): bigint {
  return hashMany(pack(chunkValues, bits));
}

/** One chain step: `next = Poseidon(prev, chunkHash)`. */
export function chainStep(prev: bigint, hash: bigint): bigint {
  return poseidonPair(prev, hash);
}

/**
 * The chain over all chunks of a vector: `x[0] = 0`, `x[j+1] = Poseidon(x[j], hash_j)`.
 * Used for trainer chains (`bits = B`) and model commitments (`bits = BG`).
 * `values` is zero-padded to whole chunks first.
 */
export function vectorChain(values: readonly bigint[], chunk: number, bits: number): bigint {
  let acc = 0n;
  for (const c of splitChunks(padToChunks(values, chunk), chunk)) {
    acc = chainStep(acc, chunkHash(c, bits));
  }
  return acc;
}

/** Model commitment `m[C]` (no salt: models are public). */
export function modelCommitment(model: readonly bigint[], chunk: number, modelBits: number): bigint {
  return vectorChain(model, chunk, modelBits);
}
