import { test } from "node:test";
import assert from "node:assert/strict";
import { proofFromWords, proofWords, releaseCurves } from "../src/index.ts";

const proof = {
  pi_a: ["11", "12", "1"],
  pi_b: [
    ["21", "22"],
    ["23", "24"],
    ["1", "0"],
  ],
  pi_c: ["31", "32", "1"],
  protocol: "groth16",
  curve: "bn128",
};

test("proof words follow IRoundVerifier's order: G2 coordinates swapped", () => {
  assert.deepEqual(proofWords(proof), [11n, 12n, 22n, 21n, 24n, 23n, 31n, 32n]);
});

test("proofFromWords inverts proofWords", () => {
  assert.deepEqual(proofFromWords(proofWords(proof)), proof);
  assert.deepEqual(proofWords(proofFromWords(["1", "2", "3", "4", "5", "6", "7", "8"])), [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
});

test("releaseCurves is a no-op when snarkjs never started its curve", async () => {
  await releaseCurves();
});
