/**
 * Deterministic synthetic training data for tests, benchmarks and demos that need a model to
 * learn something without MNIST: one separable blob per label.
 */

/**
 * A CSV (header `f0..f<n-1>,label`) of `n` rows; row `i` has label `labels[i % labels.length]`,
 * its features are uniform noise in [-0.5, 0.5) plus 1.5 on the features `j` with
 * `j % labels.length` equal to the label's index. Same `seed`, same bytes.
 */
export function syntheticBlobsCsv(seed: number, n: number, features: number, labels: readonly string[], decimals = 4): string {
  let s = seed;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const rows = [[...Array.from({ length: features }, (_, i) => `f${i}`), "label"].join(",")];
  for (let i = 0; i < n; i++) {
    const label = i % labels.length;
    const x = Array.from({ length: features }, (_, j) => ((j % labels.length === label ? 1.5 : 0) + (rnd() - 0.5)).toFixed(decimals));
    rows.push([...x, labels[label] as string].join(","));
  }
  return `${rows.join("\n")}\n`;
}
