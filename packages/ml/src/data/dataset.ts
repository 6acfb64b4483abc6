/**
 * The in-memory dataset every loader produces, and the error every loader throws.
 *
 * Features are one flat Float32Array (`count * product(sampleShape)` values, sample-major);
 * labels are class indices into the model spec's `labels` list.
 */

export interface Dataset {
  readonly features: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
  /** Shape of one sample, e.g. `[784]` or `[28, 28, 1]`. */
  readonly sampleShape: readonly number[];
  /** Where the data came from (file or folder), for messages. */
  readonly source: string;
}

/**
 * Bad input data. `file` names the file; `row` is a 1-based position whose meaning depends on the
 * format (a CSV/JSON-lines line number, an IDX item number); `column` a CSV column or JSON key.
 */
export class DataError extends Error {
  readonly file: string;
  readonly row: number | undefined;
  constructor(file: string, message: string, row?: number) {
    super(`${file}${row === undefined ? "" : `: row ${row}`}: ${message}`);
    this.name = "DataError";
    this.file = file;
    this.row = row;
  }
}

/** Options shared by the loaders. */
export interface LabelOptions {
  /** Class names from the model spec; labels in the data are mapped to indices in this list. */
  readonly labels: readonly string[];
}

export function sampleSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Maps a label found in a data file to a class index: a string must equal a class name; a number
 * `n` must equal a class name written as `String(n)` (so MNIST classes "0".."9" accept 3 or "3").
 */
export function labelIndexer(labels: readonly string[]): (value: unknown) => number | undefined {
  const index = new Map(labels.map((l, i) => [l, i]));
  return (value) => {
    if (typeof value === "string") return index.get(value);
    if (typeof value === "number" && Number.isFinite(value)) return index.get(String(value));
    return undefined;
  };
}

export function describeLabels(labels: readonly string[]): string {
  const shown = labels
    .slice(0, 12)
    .map((l) => JSON.stringify(l))
    .join(", ");
  return labels.length > 12 ? `${shown}, ... (${labels.length} classes)` : shown;
}

/** Throws a DataError for an empty dataset. */
export function assertNotEmpty(count: number, file: string): void {
  if (count === 0) throw new DataError(file, "contains no samples");
}

/** Checks a dataset against a spec's input shape and number of classes. */
export function checkDatasetFits(ds: Dataset, inputShape: readonly number[], numClasses: number): void {
  if (sampleSize(ds.sampleShape) !== sampleSize(inputShape)) {
    throw new DataError(ds.source, `samples have shape [${ds.sampleShape.join(", ")}] but the model expects [${inputShape.join(", ")}]`);
  }
  assertNotEmpty(ds.count, ds.source);
  for (let i = 0; i < ds.count; i++) {
    const l = ds.labels[i] as number;
    if (!(l >= 0 && l < numClasses)) throw new DataError(ds.source, `label ${l} is not a class index below ${numClasses}`, i + 1);
  }
}

/** The samples at `indices` (copied), in that order. */
export function selectSamples(ds: Dataset, indices: ArrayLike<number>, source = ds.source): Dataset {
  const size = sampleSize(ds.sampleShape);
  const features = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number;
    features.set(ds.features.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = ds.labels[i] as number;
  }
  return { features, labels, count: indices.length, sampleShape: ds.sampleShape, source };
}

/** Counts samples per class. */
export function labelHistogram(ds: Pick<Dataset, "labels">, numClasses: number): number[] {
  const h = new Array<number>(numClasses).fill(0);
  for (const l of ds.labels) h[l] = (h[l] ?? 0) + 1;
  return h;
}
