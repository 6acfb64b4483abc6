/**
 * The optimistic round's commitments (chain/optimistic.ts). The contract's checks of the same
 * values run in test/FedMarket.optimistic.test.ts; here: the tree's shape and every proof
 * recomputed the way OpenZeppelin's `MerkleProof.processProof` does (sorted pairs).
 */
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { concat, keccak256 } from "ethers";

import { ChunkAccumulatorTree, chunkAccumulatorLeaf, payoutHash } from "../src/index.ts";

/** `MerkleProof.processProof`: fold the proof into the leaf, hashing each pair sorted. */
function processProof(leaf: string, proof: readonly string[]): string {
  return proof.reduce((h, p) => (BigInt(h) < BigInt(p) ? keccak256(concat([h, p])) : keccak256(concat([p, h]))), leaf);
}

const accsOf = (n: number): bigint[] => [0n, ...Array.from({ length: n }, (_, i) => 1000n + BigInt(i) * 7n)];

test("every accumulator's proof leads to the root, for trees of every shape up to 17 leaves", () => {
  for (let chunks = 1; chunks <= 16; chunks++) {
    const tree = new ChunkAccumulatorTree(accsOf(chunks));
    tree.accs.forEach((acc, i) => {
      assert.equal(processProof(chunkAccumulatorLeaf(i, acc), tree.proof(i)), tree.root, `chunks ${chunks}, leaf ${i}`);
      assert.ok(tree.proof(i).length <= Math.ceil(Math.log2(chunks + 1)));
    });
  }
});

test("a proof binds the accumulator and its position", () => {
  const tree = new ChunkAccumulatorTree(accsOf(5));
  const acc = tree.accs[3] as bigint;
  assert.notEqual(processProof(chunkAccumulatorLeaf(3, acc + 1n), tree.proof(3)), tree.root);
  assert.notEqual(processProof(chunkAccumulatorLeaf(2, acc), tree.proof(3)), tree.root);
  assert.notEqual(processProof(chunkAccumulatorLeaf(3, acc), tree.proof(2)), tree.root);
});

test("refuses accumulator lists no round has and leaves it does not hold", () => {
  assert.throws(() => new ChunkAccumulatorTree([0n]), /at least one chunk/);
  assert.throws(() => new ChunkAccumulatorTree([1n, 2n]), /first accumulator/);
  assert.throws(() => new ChunkAccumulatorTree(accsOf(2)).proof(3), RangeError);
});

test("payoutHash chains every payout in order, zero shares included", () => {
  const a = { trainer: "0x" + "11".repeat(20), share: 5n };
  const b = { trainer: "0x" + "22".repeat(20), share: 0n };
  assert.equal(payoutHash([]), "0x" + "00".repeat(32));
  assert.notEqual(payoutHash([a, b]), payoutHash([b, a]));
  assert.notEqual(payoutHash([a, b]), payoutHash([a]));
});
