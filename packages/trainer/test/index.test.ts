import { test } from "node:test";
import assert from "node:assert/strict";
import * as trainer from "../src/index.ts";

test("the package entry point exports the node and its building blocks", () => {
  for (const name of [
    "quantizeUpdate",
    "quantizeDelta",
    "openNode",
    "resolveConfig",
    "TrainerNode",
    "LocalTrainingProducer",
    "TrainerNodeError",
  ]) {
    assert.equal(typeof (trainer as Record<string, unknown>)[name], "function", name);
  }
});

test("the trainer node carries no ML layer or dev tooling of its own", () => {
  for (const name of ["buildModel", "selectBackend", "trainLocally", "makeMnistPartitions", "attackDelta"]) {
    assert.equal((trainer as Record<string, unknown>)[name], undefined, name);
  }
});
