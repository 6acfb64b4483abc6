/**
 * The optimistic round's commitments (chain/optimistic.ts). The contract's checks of the same
 * values run in test/FedMarket.optimistic.test.ts; here: the tree's shape and every proof
 * recomputed the way OpenZeppelin's `MerkleProof.processProof` does (sorted pairs).
 */
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { concat, keccak256 } from "ethers";

import {
  ChunkAccumulatorTree,
  challengeTarget,
  chunkAccumulatorLeaf,
  decodeProofBundle,
  encodeProofBundle,
  payoutHash,
  type ProofBundle,
} from "../src/index.ts";

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

/** A bundle of `n` chunks whose "proof" of step i is [i, accIn, accOut, 0...]: what `mockVerify` accepts. */
function bundleOf(n: number): ProofBundle {
  const accs = accsOf(n);
  const proofs = Array.from({ length: n }, (_, i) => [BigInt(i), accs[i] as bigint, accs[i + 1] as bigint, 0n, 0n, 0n, 0n, 0n]);
  return { projectId: 7n, round: 2, accs, proofs };
}
const mockVerify = async (p: readonly bigint[], accIn: bigint, accOut: bigint): Promise<boolean> => p[1] === accIn && p[2] === accOut;

test("a proof bundle survives its encoding, and a damaged one is refused with what is wrong", () => {
  const b = bundleOf(3);
  assert.deepEqual(decodeProofBundle(encodeProofBundle(b)), b);
  const text = new TextDecoder().decode(encodeProofBundle(b));
  const damaged = (f: (o: Record<string, unknown>) => void): Uint8Array => {
    const o = JSON.parse(text) as Record<string, unknown>;
    f(o);
    return new TextEncoder().encode(JSON.stringify(o));
  };
  assert.throws(() => decodeProofBundle(new TextEncoder().encode("{")), /not JSON/);
  assert.throws(() => decodeProofBundle(damaged((o) => (o.format = "x"))), /format/);
  assert.throws(() => decodeProofBundle(damaged((o) => (o.accs = (o.accs as string[]).slice(1)))), /3 accumulators for 3 proofs/);
  assert.throws(() => decodeProofBundle(damaged((o) => ((o.proofs as string[][])[1] = ["1"]))), /proof 1 does not have eight words/);
  assert.throws(() => decodeProofBundle(damaged((o) => ((o.accs as unknown[])[2] = -1))), /accumulator 2 is not a decimal string/);
});

test("the watcher challenges nothing when the bundle proves the committed chain", async () => {
  const b = bundleOf(5);
  const tree = new ChunkAccumulatorTree(b.accs);
  const committed = { chunkRoot: tree.root, accFinal: b.accs[5] as bigint, numChunks: 5 };
  assert.equal(await challengeTarget(b, committed, mockVerify), undefined);
});

test("the watcher challenges the first bad chunk, or every chunk when the bundle is missing or not the committed chain", async () => {
  const b = bundleOf(5);
  const tree = new ChunkAccumulatorTree(b.accs);
  const committed = { chunkRoot: tree.root, accFinal: b.accs[5] as bigint, numChunks: 5 };
  const bad = { ...b, proofs: b.proofs.map((p, i) => (i === 3 ? [...p.slice(0, 2), 0n, ...p.slice(3)] : p)) };
  assert.deepEqual(await challengeTarget(bad, committed, mockVerify), { first: 3, count: 1, reason: "chunk proof 3 does not verify" });
  assert.deepEqual((await challengeTarget(undefined, committed, mockVerify))?.count, 5);
  const other = bundleOf(5);
  const shifted = { ...other, accs: other.accs.map((a, i) => (i === 2 ? a + 1n : a)) };
  assert.match((await challengeTarget(shifted, committed, mockVerify))?.reason ?? "", /not the committed ones/);
  assert.match((await challengeTarget(bundleOf(4), committed, mockVerify))?.reason ?? "", /4 proofs for 5 chunks/);
  // A committed chain that does not end at the decision proof's accumulator: its last chunk.
  assert.deepEqual(await challengeTarget(b, { ...committed, accFinal: 1n }, mockVerify), {
    first: 4,
    count: 1,
    reason: "the committed chain does not end at accFinal",
  });
});
