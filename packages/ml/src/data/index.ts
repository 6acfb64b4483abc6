/**
 * One entry point for every data format, chosen from the path:
 * - a folder containing `images-idx3-ubyte` and `labels-idx1-ubyte` (optionally `.gz`): IDX pair;
 * - any other folder: one sub-folder of PNG images per class;
 * - `*.csv`: CSV with a label column; `*.jsonl` / `*.ndjson`: JSON lines.
 * The result is checked against the model's input shape and classes.
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { DataError, checkDatasetFits, type Dataset } from "./dataset.ts";
import { loadIdxDataset } from "./idx.ts";
import { loadCsvDataset } from "./csv.ts";
import { loadJsonlDataset } from "./jsonl.ts";
import { loadPngFolder } from "./png-folder.ts";

export * from "./dataset.ts";
export * from "./idx.ts";
export * from "./csv.ts";
export * from "./jsonl.ts";
export * from "./png-folder.ts";

export const IDX_IMAGES_FILE = "images-idx3-ubyte";
export const IDX_LABELS_FILE = "labels-idx1-ubyte";

export interface LoadDatasetOptions {
  readonly inputShape: readonly number[];
  readonly labels: readonly string[];
  /** CSV label column (default `label`). */
  readonly labelColumn?: string;
}

function findIdx(folder: string, base: string): string | undefined {
  for (const name of [base, `${base}.gz`]) {
    const p = path.join(folder, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export async function loadDataset(location: string, options: LoadDatasetOptions): Promise<Dataset> {
  if (!existsSync(location)) throw new DataError(location, "does not exist");
  const common = { labels: options.labels, sampleShape: options.inputShape };
  let ds: Dataset;
  if (statSync(location).isDirectory()) {
    const images = findIdx(location, IDX_IMAGES_FILE);
    const labels = findIdx(location, IDX_LABELS_FILE);
    if (images !== undefined && labels !== undefined) ds = await loadIdxDataset(images, labels, common);
    else if (images !== undefined || labels !== undefined) {
      throw new DataError(location, `has only one of ${IDX_IMAGES_FILE} and ${IDX_LABELS_FILE}`);
    } else ds = await loadPngFolder(location, common);
  } else if (/\.csv$/i.test(location)) {
    ds = await loadCsvDataset(location, { ...common, ...(options.labelColumn ? { labelColumn: options.labelColumn } : {}) });
  } else if (/\.(jsonl|ndjson)$/i.test(location)) {
    ds = await loadJsonlDataset(location, common);
  } else {
    throw new DataError(location, "unknown data format (expected a folder, .csv, .jsonl or .ndjson)");
  }
  checkDatasetFits(ds, options.inputShape, options.labels.length);
  return ds;
}
export * from "./mnist.ts";
