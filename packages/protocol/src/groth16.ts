/**
 * Groth16 proofs as the chain sees them: the eight `uint256` words `IRoundVerifier` takes
 * (`[a.x, a.y, b.x[1], b.x[0], b.y[1], b.y[0], c.x, c.y]`, G2 coordinates swapped as the snarkjs
 * Solidity verifier expects), converted to and from the snarkjs proof object. The aggregator
 * encodes with it, the audit decodes calldata with it, and the test and benchmark scripts use it.
 * No snarkjs dependency: the proof object is described structurally.
 */

/** The fields of a snarkjs Groth16 proof object that carry the proof (affine points as decimal strings). */
export interface Groth16ProofObject {
  readonly pi_a: readonly string[];
  readonly pi_b: readonly (readonly string[])[];
  readonly pi_c: readonly string[];
}

/** A snarkjs proof -> the eight calldata words. */
export function proofWords(proof: Groth16ProofObject): bigint[] {
  const n = (x: string | undefined): bigint => BigInt(x ?? "0");
  const b0 = proof.pi_b[0] ?? [];
  const b1 = proof.pi_b[1] ?? [];
  return [n(proof.pi_a[0]), n(proof.pi_a[1]), n(b0[1]), n(b0[0]), n(b1[1]), n(b1[0]), n(proof.pi_c[0]), n(proof.pi_c[1])];
}

/** The eight calldata words -> a snarkjs proof object (projective `z = 1`), the inverse of `proofWords`. */
export function proofFromWords(words: readonly (bigint | string)[]): {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol: string;
  curve: string;
} {
  const w = words.map(String);
  return {
    pi_a: [w[0] ?? "0", w[1] ?? "0", "1"],
    pi_b: [
      [w[3] ?? "0", w[2] ?? "0"],
      [w[5] ?? "0", w[4] ?? "0"],
      ["1", "0"],
    ],
    pi_c: [w[6] ?? "0", w[7] ?? "0", "1"],
    protocol: "groth16",
    curve: "bn128",
  };
}

/**
 * Terminates snarkjs's cached bn128 worker pool of this thread (`groth16.verify` and friends
 * start one and keep it alive: without this the process never exits).
 */
export async function releaseCurves(): Promise<void> {
  const holder = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  const curve = holder.curve_bn128;
  if (curve !== undefined && curve !== null) {
    holder.curve_bn128 = null;
    await curve.terminate();
  }
}
