/**
 * Witness-level tests of the list hashes in circuits/lib.circom against packages/core/src/poseidon.ts:
 * `HashNarrow(N)` (a ciphertext chunk; at most 5 inputs per call so a contract can rehash it) and
 * `HashMany(N)` (state and model chunks; up to 16 inputs per call). Lengths cover one call, the
 * boundary of the first call, a zero-padded last group and the production chunk (NP 17).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { FIELD_MODULUS, hashMany, hashNarrow, type CircuitInput } from "@fedmarket/core";
import { loadTestMain, releaseCurves, rng, type TestCircuit } from "./harness.ts";

const NARROW_LENGTHS = [1, 5, 6, 9, 10, 17] as const;
const MANY_LENGTHS = [16, 17, 32] as const;

function main(template: string, n: number): string {
  return `pragma circom 2.1.0;
include "lib.circom";
// Test main: ${template} of ${n} elements.
component main = ${template}(${n});
`;
}

const narrow = new Map<number, TestCircuit>();
const many = new Map<number, TestCircuit>();

before(async () => {
  for (const n of NARROW_LENGTHS) narrow.set(n, await loadTestMain(`test_hash_narrow_${n}`, main("HashNarrow", n)));
  for (const n of MANY_LENGTHS) many.set(n, await loadTestMain(`test_hash_many_${n}`, main("HashMany", n)));
});
after(releaseCurves);

/** `n` field elements: seeded full-width ones, plus the extremes p - 1 and 0 first. */
function elements(n: number, seed: number): bigint[] {
  const next = rng(seed);
  const wide = (): bigint => {
    let x = 0n;
    for (let limb = 0; limb < 9; limb++) x = (x << 31n) | next(0, 2 ** 31 - 1);
    return x % FIELD_MODULUS;
  };
  return Array.from({ length: n }, (_, i) => (i === 0 ? FIELD_MODULUS - 1n : i === 1 ? 0n : wide()));
}

/** The witness of `c` on `xs`, checked to satisfy every constraint and to output `expected`. */
async function check(c: TestCircuit, xs: readonly bigint[], expected: bigint): Promise<bigint[]> {
  const w = await c.witness({ in: [...xs] } as CircuitInput);
  assert.equal(c.violated(w), -1);
  assert.equal(w[c.signals.get("main.out")!], expected);
  return w;
}

describe("HashNarrow", () => {
  test("equals hashNarrow for every length, and hashMany for up to 5 elements", async () => {
    for (const n of NARROW_LENGTHS) {
      const xs = elements(n, n);
      await check(narrow.get(n)!, xs, hashNarrow(xs));
      if (n <= 5) assert.equal(hashNarrow(xs), hashMany(xs), `n = ${n}`);
    }
    console.error(`  HashNarrow(17): ${narrow.get(17)!.r1cs.nConstraints} constraints; HashMany(17): ${many.get(17)!.r1cs.nConstraints}`);
  });

  test("the zero padding makes lengths collide, which is why every user fixes the length (NP)", () => {
    // hashNarrow mixes in no length: [xs, 0] pads to the same groups as xs. The circuits hash exactly
    // NP elements per chunk and the contract rejects any other length (WrongCipherLength).
    const xs = elements(6, 3);
    assert.equal(hashNarrow(xs), hashNarrow([...xs, 0n]));
    assert.notEqual(hashNarrow(xs), hashNarrow([...xs, 1n]));
  });

  test("changing any one input changes the output", async () => {
    const xs = elements(17, 7);
    const base = hashNarrow(xs);
    for (let i = 0; i < xs.length; i++) {
      const ys = [...xs];
      ys[i] = (ys[i]! + 1n) % FIELD_MODULUS;
      const h = hashNarrow(ys);
      assert.notEqual(h, base, `input ${i}`);
      if (i % 4 === 0) await check(narrow.get(17)!, ys, h);
    }
  });

  test("tampering the output breaks a constraint", async () => {
    for (const n of [5, 17]) {
      const c = narrow.get(n)!;
      const w = await check(c, elements(n, 11), hashNarrow(elements(n, 11)));
      const t = [...w];
      const i = c.signals.get("main.out")!;
      t[i] = (t[i]! + 1n) % FIELD_MODULUS;
      assert.notEqual(c.violated(t), -1, `n = ${n}`);
    }
  });

  test("rejects an empty list", () => {
    assert.throws(() => hashNarrow([]), RangeError);
  });
});

describe("HashMany", () => {
  test("equals hashMany at and past the 16-input boundary; tampering the output breaks a constraint", async () => {
    for (const n of MANY_LENGTHS) {
      const c = many.get(n)!;
      const xs = elements(n, 100 + n);
      const w = await check(c, xs, hashMany(xs));
      const t = [...w];
      const i = c.signals.get("main.out")!;
      t[i] = (t[i]! + 1n) % FIELD_MODULUS;
      assert.notEqual(c.violated(t), -1, `n = ${n}`);
    }
  });
});
