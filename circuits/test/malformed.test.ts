/**
 * Witness-level tests of the malformation templates (circuits/malformed.circom) against the
 * reference in packages/core/src/malformed.ts: OutOfRange at its bounds and against the alias
 * decomposition p + r, SelectMalformed's "no claim", claims on well-formed and malformed elements
 * of every width, selectors that are not one-hot, and the reference's witnesses.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { FIELD_MODULUS, elementWidths, findMalformed, malformedWitness, mod, pack, type CircuitInput } from "@fedmarket/core";
import { loadTestMain, releaseCurves, rng, type TestCircuit } from "./harness.ts";

const R = FIELD_MODULUS;
const NBITS = 248;

const OUT_OF_RANGE_MAIN = `pragma circom 2.1.0;
include "malformed.circom";
// Test main: OutOfRange(${NBITS}), the width of a full element of 8-bit values.
component main = OutOfRange(${NBITS});
`;

// The same check over a plain Num2Bits(254): the alias p + r is accepted there, which shows that
// the forged witness below is a real attack, and that OutOfRange defeats it only by its AliasCheck.
const WEAK_MAIN = `pragma circom 2.1.0;
include "malformed.circom";
// Test main: OutOfRange without the alias check (unsound on purpose; tests only).
template WeakOutOfRange(NBITS) {
    signal input in;
    component canonical = Num2Bits(254);
    canonical.in <== in;
    var high = 0;
    for (var b = NBITS; b < 254; b++) {
        high += canonical.out[b];
    }
    component nonZero = NonZero();
    nonZero.in <== high;
}
component main = WeakOutOfRange(${NBITS});
`;

/** SelectMalformed configurations: narrower last elements, full elements only, one element. */
const SELECT_CONFIGS = [
  { count: 128, bits: 8 }, // CHUNK = 128: widths 248 (x 4), 32
  { count: 100, bits: 8 }, // widths 248, 248, 248, 56
  { count: 93, bits: 8 }, // widths 248, 248, 248
  { count: 5, bits: 8 }, // width 40
] as const;

const selectMain = (count: number, bits: number): string => `pragma circom 2.1.0;
include "malformed.circom";
// Test main: SelectMalformed for ${count} values of ${bits} bits.
component main = SelectMalformed(${count}, ${bits});
`;

let outOfRange: TestCircuit;
let weak: TestCircuit;
const select = new Map<number, TestCircuit>();

before(async () => {
  outOfRange = await loadTestMain("test_out_of_range", OUT_OF_RANGE_MAIN);
  weak = await loadTestMain("test_weak_out_of_range", WEAK_MAIN);
  for (const { count, bits } of SELECT_CONFIGS) {
    select.set(count, await loadTestMain(`test_select_malformed_${count}_${bits}`, selectMain(count, bits)));
  }
});
after(releaseCurves);

/** `x^(r-2)`: the inverse of a non-zero field element (0 for 0, as the witness generator computes). */
function inverse(x: bigint): bigint {
  let [base, e, out] = [mod(x), R - 2n, 1n];
  while (e > 0n) {
    if (e & 1n) out = (out * base) % R;
    base = (base * base) % R;
    e >>= 1n;
  }
  return out;
}

/** The 254 little-endian bits of a non-negative integer below 2^254. */
function bitsOf(x: bigint): bigint[] {
  assert.ok(x >= 0n && x < 1n << 254n);
  return Array.from({ length: 254 }, (_, i) => (x >> BigInt(i)) & 1n);
}

/**
 * Sets, in `values`, every signal of circomlib's Num2Bits_strict (instance `prefix`) for the bit
 * assignment `bits` chosen by the prover: the witness generator's own computation, but starting
 * from any bits, not only the canonical ones (`strict = false`: a plain Num2Bits(254)). The
 * CompConstant(-1) of AliasCheck is replayed from compconstant.circom.
 */
function decompositionSignals(prefix: string, bits: readonly bigint[], strict: boolean, values: Map<string, bigint>): void {
  const x = mod(bits.reduce((acc, b, i) => acc + (b << BigInt(i)), 0n));
  values.set(`${prefix}.in`, x);
  bits.forEach((b, i) => values.set(`${prefix}.out[${i}]`, b));
  if (!strict) return;
  values.set(`${prefix}.n2b.in`, x);
  bits.forEach((b, i) => {
    values.set(`${prefix}.n2b.out[${i}]`, b);
    values.set(`${prefix}.aliasCheck.in[${i}]`, b);
    values.set(`${prefix}.aliasCheck.compConstant.in[${i}]`, b);
  });
  const cc = `${prefix}.aliasCheck.compConstant`;
  const ct = R - 1n;
  let [a, b, e, sum] = [1n, (1n << 128n) - 1n, 1n, 0n];
  for (let i = 0; i < 127; i++) {
    const clsb = (ct >> BigInt(2 * i)) & 1n;
    const cmsb = (ct >> BigInt(2 * i + 1)) & 1n;
    const [slsb, smsb] = [bits[2 * i]!, bits[2 * i + 1]!];
    let part: bigint;
    if (cmsb === 0n && clsb === 0n) part = -b * smsb * slsb + b * smsb + b * slsb;
    else if (cmsb === 0n && clsb === 1n) part = a * smsb * slsb - a * slsb + b * smsb - a * smsb + a;
    else if (cmsb === 1n && clsb === 0n) part = b * smsb * slsb - a * smsb + a;
    else part = -a * smsb * slsb + a;
    values.set(`${cc}.parts[${i}]`, mod(part));
    sum += part;
    b -= e;
    a += e;
    e *= 2n;
  }
  const sout = mod(sum);
  values.set(`${cc}.sout`, sout);
  values.set(`${cc}.num2bits.in`, sout);
  for (let j = 0; j < 135; j++) values.set(`${cc}.num2bits.out[${j}]`, (sout >> BigInt(j)) & 1n);
  values.set(`${cc}.out`, (sout >> 127n) & 1n);
}

/** Sets the signals of a NonZero instance `prefix` fed with `x`. */
function nonZeroSignals(prefix: string, x: bigint, values: Map<string, bigint>): void {
  values.set(`${prefix}.in`, mod(x));
  values.set(`${prefix}.inv`, inverse(x));
}

/** A full witness from signal values: every signal the circuit keeps must be given. */
function forge(c: TestCircuit, values: ReadonlyMap<string, bigint>): bigint[] {
  const w = Array<bigint>(c.r1cs.nWires).fill(0n);
  w[0] = 1n;
  for (const [name, index] of c.signals) {
    const v = values.get(name);
    if (v === undefined) throw new Error(`the forged witness misses ${name}`);
    w[index] = v;
  }
  return w;
}

/** Signal values of (Weak)OutOfRange for the bit assignment `bits`. */
function outOfRangeSignals(bits: readonly bigint[], strict: boolean): Map<string, bigint> {
  const values = new Map<string, bigint>();
  decompositionSignals("main.canonical", bits, strict, values);
  values.set("main.in", values.get("main.canonical.in")!);
  nonZeroSignals(
    "main.nonZero",
    bits.slice(NBITS).reduce((s, b) => s + b, 0n),
    values,
  );
  return values;
}

/** Value of a named signal in a witness. */
function read(c: TestCircuit, w: readonly bigint[], name: string): bigint {
  const i = c.signals.get(name);
  if (i === undefined) throw new Error(`no signal ${name}`);
  return w[i]!;
}

describe("OutOfRange", () => {
  test(`accepts canonical values >= 2^${NBITS}: 2^${NBITS}, 2^252, 2^253, r - 1`, async () => {
    for (const x of [1n << BigInt(NBITS), (1n << BigInt(NBITS)) + 1n, 1n << 252n, 1n << 253n, R - 1n]) {
      assert.equal(outOfRange.violated(await outOfRange.witness({ in: x })), -1, `${x}`);
    }
    console.error(`  OutOfRange(${NBITS}): ${outOfRange.r1cs.nConstraints} constraints`);
  });

  test(`rejects canonical values < 2^${NBITS}: 0, 1, 2^${NBITS} - 1`, async () => {
    for (const x of [0n, 1n, (1n << BigInt(NBITS)) - 1n]) {
      await assert.rejects(outOfRange.witness({ in: x }), `${x}`);
    }
  });

  test("the forged witness is the witness generator's own for canonical bits (control)", async () => {
    for (const x of [1n << BigInt(NBITS), R - 1n, (1n << 254n) - R]) {
      const honest = await outOfRange.witness({ in: x });
      assert.deepEqual(forge(outOfRange, outOfRangeSignals(bitsOf(x), true)), honest, `${x}`);
    }
  });

  test("alias attack: the bits of p + r for a small p pass Num2Bits(254) but not Num2Bits_strict", () => {
    // p + r < 2^254 exactly for p < 2^254 - r (about 2^252): every well-formed element of width
    // <= 252 has an alias. The largest aliasable p has the all-ones alias 2^254 - 1.
    const limit = (1n << 254n) - R;
    for (const p of [0n, 5n, (1n << BigInt(NBITS)) - 1n, limit - 1n]) {
      const alias = bitsOf(p + R);
      assert.equal(alias[253], 1n, "the alias shows a high bit");
      assert.equal(weak.violated(forge(weak, outOfRangeSignals(alias, false))), -1, `weak accepts the alias of ${p}`);
      assert.notEqual(outOfRange.violated(forge(outOfRange, outOfRangeSignals(alias, true))), -1, `alias of ${p}`);
    }
    // From 2^254 - r on, p + r needs 255 bits: no alias exists, and the canonical bits of
    // limit = 2^254 - r itself (>= 2^NBITS) are accepted.
    assert.equal(outOfRange.violated(forge(outOfRange, outOfRangeSignals(bitsOf(limit), true))), -1);
  });
});

/** One-hot selector of length n + 1 with a 1 at `index`. */
function oneHot(n: number, index: number): bigint[] {
  return Array.from({ length: n + 1 }, (_, i) => (i === index ? 1n : 0n));
}

/** Random well-formed packed elements for `count` values of `bits` bits. */
function wellFormed(count: number, bits: number, next: (lo: number, hi: number) => bigint): bigint[] {
  const half = 2 ** (bits - 1);
  return pack(
    Array.from({ length: count }, () => next(-half, half - 1)),
    bits,
  );
}

describe("SelectMalformed", () => {
  test("'no claim' is satisfiable for any elements, malformed ones included; claimed = 0", async () => {
    const next = rng(7);
    for (const { count, bits } of SELECT_CONFIGS) {
      const c = select.get(count)!;
      const n = elementWidths(count, bits).length;
      const lists = [
        wellFormed(count, bits, next),
        Array<bigint>(n).fill(R - 1n),
        Array<bigint>(n).fill(1n << 252n),
        Array<bigint>(n).fill(0n),
      ];
      for (const elements of lists) {
        const w = await c.witness({ elements, select: oneHot(n, n) });
        assert.equal(c.violated(w), -1);
        assert.equal(read(c, w, "main.claimed"), 0n);
      }
      console.error(`  SelectMalformed(${count}, ${bits}): ${c.r1cs.nConstraints} constraints (${n} elements)`);
    }
  });

  test("a claim on a well-formed element fails, at every width's exact bound 2^w - 1", async () => {
    for (const { count, bits } of SELECT_CONFIGS) {
      const c = select.get(count)!;
      const widths = elementWidths(count, bits);
      const elements = widths.map((w) => (1n << BigInt(w)) - 1n);
      assert.equal(findMalformed(elements, count, bits), null);
      for (let i = 0; i < widths.length; i++) {
        await assert.rejects(c.witness({ elements, select: oneHot(widths.length, i) }), `${count}: element ${i}`);
        const zeros = Array<bigint>(widths.length).fill(0n);
        await assert.rejects(c.witness({ elements: zeros, select: oneHot(widths.length, i) }), `${count}: zero ${i}`);
      }
    }
  });

  test("a claim on a malformed element succeeds with claimed = 1, with the element's own width", async () => {
    for (const { count, bits } of SELECT_CONFIGS) {
      const c = select.get(count)!;
      const widths = elementWidths(count, bits);
      for (let i = 0; i < widths.length; i++) {
        for (const bad of [1n << BigInt(widths[i]!), 1n << 253n, R - 1n]) {
          const elements = widths.map(() => 0n);
          elements[i] = bad;
          const w = await c.witness({ elements, select: oneHot(widths.length, i) });
          assert.equal(c.violated(w), -1);
          assert.equal(read(c, w, "main.claimed"), 1n);
        }
      }
    }
    // 2^56 is malformed as the narrow last element of 100 values, well-formed anywhere else.
    const c = select.get(100)!;
    const w = await c.witness({ elements: [0n, 0n, 0n, 1n << 56n], select: oneHot(4, 3) });
    assert.equal(read(c, w, "main.claimed"), 1n);
    await assert.rejects(c.witness({ elements: [1n << 56n, 0n, 0n, 0n], select: oneHot(4, 0) }));
  });

  test("a selector that is not one-hot, or not boolean, fails", async () => {
    const c = select.get(100)!;
    const malformed = [R - 1n, R - 1n, R - 1n, R - 1n];
    const bad: bigint[][] = [
      [0n, 0n, 0n, 0n, 0n], // nothing selected
      [1n, 1n, 0n, 0n, 0n], // two claims
      [1n, 0n, 0n, 0n, 1n], // a claim and "no claim"
      [2n, 0n, 0n, 0n, R - 1n], // sums to 1, not boolean
      [0n, 0n, 0n, 2n, R - 1n], // the same on the narrow last element
      [0n, 0n, 0n, 0n, 2n], // "no claim" twice
      [R - 1n, 1n, 1n, 0n, 0n], // sums to 1, not boolean
    ];
    for (const s of bad) {
      await assert.rejects(c.witness({ elements: malformed, select: s }), `select ${s.join(",")}`);
    }
  });

  test("alias attack on a claim: forged bits p + r of a well-formed element are rejected", async () => {
    const [count, bits] = [100, 8];
    const c = select.get(count)!;
    const widths = elementWidths(count, bits);
    const [n, wFull, wLast] = [widths.length, widths[0]!, widths[widths.length - 1]!];
    /** Every SelectMalformed signal for selector `sel` and decomposition `chosen` of the selected element. */
    const signals = (elements: readonly bigint[], sel: readonly bigint[], chosen: readonly bigint[]): Map<string, bigint> => {
      const values = new Map<string, bigint>();
      elements.forEach((x, i) => {
        values.set(`main.elements[${i}]`, x);
        values.set(`main.picked[${i}]`, mod(sel[i]! * x));
      });
      sel.forEach((s, i) => values.set(`main.select[${i}]`, s));
      values.set("main.claimed", mod(1n - sel[n]!));
      decompositionSignals("main.canonical", chosen, true, values);
      const count1 = (from: number, to: number): bigint => chosen.slice(from, to).reduce((s, b) => s + b, 0n);
      const lastHigh = sel[n - 1]! * count1(wLast, wFull);
      values.set("main.lastHigh", lastHigh);
      nonZeroSignals("main.nonZero", count1(wFull, 254) + lastHigh + sel[n]!, values);
      return values;
    };
    const elements = wellFormed(count, bits, rng(9));
    // Control: for an honest claim the forged witness is the witness generator's own.
    const bad = [...elements];
    bad[1] = R - 1n;
    const honest = await c.witness({ elements: bad, select: oneHot(n, 1) });
    assert.deepEqual(forge(c, signals(bad, oneHot(n, 1), bitsOf(R - 1n))), honest);
    // Attack: claim each well-formed element with the alias decomposition of p + r.
    for (let i = 0; i < n; i++) {
      const forged = forge(c, signals(elements, oneHot(n, i), bitsOf(elements[i]! + R)));
      assert.notEqual(c.violated(forged), -1, `element ${i}`);
    }
  });

  test("the reference's witness satisfies the circuit for random element lists", async () => {
    const next = rng(3);
    for (const { count, bits } of SELECT_CONFIGS) {
      const c = select.get(count)!;
      const widths = elementWidths(count, bits);
      for (let t = 0; t < 12; t++) {
        const elements = wellFormed(count, bits, next);
        // Two lists in three get out-of-range elements: at the bound, a random high bit, r - 1.
        if (t % 3 !== 0) {
          for (let i = 0; i < widths.length; i++) {
            if (next(0, 2) !== 0n) continue;
            const w = widths[i]!;
            const kind = Number(next(0, 2));
            elements[i] = kind === 0 ? 1n << BigInt(w) : kind === 1 ? elements[i]! | (1n << next(w, 253)) : R - 1n - next(0, 1000);
          }
        }
        const input: CircuitInput = malformedWitness(elements, count, bits);
        const w = await c.witness(input);
        assert.equal(c.violated(w), -1);
        assert.equal(read(c, w, "main.claimed"), findMalformed(elements, count, bits) === null ? 0n : 1n);
      }
    }
  });
});
