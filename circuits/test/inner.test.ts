/**
 * Witness-level tests of circuits/inner.circom: the inner products of N vectors, claimed by the
 * prover and checked at one random point (InnerProductCheck), against inner products computed
 * directly. Every claim off by anything, at any pair, has no witness; the challenge's weights are
 * the powers rho^(4^i).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { FIELD_MODULUS, gramIndex, type CircuitInput } from "@fedmarket/core";
import { loadTestMain, releaseCurves, rng, type TestCircuit } from "./harness.ts";

const N = 4;
const CHUNK = 5;
const NN = (N * (N + 1)) / 2;
const MAIN = `pragma circom 2.1.0;
include "inner.circom";
// Test main: the hints and the check of ${N} vectors of ${CHUNK} coordinates at a given challenge.
template InnerTest(N, CHUNK) {
    signal input w[N][CHUNK];
    signal input rho;
    signal output d[N * (N + 1) \\ 2];
    component hints = InnerProductHints(N, CHUNK);
    hints.w <== w;
    d <== hints.d;
    component check = InnerProductCheck(N, CHUNK);
    check.w <== w;
    check.d <== hints.d;
    check.rho <== rho;
}
component main = InnerTest(${N}, ${CHUNK});
`;

let circuit: TestCircuit;
before(async () => {
  circuit = await loadTestMain("test_inner_products", MAIN);
});
after(releaseCurves);

const mod = (x: bigint): bigint => ((x % FIELD_MODULUS) + FIELD_MODULUS) % FIELD_MODULUS;

/** Every <w_i, w_j>, i <= j, at gramIndex(i, j, N), as field elements. */
function innerProducts(w: readonly (readonly bigint[])[]): bigint[] {
  const d = new Array<bigint>(NN).fill(0n);
  for (let i = 0; i < N; i++) for (let j = i; j < N; j++) d[gramIndex(i, j, N)] = mod(w[i]!.reduce((a, x, t) => a + x * w[j]![t]!, 0n));
  return d;
}

/** The witness of `w` at `rho`, checked to satisfy the R1CS and to output the direct inner products. */
async function honest(w: readonly (readonly bigint[])[], rho: bigint): Promise<bigint[]> {
  const witness = await circuit.witness({ w: w.map((v) => v.map(mod)), rho } as CircuitInput);
  assert.equal(circuit.violated(witness), -1);
  const out = Array.from({ length: NN }, (_, i) => witness[circuit.signals.get(`main.d[${i}]`)!]!);
  assert.deepEqual(out, innerProducts(w));
  return witness;
}

/** Each claim changed by `delta` (the hints forged in the witness, the check's copy with them) violates the R1CS. */
function assertEveryForgedClaimViolates(witness: readonly bigint[], delta: bigint): void {
  for (let i = 0; i < NN; i++) {
    const forged = [...witness];
    for (const name of [`main.d[${i}]`, `main.hints.d[${i}]`, `main.check.d[${i}]`]) {
      const at = circuit.signals.get(name);
      if (at !== undefined) forged[at] = mod((witness[at] as bigint) + delta);
    }
    assert.notEqual(circuit.violated(forged), -1, `claim ${i} + ${delta}`);
  }
}

describe("inner products at a random point", () => {
  const r = rng(7);
  const random = (lo: number, hi: number): bigint[][] =>
    Array.from({ length: N }, () => Array.from({ length: CHUNK }, () => BigInt(r(lo, hi))));

  test("random signed vectors: the claims are the inner products; any forged claim has no witness", async () => {
    const w = random(-128, 127);
    const witness = await honest(w, 123456789n);
    assertEveryForgedClaimViolates(witness, 1n);
    assertEveryForgedClaimViolates(witness, FIELD_MODULUS - 1n);
    // A forgery that keeps the claims' sum (one pair up, another down) fails too.
    const forged = [...witness];
    for (const [i, delta] of [
      [1, 1n],
      [2, FIELD_MODULUS - 1n],
    ] as const)
      for (const name of [`main.d[${i}]`, `main.hints.d[${i}]`, `main.check.d[${i}]`]) {
        const at = circuit.signals.get(name);
        if (at !== undefined) forged[at] = mod((witness[at] as bigint) + delta);
      }
    assert.notEqual(circuit.violated(forged), -1);
  });

  test("ties, zero vectors and the extremes of B = 8 bits", async () => {
    const equal = Array.from({ length: N }, () => [5n, -3n, 0n, 127n, -128n]);
    await honest(equal, 99n);
    const zeros = Array.from({ length: N }, () => new Array<bigint>(CHUNK).fill(0n));
    assertEveryForgedClaimViolates(await honest(zeros, 42n), 1n);
    const extremes = [
      new Array<bigint>(CHUNK).fill(-128n),
      new Array<bigint>(CHUNK).fill(127n),
      new Array<bigint>(CHUNK).fill(-128n),
      new Array<bigint>(CHUNK).fill(0n),
    ];
    assertEveryForgedClaimViolates(await honest(extremes, FIELD_MODULUS - 2n), 1n);
  });

  test("the weights are 1 and rho^(4^i)", async () => {
    const rho = 3n;
    const witness = await honest(random(-10, 10), rho);
    // c_0 = 1 is a constant; after --O2 each c_i lives in the weight of the pair (0, i).
    for (let i = 1; i < N; i++) {
      const c = witness[circuit.signals.get(`main.check.pairWeight[${gramIndex(0, i, N)}]`)!]!;
      assert.equal(c, rho ** (4n ** BigInt(i)) % FIELD_MODULUS, `c[${i}]`);
    }
  });
});
