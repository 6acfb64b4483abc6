/**
 * Outcome words: `outcome[w]` packs slots `3w, 3w+1, 3w+2`; slot `3w+i` sits at bit `66 i`
 * as `status | score << 2` (2 status bits, 64 score bits); unused high bits are zero.
 */
import { OUTCOME_SLOT_BITS, SCORE_BITS, SLOTS_PER_OUTCOME_WORD, outcomeWords } from "./config.ts";
import { assertUnsignedBits } from "./field.ts";
import type { SlotStatus } from "./slot-status.ts";

/** One decoded slot. */
export interface SlotOutcome {
  readonly status: SlotStatus;
  readonly score: bigint;
}

/** Packs statuses and scores of `kMax` slots into `ceil(kMax / 3)` words. */
export function packOutcome(status: readonly SlotStatus[], scores: readonly bigint[], kMax: number): bigint[] {
  if (status.length !== kMax || scores.length !== kMax) throw new RangeError("slot count mismatch");
  const words = new Array<bigint>(outcomeWords(kMax)).fill(0n);
  for (let k = 0; k < kMax; k++) {
    const score = scores[k] as bigint;
    assertUnsignedBits(score, SCORE_BITS, `score of slot ${k}`);
    const slot = BigInt(status[k] as number) | (score << 2n);
    const w = Math.floor(k / SLOTS_PER_OUTCOME_WORD);
    const shift = BigInt(OUTCOME_SLOT_BITS * (k % SLOTS_PER_OUTCOME_WORD));
    words[w] = (words[w] as bigint) | (slot << shift);
  }
  return words;
}

/** Decodes `kMax` slots; throws on non-zero unused bits. */
export function unpackOutcome(words: readonly bigint[], kMax: number): SlotOutcome[] {
  if (words.length !== outcomeWords(kMax)) throw new RangeError("wrong number of outcome words");
  const slotMask = (1n << BigInt(OUTCOME_SLOT_BITS)) - 1n;
  const out: SlotOutcome[] = [];
  words.forEach((word, w) => {
    const used = Math.min(SLOTS_PER_OUTCOME_WORD, kMax - w * SLOTS_PER_OUTCOME_WORD);
    assertUnsignedBits(word, used * OUTCOME_SLOT_BITS, `outcome word ${w}`);
    for (let i = 0; i < used; i++) {
      const slot = (word >> BigInt(OUTCOME_SLOT_BITS * i)) & slotMask;
      out.push({ status: Number(slot & 3n) as SlotStatus, score: slot >> 2n });
    }
  });
  return out;
}
