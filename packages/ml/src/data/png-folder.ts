/**
 * A folder of PNG images per class: `root/<class name>/<anything>.png`. Class folder names must
 * be class names of the model spec; a class may have no folder (non-IID data). Files are read in
 * sorted order (folders in spec order, files by name) so loading is deterministic. Other files
 * and hidden entries are ignored; a non-PNG file named `.png` is an error.
 *
 * Pixels are scaled to [0, 1]. The channel count comes from the sample shape: `[h, w, 1]` or
 * `[h * w]` gives grayscale (ITU-R BT.601 luma of RGB, alpha ignored), `[h, w, 3]` RGB and
 * `[h, w, 4]` RGBA. Every image must be exactly `h x w`; for a flat shape `[n]`, images must
 * be square with `h * w = n`.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { PNG } from "pngjs";
import { DataError, assertNotEmpty, describeLabels, sampleSize, type Dataset, type LabelOptions } from "./dataset.ts";

export interface PngFolderOptions extends LabelOptions {
  readonly sampleShape: readonly number[];
}

function geometry(shape: readonly number[], folder: string): { height: number; width: number; channels: number } {
  if (shape.length === 3) {
    const [height, width, channels] = shape as [number, number, number];
    if (![1, 3, 4].includes(channels)) throw new DataError(folder, `PNG images need 1, 3 or 4 channels, the model expects ${channels}`);
    return { height, width, channels };
  }
  if (shape.length === 1) {
    const side = Math.round(Math.sqrt(shape[0] as number));
    if (side * side !== shape[0])
      throw new DataError(folder, `a flat input of ${shape[0]} values is not a square grayscale image; use inputShape [h, w, c]`);
    return { height: side, width: side, channels: 1 };
  }
  throw new DataError(folder, `cannot map PNG images to the input shape [${shape.join(", ")}]`);
}

export async function loadPngFolder(root: string, options: PngFolderOptions): Promise<Dataset> {
  const { height, width, channels } = geometry(options.sampleShape, root);
  const size = sampleSize(options.sampleShape);
  let entries: string[];
  try {
    entries = (await readdir(root)).filter((e) => !e.startsWith("."));
  } catch (err) {
    throw new DataError(root, `cannot read folder: ${(err as Error).message}`);
  }
  const known = new Set(options.labels);
  const folders: string[] = [];
  for (const e of entries) {
    if (!(await stat(path.join(root, e))).isDirectory()) continue;
    if (!known.has(e))
      throw new DataError(path.join(root, e), `folder name is not a class of the model (classes: ${describeLabels(options.labels)})`);
    folders.push(e);
  }
  const chunks: Float32Array[] = [];
  const labels: number[] = [];
  for (const [classIndex, label] of options.labels.entries()) {
    if (!folders.includes(label)) continue;
    const dir = path.join(root, label);
    const files = (await readdir(dir)).filter((f) => !f.startsWith(".") && f.toLowerCase().endsWith(".png")).sort();
    for (const f of files) {
      const file = path.join(dir, f);
      let png: PNG;
      try {
        png = PNG.sync.read(await readFile(file));
      } catch (err) {
        throw new DataError(file, `not a readable PNG: ${(err as Error).message}`);
      }
      if (png.width !== width || png.height !== height) {
        throw new DataError(file, `image is ${png.width}x${png.height}, the model expects ${width}x${height}`);
      }
      const out = new Float32Array(size);
      const rgba = png.data;
      for (let p = 0; p < width * height; p++) {
        const r = rgba[4 * p] as number,
          g = rgba[4 * p + 1] as number,
          b = rgba[4 * p + 2] as number;
        if (channels === 1) {
          out[p] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
        } else {
          for (let c = 0; c < channels; c++) out[p * channels + c] = (rgba[4 * p + c] as number) / 255;
        }
      }
      chunks.push(out);
      labels.push(classIndex);
    }
  }
  assertNotEmpty(labels.length, root);
  const features = new Float32Array(labels.length * size);
  chunks.forEach((c, i) => features.set(c, i * size));
  return { features, labels: Int32Array.from(labels), count: labels.length, sampleShape: [...options.sampleShape], source: root };
}

/** Encodes an 8-bit grayscale image (values 0..255, row-major) as PNG bytes (for tools and tests). */
export function encodeGrayPng(pixels: ArrayLike<number>, width: number, height: number): Uint8Array {
  const png = new PNG({ width, height });
  for (let p = 0; p < width * height; p++) {
    const v = pixels[p] as number;
    png.data[4 * p] = v;
    png.data[4 * p + 1] = v;
    png.data[4 * p + 2] = v;
    png.data[4 * p + 3] = 255;
  }
  return PNG.sync.write(png);
}
