/**
 * Poseidon hashing with circomlib's parameters (via `poseidon-lite`), `hashMany`, the rule fedmarket
 * uses to hash a list longer than Poseidon's 16 inputs, and `hashNarrow`, the rule for lists a
 * contract must be able to rehash (a sealed update's ciphertext chunks).
 */
import {
  poseidon1,
  poseidon2,
  poseidon3,
  poseidon4,
  poseidon5,
  poseidon6,
  poseidon7,
  poseidon8,
  poseidon9,
  poseidon10,
  poseidon11,
  poseidon12,
  poseidon13,
  poseidon14,
  poseidon15,
  poseidon16,
} from "poseidon-lite";
import { assertFieldElement } from "./field.ts";

type PoseidonFn = (inputs: bigint[]) => bigint;

/** `BY_ARITY[n - 1]` is circomlib's `Poseidon(n)`. */
const BY_ARITY: readonly PoseidonFn[] = [
  poseidon1,
  poseidon2,
  poseidon3,
  poseidon4,
  poseidon5,
  poseidon6,
  poseidon7,
  poseidon8,
  poseidon9,
  poseidon10,
  poseidon11,
  poseidon12,
  poseidon13,
  poseidon14,
  poseidon15,
  poseidon16,
];

/** Largest arity of circomlib's Poseidon. */
export const POSEIDON_MAX_INPUTS = 16;

/** circomlib `Poseidon(inputs.length)` for 1..16 canonical field elements. */
export function poseidon(inputs: readonly bigint[]): bigint {
  const fn = BY_ARITY[inputs.length - 1];
  if (fn === undefined) throw new RangeError(`Poseidon takes 1..16 inputs, got ${inputs.length}`);
  inputs.forEach((x, i) => assertFieldElement(x, `Poseidon input ${i}`));
  return fn([...inputs]);
}

/** `Poseidon(a, b)`: one step of every hash chain. */
export function poseidonPair(a: bigint, b: bigint): bigint {
  return poseidon([a, b]);
}

/**
 * Hashes a non-empty list of any length with calls of at most 16 inputs:
 * `len <= 16`: `Poseidon(xs)`; otherwise `h = Poseidon(xs[0..16))`, then for each following
 * group of up to 15 elements `h = Poseidon(h, group...)`. Lengths are fixed by the circuit
 * configuration wherever this is used, so no length is mixed in. Circuit: `HashMany(N)`.
 */
export function hashMany(xs: readonly bigint[]): bigint {
  if (xs.length === 0) throw new RangeError("hashMany of an empty list");
  let h = poseidon(xs.slice(0, POSEIDON_MAX_INPUTS));
  for (let i = POSEIDON_MAX_INPUTS; i < xs.length; i += POSEIDON_MAX_INPUTS - 1) {
    h = poseidon([h, ...xs.slice(i, i + POSEIDON_MAX_INPUTS - 1)]);
  }
  return h;
}

/**
 * Widest Poseidon a contract can call: `poseidon-solidity` deploys PoseidonT2..T6, i.e. 1..5 inputs.
 * `hashNarrow` never calls a wider one, so `Groth16RoundVerifier.sealedCommitment` can rehash a
 * published update for any chunk size.
 */
export const NARROW_MAX_INPUTS = 5;

/**
 * Hashes a non-empty list with Poseidon calls of at most 5 inputs (a sealed update's ciphertext
 * chunk): `len <= 5`: `Poseidon(xs)` (the same value as `hashMany`); otherwise
 * `h = Poseidon(xs[0..5))`, then for each following group of 4 elements, the last one padded with
 * zeros, `h = Poseidon(h, group...)`. Every call past the first has exactly 5 inputs, so a contract
 * needs one hasher (PoseidonT6) for any length. The length is fixed by the circuit configuration,
 * so the zero padding cannot collide with a longer list. Circuit: `HashNarrow(N)`.
 */
export function hashNarrow(xs: readonly bigint[]): bigint {
  if (xs.length === 0) throw new RangeError("hashNarrow of an empty list");
  if (xs.length <= NARROW_MAX_INPUTS) return poseidon(xs);
  let h = poseidon(xs.slice(0, NARROW_MAX_INPUTS));
  for (let i = NARROW_MAX_INPUTS; i < xs.length; i += NARROW_MAX_INPUTS - 1) {
    const group = xs.slice(i, i + NARROW_MAX_INPUTS - 1);
    while (group.length < NARROW_MAX_INPUTS - 1) group.push(0n);
    h = poseidon([h, ...group]);
  }
  return h;
}
