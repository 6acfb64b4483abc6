import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { selectBackend, wasmDistFolder } from "../src/backend.ts";

test("the wasm binaries are found on disk", () => {
  assert.ok(existsSync(path.join(wasmDistFolder(), "tfjs-backend-wasm.wasm")));
  assert.ok(existsSync(path.join(wasmDistFolder(), "tfjs-backend-wasm-simd.wasm")));
});

test("falls back from tfjs-node to wasm (tfjs-node is not installed here) and logs the choice", async () => {
  const lines: string[] = [];
  const info = await selectBackend({ log: (m) => lines.push(m) });
  assert.ok(info.name === "tensorflow" || info.name === "wasm", info.name);
  if (info.name === "wasm") assert.equal(info.skipped[0]?.name, "tensorflow");
  assert.equal(info.tf.getBackend(), info.name);
  assert.match(lines[0] ?? "", new RegExp(`backend "${info.name}"`));
  const sum = info.tf.tidy(() => info.tf.tensor([1, 2, 3]).sum().dataSync()[0]);
  assert.equal(sum, 6);
});

test("cpu can be forced", async () => {
  const info = await selectBackend({ prefer: ["cpu"], log: () => {} });
  assert.equal(info.name, "cpu");
  await selectBackend({ prefer: ["wasm", "cpu"], log: () => {} });
});

test("an unknown forced backend is a clear error", async () => {
  const saved = process.env.FEDMARKET_TF_BACKEND;
  process.env.FEDMARKET_TF_BACKEND = "gpu";
  try {
    await assert.rejects(selectBackend({ log: () => {} }), /FEDMARKET_TF_BACKEND=gpu/);
  } finally {
    if (saved === undefined) delete process.env.FEDMARKET_TF_BACKEND;
    else process.env.FEDMARKET_TF_BACKEND = saved;
  }
});
