/**
 * Compile-time circuit configuration and every quantity derived from it.
 *
 * One Groth16 verifier exists per configuration (docs/PROOF-INTERFACE.md). The circuits in
 * `circuits/` compute the same derived quantities with the same formulas; keep them in sync.
 */
import { ceilLog2 } from "./field.ts";

/** The four parameters a pair of (chunk, decision) circuits is compiled for. */
export interface CircuitConfig {
  /** Trainer slots per round (`K_MAX`). */
  readonly kMax: number;
  /** Model parameters per chunk proof (`CHUNK`). */
  readonly chunk: number;
  /** Bits of one quantized update value (`B`): range `[-2^(B-1), 2^(B-1))`. */
  readonly updateBits: number;
  /** Bits of one global-model value (`BG`): range `[-2^(BG-1), 2^(BG-1))`. */
  readonly modelBits: number;
}

/** Field elements hold at most this many payload bits when packing (`P = floor(252 / bits)`). */
export const PACK_CAPACITY_BITS = 252;

/**
 * Bits of the chunk counter accepted by the decision circuit: a round has fewer than `2^32`
 * chunks. This bounds the Gram entries (hence the comparison widths) in the decision circuit.
 */
export const COUNTER_BITS = 32;

/** Bits of one score in an outcome word. */
export const SCORE_BITS = 64;

/** Bit offset between two slots in an outcome word (2 status bits + 64 score bits). */
export const OUTCOME_SLOT_BITS = 66;

/** Slots per outcome word. */
export const SLOTS_PER_OUTCOME_WORD = 3;

/** Values packed into one field element for `bits`-bit values: `floor(252 / bits)`. */
export function valuesPerElement(bits: number): number {
  return Math.floor(PACK_CAPACITY_BITS / bits);
}

/** Number of packed field elements holding `count` values of `bits` bits. */
export function packedLength(count: number, bits: number): number {
  return Math.ceil(count / valuesPerElement(bits));
}

/** Entries of the upper-triangular Gram matrix (`i <= j`) for `kMax` slots. */
export function gramSize(kMax: number): number {
  return (kMax * (kMax + 1)) / 2;
}

/** Index of Gram entry `(i, j)` (order-insensitive) in the row-major upper-triangular layout. */
export function gramIndex(i: number, j: number, kMax: number): number {
  const a = Math.min(i, j);
  const b = Math.max(i, j);
  // rows 0..a-1 hold kMax + (kMax-1) + ... + (kMax-a+1) entries
  return a * kMax - (a * (a - 1)) / 2 + (b - a);
}

/** Outcome words of the decision proof: `W = ceil(K_MAX / 3)`. */
export function outcomeWords(kMax: number): number {
  return Math.ceil(kMax / SLOTS_PER_OUTCOME_WORD);
}

/** Length of the accumulator state vector (see accumulator.ts for the order). */
export function stateLength(kMax: number): number {
  return 12 + 3 * kMax + gramSize(kMax);
}

/**
 * Fixed-point bits `F` of the consensus rule's clip factors (consensus.ts `CONSENSUS_PARAMS.clipBits`;
 * `consensusClipBits()` in circuits/consensus.circom).
 */
export const CONSENSUS_CLIP_BITS = 16;

/**
 * Fixed-point bits `P` of the factor that pays what the top cap takes to the uncapped players
 * (consensus.ts step 8'''', `CONSENSUS_PARAMS.toUncappedBits`; `consensusUncappedBits()` in
 * circuits/consensus.circom): each such pay is short of its exact share by less than `2^-P` of
 * itself plus one unit. 16, not more: `ToUncapped`'s equations take `P + 2 (2F + GB + ceil(log2
 * K_MAX) + 3) + 2 ceil(log2 K_MAX) + 2` bits (`uncappedBits`).
 */
export const CONSENSUS_UNCAPPED_BITS = 16;

/**
 * Bit widths the decision circuit uses for its comparisons; all follow from the counter bound.
 *
 * - `gramBits`: `|G_ij| < 2^gramBits` and `0 <= G_ii < 2^gramBits` (`< 2^COUNTER_BITS` chunks, each
 *   adding `< CHUNK * 2^(2B)` per entry; the consensus rule's `GB`).
 * - `consensusTestBits`: the widest comparison of the consensus rule, its consensus test
 *   (`2 (2F + GB) + 2 ceil(log2 K_MAX) + 15`, `Agrees` in circuits/consensus.circom); it must stay
 *   at most 252 bits so that no difference wraps.
 * - `cosineCapBits`: the widest quantity of the two cosine caps (consensus.ts steps 8'' and 8''',
 *   `CosineCap`), the floor's `e_r w = q_r den R_p X + rem_r`: `3 GB + 2 + 2 TB`, `TB = 3` bits for
 *   the top cap's tolerance 5 / 4 (the delta cap's 1 / 1 needs `3 GB + 2`); also at most 252 bits.
 * - `uncappedBits`: the widest equation of the top cap's redistribution (step 8'''', `ToUncapped`),
 *   `P + 2 VB + 2 ceil(log2 K_MAX) + 2` with the cluster values' bound `VB = 2F + GB + ceil(log2
 *   K_MAX) + 3`; also at most 252 bits.
 * - `remainderBits`: bits of a division remainder `r < n <= K_MAX` in the chunk circuit.
 */
export interface DecisionBounds {
  readonly gramBits: number;
  readonly consensusTestBits: number;
  readonly cosineCapBits: number;
  readonly uncappedBits: number;
  readonly remainderBits: number;
}

/** Computes the decision circuit's bit widths for a configuration. */
export function decisionBounds(config: CircuitConfig): DecisionBounds {
  const logK = ceilLog2(config.kMax);
  const gramBits = COUNTER_BITS + ceilLog2(config.chunk) + 2 * config.updateBits;
  return {
    gramBits,
    consensusTestBits: 2 * (2 * CONSENSUS_CLIP_BITS + gramBits) + 2 * logK + 15,
    cosineCapBits: 3 * gramBits + 2 + 2 * 3,
    uncappedBits: CONSENSUS_UNCAPPED_BITS + 2 * (2 * CONSENSUS_CLIP_BITS + gramBits + logK + 3) + 2 * logK + 2,
    remainderBits: Math.max(1, logK),
  };
}

/**
 * The model's headroom. The chunk proof adds each round's mean step `floor(S / n)` (a `B`-bit value,
 * at most `2^(B-1)` in size) to the packed previous model without unpacking it, so a model value that
 * left its `BG` bits would carry into its neighbour rather than fail the proof. Two rules make that
 * impossible: the initial model lies within `BG - 1` signed bits (`initialModelBits`) and a project
 * has at most `maxRounds = 2^(BG-B-1)` rounds (the verifier's `maxRounds()`, which the market checks
 * at project creation). Every model value then stays within `2^(BG-2) + maxRounds * 2^(B-1) = 2^(BG-1)`
 * of zero: it fits `BG` signed bits in every round, as `aggregate` requires.
 */
export function initialModelBits(config: CircuitConfig): number {
  return config.modelBits - 1;
}

/** Most rounds a project may have: `min(2^(BG-B-1), 2^32 - 1)` (the market counts rounds in a uint32). */
export function maxRounds(config: CircuitConfig): number {
  return Math.min(2 ** (config.modelBits - config.updateBits - 1), 2 ** 32 - 1);
}

/** Throws unless the configuration is one the circuits support. */
export function validateConfig(config: CircuitConfig): void {
  const { kMax, chunk, updateBits, modelBits } = config;
  const int = (x: number): boolean => Number.isInteger(x) && x > 0;
  if (!int(kMax) || kMax > 64) throw new RangeError(`K_MAX ${kMax} must be in [1, 64]`);
  if (!int(chunk)) throw new RangeError(`CHUNK ${chunk} must be a positive integer`);
  if (!int(updateBits) || updateBits < 2 || updateBits > 64) {
    throw new RangeError(`B ${updateBits} must be in [2, 64]`);
  }
  if (!int(modelBits) || modelBits <= updateBits || modelBits > 126) {
    throw new RangeError(`BG ${modelBits} must be in [B + 1, 126] (the model's headroom: maxRounds)`);
  }
  const bounds = decisionBounds(config);
  if (bounds.consensusTestBits > 252 || bounds.cosineCapBits > 252 || bounds.uncappedBits > 252) {
    throw new RangeError("configuration too large: the consensus rule's comparisons exceed 252 bits (lower B or CHUNK)");
  }
}

/**
 * The circuits of a configuration by name (`chunk_k8_c128_b8_g24`, `decision_k8_c128_b8_g24`; the
 * default 16/32 bits are left out of the name): one naming rule for the circuit sources, their
 * setups, the verifiers, the aggregator's artifacts and the audit's verification keys.
 */
export function circuitNames(config: CircuitConfig): { chunk: string; decision: string } {
  const bits = config.updateBits === 16 && config.modelBits === 32 ? "" : `_b${config.updateBits}_g${config.modelBits}`;
  const suffix = `k${config.kMax}_c${config.chunk}${bits}`;
  return { chunk: `chunk_${suffix}`, decision: `decision_${suffix}` };
}
