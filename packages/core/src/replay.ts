/**
 * The last-global-delta replay test: whether an update copies the previous round's global delta.
 *
 * Consecutive global models are public, so a trainer can submit `g_r - g_{r-1}` without training.
 * Such a copy agrees with the honest updates and lowers the owner's validation loss, so no
 * robustness test removes it; yet it contributes nothing the market did not already have. The
 * proven rule leaves it out: `isReplay` is step 2'' of `consensusDecision` (consensus.ts), which
 * the decision circuit checks (`DeltaReplay` in circuits/consensus.circom) on `b_k = <u_k, Delta>`,
 * `G_kk` and `N = |Delta|^2`, the statistics the chunk proofs accumulate from the step committed
 * with the round's model, unless the update is a near-duplicate of a fresh one (honest work on IID
 * data, where the steps barely turn; consensus.ts says why that exception gains an attacker
 * nothing). A replay stays valid (it decodes, and the quorum counts it, so that replays cannot
 * make a round inactive) and is neither counted nor paid. A noisier copy, below the threshold, is
 * counted and paid through the delta cap (consensus.ts step 8''): at most what a median update
 * earns from following `Delta`.
 *
 * What else uses this module:
 * - `globalDelta`: the one derivation of the last global delta, through @fedmarket/protocol
 *   `committedModelStep` (the step a model commitment carries, which the aggregator, the trainer
 *   node and the owner's CLI check models with; the trainer hands it to its update producers, and
 *   the testkit's free-rider attack submits it);
 * - `replaysGlobalDelta`: the robustness benchmark counts replays per round;
 * - `REPLAY_MIN_COSINE`: the same threshold as a float, for the fairness benchmark's float rules.
 *
 * Both vectors are in the same quantized units (updates and global models share the project's
 * scale), so `lastGlobalDelta = prevModel - modelBeforeIt` element-wise.
 */
import { innerProduct } from "./gram.ts";

/** The replay threshold `REPLAY_NUM / REPLAY_DEN` on the cosine with the last global delta. */
export const REPLAY_NUM = 99n;
export const REPLAY_DEN = 100n;

/** `REPLAY_NUM / REPLAY_DEN` as a float (the fairness benchmark's float rules). */
export const REPLAY_MIN_COSINE = Number(REPLAY_NUM) / Number(REPLAY_DEN);

/**
 * The proven replay test on the statistics the proofs carry: `b > 0` and
 * `den^2 b^2 >= num^2 g n` with `b = <u, Delta>`, `g = |u|^2`, `n = |Delta|^2`, i.e.
 * `cos(u, Delta) >= num / den` without a square root: the update *follows* `Delta`. The rule
 * (consensus.ts step 2'') leaves such an update out unless a fresh update is its near-duplicate.
 * A zero update or a zero delta has `b = 0`: never a replay.
 */
export function isReplay(b: bigint, g: bigint, n: bigint, num: bigint = REPLAY_NUM, den: bigint = REPLAY_DEN): boolean {
  return b > 0n && den * den * b * b >= num * num * g * n;
}

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
 * Whether `update` replays `lastGlobalDelta` (`isReplay` on their exact inner products; its first
 * `lastGlobalDelta.length` values are compared, chunk padding is zero; a shorter update throws). A
 * zero update or a zero delta is never a replay: a zero update already earns nothing.
 */
export function replaysGlobalDelta(update: readonly bigint[], lastGlobalDelta: readonly bigint[]): boolean {
  const compared = update.slice(0, lastGlobalDelta.length);
  return isReplay(innerProduct(compared, lastGlobalDelta), innerProduct(update, update), innerProduct(lastGlobalDelta, lastGlobalDelta));
}
