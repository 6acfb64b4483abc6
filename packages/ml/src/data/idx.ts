/**
 * IDX files, the format of the MNIST distribution (http://yann.lecun.com/exdb/mnist/).
 *
 * Layout: two zero bytes, a type byte (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64),
 * the number of dimensions, then each dimension as a big-endian u32, then the values in row-major
 * order, big-endian. Images are `[count, rows, cols]` (or `[count, ...]`), labels `[count]`.
 * Files ending in `.gz` are gunzipped first.
 */
import { readFile, writeFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { DataError, assertNotEmpty, type Dataset, type LabelOptions, describeLabels } from "./dataset.ts";

export const IDX_TYPES = { u8: 0x08, i8: 0x09, i16: 0x0b, i32: 0x0c, f32: 0x0d, f64: 0x0e } as const;
export type IdxType = keyof typeof IDX_TYPES;
const BYTES: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };

export interface IdxArray {
  readonly type: IdxType;
  readonly dims: readonly number[];
  /** Values as float64 (exact for every IDX type). */
  readonly values: Float64Array;
}

/** Parses IDX bytes; `file` is used in error messages. */
export function decodeIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw new DataError(file, `${bytes.length} bytes is too short for an IDX header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new DataError(file, "not an IDX file (the first two bytes must be zero)");
  const code = bytes[2] as number;
  const type = (Object.keys(IDX_TYPES) as IdxType[]).find((k) => IDX_TYPES[k] === code);
  if (type === undefined) throw new DataError(file, `unknown IDX type byte 0x${code.toString(16)}`);
  const ndims = bytes[3] as number;
  if (ndims === 0) throw new DataError(file, "IDX file has zero dimensions");
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) throw new DataError(file, "truncated IDX header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const width = BYTES[code] as number;
  const expected = headerBytes + count * width;
  if (bytes.length !== expected) {
    throw new DataError(file, `IDX dimensions [${dims.join(", ")}] need ${expected} bytes but the file has ${bytes.length}`);
  }
  const values = new Float64Array(count);
  let o = headerBytes;
  for (let i = 0; i < count; i++, o += width) {
    switch (code) {
      case 0x08:
        values[i] = bytes[o] as number;
        break;
      case 0x09:
        values[i] = view.getInt8(o);
        break;
      case 0x0b:
        values[i] = view.getInt16(o, false);
        break;
      case 0x0c:
        values[i] = view.getInt32(o, false);
        break;
      case 0x0d:
        values[i] = view.getFloat32(o, false);
        break;
      default:
        values[i] = view.getFloat64(o, false);
        break;
    }
  }
  return { type, dims, values };
}

/** Encodes values as an IDX file of `type` with dimensions `dims`. */
export function encodeIdx(type: IdxType, dims: readonly number[], values: ArrayLike<number>): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count) throw new RangeError(`IDX dimensions [${dims.join(", ")}] hold ${count} values, got ${values.length}`);
  const code = IDX_TYPES[type];
  const width = BYTES[code] as number;
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + count * width);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  let o = header;
  for (let i = 0; i < count; i++, o += width) {
    const v = values[i] as number;
    switch (code) {
      case 0x08:
        view.setUint8(o, v);
        break;
      case 0x09:
        view.setInt8(o, v);
        break;
      case 0x0b:
        view.setInt16(o, v, false);
        break;
      case 0x0c:
        view.setInt32(o, v, false);
        break;
      case 0x0d:
        view.setFloat32(o, v, false);
        break;
      default:
        view.setFloat64(o, v, false);
        break;
    }
  }
  return out;
}

export async function readIdxFile(file: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new DataError(file, `cannot read: ${(err as Error).message}`);
  }
  if (file.endsWith(".gz")) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new DataError(file, `cannot gunzip: ${(err as Error).message}`);
    }
  }
  return decodeIdx(bytes, file);
}

export async function writeIdxFile(file: string, type: IdxType, dims: readonly number[], values: ArrayLike<number>): Promise<void> {
  await writeFile(file, encodeIdx(type, dims, values));
}

export interface IdxDatasetOptions extends LabelOptions {
  /**
   * Multiplier applied to image values. Default: `1 / 255` for u8 images (pixels become [0, 1]),
   * `1` otherwise.
   */
  readonly scale?: number;
  /** Expected shape of one sample; checked against the image file's dimensions when given. */
  readonly sampleShape?: readonly number[];
}

/**
 * Loads an IDX image file and its IDX label file. Labels in the file are class indices into
 * `options.labels`.
 */
export async function loadIdxDataset(imagesFile: string, labelsFile: string, options: IdxDatasetOptions): Promise<Dataset> {
  const images = await readIdxFile(imagesFile);
  const labels = await readIdxFile(labelsFile);
  const count = images.dims[0] as number;
  if (labels.dims.length !== 1) {
    throw new DataError(labelsFile, `a label file must have one dimension, this one has [${labels.dims.join(", ")}]`);
  }
  if (labels.dims[0] !== count) {
    throw new DataError(labelsFile, `has ${labels.dims[0]} labels but ${imagesFile} has ${count} images`);
  }
  assertNotEmpty(count, imagesFile);
  let sampleShape = images.dims.slice(1);
  if (sampleShape.length === 0) sampleShape = [1];
  const size = sampleShape.reduce((a, b) => a * b, 1);
  if (options.sampleShape !== undefined) {
    const want = options.sampleShape.reduce((a, b) => a * b, 1);
    if (want !== size) {
      throw new DataError(
        imagesFile,
        `items have shape [${sampleShape.join(", ")}] (${size} values) but the model expects [${options.sampleShape.join(", ")}]`,
      );
    }
    sampleShape = [...options.sampleShape];
  }
  const scale = options.scale ?? (images.type === "u8" ? 1 / 255 : 1);
  const features = new Float32Array(images.values.length);
  for (let i = 0; i < features.length; i++) {
    const v = (images.values[i] as number) * scale;
    if (!Number.isFinite(v))
      throw new DataError(imagesFile, `value ${images.values[i]} at position ${i % size} is not finite`, Math.floor(i / size) + 1);
    features[i] = v;
  }
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const l = labels.values[i] as number;
    if (!Number.isInteger(l) || l < 0 || l >= options.labels.length) {
      throw new DataError(
        labelsFile,
        `label ${l} is not a class index in [0, ${options.labels.length}) (classes: ${describeLabels(options.labels)})`,
        i + 1,
      );
    }
    out[i] = l;
  }
  return { features, labels: out, count, sampleShape, source: imagesFile };
}
