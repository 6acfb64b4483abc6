/**
 * Seeded pseudo-random numbers for reproducible data partitions and shuffles (not for keys: the
 * encryption code uses the operating system's generator).
 *
 * Generator: sfc32 (Chris Doty-Humphrey's Small Fast Counter), seeded from one 32-bit integer
 * through splitmix32, 12 warm-up rounds. Same seed, same sequence, on every platform.
 */

export type Random = () => number;

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A generator of uniform floats in `[0, 1)` from a non-negative integer seed. */
export function seededRandom(seed: number): Random {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed ${seed} must be a non-negative integer`);
  const init = splitmix32((seed % 2 ** 32) ^ Math.floor(seed / 2 ** 32));
  let a = init(),
    b = init(),
    c = init(),
    d = init();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 2 ** 32;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Uniform integer in `[0, n)`. */
export function randomInt(rng: Random, n: number): number {
  return Math.floor(rng() * n);
}

/** Fisher-Yates shuffle in place; returns the array. */
export function shuffleInPlace<T extends { [i: number]: number; length: number }>(arr: T, rng: Random): T {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    const t = arr[i] as number;
    arr[i] = arr[j] as number;
    arr[j] = t;
  }
  return arr;
}

/** A random permutation of `0..n-1`. */
export function permutation(n: number, rng: Random): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffleInPlace(p, rng);
}

/** Standard normal (Box-Muller). */
export function normal(rng: Random): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Gamma(shape, 1) by Marsaglia-Tsang (with the `U^(1/shape)` boost for shape < 1). */
export function gamma(rng: Random, shape: number): number {
  if (!(shape > 0)) throw new RangeError(`gamma shape ${shape} must be > 0`);
  if (shape < 1) {
    let u = 0;
    while (u === 0) u = rng();
    return gamma(rng, shape + 1) * u ** (1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A sample from the symmetric Dirichlet(alpha, ..., alpha) over `k` outcomes. */
export function dirichlet(rng: Random, alpha: number, k: number): number[] {
  const g = Array.from({ length: k }, () => gamma(rng, alpha));
  const sum = g.reduce((a, b) => a + b, 0);
  // With very small alpha every draw can underflow to 0: put all mass on one outcome.
  if (!(sum > 0)) {
    const out = new Array<number>(k).fill(0);
    out[randomInt(rng, k)] = 1;
    return out;
  }
  return g.map((x) => x / sum);
}
