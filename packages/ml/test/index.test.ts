import { test } from "node:test";
import assert from "node:assert/strict";
import * as ml from "../src/index.ts";

test("the package entry point exports every module", () => {
  for (const name of [
    "buildModel",
    "selectBackend",
    "flattenWeights",
    "loadDataset",
    "trainLocally",
    "evaluateAccuracy",
    "initialWeights",
    "referenceDirection",
    "seededRandom",
    "loadMnistPackageDigits",
  ]) {
    assert.equal(typeof (ml as Record<string, unknown>)[name], "function", name);
  }
});
