/**
 * CSV datasets: a header row, one sample per line, one label column (default `label`) and every
 * other column a numeric feature, in the order of the header. Fields may be double-quoted (`""`
 * escapes a quote); quoted fields cannot span lines. Empty lines are skipped. Row numbers in
 * errors are 1-based line numbers (the header is line 1).
 */
import { readFile } from "node:fs/promises";
import { DataError, assertNotEmpty, describeLabels, labelIndexer, sampleSize, type Dataset, type LabelOptions } from "./dataset.ts";

export interface CsvDatasetOptions extends LabelOptions {
  /** Shape of one sample; the number of feature columns must equal its size. */
  readonly sampleShape: readonly number[];
  /** Name of the label column (default `"label"`). */
  readonly labelColumn?: string;
  /** Field separator (default `,`). */
  readonly delimiter?: string;
}

/** Splits one CSV line into fields; throws a plain Error on an unterminated quote. */
export function splitCsvLine(line: string, delimiter = ","): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    // Spaces before an opening quote are ignored.
    let q0 = i;
    while (line[q0] === " " || line[q0] === "\t") q0++;
    if (line[q0] === '"') i = q0;
    if (line[i] === '"') {
      let value = "";
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new Error("unterminated quoted field");
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      while (line[i] === " " || line[i] === "\t") i++;
      fields.push(value);
      if (i >= line.length) return fields;
      if (!line.startsWith(delimiter, i)) throw new Error(`unexpected character after a quoted field at position ${i + 1}`);
      i += delimiter.length;
    } else {
      const d = line.indexOf(delimiter, i);
      if (d < 0) {
        fields.push(line.slice(i).trim());
        return fields;
      }
      fields.push(line.slice(i, d).trim());
      i = d + delimiter.length;
    }
  }
}

/** Parses CSV text (see the module comment). `file` names the source in errors. */
export function parseCsvDataset(text: string, file: string, options: CsvDatasetOptions): Dataset {
  const delimiter = options.delimiter ?? ",";
  const labelColumn = options.labelColumn ?? "label";
  const size = sampleSize(options.sampleShape);
  const toIndex = labelIndexer(options.labels);
  const lines = text.split(/\r?\n/);
  const headerLine = lines.findIndex((l) => l.trim() !== "");
  if (headerLine < 0) throw new DataError(file, "is empty (expected a header row)");
  let header: string[];
  try {
    header = splitCsvLine(lines[headerLine] as string, delimiter);
  } catch (err) {
    throw new DataError(file, `header: ${(err as Error).message}`, headerLine + 1);
  }
  const labelAt = header.indexOf(labelColumn);
  if (labelAt < 0)
    throw new DataError(
      file,
      `has no ${JSON.stringify(labelColumn)} column (header: ${header.slice(0, 8).join(", ")}${header.length > 8 ? ", ..." : ""})`,
      headerLine + 1,
    );
  if (header.length - 1 !== size) {
    throw new DataError(
      file,
      `has ${header.length - 1} feature columns but the model expects ${size} values per sample [${options.sampleShape.join(", ")}]`,
      headerLine + 1,
    );
  }
  const features: number[] = [];
  const labels: number[] = [];
  for (let n = headerLine + 1; n < lines.length; n++) {
    const line = lines[n] as string;
    if (line.trim() === "") continue;
    const row = n + 1;
    let fields: string[];
    try {
      fields = splitCsvLine(line, delimiter);
    } catch (err) {
      throw new DataError(file, (err as Error).message, row);
    }
    if (fields.length !== header.length) throw new DataError(file, `has ${fields.length} fields, the header has ${header.length}`, row);
    const label = fields[labelAt] as string;
    if (label === "") throw new DataError(file, `missing label in column ${JSON.stringify(labelColumn)}`, row);
    const index = toIndex(label);
    if (index === undefined)
      throw new DataError(file, `unknown label ${JSON.stringify(label)} (classes: ${describeLabels(options.labels)})`, row);
    labels.push(index);
    for (let c = 0; c < fields.length; c++) {
      if (c === labelAt) continue;
      const raw = fields[c] as string;
      const v = raw === "" ? Number.NaN : Number(raw);
      if (!Number.isFinite(v)) {
        throw new DataError(
          file,
          `column ${JSON.stringify(header[c])}: ${raw === "" ? "empty value" : `${JSON.stringify(raw)} is not a finite number`}`,
          row,
        );
      }
      features.push(v);
    }
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

export async function loadCsvDataset(file: string, options: CsvDatasetOptions): Promise<Dataset> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new DataError(file, `cannot read: ${(err as Error).message}`);
  }
  return parseCsvDataset(text, file, options);
}
