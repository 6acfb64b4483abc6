/**
 * The owner's reference direction `v` (docs/PROOF-INTERFACE.md, "The owner's reference"): an
 * integer vector at the update width `B`, committed before a round's commit window closes and
 * published after its reveal window closes.
 *
 * Why an integer vector at `B` bits: the chunk proof will compute `<u_k, v>` next to the Gram
 * matrix, with `v` unpacked exactly like an update's plaintext, so `v` shares the updates' packing,
 * chunking and (sealed-update) commitment shape. Why its scale is free: the rule that uses it (the owner's test
 * `cos(u_k, v) > margin / sqrt(D)` and the pay in proportion to `<u_k, v>`, docs/SCORING.md) is
 * invariant under scaling `v` by a positive constant, so the owner scales it to use the whole
 * range and loses as little as possible to rounding.
 *
 * Why a salt: the commitment is published while trainers can still choose their updates. Without a
 * salt, anyone who guesses `v` (for instance the zero vector at a stationary point, or a gradient
 * computed on similar data) could confirm the guess against the commitment.
 */
import type { CircuitConfig } from "./config.ts";
import { cipherChain, sealedCommitment } from "./cipher.ts";
import { padToChunks, splitChunks } from "./commit.ts";
import { assertFieldElement, assertSignedBits } from "./field.ts";
import { pack } from "./pack.ts";
import { roundHalfAwayFromZero } from "./quantize.ts";

/**
 * Largest magnitude `quantizeReference` gives a value at `bits` bits: `2^(bits-1) - 1`, so that the
 * quantized `-d` is exactly minus the quantized `d` (rounding half away from zero is odd).
 */
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

/**
 * Throws unless `values` is a reference of a `modelSize`-parameter model at `B` bits: the range the
 * chunk proof unpacks, `[-2^(B-1), 2^(B-1))`. `-2^(B-1)` is accepted although `quantizeReference`
 * never makes it: a reference answered on chain is whatever opens the commitment and unpacks, and
 * the aggregator must prove with exactly that.
 */
export function checkReference(values: readonly bigint[], modelSize: number, config: CircuitConfig): void {
  if (values.length !== modelSize) {
    throw new RangeError(`the reference has ${values.length} values but the model has ${modelSize} parameters`);
  }
  values.forEach((v, i) => assertSignedBits(v, config.updateBits, `reference value ${i}`));
}

/** `v`'s packed chunks: zero-padded to whole chunks, each chunk packed at `B` bits (`NP` elements), as an update's plaintext. */
export function referenceChunks(values: readonly bigint[], config: CircuitConfig): bigint[][] {
  return splitChunks(padToChunks(values, config.chunk), config.chunk).map((c) => pack(c, config.updateBits));
}

/**
 * The reference's commitment: a sealed update's commitment (cipher.ts) over `v`'s packed chunks,
 * with `(salt, 0)` in the ephemeral key's place: `Poseidon(x, salt, 0)`, `x` the `hashNarrow`
 * chain over the chunks. The shape of a sealed update on purpose: the round verifier's
 * `sealedCommitmentFrom` recomputes it on chain (for a reference published in calldata), and the
 * chunk proofs will extend `x` as they extend a trainer chain.
 */
export function referenceCommitment(values: readonly bigint[], salt: bigint, config: CircuitConfig): bigint {
  assertFieldElement(salt, "reference salt");
  values.forEach((v, i) => assertSignedBits(v, config.updateBits, `reference value ${i}`));
  return sealedCommitment(cipherChain(referenceChunks(values, config)), [salt, 0n]);
}
