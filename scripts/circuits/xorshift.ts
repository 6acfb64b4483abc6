/**
 * A deterministic xorshift generator of integers in `[lo, hi]`: reproducible circuit inputs for
 * the circuit tests (circuits/test), the proof-level contract tests (test/) and the circuit and gas
 * benchmarks (scripts/).
 */
export function rng(seed: number): (lo: number, hi: number) => bigint {
  let s = seed >>> 0 || 1;
  return (lo, hi) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return BigInt(lo + (s % (hi - lo + 1)));
  };
}
