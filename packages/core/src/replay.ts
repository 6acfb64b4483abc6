/**
 * The last-global-delta replay test: whether an update copies the previous round's global delta.
 *
 * Consecutive global models are public, so a trainer can submit `g_r - g_{r-1}` without training.
 * Such a copy agrees with the honest updates and lowers the owner's validation loss, so the rule
 * keeps it. Nothing excludes it (the aggregator's old exclusion at `REPLAY_MIN_COSINE` was its
 * unproven word and went with sealed updates; a replay decodes, so it is not status 3). What stops
 * it paying is proven: the round's model commitment carries the step that produced the model, and
 * the rule by the owner's reference caps what following that step pays at the median player's
 * (consensus.ts step 8'', the delta cap).
 *
 * What uses this module now (no node excludes anything with it):
 * - `globalDelta`: the one derivation of the last global delta, through @fedmarket/protocol
 *   `committedModelStep` (the step a model commitment carries, which the aggregator, the trainer
 *   node and the owner's CLI check models with; the trainer hands it to its update producers, and
 *   the testkit's free-rider attack submits it);
 * - `replaysGlobalDelta`: the robustness benchmark counts replays per round (reported, not excluded);
 * - `REPLAY_MIN_COSINE`: the threshold of the fairness benchmark's common screen.
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
