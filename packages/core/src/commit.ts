/**
 * Chains over chunked vectors (docs/PROOF-INTERFACE.md, "Commitments"): chunk hashes, the chain
 * step and model commitments. An update's commitment is a chain over its *ciphertext* chunks and
 * the trainer's ephemeral key (`sealedCommitment`, cipher.ts), so no plaintext update chain or salt
 * is committed anywhere.
 */
import type { CircuitConfig } from "./config.ts";
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

/** One chain step: `next = Poseidon(prev, hash)` (`hash` a chunk's hash: `modelChunkHash`, a ciphertext's `hashNarrow`). */
export function chainStep(prev: bigint, hash: bigint): bigint {
  return poseidonPair(prev, hash);
}

/** What a model commitment depends on: the chunk size, the model's width `BG` and the step's `B`. */
export type ModelLayout = Pick<CircuitConfig, "chunk" | "modelBits" | "updateBits">;

/**
 * Hash of one model chunk together with the step that produced it:
 * `hashMany(pack(model chunk, BG) ++ pack(step chunk, B))` (`hm[j]`).
 *
 * Why the step: the round that produced a model proved its step `q = floor(S / n)` at `B` bits
 * (chunk.circom step 5), and the next round's rule needs that step, the last global delta, to tell
 * a replay of it from a contribution (issue 12's delta cap). Committing the step with the model
 * carries it from one round's proofs to the next through the commitment the contract already keeps,
 * so the older model never enters a proof and the contract stores nothing new.
 */
export function modelChunkHash(modelChunk: readonly bigint[], stepChunk: readonly bigint[], layout: ModelLayout): bigint {
  if (modelChunk.length !== layout.chunk || stepChunk.length !== layout.chunk)
    throw new RangeError("model and step chunks need CHUNK values");
  return hashMany([...pack(modelChunk, layout.modelBits), ...pack(stepChunk, layout.updateBits)]);
}

/**
 * Model commitment `m[C]` (no salt: models are public): the chain over `modelChunkHash` of the
 * model and its step, both zero-padded to whole chunks. `step` is the last global delta `g - g_prev`
 * of the round that produced `model` (`B`-bit values); omitted, it is zero: an initial model, or a
 * round that aggregated nobody.
 */
export function modelCommitment(model: readonly bigint[], step: readonly bigint[] | undefined, layout: ModelLayout): bigint {
  if (step !== undefined && step.length !== model.length)
    throw new RangeError(`the step has ${step.length} values, the model ${model.length}`);
  const modelChunks = splitChunks(padToChunks(model, layout.chunk), layout.chunk);
  const stepChunks = splitChunks(padToChunks(step ?? new Array<bigint>(model.length).fill(0n), layout.chunk), layout.chunk);
  let acc = 0n;
  modelChunks.forEach((c, j) => {
    acc = chainStep(acc, modelChunkHash(c, stepChunks[j] as bigint[], layout));
  });
  return acc;
}
