/**
 * Who gets a slot in a round: the draw of `contracts/FedMarket.sol` (`_slotOf`, `_seedFrom`), off
 * chain. test/SlotDraw.differential.test.ts pins the contract to it.
 *
 * Every registration holds the same stake, so drawing `k` distinct registrations uniformly gives
 * each one the same chance `k / n`: a party's expected number of slots is `k` times its share of
 * the stake, however it splits the stake over addresses, and the order or speed of transactions
 * plays no part.
 *
 * - Candidates: the `n` trainers registered when the round opened, by registration index.
 * - Seed: `keccak256(abi.encode(chainId, market, projectId, round, blockhash(openBlock)))` (0 maps
 *   to 1), fixed by the first `drawSeed` or `commitUpdate` after the opening block.
 * - If `n <= k`: candidate `i` takes slot `i`. Otherwise Floyd's algorithm: for draw
 *   `d = 0 .. k-1`, `j = n - k + d`, `x = keccak256(abi.encode(seed, d)) mod (j + 1)`, or `j` if `x`
 *   was drawn before; the candidate drawn at `d` takes slot `d`. The result is a uniformly random
 *   `k`-subset of the candidates.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";

const WORD = 32;

function word(value: bigint): Uint8Array {
  if (value < 0n || value >= 1n << 256n) throw new RangeError(`${value} is not a uint256`);
  const out = new Uint8Array(WORD);
  let v = value;
  for (let i = WORD - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** `keccak256(abi.encode(...words))` of static 32-byte words, as an integer. */
function keccakWords(words: readonly bigint[]): bigint {
  const data = new Uint8Array(words.length * WORD);
  words.forEach((w, i) => data.set(word(w), i * WORD));
  return BigInt(`0x${Buffer.from(keccak_256(data)).toString("hex")}`);
}

/** The round's seed from the hash of its opening block (`0n` while that hash is unknown). */
export function roundSeed(chainId: bigint, market: string, projectId: bigint, round: number, blockHash: string): bigint {
  const hash = BigInt(blockHash);
  if (hash === 0n) return 0n;
  const seed = keccakWords([chainId, BigInt(market), projectId, BigInt(round), hash]);
  return seed === 0n ? 1n : seed;
}

/**
 * The candidate index of each slot: `min(n, k)` entries, entry `s` the registration index that
 * holds slot `s`.
 */
export function drawSlots(seed: bigint, candidates: number, slots: number): number[] {
  if (!Number.isInteger(candidates) || candidates < 0) throw new RangeError(`candidates ${candidates}`);
  if (!Number.isInteger(slots) || slots < 1 || slots > 64) throw new RangeError(`slots ${slots} must be in [1, 64]`);
  if (candidates <= slots) return Array.from({ length: candidates }, (_, i) => i);
  if (seed === 0n) throw new RangeError("the seed is not drawn yet");
  const taken: number[] = [];
  for (let d = 0; d < slots; d++) {
    const j = candidates - slots + d;
    let x = Number(keccakWords([seed, BigInt(d)]) % BigInt(j + 1));
    if (taken.includes(x)) x = j;
    taken.push(x);
  }
  return taken;
}

/** The slot of registration `index`, or `null` if it was not drawn (or registered after the round opened). */
export function slotOfCandidate(seed: bigint, candidates: number, slots: number, index: number): number | null {
  if (index >= candidates) return null;
  const slot = drawSlots(seed, candidates, slots).indexOf(index);
  return slot < 0 ? null : slot;
}
