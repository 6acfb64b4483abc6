import { test } from "node:test";
import assert from "node:assert/strict";
import * as trainer from "../src/index.ts";

test("the package entry point exports every module", () => {
  for (const name of [
    "buildModel", "selectBackend", "flattenWeights", "loadDataset", "trainLocally", "prepareUpdate", "makeMnistPartitions",
  ]) assert.equal(typeof (trainer as Record<string, unknown>)[name], "function", name);
});
