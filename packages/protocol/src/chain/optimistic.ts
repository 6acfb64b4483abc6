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
 */
import { AbiCoder, concat, keccak256 } from "ethers";

const coder = AbiCoder.defaultAbiCoder();
const ZERO_HASH = `0x${"00".repeat(32)}`;

/** One entry of a round's payouts (`IFedMarketOptimistic.Payout`). */
export interface Payout {
  readonly trainer: string;
  readonly share: bigint;
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
