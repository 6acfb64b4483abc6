/**
 * The owner's reference direction `v` (docs/PROOF-INTERFACE.md, "The owner's reference"): an
 * integer vector at the update width `B`, committed before a round's commit window closes and
 * published after its reveal window closes.
 *
 * Why an integer vector at `B` bits: the chunk proof will compute `<u_k, v>` next to the Gram
 * matrix, with `v` unpacked exactly like an update, so `v` shares the updates' packing, chunking
 * and chain. Why its scale is free: the rule that uses it (the owner's test
 * `cos(u_k, v) > margin / sqrt(D)` and the linear game's `<u_k, v>` terms, docs/SCORING.md) is
 * invariant under scaling `v` by a positive constant, so the owner scales it to use the whole
 * range and loses as little as possible to rounding.
 *
 * Why a salt: the commitment is published while trainers can still choose their updates. Without a
 * salt, anyone who guesses `v` (for instance the zero vector at a stationary point, or a gradient
 * computed on similar data) could confirm the guess against the commitment.
 */
import type { CircuitConfig } from "./config.ts";
import { vectorChain } from "./commit.ts";
import { assertFieldElement, assertSignedBits } from "./field.ts";
import { poseidonPair } from "./poseidon.ts";
import { roundHalfAwayFromZero } from "./quantize.ts";

/** Largest magnitude of a reference value at `bits` bits: `2^(bits-1) - 1` (symmetric, so `-v` fits too). */
export function referenceBound(bits: number): number {
  return 2 ** (bits - 1) - 1;
}

/**
 * `v_i = roundHalfAwayFromZero(d_i * referenceBound(B) / max_j |d_j|)`: the direction scaled so
 * that its largest component uses the whole signed range of `B` bits. A zero direction (a
 * stationary point) stays zero. Throws on a non-finite component.
 */
export function quantizeReference(direction: ArrayLike<number>, updateBits: number): bigint[] {
  let max = 0;
  for (let i = 0; i < direction.length; i++) {
    const d = direction[i] as number;
    if (!Number.isFinite(d)) throw new RangeError(`reference direction value ${i} is ${d}`);
    max = Math.max(max, Math.abs(d));
  }
  const out = new Array<bigint>(direction.length);
  const scale = max === 0 ? 0 : referenceBound(updateBits) / max;
  for (let i = 0; i < direction.length; i++) out[i] = BigInt(roundHalfAwayFromZero((direction[i] as number) * scale));
  return out;
}

/** Throws unless `values` is a reference of a `modelSize`-parameter model at `B` bits. */
export function checkReference(values: readonly bigint[], modelSize: number, config: CircuitConfig): void {
  if (values.length !== modelSize) {
    throw new RangeError(`the reference has ${values.length} values but the model has ${modelSize} parameters`);
  }
  const bound = BigInt(referenceBound(config.updateBits));
  values.forEach((v, i) => {
    assertSignedBits(v, config.updateBits, `reference value ${i}`);
    if (v < -bound) throw new RangeError(`reference value ${i} is ${v}, below -${bound} (the range is symmetric)`);
  });
}

/**
 * The reference's commitment: `Poseidon(vectorChain(v, CHUNK, B), salt)`, the chain an update
 * would have over the same values (zero-padded to whole chunks), closed with the salt. The chunk
 * proofs will extend the chain chunk by chunk and the decision proof will close it.
 */
export function referenceCommitment(values: readonly bigint[], salt: bigint, config: CircuitConfig): bigint {
  assertFieldElement(salt, "reference salt");
  values.forEach((v, i) => assertSignedBits(v, config.updateBits, `reference value ${i}`));
  return poseidonPair(vectorChain(values, config.chunk, config.updateBits), salt);
}
