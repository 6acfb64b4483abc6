/**
 * The last-global-delta replay test: whether an update copies the previous round's global delta.
 *
 * Consecutive global models are public, so a trainer can submit `g_r - g_{r-1}` without training.
 * Such a copy agrees with the honest updates, so the consensus rule keeps it and the proven
 * score (alignment with the other kept clusters) pays it about an honest share. No rule excludes it today: the aggregator used
 * to exclude an update whose cosine similarity with the last global delta reached
 * `REPLAY_MIN_COSINE`, but that exclusion was its unproven word and was removed with sealed updates:
 * status 3 now means "not decoded" in the round proof, for proven reasons only (an ephemeral key off
 * the curve, a plaintext proven malformed), and a replay decodes, so it cannot be excluded. A proven
 * free-rider rule is pending (issue 12).
 *
 * What uses this module now (no node excludes anything with it):
 * - `globalDelta`: the one derivation of the last global delta, through @fedmarket/protocol
 *   `lastGlobalDelta`, which the trainer node hands to its update producers (the testkit's
 *   free-rider attack submits it);
 * - `replaysGlobalDelta`: the robustness benchmark counts replays per round (reported, not excluded);
 * - `REPLAY_MIN_COSINE`: the threshold of the fairness benchmark's common screen, a candidate for
 *   issue 12's proven rule (computed there from inner products the proof could accumulate).
 *
 * Both vectors are in the same quantized units (updates and global models share the project's
 * scale), so `lastGlobalDelta = prevModel - modelBeforeIt` element-wise.
 */

/** Cosine similarity at or above which an update counts as a replay of the last global delta. */
export const REPLAY_MIN_COSINE = 0.99;

/** Cosine similarity of two integer vectors; 0 when either is the zero vector. */
export function cosineSimilarity(a: readonly bigint[], b: readonly bigint[]): number {
  if (a.length !== b.length) throw new RangeError("cosine of vectors of unequal length");
  // Exact integer sums, then one float division: no precision loss on long vectors.
  let dot = 0n,
    na = 0n,
    nb = 0n;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as bigint,
      y = b[i] as bigint;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (na === 0n || nb === 0n) return 0;
  return Number(dot) / Math.sqrt(Number(na)) / Math.sqrt(Number(nb));
}

/** `prevModel - modelBeforeIt`: the last global delta in quantized units. */
export function globalDelta(prevModel: readonly bigint[], modelBeforeIt: readonly bigint[]): bigint[] {
  if (prevModel.length !== modelBeforeIt.length) throw new RangeError("models of unequal length");
  return prevModel.map((v, i) => v - (modelBeforeIt[i] as bigint));
}

/**
 * Whether `update` replays `lastGlobalDelta` (its first `lastGlobalDelta.length` values are
 * compared; chunk padding is zero). A zero update or a zero delta is never a replay: a zero
 * update already earns a zero score.
 */
export function replaysGlobalDelta(
  update: readonly bigint[],
  lastGlobalDelta: readonly bigint[],
  minCosine: number = REPLAY_MIN_COSINE,
): boolean {
  if (!(minCosine > 0 && minCosine <= 1)) throw new RangeError(`minCosine ${minCosine} must be in (0, 1]`);
  return cosineSimilarity(update.slice(0, lastGlobalDelta.length), lastGlobalDelta) >= minCosine;
}
