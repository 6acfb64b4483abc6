import { test } from "node:test";
import assert from "node:assert/strict";
import {
  allCoalitions,
  coalitionMembers,
  coalitionSize,
  exactShapley,
  exactShapleyOf,
  shapleyWeights,
} from "../src/bench/fairness/shapley.ts";
import { surrogateCoefficients, surrogateShapley, surrogateUtility } from "../src/bench/fairness/surrogate.ts";
import { averageRanks, median, pearson, spearman, standardError } from "../src/bench/fairness/stats.ts";
import { seededRandom, normal } from "@fedmarket/ml";

const close = (a: number, b: number, tol = 1e-9): void =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b)), `${a} != ${b}`);

test("coalition enumeration: 2^n masks, sizes and members agree", () => {
  const masks = allCoalitions(8);
  assert.equal(masks.length, 256);
  assert.equal(new Set(masks).size, 256);
  for (const m of masks) {
    const members = coalitionMembers(m);
    assert.equal(members.length, coalitionSize(m));
    assert.equal(
      members.reduce((a, k) => a | (1 << k), 0),
      m,
    );
  }
  // C(8, s) coalitions of each size
  const bySize = new Array<number>(9).fill(0);
  for (const m of masks) bySize[coalitionSize(m)]!++;
  assert.deepEqual(bySize, [1, 8, 28, 56, 70, 56, 28, 8, 1]);
  assert.throws(() => allCoalitions(0), /player count/);
});

test("Shapley weights of one player's coalitions sum to 1", () => {
  for (const n of [1, 2, 3, 8]) {
    const w = shapleyWeights(n);
    let total = 0;
    let binom = 1;
    for (let s = 0; s < n; s++) {
      total += (w[s] as number) * binom;
      binom = (binom * (n - 1 - s)) / (s + 1);
    }
    close(total, 1);
  }
});

test("exact Shapley: additive game pays each player its own value", () => {
  const x = [3, -1, 0.5, 7, 2];
  const phi = exactShapleyOf(5, (members) => members.reduce((a, k) => a + (x[k] as number), 0));
  phi.forEach((p, k) => close(p, x[k] as number));
});

test("exact Shapley: glove game (one left glove, two right gloves)", () => {
  // U(T) = 1 if T holds player 0 and at least one of 1, 2. Known values: 2/3, 1/6, 1/6.
  const phi = exactShapleyOf(3, (members) => (members.includes(0) && (members.includes(1) || members.includes(2)) ? 1 : 0));
  close(phi[0] as number, 2 / 3);
  close(phi[1] as number, 1 / 6);
  close(phi[2] as number, 1 / 6);
});

test("exact Shapley: efficiency, symmetry and null player on a random game", () => {
  const rng = seededRandom(3);
  const n = 6;
  const draws = allCoalitions(n).map(() => rng());
  // Player 5 is null (bit 5 ignored); players 0 and 1 are symmetric (one of them counts as player 0).
  const canonical = (m: number): number => {
    const base = m & ~(1 << 5);
    return (base & 3) === 2 ? (base & ~3) | 1 : base;
  };
  const table = allCoalitions(n).map((m) => draws[canonical(m)] as number);
  const phi = exactShapley(table, n);
  close(
    phi.reduce((a, b) => a + b, 0),
    (table[2 ** n - 1] as number) - (table[0] as number),
  );
  close(phi[5] as number, 0);
  close(phi[0] as number, phi[1] as number);
  assert.throws(() => exactShapley([1, 2, 3], 2), /expected 4/);
});

function randomInstance(n: number, d: number, seed: number): { u: number[][]; v: number[]; a: number[]; gram: number[][] } {
  const rng = seededRandom(seed);
  const u = Array.from({ length: n }, () => Array.from({ length: d }, () => normal(rng)));
  const v = Array.from({ length: d }, () => normal(rng));
  const dot = (x: number[], y: number[]): number => x.reduce((s, xi, i) => s + xi * (y[i] as number), 0);
  return { u, v, a: u.map((uk) => dot(uk, v)), gram: u.map((ui) => u.map((uj) => dot(ui, uj))) };
}

test("surrogate closed form equals brute force over all coalitions (n = 1 .. 8, several c)", () => {
  for (let n = 1; n <= 8; n++) {
    for (const c of [0, 0.3, 2.5]) {
      const { u, v, a, gram } = randomInstance(n, 7, 100 * n + Math.round(10 * c));
      // Brute force from the vectors themselves (not from a and G), so the reduction is tested too.
      const brute = exactShapleyOf(n, (members) => {
        if (members.length === 0) return 0;
        const m = v.map((_, x) => members.reduce((s, k) => s + (u[k]?.[x] as number), 0) / members.length);
        const vm = m.reduce((s, mx, x) => s + mx * (v[x] as number), 0);
        const mm = m.reduce((s, mx) => s + mx * mx, 0);
        return vm - (c / 2) * mm;
      });
      const closed = surrogateShapley(a, gram, c);
      closed.forEach((p, k) => close(p, brute[k] as number, 1e-9));
      // Efficiency: the values add up to U(all).
      close(
        closed.reduce((s, p) => s + p, 0),
        surrogateUtility(
          Array.from({ length: n }, (_, k) => k),
          a,
          gram,
          c,
        ),
        1e-9,
      );
    }
  }
});

test("surrogate closed form: known coefficients and degenerate inputs", () => {
  const c2 = surrogateCoefficients(2);
  // n = 2: phi_1 = (1/2)[U(1) + U(12) - U(2)], so a_1 gets 3/4, a_2 gets -1/4.
  close(c2.linSelf, 3 / 4);
  close(c2.linOthers, -1 / 4);
  close(surrogateCoefficients(1).linSelf, 1);
  assert.deepEqual(surrogateShapley([], [], 1), []);
  // Identical updates share the value equally; a zero update against copies is worth less.
  const same = surrogateShapley(
    [2, 2, 2],
    [
      [1, 1, 1],
      [1, 1, 1],
      [1, 1, 1],
    ],
    1,
  );
  close(same[0] as number, same[1] as number);
  close(same[1] as number, same[2] as number);
  assert.throws(() => surrogateShapley([1, 2], [[1]], 0), /2 x 2/);
});

test("ranks and correlations", () => {
  assert.deepEqual(averageRanks([10, 20, 20, 5]), [2, 3.5, 3.5, 1]);
  close(spearman([1, 2, 3, 4], [10, 20, 30, 400]) as number, 1);
  close(spearman([1, 2, 3, 4], [4, 3, 2, 1]) as number, -1);
  close(pearson([1, 2, 3], [2, 4, 6]) as number, 1);
  assert.equal(pearson([1, 1, 1], [1, 2, 3]), null);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  // Sample standard deviation of [1, 2, 3, 4] is sqrt(5/3); over four values, sqrt(5/12).
  close(standardError([1, 2, 3, 4]) as number, Math.sqrt(5 / 12));
  assert.equal(standardError([0.7]), null);
});
