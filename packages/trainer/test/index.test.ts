import { test } from "node:test";
import assert from "node:assert/strict";
import * as trainer from "../src/index.ts";

test("the package entry point exports every module", () => {
  for (const name of [
    "validateModelSpec", "buildModel", "selectBackend", "encodeWeights", "loadDataset", "trainLocally", "prepareUpdate",
    "sealEnvelope", "openEnvelope", "HeliaBlobStore", "KuboBlobStore", "makeMnistPartitions",
  ]) assert.equal(typeof (trainer as Record<string, unknown>)[name], "function", name);
});
