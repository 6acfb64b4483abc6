/**
 * The two commitments of an optimistic round (IFedMarketOptimistic), computed as the contract
 * checks them:
 *
 * - `ChunkAccumulatorTree`: the Merkle tree over a round's chunk accumulators `acc_0 .. acc_n`
 *   (`acc_0 = 0`, `acc_n = accFinal`) whose root the aggregator commits instead of the chunk proofs.
 *   Leaf `i` is `keccak256(keccak256(abi.encode(i, acc_i)))` (OpenZeppelin's double-hashed leaf, so
 *   no 64-byte inner node can pass for a leaf), inner nodes hash their children sorted (what
 *   `MerkleProof.verify` recomputes); an odd node at the end of a level moves up unhashed, and its
 *   proof has no element for that level.
 * - `payoutHash`: the hash chain over a round's `(trainer, share)` payouts, every revealed slot in
 *   slot order (its `ContributionRecorded` events), that `settleRound` and `voidRound` check.
 *
 * And the file the aggregator pins at `proofsCid` (`ProofBundle`: every chunk accumulator and
 * proof of the round), with the watcher's rule for what to challenge (`challengeTarget`).
 */
import { AbiCoder, concat, keccak256 } from "ethers";
import type { RoundHistory } from "./history.ts";

const coder = AbiCoder.defaultAbiCoder();
const ZERO_HASH = `0x${"00".repeat(32)}`;

/** One entry of a round's payouts (`IFedMarketOptimistic.Payout`). */
export interface Payout {
  readonly trainer: string;
  readonly share: bigint;
}

/** A finalized round's payouts as `settleRound` and `voidRound` take them: its `ContributionRecorded` events, in order. */
export function roundPayouts(round: RoundHistory): Payout[] {
  return round.contributions.map((c) => ({ trainer: c.trainer, share: c.reward }));
}

/** `h = 0`, then `h = keccak256(abi.encode(h, trainer, share))` for each payout in order. */
export function payoutHash(payouts: readonly Payout[]): string {
  let h = ZERO_HASH;
  for (const p of payouts) h = keccak256(coder.encode(["bytes32", "address", "uint256"], [h, p.trainer, p.share]));
  return h;
}

/** Leaf `index` of the chunk accumulator tree. */
export function chunkAccumulatorLeaf(index: number, acc: bigint): string {
  return keccak256(keccak256(coder.encode(["uint256", "uint256"], [index, acc])));
}

/** The inner node over two children, sorted (OpenZeppelin's commutative keccak). */
function node(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

/** The Merkle tree over the accumulators `acc_0 .. acc_n` of a round's chunks. */
export class ChunkAccumulatorTree {
  /** `accs[i]` is the accumulator after chunk `i - 1` (`accs[0] = 0`, the last is `accFinal`). */
  readonly accs: readonly bigint[];
  readonly #levels: string[][];

  constructor(accs: readonly bigint[]) {
    if (accs.length < 2) throw new Error(`a round has at least one chunk: ${accs.length} accumulators given`);
    if (accs[0] !== 0n) throw new Error("the first accumulator of a round is 0");
    this.accs = [...accs];
    let level = accs.map((acc, i) => chunkAccumulatorLeaf(i, acc));
    this.#levels = [level];
    while (level.length > 1) {
      const up: string[] = [];
      for (let i = 0; i < level.length; i += 2) {
        const left = level[i] as string;
        const right = level[i + 1];
        up.push(right === undefined ? left : node(left, right));
      }
      this.#levels.push(up);
      level = up;
    }
  }

  /** The root the aggregator commits (`chunkRoot`). */
  get root(): string {
    return (this.#levels.at(-1) as string[])[0] as string;
  }

  /** The Merkle proof of leaf `index` (what `answerChallenge` takes as `accInProof` / `accOutProof`). */
  proof(index: number): string[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.accs.length) {
      throw new RangeError(`no accumulator ${index}: the tree has ${this.accs.length}`);
    }
    const proof: string[] = [];
    let i = index;
    for (const level of this.#levels.slice(0, -1)) {
      const sibling = level[i ^ 1];
      if (sibling !== undefined) proof.push(sibling);
      i >>= 1;
    }
    return proof;
  }
}

/** The format tag of a pinned proof bundle. */
export const PROOF_BUNDLE_FORMAT = "fedmarket-chunk-proofs/1";

/** What the aggregator pins at an optimistic round's `proofsCid`: its chunk accumulators and proofs. */
export interface ProofBundle {
  readonly projectId: bigint;
  readonly round: number;
  /** `acc_0 .. acc_n`: `acc_0 = 0`, `acc_n = accFinal`. */
  readonly accs: readonly bigint[];
  /** Proof `i` (eight words, as the contract takes them) proves `accs[i] -> accs[i + 1]`. */
  readonly proofs: readonly (readonly bigint[])[];
}

/** The bundle as pinned: JSON with every number a decimal string. */
export function encodeProofBundle(b: ProofBundle): Uint8Array {
  const json = {
    format: PROOF_BUNDLE_FORMAT,
    projectId: b.projectId.toString(),
    round: b.round,
    accs: b.accs.map(String),
    proofs: b.proofs.map((p) => p.map(String)),
  };
  return new TextEncoder().encode(`${JSON.stringify(json)}\n`);
}

/** Reads a pinned bundle; throws a message that says what is wrong with it. */
export function decodeProofBundle(bytes: Uint8Array): ProofBundle {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new Error(`the proof bundle is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const o = json as { format?: unknown; projectId?: unknown; round?: unknown; accs?: unknown; proofs?: unknown };
  if (o.format !== PROOF_BUNDLE_FORMAT) throw new Error(`the proof bundle's format is ${String(o.format)}, not ${PROOF_BUNDLE_FORMAT}`);
  const big = (v: unknown, what: string): bigint => {
    if (typeof v !== "string" || !/^[0-9]+$/.test(v)) throw new Error(`the proof bundle's ${what} is not a decimal string`);
    return BigInt(v);
  };
  if (!Array.isArray(o.accs) || !Array.isArray(o.proofs)) throw new Error("the proof bundle has no accs or proofs array");
  if (typeof o.round !== "number" || !Number.isSafeInteger(o.round) || o.round < 0)
    throw new Error("the proof bundle's round is not a round number");
  const proofs = o.proofs.map((p: unknown, i) => {
    if (!Array.isArray(p) || p.length !== 8) throw new Error(`the proof bundle's proof ${i} does not have eight words`);
    return p.map((w: unknown, k) => big(w, `proof ${i} word ${k}`));
  });
  const accs = o.accs.map((a: unknown, i) => big(a, `accumulator ${i}`));
  if (accs.length !== proofs.length + 1) throw new Error(`the proof bundle has ${accs.length} accumulators for ${proofs.length} proofs`);
  return { projectId: big(o.projectId, "projectId"), round: o.round, accs, proofs };
}

/** What an optimistic round committed on chain (`ChunksCommitted`), and its chunk count. */
export interface CommittedChunks {
  readonly chunkRoot: string;
  readonly accFinal: bigint;
  readonly numChunks: number;
}

/** A range of chunks to challenge, and why. */
export interface ChallengeTarget {
  readonly first: number;
  readonly count: number;
  readonly reason: string;
}

/**
 * The watcher's rule: which chunks of an optimistic round to challenge, or `undefined` when the
 * pinned bundle proves the whole committed chain. A range is chosen so that an honest aggregator
 * can always answer it and a dishonest one never can:
 * - no bundle, one that does not fit the round, or accumulators other than the committed ones:
 *   every chunk (the aggregator must then send all its proofs);
 * - a committed chain that does not start at 0 or end at `accFinal`: its first or last chunk;
 * - otherwise the first chunk whose proof does not verify (`verifyChunk`, off chain).
 */
export async function challengeTarget(
  bundle: ProofBundle | undefined,
  committed: CommittedChunks,
  verifyChunk: (proof: readonly bigint[], accIn: bigint, accOut: bigint) => Promise<boolean>,
): Promise<ChallengeTarget | undefined> {
  const n = committed.numChunks;
  const all = (reason: string): ChallengeTarget => ({ first: 0, count: n, reason });
  if (bundle === undefined) return all("the proof bundle is not available");
  if (bundle.proofs.length !== n) return all(`the proof bundle has ${bundle.proofs.length} proofs for ${n} chunks`);
  let tree: ChunkAccumulatorTree | undefined;
  try {
    tree = new ChunkAccumulatorTree(bundle.accs);
  } catch {
    // acc_0 is not 0: the committed leaf 0 may still be, so the bundle is not the committed chain
  }
  if (tree === undefined || tree.root !== committed.chunkRoot) return all("the proof bundle's accumulators are not the committed ones");
  if (bundle.accs[n] !== committed.accFinal) return { first: n - 1, count: 1, reason: "the committed chain does not end at accFinal" };
  for (let i = 0; i < n; i++) {
    const proof = bundle.proofs[i] as readonly bigint[];
    if (!(await verifyChunk(proof, bundle.accs[i] as bigint, bundle.accs[i + 1] as bigint))) {
      return { first: i, count: 1, reason: `chunk proof ${i} does not verify` };
    }
  }
  return undefined;
}
