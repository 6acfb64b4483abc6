import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import {
  DataError,
  decodeIdx,
  encodeIdx,
  encodeGrayPng,
  loadCsvDataset,
  loadDataset,
  loadIdxDataset,
  loadJsonlDataset,
  loadPngFolder,
  parseCsvDataset,
  parseJsonlDataset,
  splitCsvLine,
  IDX_IMAGES_FILE,
  IDX_LABELS_FILE,
} from "../src/data/index.ts";
import { withTempDir } from "./helpers.ts";

const ABC = ["a", "b", "c"];
const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

function dataError(file: string, row: number | undefined, message: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DataError, `expected DataError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.equal(err.row, row);
    assert.match(err.message, message);
    assert.ok(err.message.startsWith(file), "message starts with the file name");
    return true;
  };
}

test("IDX encode/decode every type", () => {
  for (const [type, values] of [
    ["u8", [0, 255, 7, 1]],
    ["i8", [-128, 127, 0, -1]],
    ["i16", [-30000, 2, 3, 4]],
    ["i32", [-2e9, 2e9, 0, 1]],
    ["f32", [0.5, -1.25, 3, 4]],
    ["f64", [Math.PI, -1e300, 0, 1]],
  ] as const) {
    const idx = decodeIdx(encodeIdx(type, [2, 2], values), "x");
    assert.equal(idx.type, type);
    assert.deepEqual(idx.dims, [2, 2]);
    assert.deepEqual([...idx.values], [...values]);
  }
  // MNIST header: 0x00000803, then 3 big-endian dims
  assert.deepEqual([...encodeIdx("u8", [1, 2, 2], [1, 2, 3, 4]).subarray(0, 8)], [0, 0, 8, 3, 0, 0, 0, 1]);
  assert.throws(() => decodeIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 1, 2]), "f.idx"), /need 11 bytes but the file has 10/);
  assert.throws(() => decodeIdx(new Uint8Array([1, 0, 8, 1]), "f.idx"), /not an IDX file/);
  assert.throws(() => decodeIdx(new Uint8Array([0, 0, 7, 1]), "f.idx"), /unknown IDX type byte 0x7/);
});

test("IDX dataset: images + labels, gzip, scaling, errors", async () => {
  await withTempDir(async (dir) => {
    const images = path.join(dir, IDX_IMAGES_FILE);
    const labels = path.join(dir, IDX_LABELS_FILE);
    await writeFile(images, encodeIdx("u8", [3, 2, 2], [0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8]));
    await writeFile(labels, encodeIdx("u8", [3], [9, 0, 4]));
    const ds = await loadIdxDataset(images, labels, { labels: DIGITS });
    assert.equal(ds.count, 3);
    assert.deepEqual(ds.sampleShape, [2, 2]);
    assert.deepEqual([...ds.labels], [9, 0, 4]);
    assert.ok(Math.abs((ds.features[1] as number) - 1) < 1e-7 && Math.abs((ds.features[2] as number) - 0.2) < 1e-7);
    const flat = await loadDataset(dir, { inputShape: [4], labels: DIGITS });
    assert.deepEqual(flat.sampleShape, [4]);

    await writeFile(images + ".gz", gzipSync(encodeIdx("u8", [3, 2, 2], new Array(12).fill(0))));
    const gz = await loadIdxDataset(images + ".gz", labels, { labels: DIGITS });
    assert.equal(gz.count, 3);

    await assert.rejects(
      loadIdxDataset(images, labels, { labels: ["0", "1", "2"] }),
      dataError(labels, 1, /label 9 is not a class index in \[0, 3\)/),
    );
    const short = path.join(dir, "short-labels");
    await writeFile(short, encodeIdx("u8", [2], [0, 1]));
    await assert.rejects(
      loadIdxDataset(images, short, { labels: DIGITS }),
      dataError(short, undefined, /has 2 labels but .* has 3 images/),
    );
    await assert.rejects(
      loadIdxDataset(images, labels, { labels: DIGITS, sampleShape: [5] }),
      dataError(images, undefined, /shape \[2, 2\] \(4 values\) but the model expects \[5\]/),
    );
    const empty = path.join(dir, "empty-images");
    const emptyLabels = path.join(dir, "empty-labels");
    await writeFile(empty, encodeIdx("u8", [0, 2, 2], []));
    await writeFile(emptyLabels, encodeIdx("u8", [0], []));
    await assert.rejects(loadIdxDataset(empty, emptyLabels, { labels: DIGITS }), dataError(empty, undefined, /contains no samples/));
    const nan = path.join(dir, "nan-images");
    await writeFile(nan, encodeIdx("f32", [3, 2, 2], [0, 0, 0, 0, 0, 0, 0, Number.NaN, 0, 0, 0, 0]));
    await assert.rejects(loadIdxDataset(nan, labels, { labels: DIGITS }), dataError(nan, 2, /not finite/));
    await assert.rejects(loadIdxDataset(path.join(dir, "missing"), labels, { labels: DIGITS }), /missing: cannot read/);
  });
});

test("CSV: quoting, label column anywhere, errors name file and row", async () => {
  assert.deepEqual(splitCsvLine(`1, "a,b" ,"say ""hi""",`), ["1", "a,b", 'say "hi"', ""]);
  assert.deepEqual(splitCsvLine("a;b", ";"), ["a", "b"]);
  const opts = { labels: ABC, sampleShape: [2] };
  const ds = parseCsvDataset(`x1,label,x2\n1,a,2\n\n3.5,"c",-4\n`, "d.csv", opts);
  assert.deepEqual([...ds.features], [1, 2, 3.5, -4]);
  assert.deepEqual([...ds.labels], [0, 2]);
  assert.throws(() => parseCsvDataset("", "d.csv", opts), dataError("d.csv", undefined, /empty/));
  assert.throws(() => parseCsvDataset("x1,x2\n", "d.csv", opts), dataError("d.csv", 1, /no "label" column/));
  assert.throws(() => parseCsvDataset("x1,label\n", "d.csv", opts), dataError("d.csv", 1, /1 feature columns but the model expects 2/));
  assert.throws(() => parseCsvDataset("x1,x2,label\n", "d.csv", opts), dataError("d.csv", undefined, /contains no samples/));
  assert.throws(
    () => parseCsvDataset("x1,x2,label\n1,2,a\n1,NaN,b\n", "d.csv", opts),
    dataError("d.csv", 3, /column "x2": "NaN" is not a finite number/),
  );
  assert.throws(() => parseCsvDataset("x1,x2,label\n1,,a\n", "d.csv", opts), dataError("d.csv", 2, /column "x2": empty value/));
  assert.throws(() => parseCsvDataset("x1,x2,label\n1,2,\n", "d.csv", opts), dataError("d.csv", 2, /missing label/));
  assert.throws(() => parseCsvDataset("x1,x2,label\n1,2,z\n", "d.csv", opts), dataError("d.csv", 2, /unknown label "z"/));
  assert.throws(() => parseCsvDataset("x1,x2,label\n1,2\n", "d.csv", opts), dataError("d.csv", 2, /2 fields, the header has 3/));
  assert.throws(() => parseCsvDataset(`x1,x2,label\n1,2,"a\n`, "d.csv", opts), dataError("d.csv", 2, /unterminated/));
  await withTempDir(async (dir) => {
    const f = path.join(dir, "digits.csv");
    await writeFile(f, "label,p0,p1\n3,0.5,1\n7,0,0\n");
    const loaded = await loadCsvDataset(f, { labels: DIGITS, sampleShape: [2] });
    assert.deepEqual([...loaded.labels], [3, 7]);
    const auto = await loadDataset(f, { inputShape: [2], labels: DIGITS });
    assert.equal(auto.count, 2);
  });
});

test("JSON lines: flat and nested features, errors name file and row", async () => {
  const opts = { labels: DIGITS, sampleShape: [2, 2, 1] };
  const ds = parseJsonlDataset(`{"features":[[[1],[2]],[[3],[4]]],"label":"3"}\n\n{"features":[5,6,7,8],"label":4}\n`, "d.jsonl", opts);
  assert.deepEqual([...ds.features], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([...ds.labels], [3, 4]);
  assert.throws(() => parseJsonlDataset("\n", "d.jsonl", opts), dataError("d.jsonl", undefined, /no samples/));
  assert.throws(
    () => parseJsonlDataset(`{"features":[1,2,3,4],"label":1}\n{"features":[1,2,3],"label":1}`, "d.jsonl", opts),
    dataError("d.jsonl", 2, /has 3 values but the model expects 4/),
  );
  assert.throws(
    () => parseJsonlDataset(`{"features":[[1,2],[3,4]],"label":1}`, "d.jsonl", opts),
    dataError("d.jsonl", 1, /expected an array at axis 2/),
  );
  assert.throws(
    () => parseJsonlDataset(`{"features":[1,null,3,4],"label":1}`, "d.jsonl", opts),
    dataError("d.jsonl", 1, /null is not a finite number \(value 1\)/),
  );
  assert.throws(() => parseJsonlDataset(`{"features":[1,2,3,4]}`, "d.jsonl", opts), dataError("d.jsonl", 1, /missing label "label"/));
  assert.throws(() => parseJsonlDataset(`{"features":[1,2,3,4],"label":10}`, "d.jsonl", opts), dataError("d.jsonl", 1, /unknown label 10/));
  assert.throws(() => parseJsonlDataset(`{"label":1}`, "d.jsonl", opts), dataError("d.jsonl", 1, /missing "features" array/));
  assert.throws(
    () => parseJsonlDataset(`{"features":[1,2,3,4],"label":1}\n{oops`, "d.jsonl", opts),
    dataError("d.jsonl", 2, /invalid JSON/),
  );
  await withTempDir(async (dir) => {
    const f = path.join(dir, "d.jsonl");
    await writeFile(f, `{"features":[1,2,3,4],"label":"9"}\n`);
    assert.equal((await loadJsonlDataset(f, opts)).count, 1);
    assert.equal((await loadDataset(f, { inputShape: [4], labels: DIGITS })).count, 1);
  });
});

test("PNG folder per class", async () => {
  await withTempDir(async (dir) => {
    await mkdir(path.join(dir, "b"));
    await mkdir(path.join(dir, "a"));
    await writeFile(path.join(dir, "a", "2.png"), encodeGrayPng([0, 255, 255, 0], 2, 2));
    await writeFile(path.join(dir, "a", "1.png"), encodeGrayPng([255, 255, 255, 255], 2, 2));
    await writeFile(path.join(dir, "a", "notes.txt"), "ignored");
    await writeFile(path.join(dir, "b", "x.png"), encodeGrayPng([51, 0, 0, 0], 2, 2));
    const ds = await loadPngFolder(dir, { labels: ABC, sampleShape: [2, 2, 1] });
    assert.deepEqual([...ds.labels], [0, 0, 1]);
    assert.deepEqual(
      [...ds.features.subarray(0, 8)].map((v) => Math.round(v * 255)),
      [255, 255, 255, 255, 0, 255, 255, 0],
    );
    const rgb = await loadPngFolder(dir, { labels: ABC, sampleShape: [2, 2, 3] });
    assert.equal(rgb.features.length, 3 * 12);
    const viaAuto = await loadDataset(dir, { inputShape: [4], labels: ABC });
    assert.equal(viaAuto.count, 3);

    await assert.rejects(
      loadPngFolder(dir, { labels: ABC, sampleShape: [3, 3, 1] }),
      dataError(path.join(dir, "a", "1.png"), undefined, /image is 2x2, the model expects 3x3/),
    );
    await assert.rejects(
      loadPngFolder(dir, { labels: ["a", "c"], sampleShape: [2, 2, 1] }),
      dataError(path.join(dir, "b"), undefined, /not a class/),
    );
    await writeFile(path.join(dir, "b", "broken.png"), "not a png");
    await assert.rejects(
      loadPngFolder(dir, { labels: ABC, sampleShape: [2, 2, 1] }),
      dataError(path.join(dir, "b", "broken.png"), undefined, /not a readable PNG/),
    );
    await mkdir(path.join(dir, "empty"));
    await mkdir(path.join(dir, "empty", "c"));
    await assert.rejects(
      loadPngFolder(path.join(dir, "empty"), { labels: ABC, sampleShape: [2, 2, 1] }),
      dataError(path.join(dir, "empty"), undefined, /no samples/),
    );
  });
});

test("loadDataset checks the model shape and rejects unknown formats", async () => {
  await withTempDir(async (dir) => {
    const f = path.join(dir, "d.txt");
    await writeFile(f, "x");
    await assert.rejects(loadDataset(f, { inputShape: [2], labels: ABC }), /unknown data format/);
    await assert.rejects(loadDataset(path.join(dir, "nope.csv"), { inputShape: [2], labels: ABC }), /does not exist/);
    await writeFile(path.join(dir, IDX_IMAGES_FILE), encodeIdx("u8", [1, 2, 2], [0, 0, 0, 0]));
    await assert.rejects(loadDataset(dir, { inputShape: [4], labels: ABC }), /has only one of/);
  });
});
