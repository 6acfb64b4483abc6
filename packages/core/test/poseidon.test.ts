import { test } from "node:test";
import assert from "node:assert/strict";
import { hashMany, poseidon, poseidonPair } from "../src/index.ts";

test("circomlib test vectors", () => {
  // circomlib test/poseidoncircuit.js
  assert.equal(poseidon([1n, 2n]), 7853200120776062878684798364095072458815029376092732009249414926327459813530n);
  assert.equal(poseidon([3n, 4n]), 14763215145315200506921711489642608356394854266165572616578112107564877678998n);
  assert.equal(poseidon([1n, 2n, 0n, 0n, 0n]), 1018317224307729531995786483840663576608797660851238720571059489595066344487n);
  assert.equal(poseidon([3n, 4n, 5n, 10n, 23n]), 13034429309846638789535561449942021891039729847501137143363028890275222221409n);
});

test("hashMany: single call up to 16, then a 15-element chain", () => {
  const xs = Array.from({ length: 40 }, (_, i) => BigInt(i + 1));
  assert.equal(hashMany(xs.slice(0, 1)), poseidon([1n]));
  assert.equal(hashMany(xs.slice(0, 16)), poseidon(xs.slice(0, 16)));
  const h16 = poseidon(xs.slice(0, 16));
  assert.equal(hashMany(xs.slice(0, 17)), poseidon([h16, 17n]));
  const h31 = poseidon([h16, ...xs.slice(16, 31)]);
  assert.equal(hashMany(xs.slice(0, 31)), h31);
  assert.equal(hashMany(xs), poseidon([h31, ...xs.slice(31, 40)]));
  assert.throws(() => hashMany([]));
  assert.equal(poseidonPair(1n, 2n), poseidon([1n, 2n]));
});
