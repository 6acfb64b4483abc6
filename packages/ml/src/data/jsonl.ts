/**
 * JSON-lines datasets: one JSON object per line, `{"features": [...], "label": "3"}`. Features
 * may be nested arrays (e.g. `[28][28][1]`); they are flattened row-major and must hold exactly
 * `product(sampleShape)` finite numbers (nested shapes must match `sampleShape` when nested).
 * Labels are class names (strings) or numbers whose decimal form is a class name.
 * Empty lines are skipped; row numbers in errors are 1-based line numbers.
 */
import { readFile } from "node:fs/promises";
import { DataError, assertNotEmpty, describeLabels, labelIndexer, sampleSize, type Dataset, type LabelOptions } from "./dataset.ts";

export interface JsonlDatasetOptions extends LabelOptions {
  readonly sampleShape: readonly number[];
  /** Key of the features (default `"features"`). */
  readonly featuresKey?: string;
  /** Key of the label (default `"label"`). */
  readonly labelKey?: string;
}

/** Flattens `value` into `out`; returns an error message or undefined. */
function flattenNumbers(value: unknown, out: number[], shape: readonly number[] | undefined, depth: number): string | undefined {
  if (shape !== undefined && Array.isArray(value) !== depth < shape.length) {
    return depth < shape.length
      ? `expected an array at axis ${depth} (shape [${shape.join(", ")}]), got ${JSON.stringify(value)}`
      : `too deeply nested for shape [${shape.join(", ")}]`;
  }
  if (!Array.isArray(value)) {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      return `${value === null ? "null" : typeof value === "number" ? String(value) : JSON.stringify(value)} is not a finite number (value ${out.length})`;
    }
    out.push(value);
    return undefined;
  }
  if (shape !== undefined && value.length !== shape[depth]) {
    return `axis ${depth} has length ${value.length}, expected ${shape[depth]}`;
  }
  for (const v of value) {
    const err = flattenNumbers(v, out, shape, depth + 1);
    if (err !== undefined) return err;
  }
  return undefined;
}

export function parseJsonlDataset(text: string, file: string, options: JsonlDatasetOptions): Dataset {
  const featuresKey = options.featuresKey ?? "features";
  const labelKey = options.labelKey ?? "label";
  const size = sampleSize(options.sampleShape);
  const toIndex = labelIndexer(options.labels);
  const features: number[] = [];
  const labels: number[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] as string;
    if (line.trim() === "") continue;
    const row = n + 1;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      throw new DataError(file, `invalid JSON: ${(err as Error).message}`, row);
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new DataError(file, "expected a JSON object", row);
    const record = obj as Record<string, unknown>;
    if (!(labelKey in record) || record[labelKey] === null || record[labelKey] === "") {
      throw new DataError(file, `missing label ${JSON.stringify(labelKey)}`, row);
    }
    const index = toIndex(record[labelKey]);
    if (index === undefined)
      throw new DataError(file, `unknown label ${JSON.stringify(record[labelKey])} (classes: ${describeLabels(options.labels)})`, row);
    const raw = record[featuresKey];
    if (!Array.isArray(raw)) throw new DataError(file, `missing ${JSON.stringify(featuresKey)} array`, row);
    const nested = raw.some((v) => Array.isArray(v));
    const values: number[] = [];
    const err = flattenNumbers(raw, values, nested ? options.sampleShape : undefined, 0);
    if (err !== undefined) throw new DataError(file, `${featuresKey}: ${err}`, row);
    if (values.length !== size) {
      throw new DataError(
        file,
        `${featuresKey} has ${values.length} values but the model expects ${size} [${options.sampleShape.join(", ")}]`,
        row,
      );
    }
    for (const v of values) features.push(v);
    labels.push(index);
  }
  assertNotEmpty(labels.length, file);
  return {
    features: Float32Array.from(features),
    labels: Int32Array.from(labels),
    count: labels.length,
    sampleShape: [...options.sampleShape],
    source: file,
  };
}

export async function loadJsonlDataset(file: string, options: JsonlDatasetOptions): Promise<Dataset> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new DataError(file, `cannot read: ${(err as Error).message}`);
  }
  return parseJsonlDataset(text, file, options);
}
