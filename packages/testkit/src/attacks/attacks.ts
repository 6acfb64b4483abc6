/**
 * Attack modes of a malicious trainer: a TEST AND DEMO TOOL (robustness benchmark, demos of
 * the consensus rule and of the duplicate rule), never part of an honest node. The pure transformations
 * live here; producers.ts wraps the trainer's honest `UpdateProducer` with them.
 *
 * | mode         | what the attacker submits                                                      | applied to |
 * | ------------ | ------------------------------------------------------------------------------ | ---------- |
 * | `sign-flip`  | `-delta` (the honest delta, negated)                                           | delta      |
 * | `scale`      | `10 * delta` (then clipped, like every delta)                                  | delta      |
 * | `gaussian`   | pure noise `N(0, s^2)` per coordinate, `s = ||delta|| / sqrt(D)` (seeded), so  | delta      |
 * |              | its norm is on the scale of an honest delta                                    |            |
 * | `label-flip` | an honest delta trained on labels mapped `y -> (C - 1) - y` (`9 - y` on MNIST) | data       |
 * | `free-rider` | a zero update, or a copy of the last global delta when known (no training)     | delta      |
 * | `duplicate`  | nothing: it would copy another trainer's revealed commitment and CID, but it   | submission |
 * |              | must commit while the commit window is open, when no update is revealed yet    |            |
 * |              | (commit-reveal); so it finds nothing to copy and fails clearly                 |            |
 *
 * Why `duplicate` can no longer copy anything: a trainer commits
 * `sealed = keccak256(chain, market, project, round, trainer, commitment, keccak256(cid))` in the
 * commit window and reveals `commitment` and `cid` only after it closed. Copying the *sealed*
 * value (public in `UpdateCommitted`) is possible on chain, but it opens only for its sender: the
 * copier's reveal fails with `RevealMismatch`, and the trainer node never sends it anyway, as it
 * seals its own opening. Copying a *revealed* update comes too late to commit it; and two slots
 * revealing the same commitment are refused (`DuplicateCommitment`). The circuit's duplicate rule
 * (both slots not aggregated) remains as defense in depth.
 *
 * Every transformation is pure and deterministic for a given seed.
 */
import { normal, seededRandom, type Dataset } from "@fedmarket/ml";

export const ATTACK_MODES = ["sign-flip", "scale", "gaussian", "label-flip", "free-rider", "duplicate"] as const;
export type AttackMode = (typeof ATTACK_MODES)[number];

/** Where an attack acts: on the training data, on the trained delta, or on the submission itself. */
export type AttackStage = "data" | "delta" | "submission";

/** Default factor of the `scale` attack. */
export const DEFAULT_SCALE_FACTOR = 10;

export function isAttackMode(value: string): value is AttackMode {
  return (ATTACK_MODES as readonly string[]).includes(value);
}

/** Parses an attack mode name (throws with the list of modes otherwise). */
export function parseAttackMode(value: string): AttackMode {
  if (!isAttackMode(value)) throw new RangeError(`unknown attack mode ${JSON.stringify(value)} (one of ${ATTACK_MODES.join(", ")})`);
  return value;
}

export function attackStage(mode: AttackMode): AttackStage {
  switch (mode) {
    case "label-flip":
      return "data";
    case "duplicate":
      return "submission";
    default:
      return "delta";
  }
}

/** Whether the attacker needs to train at all (free riders and duplicators do not). */
export function attackNeedsTraining(mode: AttackMode): boolean {
  return mode !== "free-rider" && mode !== "duplicate";
}

/** `-delta`. */
export function signFlip(delta: Float32Array): Float32Array {
  return delta.map((x) => (x === 0 ? 0 : -x));
}

/** `factor * delta` (default 10). */
export function scaleDelta(delta: Float32Array, factor: number = DEFAULT_SCALE_FACTOR): Float32Array {
  if (!Number.isFinite(factor)) throw new RangeError(`scale factor ${factor} must be finite`);
  return delta.map((x) => x * factor);
}

/** L2 norm. */
export function l2Norm(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += (values[i] as number) ** 2;
  return Math.sqrt(s);
}

/**
 * Seeded Gaussian noise of `length` coordinates with standard deviation `norm / sqrt(length)`,
 * so its expected L2 norm is `norm` (the honest delta's): the noise is as large as an honest
 * update, not trivially large.
 */
export function gaussianNoise(length: number, norm: number, seed: number): Float32Array {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`length ${length} must be a non-negative integer`);
  if (!(norm >= 0 && Number.isFinite(norm))) throw new RangeError(`norm ${norm} must be finite and >= 0`);
  const rng = seededRandom(seed);
  const sigma = length === 0 ? 0 : norm / Math.sqrt(length);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = normal(rng) * sigma;
  return out;
}

/** Label mapping of the `label-flip` attack: `y -> (numClasses - 1) - y`. */
export function flipLabel(label: number, numClasses: number): number {
  if (!Number.isInteger(label) || label < 0 || label >= numClasses) throw new RangeError(`label ${label} is not in [0, ${numClasses})`);
  return numClasses - 1 - label;
}

/** A copy of the dataset with every label flipped (features shared, not copied). */
export function flipLabels(dataset: Dataset, numClasses: number): Dataset {
  return { ...dataset, labels: dataset.labels.map((y) => flipLabel(y, numClasses)), source: `${dataset.source} (labels flipped)` };
}

/** The free rider's update: zeros, or a copy of the last global delta (`g_r - g_{r-1}`) when known. */
export function freeRiderDelta(length: number, lastGlobalDelta?: ArrayLike<number>): Float32Array {
  if (lastGlobalDelta === undefined) return new Float32Array(length);
  if (lastGlobalDelta.length !== length) throw new RangeError(`last global delta has ${lastGlobalDelta.length} values, expected ${length}`);
  return Float32Array.from(lastGlobalDelta);
}

/** What goes on chain: a commitment and the CID of the (encrypted) update. */
export interface Submission {
  readonly commitment: bigint;
  readonly cid: string;
}

/**
 * The duplicate attack: copy another trainer's revealed submission (its `UpdateRevealed` event).
 * `others` are the round's revealed submissions when the copier must commit; `own` excludes the
 * attacker's address. Picks the first one not from `own` (deterministic: slot order). Under
 * commit-reveal `others` is empty while the commit window is open, so this throws: there is
 * nothing to copy.
 */
export function duplicateSubmission<S extends Submission & { readonly trainer?: string }>(others: readonly S[], own?: string): Submission {
  const victim = others.find((s) => own === undefined || s.trainer === undefined || s.trainer.toLowerCase() !== own.toLowerCase());
  if (victim === undefined) {
    throw new RangeError(
      "duplicate attack: nothing to copy: no other trainer's update is revealed in this round (updates are revealed only after the commit window closed)",
    );
  }
  return { commitment: victim.commitment, cid: victim.cid };
}

export interface DeltaAttackOptions {
  /** Seed of the `gaussian` noise (default 0). */
  readonly seed?: number;
  /** Factor of the `scale` attack (default 10). */
  readonly scaleFactor?: number;
  /** `free-rider`: the last global delta, when known (else a zero update). */
  readonly lastGlobalDelta?: ArrayLike<number>;
  /** Clip the result coordinate-wise into `[-clipBound, clipBound]` (as honest deltas are). */
  readonly clipBound?: number;
}

/**
 * Applies a `delta`-stage attack to an honest delta (`free-rider` ignores it except for its
 * length); `data`-stage (`label-flip`) and `submission`-stage (`duplicate`) modes return the
 * delta unchanged (they act elsewhere). Optionally clips the result like an honest delta.
 */
export function attackDelta(mode: AttackMode, honest: Float32Array, options: DeltaAttackOptions = {}): Float32Array {
  let out: Float32Array;
  switch (mode) {
    case "sign-flip":
      out = signFlip(honest);
      break;
    case "scale":
      out = scaleDelta(honest, options.scaleFactor ?? DEFAULT_SCALE_FACTOR);
      break;
    case "gaussian":
      out = gaussianNoise(honest.length, l2Norm(honest), options.seed ?? 0);
      break;
    case "free-rider":
      out = freeRiderDelta(honest.length, options.lastGlobalDelta);
      break;
    case "label-flip":
    case "duplicate":
      out = Float32Array.from(honest);
      break;
  }
  const c = options.clipBound;
  if (c !== undefined) {
    if (!(c >= 0)) throw new RangeError(`clipBound ${c} must be >= 0`);
    for (let i = 0; i < out.length; i++) out[i] = Math.min(c, Math.max(-c, out[i] as number));
  }
  return out;
}
